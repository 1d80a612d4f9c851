//! Request and response bodies of the conversation endpoint (the guide's shapes, plus
//! `session_id`, `lead_id`, `lead_profile` and a few more fields).

use aurum::chat::{LeadStatus, TurnInput, TurnOutcome};
use aurum::domain::conversation::{ContextHints, SessionId, TrailPoint, ZipCode, plausible_bill};
use aurum::domain::facts::{
    Borough, CreditSignal, DecisionMaker, Financing, Objection, PropertyType, TechnicalTopic,
    Timeline,
};
use aurum::domain::market::market;
use aurum::domain::metrics::ConversationMetrics;
use aurum::domain::money::{Cents, cents_from_dollars_f64};
use aurum::domain::scoring::{Blocker, FactorScores, QualityTier};
use aurum::http::ApiError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const MAX_MESSAGE_CHARS: usize = 4_000;
pub const MAX_HISTORY_ENTRIES: usize = 50;

#[derive(Debug, Deserialize)]
pub struct ConversationRequest {
    pub message: String,
    pub session_id: String,
    #[serde(default)]
    pub conversation_context: Option<ConversationContext>,
    #[serde(default)]
    pub conversation_history: Option<Vec<HistoryEntry>>,
}

/// What the frontend already knows. Every field is optional and validated.
#[derive(Debug, Default, Deserialize)]
pub struct ConversationContext {
    pub homeowner_verified: Option<bool>,
    pub bill_amount: Option<f64>,
    pub zip_code: Option<String>,
    pub borough: Option<String>,
    pub neighborhood: Option<String>,
    pub property_type: Option<PropertyType>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum HistoryEntry {
    Text(String),
    Message {
        #[serde(default)]
        role: Option<String>,
        #[serde(alias = "message")]
        content: String,
    },
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
        let monthly_bill = match self.bill_amount {
            None => None,
            Some(dollars) => {
                let cents = cents_from_dollars_f64(dollars)
                    .filter(|c| plausible_bill(*c))
                    .ok_or_else(|| invalid("conversation_context.bill_amount must be between 1 and 20000 (USD per month)"))?;
                Some(cents)
            }
        };
        let zip_code = self
            .zip_code
            .as_deref()
            .map(ZipCode::parse)
            .transpose()
            .map_err(|e| invalid(format!("conversation_context.{e}")))?;
        let borough = self
            .borough
            .as_deref()
            .map(|b| {
                Borough::parse(b).ok_or_else(|| {
                    invalid("conversation_context.borough must be one of manhattan, brooklyn, queens, bronx, staten_island")
                })
            })
            .transpose()?;
        let neighborhood = match self.neighborhood.as_deref() {
            None => None,
            Some(raw) => {
                let m = market();
                let slug = match m.neighborhood(raw) {
                    Some(n) => Some(n.slug.clone()),
                    None => m
                        .find_place(&raw.to_lowercase().replace('_', " "))
                        .and_then(|p| p.neighborhood)
                        .map(str::to_owned),
                };
                Some(slug.ok_or_else(|| {
                    invalid("conversation_context.neighborhood is not a known NYC neighborhood")
                })?)
            }
        };
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
        })
    }
}

#[derive(Debug, Serialize)]
pub struct ConversationResponse {
    pub content: String,
    pub next_questions: Vec<String>,
    pub session_id: String,
    pub lead_id: Option<String>,
    pub lead_profile: LeadProfile,
    pub revenue_optimization: RevenueOptimization,
}

/// The facts understood so far. Contact details are never echoed, only whether they exist.
#[derive(Debug, Serialize)]
pub struct LeadProfile {
    pub homeowner: Option<bool>,
    pub monthly_bill: Option<Cents>,
    pub zip_code: Option<String>,
    pub borough: Option<Borough>,
    pub neighborhood: Option<String>,
    pub property_type: Option<PropertyType>,
    pub timeline: Option<Timeline>,
    pub decision_maker: Option<DecisionMaker>,
    pub financing: Option<Financing>,
    pub credit: Option<CreditSignal>,
    pub competing_quotes: Option<bool>,
    pub technical_questions: Vec<TechnicalTopic>,
    pub objections_open: Vec<Objection>,
    pub objections_resolved: Vec<Objection>,
    pub contact_provided: bool,
    pub contact_consent: Option<bool>,
    pub in_service_area: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct RevenueOptimization {
    pub lead_score: LeadScoreView,
    pub conversation_metrics: ConversationMetrics,
    pub optimization_recommendations: Vec<String>,
    pub routing_decision: RoutingDecisionView,
    pub revenue_insights: RevenueInsights,
    pub revenue_trend: Vec<TrailPoint>,
}

#[derive(Debug, Serialize)]
pub struct LeadScoreView {
    pub total_score: u8,
    pub quality_tier: QualityTier,
    pub revenue_potential: Cents,
    pub conversion_probability: f64,
    pub expected_revenue: Cents,
    pub factors: FactorScores,
    pub sellable: bool,
    pub blockers: Vec<Blocker>,
    pub model_version: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingStatus {
    NotReady,
    NotSellable,
    Queued,
    QueuePending,
}

/// Routing happens off the chat path (the lead queue); until a buyer is chosen the
/// buyer fields are null and `status` says where the lead stands.
#[derive(Debug, Serialize)]
pub struct RoutingDecisionView {
    pub status: RoutingStatus,
    pub lead_id: Option<String>,
    pub queued_at: Option<DateTime<Utc>>,
    pub selected_buyer_id: Option<String>,
    pub selected_buyer_tier: Option<String>,
    pub price_per_lead: Option<Cents>,
    pub expected_revenue: Option<Cents>,
    pub routing_reason: String,
}

#[derive(Debug, Serialize)]
pub struct RevenueInsights {
    pub quality_assessment: String,
    pub revenue_potential: String,
    pub conversion_likelihood: String,
    pub assessment: String,
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
    pub fn from_outcome(o: &TurnOutcome, _now: DateTime<Utc>) -> ConversationResponse {
        let c = &o.conversation;
        let f = &c.facts;
        let s = &o.score;
        let expected = s.expected_revenue();
        let probability = (s.conversion_probability * 100.0).round() / 100.0;
        let (status, lead_id, queued_at, reason) = match &o.lead {
            LeadStatus::Queued { lead_id, at } => (
                RoutingStatus::Queued,
                Some(lead_id.clone()),
                Some(*at),
                format!("{} lead queued for buyer routing", s.tier.as_str()),
            ),
            LeadStatus::QueuePending { lead_id } => (
                RoutingStatus::QueuePending,
                Some(lead_id.clone()),
                None,
                "lead is sellable; queueing will be retried".to_owned(),
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
            lead_id: c.lead_id.clone(),
            lead_profile: LeadProfile {
                homeowner: f.homeowner,
                monthly_bill: f.monthly_bill,
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
            revenue_optimization: RevenueOptimization {
                lead_score: LeadScoreView {
                    total_score: s.total,
                    quality_tier: s.tier,
                    revenue_potential: s.revenue_potential,
                    conversion_probability: probability,
                    expected_revenue: expected,
                    factors: s.factors,
                    sellable: s.sellable(),
                    blockers: s.blockers.clone(),
                    model_version: s.model_version,
                },
                conversation_metrics: o.metrics.clone(),
                optimization_recommendations: o.recommendations.clone(),
                routing_decision: RoutingDecisionView {
                    status,
                    lead_id,
                    queued_at,
                    selected_buyer_id: None,
                    selected_buyer_tier: None,
                    price_per_lead: None,
                    expected_revenue: s.sellable().then_some(expected),
                    routing_reason: reason,
                },
                revenue_insights: RevenueInsights {
                    quality_assessment: format!("Lead quality: {} tier", s.tier.as_str()),
                    revenue_potential: format!("Expected revenue: {}", s.revenue_potential),
                    conversion_likelihood: format!(
                        "Conversion probability: {:.0}%",
                        probability * 100.0
                    ),
                    assessment: assessment.to_owned(),
                },
                revenue_trend: c.trail.clone(),
            },
        }
    }
}
