//! The port contracts against the AWS adapters on real local servers: DynamoDB and SQS
//! served by moto, the cache by Redis. `scripts/test.sh` starts both.

use aurum::adapters::aws::AwsBackend;
use aurum::adapters::aws::dynamodb::{DynamoStore, Tables};
use aurum::adapters::aws::meter::Meter;
use aurum::adapters::aws::redis::RedisCache;
use aurum::adapters::aws::sqs::SqsLeadQueue;
use aurum::adapters::setup::setup;
use aurum_tests::contract;
use aurum_tests::local_aws::{config, fresh_resources, redis_url, sdk};
use std::sync::Arc;
use std::time::Duration;

async fn dynamo_store() -> DynamoStore {
    let sdk = sdk().await;
    let resources = fresh_resources();
    setup(&sdk, &resources).await.expect("setup");
    DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        Tables {
            conversations: resources.conversations_table,
            models: resources.models_table,
            leads: resources.leads_table,
            buyers: resources.buyers_table,
            ledger: resources.ledger_table,
            feedback: resources.feedback_table,
            metrics: resources.metrics_table,
            jobs: resources.jobs_table,
        },
        Arc::new(Meter::default()),
    )
}

#[tokio::test]
async fn dynamodb_conversation_store() {
    contract::conversation_store(&dynamo_store().await).await;
}

#[tokio::test]
async fn dynamodb_model_store() {
    contract::model_store(&dynamo_store().await).await;
}

#[tokio::test]
async fn dynamodb_lead_store() {
    contract::lead_store(&dynamo_store().await).await;
}

#[tokio::test]
async fn dynamodb_buyer_store() {
    contract::buyer_store(&dynamo_store().await).await;
}

#[tokio::test]
async fn dynamodb_sale_store() {
    contract::sale_store(&dynamo_store().await).await;
}

#[tokio::test]
async fn dynamodb_feedback_store() {
    contract::feedback_store(&dynamo_store().await).await;
}

#[tokio::test]
async fn dynamodb_sales_race_the_daily_limit() {
    contract::sales_race_the_daily_limit(&dynamo_store().await).await;
}

#[tokio::test]
async fn sqs_lead_queue() {
    let sdk = sdk().await;
    let resources = fresh_resources();
    let report = setup(&sdk, &resources).await.expect("setup");
    let queue = SqsLeadQueue::new(
        aws_sdk_sqs::Client::new(&sdk),
        report.lead_queue_url,
        Arc::new(Meter::default()),
    );
    contract::lead_queue(&queue, &contract::RealTime).await;
}

#[tokio::test]
async fn redis_cache() {
    let cache = RedisCache::connect(
        &redis_url(),
        None,
        Duration::from_millis(200),
        Arc::new(Meter::default()),
    )
    .await
    .expect("client");
    contract::cache(&cache).await;
}

#[tokio::test]
async fn setup_is_idempotent_and_wires_the_dead_letter_queue() {
    let sdk = sdk().await;
    let resources = fresh_resources();
    let first = setup(&sdk, &resources).await.expect("first setup");
    assert_eq!(first.created.len(), 10, "{first:?}");
    let second = setup(&sdk, &resources).await.expect("second setup");
    assert!(second.created.is_empty(), "{second:?}");
    assert_eq!(second.existing.len(), 10);
    let ledger = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_table()
        .table_name(&resources.ledger_table)
        .send()
        .await
        .expect("ledger table");
    let indexes: Vec<&str> = ledger
        .table()
        .expect("table")
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    assert_eq!(
        indexes,
        [aurum::adapters::aws::dynamodb::LEDGER_BY_BUYER_MONTH]
    );
    assert_eq!(first.lead_queue_url, second.lead_queue_url);

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&first.lead_queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .expect("attributes")
        .attributes
        .expect("attributes");
    let redrive = &attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy];
    let redrive: serde_json::Value = serde_json::from_str(redrive).expect("redrive policy is JSON");
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(&resources.lead_dlq_name)),
        "{redrive}"
    );
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "5",
        "{redrive}"
    );
    assert_eq!(
        attributes[&aws_sdk_sqs::types::QueueAttributeName::FifoQueue],
        "true"
    );
}

#[tokio::test]
async fn a_message_that_keeps_failing_ends_in_the_dead_letter_queue() {
    let sdk = sdk().await;
    let resources = fresh_resources();
    let report = setup(&sdk, &resources).await.expect("setup");
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = SqsLeadQueue::new(
        sqs.clone(),
        report.lead_queue_url,
        Arc::new(Meter::default()),
    );
    use aurum::ports::LeadQueue;
    queue
        .publish(&contract::lead("lead_poison"))
        .await
        .expect("publish");
    let mut receives = 0;
    for _ in 0..40 {
        let got = queue
            .receive(10, Duration::from_secs(1))
            .await
            .expect("receive");
        receives += got.len();
        if receives >= 5 && got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1_050)).await;
    }
    assert_eq!(receives, 5, "delivered maxReceiveCount times, then moved");
    let dlq = SqsLeadQueue::new(sqs, report.lead_dlq_url, Arc::new(Meter::default()));
    let dead = dlq
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive dlq");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].lead.lead_id, "lead_poison");
}

#[tokio::test]
async fn aws_backend_connects_by_queue_name() {
    let sdk = sdk().await;
    let resources = fresh_resources();
    setup(&sdk, &resources).await.expect("setup");
    let backend = AwsBackend::connect_with(&sdk, &config(resources, Some(redis_url())))
        .await
        .expect("connect");
    use aurum::ports::LeadQueue;
    backend
        .queue
        .publish(&contract::lead("lead_by_name"))
        .await
        .expect("publish");
    assert_eq!(backend.meter.usage().sqs_sends, 1);
}

/// GIVEN only the variables Lambda sets (region, the role's keys and session token) and
/// `AWS_ENDPOINT_URL`, WHEN the functions' SDK configuration is built from them, THEN the
/// backend connects and a conversation is written and read back through moto; without
/// credentials, a call fails with a clear error and nothing is written.
#[tokio::test]
async fn the_functions_sdk_configuration_comes_from_the_variables_lambda_sets() {
    use aurum::adapters::aws::sdk_config_from;
    use aurum::domain::conversation::{Conversation, SessionId};
    use aurum::ports::ConversationStore;
    use std::collections::HashMap;
    let resources = fresh_resources();
    setup(&sdk().await, &resources).await.expect("setup");
    let moto = aurum_tests::local_aws::moto_url();
    let lambda_vars: HashMap<&str, &str> = HashMap::from([
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "test-session"),
        ("AWS_ENDPOINT_URL", moto.as_str()),
    ]);
    let from_env = sdk_config_from(|name| lambda_vars.get(name).map(|v| (*v).to_owned()));
    assert_eq!(from_env.region().map(|r| r.as_ref()), Some("us-east-1"));
    assert_eq!(from_env.endpoint_url(), Some(moto.as_str()));

    let backend = AwsBackend::connect_with(&from_env, &config(resources.clone(), None))
        .await
        .expect("connect");
    let session = SessionId::parse("env-config-1").expect("id");
    let now = chrono::Utc::now();
    let conversation = Conversation::new(session.clone(), now);
    backend
        .store
        .save_conversation(&conversation)
        .await
        .expect("written with the environment's credentials");
    let read = backend
        .store
        .load_conversation(&session)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(read.session_id, session);

    let no_keys: HashMap<&str, &str> = HashMap::from([
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", moto.as_str()),
    ]);
    let anonymous = sdk_config_from(|name| no_keys.get(name).map(|v| (*v).to_owned()));
    let client = aws_sdk_dynamodb::Client::new(&anonymous);
    let denied = client
        .describe_table()
        .table_name(&resources.conversations_table)
        .send()
        .await;
    let message = aurum::redact::error_chain(&denied.expect_err("no credentials, no call"));
    assert!(message.to_lowercase().contains("credential"), "{message}");
}

#[tokio::test]
async fn the_cache_endpoint_is_discovered_from_its_elasticache_id() {
    let sdk = sdk().await;
    let id = format!(
        "aurum-cache-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    aws_sdk_elasticache::Client::new(&sdk)
        .create_replication_group()
        .replication_group_id(&id)
        .replication_group_description("aurum test cache")
        .engine("redis")
        .cache_node_type("cache.t3.micro")
        .send()
        .await
        .expect("create replication group");
    let url = aurum::adapters::aws::discover_cache_url(&sdk, &id)
        .await
        .expect("discovered");
    assert!(
        url.starts_with("redis://") && url.contains(&id) && url.ends_with(":6379"),
        "{url}"
    );

    let missing = aurum::adapters::aws::discover_cache_url(&sdk, "aurum-no-such-cache").await;
    let message = missing
        .expect_err("an unknown cache id fails start-up")
        .to_string();
    assert!(message.contains("aurum-no-such-cache"), "{message}");
}

#[tokio::test]
async fn dynamodb_metrics_store() {
    contract::metrics_store(&dynamo_store().await).await;
}

#[tokio::test]
async fn dynamodb_job_store() {
    contract::job_store(&dynamo_store().await).await;
}

#[tokio::test]
async fn dynamodb_buyer_saves_on_the_version_read_with_their_audit() {
    contract::buyer_saves(&dynamo_store().await).await;
}
