//! The all-in-one local system behind `aurum serve`: every function of the registry on one
//! port and in one process, over any backend, and the OpenAPI document that covers them.

pub mod buyer_client;
pub mod buyers;
pub mod chaos;
pub mod experiments;
pub mod lambda_bench;
pub mod learning;
pub mod load;
pub mod model;
pub mod runtime;
pub mod sandbox;
pub mod sandbox_clock;
pub mod simulate;
pub mod simulate_days;
pub mod traffic;

use aurum::backend::Backend;
pub use aurum::function::OPENAPI_ROUTE;
use aurum::function::{
    HttpFunction, QueueFunction, WorkError, document, function_openapi_json, meta_openapi,
};
use aurum::http::harden;
use aurum::ports::BuyerStore;
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
    /// The document its Lambda serves, as compiled in.
    pub openapi_json: &'static str,
    /// That document as the code generates it now.
    pub generated_openapi_json: fn() -> String,
}

/// The registry: one line per function. `aurum serve`, the merged OpenAPI document and the
/// deployment-template tests read it (see docs/adding-a-function.md).
macro_rules! registry {
    (http: [$($http:ty),* $(,)?], queue: [$($queue:ty),* $(,)?]) => {
        /// Every HTTP function.
        pub fn http_functions() -> Vec<RegisteredHttp> {
            vec![$(RegisteredHttp {
                name: <$http as HttpFunction>::NAME,
                routes: <$http as HttpFunction>::ROUTES,
                openapi: <$http as HttpFunction>::openapi,
                openapi_json: <$http as HttpFunction>::OPENAPI_JSON,
                generated_openapi_json: function_openapi_json::<$http>,
            }),*]
        }

        fn merge_routes<B: Backend>(backend: &B) -> Router {
            Router::new()$(.merge(<$http as HttpFunction>::routes(backend)))*
        }

        /// The names of the functions fed by the lead queue.
        pub fn queue_functions() -> Vec<&'static str> {
            vec![$(<$queue as QueueFunction>::NAME),*]
        }

        /// Starts every queue consumer on `backend`'s lead queue.
        fn start_consumers<B: Backend>(
            backend: &B,
            workers: &mut runtime::Workers,
        ) -> Result<(), WorkError> {
            $(workers.consume(
                backend.queue(),
                Arc::new(<$queue as QueueFunction>::consumer(backend)?),
                runtime::Polling::default(),
            );)*
            Ok(())
        }
    };
}

registry!(
    http: [
        aurum_conversation::Conversation,
        aurum_dashboard::Dashboard,
        aurum_feedback::Feedback,
    ],
    queue: [aurum_router::Router]
);

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
///
/// A store without buyers gets the example buyers, their webhooks pointed at the sandbox
/// buyer inbox this server also answers (`/sandbox/buyers/{id}/leads`, local only, not in
/// the API document), so a qualifying chat ends sold and delivered with nothing else
/// running.
pub async fn run<B: Backend>(
    listener: tokio::net::TcpListener,
    backend: B,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, backend, None, shutdown).await
}

/// [`run`], and with `clock` (the one `backend` reads) the local-only sandbox clock route
/// that `aurum simulate` moves (see [`sandbox_clock`]): what `aurum serve` runs.
pub async fn serve<B: Backend>(
    listener: tokio::net::TcpListener,
    backend: B,
    clock: Option<sandbox_clock::SandboxClock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let failed = |e: String| std::io::Error::other(e);
    let base = format!("http://{}", listener.local_addr()?);
    let sandbox_buyers =
        buyers::example_buyers_for_sandbox(&base).map_err(|e| failed(e.to_string()))?;
    let stored = backend
        .buyers()
        .buyers()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if stored.is_empty() {
        backend
            .buyers()
            .put_buyers(&sandbox_buyers)
            .await
            .map_err(|e| failed(e.to_string()))?;
        tracing::info!(
            buyers = sandbox_buyers.len(),
            "no buyers yet: loaded the example buyers, delivering to the sandbox inbox"
        );
    }
    let experiments = aurum::artefacts::Artefacts::experiments(&*backend.jobs())
        .await
        .map_err(|e| failed(e.to_string()))?;
    if experiments.is_none() {
        let set = experiments::parse(experiments::EXAMPLE_FILE, (backend.clock())())
            .map_err(|e| failed(e.to_string()))?;
        let n = set.experiments.len();
        aurum::artefacts::Artefacts::save_experiments(&*backend.jobs(), set, (backend.clock())())
            .await
            .map_err(|e| failed(e.to_string()))?;
        tracing::info!(
            experiments = n,
            "no pricing experiments yet: started the example experiments"
        );
    }
    let secrets = sandbox_buyers
        .iter()
        .map(|b| (b.id.clone(), b.secret.clone()))
        .collect();
    let mut workers = runtime::Workers::new();
    start_consumers(&backend, &mut workers).map_err(|e| failed(e.to_string()))?;
    let jobs = aurum::usecases::jobs::Jobs::new(&backend);
    for job in aurum::usecases::jobs::Job::ALL {
        workers.schedule(
            Arc::new(aurum::usecases::jobs::Scheduled {
                jobs: jobs.clone(),
                job,
            }),
            backend.clock(),
        );
    }
    let mut router = app(&backend).merge(crate::sandbox::sandbox_inbox(secrets));
    if let Some(clock) = clock {
        router = router.merge(clock.router());
    }
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    workers.stop().await;
    served
}
