//! Deliveries against a fake buyer's webhook on loopback: signatures, buyer answers,
//! retries within the budget, the webhook id buyers de-duplicate on.

use aurum::adapters::fake_buyer::{BuyerAnswer, FakeBuyer};
use aurum::contracts::{QueuedLead, lead_id_for};
use aurum::delivery::{BuyerMessage, DeliveryClient, DeliveryOutcome, RetryPolicy, WebhookPost};
use aurum::domain::buyer::{
    Buyer, BuyerId, BuyerTier, Hours, Outbound, ServiceArea, WebhookSecret,
};
use aurum::domain::conversation::{ConsentEvidence, Contact, LeadFacts, SessionId};
use aurum::domain::facts::Borough;
use aurum::domain::money::Cents;
use aurum::domain::scoring::QualityTier;
use aurum::webhooks;
use chrono::Utc;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const OTHER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn secret(s: &str) -> WebhookSecret {
    WebhookSecret::parse(s).expect("secret")
}

fn buyer(url: String) -> Buyer {
    Buyer {
        filters: Default::default(),
        pause: None,
        previous_secrets: Vec::new(),
        version: 0,
        id: BuyerId::parse("brooklyn_solar").expect("id"),
        name: "Brooklyn Solar".into(),
        tier: BuyerTier::Direct,
        price_floor: Cents(15_000),
        price_cap: Cents(30_000),
        daily_cap: 5,
        monthly_spend_cap: None,
        area: ServiceArea {
            zips: Default::default(),
            boroughs: [Borough::Brooklyn].into(),
        },
        min_quality: QualityTier::Standard,
        hours: Hours::always(),
        webhook_url: url,
        secret: secret(SECRET),
        return_window_days: 7,
        active: true,
        ping_post: None,
    }
}

fn lead(session: &str) -> QueuedLead {
    let session = SessionId::parse(session).expect("session");
    let now = Utc::now();
    let facts = LeadFacts {
        homeowner: Some(true),
        monthly_bill: Some(Cents(30_000)),
        borough: Some(Borough::Brooklyn),
        contact: Contact {
            name: Some("Maria Lopez".into()),
            phone: Some("+17185550142".into()),
            email: None,
        },
        contact_consent: Some(true),
        ..LeadFacts::default()
    };
    QueuedLead {
        schema: QueuedLead::SCHEMA,
        lead_id: lead_id_for(&session),
        session_id: session,
        queued_at: now,
        score: 82,
        tier: QualityTier::Standard,
        revenue_potential: Cents(18_000),
        conversion_probability: 0.6,
        model_version: 1,
        facts,
        consent: Some(ConsentEvidence {
            given_at: now,
            words: "yes, an installer can call me".into(),
            disclosure: None,
            sellers: Vec::new(),
        }),
        withdrawn: None,
        factors: None,
        offer: 0,
    }
}

fn sale(buyer: &Buyer, session: &str) -> BuyerMessage {
    BuyerMessage::lead_sold(&lead(session), buyer, Cents(21_000), Utc::now()).expect("sale")
}

/// Short waits so the retry tests stay quick.
fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        attempt_timeout: Duration::from_millis(500),
        first_backoff: Duration::from_millis(20),
        budget: Duration::from_secs(3),
    }
}

fn client(policy: RetryPolicy) -> DeliveryClient {
    DeliveryClient::new(policy, Outbound::Sandbox).expect("client")
}

async fn fake_buyer() -> FakeBuyer {
    FakeBuyer::start(secret(SECRET)).await.expect("fake buyer")
}

/// A POST with the headers the test chooses, to see what the buyer does with it.
async fn raw_post(url: &str, headers: &[(&str, String)], body: &'static [u8]) -> u16 {
    let http: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut request = hyper::Request::post(url).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from_static(body)))
        .expect("request");
    http.request(request)
        .await
        .expect("response")
        .status()
        .as_u16()
}

#[tokio::test]
async fn given_a_buyer_that_accepts_when_a_sale_is_delivered_then_it_arrives_signed_and_is_accepted()
 {
    // GIVEN a buyer whose webhook verifies signatures and accepts
    let fake = fake_buyer().await;
    let buyer = buyer(fake.url());
    let message = sale(&buyer, "chat_accept");
    // WHEN the sale is delivered
    let outcome = client(quick()).deliver(&buyer, &message).await;
    // THEN it is accepted, once, with the message's webhook id and body
    assert_eq!(outcome, DeliveryOutcome::Accepted);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].verified);
    assert_eq!(
        requests[0].webhook_id.as_deref(),
        Some(message.webhook_id().as_str())
    );
    assert_eq!(fake.deliveries(), vec![message]);
}

#[tokio::test]
async fn given_a_buyer_answering_204_when_delivered_then_an_empty_reply_is_accepted() {
    let fake = fake_buyer().await;
    fake.answer(BuyerAnswer::AcceptEmpty);
    let buyer = buyer(fake.url());
    let outcome = client(quick())
        .deliver(&buyer, &sale(&buyer, "chat_empty"))
        .await;
    assert_eq!(outcome, DeliveryOutcome::Accepted);
}

#[tokio::test]
async fn given_a_delivery_signed_with_another_secret_when_posted_then_the_buyer_refuses_it_and_it_is_not_retried()
 {
    // GIVEN our record of the buyer holding a secret the buyer does not have
    let fake = fake_buyer().await;
    let mut buyer = buyer(fake.url());
    buyer.secret = secret(OTHER_SECRET);
    // WHEN a sale is delivered
    let outcome = client(quick())
        .deliver(&buyer, &sale(&buyer, "chat_wrong_key"))
        .await;
    // THEN the buyer answers 401 and the delivery fails at once (retrying cannot help)
    assert_eq!(
        outcome,
        DeliveryOutcome::Failed {
            attempts: 1,
            last_error: "http 401".into(),
            reached: false,
            permanent: true,
        }
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(!requests[0].verified);
    assert!(fake.deliveries().is_empty());
}

#[tokio::test]
async fn given_unsigned_or_tampered_posts_when_received_then_the_fake_buyer_answers_401() {
    let fake = fake_buyer().await;
    let body: &'static [u8] = br#"{"type":"lead.withdrawn"}"#;
    // Unsigned.
    assert_eq!(raw_post(&fake.url(), &[], body).await, 401);
    // Signed over another body.
    let signed = webhooks::sign(&secret(SECRET), "msg_tampered", Utc::now(), b"{}").expect("sign");
    let headers = [
        (webhooks::HEADER_ID, signed.id.clone()),
        (webhooks::HEADER_TIMESTAMP, signed.timestamp.to_string()),
        (webhooks::HEADER_SIGNATURE, signed.signature.clone()),
    ];
    assert_eq!(raw_post(&fake.url(), &headers, body).await, 401);
    // Signed correctly, but ten minutes ago.
    let stale = Utc::now() - chrono::TimeDelta::minutes(10);
    let old = webhooks::sign(&secret(SECRET), "msg_stale", stale, body).expect("sign");
    let headers = [
        (webhooks::HEADER_ID, old.id.clone()),
        (webhooks::HEADER_TIMESTAMP, old.timestamp.to_string()),
        (webhooks::HEADER_SIGNATURE, old.signature.clone()),
    ];
    assert_eq!(raw_post(&fake.url(), &headers, body).await, 401);
    assert_eq!(fake.requests().len(), 3);
    assert!(fake.requests().iter().all(|r| !r.verified));
}

#[tokio::test]
async fn given_a_buyer_answering_500_when_delivered_then_it_is_retried_with_the_same_webhook_id_then_failed()
 {
    // GIVEN a buyer whose server keeps failing
    let fake = fake_buyer().await;
    fake.answer(BuyerAnswer::ServerError);
    let buyer = buyer(fake.url());
    let message = sale(&buyer, "chat_500");
    // WHEN the sale is delivered
    let outcome = client(quick()).deliver(&buyer, &message).await;
    // THEN every attempt is made, then the delivery fails
    assert_eq!(
        outcome,
        DeliveryOutcome::Failed {
            attempts: 3,
            last_error: "http 500".into(),
            reached: false,
            permanent: false,
        }
    );
    // AND each attempt carried the same webhook id, verified
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.verified));
    assert!(
        requests
            .iter()
            .all(|r| r.webhook_id.as_deref() == Some(message.webhook_id().as_str()))
    );
}

#[tokio::test]
async fn given_a_buyer_that_fails_twice_then_recovers_when_delivered_then_the_third_attempt_is_accepted()
 {
    let fake = fake_buyer().await;
    fake.answer_next([BuyerAnswer::ServerError, BuyerAnswer::ServerError]);
    let buyer = buyer(fake.url());
    let message = sale(&buyer, "chat_recovers");
    let outcome = client(quick()).deliver(&buyer, &message).await;
    assert_eq!(outcome, DeliveryOutcome::Accepted);
    let ids: Vec<_> = fake
        .requests()
        .into_iter()
        .map(|r| r.webhook_id.unwrap_or_default())
        .collect();
    assert_eq!(ids, vec![message.webhook_id(); 3]);
}

#[tokio::test]
async fn given_a_buyer_that_never_answers_when_delivered_then_it_fails_within_the_budget() {
    // GIVEN a buyer that hangs, and a policy of 3 attempts of 200 ms within 1 s
    let fake = fake_buyer().await;
    fake.answer(BuyerAnswer::Hang);
    let buyer = buyer(fake.url());
    let policy = RetryPolicy {
        max_attempts: 3,
        attempt_timeout: Duration::from_millis(200),
        first_backoff: Duration::from_millis(20),
        budget: Duration::from_secs(1),
    };
    // WHEN the sale is delivered
    let started = Instant::now();
    let outcome = client(policy)
        .deliver(&buyer, &sale(&buyer, "chat_hang"))
        .await;
    let took = started.elapsed();
    // THEN each attempt timed out and the whole delivery ended inside the budget
    match outcome {
        DeliveryOutcome::Failed {
            attempts,
            last_error,
            ..
        } => {
            assert_eq!(attempts, 3);
            assert!(last_error.contains("timed out"), "{last_error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(took < policy.budget, "took {took:?}");
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn given_a_budget_shorter_than_the_attempts_when_the_buyer_hangs_then_the_budget_wins() {
    // GIVEN attempts of 400 ms, up to 5 of them, but only 700 ms in all
    let fake = fake_buyer().await;
    fake.answer(BuyerAnswer::Hang);
    let buyer = buyer(fake.url());
    let policy = RetryPolicy {
        max_attempts: 5,
        attempt_timeout: Duration::from_millis(400),
        first_backoff: Duration::from_millis(20),
        budget: Duration::from_secs(10),
    };
    let started = Instant::now();
    let outcome = client(policy)
        .deliver_within(
            &buyer,
            &sale(&buyer, "chat_budget"),
            Duration::from_millis(700),
        )
        .await;
    let took = started.elapsed();
    // THEN the second attempt is cut short and no third one starts
    assert!(
        matches!(outcome, DeliveryOutcome::Failed { attempts: 2, .. }),
        "{outcome:?}"
    );
    assert!(took < Duration::from_millis(900), "took {took:?}");
}

#[tokio::test]
async fn given_a_buyer_that_rejects_at_post_time_when_delivered_then_the_reason_is_read() {
    let fake = fake_buyer().await;
    fake.answer_next([
        BuyerAnswer::Reject("outside_service_area".into()),
        BuyerAnswer::Conflict,
    ]);
    let buyer = buyer(fake.url());
    let delivery = client(quick());
    let first = delivery.deliver(&buyer, &sale(&buyer, "chat_far")).await;
    assert_eq!(
        first,
        DeliveryOutcome::Rejected {
            reason: "outside_service_area".into()
        }
    );
    let second = delivery.deliver(&buyer, &sale(&buyer, "chat_dup")).await;
    assert_eq!(
        second,
        DeliveryOutcome::Rejected {
            reason: "http_409".into()
        }
    );
    // Rejections are answers, not failures: one request each.
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn given_no_server_at_the_url_when_delivered_then_connection_errors_are_retried_then_failed()
{
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let buyer = buyer(format!("http://127.0.0.1:{port}/leads"));
    let outcome = client(quick())
        .deliver(&buyer, &sale(&buyer, "chat_down"))
        .await;
    match outcome {
        DeliveryOutcome::Failed {
            attempts,
            last_error,
            ..
        } => {
            assert_eq!(attempts, 3);
            assert!(last_error.contains("onnect"), "{last_error}");
            assert!(!last_error.contains("Maria"), "{last_error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn given_a_withdrawal_when_delivered_then_the_buyer_gets_it_signed_without_contact_details() {
    let fake = fake_buyer().await;
    let buyer = buyer(fake.url());
    let lead = lead("chat_withdrawn");
    let message = BuyerMessage::lead_withdrawn(&lead.lead_id, &buyer.id, Utc::now());
    let outcome = client(quick()).deliver(&buyer, &message).await;
    assert_eq!(outcome, DeliveryOutcome::Accepted);
    assert_eq!(fake.deliveries(), vec![message.clone()]);
    let body = String::from_utf8(message.to_body().expect("body")).expect("utf-8");
    assert!(
        !body.contains("7185550142") && !body.contains("Maria"),
        "{body}"
    );
}

#[tokio::test]
async fn given_a_low_level_post_when_sent_then_the_exact_bytes_are_signed() {
    let fake = fake_buyer().await;
    let buyer = buyer(fake.url());
    let message = sale(&buyer, "chat_post");
    let body = message.to_body().expect("body");
    let id = message.webhook_id();
    let post = WebhookPost {
        lead_id: message.lead_id(),
        buyer_id: &buyer.id,
        url: &buyer.webhook_url,
        secrets: std::slice::from_ref(&buyer.secret),
        webhook_id: &id,
        body: &body,
    };
    assert_eq!(client(quick()).post(&post).await, DeliveryOutcome::Accepted);
    assert_eq!(fake.deliveries(), vec![message]);
}

#[cfg(feature = "https")]
#[tokio::test]
async fn given_an_https_url_to_a_server_without_tls_when_delivered_then_the_handshake_fails_and_nothing_is_sent_in_clear()
 {
    // GIVEN the fake buyer, which speaks plain http, addressed as https
    let fake = fake_buyer().await;
    let buyer = buyer(fake.url().replacen("http://", "https://", 1));
    // WHEN a sale is delivered
    let outcome = client(quick())
        .deliver(&buyer, &sale(&buyer, "chat_tls"))
        .await;
    // THEN TLS was attempted and failed: the buyer never saw a request
    assert!(
        matches!(outcome, DeliveryOutcome::Failed { attempts: 3, .. }),
        "{outcome:?}"
    );
    assert!(fake.requests().is_empty());
}
