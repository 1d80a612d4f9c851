//! Capabilities the use cases need from the outside world. Adapters in `adapters/`
//! implement them; the same contract tests run against every implementation.

pub use crate::contracts::QueuedLead;
use crate::domain::conversation::{ConsentWithdrawal, Conversation, SessionId};
use crate::domain::lead::LeadRecord;
use crate::domain::scoring::ScoringModel;
use std::future::Future;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The conditional write lost: someone else saved first.
    #[error("version conflict")]
    Conflict,
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub trait ConversationStore: Send + Sync + 'static {
    fn load_conversation(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Conversation>, StoreError>> + Send;

    /// Saves `conversation` if the stored version is `conversation.version`
    /// (0 = must not exist yet) and stores it as version + 1.
    fn save_conversation(
        &self,
        conversation: &Conversation,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ModelStore: Send + Sync + 'static {
    /// The scoring model in force, if one was ever saved.
    fn current_model(
        &self,
    ) -> impl Future<Output = Result<Option<ScoringModel>, StoreError>> + Send;

    /// Stores a model and makes it current, unless that version already exists.
    fn save_model(
        &self,
        model: &ScoringModel,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The lead records. Adapters store and condition; the rules of a lead's life are the
/// provided methods here and in `domain::lead`, the same for every adapter.
pub trait LeadStore: Send + Sync + 'static {
    fn lead(
        &self,
        lead_id: &str,
    ) -> impl Future<Output = Result<Option<LeadRecord>, StoreError>> + Send;

    /// Stores `record` if the stored version is `record.version` (0 = must not exist yet)
    /// and stores it as version + 1.
    fn put_lead(&self, record: &LeadRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a lead handed to the queue, unless a record exists (a retried turn, or a
    /// withdrawal that got there first). Returns the record as stored.
    fn record_queued(
        &self,
        lead: &QueuedLead,
    ) -> impl Future<Output = Result<LeadRecord, StoreError>> + Send {
        async move {
            let fresh = LeadRecord::queued(lead);
            match self.put_lead(&fresh).await {
                Ok(()) => Ok(LeadRecord {
                    version: 1,
                    ..fresh
                }),
                Err(StoreError::Conflict) => self
                    .lead(&lead.lead_id)
                    .await?
                    .ok_or_else(|| StoreError::Unavailable("lead record vanished".into())),
                Err(e) => Err(e),
            }
        }
    }

    /// Marks the lead withdrawn whatever its state (a tombstone when no record exists yet),
    /// once. Returns the record as stored; its `withdrawal.from` tells whether a buyer
    /// already has the lead.
    fn withdraw(
        &self,
        lead_id: &str,
        session_id: &SessionId,
        withdrawal: &ConsentWithdrawal,
    ) -> impl Future<Output = Result<LeadRecord, StoreError>> + Send {
        async move {
            for _ in 0..WRITE_ATTEMPTS {
                let next = match self.lead(lead_id).await? {
                    None => LeadRecord::withdrawn_before_recorded(lead_id, session_id, withdrawal),
                    Some(current) => match current.withdrawn(withdrawal) {
                        Some(next) => next,
                        None => return Ok(current),
                    },
                };
                match self.put_lead(&next).await {
                    Ok(()) => {
                        return Ok(LeadRecord {
                            version: next.version + 1,
                            ..next
                        });
                    }
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(StoreError::Conflict)
        }
    }
}

/// Conditional writes of one item retry this often when a concurrent writer keeps winning.
const WRITE_ATTEMPTS: usize = 8;

/// One received message; `receipt` acknowledges exactly this delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub receipt: String,
    pub receive_count: u32,
    pub lead: QueuedLead,
}

/// Deliveries of one message before the queue moves it to the dead-letter queue (the SQS
/// redrive policy's `maxReceiveCount`; the embedded and in-memory queues do the same).
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// How long a published lead id is remembered for de-duplication (SQS FIFO: 5 minutes).
pub const DEDUP_WINDOW: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("message is corrupt: {0}")]
    Corrupt(String),
}

pub trait LeadQueue: Send + Sync + 'static {
    /// Publishes a lead. Publishing the same `lead_id` again within [`DEDUP_WINDOW`] is
    /// dropped by the queue (later it is a new message), so a consumer must still be
    /// idempotent per lead id: the router's conditional write sells a lead at most once.
    fn publish(&self, lead: &QueuedLead) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Takes up to `max` visible messages and hides them for `visibility`. A message
    /// received [`MAX_RECEIVE_COUNT`] times and still not acknowledged moves to the
    /// dead-letter queue instead of coming back.
    fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> impl Future<Output = Result<Vec<Delivery>, QueueError>> + Send;

    /// Deletes the message of this delivery (a stale receipt is ignored).
    fn ack(&self, receipt: &str) -> impl Future<Output = Result<(), QueueError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache unavailable: {0}")]
    Unavailable(String),
}

/// Hot state. Callers treat every error as a miss: the system works without a cache.
pub trait Cache: Send + Sync + 'static {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<String>, CacheError>> + Send;
    fn set(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), CacheError>> + Send;
    /// Adds `by` to a counter (created at 0 with `ttl`) and returns the new value.
    fn incr(
        &self,
        key: &str,
        by: i64,
        ttl: Duration,
    ) -> impl Future<Output = Result<i64, CacheError>> + Send;
}
