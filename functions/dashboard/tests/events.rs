//! The dashboard's handler driven by the API Gateway event in `events/` (the same file
//! works with `cargo lambda invoke dashboard --data-file events/dashboard-lead.json`).

use aurum::adapters::memory::MemoryBackend;
use aurum::backend::Backend;
use aurum::contracts::QueuedLead;
use aurum::function::lambda_router;
use aurum::ports::LeadStore;
use aurum_dashboard::Dashboard;
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn call(app: &axum::Router, name: &str) -> (u16, Value) {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .map(|body| Body::from(body.to_vec()));
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

#[tokio::test]
async fn given_the_sample_event_when_the_lead_is_unknown_then_404_json() {
    let app = lambda_router::<Dashboard, _>(&MemoryBackend::new());
    let (status, body) = call(&app, "dashboard-lead").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn given_a_queued_lead_when_viewed_then_its_status_and_history_show_without_contact() {
    let backend = MemoryBackend::new();
    let events = format!(
        "{}/../../events/router-lead-batch.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let batch: Value =
        serde_json::from_str(&std::fs::read_to_string(events).expect("event")).expect("json");
    let lead: QueuedLead =
        serde_json::from_str(batch["Records"][0]["body"].as_str().expect("body")).expect("lead");
    backend.leads().record_queued(&lead).await.expect("record");
    let app = lambda_router::<Dashboard, _>(&backend);
    let (status, body) = call(&app, "dashboard-lead").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["tier"], "premium");
    assert_eq!(body["history"][0]["status"], "queued");
    assert!(body["sale"].is_null() && body["routing"].is_null());
    assert!(
        !body.to_string().contains("5550142"),
        "no phone in the view"
    );
}
