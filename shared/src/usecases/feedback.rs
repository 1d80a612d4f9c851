//! The buyer-feedback use case: records a verified feedback once (per message and per lead,
//! buyer and type), with every effect in the store's one transaction, and answers a repeat
//! with the first result. Also the buyer statements and performance the sales team reads.

use crate::backend::{Backend, Clock};
use crate::domain::buyer::{Buyer, BuyerId};
use crate::domain::feedback::{
    BuyerPerformance, FeedbackEvent, FeedbackRecord, FeedbackRefused, FeedbackRules, FeedbackType,
    MonthToDate, Refusal, decide, statement_month, tally,
};
use crate::domain::sale::LedgerKind;
use crate::domain::statement::{Statement, statement};
use crate::ports::{BuyerStore, FeedbackStore, LeadStore, StoreError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long this process trusts its copy of the buyers (their secrets): a new buyer or a
/// rotated secret is seen within it, and a flood of forged requests reads the store once.
const BUYERS_TTL: Duration = Duration::from_secs(30);
/// Attempts when concurrent writers keep changing the lead or the buyer's month.
const ATTEMPTS: usize = 8;

/// What a feedback post came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Recorded now, with its effects.
    New(FeedbackRecord),
    /// Recorded before (the same message, or the same lead, buyer and type): the first
    /// result, nothing changed.
    Repeat(FeedbackRecord),
}

impl Recorded {
    pub fn record(&self) -> &FeedbackRecord {
        match self {
            Recorded::New(r) | Recorded::Repeat(r) => r,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("feedback refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Concurrent feedback on the same lead kept winning; the buyer may retry.
    #[error("the lead kept changing")]
    Busy,
}

type BuyerCopy = Option<(Instant, Arc<Vec<Buyer>>)>;

pub struct FeedbackIntake<B: Backend> {
    leads: Arc<B::Leads>,
    buyers: Arc<B::Buyers>,
    feedback: Arc<B::Feedback>,
    rules: FeedbackRules,
    clock: Clock,
    buyer_copy: Arc<Mutex<BuyerCopy>>,
}

impl<B: Backend> Clone for FeedbackIntake<B> {
    fn clone(&self) -> Self {
        FeedbackIntake {
            leads: Arc::clone(&self.leads),
            buyers: Arc::clone(&self.buyers),
            feedback: Arc::clone(&self.feedback),
            rules: self.rules,
            clock: Arc::clone(&self.clock),
            buyer_copy: Arc::clone(&self.buyer_copy),
        }
    }
}

impl<B: Backend> FeedbackIntake<B> {
    pub fn new(backend: &B) -> FeedbackIntake<B> {
        FeedbackIntake {
            leads: backend.leads(),
            buyers: backend.buyers(),
            feedback: backend.feedback(),
            rules: FeedbackRules {
                return_rate_cap_bps: backend.config().feedback.return_rate_cap_bps,
            },
            clock: backend.clock(),
            buyer_copy: Arc::new(Mutex::new(None)),
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A buyer by id, from this process's copy of the buyers (refreshed every 30 s).
    pub async fn buyer(&self, id: &BuyerId) -> Result<Option<Buyer>, StoreError> {
        let fresh = {
            let copy = crate::adapters::process_cache::lock(&self.buyer_copy);
            copy.as_ref()
                .filter(|(at, _)| at.elapsed() < BUYERS_TTL)
                .map(|(_, all)| Arc::clone(all))
        };
        let all = match fresh {
            Some(all) => all,
            None => {
                let all = Arc::new(self.buyers.buyers().await?);
                *crate::adapters::process_cache::lock(&self.buyer_copy) =
                    Some((Instant::now(), Arc::clone(&all)));
                all
            }
        };
        Ok(all.iter().find(|b| b.id == *id).cloned())
    }

    /// The first result of a message this buyer sent before, if any.
    pub async fn repeated_message(
        &self,
        buyer: &BuyerId,
        message_id: &str,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        self.feedback.feedback_by_message(buyer, message_id).await
    }

    /// Records a verified feedback, or refuses it with nothing changed.
    #[tracing::instrument(skip_all, fields(lead_id = %event.lead_id, buyer_id = %event.buyer_id, kind = event.kind.as_str()))]
    pub async fn record(&self, event: &FeedbackEvent) -> Result<Recorded, IntakeError> {
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(crate::ports::conflict_backoff(attempt - 1)).await;
            }
            if let Some(first) = self.first_result(event).await? {
                return Ok(Recorded::Repeat(first));
            }
            let Some(lead) = self.leads.lead(&event.lead_id).await? else {
                return Err(IntakeError::Refused(Refusal::NotYourLead));
            };
            let refund = matches!(event.kind, FeedbackType::Rejected | FeedbackType::Returned);
            let month = if refund {
                self.month_to_date(&event.buyer_id, &statement_month(event.received_at))
                    .await?
            } else {
                MonthToDate::default()
            };
            let change = match decide(&self.rules, event, &lead, month) {
                Ok(change) => change,
                // A twin that committed between the two reads moved the lead: its result
                // is the answer, not a conflict.
                Err(refusal @ Refusal::Transition { .. }) => {
                    return match self.first_result(event).await? {
                        Some(first) => Ok(Recorded::Repeat(first)),
                        None => Err(IntakeError::Refused(refusal)),
                    };
                }
                Err(refusal) => return Err(IntakeError::Refused(refusal)),
            };
            match self.feedback.apply(&change).await {
                Ok(Ok(())) => {
                    tracing::info!(
                        disposition = ?change.record.disposition,
                        lead_state = change.record.lead_state.as_str(),
                        "feedback recorded"
                    );
                    return Ok(Recorded::New(change.record));
                }
                // A twin of this feedback won the race: its result is the answer.
                Ok(Err(FeedbackRefused::AlreadyRecorded)) => continue,
                Ok(Err(FeedbackRefused::LeadChanged | FeedbackRefused::LimitReached))
                | Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(IntakeError::Busy)
    }

    async fn first_result(
        &self,
        event: &FeedbackEvent,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        if let Some(first) = self
            .feedback
            .feedback_by_message(&event.buyer_id, &event.message_id)
            .await?
        {
            return Ok(Some(first));
        }
        self.feedback
            .feedback(&event.lead_id, &event.buyer_id, event.kind)
            .await
    }

    /// Leads the buyer kept this month (sales less releases) and credits given.
    async fn month_to_date(&self, buyer: &BuyerId, month: &str) -> Result<MonthToDate, StoreError> {
        let lines = self.feedback.buyer_ledger(buyer, month).await?;
        let kept = lines
            .iter()
            .map(|l| match l.kind {
                LedgerKind::Sale => 1,
                LedgerKind::Release => -1,
                _ => 0,
            })
            .sum();
        let credits = self
            .feedback
            .tallies(&tally::buyer_month(buyer, month))
            .await?
            .get(tally::CREDITS)
            .copied()
            .unwrap_or(0);
        Ok(MonthToDate { kept, credits })
    }

    /// The buyer's statement of a New York month.
    /// The buyer's delivery health: failures in a row, and the pause they caused.
    pub async fn delivery_health(
        &self,
        buyer: &BuyerId,
    ) -> Result<crate::ports::BuyerHealth, StoreError> {
        use crate::ports::BuyerStore;
        self.buyers.health(buyer).await
    }

    /// A lead's status as `buyer` may see it: its state while the current sale is the
    /// buyer's, `released` once it is not; none for an unknown lead.
    pub async fn status_for(
        &self,
        buyer: &BuyerId,
        lead_id: &str,
    ) -> Result<Option<String>, StoreError> {
        use crate::ports::LeadStore;
        Ok(self.leads.lead(lead_id).await?.map(|r| match &r.sale {
            Some(sale) if &sale.buyer_id == buyer => r.state.as_str().to_owned(),
            _ => "released".to_owned(),
        }))
    }

    pub async fn statement(&self, buyer: &BuyerId, month: &str) -> Result<Statement, StoreError> {
        let ledger = self.feedback.buyer_ledger(buyer, month).await?;
        let feedback = self.feedback.buyer_feedback(buyer, month).await?;
        Ok(statement(buyer, month, &ledger, &feedback))
    }

    /// The buyer's performance in a month, or over all time.
    pub async fn performance(
        &self,
        buyer: &BuyerId,
        month: Option<&str>,
    ) -> Result<BuyerPerformance, StoreError> {
        let key = match month {
            Some(m) => tally::buyer_month(buyer, m),
            None => tally::buyer(buyer),
        };
        Ok(BuyerPerformance::from_tallies(
            &self.feedback.tallies(&key).await?,
        ))
    }
}
