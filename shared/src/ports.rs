//! Capabilities the use cases need from the outside world. Adapters in `adapters/`
//! implement them; the same contract tests run against every implementation.

pub use crate::contracts::QueuedLead;
use crate::domain::analytics::Counter;
use crate::domain::audit::AuditEntry;
use crate::domain::buyer::{Buyer, BuyerId};
use crate::domain::conversation::{Conversation, SessionId};
use crate::domain::feedback::{
    FeedbackChange, FeedbackRecord, FeedbackRefused, FeedbackType, TrainingExample,
};
use crate::domain::lead::LeadRecord;
use crate::domain::routing::BuyerLoad;
use crate::domain::sale::{BuyerCounters, CounterPeriod, LedgerEntry, Release, Sale, SaleRefused};
use crate::domain::scoring::ScoringModel;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
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

    /// A version that was stored (in force now or before), if it was.
    fn stored_model(
        &self,
        version: u32,
    ) -> impl Future<Output = Result<Option<ScoringModel>, StoreError>> + Send;

    /// Makes `model` the one in force if the version in force is still `expected` (`None`:
    /// none was ever saved), storing the version first unless it is stored already (a
    /// stored version is never rewritten). Someone else's change in between: `Conflict`.
    fn promote_model(
        &self,
        model: &ScoringModel,
        expected: Option<u32>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The lead records. Adapters store and condition; the rules of a lead's life are
/// `domain::lifecycle`, applied by `lead_life`, the same for every adapter.
pub trait LeadStore: Send + Sync + 'static {
    fn lead(
        &self,
        lead_id: &str,
    ) -> impl Future<Output = Result<Option<LeadRecord>, StoreError>> + Send;

    /// Stores `record` if the stored version is `record.version` (0 = must not exist yet)
    /// and stores it as version + 1.
    fn put_lead(&self, record: &LeadRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` leads in the `waiting` state (to be offered again or expired), in no
    /// set order. An index kept with every lead write; in DynamoDB eventually consistent
    /// (each lead is read again before it changes).
    fn waiting(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LeadRecord>, StoreError>> + Send;

    /// The leads `query` matches, newest first (by when they qualified), at most `limit`,
    /// among at most [`SEARCH_SCAN_LIMIT`](crate::domain::lead::SEARCH_SCAN_LIMIT) records:
    /// the sales team's search. Also returns whether every record was looked at.
    fn search(
        &self,
        query: &crate::domain::lead::LeadQuery,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<LeadRecord>, bool), StoreError>> + Send;

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
}

/// How a buyer's deliveries have gone lately: N consecutive failures pause it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuyerHealth {
    pub consecutive_failures: u32,
    pub paused_until: Option<DateTime<Utc>>,
}

impl BuyerHealth {
    /// The health after one more delivery outcome.
    pub fn after_delivery(
        self,
        delivered: bool,
        pause_after: u32,
        pause_until: DateTime<Utc>,
    ) -> BuyerHealth {
        if delivered {
            return BuyerHealth::default();
        }
        let failures = self.consecutive_failures.saturating_add(1);
        BuyerHealth {
            consecutive_failures: failures,
            paused_until: if failures >= pause_after {
                Some(pause_until)
            } else {
                self.paused_until
            },
        }
    }

    pub fn paused_at(&self, now: DateTime<Utc>) -> bool {
        self.paused_until.is_some_and(|until| until > now)
    }
}

/// The buyers and their running counters.
pub trait BuyerStore: Send + Sync + 'static {
    /// Every buyer, in id order.
    fn buyers(&self) -> impl Future<Output = Result<Vec<Buyer>, StoreError>> + Send;

    /// Writes every buyer of an import in one transaction (created or replaced; buyers not
    /// in the import stay as they are). At most 100 buyers per call.
    fn put_buyers(&self, buyers: &[Buyer]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Saves one buyer the sales team changed, with the change's audit entry, in one
    /// transaction. `expected` is the version the change was made on (`None`: the buyer
    /// must not exist yet); the stored buyer's version must still be it, else
    /// [`StoreError::Conflict`] and nothing is written.
    fn save_buyer(
        &self,
        buyer: &Buyer,
        expected: Option<u64>,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps an audit entry of a change made elsewhere (an import, a decision).
    fn append_audit(
        &self,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The newest audit entries first, at most `limit`.
    fn audit_log(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;

    /// The counters of each period (zero where nothing was sold yet), in the same order.
    fn counters(
        &self,
        periods: &[CounterPeriod],
    ) -> impl Future<Output = Result<Vec<BuyerCounters>, StoreError>> + Send;

    fn health(
        &self,
        buyer: &BuyerId,
    ) -> impl Future<Output = Result<BuyerHealth, StoreError>> + Send;

    /// The health of each buyer, in the same order, in as few reads as the store allows
    /// (the router reads every buyer's for every lead).
    fn healths(
        &self,
        buyers: &[BuyerId],
    ) -> impl Future<Output = Result<Vec<BuyerHealth>, StoreError>> + Send {
        async move {
            let mut out = Vec::with_capacity(buyers.len());
            for buyer in buyers {
                out.push(self.health(buyer).await?);
            }
            Ok(out)
        }
    }

    /// Each buyer's load at `now`, in the same order: leads sold in its local day, spend in
    /// its local month, and its delivery health (what routing filters on).
    fn loads(
        &self,
        buyers: &[Buyer],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<BuyerLoad>, StoreError>> + Send {
        async move {
            let periods: Vec<CounterPeriod> =
                buyers.iter().map(|b| CounterPeriod::of(b, now)).collect();
            let ids: Vec<BuyerId> = buyers.iter().map(|b| b.id.clone()).collect();
            let (counters, health) =
                futures_util::future::join(self.counters(&periods), self.healths(&ids)).await;
            let (counters, health) = (counters?, health?);
            Ok(counters
                .iter()
                .zip(&health)
                .map(|(c, h)| BuyerLoad {
                    sold_today: c.leads_today,
                    spend_this_month: c.spend_this_month,
                    consecutive_failures: h.consecutive_failures,
                    paused: h.paused_at(now),
                })
                .collect())
        }
    }

    /// Records a delivery outcome: a success clears the failure run; the `pause_after`-th
    /// failure in a row pauses the buyer until `pause_until`. Returns the health after.
    fn record_delivery(
        &self,
        buyer: &BuyerId,
        delivered: bool,
        pause_after: u32,
        pause_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<BuyerHealth, StoreError>> + Send;
}

/// Sales, releases and the revenue ledger: each call one atomic transaction.
pub trait SaleStore: Send + Sync + 'static {
    /// Applies the sale, or refuses it with nothing changed.
    fn sell(
        &self,
        sale: &Sale,
    ) -> impl Future<Output = Result<Result<(), SaleRefused>, StoreError>> + Send;

    /// Undoes a sale, or refuses (`LeadChanged`) with nothing changed.
    fn release(
        &self,
        release: &Release,
    ) -> impl Future<Output = Result<Result<(), SaleRefused>, StoreError>> + Send;

    /// Every ledger line of a lead, in entry order.
    fn ledger(
        &self,
        lead_id: &str,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send;

    /// The lead holding a contact key and until when, if any claim exists.
    fn contact_claim(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<(String, DateTime<Utc>)>, StoreError>> + Send;
}

/// Buyer feedback and what it changes. `apply` is one atomic transaction: the feedback
/// record (once per message and per lead, buyer and type), the lead record (version
/// condition), the ledger line, the counters (with their limits) and the training example.
pub trait FeedbackStore: Send + Sync + 'static {
    /// The feedback first recorded for this message of this buyer, if any.
    fn feedback_by_message(
        &self,
        buyer: &BuyerId,
        message_id: &str,
    ) -> impl Future<Output = Result<Option<FeedbackRecord>, StoreError>> + Send;

    /// The feedback of this type this buyer recorded on this lead, if any.
    fn feedback(
        &self,
        lead_id: &str,
        buyer: &BuyerId,
        kind: FeedbackType,
    ) -> impl Future<Output = Result<Option<FeedbackRecord>, StoreError>> + Send;

    /// Applies every effect, or refuses with nothing changed.
    fn apply(
        &self,
        change: &FeedbackChange,
    ) -> impl Future<Output = Result<Result<(), FeedbackRefused>, StoreError>> + Send;

    /// Every counter of a tally key (`domain::feedback::tally`), zero ones absent.
    fn tallies(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, i64>, StoreError>> + Send;

    /// The ledger lines of a buyer in a New York month (`YYYY-MM`), in time order.
    fn buyer_ledger(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send;

    /// The newest `limit` ledger lines of a buyer in a New York month, newest first.
    fn latest_ledger(
        &self,
        buyer: &BuyerId,
        month: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send {
        async move {
            let mut lines = self.buyer_ledger(buyer, month).await?;
            lines.reverse();
            lines.truncate(limit);
            Ok(lines)
        }
    }

    /// The feedback a buyer posted in a New York month, in time order.
    fn buyer_feedback(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> impl Future<Output = Result<Vec<FeedbackRecord>, StoreError>> + Send;

    /// The training examples recorded on a New York day, for the scoring-model job.
    fn training_examples(
        &self,
        day: NaiveDate,
    ) -> impl Future<Output = Result<Vec<TrainingExample>, StoreError>> + Send;
}

/// The analytics counters (`domain::analytics`). Sales, releases and feedback add theirs
/// inside their own transactions (`SaleStore`, `FeedbackStore`); `add` is for the rest
/// (conversation activity, unsold and withdrawn leads).
pub trait MetricsStore: Send + Sync + 'static {
    /// Adds every counter; one write per (group, slot) item.
    fn add(&self, counters: &[Counter]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every counter of each group (a day's shard), summed over its slots, in key order.
    fn groups(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<BTreeMap<String, i64>>, StoreError>> + Send;

    /// The sealed totals of each key (`None` where not sealed yet), in key order.
    fn sealed(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<Option<BTreeMap<String, i64>>>, StoreError>> + Send;

    /// Seals a finished day's totals, once: a second seal of a key keeps the first.
    fn seal(
        &self,
        key: &str,
        totals: &BTreeMap<String, i64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What the scheduled jobs keep: each (job, window) claimed once, and the records they
/// produce (model versions, routing and pricing updates, conversation rules, KPI alerts),
/// as JSON under a kind and an id that sorts by time or version.
pub trait JobStore: Send + Sync + 'static {
    /// Claims a job's window: `true` for the first claim, `false` once it is claimed.
    fn claim(
        &self,
        job: &str,
        window: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a claim back (the run failed before any effect), so a retry may run.
    fn release_claim(
        &self,
        job: &str,
        window: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a record unless one with this kind and id exists.
    fn put_record(
        &self,
        kind: &str,
        id: &str,
        json: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The newest `limit` records of a kind (by id, descending).
    fn records(
        &self,
        kind: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// Conditional writes of one item retry this often when a concurrent writer keeps winning.
pub const WRITE_ATTEMPTS: usize = 8;

/// The pause before retry `attempt` (0-based) of a conditional write that lost: 5 ms
/// doubling to at most 320 ms, each drawn uniformly between half and all of it ("equal
/// jitter"), so writers that collided do not collide again in step.
pub fn conflict_backoff(attempt: usize) -> Duration {
    let ceiling_ms = 5u64 << attempt.min(6);
    // The low bits of the clock's nanoseconds are as good a draw as any for spreading
    // a few retries.
    let nanos = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    );
    let jitter = nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
    let half = ceiling_ms * 500;
    Duration::from_micros(half + jitter % (half + 1))
}

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
    /// Forgets a key (a no-op when it is not there).
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), CacheError>> + Send;
    /// Adds `by` to a counter (created at 0 with `ttl`) and returns the new value.
    fn incr(
        &self,
        key: &str,
        by: i64,
        ttl: Duration,
    ) -> impl Future<Output = Result<i64, CacheError>> + Send;
}
