//! `POST /api/v1/conversation/revenue-optimized`: the chat frontend calls it on every
//! homeowner message and gets the agent's reply, the next questions and the live score.

pub mod api;

use aurum::app::AppState;
use aurum::chat::{self, TurnInput};
use aurum::http::{ApiError, ErrorBody, ValidJson, harden};
use aurum::ports::{Cache, ConversationStore, LeadQueue, ModelStore};
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::LazyLock;
use utoipa::OpenApi;

pub const ROUTE: &str = "/api/v1/conversation/revenue-optimized";
pub const OPENAPI_ROUTE: &str = "/openapi.json";

/// Every route `routes` answers. `aurum serve` and the OpenAPI tests read this list, so
/// a route added here without its documentation fails the tests.
pub const ROUTES: &[(&str, Method)] = &[(ROUTE, Method::POST)];

/// The function's API routes, without fallbacks, for merging into a bigger router.
pub fn routes<S, Q, C>(state: AppState<S, Q, C>) -> Router
where
    S: ConversationStore + ModelStore,
    Q: LeadQueue,
    C: Cache,
{
    Router::new()
        .route(ROUTE, post(converse::<S, Q, C>))
        .with_state(state)
}

/// The Lambda's router: the API routes, this function's OpenAPI document and the JSON
/// fallbacks.
pub fn router<S, Q, C>(state: AppState<S, Q, C>) -> Router
where
    S: ConversationStore + ModelStore,
    Q: LeadQueue,
    C: Cache,
{
    harden(routes(state).route(OPENAPI_ROUTE, get(openapi_json)))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aurum conversation API",
        description = "The conversation function: one call per homeowner message."
    ),
    paths(converse, openapi_json),
    tags(
        (name = "conversation", description = "The chat frontend's calls"),
        (name = "meta", description = "The API's own description")
    )
)]
struct ConversationApi;

/// This function's OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ConversationApi::openapi()
}

static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| {
    openapi()
        .to_json()
        .unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#))
});

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
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI_JSON.as_str(),
    )
}

/// Take one homeowner message
///
/// Extracts facts from the message (and the optional context and history), updates the
/// session, scores the lead and returns the agent's reply. A lead is queued for routing
/// once, when it becomes sellable; `lead_id` is set from then on.
#[utoipa::path(
    post,
    path = "/api/v1/conversation/revenue-optimized",
    tag = "conversation",
    operation_id = "converse",
    request_body(
        content = api::ConversationRequest,
        content_type = "application/json",
        examples(
            ("guide_manhattan_coop" = (
                summary = "A co-op owner in Manhattan (the guide's example)",
                value = json!({
                    "message": "I'm interested in solar for my co-op in Manhattan",
                    "session_id": "chat_1234567890",
                    "conversation_context": {
                        "homeowner_verified": true,
                        "bill_amount": 400.0,
                        "zip_code": "10021",
                        "borough": "manhattan",
                        "neighborhood": "upper_east_side"
                    },
                    "conversation_history": []
                })
            )),
            ("later_turn" = (
                summary = "A later turn: the server remembers the session",
                value = json!({
                    "message": "We're looking to install within 3 months. You can reach me at 212-555-0147, ok to call.",
                    "session_id": "chat_1234567890"
                })
            ))
        )
    ),
    responses(
        (status = 200, description = "The agent's reply and the live lead score", body = api::ConversationResponse),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ErrorBody,
            example = json!({"error": {"code": "malformed_json", "message": "request body is not valid JSON: EOF while parsing an object at line 1 column 1"}})),
        (status = 409, description = "`conflict`: a concurrent message of the same session won; retry", body = ErrorBody,
            example = json!({"error": {"code": "conflict", "message": "the request conflicted with a concurrent update; retry it"}})),
        (status = 413, description = "`payload_too_large`: the body is over 64 KiB", body = ErrorBody,
            example = json!({"error": {"code": "payload_too_large", "message": "request body is larger than 65536 bytes"}})),
        (status = 422, description = "`invalid_request`: JSON that breaks the request schema (a wrong type, a missing field, a value out of range)", body = ErrorBody,
            example = json!({"error": {"code": "invalid_request", "message": "conversation_context.zip_code must be exactly 5 digits"}})),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = ErrorBody,
            example = json!({"error": {"code": "unavailable", "message": "service temporarily unavailable; retry shortly"}}))
    )
)]
#[tracing::instrument(skip_all)]
async fn converse<S, Q, C>(
    State(app): State<AppState<S, Q, C>>,
    ValidJson(request): ValidJson<api::ConversationRequest>,
) -> Result<Json<api::ConversationResponse>, ApiError>
where
    S: ConversationStore + ModelStore,
    Q: LeadQueue,
    C: Cache,
{
    let input: TurnInput = request.validate()?;
    let now = app.now();
    let outcome = chat::take_turn(&*app.store, &*app.queue, &*app.cache, &input, now).await?;
    Ok(Json(api::ConversationResponse::from_outcome(&outcome, now)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurum::adapters::memory::{MemoryCache, MemoryQueue, MemoryStore};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use tower::ServiceExt;

    fn lambda_router() -> Router {
        router(AppState::new(
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryQueue::new()),
            Arc::new(MemoryCache::new()),
        ))
    }

    async fn call(method: Method, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let response = lambda_router()
            .oneshot(request)
            .await
            .expect("router is infallible");
        let status = response.status();
        let allow = response
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, allow, body.to_vec())
    }

    #[tokio::test]
    async fn the_lambda_serves_a_document_of_exactly_its_routes() {
        // GIVEN the Lambda's router
        // WHEN its document is fetched
        let (status, _, body) = call(Method::GET, OPENAPI_ROUTE).await;
        // THEN it lists this function's routes and the document itself, nothing else
        assert_eq!(status, StatusCode::OK);
        let doc: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .map(move |m| (path.clone(), m.to_ascii_uppercase()))
            })
            .collect();
        let mut expected: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(p, m)| ((*p).to_owned(), m.as_str().to_owned()))
            .collect();
        expected.insert((OPENAPI_ROUTE.to_owned(), "GET".to_owned()));
        assert_eq!(documented, expected);
    }

    #[tokio::test]
    async fn every_route_answers_and_other_methods_get_405_with_allow() {
        for (path, method) in ROUTES {
            // WHEN a listed route is called with its method
            let (status, _, _) = call(method.clone(), path).await;
            // THEN it is routed
            assert!(
                ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&status),
                "{method} {path} answered {status}"
            );
            // AND another method gets 405 naming the one that works
            let other = if *method == Method::PUT {
                Method::DELETE
            } else {
                Method::PUT
            };
            let (status, allow, _) = call(other, path).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
            let allow = allow.unwrap_or_default();
            assert!(
                allow.split(',').any(|m| m == method.as_str()),
                "Allow: {allow}"
            );
        }
    }
}
