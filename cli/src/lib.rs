//! The all-in-one local system behind `aurum serve`: every function of the registry on one
//! port and in one process, over any backend, and the OpenAPI document that covers them.

pub mod buyers;
pub mod runtime;

use aurum::backend::Backend;
pub use aurum::function::OPENAPI_ROUTE;
use aurum::function::{HttpFunction, document, meta_openapi};
use aurum::http::harden;
use axum::Router;
use axum::http::Method;
use axum::routing::get;
use std::future::Future;
use std::sync::Arc;
use utoipa::OpenApi;

/// Where `aurum openapi --out` writes the document by convention (from the repository root).
pub const OPENAPI_FILE: &str = "docs/openapi.json";

/// A function as the registry lists it, whatever its backend.
pub struct RegisteredHttp {
    pub name: &'static str,
    pub routes: &'static [(&'static str, Method)],
    pub openapi: fn() -> utoipa::openapi::OpenApi,
}

/// The registry: one line per function. `aurum serve`, the merged OpenAPI document and the
/// deployment-template tests read it (see docs/adding-a-function.md).
macro_rules! registry {
    (http: [$($http:ty),* $(,)?]) => {
        /// Every HTTP function.
        pub fn http_functions() -> Vec<RegisteredHttp> {
            vec![$(RegisteredHttp {
                name: <$http as HttpFunction>::NAME,
                routes: <$http as HttpFunction>::ROUTES,
                openapi: <$http as HttpFunction>::openapi,
            }),*]
        }

        fn merge_routes<B: Backend>(backend: &B) -> Router {
            Router::new()$(.merge(<$http as HttpFunction>::routes(backend)))*
        }
    };
}

registry!(http: [
    aurum_conversation::Conversation,
    aurum_feedback::Feedback,
]);

/// Every (path, method) `app` answers: each function's routes and the document.
pub fn routes() -> Vec<(&'static str, Method)> {
    let mut all = vec![(OPENAPI_ROUTE, Method::GET)];
    for f in http_functions() {
        all.extend(f.routes.iter().cloned());
    }
    all
}

/// Every function's router merged onto one port, over `backend`.
pub fn app<B: Backend>(backend: &B) -> Router {
    let json: Arc<str> = openapi_json_pretty().into();
    harden(merge_routes(backend).route(OPENAPI_ROUTE, get(move || document(json))))
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
    for f in http_functions() {
        doc.merge((f.openapi)());
    }
    doc.merge(meta_openapi());
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

/// Serves every function over `backend` on `listener`, with the background workers
/// running in-process, until `shutdown` completes; then stops taking requests and work,
/// finishes what is in flight, and returns.
pub async fn run<B: Backend>(
    listener: tokio::net::TcpListener,
    backend: B,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let workers = runtime::Workers::new();
    let served = axum::serve(listener, app(&backend))
        .with_graceful_shutdown(shutdown)
        .await;
    workers.stop().await;
    served
}
