//! Revenue analytics kept incrementally. Every event that moves a figure (a turn, a queued
//! lead, a sale, a release, a feedback, an unsold lead) adds to time-bucketed counters;
//! the dashboard sums a few dozen counter groups, never the tables.
//!
//! Counters are grouped by New York day and by shard (`<day>#s<NN>`): an event's shard is
//! a hash of its lead or session id, so at 1,000 conversations/s no counter item takes more
//! than ~1/[`SHARDS`] of the writes. Fields name the figure and, where the dashboard shows
//! it by hour, the New York hour (`net.14`). A finished day is summed once into a sealed
//! group (`<day>#all`) so reading history costs one item per day.
//!
//! Money counters (ledger net, sales) are written in the same transaction as the ledger
//! line they mirror, so summed over any set of whole days they equal the ledger.

use super::buyer::{Buyer, BuyerId};
use super::feedback::{FeedbackRecord, FeedbackType};
use super::money::{Cents, Usd};
use super::sale::{BuyerCounters, LedgerEntry};
use super::scoring::QualityTier;
use super::targets::Targets;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Counter groups per day. 16 shards keep each item under ~60 writes/s at 1,000 turns/s.
pub const SHARDS: u32 = 16;
/// Days of history the dashboard and the forecast read.
pub const HISTORY_DAYS: i64 = 56;
/// A day is sealed once it ended this long ago (late writes near midnight are in).
pub const SEAL_AFTER: Duration = Duration::hours(2);
/// Quarter-hour slots: a session counts once per slot for "active conversations".
const SLOT_MINUTES: u32 = 15;

/// Counter field names.
pub mod field {
    /// Ledger revenue (sales, releases, credits) in cents, by New York hour of entry.
    pub fn net(hour: u32) -> String {
        format!("net.{hour:02}")
    }
    /// Leads sold (a release takes one back), by New York hour of sale.
    pub fn sold(hour: u32) -> String {
        format!("sold.{hour:02}")
    }
    /// Conversations started, by hour.
    pub fn conversations(hour: u32) -> String {
        format!("conv.{hour:02}")
    }
    pub fn turns(hour: u32) -> String {
        format!("turns.{hour:02}")
    }
    /// Leads queued for routing (qualified), by hour.
    pub fn qualified(hour: u32) -> String {
        format!("qualified.{hour:02}")
    }
    /// Sessions with a turn in a quarter-hour slot (0..96).
    pub fn active(slot: u32) -> String {
        format!("active.{slot:02}")
    }
    /// Sessions with a turn in a slot that also had one in the slot before.
    pub fn continued(slot: u32) -> String {
        format!("cont.{slot:02}")
    }
    /// Queued leads by quality tier.
    pub fn tier(tier: &str) -> String {
        format!("tier.{tier}")
    }
    pub fn unsold(reason: &str) -> String {
        format!("unsold.{reason}")
    }
    pub const WITHDRAWN: &str = "withdrawn";
    /// A buyer's figure: `net`, `sold`, `accepted`, `rejected`, `returned`, `converted`.
    pub fn buyer(buyer: &str, figure: &str) -> String {
        format!("buyer.{buyer}.{figure}")
    }
    /// A buyer's `accepted` or `returned` count for leads of one quality tier.
    pub fn buyer_tier(buyer: &str, tier: super::QualityTier, figure: &str) -> String {
        format!("buyer.{buyer}.tier.{}.{figure}", tier.as_str())
    }
    pub fn buyer_reason(buyer: &str, reason: &str) -> String {
        format!("buyer.{buyer}.reason.{reason}")
    }
}

/// The shard of an event keyed by a lead or session id (FNV-1a: stable across builds).
pub fn shard_of(id: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % SHARDS
}

pub fn shard_key(day: NaiveDate, shard: u32) -> String {
    format!("{day}#s{shard:02}")
}

pub fn sealed_key(day: NaiveDate) -> String {
    format!("{day}#all")
}

/// Every shard key of a day.
pub fn shard_keys(day: NaiveDate) -> Vec<String> {
    (0..SHARDS).map(|s| shard_key(day, s)).collect()
}

pub fn new_york_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&New_York).date_naive()
}

fn hour_of(at: DateTime<Utc>) -> u32 {
    at.with_timezone(&New_York).hour()
}

fn slot_of(at: DateTime<Utc>) -> (NaiveDate, u32) {
    let local = at.with_timezone(&New_York);
    (
        local.date_naive(),
        (local.hour() * 60 + local.minute()) / SLOT_MINUTES,
    )
}

/// Whether a day can be sealed at `now`: it ended at least [`SEAL_AFTER`] ago.
pub fn sealable(day: NaiveDate, now: DateTime<Utc>) -> bool {
    new_york_day(now - SEAL_AFTER) > day
}

/// One counter to add to: `field` of the item `(group, slot)`. A group is a day's shard
/// (`<day>#s<NN>`); the slot the New York hour of the event (`h<HH>`), so one event's
/// counters land in one small item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub group: String,
    pub slot: String,
    pub field: String,
    pub by: i64,
}

fn tally(at: DateTime<Utc>, id: &str, field: String, by: i64) -> Counter {
    Counter {
        group: shard_key(new_york_day(at), shard_of(id)),
        slot: format!("h{:02}", hour_of(at)),
        field,
        by,
    }
}

/// One item's key (group, slot) and the counters to add to it.
pub type ItemCounters = ((String, String), Vec<(String, i64)>);

/// Counters grouped by item, in a stable order: one write per item.
pub fn by_item(counters: &[Counter]) -> Vec<ItemCounters> {
    let mut items: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
    for c in counters {
        *items
            .entry((c.group.clone(), c.slot.clone()))
            .or_default()
            .entry(c.field.clone())
            .or_insert(0) += c.by;
    }
    items
        .into_iter()
        .map(|(k, fields)| (k, fields.into_iter().filter(|(_, v)| *v != 0).collect()))
        .collect()
}

/// What a ledger line adds: revenue by hour and the buyer's revenue; a sale or release
/// also moves the leads-sold count.
pub fn ledger_tallies(line: &LedgerEntry) -> Vec<Counter> {
    use super::sale::LedgerKind;
    let (at, id, buyer) = (line.at, line.lead_id.as_str(), line.buyer_id.as_str());
    let hour = hour_of(at);
    let mut out = Vec::with_capacity(4);
    if line.kind.is_revenue() {
        out.push(tally(at, id, field::net(hour), line.amount.0));
        out.push(tally(at, id, field::buyer(buyer, "net"), line.amount.0));
    }
    let sold = match line.kind {
        LedgerKind::Sale => 1,
        LedgerKind::Release => -1,
        LedgerKind::Credit | LedgerKind::Conversion => 0,
    };
    if sold != 0 {
        out.push(tally(at, id, field::sold(hour), sold));
        out.push(tally(at, id, field::buyer(buyer, "sold"), sold));
    }
    out
}

/// What a recorded feedback adds: the buyer's outcome count, the rejection or return
/// reason, and its ledger line if any (a credited return).
pub fn feedback_tallies(record: &FeedbackRecord, ledger: Option<&LedgerEntry>) -> Vec<Counter> {
    let (at, id, buyer) = (
        record.received_at,
        record.lead_id.as_str(),
        record.buyer_id.as_str(),
    );
    let mut out = vec![tally(at, id, field::buyer(buyer, record.kind.as_str()), 1)];
    if let (Some(tier), FeedbackType::Accepted | FeedbackType::Returned) =
        (record.tier, record.kind)
        && tier != QualityTier::Unqualified
    {
        out.push(tally(
            at,
            id,
            field::buyer_tier(buyer, tier, record.kind.as_str()),
            1,
        ));
    }
    if let (Some(reason), FeedbackType::Rejected | FeedbackType::Returned) =
        (record.reason, record.kind)
    {
        out.push(tally(
            at,
            id,
            field::buyer_reason(buyer, reason.as_str()),
            1,
        ));
    }
    if let Some(line) = ledger {
        out.extend(ledger_tallies(line));
    }
    out
}

/// What one conversation turn adds. `previous_turn` is the session's last turn before this
/// one (none on the first); `queued` the tier of a lead this turn queued.
pub fn turn_tallies(
    session_id: &str,
    previous_turn: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    queued: Option<QualityTier>,
) -> Vec<Counter> {
    let hour = hour_of(now);
    let mut out = vec![tally(now, session_id, field::turns(hour), 1)];
    if previous_turn.is_none() {
        out.push(tally(now, session_id, field::conversations(hour), 1));
    }
    let (day, slot) = slot_of(now);
    let previous_slot = previous_turn.map(slot_of);
    if previous_slot != Some((day, slot)) {
        out.push(tally(now, session_id, field::active(slot), 1));
        let slot_before = slot_of(now - Duration::minutes(i64::from(SLOT_MINUTES)));
        if previous_slot == Some(slot_before) {
            out.push(tally(now, session_id, field::continued(slot), 1));
        }
    }
    if let Some(tier) = queued {
        out.push(tally(now, session_id, field::qualified(hour), 1));
        out.push(tally(now, session_id, field::tier(tier.as_str()), 1));
    }
    out
}

/// A lead that ended unsold, by reason.
pub fn unsold_tallies(lead_id: &str, reason: &str, at: DateTime<Utc>) -> Vec<Counter> {
    vec![tally(at, lead_id, field::unsold(reason), 1)]
}

/// One ping to a ping-post buyer, by how it ended (`bid`, `no_bid`, `no_coverage`,
/// `duplicate`, `capped`, `timeout`, `error`, or `throttled` when it was not sent): the
/// buyer's `ping_<outcome>` figure.
pub fn ping_tallies(buyer: &BuyerId, outcome: &str, at: DateTime<Utc>) -> Vec<Counter> {
    vec![tally(
        at,
        buyer.as_str(),
        field::buyer(buyer.as_str(), &format!("ping_{outcome}")),
        1,
    )]
}

/// A lead withdrawn by the homeowner.
pub fn withdrawn_tallies(lead_id: &str, at: DateTime<Utc>) -> Vec<Counter> {
    vec![tally(at, lead_id, field::WITHDRAWN.to_owned(), 1)]
}

/// The counters of one New York day, every shard summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayTotals {
    pub day: NaiveDate,
    pub counters: BTreeMap<String, i64>,
}

impl DayTotals {
    pub fn new(day: NaiveDate) -> DayTotals {
        DayTotals {
            day,
            counters: BTreeMap::new(),
        }
    }

    /// Adds one shard's counters.
    pub fn add(&mut self, counters: &BTreeMap<String, i64>) {
        for (k, v) in counters {
            *self.counters.entry(k.clone()).or_insert(0) += v;
        }
    }

    pub fn get(&self, field: &str) -> i64 {
        self.counters.get(field).copied().unwrap_or(0)
    }

    /// The sum of an hourly figure over the hours `hours` (e.g. `net`, 0..24).
    pub fn hours(&self, figure: fn(u32) -> String, hours: std::ops::Range<u32>) -> i64 {
        hours.map(|h| self.get(&figure(h))).sum()
    }

    pub fn whole_day(&self, figure: fn(u32) -> String) -> i64 {
        self.hours(figure, 0..24)
    }

    /// Every field starting with `prefix`, with the prefix cut off.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, i64)> {
        self.counters
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(move |(k, v)| (&k[prefix.len()..], *v))
    }
}

/// What each figure counts by, for the reader of the dashboard.
pub const COUNTED_BY: &[(&str, &str)] = &[
    (
        "revenue",
        "ledger entry time: a sale when sold, a release when undone, a credited return when the return was recorded",
    ),
    (
        "leads_sold",
        "sale time, less the sales undone (releases) at their time",
    ),
    ("conversations", "the time of the conversation's first turn"),
    (
        "qualified_leads",
        "the time the lead was queued for routing",
    ),
    (
        "acceptance_rate",
        "feedback time: accepted ÷ (accepted + rejected) recorded in the month",
    ),
    (
        "return_rate",
        "feedback time for returns ÷ sale time for leads sold, same month",
    ),
    (
        "sell_through_rate",
        "sale time ÷ queue time: leads sold ÷ leads queued in the month",
    ),
    (
        "active_conversations",
        "sessions with a turn in this and the previous quarter hour (New York time)",
    ),
    (
        "periods",
        "New York calendar: today, ISO week (from Monday), month",
    ),
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevenuePeriods {
    pub hour: Usd,
    pub today: Usd,
    pub week: Usd,
    pub month: Usd,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuyerRevenue {
    pub buyer_id: String,
    pub name: String,
    pub revenue: Usd,
    pub leads: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DailyRevenue {
    /// New York day, `YYYY-MM-DD`.
    pub date: NaiveDate,
    pub revenue: Usd,
    pub leads_sold: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HourCell {
    /// `mon` … `sun`.
    pub weekday: String,
    /// New York hour, 0–23.
    pub hour: u32,
    pub revenue: Usd,
    pub leads_sold: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierCounts {
    pub premium: i64,
    pub standard: i64,
    pub basic: i64,
    /// Conversations started in the month that queued no lead.
    pub unqualified: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// A KPI off its target, with the figure that triggered it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Alert {
    pub kind: String,
    pub severity: Severity,
    pub message: String,
    /// The KPI's name (`conversion_rate`, `avg_lead_value`, …).
    pub metric: String,
    pub figure: f64,
    pub target: f64,
}

/// What to do about a KPI gap.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recommendation {
    pub kind: String,
    /// `high`, `medium` or `low`.
    pub priority: String,
    pub message: String,
    pub metric: String,
    pub figure: f64,
    pub target: f64,
}

/// The KPIs of a moment, from the day counters; every rate is 0 when its base is 0.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Kpis {
    pub revenue: RevenuePeriods,
    pub active_conversations: i64,
    pub conversations_today: i64,
    pub qualified_leads_today: i64,
    pub leads_sold_today: i64,
    /// Qualified leads ÷ conversations started, today.
    pub conversion_rate: f64,
    /// Revenue today ÷ conversations started today.
    pub avg_revenue_per_conversation: Usd,
    /// Revenue today ÷ hours elapsed today (New York).
    pub revenue_per_hour: Usd,
    /// Month revenue ÷ leads sold in the month.
    pub earnings_per_lead: Usd,
    /// Month: leads sold ÷ leads queued.
    pub sell_through_rate: f64,
    /// Month: accepted ÷ (accepted + rejected).
    pub acceptance_rate: f64,
    /// Month: returned ÷ leads sold.
    pub return_rate: f64,
    pub tier_distribution: TierCounts,
    /// Buyers' daily lead caps in use right now (leads today ÷ caps), 0–1.
    pub capacity_utilisation: f64,
    pub leads_sold_month: i64,
    pub conversations_month: i64,
}

fn ratio(num: i64, den: i64) -> f64 {
    if den <= 0 {
        0.0
    } else {
        let r = num as f64 / den as f64;
        (r * 10_000.0).round() / 10_000.0
    }
}

fn per(total: Cents, count: i64) -> Usd {
    if count <= 0 {
        Usd(Cents::ZERO)
    } else {
        Usd(Cents(total.0 / count))
    }
}

/// Days oldest first, ending today (New York); missing days count as zero.
pub fn window(days: &[DayTotals], today: NaiveDate, len: i64) -> Vec<DayTotals> {
    let by_day: BTreeMap<NaiveDate, &DayTotals> = days.iter().map(|d| (d.day, d)).collect();
    (0..len)
        .rev()
        .map(|back| {
            let day = today - Duration::days(back);
            by_day
                .get(&day)
                .map_or_else(|| DayTotals::new(day), |d| (*d).clone())
        })
        .collect()
}

/// The days a dashboard needs, oldest first, ending with today.
pub fn history_days(now: DateTime<Utc>) -> Vec<NaiveDate> {
    days_ending(new_york_day(now), HISTORY_DAYS)
}

/// `len` days, oldest first, ending with `last`.
pub fn days_ending(last: NaiveDate, len: i64) -> Vec<NaiveDate> {
    (0..len)
        .rev()
        .map(|back| last - Duration::days(back))
        .collect()
}

/// The KPIs at `now` from the day totals (any order, any days; the ones needed are read).
pub fn kpis(days: &[DayTotals], buyers: &[(Buyer, BuyerCounters)], now: DateTime<Utc>) -> Kpis {
    let local = now.with_timezone(&New_York);
    let today = local.date_naive();
    let by_day: BTreeMap<NaiveDate, &DayTotals> = days.iter().map(|d| (d.day, d)).collect();
    let empty = DayTotals::new(today);
    let day = |d: NaiveDate| by_day.get(&d).copied().unwrap_or(&empty);
    let t = day(today);
    let since = |first: NaiveDate| -> Vec<&DayTotals> {
        by_day
            .range(first..=today)
            .map(|(_, d)| *d)
            .collect::<Vec<_>>()
    };
    let week_start = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let month_start = today.with_day(1).unwrap_or(today);
    let month = since(month_start);
    let sum = |set: &[&DayTotals], f: fn(u32) -> String| set.iter().map(|d| d.whole_day(f)).sum();
    let sum_field =
        |set: &[&DayTotals], f: &str| -> i64 { set.iter().map(|d| d.get(f)).sum::<i64>() };
    let buyer_sum = |set: &[&DayTotals], figure: &str| -> i64 {
        set.iter()
            .map(|d| {
                d.with_prefix("buyer.")
                    .filter(|(rest, _)| {
                        // `<buyer>.<figure>` only: not a reason's or a tier's count.
                        rest.rsplit_once('.')
                            .is_some_and(|(buyer, f)| f == figure && !buyer.contains('.'))
                    })
                    .map(|(_, v)| v)
                    .sum::<i64>()
            })
            .sum()
    };

    let hour = local.hour();
    let revenue_today = Cents(t.whole_day(field::net));
    let conversations_today = t.whole_day(field::conversations);
    let qualified_today = t.whole_day(field::qualified);
    let hours_elapsed = (f64::from(local.hour() * 60 + local.minute()) / 60.0).max(1.0);
    let month_revenue = Cents(sum(&month, field::net));
    let sold_month: i64 = sum(&month, field::sold);
    let queued_month: i64 = sum(&month, field::qualified);
    let conversations_month: i64 = sum(&month, field::conversations);
    let accepted = buyer_sum(&month, "accepted");
    let rejected = buyer_sum(&month, "rejected");
    let returned = buyer_sum(&month, "returned");

    // Active: sessions in this slot plus the previous one, less those counted in both.
    let (slot_day, slot) = slot_of(now);
    let (prev_day, prev_slot) = slot_of(now - Duration::minutes(i64::from(SLOT_MINUTES)));
    let active = day(slot_day).get(&field::active(slot))
        + day(prev_day).get(&field::active(prev_slot))
        - day(slot_day).get(&field::continued(slot));

    let tier = |name: &str| sum_field(&month, &field::tier(name));
    let qualified_tiers = tier("premium") + tier("standard") + tier("basic");
    let (leads_today, caps): (u32, u32) = buyers
        .iter()
        .filter(|(b, _)| b.active)
        .fold((0, 0), |(l, c), (b, counters)| {
            (l + counters.leads_today.min(b.daily_cap), c + b.daily_cap)
        });

    Kpis {
        revenue: RevenuePeriods {
            hour: Usd(Cents(t.get(&field::net(hour)))),
            today: Usd(revenue_today),
            week: Usd(Cents(sum(&since(week_start), field::net))),
            month: Usd(month_revenue),
        },
        active_conversations: active.max(0),
        conversations_today,
        qualified_leads_today: qualified_today,
        leads_sold_today: t.whole_day(field::sold),
        conversion_rate: ratio(qualified_today, conversations_today),
        avg_revenue_per_conversation: per(revenue_today, conversations_today),
        revenue_per_hour: Usd(Cents(
            (revenue_today.0 as f64 / hours_elapsed).round() as i64
        )),
        earnings_per_lead: per(month_revenue, sold_month),
        sell_through_rate: ratio(sold_month, queued_month),
        acceptance_rate: ratio(accepted, accepted + rejected),
        return_rate: ratio(returned, sold_month),
        tier_distribution: TierCounts {
            premium: tier("premium"),
            standard: tier("standard"),
            basic: tier("basic"),
            unqualified: (conversations_month - qualified_tiers).max(0),
        },
        capacity_utilisation: ratio(i64::from(leads_today), i64::from(caps)),
        leads_sold_month: sold_month,
        conversations_month,
    }
}

/// Daily revenue and leads sold, oldest first, `len` days ending today.
pub fn revenue_trend(days: &[DayTotals], today: NaiveDate, len: i64) -> Vec<DailyRevenue> {
    window(days, today, len)
        .iter()
        .map(|d| DailyRevenue {
            date: d.day,
            revenue: Usd(Cents(d.whole_day(field::net))),
            leads_sold: d.whole_day(field::sold),
        })
        .collect()
}

/// The daily revenue series (cents), oldest first, `len` days ending today.
pub fn daily_revenue(days: &[DayTotals], today: NaiveDate, len: i64) -> Vec<(NaiveDate, Cents)> {
    window(days, today, len)
        .iter()
        .map(|d| (d.day, Cents(d.whole_day(field::net))))
        .collect()
}

/// Net revenue per complete New York hour (wall clock, as the counters keep it), oldest
/// first: every hour of the `len` days ending today, up to the hour before `now`'s (the
/// current hour is not over). An hour the clocks skip is left out; one they repeat holds
/// both.
pub fn hourly_revenue(
    days: &[DayTotals],
    now: DateTime<Utc>,
    len: i64,
) -> Vec<(chrono::NaiveDateTime, Cents)> {
    let local = now.with_timezone(&New_York);
    let (today, current) = (local.date_naive(), local.hour());
    window(days, today, len)
        .iter()
        .flat_map(|d| {
            let hours = if d.day == today { 0..current } else { 0..24 };
            hours.filter_map(move |h| {
                let start = d.day.and_hms_opt(h, 0, 0)?;
                start.and_local_timezone(New_York).earliest()?;
                Some((start, Cents(d.get(&field::net(h)))))
            })
        })
        .collect()
}

/// The Monday of `day`'s ISO week.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The days of the `weeks` complete ISO weeks (Monday to Sunday, New York) before the
/// current one, oldest first: what the weekly forecast reads.
pub fn complete_weeks_days(now: DateTime<Utc>, weeks: i64) -> Vec<NaiveDate> {
    days_ending(week_start(new_york_day(now)) - Duration::days(1), weeks * 7)
}

/// Net revenue per complete ISO week (by its Monday, New York), oldest first: the
/// `weeks` weeks before the one `today` is in (not over yet, so not counted).
pub fn weekly_revenue(days: &[DayTotals], today: NaiveDate, weeks: i64) -> Vec<(NaiveDate, Cents)> {
    let this_week = week_start(today);
    let last_day = this_week - Duration::days(1);
    window(days, last_day, weeks * 7)
        .chunks(7)
        .map(|week| {
            let total = week.iter().map(|d| d.whole_day(field::net)).sum();
            (week[0].day, Cents(total))
        })
        .collect()
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// Revenue by weekday and hour over the last `len` days: 7 × 24 cells, Monday 0h first.
pub fn revenue_by_hour(days: &[DayTotals], today: NaiveDate, len: i64) -> Vec<HourCell> {
    let mut cells = [[(0i64, 0i64); 24]; 7];
    for d in window(days, today, len) {
        let w = d.day.weekday().num_days_from_monday() as usize;
        for (h, cell) in cells[w].iter_mut().enumerate() {
            cell.0 += d.get(&field::net(h as u32));
            cell.1 += d.get(&field::sold(h as u32));
        }
    }
    WEEKDAYS
        .iter()
        .flat_map(|w| {
            let row = cells[w.num_days_from_monday() as usize];
            (0..24u32).map(move |h| HourCell {
                weekday: weekday_name(*w).to_owned(),
                hour: h,
                revenue: Usd(Cents(row[h as usize].0)),
                leads_sold: row[h as usize].1,
            })
        })
        .collect()
}

/// A buyer's month, from the counters and its live caps.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuyerMonth {
    pub buyer_id: String,
    pub name: String,
    /// `premium`, `standard`, `volume` or `direct`.
    pub tier: String,
    pub active: bool,
    pub leads_sold: i64,
    pub revenue: Usd,
    /// Accepted ÷ (accepted + rejected), feedback time.
    pub acceptance_rate: f64,
    /// Converted ÷ leads sold.
    pub conversion_rate: f64,
    /// Returned ÷ leads sold.
    pub return_rate: f64,
    pub accepted: i64,
    pub rejected: i64,
    pub returned: i64,
    pub converted: i64,
    /// Leads today ÷ the daily cap.
    pub daily_utilisation: f64,
    /// Spend this month ÷ the monthly spend cap; 0 without a cap.
    pub monthly_spend_utilisation: f64,
    /// Rejection and return reasons, most frequent first (at most 3).
    pub top_rejection_reasons: Vec<ReasonCount>,
    /// A ping-post buyer's pings this month by how they ended (absent for the others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pings: Option<PingCounts>,
    /// Accepted and returned leads this month by the lead's quality tier (basic, standard,
    /// premium): the router's chance of a return is learned per buyer and tier.
    pub returns_by_tier: Vec<TierReturns>,
}

/// A buyer's accepted and returned leads of one quality tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TierReturns {
    pub tier: QualityTier,
    pub accepted: i64,
    pub returned: i64,
    /// Returned ÷ accepted (0 with none accepted).
    pub return_rate: f64,
}

/// A ping-post buyer's pings by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PingCounts {
    pub bid: i64,
    pub no_bid: i64,
    pub no_coverage: i64,
    pub duplicate: i64,
    pub capped: i64,
    pub timeout: i64,
    pub error: i64,
    /// Not sent: too many of its recent pings timed out.
    pub throttled: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonCount {
    pub reason: String,
    pub count: i64,
}

/// Every buyer's month to date, in the order given.
pub fn buyer_performance(
    days: &[DayTotals],
    buyers: &[(Buyer, BuyerCounters)],
    now: DateTime<Utc>,
) -> Vec<BuyerMonth> {
    let today = new_york_day(now);
    let month_start = today.with_day(1).unwrap_or(today);
    let month: Vec<&DayTotals> = days
        .iter()
        .filter(|d| d.day >= month_start && d.day <= today)
        .collect();
    buyers
        .iter()
        .map(|(b, counters)| {
            let id = b.id.as_str();
            let get = |figure: &str| -> i64 {
                let f = field::buyer(id, figure);
                month.iter().map(|d| d.get(&f)).sum()
            };
            let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
            let prefix = format!("buyer.{id}.reason.");
            for d in &month {
                for (reason, n) in d.with_prefix(&prefix) {
                    *reasons.entry(reason.to_owned()).or_insert(0) += n;
                }
            }
            let mut reasons: Vec<ReasonCount> = reasons
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(reason, count)| ReasonCount { reason, count })
                .collect();
            reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
            reasons.truncate(3);
            let (sold, accepted, rejected) = (get("sold"), get("accepted"), get("rejected"));
            BuyerMonth {
                buyer_id: id.to_owned(),
                name: b.name.clone(),
                tier: b.tier.as_str().to_owned(),
                active: b.active,
                leads_sold: sold,
                revenue: Usd(Cents(get("net"))),
                acceptance_rate: ratio(accepted, accepted + rejected),
                conversion_rate: ratio(get("converted"), sold),
                return_rate: ratio(get("returned"), sold),
                accepted,
                rejected,
                returned: get("returned"),
                converted: get("converted"),
                daily_utilisation: ratio(i64::from(counters.leads_today), i64::from(b.daily_cap)),
                monthly_spend_utilisation: b
                    .monthly_spend_cap
                    .map_or(0.0, |cap| ratio(counters.spend_this_month.0, cap.0)),
                top_rejection_reasons: reasons,
                pings: b.bids().then(|| PingCounts {
                    bid: get("ping_bid"),
                    no_bid: get("ping_no_bid"),
                    no_coverage: get("ping_no_coverage"),
                    duplicate: get("ping_duplicate"),
                    capped: get("ping_capped"),
                    timeout: get("ping_timeout"),
                    error: get("ping_error"),
                    throttled: get("ping_throttled"),
                }),
                returns_by_tier: [
                    QualityTier::Basic,
                    QualityTier::Standard,
                    QualityTier::Premium,
                ]
                .into_iter()
                .map(|tier| {
                    let of = |figure: &str| -> i64 {
                        let f = field::buyer_tier(id, tier, figure);
                        month.iter().map(|d| d.get(&f)).sum()
                    };
                    let (accepted, returned) = (of("accepted"), of("returned"));
                    TierReturns {
                        tier,
                        accepted,
                        returned,
                        return_rate: ratio(returned, accepted),
                    }
                })
                .collect(),
            }
        })
        .collect()
}

/// The top buyers of the month by revenue (at most `n`).
pub fn top_buyers(performance: &[BuyerMonth], n: usize) -> Vec<BuyerRevenue> {
    let mut by_revenue: Vec<&BuyerMonth> = performance
        .iter()
        .filter(|p| p.leads_sold > 0 || p.revenue.0 != Cents::ZERO)
        .collect();
    by_revenue.sort_by(|a, b| {
        b.revenue
            .0
            .cmp(&a.revenue.0)
            .then(a.buyer_id.cmp(&b.buyer_id))
    });
    by_revenue
        .into_iter()
        .take(n)
        .map(|p| BuyerRevenue {
            buyer_id: p.buyer_id.clone(),
            name: p.name.clone(),
            revenue: p.revenue,
            leads: p.leads_sold,
        })
        .collect()
}

/// Below this many conversations today, rate alerts would be noise.
pub const MIN_CONVERSATIONS_FOR_ALERTS: i64 = 10;
/// Below this many leads sold in the month, value alerts would be noise.
pub const MIN_LEADS_FOR_ALERTS: i64 = 5;
/// A return rate above this is worth a look (buyers' credits cost revenue).
pub const RETURN_RATE_ALERT: f64 = 0.15;
/// An acceptance rate below this means buyers are refusing what they pay for.
pub const ACCEPTANCE_RATE_ALERT: f64 = 0.60;

fn dollars(c: Cents) -> f64 {
    c.dollars_f64()
}

/// The KPIs off their targets, most severe first. Each carries its figure and target.
pub fn alerts(k: &Kpis, targets: &Targets, hours_elapsed: f64) -> Vec<Alert> {
    let mut out = Vec::new();
    let conversion_target = f64::from(targets.conversion_rate_bps) / 10_000.0;
    if k.conversations_today >= MIN_CONVERSATIONS_FOR_ALERTS
        && k.conversion_rate < conversion_target
    {
        let severity = if k.conversion_rate < conversion_target * 0.5 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        out.push(Alert {
            kind: "low_conversion_rate".into(),
            severity,
            message: format!(
                "{:.0} % of today's conversations became qualified leads; the target is {:.0} %",
                k.conversion_rate * 100.0,
                conversion_target * 100.0
            ),
            metric: "conversion_rate".into(),
            figure: k.conversion_rate,
            target: conversion_target,
        });
    }
    if k.leads_sold_month >= MIN_LEADS_FOR_ALERTS && k.earnings_per_lead.0 < targets.avg_lead_value
    {
        out.push(Alert {
            kind: "low_lead_value".into(),
            severity: Severity::Warning,
            message: format!(
                "leads earned {} on average this month; the target is {}",
                k.earnings_per_lead.0, targets.avg_lead_value
            ),
            metric: "avg_lead_value".into(),
            figure: dollars(k.earnings_per_lead.0),
            target: dollars(targets.avg_lead_value),
        });
    }
    if hours_elapsed >= 2.0
        && k.conversations_today >= MIN_CONVERSATIONS_FOR_ALERTS
        && k.revenue_per_hour.0 < targets.revenue_per_hour
    {
        out.push(Alert {
            kind: "low_revenue_per_hour".into(),
            severity: Severity::Warning,
            message: format!(
                "revenue runs at {} an hour today; the target is {}",
                k.revenue_per_hour.0, targets.revenue_per_hour
            ),
            metric: "revenue_per_hour".into(),
            figure: dollars(k.revenue_per_hour.0),
            target: dollars(targets.revenue_per_hour),
        });
    }
    let surge = f64::from(targets.surge_pricing_threshold_bps) / 10_000.0;
    if k.capacity_utilisation >= surge {
        out.push(Alert {
            kind: "buyer_capacity_high".into(),
            severity: if k.capacity_utilisation >= 0.95 {
                Severity::Critical
            } else {
                Severity::Info
            },
            message: format!(
                "buyers' daily caps are {:.0} % used: surge pricing is on above {:.0} %; add buyer capacity",
                k.capacity_utilisation * 100.0,
                surge * 100.0
            ),
            metric: "capacity_utilisation".into(),
            figure: k.capacity_utilisation,
            target: surge,
        });
    }
    if k.leads_sold_month >= MIN_LEADS_FOR_ALERTS && k.return_rate > RETURN_RATE_ALERT {
        out.push(Alert {
            kind: "high_return_rate".into(),
            severity: Severity::Warning,
            message: format!(
                "{:.0} % of this month's leads were returned; above {:.0} % credits eat revenue",
                k.return_rate * 100.0,
                RETURN_RATE_ALERT * 100.0
            ),
            metric: "return_rate".into(),
            figure: k.return_rate,
            target: RETURN_RATE_ALERT,
        });
    }
    if k.leads_sold_month >= MIN_LEADS_FOR_ALERTS
        && k.acceptance_rate > 0.0
        && k.acceptance_rate < ACCEPTANCE_RATE_ALERT
    {
        out.push(Alert {
            kind: "low_acceptance_rate".into(),
            severity: Severity::Warning,
            message: format!(
                "buyers accepted {:.0} % of the leads they judged this month; below {:.0} % they stop buying",
                k.acceptance_rate * 100.0,
                ACCEPTANCE_RATE_ALERT * 100.0
            ),
            metric: "acceptance_rate".into(),
            figure: k.acceptance_rate,
            target: ACCEPTANCE_RATE_ALERT,
        });
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.severity as u8));
    out
}

/// What to do about each alert, plus the opportunities the figures show.
pub fn recommendations(k: &Kpis, alerts: &[Alert], buyers: &[BuyerMonth]) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = alerts
        .iter()
        .map(|a| {
            let (kind, priority, message) = match a.kind.as_str() {
                "low_conversion_rate" => (
                    "raise_conversion",
                    "high",
                    "Ask for ownership, bill and ZIP earlier and answer cost and roof questions before asking; review the conversation rules.",
                ),
                "low_lead_value" => (
                    "raise_lead_value",
                    "high",
                    "Route more premium- and standard-tier leads to premium buyers and review price floors against the target value.",
                ),
                "low_revenue_per_hour" => (
                    "raise_revenue_per_hour",
                    "medium",
                    "Prioritise high-score conversations and shorten low-value ones; check buyer hours cover the busiest chat hours.",
                ),
                "buyer_capacity_high" => (
                    "add_buyer_capacity",
                    "high",
                    "Buyers are near their daily caps: raise caps with the best buyers or onboard another buyer before leads go unsold.",
                ),
                "high_return_rate" => (
                    "reduce_returns",
                    "medium",
                    "Check the top return reasons per buyer and tighten the qualification they point to.",
                ),
                "low_acceptance_rate" => (
                    "improve_acceptance",
                    "medium",
                    "Send each buyer only the tiers and areas it accepts; review its rejection reasons.",
                ),
                _ => ("review_kpi", "low", "Review this figure against its target."),
            };
            Recommendation {
                kind: kind.into(),
                priority: priority.into(),
                message: message.into(),
                metric: a.metric.clone(),
                figure: a.figure,
                target: a.target,
            }
        })
        .collect();
    // A buyer with many returns or rejections is worth a word even when the totals are fine.
    for b in buyers {
        if b.leads_sold >= MIN_LEADS_FOR_ALERTS && b.return_rate > RETURN_RATE_ALERT {
            out.push(Recommendation {
                kind: "review_buyer".into(),
                priority: "medium".into(),
                message: format!(
                    "{} returns {:.0} % of its leads{}; review what it is sent.",
                    b.buyer_id,
                    b.return_rate * 100.0,
                    b.top_rejection_reasons
                        .first()
                        .map(|r| format!(", most often {}", r.reason))
                        .unwrap_or_default()
                ),
                metric: format!("buyer.{}.return_rate", b.buyer_id),
                figure: b.return_rate,
                target: RETURN_RATE_ALERT,
            });
        }
    }
    if out.is_empty() && k.conversations_month > 0 {
        out.push(Recommendation {
            kind: "on_target".into(),
            priority: "low".into(),
            message:
                "Every KPI is on target; consider testing a higher price variant for premium leads."
                    .into(),
            metric: "conversion_rate".into(),
            figure: k.conversion_rate,
            target: k.conversion_rate,
        });
    }
    out
}

/// Hours elapsed in today's New York day (at least a minute's worth).
pub fn hours_elapsed_today(now: DateTime<Utc>) -> f64 {
    let local = now.with_timezone(&New_York);
    f64::from(local.hour() * 60 + local.minute()) / 60.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn totals(day: NaiveDate, hours: &[(u32, i64)]) -> DayTotals {
        let mut d = DayTotals::new(day);
        for (h, cents) in hours {
            d.counters.insert(field::net(*h), *cents);
        }
        d
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn given_day_totals_when_hourly_revenue_is_read_then_complete_hours_only_and_no_skipped_hour() {
        // GIVEN revenue at 09:00 yesterday (the spring-forward day) and at 10:00 and 14:00
        // today, New York
        let yesterday = date(2026, 3, 8);
        let today = date(2026, 3, 9);
        let days = [
            totals(yesterday, &[(9, 1_000)]),
            totals(today, &[(10, 2_000), (14, 3_000)]),
        ];
        // WHEN read at 14:20 today (EDT)
        let now = New_York
            .with_ymd_and_hms(2026, 3, 9, 14, 20, 0)
            .single()
            .expect("time")
            .with_timezone(&Utc);
        let hours = hourly_revenue(&days, now, 2);
        // THEN yesterday has 23 hours (02:00 skipped), today 00:00 to 13:00: 14 hours
        assert_eq!(hours.len(), 23 + 14);
        assert!(
            !hours
                .iter()
                .any(|(t, _)| *t == yesterday.and_hms_opt(2, 0, 0).expect("t"))
        );
        let at = |d: NaiveDate, h: u32| {
            hours
                .iter()
                .find(|(t, _)| *t == d.and_hms_opt(h, 0, 0).expect("t"))
                .map(|(_, c)| c.0)
        };
        assert_eq!(at(yesterday, 9), Some(1_000));
        assert_eq!(at(today, 10), Some(2_000));
        // AND the current hour is not over: not in the history
        assert_eq!(at(today, 14), None);
        assert_eq!(hours.last().map(|(t, _)| t.time().hour()), Some(13));
    }

    #[test]
    fn given_day_totals_when_weekly_revenue_is_read_then_complete_iso_weeks_by_their_monday() {
        // GIVEN revenue on a Sunday, the next Monday, and today (Wednesday of the week after)
        let days = [
            totals(date(2026, 3, 1), &[(12, 500)]),
            totals(date(2026, 3, 2), &[(8, 700), (9, 300)]),
            totals(date(2026, 3, 11), &[(12, 9_999)]),
        ];
        // WHEN the two complete weeks before today's are read
        let weeks = weekly_revenue(&days, date(2026, 3, 11), 2);
        // THEN they start on Mondays, the current week is left out
        assert_eq!(
            weeks,
            vec![
                (date(2026, 2, 23), Cents(500)),
                (date(2026, 3, 2), Cents(1_000)),
            ]
        );
        // AND the days read are exactly those weeks'
        let now = Utc
            .with_ymd_and_hms(2026, 3, 11, 17, 0, 0)
            .single()
            .expect("t");
        let read = complete_weeks_days(now, 2);
        assert_eq!(read.len(), 14);
        assert_eq!(read.first(), Some(&date(2026, 2, 23)));
        assert_eq!(read.last(), Some(&date(2026, 3, 8)));
    }
}
