//! Lead scoring: four weighted factors, quality tiers, revenue potential and conversion
//! probability. Every tunable number lives in one versioned [`ScoringModel`].

use super::conversation::Conversation;
use super::facts::{CreditSignal, DecisionMaker, Financing, PropertyType, Timeline};
use super::incentives;
use super::market::{Level, market};
use super::money::Cents;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};
use std::cell::Cell;

/// Factor weights in basis points; they sum to 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorWeights {
    pub base_qualification: u32,
    pub behavioral: u32,
    pub market_timing: u32,
    pub nyc_intelligence: u32,
}

impl FactorWeights {
    /// Summed in u64: four u32 weights cannot overflow it (nor wrap round to 10,000).
    pub fn total(&self) -> u64 {
        [
            self.base_qualification,
            self.behavioral,
            self.market_timing,
            self.nyc_intelligence,
        ]
        .into_iter()
        .map(u64::from)
        .sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierThresholds {
    pub premium: u8,
    pub standard: u8,
    pub basic: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierValues {
    pub premium: Cents,
    pub standard: Cents,
    pub basic: Cents,
}

/// Logistic model of P(buyer converts the lead) over the four factor scores (0..1 each).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConversionModel {
    pub intercept: f64,
    pub base_qualification: f64,
    pub behavioral: f64,
    pub market_timing: f64,
    pub nyc_intelligence: f64,
}

impl ConversionModel {
    pub fn probability(&self, f: &FactorScores) -> f64 {
        let z = self.intercept
            + self.base_qualification * f64::from(f.base_qualification) / 100.0
            + self.behavioral * f64::from(f.behavioral) / 100.0
            + self.market_timing * f64::from(f.market_timing) / 100.0
            + self.nyc_intelligence * f64::from(f.nyc_intelligence) / 100.0;
        let p = 1.0 / (1.0 + (-z).exp());
        // Only an unvalidated model can get here with NaN; it must not reach a price.
        if p.is_nan() { 0.0 } else { p }
    }
}

/// The whole scoring configuration, versioned so that a learned model can replace it and
/// a worse one can be rolled back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringModel {
    pub version: u32,
    pub weights: FactorWeights,
    pub tiers: TierThresholds,
    pub tier_values: TierValues,
    /// Multiplier (bps) on revenue potential at score ≥ 90 and ≥ 80.
    pub quality_multiplier_90_bps: i64,
    pub quality_multiplier_80_bps: i64,
    /// Multiplier (bps) for premium NYC areas.
    pub premium_area_bps: i64,
    pub conversion: ConversionModel,
}

impl Default for ScoringModel {
    fn default() -> Self {
        ScoringModel {
            version: 1,
            weights: FactorWeights {
                base_qualification: 4_000,
                behavioral: 3_000,
                market_timing: 2_000,
                nyc_intelligence: 1_000,
            },
            tiers: TierThresholds {
                premium: 85,
                standard: 70,
                basic: 50,
            },
            tier_values: TierValues {
                premium: Cents::from_dollars(200),
                standard: Cents::from_dollars(125),
                basic: Cents::from_dollars(75),
            },
            quality_multiplier_90_bps: 13_000,
            quality_multiplier_80_bps: 12_000,
            premium_area_bps: 11_000,
            conversion: ConversionModel {
                intercept: -3.2,
                base_qualification: 2.6,
                behavioral: 1.4,
                market_timing: 1.6,
                nyc_intelligence: 0.6,
            },
        }
    }
}

/// Largest factor coefficient (either sign) a conversion model may have: with factor
/// scores in 0..=1 it keeps the logit within ±250, far from any float trouble.
pub const MAX_COEFFICIENT: f64 = 50.0;
/// Most a single lead may be worth at its tier, before multipliers.
pub const MAX_TIER_VALUE: Cents = Cents::from_dollars(10_000);
/// Largest revenue multiplier (×5.0).
pub const MAX_MULTIPLIER_BPS: i64 = 50_000;

/// Why a scoring model was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scoring model: {field} {reason}")]
pub struct InvalidModel {
    pub field: &'static str,
    pub reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> Result<(), InvalidModel> {
    Err(InvalidModel {
        field,
        reason: reason.into(),
    })
}

impl ScoringModel {
    /// Checks every number the model holds, so that a model written by a job (or read
    /// back from a store or cache) can only ever produce scores in 0..=100, probabilities
    /// in 0..=1 and revenue that is neither negative nor overflowing.
    pub fn validate(&self) -> Result<(), InvalidModel> {
        let total = self.weights.total();
        if total != 10_000 {
            return refuse("weights", format!("sum to {total} bps, not 10000"));
        }

        let t = self.tiers;
        if !(1 <= t.basic && t.basic < t.standard && t.standard < t.premium && t.premium <= 100) {
            return refuse(
                "tiers",
                format!(
                    "must rise: 1 <= basic < standard < premium <= 100, got {} / {} / {}",
                    t.basic, t.standard, t.premium
                ),
            );
        }

        let v = self.tier_values;
        for (field, value) in [
            ("tier_values.basic", v.basic),
            ("tier_values.standard", v.standard),
            ("tier_values.premium", v.premium),
        ] {
            if value < Cents::ZERO || value > MAX_TIER_VALUE {
                return refuse(
                    field,
                    format!("is {value}; must be between $0.00 and {MAX_TIER_VALUE}"),
                );
            }
        }
        if !(v.basic <= v.standard && v.standard <= v.premium) {
            return refuse(
                "tier_values",
                "must not fall as the tier rises: basic <= standard <= premium",
            );
        }

        for (field, bps) in [
            ("quality_multiplier_90_bps", self.quality_multiplier_90_bps),
            ("quality_multiplier_80_bps", self.quality_multiplier_80_bps),
            ("premium_area_bps", self.premium_area_bps),
        ] {
            if !(0..=MAX_MULTIPLIER_BPS).contains(&bps) {
                return refuse(
                    field,
                    format!("is {bps}; must be between 0 and {MAX_MULTIPLIER_BPS} bps"),
                );
            }
        }
        if self.quality_multiplier_90_bps < self.quality_multiplier_80_bps {
            return refuse(
                "quality_multiplier_90_bps",
                "must be at least quality_multiplier_80_bps: a better lead is never worth less",
            );
        }
        // Implied by the bounds above; computed checked so that a change to them cannot
        // quietly let the top price overflow.
        let top = v
            .premium
            .checked_mul_bps(self.quality_multiplier_90_bps)
            .and_then(|c| c.checked_mul_bps(self.premium_area_bps));
        if top.is_none() {
            return refuse("tier_values.premium", "overflows once multiplied");
        }

        let m = self.conversion;
        for (field, coefficient) in [
            ("conversion.intercept", m.intercept),
            ("conversion.base_qualification", m.base_qualification),
            ("conversion.behavioral", m.behavioral),
            ("conversion.market_timing", m.market_timing),
            ("conversion.nyc_intelligence", m.nyc_intelligence),
        ] {
            if !coefficient.is_finite() || coefficient.abs() > MAX_COEFFICIENT {
                return refuse(
                    field,
                    format!("is {coefficient}; must be a finite number within ±{MAX_COEFFICIENT}"),
                );
            }
        }
        Ok(())
    }

    pub fn tier_for(&self, score: u8) -> QualityTier {
        if score >= self.tiers.premium {
            QualityTier::Premium
        } else if score >= self.tiers.standard {
            QualityTier::Standard
        } else if score >= self.tiers.basic {
            QualityTier::Basic
        } else {
            QualityTier::Unqualified
        }
    }

    pub fn tier_value(&self, tier: QualityTier) -> Cents {
        match tier {
            QualityTier::Premium => self.tier_values.premium,
            QualityTier::Standard => self.tier_values.standard,
            QualityTier::Basic => self.tier_values.basic,
            QualityTier::Unqualified => Cents::ZERO,
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum QualityTier {
    Unqualified,
    Basic,
    Standard,
    Premium,
}

impl QualityTier {
    pub fn as_str(self) -> &'static str {
        match self {
            QualityTier::Premium => "premium",
            QualityTier::Standard => "standard",
            QualityTier::Basic => "basic",
            QualityTier::Unqualified => "unqualified",
        }
    }
}

/// Each factor on 0..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FactorScores {
    #[schema(maximum = 100)]
    pub base_qualification: u8,
    #[schema(maximum = 100)]
    pub behavioral: u8,
    #[schema(maximum = 100)]
    pub market_timing: u8,
    #[schema(maximum = 100)]
    pub nyc_intelligence: u8,
}

/// Why a lead cannot be sold yet (or ever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Blocker {
    Renter,
    OutsideNyc,
    HomeownerUnknown,
    BillUnknown,
    ZipUnknown,
    ContactMissing,
    ConsentMissing,
    BelowBasicTier,
}

impl Blocker {
    /// Blockers no further question can lift.
    pub fn is_final(self) -> bool {
        matches!(self, Blocker::Renter | Blocker::OutsideNyc)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadScore {
    pub total: u8,
    pub factors: FactorScores,
    pub tier: QualityTier,
    pub revenue_potential: Cents,
    pub conversion_probability: f64,
    pub blockers: Vec<Blocker>,
    pub model_version: u32,
}

impl LeadScore {
    pub fn sellable(&self) -> bool {
        self.blockers.is_empty()
    }

    /// Revenue potential × conversion probability (to the millionth).
    pub fn expected_revenue(&self) -> Cents {
        // `clamp` keeps NaN, and a NaN cast is 0: no probability outside 0..=1 reaches money.
        let ppm = (self.conversion_probability.clamp(0.0, 1.0) * 1_000_000.0).round() as i64;
        self.revenue_potential.mul_ppm(ppm)
    }
}

fn clamp100(points: i32) -> u8 {
    points.clamp(0, 100) as u8
}

/// Base qualification, 0..=100: ownership 35, the bill 30 ($300+ excellent, $200+ good,
/// as the guide grades it), where the home is 20 (a premium NYC ZIP scores highest) and
/// the property 15 (single-family > townhouse > 2–4 family > condo > co-op). A lead that
/// lifts every blocker with a modest bill scores about 70: base qualification alone keeps
/// it basic, the other factors decide how far above basic it goes. Calibration and its
/// evidence: `docs/scoring.md`.
pub fn base_qualification(c: &Conversation) -> u8 {
    let f = &c.facts;
    let owner = match f.homeowner {
        Some(true) => 35,
        None => 10,
        Some(false) => 0,
    };
    let bill = match f.monthly_bill.map(Cents::whole_dollars) {
        Some(d) if d >= 300 => 30,
        Some(d) if d >= 200 => 24,
        Some(d) if d >= 150 => 18,
        Some(d) if d >= 100 => 12,
        Some(_) => 6,
        None => 0,
    };
    let location = if f.outside_nyc() {
        0
    } else if f.nyc_zip() {
        if f.premium_area() { 20 } else { 15 }
    } else if f.neighborhood.is_some() {
        if f.premium_area() { 14 } else { 10 }
    } else if f.borough.is_some() {
        6
    } else {
        0
    };
    let property = match f.property_type {
        Some(PropertyType::SingleFamily) => 15,
        Some(PropertyType::Townhouse) => 14,
        Some(PropertyType::MultiFamily) => 12,
        Some(PropertyType::Condo) => 7,
        Some(PropertyType::Coop) => 4,
        // Not said: most NYC owners who chat about rooftop solar own a house.
        None => 5,
    };
    clamp100(owner + bill + location + property)
}

/// Homeowner turns at which engagement is full: past it, more turns are small talk.
pub const ENGAGED_TURNS: u32 = 8;

/// Behaviour, 0..=100: engagement 30 (turns up to [`ENGAGED_TURNS`], minutes up to 3:
/// a homeowner who answers briskly is not penalised), technical interest 30 (8 per
/// technical topic up to 3, 2 per question up to 3), objections 20 (15 with none raised,
/// +5 per resolved, −7 per open) and sentiment 20 (10 neutral, 0..=20 by its balance). An
/// engaged, technical, positive conversation scores 90 or more; one that only answers
/// the qualifying questions about 45.
pub fn behavioral(c: &Conversation) -> u8 {
    let f = &c.facts;
    let minutes = (c.duration_seconds() / 60).min(3) as i32;
    let engagement = (c.turns.min(ENGAGED_TURNS) * 3) as i32 + minutes * 2;
    let technical =
        (f.technical_topics.len().min(3) * 8) as i32 + (c.questions_asked.min(3) * 2) as i32;
    let objections = (15 + 5 * f.objections_resolved.len() as i32
        - 7 * f.objections_open.len() as i32)
        .clamp(0, 20);
    let sentiment = (10.0 + 10.0 * c.sentiment.balance()).round() as i32;
    clamp100(engagement + technical + objections + sentiment)
}

/// The New York calendar day of `now`. A turn scores the lead once per candidate question
/// at the same instant, so the last conversion is kept per thread.
fn new_york_date(now: DateTime<Utc>) -> NaiveDate {
    thread_local! {
        static LAST: Cell<Option<(DateTime<Utc>, NaiveDate)>> = const { Cell::new(None) };
    }
    if let Some((at, day)) = LAST.get()
        && at == now
    {
        return day;
    }
    let day = now.with_timezone(&New_York).date_naive();
    LAST.set(Some((now, day)));
    day
}

/// Market timing, 0..=100: the timeline 40, urgency 15 (the next incentive deadline and
/// the season), financing and credit 20, who decides 20 and comparison shopping 10.
pub fn market_timing(c: &Conversation, now: DateTime<Utc>) -> u8 {
    let f = &c.facts;
    let timeline = match f.timeline {
        Some(Timeline::Immediate) => 40,
        Some(Timeline::WithinThreeMonths) => 34,
        Some(Timeline::WithinSixMonths) => 26,
        Some(Timeline::WithinYear) => 16,
        Some(Timeline::MoreThanYear) => 6,
        Some(Timeline::JustResearching) => 2,
        None => 10,
    };
    let today = new_york_date(now);
    let deadline = match incentives::next_deadline(today).map(|(_, _, days)| days) {
        Some(d) if d <= 60 => 10,
        Some(d) if d <= 180 => 7,
        Some(d) if d <= 365 => 4,
        _ => 2,
    };
    // The market data's seasonal factor: interest runs high April–October.
    let season = match market().seasonal_factor_bps(today.month()) {
        b if b >= 11_000 => 5,
        b if b >= 10_000 => 3,
        _ => 1,
    };
    let urgency = deadline + season;
    let financing = match f.financing {
        Some(Financing::Cash) => 15,
        Some(Financing::Loan) => 10,
        Some(Financing::LeaseOrPpa) => 8,
        Some(Financing::Undecided) => 4,
        None => 5,
    } + match f.credit {
        Some(CreditSignal::Strong) => 5,
        Some(CreditSignal::Weak) => -10,
        None => 0,
    };
    let decision = match f.decision_maker {
        Some(DecisionMaker::Sole) => 20,
        Some(DecisionMaker::Joint) => 16,
        Some(DecisionMaker::Influencer) => 6,
        None => 8,
    };
    let shopping = match f.competing_quotes {
        Some(true) => 10,
        Some(false) => 5,
        None => 4,
    };
    clamp100(timeline + urgency + financing + decision + shopping)
}

/// NYC market intelligence, 0..=100, from the market data: a premium neighbourhood 35
/// (the data's `premium_basis`: the highest-income, highest-home-value areas), income 25
/// (high / medium / low; a premium neighbourhood counts as high whatever its borough's
/// median), the borough's solar adoption 20 and installer density 15 (Con Ed project
/// counts), and 5 for a ZIP (the place is known exactly). Park Slope (Brooklyn, premium)
/// scores 88, Bayside 100, a Bronx ZIP outside the premium areas 19. The season is market
/// timing's part, not the place's.
pub fn nyc_intelligence(c: &Conversation, _now: DateTime<Utc>) -> u8 {
    let m = market();
    let f = &c.facts;
    let Some(borough) = f.borough else {
        return 0;
    };
    if f.outside_nyc() {
        return 0;
    }
    let stats = m.borough(borough);
    let level = |l: Level, high: i32, medium: i32, low: i32| match l {
        Level::High => high,
        Level::Medium => medium,
        Level::Low => low,
    };
    let premium = f.premium_area();
    let income = if premium {
        25
    } else {
        level(stats.income, 25, 15, 5)
    };
    let exact = if f.nyc_zip() { 5 } else { 0 };
    clamp100(
        if premium { 35 } else { 0 }
            + income
            + level(stats.adoption, 20, 13, 5)
            + level(stats.installer_density, 15, 10, 4)
            + exact,
    )
}

fn blockers(c: &Conversation, tier: QualityTier) -> Vec<Blocker> {
    let f = &c.facts;
    let mut out = Vec::new();
    match f.homeowner {
        Some(false) => out.push(Blocker::Renter),
        None => out.push(Blocker::HomeownerUnknown),
        Some(true) => {}
    }
    if f.outside_nyc() {
        out.push(Blocker::OutsideNyc);
    } else if f.zip_code.is_none() {
        out.push(Blocker::ZipUnknown);
    }
    if f.monthly_bill.is_none() {
        out.push(Blocker::BillUnknown);
    }
    if !f.contact.reachable() {
        out.push(Blocker::ContactMissing);
    }
    if f.contact_consent != Some(true) {
        out.push(Blocker::ConsentMissing);
    }
    if tier == QualityTier::Unqualified {
        out.push(Blocker::BelowBasicTier);
    }
    out
}

/// The total score of four factor scores under `w`: their weighted mean, rounded, 0–100.
pub fn weighted_total(w: &FactorWeights, factors: &FactorScores) -> u8 {
    let weighted = u64::from(w.base_qualification) * u64::from(factors.base_qualification)
        + u64::from(w.behavioral) * u64::from(factors.behavioral)
        + u64::from(w.market_timing) * u64::from(factors.market_timing)
        + u64::from(w.nyc_intelligence) * u64::from(factors.nyc_intelligence);
    let total_weight = w.total().max(1);
    ((weighted + total_weight / 2) / total_weight).min(100) as u8
}

/// Scores a conversation as it stands at `now`.
pub fn score(model: &ScoringModel, c: &Conversation, now: DateTime<Utc>) -> LeadScore {
    let factors = FactorScores {
        base_qualification: base_qualification(c),
        behavioral: behavioral(c),
        market_timing: market_timing(c, now),
        nyc_intelligence: nyc_intelligence(c, now),
    };
    let total = weighted_total(&model.weights, &factors);

    let known_unsellable = c.facts.homeowner == Some(false) || c.facts.outside_nyc();
    let tier = if known_unsellable {
        QualityTier::Unqualified
    } else {
        model.tier_for(total)
    };
    let mut potential = model.tier_value(tier);
    if total >= 90 {
        potential = potential.mul_bps(model.quality_multiplier_90_bps);
    } else if total >= 80 {
        potential = potential.mul_bps(model.quality_multiplier_80_bps);
    }
    if c.facts.premium_area() {
        potential = potential.mul_bps(model.premium_area_bps);
    }
    let conversion_probability = if known_unsellable {
        0.0
    } else {
        model.conversion.probability(&factors)
    };
    LeadScore {
        total,
        factors,
        tier,
        revenue_potential: potential,
        conversion_probability,
        blockers: blockers(c, tier),
        model_version: model.version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::conversation::{Contact, SessionId, ZipCode};
    use crate::domain::facts::{Borough, Objection, TechnicalTopic};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 12, 16, 0, 0)
            .single()
            .expect("valid")
    }

    fn strong_lead() -> Conversation {
        let mut c = Conversation::new(
            SessionId::parse("s").expect("id"),
            now() - chrono::Duration::minutes(9),
        );
        c.last_message_at = now();
        c.turns = 9;
        c.questions_asked = 4;
        c.sentiment.positive = 5;
        let f = &mut c.facts;
        f.homeowner = Some(true);
        f.monthly_bill = Some(Cents::from_dollars(400));
        f.zip_code = Some(ZipCode::parse("11215").expect("zip"));
        f.borough = Some(Borough::Brooklyn);
        f.property_type = Some(PropertyType::Townhouse);
        f.timeline = Some(Timeline::WithinThreeMonths);
        f.decision_maker = Some(DecisionMaker::Sole);
        f.financing = Some(Financing::Cash);
        f.credit = Some(CreditSignal::Strong);
        f.competing_quotes = Some(true);
        f.technical_topics = [
            TechnicalTopic::NetMetering,
            TechnicalTopic::Batteries,
            TechnicalTopic::Inverters,
        ]
        .into_iter()
        .collect();
        f.objections_resolved.insert(Objection::Cost);
        f.contact = Contact {
            name: Some("Pat".into()),
            phone: Some("+17185550142".into()),
            email: None,
        };
        f.contact_consent = Some(true);
        c
    }

    /// A lead that lifts every blocker and says nothing more: a Queens homeowner (Corona,
    /// not a premium area) with a $150 bill who gives a phone number and consents, in five
    /// brisk turns.
    fn bare_minimum_lead() -> Conversation {
        let mut c = Conversation::new(
            SessionId::parse("s").expect("id"),
            now() - chrono::Duration::minutes(2),
        );
        c.last_message_at = now();
        c.turns = 5;
        c.sentiment.neutral = 5;
        let f = &mut c.facts;
        f.homeowner = Some(true);
        f.monthly_bill = Some(Cents::from_dollars(150));
        f.zip_code = Some(ZipCode::parse("11368").expect("zip"));
        f.borough = Some(Borough::Queens);
        f.contact = Contact {
            name: None,
            phone: Some("+17185550142".into()),
            email: None,
        };
        f.contact_consent = Some(true);
        c
    }

    /// Every strong signal: sole owner of a single-family house in Park Slope, $450 a
    /// month, wants it next month, pays cash, excellent credit, asks about inverters, net
    /// metering and warranties, positive throughout, gives a phone and consents.
    fn every_strong_signal() -> Conversation {
        let mut c = bare_minimum_lead();
        c.started_at = now() - chrono::Duration::minutes(6);
        c.turns = 9;
        c.questions_asked = 3;
        c.sentiment = Default::default();
        c.sentiment.positive = 5;
        c.sentiment.neutral = 4;
        let f = &mut c.facts;
        f.monthly_bill = Some(Cents::from_dollars(450));
        f.zip_code = Some(ZipCode::parse("11215").expect("zip"));
        f.borough = Some(Borough::Brooklyn);
        f.neighborhood = Some("park_slope".into());
        f.property_type = Some(PropertyType::SingleFamily);
        f.timeline = Some(Timeline::WithinThreeMonths);
        f.decision_maker = Some(DecisionMaker::Sole);
        f.financing = Some(Financing::Cash);
        f.credit = Some(CreditSignal::Strong);
        f.technical_topics = [
            TechnicalTopic::Inverters,
            TechnicalTopic::NetMetering,
            TechnicalTopic::Warranties,
        ]
        .into_iter()
        .collect();
        c
    }

    #[test]
    fn given_leads_from_weakest_to_strongest_then_scores_rise_through_every_tier() {
        // GIVEN a table of leads, each adding signals to the one before
        let bronx = {
            let mut c = bare_minimum_lead();
            c.facts.zip_code = Some(ZipCode::parse("10454").expect("zip"));
            c.facts.borough = Some(Borough::Bronx);
            c
        };
        let bare = bare_minimum_lead();
        let typical = {
            let mut c = bare_minimum_lead();
            c.started_at = now() - chrono::Duration::minutes(4);
            c.turns = 7;
            c.questions_asked = 1;
            c.sentiment.positive = 2;
            let f = &mut c.facts;
            f.monthly_bill = Some(Cents::from_dollars(250));
            f.property_type = Some(PropertyType::Townhouse);
            f.timeline = Some(Timeline::WithinSixMonths);
            f.decision_maker = Some(DecisionMaker::Joint);
            f.technical_topics.insert(TechnicalTopic::Production);
            c
        };
        let keen = {
            let mut c = typical.clone();
            c.questions_asked = 2;
            let f = &mut c.facts;
            f.monthly_bill = Some(Cents::from_dollars(320));
            f.property_type = Some(PropertyType::SingleFamily);
            f.timeline = Some(Timeline::WithinThreeMonths);
            f.financing = Some(Financing::Loan);
            f.technical_topics.insert(TechnicalTopic::Batteries);
            c
        };
        let strongest = every_strong_signal();
        let table = [
            ("bare minimum, South Bronx", bronx, QualityTier::Basic),
            ("bare minimum, Queens", bare, QualityTier::Basic),
            ("typical townhouse owner", typical, QualityTier::Standard),
            ("keen single-family owner", keen, QualityTier::Standard),
            (
                "every strong signal, Park Slope",
                strongest,
                QualityTier::Premium,
            ),
        ];
        // WHEN each is scored
        let scores: Vec<LeadScore> = table
            .iter()
            .map(|(_, c, _)| score(&ScoringModel::default(), c, now()))
            .collect();
        // THEN each lands in its tier, sellable, and each scores above the one before
        for ((name, _, tier), s) in table.iter().zip(&scores) {
            assert_eq!(s.tier, *tier, "{name}: {} {:?}", s.total, s.factors);
            assert!(s.sellable(), "{name}: {:?}", s.blockers);
        }
        for pair in scores.windows(2) {
            assert!(
                pair[0].total < pair[1].total,
                "{} !< {}",
                pair[0].total,
                pair[1].total
            );
        }
        assert!(scores[4].total >= 90, "strongest scored {:?}", scores[4]);
    }

    #[test]
    fn given_park_slope_and_a_low_adoption_low_income_area_then_the_nyc_factor_tells_them_apart() {
        let park_slope = every_strong_signal();
        let mut south_bronx = every_strong_signal();
        south_bronx.facts.zip_code = Some(ZipCode::parse("10454").expect("zip"));
        south_bronx.facts.borough = Some(Borough::Bronx);
        south_bronx.facts.neighborhood = None;
        let (a, b) = (
            nyc_intelligence(&park_slope, now()),
            nyc_intelligence(&south_bronx, now()),
        );
        assert!(a >= 85, "Park Slope {a}");
        assert!(b <= 30, "South Bronx {b}");
        assert!(a - b >= 50, "Park Slope {a} against the South Bronx {b}");
    }

    #[test]
    fn given_an_engaged_technical_positive_chat_then_behaviour_uses_the_top_of_its_range() {
        let engaged = behavioral(&every_strong_signal());
        let bare = behavioral(&bare_minimum_lead());
        let mut hostile = bare_minimum_lead();
        hostile.sentiment.negative = 5;
        hostile.facts.objections_open.insert(Objection::Cost);
        hostile.facts.objections_open.insert(Objection::Trust);
        assert!(engaged >= 90, "engaged {engaged}");
        assert!((35..=55).contains(&bare), "bare {bare}");
        assert!(
            behavioral(&hostile) <= 25,
            "hostile {}",
            behavioral(&hostile)
        );
    }

    #[test]
    fn given_a_sold_lead_when_the_homeowner_only_says_thanks_then_its_tier_does_not_move() {
        // GIVEN a bare-minimum lead at its engaged turn count
        let mut c = bare_minimum_lead();
        c.turns = ENGAGED_TURNS;
        c.started_at = now() - chrono::Duration::minutes(3);
        let before = score(&ScoringModel::default(), &c, now());
        // WHEN two more courtesy turns come a few minutes later
        c.turns += 2;
        c.sentiment.neutral += 2;
        let later = now() + chrono::Duration::minutes(4);
        c.last_message_at = later;
        let after = score(&ScoringModel::default(), &c, later);
        // THEN the score stays where it was
        assert_eq!(before.total, after.total);
        assert_eq!(before.tier, after.tier);
    }

    #[test]
    fn default_model_is_valid_and_matches_the_spec() {
        let m = ScoringModel::default();
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(m.tier_for(85), QualityTier::Premium);
        assert_eq!(m.tier_for(84), QualityTier::Standard);
        assert_eq!(m.tier_for(70), QualityTier::Standard);
        assert_eq!(m.tier_for(50), QualityTier::Basic);
        assert_eq!(m.tier_for(49), QualityTier::Unqualified);
    }

    fn refused_field(m: &ScoringModel) -> &'static str {
        match m.validate() {
            Err(e) => {
                assert!(!e.reason.is_empty(), "{e}");
                e.field
            }
            Ok(()) => panic!("accepted {m:?}"),
        }
    }

    #[test]
    fn given_a_nan_coefficient_then_the_model_is_refused_naming_it() {
        let mut m = ScoringModel::default();
        m.conversion.behavioral = f64::NAN;
        assert_eq!(refused_field(&m), "conversion.behavioral");
        assert!(m.validate().expect_err("NaN").to_string().contains("NaN"));
    }

    #[test]
    fn given_an_infinite_or_huge_coefficient_then_the_model_is_refused() {
        for bad in [f64::INFINITY, f64::NEG_INFINITY, 1e300, -51.0] {
            let mut m = ScoringModel::default();
            m.conversion.intercept = bad;
            assert_eq!(refused_field(&m), "conversion.intercept", "{bad}");
        }
    }

    #[test]
    fn given_a_negative_tier_value_then_the_model_is_refused() {
        let mut m = ScoringModel::default();
        m.tier_values.basic = Cents(-1);
        assert_eq!(refused_field(&m), "tier_values.basic");
        let mut m = ScoringModel::default();
        m.tier_values.premium = Cents(i64::MAX);
        assert_eq!(refused_field(&m), "tier_values.premium");
        let mut m = ScoringModel::default();
        m.tier_values.standard = Cents::from_dollars(300);
        assert_eq!(refused_field(&m), "tier_values");
    }

    #[test]
    fn given_a_negative_or_huge_multiplier_then_the_model_is_refused() {
        let m = ScoringModel {
            premium_area_bps: -10_000,
            ..ScoringModel::default()
        };
        assert_eq!(refused_field(&m), "premium_area_bps");
        let m = ScoringModel {
            quality_multiplier_90_bps: i64::MAX,
            ..ScoringModel::default()
        };
        assert_eq!(refused_field(&m), "quality_multiplier_90_bps");
        let m = ScoringModel {
            quality_multiplier_80_bps: 14_000,
            ..ScoringModel::default()
        };
        assert_eq!(refused_field(&m), "quality_multiplier_90_bps");
    }

    #[test]
    fn given_weights_that_overflow_u32_then_the_model_is_refused_without_panicking() {
        // u32::MAX + 10_001 wraps round to exactly 10_000 in u32 arithmetic.
        let mut m = ScoringModel {
            weights: FactorWeights {
                base_qualification: u32::MAX,
                behavioral: 10_001,
                market_timing: 0,
                nyc_intelligence: 0,
            },
            ..ScoringModel::default()
        };
        assert_eq!(refused_field(&m), "weights");
        m.weights = FactorWeights {
            base_qualification: u32::MAX,
            behavioral: u32::MAX,
            market_timing: u32::MAX,
            nyc_intelligence: u32::MAX,
        };
        assert_eq!(m.weights.total(), 4 * u64::from(u32::MAX));
        assert_eq!(refused_field(&m), "weights");
    }

    #[test]
    fn given_thresholds_out_of_order_then_the_model_is_refused() {
        for (basic, standard, premium) in [(70, 70, 85), (50, 90, 85), (50, 70, 101), (0, 70, 85)] {
            let m = ScoringModel {
                tiers: TierThresholds {
                    premium,
                    standard,
                    basic,
                },
                ..ScoringModel::default()
            };
            assert_eq!(refused_field(&m), "tiers", "{basic}/{standard}/{premium}");
        }
    }

    #[test]
    fn given_a_nan_probability_then_expected_revenue_is_zero_not_garbage() {
        let mut s = score(&ScoringModel::default(), &strong_lead(), now());
        s.conversion_probability = f64::NAN;
        assert_eq!(s.expected_revenue(), Cents::ZERO);
        s.conversion_probability = 7.0;
        assert_eq!(s.expected_revenue(), s.revenue_potential);
        s.conversion_probability = -1.0;
        assert_eq!(s.expected_revenue(), Cents::ZERO);
    }

    #[test]
    fn given_a_strong_brooklyn_homeowner_then_the_lead_is_premium_and_sellable() {
        let s = score(&ScoringModel::default(), &strong_lead(), now());
        assert!(s.total >= 85, "score {} factors {:?}", s.total, s.factors);
        assert_eq!(s.tier, QualityTier::Premium);
        assert!(s.sellable(), "blockers {:?}", s.blockers);
        assert!(s.revenue_potential >= Cents::from_dollars(200));
        assert!(s.conversion_probability > 0.6 && s.conversion_probability < 1.0);
    }

    #[test]
    fn given_the_same_lead_when_they_turn_out_to_rent_then_it_is_never_sellable() {
        let mut c = strong_lead();
        c.facts.homeowner = Some(false);
        let s = score(&ScoringModel::default(), &c, now());
        assert_eq!(s.tier, QualityTier::Unqualified);
        assert!(!s.sellable());
        assert!(s.blockers.contains(&Blocker::Renter));
        assert_eq!(s.revenue_potential, Cents::ZERO);
    }

    #[test]
    fn given_an_empty_conversation_then_it_is_unqualified_with_every_gap_named() {
        let c = Conversation::new(SessionId::parse("s").expect("id"), now());
        let s = score(&ScoringModel::default(), &c, now());
        assert_eq!(s.tier, QualityTier::Unqualified);
        for b in [
            Blocker::HomeownerUnknown,
            Blocker::BillUnknown,
            Blocker::ZipUnknown,
            Blocker::ContactMissing,
        ] {
            assert!(s.blockers.contains(&b), "missing {b:?}");
        }
    }

    #[test]
    fn weights_come_from_the_model() {
        let c = strong_lead();
        let only_market = ScoringModel {
            weights: FactorWeights {
                base_qualification: 0,
                behavioral: 0,
                market_timing: 0,
                nyc_intelligence: 10_000,
            },
            ..ScoringModel::default()
        };
        let s = score(&only_market, &c, now());
        assert_eq!(s.total, s.factors.nyc_intelligence);
    }
}
