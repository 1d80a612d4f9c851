//! What a function crate exposes, so that one registry (in `aurum-cli`) can serve every
//! function on one port, merge their OpenAPI documents and check them against the
//! deployment template: HTTP functions give their routes and document, workers the work
//! they do per queue message or per schedule window.

use crate::backend::Backend;
use crate::http::harden;
use crate::ports::Delivery;
use axum::Router;
use axum::http::{Method, header};
use axum::routing::get;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;

/// Where every HTTP function (and `aurum serve`) serves its OpenAPI document.
pub const OPENAPI_ROUTE: &str = "/openapi.json";

/// A function behind API Gateway.
pub trait HttpFunction {
    /// The function's name: its binary, its template resource (`<Name>Function`, in
    /// PascalCase) and the prefix of its sample events in `events/`.
    const NAME: &'static str;
    /// Every (path, method) `routes` answers; the registry, the OpenAPI tests and the
    /// template check read it, so a route added without its documentation fails a test.
    const ROUTES: &'static [(&'static str, Method)];
    /// The document of `ROUTES`.
    fn openapi() -> utoipa::openapi::OpenApi;
    /// What the function's Lambda serves at `/openapi.json`: [`function_openapi_json`] of
    /// this function, committed as `functions/<NAME>/openapi.json` and compiled in, so the
    /// Lambda neither builds the document at cold start nor links its builders (a test
    /// keeps the file equal to the code's document).
    const OPENAPI_JSON: &'static str;
    /// The API routes over `backend`, without fallbacks, for merging into a bigger router.
    fn routes<B: Backend>(backend: &B) -> Router;
}

/// The Lambda's router for one function: its routes, its own OpenAPI document (compiled
/// in) and the JSON fallbacks.
pub fn lambda_router<F: HttpFunction, B: Backend>(backend: &B) -> Router {
    let json: Arc<str> = F::OPENAPI_JSON.into();
    let router = harden(F::routes(backend).route(OPENAPI_ROUTE, get(move || document(json))));
    // Around the whole router, not its routes: a path must be rewritten before routing.
    #[cfg(feature = "aws")]
    let router =
        Router::new().fallback_service(tower::ServiceExt::map_request(router, without_rest_stage));
    router
}

/// A request through a REST API stage (the buyer-feedback stage, behind its WAF) has its
/// stage's name in front of the path (`/v1/api/…`); the routes are the same on every
/// stage, so it is taken off. Requests from HTTP APIs (`$default`) and from `aurum serve`
/// pass unchanged.
#[cfg(feature = "aws")]
fn without_rest_stage(mut request: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::request::RequestContext;
    let Some(RequestContext::ApiGatewayV1(context)) = request.extensions().get::<RequestContext>()
    else {
        return request;
    };
    let Some(stage) = context.stage.as_deref() else {
        return request;
    };
    let prefix = format!("/{stage}/");
    let uri = request.uri();
    let Some(rest) = uri.path().strip_prefix(&prefix[..prefix.len() - 1]) else {
        return request;
    };
    if !rest.starts_with('/') {
        return request;
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(stripped) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = stripped;
        }
    }
    request
}

/// One function's own document (its routes and `GET /openapi.json`) as its Lambda serves
/// it: pretty JSON ending in a newline, the content of `functions/<NAME>/openapi.json`.
pub fn function_openapi_json<F: HttpFunction>() -> String {
    let mut doc = F::openapi();
    doc.merge(meta_openapi());
    let mut text = doc
        .to_pretty_json()
        .unwrap_or_else(|e| panic!("the OpenAPI document serializes: {e}"));
    text.push('\n');
    text
}

/// Serves a rendered OpenAPI document.
pub async fn document(json: Arc<str>) -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
}

/// The OpenAPI 3.1 document of every route this server answers.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    responses(
        (status = 200, description = "This document", content_type = "application/json", body = Object)
    )
)]
#[allow(dead_code)]
fn openapi_document() {}

#[derive(OpenApi)]
#[openapi(
    paths(openapi_document),
    tags((name = "meta", description = "The API's own description"))
)]
struct MetaApi;

/// The part every served document has: `GET /openapi.json`.
pub fn meta_openapi() -> utoipa::openapi::OpenApi {
    MetaApi::openapi()
}

/// Why a worker did not finish a unit of work; the unit is retried (a queue message after
/// its visibility timeout, a schedule window on its next tick).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WorkError(pub String);

/// A function fed by the lead queue. Each delivery is safe to repeat: every effect is
/// keyed by the lead id and guarded by a condition.
pub trait LeadConsumer: Send + Sync + 'static {
    const NAME: &'static str;
    /// Handles one delivery with work allowed until `deadline`: `Ok` acknowledges it,
    /// `Err` leaves it for redelivery.
    fn handle(
        &self,
        delivery: &Delivery,
        deadline: tokio::time::Instant,
    ) -> impl Future<Output = Result<(), WorkError>> + Send;
}

/// Time kept back from a message's deadline for reporting its result.
pub const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_millis(500);

/// Handles one delivery so that nothing it does can take its batch down: it is cut at
/// `deadline` and a panic inside it fails it alone. `Err` leaves it for redelivery.
pub async fn handle_guarded<C: LeadConsumer>(
    consumer: &C,
    delivery: &Delivery,
    deadline: tokio::time::Instant,
) -> Result<(), WorkError> {
    use futures_util::FutureExt;
    let work = std::panic::AssertUnwindSafe(consumer.handle(delivery, deadline)).catch_unwind();
    match tokio::time::timeout_at(deadline, work).await {
        Ok(Ok(result)) => result,
        // The panic's own text is not logged: it may quote the data it failed on.
        Ok(Err(_)) => {
            tracing::error!(worker = C::NAME, lead_id = %delivery.lead.lead_id, "message handler panicked; it comes back");
            Err(WorkError("the handler panicked".into()))
        }
        Err(_) => Err(WorkError("the invocation's time ran out".into())),
    }
}

/// A function fed by the lead queue, as the registry knows it: how to build its consumer
/// over a backend (once per process).
pub trait QueueFunction {
    const NAME: &'static str;
    type Consumer<B: Backend>: LeadConsumer;
    fn consumer<B: Backend>(backend: &B) -> Result<Self::Consumer<B>, WorkError>;
}

/// A function run on a schedule (EventBridge in AWS, an interval in `aurum serve`). A run
/// claims its window before any effect, so a second delivery of one window does nothing.
pub trait ScheduledJob: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// How often it runs.
    fn every(&self) -> Duration;
    /// Runs the job for the window starting at `window`.
    fn run(&self, window: DateTime<Utc>) -> impl Future<Output = Result<(), WorkError>> + Send;
}

/// A lead-queue batch as Lambda's SQS event source delivers it, handed to `consumer`
/// message by message (concurrently: every lead is its own FIFO group). The response
/// names only the messages that must come back: failed ones, and undecodable ones, which
/// after `maxReceiveCount` reach the dead-letter queue.
#[cfg(feature = "aws")]
pub async fn sqs_batch<C: LeadConsumer>(
    consumer: &C,
    event: aws_lambda_events::event::sqs::SqsEvent,
    deadline: tokio::time::Instant,
) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let deadline = deadline
        .checked_sub(DEADLINE_MARGIN)
        .unwrap_or_else(tokio::time::Instant::now);
    let handled = event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let body = record.body.as_deref().unwrap_or_default();
        let lead = match serde_json::from_str::<crate::contracts::QueuedLead>(body) {
            Ok(lead) => lead,
            Err(e) => {
                tracing::error!(worker = C::NAME, message_id = %id, error = %crate::redact::decode_failure(&e), "undecodable lead message");
                return Some(id);
            }
        };
        let delivery = Delivery {
            receipt: record.receipt_handle.unwrap_or_default(),
            receive_count,
            lead,
        };
        match handle_guarded(consumer, &delivery, deadline).await {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(worker = C::NAME, message_id = %id, lead_id = %delivery.lead.lead_id, error = %e, "lead message failed; it comes back");
                Some(id)
            }
        }
    });
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    for failed in futures_util::future::join_all(handled)
        .await
        .into_iter()
        .flatten()
    {
        response.add_failure(failed);
    }
    response
}

/// The invocation's deadline (milliseconds since the epoch, as Lambda gives it) on this
/// process's monotonic clock.
#[cfg(feature = "aws")]
pub fn invocation_deadline(deadline_ms: u64) -> tokio::time::Instant {
    let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    tokio::time::Instant::now()
        + std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// Every function Lambda's init: telemetry, the data tables, then the AWS backend (clients
/// built and connections opened once per cold start).
#[cfg(feature = "aws")]
pub async fn lambda_init() -> Result<crate::adapters::aws::AwsBackend, lambda_runtime::Error> {
    crate::telemetry::init();
    // The data tables parse on a blocking thread while the clients are built and the
    // connections opened: init takes the longer of the two, not their sum.
    let tables = tokio::task::spawn_blocking(crate::domain::init);
    let backend = crate::adapters::aws::AwsBackend::from_env().await;
    if let Ok(backend) = &backend {
        backend.warm().await;
    }
    tables
        .await
        .map_err(|e| format!("data tables: {e}"))?
        .inspect_err(|e| tracing::error!(error = %e, "data tables invalid"))?;
    Ok(backend?)
}

/// The whole `main` of an HTTP function's Lambda: its init, then the Lambda runtime.
#[cfg(feature = "aws")]
pub async fn run_http<F: HttpFunction>() -> Result<(), lambda_http::Error> {
    serve_http::<F, _>(&lambda_init().await?).await
}

/// An HTTP function's Lambda runtime loop over any backend (the function binaries use
/// the AWS one; `aurum lambda` any).
#[cfg(feature = "aws")]
pub async fn serve_http<F: HttpFunction, B: Backend>(
    backend: &B,
) -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_router::<F, _>(backend)).await
}

/// The whole `main` of a queue consumer's Lambda: the SQS event source's batches, with
/// partial batch failures reported (`ReportBatchItemFailures`).
#[cfg(feature = "aws")]
pub async fn run_sqs<Q: QueueFunction>() -> Result<(), lambda_runtime::Error> {
    serve_sqs::<Q, _>(&lambda_init().await?).await
}

/// A queue consumer's Lambda runtime loop over any backend.
#[cfg(feature = "aws")]
pub async fn serve_sqs<Q: QueueFunction, B: Backend>(
    backend: &B,
) -> Result<(), lambda_runtime::Error> {
    use aws_lambda_events::event::sqs::SqsEvent;
    use lambda_runtime::{LambdaEvent, service_fn};
    let consumer = Q::consumer(backend)?;
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = invocation_deadline(event.context.deadline);
        Ok::<_, lambda_runtime::Error>(sqs_batch(consumer, event.payload, deadline).await)
    }))
    .await
}
