//! Handler tests driven by the API-Gateway events in `events/` (the same files work with
//! `cargo lambda invoke --data-file`).

use aurum::adapters::memory::{MemoryBackend, MemoryQueue, MemoryStore};
use aurum::domain::conversation::SessionId;
use aurum::function::lambda_router;
use aurum::ports::ConversationStore;
use aurum_conversation::Conversation;
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

struct Harness {
    store: Arc<MemoryStore>,
    queue: Arc<MemoryQueue>,
    app: axum::Router,
}

fn harness() -> Harness {
    let backend = MemoryBackend::new();
    Harness {
        store: Arc::clone(&backend.store),
        queue: Arc::clone(&backend.queue),
        app: lambda_router::<Conversation, _>(&backend),
    }
}

fn event(name: &str) -> axum::http::Request<Body> {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    request.map(|body| Body::from(body.to_vec()))
}

async fn call(h: &Harness, name: &str) -> (u16, Value) {
    let response = h
        .app
        .clone()
        .oneshot(event(name))
        .await
        .expect("router is infallible");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: non-JSON body ({e})"));
    (status, json)
}

#[tokio::test]
async fn guide_example_event_returns_every_field_of_the_guide() {
    let h = harness();
    let (status, body) = call(&h, "conversation-guide-example").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["content"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(body["next_questions"].is_array());
    let ro = &body["revenue_optimization"];
    for field in [
        "total_score",
        "quality_tier",
        "revenue_potential",
        "conversion_probability",
    ] {
        assert!(
            !ro["lead_score"][field].is_null(),
            "lead_score.{field} missing: {body}"
        );
    }
    for field in [
        "duration_minutes",
        "revenue_per_minute",
        "technical_engagement",
        "questions_asked",
    ] {
        assert!(
            !ro["conversation_metrics"][field].is_null(),
            "conversation_metrics.{field} missing"
        );
    }
    assert!(ro["optimization_recommendations"].is_array());
    for field in [
        "selected_buyer_id",
        "selected_buyer_tier",
        "price_per_lead",
        "expected_revenue",
        "routing_reason",
    ] {
        assert!(
            ro["routing_decision"].get(field).is_some(),
            "routing_decision.{field} missing"
        );
    }
    for field in [
        "quality_assessment",
        "revenue_potential",
        "conversion_likelihood",
        "assessment",
    ] {
        assert!(
            ro["revenue_insights"][field].is_string(),
            "revenue_insights.{field} missing"
        );
    }
    let profile = &body["lead_profile"];
    assert_eq!(profile["homeowner"], true);
    assert_eq!(profile["monthly_bill"], 400.0);
    assert_eq!(profile["zip_code"], "10021");
    assert_eq!(profile["borough"], "manhattan");
    assert_eq!(profile["property_type"], "coop");
    let score = ro["lead_score"]["total_score"].as_u64().expect("score");
    assert!((40..=100).contains(&score), "score {score}");
}

#[tokio::test]
async fn park_slope_event_understands_the_brownstone_and_bill() {
    let h = harness();
    let (status, body) = call(&h, "conversation-park-slope").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["lead_profile"]["property_type"], "townhouse");
    assert_eq!(body["lead_profile"]["monthly_bill"], 350.0);
    assert_eq!(body["lead_profile"]["borough"], "brooklyn");
    assert_eq!(body["lead_profile"]["neighborhood"], "park_slope");
}

/// GIVEN the guide's session started by its event WHEN a later turn arrives without the
/// token the first reply gave THEN it is refused with 403 `session_forbidden` and the
/// session is not changed (a stranger cannot withdraw someone's consent).
#[tokio::test]
async fn a_later_turn_event_without_the_session_token_is_refused() {
    let h = harness();
    let (status, first) = call(&h, "conversation-guide-example").await;
    assert_eq!(status, 200, "{first}");
    assert!(first["session_token"].is_string(), "{first}");
    let id = SessionId::parse("chat_1234567890").expect("id");
    let before = h.store.load_conversation(&id).await.expect("load");
    let (status, body) = call(&h, "conversation-later-turn-without-token").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "session_forbidden");
    assert_eq!(h.store.load_conversation(&id).await.expect("load"), before);
}

#[tokio::test]
async fn bad_events_get_json_4xx_and_change_nothing() {
    let h = harness();
    for (name, expected) in [
        ("conversation-malformed-json", 400),
        ("conversation-invalid-zip", 422),
        ("conversation-missing-session", 422),
    ] {
        let (status, body) = call(&h, name).await;
        assert_eq!(status, expected, "{name}: {body}");
        assert!(body["error"]["code"].is_string(), "{name}: {body}");
        assert!(body["error"]["message"].is_string(), "{name}: {body}");
    }
    let untouched = SessionId::parse("chat_bad_zip").expect("id");
    assert_eq!(
        h.store.load_conversation(&untouched).await.expect("load"),
        None
    );
    assert_eq!(h.queue.depth(), 0);
}
