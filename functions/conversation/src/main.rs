//! The conversation Lambda function behind API Gateway (HTTP API).

use aurum::adapters::aws::AwsBackend;
use aurum::adapters::embedded::EmbeddedStore;
use aurum::adapters::memory::MemoryCache;
use aurum::app::AppState;
use aurum::config::{Backend, Config};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    aurum::telemetry::init();
    let config = Config::from_env(Backend::Aws)?;
    // Parse the embedded data tables during init: a bad file stops the cold start here.
    aurum::domain::init().inspect_err(|e| tracing::error!(error = %e, "data tables invalid"))?;
    // Clients are built once per cold start and shared by every invocation.
    match config.backend {
        Backend::Aws => {
            let aws = AwsBackend::connect(&config).await?;
            let state = AppState::new(aws.store, aws.queue, aws.cache);
            lambda_http::run(aurum_conversation::router(state)).await
        }
        Backend::Embedded => {
            let store = Arc::new(EmbeddedStore::open(&config.data_dir)?);
            let state = AppState::new(Arc::clone(&store), store, Arc::new(MemoryCache::new()));
            lambda_http::run(aurum_conversation::router(state)).await
        }
    }
}
