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
