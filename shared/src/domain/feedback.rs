//! Buyer feedback on a lead it bought: accepted, rejected (with a reason code), returned
//! for credit (within the return window, with a valid reason, under the monthly return-rate
//! cap — beyond it the return is held for review), or converted (with the sale value).
//!
//! `decide` is the whole rule book: given the verified feedback and the lead as stored, it
//! either refuses (not the buyer's lead, an impossible transition, a closed window) or
//! returns every effect to apply in one transaction — the lead's new state, the ledger line,
//! the counters and the training example. The same rules hold on every backend.

use super::buyer::{BuyerId, BuyerTier};
use super::lead::{LeadRecord, LeadState};
use super::money::Cents;
use super::pricing::PriceQuote;
use super::sale::{LedgerEntry, LedgerKind};
use super::scoring::{FactorScores, QualityTier};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackType {
    Accepted,
    Rejected,
    Returned,
    Converted,
}

impl FeedbackType {
    pub const ALL: [FeedbackType; 4] = [
        FeedbackType::Accepted,
        FeedbackType::Rejected,
        FeedbackType::Returned,
        FeedbackType::Converted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackType::Accepted => "accepted",
            FeedbackType::Rejected => "rejected",
            FeedbackType::Returned => "returned",
            FeedbackType::Converted => "converted",
        }
    }

    pub fn parse(raw: &str) -> Option<FeedbackType> {
        FeedbackType::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// The lead state this feedback moves the lead to.
    pub fn lead_state(self) -> LeadState {
        match self {
            FeedbackType::Accepted => LeadState::Accepted,
            FeedbackType::Rejected => LeadState::Rejected,
            FeedbackType::Returned => LeadState::Returned,
            FeedbackType::Converted => LeadState::Converted,
        }
    }
}

/// Why a buyer rejected or returned a lead. Every code says something checkable about the
/// lead; "did not convert" is a sales outcome, not a defect, so it is not one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    WrongNumber,
    NotHomeowner,
    Duplicate,
    OutsideServiceArea,
    NoConsent,
    Unreachable,
    /// Rejections only; the buyer explains in `feedback_reason`.
    Other,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 7] = [
        ReasonCode::WrongNumber,
        ReasonCode::NotHomeowner,
        ReasonCode::Duplicate,
        ReasonCode::OutsideServiceArea,
        ReasonCode::NoConsent,
        ReasonCode::Unreachable,
        ReasonCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::WrongNumber => "wrong_number",
            ReasonCode::NotHomeowner => "not_homeowner",
            ReasonCode::Duplicate => "duplicate",
            ReasonCode::OutsideServiceArea => "outside_service_area",
            ReasonCode::NoConsent => "no_consent",
            ReasonCode::Unreachable => "unreachable",
            ReasonCode::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// A return is credited only for a defect of the lead: `other` is for rejections.
    pub fn valid_for_return(self) -> bool {
        self != ReasonCode::Other
    }

    /// The codes a return accepts, for error messages.
    pub fn return_codes() -> Vec<&'static str> {
        ReasonCode::ALL
            .into_iter()
            .filter(|r| r.valid_for_return())
            .map(ReasonCode::as_str)
            .collect()
    }
}

/// A verified, validated feedback message from a buyer.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackEvent {
    /// The Standard Webhooks `webhook-id`: one message, however often it is sent.
    pub message_id: String,
    pub lead_id: String,
    pub buyer_id: BuyerId,
    pub kind: FeedbackType,
    pub reason: Option<ReasonCode>,
    /// The buyer's 0–10 rating, in tenths (85 = 8.5).
    pub score_tenths: Option<u8>,
    /// The buyer's words on why (free text; never logged).
    pub reason_text: Option<String>,
    /// What the homeowner's installation sold for, as the buyer reports it.
    pub conversion_value: Option<Cents>,
    /// Free text; never logged.
    pub notes: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// What happened to a feedback that was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Every effect applied (a return or rejection credited).
    Applied,
    /// A return or rejection beyond the buyer's monthly return-rate cap: recorded, the lead
    /// moved, but no credit until the sales team reviews it.
    HeldForReview,
}

/// A recorded feedback: the first result, returned again for every repeat of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    pub feedback_id: String,
    pub message_id: String,
    pub lead_id: String,
    pub buyer_id: BuyerId,
    pub kind: FeedbackType,
    pub reason: Option<ReasonCode>,
    pub score_tenths: Option<u8>,
    pub reason_text: Option<String>,
    pub conversion_value: Option<Cents>,
    pub notes: Option<String>,
    pub received_at: DateTime<Utc>,
    pub disposition: Disposition,
    /// The lead's state after this feedback.
    pub lead_state: LeadState,
    /// Credited to the buyer (a positive amount; the ledger line is its negative).
    pub credit: Option<Cents>,
    /// The credit waiting for review when the return is held.
    pub held_credit: Option<Cents>,
    /// The New York month whose statement shows it (`YYYY-MM`).
    pub month: String,
    /// The lead's quality tier (absent on records kept before it was recorded): returns
    /// are learned per buyer and tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<QualityTier>,
}

/// The features of a lead at the moment it was sold, with the outcome: one row of the
/// scoring model's training data. No personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingExample {
    pub lead_id: String,
    pub buyer_id: BuyerId,
    pub outcome: FeedbackType,
    pub reason: Option<ReasonCode>,
    pub conversion_value: Option<Cents>,
    pub recorded_at: DateTime<Utc>,
    pub score: Option<u8>,
    pub tier: Option<QualityTier>,
    pub queued_at: Option<DateTime<Utc>>,
    pub sold_at: DateTime<Utc>,
    pub buyer_tier: BuyerTier,
    pub price: Cents,
    pub expected_revenue: Cents,
    /// Base, every multiplier and the market signals (borough, premium area, adoption,
    /// income) the price was made of.
    pub quote: PriceQuote,
    /// The score's factors when the lead was queued.
    #[serde(default)]
    pub factors: Option<FactorScores>,
}

/// Adds `by` to the counter `field` of `key`. With `at_most`, the whole change fails when
/// the counter would exceed it (the return-rate cap, enforced by the store's condition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub key: String,
    pub field: String,
    pub by: i64,
    pub at_most: Option<i64>,
}

/// Every effect of one feedback, applied in one transaction or not at all.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackChange {
    pub record: FeedbackRecord,
    /// The lead record as it will be stored; its `version` is the one read.
    pub lead: LeadRecord,
    pub ledger: Option<LedgerEntry>,
    pub tallies: Vec<Tally>,
    pub training: TrainingExample,
}

/// Why a store did not apply a change. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackRefused {
    #[error("the lead record changed since it was read")]
    LeadChanged,
    /// The same message, or the same (lead, buyer, type), is recorded already.
    #[error("the feedback is recorded already")]
    AlreadyRecorded,
    /// A counter with a limit would pass it (another return took the last credit).
    #[error("a counter limit is reached")]
    LimitReached,
}

/// Why feedback is refused, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The lead was never sold to this buyer (or does not exist: the two look the same).
    NotYourLead,
    /// The lead's state does not allow it; `current` is its status as the buyer sees it.
    Transition {
        current: &'static str,
        message: String,
    },
    /// A return or rejection after the return window.
    WindowClosed {
        until: DateTime<Utc>,
    },
    Invalid(String),
}

/// The settings of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackRules {
    /// Credited returns and rejections in a New York month, as a share (bps) of the leads
    /// the buyer kept that month; beyond it a return is held for review.
    pub return_rate_cap_bps: u32,
}

impl Default for FeedbackRules {
    fn default() -> Self {
        FeedbackRules {
            return_rate_cap_bps: 2_000,
        }
    }
}

/// A buyer's month so far, as the cap needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonthToDate {
    /// Leads sold to the buyer in the month and not released.
    pub kept: i64,
    /// Returns and rejections credited in the month.
    pub credits: i64,
}

/// The New York calendar month of `at` (`YYYY-MM`): statements and the return-rate cap
/// follow the business's books, kept in New York.
pub fn statement_month(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&chrono_tz::America::New_York);
    format!("{:04}-{:02}", local.year(), local.month())
}

/// Parses `YYYY-MM` (2000-01 to 2999-12).
pub fn parse_month(raw: &str) -> Option<String> {
    let (y, m) = raw.split_once('-')?;
    let ok = y.len() == 4
        && m.len() == 2
        && y.bytes().all(|b| b.is_ascii_digit())
        && m.bytes().all(|b| b.is_ascii_digit());
    let (year, month): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    (ok && (2000..=2999).contains(&year) && (1..=12).contains(&month)).then(|| raw.to_owned())
}

/// The New York day of `at`: training examples are grouped by it for the model job.
pub fn training_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::America::New_York).date_naive()
}

/// Counter keys. Buyer performance: all time and per month; rejection and return reasons
/// by buyer, by lead tier and by borough.
pub mod tally {
    use super::*;

    pub fn buyer(buyer: &BuyerId) -> String {
        format!("buyer#{buyer}")
    }

    pub fn buyer_month(buyer: &BuyerId, month: &str) -> String {
        format!("buyer#{buyer}#{month}")
    }

    pub fn reasons_by_buyer(buyer: &BuyerId) -> String {
        format!("reasons#buyer#{buyer}")
    }

    pub fn reasons_by_tier(tier: Option<QualityTier>) -> String {
        format!(
            "reasons#tier#{}",
            tier.map_or("unknown", QualityTier::as_str)
        )
    }

    pub fn reasons_by_borough(borough: Option<&str>) -> String {
        format!("reasons#borough#{}", borough.unwrap_or("unknown"))
    }

    pub const ACCEPTED: &str = "accepted";
    pub const REJECTED: &str = "rejected";
    pub const RETURNED: &str = "returned";
    pub const HELD: &str = "held";
    /// Returns and rejections credited (the cap counts these).
    pub const CREDITS: &str = "credits";
    pub const CREDITED_CENTS: &str = "credited_cents";
    pub const CONVERTED: &str = "converted";
    pub const CONVERSION_CENTS: &str = "conversion_value_cents";
}

/// The status of a lead as one buyer may see it: the lead's own state when the buyer holds
/// it; `released` when another buyer has it now.
fn status_for(lead: &LeadRecord, buyer: &BuyerId) -> &'static str {
    match &lead.sale {
        Some(sale) if sale.buyer_id == *buyer => lead.state.as_str(),
        Some(_) => "released",
        None => lead.state.as_str(),
    }
}

fn transition(lead: &LeadRecord, buyer: &BuyerId, message: impl Into<String>) -> Refusal {
    Refusal::Transition {
        current: status_for(lead, buyer),
        message: message.into(),
    }
}

/// Decides what a feedback does to a lead. `month` is the buyer's month so far; it only
/// matters for a credit.
pub fn decide(
    rules: &FeedbackRules,
    event: &FeedbackEvent,
    lead: &LeadRecord,
    month: MonthToDate,
) -> Result<FeedbackChange, Refusal> {
    let sale = match &lead.sale {
        Some(sale) if sale.buyer_id == event.buyer_id => sale,
        // A buyer that had the lead and gave it back (a post-time reject, a failed
        // delivery) learns where it stands; any other buyer learns nothing.
        _ if lead.excluded.contains(&event.buyer_id) => {
            let why = if lead.state == LeadState::Withdrawn {
                "the homeowner withdrew consent and the sale was undone; no feedback can be recorded"
            } else {
                "the lead was released from this buyer; no feedback can be recorded"
            };
            return Err(transition(lead, &event.buyer_id, why));
        }
        _ => return Err(Refusal::NotYourLead),
    };
    let now = event.received_at;
    let from = lead.state;
    let fresh = matches!(from, LeadState::Sold | LeadState::Delivered);
    let allowed = match event.kind {
        FeedbackType::Accepted | FeedbackType::Rejected => fresh,
        FeedbackType::Returned | FeedbackType::Converted => fresh || from == LeadState::Accepted,
    };
    if !allowed {
        let hint = match (event.kind, from) {
            (FeedbackType::Rejected, LeadState::Accepted) => {
                "; an accepted lead is returned, not rejected"
            }
            (_, LeadState::Withdrawn) => "; the homeowner withdrew consent",
            _ => "",
        };
        return Err(transition(
            lead,
            &event.buyer_id,
            format!(
                "a lead that is {} cannot be marked {}{hint}",
                from.as_str(),
                event.kind.as_str()
            ),
        ));
    }
    match event.kind {
        FeedbackType::Rejected if event.reason.is_none() => {
            return Err(Refusal::Invalid(format!(
                "rejected feedback needs reason_code, one of {}",
                ReasonCode::ALL.map(ReasonCode::as_str).join(", ")
            )));
        }
        FeedbackType::Returned if !event.reason.is_some_and(ReasonCode::valid_for_return) => {
            return Err(Refusal::Invalid(format!(
                "returned feedback needs reason_code, one of {} (a lead that did not convert is not returnable)",
                ReasonCode::return_codes().join(", ")
            )));
        }
        FeedbackType::Converted if event.conversion_value.is_none_or(|v| v.0 <= 0) => {
            return Err(Refusal::Invalid(
                "converted feedback needs a positive conversion_value (US dollars)".into(),
            ));
        }
        _ => {}
    }
    let refund = matches!(event.kind, FeedbackType::Rejected | FeedbackType::Returned);
    // An acceptance that reports what the installation sold for (the guide's example) is
    // a conversion too.
    let converts = converts(event.kind, event.conversion_value);
    if refund && now > sale.returnable_until {
        return Err(Refusal::WindowClosed {
            until: sale.returnable_until,
        });
    }

    let month_key = statement_month(now);
    let sale_number = lead
        .history
        .iter()
        .filter(|t| t.state == LeadState::Sold)
        .count()
        .max(1);
    // Credits allowed this month: the cap's share of the leads kept, rounded down.
    let allowed_credits = month.kept.max(0) * i64::from(rules.return_rate_cap_bps) / 10_000;
    let credited = refund && month.credits < allowed_credits;
    let disposition = if refund && !credited {
        Disposition::HeldForReview
    } else {
        Disposition::Applied
    };
    let ledger = if credited {
        Some(LedgerEntry {
            lead_id: lead.lead_id.clone(),
            entry_id: format!("credit#{sale_number}"),
            buyer_id: event.buyer_id.clone(),
            kind: LedgerKind::Credit,
            amount: Cents(-sale.price.0),
            at: now,
        })
    } else if converts {
        Some(LedgerEntry {
            lead_id: lead.lead_id.clone(),
            entry_id: format!("conversion#{sale_number}"),
            buyer_id: event.buyer_id.clone(),
            kind: LedgerKind::Conversion,
            amount: event.conversion_value.unwrap_or_default(),
            at: now,
        })
    } else {
        None
    };

    let mut fields: Vec<(&str, i64)> = Vec::new();
    // Returned or converted straight from delivery: the buyer kept the lead first.
    let implicit = fresh && matches!(event.kind, FeedbackType::Returned | FeedbackType::Converted);
    if event.kind == FeedbackType::Accepted || implicit {
        fields.push((tally::ACCEPTED, 1));
    }
    match event.kind {
        FeedbackType::Accepted | FeedbackType::Converted => {}
        FeedbackType::Rejected => fields.push((tally::REJECTED, 1)),
        FeedbackType::Returned => fields.push((tally::RETURNED, 1)),
    }
    if converts {
        fields.push((tally::CONVERTED, 1));
        fields.push((
            tally::CONVERSION_CENTS,
            event.conversion_value.unwrap_or_default().0,
        ));
    }
    if refund {
        if credited {
            fields.push((tally::CREDITED_CENTS, sale.price.0));
        } else {
            fields.push((tally::HELD, 1));
        }
    }
    let mut tallies = Vec::new();
    for key in [
        tally::buyer(&event.buyer_id),
        tally::buyer_month(&event.buyer_id, &month_key),
    ] {
        for (field, by) in &fields {
            tallies.push(Tally {
                key: key.clone(),
                field: (*field).to_owned(),
                by: *by,
                at_most: None,
            });
        }
    }
    if credited {
        tallies.push(Tally {
            key: tally::buyer(&event.buyer_id),
            field: tally::CREDITS.to_owned(),
            by: 1,
            at_most: None,
        });
        tallies.push(Tally {
            key: tally::buyer_month(&event.buyer_id, &month_key),
            field: tally::CREDITS.to_owned(),
            by: 1,
            at_most: Some(allowed_credits),
        });
    }
    if let Some(reason) = event.reason.filter(|_| refund) {
        let field = format!("{}:{}", event.kind.as_str(), reason.as_str());
        let borough = sale.quote.market.borough.map(|b| b.as_str());
        for key in [
            tally::reasons_by_buyer(&event.buyer_id),
            tally::reasons_by_tier(lead.tier),
            tally::reasons_by_borough(borough),
        ] {
            tallies.push(Tally {
                key,
                field: field.clone(),
                by: 1,
                at_most: None,
            });
        }
    }

    let outcome = if converts {
        FeedbackType::Converted
    } else {
        event.kind
    };
    let state = outcome.lead_state();
    let note = match (outcome, event.reason, disposition) {
        (_, Some(reason), Disposition::HeldForReview) if refund => format!(
            "{} by {}: {}; held for review (return-rate cap)",
            event.kind.as_str(),
            event.buyer_id,
            reason.as_str()
        ),
        (_, Some(reason), _) if refund => format!(
            "{} by {}: {}; credited {}",
            event.kind.as_str(),
            event.buyer_id,
            reason.as_str(),
            sale.price
        ),
        (FeedbackType::Converted, _, _) => format!("converted by {}", event.buyer_id),
        _ => format!("{} by {}", event.kind.as_str(), event.buyer_id),
    };
    let mut next = lead.moved(state, now, note);
    if credited {
        next.billed = next.billed.map(|_| Cents::ZERO);
    }
    let record = FeedbackRecord {
        feedback_id: feedback_id(&lead.lead_id, &event.buyer_id, event.kind),
        message_id: event.message_id.clone(),
        lead_id: lead.lead_id.clone(),
        buyer_id: event.buyer_id.clone(),
        kind: event.kind,
        reason: event.reason,
        score_tenths: event.score_tenths,
        reason_text: event.reason_text.clone(),
        conversion_value: event.conversion_value,
        notes: event.notes.clone(),
        received_at: now,
        disposition,
        lead_state: state,
        credit: credited.then_some(sale.price),
        held_credit: (refund && !credited).then_some(sale.price),
        month: month_key,
        tier: lead.tier,
    };
    let training = TrainingExample {
        lead_id: lead.lead_id.clone(),
        buyer_id: event.buyer_id.clone(),
        outcome,
        reason: event.reason,
        conversion_value: event.conversion_value.filter(|_| converts),
        recorded_at: now,
        score: lead.score,
        tier: lead.tier,
        queued_at: lead.queued_at,
        sold_at: sale.sold_at,
        buyer_tier: sale.buyer_tier,
        price: sale.price,
        expected_revenue: sale.expected_revenue,
        quote: sale.quote.clone(),
        factors: lead.factors,
    };
    Ok(FeedbackChange {
        record,
        lead: next,
        ledger,
        tallies,
        training,
    })
}

/// Whether a feedback reports a sale: `converted`, or `accepted` with a positive
/// `conversion_value`.
pub fn converts(kind: FeedbackType, conversion_value: Option<Cents>) -> bool {
    match kind {
        FeedbackType::Converted => true,
        FeedbackType::Accepted => conversion_value.is_some_and(|v| v.0 > 0),
        FeedbackType::Rejected | FeedbackType::Returned => false,
    }
}

impl FeedbackRecord {
    /// The buyer reported a sale with this feedback.
    pub fn converts(&self) -> bool {
        converts(self.kind, self.conversion_value)
    }
}

/// The id of a feedback: one per (lead, buyer, type).
pub fn feedback_id(lead_id: &str, buyer: &BuyerId, kind: FeedbackType) -> String {
    format!("{lead_id}:{buyer}:{}", kind.as_str())
}

/// A buyer's performance from its counters: counts, and the rates the router and the
/// sales team read.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct BuyerPerformance {
    pub accepted: i64,
    pub rejected: i64,
    pub returned: i64,
    /// Returns and rejections held for review (beyond the cap).
    pub held: i64,
    pub credits: i64,
    pub converted: i64,
    /// accepted / (accepted + rejected); `null` before any.
    pub acceptance_rate: Option<f64>,
    /// returned / accepted.
    pub return_rate: Option<f64>,
    /// converted / accepted.
    pub conversion_rate: Option<f64>,
    /// Mean conversion value in US dollars.
    #[schema(value_type = Option<f64>)]
    pub average_conversion_value: Option<super::money::Usd>,
}

impl BuyerPerformance {
    pub fn from_tallies(t: &std::collections::BTreeMap<String, i64>) -> BuyerPerformance {
        let get = |f: &str| t.get(f).copied().unwrap_or(0);
        let ratio = |n: i64, d: i64| (d > 0).then(|| n as f64 / d as f64);
        let (accepted, rejected, returned, converted) = (
            get(tally::ACCEPTED),
            get(tally::REJECTED),
            get(tally::RETURNED),
            get(tally::CONVERTED),
        );
        BuyerPerformance {
            accepted,
            rejected,
            returned,
            held: get(tally::HELD),
            credits: get(tally::CREDITS),
            converted,
            acceptance_rate: ratio(accepted, accepted + rejected),
            return_rate: ratio(returned, accepted),
            conversion_rate: ratio(converted, accepted),
            average_conversion_value: (converted > 0)
                .then(|| super::money::Usd(Cents(get(tally::CONVERSION_CENTS) / converted))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::conversation::SessionId;
    use crate::domain::lead::{SaleTerms, Transition};
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, day, hour, 0, 0)
            .single()
            .expect("valid")
    }

    fn buyer() -> BuyerId {
        BuyerId::parse("solarreviews").expect("id")
    }

    fn quote() -> PriceQuote {
        serde_json::from_value(serde_json::json!({
            "buyer_tier": "premium", "base": 25000, "quality_bps": 12000,
            "quality_min_score": 80, "surge_bps": 10000, "utilization_bps": 0,
            "time_of_day_bps": 10000, "time_band": null, "day_of_week_bps": 10000,
            "market_bps": 10000,
            "market": {"borough": "brooklyn", "premium_area": false, "adoption": null, "income": null},
            "local_time": "2026-06-01T10:00:00", "unclamped": 30000, "price": 30000, "clamp": null
        }))
        .expect("quote")
    }

    fn delivered() -> LeadRecord {
        let mut lead = LeadRecord {
            lead_id: "lead_1".into(),
            session_id: SessionId::parse("s1").expect("id"),
            state: LeadState::Delivered,
            queued_at: Some(at(1, 14)),
            score: Some(84),
            tier: Some(QualityTier::Standard),
            withdrawal: None,
            contact_erased: None,
            sale: Some(SaleTerms {
                buyer_id: buyer(),
                buyer_tier: BuyerTier::Premium,
                price: Cents(30_000),
                quote: quote(),
                sold_at: at(1, 14),
                buyer_day: NaiveDate::from_ymd_opt(2026, 6, 1).expect("d"),
                buyer_month: "2026-06".into(),
                expected_revenue: Cents(24_000),
                returnable_until: at(8, 14),
                ping: None,
            }),
            unsold_reason: None,
            routing: None,
            excluded: Vec::new(),
            delivery_attempts: 0,
            delivery_reached: true,
            billed: Some(Cents(30_000)),
            notices: Vec::new(),
            offers: 0,
            revived_at: None,
            history: Vec::new(),
            factors: None,
            updated_at: at(1, 14),
            version: 3,
        };
        for state in [LeadState::Queued, LeadState::Sold, LeadState::Delivered] {
            lead.history.push(Transition {
                state,
                at: at(1, 14),
                note: String::new(),
            });
        }
        lead
    }

    fn event(kind: FeedbackType, reason: Option<ReasonCode>) -> FeedbackEvent {
        FeedbackEvent {
            message_id: "msg_1".into(),
            lead_id: "lead_1".into(),
            buyer_id: buyer(),
            kind,
            reason,
            score_tenths: Some(85),
            reason_text: None,
            conversion_value: None,
            notes: None,
            received_at: at(3, 15),
        }
    }

    const ROOM: MonthToDate = MonthToDate {
        kept: 50,
        credits: 0,
    };

    fn rules() -> FeedbackRules {
        FeedbackRules::default()
    }

    #[test]
    fn given_a_delivered_lead_when_accepted_then_it_moves_and_the_sale_stands_alone() {
        let change = decide(
            &rules(),
            &event(FeedbackType::Accepted, None),
            &delivered(),
            ROOM,
        )
        .expect("applied");
        assert_eq!(change.lead.state, LeadState::Accepted);
        assert_eq!(change.lead.version, 3, "the store bumps the version");
        assert_eq!(change.ledger, None, "the sale line is the revenue");
        assert_eq!(change.record.disposition, Disposition::Applied);
        assert!(
            change
                .tallies
                .iter()
                .any(|t| t.key == "buyer#solarreviews#2026-06" && t.field == "accepted")
        );
        assert_eq!(change.training.outcome, FeedbackType::Accepted);
        assert_eq!(change.training.price, Cents(30_000));
    }

    #[test]
    fn given_a_return_in_the_window_and_under_the_cap_then_the_sale_is_credited() {
        let change = decide(
            &rules(),
            &event(FeedbackType::Returned, Some(ReasonCode::WrongNumber)),
            &delivered(),
            ROOM,
        )
        .expect("applied");
        let line = change.ledger.expect("credit");
        assert_eq!(line.kind, LedgerKind::Credit);
        assert_eq!(line.amount, Cents(-30_000));
        assert_eq!(line.entry_id, "credit#1");
        assert_eq!(change.record.credit, Some(Cents(30_000)));
        let cap = change
            .tallies
            .iter()
            .find(|t| t.at_most.is_some())
            .expect("the cap is a condition");
        assert_eq!((cap.field.as_str(), cap.at_most), ("credits", Some(10)));
        let reasons: Vec<&str> = change
            .tallies
            .iter()
            .filter(|t| t.field == "returned:wrong_number")
            .map(|t| t.key.as_str())
            .collect();
        assert_eq!(
            reasons,
            [
                "reasons#buyer#solarreviews",
                "reasons#tier#standard",
                "reasons#borough#brooklyn"
            ]
        );
    }

    #[test]
    fn given_the_cap_reached_when_a_lead_is_returned_then_it_is_held_without_credit() {
        let full = MonthToDate {
            kept: 10,
            credits: 2,
        };
        let change = decide(
            &rules(),
            &event(FeedbackType::Returned, Some(ReasonCode::Unreachable)),
            &delivered(),
            full,
        )
        .expect("held");
        assert_eq!(change.record.disposition, Disposition::HeldForReview);
        assert_eq!(change.ledger, None);
        assert_eq!(change.record.held_credit, Some(Cents(30_000)));
        assert_eq!(change.lead.state, LeadState::Returned);
        assert!(change.tallies.iter().all(|t| t.field != "credits"));
    }

    #[test]
    fn given_bad_returns_then_each_is_refused_with_its_reason() {
        let late = FeedbackEvent {
            received_at: at(9, 15),
            ..event(FeedbackType::Returned, Some(ReasonCode::WrongNumber))
        };
        assert_eq!(
            decide(&rules(), &late, &delivered(), ROOM).expect_err("late"),
            Refusal::WindowClosed { until: at(8, 14) }
        );
        for reason in [None, Some(ReasonCode::Other)] {
            assert!(matches!(
                decide(
                    &rules(),
                    &event(FeedbackType::Returned, reason),
                    &delivered(),
                    ROOM
                ),
                Err(Refusal::Invalid(_))
            ));
        }
        assert!(matches!(
            decide(
                &rules(),
                &event(FeedbackType::Rejected, None),
                &delivered(),
                ROOM
            ),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            decide(
                &rules(),
                &event(FeedbackType::Converted, None),
                &delivered(),
                ROOM
            ),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn given_impossible_transitions_then_409_names_the_current_status() {
        let mut returned = delivered();
        returned.state = LeadState::Returned;
        let converted = FeedbackEvent {
            conversion_value: Some(Cents(2_000_000)),
            ..event(FeedbackType::Converted, None)
        };
        for (lead, e, current) in [
            (returned.clone(), converted.clone(), "returned"),
            (
                returned.clone(),
                event(FeedbackType::Returned, Some(ReasonCode::Duplicate)),
                "returned",
            ),
            (
                LeadRecord {
                    state: LeadState::Accepted,
                    ..delivered()
                },
                event(FeedbackType::Rejected, Some(ReasonCode::Duplicate)),
                "accepted",
            ),
            (
                LeadRecord {
                    state: LeadState::Withdrawn,
                    ..delivered()
                },
                event(FeedbackType::Accepted, None),
                "withdrawn",
            ),
        ] {
            match decide(&rules(), &e, &lead, ROOM) {
                Err(Refusal::Transition { current: c, .. }) => assert_eq!(c, current),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn given_another_buyers_lead_then_it_is_not_yours_and_a_released_one_says_so() {
        let other = FeedbackEvent {
            buyer_id: BuyerId::parse("other").expect("id"),
            ..event(FeedbackType::Accepted, None)
        };
        assert_eq!(
            decide(&rules(), &other, &delivered(), ROOM).expect_err("not theirs"),
            Refusal::NotYourLead
        );
        let mut released = delivered();
        released.excluded.push(other.buyer_id.clone());
        assert!(matches!(
            decide(&rules(), &other, &released, ROOM),
            Err(Refusal::Transition {
                current: "released",
                ..
            })
        ));
        let mut unsold = delivered();
        unsold.sale = None;
        unsold.state = LeadState::Unsold;
        unsold.excluded.push(other.buyer_id.clone());
        assert!(matches!(
            decide(&rules(), &other, &unsold, ROOM),
            Err(Refusal::Transition {
                current: "unsold",
                ..
            })
        ));
    }

    #[test]
    fn given_a_conversion_then_its_value_is_recorded_apart_from_revenue() {
        let e = FeedbackEvent {
            conversion_value: Some(Cents(2_750_000)),
            ..event(FeedbackType::Converted, None)
        };
        let change = decide(&rules(), &e, &delivered(), ROOM).expect("applied");
        let line = change.ledger.expect("conversion line");
        assert_eq!(line.kind, LedgerKind::Conversion);
        assert!(!line.kind.is_revenue());
        assert_eq!(line.amount, Cents(2_750_000));
        // Converted straight from delivery: counted as accepted too.
        assert!(change.tallies.iter().any(|t| t.field == "accepted"));
    }

    #[test]
    fn given_an_acceptance_with_a_conversion_value_then_it_is_recorded_as_a_conversion() {
        // GIVEN the guide's example: accepted, with what the installation sold for
        let e = FeedbackEvent {
            conversion_value: Some(Cents(27_500)),
            score_tenths: Some(85),
            ..event(FeedbackType::Accepted, None)
        };
        let change = decide(&rules(), &e, &delivered(), ROOM).expect("applied");
        // THEN the lead is converted, the value is a conversion line, both counts move
        assert_eq!(change.lead.state, LeadState::Converted);
        let line = change.ledger.expect("conversion line");
        assert_eq!(line.kind, LedgerKind::Conversion);
        assert_eq!(line.amount, Cents(27_500));
        for field in ["accepted", "converted"] {
            assert!(change.tallies.iter().any(|t| t.field == field), "{field}");
        }
        assert_eq!(change.training.outcome, FeedbackType::Converted);
        assert_eq!(change.training.conversion_value, Some(Cents(27_500)));
        // AND the record keeps what the buyer sent, and says it converts
        assert_eq!(change.record.kind, FeedbackType::Accepted);
        assert!(change.record.converts());
        assert_eq!(change.record.score_tenths, Some(85));
        // AND an acceptance without a value is only an acceptance
        let plain = decide(
            &rules(),
            &event(FeedbackType::Accepted, None),
            &delivered(),
            ROOM,
        )
        .expect("applied");
        assert_eq!(plain.lead.state, LeadState::Accepted);
        assert!(plain.ledger.is_none());
        assert!(!plain.tallies.iter().any(|t| t.field == "converted"));
        assert!(!plain.record.converts());
    }

    #[test]
    fn given_months_then_they_are_new_york_months() {
        // 2026-07-01 02:00 UTC is still June 30 in New York.
        let late_june = Utc
            .with_ymd_and_hms(2026, 7, 1, 2, 0, 0)
            .single()
            .expect("t");
        assert_eq!(statement_month(late_june), "2026-06");
        assert_eq!(parse_month("2026-06").as_deref(), Some("2026-06"));
        for bad in ["2026-6", "2026-13", "26-06", "2026-06-01", "abcd-ef", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }
}
