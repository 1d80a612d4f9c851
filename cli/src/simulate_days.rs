//! `aurum simulate routing --days N`: the lead's whole life over several days, routed by
//! each strategy, against the offline optimum over lead × buyer × time.
//!
//! * Each day's leads are drawn as in the one-day simulation (weekends at 70 % of the
//!   weekday volume, ±10 % a day). Each lead's consent names the buyers
//!   [`who_may_call`] names (at most three, hours and caps left out), and only they may buy
//!   it, as in production.
//! * The buyers are the one-day simulation's seven, each with a return rate, and two
//!   ping-post marketplaces. A marketplace's bid on a lead is drawn once per lead around
//!   its mean for the lead's tier and discounted by the lead's age with the `lead_age`
//!   table the router prices fixed-price buyers with; on each New York day it passes or
//!   does not answer in time with fixed probabilities (one draw per lead, marketplace and
//!   day, so every strategy and the optimum see the same answers).
//! * Daily caps reset at New York midnight. Time runs on the re-offer sweep's grid, every
//!   [`STEP_MINUTES`] minutes, plus each lead's arrival.
//! * Strategies: `greedy` and `bid_price` sell a lead at its arrival or never (the router
//!   before re-offers); `greedy_reoffer` and `bid_price_reoffer` keep a lead no buyer takes
//!   waiting and route it again when [`reoffer_due`] says so (the sweep's own rule), until
//!   its shelf life ends. All of them call the router's own [`route`].
//! * `offline_optimum` knows every lead and every answer in advance. A lead's offer from a
//!   buyer on a New York day is the best expected net value it has there at any moment of
//!   the grid within its shelf life (the buyer's load aside): the LP
//!   `max Σ v·x, Σ x ≤ 1 per lead, Σ x ≤ capacity per buyer and day` over those offers. The
//!   `--json` report lists every offer with its day, moment and value, so the optimum can
//!   be recomputed from outside.

use crate::simulate::{
    CAPS_SIZED_FOR, MON_SAT, Rng, SimBuyer, SimLead, SimulationError, best_assignment,
    build_buyers, fresh_states, generate_day, hours, percent_of, warmup_dates,
};
use aurum::domain::bid_price::{DemandForecast, ForecastLead};
use aurum::domain::buyer::{
    Buyer, BuyerId, BuyerTier, Hours, PingPost, ServiceArea, WebhookSecret, who_may_call,
};
use aurum::domain::facts::Borough;
use aurum::domain::lifecycle::may_wait;
use aurum::domain::money::Cents;
use aurum::domain::pricing::age_hours;
use aurum::domain::routing::{
    BuyerLoad, BuyerState, BuyerStats, Exclusion, LeadToRoute, RoutingDecision, RoutingRequest,
    RoutingRules, RoutingStrategy, TraceResult, UnsoldReason, effective_daily_cap, eligibility,
    reoffer_due, route,
};
use aurum::domain::scoring::QualityTier;
use aurum::domain::targets::Targets;
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Timelike, Utc, Weekday};
use chrono_tz::America::New_York;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Minutes between two moments of the re-offer sweep's grid.
pub const STEP_MINUTES: i64 = 10;
/// Weekend lead volume as a share of a weekday's.
const WEEKEND_VOLUME: f64 = 0.7;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaysScenario {
    pub seed: u64,
    /// Leads on a weekday (weekends get 70 %).
    pub leads_per_day: usize,
    /// Days leads arrive on; the run goes on until the last lead's shelf life ends.
    pub days: u32,
    /// The first day, in New York.
    pub start: NaiveDate,
    /// How long a lead may wait for a buyer.
    pub shelf_life_hours: u32,
    /// Earlier days of each kind (weekday, weekend day) `bid_price` learns its bid prices
    /// from.
    pub warmup_days: u32,
}

impl DaysScenario {
    pub fn new(seed: u64, leads_per_day: usize, days: u32) -> DaysScenario {
        let (y, m, d) = crate::simulate::Scenario::DEFAULT_DATE;
        DaysScenario {
            seed,
            leads_per_day,
            days,
            start: NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default(),
            shelf_life_hours: 72,
            warmup_days: 5,
        }
    }
}

// ---- the JSON report ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaysReport {
    pub seed: u64,
    pub start: NaiveDate,
    pub days: u32,
    pub shelf_life_hours: u32,
    pub step_minutes: i64,
    pub buyers: Vec<DaysBuyerOut>,
    pub leads: Vec<DaysLeadOut>,
    pub strategies: BTreeMap<String, DaysStrategyOut>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaysBuyerOut {
    pub id: String,
    /// `fixed` (its tier's price) or `ping_post` (it bids per lead).
    pub kind: &'static str,
    /// Leads it may take on each New York day: the daily cap less the capacity buffer.
    pub capacity_per_day: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaysLeadOut {
    pub id: String,
    pub arrival: String,
    pub score: u8,
    pub tier: QualityTier,
    /// The buyers its consent names: the only ones that may buy it.
    pub named: Vec<String>,
    /// Its best offer from each buyer on each New York day of its shelf life.
    pub offers: Vec<TimedOfferOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedOfferOut {
    pub buyer_id: String,
    /// The New York day whose capacity it uses.
    pub day: NaiveDate,
    /// The moment of that day the offer is best.
    pub at: String,
    pub age_hours: u32,
    pub price_cents: i64,
    pub p_accept: f64,
    pub p_return: f64,
    /// Price × P(accept) × (1 − P(return)), in whole cents as the router computes it: the
    /// optimum's objective coefficient.
    pub expected_net_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaysStrategyOut {
    /// Σ expected net value of the sales.
    pub expected_revenue_cents: i64,
    pub sold: usize,
    /// Sold on a re-offer (after waiting).
    pub sold_on_reoffer: usize,
    /// How the leads ended: `sold`, `expired: <last reason>`, `unsold: <reason>`.
    pub outcomes: BTreeMap<String, usize>,
    /// Every lead's end.
    pub leads: BTreeMap<String, LeadEnd>,
}

/// How one lead ended under a strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LeadEnd {
    Sold {
        buyer_id: String,
        at: String,
        /// 1 at its arrival, n + 1 on its n-th re-offer.
        offer: u32,
        price_cents: i64,
        expected_net_cents: i64,
    },
    /// Its shelf life ended while it waited.
    Expired { at: String, reason: String },
    /// No buyer took it and it did not wait.
    Unsold { reason: String },
}

impl LeadEnd {
    fn key(&self) -> String {
        match self {
            LeadEnd::Sold { .. } => "sold".into(),
            LeadEnd::Expired { reason, .. } => format!("expired: {reason}"),
            LeadEnd::Unsold { reason } => format!("unsold: {reason}"),
        }
    }
}

// ---- the market --------------------------------------------------------------------------

/// A ping-post marketplace: what it bids and how often it answers.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bidder {
    /// Mean bid in cents for a basic, standard and premium lead.
    mean_bid: [i64; 3],
    /// Standard deviation of a bid, as a share of the mean.
    spread: f64,
    /// Share of pings it passes on.
    pass: f64,
    /// Share of pings it does not answer in time.
    timeout: f64,
}

struct BidderSpec {
    id: &'static str,
    name: &'static str,
    min_quality: QualityTier,
    hours: fn() -> Hours,
    reserve: i64,
    daily_cap_per_400: u32,
    acceptance: f64,
    returns: f64,
    bidder: Bidder,
}

fn bidder_specs() -> Vec<BidderSpec> {
    vec![
        BidderSpec {
            id: "empire_lead_exchange",
            name: "Empire Lead Exchange",
            min_quality: QualityTier::Basic,
            hours: Hours::always,
            reserve: 4_000,
            daily_cap_per_400: 60,
            acceptance: 0.88,
            returns: 0.10,
            bidder: Bidder {
                mean_bid: [7_500, 13_000, 19_000],
                spread: 0.25,
                pass: 0.25,
                timeout: 0.05,
            },
        },
        BidderSpec {
            id: "solar_match_network",
            name: "Solar Match Network",
            min_quality: QualityTier::Standard,
            hours: || hours(&MON_SAT, 8, 21),
            reserve: 9_000,
            daily_cap_per_400: 40,
            acceptance: 0.82,
            returns: 0.06,
            bidder: Bidder {
                mean_bid: [0, 15_000, 24_000],
                spread: 0.20,
                pass: 0.30,
                timeout: 0.04,
            },
        },
    ]
}

/// Share of accepted leads each fixed-price buyer returns for credit.
const RETURNS: [(&str, f64); 7] = [
    ("solarreviews", 0.05),
    ("modernize", 0.08),
    ("installer_direct", 0.04),
    ("northeast_queens_solar", 0.05),
    ("brownstone_solar", 0.03),
    ("staten_island_sun", 0.06),
    ("bronx_community_solar", 0.12),
];

fn with_returns(acceptance_stats: BuyerStats, returns: f64) -> BuyerStats {
    BuyerStats {
        returned: (f64::from(acceptance_stats.accepted) * returns).round() as u32,
        ..acceptance_stats
    }
}

fn market_buyers(
    leads_per_day: usize,
) -> Result<(Vec<SimBuyer>, Vec<Option<Bidder>>), SimulationError> {
    let mut buyers = build_buyers(leads_per_day)?;
    for b in &mut buyers {
        let returns = RETURNS
            .iter()
            .find(|(id, _)| *id == b.buyer.id.as_str())
            .map_or(0.0, |(_, r)| *r);
        b.stats = with_returns(b.stats, returns);
    }
    let mut bidders = vec![None; buyers.len()];
    let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .map_err(SimulationError::Scenario)?;
    for s in bidder_specs() {
        let host = s.id.replace('_', "-");
        let cap = (f64::from(s.daily_cap_per_400) * leads_per_day as f64 / CAPS_SIZED_FOR as f64)
            .round()
            .clamp(1.0, 100_000.0) as u32;
        let buyer = Buyer {
            filters: Default::default(),
            pause: None,
            previous_secrets: Vec::new(),
            version: 0,
            id: BuyerId::parse(s.id).map_err(SimulationError::Scenario)?,
            name: s.name.into(),
            tier: BuyerTier::Standard,
            price_floor: Cents(s.reserve),
            price_cap: Cents(100_000),
            daily_cap: cap,
            monthly_spend_cap: None,
            area: ServiceArea {
                zips: Default::default(),
                boroughs: Borough::ALL.into_iter().collect(),
            },
            min_quality: s.min_quality,
            hours: (s.hours)(),
            webhook_url: format!("https://{host}.buyer.example/post"),
            secret: secret.clone(),
            return_window_days: 7,
            active: true,
            ping_post: Some(PingPost {
                ping_url: format!("https://{host}.buyer.example/ping"),
                deadline_ms: 300,
            }),
        };
        buyer
            .validate()
            .map_err(|e| SimulationError::Scenario(e.to_string()))?;
        buyers.push(SimBuyer {
            buyer,
            stats: with_returns(BuyerStats::with_acceptance(s.acceptance, 400), s.returns),
        });
        bidders.push(Some(s.bidder));
    }
    Ok((buyers, bidders))
}

fn tier_index(tier: QualityTier) -> Option<usize> {
    match tier {
        QualityTier::Unqualified => None,
        QualityTier::Basic => Some(0),
        QualityTier::Standard => Some(1),
        QualityTier::Premium => Some(2),
    }
}

/// Draw streams, apart from the days' (small numbers).
const BID_STREAM: u64 = 1 << 60;
const ANSWER_STREAM: u64 = 2 << 60;

/// The simulated market: rules, buyers, the marketplaces' behaviour, the horizon's leads.
struct Market {
    seed: u64,
    rules: RoutingRules,
    buyers: Vec<SimBuyer>,
    bidders: Vec<Option<Bidder>>,
    /// Per buyer, per New York day.
    capacity: Vec<u32>,
    start: NaiveDate,
    shelf_life: Duration,
    leads: Vec<SimLead>,
    weekday: DemandForecast,
    weekend: DemandForecast,
}

/// One lead at one moment, as the router would see it.
struct Moment {
    at: DateTime<Utc>,
    day: usize,
}

fn new_york_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&New_York).date_naive()
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Market {
    fn moment(&self, at: DateTime<Utc>) -> Moment {
        let days = (new_york_date(at) - self.start).num_days().max(0);
        Moment {
            at,
            day: usize::try_from(days).unwrap_or(0),
        }
    }

    /// A marketplace's bid on lead `i` at `age` hours on New York day `day`: none when it
    /// passes or does not answer in time.
    fn bid(&self, i: usize, b: usize, day: usize, age: u32) -> Option<Cents> {
        let bidder = self.bidders[b]?;
        let lead = &self.leads[i].lead;
        let mean = bidder.mean_bid[tier_index(lead.tier)?];
        if mean <= 0 {
            return None;
        }
        let key = ((i as u64) << 16) | ((b as u64) << 8);
        let mut answer = Rng::new(self.seed, ANSWER_STREAM | key | (day as u64 & 0xff));
        let u = answer.unit();
        if u < bidder.pass + bidder.timeout {
            return None;
        }
        let mut draw = Rng::new(self.seed, BID_STREAM | key);
        let factor = draw.normal(1.0, bidder.spread).max(0.2);
        let dollars = (mean as f64 * factor / 100.0).round() as i64;
        let bps = self.rules.pricing.table.lead_age.bps_at(age);
        Some(Cents(dollars * 100).mul_bps(i64::from(bps)))
    }

    /// Every buyer's state for lead `i` at a moment: its load that day and, for a
    /// marketplace, its answer to the ping.
    fn states(
        &self,
        i: usize,
        m: &Moment,
        loads: &[u32],
        bid_prices: &[Cents],
    ) -> Vec<BuyerState<'_>> {
        let age = age_hours(self.leads[i].arrival, m.at);
        self.buyers
            .iter()
            .enumerate()
            .map(|(b, sb)| BuyerState {
                buyer: &sb.buyer,
                load: BuyerLoad {
                    sold_today: loads.get(b).copied().unwrap_or(0),
                    ..BuyerLoad::default()
                },
                stats: sb.stats,
                bid_price: bid_prices.get(b).copied().unwrap_or(Cents::ZERO),
                bid: self.bid(i, b, m.day, age),
            })
            .collect()
    }

    /// The grid's moments after `from` and before `until`.
    fn grid_after(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> {
        let origin = self.origin();
        let step = Duration::minutes(STEP_MINUTES);
        let k = (from - origin).num_minutes().div_euclid(STEP_MINUTES) + 1;
        (k..)
            .map(move |k| origin + step * i32::try_from(k).unwrap_or(i32::MAX))
            .take_while(move |t| *t < until)
    }

    /// New York midnight of the first day.
    fn origin(&self) -> DateTime<Utc> {
        self.start
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(New_York).earliest())
            .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
    }

    /// Lead `i`'s best offer from each buyer on each New York day of its shelf life, the
    /// buyer's load aside.
    fn offers_over_life(&self, i: usize) -> Vec<TimedOffer> {
        let lead = &self.leads[i];
        let until = lead.arrival + self.shelf_life;
        let none = vec![0; self.buyers.len()];
        let mut best: BTreeMap<(usize, usize), TimedOffer> = BTreeMap::new();
        let aged_at = |t: DateTime<Utc>| lead.lead.clone().aged(age_hours(lead.arrival, t));
        for at in std::iter::once(lead.arrival).chain(self.grid_after(lead.arrival, until)) {
            let m = self.moment(at);
            let states = self.states(i, &m, &none, &[]);
            let aged = aged_at(at);
            let request = request(&aged, &states, at);
            for (b, s) in states.iter().enumerate() {
                let Ok(o) = eligibility(&self.rules, &request, s) else {
                    continue;
                };
                let offer = TimedOffer {
                    buyer: b,
                    day: m.day,
                    at,
                    age_hours: o.quote.age_hours,
                    price: o.quote.price,
                    p_accept_bps: o.p_accept_bps,
                    p_return_bps: o.p_return_bps,
                    value: o.expected_revenue,
                };
                best.entry((b, m.day))
                    .and_modify(|e| {
                        if offer.value > e.value {
                            *e = offer;
                        }
                    })
                    .or_insert(offer);
            }
        }
        best.into_values().collect()
    }

    fn forecast(&self, date: NaiveDate) -> &DemandForecast {
        if is_weekend(date) {
            &self.weekend
        } else {
            &self.weekday
        }
    }
}

/// A routing request for a lead no buyer declined and whose contact was not sold before.
fn request<'a>(
    lead: &'a LeadToRoute,
    buyers: &'a [BuyerState<'a>],
    at: DateTime<Utc>,
) -> RoutingRequest<'a> {
    RoutingRequest {
        lead,
        buyers,
        duplicate: false,
        declined: &[],
        at,
    }
}

/// A lead's best offer from a buyer on a New York day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimedOffer {
    buyer: usize,
    day: usize,
    at: DateTime<Utc>,
    age_hours: u32,
    price: Cents,
    p_accept_bps: u32,
    p_return_bps: u32,
    value: Cents,
}

// ---- the online strategies -----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Greedy,
    BidPrice,
    GreedyReoffer,
    BidPriceReoffer,
}

impl Policy {
    const ALL: [Policy; 4] = [
        Policy::Greedy,
        Policy::BidPrice,
        Policy::GreedyReoffer,
        Policy::BidPriceReoffer,
    ];

    fn name(self) -> &'static str {
        match self {
            Policy::Greedy => "greedy",
            Policy::BidPrice => "bid_price",
            Policy::GreedyReoffer => "greedy_reoffer",
            Policy::BidPriceReoffer => "bid_price_reoffer",
        }
    }

    fn strategy(self) -> RoutingStrategy {
        match self {
            Policy::Greedy | Policy::GreedyReoffer => RoutingStrategy::Greedy,
            Policy::BidPrice | Policy::BidPriceReoffer => RoutingStrategy::BidPrice,
        }
    }

    fn reoffers(self) -> bool {
        matches!(self, Policy::GreedyReoffer | Policy::BidPriceReoffer)
    }
}

/// How a lead ended, by index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    Sold {
        buyer: usize,
        at: DateTime<Utc>,
        offer: u32,
        price: Cents,
        value: Cents,
    },
    Expired {
        at: DateTime<Utc>,
        reason: String,
    },
    Unsold {
        reason: String,
    },
}

/// Filter order: the later a filter, the closer the buyer came to taking the lead.
fn closeness(e: Exclusion) -> u8 {
    match e {
        Exclusion::Inactive => 0,
        Exclusion::PausedBySalesTeam | Exclusion::Paused => 1,
        Exclusion::NotNamedInConsent => 2,
        Exclusion::OutsideServiceArea => 3,
        Exclusion::BelowMinQuality => 4,
        Exclusion::PropertyTypeNotTaken | Exclusion::BillBelowMinimum => 5,
        Exclusion::Closed => 6,
        Exclusion::DailyCapReached => 7,
        Exclusion::MonthlySpendCapReached => 8,
        Exclusion::Duplicate => 9,
        Exclusion::Declined => 10,
        Exclusion::NoBid => 11,
        Exclusion::BelowReserve => 12,
    }
}

/// Why a routing sold nothing, finer than the router's reason: `held_for_capacity`, or the
/// filter that stopped the buyer that came closest (`closed`, `daily_cap_reached`, …).
fn why_unsold(d: &RoutingDecision) -> String {
    match d.unsold_reason() {
        Some(UnsoldReason::NoEligibleBuyer) | None => d
            .trace
            .iter()
            .filter_map(|t| match t.result {
                TraceResult::Excluded { reason } => Some(reason),
                TraceResult::Eligible(_) => None,
            })
            .max_by_key(|e| closeness(*e))
            .map_or_else(|| "no_buyer".into(), |e| e.as_str().into()),
        Some(r) => r.as_str().into(),
    }
}

/// A lead waiting for a re-offer.
struct Waiting {
    lead: usize,
    last: RoutingDecision,
    offers: u32,
}

/// One online run: the loads it made and how each lead ended.
struct Run<'m> {
    market: &'m Market,
    policy: Policy,
    /// Sold per (buyer, day).
    sold: BTreeMap<(usize, usize), u32>,
    bid_prices: Vec<Cents>,
    fates: Vec<Option<Fate>>,
    waiting: Vec<Waiting>,
}

impl<'m> Run<'m> {
    fn new(market: &'m Market, policy: Policy) -> Run<'m> {
        Run {
            market,
            policy,
            sold: BTreeMap::new(),
            bid_prices: vec![Cents::ZERO; market.buyers.len()],
            fates: vec![None; market.leads.len()],
            waiting: Vec::new(),
        }
    }

    fn loads(&self, day: usize) -> Vec<u32> {
        (0..self.market.buyers.len())
            .map(|b| self.sold.get(&(b, day)).copied().unwrap_or(0))
            .collect()
    }

    /// Routes lead `i` at `at`: a first offer always, a re-offer only when due. `Ok(None)`
    /// when not due; the decision otherwise (its sale already counted).
    fn route(
        &mut self,
        i: usize,
        at: DateTime<Utc>,
        offer: u32,
        last: Option<&RoutingDecision>,
    ) -> Result<Option<RoutingDecision>, SimulationError> {
        let market = self.market;
        let m = market.moment(at);
        let loads = self.loads(m.day);
        let sim = &market.leads[i];
        let lead = sim.lead.clone().aged(age_hours(sim.arrival, at));
        if offer > 1 {
            let states = market.states(i, &m, &loads, &[]);
            if !reoffer_due(&market.rules, &request(&lead, &states, at), last) {
                return Ok(None);
            }
        }
        if self.policy.strategy() == RoutingStrategy::BidPrice {
            let date = new_york_date(at);
            let local = at.with_timezone(&New_York);
            let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
            let remaining: Vec<u32> = loads
                .iter()
                .zip(&market.capacity)
                .map(|(l, c)| c.saturating_sub(*l))
                .collect();
            self.bid_prices =
                market
                    .forecast(date)
                    .bid_prices_from(minute, &remaining, &self.bid_prices);
        }
        let states = market.states(i, &m, &loads, &self.bid_prices);
        let decision = route(
            &market.rules,
            self.policy.strategy(),
            &request(&lead, &states, at),
        );
        if let Some(sale) = decision.sale() {
            let b = market
                .buyers
                .iter()
                .position(|s| s.buyer.id == sale.buyer_id)
                .ok_or_else(|| {
                    SimulationError::Invalid(format!("{} sold to an unknown buyer", sim.id))
                })?;
            let taken = self.sold.entry((b, m.day)).or_default();
            *taken += 1;
            if *taken > market.capacity[b] {
                return Err(SimulationError::Invalid(format!(
                    "{}: {} got more than its capacity on day {}",
                    self.policy.name(),
                    sale.buyer_id,
                    m.day
                )));
            }
            self.fates[i] = Some(Fate::Sold {
                buyer: b,
                at,
                offer,
                price: sale.quote.price,
                value: sale.expected_revenue,
            });
        }
        Ok(Some(decision))
    }

    fn arrive(&mut self, i: usize) -> Result<(), SimulationError> {
        let at = self.market.leads[i].arrival;
        let Some(decision) = self.route(i, at, 1, None)? else {
            return Ok(());
        };
        if decision.sale().is_some() {
            return Ok(());
        }
        let reason = decision
            .unsold_reason()
            .map_or("no_eligible_buyer", UnsoldReason::as_str);
        if self.policy.reoffers() && may_wait(reason) {
            self.waiting.push(Waiting {
                lead: i,
                last: decision,
                offers: 1,
            });
        } else {
            self.fates[i] = Some(Fate::Unsold {
                reason: why_unsold(&decision),
            });
        }
        Ok(())
    }

    /// The re-offer sweep at `at`: expiry, then a re-offer of each lead that is due.
    fn sweep(&mut self, at: DateTime<Utc>) -> Result<(), SimulationError> {
        let waiting = std::mem::take(&mut self.waiting);
        for mut w in waiting {
            if at >= self.market.leads[w.lead].arrival + self.market.shelf_life {
                self.fates[w.lead] = Some(Fate::Expired {
                    at,
                    reason: why_unsold(&w.last),
                });
                continue;
            }
            match self.route(w.lead, at, w.offers + 1, Some(&w.last))? {
                None => self.waiting.push(w),
                Some(d) if d.sale().is_some() => {}
                Some(d) => {
                    w.last = d;
                    w.offers += 1;
                    self.waiting.push(w);
                }
            }
        }
        Ok(())
    }

    fn play(mut self) -> Result<Vec<Fate>, SimulationError> {
        let market = self.market;
        let Some(last) = market.leads.last() else {
            return Ok(Vec::new());
        };
        let end = last.arrival + market.shelf_life + Duration::minutes(STEP_MINUTES);
        let mut next = 0;
        let origin = market.origin();
        for at in market.grid_after(origin - Duration::minutes(STEP_MINUTES), end) {
            while next < market.leads.len() && market.leads[next].arrival <= at {
                self.arrive(next)?;
                next += 1;
            }
            if self.policy.reoffers() {
                self.sweep(at)?;
            }
        }
        self.fates
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                f.ok_or_else(|| {
                    SimulationError::Invalid(format!(
                        "lead {i} has no end under {}",
                        self.policy.name()
                    ))
                })
            })
            .collect()
    }
}

// ---- building and running ------------------------------------------------------------------

fn forecast_of(
    market_rules: &RoutingRules,
    buyers: &[SimBuyer],
    bidders: &[Option<Bidder>],
    days: &[Vec<SimLead>],
) -> DemandForecast {
    let ids = buyers.iter().map(|b| b.buyer.id.to_string()).collect();
    let states = fresh_states(buyers);
    let leads =
        days.iter()
            .flatten()
            .map(|l| {
                let request = request(&l.lead, &states, l.arrival);
                ForecastLead {
                    minute: l.minute,
                    values: states
                        .iter()
                        .enumerate()
                        .filter_map(|(b, s)| {
                            // A marketplace is forecast at its mean bid for the lead's tier.
                            let mean = bidders.get(b).copied().flatten().and_then(|m| {
                                tier_index(l.lead.tier).map(|t| Cents(m.mean_bid[t]))
                            });
                            let s = BuyerState { bid: mean, ..*s };
                            eligibility(market_rules, &request, &s)
                                .ok()
                                .map(|o| (u16::try_from(b).unwrap_or(u16::MAX), o.expected_revenue))
                        })
                        .collect(),
                }
            })
            .collect();
    DemandForecast::new(ids, u32::try_from(days.len()).unwrap_or(u32::MAX), leads)
}

/// The leads of one day, with their consent's names.
fn day_leads(
    seed: u64,
    stream: u64,
    date: NaiveDate,
    n: usize,
    prefix: &str,
    buyers: &[Buyer],
) -> Result<Vec<SimLead>, SimulationError> {
    let mut leads = generate_day(seed, stream, date, n, (prefix, 4))?;
    for l in &mut leads {
        l.lead.named = who_may_call(
            buyers,
            l.lead.zip.as_ref(),
            l.lead.borough,
            l.lead.tier,
            l.lead.property_type,
            l.lead.monthly_bill,
        )
        .into_iter()
        .map(|n| n.buyer_id)
        .collect();
    }
    Ok(leads)
}

fn volume(seed: u64, stream: u64, per_day: usize, date: NaiveDate) -> usize {
    let mut rng = Rng::new(seed, stream.wrapping_add(1 << 32));
    let kind = if is_weekend(date) {
        WEEKEND_VOLUME
    } else {
        1.0
    };
    ((per_day as f64) * kind * (0.9 + 0.2 * rng.unit()))
        .round()
        .clamp(1.0, 100_000.0) as usize
}

fn build(s: &DaysScenario) -> Result<Market, SimulationError> {
    if s.leads_per_day == 0 || s.leads_per_day > 10_000 {
        return Err(SimulationError::Scenario(
            "--leads must be 1 to 10000 a day".into(),
        ));
    }
    if !(1..=28).contains(&s.days) {
        return Err(SimulationError::Scenario("--days must be 1 to 28".into()));
    }
    if !(1..=720).contains(&s.shelf_life_hours) {
        return Err(SimulationError::Scenario(
            "--shelf-life-hours must be 1 to 720".into(),
        ));
    }
    aurum::domain::init().map_err(|e| SimulationError::Scenario(e.to_string()))?;
    let mut rules = RoutingRules::from_targets(&Targets::default());
    rules.pricing = rules.pricing.without_surge();
    let (buyers, bidders) = market_buyers(s.leads_per_day)?;
    let plain: Vec<Buyer> = buyers.iter().map(|b| b.buyer.clone()).collect();
    let capacity = buyers
        .iter()
        .map(|b| effective_daily_cap(b.buyer.daily_cap, rules.capacity_buffer_bps))
        .collect();

    let mut leads = Vec::new();
    for d in 0..s.days {
        let date = s.start + Duration::days(i64::from(d));
        let stream = 100 + u64::from(d);
        let n = volume(s.seed, stream, s.leads_per_day, date);
        leads.extend(day_leads(
            s.seed,
            stream,
            date,
            n,
            &format!("d{:02}l", d + 1),
            &plain,
        )?);
    }
    // bid_price learns each kind of day from earlier days of that kind.
    let reference = |weekend: bool| {
        (0..7)
            .map(|k| s.start + Duration::days(k))
            .find(|d| is_weekend(*d) == weekend)
            .unwrap_or(s.start)
    };
    let learn = |weekend: bool, base: u64| -> Result<DemandForecast, SimulationError> {
        let mut days = Vec::new();
        for (k, date) in warmup_dates(reference(weekend), s.warmup_days)
            .into_iter()
            .enumerate()
        {
            let stream = base + k as u64;
            let n = volume(s.seed, stream, s.leads_per_day, date);
            days.push(day_leads(s.seed, stream, date, n, "w", &plain)?);
        }
        Ok(forecast_of(&rules, &buyers, &bidders, &days))
    };
    let weekday = learn(false, 1_000)?;
    let weekend = learn(true, 2_000)?;
    Ok(Market {
        seed: s.seed,
        rules,
        buyers,
        bidders,
        capacity,
        start: s.start,
        shelf_life: Duration::hours(i64::from(s.shelf_life_hours)),
        leads,
        weekday,
        weekend,
    })
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Runs every strategy and the optimum: the report the `--json` file holds.
pub fn simulate_days(s: &DaysScenario) -> Result<DaysReport, SimulationError> {
    let market = build(s)?;
    let ids: Vec<String> = market
        .buyers
        .iter()
        .map(|b| b.buyer.id.to_string())
        .collect();
    let offers: Vec<Vec<TimedOffer>> = (0..market.leads.len())
        .map(|i| market.offers_over_life(i))
        .collect();
    let horizon = offers
        .iter()
        .flatten()
        .map(|o| o.day + 1)
        .max()
        .unwrap_or(1);
    let nb = market.buyers.len();
    let resource_capacity: Vec<u32> = (0..nb * horizon)
        .map(|r| market.capacity[r / horizon])
        .collect();
    let values: Vec<Vec<(usize, f64)>> = offers
        .iter()
        .map(|lead| {
            lead.iter()
                .map(|o| (o.buyer * horizon + o.day, o.value.0 as f64))
                .collect()
        })
        .collect();
    let chosen = best_assignment(&resource_capacity, &values)?;
    let optimum: Vec<Fate> = chosen
        .iter()
        .zip(&offers)
        .map(|(c, lead)| match c {
            Some(k) => {
                let o = lead[*k];
                Fate::Sold {
                    buyer: o.buyer,
                    at: o.at,
                    offer: 1,
                    price: o.price,
                    value: o.value,
                }
            }
            None => Fate::Unsold {
                reason: if lead.is_empty() {
                    "no_offer".into()
                } else {
                    "capacity_to_better_leads".into()
                },
            },
        })
        .collect();

    let mut strategies = BTreeMap::new();
    let best = total(&optimum);
    for policy in Policy::ALL {
        let fates = Run::new(&market, policy).play()?;
        check_against_offers(policy.name(), &fates, &offers, &market)?;
        if total(&fates) > best {
            return Err(SimulationError::Solver(format!(
                "{} beat the offline optimum: the LP was not solved to optimality",
                policy.name()
            )));
        }
        strategies.insert(
            policy.name().to_owned(),
            strategy_out(&market, &ids, &fates),
        );
    }
    let mut optimum_out = strategy_out(&market, &ids, &optimum);
    // The optimum sells each lead at its best moment; "offer" counts nothing there.
    optimum_out.sold_on_reoffer = optimum
        .iter()
        .zip(&market.leads)
        .filter(|(f, l)| matches!(f, Fate::Sold { at, .. } if *at > l.arrival))
        .count();
    strategies.insert("offline_optimum".into(), optimum_out);

    Ok(DaysReport {
        seed: s.seed,
        start: s.start,
        days: s.days,
        shelf_life_hours: s.shelf_life_hours,
        step_minutes: STEP_MINUTES,
        buyers: market
            .buyers
            .iter()
            .zip(&market.capacity)
            .map(|(b, &c)| DaysBuyerOut {
                id: b.buyer.id.to_string(),
                kind: if b.buyer.bids() { "ping_post" } else { "fixed" },
                capacity_per_day: c,
            })
            .collect(),
        leads: market
            .leads
            .iter()
            .zip(&offers)
            .map(|(l, o)| DaysLeadOut {
                id: l.id.clone(),
                arrival: stamp(l.arrival),
                score: l.lead.score,
                tier: l.lead.tier,
                named: l.lead.named.clone(),
                offers: o
                    .iter()
                    .map(|o| TimedOfferOut {
                        buyer_id: ids[o.buyer].clone(),
                        day: s.start + Duration::days(i64::try_from(o.day).unwrap_or(0)),
                        at: stamp(o.at),
                        age_hours: o.age_hours,
                        price_cents: o.price.0,
                        p_accept: f64::from(o.p_accept_bps) / 10_000.0,
                        p_return: f64::from(o.p_return_bps) / 10_000.0,
                        expected_net_cents: o.value.0,
                    })
                    .collect(),
            })
            .collect(),
        strategies,
    })
}

fn total(fates: &[Fate]) -> i64 {
    fates
        .iter()
        .map(|f| match f {
            Fate::Sold { value, .. } => value.0,
            _ => 0,
        })
        .sum()
}

/// Every online sale is one of the lead's offers (that buyer, that day) at no more than
/// the offer's value: the optimum saw everything the strategy could do.
fn check_against_offers(
    name: &str,
    fates: &[Fate],
    offers: &[Vec<TimedOffer>],
    market: &Market,
) -> Result<(), SimulationError> {
    for (i, f) in fates.iter().enumerate() {
        let Fate::Sold {
            buyer, at, value, ..
        } = f
        else {
            continue;
        };
        let day = market.moment(*at).day;
        let listed = offers[i]
            .iter()
            .find(|o| o.buyer == *buyer && o.day == day)
            .ok_or_else(|| {
                SimulationError::Invalid(format!(
                    "{name}: {} sold to buyer {buyer} on day {day} without an offer",
                    market.leads[i].id
                ))
            })?;
        if *value > listed.value {
            return Err(SimulationError::Invalid(format!(
                "{name}: {} sold for {value} where its best offer is {}",
                market.leads[i].id, listed.value
            )));
        }
    }
    Ok(())
}

fn strategy_out(market: &Market, ids: &[String], fates: &[Fate]) -> DaysStrategyOut {
    let leads: BTreeMap<String, LeadEnd> = market
        .leads
        .iter()
        .zip(fates)
        .map(|(l, f)| {
            let end = match f {
                Fate::Sold {
                    buyer,
                    at,
                    offer,
                    price,
                    value,
                } => LeadEnd::Sold {
                    buyer_id: ids[*buyer].clone(),
                    at: stamp(*at),
                    offer: *offer,
                    price_cents: price.0,
                    expected_net_cents: value.0,
                },
                Fate::Expired { at, reason } => LeadEnd::Expired {
                    at: stamp(*at),
                    reason: reason.clone(),
                },
                Fate::Unsold { reason } => LeadEnd::Unsold {
                    reason: reason.clone(),
                },
            };
            (l.id.clone(), end)
        })
        .collect();
    let mut outcomes = BTreeMap::new();
    for end in leads.values() {
        *outcomes.entry(end.key()).or_default() += 1;
    }
    DaysStrategyOut {
        expected_revenue_cents: total(fates),
        sold: fates
            .iter()
            .filter(|f| matches!(f, Fate::Sold { .. }))
            .count(),
        sold_on_reoffer: fates
            .iter()
            .filter(|f| matches!(f, Fate::Sold { offer, .. } if *offer > 1))
            .count(),
        outcomes,
        leads,
    }
}

/// The report as people read it: revenue against the optimum, then how leads ended.
pub fn days_summary(r: &DaysReport) -> String {
    let optimum = r
        .strategies
        .get("offline_optimum")
        .map_or(0, |s| s.expected_revenue_cents);
    let mut out = format!(
        "routing simulation: seed {}, {} leads over {} days from {} (shelf life {} h, sweep every {} min), {} buyers ({} ping-post)\n",
        r.seed,
        r.leads.len(),
        r.days,
        r.start,
        r.shelf_life_hours,
        r.step_minutes,
        r.buyers.len(),
        r.buyers.iter().filter(|b| b.kind == "ping_post").count()
    );
    let _ = writeln!(
        out,
        "{:<18} {:>18} {:>6} {:>9} {:>11}",
        "strategy", "expected net", "sold", "re-offer", "of optimum"
    );
    let order = [
        "offline_optimum",
        "bid_price_reoffer",
        "greedy_reoffer",
        "bid_price",
        "greedy",
    ];
    for name in order {
        let Some(st) = r.strategies.get(name) else {
            continue;
        };
        let ratio = percent_of(st.expected_revenue_cents, optimum);
        let _ = writeln!(
            out,
            "{:<18} {:>18} {:>6} {:>9} {:>10.2}%",
            name,
            Cents(st.expected_revenue_cents).spoken(),
            st.sold,
            st.sold_on_reoffer,
            ratio
        );
    }
    let n = r.leads.len().max(1) as f64;
    for name in order.iter().skip(1) {
        let Some(st) = r.strategies.get(*name) else {
            continue;
        };
        let _ = writeln!(out, "{name}: how the {} leads ended", r.leads.len());
        let mut rows: Vec<(&String, &usize)> = st.outcomes.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        for (key, count) in rows {
            let _ = writeln!(
                out,
                "  {key:<40} {count:>6} {:>6.1}%",
                *count as f64 / n * 100.0
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> DaysScenario {
        DaysScenario {
            warmup_days: 2,
            ..DaysScenario::new(seed, 40, 3)
        }
    }

    #[test]
    fn given_a_seed_when_simulated_twice_then_the_json_is_identical() {
        let a = serde_json::to_string(&simulate_days(&small(7)).expect("simulates")).expect("json");
        let b = serde_json::to_string(&simulate_days(&small(7)).expect("simulates")).expect("json");
        assert_eq!(a, b);
    }

    #[test]
    fn given_several_days_then_the_optimum_is_recomputable_from_the_json_and_beats_every_strategy()
    {
        // GIVEN a three-day run
        let r = simulate_days(&small(5)).expect("simulates");
        let v = serde_json::to_value(&r).expect("json");
        // WHEN the optimum is solved again from the report's offers and capacities alone
        let capacity: BTreeMap<&str, u32> = r
            .buyers
            .iter()
            .map(|b| (b.id.as_str(), b.capacity_per_day))
            .collect();
        let mut resources: Vec<(String, NaiveDate)> = Vec::new();
        let mut values = Vec::new();
        for lead in &r.leads {
            let mut row = Vec::new();
            for o in &lead.offers {
                let key = (o.buyer_id.clone(), o.day);
                let k = resources.iter().position(|r| *r == key).unwrap_or_else(|| {
                    resources.push(key.clone());
                    resources.len() - 1
                });
                row.push((k, o.expected_net_cents as f64));
            }
            values.push(row);
        }
        let caps: Vec<u32> = resources
            .iter()
            .map(|(b, _)| capacity[b.as_str()])
            .collect();
        let again = best_assignment(&caps, &values).expect("solves");
        let recomputed: i64 = again
            .iter()
            .zip(&r.leads)
            .filter_map(|(c, l)| c.map(|k| l.offers[k].expected_net_cents))
            .sum();
        // THEN it is the report's optimum, and no strategy beats it
        let best = r.strategies["offline_optimum"].expected_revenue_cents;
        assert_eq!(recomputed, best);
        for name in ["greedy", "bid_price", "greedy_reoffer", "bid_price_reoffer"] {
            assert!(r.strategies[name].expected_revenue_cents <= best, "{name}");
        }
        // AND the report has every strategy, every lead's end, and offers with moments
        assert_eq!(
            v["strategies"].as_object().expect("map").len(),
            5,
            "four strategies and the optimum"
        );
        let first = &v["leads"][0];
        assert_eq!(first["id"], "d01l0001");
        assert!(first["offers"].as_array().is_some());
    }

    #[test]
    fn given_re_offers_then_more_leads_sell_and_none_is_left_without_an_end() {
        // GIVEN the same days routed with and without re-offers
        let r = simulate_days(&small(9)).expect("simulates");
        let once = &r.strategies["greedy"];
        let again = &r.strategies["greedy_reoffer"];
        // THEN re-offers sell at least as many leads, some of them on a re-offer
        assert!(again.sold >= once.sold, "{} < {}", again.sold, once.sold);
        assert!(again.sold_on_reoffer > 0);
        assert_eq!(
            once.sold_on_reoffer, 0,
            "without re-offers every sale is a first offer"
        );
        // AND every lead ended: sold, expired with a reason, or unsold with one
        for st in r.strategies.values() {
            assert_eq!(st.leads.len(), r.leads.len());
            assert_eq!(st.outcomes.values().sum::<usize>(), r.leads.len());
        }
        // AND without re-offers nothing expires; with them nothing is left unsold but what
        // no later moment can lift (none here: no duplicates)
        assert!(once.outcomes.keys().all(|k| !k.starts_with("expired")));
        assert!(
            again.outcomes.keys().all(|k| !k.starts_with("unsold")),
            "{:?}",
            again.outcomes
        );
    }

    #[test]
    fn given_a_lead_then_only_the_buyers_its_consent_names_have_offers() {
        let r = simulate_days(&small(3)).expect("simulates");
        for lead in &r.leads {
            assert!(lead.named.len() <= 3);
            for o in &lead.offers {
                assert!(
                    lead.named.contains(&o.buyer_id),
                    "{} offered to {}",
                    lead.id,
                    o.buyer_id
                );
            }
        }
    }

    #[test]
    fn given_an_aged_offer_then_its_price_carries_the_age_discount() {
        let r = simulate_days(&small(4)).expect("simulates");
        // An offer on a later day than the lead's arrival is at least a day old.
        let aged: Vec<&TimedOfferOut> = r
            .leads
            .iter()
            .flat_map(|l| l.offers.iter().filter(move |o| o.at > l.arrival))
            .filter(|o| o.age_hours >= 24)
            .collect();
        assert!(!aged.is_empty());
        let m = build(&small(4)).expect("builds");
        for o in aged {
            let b = m
                .buyers
                .iter()
                .find(|b| b.buyer.id.as_str() == o.buyer_id)
                .expect("buyer");
            let bps = m.rules.pricing.table.lead_age.bps_at(o.age_hours);
            assert!(bps < 10_000);
            if !b.buyer.bids() {
                // A fixed-price buyer's price is at most its aged cap.
                assert!(o.price_cents <= b.buyer.price_cap.mul_bps(i64::from(bps)).0);
            }
        }
    }

    #[test]
    fn given_a_marketplace_then_its_answer_is_fixed_per_lead_and_day_and_its_bid_decays_with_age() {
        let m = build(&small(2)).expect("builds");
        let b = m
            .buyers
            .iter()
            .position(|b| b.buyer.id.as_str() == "empire_lead_exchange")
            .expect("marketplace");
        let fixed = m
            .buyers
            .iter()
            .position(|b| !b.buyer.bids())
            .expect("fixed");
        let mut answered = 0;
        for i in 0..m.leads.len() {
            assert_eq!(
                m.bid(i, fixed, 0, 0),
                None,
                "a fixed-price buyer never bids"
            );
            assert_eq!(m.bid(i, b, 0, 0), m.bid(i, b, 0, 0));
            if let (Some(fresh), Some(old)) = (m.bid(i, b, 0, 0), m.bid(i, b, 0, 30)) {
                answered += 1;
                assert!(old < fresh, "a 30-hour-old lead is bid lower");
            }
        }
        // Most pings are answered, not all.
        assert!(answered > 0 && answered < m.leads.len());
    }

    #[test]
    fn given_routings_then_the_unsold_reason_names_the_closest_filter() {
        let r = simulate_days(&small(6)).expect("simulates");
        let known = [
            "closed",
            "daily_cap_reached",
            "outside_service_area",
            "below_min_quality",
            "not_named_in_consent",
            "no_bid",
            "below_reserve",
            "held_for_capacity",
        ];
        for st in r.strategies.values() {
            for end in st.leads.values() {
                if let LeadEnd::Expired { reason, .. } | LeadEnd::Unsold { reason } = end {
                    assert!(
                        known.contains(&reason.as_str())
                            || ["no_offer", "capacity_to_better_leads"].contains(&reason.as_str()),
                        "{reason}"
                    );
                }
            }
        }
    }
}
