//! When the lead queue cannot be reached, the turn that would queue a lead is refused with
//! a 503 and nothing is saved: the frontend's retry then queues it. No lead is left behind.

use aurum::adapters::memory::{MemoryCache, MemoryQueue, MemoryStore};
use aurum::app::AppState;
use aurum::ports::{Delivery, LeadQueue, QueueError, QueuedLead};
use aurum_tests::post_turn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A queue that can be switched off, in front of a real in-memory queue.
#[derive(Default)]
struct FlakyQueue {
    down: AtomicBool,
    inner: MemoryQueue,
}

impl LeadQueue for FlakyQueue {
    async fn publish(&self, lead: &QueuedLead) -> Result<(), QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(QueueError::Unavailable("connection refused".into()));
        }
        self.inner.publish(lead).await
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        self.inner.receive(max, visibility).await
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.inner.ack(receipt).await
    }
}

#[tokio::test]
async fn a_turn_that_cannot_queue_its_lead_is_refused_and_the_retry_queues_it() {
    let queue = Arc::new(FlakyQueue::default());
    let state = AppState::new(
        Arc::new(MemoryStore::new()),
        Arc::clone(&queue),
        Arc::new(MemoryCache::new()),
    );
    let app = aurum_conversation::router(state);
    let script = aurum_tests::QUALIFYING_CHAT;
    let consent_at = script
        .iter()
        .position(|m| m.contains("share my info"))
        .expect("the chat gives consent");
    for message in &script[..consent_at] {
        let (status, body) = post_turn(&app, "chat_queue_down", message).await;
        assert_eq!(status, 200, "{body}");
    }

    queue.down.store(true, Ordering::SeqCst);
    let (status, body) = post_turn(&app, "chat_queue_down", script[consent_at]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        !body.to_string().contains("connection refused"),
        "internals stay in the logs"
    );

    queue.down.store(false, Ordering::SeqCst);
    let (status, body) = post_turn(&app, "chat_queue_down", script[consent_at]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["revenue_optimization"]["routing_decision"]["status"],
        "queued"
    );
    assert_eq!(
        body["revenue_optimization"]["conversation_metrics"]["turns"],
        consent_at as u64 + 1,
        "the refused turn was not saved"
    );
    assert_eq!(queue.inner.depth(), 1);
}
