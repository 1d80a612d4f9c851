//! The public endpoint under arbitrary input: any bytes as the body, any header values,
//! signed with the buyer's real secret or not. Whatever arrives, the answer is a JSON 4xx
//! (or 200 for a valid feedback), never a 5xx, never a panic. `PROPTEST_CASES` raises the
//! number of cases (CI runs about a minute of them).

use aurum::adapters::memory::MemoryBackend;
use aurum::domain::buyer::{Buyer, BuyerId, BuyerTier, Hours, ServiceArea, WebhookSecret};
use aurum::domain::facts::Borough;
use aurum::domain::money::Cents;
use aurum::domain::scoring::QualityTier;
use aurum::function::lambda_router;
use aurum::ports::BuyerStore;
use aurum::webhooks;
use aurum_feedback::Feedback;
use axum::body::Body;
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use proptest::prelude::*;
use std::sync::Arc;
use tower::ServiceExt;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const BUYER: &str = "solarreviews";

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 2, 18, 30, 0)
        .single()
        .expect("time")
}

fn buyer() -> Buyer {
    Buyer {
        filters: Default::default(),
        pause: None,
        previous_secrets: Vec::new(),
        version: 0,
        id: BuyerId::parse(BUYER).expect("id"),
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
        secret: WebhookSecret::parse(SECRET).expect("secret"),
        return_window_days: 7,
        active: true,
        ping_post: None,
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
}

fn harness() -> Harness {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut backend = MemoryBackend::with_clock(Arc::new(now));
    let mut config = (*backend.config).clone();
    config.feedback.rate_per_minute = 100_000;
    backend.config = Arc::new(config);
    runtime
        .block_on(backend.store.put_buyers(&[buyer()]))
        .expect("buyers");
    Harness {
        app: lambda_router::<Feedback, _>(&backend),
        runtime,
    }
}

/// A JSON-ish body: the guide's fields with arbitrary values, or plain noise.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f}")),
        ".{0,40}".prop_map(|s| serde_json::Value::from(s).to_string()),
        Just("\"rejected\"".to_owned()),
        Just("\"wrong_number\"".to_owned()),
        Just("[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]".to_owned()),
        Just("{\"a\":{\"b\":{}}}".to_owned()),
    ];
    let field = prop_oneof![
        Just("lead_id"),
        Just("buyer_id"),
        Just("feedback_type"),
        Just("feedback_score"),
        Just("reason_code"),
        Just("feedback_reason"),
        Just("conversion_value"),
        Just("buyer_notes"),
        Just("extra"),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        proptest::collection::vec((field, value), 0..10).prop_map(|pairs| {
            let inner: Vec<String> = pairs
                .into_iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            format!("{{{}}}", inner.join(",")).into_bytes()
        }),
    ]
}

fn header_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..120))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_a_json_answer_below_500(
        body in bodies(),
        sign in any::<bool>(),
        id in header_bytes(),
        timestamp in header_bytes(),
        signature in header_bytes(),
        buyer_header in prop_oneof![Just(Some(BUYER.as_bytes().to_vec())), header_bytes()],
    ) {
        let h = harness();
        let mut request = axum::http::Request::post(aurum_feedback::ROUTE)
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .expect("request");
        let headers = request.headers_mut();
        if sign {
            let secret = WebhookSecret::parse(SECRET).expect("secret");
            webhooks::sign(&secret, "msg_fuzz", now(), &body)
                .expect("sign")
                .apply(headers)
                .expect("headers");
        }
        for (name, value) in [
            (webhooks::HEADER_ID, id),
            (webhooks::HEADER_TIMESTAMP, timestamp),
            (webhooks::HEADER_SIGNATURE, signature),
            (aurum_feedback::HEADER_BUYER, buyer_header),
        ] {
            // Signed requests keep their signature headers most of the time.
            if sign && name != aurum_feedback::HEADER_BUYER {
                continue;
            }
            if let Some(v) = value.and_then(|v| axum::http::HeaderValue::from_bytes(&v).ok()) {
                headers.insert(name, v);
            }
        }
        let (status, bytes) = h.runtime.block_on(async {
            let response = h.app.clone().oneshot(request).await.expect("infallible");
            let status = response.status();
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            (status, bytes)
        });
        prop_assert!(status.as_u16() < 500, "{status}: {bytes:?}");
        let json: Result<serde_json::Value, _> = serde_json::from_slice(&bytes);
        prop_assert!(json.is_ok(), "{status}: not JSON: {bytes:?}");
        if status.is_client_error() {
            let json = json.expect("checked");
            prop_assert!(json["error"]["code"].is_string(), "{json}");
        }
    }
}
