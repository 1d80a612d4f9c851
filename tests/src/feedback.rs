//! Buyer-feedback scenarios, generic over the backend: the same scenario runs on the
//! embedded store and on DynamoDB (moto) with Redis. Leads are sold and delivered by the
//! real router to a fake buyer on loopback, then the buyer posts signed feedback.

use crate::contract::{ManualTime, Time};
use crate::routing::{SECRET, buyer_at, quick_client, sellable_lead, settings};
use aurum::adapters::fake_buyer::FakeBuyer;
use aurum::artefacts::forget_buyers;
use aurum::backend::Backend;
use aurum::contracts::QueuedLead;
use aurum::domain::buyer::{Buyer, BuyerId, BuyerTier, WebhookSecret};
use aurum::domain::feedback::{statement_month, tally, training_day};
use aurum::domain::lead::LeadState;
use aurum::domain::routing::RoutingStrategy;
use aurum::ports::{BuyerStore, FeedbackStore, LeadStore, SaleStore};
use aurum::usecases::routing::{Distributed, Distribution};
use aurum::webhooks::{self, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use axum::body::Body;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use hyper::HeaderMap;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ROUTE: &str = aurum_feedback::ROUTE;

/// The feedback Lambda's router over `backend`.
pub fn feedback_lambda<B: Backend>(backend: &B) -> axum::Router {
    aurum::function::lambda_router::<aurum_feedback::Feedback, _>(backend)
}

pub fn secret() -> WebhookSecret {
    WebhookSecret::parse(SECRET).expect("secret")
}

pub fn other_secret() -> WebhookSecret {
    WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret")
}

/// A feedback request: `body` signed by `secret` as message `id` at `at`, sent as `buyer`.
pub fn signed(
    buyer: &str,
    secret: &WebhookSecret,
    id: &str,
    at: DateTime<Utc>,
    body: &[u8],
) -> hyper::Request<Body> {
    let mut request = hyper::Request::post(ROUTE)
        .header("content-type", "application/json")
        .header(aurum_feedback::HEADER_BUYER, buyer)
        .body(Body::from(body.to_vec()))
        .expect("request");
    webhooks::sign(secret, id, at, body)
        .expect("sign")
        .apply(request.headers_mut())
        .expect("headers");
    request
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn replayed(&self) -> bool {
        self.headers.contains_key(aurum_feedback::HEADER_REPLAYED)
    }
}

pub async fn call(app: &axum::Router, request: hyper::Request<Body>) -> Answer {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("routers are infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{status}: the body is not JSON ({e}): {bytes:?}"));
    Answer {
        status,
        headers,
        body,
    }
}

pub fn body(lead: &str, buyer: &BuyerId, kind: &str, extra: Value) -> Vec<u8> {
    let mut b = json!({"lead_id": lead, "buyer_id": buyer.as_str(), "feedback_type": kind});
    if let Value::Object(more) = extra {
        for (k, v) in more {
            b[k] = v;
        }
    }
    b.to_string().into_bytes()
}

static NEXT_PHONE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(2_000);

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

pub fn message_id() -> String {
    aurum_cli::buyer_client::new_message_id()
}

/// `count` leads sold and delivered to the one active buyer `buyer` (its webhook at `fake`).
pub async fn delivered_leads<B: Backend>(
    backend: &B,
    buyer: &Buyer,
    count: u32,
    at: DateTime<Utc>,
) -> Vec<QueuedLead> {
    forget_buyers(backend).await;
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::Greedy));
    let mut leads = Vec::new();
    for _ in 0..count {
        // Every lead its own phone: the router sells a phone once per dedup window.
        let n = NEXT_PHONE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let lead = sellable_lead(n, at);
        let outcome = router.distribute(&lead).await.expect("distributed");
        assert_eq!(
            outcome,
            Distributed::Delivered {
                buyer: buyer.id.clone()
            }
        );
        leads.push(lead);
    }
    leads
}

/// Everything feedback may change, for leads and buyers, as text: compared before and
/// after a refused request.
pub async fn dump<B: Backend>(
    backend: &B,
    leads: &[&str],
    buyers: &[&BuyerId],
    at: DateTime<Utc>,
) -> String {
    let month = statement_month(at);
    let mut out = String::new();
    for lead in leads {
        let record = backend.leads().lead(lead).await.expect("lead");
        let ledger = backend.sales().ledger(lead).await.expect("ledger");
        out.push_str(&format!("{record:?}\n{ledger:?}\n"));
    }
    for buyer in buyers {
        let f = backend.feedback();
        for key in [
            tally::buyer(buyer),
            tally::buyer_month(buyer, &month),
            tally::reasons_by_buyer(buyer),
        ] {
            out.push_str(&format!(
                "{key}: {:?}\n",
                f.tallies(&key).await.expect("tallies")
            ));
        }
        out.push_str(&format!(
            "{:?}\n{:?}\n",
            f.buyer_feedback(buyer, &month).await.expect("feedback"),
            f.buyer_ledger(buyer, &month).await.expect("buyer ledger"),
        ));
    }
    for key in [
        tally::reasons_by_tier(Some(aurum::domain::scoring::QualityTier::Standard)),
        tally::reasons_by_borough(Some("brooklyn")),
    ] {
        out.push_str(&format!(
            "{key}: {:?}\n",
            backend.feedback().tallies(&key).await.expect("tallies")
        ));
    }
    out.push_str(&format!(
        "{:?}\n",
        backend
            .feedback()
            .training_examples(training_day(at))
            .await
            .expect("training")
    ));
    out
}

/// The empty-key HMAC a sender with an empty secret would produce.
fn empty_key_signature(id: &str, at: DateTime<Utc>, body: &[u8]) -> String {
    use base64::Engine;
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[]).expect("any key");
    mac.update(format!("{id}.{}.", at.timestamp()).as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// GIVEN a lead delivered to buyer A (already accepted once) and a second buyer B, WHEN
/// every attack on the public endpoint is tried, THEN each is refused with its own code and
/// the store is exactly as before; a replay within the window gets the first result.
pub async fn every_attack_is_refused_and_changes_nothing<B: Backend>(backend: &B) {
    let now = (backend.clock())();
    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let a = buyer_at(&unique("sec_a"), BuyerTier::Premium, &fake.url(), 50);
    let mut b = buyer_at(&unique("sec_b"), BuyerTier::Standard, &fake.url(), 50);
    b.secret = other_secret();
    b.area.boroughs = [aurum::domain::facts::Borough::Queens].into();
    backend
        .buyers()
        .put_buyers(&[a.clone(), b.clone()])
        .await
        .expect("buyers");
    let leads = delivered_leads(backend, &a, 1, now).await;
    let lead = leads[0].lead_id.clone();
    let app = feedback_lambda(backend);
    let (a_id, b_id) = (a.id.as_str().to_owned(), b.id.as_str().to_owned());

    // A first, valid message, so a replay has something to replay.
    let first_id = message_id();
    let accepted = body(&lead, &a.id, "accepted", json!({"feedback_score": 9}));
    let first = call(&app, signed(&a_id, &secret(), &first_id, now, &accepted)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(!first.replayed());

    let before = dump(backend, &[&lead], &[&a.id, &b.id], now).await;
    let rejected = |code: &str| body(&lead, &a.id, "rejected", json!({"reason_code": code}));
    let valid = rejected("wrong_number");
    let six_minutes = chrono::Duration::seconds(301);

    // The replay: byte for byte the first message, within the window.
    let replay = call(&app, signed(&a_id, &secret(), &first_id, now, &accepted)).await;
    assert_eq!(replay.status, 200);
    assert!(replay.replayed());
    assert_eq!(replay.body, first.body, "the first result");

    let mut cases: Vec<(&str, hyper::Request<Body>, u16, &str)> = Vec::new();
    // The same message captured and replayed after the tolerance.
    cases.push((
        "replay after five minutes",
        signed(&a_id, &secret(), &first_id, now - six_minutes, &accepted),
        401,
        "invalid_signature",
    ));
    let mut tampered = signed(&a_id, &secret(), &message_id(), now, &valid);
    *tampered.body_mut() = Body::from(rejected("duplicate"));
    cases.push(("tampered body", tampered, 401, "invalid_signature"));
    let mut other_id = signed(&a_id, &secret(), &message_id(), now, &valid);
    other_id
        .headers_mut()
        .insert(HEADER_ID, "msg_not_the_signed_one".parse().expect("header"));
    cases.push(("tampered id", other_id, 401, "invalid_signature"));
    cases.push((
        "stale timestamp",
        signed(&a_id, &secret(), &message_id(), now - six_minutes, &valid),
        401,
        "invalid_signature",
    ));
    cases.push((
        "future timestamp",
        signed(&a_id, &secret(), &message_id(), now + six_minutes, &valid),
        401,
        "invalid_signature",
    ));
    cases.push((
        "another buyer's lead",
        signed(
            &b_id,
            &other_secret(),
            &message_id(),
            now,
            &body(
                &lead,
                &b.id,
                "rejected",
                json!({"reason_code": "wrong_number"}),
            ),
        ),
        403,
        "not_your_lead",
    ));
    cases.push((
        "a lead that does not exist",
        signed(
            &a_id,
            &secret(),
            &message_id(),
            now,
            &body("lead_nope", &a.id, "accepted", json!({})),
        ),
        403,
        "not_your_lead",
    ));
    cases.push((
        "speaking for another buyer",
        signed(
            &a_id,
            &secret(),
            &message_id(),
            now,
            &body(&lead, &b.id, "accepted", json!({})),
        ),
        403,
        "buyer_mismatch",
    ));
    cases.push((
        "unknown buyer",
        signed("nobody_at_all", &secret(), &message_id(), now, &valid),
        401,
        "invalid_signature",
    ));
    let mut no_buyer = signed(&a_id, &secret(), &message_id(), now, &valid);
    no_buyer.headers_mut().remove(aurum_feedback::HEADER_BUYER);
    cases.push(("no buyer header", no_buyer, 401, "invalid_signature"));
    let id = message_id();
    let mut empty = signed(&a_id, &secret(), &id, now, &valid);
    empty.headers_mut().insert(
        HEADER_SIGNATURE,
        empty_key_signature(&id, now, &valid)
            .parse()
            .expect("header"),
    );
    cases.push(("empty secret", empty, 401, "invalid_signature"));
    let full = webhooks::sign(&secret(), &id, now, &valid)
        .expect("sign")
        .signature;
    for (name, sig) in [
        ("truncated to v1,", "v1,".to_owned()),
        ("first 8 characters", full[..8].to_owned()),
    ] {
        let mut r = signed(&a_id, &secret(), &id, now, &valid);
        r.headers_mut()
            .insert(HEADER_SIGNATURE, sig.parse().expect("header"));
        cases.push((name, r, 401, "invalid_signature"));
    }
    cases.push((
        "signed with another secret",
        signed(&a_id, &other_secret(), &message_id(), now, &valid),
        401,
        "invalid_signature",
    ));
    let mut unsigned = signed(&a_id, &secret(), &message_id(), now, &valid);
    for h in [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE] {
        unsigned.headers_mut().remove(h);
    }
    cases.push(("unsigned", unsigned, 401, "invalid_signature"));
    let huge = format!(
        r#"{{"lead_id":"{lead}","buyer_id":"{a_id}","feedback_type":"accepted","buyer_notes":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    cases.push((
        "huge body",
        signed(&a_id, &secret(), &message_id(), now, huge.as_bytes()),
        413,
        "payload_too_large",
    ));
    cases.push((
        "invalid UTF-8",
        signed(
            &a_id,
            &secret(),
            &message_id(),
            now,
            b"{\"lead_id\":\"\xff\xfe\"}",
        ),
        400,
        "malformed_json",
    ));
    let nested = format!(
        r#"{{"lead_id":"{lead}","buyer_id":"{a_id}","feedback_type":"accepted","x":{}{}}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    cases.push((
        "deeply nested JSON",
        signed(&a_id, &secret(), &message_id(), now, nested.as_bytes()),
        400,
        "malformed_json",
    ));
    cases.push((
        "a reason code that does not exist",
        signed(
            &a_id,
            &secret(),
            &message_id(),
            now,
            &rejected("changed_my_mind"),
        ),
        422,
        "invalid_request",
    ));
    cases.push((
        "a return that did not convert",
        signed(
            &a_id,
            &secret(),
            &message_id(),
            now,
            &body(
                &lead,
                &a.id,
                "returned",
                json!({"reason_code": "did_not_convert"}),
            ),
        ),
        422,
        "invalid_request",
    ));
    cases.push((
        "rejecting an accepted lead",
        signed(&a_id, &secret(), &message_id(), now, &valid),
        409,
        "invalid_transition",
    ));

    for (name, request, status, code) in cases {
        let answer = call(&app, request).await;
        assert_eq!(answer.status, status, "{name}: {}", answer.body);
        assert_eq!(answer.code(), code, "{name}: {}", answer.body);
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}"
        );
        if status == 401 {
            assert_eq!(
                answer.body["error"]["message"],
                aurum_feedback::api::SIGNATURE_MESSAGE,
                "{name}: one message for every signature failure"
            );
        }
        if status == 409 {
            assert_eq!(answer.body["error"]["current_status"], "accepted", "{name}");
        }
    }
    let after = dump(backend, &[&lead], &[&a.id, &b.id], now).await;
    assert_eq!(before, after, "no refused request changed the store");
}

/// GIVEN a delivered lead, WHEN the same feedback is posted 20 times at once (ten times the
/// same message, ten times as new messages), THEN it is applied once and every post gets
/// the same result.
pub async fn twenty_identical_posts_apply_once<B: Backend>(backend: &B) {
    let now = (backend.clock())();
    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let a = buyer_at(&unique("race"), BuyerTier::Premium, &fake.url(), 50);
    backend
        .buyers()
        .put_buyers(std::slice::from_ref(&a))
        .await
        .expect("buyers");
    let lead = delivered_leads(backend, &a, 1, now).await.remove(0).lead_id;
    let app = feedback_lambda(backend);
    let bytes = body(&lead, &a.id, "accepted", json!({"feedback_score": 7.5}));
    let shared_id = message_id();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let id = if i % 2 == 0 {
            shared_id.clone()
        } else {
            message_id()
        };
        let request = signed(a.id.as_str(), &secret(), &id, now, &bytes);
        let app = app.clone();
        tasks.push(tokio::spawn(async move { call(&app, request).await }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    assert!(
        answers.iter().all(|a| a.status == 200),
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    assert_eq!(
        answers.iter().filter(|a| !a.replayed()).count(),
        1,
        "applied once"
    );
    assert!(
        answers.iter().all(|x| x.body == answers[0].body),
        "one result"
    );
    let record = backend
        .leads()
        .lead(&lead)
        .await
        .expect("read")
        .expect("lead");
    assert_eq!(record.state, LeadState::Accepted);
    assert_eq!(
        record
            .history
            .iter()
            .filter(|t| t.state == LeadState::Accepted)
            .count(),
        1
    );
    let counts = backend
        .feedback()
        .tallies(&tally::buyer(&a.id))
        .await
        .expect("tallies");
    assert_eq!(counts.get("accepted"), Some(&1), "{counts:?}");
    let examples = backend
        .feedback()
        .training_examples(training_day(now))
        .await
        .expect("training");
    assert_eq!(examples.iter().filter(|e| e.lead_id == lead).count(), 1);
}

async fn sale_price<B: Backend>(backend: &B, lead: &str) -> aurum::domain::money::Cents {
    backend
        .leads()
        .lead(lead)
        .await
        .expect("read")
        .expect("lead")
        .sale
        .expect("sale")
        .price
}

/// A plain GET of the sales team's statement route.
pub fn statement_request(buyer: &BuyerId, month: &str) -> hyper::Request<Body> {
    hyper::Request::get(format!("/api/v1/buyers/{buyer}/statement?month={month}"))
        .body(Body::empty())
        .expect("request")
}

/// GIVEN six leads delivered to buyer A and two to buyer B, WHEN A accepts and converts
/// one, returns two (one credited, one beyond the 20 % cap: held) and rejects one, and B
/// accepts both, THEN the ledger, the buyer counters, the reasons and the training data
/// follow, each statement lists every line with its lead and time, and the statements' nets
/// add up to the ledger.
pub async fn feedback_reaches_the_ledger_stats_and_statements<B: Backend>(backend: &B) {
    let now = (backend.clock())();
    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let fake_b = FakeBuyer::start(other_secret()).await.expect("fake buyer");
    let mut a = buyer_at(&unique("books_a"), BuyerTier::Premium, &fake.url(), 50);
    let mut b = buyer_at(&unique("books_b"), BuyerTier::Standard, &fake_b.url(), 50);
    b.secret = other_secret();
    b.active = false;
    backend
        .buyers()
        .put_buyers(&[a.clone(), b.clone()])
        .await
        .expect("buyers");
    let a_leads = delivered_leads(backend, &a, 6, now).await;
    a.active = false;
    b.active = true;
    backend
        .buyers()
        .put_buyers(&[a.clone(), b.clone()])
        .await
        .expect("buyers");
    let b_leads = delivered_leads(backend, &b, 2, now).await;
    let app = feedback_lambda(backend);
    let post = |buyer: &Buyer, secret: WebhookSecret, lead: &str, kind: &str, extra: Value| {
        signed(
            buyer.id.as_str(),
            &secret,
            &message_id(),
            now,
            &body(lead, &buyer.id, kind, extra),
        )
    };
    let ok = |answer: Answer| {
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    };
    let l = |i: usize| a_leads[i].lead_id.as_str();

    ok(call(
        &app,
        post(
            &a,
            secret(),
            l(0),
            "accepted",
            json!({"feedback_score": 8.5}),
        ),
    )
    .await);
    let converted = ok(call(
        &app,
        post(
            &a,
            secret(),
            l(0),
            "converted",
            json!({"conversion_value": 27500.0}),
        ),
    )
    .await);
    assert_eq!(converted["lead_status"], "converted");
    assert_eq!(converted["conversion_value"], 27500.0);
    // Converted after it was returned, or returned after converting: impossible.
    let again = call(
        &app,
        post(
            &a,
            secret(),
            l(0),
            "returned",
            json!({"reason_code": "wrong_number"}),
        ),
    )
    .await;
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));
    assert_eq!(again.body["error"]["current_status"], "converted");

    let credited = ok(call(
        &app,
        post(
            &a,
            secret(),
            l(1),
            "returned",
            json!({"reason_code": "wrong_number"}),
        ),
    )
    .await);
    assert_eq!(credited["status"], "applied");
    let price1 = sale_price(backend, l(1)).await;
    assert_eq!(credited["credit"], price1.dollars_f64());
    // 6 leads kept × 20 % = one credit this month: the next return waits for review.
    let held = ok(call(
        &app,
        post(
            &a,
            secret(),
            l(2),
            "returned",
            json!({"reason_code": "unreachable"}),
        ),
    )
    .await);
    assert_eq!(held["status"], "held_for_review");
    assert!(held["credit"].is_null());
    let rejected = ok(call(
        &app,
        post(
            &a,
            secret(),
            l(3),
            "rejected",
            json!({"reason_code": "not_homeowner"}),
        ),
    )
    .await);
    assert_eq!(rejected["status"], "held_for_review");
    let twice = call(
        &app,
        post(
            &a,
            secret(),
            l(1),
            "converted",
            json!({"conversion_value": 100}),
        ),
    )
    .await;
    assert_eq!(
        twice.body["error"]["current_status"], "returned",
        "{}",
        twice.body
    );
    for lead in &b_leads {
        ok(call(
            &app,
            post(&b, other_secret(), &lead.lead_id, "accepted", json!({})),
        )
        .await);
    }

    // The ledger: one credit line, one conversion line.
    let ledger1 = backend.sales().ledger(l(1)).await.expect("ledger");
    assert_eq!(
        ledger1
            .iter()
            .map(|e| (e.entry_id.as_str(), e.amount.0))
            .collect::<Vec<_>>(),
        [("credit#1", -price1.0), ("sale#1", price1.0)]
    );
    let ledger0 = backend.sales().ledger(l(0)).await.expect("ledger");
    assert!(
        ledger0
            .iter()
            .any(|e| e.entry_id == "conversion#1" && e.amount.0 == 2_750_000)
    );

    // Buyer performance and reasons.
    let month = statement_month(now);
    let perf = backend
        .feedback()
        .tallies(&tally::buyer_month(&a.id, &month))
        .await
        .expect("tallies");
    let get = |f: &str| perf.get(f).copied().unwrap_or(0);
    assert_eq!(
        (
            get("accepted"),
            get("rejected"),
            get("returned"),
            get("held"),
            get("credits"),
            get("converted")
        ),
        (3, 1, 2, 2, 1, 1),
        "{perf:?}"
    );
    assert_eq!(get("conversion_value_cents"), 2_750_000);
    let reasons = backend
        .feedback()
        .tallies(&tally::reasons_by_buyer(&a.id))
        .await
        .expect("reasons");
    assert_eq!(reasons.get("returned:wrong_number"), Some(&1));
    assert_eq!(reasons.get("rejected:not_homeowner"), Some(&1));
    let by_borough = backend
        .feedback()
        .tallies(&tally::reasons_by_borough(Some("brooklyn")))
        .await
        .expect("reasons");
    assert!(
        by_borough
            .get("returned:unreachable")
            .is_some_and(|n| *n >= 1)
    );
    let examples = backend
        .feedback()
        .training_examples(training_day(now))
        .await
        .expect("training");
    let mine: Vec<_> = examples.iter().filter(|e| e.buyer_id == a.id).collect();
    assert_eq!(mine.len(), 5, "one example per recorded feedback");
    assert!(mine.iter().all(|e| e.score == Some(84) && e.price.0 > 0));

    // The statements, through the API.
    let statement_a = call(&app, statement_request(&a.id, &month)).await;
    assert_eq!(statement_a.status, 200, "{}", statement_a.body);
    let s = &statement_a.body;
    let t = &s["totals"];
    assert_eq!(t["leads_sold"], 6);
    assert_eq!(
        (
            t["accepted"].as_u64(),
            t["returned"].as_u64(),
            t["rejected"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(
        (
            t["credited"].as_u64(),
            t["held"].as_u64(),
            t["converted"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(t["conversion_value"], 27500.0);
    let lines = s["lines"].as_array().expect("lines");
    assert_eq!(
        lines.len(),
        6 + 1 + 1 + 2,
        "sales, a credit, a conversion, two held"
    );
    assert!(
        lines
            .iter()
            .all(|line| line["lead_id"].is_string() && line["at"].is_string())
    );
    assert_eq!(s["performance"]["month"]["accepted"], 3);
    assert_eq!(s["performance"]["all_time"]["converted"], 1);
    let statement_b = call(&app, statement_request(&b.id, &month)).await;
    assert_eq!(statement_b.status, 200);

    // Σ statement nets = the ledger total of every lead sold.
    let mut ledger_total = 0i64;
    for lead in a_leads.iter().chain(&b_leads) {
        ledger_total += backend
            .sales()
            .ledger(&lead.lead_id)
            .await
            .expect("ledger")
            .iter()
            .map(|e| e.revenue().0)
            .sum::<i64>();
    }
    let nets = statement_a.body["net_cents"].as_i64().expect("net")
        + statement_b.body["net_cents"].as_i64().expect("net");
    assert_eq!(
        nets, ledger_total,
        "the statements reconcile with the ledger"
    );
    let sales_a: i64 = {
        let mut sum = 0;
        for lead in &a_leads {
            sum += sale_price(backend, &lead.lead_id).await.0;
        }
        sum
    };
    assert_eq!(
        statement_a.body["net_cents"].as_i64(),
        Some(sales_a - price1.0)
    );

    // Bad statement requests.
    let no_such_month = call(&app, statement_request(&a.id, "2026-13")).await;
    assert_eq!(
        (no_such_month.status, no_such_month.code()),
        (404, "not_found")
    );
    let bad_month = call(&app, statement_request(&a.id, "June")).await;
    assert_eq!(
        (bad_month.status, bad_month.code()),
        (422, "invalid_request")
    );
    let nobody = call(
        &app,
        statement_request(&BuyerId::parse("nobody").expect("id"), &month),
    )
    .await;
    assert_eq!((nobody.status, nobody.code()), (404, "not_found"));
}

/// GIVEN a delivered lead WHEN the buyer returns it after its window THEN 422
/// `return_window_closed`; GIVEN a buyer over its rate THEN 429 with `retry-after`.
pub async fn late_returns_and_floods_are_refused<B: Backend>(backend: &B, time: &ManualTime) {
    let sold_at = (backend.clock())();
    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let a = buyer_at(&unique("late"), BuyerTier::Premium, &fake.url(), 50);
    backend
        .buyers()
        .put_buyers(std::slice::from_ref(&a))
        .await
        .expect("buyers");
    let lead = delivered_leads(backend, &a, 1, sold_at)
        .await
        .remove(0)
        .lead_id;
    let app = feedback_lambda(backend);
    // Eight days on: the seven-day window has closed.
    time.pass(std::time::Duration::from_secs(8 * 24 * 3600))
        .await;
    let later = (backend.clock())();
    let late = call(
        &app,
        signed(
            a.id.as_str(),
            &secret(),
            &message_id(),
            later,
            &body(
                &lead,
                &a.id,
                "returned",
                json!({"reason_code": "wrong_number"}),
            ),
        ),
    )
    .await;
    assert_eq!(
        (late.status, late.code()),
        (422, "return_window_closed"),
        "{}",
        late.body
    );
    let limit = backend.config().feedback.rate_per_minute;
    let mut last = None;
    for _ in 0..=limit {
        let answer = call(
            &app,
            signed(
                a.id.as_str(),
                &secret(),
                &message_id(),
                later,
                &body(&lead, &a.id, "accepted", json!({})),
            ),
        )
        .await;
        last = Some(answer);
    }
    let last = last.expect("posted");
    assert_eq!(
        (last.status, last.code()),
        (429, "rate_limited"),
        "{}",
        last.body
    );
    let wait: u64 = last
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((1..=60).contains(&wait));
}

/// GIVEN the whole system over `backend` served on a loopback port (what `aurum serve`
/// serves), WHEN a homeowner's chat queues a lead, the router sells and delivers it, and the
/// buyer posts signed feedback with `aurum_cli::buyer_client` (what `aurum feedback send`
/// does), THEN the ledger, the buyer's counters and its statement show it.
pub async fn chat_to_statement<B: Backend>(backend: &B) {
    use aurum::ports::LeadQueue;
    use aurum_cli::buyer_client::FeedbackSender;
    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let a = buyer_at(&unique("e2e"), BuyerTier::Premium, &fake.url(), 50);
    backend
        .buyers()
        .put_buyers(std::slice::from_ref(&a))
        .await
        .expect("buyers");

    let chat = crate::conversation_lambda(backend);
    let session = unique("chat_feedback");
    let mut lead_id = None;
    for message in crate::QUALIFYING_CHAT {
        let (status, body) = crate::post_turn(&chat, &session, message).await;
        assert_eq!(status, 200, "{body}");
        lead_id = body["lead_id"].as_str().map(str::to_owned).or(lead_id);
    }
    let lead_id = lead_id.expect("the chat queued its lead");
    let mut queued = None;
    for _ in 0..20 {
        let got = backend
            .queue()
            .receive(10, std::time::Duration::from_secs(30))
            .await
            .expect("receive");
        if let Some(d) = got.into_iter().find(|d| d.lead.lead_id == lead_id) {
            queued = Some(d);
            break;
        }
    }
    let delivery = queued.expect("the lead is on the queue");
    forget_buyers(backend).await;
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));
    assert_eq!(
        router.distribute(&delivery.lead).await.expect("routed"),
        Distributed::Delivered {
            buyer: a.id.clone()
        }
    );
    backend.queue().ack(&delivery.receipt).await.expect("ack");
    assert_eq!(fake.deliveries().len(), 1);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = aurum_cli::app(backend);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let sender = FeedbackSender::new(std::time::Duration::from_secs(10)).expect("client");
    let now = (backend.clock())();
    for (kind, extra) in [
        (
            "accepted",
            json!({"feedback_score": 9.0, "buyer_notes": "asked about batteries"}),
        ),
        ("converted", json!({"conversion_value": 31000.0})),
    ] {
        let answer = sender
            .send(
                &base,
                &a.id,
                &secret(),
                &message_id(),
                now,
                &body(&lead_id, &a.id, kind, extra),
            )
            .await
            .expect("sent");
        let text = String::from_utf8_lossy(&answer.body).to_string();
        assert_eq!(answer.status, 200, "{kind}: {text}");
    }
    let record = backend
        .leads()
        .lead(&lead_id)
        .await
        .expect("read")
        .expect("lead");
    assert_eq!(record.state, LeadState::Converted);
    let price = record.sale.expect("sale").price;
    let ledger = backend.sales().ledger(&lead_id).await.expect("ledger");
    assert_eq!(
        ledger.iter().map(|e| e.revenue().0).sum::<i64>(),
        price.0,
        "the conversion value is recorded, not revenue: {ledger:?}"
    );
    assert!(
        ledger
            .iter()
            .any(|e| e.entry_id == "conversion#1" && e.amount.0 == 3_100_000)
    );

    let month = statement_month(now);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<hyper::body::Bytes>>();
    let response = client
        .get(
            format!("{base}/api/v1/buyers/{}/statement?month={month}", a.id)
                .parse()
                .expect("uri"),
        )
        .await
        .expect("statement");
    assert_eq!(response.status(), 200);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let statement: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(
        statement["net_cents"].as_i64(),
        Some(price.0),
        "{statement}"
    );
    assert_eq!(statement["totals"]["converted"], 1);
    assert_eq!(statement["performance"]["month"]["conversion_rate"], 1.0);
    let lines = statement["lines"].as_array().expect("lines");
    assert!(lines.iter().all(|l| l["lead_id"] == lead_id.as_str()));
    assert_eq!(lines.len(), 2, "the sale and the conversion: {statement}");
    server.abort();
}

/// A buyer's request for its own statement: `GET /api/v1/buyer/statement` with `query`,
/// signed by `secret` over what that route's signature covers, sent as `buyer`.
pub fn own_statement_request(
    buyer: &str,
    secret: &WebhookSecret,
    at: DateTime<Utc>,
    signed_query: Option<&str>,
    sent_query: Option<&str>,
) -> hyper::Request<Body> {
    let payload = aurum_feedback::own_statement_payload(signed_query);
    own_request(
        aurum_feedback::OWN_STATEMENT_ROUTE,
        &payload,
        buyer,
        secret,
        at,
        sent_query,
    )
}

/// A buyer's request for its own leads, signed like its statement.
pub fn own_leads_request(
    buyer: &str,
    secret: &WebhookSecret,
    at: DateTime<Utc>,
    query: Option<&str>,
) -> hyper::Request<Body> {
    let payload = aurum_feedback::own_leads_payload(query);
    own_request(
        aurum_feedback::OWN_LEADS_ROUTE,
        &payload,
        buyer,
        secret,
        at,
        query,
    )
}

/// `GET route[?sent_query]` as `buyer`, with `payload` signed by `secret` at `at`.
fn own_request(
    route: &str,
    payload: &str,
    buyer: &str,
    secret: &WebhookSecret,
    at: DateTime<Utc>,
    sent_query: Option<&str>,
) -> hyper::Request<Body> {
    let uri = match sent_query {
        Some(q) => format!("{route}?{q}"),
        None => route.to_owned(),
    };
    let mut request = hyper::Request::get(uri)
        .header(aurum_feedback::HEADER_BUYER, buyer)
        .body(Body::empty())
        .expect("request");
    webhooks::sign(secret, &message_id(), at, payload.as_bytes())
        .expect("sign")
        .apply(request.headers_mut())
        .expect("headers");
    request
}

/// GIVEN two buyers, each with sales and its own secret
/// WHEN each reads its own statement signed with its own secret
/// THEN it gets its lines, totals and delivery health; and every other attempt — another
/// buyer's id with one's own secret, one's own id with another's secret, a month changed
/// after signing, no signature, a stale one — gets the same 401, with nothing of the
/// statement.
pub async fn buyers_read_only_their_own_statement<B: Backend>(backend: &B) {
    let now = (backend.clock())();
    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let fake_b = FakeBuyer::start(other_secret()).await.expect("fake buyer");
    let mut a = buyer_at(&unique("own_a"), BuyerTier::Premium, &fake.url(), 50);
    let mut b = buyer_at(&unique("own_b"), BuyerTier::Standard, &fake_b.url(), 50);
    b.secret = other_secret();
    b.active = false;
    backend
        .buyers()
        .put_buyers(&[a.clone(), b.clone()])
        .await
        .expect("buyers");
    let a_leads = delivered_leads(backend, &a, 3, now).await;
    a.active = false;
    b.active = true;
    backend
        .buyers()
        .put_buyers(&[a.clone(), b.clone()])
        .await
        .expect("buyers");
    let b_leads = delivered_leads(backend, &b, 1, now).await;
    let app = feedback_lambda(backend);
    let month = statement_month(now);
    let query = format!("month={month}");

    let answer = call(
        &app,
        own_statement_request(a.id.as_str(), &secret(), now, Some(&query), Some(&query)),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["buyer_id"], a.id.as_str());
    assert_eq!(answer.body["month"], month.as_str());
    let leads_on_statement: std::collections::BTreeSet<&str> = answer.body["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["lead_id"].as_str())
        .collect();
    for lead in &a_leads {
        assert!(leads_on_statement.contains(lead.lead_id.as_str()));
    }
    assert!(!leads_on_statement.contains(b_leads[0].lead_id.as_str()));
    assert_eq!(answer.body["delivery_health"]["consecutive_failures"], 0);
    assert_eq!(answer.body["delivery_health"]["paused"], false);
    // Without a query, the current month.
    let current = call(
        &app,
        own_statement_request(b.id.as_str(), &other_secret(), now, None, None),
    )
    .await;
    assert_eq!(current.status, 200, "{}", current.body);
    assert_eq!(current.body["buyer_id"], b.id.as_str());

    let other_month = "month=2020-01";
    for (what, request) in [
        (
            "another buyer's id, one's own secret",
            own_statement_request(b.id.as_str(), &secret(), now, Some(&query), Some(&query)),
        ),
        (
            "one's own id, another's secret",
            own_statement_request(
                a.id.as_str(),
                &other_secret(),
                now,
                Some(&query),
                Some(&query),
            ),
        ),
        (
            "a month changed after signing",
            own_statement_request(
                a.id.as_str(),
                &secret(),
                now,
                Some(&query),
                Some(other_month),
            ),
        ),
        (
            "a stale signature",
            own_statement_request(
                a.id.as_str(),
                &secret(),
                now - chrono::Duration::minutes(10),
                Some(&query),
                Some(&query),
            ),
        ),
        (
            "an unknown buyer",
            own_statement_request("nobody_here", &secret(), now, Some(&query), Some(&query)),
        ),
        (
            "no signature",
            hyper::Request::get(format!("{}?{query}", aurum_feedback::OWN_STATEMENT_ROUTE))
                .header(aurum_feedback::HEADER_BUYER, a.id.as_str())
                .body(Body::empty())
                .expect("request"),
        ),
    ] {
        let refused = call(&app, request).await;
        assert_eq!(refused.status, 401, "{what}: {}", refused.body);
        assert_eq!(
            refused.body,
            json!({"error": {"code": "invalid_signature", "message": aurum::http::SIGNATURE_MESSAGE}}),
            "{what}: the same refusal whatever is wrong"
        );
    }

    // Its own leads: each with its price and status, none of the other buyer's.
    let own = call(
        &app,
        own_leads_request(a.id.as_str(), &secret(), now, Some(&query)),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    let leads = own.body["leads"].as_array().expect("leads");
    let ids: std::collections::BTreeSet<&str> =
        leads.iter().filter_map(|l| l["lead_id"].as_str()).collect();
    let expected: std::collections::BTreeSet<&str> =
        a_leads.iter().map(|l| l.lead_id.as_str()).collect();
    assert_eq!(ids, expected, "{}", own.body);
    for lead in leads {
        assert_eq!(lead["status"], "delivered", "{lead}");
        assert!(lead["price"].as_f64().is_some_and(|p| p > 0.0), "{lead}");
        assert_eq!(lead["net"], lead["price"], "nothing credited: {lead}");
    }
    let theirs = call(
        &app,
        own_leads_request(b.id.as_str(), &other_secret(), now, None),
    )
    .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert_eq!(
        theirs.body["leads"].as_array().map(Vec::len),
        Some(b_leads.len())
    );
    for (what, request) in [
        (
            "another buyer's id",
            own_leads_request(b.id.as_str(), &secret(), now, Some(&query)),
        ),
        ("the statement's signature", {
            let mut r =
                own_statement_request(a.id.as_str(), &secret(), now, Some(&query), Some(&query));
            *r.uri_mut() = format!("{}?{query}", aurum_feedback::OWN_LEADS_ROUTE)
                .parse()
                .expect("uri");
            r
        }),
    ] {
        let refused = call(&app, request).await;
        assert_eq!(refused.status, 401, "{what}: {}", refused.body);
    }
    drop((fake, fake_b));
}
