//! Handler tests driven by the API-Gateway events in `events/` (the same files work with
//! `cargo lambda invoke feedback --data-file`). The guide's example is signed with the
//! Standard Webhooks test secret at 2026-06-02 18:30 UTC; the clock is pinned there.

use aurum::adapters::memory::MemoryBackend;
use aurum::domain::buyer::{Buyer, BuyerId, BuyerTier, Hours, ServiceArea, WebhookSecret};
use aurum::domain::facts::Borough;
use aurum::domain::lead::LeadRecord;
use aurum::domain::money::Cents;
use aurum::domain::scoring::QualityTier;
use aurum::function::lambda_router;
use aurum::ports::{BuyerStore, LeadStore};
use aurum_feedback::Feedback;
use axum::body::Body;
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

fn buyer() -> Buyer {
    Buyer {
        filters: Default::default(),
        pause: None,
        previous_secrets: Vec::new(),
        version: 0,
        id: BuyerId::parse("solarreviews").expect("id"),
        name: "SolarReviews".into(),
        tier: BuyerTier::Premium,
        price_floor: Cents(5_000),
        price_cap: Cents(60_000),
        daily_cap: 40,
        monthly_spend_cap: None,
        area: ServiceArea {
            zips: Default::default(),
            boroughs: Borough::ALL.into(),
        },
        min_quality: QualityTier::Basic,
        hours: Hours::always(),
        webhook_url: "https://buyer.example/leads".into(),
        secret: WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret"),
        return_window_days: 7,
        active: true,
        ping_post: None,
    }
}

/// `lead_abc123`, sold to solarreviews for $275 an hour before the event and delivered.
fn delivered_lead() -> LeadRecord {
    serde_json::from_value(json!({
        "lead_id": "lead_abc123", "session_id": "chat_1234567890", "state": "delivered",
        "queued_at": "2026-06-02T17:25:00Z", "score": 86, "tier": "premium", "withdrawal": null,
        "sale": {
            "buyer_id": "solarreviews", "buyer_tier": "premium", "price": 27500,
            "quote": {
                "buyer_tier": "premium", "base": 25000, "quality_bps": 11000,
                "quality_min_score": 80, "surge_bps": 10000, "utilization_bps": 0,
                "time_of_day_bps": 10000, "time_band": null, "day_of_week_bps": 10000,
                "market_bps": 10000,
                "market": {"borough": "manhattan", "premium_area": true, "adoption": null, "income": null},
                "local_time": "2026-06-02T13:30:00", "unclamped": 27500, "price": 27500, "clamp": null
            },
            "sold_at": "2026-06-02T17:30:00Z", "buyer_day": "2026-06-02", "buyer_month": "2026-06",
            "expected_revenue": 22000, "returnable_until": "2026-06-09T17:30:00Z"
        },
        "history": [
            {"state": "queued", "at": "2026-06-02T17:25:00Z", "note": "premium lead queued for routing"},
            {"state": "sold", "at": "2026-06-02T17:30:00Z", "note": "sold to solarreviews for $275.00"},
            {"state": "delivered", "at": "2026-06-02T17:30:01Z", "note": "delivered to solarreviews"}
        ],
        "updated_at": "2026-06-02T17:30:01Z", "version": 0
    }))
    .expect("lead record")
}

async fn harness() -> axum::Router {
    let at = Utc
        .with_ymd_and_hms(2026, 6, 2, 18, 30, 0)
        .single()
        .expect("time");
    let backend = MemoryBackend::with_clock(Arc::new(move || at));
    backend.store.put_buyers(&[buyer()]).await.expect("buyers");
    backend
        .store
        .put_lead(&delivered_lead())
        .await
        .expect("lead");
    lambda_router::<Feedback, _>(&backend)
}

fn event(name: &str) -> axum::http::Request<Body> {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    request.map(|body| Body::from(body.to_vec()))
}

async fn call(app: &axum::Router, name: &str) -> (u16, bool, Value) {
    let response = app.clone().oneshot(event(name)).await.expect("infallible");
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .contains_key(aurum_feedback::HEADER_REPLAYED);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    (status, replayed, json)
}

#[tokio::test]
async fn the_guides_example_signed_is_recorded_once_and_shows_on_the_statement() {
    let app = harness().await;
    let (status, replayed, body) = call(&app, "feedback-guide-accepted").await;
    assert_eq!(status, 200, "{body}");
    assert!(!replayed);
    // The guide's acceptance carries a conversion value: the lead is converted.
    assert_eq!(body["lead_status"], "converted");
    assert_eq!(body["status"], "applied");
    assert_eq!(body["statement_month"], "2026-06");
    // The same event again: the first result, marked as a repeat.
    let (status, replayed, again) = call(&app, "feedback-guide-accepted").await;
    assert_eq!((status, replayed), (200, true));
    assert_eq!(again, body);

    let (status, _, statement) = call(&app, "feedback-statement").await;
    assert_eq!(status, 200, "{statement}");
    assert_eq!(statement["month"], "2026-06");
    assert_eq!(statement["totals"]["accepted"], 1);
    assert_eq!(statement["totals"]["conversion_value"], 275.0);
    assert_eq!(statement["performance"]["all_time"]["acceptance_rate"], 1.0);
}

#[tokio::test]
async fn an_unsigned_post_is_refused_with_401() {
    let app = harness().await;
    let (status, _, body) = call(&app, "feedback-unsigned").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_signature");
}
