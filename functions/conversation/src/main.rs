//! The conversation Lambda function behind API Gateway (HTTP API).

use aurum::adapters::aws::AwsBackend;
use aurum::function::lambda_router;
use aurum_conversation::Conversation;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    aurum::telemetry::init();
    // Parse the embedded data tables during init: a bad file stops the cold start here.
    aurum::domain::init().inspect_err(|e| tracing::error!(error = %e, "data tables invalid"))?;
    // Clients are built once per cold start and shared by every invocation.
    let backend = AwsBackend::from_env().await?;
    lambda_http::run(lambda_router::<Conversation, _>(&backend)).await
}
