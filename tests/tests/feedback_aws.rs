//! Buyer feedback on DynamoDB (moto) with Redis: the same scenarios as on the embedded
//! store, each on fresh tables.

use aurum::adapters::aws::AwsBackend;
use aurum::adapters::setup::setup;
use aurum_tests::contract::ManualTime;
use aurum_tests::feedback;
use aurum_tests::local_aws::{config, fresh_resources, redis_url, sdk};

async fn backend(time: &ManualTime, rate_per_minute: Option<u32>) -> AwsBackend {
    let sdk = sdk().await;
    let resources = fresh_resources();
    setup(&sdk, &resources).await.expect("setup");
    let mut config = config(resources, Some(redis_url()));
    if let Some(rate) = rate_per_minute {
        config.feedback.rate_per_minute = rate;
    }
    let mut backend = AwsBackend::connect_with(&sdk, &config)
        .await
        .expect("connect");
    backend.clock = time.clock();
    backend
}

#[tokio::test]
async fn given_every_attack_on_dynamodb_then_each_is_refused_and_nothing_changes() {
    let backend = backend(&ManualTime::default(), None).await;
    feedback::every_attack_is_refused_and_changes_nothing(&backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_20_identical_posts_at_once_on_dynamodb_then_one_is_applied() {
    let backend = backend(&ManualTime::default(), None).await;
    feedback::twenty_identical_posts_apply_once(&backend).await;
}

#[tokio::test]
async fn given_feedback_on_dynamodb_then_ledger_stats_and_statements_follow() {
    let backend = backend(&ManualTime::default(), None).await;
    feedback::feedback_reaches_the_ledger_stats_and_statements(&backend).await;
}

#[tokio::test]
async fn given_a_late_return_and_a_flood_on_dynamodb_and_redis_then_422_and_429() {
    let time = ManualTime::default();
    let backend = backend(&time, Some(5)).await;
    feedback::late_returns_and_floods_are_refused(&backend, &time).await;
}

#[tokio::test]
async fn given_a_chat_on_dynamodb_and_redis_when_the_buyer_posts_feedback_then_its_statement_shows_it()
 {
    let backend = backend(&ManualTime::default(), None).await;
    feedback::chat_to_statement(&backend).await;
}

/// GIVEN the feedback endpoint on DynamoDB and Redis, and a buyer with a delivered lead
/// WHEN a flood of unsigned, half-signed and stale requests claims to be that buyer THEN
/// each is refused with 401 without one store or cache read (so it costs no buyer's
/// allowance and reveals nothing) AND the buyer's signed feedback is served after it.
#[tokio::test]
async fn given_an_unsigned_flood_on_dynamodb_then_no_request_reads_the_store_and_the_signed_buyer_is_served()
 {
    use aurum::backend::Backend;
    use aurum::domain::buyer::BuyerTier;
    use aurum::ports::BuyerStore;
    use aurum_tests::feedback::{body, call, feedback_lambda, message_id, secret, signed};
    let backend = backend(&ManualTime::default(), None).await;
    let fake = aurum::adapters::fake_buyer::FakeBuyer::start(secret())
        .await
        .expect("fake buyer");
    let buyer = aurum_tests::routing::buyer_at(
        &aurum_tests::feedback::unique("flood"),
        BuyerTier::Premium,
        &fake.url(),
        50,
    );
    backend
        .buyers()
        .put_buyers(std::slice::from_ref(&buyer))
        .await
        .expect("buyers");
    let now = (backend.clock())();
    let lead = feedback::delivered_leads(&backend, &buyer, 1, now)
        .await
        .remove(0)
        .lead_id;
    let app = feedback_lambda(&backend);
    let accepted = body(&lead, &buyer.id, "accepted", serde_json::json!({}));

    let before = backend.meter.usage();
    for i in 0..60 {
        let mut request = signed(
            buyer.id.as_str(),
            &secret(),
            &message_id(),
            now - chrono::Duration::minutes(if i % 3 == 2 { 30 } else { 0 }),
            &accepted,
        );
        match i % 3 {
            // unsigned
            0 => {
                request.headers_mut().remove("webhook-signature");
                request.headers_mut().remove("webhook-timestamp");
            }
            // a malformed id
            1 => {
                request
                    .headers_mut()
                    .insert("webhook-id", hyper::header::HeaderValue::from_static(""));
            }
            // stale: signed half an hour ago
            _ => {}
        }
        let answer = call(&app, request).await;
        assert_eq!(answer.status, 401, "{}", answer.body);
    }
    let flood = backend.meter.usage().since(before);
    assert_eq!(
        (flood.dynamodb_reads, flood.redis_round_trips),
        (0, 0),
        "{flood:?}"
    );

    let answer = call(
        &app,
        signed(buyer.id.as_str(), &secret(), &message_id(), now, &accepted),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn given_buyers_on_dynamodb_when_each_reads_its_statement_then_only_its_own_with_its_signature()
 {
    let backend = backend(&ManualTime::default(), None).await;
    feedback::buyers_read_only_their_own_statement(&backend).await;
}
