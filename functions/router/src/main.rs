//! The router Lambda function: an SQS event source on the lead queue, reporting partial
//! batch failures (`ReportBatchItemFailures`).

use aurum::adapters::aws::AwsBackend;
use aurum::function::sqs_batch;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aurum::telemetry::init();
    aurum::domain::init()?;
    // Clients (DynamoDB, Redis, the webhook connection pool) are built once per cold start.
    let backend = AwsBackend::from_env().await?;
    let router = aurum_router::distribution(&backend)?;
    let router = &router;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(sqs_batch(router, event.payload).await)
    }))
    .await
}
