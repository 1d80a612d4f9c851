//! The all-in-one local system behind `aurum serve`: every HTTP router on one port over
//! the embedded store, and the OpenAPI document that covers them all.

use aurum::adapters::embedded::EmbeddedStore;
use aurum::adapters::memory::MemoryCache;
use aurum::app::AppState;
use aurum::http::harden;
use aurum::ports::{Cache, ConversationStore, LeadQueue, ModelStore, StoreError};
use axum::Router;
use axum::http::{Method, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use utoipa::OpenApi;

pub const OPENAPI_ROUTE: &str = "/openapi.json";

/// Where `aurum openapi --out` writes the document by convention (from the repository root).
pub const OPENAPI_FILE: &str = "docs/openapi.json";

/// Every (path, method) `local_app` answers: each function's routes and the document.
pub fn routes() -> Vec<(&'static str, Method)> {
    let mut all = vec![(OPENAPI_ROUTE, Method::GET)];
    all.extend(aurum_conversation::ROUTES.iter().cloned());
    all
}

/// The local application over one embedded store.
pub fn local_app(store: Arc<EmbeddedStore>) -> Router {
    app(AppState::new(
        Arc::clone(&store),
        store,
        Arc::new(MemoryCache::new()),
    ))
}

/// Every function's router merged onto one port, over any backend.
pub fn app<S, Q, C>(state: AppState<S, Q, C>) -> Router
where
    S: ConversationStore + ModelStore,
    Q: LeadQueue,
    C: Cache,
{
    harden(
        Router::new()
            .merge(aurum_conversation::routes(state))
            .route(OPENAPI_ROUTE, get(openapi_json)),
    )
}

#[derive(OpenApi)]
#[openapi(info(
    title = "Aurum API",
    description = "The Aurum revenue engine: every HTTP endpoint of its functions.\n\n\
        Every error is JSON: `{\"error\": {\"code\": \"…\", \"message\": \"…\"}}`. Besides the \
        statuses listed per operation, an unknown path answers 404 `not_found` and a known \
        path with another method answers 405 `method_not_allowed` (with an `Allow` header).",
    license(name = "UNLICENSED")
))]
struct AurumApi;

/// The OpenAPI 3.1 document of every endpoint `aurum serve` answers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = AurumApi::openapi();
    doc.merge(aurum_conversation::openapi());
    doc
}

/// The document as committed in `docs/openapi.json`: pretty JSON ending in a newline.
pub fn openapi_json_pretty() -> String {
    let mut text = openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| panic!("the OpenAPI document serializes: {e}"));
    text.push('\n');
    text
}

static OPENAPI_JSON: LazyLock<String> = LazyLock::new(openapi_json_pretty);

async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI_JSON.as_str(),
    )
}

pub fn open_store(data_dir: &Path) -> Result<Arc<EmbeddedStore>, StoreError> {
    EmbeddedStore::open(data_dir).map(Arc::new)
}

/// Serves `app` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
