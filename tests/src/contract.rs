//! One contract per port, generic over the implementation. Every adapter (in-memory,
//! embedded, and the AWS ones) must pass the same suite.

use aurum::domain::conversation::{Conversation, SessionId};
use aurum::domain::money::Cents;
use aurum::domain::scoring::{QualityTier, ScoringModel};
use aurum::ports::{Cache, ConversationStore, LeadQueue, ModelStore, QueuedLead, StoreError};
use chrono::{TimeZone, Utc};
use std::time::Duration;

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

/// Expects a queue with no other consumer; `visibility` must be short (the test waits it out).
pub async fn lead_queue<Q: LeadQueue>(queue: &Q) {
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
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let again = receive_until(queue, &id, Duration::from_secs(30)).await;
    assert_eq!(again.len(), 1, "an unacknowledged message is redelivered");
    assert_eq!(again[0].receive_count, 2);

    queue
        .ack(&got[0].receipt)
        .await
        .expect("a stale receipt is ignored");
    queue.ack(&again[0].receipt).await.expect("ack");
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let after = queue
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(
        after.iter().all(|d| d.lead.lead_id != id),
        "an acknowledged message is gone"
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
