//! The conversation Lambda function behind API Gateway (HTTP API).

use aurum::adapters::embedded::EmbeddedStore;
use aurum::adapters::memory::MemoryCache;
use aurum::app::AppState;
use std::path::PathBuf;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    aurum::telemetry::init();
    let data_dir =
        std::env::var_os("AURUM_DATA_DIR").map_or_else(|| PathBuf::from(".aurum"), PathBuf::from);
    // Built once per cold start and shared by every invocation.
    let store = Arc::new(EmbeddedStore::open(&data_dir)?);
    let state = AppState::new(Arc::clone(&store), store, Arc::new(MemoryCache::new()));
    lambda_http::run(aurum_conversation::router(state)).await
}
