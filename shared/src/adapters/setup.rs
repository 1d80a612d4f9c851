//! `aurum setup`: creates every table and queue on the configured endpoint, idempotently
//! (local moto, or a fresh AWS account/stage outside CloudFormation).

use super::aws::dynamodb::{LEADS_WAITING, LEDGER_BY_BUYER_MONTH, attr};
use crate::config::AwsResources;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashMap;

/// Visibility timeout of the lead queue: 6 × the router's 30 s timeout.
pub const LEAD_QUEUE_VISIBILITY_SECONDS: u32 = 180;
pub use crate::ports::MAX_RECEIVE_COUNT;
const RETENTION_SECONDS: u32 = 14 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
#[error("{resource}: {reason}")]
pub struct SetupError {
    pub resource: String,
    pub reason: String,
}

fn failed(resource: &str, e: impl std::error::Error + 'static) -> SetupError {
    SetupError {
        resource: resource.to_owned(),
        reason: super::error_chain(&e),
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SetupReport {
    pub created: Vec<String>,
    pub existing: Vec<String>,
    pub lead_queue_url: String,
    pub lead_dlq_url: String,
}

struct TableSpec<'a> {
    name: &'a str,
    partition_key: (&'a str, ScalarAttributeType),
    sort_key: Option<(&'a str, ScalarAttributeType)>,
    ttl_attribute: Option<&'a str>,
    /// Global secondary indexes: (name, partition key, sort key), string keys, all
    /// attributes projected.
    indexes: &'a [(&'a str, &'a str, &'a str)],
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, SetupError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| failed(name, e))
}

fn index((name, pk, sk): (&str, &str, &str)) -> Result<GlobalSecondaryIndex, SetupError> {
    let element = |attribute: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(key_type)
            .build()
            .map_err(|e| failed(name, e))
    };
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(element(pk, KeyType::Hash)?)
        .key_schema(element(sk, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| failed(name, e))
}

/// Adds the indexes a table created before them lacks.
async fn ensure_indexes(
    client: &aws_sdk_dynamodb::Client,
    spec: &TableSpec<'_>,
) -> Result<(), SetupError> {
    if spec.indexes.is_empty() {
        return Ok(());
    }
    let described = client
        .describe_table()
        .table_name(spec.name)
        .send()
        .await
        .map_err(|e| failed(spec.name, e))?;
    let existing: Vec<String> = described
        .table()
        .map(|t| {
            t.global_secondary_indexes()
                .iter()
                .filter_map(|i| i.index_name().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for wanted in spec.indexes {
        if existing.iter().any(|e| e == wanted.0) {
            continue;
        }
        let gsi = index(*wanted)?;
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(wanted.0)
            .set_key_schema(Some(gsi.key_schema().to_vec()))
            .set_projection(gsi.projection().cloned())
            .build()
            .map_err(|e| failed(spec.name, e))?;
        client
            .update_table()
            .table_name(spec.name)
            .attribute_definitions(string_attribute(wanted.1)?)
            .attribute_definitions(string_attribute(wanted.2)?)
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .map_err(|e| failed(spec.name, e))?;
    }
    Ok(())
}

async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    spec: TableSpec<'_>,
    report: &mut SetupReport,
) -> Result<(), SetupError> {
    let mut request = client
        .create_table()
        .table_name(spec.name)
        .billing_mode(BillingMode::PayPerRequest);
    for (name, kind, key_type) in std::iter::once((
        spec.partition_key.0,
        spec.partition_key.1.clone(),
        KeyType::Hash,
    ))
    .chain(
        spec.sort_key
            .iter()
            .map(|(n, k)| (*n, k.clone(), KeyType::Range)),
    ) {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(kind)
                    .build()
                    .map_err(|e| failed(spec.name, e))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(key_type)
                    .build()
                    .map_err(|e| failed(spec.name, e))?,
            );
    }
    // Each attribute is defined once, whether it keys the table, an index or both.
    let mut defined: Vec<&str> = std::iter::once(spec.partition_key.0)
        .chain(spec.sort_key.iter().map(|(n, _)| *n))
        .collect();
    for wanted in spec.indexes {
        for attribute in [wanted.1, wanted.2] {
            if !defined.contains(&attribute) {
                defined.push(attribute);
                request = request.attribute_definitions(string_attribute(attribute)?);
            }
        }
        request = request.global_secondary_indexes(index(*wanted)?);
    }
    match request.send().await {
        Ok(_) => report.created.push(format!("table {}", spec.name)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            report.existing.push(format!("table {}", spec.name));
            ensure_indexes(client, &spec).await?;
        }
        Err(e) => return Err(failed(spec.name, e)),
    }
    // A new table is CREATING for a while on AWS; TTL can only be set once it is ACTIVE.
    client
        .wait_until_table_exists()
        .table_name(spec.name)
        .wait(std::time::Duration::from_secs(300))
        .await
        .map_err(|e| failed(spec.name, e))?;
    if let Some(ttl) = spec.ttl_attribute {
        let current = client
            .describe_time_to_live()
            .table_name(spec.name)
            .send()
            .await
            .map_err(|e| failed(spec.name, e))?;
        let enabled = current
            .time_to_live_description()
            .and_then(|d| d.attribute_name())
            .is_some_and(|a| a == ttl);
        if !enabled {
            client
                .update_time_to_live()
                .table_name(spec.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(ttl)
                        .build()
                        .map_err(|e| failed(spec.name, e))?,
                )
                .send()
                .await
                .map_err(|e| failed(spec.name, e))?;
        }
    }
    Ok(())
}

async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
    report: &mut SetupReport,
) -> Result<String, SetupError> {
    if let Ok(out) = client.get_queue_url().queue_name(name).send().await
        && let Some(url) = out.queue_url
    {
        client
            .set_queue_attributes()
            .queue_url(&url)
            .set_attributes(Some(
                attributes
                    .into_iter()
                    .filter(|(k, _)| *k != QueueAttributeName::FifoQueue)
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| failed(name, e))?;
        report.existing.push(format!("queue {name}"));
        return Ok(url);
    }
    let out = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| failed(name, e))?;
    report.created.push(format!("queue {name}"));
    out.queue_url.ok_or_else(|| SetupError {
        resource: name.to_owned(),
        reason: "created queue has no URL".into(),
    })
}

/// The SDK configuration of an operator's machine: the SDK's whole default chain (profile
/// files, SSO, assumed roles, then the environment), with the functions' timeouts and TLS.
pub async fn operator_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(super::aws::sdk_http_client())
        .timeout_config(super::aws::sdk_timeouts())
        .load()
        .await
}

pub async fn setup(
    sdk: &aws_config::SdkConfig,
    resources: &AwsResources,
) -> Result<SetupReport, SetupError> {
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut report = SetupReport::default();
    ensure_table(
        &dynamo,
        TableSpec {
            name: &resources.conversations_table,
            partition_key: (attr::SESSION_ID, ScalarAttributeType::S),
            sort_key: None,
            ttl_attribute: Some(attr::EXPIRES_AT),
            indexes: &[],
        },
        &mut report,
    )
    .await?;
    ensure_table(
        &dynamo,
        TableSpec {
            name: &resources.models_table,
            partition_key: (attr::MODEL_KIND, ScalarAttributeType::S),
            sort_key: Some((attr::VERSION, ScalarAttributeType::N)),
            ttl_attribute: None,
            indexes: &[],
        },
        &mut report,
    )
    .await?;
    ensure_table(
        &dynamo,
        TableSpec {
            name: &resources.leads_table,
            partition_key: (attr::LEAD_ID, ScalarAttributeType::S),
            sort_key: None,
            // Only contact claims carry it; lead records never expire.
            ttl_attribute: Some(attr::EXPIRES_AT),
            indexes: &[(LEADS_WAITING, attr::WAITING, attr::LEAD_ID)],
        },
        &mut report,
    )
    .await?;
    ensure_table(
        &dynamo,
        TableSpec {
            name: &resources.buyers_table,
            partition_key: (attr::PK, ScalarAttributeType::S),
            sort_key: Some((attr::SK, ScalarAttributeType::S)),
            // Day and month counters expire two months after their period.
            ttl_attribute: Some(attr::EXPIRES_AT),
            indexes: &[],
        },
        &mut report,
    )
    .await?;
    ensure_table(
        &dynamo,
        TableSpec {
            name: &resources.ledger_table,
            partition_key: (attr::LEAD_ID, ScalarAttributeType::S),
            sort_key: Some((attr::ENTRY_ID, ScalarAttributeType::S)),
            ttl_attribute: None,
            indexes: &[(LEDGER_BY_BUYER_MONTH, attr::BUYER_MONTH, attr::LINE_AT)],
        },
        &mut report,
    )
    .await?;
    // Feedback carries money (credits) and the model's training data, the counters mirror
    // the ledger, the jobs' records are the models' audit: all kept, no TTL.
    for name in [
        &resources.feedback_table,
        &resources.metrics_table,
        &resources.jobs_table,
    ] {
        ensure_table(
            &dynamo,
            TableSpec {
                name,
                partition_key: (attr::PK, ScalarAttributeType::S),
                sort_key: Some((attr::SK, ScalarAttributeType::S)),
                ttl_attribute: None,
                indexes: &[],
            },
            &mut report,
        )
        .await?;
    }

    let fifo = |name: &str| name.ends_with(".fifo");
    let mut dlq_attributes = HashMap::from([(
        QueueAttributeName::MessageRetentionPeriod,
        RETENTION_SECONDS.to_string(),
    )]);
    if fifo(&resources.lead_dlq_name) {
        dlq_attributes.insert(QueueAttributeName::FifoQueue, "true".into());
    }
    let dlq_url = ensure_queue(&sqs, &resources.lead_dlq_name, dlq_attributes, &mut report).await?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed(&resources.lead_dlq_name, e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| SetupError {
            resource: resources.lead_dlq_name.clone(),
            reason: "no QueueArn".into(),
        })?;
    let redrive =
        serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT })
            .to_string();
    let mut attributes = HashMap::from([
        (
            QueueAttributeName::VisibilityTimeout,
            LEAD_QUEUE_VISIBILITY_SECONDS.to_string(),
        ),
        (
            QueueAttributeName::MessageRetentionPeriod,
            RETENTION_SECONDS.to_string(),
        ),
        (QueueAttributeName::RedrivePolicy, redrive),
    ]);
    if fifo(&resources.lead_queue_name) {
        attributes.insert(QueueAttributeName::FifoQueue, "true".into());
        attributes.insert(
            QueueAttributeName::ContentBasedDeduplication,
            "false".into(),
        );
    }
    report.lead_queue_url =
        ensure_queue(&sqs, &resources.lead_queue_name, attributes, &mut report).await?;
    report.lead_dlq_url = dlq_url;
    Ok(report)
}
