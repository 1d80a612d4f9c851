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
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let response = sqs_batch(&router, event("router-lead-batch"), deadline).await;
    // THEN only the undecodable message comes back (and reaches the DLQ in time)
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["9b8e1a4c-0002-4c1e-9a0e-000000000002"]);
    // AND the lead was routed: no buyer, and the sample lead (queued in June) is past its
    // shelf life, so it expires at once with the reason
    let record = backend
        .leads()
        .lead("lead_fbf6592bbf895aaabe7055ec5cbd0089")
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(record.state, LeadState::Expired);
    assert_eq!(record.unsold_reason.as_deref(), Some("no_eligible_buyer"));
}

/// Fails in the way its lead id says: `panic` panics, `slow` outlasts any deadline.
struct Troubled;

impl aurum::function::LeadConsumer for Troubled {
    const NAME: &'static str = "troubled";

    async fn handle(
        &self,
        delivery: &aurum::ports::Delivery,
        _deadline: tokio::time::Instant,
    ) -> Result<(), aurum::function::WorkError> {
        match delivery.lead.lead_id.as_str() {
            "panic" => panic!("a bug in one message"),
            "slow" => {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn given_a_batch_with_a_panicking_and_a_slow_message_then_only_those_two_come_back() {
    // GIVEN the sample lead three times: one makes the handler panic, one never ends
    let mut batch = event("router-lead-batch");
    batch.records.truncate(1);
    let template = batch.records[0].clone();
    batch.records.clear();
    for (id, lead_id) in [("m-panic", "panic"), ("m-slow", "slow"), ("m-fine", "fine")] {
        let mut record = template.clone();
        record.message_id = Some(id.into());
        let mut body: serde_json::Value =
            serde_json::from_str(record.body.as_deref().expect("body")).expect("json");
        body["lead_id"] = lead_id.into();
        record.body = Some(body.to_string());
        batch.records.push(record);
    }
    // WHEN the batch is handled with two seconds left in the invocation
    let started = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    let response = sqs_batch(&Troubled, batch, deadline).await;
    // THEN the panicking and the slow message are reported failed, the other one is not,
    // and the batch returned before the invocation's deadline
    let mut failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, ["m-panic", "m-slow"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the slow message was cut at the deadline, not awaited"
    );
}
