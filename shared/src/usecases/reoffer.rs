//! The re-offer sweep: a lead no buyer could take waits (`LeadState::Waiting`), and this
//! offers it again when a buyer that could take it now could not at its last routing (it
//! opened, its cap reset, it got capacity back, it was added or resumed), or every
//! [`RECHECK_AFTER`](crate::domain::routing::RECHECK_AFTER) while some buyer could (a `held_for_capacity` hold is a "hold until"
//! decided again). The lead is scored again on its conversation as it stands, so what the
//! homeowner said after it queued counts, and priced at its age by the router
//! (`data/pricing.json` `lead_age`). Past its shelf life it expires with its last reason.
//!
//! The sweep only publishes: the router applies the re-offer (`waiting → queued`) when the
//! message arrives, so a repeated or raced message re-offers nothing twice. In AWS the
//! jobs function runs it every minute (EventBridge); `aurum serve` runs it every few
//! seconds, so moving the sandbox clock past a buyer's opening re-offers within seconds.

use crate::backend::Backend;
use crate::domain::analytics;
use crate::domain::lead::LeadRecord;
use crate::domain::lifecycle::LeadEvent;
use crate::domain::market::market;
use crate::domain::money::Cents;
use crate::domain::pricing;
use crate::domain::routing::{
    BuyerState, BuyerStats, LeadToRoute, RoutingRequest, RoutingRules, reoffer_due,
};
use crate::domain::scoring::{self, ScoringModel};
use crate::domain::turn::queued_lead;
use crate::ports::{
    BuyerStore, ConversationStore, LeadQueue, LeadStore, MetricsStore, ModelStore, StoreError,
};
use crate::usecases::lifecycle::{self, Applied};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Waiting leads read per sweep.
pub const SWEEP_LIMIT: usize = 1_000;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sweep {
    /// Waiting leads looked at.
    pub waiting: u32,
    /// Published again for the routers.
    pub reoffered: u32,
    /// Past their shelf life: expired.
    pub expired: u32,
}

impl Sweep {
    pub fn summary(&self) -> String {
        format!(
            "{} waiting: {} re-offered, {} expired",
            self.waiting, self.reoffered, self.expired
        )
    }
}

/// The sweep's ports and settings.
/// Why a lead was not offered again; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum OfferAgainError {
    #[error("no such lead")]
    NotFound,
    /// Its state does not allow it (`queued`, `sold`, `delivered`, `withdrawn`, …).
    #[error("a lead that is {0} cannot be offered again")]
    NotAllowed(&'static str),
    /// Its conversation is gone, no longer scores as sellable, or has no consent.
    #[error(
        "the lead can no longer be sold: its conversation is gone, unqualified or without consent"
    )]
    NotSellable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Reoffers<B: Backend> {
    leads: Arc<B::Leads>,
    sales: Arc<B::Sales>,
    buyers: Arc<B::Buyers>,
    conversations: Arc<B::Conversations>,
    models: Arc<B::Models>,
    metrics: Arc<B::Metrics>,
    queue: Arc<B::Queue>,
    rules: RoutingRules,
    shelf_life: chrono::Duration,
    /// The model that scores when no learned one is stored (the configured thresholds).
    base_model: ScoringModel,
}

impl<B: Backend> Clone for Reoffers<B> {
    fn clone(&self) -> Self {
        Reoffers {
            leads: Arc::clone(&self.leads),
            sales: Arc::clone(&self.sales),
            buyers: Arc::clone(&self.buyers),
            conversations: Arc::clone(&self.conversations),
            models: Arc::clone(&self.models),
            metrics: Arc::clone(&self.metrics),
            queue: Arc::clone(&self.queue),
            rules: self.rules.clone(),
            shelf_life: self.shelf_life,
            base_model: self.base_model.clone(),
        }
    }
}

impl<B: Backend> Reoffers<B> {
    pub fn new(backend: &B) -> Reoffers<B> {
        let config = backend.config();
        Reoffers {
            leads: backend.leads(),
            sales: backend.sales(),
            buyers: backend.buyers(),
            conversations: backend.conversations(),
            models: backend.models(),
            metrics: backend.metrics(),
            queue: backend.queue(),
            rules: RoutingRules::from_targets(&config.targets),
            shelf_life: chrono::Duration::hours(i64::from(config.routing.shelf_life_hours)),
            base_model: config.targets.base_model(),
        }
    }

    /// Looks at every waiting lead at `now`: expires those past their shelf life and
    /// publishes a re-offer of those a buyer could take now.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Sweep, StoreError> {
        let waiting = self.leads.waiting(SWEEP_LIMIT).await?;
        let mut sweep = Sweep {
            waiting: u32::try_from(waiting.len()).unwrap_or(u32::MAX),
            ..Sweep::default()
        };
        if waiting.is_empty() {
            return Ok(sweep);
        }
        let buyers = self.buyers.buyers().await?;
        let loads = self.buyers.loads(&buyers, now).await?;
        let states: Vec<BuyerState<'_>> = buyers
            .iter()
            .zip(&loads)
            .map(|(buyer, load)| BuyerState {
                buyer,
                load: *load,
                stats: BuyerStats::default(),
                bid_price: Cents::ZERO,
                bid: None,
            })
            .collect();
        let model = self
            .models
            .current_model()
            .await?
            .unwrap_or_else(|| self.base_model.clone());
        for record in waiting {
            let shelf_from = record.shelf_start().unwrap_or(record.updated_at);
            if now >= shelf_from + self.shelf_life {
                if self.expire(&record, now).await? {
                    sweep.expired += 1;
                }
                continue;
            }
            if self.reoffer(&record, &states, &model, now).await? {
                sweep.reoffered += 1;
            }
        }
        Ok(sweep)
    }

    /// The sales team offers lead `lead_id` again now. An ended lead (expired, unsold or
    /// dead-lettered) first waits again, with a new shelf life from now; then its next
    /// offer is published at once, scored on the conversation as it stands. Returns that
    /// offer's number. A lead in any other state is refused and nothing changes.
    pub async fn offer_again(
        &self,
        lead_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u32, OfferAgainError> {
        use crate::domain::lead::LeadState;
        let record = self
            .leads
            .lead(lead_id)
            .await?
            .ok_or(OfferAgainError::NotFound)?;
        if !matches!(
            record.state,
            LeadState::Waiting | LeadState::Expired | LeadState::Unsold | LeadState::DeadLettered
        ) {
            return Err(OfferAgainError::NotAllowed(record.state.as_str()));
        }
        let conversation = self
            .conversations
            .load_conversation(&record.session_id)
            .await?
            .ok_or(OfferAgainError::NotSellable)?;
        let model = self
            .models
            .current_model()
            .await?
            .unwrap_or_else(|| self.base_model.clone());
        let score = scoring::score(&model, &conversation, conversation.last_message_at);
        if !score.sellable() || conversation.consent.is_none() {
            return Err(OfferAgainError::NotSellable);
        }
        let record = match record.state {
            LeadState::Waiting => record,
            LeadState::Expired | LeadState::Unsold | LeadState::DeadLettered => {
                match lifecycle::apply(
                    &*self.leads,
                    &*self.sales,
                    lead_id,
                    &LeadEvent::Revived,
                    now,
                )
                .await?
                {
                    Some(Applied::Changed(after)) => after,
                    Some(Applied::Unchanged(after, _)) => {
                        return Err(OfferAgainError::NotAllowed(after.state.as_str()));
                    }
                    None => return Err(OfferAgainError::NotFound),
                }
            }
            other => return Err(OfferAgainError::NotAllowed(other.as_str())),
        };
        let qualified_at = record.queued_at.unwrap_or(record.updated_at);
        let message = queued_lead(
            &conversation,
            &score,
            &record.lead_id,
            qualified_at,
            record.offers + 1,
        );
        self.queue
            .publish(&message)
            .await
            .map_err(|e| StoreError::Unavailable(format!("lead queue: {e}")))?;
        tracing::info!(lead_id = %record.lead_id, offer = message.offer, "lead offered again by the sales team");
        Ok(message.offer)
    }

    /// Ends a lead at its shelf life, counted with its last reason.
    async fn expire(&self, record: &LeadRecord, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let applied = lifecycle::apply(
            &*self.leads,
            &*self.sales,
            &record.lead_id,
            &LeadEvent::ShelfLifeOver,
            now,
        )
        .await?;
        let Some(Applied::Changed(after)) = applied else {
            return Ok(false);
        };
        let reason = after
            .unsold_reason
            .as_deref()
            .unwrap_or("no_eligible_buyer");
        tracing::info!(lead_id = %record.lead_id, reason, "waiting lead expired at the end of its shelf life");
        let counters = analytics::unsold_tallies(&record.lead_id, reason, now);
        if let Err(e) = self.metrics.add(&counters).await {
            tracing::warn!(lead_id = %record.lead_id, error = %e, "expiry not counted");
        }
        Ok(true)
    }

    /// Publishes the lead's next offer if a buyer could take it now and either could not at
    /// its last routing or that routing is [`RECHECK_AFTER`](crate::domain::routing::RECHECK_AFTER) old.
    async fn reoffer(
        &self,
        record: &LeadRecord,
        states: &[BuyerState<'_>],
        model: &ScoringModel,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(conversation) = self
            .conversations
            .load_conversation(&record.session_id)
            .await?
        else {
            // Nothing to offer again: it expires at the end of its shelf life.
            return Ok(false);
        };
        let score = scoring::score(model, &conversation, conversation.last_message_at);
        if !score.sellable() {
            return Ok(false);
        }
        let qualified_at = record.queued_at.unwrap_or(record.updated_at);
        let lead = LeadToRoute::from_facts(score.total, score.tier, &conversation.facts, market())
            .aged(pricing::age_hours(qualified_at, now))
            .consented(conversation.consent.as_ref());
        let request = RoutingRequest {
            lead: &lead,
            buyers: states,
            duplicate: false,
            declined: &record.excluded,
            at: now,
        };
        let last = record.routing.as_ref();
        if !reoffer_due(&self.rules, &request, last) {
            return Ok(false);
        }
        let message = queued_lead(
            &conversation,
            &score,
            &record.lead_id,
            qualified_at,
            record.offers + 1,
        );
        self.queue
            .publish(&message)
            .await
            .map_err(|e| StoreError::Unavailable(format!("lead queue: {e}")))?;
        tracing::info!(
            lead_id = %record.lead_id,
            offer = message.offer,
            "waiting lead published for a re-offer"
        );
        Ok(true)
    }
}
