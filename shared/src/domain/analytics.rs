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
    /// A buyer's figure for leads of one quality tier: `accepted`, `returned`,
    /// `converted`, and `score_tenths` / `scored` (the sum and count of its 0–10 ratings).
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
    if let Some(tier) = record.tier.filter(|t| *t != QualityTier::Unqualified) {
        if record.converts() {
            out.push(tally(
                at,
                id,
                field::buyer_tier(buyer, tier, "converted"),
                1,
            ));
        }
        if let Some(score) = record.score_tenths {
            out.push(tally(
                at,
                id,
                field::buyer_tier(buyer, tier, "score_tenths"),
                i64::from(score),
            ));
            out.push(tally(at, id, field::buyer_tier(buyer, tier, "scored"), 1));
        }
    }
    // An acceptance that reports a sale counts as a conversion too.
    if record.kind == FeedbackType::Accepted && record.converts() {
        out.push(tally(at, id, field::buyer(buyer, "converted"), 1));
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

/// How much an alert matters, least first: `good` is good news (a KPI above its target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Good,
    Info,
    Warning,
    Critical,
}

/// A KPI against its target, with the figure that triggered it: a problem, or good news.
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
    /// A short heading (the guide's `title`).
    pub title: String,
    /// What to do and why (the guide's `description`; the same text as `message`).
    pub description: String,
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
    /// The buyer's ratings (`feedback_score`, 0–10) and conversions this month by the
    /// lead's quality tier (basic, standard, premium).
    pub feedback_by_tier: Vec<TierFeedback>,
    /// Its average rating over every rated lead this month (0 with none rated).
    pub average_feedback_score: f64,
    /// Leads it rated this month.
    pub scored: i64,
}

/// A buyer's ratings and conversions for leads of one quality tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct TierFeedback {
    pub tier: QualityTier,
    /// Leads rated, and their average `feedback_score` (0–10; 0 with none rated).
    pub scored: i64,
    pub average_score: f64,
    /// Leads the buyer reported sold (converted, or accepted with a conversion value).
    pub converted: i64,
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
                feedback_by_tier: TIERS
                    .into_iter()
                    .map(|tier| {
                        let of = |figure: &str| -> i64 {
                            let f = field::buyer_tier(id, tier, figure);
                            month.iter().map(|d| d.get(&f)).sum()
                        };
                        let scored = of("scored");
                        TierFeedback {
                            tier,
                            scored,
                            average_score: average_score(of("score_tenths"), scored),
                            converted: of("converted"),
                        }
                    })
                    .collect(),
                average_feedback_score: 0.0,
                scored: 0,
            }
        })
        .map(|mut m| {
            let (sum, n) = m.feedback_by_tier.iter().fold((0.0, 0), |(s, n), f| {
                (s + f.average_score * f.scored as f64, n + f.scored)
            });
            m.scored = n;
            m.average_feedback_score = if n > 0 {
                (sum / n as f64 * 100.0).round() / 100.0
            } else {
                0.0
            };
            m
        })
        .collect()
}

/// The sold tiers, lowest first.
const TIERS: [QualityTier; 3] = [
    QualityTier::Basic,
    QualityTier::Standard,
    QualityTier::Premium,
];

/// The mean of ratings kept in tenths, on 0–10 with two decimals (0 with none).
fn average_score(sum_tenths: i64, n: i64) -> f64 {
    if n <= 0 {
        0.0
    } else {
        (sum_tenths as f64 / n as f64 / 10.0 * 100.0).round() / 100.0
    }
}

/// The guide's quality metrics this month: conversion by lead quality, revenue per lead
/// by buyer tier, and the quality trend.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualityMetrics {
    /// Per lead quality tier (basic, standard, premium): leads qualified this month,
    /// conversions buyers reported, and converted ÷ qualified.
    pub conversion_by_tier: Vec<TierConversion>,
    /// Per buyer tier (`premium`, `standard`, `volume`, `direct`, those with sales): the
    /// month's revenue ÷ leads sold.
    pub revenue_per_lead_by_buyer_tier: Vec<BuyerTierRevenue>,
    /// `improving`, `declining` or `stable`: the quality index of the last 7 days against
    /// the 7 before (more than 5 % apart either way), `stable` with fewer than
    /// [`MIN_LEADS_FOR_TREND`] leads in either week.
    pub quality_trend: String,
    /// Mean tier of the qualified leads (basic 1, standard 2, premium 3) in the last 7
    /// days (today included) and in the 7 before; 0 with none.
    pub quality_index_this_week: f64,
    pub quality_index_last_week: f64,
    /// Each tier's share of this month's qualified leads beside the target mix.
    pub tier_mix: Vec<TierShare>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct TierConversion {
    pub tier: QualityTier,
    pub qualified: i64,
    pub converted: i64,
    pub conversion_rate: f64,
    /// Buyers' average rating of the tier's leads (0–10; 0 with none rated), and how many
    /// ratings.
    pub average_feedback_score: f64,
    pub scored: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BuyerTierRevenue {
    pub buyer_tier: String,
    pub leads_sold: i64,
    pub revenue: Usd,
    pub revenue_per_lead: Usd,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct TierShare {
    pub tier: QualityTier,
    pub share: f64,
    pub target: f64,
}

/// Leads a week needs before the quality trend says anything but `stable`.
pub const MIN_LEADS_FOR_TREND: i64 = 10;

/// The quality metrics at `now` from the day totals and the buyers' months.
pub fn quality_metrics(
    days: &[DayTotals],
    k: &Kpis,
    performance: &[BuyerMonth],
    targets: &Targets,
    now: DateTime<Utc>,
) -> QualityMetrics {
    let today = new_york_day(now);
    let tiers = &k.tier_distribution;
    let qualified_of = |t: QualityTier| match t {
        QualityTier::Premium => tiers.premium,
        QualityTier::Standard => tiers.standard,
        QualityTier::Basic => tiers.basic,
        QualityTier::Unqualified => 0,
    };
    let conversion_by_tier = TIERS
        .into_iter()
        .map(|tier| {
            let of = |f: &dyn Fn(&TierFeedback) -> i64| -> i64 {
                performance
                    .iter()
                    .flat_map(|b| b.feedback_by_tier.iter().filter(|x| x.tier == tier))
                    .map(f)
                    .sum()
            };
            let converted = of(&|x| x.converted);
            let scored = of(&|x| x.scored);
            let sum: f64 = performance
                .iter()
                .flat_map(|b| b.feedback_by_tier.iter().filter(|x| x.tier == tier))
                .map(|x| x.average_score * x.scored as f64)
                .sum();
            let qualified = qualified_of(tier);
            TierConversion {
                tier,
                qualified,
                converted,
                conversion_rate: ratio(converted, qualified),
                average_feedback_score: if scored > 0 {
                    (sum / scored as f64 * 100.0).round() / 100.0
                } else {
                    0.0
                },
                scored,
            }
        })
        .collect();
    let mut by_buyer_tier: BTreeMap<&str, (i64, Cents)> = BTreeMap::new();
    for b in performance {
        let e = by_buyer_tier
            .entry(b.tier.as_str())
            .or_insert((0, Cents::ZERO));
        e.0 += b.leads_sold;
        e.1 = Cents(e.1.0 + b.revenue.0.0);
    }
    let revenue_per_lead_by_buyer_tier = by_buyer_tier
        .into_iter()
        .filter(|(_, (sold, _))| *sold > 0)
        .map(|(tier, (sold, revenue))| BuyerTierRevenue {
            buyer_tier: tier.to_owned(),
            leads_sold: sold,
            revenue: Usd(revenue),
            revenue_per_lead: per(revenue, sold),
        })
        .collect();
    let week = |from: i64, to: i64| -> (i64, i64) {
        // (tier points, leads) over the days `from`..=`to` days back.
        days.iter()
            .filter(|d| {
                let back = (today - d.day).num_days();
                (from..=to).contains(&back)
            })
            .fold((0, 0), |(points, n), d| {
                let (p, s, b) = (
                    d.get(&field::tier("premium")),
                    d.get(&field::tier("standard")),
                    d.get(&field::tier("basic")),
                );
                (points + 3 * p + 2 * s + b, n + p + s + b)
            })
    };
    let index = |(points, n): (i64, i64)| -> f64 {
        if n > 0 {
            (points as f64 / n as f64 * 1_000.0).round() / 1_000.0
        } else {
            0.0
        }
    };
    let (this_week, last_week) = (week(0, 6), week(7, 13));
    let (now_index, before_index) = (index(this_week), index(last_week));
    let quality_trend = if this_week.1 < MIN_LEADS_FOR_TREND || last_week.1 < MIN_LEADS_FOR_TREND {
        "stable"
    } else if now_index > before_index * 1.05 {
        "improving"
    } else if now_index < before_index * 0.95 {
        "declining"
    } else {
        "stable"
    };
    let total = tiers.premium + tiers.standard + tiers.basic;
    let mix = &targets.tier_mix;
    QualityMetrics {
        conversion_by_tier,
        revenue_per_lead_by_buyer_tier,
        quality_trend: quality_trend.into(),
        quality_index_this_week: now_index,
        quality_index_last_week: before_index,
        tier_mix: [
            (QualityTier::Premium, tiers.premium, mix.premium_bps),
            (QualityTier::Standard, tiers.standard, mix.standard_bps),
            (QualityTier::Basic, tiers.basic, mix.basic_bps),
        ]
        .into_iter()
        .map(|(tier, n, bps)| TierShare {
            tier,
            share: ratio(n, total),
            target: f64::from(bps) / 10_000.0,
        })
        .collect(),
    }
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

/// Below this many qualified leads in the month, the tier mix is not compared.
pub const MIN_LEADS_FOR_MIX: i64 = 20;
/// A tier's share this far from its target (either way) is off the mix.
pub const MIX_TOLERANCE: f64 = 0.10;
/// A buyer's average rating (0–10) below this, over enough rated leads, is worth a look.
pub const LOW_FEEDBACK_SCORE: f64 = 6.0;
/// Rated leads a buyer's average needs before it is judged.
pub const MIN_SCORED_FOR_ADVICE: i64 = 5;

/// The KPIs against their targets, most severe first and good news last. Each carries
/// its figure and target.
pub fn alerts(k: &Kpis, targets: &Targets, hours_elapsed: f64) -> Vec<Alert> {
    let mut out = Vec::new();
    let alert = |kind: &str, severity, message: String, metric: &str, figure, target| Alert {
        kind: kind.into(),
        severity,
        message,
        metric: metric.into(),
        figure,
        target,
    };
    let conversion_target = f64::from(targets.conversion_rate_bps) / 10_000.0;
    if k.conversations_today >= MIN_CONVERSATIONS_FOR_ALERTS {
        if k.conversion_rate < conversion_target {
            let severity = if k.conversion_rate < conversion_target * 0.5 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            out.push(alert(
                "low_conversion_rate",
                severity,
                format!(
                    "{:.0} % of today's conversations became qualified leads; the target is {:.0} %",
                    k.conversion_rate * 100.0,
                    conversion_target * 100.0
                ),
                "conversion_rate",
                k.conversion_rate,
                conversion_target,
            ));
        } else {
            out.push(alert(
                "conversion_above_target",
                Severity::Good,
                "Conversion rate above target - maintain current approach".into(),
                "conversion_rate",
                k.conversion_rate,
                conversion_target,
            ));
        }
    }
    if k.leads_sold_month >= MIN_LEADS_FOR_ALERTS {
        if k.earnings_per_lead.0 < targets.avg_lead_value {
            out.push(alert(
                "low_lead_value",
                Severity::Warning,
                format!(
                    "leads earned {} on average this month; the target is {}",
                    k.earnings_per_lead.0, targets.avg_lead_value
                ),
                "avg_lead_value",
                dollars(k.earnings_per_lead.0),
                dollars(targets.avg_lead_value),
            ));
        } else {
            out.push(alert(
                "lead_value_above_target",
                Severity::Good,
                format!(
                    "Leads earned {} on average this month - above the {} target",
                    k.earnings_per_lead.0, targets.avg_lead_value
                ),
                "avg_lead_value",
                dollars(k.earnings_per_lead.0),
                dollars(targets.avg_lead_value),
            ));
        }
    }
    if hours_elapsed >= 2.0
        && k.conversations_today >= MIN_CONVERSATIONS_FOR_ALERTS
        && k.revenue_per_hour.0 < targets.revenue_per_hour
    {
        out.push(alert(
            "low_revenue_per_hour",
            Severity::Warning,
            format!(
                "revenue runs at {} an hour today; the target is {}",
                k.revenue_per_hour.0, targets.revenue_per_hour
            ),
            "revenue_per_hour",
            dollars(k.revenue_per_hour.0),
            dollars(targets.revenue_per_hour),
        ));
    }
    // This hour beats both the target and half again today's hourly average.
    let hour = k.revenue.hour.0;
    if hours_elapsed >= 1.0
        && hour > Cents::ZERO
        && hour >= targets.revenue_per_hour
        && hour.0 * 2 >= k.revenue_per_hour.0.0 * 3
    {
        out.push(alert(
            "high_revenue_hour",
            Severity::Good,
            "High revenue this hour - excellent performance!".into(),
            "current_hour_revenue",
            dollars(hour),
            dollars(targets.revenue_per_hour),
        ));
    }
    let surge = f64::from(targets.surge_pricing_threshold_bps) / 10_000.0;
    if k.capacity_utilisation >= surge {
        out.push(alert(
            "buyer_capacity_high",
            if k.capacity_utilisation >= 0.95 {
                Severity::Critical
            } else {
                Severity::Info
            },
            format!(
                "buyers' daily caps are {:.0} % used: surge pricing is on above {:.0} %; add buyer capacity",
                k.capacity_utilisation * 100.0,
                surge * 100.0
            ),
            "capacity_utilisation",
            k.capacity_utilisation,
            surge,
        ));
    }
    if k.leads_sold_month >= MIN_LEADS_FOR_ALERTS && k.return_rate > RETURN_RATE_ALERT {
        out.push(alert(
            "high_return_rate",
            Severity::Warning,
            format!(
                "{:.0} % of this month's leads were returned; above {:.0} % credits eat revenue",
                k.return_rate * 100.0,
                RETURN_RATE_ALERT * 100.0
            ),
            "return_rate",
            k.return_rate,
            RETURN_RATE_ALERT,
        ));
    }
    let acceptance_target = f64::from(targets.acceptance_rate_bps) / 10_000.0;
    let judged = k.leads_sold_month >= MIN_LEADS_FOR_ALERTS && k.acceptance_rate > 0.0;
    if judged && k.acceptance_rate < acceptance_target {
        // Below the alarm line buyers stop buying; between it and the target, a warning.
        let critical = k.acceptance_rate < ACCEPTANCE_RATE_ALERT;
        out.push(alert(
            "low_acceptance_rate",
            if critical {
                Severity::Critical
            } else {
                Severity::Warning
            },
            format!(
                "buyers accepted {:.0} % of the leads they judged this month; the target is {:.0} %{}",
                k.acceptance_rate * 100.0,
                acceptance_target * 100.0,
                if critical {
                    format!(", and below {:.0} % they stop buying", ACCEPTANCE_RATE_ALERT * 100.0)
                } else {
                    String::new()
                }
            ),
            "acceptance_rate",
            k.acceptance_rate,
            acceptance_target,
        ));
    } else if judged {
        out.push(alert(
            "acceptance_above_target",
            Severity::Good,
            format!(
                "Buyers accepted {:.0} % of the leads they judged this month - at or above the {:.0} % target",
                k.acceptance_rate * 100.0,
                acceptance_target * 100.0
            ),
            "acceptance_rate",
            k.acceptance_rate,
            acceptance_target,
        ));
    }
    let t = &k.tier_distribution;
    let qualified = t.premium + t.standard + t.basic;
    if qualified >= MIN_LEADS_FOR_MIX {
        let mix = &targets.tier_mix;
        let tiers = [
            ("premium", t.premium, mix.premium_bps),
            ("standard", t.standard, mix.standard_bps),
            ("basic", t.basic, mix.basic_bps),
        ];
        // The tier furthest from its share (in whole bps), premium first on a tie: its
        // shortfall costs the most.
        let off_bps = |n: i64, bps: u32| (n * 10_000 / qualified - i64::from(bps)).abs();
        let worst = tiers
            .iter()
            .rev()
            .max_by_key(|(_, n, bps)| off_bps(*n, *bps))
            .map(|(name, n, bps)| (*name, ratio(*n, qualified), f64::from(*bps) / 10_000.0));
        if let Some((name, share, target)) = worst
            && (share - target).abs() > MIX_TOLERANCE
        {
            let shares = tiers
                .iter()
                .map(|(_, n, _)| format!("{:.0}", ratio(*n, qualified) * 100.0))
                .collect::<Vec<_>>()
                .join(" / ");
            let wanted = tiers
                .iter()
                .map(|(_, _, bps)| format!("{:.0}", f64::from(*bps) / 100.0))
                .collect::<Vec<_>>()
                .join(" / ");
            out.push(alert(
                "tier_mix_off_target",
                if name == "premium" && share < target {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                format!(
                    "this month's qualified leads are {shares} % premium / standard / basic; the target mix is {wanted} %"
                ),
                &format!("tier_share.{name}"),
                share,
                target,
            ));
        }
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.severity as u8));
    out
}

/// A recommendation whose description is its message.
fn advice(
    kind: &str,
    title: &str,
    priority: &str,
    message: String,
    metric: String,
    figure: f64,
    target: f64,
) -> Recommendation {
    Recommendation {
        kind: kind.into(),
        title: title.into(),
        description: message.clone(),
        priority: priority.into(),
        message,
        metric,
        figure,
        target,
    }
}

/// What to do about each problem alert, plus the opportunities the figures show; good
/// news alone gives one recommendation: keep going.
pub fn recommendations(k: &Kpis, alerts: &[Alert], buyers: &[BuyerMonth]) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = alerts
        .iter()
        .filter(|a| a.severity != Severity::Good)
        .map(|a| {
            let (kind, title, priority, message) = match a.kind.as_str() {
                "low_conversion_rate" => (
                    "raise_conversion",
                    "Raise the conversion rate",
                    "high",
                    "Ask for ownership, bill and ZIP earlier and answer cost and roof questions before asking; review the conversation rules.".to_owned(),
                ),
                "low_lead_value" => (
                    "raise_lead_value",
                    "Raise the average lead value",
                    "high",
                    "Route more premium- and standard-tier leads to premium buyers and review price floors against the target value.".to_owned(),
                ),
                "low_revenue_per_hour" => (
                    "raise_revenue_per_hour",
                    "Raise revenue per hour",
                    "medium",
                    "Prioritise high-score conversations and shorten low-value ones; check buyer hours cover the busiest chat hours.".to_owned(),
                ),
                "buyer_capacity_high" => (
                    "add_buyer_capacity",
                    "Add buyer capacity",
                    "high",
                    "Buyers are near their daily caps: raise caps with the best buyers or onboard another buyer before leads go unsold.".to_owned(),
                ),
                "high_return_rate" => (
                    "reduce_returns",
                    "Reduce returns",
                    "medium",
                    "Check the top return reasons per buyer and tighten the qualification they point to.".to_owned(),
                ),
                "low_acceptance_rate" => (
                    "improve_acceptance",
                    "Improve buyer acceptance",
                    if a.severity == Severity::Critical { "high" } else { "medium" },
                    format!(
                        "Buyer acceptance is {:.0} % against the {:.0} % target: send each buyer only the tiers and areas it accepts and review its rejection reasons.",
                        a.figure * 100.0,
                        a.target * 100.0
                    ),
                ),
                "tier_mix_off_target" if a.figure < a.target && a.metric.ends_with("premium") => (
                    "raise_premium_share",
                    "Qualify more leads to premium",
                    "medium",
                    format!(
                        "Premium leads are {:.0} % of qualified leads against a {:.0} % target: confirm timeline, decision maker and financing, which lift a lead's score into premium.",
                        a.figure * 100.0,
                        a.target * 100.0
                    ),
                ),
                "tier_mix_off_target" => (
                    "rebalance_tier_mix",
                    "Rebalance the tier mix",
                    "low",
                    format!(
                        "{} leads are {:.0} % of qualified leads against a {:.0} % target: review the quality thresholds (QUALITY_THRESHOLD_*) and the questions that qualify leads.",
                        a.metric.trim_start_matches("tier_share."),
                        a.figure * 100.0,
                        a.target * 100.0
                    ),
                ),
                _ => (
                    "review_kpi",
                    "Review this figure",
                    "low",
                    "Review this figure against its target.".to_owned(),
                ),
            };
            advice(kind, title, priority, message, a.metric.clone(), a.figure, a.target)
        })
        .collect();
    // A buyer with many returns or rejections, or that rates its leads low, is worth a
    // word even when the totals are fine.
    for b in buyers {
        if b.leads_sold >= MIN_LEADS_FOR_ALERTS && b.return_rate > RETURN_RATE_ALERT {
            out.push(advice(
                "review_buyer",
                "Review what a buyer is sent",
                "medium",
                format!(
                    "{} returns {:.0} % of its leads{}; review what it is sent.",
                    b.buyer_id,
                    b.return_rate * 100.0,
                    b.top_rejection_reasons
                        .first()
                        .map(|r| format!(", most often {}", r.reason))
                        .unwrap_or_default()
                ),
                format!("buyer.{}.return_rate", b.buyer_id),
                b.return_rate,
                RETURN_RATE_ALERT,
            ));
        }
        for f in &b.feedback_by_tier {
            if f.scored >= MIN_SCORED_FOR_ADVICE && f.average_score < LOW_FEEDBACK_SCORE {
                out.push(advice(
                    "low_feedback_score",
                    "A buyer rates its leads low",
                    "medium",
                    format!(
                        "{} rates its {} leads {:.1} out of 10 on average over {} ratings; read its feedback and check those leads' qualification.",
                        b.buyer_id,
                        f.tier.as_str(),
                        f.average_score,
                        f.scored
                    ),
                    format!("buyer.{}.tier.{}.feedback_score", b.buyer_id, f.tier.as_str()),
                    f.average_score,
                    LOW_FEEDBACK_SCORE,
                ));
            }
        }
    }
    if out.is_empty() && k.conversations_month > 0 {
        let good: Vec<&str> = alerts
            .iter()
            .filter(|a| a.severity == Severity::Good)
            .map(|a| a.metric.as_str())
            .collect();
        out.push(advice(
            "on_target",
            "Maintain the current approach",
            "low",
            if good.is_empty() {
                "Every KPI is on target; consider testing a higher price variant for premium leads.".to_owned()
            } else {
                format!(
                    "Every KPI is on target ({} above it); keep the current approach and consider testing a higher price variant for premium leads.",
                    good.join(", ")
                )
            },
            "conversion_rate".into(),
            k.conversion_rate,
            k.conversion_rate,
        ));
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

    fn quiet() -> Kpis {
        Kpis {
            revenue: RevenuePeriods {
                hour: Usd(Cents::ZERO),
                today: Usd(Cents::ZERO),
                week: Usd(Cents::ZERO),
                month: Usd(Cents::ZERO),
            },
            active_conversations: 0,
            conversations_today: 0,
            qualified_leads_today: 0,
            leads_sold_today: 0,
            conversion_rate: 0.0,
            avg_revenue_per_conversation: Usd(Cents::ZERO),
            revenue_per_hour: Usd(Cents::ZERO),
            earnings_per_lead: Usd(Cents::ZERO),
            sell_through_rate: 0.0,
            acceptance_rate: 0.0,
            return_rate: 0.0,
            tier_distribution: TierCounts {
                premium: 0,
                standard: 0,
                basic: 0,
                unqualified: 0,
            },
            capacity_utilisation: 0.0,
            leads_sold_month: 0,
            conversations_month: 0,
        }
    }

    fn kinds(alerts: &[Alert]) -> Vec<&str> {
        alerts.iter().map(|a| a.kind.as_str()).collect()
    }

    #[test]
    fn given_kpis_above_their_targets_then_good_news_is_reported_last_in_the_guides_words() {
        // GIVEN a good day: conversion above 60 %, a strong hour, acceptance above 85 %
        let k = Kpis {
            conversations_today: 20,
            conversion_rate: 0.7,
            revenue: RevenuePeriods {
                hour: Usd(Cents::from_dollars(1_250)),
                ..quiet().revenue
            },
            revenue_per_hour: Usd(Cents::from_dollars(300)),
            leads_sold_month: 40,
            earnings_per_lead: Usd(Cents::from_dollars(180)),
            acceptance_rate: 0.9,
            ..quiet()
        };
        // WHEN the alerts are computed four hours into the day
        let alerts = alerts(&k, &Targets::default(), 4.0);
        // THEN each is good news, in the guide's words where the guide has them
        assert!(
            alerts.iter().all(|a| a.severity == Severity::Good),
            "{alerts:?}"
        );
        let messages: Vec<&str> = alerts.iter().map(|a| a.message.as_str()).collect();
        assert!(messages.contains(&"High revenue this hour - excellent performance!"));
        assert!(messages.contains(&"Conversion rate above target - maintain current approach"));
        assert!(kinds(&alerts).contains(&"acceptance_above_target"));
        assert!(kinds(&alerts).contains(&"lead_value_above_target"));
        // AND the one recommendation is to keep going, with the guide's title/description
        let recs = recommendations(&k, &alerts, &[]);
        assert!(
            recs.is_empty(),
            "no conversations this month: nothing to say"
        );
        let recs = recommendations(
            &Kpis {
                conversations_month: 100,
                ..k.clone()
            },
            &alerts,
            &[],
        );
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].kind, "on_target");
        assert_eq!(recs[0].title, "Maintain the current approach");
        assert_eq!(recs[0].description, recs[0].message);
    }

    #[test]
    fn given_acceptance_below_the_85_percent_target_then_a_warning_and_below_60_critical() {
        for (rate, severity) in [(0.8, Severity::Warning), (0.5, Severity::Critical)] {
            let k = Kpis {
                leads_sold_month: 30,
                acceptance_rate: rate,
                ..quiet()
            };
            let alerts = alerts(&k, &Targets::default(), 4.0);
            let a = alerts
                .iter()
                .find(|a| a.kind == "low_acceptance_rate")
                .expect("alert");
            assert_eq!(a.severity, severity, "{rate}");
            assert_eq!(a.target, 0.85);
            let recs = recommendations(&k, &alerts, &[]);
            let r = recs
                .iter()
                .find(|r| r.kind == "improve_acceptance")
                .expect("recommendation");
            assert!(r.description.contains("85 % target"), "{}", r.description);
        }
        // AND a configured target moves the line
        let k = Kpis {
            leads_sold_month: 30,
            acceptance_rate: 0.8,
            ..quiet()
        };
        let lenient = Targets {
            acceptance_rate_bps: 7_500,
            ..Targets::default()
        };
        assert!(kinds(&alerts(&k, &lenient, 4.0)).contains(&"acceptance_above_target"));
    }

    #[test]
    fn given_too_few_premium_leads_against_the_target_mix_then_an_alert_and_advice() {
        // GIVEN 10 % premium, 50 % standard, 40 % basic against 30 / 50 / 20
        let k = Kpis {
            tier_distribution: TierCounts {
                premium: 5,
                standard: 25,
                basic: 20,
                unqualified: 10,
            },
            ..quiet()
        };
        let alerts = alerts(&k, &Targets::default(), 4.0);
        let a = alerts
            .iter()
            .find(|a| a.kind == "tier_mix_off_target")
            .expect("mix alert");
        assert_eq!(a.metric, "tier_share.premium");
        assert_eq!(a.severity, Severity::Warning);
        assert!(a.message.contains("10 / 50 / 40"), "{}", a.message);
        let recs = recommendations(&k, &alerts, &[]);
        assert!(recs.iter().any(|r| r.kind == "raise_premium_share"));
        // AND a mix within ten points of the target is not flagged
        let k = Kpis {
            tier_distribution: TierCounts {
                premium: 14,
                standard: 26,
                basic: 10,
                unqualified: 0,
            },
            ..quiet()
        };
        assert!(
            !kinds(&super::alerts(&k, &Targets::default(), 4.0)).contains(&"tier_mix_off_target")
        );
    }

    fn day_with_tiers(day: NaiveDate, premium: i64, standard: i64, basic: i64) -> DayTotals {
        let mut d = DayTotals::new(day);
        let counters: BTreeMap<String, i64> = [
            (field::tier("premium"), premium),
            (field::tier("standard"), standard),
            (field::tier("basic"), basic),
        ]
        .into_iter()
        .collect();
        d.add(&counters);
        d
    }

    #[test]
    fn given_more_premium_leads_this_week_than_last_then_the_quality_trend_is_improving() {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 20, 16, 0, 0)
            .single()
            .expect("t");
        let today = new_york_day(now);
        let days = |recent: (i64, i64, i64), earlier: (i64, i64, i64)| -> Vec<DayTotals> {
            (0..14)
                .map(|back| {
                    let (p, s, b) = if back < 7 { recent } else { earlier };
                    day_with_tiers(today - Duration::days(back), p, s, b)
                })
                .collect()
        };
        let k = quiet();
        let t = Targets::default();
        let q = quality_metrics(&days((3, 2, 0), (0, 2, 3)), &k, &[], &t, now);
        assert_eq!(q.quality_trend, "improving");
        assert!(q.quality_index_this_week > q.quality_index_last_week);
        let q = quality_metrics(&days((0, 2, 3), (3, 2, 0)), &k, &[], &t, now);
        assert_eq!(q.quality_trend, "declining");
        let q = quality_metrics(&days((1, 1, 1), (1, 1, 1)), &k, &[], &t, now);
        assert_eq!(q.quality_trend, "stable");
        // AND with too few leads it says stable, not a guess
        let sparse: Vec<DayTotals> = vec![day_with_tiers(today, 3, 0, 0)];
        assert_eq!(
            quality_metrics(&sparse, &k, &[], &t, now).quality_trend,
            "stable"
        );
    }

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
