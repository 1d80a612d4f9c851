//! In-memory adapters for tests: same semantics as the real ones (conditional writes; the
//! queue's de-duplication window, visibility timeout, receive count and dead letters),
//! nothing persisted. Time comes from the backend's clock, so tests move it instead of
//! sleeping.

use crate::adapters::local_queue::{as_chrono, parse_receipt, receipt};
pub use crate::adapters::process_cache::MemoryCache;
use crate::adapters::process_cache::lock;
use crate::backend::{Backend, Clock, system_clock};
use crate::config::{BackendKind, Config};
use crate::domain::analytics::{self, Counter};
use crate::domain::audit::AuditEntry;
use crate::domain::buyer::{Buyer, BuyerId};
use crate::domain::conversation::{Conversation, SessionId};
use crate::domain::feedback::{
    FeedbackChange, FeedbackRecord, FeedbackRefused, FeedbackType, TrainingExample,
    statement_month, training_day,
};
use crate::domain::lead::{LeadRecord, LeadState};
use crate::domain::sale::{BuyerCounters, CounterPeriod, LedgerEntry, Release, Sale, SaleRefused};
use crate::domain::scoring::ScoringModel;
use crate::ports::{
    BuyerHealth, BuyerStore, ConversationStore, DEDUP_WINDOW, Delivery, FeedbackStore, JobStore,
    LeadQueue, LeadStore, MAX_RECEIVE_COUNT, MetricsStore, ModelStore, QueueError, QueuedLead,
    SaleStore, StoreError,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod buyers;
mod conversations;
mod feedback;
mod jobs;
mod leads;
mod metrics;
mod queue;
mod sales;

pub use queue::MemoryQueue;

#[derive(Default)]
pub struct MemoryStore {
    conversations: Mutex<HashMap<String, Conversation>>,
    models: Mutex<(BTreeMap<u32, ScoringModel>, Option<u32>)>,
    /// Lead records, buyer counters, ledger and contact claims change together in a sale,
    /// so one lock holds them all.
    sales: Mutex<SalesState>,
    buyers: Mutex<BTreeMap<BuyerId, Buyer>>,
    /// The sales team's changes, oldest first.
    audit: Mutex<Vec<AuditEntry>>,
    health: Mutex<HashMap<BuyerId, BuyerHealth>>,
    /// Job claims `job|window`, and job records by (kind, id).
    jobs: Mutex<JobState>,
}

/// Job claims `job|window`, and job records by (kind, id).
type JobState = (
    std::collections::HashSet<String>,
    BTreeMap<(String, String), String>,
);

#[derive(Default)]
struct SalesState {
    leads: HashMap<String, LeadRecord>,
    days: HashMap<(BuyerId, chrono::NaiveDate), u32>,
    months: HashMap<(BuyerId, String), crate::domain::money::Cents>,
    ledger: BTreeMap<(String, String), LedgerEntry>,
    claims: HashMap<String, (String, DateTime<Utc>)>,
    feedback: BTreeMap<(String, BuyerId, FeedbackType), FeedbackRecord>,
    messages: HashMap<(BuyerId, String), (String, BuyerId, FeedbackType)>,
    tallies: BTreeMap<(String, String), i64>,
    training: Vec<TrainingExample>,
    /// Analytics counters by (group, slot, field), and sealed day totals.
    metrics: BTreeMap<(String, String, String), i64>,
    sealed: HashMap<String, BTreeMap<String, i64>>,
}

impl SalesState {
    fn check_version(&self, record: &LeadRecord) -> bool {
        self.leads.get(&record.lead_id).map_or(0, |r| r.version) == record.version
    }

    fn count(&mut self, counters: &[Counter]) {
        for c in counters {
            *self
                .metrics
                .entry((c.group.clone(), c.slot.clone(), c.field.clone()))
                .or_insert(0) += c.by;
        }
    }

    fn store_record(&mut self, record: &LeadRecord) {
        let mut saved = record.clone();
        saved.version += 1;
        self.leads.insert(saved.lead_id.clone(), saved);
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

/// Every port in memory: the backend of unit and handler tests.
#[derive(Clone)]
pub struct MemoryBackend {
    pub store: Arc<MemoryStore>,
    pub queue: Arc<MemoryQueue>,
    pub cache: Arc<MemoryCache>,
    pub clock: Clock,
    pub config: Arc<Config>,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend::with_clock(system_clock())
    }
}

impl MemoryBackend {
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    /// A backend whose queue and use cases read `clock`.
    pub fn with_clock(clock: Clock) -> MemoryBackend {
        MemoryBackend {
            store: Arc::new(MemoryStore::new()),
            queue: Arc::new(MemoryQueue::with_clock(Arc::clone(&clock))),
            cache: Arc::new(MemoryCache::new()),
            clock,
            config: Arc::new(Config::defaults(BackendKind::Embedded)),
        }
    }
}

impl Backend for MemoryBackend {
    type Conversations = MemoryStore;
    type Models = MemoryStore;
    type Leads = MemoryStore;
    type Buyers = MemoryStore;
    type Sales = MemoryStore;
    type Feedback = MemoryStore;
    type Metrics = MemoryStore;
    type Jobs = MemoryStore;
    type Queue = MemoryQueue;
    type Cache = MemoryCache;

    fn conversations(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.store)
    }
    fn models(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.store)
    }
    fn leads(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.store)
    }
    fn buyers(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.store)
    }
    fn sales(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.store)
    }
    fn feedback(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.store)
    }
    fn metrics(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.store)
    }
    fn jobs(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.store)
    }
    fn queue(&self) -> Arc<MemoryQueue> {
        Arc::clone(&self.queue)
    }
    fn cache(&self) -> Arc<MemoryCache> {
        Arc::clone(&self.cache)
    }
    fn clock(&self) -> Clock {
        Arc::clone(&self.clock)
    }
    fn config(&self) -> &Config {
        &self.config
    }
}
