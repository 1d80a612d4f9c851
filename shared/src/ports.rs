//! Capabilities the use cases need from the outside world. Adapters in `adapters/`
//! implement them; the same contract tests run against every implementation.

use crate::domain::conversation::{ConsentEvidence, Conversation, LeadFacts, SessionId};
use crate::domain::money::Cents;
use crate::domain::scoring::{QualityTier, ScoringModel};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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

/// The body of a lead-queue message: everything the router needs, versioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedLead {
    pub schema: u8,
    pub lead_id: String,
    pub session_id: SessionId,
    pub queued_at: DateTime<Utc>,
    pub score: u8,
    pub tier: QualityTier,
    pub revenue_potential: Cents,
    pub conversion_probability: f64,
    pub model_version: u32,
    pub facts: LeadFacts,
    /// Proof of consent to be contacted, for the buyer.
    #[serde(default)]
    pub consent: Option<ConsentEvidence>,
}

impl QueuedLead {
    pub const SCHEMA: u8 = 1;
}

/// One received message; `receipt` acknowledges exactly this delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub receipt: String,
    pub receive_count: u32,
    pub lead: QueuedLead,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("message is corrupt: {0}")]
    Corrupt(String),
}

pub trait LeadQueue: Send + Sync + 'static {
    /// Publishes a lead. Publishing the same `lead_id` again is dropped by the queue (SQS
    /// FIFO: within its five-minute de-duplication window), so a consumer must still be
    /// idempotent per lead id: the router's conditional write sells a lead at most once.
    fn publish(&self, lead: &QueuedLead) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Takes up to `max` visible messages and hides them for `visibility`.
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
