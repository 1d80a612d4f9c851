//! The conversation use case: one homeowner message in, the agent's reply and the live
//! lead score out. The domain decides the turn (`domain::turn`); this only loads the state,
//! publishes the lead, records a withdrawal (and, on the lead, an erasure of the
//! homeowner's contact details), saves, and retries a lost race.

use crate::artefacts::{current_model, current_rules};
use crate::backend::Backend;
use crate::contracts::QueuedLead;
use crate::domain::analytics;
use crate::domain::buyer::Buyer;
use crate::domain::conversation::{ContextHints, SessionId, SessionToken, token_matches};
use crate::domain::extract::extract;
use crate::domain::learning::conversation_rules::ConversationRules;
use crate::domain::targets::Targets;
use crate::domain::turn::{self, Message, Rules};
pub use crate::domain::turn::{LeadStatus, TurnDecision};
use crate::ports::{BuyerStore, ConversationStore, LeadQueue, LeadStore, MetricsStore, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Concurrent turns of one session retry on a lost conditional write this many times.
const SAVE_ATTEMPTS: usize = 5;

pub struct TurnInput {
    pub session_id: SessionId,
    pub message: String,
    pub hints: ContextHints,
    /// Earlier homeowner messages, read only when the server has no state for the session.
    pub history: Vec<String>,
    /// The token the session's first reply gave; none on a session's first turn.
    pub session_token: Option<String>,
}

/// Why a turn was not taken.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// The session exists and the request does not carry its token (or carries a token
    /// for a session that does not exist): nothing is read back or changed.
    #[error(
        "this session belongs to the client that started it: send the session_token its first reply gave, or start a new session_id"
    )]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The session's state to apply a turn to, and the token issued if this turn starts it.
fn owned_state(
    loaded: Option<crate::domain::conversation::Conversation>,
    input: &TurnInput,
    now: DateTime<Utc>,
) -> Result<
    (
        crate::domain::conversation::Conversation,
        Option<SessionToken>,
    ),
    TurnError,
> {
    match (loaded, input.session_token.as_deref()) {
        (Some(c), Some(token))
            if c.token_hash
                .as_deref()
                .is_some_and(|stored| token_matches(stored, token)) =>
        {
            Ok((c, None))
        }
        // Another client's session, one kept from before tokens, or a token for a session
        // that does not exist (expired, or never started): refused alike.
        (Some(_), _) | (None, Some(_)) => Err(TurnError::Forbidden),
        (None, None) => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| StoreError::Unavailable(format!("random source: {e}")))?;
            let token = SessionToken::from_random(bytes);
            let mut c = turn::fresh_conversation(input.session_id.clone(), &input.history, now);
            c.token_hash = Some(token.hash());
            Ok((c, Some(token)))
        }
    }
}

/// The conversation rules a process read, and when.
type RulesMemo = (std::time::Instant, Arc<ConversationRules>);

/// How long a process keeps the conversation rules it read.
pub const RULES_MEMO: Duration = Duration::from_secs(60);

/// The ports a conversation turn uses.
pub struct Chat<B: Backend> {
    conversations: Arc<B::Conversations>,
    models: Arc<B::Models>,
    leads: Arc<B::Leads>,
    sales: Arc<B::Sales>,
    queue: Arc<B::Queue>,
    cache: Arc<B::Cache>,
    metrics: Arc<B::Metrics>,
    jobs: Arc<B::Jobs>,
    buyers: Arc<B::Buyers>,
    /// The conversation rules, read at most once a minute per process.
    rules: Arc<std::sync::Mutex<Option<RulesMemo>>>,
    /// The buyers (the consent question names those that could take the lead), read at
    /// most once a minute per process.
    buyer_list: Arc<std::sync::Mutex<Option<BuyersMemo>>>,
    targets: Targets,
    /// Where the model in force is cached.
    model_key: String,
}

/// The buyers a process read, and when.
type BuyersMemo = (std::time::Instant, Arc<Vec<Buyer>>);

impl<B: Backend> Clone for Chat<B> {
    fn clone(&self) -> Self {
        Chat {
            conversations: Arc::clone(&self.conversations),
            models: Arc::clone(&self.models),
            leads: Arc::clone(&self.leads),
            sales: Arc::clone(&self.sales),
            queue: Arc::clone(&self.queue),
            cache: Arc::clone(&self.cache),
            metrics: Arc::clone(&self.metrics),
            jobs: Arc::clone(&self.jobs),
            buyers: Arc::clone(&self.buyers),
            rules: Arc::clone(&self.rules),
            buyer_list: Arc::clone(&self.buyer_list),
            targets: self.targets,
            model_key: self.model_key.clone(),
        }
    }
}

impl<B: Backend> Chat<B> {
    /// The conversation rules in force, kept in the process for [`RULES_MEMO`]: a turn
    /// costs no cache round trip for them.
    async fn rules(&self) -> Arc<ConversationRules> {
        let memo = |m: &std::sync::Mutex<Option<RulesMemo>>| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .filter(|(at, _)| at.elapsed() < RULES_MEMO)
                .map(|(_, r)| Arc::clone(r))
        };
        if let Some(rules) = memo(&self.rules) {
            return rules;
        }
        let rules = Arc::new(current_rules(&*self.jobs, &*self.cache).await);
        *self
            .rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), Arc::clone(&rules)));
        rules
    }

    /// The buyers, kept in the process for [`RULES_MEMO`]. Unreadable: none (the consent
    /// question then names nobody, and any buyer may take the lead).
    async fn buyers(&self) -> Arc<Vec<Buyer>> {
        let memo = |m: &std::sync::Mutex<Option<BuyersMemo>>| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .filter(|(at, _)| at.elapsed() < RULES_MEMO)
                .map(|(_, b)| Arc::clone(b))
        };
        if let Some(buyers) = memo(&self.buyer_list) {
            return buyers;
        }
        let buyers = match self.buyers.buyers().await {
            Ok(buyers) => Arc::new(buyers),
            Err(e) => {
                tracing::warn!(error = %e, "buyers unreadable; the consent question names nobody");
                return Arc::new(Vec::new());
            }
        };
        *self
            .buyer_list
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), Arc::clone(&buyers)));
        buyers
    }

    pub fn new(backend: &B) -> Chat<B> {
        Chat {
            conversations: backend.conversations(),
            models: backend.models(),
            leads: backend.leads(),
            sales: backend.sales(),
            queue: backend.queue(),
            cache: backend.cache(),
            metrics: backend.metrics(),
            jobs: backend.jobs(),
            buyers: backend.buyers(),
            rules: Arc::default(),
            buyer_list: Arc::default(),
            targets: backend.config().targets,
            model_key: crate::artefacts::CacheKeys::new(backend.config()).model,
        }
    }

    /// Takes one message: decides the turn, then publishes the lead (before saving, so a
    /// lost save retries into the same lead id, which the queue drops) and records a
    /// withdrawal, then saves with a version condition. If the queue or the lead store is
    /// down the turn is refused and nothing is saved: the frontend retries the message, so
    /// a sellable lead is never left behind. A session belongs to whoever started it: its
    /// first turn issues a token, and a later turn without it is refused before anything
    /// is decided.
    pub async fn take_turn(
        &self,
        input: &TurnInput,
        now: DateTime<Utc>,
    ) -> Result<TurnDecision, TurnError> {
        let model = current_model(
            &*self.models,
            &*self.cache,
            &self.model_key,
            &self.targets.base_model(),
        )
        .await?;
        let conversation_rules = self.rules().await;
        let buyers = self.buyers().await;
        let facts = extract(&input.message);
        let message = Message {
            text: &input.message,
            facts: &facts,
            hints: &input.hints,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let loaded = self
                .conversations
                .load_conversation(&input.session_id)
                .await?;
            let (state, issued) = owned_state(loaded, input, now)?;
            let previous_turn = (state.turns > 0).then_some(state.last_message_at);
            let rules = Rules {
                model: &model,
                targets: &self.targets,
                buyers: &buyers,
            };
            let mut decision = turn::decide_with(state, &message, rules, &conversation_rules, now);
            if let Some(lead) = &decision.publish {
                self.queue
                    .publish(lead)
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("lead queue: {e}")))?;
                self.leads.record_queued(lead).await?;
            }
            if let Some((lead_id, withdrawal)) = &decision.withdraw {
                let record = crate::usecases::lifecycle::withdraw(
                    &*self.leads,
                    &*self.sales,
                    lead_id,
                    &input.session_id,
                    withdrawal,
                )
                .await?;
                let from = record.withdrawal.as_ref().and_then(|w| w.from);
                tracing::info!(lead_id = %lead_id, was = from.map(|s| s.as_str()), "consent withdrawn");
                // A buyer may hold the lead: the router tells it, signed, like a delivery. A
                // retried turn publishes again while the notice is owed (the queue drops a
                // repeat inside its window; the router sends each notice once).
                if record.unsent_notices().next().is_some() {
                    let c = &decision.conversation;
                    let notice = QueuedLead {
                        schema: QueuedLead::SCHEMA,
                        lead_id: lead_id.clone(),
                        session_id: c.session_id.clone(),
                        queued_at: c.lead_queued_at.unwrap_or(now),
                        score: decision.score.total,
                        tier: decision.score.tier,
                        revenue_potential: decision.score.revenue_potential,
                        conversion_probability: decision.score.conversion_probability,
                        model_version: decision.score.model_version,
                        // A notice names the lead; the homeowner's contact details stay
                        // out of the queue.
                        facts: crate::domain::conversation::LeadFacts {
                            contact: Default::default(),
                            ..c.facts.clone()
                        },
                        consent: None,
                        withdrawn: Some(withdrawal.clone()),
                        factors: None,
                        offer: 0,
                    };
                    self.queue
                        .publish(&notice)
                        .await
                        .map_err(|e| StoreError::Unavailable(format!("lead queue: {e}")))?;
                }
            }
            if let Some((lead_id, erasure)) = &decision.erase {
                crate::usecases::lifecycle::note_erasure(
                    &*self.leads,
                    &*self.sales,
                    lead_id,
                    erasure,
                )
                .await?;
                tracing::info!(lead_id = %lead_id, "contact details erased on the homeowner's request");
            }
            match self
                .conversations
                .save_conversation(&decision.conversation)
                .await
            {
                Ok(()) => {
                    decision.conversation.version += 1;
                    decision.session_token = issued;
                    // Once routed, the reply says to whom and at what price.
                    if decision.publish.is_none()
                        && let Some(lead_id) = decision.conversation.lead_id.clone()
                        && decision.conversation.lead_queued_at.is_some()
                    {
                        match self.leads.lead(&lead_id).await {
                            Ok(record) => decision.routed = record,
                            Err(e) => {
                                tracing::warn!(%lead_id, error = %e, "lead record unreadable; the reply omits the routing")
                            }
                        }
                    }
                    let (c, s) = (&decision.conversation, &decision.score);
                    tracing::info!(
                        session_id = %c.session_id.as_str(),
                        turn = c.turns,
                        score = s.total,
                        tier = s.tier.as_str(),
                        sellable = s.sellable(),
                        "conversation turn"
                    );
                    let counters = analytics::turn_tallies(
                        c.session_id.as_str(),
                        previous_turn,
                        now,
                        decision.publish.as_ref().map(|l| l.tier),
                    );
                    // Activity counters are not money: a failed write costs a count, not the turn.
                    if let Err(e) = self.metrics.add(&counters).await {
                        tracing::warn!(error = %e, "conversation counters not recorded");
                    }
                    return Ok(decision);
                }
                Err(StoreError::Conflict) if attempt < SAVE_ATTEMPTS => {
                    // Another turn of this session saved first: reload and re-apply this message.
                    tokio::time::sleep(Duration::from_millis(3 * attempt as u64)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
