//! Which buyer gets a lead (SPEC §2): eligibility filters with a named reason for every
//! exclusion, then one of two strategies.
//!
//! * `greedy` — the guide's routing score, each term on 0..=1: the best buyer for this
//!   lead, now.
//! * `bid_price` — expected revenue minus each buyer's opportunity cost of one unit of
//!   capacity (its bid price, from [`super::bid_price`]): the best buyer for the day.
//!
//! Pure: buyers' loads, stats, bid prices and the time come in; a [`RoutingDecision`]
//! (buyer or the reason there is none, the price quote and the trace) goes out.

use super::buyer::{Buyer, BuyerId, BuyerTier, Filtered};
use super::conversation::{ConsentEvidence, LeadFacts, ZipCode};
use super::facts::{Borough, PropertyType};
use super::market::MarketData;
use super::money::Cents;
use super::pricing::{MarketSignals, PriceInput, PriceQuote, PricingRules, quote};
use super::scoring::QualityTier;
use super::targets::Targets;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// How the router chooses among eligible buyers (`AURUM_ROUTING_STRATEGY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingStrategy {
    /// The guide's routing score: revenue, acceptance, free capacity, quality, geography,
    /// history.
    Greedy,
    /// Expected revenue minus the buyer's bid price for its capacity. The default: it earns
    /// more over a day (BENCHMARKS.md, routing simulation).
    #[default]
    BidPrice,
}

impl RoutingStrategy {
    pub const ALL: [RoutingStrategy; 2] = [RoutingStrategy::Greedy, RoutingStrategy::BidPrice];

    pub fn as_str(self) -> &'static str {
        match self {
            RoutingStrategy::Greedy => "greedy",
            RoutingStrategy::BidPrice => "bid_price",
        }
    }
}

impl fmt::Display for RoutingStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoutingStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "greedy" => Ok(RoutingStrategy::Greedy),
            "bid_price" => Ok(RoutingStrategy::BidPrice),
            other => Err(format!("{other:?} is not one of greedy, bid_price")),
        }
    }
}

/// A buyer's state in its current local day and month, as the store counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BuyerLoad {
    /// Leads sold to the buyer in its current local day.
    pub sold_today: u32,
    /// What the buyer was charged in its current local month.
    pub spend_this_month: Cents,
    /// Deliveries that failed in a row (reset by a success).
    pub consecutive_failures: u32,
    /// Paused by the sales team or by the delivery circuit breaker.
    pub paused: bool,
}

/// What the feedback loop knows of a buyer: counts, smoothed into rates with priors so a
/// new buyer starts at sensible values and a few outcomes do not swing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BuyerStats {
    pub accepted: u32,
    pub rejected: u32,
    /// Accepted leads later returned for credit.
    pub returned: u32,
    /// The same outcomes for basic, standard and premium leads: a buyer may keep its
    /// premium leads and return its basic ones.
    #[serde(default)]
    pub by_tier: [TierOutcomes; 3],
}

/// A buyer's accepted and returned leads of one quality tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TierOutcomes {
    pub accepted: u32,
    pub returned: u32,
}

/// Where a sellable tier's outcomes sit in [`BuyerStats::by_tier`].
pub fn tier_slot(tier: QualityTier) -> Option<usize> {
    match tier {
        QualityTier::Unqualified => None,
        QualityTier::Basic => Some(0),
        QualityTier::Standard => Some(1),
        QualityTier::Premium => Some(2),
    }
}

impl BuyerStats {
    /// Prior acceptance rate (a Beta prior worth [`BuyerStats::PRIOR_WEIGHT`] outcomes):
    /// under the guide's 85 % target, so an unknown buyer is not favoured over a good one.
    pub const PRIOR_ACCEPTANCE: f64 = 0.80;
    /// Prior share of accepted leads kept (not returned).
    pub const PRIOR_KEPT: f64 = 0.90;
    pub const PRIOR_WEIGHT: f64 = 10.0;

    /// Stats that reproduce an acceptance rate over `n` decided leads (the simulation's
    /// buyers; a new buyer in production starts from `BuyerStats::default()`).
    pub fn with_acceptance(rate: f64, n: u32) -> BuyerStats {
        let accepted = (f64::from(n) * rate.clamp(0.0, 1.0)).round() as u32;
        BuyerStats {
            accepted,
            rejected: n.saturating_sub(accepted),
            ..BuyerStats::default()
        }
    }

    /// (accepted + prior) / (decided + weight), in 0..=1.
    pub fn acceptance_rate(&self) -> f64 {
        let decided = f64::from(self.accepted) + f64::from(self.rejected);
        (f64::from(self.accepted) + Self::PRIOR_ACCEPTANCE * Self::PRIOR_WEIGHT)
            / (decided + Self::PRIOR_WEIGHT)
    }

    /// Past performance, in 0..=1: the share of accepted leads the buyer kept (paid for),
    /// smoothed. Returns are what cost the seller money after a sale.
    pub fn history(&self) -> f64 {
        let kept = f64::from(self.accepted.saturating_sub(self.returned));
        (kept + Self::PRIOR_KEPT * Self::PRIOR_WEIGHT)
            / (f64::from(self.accepted) + Self::PRIOR_WEIGHT)
    }

    /// The share of accepted leads of `tier` the buyer kept, smoothed towards its share
    /// over every tier ([`BuyerStats::history`]) with the same weight: a tier with few
    /// outcomes takes the buyer's rate, one with many its own.
    pub fn kept(&self, tier: QualityTier) -> f64 {
        let overall = self.history();
        let Some(t) = tier_slot(tier).map(|i| self.by_tier[i]) else {
            return overall;
        };
        let kept = f64::from(t.accepted.saturating_sub(t.returned));
        (kept + overall * Self::PRIOR_WEIGHT) / (f64::from(t.accepted) + Self::PRIOR_WEIGHT)
    }
}

/// Rank of a quality tier for distances: basic 0, standard 1, premium 2.
fn tier_rank(t: QualityTier) -> i32 {
    match t {
        QualityTier::Unqualified => -1,
        QualityTier::Basic => 0,
        QualityTier::Standard => 1,
        QualityTier::Premium => 2,
    }
}

/// The probability that the buyer accepts this lead, in basis points: its smoothed
/// acceptance rate, +5 points for each tier the lead is above the buyer's minimum (a
/// better lead than asked for is rarely rejected), within 1 %..=99 %. Basis points keep
/// expected revenue exact in integer cents.
pub fn acceptance_bps(stats: &BuyerStats, lead: QualityTier, min_quality: QualityTier) -> u32 {
    let above = f64::from((tier_rank(lead) - tier_rank(min_quality)).max(0));
    let p = (stats.acceptance_rate() + 0.05 * above).clamp(0.01, 0.99);
    (p * 10_000.0).round() as u32
}

/// How many leads a buyer may take in a day once the capacity buffer is held back:
/// `floor(daily_cap × (1 − buffer))`, at least 1 for any buyer with a cap. A cap of 40
/// with the 10 % buffer takes 36; a cap of 5 takes 4; caps 1 and 2 take 1. The floor keeps
/// the buffer real on small caps (rounding up would leave a cap of 5 no slack at all);
/// the minimum of 1 keeps a one-lead-a-day buyer a buyer.
pub fn effective_daily_cap(daily_cap: u32, buffer_bps: u32) -> u32 {
    if daily_cap == 0 {
        return 0;
    }
    let keep = u64::from(10_000u32.saturating_sub(buffer_bps));
    let cap = u64::from(daily_cap) * keep / 10_000;
    u32::try_from(cap).unwrap_or(daily_cap).max(1)
}

/// Everything routing depends on besides the lead, the buyers and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRules {
    pub pricing: PricingRules,
    /// `BUYER_CAPACITY_BUFFER`, in bps of the daily cap held back.
    pub capacity_buffer_bps: u32,
    /// Consecutive delivery failures that take a buyer out of rotation.
    pub pause_after_failures: u32,
    /// Under `bid_price`, whether a lead whose best net value is negative is still sold
    /// (to the buyer with the highest net value) rather than held unsold. Off: every
    /// eligible buyer's capacity is expected to earn more on a later lead, and spending it
    /// here loses that difference. In the routing simulation holding earned a median 99.5 %
    /// of the offline optimum, selling anyway 94.6 % (BENCHMARKS.md).
    pub sell_below_bid_price: bool,
}

impl RoutingRules {
    pub const PAUSE_AFTER_FAILURES: u32 = 5;

    pub fn new(pricing: PricingRules, targets: &Targets) -> RoutingRules {
        RoutingRules {
            pricing,
            capacity_buffer_bps: targets.buyer_capacity_buffer_bps,
            pause_after_failures: Self::PAUSE_AFTER_FAILURES,
            sell_below_bid_price: false,
        }
    }

    /// The embedded pricing table and the configured thresholds.
    pub fn from_targets(targets: &Targets) -> RoutingRules {
        RoutingRules::new(PricingRules::from_targets(targets), targets)
    }
}

/// The lead as routing sees it: no contact details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadToRoute {
    pub score: u8,
    pub tier: QualityTier,
    pub zip: Option<ZipCode>,
    pub borough: Option<Borough>,
    pub market: MarketSignals,
    /// Whole hours since it qualified: a re-offered lead sells at its age's discount.
    pub age_hours: u32,
    /// The buyers its consent names (ids); empty: any buyer.
    pub named: Vec<String>,
    /// For buyers that filter on them ([`LeadFilters`](super::buyer::LeadFilters)).
    pub property_type: Option<PropertyType>,
    pub monthly_bill: Option<Cents>,
}

impl LeadToRoute {
    /// The same lead, offered only to the buyers its consent names (if it names any).
    pub fn consented(self, consent: Option<&ConsentEvidence>) -> LeadToRoute {
        LeadToRoute {
            named: consent
                .map(|c| c.sellers.iter().map(|s| s.buyer_id.clone()).collect())
                .unwrap_or_default(),
            ..self
        }
    }

    /// The same lead `hours` after it qualified.
    pub fn aged(self, hours: u32) -> LeadToRoute {
        LeadToRoute {
            age_hours: hours,
            ..self
        }
    }

    pub fn from_facts(
        score: u8,
        tier: QualityTier,
        facts: &LeadFacts,
        market: &MarketData,
    ) -> LeadToRoute {
        let signals = MarketSignals::for_facts(market, facts);
        LeadToRoute {
            score,
            tier,
            zip: facts.zip_code.clone(),
            borough: signals.borough.or(facts.borough),
            market: signals,
            age_hours: 0,
            named: Vec::new(),
            property_type: facts.property_type,
            monthly_bill: facts.monthly_bill,
        }
    }
}

/// One buyer as the router sees it for this lead.
#[derive(Debug, Clone, Copy)]
pub struct BuyerState<'a> {
    pub buyer: &'a Buyer,
    pub load: BuyerLoad,
    pub stats: BuyerStats,
    /// Opportunity cost of one unit of the buyer's remaining capacity today (zero when no
    /// forecast is known; `bid_price` then sells to the highest expected revenue).
    pub bid_price: Cents,
    /// A ping-post buyer's bid on this lead (its price if it wins); `None` for the others.
    pub bid: Option<Cents>,
}

/// A routing request: one lead, every buyer, the moment.
#[derive(Debug, Clone)]
pub struct RoutingRequest<'a> {
    pub lead: &'a LeadToRoute,
    pub buyers: &'a [BuyerState<'a>],
    /// The lead's phone or email was sold within the dedup window.
    pub duplicate: bool,
    /// Buyers that already declined this lead (a post-time reject or a failed delivery):
    /// the cascade goes on to the others.
    pub declined: &'a [BuyerId],
    pub at: DateTime<Utc>,
}

/// Why a buyer cannot take a lead; the filters run in this order and the first that fails
/// is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    Inactive,
    /// Paused by the sales team (the trace's `note` says why).
    PausedBySalesTeam,
    /// Paused after too many delivery failures in a row.
    Paused,
    /// The homeowner's consent names other buyers.
    NotNamedInConsent,
    OutsideServiceArea,
    BelowMinQuality,
    /// The buyer does not take this property type (or co-ops, or unknown types).
    PropertyTypeNotTaken,
    /// The homeowner's monthly bill is under the buyer's minimum (or unknown).
    BillBelowMinimum,
    /// Outside the buyer's hours of operation.
    Closed,
    /// The daily cap less the capacity buffer is used up.
    DailyCapReached,
    /// The price does not fit in what is left of the monthly spend cap.
    MonthlySpendCapReached,
    Duplicate,
    /// The buyer already declined this lead.
    Declined,
    /// A ping-post buyer that made no bid on this lead (it passed, or did not answer in
    /// time, or was not pinged).
    NoBid,
    /// A ping-post buyer's bid under its reserve price (its floor).
    BelowReserve,
}

impl Exclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::Inactive => "inactive",
            Exclusion::PausedBySalesTeam => "paused_by_sales_team",
            Exclusion::Paused => "paused",
            Exclusion::NotNamedInConsent => "not_named_in_consent",
            Exclusion::OutsideServiceArea => "outside_service_area",
            Exclusion::BelowMinQuality => "below_min_quality",
            Exclusion::PropertyTypeNotTaken => "property_type_not_taken",
            Exclusion::BillBelowMinimum => "bill_below_minimum",
            Exclusion::Closed => "closed",
            Exclusion::DailyCapReached => "daily_cap_reached",
            Exclusion::MonthlySpendCapReached => "monthly_spend_cap_reached",
            Exclusion::Duplicate => "duplicate",
            Exclusion::Declined => "declined",
            Exclusion::NoBid => "no_bid",
            Exclusion::BelowReserve => "below_reserve",
        }
    }
}

/// A buyer that can take the lead, and what it is worth there.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub quote: PriceQuote,
    pub p_accept_bps: u32,
    /// The probability that the buyer returns the lead for credit once accepted.
    pub p_return_bps: u32,
    /// The expected net value of the sale: price × P(accept) × (1 − P(return)).
    pub expected_revenue: Cents,
}

impl Offer {
    pub fn p_accept(&self) -> f64 {
        f64::from(self.p_accept_bps) / 10_000.0
    }

    pub fn p_return(&self) -> f64 {
        f64::from(self.p_return_bps) / 10_000.0
    }
}

/// The probability, in basis points, that the buyer returns an accepted lead of this tier:
/// one less the smoothed share of such leads it kept ([`BuyerStats::kept`]), learned from
/// its returns by the routing update.
pub fn return_bps(stats: &BuyerStats, tier: QualityTier) -> u32 {
    ((1.0 - stats.kept(tier)).clamp(0.0, 0.99) * 10_000.0).round() as u32
}

/// Price × P(accept) × (1 − P(return)), exact in integer cents: the money a sale is
/// expected to leave with the seller once the buyer has judged the lead and the return
/// window has passed.
pub fn expected_net_value(price: Cents, p_accept_bps: u32, p_return_bps: u32) -> Cents {
    price
        .mul_bps(i64::from(p_accept_bps))
        .mul_bps(10_000 - i64::from(p_return_bps.min(10_000)))
}

/// Runs the filters for one buyer, in order. The quote is priced at the buyer's current
/// load (surge included).
pub fn eligibility(
    rules: &RoutingRules,
    request: &RoutingRequest<'_>,
    state: &BuyerState<'_>,
) -> Result<Offer, Exclusion> {
    let (b, load, lead) = (state.buyer, &state.load, request.lead);
    if !b.active {
        return Err(Exclusion::Inactive);
    }
    if b.pause.is_some() {
        return Err(Exclusion::PausedBySalesTeam);
    }
    if load.paused || load.consecutive_failures >= rules.pause_after_failures {
        return Err(Exclusion::Paused);
    }
    if !lead.named.is_empty() && !lead.named.iter().any(|id| id == b.id.as_str()) {
        return Err(Exclusion::NotNamedInConsent);
    }
    if !b.area.covers(lead.zip.as_ref(), lead.borough) {
        return Err(Exclusion::OutsideServiceArea);
    }
    if lead.tier == QualityTier::Unqualified || lead.tier < b.min_quality {
        return Err(Exclusion::BelowMinQuality);
    }
    match b.filters.admit(lead.property_type, lead.monthly_bill) {
        Ok(()) => {}
        Err(Filtered::PropertyType) => return Err(Exclusion::PropertyTypeNotTaken),
        Err(Filtered::Bill) => return Err(Exclusion::BillBelowMinimum),
    }
    if !b.hours.is_open(request.at) {
        return Err(Exclusion::Closed);
    }
    if load.sold_today >= effective_daily_cap(b.daily_cap, rules.capacity_buffer_bps) {
        return Err(Exclusion::DailyCapReached);
    }
    // A ping-post buyer's price is its bid (it priced the lead's age itself); the others'
    // is their tier's price at this lead.
    let quote = if b.bids() {
        PriceQuote::bid(
            b,
            state.bid.unwrap_or(b.price_floor),
            load.sold_today,
            lead.market,
            request.at,
        )
    } else {
        quote(
            &rules.pricing,
            b,
            &PriceInput {
                score: lead.score,
                market: lead.market,
                sold_today: load.sold_today,
                at: request.at,
            },
        )
        .aged(&rules.pricing.table.lead_age, lead.age_hours)
    };
    if let Some(cap) = b.monthly_spend_cap
        && load
            .spend_this_month
            .checked_add(quote.price)
            .is_none_or(|total| total > cap)
    {
        return Err(Exclusion::MonthlySpendCapReached);
    }
    if request.duplicate {
        return Err(Exclusion::Duplicate);
    }
    if request.declined.contains(&b.id) {
        return Err(Exclusion::Declined);
    }
    if b.bids() {
        match state.bid {
            None => return Err(Exclusion::NoBid),
            Some(bid) if bid < b.price_floor => return Err(Exclusion::BelowReserve),
            Some(_) => {}
        }
    }
    let p_accept_bps = acceptance_bps(&state.stats, lead.tier, b.min_quality);
    let p_return_bps = return_bps(&state.stats, lead.tier);
    let expected_revenue = expected_net_value(quote.price, p_accept_bps, p_return_bps);
    Ok(Offer {
        quote,
        p_accept_bps,
        p_return_bps,
        expected_revenue,
    })
}

/// The guide's routing score of one eligible buyer, each term on 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RoutingScore {
    /// Expected revenue / the best expected revenue among the eligible buyers.
    pub revenue: f64,
    /// Smoothed acceptance rate.
    pub acceptance: f64,
    /// 1 − leads sold today / effective daily cap.
    pub free_capacity: f64,
    /// 1 at the buyer's minimum tier, −0.5 for each tier the lead is above it.
    pub quality_match: f64,
    /// 1 − the share of NYC the buyer's area reaches: a narrow local buyer fits its area
    /// best.
    pub geography: f64,
    /// Smoothed share of accepted leads kept.
    pub history: f64,
    /// 0.4 revenue + 0.25 acceptance + 0.15 free capacity + 0.1 quality + 0.05 geography
    /// + 0.05 history.
    pub total: f64,
}

impl RoutingScore {
    pub const WEIGHTS: [f64; 6] = [0.40, 0.25, 0.15, 0.10, 0.05, 0.05];

    fn new(terms: [f64; 6]) -> RoutingScore {
        let terms = terms.map(|t| {
            if t.is_finite() {
                t.clamp(0.0, 1.0)
            } else {
                0.0
            }
        });
        let total = terms.iter().zip(Self::WEIGHTS).map(|(t, w)| t * w).sum();
        RoutingScore {
            revenue: terms[0],
            acceptance: terms[1],
            free_capacity: terms[2],
            quality_match: terms[3],
            geography: terms[4],
            history: terms[5],
            total,
        }
    }
}

/// What the trace says of an eligible buyer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EligibleBuyer {
    pub price: Cents,
    pub p_accept: f64,
    /// The probability that the buyer returns the lead once accepted (learned from its
    /// returns).
    #[serde(default)]
    pub p_return: f64,
    /// Price × P(accept) × (1 − P(return)).
    pub expected_revenue: Cents,
    /// Under `greedy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_score: Option<RoutingScore>,
    /// Under `bid_price`: the opportunity cost of its capacity, and expected revenue less it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_price: Option<Cents>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_value: Option<Cents>,
}

/// One line of the routing trace: a buyer and whether it could take the lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuyerTrace {
    pub buyer_id: BuyerId,
    #[serde(flatten)]
    pub result: TraceResult,
    /// The sales team's reason, when it paused the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "eligibility", rename_all = "snake_case")]
pub enum TraceResult {
    Eligible(EligibleBuyer),
    Excluded { reason: Exclusion },
}

/// Why a lead was not sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsoldReason {
    /// Its phone or email was sold within the dedup window.
    Duplicate,
    /// Every buyer was excluded by a filter (see the trace).
    NoEligibleBuyer,
    /// Under `bid_price`: every eligible buyer's capacity is expected to earn more on a
    /// later lead than this one is worth to it (each bid price exceeds the expected revenue).
    HeldForCapacity,
}

impl UnsoldReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnsoldReason::Duplicate => "duplicate",
            UnsoldReason::NoEligibleBuyer => "no_eligible_buyer",
            UnsoldReason::HeldForCapacity => "held_for_capacity",
        }
    }
}

/// The chosen buyer, the price and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sale {
    pub buyer_id: BuyerId,
    pub buyer_tier: BuyerTier,
    pub quote: PriceQuote,
    pub p_accept: f64,
    /// The probability that the buyer returns the lead once accepted.
    #[serde(default)]
    pub p_return: f64,
    /// Price × P(accept) × (1 − P(return)).
    pub expected_revenue: Cents,
    /// For people: why this buyer ("highest routing score 0.83 of 3 eligible buyers: …").
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RoutingOutcome {
    Sold(Sale),
    Unsold { reason: UnsoldReason },
}

/// A routing decision as the lead record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingDecision {
    pub strategy: RoutingStrategy,
    pub decided_at: DateTime<Utc>,
    #[serde(flatten)]
    pub outcome: RoutingOutcome,
    /// Every buyer, in the order given: eligible (with its figures) or the filter that
    /// excluded it.
    pub trace: Vec<BuyerTrace>,
}

impl RoutingDecision {
    pub fn sale(&self) -> Option<&Sale> {
        match &self.outcome {
            RoutingOutcome::Sold(s) => Some(s),
            RoutingOutcome::Unsold { .. } => None,
        }
    }

    pub fn buyer_id(&self) -> Option<&BuyerId> {
        self.sale().map(|s| &s.buyer_id)
    }

    /// The sale as made, once a pricing experiment has repriced it.
    pub fn set_sale(&mut self, sale: Sale) {
        self.outcome = RoutingOutcome::Sold(sale);
    }

    pub fn unsold_reason(&self) -> Option<UnsoldReason> {
        match &self.outcome {
            RoutingOutcome::Sold(_) => None,
            RoutingOutcome::Unsold { reason } => Some(*reason),
        }
    }
}

fn greedy_score(
    rules: &RoutingRules,
    lead: &LeadToRoute,
    state: &BuyerState<'_>,
    offer: &Offer,
    best_expected: Cents,
) -> RoutingScore {
    let b = state.buyer;
    let revenue = if best_expected.0 > 0 {
        offer.expected_revenue.0 as f64 / best_expected.0 as f64
    } else {
        0.0
    };
    let cap = effective_daily_cap(b.daily_cap, rules.capacity_buffer_bps).max(1);
    let free = 1.0 - f64::from(state.load.sold_today) / f64::from(cap);
    let above = f64::from((tier_rank(lead.tier) - tier_rank(b.min_quality)).max(0));
    RoutingScore::new([
        revenue,
        state.stats.acceptance_rate(),
        free,
        1.0 - 0.5 * above,
        1.0 - b.area.breadth(),
        state.stats.history(),
    ])
}

/// Decides who gets the lead. Buyers are traced in the order given; ties go to the
/// earlier buyer, so the same inputs always give the same decision.
pub fn route(
    rules: &RoutingRules,
    strategy: RoutingStrategy,
    request: &RoutingRequest<'_>,
) -> RoutingDecision {
    let results: Vec<Result<Offer, Exclusion>> = request
        .buyers
        .iter()
        .map(|s| eligibility(rules, request, s))
        .collect();
    let best_expected = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|o| o.expected_revenue)
        .max()
        .unwrap_or(Cents::ZERO);

    let mut trace = Vec::with_capacity(results.len());
    // (index, ranking key, tie-break on expected revenue)
    let mut best: Option<(usize, f64, Cents)> = None;
    for (i, (state, result)) in request.buyers.iter().zip(&results).enumerate() {
        let entry = match result {
            Err(reason) => TraceResult::Excluded { reason: *reason },
            Ok(offer) => {
                let mut e = EligibleBuyer {
                    price: offer.quote.price,
                    p_accept: offer.p_accept(),
                    p_return: offer.p_return(),
                    expected_revenue: offer.expected_revenue,
                    routing_score: None,
                    bid_price: None,
                    net_value: None,
                };
                let key = match strategy {
                    RoutingStrategy::Greedy => {
                        let s = greedy_score(rules, request.lead, state, offer, best_expected);
                        e.routing_score = Some(s);
                        s.total
                    }
                    RoutingStrategy::BidPrice => {
                        let net = offer.expected_revenue - state.bid_price;
                        e.bid_price = Some(state.bid_price);
                        e.net_value = Some(net);
                        net.0 as f64
                    }
                };
                let better = match best {
                    None => true,
                    Some((_, k, rev)) => match key.total_cmp(&k) {
                        Ordering::Greater => true,
                        Ordering::Equal => offer.expected_revenue > rev,
                        Ordering::Less => false,
                    },
                };
                if better {
                    best = Some((i, key, offer.expected_revenue));
                }
                TraceResult::Eligible(e)
            }
        };
        let note = match (result, &state.buyer.pause) {
            (Err(Exclusion::PausedBySalesTeam), Some(pause)) => Some(pause.reason.clone()),
            _ => None,
        };
        trace.push(BuyerTrace {
            buyer_id: state.buyer.id.clone(),
            result: entry,
            note,
        });
    }

    let eligible = results.iter().filter(|r| r.is_ok()).count();
    let held = strategy == RoutingStrategy::BidPrice
        && !rules.sell_below_bid_price
        && best.is_some_and(|(_, net, _)| net < 0.0);
    let outcome = match best {
        Some(_) if held => RoutingOutcome::Unsold {
            reason: UnsoldReason::HeldForCapacity,
        },
        Some((i, key, _)) => {
            let state = &request.buyers[i];
            let offer = match &results[i] {
                Ok(o) => o.clone(),
                Err(_) => unreachable!("the best buyer is an eligible one"),
            };
            let reason = sale_reason(strategy, state, &offer, key, eligible);
            RoutingOutcome::Sold(Sale {
                buyer_id: state.buyer.id.clone(),
                buyer_tier: state.buyer.tier,
                p_accept: offer.p_accept(),
                p_return: offer.p_return(),
                expected_revenue: offer.expected_revenue,
                quote: offer.quote,
                reason,
            })
        }
        None if request.duplicate => RoutingOutcome::Unsold {
            reason: UnsoldReason::Duplicate,
        },
        None => RoutingOutcome::Unsold {
            reason: UnsoldReason::NoEligibleBuyer,
        },
    };
    RoutingDecision {
        strategy,
        decided_at: request.at,
        outcome,
        trace,
    }
}

fn sale_reason(
    strategy: RoutingStrategy,
    state: &BuyerState<'_>,
    offer: &Offer,
    key: f64,
    eligible: usize,
) -> String {
    let of = if eligible == 1 {
        "the only eligible buyer".to_owned()
    } else {
        format!("of {eligible} eligible buyers")
    };
    let expected = format!(
        "expected net value {} ({} × {}% acceptance × {}% kept)",
        offer.expected_revenue,
        offer.quote.price,
        offer.p_accept_bps / 100,
        (10_000 - offer.p_return_bps.min(10_000)) / 100
    );
    match strategy {
        RoutingStrategy::Greedy if eligible == 1 => format!("{of}: {expected}"),
        RoutingStrategy::Greedy => format!("highest routing score {key:.2} {of}: {expected}"),
        RoutingStrategy::BidPrice => {
            let net = offer.expected_revenue - state.bid_price;
            let head = if eligible == 1 {
                of
            } else {
                format!("highest net value {net} {of}")
            };
            format!(
                "{head}: {expected} less a bid price of {} for its remaining capacity",
                state.bid_price
            )
        }
    }
}

/// A waiting lead some buyer could take is offered again at least this often, even when no
/// new buyer opened (bid prices and the order of buyers change over a day).
pub const RECHECK_AFTER: chrono::Duration = chrono::Duration::minutes(30);

/// Whether a waiting lead is offered again at `request.at`: some buyer could take it now (a
/// ping-post buyer that passes every filter could bid), and either that buyer could not at
/// its last routing (it opened, its cap reset, it got capacity back, it was added or
/// resumed) or the last routing is [`RECHECK_AFTER`] old, so a `held_for_capacity` hold is
/// decided again. A lead with no routing recorded is due as soon as a buyer could take it.
pub fn reoffer_due(
    rules: &RoutingRules,
    request: &RoutingRequest<'_>,
    last: Option<&RoutingDecision>,
) -> bool {
    let could_bid = |r: &Result<Offer, Exclusion>| matches!(r, Ok(_) | Err(Exclusion::NoBid));
    let open_now: Vec<&BuyerId> = request
        .buyers
        .iter()
        .filter(|s| could_bid(&eligibility(rules, request, s)))
        .map(|s| &s.buyer.id)
        .collect();
    if open_now.is_empty() {
        return false;
    }
    let Some(last) = last else {
        return true;
    };
    // A ping-post buyer that was pinged and did not bid (or bid under its reserve) could
    // take the lead then too: it waits for the recheck.
    let open_before = |id: &BuyerId| {
        last.trace.iter().any(|t| {
            &t.buyer_id == id
                && matches!(
                    t.result,
                    TraceResult::Eligible(_)
                        | TraceResult::Excluded {
                            reason: Exclusion::NoBid | Exclusion::BelowReserve
                        }
                )
        })
    };
    open_now.iter().any(|id| !open_before(id)) || request.at - last.decided_at >= RECHECK_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::buyer::{Hours, ServiceArea, WebhookSecret};
    use crate::domain::market::market;
    use chrono::{NaiveTime, TimeZone, Weekday};
    use chrono_tz::America::New_York;

    fn buyer(id: &str, tier: BuyerTier, daily_cap: u32) -> Buyer {
        Buyer {
            filters: Default::default(),
            pause: None,
            previous_secrets: Vec::new(),
            version: 0,
            id: BuyerId::parse(id).expect("id"),
            name: id.into(),
            tier,
            price_floor: Cents(5_000),
            price_cap: Cents(60_000),
            daily_cap,
            monthly_spend_cap: None,
            area: ServiceArea {
                zips: Default::default(),
                boroughs: Borough::ALL.into(),
            },
            min_quality: QualityTier::Basic,
            hours: Hours::always(),
            webhook_url: "https://buyer.example/leads".into(),
            secret: WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret"),
            return_window_days: 7,
            active: true,
            ping_post: None,
        }
    }

    fn lead(score: u8, tier: QualityTier, zip: &str) -> LeadToRoute {
        let zip = ZipCode::parse(zip).expect("zip");
        let market = MarketSignals::for_place(market(), Some(&zip), None, None);
        LeadToRoute {
            score,
            tier,
            zip: Some(zip),
            borough: market.borough,
            market,
            age_hours: 0,
            named: Vec::new(),
            property_type: None,
            monthly_bill: None,
        }
    }

    fn rules() -> RoutingRules {
        RoutingRules::from_targets(&Targets::default())
    }

    /// Monday 2026-06-01 10:00 New York.
    fn monday_morning() -> DateTime<Utc> {
        New_York
            .with_ymd_and_hms(2026, 6, 1, 10, 0, 0)
            .single()
            .expect("t")
            .with_timezone(&Utc)
    }

    fn state(b: &Buyer) -> BuyerState<'_> {
        BuyerState {
            buyer: b,
            load: BuyerLoad::default(),
            stats: BuyerStats::default(),
            bid_price: Cents::ZERO,
            bid: None,
        }
    }

    fn request<'a>(lead: &'a LeadToRoute, buyers: &'a [BuyerState<'a>]) -> RoutingRequest<'a> {
        RoutingRequest {
            lead,
            buyers,
            duplicate: false,
            declined: &[],
            at: monday_morning(),
        }
    }

    fn reason(d: &RoutingDecision, id: &str) -> Option<Exclusion> {
        d.trace
            .iter()
            .find(|t| t.buyer_id.as_str() == id)
            .and_then(|t| match t.result {
                TraceResult::Excluded { reason } => Some(reason),
                TraceResult::Eligible(_) => None,
            })
    }

    #[test]
    fn given_a_buyer_paused_by_the_sales_team_then_the_trace_names_the_pause_and_its_reason() {
        // GIVEN two buyers, one paused by the sales team with a reason
        let mut paused = buyer("paused_co", BuyerTier::Premium, 10);
        paused.pause = Some(crate::domain::buyer::SalesPause {
            reason: "invoice overdue".into(),
            by: "ops@example".into(),
            at: monday_morning(),
        });
        let open = buyer("open_co", BuyerTier::Standard, 10);
        let states = [state(&paused), state(&open)];
        // WHEN a lead is routed
        let d = route(
            &rules(),
            RoutingStrategy::Greedy,
            &request(&lead(80, QualityTier::Standard, "11215"), &states),
        );
        // THEN the paused buyer is excluded as paused by the sales team, with the reason,
        // and the lead goes to the other
        assert_eq!(reason(&d, "paused_co"), Some(Exclusion::PausedBySalesTeam));
        let line = d
            .trace
            .iter()
            .find(|t| t.buyer_id.as_str() == "paused_co")
            .expect("traced");
        assert_eq!(line.note.as_deref(), Some("invoice overdue"));
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("open_co"));
    }

    #[test]
    fn given_buyers_filtering_on_property_and_bill_then_only_leads_that_pass_reach_them() {
        use crate::domain::buyer::LeadFilters;
        // GIVEN a buyer that takes no co-ops, one that takes only single-family homes, and
        // one that needs a $150 bill
        let mut no_coops = buyer("no_coops", BuyerTier::Standard, 10);
        no_coops.filters = LeadFilters {
            exclude_coops: true,
            ..LeadFilters::default()
        };
        let mut houses = buyer("houses", BuyerTier::Standard, 10);
        houses.filters = LeadFilters {
            property_types: [PropertyType::SingleFamily].into(),
            ..LeadFilters::default()
        };
        let mut big_bills = buyer("big_bills", BuyerTier::Standard, 10);
        big_bills.filters = LeadFilters {
            min_monthly_bill: Some(Cents(15_000)),
            ..LeadFilters::default()
        };
        let states = [state(&no_coops), state(&houses), state(&big_bills)];
        let route_one = |property: Option<PropertyType>, bill: Option<i64>| {
            let mut l = lead(80, QualityTier::Standard, "11215");
            l.property_type = property;
            l.monthly_bill = bill.map(Cents);
            let d = route(&rules(), RoutingStrategy::Greedy, &request(&l, &states));
            (
                reason(&d, "no_coops"),
                reason(&d, "houses"),
                reason(&d, "big_bills"),
            )
        };
        // WHEN a co-op with a $120 bill is routed THEN all three turn it away, each saying why
        assert_eq!(
            route_one(Some(PropertyType::Coop), Some(12_000)),
            (
                Some(Exclusion::PropertyTypeNotTaken),
                Some(Exclusion::PropertyTypeNotTaken),
                Some(Exclusion::BillBelowMinimum)
            )
        );
        // WHEN a single-family home with a $200 bill is routed THEN every one may take it
        assert_eq!(
            route_one(Some(PropertyType::SingleFamily), Some(20_000)),
            (None, None, None)
        );
        // WHEN the type and bill are unknown THEN only the buyer without those filters takes it
        assert_eq!(
            route_one(None, None),
            (
                None,
                Some(Exclusion::PropertyTypeNotTaken),
                Some(Exclusion::BillBelowMinimum)
            )
        );
    }

    #[test]
    fn given_a_waiting_lead_then_it_is_offered_again_when_a_buyer_frees_up_or_at_the_recheck() {
        // GIVEN a lead last routed when its only buyer had used its day's cap
        let b = buyer("queens_solar", BuyerTier::Direct, 10);
        let l = lead(75, QualityTier::Standard, "11375");
        let full = BuyerState {
            load: BuyerLoad {
                sold_today: 9,
                ..BuyerLoad::default()
            },
            ..state(&b)
        };
        let full_states = [full];
        let last = route(
            &rules(),
            RoutingStrategy::Greedy,
            &request(&l, &full_states),
        );
        assert_eq!(
            reason(&last, "queens_solar"),
            Some(Exclusion::DailyCapReached)
        );
        // WHEN the sweep looks again ten minutes later, still full
        let later = |minutes: i64, states: &'_ [BuyerState<'_>]| {
            let mut r = request(&l, states);
            r.at = monday_morning() + chrono::Duration::minutes(minutes);
            reoffer_due(&rules(), &r, Some(&last))
        };
        // THEN nothing is due: no buyer could take it
        assert!(!later(10, &full_states));
        assert!(
            !later(45, &full_states),
            "the recheck needs a buyer that could take it"
        );
        // WHEN the cap resets (or a release gives capacity back)
        let free_states = [state(&b)];
        // THEN it is due at once, a newly able buyer does not wait for the recheck
        assert!(later(10, &free_states));

        // GIVEN a lead held while its buyer could take it (a bid-price hold)
        let held = route(
            &rules(),
            RoutingStrategy::Greedy,
            &request(&l, &free_states),
        );
        // THEN it is not due before the recheck, and due from it on
        let again = |minutes: i64| {
            let mut r = request(&l, &free_states);
            r.at = monday_morning() + chrono::Duration::minutes(minutes);
            reoffer_due(&rules(), &r, Some(&held))
        };
        assert!(!again(29));
        assert!(again(30));
        // AND a lead with no routing on record is due as soon as a buyer could take it
        assert!(reoffer_due(&rules(), &request(&l, &free_states), None));
    }

    #[test]
    fn given_the_buffer_then_caps_keep_ninety_percent_rounded_down_and_at_least_one() {
        for (cap, want) in [
            (40, 36),
            (10, 9),
            (8, 7),
            (5, 4),
            (2, 1),
            (1, 1),
            (0, 0),
            (150, 135),
        ] {
            assert_eq!(effective_daily_cap(cap, 1_000), want, "cap {cap}");
        }
        assert_eq!(effective_daily_cap(40, 0), 40);
        assert_eq!(effective_daily_cap(40, 10_000), 1);
    }

    #[test]
    fn given_buyers_failing_each_filter_then_the_trace_names_the_first_filter_that_failed() {
        // GIVEN one buyer per filter, each failing exactly that one
        let mut inactive = buyer("inactive", BuyerTier::Premium, 40);
        inactive.active = false;
        let paused = buyer("paused", BuyerTier::Premium, 40);
        let failing = buyer("failing", BuyerTier::Premium, 40);
        let mut far = buyer("far", BuyerTier::Premium, 40);
        far.area.boroughs = [Borough::Bronx].into();
        let mut picky = buyer("picky", BuyerTier::Premium, 40);
        picky.min_quality = QualityTier::Premium;
        let mut closed = buyer("closed", BuyerTier::Premium, 40);
        closed.hours.days = vec![Weekday::Sat];
        let full = buyer("full", BuyerTier::Premium, 40);
        let mut broke = buyer("broke", BuyerTier::Premium, 40);
        broke.monthly_spend_cap = Some(Cents(100_000));
        let open = buyer("open", BuyerTier::Standard, 40);
        let mut states: Vec<BuyerState<'_>> = [
            &inactive, &paused, &failing, &far, &picky, &closed, &full, &broke, &open,
        ]
        .into_iter()
        .map(state)
        .collect();
        states[1].load.paused = true;
        states[2].load.consecutive_failures = 5;
        states[6].load.sold_today = 36;
        states[7].load.spend_this_month = Cents(80_000);
        // WHEN a standard Queens lead is routed
        let l = lead(75, QualityTier::Standard, "11368");
        let d = route(&rules(), RoutingStrategy::Greedy, &request(&l, &states));
        // THEN each buyer names its filter, and the only eligible one gets the lead
        let expected = [
            ("inactive", Some(Exclusion::Inactive)),
            ("paused", Some(Exclusion::Paused)),
            ("failing", Some(Exclusion::Paused)),
            ("far", Some(Exclusion::OutsideServiceArea)),
            ("picky", Some(Exclusion::BelowMinQuality)),
            ("closed", Some(Exclusion::Closed)),
            ("full", Some(Exclusion::DailyCapReached)),
            ("broke", Some(Exclusion::MonthlySpendCapReached)),
            ("open", None),
        ];
        for (id, want) in expected {
            assert_eq!(reason(&d, id), want, "{id}");
        }
        assert_eq!(d.trace.len(), 9);
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("open"));
        let sale = d.sale().expect("sold");
        assert!(
            sale.reason.contains("the only eligible buyer"),
            "{}",
            sale.reason
        );
        // AND one lead fewer on the full buyer fits: 35 of 36
        states[6].load.sold_today = 35;
        let d = route(&rules(), RoutingStrategy::Greedy, &request(&l, &states));
        assert_eq!(reason(&d, "full"), None);
    }

    #[test]
    fn given_a_duplicate_or_declined_lead_then_it_is_not_sold_to_those_buyers() {
        let a = buyer("alpha", BuyerTier::Premium, 40);
        let b = buyer("beta", BuyerTier::Standard, 40);
        let states = [state(&a), state(&b)];
        let l = lead(88, QualityTier::Premium, "11215");
        // GIVEN a duplicate: unsold, `duplicate`, every buyer traced as such
        let mut r = request(&l, &states);
        r.duplicate = true;
        let d = route(&rules(), RoutingStrategy::BidPrice, &r);
        assert_eq!(d.unsold_reason(), Some(UnsoldReason::Duplicate));
        assert_eq!(reason(&d, "alpha"), Some(Exclusion::Duplicate));
        // GIVEN alpha declined it: the cascade goes to beta
        let declined = [a.id.clone()];
        let r = RoutingRequest {
            declined: &declined,
            ..request(&l, &states)
        };
        let d = route(&rules(), RoutingStrategy::BidPrice, &r);
        assert_eq!(reason(&d, "alpha"), Some(Exclusion::Declined));
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("beta"));
        // GIVEN both declined: unsold, no eligible buyer
        let declined = [a.id.clone(), b.id.clone()];
        let r = RoutingRequest {
            declined: &declined,
            ..request(&l, &states)
        };
        let d = route(&rules(), RoutingStrategy::BidPrice, &r);
        assert_eq!(d.unsold_reason(), Some(UnsoldReason::NoEligibleBuyer));
    }

    #[test]
    fn given_an_unqualified_lead_then_no_buyer_takes_it() {
        let a = buyer("alpha", BuyerTier::Volume, 40);
        let states = [state(&a)];
        let l = lead(30, QualityTier::Unqualified, "11215");
        let d = route(&rules(), RoutingStrategy::Greedy, &request(&l, &states));
        assert_eq!(reason(&d, "alpha"), Some(Exclusion::BelowMinQuality));
        assert_eq!(d.unsold_reason(), Some(UnsoldReason::NoEligibleBuyer));
    }

    #[test]
    fn given_business_hours_in_the_buyers_zone_then_the_schedule_filter_follows_them() {
        let mut b = buyer("la_desk", BuyerTier::Standard, 40);
        b.hours.timezone = chrono_tz::America::Los_Angeles;
        b.hours.open = NaiveTime::from_hms_opt(9, 0, 0).expect("t");
        b.hours.close = NaiveTime::from_hms_opt(17, 0, 0).expect("t");
        let states = [state(&b)];
        let l = lead(75, QualityTier::Standard, "11368");
        // 10:00 New York is 07:00 in Los Angeles: closed.
        let d = route(&rules(), RoutingStrategy::Greedy, &request(&l, &states));
        assert_eq!(reason(&d, "la_desk"), Some(Exclusion::Closed));
        // 13:00 New York is 10:00 there: open.
        let r = RoutingRequest {
            at: monday_morning() + chrono::Duration::hours(3),
            ..request(&l, &states)
        };
        assert!(
            route(&rules(), RoutingStrategy::Greedy, &r)
                .sale()
                .is_some()
        );
    }

    #[test]
    fn given_a_premium_and_a_volume_buyer_when_greedy_routes_then_the_guide_formula_picks_and_explains()
     {
        // GIVEN a premium buyer ($250) and a volume buyer ($75), both fresh
        let p = buyer("premium_co", BuyerTier::Premium, 40);
        let v = buyer("volume_co", BuyerTier::Volume, 40);
        let states = [state(&v), state(&p)];
        let l = lead(92, QualityTier::Premium, "11368");
        // WHEN a top lead is routed greedily
        let d = route(&rules(), RoutingStrategy::Greedy, &request(&l, &states));
        // THEN the premium buyer wins on revenue, and every term is in 0..=1
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("premium_co"));
        for t in &d.trace {
            let TraceResult::Eligible(e) = &t.result else {
                panic!("both eligible");
            };
            let s = e.routing_score.expect("greedy scores");
            for term in [
                s.revenue,
                s.acceptance,
                s.free_capacity,
                s.quality_match,
                s.geography,
                s.history,
                s.total,
            ] {
                assert!((0.0..=1.0).contains(&term), "{s:?}");
            }
        }
        let sale = d.sale().expect("sold");
        assert!(
            sale.reason.starts_with("highest routing score"),
            "{}",
            sale.reason
        );
        assert_eq!(
            sale.quote.price,
            sale.quote.unclamped.clamp(p.price_floor, p.price_cap)
        );
        // $250 × 1.3 × 1.2 (morning) × 1.05 (Monday) × 1.05 (Queens) = $429.98; 90 %
        // acceptance: the 80 % prior + 5 points for each tier above the buyer's minimum;
        // 10 % returned (the prior share kept is 90 %): $429.98 × 0.9 × 0.9 = $348.28
        assert_eq!(sale.quote.price, Cents(42_998));
        assert_eq!(sale.p_accept, 0.9);
        assert_eq!(sale.p_return, 0.1);
        assert_eq!(sale.expected_revenue, Cents(34_828));
    }

    #[test]
    fn given_bid_prices_when_routing_then_the_net_value_decides() {
        // GIVEN a premium buyer whose capacity is worth more later (bid $300) and a
        // standard buyer with spare capacity (bid $0)
        let p = buyer("premium_co", BuyerTier::Premium, 40);
        let s = buyer("standard_co", BuyerTier::Standard, 200);
        let mut states = [state(&p), state(&s)];
        states[0].bid_price = Cents(30_000);
        let l = lead(75, QualityTier::Standard, "11368");
        // WHEN a standard lead is routed by bid price
        let d = route(&rules(), RoutingStrategy::BidPrice, &request(&l, &states));
        // THEN it goes to the standard buyer: greedy would have sent it to the premium one
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("standard_co"));
        let greedy = route(&rules(), RoutingStrategy::Greedy, &request(&l, &states));
        assert_eq!(greedy.buyer_id().map(BuyerId::as_str), Some("premium_co"));
        let sale = d.sale().expect("sold");
        assert!(
            sale.reason.contains("less a bid price of $0.00"),
            "{}",
            sale.reason
        );
        let TraceResult::Eligible(e) = &d.trace[0].result else {
            panic!("eligible");
        };
        assert_eq!(e.bid_price, Some(Cents(30_000)));
        assert_eq!(e.net_value, Some(e.expected_revenue - Cents(30_000)));
        // AND with no bid prices it is the highest expected revenue
        states[0].bid_price = Cents::ZERO;
        let d = route(&rules(), RoutingStrategy::BidPrice, &request(&l, &states));
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("premium_co"));
    }

    #[test]
    fn given_two_buyers_at_one_price_when_one_returns_many_leads_then_the_other_wins_on_net_value()
    {
        // GIVEN two standard buyers that accept alike, one of which returned 40 of the 100
        // leads it accepted
        let keeps = buyer("keeps_co", BuyerTier::Standard, 40);
        let returns = buyer("returns_co", BuyerTier::Standard, 40);
        let mut states = [state(&returns), state(&keeps)];
        states[0].stats = BuyerStats {
            accepted: 100,
            rejected: 10,
            returned: 40,
            ..BuyerStats::default()
        };
        states[1].stats = BuyerStats {
            accepted: 100,
            rejected: 10,
            returned: 2,
            ..BuyerStats::default()
        };
        let l = lead(75, QualityTier::Standard, "11368");
        // WHEN the lead is routed by bid price (no bid prices known)
        let d = route(&rules(), RoutingStrategy::BidPrice, &request(&l, &states));
        // THEN the buyer that keeps its leads wins, at the same price
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("keeps_co"));
        let values: Vec<(Cents, f64, Cents)> = d
            .trace
            .iter()
            .map(|t| match &t.result {
                TraceResult::Eligible(e) => (e.price, e.p_return, e.expected_revenue),
                TraceResult::Excluded { reason } => panic!("excluded: {reason:?}"),
            })
            .collect();
        assert_eq!(values[0].0, values[1].0, "the same price");
        assert!(values[0].1 > 0.3 && values[1].1 < 0.05, "{values:?}");
        assert!(values[0].2 < values[1].2, "{values:?}");
        // AND the net value is price × P(accept) × (1 − P(return)), in cents
        let sale = d.sale().expect("sold");
        assert_eq!(
            sale.expected_revenue,
            expected_net_value(
                sale.quote.price,
                (sale.p_accept * 10_000.0).round() as u32,
                (sale.p_return * 10_000.0).round() as u32
            )
        );
        assert!(sale.reason.contains("% kept"), "{}", sale.reason);
    }

    #[test]
    fn given_a_consent_naming_one_buyer_then_only_that_buyer_may_take_the_lead() {
        // GIVEN two buyers and a lead whose consent names only the cheaper one
        let p = buyer("premium_co", BuyerTier::Premium, 40);
        let s = buyer("standard_co", BuyerTier::Standard, 40);
        let states = [state(&p), state(&s)];
        let consent = ConsentEvidence {
            given_at: chrono::Utc::now(),
            words: "yes".into(),
            disclosure: None,
            sellers: vec![crate::domain::conversation::NamedSeller {
                buyer_id: "standard_co".into(),
                name: "Standard Co".into(),
            }],
        };
        let l = lead(75, QualityTier::Standard, "11368").consented(Some(&consent));
        // WHEN it is routed
        let d = route(&rules(), RoutingStrategy::BidPrice, &request(&l, &states));
        // THEN the named buyer takes it and the other is traced as not named
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("standard_co"));
        assert!(matches!(
            d.trace[0].result,
            TraceResult::Excluded {
                reason: Exclusion::NotNamedInConsent
            }
        ));
        // AND a consent naming nobody lets any buyer take it
        let open = lead(75, QualityTier::Standard, "11368").consented(None);
        let d = route(
            &rules(),
            RoutingStrategy::BidPrice,
            &request(&open, &states),
        );
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("premium_co"));
    }

    #[test]
    fn given_every_bid_price_above_the_value_then_the_lead_is_held_for_capacity() {
        // GIVEN two buyers whose remaining capacity is expected to earn more later than this
        // standard lead is worth to either
        let p = buyer("premium_co", BuyerTier::Premium, 40);
        let s = buyer("standard_co", BuyerTier::Standard, 40);
        let mut states = [state(&p), state(&s)];
        states[0].bid_price = Cents(60_000);
        states[1].bid_price = Cents(20_000);
        let l = lead(75, QualityTier::Standard, "11368");
        // WHEN it is routed by bid price
        let d = route(&rules(), RoutingStrategy::BidPrice, &request(&l, &states));
        // THEN it is kept unsold, and the trace shows both buyers eligible with their
        // negative net values
        assert_eq!(d.unsold_reason(), Some(UnsoldReason::HeldForCapacity));
        assert!(d.trace.iter().all(|t| matches!(
            &t.result,
            TraceResult::Eligible(e) if e.net_value.is_some_and(|n| n < Cents::ZERO)
        )));
        // AND with `sell_below_bid_price` it goes to the least costly buyer
        let mut selling = rules();
        selling.sell_below_bid_price = true;
        let d = route(&selling, RoutingStrategy::BidPrice, &request(&l, &states));
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("standard_co"));
        // AND a net value of exactly zero still sells
        states[1].bid_price = route(&selling, RoutingStrategy::BidPrice, &request(&l, &states))
            .sale()
            .map_or(Cents::ZERO, |s| s.expected_revenue);
        let d = route(&rules(), RoutingStrategy::BidPrice, &request(&l, &states));
        assert_eq!(d.buyer_id().map(BuyerId::as_str), Some("standard_co"));
        // AND greedy never holds a lead
        let d = route(&rules(), RoutingStrategy::Greedy, &request(&l, &states));
        assert!(d.sale().is_some());
    }

    #[test]
    fn given_a_buyer_that_returns_one_tier_then_that_tier_carries_the_higher_return_chance() {
        // GIVEN a buyer that kept all of 200 premium leads and returned 60 of 200 basic ones
        let stats = BuyerStats {
            accepted: 400,
            rejected: 20,
            returned: 60,
            by_tier: [
                TierOutcomes {
                    accepted: 200,
                    returned: 60,
                },
                TierOutcomes::default(),
                TierOutcomes {
                    accepted: 200,
                    returned: 0,
                },
            ],
        };
        // WHEN the chance of a return is estimated per tier
        let basic = return_bps(&stats, QualityTier::Basic);
        let standard = return_bps(&stats, QualityTier::Standard);
        let premium = return_bps(&stats, QualityTier::Premium);
        // THEN basic is near its own 30 %, premium near its own 0 %, and a tier with no
        // outcomes takes the buyer's overall rate (about 15 %)
        assert!((2_800..=3_000).contains(&basic), "{basic}");
        assert!(premium < 1_000, "{premium}");
        assert_eq!(standard, return_bps(&stats, QualityTier::Unqualified));
        assert!((1_300..=1_600).contains(&standard), "{standard}");
        // AND the same price is worth less net from a basic lead than a premium one
        let price = Cents(20_000);
        assert!(
            expected_net_value(price, 9_000, basic) < expected_net_value(price, 9_000, premium)
        );
        // AND with no outcomes at all every tier starts at the prior's 10 %
        let none = BuyerStats::default();
        assert_eq!(return_bps(&none, QualityTier::Premium), 1_000);
    }

    #[test]
    fn given_acceptance_stats_then_priors_smooth_them() {
        let none = BuyerStats::default();
        assert!((none.acceptance_rate() - 0.80).abs() < 1e-9);
        assert!((none.history() - 0.90).abs() < 1e-9);
        let good = BuyerStats::with_acceptance(0.95, 1_000);
        assert!(good.acceptance_rate() > 0.94);
        let few = BuyerStats {
            accepted: 0,
            rejected: 2,
            ..BuyerStats::default()
        };
        assert!(
            few.acceptance_rate() > 0.6,
            "two rejects do not sink a buyer"
        );
        let returns = BuyerStats {
            accepted: 100,
            rejected: 0,
            returned: 50,
            ..BuyerStats::default()
        };
        assert!(returns.history() < 0.6);
        assert_eq!(
            acceptance_bps(&none, QualityTier::Basic, QualityTier::Basic),
            8_000
        );
        assert_eq!(
            acceptance_bps(&none, QualityTier::Premium, QualityTier::Basic),
            9_000
        );
        assert_eq!(
            acceptance_bps(&good, QualityTier::Premium, QualityTier::Basic),
            9_900
        );
    }

    #[test]
    fn given_the_strategy_names_then_they_parse_and_print() {
        for s in RoutingStrategy::ALL {
            assert_eq!(s.as_str().parse::<RoutingStrategy>(), Ok(s));
            assert_eq!(serde_json::to_value(s).expect("json"), s.as_str());
        }
        assert!("random".parse::<RoutingStrategy>().is_err());
        assert_eq!(RoutingStrategy::default(), RoutingStrategy::BidPrice);
    }

    #[test]
    fn given_a_decision_when_stored_then_it_reads_back_with_named_fields() {
        let a = buyer("alpha", BuyerTier::Premium, 40);
        let mut far = buyer("far", BuyerTier::Premium, 40);
        far.area.boroughs = [Borough::Bronx].into();
        let states = [state(&a), state(&far)];
        let l = lead(88, QualityTier::Premium, "11215");
        let d = route(&rules(), RoutingStrategy::BidPrice, &request(&l, &states));
        let json = serde_json::to_value(&d).expect("json");
        assert_eq!(json["strategy"], "bid_price");
        assert_eq!(json["outcome"], "sold");
        assert_eq!(json["buyer_id"], "alpha");
        assert_eq!(json["trace"][0]["eligibility"], "eligible");
        assert_eq!(json["trace"][1]["eligibility"], "excluded");
        assert_eq!(json["trace"][1]["reason"], "outside_service_area");
        let back: RoutingDecision = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, d);
    }
}
