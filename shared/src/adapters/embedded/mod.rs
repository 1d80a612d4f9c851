//! The embedded backend: one redb file with ACID transactions. Conditional writes and
//! exactly-once queue inserts happen inside a write transaction, so a crash loses nothing
//! that was acknowledged.

use crate::adapters::local_queue::{as_chrono, parse_receipt, receipt};
use crate::adapters::process_cache::MemoryCache;
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

const CONVERSATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("conversations");
const MODELS: TableDefinition<u32, &[u8]> = TableDefinition::new("scoring_models");
const SETTINGS: TableDefinition<&str, u32> = TableDefinition::new("settings");
const LEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("leads");
const BUYERS: TableDefinition<&str, &[u8]> = TableDefinition::new("buyers");
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
            txn.open_table(BUYERS).map_err(unavailable)?;
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

impl ConversationStore for EmbeddedStore {
    async fn load_conversation(&self, id: &SessionId) -> Result<Option<Conversation>, StoreError> {
        self.read_json(CONVERSATIONS, id.as_str().to_owned()).await
    }

    async fn save_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut saved = conversation.clone();
        self.commits
            .apply(Box::new(move |txn| {
                let mut table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
                let stored_version = match table
                    .get(saved.session_id.as_str())
                    .map_err(unavailable)?
                {
                    Some(bytes) => {
                        serde_json::from_slice::<VersionOnly>(bytes.value())
                            .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))?
                            .version
                    }
                    None => 0,
                };
                if stored_version != saved.version {
                    return Err(StoreError::Conflict);
                }
                saved.version += 1;
                let bytes = serde_json::to_vec(&saved)
                    .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))?;
                table
                    .insert(saved.session_id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
                Ok(())
            }))
            .await
    }
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u64,
}

impl ModelStore for EmbeddedStore {
    async fn current_model(&self) -> Result<Option<ScoringModel>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let settings = txn.open_table(SETTINGS).map_err(unavailable)?;
            let Some(version) = settings.get(CURRENT_MODEL).map_err(unavailable)? else {
                return Ok(None);
            };
            let models = txn.open_table(MODELS).map_err(unavailable)?;
            let Some(bytes) = models.get(version.value()).map_err(unavailable)? else {
                return Err(StoreError::Corrupt(
                    "current model version is missing".into(),
                ));
            };
            serde_json::from_slice(bytes.value())
                .map(Some)
                .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))
        })
        .await
    }

    async fn save_model(&self, model: &ScoringModel) -> Result<(), StoreError> {
        let model = model.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut models = txn.open_table(MODELS).map_err(unavailable)?;
                if models.get(model.version).map_err(unavailable)?.is_some() {
                    return Err(StoreError::Conflict);
                }
                let bytes = serde_json::to_vec(&model)
                    .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))?;
                models
                    .insert(model.version, bytes.as_slice())
                    .map_err(unavailable)?;
                let mut settings = txn.open_table(SETTINGS).map_err(unavailable)?;
                settings
                    .insert(CURRENT_MODEL, model.version)
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
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

impl JobStore for EmbeddedStore {
    async fn claim(&self, job: &str, window: DateTime<Utc>) -> Result<bool, StoreError> {
        let key = format!("{job}|{}", window.to_rfc3339());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let fresh = {
                let mut table = txn.open_table(JOB_CLAIMS).map_err(unavailable)?;
                let fresh = table.get(key.as_str()).map_err(unavailable)?.is_none();
                if fresh {
                    table.insert(key.as_str(), 1).map_err(unavailable)?;
                }
                fresh
            };
            txn.commit().map_err(unavailable)?;
            Ok(fresh)
        })
        .await
    }

    async fn release_claim(&self, job: &str, window: DateTime<Utc>) -> Result<(), StoreError> {
        let key = format!("{job}|{}", window.to_rfc3339());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            txn.open_table(JOB_CLAIMS)
                .map_err(unavailable)?
                .remove(key.as_str())
                .map_err(unavailable)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn put_record(&self, kind: &str, id: &str, json: &str) -> Result<(), StoreError> {
        let (key, json) = (format!("{kind}|{id}"), json.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(JOB_RECORDS).map_err(unavailable)?;
                if table.get(key.as_str()).map_err(unavailable)?.is_none() {
                    table
                        .insert(key.as_str(), json.as_str())
                        .map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn records(&self, kind: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let prefix = format!("{kind}|");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(JOB_RECORDS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (k, v) = entry.map_err(unavailable)?;
                if !k.value().starts_with(prefix.as_str()) {
                    break;
                }
                out.push(v.value().to_owned());
            }
            out.reverse();
            out.truncate(limit);
            Ok(out)
        })
        .await
    }
}

impl MetricsStore for EmbeddedStore {
    /// Activity counts are queued for the next group commit and not waited for: a turn
    /// waits for one durable commit (its conversation), not two. A count still queued when
    /// the process dies is lost (a count, never a turn); readers of the counters wait for
    /// every queued count first, so a count added is a count read.
    async fn add(&self, counters: &[Counter]) -> Result<(), StoreError> {
        let counters = counters.to_vec();
        self.commits
            .submit(Box::new(move |txn| count_in(txn, &counters)))
    }

    async fn groups(&self, keys: &[String]) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        self.commits.barrier().await?;
        let keys = keys.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(METRICS).map_err(unavailable)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let prefix = format!("{key}|");
                let mut sums = BTreeMap::new();
                for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                    let (k, v) = entry.map_err(unavailable)?;
                    let Some(rest) = k.value().strip_prefix(prefix.as_str()) else {
                        break;
                    };
                    let field = rest.split_once('|').map_or(rest, |(_, f)| f);
                    *sums.entry(field.to_owned()).or_insert(0) += v.value();
                }
                out.push(sums);
            }
            Ok(out)
        })
        .await
    }

    async fn sealed(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<BTreeMap<String, i64>>>, StoreError> {
        self.commits.barrier().await?;
        let keys = keys.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(SEALED_DAYS).map_err(unavailable)?;
            keys.iter().map(|k| get_json(&table, k)).collect()
        })
        .await
    }

    async fn seal(&self, key: &str, totals: &BTreeMap<String, i64>) -> Result<(), StoreError> {
        let (key, bytes) = (key.to_owned(), serde_json::to_vec(totals).map_err(corrupt)?);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(SEALED_DAYS).map_err(unavailable)?;
                if table.get(key.as_str()).map_err(unavailable)?.is_none() {
                    table
                        .insert(key.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}

impl LeadStore for EmbeddedStore {
    async fn lead(&self, lead_id: &str) -> Result<Option<LeadRecord>, StoreError> {
        self.read_json(LEADS, lead_id.to_owned()).await
    }

    async fn put_lead(&self, record: &LeadRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.commits
            .run(move |txn| match put_lead_in(txn, &record)? {
                true => Ok(()),
                false => Err(StoreError::Conflict),
            })
            .await
    }
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(crate::adapters::decode_failure(&e))
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

impl BuyerStore for EmbeddedStore {
    async fn buyers(&self) -> Result<Vec<Buyer>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(BUYERS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(unavailable)? {
                let (_, bytes) = entry.map_err(unavailable)?;
                out.push(serde_json::from_slice(bytes.value()).map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }

    async fn put_buyers(&self, buyers: &[Buyer]) -> Result<(), StoreError> {
        let buyers = buyers.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(BUYERS).map_err(unavailable)?;
                for b in &buyers {
                    let bytes = serde_json::to_vec(b).map_err(corrupt)?;
                    table
                        .insert(b.id.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn counters(&self, periods: &[CounterPeriod]) -> Result<Vec<BuyerCounters>, StoreError> {
        let periods = periods.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let days = txn.open_table(BUYER_DAYS).map_err(unavailable)?;
            let months = txn.open_table(BUYER_MONTHS).map_err(unavailable)?;
            let mut out = Vec::with_capacity(periods.len());
            for p in &periods {
                let leads_today = days
                    .get(day_key(p).as_str())
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value());
                let spend = months
                    .get(month_key(p).as_str())
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value());
                out.push(BuyerCounters {
                    leads_today,
                    spend_this_month: Cents(spend),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn health(&self, buyer: &BuyerId) -> Result<BuyerHealth, StoreError> {
        Ok(self
            .read_json(BUYER_HEALTH, buyer.to_string())
            .await?
            .unwrap_or_default())
    }

    async fn healths(&self, buyers: &[BuyerId]) -> Result<Vec<BuyerHealth>, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(BUYER_HEALTH).map_err(unavailable)?;
        buyers
            .iter()
            .map(|b| Ok(get_json(&table, b.as_str())?.unwrap_or_default()))
            .collect()
    }

    async fn record_delivery(
        &self,
        buyer: &BuyerId,
        delivered: bool,
        pause_after: u32,
        pause_until: DateTime<Utc>,
    ) -> Result<BuyerHealth, StoreError> {
        let id = buyer.to_string();
        self.commits
            .run(move |txn| {
                let mut table = txn.open_table(BUYER_HEALTH).map_err(unavailable)?;
                let current: BuyerHealth = match table.get(id.as_str()).map_err(unavailable)? {
                    Some(bytes) => serde_json::from_slice(bytes.value()).map_err(corrupt)?,
                    None => BuyerHealth::default(),
                };
                let next = current.after_delivery(delivered, pause_after, pause_until);
                let bytes = serde_json::to_vec(&next).map_err(corrupt)?;
                table
                    .insert(id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
                Ok(next)
            })
            .await
    }
}

impl SaleStore for EmbeddedStore {
    async fn sell(&self, sale: &Sale) -> Result<Result<(), SaleRefused>, StoreError> {
        let sale = sale.clone();
        self.commits
            .run(move |txn| {
                // Every check before any write; a refusal drops the transaction unapplied.
                let refused = {
                    let days = txn.open_table(BUYER_DAYS).map_err(unavailable)?;
                    let months = txn.open_table(BUYER_MONTHS).map_err(unavailable)?;
                    let ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                    let claims = txn.open_table(CLAIMS).map_err(unavailable)?;
                    let today = days
                        .get(day_key(&sale.period).as_str())
                        .map_err(unavailable)?
                        .map_or(0, |v| v.value());
                    let spent = Cents(
                        months
                            .get(month_key(&sale.period).as_str())
                            .map_err(unavailable)?
                            .map_or(0, |v| v.value()),
                    );
                    let mut duplicate = false;
                    for key in &sale.contact_keys {
                        if let Some(bytes) = claims.get(key.as_str()).map_err(unavailable)? {
                            let claim: Claim =
                                serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                            duplicate |= sale.blocked_by_claim(&claim.lead_id, claim.until);
                        }
                    }
                    let recorded = ledger
                        .get(ledger_key(&sale.ledger).as_str())
                        .map_err(unavailable)?
                        .is_some();
                    sale.refusal(recorded, today, spent, duplicate)
                };
                if let Some(refused) = refused {
                    return Ok(Err(refused));
                }
                let ledger_line = serde_json::to_vec(&sale.ledger).map_err(corrupt)?;
                let claim = serde_json::to_vec(&Claim {
                    lead_id: sale.record.lead_id.clone(),
                    until: sale.claim_until,
                })
                .map_err(corrupt)?;
                // The first write: nothing below fails but for the store itself.
                if !put_lead_in(txn, &sale.record)? {
                    return Ok(Err(SaleRefused::LeadChanged));
                }
                {
                    adjust_caps_in(txn, &sale.period, true, sale.price.0)?;
                    let mut ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                    ledger
                        .insert(ledger_key(&sale.ledger).as_str(), ledger_line.as_slice())
                        .map_err(unavailable)?;
                    let mut claims = txn.open_table(CLAIMS).map_err(unavailable)?;
                    for key in &sale.contact_keys {
                        claims
                            .insert(key.as_str(), claim.as_slice())
                            .map_err(unavailable)?;
                    }
                }
                count_in(txn, &analytics::ledger_tallies(&sale.ledger))?;
                Ok(Ok(()))
            })
            .await
    }

    async fn release(&self, release: &Release) -> Result<Result<(), SaleRefused>, StoreError> {
        let release = release.clone();
        self.commits
            .run(move |txn| {
                // Every read that can fail on the data before the first write.
                let mut held = Vec::with_capacity(release.contact_keys.len());
                {
                    let ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                    if ledger
                        .get(ledger_key(&release.ledger).as_str())
                        .map_err(unavailable)?
                        .is_some()
                    {
                        return Ok(Err(SaleRefused::LeadChanged));
                    }
                    let claims = txn.open_table(CLAIMS).map_err(unavailable)?;
                    for key in &release.contact_keys {
                        if let Some(bytes) = claims.get(key.as_str()).map_err(unavailable)? {
                            let claim: Claim =
                                serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                            if claim.lead_id == release.record.lead_id {
                                held.push(key.clone());
                            }
                        }
                    }
                }
                let ledger_line = serde_json::to_vec(&release.ledger).map_err(corrupt)?;
                if !put_lead_in(txn, &release.record)? {
                    return Ok(Err(SaleRefused::LeadChanged));
                }
                {
                    adjust_caps_in(txn, &release.period, false, release.price.0)?;
                    let mut ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                    ledger
                        .insert(ledger_key(&release.ledger).as_str(), ledger_line.as_slice())
                        .map_err(unavailable)?;
                    let mut claims = txn.open_table(CLAIMS).map_err(unavailable)?;
                    for key in &held {
                        claims.remove(key.as_str()).map_err(unavailable)?;
                    }
                }
                count_in(txn, &analytics::ledger_tallies(&release.ledger))?;
                Ok(Ok(()))
            })
            .await
    }

    async fn ledger(&self, lead_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let prefix = format!("{lead_id}|");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(LEDGER).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (key, bytes) = entry.map_err(unavailable)?;
                if !key.value().starts_with(prefix.as_str()) {
                    break;
                }
                out.push(serde_json::from_slice(bytes.value()).map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }

    async fn contact_claim(
        &self,
        key: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let claim: Option<Claim> = self.read_json(CLAIMS, key.to_owned()).await?;
        Ok(claim.map(|c| (c.lead_id, c.until)))
    }
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

impl FeedbackStore for EmbeddedStore {
    async fn feedback_by_message(
        &self,
        buyer: &BuyerId,
        message_id: &str,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        let message = format!("{buyer}|{message_id}");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let messages = txn.open_table(FEEDBACK_MESSAGES).map_err(unavailable)?;
            let Some(key) = messages.get(message.as_str()).map_err(unavailable)? else {
                return Ok(None);
            };
            let feedback = txn.open_table(FEEDBACK).map_err(unavailable)?;
            get_feedback(&feedback, key.value())
        })
        .await
    }

    async fn feedback(
        &self,
        lead_id: &str,
        buyer: &BuyerId,
        kind: FeedbackType,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        let key = feedback_key(lead_id, buyer, kind);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let feedback = txn.open_table(FEEDBACK).map_err(unavailable)?;
            get_feedback(&feedback, &key)
        })
        .await
    }

    async fn apply(
        &self,
        change: &FeedbackChange,
    ) -> Result<Result<(), FeedbackRefused>, StoreError> {
        let change = change.clone();
        self.blocking(move |db| {
            let r = &change.record;
            let key = feedback_key(&r.lead_id, &r.buyer_id, r.kind);
            let message = format!("{}|{}", r.buyer_id, r.message_id);
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut feedback = txn.open_table(FEEDBACK).map_err(unavailable)?;
                let mut messages = txn.open_table(FEEDBACK_MESSAGES).map_err(unavailable)?;
                if feedback.get(key.as_str()).map_err(unavailable)?.is_some()
                    || messages
                        .get(message.as_str())
                        .map_err(unavailable)?
                        .is_some()
                {
                    return Ok(Err(FeedbackRefused::AlreadyRecorded));
                }
                let bytes = serde_json::to_vec(r).map_err(corrupt)?;
                feedback
                    .insert(key.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
                messages
                    .insert(message.as_str(), key.as_str())
                    .map_err(unavailable)?;
            }
            // Returning before the commit drops the transaction: nothing above is kept.
            if !put_lead_in(&txn, &change.lead)? {
                return Ok(Err(FeedbackRefused::LeadChanged));
            }
            {
                let mut ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                if let Some(line) = &change.ledger {
                    let k = ledger_key(line);
                    if ledger.get(k.as_str()).map_err(unavailable)?.is_some() {
                        return Ok(Err(FeedbackRefused::LeadChanged));
                    }
                    let bytes = serde_json::to_vec(line).map_err(corrupt)?;
                    ledger
                        .insert(k.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
                let mut tallies = txn.open_table(TALLIES).map_err(unavailable)?;
                for t in &change.tallies {
                    let k = format!("{}|{}", t.key, t.field);
                    let current = tallies
                        .get(k.as_str())
                        .map_err(unavailable)?
                        .map_or(0, |v| v.value());
                    let next = current.saturating_add(t.by);
                    if t.at_most.is_some_and(|max| next > max) {
                        return Ok(Err(FeedbackRefused::LimitReached));
                    }
                    tallies.insert(k.as_str(), next).map_err(unavailable)?;
                }
                let mut training = txn.open_table(TRAINING).map_err(unavailable)?;
                let example = &change.training;
                let k = format!("{}|{}", training_day(example.recorded_at), key);
                let bytes = serde_json::to_vec(example).map_err(corrupt)?;
                training
                    .insert(k.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
            }
            count_in(
                &txn,
                &analytics::feedback_tallies(&change.record, change.ledger.as_ref()),
            )?;
            txn.commit().map_err(unavailable)?;
            Ok(Ok(()))
        })
        .await
    }

    async fn tallies(&self, key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        let prefix = format!("{key}|");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TALLIES).map_err(unavailable)?;
            let mut out = BTreeMap::new();
            for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (k, v) = entry.map_err(unavailable)?;
                let Some(field) = k.value().strip_prefix(prefix.as_str()) else {
                    break;
                };
                out.insert(field.to_owned(), v.value());
            }
            Ok(out)
        })
        .await
    }

    async fn buyer_ledger(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let (buyer, month) = (buyer.clone(), month.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(LEDGER).map_err(unavailable)?;
            let mut out = Vec::new();
            // Local scale: a scan. DynamoDB answers this from an index.
            for entry in table.iter().map_err(unavailable)? {
                let (_, bytes) = entry.map_err(unavailable)?;
                let line: LedgerEntry = serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                if line.buyer_id == buyer && statement_month(line.at) == month {
                    out.push(line);
                }
            }
            out.sort_by(|a: &LedgerEntry, b: &LedgerEntry| {
                (a.at, &a.lead_id, &a.entry_id).cmp(&(b.at, &b.lead_id, &b.entry_id))
            });
            Ok(out)
        })
        .await
    }

    async fn buyer_feedback(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<FeedbackRecord>, StoreError> {
        let (buyer, month) = (buyer.clone(), month.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(FEEDBACK).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(unavailable)? {
                let (_, bytes) = entry.map_err(unavailable)?;
                let f: FeedbackRecord = serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                if f.buyer_id == buyer && f.month == month {
                    out.push(f);
                }
            }
            out.sort_by(|a: &FeedbackRecord, b: &FeedbackRecord| {
                (a.received_at, &a.feedback_id).cmp(&(b.received_at, &b.feedback_id))
            });
            Ok(out)
        })
        .await
    }

    async fn training_examples(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Vec<TrainingExample>, StoreError> {
        let prefix = format!("{day}|");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TRAINING).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (k, bytes) = entry.map_err(unavailable)?;
                if !k.value().starts_with(prefix.as_str()) {
                    break;
                }
                out.push(serde_json::from_slice(bytes.value()).map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }
}

fn encode(m: &StoredMessage) -> Result<Vec<u8>, QueueError> {
    serde_json::to_vec(m).map_err(|e| QueueError::Corrupt(crate::adapters::decode_failure(&e)))
}

fn decode(bytes: &[u8]) -> Result<StoredMessage, QueueError> {
    serde_json::from_slice(bytes)
        .map_err(|e| QueueError::Corrupt(crate::adapters::decode_failure(&e)))
}

impl LeadQueue for EmbeddedStore {
    async fn publish(&self, lead: &QueuedLead) -> Result<(), QueueError> {
        let lead = lead.clone();
        let now_ms = (self.clock)().timestamp_millis();
        let window_ms = i64::try_from(DEDUP_WINDOW.as_millis()).unwrap_or(i64::MAX);
        self.commits
            .run(move |txn| {
                let mut published = txn.open_table(QUEUE_PUBLISHED).map_err(queue_unavailable)?;
                let dedup = lead.dedup_id();
                let last = published
                    .get(dedup.as_str())
                    .map_err(queue_unavailable)?
                    .map(|at| at.value());
                if last.is_some_and(|at| now_ms.saturating_sub(at) < window_ms) {
                    return Ok(());
                }
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                let dead = txn.open_table(QUEUE_DEAD).map_err(queue_unavailable)?;
                // Sequence numbers run across both tables, so a dead letter keeps its number.
                let last_live = messages
                    .last()
                    .map_err(queue_unavailable)?
                    .map(|(k, _)| k.value());
                let last_dead = dead
                    .last()
                    .map_err(queue_unavailable)?
                    .map(|(k, _)| k.value());
                let seq = last_live.max(last_dead).map_or(0, |k| k + 1);
                let message = encode(&StoredMessage {
                    seq,
                    visible_at_ms: now_ms,
                    receive_count: 0,
                    lead,
                })?;
                published
                    .insert(dedup.as_str(), now_ms)
                    .map_err(queue_unavailable)?;
                messages
                    .insert(seq, message.as_slice())
                    .map_err(queue_unavailable)?;
                Ok(())
            })
            .await
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let hide_ms = as_chrono(visibility).num_milliseconds();
        let now_ms = (self.clock)().timestamp_millis();
        self.commits
            .run(move |txn| {
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                // Decided and encoded before the first write: (seq, to the dead letters?, bytes).
                let mut moves = Vec::new();
                let (mut out, mut dead_letters) = (Vec::new(), Vec::new());
                for entry in messages.iter().map_err(queue_unavailable)? {
                    if out.len() >= max {
                        break;
                    }
                    let (seq, bytes) = entry.map_err(queue_unavailable)?;
                    let (seq, mut m) = (seq.value(), decode(bytes.value())?);
                    if m.visible_at_ms > now_ms {
                        continue;
                    }
                    if m.receive_count >= MAX_RECEIVE_COUNT {
                        moves.push((seq, true, encode(&m)?));
                        dead_letters.push(m.lead.lead_id);
                        continue;
                    }
                    m.visible_at_ms = now_ms.saturating_add(hide_ms);
                    m.receive_count += 1;
                    moves.push((seq, false, encode(&m)?));
                    out.push(Delivery {
                        receipt: receipt(seq, m.receive_count),
                        receive_count: m.receive_count,
                        lead: m.lead,
                    });
                }
                let mut dead = txn.open_table(QUEUE_DEAD).map_err(queue_unavailable)?;
                for (seq, to_dead, bytes) in moves {
                    if to_dead {
                        messages.remove(seq).map_err(queue_unavailable)?;
                        dead.insert(seq, bytes.as_slice())
                            .map_err(queue_unavailable)?;
                    } else {
                        messages
                            .insert(seq, bytes.as_slice())
                            .map_err(queue_unavailable)?;
                    }
                }
                for lead_id in dead_letters {
                    tracing::warn!(%lead_id, "lead message moved to the dead-letter queue");
                }
                Ok(out)
            })
            .await
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let Some((seq, count)) = parse_receipt(receipt) else {
            return Ok(());
        };
        self.commits
            .run(move |txn| {
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                let current = match messages.get(seq).map_err(queue_unavailable)? {
                    Some(bytes) => Some(decode(bytes.value())?.receive_count),
                    None => None,
                };
                if current == Some(count) {
                    messages.remove(seq).map_err(queue_unavailable)?;
                }
                Ok(())
            })
            .await
    }
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
