//! Revenue analytics on DynamoDB (moto) with Redis, on fresh tables.

use aurum::adapters::aws::AwsBackend;
use aurum_tests::analytics;
use aurum_tests::contract::ManualTime;
use aurum_tests::local_aws::fresh_backend;

async fn backend(time: &ManualTime) -> AwsBackend {
    fresh_backend(time.clock()).await
}

#[tokio::test]
async fn given_sales_feedback_and_chats_on_dynamodb_then_the_dashboard_reconciles_with_the_ledger()
{
    let time = ManualTime::default();
    let backend = backend(&time).await;
    analytics::the_dashboard_reconciles_with_the_ledger(&backend, &time).await;
}

#[tokio::test]
async fn given_a_chat_on_dynamodb_then_its_metrics_describe_it() {
    let backend = backend(&ManualTime::default()).await;
    analytics::conversation_metrics_describe_the_chat(&backend).await;
}

#[tokio::test]
async fn given_a_price_experiment_on_dynamodb_then_sales_are_priced_at_variants_and_counted() {
    let backend = backend(&ManualTime::default()).await;
    analytics::price_experiments_price_sales_and_count_outcomes(&backend).await;
}

#[tokio::test]
async fn given_the_guides_example_requests_on_dynamodb_then_every_field_of_its_examples_is_answered()
 {
    let time = ManualTime::default();
    let backend = backend(&time).await;
    aurum_tests::guide::the_guides_examples_work_unchanged(&backend, &time).await;
}
