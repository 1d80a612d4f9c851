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
use crate::domain::buyer::{Buyer, BuyerId};
use crate::domain::conversation::{Conversation, SessionId};
use crate::domain::feedback::{
    FeedbackChange, FeedbackRecord, FeedbackRefused, FeedbackType, TrainingExample,
    statement_month, training_day,
};
use crate::domain::lead::LeadRecord;
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

#[derive(Default)]
pub struct MemoryStore {
    conversations: Mutex<HashMap<String, Conversation>>,
    models: Mutex<(BTreeMap<u32, ScoringModel>, Option<u32>)>,
    /// Lead records, buyer counters, ledger and contact claims change together in a sale,
    /// so one lock holds them all.
    sales: Mutex<SalesState>,
    buyers: Mutex<BTreeMap<BuyerId, Buyer>>,
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

impl ConversationStore for MemoryStore {
    async fn load_conversation(&self, id: &SessionId) -> Result<Option<Conversation>, StoreError> {
        Ok(lock(&self.conversations).get(id.as_str()).cloned())
    }

    async fn save_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut all = lock(&self.conversations);
        let stored = all
            .get(conversation.session_id.as_str())
            .map_or(0, |c| c.version);
        if stored != conversation.version {
            return Err(StoreError::Conflict);
        }
        let mut saved = conversation.clone();
        saved.version += 1;
        all.insert(saved.session_id.as_str().to_owned(), saved);
        Ok(())
    }
}

impl ModelStore for MemoryStore {
    async fn current_model(&self) -> Result<Option<ScoringModel>, StoreError> {
        let models = lock(&self.models);
        Ok(models.1.and_then(|v| models.0.get(&v).cloned()))
    }

    async fn save_model(&self, model: &ScoringModel) -> Result<(), StoreError> {
        let mut models = lock(&self.models);
        if models.0.contains_key(&model.version) {
            return Err(StoreError::Conflict);
        }
        models.0.insert(model.version, model.clone());
        models.1 = Some(model.version);
        Ok(())
    }
}

impl LeadStore for MemoryStore {
    async fn lead(&self, lead_id: &str) -> Result<Option<LeadRecord>, StoreError> {
        Ok(lock(&self.sales).leads.get(lead_id).cloned())
    }

    async fn put_lead(&self, record: &LeadRecord) -> Result<(), StoreError> {
        let mut all = lock(&self.sales);
        if !all.check_version(record) {
            return Err(StoreError::Conflict);
        }
        all.store_record(record);
        Ok(())
    }
}

impl BuyerStore for MemoryStore {
    async fn buyers(&self) -> Result<Vec<Buyer>, StoreError> {
        Ok(lock(&self.buyers).values().cloned().collect())
    }

    async fn put_buyers(&self, buyers: &[Buyer]) -> Result<(), StoreError> {
        let mut all = lock(&self.buyers);
        for b in buyers {
            all.insert(b.id.clone(), b.clone());
        }
        Ok(())
    }

    async fn counters(&self, periods: &[CounterPeriod]) -> Result<Vec<BuyerCounters>, StoreError> {
        let s = lock(&self.sales);
        Ok(periods
            .iter()
            .map(|p| BuyerCounters {
                leads_today: s
                    .days
                    .get(&(p.buyer_id.clone(), p.day))
                    .copied()
                    .unwrap_or(0),
                spend_this_month: s
                    .months
                    .get(&(p.buyer_id.clone(), p.month.clone()))
                    .copied()
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn health(&self, buyer: &BuyerId) -> Result<BuyerHealth, StoreError> {
        Ok(lock(&self.health).get(buyer).copied().unwrap_or_default())
    }

    async fn record_delivery(
        &self,
        buyer: &BuyerId,
        delivered: bool,
        pause_after: u32,
        pause_until: DateTime<Utc>,
    ) -> Result<BuyerHealth, StoreError> {
        let mut all = lock(&self.health);
        let h = all.entry(buyer.clone()).or_default();
        *h = h.after_delivery(delivered, pause_after, pause_until);
        Ok(*h)
    }
}

impl SaleStore for MemoryStore {
    async fn sell(&self, sale: &Sale) -> Result<Result<(), SaleRefused>, StoreError> {
        let mut s = lock(&self.sales);
        if !s.check_version(&sale.record) {
            return Ok(Err(SaleRefused::LeadChanged));
        }
        let p = &sale.period;
        let day_key = (p.buyer_id.clone(), p.day);
        let month_key = (p.buyer_id.clone(), p.month.clone());
        let today = s.days.get(&day_key).copied().unwrap_or(0);
        let spent = s.months.get(&month_key).copied().unwrap_or_default();
        let entry_key = (sale.ledger.lead_id.clone(), sale.ledger.entry_id.clone());
        let held_elsewhere = sale.contact_keys.iter().any(|key| {
            s.claims
                .get(key)
                .is_some_and(|(lead, until)| sale.blocked_by_claim(lead, *until))
        });
        if let Some(refused) = sale.refusal(
            s.ledger.contains_key(&entry_key),
            today,
            spent,
            held_elsewhere,
        ) {
            return Ok(Err(refused));
        }
        s.store_record(&sale.record);
        s.days.insert(day_key, today + 1);
        s.months.insert(month_key, spent.saturating_add(sale.price));
        s.ledger.insert(entry_key, sale.ledger.clone());
        s.count(&analytics::ledger_tallies(&sale.ledger));
        for key in &sale.contact_keys {
            s.claims
                .insert(key.clone(), (sale.record.lead_id.clone(), sale.claim_until));
        }
        Ok(Ok(()))
    }

    async fn release(&self, release: &Release) -> Result<Result<(), SaleRefused>, StoreError> {
        let mut s = lock(&self.sales);
        if !s.check_version(&release.record) {
            return Ok(Err(SaleRefused::LeadChanged));
        }
        let entry_key = (
            release.ledger.lead_id.clone(),
            release.ledger.entry_id.clone(),
        );
        if s.ledger.contains_key(&entry_key) {
            return Ok(Err(SaleRefused::LeadChanged));
        }
        let p = &release.period;
        let day = s.days.entry((p.buyer_id.clone(), p.day)).or_insert(0);
        *day = day.saturating_sub(1);
        let month = s
            .months
            .entry((p.buyer_id.clone(), p.month.clone()))
            .or_default();
        *month = month.saturating_sub(release.price);
        s.store_record(&release.record);
        s.ledger.insert(entry_key, release.ledger.clone());
        s.count(&analytics::ledger_tallies(&release.ledger));
        for key in &release.contact_keys {
            if s.claims
                .get(key)
                .is_some_and(|(lead, _)| *lead == release.record.lead_id)
            {
                s.claims.remove(key);
            }
        }
        Ok(Ok(()))
    }

    async fn ledger(&self, lead_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let s = lock(&self.sales);
        Ok(s.ledger
            .range((lead_id.to_owned(), String::new())..)
            .take_while(|((lead, _), _)| lead == lead_id)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn contact_claim(
        &self,
        key: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        Ok(lock(&self.sales).claims.get(key).cloned())
    }
}

impl JobStore for MemoryStore {
    async fn claim(&self, job: &str, window: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(lock(&self.jobs)
            .0
            .insert(format!("{job}|{}", window.to_rfc3339())))
    }

    async fn release_claim(&self, job: &str, window: DateTime<Utc>) -> Result<(), StoreError> {
        lock(&self.jobs)
            .0
            .remove(&format!("{job}|{}", window.to_rfc3339()));
        Ok(())
    }

    async fn put_record(&self, kind: &str, id: &str, json: &str) -> Result<(), StoreError> {
        lock(&self.jobs)
            .1
            .entry((kind.to_owned(), id.to_owned()))
            .or_insert_with(|| json.to_owned());
        Ok(())
    }

    async fn records(&self, kind: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let jobs = lock(&self.jobs);
        Ok(jobs
            .1
            .range((kind.to_owned(), String::new())..)
            .take_while(|((k, _), _)| k == kind)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .take(limit)
            .collect())
    }
}

impl MetricsStore for MemoryStore {
    async fn add(&self, counters: &[Counter]) -> Result<(), StoreError> {
        lock(&self.sales).count(counters);
        Ok(())
    }

    async fn groups(&self, keys: &[String]) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        let s = lock(&self.sales);
        Ok(keys
            .iter()
            .map(|key| {
                let mut sums = BTreeMap::new();
                let from = (key.clone(), String::new(), String::new());
                for ((group, _, field), v) in s.metrics.range(from..) {
                    if group != key {
                        break;
                    }
                    *sums.entry(field.clone()).or_insert(0) += v;
                }
                sums
            })
            .collect())
    }

    async fn sealed(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<BTreeMap<String, i64>>>, StoreError> {
        let s = lock(&self.sales);
        Ok(keys.iter().map(|k| s.sealed.get(k).cloned()).collect())
    }

    async fn seal(&self, key: &str, totals: &BTreeMap<String, i64>) -> Result<(), StoreError> {
        lock(&self.sales)
            .sealed
            .entry(key.to_owned())
            .or_insert_with(|| totals.clone());
        Ok(())
    }
}

impl FeedbackStore for MemoryStore {
    async fn feedback_by_message(
        &self,
        buyer: &BuyerId,
        message_id: &str,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        let s = lock(&self.sales);
        Ok(s.messages
            .get(&(buyer.clone(), message_id.to_owned()))
            .and_then(|key| s.feedback.get(key))
            .cloned())
    }

    async fn feedback(
        &self,
        lead_id: &str,
        buyer: &BuyerId,
        kind: FeedbackType,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        Ok(lock(&self.sales)
            .feedback
            .get(&(lead_id.to_owned(), buyer.clone(), kind))
            .cloned())
    }

    async fn apply(
        &self,
        change: &FeedbackChange,
    ) -> Result<Result<(), FeedbackRefused>, StoreError> {
        let mut s = lock(&self.sales);
        let r = &change.record;
        let key = (r.lead_id.clone(), r.buyer_id.clone(), r.kind);
        let message = (r.buyer_id.clone(), r.message_id.clone());
        if s.feedback.contains_key(&key) || s.messages.contains_key(&message) {
            return Ok(Err(FeedbackRefused::AlreadyRecorded));
        }
        if !s.check_version(&change.lead) {
            return Ok(Err(FeedbackRefused::LeadChanged));
        }
        if let Some(line) = &change.ledger
            && s.ledger
                .contains_key(&(line.lead_id.clone(), line.entry_id.clone()))
        {
            return Ok(Err(FeedbackRefused::LeadChanged));
        }
        for t in &change.tallies {
            let current = s
                .tallies
                .get(&(t.key.clone(), t.field.clone()))
                .copied()
                .unwrap_or(0);
            if t.at_most.is_some_and(|max| current + t.by > max) {
                return Ok(Err(FeedbackRefused::LimitReached));
            }
        }
        s.store_record(&change.lead);
        if let Some(line) = &change.ledger {
            s.ledger
                .insert((line.lead_id.clone(), line.entry_id.clone()), line.clone());
        }
        for t in &change.tallies {
            *s.tallies
                .entry((t.key.clone(), t.field.clone()))
                .or_insert(0) += t.by;
        }
        s.count(&analytics::feedback_tallies(r, change.ledger.as_ref()));
        s.training.push(change.training.clone());
        s.messages.insert(message, key.clone());
        s.feedback.insert(key, r.clone());
        Ok(Ok(()))
    }

    async fn tallies(&self, key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        Ok(lock(&self.sales)
            .tallies
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|((_, field), n)| (field.clone(), *n))
            .collect())
    }

    async fn buyer_ledger(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut lines: Vec<LedgerEntry> = lock(&self.sales)
            .ledger
            .values()
            .filter(|e| e.buyer_id == *buyer && statement_month(e.at) == month)
            .cloned()
            .collect();
        lines.sort_by(|a, b| (a.at, &a.lead_id, &a.entry_id).cmp(&(b.at, &b.lead_id, &b.entry_id)));
        Ok(lines)
    }

    async fn buyer_feedback(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<FeedbackRecord>, StoreError> {
        let mut all: Vec<FeedbackRecord> = lock(&self.sales)
            .feedback
            .values()
            .filter(|f| f.buyer_id == *buyer && f.month == month)
            .cloned()
            .collect();
        all.sort_by(|a, b| (a.received_at, &a.feedback_id).cmp(&(b.received_at, &b.feedback_id)));
        Ok(all)
    }

    async fn training_examples(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Vec<TrainingExample>, StoreError> {
        Ok(lock(&self.sales)
            .training
            .iter()
            .filter(|t| training_day(t.recorded_at) == day)
            .cloned()
            .collect())
    }
}

struct QueuedMessage {
    seq: u64,
    lead: QueuedLead,
    visible_at: DateTime<Utc>,
    receive_count: u32,
}

#[derive(Default)]
struct QueueState {
    next_seq: u64,
    /// In publish order (seq ascending).
    messages: BTreeMap<u64, QueuedMessage>,
    /// Lead id → when it was last published, for the de-duplication window.
    published: HashMap<String, DateTime<Utc>>,
    dead: Vec<QueuedLead>,
}

pub struct MemoryQueue {
    state: Mutex<QueueState>,
    clock: Clock,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        MemoryQueue::with_clock(system_clock())
    }
}

impl MemoryQueue {
    pub fn new() -> MemoryQueue {
        MemoryQueue::default()
    }

    pub fn with_clock(clock: Clock) -> MemoryQueue {
        MemoryQueue {
            state: Mutex::default(),
            clock,
        }
    }

    /// Messages waiting (visible or in flight).
    pub fn depth(&self) -> usize {
        lock(&self.state).messages.len()
    }

    /// The dead-letter queue's messages, oldest first.
    pub fn dead_letters(&self) -> Vec<QueuedLead> {
        lock(&self.state).dead.clone()
    }
}

impl LeadQueue for MemoryQueue {
    async fn publish(&self, lead: &QueuedLead) -> Result<(), QueueError> {
        let now = (self.clock)();
        let mut q = lock(&self.state);
        let dedup = lead.dedup_id();
        if q.published
            .get(&dedup)
            .is_some_and(|at| now - *at < as_chrono(DEDUP_WINDOW))
        {
            return Ok(());
        }
        q.published.insert(dedup, now);
        let seq = q.next_seq;
        q.next_seq += 1;
        q.messages.insert(
            seq,
            QueuedMessage {
                seq,
                lead: lead.clone(),
                visible_at: now,
                receive_count: 0,
            },
        );
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let now = (self.clock)();
        let mut guard = lock(&self.state);
        let q = &mut *guard;
        let mut out = Vec::new();
        let mut dead = Vec::new();
        for m in q.messages.values_mut() {
            if out.len() >= max {
                break;
            }
            if m.visible_at > now {
                continue;
            }
            if m.receive_count >= MAX_RECEIVE_COUNT {
                dead.push(m.seq);
                continue;
            }
            m.visible_at = now + as_chrono(visibility);
            m.receive_count += 1;
            out.push(Delivery {
                receipt: receipt(m.seq, m.receive_count),
                receive_count: m.receive_count,
                lead: m.lead.clone(),
            });
        }
        for seq in dead {
            if let Some(m) = q.messages.remove(&seq) {
                q.dead.push(m.lead);
            }
        }
        Ok(out)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let Some((seq, count)) = parse_receipt(receipt) else {
            return Ok(());
        };
        let mut q = lock(&self.state);
        if q.messages
            .get(&seq)
            .is_some_and(|m| m.receive_count == count)
        {
            q.messages.remove(&seq);
        }
        Ok(())
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
