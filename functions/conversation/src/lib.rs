//! `POST /api/v1/conversation/revenue-optimized`: the chat frontend calls it on every
//! homeowner message and gets the agent's reply, the next questions and the live score.

pub mod api;

use aurum::backend::{Backend, Clock};
use aurum::config::ChatFrontend;
use aurum::function::HttpFunction;
use aurum::http::{ApiError, ErrorBody, ValidJson};
use aurum::usecases::conversation::{Chat, TurnInput};
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::routing::post;
use axum::{Json, Router};
use utoipa::OpenApi;

pub const ROUTE: &str = "/api/v1/conversation/revenue-optimized";

/// The conversation function, as the registry knows it.
pub struct Conversation;

impl HttpFunction for Conversation {
    const NAME: &'static str = "conversation";
    const ROUTES: &'static [(&'static str, Method)] = &[(ROUTE, Method::POST)];

    fn openapi() -> utoipa::openapi::OpenApi {
        ConversationApi::openapi()
    }
    const OPENAPI_JSON: &'static str = include_str!("../openapi.json");

    fn routes<B: Backend>(backend: &B) -> Router {
        let state = ConversationState {
            chat: Chat::new(backend),
            clock: backend.clock(),
            frontend: backend.config().chat_frontend.clone(),
        };
        Router::new()
            .route(ROUTE, post(converse::<B>))
            .with_state(state)
    }
}

/// What the handler holds: the conversation use case, the clock and who gets the full
/// reply.
struct ConversationState<B: Backend> {
    chat: Chat<B>,
    clock: Clock,
    frontend: ChatFrontend,
}

impl<B: Backend> Clone for ConversationState<B> {
    fn clone(&self) -> Self {
        ConversationState {
            chat: self.chat.clone(),
            clock: self.clock.clone(),
            frontend: self.frontend.clone(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aurum conversation API",
        description = "The conversation function: one call per homeowner message."
    ),
    paths(converse),
    tags((name = "conversation", description = "The chat frontend's calls"))
)]
struct ConversationApi;

/// Take one homeowner message
///
/// Extracts facts from the message (and the optional context and history), updates the
/// session, scores the lead and returns the agent's reply. A lead is queued for routing
/// once, when it becomes sellable; `lead_id` is set from then on. The reply that starts a
/// session carries its `session_token`; every later turn must send it back.
///
/// Two audiences: the business's chat frontend (its key in `aurum-frontend-key`, or any
/// caller of `aurum serve`) gets the full reply with `revenue_optimization`; any other
/// caller (a homeowner's browser) gets the homeowner's view: the reply, the next questions,
/// its own lead profile and the session token, no score, buyer, price or revenue figure.
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
                summary = "A later turn: the server remembers the session; the token is the one the first reply gave",
                value = json!({
                    "message": "We're looking to install within 3 months. You can reach me at 212-555-0147, ok to call.",
                    "session_id": "chat_1234567890",
                    "session_token": "st_Q2hhdFRva2VuRXhhbXBsZUFhQmJDY0RkRWVGZkdnSGg"
                })
            ))
        )
    ),
    responses(
        (status = 200, description = "The agent's reply and the live lead score", body = api::ConversationResponse),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ErrorBody,
            example = json!({"error": {"code": "malformed_json", "message": "request body is not valid JSON: EOF while parsing an object at line 1 column 1"}})),
        (status = 403, description = "`session_forbidden`: the session exists and the request does not carry the token its first reply gave (or carries a token for a session that does not exist); nothing is read back or changed", body = ErrorBody,
            example = json!({"error": {"code": "session_forbidden", "message": "this session belongs to the client that started it: send the session_token its first reply gave, or start a new session_id"}})),
        (status = 409, description = "`conflict`: a concurrent message of the same session won; retry", body = ErrorBody,
            example = json!({"error": {"code": "conflict", "message": "the request conflicted with a concurrent update; retry it"}})),
        (status = 413, description = "`payload_too_large`: the body is over 64 KiB", body = ErrorBody,
            example = json!({"error": {"code": "payload_too_large", "message": "request body is larger than 65536 bytes"}})),
        (status = 415, description = "`unsupported_media_type`: the body is not declared `content-type: application/json`", body = ErrorBody,
            example = json!({"error": {"code": "unsupported_media_type", "message": "send the body as JSON with content-type: application/json"}})),
        (status = 422, description = "`invalid_request`: JSON that breaks the request schema (a wrong type, a missing field, a value out of range)", body = ErrorBody,
            example = json!({"error": {"code": "invalid_request", "message": "conversation_context.zip_code must be exactly 5 digits"}})),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = ErrorBody,
            example = json!({"error": {"code": "unavailable", "message": "service temporarily unavailable; retry shortly"}}))
    )
)]
#[tracing::instrument(skip_all)]
async fn converse<B: Backend>(
    State(app): State<ConversationState<B>>,
    headers: HeaderMap,
    ValidJson(request): ValidJson<api::ConversationRequest>,
) -> Result<Json<api::ConversationResponse>, ApiError> {
    let input: TurnInput = request.validate()?;
    let now = (app.clock)();
    let decision = app.chat.take_turn(&input, now).await?;
    let key = headers.get(ChatFrontend::HEADER).map(|v| v.as_bytes());
    let reply = api::ConversationResponse::from_decision(&decision);
    Ok(Json(if app.frontend.admits(key) {
        reply
    } else {
        reply.for_homeowner()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurum::adapters::memory::MemoryBackend;
    use aurum::function::{OPENAPI_ROUTE, lambda_router};
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use std::collections::BTreeSet;
    use tower::ServiceExt;

    fn the_lambda() -> Router {
        lambda_router::<Conversation, _>(&MemoryBackend::new())
    }

    async fn call(method: Method, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let response = the_lambda()
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
        let mut expected: BTreeSet<(String, String)> = Conversation::ROUTES
            .iter()
            .map(|(p, m)| ((*p).to_owned(), m.as_str().to_owned()))
            .collect();
        expected.insert((OPENAPI_ROUTE.to_owned(), "GET".to_owned()));
        assert_eq!(documented, expected);
    }

    #[tokio::test]
    async fn every_route_answers_and_other_methods_get_405_with_allow() {
        for (path, method) in Conversation::ROUTES {
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
