//! The port contracts against the embedded (redb) and in-memory adapters.

use aurum::adapters::embedded::EmbeddedStore;
use aurum::adapters::memory::{MemoryCache, MemoryQueue, MemoryStore};
use aurum_tests::contract::{self, ManualTime};

fn embedded() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    (dir, store)
}

#[tokio::test]
async fn embedded_conversation_store() {
    let (_dir, store) = embedded();
    contract::conversation_store(&store).await;
}

#[tokio::test]
async fn embedded_model_store() {
    let (_dir, store) = embedded();
    contract::model_store(&store).await;
}

fn embedded_on(time: &ManualTime) -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open_with_clock(dir.path(), time.clock()).expect("open");
    (dir, store)
}

#[tokio::test]
async fn embedded_lead_queue() {
    let time = ManualTime::default();
    let (_dir, store) = embedded_on(&time);
    contract::lead_queue(&store, &time).await;
}

#[tokio::test]
async fn embedded_lead_queue_deduplicates_for_a_window_and_dead_letters() {
    let time = ManualTime::default();
    let (_dir, store) = embedded_on(&time);
    contract::local_queue_semantics(&store, &time).await;
}

#[tokio::test]
async fn embedded_lead_store() {
    let (_dir, store) = embedded();
    contract::lead_store(&store).await;
}

#[tokio::test]
async fn embedded_store_keeps_everything_across_a_reopen() {
    use aurum::ports::{LeadQueue, ModelStore};
    use std::time::Duration;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        store
            .publish(&contract::lead("lead_reopen"))
            .await
            .expect("publish");
        let model = aurum::domain::scoring::ScoringModel {
            version: 9,
            ..Default::default()
        };
        store.save_model(&model).await.expect("save model");
    }
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    let got = store
        .receive(10, Duration::from_secs(5))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].lead.lead_id, "lead_reopen");
    assert_eq!(
        store
            .current_model()
            .await
            .expect("model")
            .map(|m| m.version),
        Some(9)
    );
}

#[tokio::test]
async fn memory_conversation_store() {
    contract::conversation_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_model_store() {
    contract::model_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_lead_queue() {
    let time = ManualTime::default();
    contract::lead_queue(&MemoryQueue::with_clock(time.clock()), &time).await;
}

#[tokio::test]
async fn memory_lead_queue_deduplicates_for_a_window_and_dead_letters() {
    let time = ManualTime::default();
    contract::local_queue_semantics(&MemoryQueue::with_clock(time.clock()), &time).await;
}

#[tokio::test]
async fn memory_lead_store() {
    contract::lead_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_cache() {
    contract::cache(&MemoryCache::new()).await;
}

#[tokio::test]
async fn embedded_buyer_store() {
    let (_dir, store) = embedded();
    contract::buyer_store(&store).await;
}

#[tokio::test]
async fn embedded_sale_store() {
    let (_dir, store) = embedded();
    contract::sale_store(&store).await;
}

#[tokio::test]
async fn embedded_sales_race_the_daily_limit() {
    let (_dir, store) = embedded();
    contract::sales_race_the_daily_limit(&store).await;
}

#[tokio::test]
async fn memory_buyer_store() {
    contract::buyer_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_sale_store() {
    contract::sale_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_sales_race_the_daily_limit() {
    contract::sales_race_the_daily_limit(&MemoryStore::new()).await;
}

#[tokio::test]
async fn embedded_feedback_store() {
    let (_dir, store) = embedded();
    contract::feedback_store(&store).await;
}

#[tokio::test]
async fn memory_feedback_store() {
    contract::feedback_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn embedded_metrics_store() {
    let (_dir, store) = embedded();
    contract::metrics_store(&store).await;
}

#[tokio::test]
async fn memory_metrics_store() {
    contract::metrics_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn embedded_job_store() {
    let (_dir, store) = embedded();
    contract::job_store(&store).await;
}

#[tokio::test]
async fn memory_job_store() {
    contract::job_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn embedded_buyer_saves_on_the_version_read_with_their_audit() {
    let (_dir, store) = embedded();
    contract::buyer_saves(&store).await;
}

#[tokio::test]
async fn memory_buyer_saves_on_the_version_read_with_their_audit() {
    contract::buyer_saves(&MemoryStore::new()).await;
}
