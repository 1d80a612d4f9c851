//! The embedded backend: one redb file with ACID transactions. Conditional writes and
//! exactly-once queue inserts happen inside a write transaction, so a crash loses nothing
//! that was acknowledged.

use crate::adapters::local_queue::{as_chrono, parse_receipt, receipt};
use crate::adapters::process_cache::MemoryCache;
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
use crate::domain::money::Cents;
use crate::domain::sale::{BuyerCounters, CounterPeriod, LedgerEntry, Release, Sale, SaleRefused};
use crate::domain::scoring::ScoringModel;
use crate::ports::{
    BuyerHealth, BuyerStore, ConversationStore, DEDUP_WINDOW, Delivery, FeedbackStore, JobStore,
    LeadQueue, LeadStore, MAX_RECEIVE_COUNT, MetricsStore, ModelStore, QueueError, QueuedLead,
    SaleStore, StoreError,
};
use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

mod buyers;
mod conversations;
mod feedback;
mod jobs;
mod leads;
mod metrics;
mod queue;
mod sales;

const CONVERSATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("conversations");
const MODELS: TableDefinition<u32, &[u8]> = TableDefinition::new("scoring_models");
const SETTINGS: TableDefinition<&str, u32> = TableDefinition::new("settings");
const LEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("leads");
/// The ids of the leads in the `waiting` state (kept by every lead write).
const WAITING: TableDefinition<&str, u8> = TableDefinition::new("waiting_leads");
const BUYERS: TableDefinition<&str, &[u8]> = TableDefinition::new("buyers");
/// Audit entry id (time-ordered) → the sales team's change (JSON).
const AUDIT: TableDefinition<&str, &[u8]> = TableDefinition::new("audit");
/// `buyer|YYYY-MM-DD` → leads sold that local day.
const BUYER_DAYS: TableDefinition<&str, u32> = TableDefinition::new("buyer_days");
/// `buyer|YYYY-MM` → cents spent that local month.
const BUYER_MONTHS: TableDefinition<&str, i64> = TableDefinition::new("buyer_months");
const BUYER_HEALTH: TableDefinition<&str, &[u8]> = TableDefinition::new("buyer_health");
/// `lead_id|entry_id` → one append-only ledger line.
const LEDGER: TableDefinition<&str, &[u8]> = TableDefinition::new("ledger");
/// Contact key → the lead holding it and until when.
const CLAIMS: TableDefinition<&str, &[u8]> = TableDefinition::new("contact_claims");
/// `lead|buyer|type` → the feedback record.
const FEEDBACK: TableDefinition<&str, &[u8]> = TableDefinition::new("feedback");
/// `buyer|webhook id` → the `FEEDBACK` key of the message's feedback.
const FEEDBACK_MESSAGES: TableDefinition<&str, &str> = TableDefinition::new("feedback_messages");
/// `tally key|field` → counter.
const TALLIES: TableDefinition<&str, i64> = TableDefinition::new("tallies");
/// `group|slot|field` → analytics counter (`domain::analytics`).
const METRICS: TableDefinition<&str, i64> = TableDefinition::new("metrics");
/// `job|window` → claimed.
const JOB_CLAIMS: TableDefinition<&str, u8> = TableDefinition::new("job_claims");
/// `kind|id` → a job record (JSON).
const JOB_RECORDS: TableDefinition<&str, &str> = TableDefinition::new("job_records");
/// Day key → the sealed totals of a finished day (JSON).
const SEALED_DAYS: TableDefinition<&str, &[u8]> = TableDefinition::new("sealed_days");
/// `YYYY-MM-DD|lead|buyer|type` (New York day) → one training example.
const TRAINING: TableDefinition<&str, &[u8]> = TableDefinition::new("training_examples");
/// Queue messages by publish sequence number (FIFO order).
const QUEUE_MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("lead_messages");
/// Lead id → unix milliseconds of its last publish, for the de-duplication window.
const QUEUE_PUBLISHED: TableDefinition<&str, i64> = TableDefinition::new("lead_dedup");
/// Messages delivered `MAX_RECEIVE_COUNT` times without an acknowledgement.
const QUEUE_DEAD: TableDefinition<u64, &[u8]> = TableDefinition::new("lead_dead_letters");

/// Adds analytics counters inside an open write transaction.
fn count_in(txn: &redb::WriteTransaction, counters: &[Counter]) -> Result<(), StoreError> {
    let mut table = txn.open_table(METRICS).map_err(unavailable)?;
    for c in counters {
        let key = format!("{}|{}|{}", c.group, c.slot, c.field);
        let current = table
            .get(key.as_str())
            .map_err(unavailable)?
            .map_or(0, |v| v.value());
        table
            .insert(key.as_str(), current + c.by)
            .map_err(unavailable)?;
    }
    Ok(())
}

const CURRENT_MODEL: &str = "current_model_version";
const FILE_NAME: &str = "aurum.redb";

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    clock: Clock,
    commits: GroupCommit,
}

/// A change for the group commit. It may fail with `Conflict` or `Corrupt` only before it
/// changed anything; any other failure aborts the whole batch.
type Change = Box<dyn FnOnce(&redb::WriteTransaction) -> Result<(), StoreError> + Send>;

struct PendingChange {
    change: Change,
    done: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

/// The most changes one commit takes.
const MAX_GROUP: usize = 512;

/// Group commit of the hot writes (a turn's conversation and its counters, the lead queue,
/// lead records, sales and releases, delivery health): one thread takes every change
/// waiting and applies them in one write transaction, with one durable commit (fsync) for
/// all; each caller is answered after that commit, so a turn answered is a turn stored.
/// Under load many writes share an fsync; alone, a change commits at once. redb has one
/// writer at a time, so a write in a transaction of its own would hold up every turn
/// behind its fsync: only the rare writes (models, buyers, job claims, feedback, whose
/// refusals rely on dropping their own transaction) still take one.
#[derive(Clone)]
struct GroupCommit {
    queue: std::sync::mpsc::Sender<PendingChange>,
}

impl GroupCommit {
    fn start(db: std::sync::Weak<Database>) -> Result<GroupCommit, StoreError> {
        let (queue, changes) = std::sync::mpsc::channel::<PendingChange>();
        std::thread::Builder::new()
            .name("aurum-group-commit".into())
            .spawn(move || {
                // Ends when every store handle (every sender) is gone.
                while let Ok(first) = changes.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_GROUP {
                        match changes.try_recv() {
                            Ok(more) => batch.push(more),
                            Err(_) => break,
                        }
                    }
                    commit_group(&db, batch);
                }
            })
            .map_err(unavailable)?;
        Ok(GroupCommit { queue })
    }

    /// Queues `change` for the next commit without waiting for it (its result is not
    /// reported): for counts, which [`GroupCommit::barrier`] makes visible to a reader.
    fn submit(&self, change: Change) -> Result<(), StoreError> {
        let (done, _ignored) = tokio::sync::oneshot::channel();
        self.queue
            .send(PendingChange { change, done })
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))
    }

    /// Waits until every change queued before this call is committed.
    async fn barrier(&self) -> Result<(), StoreError> {
        self.apply(Box::new(|_| Ok(()))).await
    }

    async fn apply(&self, change: Change) -> Result<(), StoreError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send(PendingChange { change, done })
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the commit was abandoned".into()))?
    }

    /// Runs `work` in the next group commit and returns its answer once that commit is
    /// durable. Like every change, `work` may fail with anything but `Unavailable` only
    /// before it wrote (a refusal is an answer, not a failure); an `Unavailable` failure
    /// aborts the whole batch.
    async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: GroupError,
        F: FnOnce(&WriteTransaction) -> Result<T, E> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let committed = self.apply(Box::new(move |txn| {
            let result = work(txn);
            let abort = result.as_ref().err().and_then(GroupError::aborts);
            let _ = answer.send(result);
            abort.map_or(Ok(()), |why| Err(StoreError::Unavailable(why)))
        }));
        match (committed.await, answered.await) {
            (Ok(()), Ok(result)) => result,
            // The work's own failure (or refusal: it wrote nothing) says more than the batch's.
            (Err(_), Ok(Err(own))) => Err(own),
            (Err(e), _) => Err(E::from_store(e)),
            (Ok(()), Err(_)) => Err(E::from_store(StoreError::Unavailable(
                "the commit was abandoned".into(),
            ))),
        }
    }
}

/// The errors of the work a group commit runs: which of them abort the batch.
trait GroupError: Send + 'static {
    fn from_store(e: StoreError) -> Self;
    /// `Some(reason)` when the work may have written part of its change.
    fn aborts(&self) -> Option<String>;
}

impl GroupError for StoreError {
    fn from_store(e: StoreError) -> Self {
        e
    }
    fn aborts(&self) -> Option<String> {
        matches!(self, StoreError::Unavailable(_)).then(|| self.to_string())
    }
}

impl GroupError for QueueError {
    fn from_store(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(why) => QueueError::Corrupt(why),
            other => QueueError::Unavailable(other.to_string()),
        }
    }
    fn aborts(&self) -> Option<String> {
        matches!(self, QueueError::Unavailable(_)).then(|| self.to_string())
    }
}

fn commit_group(db: &std::sync::Weak<Database>, batch: Vec<PendingChange>) {
    let fail_all = |batch: Vec<PendingChange>, why: String| {
        for p in batch {
            let _ = p.done.send(Err(StoreError::Unavailable(why.clone())));
        }
    };
    let Some(db) = db.upgrade() else {
        return fail_all(batch, "the store is closed".into());
    };
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => return fail_all(batch, e.to_string()),
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut waiting: Vec<tokio::sync::oneshot::Sender<Result<(), StoreError>>> =
        Vec::with_capacity(batch.len());
    for p in batch {
        // A change that panics may have written half of itself: the batch is abandoned, and
        // the thread lives on for the next one.
        let change = p.change;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change(&txn)))
            .unwrap_or_else(|_| Err(StoreError::Unavailable("a store change failed".into())));
        if let Err(e @ StoreError::Unavailable(_)) = &result {
            // Maybe half applied: nothing of this batch is committed.
            let why = e.to_string();
            drop(txn);
            let _ = p.done.send(result);
            for w in waiting {
                let _ = w.send(Err(StoreError::Unavailable(why.clone())));
            }
            return;
        }
        results.push(result);
        waiting.push(p.done);
    }
    match txn.commit() {
        Ok(()) => {
            for (done, result) in waiting.into_iter().zip(results) {
                let _ = done.send(result);
            }
        }
        Err(e) => {
            let why = e.to_string();
            for done in waiting {
                let _ = done.send(Err(StoreError::Unavailable(why.clone())));
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredMessage {
    seq: u64,
    lead: QueuedLead,
    /// Unix milliseconds before which the message stays hidden.
    visible_at_ms: i64,
    receive_count: u32,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn queue_unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

impl EmbeddedStore {
    /// Opens (or creates) the database in `dir`, creating the directory if needed.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        EmbeddedStore::open_with_clock(dir, system_clock())
    }

    /// As [`EmbeddedStore::open`], with the queue's visibility and de-duplication timed
    /// by `clock`.
    pub fn open_with_clock(dir: &Path, clock: Clock) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
        let db = Database::create(dir.join(FILE_NAME)).map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(CONVERSATIONS).map_err(unavailable)?;
            txn.open_table(MODELS).map_err(unavailable)?;
            txn.open_table(SETTINGS).map_err(unavailable)?;
            txn.open_table(LEADS).map_err(unavailable)?;
            txn.open_table(WAITING).map_err(unavailable)?;
            txn.open_table(BUYERS).map_err(unavailable)?;
            txn.open_table(AUDIT).map_err(unavailable)?;
            txn.open_table(BUYER_DAYS).map_err(unavailable)?;
            txn.open_table(BUYER_MONTHS).map_err(unavailable)?;
            txn.open_table(METRICS).map_err(unavailable)?;
            txn.open_table(SEALED_DAYS).map_err(unavailable)?;
            txn.open_table(JOB_CLAIMS).map_err(unavailable)?;
            txn.open_table(JOB_RECORDS).map_err(unavailable)?;
            txn.open_table(BUYER_HEALTH).map_err(unavailable)?;
            txn.open_table(LEDGER).map_err(unavailable)?;
            txn.open_table(CLAIMS).map_err(unavailable)?;
            txn.open_table(FEEDBACK).map_err(unavailable)?;
            txn.open_table(FEEDBACK_MESSAGES).map_err(unavailable)?;
            txn.open_table(TALLIES).map_err(unavailable)?;
            txn.open_table(TRAINING).map_err(unavailable)?;
            txn.open_table(QUEUE_MESSAGES).map_err(unavailable)?;
            txn.open_table(QUEUE_PUBLISHED).map_err(unavailable)?;
            txn.open_table(QUEUE_DEAD).map_err(unavailable)?;
        }
        txn.commit().map_err(unavailable)?;
        let db = Arc::new(db);
        Ok(EmbeddedStore {
            commits: GroupCommit::start(Arc::downgrade(&db))?,
            db,
            clock,
        })
    }

    /// The dead-letter queue's messages, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<QueuedLead>, QueueError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(queue_unavailable)?;
            let dead = txn.open_table(QUEUE_DEAD).map_err(queue_unavailable)?;
            let mut out = Vec::new();
            for entry in dead.iter().map_err(queue_unavailable)? {
                let (_, bytes) = entry.map_err(queue_unavailable)?;
                let m: StoredMessage = serde_json::from_slice(bytes.value())
                    .map_err(|e| QueueError::Corrupt(crate::adapters::decode_failure(&e)))?;
                out.push(m.lead);
            }
            Ok(out)
        })
        .await
    }

    /// Moves up to `max` dead letters back to the lead queue, oldest first, each visible
    /// now with its receives counted afresh (an operator's redrive, after the cause was
    /// fixed). Returns their lead ids.
    pub async fn redrive_dead_letters(&self, max: usize) -> Result<Vec<String>, QueueError> {
        let now_ms = (self.clock)().timestamp_millis();
        self.commits
            .run(move |txn| {
                let mut dead = txn.open_table(QUEUE_DEAD).map_err(queue_unavailable)?;
                let mut moved = Vec::new();
                for entry in dead.iter().map_err(queue_unavailable)?.take(max) {
                    let (seq, bytes) = entry.map_err(queue_unavailable)?;
                    let mut m = decode(bytes.value())?;
                    m.receive_count = 0;
                    m.visible_at_ms = now_ms;
                    moved.push((seq.value(), m.lead.lead_id.clone(), encode(&m)?));
                }
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                let mut ids = Vec::with_capacity(moved.len());
                for (seq, lead_id, bytes) in moved {
                    dead.remove(seq).map_err(queue_unavailable)?;
                    messages
                        .insert(seq, bytes.as_slice())
                        .map_err(queue_unavailable)?;
                    ids.push(lead_id);
                }
                Ok(ids)
            })
            .await
    }

    /// Runs blocking database work off the async executor.
    async fn blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static + From<JoinFailure>,
        F: FnOnce(&Database) -> Result<T, E> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| E::from(JoinFailure(e.to_string())))?
    }
}

pub struct JoinFailure(String);

impl From<JoinFailure> for StoreError {
    fn from(e: JoinFailure) -> Self {
        StoreError::Unavailable(e.0)
    }
}

impl From<JoinFailure> for QueueError {
    fn from(e: JoinFailure) -> Self {
        QueueError::Unavailable(e.0)
    }
}

impl EmbeddedStore {
    /// One JSON value of `table` at `key`, in its own read transaction.
    async fn read_json<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        key: String,
    ) -> Result<Option<T>, StoreError> {
        // A point read of the page cache takes microseconds: read here rather than pay a
        // hand-off to the blocking pool.
        let txn = self.db.begin_read().map_err(unavailable)?;
        get_json(&txn.open_table(table).map_err(unavailable)?, &key)
    }
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(crate::adapters::decode_failure(&e))
}

/// The version of a stored record, read without decoding the rest.
#[derive(Deserialize)]
struct VersionOnly {
    version: u64,
}

/// Writes `record` as version + 1 inside `txn` if the stored version is `record.version`;
/// `false` (nothing written) when it is not.
fn put_lead_in(txn: &WriteTransaction, record: &LeadRecord) -> Result<bool, StoreError> {
    let mut table = txn.open_table(LEADS).map_err(unavailable)?;
    let stored_version = match table.get(record.lead_id.as_str()).map_err(unavailable)? {
        Some(bytes) => {
            serde_json::from_slice::<VersionOnly>(bytes.value())
                .map_err(corrupt)?
                .version
        }
        None => 0,
    };
    if stored_version != record.version {
        return Ok(false);
    }
    let mut saved = record.clone();
    saved.version += 1;
    let bytes = serde_json::to_vec(&saved).map_err(corrupt)?;
    table
        .insert(saved.lead_id.as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    let mut waiting = txn.open_table(WAITING).map_err(unavailable)?;
    if saved.state == LeadState::Waiting {
        waiting
            .insert(saved.lead_id.as_str(), 1)
            .map_err(unavailable)?;
    } else {
        waiting
            .remove(saved.lead_id.as_str())
            .map_err(unavailable)?;
    }
    Ok(true)
}

/// A sale (`sold`) or its release on the buyer's cap counts: one lead that local day and
/// `cents` that local month, added or taken back, never below zero.
fn adjust_caps_in(
    txn: &WriteTransaction,
    period: &CounterPeriod,
    sold: bool,
    cents: i64,
) -> Result<(), StoreError> {
    let mut days = txn.open_table(BUYER_DAYS).map_err(unavailable)?;
    let key = day_key(period);
    let today = days
        .get(key.as_str())
        .map_err(unavailable)?
        .map_or(0, |v| v.value());
    let today = if sold {
        today.saturating_add(1)
    } else {
        today.saturating_sub(1)
    };
    days.insert(key.as_str(), today).map_err(unavailable)?;
    let mut months = txn.open_table(BUYER_MONTHS).map_err(unavailable)?;
    let key = month_key(period);
    let spent = months
        .get(key.as_str())
        .map_err(unavailable)?
        .map_or(0, |v| v.value());
    let spent = if sold {
        spent.saturating_add(cents)
    } else {
        spent.saturating_sub(cents).max(0)
    };
    months.insert(key.as_str(), spent).map_err(unavailable)?;
    Ok(())
}

fn day_key(p: &CounterPeriod) -> String {
    format!("{}|{}", p.buyer_id, p.day)
}

fn month_key(p: &CounterPeriod) -> String {
    format!("{}|{}", p.buyer_id, p.month)
}

fn ledger_key(e: &LedgerEntry) -> String {
    format!("{}|{}", e.lead_id, e.entry_id)
}

#[derive(Serialize, Deserialize)]
struct Claim {
    lead_id: String,
    until: DateTime<Utc>,
}

fn feedback_key(lead_id: &str, buyer: &BuyerId, kind: FeedbackType) -> String {
    format!("{lead_id}|{buyer}|{}", kind.as_str())
}

fn get_feedback(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<FeedbackRecord>, StoreError> {
    get_json(table, key)
}

/// One JSON value of a string-keyed table, decoded without quoting it in errors.
fn get_json<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match table.get(key).map_err(unavailable)? {
        Some(bytes) => serde_json::from_slice(bytes.value())
            .map(Some)
            .map_err(corrupt),
        None => Ok(None),
    }
}

fn encode(m: &StoredMessage) -> Result<Vec<u8>, QueueError> {
    serde_json::to_vec(m).map_err(|e| QueueError::Corrupt(crate::adapters::decode_failure(&e)))
}

fn decode(bytes: &[u8]) -> Result<StoredMessage, QueueError> {
    serde_json::from_slice(bytes)
        .map_err(|e| QueueError::Corrupt(crate::adapters::decode_failure(&e)))
}

/// The backend of `aurum serve`: every port on one redb file, an in-process cache.
#[derive(Clone)]
pub struct EmbeddedBackend {
    pub store: Arc<EmbeddedStore>,
    pub cache: Arc<MemoryCache>,
    pub clock: Clock,
    pub config: Arc<Config>,
}

impl EmbeddedBackend {
    /// The database in `config.data_dir`, with the other settings of `config`.
    pub fn from_config(config: Config) -> Result<EmbeddedBackend, StoreError> {
        EmbeddedBackend::build(config, system_clock())
    }

    /// The database in `dir`, every other setting at its default.
    pub fn open(dir: &Path) -> Result<EmbeddedBackend, StoreError> {
        EmbeddedBackend::open_with_clock(dir, system_clock())
    }

    /// [`EmbeddedBackend::from_config`] reading time from `clock`.
    pub fn from_config_with_clock(
        config: Config,
        clock: Clock,
    ) -> Result<EmbeddedBackend, StoreError> {
        EmbeddedBackend::build(config, clock)
    }

    pub fn open_with_clock(dir: &Path, clock: Clock) -> Result<EmbeddedBackend, StoreError> {
        let mut config = Config::defaults(BackendKind::Embedded);
        config.data_dir = dir.to_owned();
        EmbeddedBackend::build(config, clock)
    }

    fn build(config: Config, clock: Clock) -> Result<EmbeddedBackend, StoreError> {
        Ok(EmbeddedBackend {
            store: Arc::new(EmbeddedStore::open_with_clock(
                &config.data_dir,
                Arc::clone(&clock),
            )?),
            cache: Arc::new(MemoryCache::new()),
            clock,
            config: Arc::new(config),
        })
    }
}

impl Backend for EmbeddedBackend {
    type Conversations = EmbeddedStore;
    type Models = EmbeddedStore;
    type Leads = EmbeddedStore;
    type Buyers = EmbeddedStore;
    type Sales = EmbeddedStore;
    type Feedback = EmbeddedStore;
    type Metrics = EmbeddedStore;
    type Jobs = EmbeddedStore;
    type Queue = EmbeddedStore;
    type Cache = MemoryCache;

    fn conversations(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
    }
    fn models(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
    }
    fn leads(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
    }
    fn buyers(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
    }
    fn sales(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
    }
    fn feedback(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
    }
    fn metrics(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
    }
    fn jobs(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
    }
    fn queue(&self) -> Arc<EmbeddedStore> {
        Arc::clone(&self.store)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::turn::fresh_conversation;

    fn store() -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        (dir, store)
    }

    #[tokio::test]
    async fn given_a_change_that_panics_when_committed_then_its_batch_fails_and_the_next_write_lands()
     {
        let (_dir, store) = store();
        let broken = store
            .commits
            .run(|_txn| -> Result<(), StoreError> { panic!("a broken change") })
            .await;
        assert!(
            matches!(broken, Err(StoreError::Unavailable(_))),
            "{broken:?}"
        );

        let id = SessionId::parse("after-a-panic").expect("id");
        let conversation = fresh_conversation(id.clone(), &[], Utc::now());
        store.save_conversation(&conversation).await.expect("saved");
        let stored = store.load_conversation(&id).await.expect("read");
        assert_eq!(stored.map(|c| c.version), Some(1));
    }

    #[tokio::test]
    async fn given_concurrent_saves_of_one_version_when_grouped_then_exactly_one_wins_and_the_rest_conflict()
     {
        let (_dir, store) = store();
        let id = SessionId::parse("raced").expect("id");
        let conversation = fresh_conversation(id.clone(), &[], Utc::now());
        let saves: Vec<_> = (0..32)
            .map(|_| {
                let (store, conversation) = (store.clone(), conversation.clone());
                tokio::spawn(async move { store.save_conversation(&conversation).await })
            })
            .collect();
        let mut won = 0;
        for save in saves {
            match save.await.expect("task") {
                Ok(()) => won += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(won, 1);
        let stored = store.load_conversation(&id).await.expect("read");
        assert_eq!(stored.map(|c| c.version), Some(1));
    }

    #[tokio::test]
    async fn given_forty_leads_published_at_once_when_received_and_acknowledged_then_each_is_delivered_once()
     {
        let (_dir, store) = store();
        let conversation = fresh_conversation(
            SessionId::parse("queue-source").expect("id"),
            &[],
            Utc::now(),
        );
        let lead = |n: usize| QueuedLead {
            schema: QueuedLead::SCHEMA,
            lead_id: format!("lead-{n}"),
            session_id: conversation.session_id.clone(),
            queued_at: Utc::now(),
            score: 80,
            tier: crate::domain::scoring::QualityTier::Premium,
            revenue_potential: Cents(10_000),
            conversion_probability: 0.5,
            model_version: 1,
            facts: conversation.facts.clone(),
            consent: None,
            withdrawn: None,
            factors: None,
            offer: 0,
        };
        let publishes: Vec<_> = (0..40)
            .map(|n| {
                let (store, lead) = (store.clone(), lead(n));
                tokio::spawn(async move { store.publish(&lead).await })
            })
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        let mut rounds = 0;
        for p in publishes {
            p.await.expect("task").expect("published");
        }
        while seen.len() < 40 && rounds < 100 {
            rounds += 1;
            let batch = store
                .receive(10, Duration::from_secs(60))
                .await
                .expect("received");
            for d in batch {
                assert!(seen.insert(d.lead.lead_id.clone()), "delivered twice");
                store.ack(&d.receipt).await.expect("acked");
            }
        }
        assert_eq!(seen.len(), 40);
        let empty = store.receive(10, Duration::ZERO).await.expect("received");
        assert!(empty.is_empty(), "acknowledged messages came back");
    }
}
