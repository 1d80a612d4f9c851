//! The conversation use case: one homeowner message in, the agent's reply and the live
//! lead score out, with the state saved and a sellable lead queued exactly once.

use crate::domain::agent::{self, Reply};
use crate::domain::conversation::{
    ConsentEvidence, ContextHints, Conversation, SessionId, TrailPoint,
};
use crate::domain::extract::extract;
use crate::domain::facts::Ask;
use crate::domain::incentives;
use crate::domain::metrics::{self, ConversationMetrics};
use crate::domain::scoring::{LeadScore, ScoringModel, score};
use crate::ports::{Cache, ConversationStore, LeadQueue, ModelStore, QueuedLead, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use std::time::Duration;

const MODEL_CACHE_KEY: &str = "scoring_model:current";
const MODEL_CACHE_TTL: Duration = Duration::from_secs(300);
/// Concurrent turns of one session retry on a lost conditional write this many times.
const SAVE_ATTEMPTS: usize = 5;
/// How much of the homeowner's consent message is kept as evidence.
const CONSENT_WORDS_MAX: usize = 200;

pub struct TurnInput {
    pub session_id: SessionId,
    pub message: String,
    pub hints: ContextHints,
    /// Earlier homeowner messages, read only when the server has no state for the session.
    pub history: Vec<String>,
}

/// What happened to the lead on this turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadStatus {
    /// Facts are still missing.
    NotReady,
    /// Known renter or outside NYC: never sold.
    NotSellable,
    /// Handed to the routing queue (on this turn or an earlier one).
    Queued { lead_id: String, at: DateTime<Utc> },
}

pub struct TurnOutcome {
    pub conversation: Conversation,
    pub score: LeadScore,
    pub reply: Reply,
    pub metrics: ConversationMetrics,
    pub recommendations: Vec<String>,
    pub lead: LeadStatus,
}

/// The stable lead id of a session: a retried or raced turn names the same lead, so the
/// queue and the router can de-duplicate on it.
pub fn lead_id_for(session: &SessionId) -> String {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, session.as_str().as_bytes());
    format!("lead_{}", id.simple())
}

/// The scoring model in force: cache, then store, then the built-in default.
pub async fn current_model<S: ModelStore, C: Cache>(
    store: &S,
    cache: &C,
) -> Result<ScoringModel, StoreError> {
    match cache.get(MODEL_CACHE_KEY).await {
        Ok(Some(json)) => match serde_json::from_str::<ScoringModel>(&json) {
            Ok(model) if model.validate().is_ok() => return Ok(model),
            Ok(_) => tracing::warn!("cached scoring model is invalid; reading the store"),
            Err(e) => {
                tracing::warn!(error = %crate::adapters::decode_failure(&e), "cached scoring model unreadable")
            }
        },
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cache unavailable; reading the model from the store"),
    }
    let model = match store.current_model().await? {
        Some(model) => match model.validate() {
            Ok(()) => model,
            Err(reason) => {
                tracing::error!(version = model.version, %reason, "stored scoring model is invalid; using the built-in one");
                ScoringModel::default()
            }
        },
        None => ScoringModel::default(),
    };
    if let Ok(json) = serde_json::to_string(&model)
        && let Err(e) = cache.set(MODEL_CACHE_KEY, &json, MODEL_CACHE_TTL).await
    {
        tracing::warn!(error = %e, "could not cache the scoring model");
    }
    Ok(model)
}

pub async fn take_turn<S, Q, C>(
    store: &S,
    queue: &Q,
    cache: &C,
    input: &TurnInput,
    now: DateTime<Utc>,
) -> Result<TurnOutcome, StoreError>
where
    S: ConversationStore + ModelStore,
    Q: LeadQueue,
    C: Cache,
{
    let model = current_model(store, cache).await?;
    let facts = extract(&input.message);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut c = match store.load_conversation(&input.session_id).await? {
            Some(c) => c,
            None => {
                let mut fresh = Conversation::new(input.session_id.clone(), now);
                for earlier in &input.history {
                    fresh.absorb_history(&extract(earlier));
                }
                fresh
            }
        };
        let asked_before = c.last_ask;
        c.absorb(&facts, &input.hints, now);
        let s = score(&model, &c, now);
        let reply = agent::reply(&model, &c, &facts, &s, now);
        c.last_answered_objection = agent::answered_objection(&c, &facts);
        c.last_ask = reply.asked;
        c.greeted_place.clone_from(&reply.greeted_place);
        if c.facts.contact_consent == Some(true) && c.consent.is_none() {
            let answered_consent_question =
                asked_before == Some(Ask::Consent) && facts.answer == Some(true);
            let said_now = facts.contact_consent == Some(true) || answered_consent_question;
            c.consent = Some(ConsentEvidence {
                given_at: now,
                words: if said_now {
                    input.message.chars().take(CONSENT_WORDS_MAX).collect()
                } else {
                    "(given earlier in the conversation history)".to_owned()
                },
                disclosure: answered_consent_question.then(|| Ask::Consent.question().to_owned()),
            });
        } else if c.facts.contact_consent == Some(false) {
            c.consent = None;
        }
        c.record_trail(TrailPoint {
            turn: c.turns,
            at: now,
            score: s.total,
            revenue_potential: s.revenue_potential,
        });

        let mut lead = if s.blockers.iter().any(|b| b.is_final()) {
            LeadStatus::NotSellable
        } else {
            LeadStatus::NotReady
        };
        if let Some(at) = c.lead_queued_at {
            lead = LeadStatus::Queued {
                lead_id: c
                    .lead_id
                    .clone()
                    .unwrap_or_else(|| lead_id_for(&c.session_id)),
                at,
            };
        } else if s.sellable() {
            let lead_id = lead_id_for(&c.session_id);
            c.lead_id = Some(lead_id.clone());
            let message = QueuedLead {
                schema: QueuedLead::SCHEMA,
                lead_id: lead_id.clone(),
                session_id: c.session_id.clone(),
                queued_at: now,
                score: s.total,
                tier: s.tier,
                revenue_potential: s.revenue_potential,
                conversion_probability: s.conversion_probability,
                model_version: s.model_version,
                facts: c.facts.clone(),
                consent: c.consent.clone(),
            };
            // Publish before saving: if the save then loses a race, the retry publishes the
            // same lead id again, which the queue ignores.
            // If the queue is down the turn is not accepted: nothing is saved and the
            // frontend retries the message, so a sellable lead can never be left behind.
            queue
                .publish(&message)
                .await
                .map_err(|e| StoreError::Unavailable(format!("lead queue: {e}")))?;
            c.lead_queued_at = Some(now);
            lead = LeadStatus::Queued { lead_id, at: now };
        }

        match store.save_conversation(&c).await {
            Ok(()) => {
                c.version += 1;
                let today = now.with_timezone(&New_York).date_naive();
                let urgency =
                    incentives::next_deadline(today).and_then(|(i, _, _)| i.urgency_text(today));
                let recommendations = metrics::recommendations(&c, &s, urgency.as_deref());
                let metrics = metrics::metrics(&c, &s);
                tracing::info!(
                    session_id = %c.session_id.as_str(),
                    turn = c.turns,
                    score = s.total,
                    tier = s.tier.as_str(),
                    sellable = s.sellable(),
                    "conversation turn"
                );
                return Ok(TurnOutcome {
                    conversation: c,
                    score: s,
                    reply,
                    metrics,
                    recommendations,
                    lead,
                });
            }
            Err(StoreError::Conflict) if attempt < SAVE_ATTEMPTS => {
                // Another turn of this session saved first: reload and re-apply this message.
                tokio::time::sleep(std::time::Duration::from_millis(3 * attempt as u64)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
