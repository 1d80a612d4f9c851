//! The sales console's buyer administration, through the dashboard function's routes, the
//! router and the feedback function on one backend: a buyer created, sold to, paused,
//! edited by two operators, sent a test message and given a new secret, with the audit of
//! every change.

use crate::contract::{ManualTime, Time};
use crate::feedback::own_statement_request;
use crate::routing::{quick_client, sellable_lead, settings};
use aurum::adapters::fake_buyer::FakeBuyer;
use aurum::backend::Backend;
use aurum::delivery::BuyerMessage;
use aurum::domain::buyer::WebhookSecret;
use aurum::domain::lead::LeadState;
use aurum::domain::routing::RoutingStrategy;
use aurum::function::HttpFunction;
use aurum::ports::{BuyerStore, LeadStore};
use aurum::usecases::routing::{Distributed, Distribution};
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt;

/// One request to `router`: (status, JSON body).
pub async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = hyper::Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("answer");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

/// The terms of a Brooklyn installer whose webhook is `url`.
pub fn terms(id: &str, url: &str) -> Value {
    json!({
        "id": id,
        "name": format!("Installer {id}"),
        "tier": "standard",
        "price_floor_cents": 8000,
        "price_cap_cents": 30000,
        "daily_cap": 20,
        "boroughs": ["brooklyn"],
        "min_quality": "basic",
        "webhook_url": url,
        "return_window_days": 7,
        "property_types": ["single_family", "townhouse"],
        "exclude_coops": true
    })
}

fn stored_version(list: &Value, id: &str) -> u64 {
    list.as_array()
        .expect("list")
        .iter()
        .find(|b| b["terms"]["id"] == id)
        .and_then(|b| b["version"].as_u64())
        .expect("listed")
}

/// GIVEN a buyer's server on loopback and the console on `backend`
/// WHEN the sales team creates the buyer, a lead is routed, the team pauses it, two
/// operators edit it at once, a test message is sent and its secret is rotated
/// THEN the new buyer gets the lead; the paused buyer is skipped with the pause and its
/// reason in the trace; the second edit gets 409 and changes nothing; the test message
/// arrives signed; the old secret verifies during the overlap and not after it, the new
/// one throughout; every change is in the audit, and no secret is ever shown again.
pub async fn a_buyer_from_creation_to_rotation<B: Backend>(backend: &B, time: &ManualTime) {
    let console = aurum_dashboard::Dashboard::routes(backend);
    let placeholder = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("s");
    let server = FakeBuyer::start(placeholder).await.expect("buyer server");
    let id = format!(
        "console_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );

    // Bad input changes nothing: a secret in the terms, an unknown field, a bad URL.
    let mut with_secret = terms(&id, &server.url());
    with_secret["secret"] = json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let (status, body) = call(&console, "POST", "/api/v1/admin/buyers", Some(with_secret)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "{body}"
    );
    let mut bad_url = terms(&id, "ftp://buyer.example/leads");
    bad_url["daily_cap"] = json!(5);
    let (status, body) = call(&console, "POST", "/api/v1/admin/buyers", Some(bad_url)).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("webhook_url")),
        "{body}"
    );
    let (status, _) = call(
        &console,
        "POST",
        "/api/v1/admin/buyers",
        Some(json!({"id": id, "oops": 1})),
    )
    .await;
    assert_eq!(status, 422, "an unknown field is refused");
    let buyers = backend.buyers().buyers().await.expect("buyers");
    assert!(buyers.iter().all(|b| b.id.as_str() != id), "nothing stored");

    // Created: the secret is in this answer only.
    let (status, created) = call(
        &console,
        "POST",
        "/api/v1/admin/buyers",
        Some(terms(&id, &server.url())),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let first_secret =
        WebhookSecret::parse(created["secret"].as_str().expect("secret")).expect("a whsec_ secret");
    assert_eq!(created["version"], 1);
    let (status, again) = call(
        &console,
        "POST",
        "/api/v1/admin/buyers",
        Some(terms(&id, &server.url())),
    )
    .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("version_conflict"))
    );
    let (status, list) = call(&console, "GET", "/api/v1/admin/buyers", None).await;
    assert_eq!(status, 200);
    assert!(
        !list.to_string().contains("whsec_"),
        "the list shows no secret"
    );
    server.trust(first_secret.clone());

    // A lead is routed to it, signed with its secret.
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::Greedy));
    let lead = sellable_lead(1, time.now());
    assert!(
        matches!(router.distribute(&lead).await, Ok(Distributed::Delivered { ref buyer }) if buyer.as_str() == id)
    );
    assert_eq!(server.deliveries().len(), 1);
    assert!(server.requests().iter().all(|r| r.verified));

    // Paused with a reason: the next lead's trace names the pause and the reason.
    let (status, paused) = call(
        &console,
        "POST",
        &format!("/api/v1/admin/buyers/{id}/standing"),
        Some(json!({"standing": "paused", "reason": "invoice overdue", "version": 1})),
    )
    .await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["standing"], "paused");
    let (status, _) = call(
        &console,
        "POST",
        &format!("/api/v1/admin/buyers/{id}/standing"),
        Some(json!({"standing": "paused", "version": 2})),
    )
    .await;
    assert_eq!(status, 422, "a pause without a reason is refused");
    let second = sellable_lead(2, time.now());
    let _ = router.distribute(&second).await;
    assert_eq!(server.deliveries().len(), 1, "a paused buyer gets nothing");
    let (status, view) = call(
        &console,
        "GET",
        &format!("/api/v1/leads/{}", second.lead_id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    let line = view["routing"]["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .find(|t| t["buyer_id"] == id.as_str())
        .cloned()
        .expect("traced");
    assert_eq!(line["excluded_by"], "paused_by_sales_team");
    assert_eq!(line["note"], "invoice overdue");

    // Resumed; then two operators edit version 3 at once: the second gets 409.
    let (status, resumed) = call(
        &console,
        "POST",
        &format!("/api/v1/admin/buyers/{id}/standing"),
        Some(json!({"standing": "active", "version": 2})),
    )
    .await;
    assert_eq!(
        (status, resumed["version"].as_u64()),
        (200, Some(3)),
        "{resumed}"
    );
    let mut one = terms(&id, &server.url());
    one["daily_cap"] = json!(30);
    let mut other = terms(&id, &server.url());
    other["daily_cap"] = json!(99);
    let path = format!("/api/v1/admin/buyers/{id}");
    let (status, saved) = call(
        &console,
        "PUT",
        &path,
        Some(json!({"terms": one, "version": 3})),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let (status, lost) = call(
        &console,
        "PUT",
        &path,
        Some(json!({"terms": other, "version": 3})),
    )
    .await;
    assert_eq!(
        (status, lost["error"]["code"].as_str()),
        (409, Some("version_conflict")),
        "{lost}"
    );
    let (_, current) = call(&console, "GET", &path, None).await;
    assert_eq!(current["terms"]["daily_cap"], 30, "the first edit stands");
    let (status, _) = call(
        &console,
        "PUT",
        "/api/v1/admin/buyers/nobody_here",
        Some(json!({"terms": terms("nobody_here", &server.url()), "version": 1})),
    )
    .await;
    assert_eq!(status, 404);

    // A test message reaches the buyer, signed, and its answer is shown.
    let (status, probe) = call(&console, "POST", &format!("{path}/test"), None).await;
    assert_eq!(
        (status, probe["status"].as_u64()),
        (200, Some(200)),
        "{probe}"
    );
    assert!(
        server
            .deliveries()
            .iter()
            .any(|m| matches!(m, BuyerMessage::LeadTest { .. }))
    );

    // Rotated with a two-hour overlap: both secrets verify, deliveries carry both.
    let (_, list) = call(&console, "GET", "/api/v1/admin/buyers", None).await;
    let version = stored_version(&list, &id);
    let (status, rotated) = call(
        &console,
        "POST",
        &format!("{path}/secret"),
        Some(json!({"version": version, "overlap_hours": 2})),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret =
        WebhookSecret::parse(rotated["secret"].as_str().expect("secret")).expect("whsec_");
    assert_ne!(new_secret, first_secret);
    let statement_with =
        |secret: &WebhookSecret| own_statement_request(&id, secret, time.now(), None, None);
    let feedback = || aurum_feedback::Feedback::routes(backend);
    let answer = feedback()
        .oneshot(statement_with(&first_secret))
        .await
        .expect("answer");
    assert_eq!(
        answer.status(),
        200,
        "the old secret verifies during the overlap"
    );
    let answer = feedback()
        .oneshot(statement_with(&new_secret))
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200, "the new secret verifies");
    let third = sellable_lead(3, time.now());
    assert!(matches!(
        router.distribute(&third).await,
        Ok(Distributed::Delivered { .. })
    ));
    assert!(
        server.requests().last().is_some_and(|r| r.verified),
        "still verified by the old key"
    );
    server.trust(new_secret.clone());
    let fourth = sellable_lead(4, time.now());
    assert!(matches!(
        router.distribute(&fourth).await,
        Ok(Distributed::Delivered { .. })
    ));
    assert!(
        server.requests().last().is_some_and(|r| r.verified),
        "and by the new key"
    );

    // After the overlap the old secret is refused, the new one still verifies.
    time.pass(Duration::from_secs(3 * 3600)).await;
    let answer = feedback()
        .oneshot(statement_with(&first_secret))
        .await
        .expect("answer");
    assert_eq!(answer.status(), 401, "the old secret retired by itself");
    let answer = feedback()
        .oneshot(statement_with(&new_secret))
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);

    // The audit: every change, newest first, never a secret.
    let (status, audit) = call(&console, "GET", "/api/v1/admin/audit?limit=500", None).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["target"] == format!("buyer:{id}").as_str())
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        [
            "buyer.secret_rotated",
            "buyer.updated",
            "buyer.resumed",
            "buyer.paused",
            "buyer.created"
        ]
    );
    let text = audit.to_string();
    assert!(!text.contains(first_secret.expose()) && !text.contains(new_secret.expose()));
    assert!(!text.contains("whsec_"));
    let (status, _) = call(&console, "GET", "/api/v1/admin/audit?limit=0", None).await;
    assert_eq!(status, 422);
    let record = backend
        .leads()
        .lead(&lead.lead_id)
        .await
        .expect("read")
        .expect("lead");
    assert_eq!(record.state, LeadState::Delivered);
}

/// GIVEN a lead that waited with no buyer and expired at the end of its shelf life
/// WHEN the sales team searches the leads and offers it again once a buyer exists
/// THEN the search finds it by status, reason and day and not by others; the re-offer
/// makes it wait again with a new shelf life and sends its next offer to the routers,
/// which sell it; a delivered or unknown lead cannot be offered again; the re-offer is in
/// the audit.
pub async fn an_expired_lead_found_and_offered_again<B: Backend>(backend: &B, time: &ManualTime) {
    use crate::routing::{drain_queue, save_conversation_of};
    use aurum::usecases::reoffer::Reoffers;
    let console = aurum_dashboard::Dashboard::routes(backend);
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::Greedy));
    let lead = sellable_lead(31, time.now());
    save_conversation_of(backend, &lead).await;
    assert_eq!(
        router.distribute(&lead).await.expect("routed"),
        Distributed::Waiting {
            reason: "no_eligible_buyer".into()
        }
    );
    let day = aurum::domain::analytics::new_york_day(time.now());
    time.pass(Duration::from_secs(73 * 3600)).await;
    let swept = Reoffers::new(backend)
        .sweep(time.now())
        .await
        .expect("sweep");
    assert_eq!(swept.expired, 1);

    // Found by what the team knows about it, and not by what it is not.
    let ids = |body: &Value| -> Vec<String> {
        body["leads"]
            .as_array()
            .expect("leads")
            .iter()
            .map(|l| l["lead_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    for query in [
        "status=expired".to_owned(),
        "unsold_reason=no_eligible_buyer".to_owned(),
        format!("day={day}&tier=standard"),
    ] {
        let (status, found) = call(
            &console,
            "GET",
            &format!("/api/v1/admin/leads?{query}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(ids(&found), std::slice::from_ref(&lead.lead_id), "{query}");
        assert_eq!(found["complete"], true);
    }
    for query in [
        "status=delivered",
        "tier=premium",
        "buyer_id=someone",
        "day=2020-01-01",
    ] {
        let (_, found) = call(
            &console,
            "GET",
            &format!("/api/v1/admin/leads?{query}"),
            None,
        )
        .await;
        assert!(ids(&found).is_empty(), "{query}: {found}");
    }
    for bad in [
        "limit=0",
        "status=gone",
        "buyer_id=Not%20An%20Id",
        "day=yesterday",
    ] {
        let (status, _) = call(&console, "GET", &format!("/api/v1/admin/leads?{bad}"), None).await;
        assert_eq!(status, 422, "{bad}");
    }

    // A buyer appears; the team offers the lead again.
    let server = FakeBuyer::start(
        WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("s"),
    )
    .await
    .expect("buyer server");
    let id = format!("late_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (status, created) = call(
        &console,
        "POST",
        "/api/v1/admin/buyers",
        Some(terms(&id, &server.url())),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    server.trust(WebhookSecret::parse(created["secret"].as_str().expect("secret")).expect("s"));
    let path = format!("/api/v1/admin/leads/{}/reoffer", lead.lead_id);
    let (status, offered) = call(&console, "POST", &path, None).await;
    assert_eq!(
        (status, offered["offer"].as_u64()),
        (202, Some(1)),
        "{offered}"
    );
    let record = backend
        .leads()
        .lead(&lead.lead_id)
        .await
        .expect("read")
        .expect("lead");
    assert_eq!(record.state, LeadState::Waiting);
    assert_eq!(record.revived_at, Some(time.now()));
    // Its shelf life runs from now: the sweep does not expire it again.
    let swept = Reoffers::new(backend)
        .sweep(time.now())
        .await
        .expect("sweep");
    assert_eq!(swept.expired, 0, "{swept:?}");
    let messages = drain_queue(backend).await;
    let next = messages
        .iter()
        .find(|m| m.lead_id == lead.lead_id && m.offer == 1)
        .expect("the re-offer is on the queue");
    assert_eq!(
        router.distribute(next).await.expect("routed"),
        Distributed::Delivered {
            buyer: aurum::domain::buyer::BuyerId::parse(&id).expect("id")
        }
    );
    assert!(server.requests().iter().all(|r| r.verified));

    // A delivered lead, or one that does not exist, is not offered again.
    let (status, refused) = call(&console, "POST", &path, None).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("invalid_transition")),
        "{refused}"
    );
    let (status, _) = call(
        &console,
        "POST",
        "/api/v1/admin/leads/lead_nobody/reoffer",
        None,
    )
    .await;
    assert_eq!(status, 404);

    let (_, audit) = call(&console, "GET", "/api/v1/admin/audit", None).await;
    assert!(
        audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["action"] == "lead.reoffered"
                && e["target"] == format!("lead:{}", lead.lead_id).as_str()),
        "{audit}"
    );
}

/// The version a conversation turn was scored with.
async fn scored_with(chat: &crate::ChatApp, session: &str, message: &str) -> u64 {
    let (status, reply) = crate::post_turn(chat, session, message).await;
    assert_eq!(status, 200, "{reply}");
    reply["revenue_optimization"]["lead_score"]["model_version"]
        .as_u64()
        .unwrap_or_else(|| panic!("a scored reply: {reply}"))
}

/// The example experiments (examples/experiments.toml's premium and standard), as JSON.
fn experiments_body() -> Value {
    let variants = json!([
        {"id": "list", "price_bps": 10000},
        {"id": "minus_10", "price_bps": 9000},
        {"id": "plus_10", "price_bps": 11000}
    ]);
    json!({"experiment": [
        {"id": "premium-price-1", "buyer_tier": "premium", "variants": variants},
        {"id": "standard-price-1", "buyer_tier": "standard", "variants": variants,
         "min_offers": 300, "probability_best": 0.9}
    ]})
}

fn audited<'a>(audit: &'a Value, target: &str) -> Vec<&'a Value> {
    audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["target"].as_str().is_some_and(|t| t.starts_with(target)))
        .collect()
}

/// GIVEN the console on `backend` and a model `aurum model train` fitted on the simulated
/// leads' four factor scores
/// WHEN the sales team loads it, promotes it and rolls back, from the API and the CLI, and
/// starts and stops price experiments from both
/// THEN a loaded version is listed with its held-out figures but scores nothing until
/// promoted; a conversation's next turn is scored with the version in force after each
/// promotion and roll back; bad input gets the API's JSON 4xx and changes nothing; every
/// change is in the audit with who, before and after.
pub async fn models_and_experiments_from_the_console<B: Backend>(backend: &B) {
    use aurum_cli::console_models::{Change, run};
    let console = aurum_dashboard::Dashboard::routes(backend);
    let chat = crate::conversation_lambda(backend);
    let session = format!(
        "chat_models_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let csv = aurum_cli::learning::examples_csv(11, 2_000);
    let trained = aurum_cli::model::train(
        csv.as_bytes(),
        &aurum_cli::model::TrainOptions::new("converted"),
    )
    .expect("trained on the simulated leads");
    let file = serde_json::to_value(&trained).expect("the model file");

    // Bad files change nothing: another format, a column the scorer does not have,
    // coefficients short of the columns, an unknown version to promote.
    let mut other_format = file.clone();
    other_format["format"] = json!("aurum-offline-model/0");
    let mut zip = file.clone();
    zip["columns"][3]["column"] = json!("zip_code");
    let mut short = file.clone();
    short["logit"]["coefficients"]
        .as_array_mut()
        .expect("coefficients")
        .pop();
    let mut huge = file.clone();
    huge["logit"]["coefficients"][0] = json!(1.0e6);
    for bad in [other_format, zip, short, huge] {
        let (status, body) = call(&console, "POST", "/api/v1/admin/models", Some(bad)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("invalid_request")),
            "{body}"
        );
    }
    let (status, models) = call(&console, "GET", "/api/v1/models", None).await;
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["current_version"], 1);
    assert_eq!(models["versions"], json!([]), "nothing stored");

    // Loaded: listed with the file's held-out figures, not in force.
    let (status, loaded) = call(&console, "POST", "/api/v1/admin/models", Some(file.clone())).await;
    assert_eq!(status, 201, "{loaded}");
    assert_eq!(
        (loaded["version"].as_u64(), loaded["verdict"].as_str()),
        (Some(2), Some("loaded"))
    );
    let (_, models) = call(&console, "GET", "/api/v1/models", None).await;
    assert_eq!(models["current_version"], 1, "not in force until promoted");
    assert_eq!(models["versions"][0]["version"], 2);
    assert_eq!(models["versions"][0]["verdict"], "loaded");
    assert_eq!(
        models["versions"][0]["evaluation"]["samples"].as_u64(),
        Some(trained.held_out.samples as u64)
    );
    assert_eq!(
        scored_with(&chat, &session, "Hi, I'm looking into solar").await,
        1
    );

    // Promoted on the version seen in force; a stale or unknown one changes nothing.
    let promote = |version: &str, current: Value| {
        let console = console.clone();
        let path = format!("/api/v1/admin/models/{version}/promote");
        async move { call(&console, "POST", &path, Some(current)).await }
    };
    let (status, body) = promote("2", json!({"current_version": 5})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("version_conflict")),
        "{body}"
    );
    let (status, body) = promote("99", json!({"current_version": 1})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, body) = promote("latest", json!({"current_version": 1})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, body) = promote("2", json!({"current_version": 1, "now": true})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        scored_with(&chat, &session, "I own my home in Brooklyn").await,
        1
    );
    let (status, promoted) = promote("2", json!({"current_version": 1})).await;
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(
        promoted,
        json!({"current_version": 2, "previous_version": 1, "action": "model.promoted"})
    );
    let (status, body) = promote("2", json!({"current_version": 2})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("invalid_transition")),
        "{body}"
    );
    assert_eq!(
        scored_with(&chat, &session, "My electric bill is about $250 a month").await,
        2,
        "the next turn scores with the promoted version"
    );

    // From the CLI: roll back to the version it was built on; load and promote at once.
    let lines = run(backend.clone(), Change::Rollback)
        .await
        .expect("rolled back");
    assert!(
        lines[0].starts_with("rolled back: version 1 in force (was 2)"),
        "{lines:?}"
    );
    assert_eq!(
        scored_with(&chat, &session, "It's a single family house").await,
        1
    );
    let lines = run(
        backend.clone(),
        Change::Load {
            json: file.to_string(),
            promote: true,
        },
    )
    .await
    .expect("loaded and promoted");
    assert!(lines[0].starts_with("loaded as version 3"), "{lines:?}");
    assert!(
        lines[1].starts_with("promoted: version 3 in force (was 1)"),
        "{lines:?}"
    );
    assert_eq!(
        scored_with(&chat, &session, "We'd like to install this year").await,
        3
    );
    assert!(
        run(backend.clone(), Change::Promote { version: 42 })
            .await
            .is_err(),
        "no version 42"
    );
    // And back to the built-in model from the API: a roll back.
    let (status, back) = promote("1", json!({"current_version": 3})).await;
    assert_eq!(
        (status, back["action"].as_str()),
        (200, Some("model.rolled_back")),
        "{back}"
    );
    assert_eq!(scored_with(&chat, &session, "What would it cost?").await, 1);

    // Experiments: a bad set starts nothing; started, one stopped from the API, the
    // other from the CLI, the file started again from the CLI.
    let mut one_variant = experiments_body();
    one_variant["experiment"][0]["variants"] = json!([{"id": "list", "price_bps": 10000}]);
    let mut same_tier = experiments_body();
    same_tier["experiment"][1]["buyer_tier"] = json!("premium");
    for bad in [
        one_variant,
        same_tier,
        json!({"experiment": []}),
        json!({"experiments": []}),
    ] {
        let (status, body) = call(&console, "POST", "/api/v1/admin/experiments", Some(bad)).await;
        assert_eq!(status, 422, "{body}");
    }
    let (_, running) = call(&console, "GET", "/api/v1/experiments", None).await;
    assert_eq!(running["experiments"], json!([]), "nothing started");
    let (status, started) = call(
        &console,
        "POST",
        "/api/v1/admin/experiments",
        Some(experiments_body()),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["experiments"].as_array().map(Vec::len), Some(2));
    assert_eq!(started["experiments"][1]["min_offers"], 300);
    let (status, body) = call(
        &console,
        "POST",
        "/api/v1/admin/experiments/nothing-such/stop",
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, after) = call(
        &console,
        "POST",
        "/api/v1/admin/experiments/premium-price-1/stop",
        None,
    )
    .await;
    assert_eq!(status, 200, "{after}");
    let (_, running) = call(&console, "GET", "/api/v1/experiments", None).await;
    let ids: Vec<&str> = running["experiments"]
        .as_array()
        .expect("experiments")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, ["standard-price-1"], "the premium experiment stopped");
    let lines = run(
        backend.clone(),
        Change::StopExperiment {
            id: "standard-price-1".into(),
        },
    )
    .await
    .expect("stopped");
    assert_eq!(lines, ["stopped standard-price-1; 0 experiment(s) go on"]);
    let (_, running) = call(&console, "GET", "/api/v1/experiments", None).await;
    assert_eq!(running["experiments"], json!([]));
    let lines = run(
        backend.clone(),
        Change::StartExperiments {
            toml: aurum_cli::experiments::EXAMPLE_FILE.to_owned(),
        },
    )
    .await
    .expect("started");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("started premium-price-1")),
        "{lines:?}"
    );

    // The audit: every change, newest first, who made it, before and after.
    let (status, audit) = call(&console, "GET", "/api/v1/admin/audit?limit=500", None).await;
    assert_eq!(status, 200);
    let model_changes: Vec<(&str, &str, Value, Value)> = audited(&audit, "model:scoring")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["actor"].as_str().unwrap_or_default(),
                e["before"]["version"].clone(),
                e["after"]["version"].clone(),
            )
        })
        .collect();
    assert_eq!(
        model_changes,
        [
            ("model.rolled_back", "local", json!(3), json!(1)),
            ("model.promoted", "cli", json!(1), json!(3)),
            ("model.loaded", "cli", Value::Null, json!(3)),
            ("model.rolled_back", "cli", json!(2), json!(1)),
            ("model.promoted", "local", json!(1), json!(2)),
            ("model.loaded", "local", Value::Null, json!(2)),
        ]
    );
    let experiment_changes: Vec<(&str, &str)> = audited(&audit, "experiment")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["target"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        experiment_changes,
        [
            (
                "experiments.started",
                "experiments:premium-price-1,standard-price-1"
            ),
            ("experiment.stopped", "experiment:standard-price-1"),
            ("experiment.stopped", "experiment:premium-price-1"),
            (
                "experiments.started",
                "experiments:premium-price-1,standard-price-1"
            ),
        ]
    );
}
