//! The router Lambda function: an SQS event source on the lead queue, reporting partial
//! batch failures (`ReportBatchItemFailures`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aurum::function::run_sqs::<aurum_router::Router>().await
}
