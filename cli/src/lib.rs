//! The all-in-one local system behind `aurum serve`: every function of the registry on one
//! port and in one process, over any backend, and the OpenAPI document that covers them.

pub mod buyer_client;
pub mod buyers;
pub mod chaos;
pub mod console_models;
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

/// Routes anyone may call; every other route of the registry is the sales team's (the
/// API's default authorizer in AWS, the bearer token of `aurum serve --public`): the chat
/// frontend, signed buyer feedback and a buyer's own statement (signed by the buyer), and
/// the dashboard page and its files, which hold no data. The API document is public too.
pub const PUBLIC_ROUTES: &[&str] = &[
    aurum_conversation::ROUTE,
    aurum_feedback::ROUTE,
    aurum_feedback::OWN_STATEMENT_ROUTE,
    aurum_feedback::OWN_LEADS_ROUTE,
    aurum_dashboard::page::PAGE_ROUTE,
    aurum_dashboard::page::CONSOLE_ROUTE,
    aurum_dashboard::page::ASSET_ROUTE,
];

/// Who `aurum serve` answers.
pub enum Exposure {
    /// This machine (a loopback address): every route open, the sandbox buyer inbox and,
    /// given, the sandbox clock `aurum simulate` moves.
    Local(Option<sandbox_clock::SandboxClock>),
    /// Any address (`--public`): no sandbox route, nothing seeded, and the sales team's
    /// routes need `Authorization: Bearer <token>`.
    Public { sales_token: String },
}

/// Refuses a sales-team route without the bearer token; public routes pass.
async fn sales_gate(
    axum::extract::State(token): axum::extract::State<Arc<str>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(
            || request.uri().path().to_owned(),
            |m| m.as_str().to_owned(),
        );
    if PUBLIC_ROUTES.contains(&path.as_str()) || path == OPENAPI_ROUTE {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if aurum::domain::same_secret(presented.as_bytes(), token.as_bytes()) {
        next.run(request).await
    } else {
        aurum::http::ApiError::Unauthorized.into_response()
    }
}

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
/// A local embedded store without buyers gets the example buyers, their webhooks pointed
/// at the sandbox buyer inbox this server also answers (`/sandbox/buyers/{id}/leads`,
/// local only, not in the API document), so a qualifying chat ends sold and delivered with
/// nothing else running.
pub async fn run<B: Backend>(
    listener: tokio::net::TcpListener,
    backend: B,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, backend, Exposure::Local(None), shutdown).await
}

/// [`run`] as `exposure` says: locally with the sandbox routes (and, given, the sandbox
/// clock `aurum simulate` moves, see [`sandbox_clock`]), or publicly with none of them and
/// the sales team's routes behind a bearer token. What `aurum serve` runs. Example buyers
/// and experiments are seeded only into a local embedded store: never into AWS tables,
/// never on a public server.
pub async fn serve<B: Backend>(
    listener: tokio::net::TcpListener,
    backend: B,
    exposure: Exposure,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let failed = |e: String| std::io::Error::other(e);
    let base = format!("http://{}", listener.local_addr()?);
    let sandbox_buyers =
        buyers::example_buyers_for_sandbox(&base).map_err(|e| failed(e.to_string()))?;
    let seed = matches!(exposure, Exposure::Local(_))
        && backend.config().backend == aurum::config::BackendKind::Embedded;
    let stored = backend
        .buyers()
        .buyers()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if seed && stored.is_empty() {
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
    if seed && experiments.is_none() {
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
    let router = match exposure {
        Exposure::Local(clock) => {
            let mut router = app(&backend).merge(crate::sandbox::sandbox_inbox(secrets));
            if let Some(clock) = clock {
                router = router.merge(clock.router());
            }
            router
        }
        Exposure::Public { sales_token } => {
            let token: Arc<str> = sales_token.into();
            app(&backend).route_layer(axum::middleware::from_fn_with_state(token, sales_gate))
        }
    };
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    workers.stop().await;
    served
}
