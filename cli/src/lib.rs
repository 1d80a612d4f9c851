//! The all-in-one local system behind `aurum serve`: every HTTP router on one port over
//! the embedded store.

use aurum::adapters::embedded::EmbeddedStore;
use aurum::adapters::memory::MemoryCache;
use aurum::app::AppState;
use aurum::ports::StoreError;
use axum::Router;
use std::path::Path;
use std::sync::Arc;

/// The local application: every function's router merged, over one embedded store.
pub fn local_app(store: Arc<EmbeddedStore>) -> Router {
    let state = AppState::new(Arc::clone(&store), store, Arc::new(MemoryCache::new()));
    aurum_conversation::router(state)
}

pub fn open_store(data_dir: &Path) -> Result<Arc<EmbeddedStore>, StoreError> {
    EmbeddedStore::open(data_dir).map(Arc::new)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<EmbeddedStore>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, local_app(store))
        .with_graceful_shutdown(shutdown)
        .await
}
