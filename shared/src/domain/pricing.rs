//! The price of one lead for one buyer (SPEC §2), in integer cents:
//! buyer tier base × quality × surge × New York time of day × day of week × market
//! adjustment, clamped to the buyer's floor..=cap.
//!
//! The multipliers are data (`data/pricing.json`, with the basis and source of every
//! figure); the surge threshold is configuration (`SURGE_PRICING_THRESHOLD`). A
//! [`PriceQuote`] keeps every factor so the lead view can show how its price was made.

use super::buyer::{Buyer, BuyerTier};
use super::conversation::{LeadFacts, ZipCode};
use super::facts::Borough;
use super::market::{Level, MarketData};
use super::money::Cents;
use super::targets::Targets;
use chrono::{DateTime, Datelike, NaiveDateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::LazyLock;

const PRICING_JSON: &str = include_str!("../../data/pricing.json");

/// ×1.0 in basis points.
pub const NEUTRAL_BPS: u32 = 10_000;

/// The largest multiplier the table may hold (×3.0): a typo cannot price a lead at ×100.
const MAX_FACTOR_BPS: u32 = 30_000;

// Holds the error rather than panicking: `domain::init()` reports it once, at start-up.
static TABLE: LazyLock<Result<PricingTable, PricingError>> =
    LazyLock::new(|| PricingTable::from_json(PRICING_JSON));

/// The pricing table shipped with the crate, or why it could not be loaded.
pub fn try_pricing_table() -> Result<&'static PricingTable, &'static PricingError> {
    TABLE.as_ref()
}

/// The pricing table shipped with the crate.
///
/// # Panics
/// If the embedded file is invalid; `domain::init()` reports that at start-up, before any
/// lead can get here.
pub fn pricing_table() -> &'static PricingTable {
    match try_pricing_table() {
        Ok(t) => t,
        Err(e) => panic!(
            "data/pricing.json could not be loaded ({e}); domain::init() should have stopped start-up"
        ),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("pricing table is not valid JSON for its schema: {0}")]
    Json(#[from] serde_json::Error),
    #[error("pricing table is inconsistent: {0}")]
    Invalid(String),
}

/// One quality band: at `min_score` or more, ×`bps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityBand {
    pub min_score: u8,
    pub bps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityRule {
    /// Highest `min_score` first (checked at load).
    pub bands: Vec<QualityBand>,
    pub otherwise_bps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurgeRule {
    pub bps: u32,
}

/// A window of the week in New York time: on `days`, from `start` (inclusive) to `end`
/// (exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeBand {
    pub name: String,
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub bps: u32,
}

impl TimeBand {
    fn contains(&self, local: NaiveDateTime) -> bool {
        let t = local.time();
        self.days.contains(&local.weekday()) && self.start <= t && t < self.end
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeOfDayRule {
    pub timezone: Tz,
    /// The first band that contains the time applies.
    pub bands: Vec<TimeBand>,
    pub otherwise_bps: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekBps {
    pub monday: u32,
    pub tuesday: u32,
    pub wednesday: u32,
    pub thursday: u32,
    pub friday: u32,
    pub saturday: u32,
    pub sunday: u32,
}

impl WeekBps {
    pub fn on(&self, day: Weekday) -> u32 {
        match day {
            Weekday::Mon => self.monday,
            Weekday::Tue => self.tuesday,
            Weekday::Wed => self.wednesday,
            Weekday::Thu => self.thursday,
            Weekday::Fri => self.friday,
            Weekday::Sat => self.saturday,
            Weekday::Sun => self.sunday,
        }
    }

    fn all(&self) -> [u32; 7] {
        [
            self.monday,
            self.tuesday,
            self.wednesday,
            self.thursday,
            self.friday,
            self.saturday,
            self.sunday,
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOfWeekRule {
    pub timezone: Tz,
    pub bps: WeekBps,
}

/// A signed adjustment per market level, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelDelta {
    pub high: i32,
    pub medium: i32,
    pub low: i32,
}

impl LevelDelta {
    pub fn of(&self, level: Level) -> i32 {
        match level {
            Level::High => self.high,
            Level::Medium => self.medium,
            Level::Low => self.low,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketRule {
    pub premium_area_bps: i32,
    pub adoption_bps: LevelDelta,
    pub income_bps: LevelDelta,
    pub min_bps: u32,
    pub max_bps: u32,
}

/// Whole hours from `since` to `now` (0 for a moment in the future): a lead's age.
pub fn age_hours(since: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    u32::try_from((now - since).num_hours().max(0)).unwrap_or(u32::MAX)
}

/// A lead at least `min_hours` old sells at `bps` of its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeBand {
    pub min_hours: u32,
    pub bps: u32,
}

/// How a lead's price decays with its age (hours since it qualified): the oldest band
/// reached applies, after the buyer's floor and cap (a buyer's price band is for fresh
/// leads). No band: no decay.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LeadAgeRule {
    /// From the oldest down.
    pub bands: Vec<AgeBand>,
}

impl LeadAgeRule {
    /// The multiplier at `hours` of age.
    pub fn bps_at(&self, hours: u32) -> u32 {
        self.bands
            .iter()
            .find(|b| hours >= b.min_hours)
            .map_or(NEUTRAL_BPS, |b| b.bps)
    }
}

/// Every multiplier of `data/pricing.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingTable {
    pub quality: QualityRule,
    pub surge: SurgeRule,
    pub time_of_day: TimeOfDayRule,
    pub day_of_week: DayOfWeekRule,
    pub market: MarketRule,
    #[serde(default)]
    pub lead_age: LeadAgeRule,
}

fn invalid(msg: String) -> PricingError {
    PricingError::Invalid(msg)
}

fn check_factor(name: &str, bps: u32) -> Result<(), PricingError> {
    if (1..=MAX_FACTOR_BPS).contains(&bps) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name} is {bps}; must be between 1 and {MAX_FACTOR_BPS} basis points"
        )))
    }
}

impl PricingTable {
    /// Parses and checks a pricing table (the file's extra keys — basis, sources — are
    /// documentation and ignored here).
    pub fn from_json(json: &str) -> Result<PricingTable, PricingError> {
        let table: PricingTable = serde_json::from_str(json)?;
        table.validate()?;
        Ok(table)
    }

    /// Every factor within 1..=30000 bps, bands ordered and well-formed, market bounds
    /// consistent.
    pub fn validate(&self) -> Result<(), PricingError> {
        let q = &self.quality;
        check_factor("quality.otherwise_bps", q.otherwise_bps)?;
        for (i, band) in q.bands.iter().enumerate() {
            check_factor(&format!("quality.bands[{i}].bps"), band.bps)?;
            if band.min_score > 100 {
                return Err(invalid(format!(
                    "quality.bands[{i}].min_score is {}; scores are 0..=100",
                    band.min_score
                )));
            }
        }
        if q.bands.windows(2).any(|w| w[0].min_score <= w[1].min_score) {
            return Err(invalid(
                "quality.bands must be listed from the highest min_score down, without repeats"
                    .into(),
            ));
        }
        check_factor("surge.bps", self.surge.bps)?;
        for (i, band) in self.lead_age.bands.iter().enumerate() {
            if !(1..=NEUTRAL_BPS).contains(&band.bps) {
                return Err(invalid(format!(
                    "lead_age.bands[{i}].bps is {}; an older lead never sells for more (1..=10000)",
                    band.bps
                )));
            }
        }
        if self
            .lead_age
            .bands
            .windows(2)
            .any(|w| w[0].min_hours <= w[1].min_hours || w[0].bps > w[1].bps)
        {
            return Err(invalid(
                "lead_age.bands must be listed from the oldest down, each at most the price of the younger"
                    .into(),
            ));
        }
        let t = &self.time_of_day;
        check_factor("time_of_day.otherwise_bps", t.otherwise_bps)?;
        for (i, band) in t.bands.iter().enumerate() {
            check_factor(&format!("time_of_day.bands[{i}].bps"), band.bps)?;
            if band.name.trim().is_empty() {
                return Err(invalid(format!("time_of_day.bands[{i}].name is empty")));
            }
            if band.days.is_empty() || band.start >= band.end {
                return Err(invalid(format!(
                    "time_of_day.bands[{i}] ({}) must list days and start before it ends",
                    band.name
                )));
            }
        }
        for (day, bps) in ["monday", "tuesday", "wednesday", "thursday", "friday"]
            .into_iter()
            .chain(["saturday", "sunday"])
            .zip(self.day_of_week.bps.all())
        {
            check_factor(&format!("day_of_week.bps.{day}"), bps)?;
        }
        let m = &self.market;
        check_factor("market.min_bps", m.min_bps)?;
        check_factor("market.max_bps", m.max_bps)?;
        if !(m.min_bps <= NEUTRAL_BPS && NEUTRAL_BPS <= m.max_bps) {
            return Err(invalid(
                "market bounds must hold x1.0 (min_bps <= 10000 <= max_bps)".into(),
            ));
        }
        let deltas = [
            m.premium_area_bps,
            m.adoption_bps.high,
            m.adoption_bps.medium,
            m.adoption_bps.low,
            m.income_bps.high,
            m.income_bps.medium,
            m.income_bps.low,
        ];
        if deltas.iter().any(|d| d.unsigned_abs() > NEUTRAL_BPS) {
            return Err(invalid(
                "market deltas must each be within -10000..=10000 basis points".into(),
            ));
        }
        Ok(())
    }
}

/// The pricing table and the configured surge threshold: everything a quote depends on
/// besides the buyer and the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingRules {
    pub table: PricingTable,
    /// Share of the daily cap, in bps, at which surge starts (`SURGE_PRICING_THRESHOLD`).
    pub surge_threshold_bps: u32,
}

impl PricingRules {
    pub fn new(table: PricingTable, targets: &Targets) -> PricingRules {
        PricingRules {
            table,
            surge_threshold_bps: targets.surge_pricing_threshold_bps,
        }
    }

    /// The embedded table with the configured threshold.
    ///
    /// # Panics
    /// As [`pricing_table`], when the embedded table is invalid.
    pub fn from_targets(targets: &Targets) -> PricingRules {
        PricingRules::new(pricing_table().clone(), targets)
    }

    /// The same rules with surge switched off: prices "before surge", as the routing
    /// simulation compares assignments on (surge depends on the assignment itself).
    pub fn without_surge(mut self) -> PricingRules {
        self.table.surge.bps = NEUTRAL_BPS;
        self
    }
}

/// What the market data says about where the lead is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MarketSignals {
    pub borough: Option<Borough>,
    pub premium_area: bool,
    pub adoption: Option<Level>,
    pub income: Option<Level>,
}

impl MarketSignals {
    /// From the ZIP when the table knows it, else from the borough and neighbourhood slug.
    pub fn for_place(
        market: &MarketData,
        zip: Option<&ZipCode>,
        borough: Option<Borough>,
        neighborhood: Option<&str>,
    ) -> MarketSignals {
        let from_zip = zip.and_then(|z| market.zip(z.as_str()));
        let borough = from_zip.map(|z| z.borough).or(borough);
        let premium_area = match from_zip {
            Some(info) => info.premium,
            None => neighborhood
                .and_then(|slug| market.neighborhood(slug))
                .is_some_and(|n| n.premium),
        };
        let stats = borough.map(|b| market.borough(b));
        MarketSignals {
            borough,
            premium_area,
            adoption: stats.map(|s| s.adoption),
            income: stats.map(|s| s.income),
        }
    }

    pub fn for_facts(market: &MarketData, facts: &LeadFacts) -> MarketSignals {
        MarketSignals::for_place(
            market,
            facts.zip_code.as_ref(),
            facts.borough,
            facts.neighborhood.as_deref(),
        )
    }
}

/// What a quote depends on from the lead and the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceInput {
    pub score: u8,
    pub market: MarketSignals,
    /// Leads the buyer has taken in its current local day (for surge).
    pub sold_today: u32,
    pub at: DateTime<Utc>,
}

/// Which bound of the buyer's price band the price was held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceClamp {
    Floor,
    Cap,
}

/// A price and how it was made: the lead view shows every factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceQuote {
    pub buyer_tier: BuyerTier,
    pub base: Cents,
    pub quality_bps: u32,
    /// The quality band reached (`None`: below every band).
    pub quality_min_score: Option<u8>,
    pub surge_bps: u32,
    /// Leads sold today / daily cap, in bps (saturating at `u32::MAX`).
    pub utilization_bps: u32,
    pub time_of_day_bps: u32,
    /// The time band that applied (`None`: outside every band).
    pub time_band: Option<String>,
    pub day_of_week_bps: u32,
    pub market_bps: u32,
    pub market: MarketSignals,
    /// The New York wall-clock time the time and day factors were read at.
    pub local_time: NaiveDateTime,
    /// Base × every multiplier, rounded once, before the buyer's band.
    pub unclamped: Cents,
    /// What the buyer pays: `unclamped` within floor..=cap.
    pub price: Cents,
    pub clamp: Option<PriceClamp>,
    /// The pricing experiment's variant this sale was priced at: its multiplier applies
    /// after the others, before the buyer's band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Box<VariantAssignment>>,
    /// The lead's age discount (`data/pricing.json` `lead_age`), applied to the price after
    /// the buyer's band: 10000 for a fresh lead.
    #[serde(default = "neutral_bps")]
    pub age_bps: u32,
    /// Whole hours since the lead qualified, when priced.
    #[serde(default)]
    pub age_hours: u32,
    /// The price is the buyer's own bid (a ping-post buyer), not the tier's price.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bid: bool,
}

fn neutral_bps() -> u32 {
    NEUTRAL_BPS
}

impl PriceQuote {
    /// The same quote at an experiment's variant: base × every multiplier × the variant's,
    /// rounded once, then the buyer's floor and cap.
    pub fn at_variant(mut self, buyer: &Buyer, variant: VariantAssignment) -> PriceQuote {
        let mut multipliers = self.multipliers_bps().to_vec();
        multipliers.push(variant.price_bps);
        self.unclamped = apply(self.base, &multipliers);
        (self.price, self.clamp) = clamp(self.unclamped, buyer);
        self.price = self.price.mul_bps(i64::from(self.age_bps));
        self.experiment = Some(Box::new(variant));
        self
    }

    /// A ping-post buyer's bid as its price: no multiplier, no band (its floor is the
    /// reserve its bid must reach, checked by routing).
    pub fn bid(
        buyer: &Buyer,
        bid: Cents,
        sold_today: u32,
        market: MarketSignals,
        at: DateTime<Utc>,
    ) -> PriceQuote {
        PriceQuote {
            buyer_tier: buyer.tier,
            base: bid,
            quality_bps: NEUTRAL_BPS,
            quality_min_score: None,
            surge_bps: NEUTRAL_BPS,
            utilization_bps: utilization_bps(sold_today, buyer.daily_cap),
            time_of_day_bps: NEUTRAL_BPS,
            time_band: None,
            day_of_week_bps: NEUTRAL_BPS,
            market_bps: NEUTRAL_BPS,
            market,
            local_time: at
                .with_timezone(&chrono_tz::America::New_York)
                .naive_local(),
            unclamped: bid,
            price: bid,
            clamp: None,
            experiment: None,
            age_bps: NEUTRAL_BPS,
            age_hours: 0,
            bid: true,
        }
    }

    /// The same quote for a lead `hours` old: the price after the buyer's band times the
    /// age discount of `rule`.
    pub fn aged(mut self, rule: &LeadAgeRule, hours: u32) -> PriceQuote {
        self.age_hours = hours;
        self.age_bps = rule.bps_at(hours);
        if self.age_bps != NEUTRAL_BPS {
            self.price = self.price.mul_bps(i64::from(self.age_bps));
        }
        self
    }

    /// Every multiplier, in the order they apply.
    pub fn multipliers_bps(&self) -> [u32; 5] {
        [
            self.quality_bps,
            self.surge_bps,
            self.time_of_day_bps,
            self.day_of_week_bps,
            self.market_bps,
        ]
    }

    /// One line for people: "$250.00 × 1.30 quality (score ≥ 90) × … = $xxx".
    pub fn explain(&self) -> String {
        if self.bid {
            return format!("{} bid by the buyer (ping-post)", self.price);
        }
        let mut s = format!("{} {} base", self.base, self.buyer_tier.as_str());
        let factor = |bps: u32| format!("{}.{:02}", bps / 10_000, (bps % 10_000) / 100);
        let _ = write!(s, " × {} quality", factor(self.quality_bps));
        if let Some(min) = self.quality_min_score {
            let _ = write!(s, " (score ≥ {min})");
        }
        let _ = write!(s, " × {} surge", factor(self.surge_bps));
        if self.surge_bps != NEUTRAL_BPS {
            let _ = write!(
                s,
                " ({}% of the daily cap used)",
                self.utilization_bps / 100
            );
        }
        let _ = write!(
            s,
            " × {} time of day ({})",
            factor(self.time_of_day_bps),
            self.time_band.as_deref().unwrap_or("off hours")
        );
        let _ = write!(
            s,
            " × {} day ({})",
            factor(self.day_of_week_bps),
            self.local_time.weekday()
        );
        let _ = write!(s, " × {} market", factor(self.market_bps));
        let mut why = Vec::new();
        if self.market.premium_area {
            why.push("premium area".to_owned());
        }
        if let Some(a) = self.market.adoption {
            why.push(format!("{} adoption", level_name(a)));
        }
        if let Some(i) = self.market.income {
            why.push(format!("{} income", level_name(i)));
        }
        if !why.is_empty() {
            let _ = write!(s, " ({})", why.join(", "));
        }
        if let Some(v) = &self.experiment {
            let _ = write!(
                s,
                " × {} price test ({} {})",
                factor(v.price_bps),
                v.experiment_id,
                v.variant_id
            );
        }
        let _ = write!(s, " = {}", self.unclamped);
        let fresh = if self.age_bps == NEUTRAL_BPS {
            format!(" {}", self.price)
        } else {
            String::new()
        };
        match self.clamp {
            Some(PriceClamp::Floor) => {
                let _ = write!(s, ", raised to the buyer's floor{fresh}");
            }
            Some(PriceClamp::Cap) => {
                let _ = write!(s, ", held to the buyer's cap{fresh}");
            }
            None => {}
        }
        if self.age_bps != NEUTRAL_BPS {
            let _ = write!(
                s,
                ", × {} for its age ({} h) = {}",
                factor(self.age_bps),
                self.age_hours,
                self.price
            );
        }
        s
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::High => "high",
        Level::Medium => "medium",
        Level::Low => "low",
    }
}

/// Whether `sold_today` reaches `threshold_bps` of `daily_cap` (exact, in integers). A cap
/// of zero counts as full.
pub fn surge_applies(sold_today: u32, daily_cap: u32, threshold_bps: u32) -> bool {
    u64::from(sold_today) * u64::from(NEUTRAL_BPS)
        >= u64::from(threshold_bps) * u64::from(daily_cap)
}

fn utilization_bps(sold_today: u32, daily_cap: u32) -> u32 {
    if daily_cap == 0 {
        return u32::MAX;
    }
    let bps = u64::from(sold_today) * u64::from(NEUTRAL_BPS) / u64::from(daily_cap);
    u32::try_from(bps).unwrap_or(u32::MAX)
}

fn market_bps(rule: &MarketRule, m: &MarketSignals) -> u32 {
    let mut bps = i64::from(NEUTRAL_BPS);
    if m.premium_area {
        bps += i64::from(rule.premium_area_bps);
    }
    if let Some(a) = m.adoption {
        bps += i64::from(rule.adoption_bps.of(a));
    }
    if let Some(i) = m.income {
        bps += i64::from(rule.income_bps.of(i));
    }
    let clamped = bps.clamp(i64::from(rule.min_bps), i64::from(rule.max_bps));
    u32::try_from(clamped).unwrap_or(NEUTRAL_BPS)
}

/// `base × Π factors / 10000ⁿ`, exact in i128 and rounded half away from zero once.
fn apply(base: Cents, factors: &[u32]) -> Cents {
    // A tier base (at most $250) times five factors of at most ×3 is far inside i128; the
    // checked product only guards a base that could not come from a tier.
    let mut numerator = i128::from(base.0);
    let mut denominator: i128 = 1;
    for &f in factors {
        match numerator.checked_mul(i128::from(f)) {
            Some(n) => {
                numerator = n;
                denominator *= i128::from(NEUTRAL_BPS);
            }
            None => return Cents(if base.0 >= 0 { i64::MAX } else { i64::MIN }),
        }
    }
    let half = denominator / 2;
    let rounded = if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    };
    Cents(i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN }))
}

/// Prices one lead for one buyer. Pure: the time comes in with `input`.
pub fn quote(rules: &PricingRules, buyer: &Buyer, input: &PriceInput) -> PriceQuote {
    let table = &rules.table;
    let base = buyer.tier.base_price();

    let band = table
        .quality
        .bands
        .iter()
        .find(|b| input.score >= b.min_score);
    let quality_bps = band.map_or(table.quality.otherwise_bps, |b| b.bps);

    let surge = surge_applies(input.sold_today, buyer.daily_cap, rules.surge_threshold_bps);
    let surge_bps = if surge { table.surge.bps } else { NEUTRAL_BPS };

    let local = input
        .at
        .with_timezone(&table.time_of_day.timezone)
        .naive_local();
    let time_band = table.time_of_day.bands.iter().find(|b| b.contains(local));
    let time_of_day_bps = time_band.map_or(table.time_of_day.otherwise_bps, |b| b.bps);

    let day = input
        .at
        .with_timezone(&table.day_of_week.timezone)
        .weekday();
    let day_of_week_bps = table.day_of_week.bps.on(day);

    let market_bps = market_bps(&table.market, &input.market);

    let unclamped = apply(
        base,
        &[
            quality_bps,
            surge_bps,
            time_of_day_bps,
            day_of_week_bps,
            market_bps,
        ],
    );
    let (price, clamp) = clamp(unclamped, buyer);

    PriceQuote {
        buyer_tier: buyer.tier,
        base,
        quality_bps,
        quality_min_score: band.map(|b| b.min_score),
        surge_bps,
        utilization_bps: utilization_bps(input.sold_today, buyer.daily_cap),
        time_of_day_bps,
        time_band: time_band.map(|b| b.name.clone()),
        day_of_week_bps,
        market_bps,
        market: input.market,
        local_time: local,
        unclamped,
        price,
        clamp,
        experiment: None,
        age_bps: NEUTRAL_BPS,
        age_hours: 0,
        bid: false,
    }
}

/// `unclamped` within the buyer's floor..=cap, and which bound applied.
fn clamp(unclamped: Cents, buyer: &Buyer) -> (Cents, Option<PriceClamp>) {
    // A buyer that validates has floor <= cap; `max` then `min` keeps any other buyer's
    // price at its cap rather than panicking like `Ord::clamp` would.
    if unclamped > buyer.price_cap {
        (buyer.price_cap, Some(PriceClamp::Cap))
    } else if unclamped < buyer.price_floor {
        (
            buyer.price_floor.min(buyer.price_cap),
            Some(PriceClamp::Floor),
        )
    } else {
        (unclamped, None)
    }
}

/// The variant a lead was priced with: recorded on the lead, so its outcome comes back to
/// the right variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VariantAssignment {
    pub experiment_id: String,
    pub variant_id: String,
    pub price_bps: u32,
}

impl VariantAssignment {
    /// The price of the variant: the quoted price × its multiplier (the buyer's floor and
    /// cap still apply after this).
    pub fn apply(&self, quoted: Cents) -> Cents {
        quoted.mul_bps(i64::from(self.price_bps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::buyer::{BuyerId, Hours, ServiceArea, WebhookSecret};
    use crate::domain::market::market;
    use crate::domain::scoring::QualityTier;
    use chrono::TimeZone;
    use chrono_tz::America::New_York;
    use proptest::prelude::*;

    fn buyer(tier: BuyerTier, floor: i64, cap: i64, daily_cap: u32) -> Buyer {
        Buyer {
            filters: Default::default(),
            pause: None,
            previous_secrets: Vec::new(),
            version: 0,
            id: BuyerId::parse("test_buyer").expect("id"),
            name: "Test buyer".into(),
            tier,
            price_floor: Cents(floor),
            price_cap: Cents(cap),
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

    /// A wide band so the clamp stays out of the way of the factor tests.
    fn wide(tier: BuyerTier) -> Buyer {
        buyer(tier, 100, 1_000_000, 1_000)
    }

    fn rules() -> PricingRules {
        PricingRules::from_targets(&Targets::default())
    }

    fn ny(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        New_York
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("an unambiguous New York time")
            .with_timezone(&Utc)
    }

    #[test]
    fn given_a_lead_s_age_then_its_discount_steps_down_at_each_band_of_the_data() {
        let rule = &rules().table.lead_age;
        for (hours, bps) in [
            (0, 10_000),
            (1, 9_000),
            (5, 9_000),
            (6, 8_000),
            (23, 8_000),
            (24, 6_500),
            (47, 6_500),
            (48, 5_000),
            (71, 5_000),
        ] {
            assert_eq!(rule.bps_at(hours), bps, "{hours} h");
        }
    }

    #[test]
    fn given_an_aged_lead_then_the_discount_applies_after_the_buyer_s_floor() {
        // GIVEN a buyer whose floor holds the fresh price up
        let b = buyer(BuyerTier::Volume, 20_000, 40_000, 100);
        let fresh = quote(&rules(), &b, &neutral_input());
        assert_eq!(fresh.price, Cents(20_000));
        // WHEN the lead is 30 hours old
        let aged = fresh.clone().aged(&rules().table.lead_age, 30);
        // THEN it sells at 65 % of the floor, and the quote says why
        assert_eq!(aged.price, Cents(13_000));
        assert_eq!((aged.age_bps, aged.age_hours), (6_500, 30));
        assert!(
            aged.explain().contains("for its age (30 h)"),
            "{}",
            aged.explain()
        );
        // AND a fresh lead is not discounted
        assert_eq!(
            fresh.clone().aged(&rules().table.lead_age, 0).price,
            fresh.price
        );
    }

    #[test]
    fn given_a_decay_that_rises_with_age_then_the_table_is_refused() {
        let mut table = rules().table;
        table.lead_age.bands = vec![
            AgeBand {
                min_hours: 48,
                bps: 9_000,
            },
            AgeBand {
                min_hours: 24,
                bps: 6_500,
            },
        ];
        assert!(table.validate().is_err());
        table.lead_age.bands = vec![AgeBand {
            min_hours: 1,
            bps: 12_000,
        }];
        assert!(table.validate().is_err());
    }

    /// Tuesday 2026-06-02 20:00 New York: off hours, a weekday, no surge, no place.
    fn neutral_input() -> PriceInput {
        PriceInput {
            score: 70,
            market: MarketSignals::default(),
            sold_today: 0,
            at: ny(2026, 6, 2, 20, 0),
        }
    }

    #[test]
    fn given_the_embedded_table_then_it_loads_with_the_spec_figures() {
        let t = try_pricing_table().expect("data/pricing.json loads");
        assert_eq!(
            t.quality.bands[0],
            QualityBand {
                min_score: 90,
                bps: 13_000
            }
        );
        assert_eq!(
            t.quality.bands[1],
            QualityBand {
                min_score: 80,
                bps: 12_000
            }
        );
        assert_eq!(t.surge.bps, 15_000);
        for band in &t.time_of_day.bands {
            assert!((11_000..=12_000).contains(&band.bps), "{}", band.name);
        }
        assert!(t.day_of_week.bps.monday > NEUTRAL_BPS);
        assert!(t.day_of_week.bps.sunday < NEUTRAL_BPS);
        assert_eq!(rules().surge_threshold_bps, 8_000);
    }

    #[test]
    fn given_a_bad_table_then_the_field_is_named() {
        let err =
            PricingTable::from_json(&PRICING_JSON.replacen(r#""bps": 15000"#, r#""bps": 0"#, 1))
                .expect_err("zero surge");
        assert!(err.to_string().contains("surge.bps"), "{err}");
        let err = PricingTable::from_json(&PRICING_JSON.replacen(
            r#""min_score": 80"#,
            r#""min_score": 95"#,
            1,
        ))
        .expect_err("bands out of order");
        assert!(err.to_string().contains("quality.bands"), "{err}");
        assert!(matches!(
            PricingTable::from_json("{"),
            Err(PricingError::Json(_))
        ));
    }

    #[test]
    fn given_score_boundaries_when_priced_then_the_quality_band_changes_exactly_there() {
        // GIVEN a standard buyer ($125) at a neutral moment
        let b = wide(BuyerTier::Standard);
        // WHEN scores either side of 80 and 90 are priced
        // THEN 79 → ×1.0, 80 → ×1.2, 89 → ×1.2, 90 → ×1.3 (off hours Tuesday: ×1.05 day)
        let table = [
            (79, 10_000, None, 13_125),
            (80, 12_000, Some(80), 15_750),
            (89, 12_000, Some(80), 15_750),
            (90, 13_000, Some(90), 17_063),
            (100, 13_000, Some(90), 17_063),
        ];
        for (score, bps, band, price) in table {
            let q = quote(
                &rules(),
                &b,
                &PriceInput {
                    score,
                    ..neutral_input()
                },
            );
            assert_eq!(q.quality_bps, bps, "score {score}");
            assert_eq!(q.quality_min_score, band, "score {score}");
            assert_eq!(q.price, Cents(price), "score {score}: {}", q.explain());
        }
    }

    #[test]
    fn given_demand_at_79_9_and_80_percent_then_surge_starts_at_80() {
        // GIVEN a buyer with a daily cap of 1000 (so 79.9 % is a whole number of leads)
        let b = buyer(BuyerTier::Premium, 100, 1_000_000, 1_000);
        for (sold, surge) in [(0, false), (799, false), (800, true), (1_000, true)] {
            // WHEN it has sold `sold` leads today
            let q = quote(
                &rules(),
                &b,
                &PriceInput {
                    sold_today: sold,
                    ..neutral_input()
                },
            );
            // THEN surge is ×1.5 from 80 % on
            assert_eq!(q.surge_bps, if surge { 15_000 } else { 10_000 }, "{sold}");
            assert_eq!(q.utilization_bps, sold * 10);
        }
        // AND on a small cap: 4 of 5 is 80 %, 3 of 5 is not
        assert!(surge_applies(4, 5, 8_000));
        assert!(!surge_applies(3, 5, 8_000));
        // AND the threshold is configuration
        assert!(!surge_applies(4, 5, 8_001));
        assert!(surge_applies(0, 0, 8_000), "a cap of zero counts as full");
    }

    #[test]
    fn given_new_york_business_hours_when_priced_either_side_then_the_premium_starts_at_nine() {
        let b = wide(BuyerTier::Standard);
        // 2026-03-09 and 2026-11-02 are the Mondays after the two DST changes (the New York
        // clock moved on 2026-03-08 and 2026-11-01); 2026-03-06 and 2026-10-30 the Fridays
        // before. The premium follows New York wall-clock time, not a fixed UTC offset.
        let cases = [
            // (New York time, expected time-of-day bps, expected band)
            (ny(2026, 3, 6, 8, 59), 10_000, None),
            (ny(2026, 3, 6, 9, 0), 12_000, Some("business_morning")),
            (ny(2026, 3, 9, 8, 59), 10_000, None),
            (ny(2026, 3, 9, 9, 0), 12_000, Some("business_morning")),
            (ny(2026, 3, 9, 11, 59), 12_000, Some("business_morning")),
            (ny(2026, 3, 9, 12, 0), 11_000, Some("business_afternoon")),
            (ny(2026, 3, 9, 16, 59), 11_000, Some("business_afternoon")),
            (ny(2026, 3, 9, 17, 0), 10_000, None),
            (ny(2026, 10, 30, 8, 59), 10_000, None),
            (ny(2026, 10, 30, 9, 0), 12_000, Some("business_morning")),
            (ny(2026, 11, 2, 8, 59), 10_000, None),
            (ny(2026, 11, 2, 9, 0), 12_000, Some("business_morning")),
        ];
        for (at, bps, band) in cases {
            let q = quote(
                &rules(),
                &b,
                &PriceInput {
                    at,
                    ..neutral_input()
                },
            );
            assert_eq!(q.time_of_day_bps, bps, "{at}");
            assert_eq!(q.time_band.as_deref(), band, "{at}");
        }
        // The same UTC instant, 13:00Z, is 08:00 New York before the March change (EST,
        // UTC-5) and 09:00 after it (EDT, UTC-4): off hours, then the morning premium.
        let before = Utc
            .with_ymd_and_hms(2026, 3, 6, 13, 0, 0)
            .single()
            .expect("t");
        let after = Utc
            .with_ymd_and_hms(2026, 3, 9, 13, 0, 0)
            .single()
            .expect("t");
        let at = |at| {
            quote(
                &rules(),
                &b,
                &PriceInput {
                    at,
                    ..neutral_input()
                },
            )
        };
        assert_eq!(at(before).time_of_day_bps, 10_000);
        assert_eq!(at(after).time_of_day_bps, 12_000);
        // And back in November: 13:00Z is 09:00 EDT on Friday 30 October, 08:00 EST on
        // Monday 2 November.
        let before = Utc
            .with_ymd_and_hms(2026, 10, 30, 13, 0, 0)
            .single()
            .expect("t");
        let after = Utc
            .with_ymd_and_hms(2026, 11, 2, 13, 0, 0)
            .single()
            .expect("t");
        assert_eq!(at(before).time_of_day_bps, 12_000);
        assert_eq!(at(after).time_of_day_bps, 10_000);
    }

    #[test]
    fn given_the_dst_change_days_themselves_then_prices_use_new_york_wall_clock_time() {
        let b = wide(BuyerTier::Standard);
        // Sunday 2026-03-08: 02:00–03:00 does not exist in New York. 06:59Z is 01:59 EST,
        // 07:00Z is 03:00 EDT. Sunday 2026-11-01: 01:00–02:00 happens twice.
        let spring_gap = Utc
            .with_ymd_and_hms(2026, 3, 8, 7, 0, 0)
            .single()
            .expect("t");
        let q = quote(
            &rules(),
            &b,
            &PriceInput {
                at: spring_gap,
                ..neutral_input()
            },
        );
        assert_eq!(
            q.local_time.time(),
            NaiveTime::from_hms_opt(3, 0, 0).expect("t")
        );
        assert_eq!(q.local_time.weekday(), Weekday::Sun);
        assert_eq!(q.day_of_week_bps, 9_000, "a weekend discount");
        assert_eq!(q.time_of_day_bps, 10_000, "no business hours on Sunday");
        for utc_hour in [5, 6] {
            let fall = Utc
                .with_ymd_and_hms(2026, 11, 1, utc_hour, 30, 0)
                .single()
                .expect("t");
            let q = quote(
                &rules(),
                &b,
                &PriceInput {
                    at: fall,
                    ..neutral_input()
                },
            );
            assert_eq!(
                q.local_time.time(),
                NaiveTime::from_hms_opt(1, 30, 0).expect("t")
            );
            assert_eq!(q.day_of_week_bps, 9_000);
        }
    }

    #[test]
    fn given_weekday_and_weekend_when_priced_then_weekdays_pay_more() {
        let b = wide(BuyerTier::Direct);
        // Friday 2026-06-05 10:00 vs Saturday 2026-06-06 10:00 New York.
        let friday = quote(
            &rules(),
            &b,
            &PriceInput {
                at: ny(2026, 6, 5, 10, 0),
                ..neutral_input()
            },
        );
        let saturday = quote(
            &rules(),
            &b,
            &PriceInput {
                at: ny(2026, 6, 6, 10, 0),
                ..neutral_input()
            },
        );
        let sunday = quote(
            &rules(),
            &b,
            &PriceInput {
                at: ny(2026, 6, 7, 10, 0),
                ..neutral_input()
            },
        );
        assert_eq!(friday.day_of_week_bps, 10_500);
        assert_eq!(friday.time_of_day_bps, 12_000);
        assert_eq!(
            (saturday.day_of_week_bps, saturday.time_of_day_bps),
            (9_000, 10_000)
        );
        assert_eq!(sunday.day_of_week_bps, 9_000);
        // $180 × 1.2 × 1.05 = $226.80; $180 × 0.9 = $162.00
        assert_eq!(friday.price, Cents(22_680));
        assert_eq!(saturday.price, Cents(16_200));
    }

    #[test]
    fn given_places_when_priced_then_the_market_adjustment_follows_the_market_data() {
        let m = market();
        let zip = |z: &str| ZipCode::parse(z).expect("zip");
        let signals = |z: &str| MarketSignals::for_place(m, Some(&zip(z)), None, None);
        let b = wide(BuyerTier::Standard);
        let bps = |s: MarketSignals| {
            quote(
                &rules(),
                &b,
                &PriceInput {
                    market: s,
                    ..neutral_input()
                },
            )
            .market_bps
        };
        // Staten Island (high adoption, high income) outside a premium area: ×1.10.
        let si = signals("10314");
        assert_eq!(
            (si.borough, si.adoption, si.income),
            (
                Some(Borough::StatenIsland),
                Some(Level::High),
                Some(Level::High)
            )
        );
        if !si.premium_area {
            assert_eq!(bps(si), 11_000);
        }
        // Park Slope (Brooklyn: medium, medium; premium): ×1.10.
        let park_slope = signals("11215");
        assert!(park_slope.premium_area);
        assert_eq!(bps(park_slope), 11_000);
        // Manhattan (low adoption, high income), a premium ZIP (Upper East Side): ×1.05.
        let ues = signals("10021");
        assert!(ues.premium_area);
        assert_eq!(bps(ues), 10_500);
        // A borough named without a ZIP, no neighbourhood: the borough's levels only.
        let bronx = MarketSignals::for_place(m, None, Some(Borough::Bronx), None);
        assert_eq!(bps(bronx), 9_500);
        // Nothing known: ×1.0.
        assert_eq!(bps(MarketSignals::default()), 10_000);
        // A premium neighbourhood named without a ZIP counts.
        let named = MarketSignals::for_place(m, None, Some(Borough::Brooklyn), Some("park_slope"));
        assert!(named.premium_area);
    }

    #[test]
    fn given_a_price_outside_the_band_then_the_clamp_is_named() {
        // GIVEN a premium buyer with a $300 cap and a top lead in a Monday morning surge
        let b = buyer(BuyerTier::Premium, 20_000, 30_000, 10);
        let hot = PriceInput {
            score: 95,
            sold_today: 9,
            at: ny(2026, 6, 1, 10, 0),
            ..neutral_input()
        };
        let q = quote(&rules(), &b, &hot);
        // THEN $250 × 1.3 × 1.5 × 1.2 × 1.05 = $614.25 is held to the cap
        assert_eq!(q.unclamped, Cents(61_425));
        assert_eq!((q.price, q.clamp), (Cents(30_000), Some(PriceClamp::Cap)));
        assert!(
            q.explain().contains("held to the buyer's cap $300.00"),
            "{}",
            q.explain()
        );
        // AND a weekend lead for a buyer with a high floor is raised to it
        let b = buyer(BuyerTier::Volume, 8_000, 9_000, 10);
        let q = quote(
            &rules(),
            &b,
            &PriceInput {
                at: ny(2026, 6, 6, 22, 0),
                ..neutral_input()
            },
        );
        assert_eq!(q.unclamped, Cents(6_750));
        assert_eq!((q.price, q.clamp), (Cents(8_000), Some(PriceClamp::Floor)));
    }

    #[test]
    fn given_a_quote_then_it_explains_every_factor() {
        let b = wide(BuyerTier::Premium);
        let q = quote(
            &rules(),
            &b,
            &PriceInput {
                score: 92,
                market: MarketSignals::for_place(
                    market(),
                    Some(&ZipCode::parse("11215").expect("zip")),
                    None,
                    None,
                ),
                sold_today: 900,
                at: ny(2026, 6, 1, 9, 30),
            },
        );
        assert_eq!(
            q.multipliers_bps(),
            [13_000, 15_000, 12_000, 10_500, 11_000]
        );
        // $250 × 1.3 × 1.5 × 1.2 × 1.05 × 1.1 = $675.675 → $675.68
        assert_eq!(q.price, Cents(67_568));
        let text = q.explain();
        for part in [
            "$250.00 premium base",
            "1.30 quality (score ≥ 90)",
            "1.50 surge (90% of the daily cap used)",
            "1.20 time of day (business_morning)",
            "1.05 day (Mon)",
            "1.10 market (premium area, medium adoption, medium income)",
            "= $675.68",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text}");
        }
        let json = serde_json::to_value(&q).expect("json");
        assert_eq!(json["price"], 67_568);
        assert_eq!(json["clamp"], serde_json::Value::Null);
        let back: PriceQuote = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, q);
    }

    fn any_tier() -> impl Strategy<Value = BuyerTier> {
        proptest::sample::select(BuyerTier::ALL.to_vec())
    }

    fn any_level() -> impl Strategy<Value = Option<Level>> {
        proptest::option::of(proptest::sample::select(vec![
            Level::Low,
            Level::Medium,
            Level::High,
        ]))
    }

    proptest! {
        #[test]
        fn any_validated_buyer_and_any_lead_is_priced_within_its_floor_and_cap(
            tier in any_tier(),
            floor in 1i64..=1_000_000,
            cap_over in 0i64..=1_000_000,
            daily_cap in 1u32..=100_000,
            score in any::<u8>(),
            sold_today in any::<u32>(),
            premium_area in any::<bool>(),
            adoption in any_level(),
            income in any_level(),
            secs in -2_000_000_000i64..=4_000_000_000,
            threshold in 0u32..=10_000,
        ) {
            let mut b = buyer(tier, floor, (floor + cap_over).min(1_000_000), daily_cap);
            b.monthly_spend_cap = None;
            prop_assume!(b.validate().is_ok());
            let at = DateTime::from_timestamp(secs, 0).expect("in range");
            let mut r = rules();
            r.surge_threshold_bps = threshold;
            let q = quote(&r, &b, &PriceInput {
                score,
                market: MarketSignals { borough: None, premium_area, adoption, income },
                sold_today,
                at,
            });
            prop_assert!(b.price_floor <= q.price && q.price <= b.price_cap, "{}", q.explain());
            prop_assert!(q.unclamped.0 > 0);
            prop_assert_eq!(q.clamp.is_none(), q.price == q.unclamped);
        }
    }
}
