//! When the lead queue cannot be reached, the turn that would queue a lead is refused with
//! a 503 and nothing is saved: the frontend's retry then queues it. No lead is left behind.

use aurum::adapters::memory::{MemoryBackend, MemoryCache, MemoryQueue, MemoryStore};
use aurum::backend::{Backend, Clock};
use aurum::function::lambda_router;
use aurum::ports::{Delivery, LeadQueue, QueueError, QueuedLead};
use aurum_conversation::Conversation;
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

/// The in-memory backend with the flaky queue in front of its queue.
#[derive(Clone, Default)]
struct FlakyBackend {
    memory: MemoryBackend,
    queue: Arc<FlakyQueue>,
}

impl Backend for FlakyBackend {
    type Conversations = MemoryStore;
    type Models = MemoryStore;
    type Leads = MemoryStore;
    type Buyers = MemoryStore;
    type Sales = MemoryStore;
    type Feedback = MemoryStore;
    type Metrics = MemoryStore;
    type Jobs = MemoryStore;
    type Queue = FlakyQueue;
    type Cache = MemoryCache;

    fn conversations(&self) -> Arc<MemoryStore> {
        self.memory.conversations()
    }
    fn models(&self) -> Arc<MemoryStore> {
        self.memory.models()
    }
    fn leads(&self) -> Arc<MemoryStore> {
        self.memory.leads()
    }
    fn buyers(&self) -> Arc<MemoryStore> {
        self.memory.buyers()
    }
    fn sales(&self) -> Arc<MemoryStore> {
        self.memory.sales()
    }
    fn feedback(&self) -> Arc<MemoryStore> {
        self.memory.feedback()
    }
    fn metrics(&self) -> Arc<MemoryStore> {
        self.memory.metrics()
    }
    fn jobs(&self) -> Arc<MemoryStore> {
        self.memory.jobs()
    }
    fn queue(&self) -> Arc<FlakyQueue> {
        Arc::clone(&self.queue)
    }
    fn cache(&self) -> Arc<MemoryCache> {
        self.memory.cache()
    }
    fn clock(&self) -> Clock {
        self.memory.clock()
    }
    fn config(&self) -> &aurum::config::Config {
        self.memory.config()
    }
}

#[tokio::test]
async fn a_turn_that_cannot_queue_its_lead_is_refused_and_the_retry_queues_it() {
    let backend = FlakyBackend::default();
    let queue = Arc::clone(&backend.queue);
    let app = aurum_tests::ChatApp::new(lambda_router::<Conversation, _>(&backend));
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
