//! The backends a deployment runs on, as one bundle. A function asks the bundle for the
//! ports it uses; adding a port changes this trait and the bundles in `adapters/`, not the
//! signature of every function.

use crate::config::Config;
use crate::ports::{
    BuyerStore, Cache, ConversationStore, FeedbackStore, JobStore, LeadQueue, LeadStore,
    MetricsStore, ModelStore, SaleStore,
};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Every port of one deployment: AWS (DynamoDB, SQS, Redis), embedded (one redb file) or
/// in-memory (tests). Built once per process (a Lambda's cold start, `aurum serve`);
/// clones share the same clients.
pub trait Backend: Clone + Send + Sync + 'static {
    type Conversations: ConversationStore;
    type Models: ModelStore;
    type Leads: LeadStore;
    type Buyers: BuyerStore;
    type Sales: SaleStore;
    type Feedback: FeedbackStore;
    type Metrics: MetricsStore;
    type Jobs: JobStore;
    type Queue: LeadQueue;
    type Cache: Cache;

    fn conversations(&self) -> Arc<Self::Conversations>;
    fn models(&self) -> Arc<Self::Models>;
    fn leads(&self) -> Arc<Self::Leads>;
    fn buyers(&self) -> Arc<Self::Buyers>;
    fn sales(&self) -> Arc<Self::Sales>;
    fn feedback(&self) -> Arc<Self::Feedback>;
    fn metrics(&self) -> Arc<Self::Metrics>;
    fn jobs(&self) -> Arc<Self::Jobs>;
    fn queue(&self) -> Arc<Self::Queue>;
    fn cache(&self) -> Arc<Self::Cache>;
    /// The time source every use case reads (tests pin it).
    fn clock(&self) -> Clock;
    /// The deployment's settings (targets, routing strategy, limits), read once at start.
    fn config(&self) -> &Config;
}
