//! Request and response bodies of the conversation endpoint (the guide's shapes, plus
//! `session_id`, `lead_id`, `lead_profile` and a few more fields).

use aurum::domain::conversation::{
    ContextHints, MAX_MONTHLY_BILL, MIN_MONTHLY_BILL, SessionId, SessionToken, ZipCode,
    plausible_bill,
};
use aurum::domain::facts::{
    Borough, CreditSignal, DecisionMaker, Financing, Objection, PropertyType, TechnicalTopic,
    Timeline,
};
use aurum::domain::lead::LeadState;
use aurum::domain::market::market;
use aurum::domain::metrics::ConversationMetrics;
use aurum::domain::money::{Usd, cents_from_dollars_f64};
use aurum::domain::scoring::{Blocker, FactorScores, QualityTier};
use aurum::http::ApiError;
use aurum::usecases::conversation::{LeadStatus, TurnDecision, TurnInput};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

pub const MAX_MESSAGE_CHARS: usize = 4_000;
pub const MAX_HISTORY_ENTRIES: usize = 50;

/// One homeowner message. Later turns need only `session_id`, `session_token` and
/// `message`: the server keeps each session's facts, turn count and timestamps.
// The `#[schema]` limits below are literals (utoipa takes no constants); they state the
// checks `validate` makes, and schemathesis holds the two to each other.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConversationRequest {
    /// What the homeowner just wrote. Must contain a non-whitespace character.
    // Spelled out: `\S` means a different set in each regex engine; this is exactly
    // `char::is_whitespace`, which the server's check uses.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub message: String,
    /// The chat session this message belongs to, chosen by the frontend.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = "^[A-Za-z0-9_.:-]{1,128}$",
        examples("chat_1234567890")
    )]
    pub session_id: String,
    /// The token the session's first reply gave: required on every later turn (a turn
    /// without it, or with another session's, is refused with 403 `session_forbidden`),
    /// absent on the first.
    #[serde(default)]
    #[schema(pattern = "^st_[A-Za-z0-9_-]{43}$")]
    pub session_token: Option<String>,
    #[serde(default)]
    pub conversation_context: Option<ConversationContext>,
    /// Earlier messages of the chat. Only the homeowner's words are read for facts.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub conversation_history: Option<Vec<HistoryEntry>>,
}

/// What the frontend already knows. Every field is optional and validated; facts are also
/// read from the message text itself.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ConversationContext {
    /// `true` when the person owns the home, `false` when they rent.
    pub homeowner_verified: Option<bool>,
    /// Monthly electric bill in US dollars.
    #[schema(minimum = 1, maximum = 20000, examples(400.0))]
    pub bill_amount: Option<f64>,
    /// Five-digit ZIP code of the home.
    #[schema(pattern = "^[0-9]{5}$", examples("10021"))]
    pub zip_code: Option<String>,
    #[schema(value_type = Option<Borough>)]
    pub borough: Option<String>,
    #[schema(value_type = Option<NeighborhoodId>)]
    pub neighborhood: Option<String>,
    pub property_type: Option<PropertyType>,
}

/// An earlier chat message: plain text (taken as the homeowner's) or `{role, content}`
/// (`message` is accepted in place of `content`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum HistoryEntry {
    #[schema(value_type = HistoryText)]
    Text(String),
    Message {
        /// Who wrote it; `user`, `homeowner`, `customer`, `human` or no role at all mean
        /// the homeowner, anything else (e.g. `assistant`) is not read for facts.
        #[serde(default)]
        role: Option<String>,
        #[serde(alias = "message")]
        #[schema(max_length = 4000)]
        content: String,
    },
}

/// Schema only: the text of one history entry.
pub struct HistoryText;

impl PartialSchema for HistoryText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_MESSAGE_CHARS))
            .into()
    }
}

impl ToSchema for HistoryText {}

/// Schema only: a neighbourhood id from the NYC market data shipped with the system.
pub struct NeighborhoodId;

impl PartialSchema for NeighborhoodId {
    fn schema() -> RefOr<Schema> {
        let mut slugs: Vec<&str> = market()
            .neighborhoods()
            .iter()
            .map(|n| n.slug.as_str())
            .collect();
        slugs.sort_unstable();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Neighbourhood id, e.g. `upper_east_side` or `park_slope`.",
            ))
            .enum_values(Some(slugs))
            .into()
    }
}

impl ToSchema for NeighborhoodId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Neighborhood")
    }
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::Invalid(msg.into())
}

fn check_text(field: &str, text: &str) -> Result<(), ApiError> {
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(invalid(format!(
            "{field} must be at most {MAX_MESSAGE_CHARS} characters"
        )));
    }
    Ok(())
}

impl ConversationContext {
    fn validate(&self) -> Result<ContextHints, ApiError> {
        // Exactly what the OpenAPI document promises: ids, not free text, so a frontend
        // that passes validation here never gets a surprise elsewhere.
        let monthly_bill = match self.bill_amount {
            None => None,
            Some(dollars) => {
                let cents = Some(dollars)
                    .filter(|d| {
                        (MIN_MONTHLY_BILL.dollars_f64()..=MAX_MONTHLY_BILL.dollars_f64())
                            .contains(d)
                    })
                    .and_then(cents_from_dollars_f64)
                    .filter(|c| plausible_bill(*c))
                    .ok_or_else(|| {
                        invalid(format!(
                            "conversation_context.bill_amount must be between {} and {} (USD per month)",
                            MIN_MONTHLY_BILL.whole_dollars(),
                            MAX_MONTHLY_BILL.whole_dollars()
                        ))
                    })?;
                Some(cents)
            }
        };
        let zip_code = match self.zip_code.as_deref() {
            None => None,
            Some(raw) if raw.len() == 5 && raw.bytes().all(|b| b.is_ascii_digit()) => Some(
                ZipCode::parse(raw).map_err(|e| invalid(format!("conversation_context.{e}")))?,
            ),
            Some(_) => {
                return Err(invalid(
                    "conversation_context.zip_code must be exactly 5 digits",
                ));
            }
        };
        let borough = self
            .borough
            .as_deref()
            .map(|raw| {
                Borough::ALL
                    .into_iter()
                    .find(|b| b.as_str() == raw)
                    .ok_or_else(|| {
                        invalid("conversation_context.borough must be one of manhattan, brooklyn, queens, bronx, staten_island")
                    })
            })
            .transpose()?;
        let neighborhood = self
            .neighborhood
            .as_deref()
            .map(|raw| {
                market()
                    .neighborhood(raw)
                    .map(|n| n.slug.clone())
                    .ok_or_else(|| {
                        invalid("conversation_context.neighborhood is not a known NYC neighborhood id (e.g. park_slope)")
                    })
            })
            .transpose()?;
        Ok(ContextHints {
            homeowner: self.homeowner_verified,
            monthly_bill,
            zip_code,
            borough,
            neighborhood,
            property_type: self.property_type,
        })
    }
}

impl ConversationRequest {
    pub fn validate(self) -> Result<TurnInput, ApiError> {
        let session_id = SessionId::parse(&self.session_id).map_err(invalid)?;
        if let Some(token) = &self.session_token {
            let body = token.strip_prefix(SessionToken::PREFIX).unwrap_or_default();
            if body.len() != 43
                || !body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            {
                return Err(invalid(
                    "session_token must be the st_ token the session's first reply gave",
                ));
            }
        }
        // `char::is_whitespace`, the same set the document's `message` pattern excludes.
        if self.message.trim().is_empty() {
            return Err(invalid("message must not be empty"));
        }
        check_text("message", &self.message)?;
        let hints = self
            .conversation_context
            .as_ref()
            .map(ConversationContext::validate)
            .transpose()?
            .unwrap_or_default();
        let entries = self.conversation_history.unwrap_or_default();
        if entries.len() > MAX_HISTORY_ENTRIES {
            return Err(invalid(format!(
                "conversation_history may hold at most {MAX_HISTORY_ENTRIES} entries"
            )));
        }
        let mut history = Vec::new();
        for entry in entries {
            let (role, content) = match entry {
                HistoryEntry::Text(t) => (None, t),
                HistoryEntry::Message { role, content } => (role, content),
            };
            check_text("conversation_history content", &content)?;
            // Only the homeowner's own words carry facts about them.
            let from_homeowner = role.as_deref().is_none_or(|r| {
                matches!(
                    r.to_ascii_lowercase().as_str(),
                    "user" | "homeowner" | "customer" | "human"
                )
            });
            if from_homeowner {
                history.push(content);
            }
        }
        Ok(TurnInput {
            session_id,
            message: self.message,
            hints,
            history,
            session_token: self.session_token,
        })
    }
}

/// The agent's reply to one message, with what the system understood and the live score.
#[derive(Debug, Serialize, ToSchema)]
#[schema(examples(guide_response_example))]
pub struct ConversationResponse {
    /// The agent's reply, to show to the homeowner.
    pub content: String,
    /// Questions the agent would ask next, most valuable missing fact first.
    pub next_questions: Vec<String>,
    pub session_id: String,
    /// On the reply that started the session only: send it with every later turn of the
    /// session. It is not shown again (the server keeps only its hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^st_[A-Za-z0-9_-]{43}$")]
    pub session_token: Option<String>,
    /// Set once the lead has been queued for routing to a buyer.
    #[schema(required = true)]
    pub lead_id: Option<String>,
    pub lead_profile: LeadProfile,
    /// The business's figures: the lead's score and value, the routing, the insights.
    /// Only for the business's chat frontend; absent for any other caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_optimization: Option<RevenueOptimization>,
}

/// The facts understood so far. Contact details are never echoed, only whether they exist.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadProfile {
    /// `true` owner, `false` renter, `null` not known yet.
    #[schema(required = true)]
    pub homeowner: Option<bool>,
    #[schema(required = true)]
    pub monthly_bill: Option<Usd>,
    /// As given; may be outside NYC (see `in_service_area`).
    #[schema(required = true, pattern = "^[0-9]{5}$")]
    pub zip_code: Option<String>,
    #[schema(required = true)]
    pub borough: Option<Borough>,
    /// Neighbourhood id, e.g. `upper_east_side`.
    #[schema(required = true)]
    pub neighborhood: Option<String>,
    #[schema(required = true)]
    pub property_type: Option<PropertyType>,
    #[schema(required = true)]
    pub timeline: Option<Timeline>,
    #[schema(required = true)]
    pub decision_maker: Option<DecisionMaker>,
    #[schema(required = true)]
    pub financing: Option<Financing>,
    #[schema(required = true)]
    pub credit: Option<CreditSignal>,
    /// Whether the homeowner has (or is getting) other quotes.
    #[schema(required = true)]
    pub competing_quotes: Option<bool>,
    pub technical_questions: Vec<TechnicalTopic>,
    pub objections_open: Vec<Objection>,
    pub objections_resolved: Vec<Objection>,
    /// A phone number or email address has been given.
    pub contact_provided: bool,
    /// `true` agreed to be contacted by installers, `false` refused, `null` not asked yet.
    #[schema(required = true)]
    pub contact_consent: Option<bool>,
    /// Whether the ZIP code is in the five boroughs; `null` without a ZIP code.
    #[schema(required = true)]
    pub in_service_area: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueOptimization {
    pub lead_score: LeadScoreView,
    pub conversation_metrics: ConversationMetrics,
    /// What the agent (or a person watching) should do next to raise the lead's value.
    pub optimization_recommendations: Vec<String>,
    pub routing_decision: RoutingDecisionView,
    pub revenue_insights: RevenueInsights,
    /// Score and revenue potential after each turn, oldest first.
    pub revenue_trend: Vec<TrendPoint>,
}

/// Revenue potential after one turn (the last 12 turns).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    pub turn: u32,
    pub at: DateTime<Utc>,
    #[schema(maximum = 100)]
    pub score: u8,
    pub revenue_potential: Usd,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadScoreView {
    /// 0 to 100.
    #[schema(maximum = 100)]
    pub total_score: u8,
    pub quality_tier: QualityTier,
    /// What the lead is worth at its tier.
    pub revenue_potential: Usd,
    /// Chance a buyer converts the lead, 0 to 1 (two decimals).
    #[schema(minimum = 0, maximum = 1)]
    pub conversion_probability: f64,
    /// `revenue_potential` × `conversion_probability`.
    pub expected_revenue: Usd,
    pub factors: FactorScores,
    /// Whether the lead can be sold now (no blockers).
    pub sellable: bool,
    /// Why the lead cannot be sold yet; `renter` and `outside_nyc` are final.
    pub blockers: Vec<Blocker>,
    /// Version of the scoring model that produced this score.
    pub model_version: u32,
}

/// Where the lead stands on its way to a buyer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoutingStatus {
    NotReady,
    NotSellable,
    /// Handed to the router, not decided yet.
    Queued,
    /// Sold to `selected_buyer_id`, being delivered.
    Sold,
    /// Delivered to the buyer, awaiting its feedback.
    Delivered,
    Accepted,
    Rejected,
    Returned,
    Converted,
    /// No buyer can take it now; offered again when one can (`routing_reason` says why).
    Waiting,
    /// Its shelf life ended without a buyer (`routing_reason` gives the last reason).
    Expired,
    /// No buyer may ever take it; `routing_reason` says why.
    Unsold,
    /// Queued, then the homeowner took consent back: never sold.
    Withdrawn,
}

impl From<LeadState> for RoutingStatus {
    fn from(s: LeadState) -> RoutingStatus {
        match s {
            // A dead-lettered lead waits to be queued again (`aurum leads redrive`).
            LeadState::Queued | LeadState::DeadLettered => RoutingStatus::Queued,
            LeadState::Sold => RoutingStatus::Sold,
            LeadState::Delivered => RoutingStatus::Delivered,
            LeadState::Accepted => RoutingStatus::Accepted,
            LeadState::Rejected => RoutingStatus::Rejected,
            LeadState::Returned => RoutingStatus::Returned,
            LeadState::Converted => RoutingStatus::Converted,
            LeadState::Waiting => RoutingStatus::Waiting,
            LeadState::Expired => RoutingStatus::Expired,
            LeadState::Unsold => RoutingStatus::Unsold,
            LeadState::Withdrawn => RoutingStatus::Withdrawn,
        }
    }
}

/// Routing happens off the chat path (the lead queue); until a buyer is chosen the
/// buyer fields are null and `status` says where the lead stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingDecisionView {
    pub status: RoutingStatus,
    #[schema(required = true)]
    pub lead_id: Option<String>,
    #[schema(required = true)]
    pub queued_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub selected_buyer_id: Option<String>,
    #[schema(required = true)]
    pub selected_buyer_tier: Option<String>,
    #[schema(required = true)]
    pub price_per_lead: Option<Usd>,
    /// Expected revenue of a sellable lead.
    #[schema(required = true)]
    pub expected_revenue: Option<Usd>,
    pub routing_reason: String,
}

/// The score in words, for the chat operator. Every figure is the one `lead_score` shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueInsights {
    /// E.g. "Lead quality: basic tier".
    pub quality_assessment: String,
    /// What the lead is worth at its tier (not yet weighted by the conversion chance),
    /// e.g. "Revenue potential: $82.50".
    pub revenue_potential: String,
    /// E.g. "Conversion probability: 61%".
    pub conversion_likelihood: String,
    /// Revenue potential × conversion probability as shown, e.g. "Expected revenue: $50.33".
    pub expected_revenue: String,
    pub assessment: String,
}

/// What the guide's Manhattan co-op request gets on its first turn (the OpenAPI example;
/// a test holds its shape to a real response).
pub fn guide_response_example() -> serde_json::Value {
    serde_json::json!({
        "content": "Great, Upper East Side is a good area for solar. Manhattan had 334 Con Edison customer solar projects by the end of 2021, up from 272 a year earlier. With a $400 monthly bill, a system of about 4.0 kW could produce around 4800 kWh a year and save roughly $1530 annually, limited by the roof space a home like yours usually has. Rooftop solar on a co-op or condo needs the board's approval, and many NYC boards have approved shared systems. What's the best phone number or email for an installer to reach you?",
        "next_questions": [
            "What's the best phone number or email for an installer to reach you?",
            "What's your timeline for installation?",
            "Is anyone else part of the decision, like a spouse or co-owner?"
        ],
        "session_id": "chat_1234567890",
        "session_token": "st_Q2hhdFRva2VuRXhhbXBsZUFhQmJDY0RkRWVGZkdnSGg",
        "lead_id": null,
        "lead_profile": {
            "homeowner": true,
            "monthly_bill": 400.0,
            "zip_code": "10021",
            "borough": "manhattan",
            "neighborhood": "upper_east_side",
            "property_type": "coop",
            "timeline": null,
            "decision_maker": null,
            "financing": null,
            "credit": null,
            "competing_quotes": null,
            "technical_questions": [],
            "objections_open": [],
            "objections_resolved": [],
            "contact_provided": false,
            "contact_consent": null,
            "in_service_area": true
        },
        "revenue_optimization": {
            "lead_score": {
                "total_score": 58,
                "quality_tier": "basic",
                "revenue_potential": 82.5,
                "conversion_probability": 0.61,
                "expected_revenue": 50.33,
                "factors": {
                    "base_qualification": 89,
                    "behavioral": 31,
                    "market_timing": 37,
                    "nyc_intelligence": 53
                },
                "sellable": false,
                "blockers": ["contact_missing", "consent_missing"],
                "model_version": 1
            },
            "conversation_metrics": {
                "duration_minutes": 0.0,
                "revenue_per_minute": 82.5,
                "technical_engagement": 0.0,
                "questions_asked": 0,
                "turns": 1
            },
            "optimization_recommendations": [
                "Collect a phone number or email to make the lead deliverable",
                "Ask for consent to share details with one installer",
                "Discuss the co-op board approval process for credibility"
            ],
            "routing_decision": {
                "status": "not_ready",
                "lead_id": null,
                "queued_at": null,
                "selected_buyer_id": null,
                "selected_buyer_tier": null,
                "price_per_lead": null,
                "expected_revenue": null,
                "routing_reason": "not ready: no contact details, no consent to contact"
            },
            "revenue_insights": {
                "quality_assessment": "Lead quality: basic tier",
                "revenue_potential": "Revenue potential: $82.50",
                "conversion_likelihood": "Conversion probability: 61%",
                "expected_revenue": "Expected revenue: $50.33",
                "assessment": "Basic lead - build engagement and qualification"
            },
            "revenue_trend": [
                {"turn": 1, "at": "2026-03-02T14:05:09Z", "score": 58, "revenue_potential": 82.5}
            ]
        }
    })
}

/// A probability in whole percent, 0..=100 (NaN counts as 0).
fn conversion_percent(probability: f64) -> u8 {
    (probability.clamp(0.0, 1.0) * 100.0).round() as u8
}

fn blocker_text(b: Blocker) -> &'static str {
    match b {
        Blocker::Renter => "homeowner rents",
        Blocker::OutsideNyc => "ZIP outside NYC",
        Blocker::HomeownerUnknown => "ownership unknown",
        Blocker::BillUnknown => "bill unknown",
        Blocker::ZipUnknown => "ZIP unknown",
        Blocker::ContactMissing => "no contact details",
        Blocker::ConsentMissing => "no consent to contact",
        Blocker::BelowBasicTier => "score below basic tier",
    }
}

impl ConversationResponse {
    /// What a caller other than the business's frontend sees: the agent's reply, the next
    /// questions, its own lead profile and the session token; none of the business's
    /// figures (score, value, buyer, price, revenue).
    pub fn for_homeowner(self) -> ConversationResponse {
        ConversationResponse {
            revenue_optimization: None,
            ..self
        }
    }

    pub fn from_decision(o: &TurnDecision) -> ConversationResponse {
        let c = &o.conversation;
        let f = &c.facts;
        let s = &o.score;
        // Shown as whole percent; expected revenue is computed from the shown figures so
        // that a client multiplying the two gets the same cents.
        let percent = conversion_percent(s.conversion_probability);
        let probability = f64::from(percent) / 100.0;
        let expected = s.revenue_potential.mul_bps(i64::from(percent) * 100);
        let (status, lead_id, queued_at, reason) = match &o.lead {
            LeadStatus::Queued { lead_id, at } => (
                RoutingStatus::Queued,
                Some(lead_id.clone()),
                Some(*at),
                format!("{} lead queued for buyer routing", s.tier.as_str()),
            ),
            LeadStatus::Withdrawn { lead_id, at } => (
                RoutingStatus::Withdrawn,
                Some(lead_id.clone()),
                o.conversation.lead_queued_at,
                format!(
                    "consent withdrawn at {}: the lead is not sold, and a buyer that has it is told",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ),
            LeadStatus::NotSellable => (
                RoutingStatus::NotSellable,
                None,
                None,
                format!(
                    "not sellable: {}",
                    s.blockers
                        .iter()
                        .filter(|b| b.is_final())
                        .map(|b| blocker_text(*b))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            LeadStatus::NotReady => (
                RoutingStatus::NotReady,
                None,
                None,
                format!(
                    "not ready: {}",
                    s.blockers
                        .iter()
                        .map(|b| blocker_text(*b))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        let assessment = match s.tier {
            _ if s.blockers.iter().any(|b| b.is_final()) => "Not a sellable lead - close politely",
            QualityTier::Premium => "High-quality lead - focus on closing",
            QualityTier::Standard => "Solid lead - fill remaining gaps and build urgency",
            QualityTier::Basic => "Basic lead - build engagement and qualification",
            QualityTier::Unqualified => "Early stage - qualify ownership, bill and location",
        };
        ConversationResponse {
            content: o.reply.content.clone(),
            next_questions: o.reply.next_questions.clone(),
            session_id: c.session_id.as_str().to_owned(),
            session_token: o.session_token.as_ref().map(|t| t.as_str().to_owned()),
            lead_id: c.lead_id.clone(),
            lead_profile: LeadProfile {
                homeowner: f.homeowner,
                monthly_bill: f.monthly_bill.map(Usd),
                zip_code: f.zip_code.as_ref().map(|z| z.as_str().to_owned()),
                borough: f.borough,
                neighborhood: f.neighborhood.clone(),
                property_type: f.property_type,
                timeline: f.timeline,
                decision_maker: f.decision_maker,
                financing: f.financing,
                credit: f.credit,
                competing_quotes: f.competing_quotes,
                technical_questions: f.technical_topics.iter().copied().collect(),
                objections_open: f.objections_open.iter().copied().collect(),
                objections_resolved: f.objections_resolved.iter().copied().collect(),
                contact_provided: f.contact.reachable(),
                contact_consent: f.contact_consent,
                in_service_area: f.zip_code.as_ref().map(ZipCode::is_nyc),
            },
            revenue_optimization: Some(RevenueOptimization {
                lead_score: LeadScoreView {
                    total_score: s.total,
                    quality_tier: s.tier,
                    revenue_potential: Usd(s.revenue_potential),
                    conversion_probability: probability,
                    expected_revenue: Usd(expected),
                    factors: s.factors,
                    sellable: s.sellable(),
                    blockers: s.blockers.clone(),
                    model_version: s.model_version,
                },
                conversation_metrics: o.metrics.clone(),
                optimization_recommendations: o.recommendations.clone(),
                routing_decision: match (&o.lead, &o.routed) {
                    // Routed since it was queued: the router's record says the rest.
                    (LeadStatus::Queued { .. }, Some(record)) => {
                        let sale = record.sale.as_ref();
                        let routing_reason = match (record.state, &record.routing) {
                            (LeadState::Unsold, _) => format!(
                                "unsold: {}",
                                record
                                    .unsold_reason
                                    .as_deref()
                                    .unwrap_or("no eligible buyer")
                            ),
                            (_, Some(d)) if sale.is_some() => d
                                .sale()
                                .map_or_else(|| reason.clone(), |chosen| chosen.reason.clone()),
                            _ => reason.clone(),
                        };
                        RoutingDecisionView {
                            status: record.state.into(),
                            lead_id,
                            queued_at,
                            selected_buyer_id: sale.map(|x| x.buyer_id.to_string()),
                            selected_buyer_tier: sale.map(|x| x.buyer_tier.as_str().to_owned()),
                            price_per_lead: sale.map(|x| Usd(x.price)),
                            expected_revenue: sale
                                .map(|x| Usd(x.expected_revenue))
                                .or(s.sellable().then_some(Usd(expected))),
                            routing_reason,
                        }
                    }
                    _ => RoutingDecisionView {
                        status,
                        lead_id,
                        queued_at,
                        selected_buyer_id: None,
                        selected_buyer_tier: None,
                        price_per_lead: None,
                        expected_revenue: s.sellable().then_some(Usd(expected)),
                        routing_reason: reason,
                    },
                },
                revenue_insights: RevenueInsights {
                    quality_assessment: format!("Lead quality: {} tier", s.tier.as_str()),
                    revenue_potential: format!("Revenue potential: {}", s.revenue_potential),
                    conversion_likelihood: format!("Conversion probability: {percent}%"),
                    expected_revenue: format!("Expected revenue: {expected}"),
                    assessment: assessment.to_owned(),
                },
                revenue_trend: c
                    .trail
                    .iter()
                    .map(|p| TrendPoint {
                        turn: p.turn,
                        at: p.at,
                        score: p.score,
                        revenue_potential: Usd(p.revenue_potential),
                    })
                    .collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurum::domain::agent::Reply;
    use aurum::domain::conversation::Conversation;
    use aurum::domain::metrics;
    use aurum::domain::money::Cents;
    use aurum::domain::scoring::{LeadScore, ScoringModel, score};
    use chrono::TimeZone;

    fn response_for(potential: Cents, probability: f64) -> serde_json::Value {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 2, 14, 5, 9)
            .single()
            .expect("valid");
        let c = Conversation::new(SessionId::parse("insights").expect("id"), now);
        let s = LeadScore {
            tier: QualityTier::Basic,
            revenue_potential: potential,
            conversion_probability: probability,
            ..score(&ScoringModel::default(), &c, now)
        };
        let outcome = TurnDecision {
            publish: None,
            withdraw: None,
            erase: None,
            routed: None,
            session_token: None,
            metrics: metrics::metrics(&c, &s),
            recommendations: Vec::new(),
            reply: Reply {
                content: "ok".into(),
                next_questions: Vec::new(),
                asked: None,
                greeted_place: None,
                topics: Vec::new(),
                told_borough: None,
                sized_watts: None,
                answered_questions: Vec::new(),
            },
            lead: LeadStatus::NotReady,
            score: s,
            conversation: c,
        };
        serde_json::to_value(ConversationResponse::from_decision(&outcome)).expect("json")
    }

    fn cents(v: &serde_json::Value) -> i64 {
        (v.as_f64().expect("number") * 100.0).round() as i64
    }

    #[test]
    fn given_any_lead_then_expected_revenue_is_what_the_shown_figures_give() {
        for (potential, probability) in [
            (Cents(8_250), 0.6123),
            (Cents(8_250), 0.605),
            (Cents(27_500), 0.8249),
            (Cents(33_333), 0.335),
            (Cents(12_500), 1.0),
            (Cents(7_500), 0.0),
            (Cents(7_501), 0.999),
        ] {
            let body = response_for(potential, probability);
            let score = &body["revenue_optimization"]["lead_score"];
            let shown_potential = cents(&score["revenue_potential"]);
            let shown_percent =
                (score["conversion_probability"].as_f64().expect("p") * 100.0).round() as i64;
            // potential × probability as shown, to the nearest cent (half up).
            let want = (shown_potential * shown_percent + 50) / 100;
            assert_eq!(
                cents(&score["expected_revenue"]),
                want,
                "{potential} at {probability}"
            );

            let insights = &body["revenue_optimization"]["revenue_insights"];
            let dollars = |c: i64| format!("${}.{:02}", c / 100, c % 100);
            assert_eq!(
                insights["revenue_potential"],
                format!("Revenue potential: {}", dollars(shown_potential))
            );
            assert_eq!(
                insights["conversion_likelihood"],
                format!("Conversion probability: {shown_percent}%")
            );
            assert_eq!(
                insights["expected_revenue"],
                format!("Expected revenue: {}", dollars(want))
            );
        }
    }

    #[test]
    fn given_the_guide_example_then_its_expected_revenue_follows_its_own_figures() {
        let example = guide_response_example();
        let score = &example["revenue_optimization"]["lead_score"];
        let want = (cents(&score["revenue_potential"])
            * (score["conversion_probability"].as_f64().expect("p") * 100.0).round() as i64
            + 50)
            / 100;
        assert_eq!(cents(&score["expected_revenue"]), want);
        let body = response_for(Cents(8_250), 0.61);
        assert_eq!(
            body["revenue_optimization"]["revenue_insights"],
            example["revenue_optimization"]["revenue_insights"]
        );
    }
}
