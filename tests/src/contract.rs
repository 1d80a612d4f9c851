//! One contract per port, generic over the implementation. Every adapter (in-memory,
//! embedded, and the AWS ones) must pass the same suite.

use aurum::backend::Clock;
use aurum::domain::conversation::{ConsentWithdrawal, Conversation, SessionId};
use aurum::domain::lead::{LeadRecord, LeadState};
use aurum::domain::money::Cents;
use aurum::domain::scoring::{QualityTier, ScoringModel};
use aurum::ports::{
    Cache, ConversationStore, DEDUP_WINDOW, LeadQueue, LeadStore, MAX_RECEIVE_COUNT, ModelStore,
    QueuedLead, StoreError,
};
use chrono::{DateTime, TimeZone, Utc};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a contract lets time pass: a real server (SQS on moto) needs real time; the
/// embedded and in-memory queues read a clock the test moves.
pub trait Time {
    fn pass(&self, d: Duration) -> impl Future<Output = ()>;
}

/// Wall-clock time: the test sleeps.
pub struct RealTime;

impl Time for RealTime {
    async fn pass(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// A clock that moves only when told.
#[derive(Clone)]
pub struct ManualTime(Arc<Mutex<DateTime<Utc>>>);

impl Default for ManualTime {
    fn default() -> Self {
        ManualTime(Arc::new(Mutex::new(Utc::now())))
    }
}

impl ManualTime {
    pub fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Arc::new(move || {
            *now.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
    }
}

impl Time for ManualTime {
    async fn pass(&self, d: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += chrono::Duration::from_std(d).expect("a test duration");
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn conversation(id: &str) -> Conversation {
    let at = Utc
        .with_ymd_and_hms(2026, 4, 1, 14, 0, 0)
        .single()
        .expect("valid");
    Conversation::new(SessionId::parse(id).expect("id"), at)
}

pub async fn conversation_store<S: ConversationStore>(store: &S) {
    let id = unique("contract");
    let session = SessionId::parse(&id).expect("id");
    assert_eq!(
        store.load_conversation(&session).await.expect("load"),
        None,
        "unknown session loads as None"
    );

    let mut c = conversation(&id);
    c.facts.monthly_bill = Some(Cents::from_dollars(321));
    store.save_conversation(&c).await.expect("first save");
    let loaded = store
        .load_conversation(&session)
        .await
        .expect("load")
        .expect("saved");
    assert_eq!(loaded.version, 1, "a save bumps the version");
    assert_eq!(loaded.facts.monthly_bill, Some(Cents::from_dollars(321)));
    assert_eq!(loaded.started_at, c.started_at);

    // Saving from a stale copy must lose.
    let stale = c.clone();
    assert!(matches!(
        store.save_conversation(&stale).await,
        Err(StoreError::Conflict)
    ));
    let mut next = loaded.clone();
    next.turns = 7;
    store
        .save_conversation(&next)
        .await
        .expect("save from the current version");
    let loaded = store
        .load_conversation(&session)
        .await
        .expect("load")
        .expect("saved");
    assert_eq!((loaded.version, loaded.turns), (2, 7));

    // Two writers from the same version: exactly one wins.
    let (a, b) = tokio::join!(
        store.save_conversation(&loaded),
        store.save_conversation(&loaded)
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "exactly one of two racing saves wins: {a:?} {b:?}"
    );
}

pub async fn model_store<S: ModelStore>(store: &S) {
    let base = store
        .current_model()
        .await
        .expect("current")
        .map_or(1, |m| m.version);
    let model = ScoringModel {
        version: base + 1,
        ..ScoringModel::default()
    };
    store.save_model(&model).await.expect("save model");
    assert_eq!(
        store.current_model().await.expect("current"),
        Some(model.clone())
    );
    assert!(
        matches!(store.save_model(&model).await, Err(StoreError::Conflict)),
        "a model version is written once"
    );
}

pub fn lead(lead_id: &str) -> QueuedLead {
    let c = conversation(&unique("queued"));
    QueuedLead {
        schema: QueuedLead::SCHEMA,
        lead_id: lead_id.to_owned(),
        session_id: c.session_id.clone(),
        queued_at: c.started_at,
        score: 88,
        tier: QualityTier::Premium,
        revenue_potential: Cents(26_400),
        conversion_probability: 0.81,
        model_version: 1,
        facts: c.facts,
        consent: None,
    }
}

/// Expects a queue with no other consumer.
pub async fn lead_queue<Q: LeadQueue>(queue: &Q, time: &impl Time) {
    let id = unique("lead");
    let message = lead(&id);
    queue.publish(&message).await.expect("publish");
    queue
        .publish(&message)
        .await
        .expect("publishing the same lead again is accepted");

    let got = receive_until(queue, &id, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "a lead published twice is delivered once");
    assert_eq!(got[0].lead, message, "the message round-trips unchanged");
    assert_eq!(got[0].receive_count, 1);

    // Not acknowledged: it comes back after the visibility timeout.
    time.pass(Duration::from_millis(2_100)).await;
    let again = receive_until(queue, &id, Duration::from_secs(30)).await;
    assert_eq!(again.len(), 1, "an unacknowledged message is redelivered");
    assert_eq!(again[0].receive_count, 2);

    queue
        .ack(&got[0].receipt)
        .await
        .expect("a stale receipt is ignored");
    queue.ack(&again[0].receipt).await.expect("ack");
    time.pass(Duration::from_millis(2_100)).await;
    let after = queue
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(
        after.iter().all(|d| d.lead.lead_id != id),
        "an acknowledged message is gone"
    );
}

/// The dead-letter queue of a local queue.
pub trait DeadLetters {
    fn dead_letters(&self) -> impl Future<Output = Vec<QueuedLead>>;
}

impl DeadLetters for aurum::adapters::memory::MemoryQueue {
    async fn dead_letters(&self) -> Vec<QueuedLead> {
        aurum::adapters::memory::MemoryQueue::dead_letters(self)
    }
}

impl DeadLetters for aurum::adapters::embedded::EmbeddedStore {
    async fn dead_letters(&self) -> Vec<QueuedLead> {
        aurum::adapters::embedded::EmbeddedStore::dead_letters(self)
            .await
            .expect("dead letters")
    }
}

/// What SQS FIFO does that the local queues must do too, so that local runs see the
/// redeliveries the router must survive: de-duplication for a window (not forever), and
/// a dead letter after `MAX_RECEIVE_COUNT` deliveries. Time passes on a manual clock.
pub async fn local_queue_semantics<Q: LeadQueue + DeadLetters>(queue: &Q, time: &ManualTime) {
    let id = unique("lead");
    queue.publish(&lead(&id)).await.expect("publish");
    time.pass(DEDUP_WINDOW - Duration::from_secs(1)).await;
    queue.publish(&lead(&id)).await.expect("publish");
    let got = queue
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1, "inside the window a republish is dropped");
    queue.ack(&got[0].receipt).await.expect("ack");

    time.pass(Duration::from_secs(2)).await;
    queue.publish(&lead(&id)).await.expect("publish");
    let got = queue
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(
        got.len(),
        1,
        "after the window the same lead id is a new message"
    );
    assert_eq!(got[0].receive_count, 1);

    // Never acknowledged: delivered MAX_RECEIVE_COUNT times, then dead-lettered.
    let mut deliveries = got.len();
    for _ in 0..MAX_RECEIVE_COUNT + 2 {
        time.pass(Duration::from_secs(31)).await;
        deliveries += queue
            .receive(10, Duration::from_secs(30))
            .await
            .expect("receive")
            .len();
    }
    assert_eq!(deliveries, MAX_RECEIVE_COUNT as usize);
    let dead = queue.dead_letters().await;
    assert_eq!(
        dead.iter().map(|l| l.lead_id.as_str()).collect::<Vec<_>>(),
        vec![id.as_str()],
        "the message moved to the dead-letter queue, unchanged"
    );
    time.pass(Duration::from_secs(31)).await;
    assert!(
        queue
            .receive(10, Duration::from_secs(30))
            .await
            .expect("receive")
            .is_empty(),
        "a dead letter is not delivered again"
    );
}

pub async fn lead_store<S: LeadStore>(store: &S) {
    let id = unique("lead");
    assert_eq!(store.lead(&id).await.expect("read"), None);
    let queued = lead(&id);

    // Recording is idempotent: a retried turn records nothing new.
    let first = store.record_queued(&queued).await.expect("record");
    assert_eq!((first.state, first.version), (LeadState::Queued, 1));
    let again = store.record_queued(&queued).await.expect("record again");
    assert_eq!(again, first);
    assert_eq!(store.lead(&id).await.expect("read"), Some(first.clone()));

    // A stale write loses.
    let stale = LeadRecord {
        version: 0,
        ..first.clone()
    };
    assert!(matches!(
        store.put_lead(&stale).await,
        Err(StoreError::Conflict)
    ));

    // Withdrawal: once, with the words and the state it came from.
    let withdrawal = ConsentWithdrawal {
        at: first.updated_at + chrono::Duration::minutes(3),
        words: "please don't share my number".into(),
    };
    let withdrawn = store
        .withdraw(&id, &queued.session_id, &withdrawal)
        .await
        .expect("withdraw");
    assert_eq!(withdrawn.state, LeadState::Withdrawn);
    let kept = withdrawn.withdrawal.clone().expect("kept");
    assert_eq!(kept.from, Some(LeadState::Queued));
    assert_eq!(kept.words, withdrawal.words);
    assert_eq!(
        store.lead(&id).await.expect("read"),
        Some(withdrawn.clone())
    );
    let twice = store
        .withdraw(&id, &queued.session_id, &withdrawal)
        .await
        .expect("withdraw again");
    assert_eq!(twice, withdrawn, "a second withdrawal changes nothing");
    // A late "queued" record (a retried publish) does not undo it.
    let late = store.record_queued(&queued).await.expect("record late");
    assert_eq!(late.state, LeadState::Withdrawn);

    // A withdrawal that arrives before the record leaves a tombstone.
    let early = unique("lead");
    let tomb = store
        .withdraw(&early, &queued.session_id, &withdrawal)
        .await
        .expect("withdraw first");
    assert_eq!(tomb.state, LeadState::Withdrawn);
    assert_eq!(tomb.withdrawal.and_then(|w| w.from), None);
    let after = store.record_queued(&lead(&early)).await.expect("record");
    assert_eq!(
        after.state,
        LeadState::Withdrawn,
        "never sold after a withdrawal"
    );

    // Two racing writers from one version: exactly one wins.
    let current = store.lead(&id).await.expect("read").expect("present");
    let (a, b) = tokio::join!(store.put_lead(&current), store.put_lead(&current));
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "exactly one of two racing writes wins: {a:?} {b:?}"
    );
}

async fn receive_until<Q: LeadQueue>(
    queue: &Q,
    lead_id: &str,
    visibility: Duration,
) -> Vec<aurum::ports::Delivery> {
    let mut found = Vec::new();
    for _ in 0..20 {
        let batch = queue.receive(10, visibility).await.expect("receive");
        found.extend(batch.into_iter().filter(|d| d.lead.lead_id == lead_id));
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}

pub async fn cache<C: Cache>(cache: &C) {
    let key = unique("contract");
    assert_eq!(cache.get(&key).await.expect("get"), None);
    cache
        .set(&key, "value", Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(
        cache.get(&key).await.expect("get").as_deref(),
        Some("value")
    );

    let counter = unique("counter");
    assert_eq!(
        cache
            .incr(&counter, 2, Duration::from_secs(60))
            .await
            .expect("incr"),
        2
    );
    assert_eq!(
        cache
            .incr(&counter, 3, Duration::from_secs(60))
            .await
            .expect("incr"),
        5
    );

    let short = unique("short");
    cache
        .set(&short, "gone soon", Duration::from_secs(1))
        .await
        .expect("set");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        cache.get(&short).await.expect("get"),
        None,
        "entries expire after their TTL"
    );
}
