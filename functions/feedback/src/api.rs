//! The bodies of the feedback endpoint (the guide's request, plus `reason_code`) and of the
//! buyer statement, and the one error type of this function's responses.

use aurum::domain::buyer::BuyerId;
use aurum::domain::feedback::{
    BuyerPerformance, Disposition, FeedbackEvent, FeedbackRecord, FeedbackType, ReasonCode,
};
use aurum::domain::lead::LeadState;
use aurum::domain::money::{Usd, cents_from_dollars_f64};
use aurum::domain::statement::Statement;
use aurum::http::ApiError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const MAX_REASON_CHARS: usize = 500;
pub const MAX_NOTES_CHARS: usize = 2_000;
/// The largest conversion value taken: $10 million (a large commercial installation).
pub const MAX_CONVERSION_CENTS: i64 = 1_000_000_000;

/// Feedback from a buyer on a lead it bought (the guide's body). Sent signed with the
/// Standard Webhooks headers and `aurum-buyer-id`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(examples(guide_request_example))]
pub struct FeedbackRequest {
    /// The lead, as delivered in `lead.sold`.
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9_-]{1,128}$")]
    pub lead_id: String,
    /// The signing buyer's own id.
    #[schema(examples("solarreviews"))]
    pub buyer_id: String,
    #[schema(value_type = FeedbackType)]
    pub feedback_type: String,
    /// The buyer's rating of the lead, 0 to 10.
    #[schema(minimum = 0, maximum = 10)]
    pub feedback_score: Option<f64>,
    /// The buyer's words. When `reason_code` is absent and this is exactly a reason code,
    /// it is taken as the code.
    #[schema(max_length = 500)]
    pub feedback_reason: Option<String>,
    /// Required for `rejected` (any code) and `returned` (any but `other`).
    #[schema(value_type = Option<ReasonCode>)]
    pub reason_code: Option<String>,
    /// What the installation sold for, in US dollars. Required for `converted`; recorded
    /// as given on other types, with no effect.
    #[schema(minimum = 0, maximum = 10000000)]
    pub conversion_value: Option<f64>,
    #[schema(max_length = 2000)]
    pub buyer_notes: Option<String>,
}

pub fn guide_request_example() -> serde_json::Value {
    serde_json::json!({
        "lead_id": "lead_abc123",
        "buyer_id": "solarreviews",
        "feedback_type": "accepted",
        "feedback_score": 8.5,
        "feedback_reason": "High quality lead, good technical engagement",
        "conversion_value": 275.0,
        "buyer_notes": "Customer was very engaged and asked detailed questions"
    })
}

fn invalid(msg: impl Into<String>) -> FeedbackError {
    ApiError::Invalid(msg.into())
}

fn text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, FeedbackError> {
    match value {
        Some(t) if t.chars().count() > max => {
            Err(invalid(format!("{field} must be at most {max} characters")))
        }
        Some(t) if t.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn valid_lead_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl FeedbackRequest {
    /// The feedback as the rules take it. `signer` is the buyer whose secret verified the
    /// message: the body may only speak for it.
    pub fn validate(
        self,
        signer: &BuyerId,
        message_id: &str,
        received_at: DateTime<Utc>,
    ) -> Result<FeedbackEvent, FeedbackError> {
        if self.buyer_id != signer.as_str() {
            return Err(ApiError::Forbidden {
                code: "buyer_mismatch",
                message: "buyer_id must be the buyer that signed the request (aurum-buyer-id)"
                    .to_owned(),
            });
        }
        if !valid_lead_id(&self.lead_id) {
            return Err(invalid(
                "lead_id must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -",
            ));
        }
        let kind = FeedbackType::parse(&self.feedback_type).ok_or_else(|| {
            invalid("feedback_type must be one of accepted, rejected, returned, converted")
        })?;
        let score_tenths = match self.feedback_score {
            None => None,
            Some(s) if s.is_finite() && (0.0..=10.0).contains(&s) => Some((s * 10.0).round() as u8),
            Some(_) => return Err(invalid("feedback_score must be between 0 and 10")),
        };
        let reason_text = text("feedback_reason", self.feedback_reason, MAX_REASON_CHARS)?;
        let notes = text("buyer_notes", self.buyer_notes, MAX_NOTES_CHARS)?;
        let codes = || ReasonCode::ALL.map(ReasonCode::as_str).join(", ");
        let reason = match self.reason_code.as_deref() {
            Some(raw) => Some(ReasonCode::parse(raw).ok_or_else(|| {
                let hint = if raw.contains("convert") {
                    " (a lead that did not convert is not returnable)"
                } else {
                    ""
                };
                invalid(format!("reason_code must be one of {}{hint}", codes()))
            })?),
            None => reason_text
                .as_deref()
                .and_then(|t| ReasonCode::parse(&t.trim().to_ascii_lowercase())),
        };
        let conversion_value = match self.conversion_value {
            None => None,
            Some(v) => Some(
                cents_from_dollars_f64(v)
                    .filter(|c| (0..=MAX_CONVERSION_CENTS).contains(&c.0))
                    .ok_or_else(|| {
                        invalid("conversion_value must be between 0 and 10000000 (US dollars)")
                    })?,
            ),
        };
        Ok(FeedbackEvent {
            message_id: message_id.to_owned(),
            lead_id: self.lead_id,
            buyer_id: signer.clone(),
            kind,
            reason,
            score_tenths,
            reason_text,
            conversion_value,
            notes,
            received_at,
        })
    }
}

/// The result of a feedback. A repeat of it (the same `webhook-id`, or the same lead, buyer
/// and type) gets this same body again, with `idempotent-replayed: true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackReceipt {
    /// One per lead, buyer and type.
    pub feedback_id: String,
    pub lead_id: String,
    #[schema(value_type = String)]
    pub buyer_id: BuyerId,
    pub feedback_type: FeedbackType,
    /// `held_for_review`: a return or rejection beyond the monthly return-rate cap,
    /// recorded without a credit until the sales team reviews it.
    pub status: Disposition,
    /// The lead's state after the feedback.
    pub lead_status: LeadState,
    #[schema(required = true)]
    pub reason_code: Option<ReasonCode>,
    /// Credited to the buyer (US dollars).
    #[schema(required = true, value_type = Option<f64>)]
    pub credit: Option<Usd>,
    /// The credit waiting for review.
    #[schema(required = true, value_type = Option<f64>)]
    pub held_credit: Option<Usd>,
    #[schema(required = true, value_type = Option<f64>)]
    pub conversion_value: Option<Usd>,
    pub received_at: DateTime<Utc>,
    /// The buyer statement (New York month) that shows it.
    pub statement_month: String,
}

impl From<&FeedbackRecord> for FeedbackReceipt {
    fn from(r: &FeedbackRecord) -> Self {
        FeedbackReceipt {
            feedback_id: r.feedback_id.clone(),
            lead_id: r.lead_id.clone(),
            buyer_id: r.buyer_id.clone(),
            feedback_type: r.kind,
            status: r.disposition,
            lead_status: r.lead_state,
            reason_code: r.reason,
            credit: r.credit.map(Usd),
            held_credit: r.held_credit.map(Usd),
            conversion_value: r
                .conversion_value
                .filter(|_| r.kind == FeedbackType::Converted)
                .map(Usd),
            received_at: r.received_at,
            statement_month: r.month.clone(),
        }
    }
}

/// A buyer's performance from its feedback.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerformanceView {
    /// The statement's month.
    pub month: BuyerPerformance,
    pub all_time: BuyerPerformance,
}

/// A buyer's statement of one New York month, with its performance.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementResponse {
    #[serde(flatten)]
    pub statement: Statement,
    pub performance: PerformanceView,
}

/// A buyer's own statement, read with its own signature: the statement, its performance
/// and its delivery health.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnStatementResponse {
    #[serde(flatten)]
    pub statement: StatementResponse,
    pub delivery_health: DeliveryHealthView,
}

/// A buyer's own leads of a month.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnLeadsResponse {
    pub buyer_id: String,
    /// `YYYY-MM`, New York time.
    pub month: String,
    pub leads: Vec<aurum::domain::statement::OwnLead>,
}

/// How deliveries to the buyer's webhook are going.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryHealthView {
    /// Deliveries that failed in a row (0 once one succeeds).
    pub consecutive_failures: u32,
    /// Whether deliveries are paused now (after too many failures in a row), and until
    /// when (absent when not paused).
    pub paused: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// `YYYY-MM`, New York time; the current month when absent.
    #[param(pattern = "^2[0-9]{3}-[0-9]{2}$", example = "2026-06")]
    pub month: Option<String>,
}

/// Every refusal of this function is the API's one error type: a 4xx with a stable code
/// (503 when a dependency failed).
pub type FeedbackError = ApiError;

pub use aurum::http::SIGNATURE_MESSAGE;

/// A 409 body: the error, and the lead's status as the buyer may see it.
#[derive(Serialize, ToSchema)]
pub struct TransitionErrorBody {
    error: TransitionError,
}

#[derive(Serialize, ToSchema)]
struct TransitionError {
    /// `invalid_transition`.
    #[schema(examples("invalid_transition"))]
    code: &'static str,
    #[schema(examples("a lead that is returned cannot be marked converted"))]
    message: String,
    /// The lead's status: its state (`delivered`, `accepted`, `returned`…), or `released`
    /// when the lead went back from this buyer to another.
    #[schema(examples("returned"))]
    current_status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurum::domain::money::Cents;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 2, 18, 30, 0)
            .single()
            .expect("t")
    }

    fn request(body: serde_json::Value) -> FeedbackRequest {
        serde_json::from_value(body).expect("shape")
    }

    fn signer() -> BuyerId {
        BuyerId::parse("solarreviews").expect("id")
    }

    #[test]
    fn given_the_guide_example_then_it_validates_and_keeps_what_was_said() {
        let event = request(guide_request_example())
            .validate(&signer(), "msg_1", now())
            .expect("valid");
        assert_eq!(event.kind, FeedbackType::Accepted);
        assert_eq!(event.score_tenths, Some(85));
        assert_eq!(event.conversion_value, Some(Cents(27_500)));
        assert_eq!(event.reason, None, "free text is not a code");
    }

    #[test]
    fn given_a_reason_in_the_guides_field_then_it_is_the_code() {
        let mut body = guide_request_example();
        body["feedback_type"] = "rejected".into();
        body["feedback_reason"] = "Wrong_Number ".into();
        let event = request(body)
            .validate(&signer(), "msg_1", now())
            .expect("valid");
        assert_eq!(event.reason, Some(ReasonCode::WrongNumber));
    }

    #[test]
    fn given_bad_fields_then_each_is_a_422_or_403_naming_it() {
        for (field, value, code) in [
            (
                "reason_code",
                serde_json::json!("did_not_convert"),
                "invalid_request",
            ),
            ("reason_code", serde_json::json!("bogus"), "invalid_request"),
            (
                "feedback_type",
                serde_json::json!("loved_it"),
                "invalid_request",
            ),
            ("feedback_score", serde_json::json!(11), "invalid_request"),
            ("conversion_value", serde_json::json!(-5), "invalid_request"),
            ("lead_id", serde_json::json!("lead one"), "invalid_request"),
            (
                "buyer_id",
                serde_json::json!("someone_else"),
                "buyer_mismatch",
            ),
            (
                "buyer_notes",
                serde_json::json!("x".repeat(2001)),
                "invalid_request",
            ),
        ] {
            let mut body = guide_request_example();
            body[field] = value;
            let err = request(body)
                .validate(&signer(), "msg_1", now())
                .expect_err(field);
            assert_eq!(err.code(), code, "{field}");
        }
    }
}
