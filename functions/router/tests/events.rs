//! The router's handler driven by the SQS event in `events/` (the same file works with
//! `cargo lambda invoke router --data-file events/router-lead-batch.json`).

use aurum::adapters::memory::MemoryBackend;
use aurum::backend::Backend;
use aurum::domain::lead::LeadState;
use aurum::function::sqs_batch;
use aurum::ports::LeadStore;
use aws_lambda_events::event::sqs::SqsEvent;

fn event(name: &str) -> SqsEvent {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn given_a_batch_with_an_undecodable_message_then_only_that_one_is_reported_failed() {
    // GIVEN a backend with no buyers and the sample batch (one lead, one broken message)
    let backend = MemoryBackend::new();
    let router = aurum_router::distribution(&backend).expect("router");
    // WHEN the batch is handled
    let response = sqs_batch(&router, event("router-lead-batch")).await;
    // THEN only the undecodable message comes back (and reaches the DLQ in time)
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["9b8e1a4c-0002-4c1e-9a0e-000000000002"]);
    // AND the lead was routed: with no buyer it is kept unsold with the reason
    let record = backend
        .leads()
        .lead("lead_fbf6592bbf895aaabe7055ec5cbd0089")
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(record.state, LeadState::Unsold);
    assert_eq!(record.unsold_reason.as_deref(), Some("no_eligible_buyer"));
}
