//! The buyer-feedback Lambda function behind API Gateway (HTTP API).

use aurum::adapters::aws::AwsBackend;
use aurum::function::lambda_router;
use aurum_feedback::Feedback;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    aurum::telemetry::init();
    aurum::domain::init().inspect_err(|e| tracing::error!(error = %e, "data tables invalid"))?;
    // Clients are built once per cold start and shared by every invocation.
    let backend = AwsBackend::from_env().await?;
    lambda_http::run(lambda_router::<Feedback, _>(&backend)).await
}
