//! `POST /api/v1/revenue/buyer-feedback`: the public endpoint where buyers post feedback on
//! the leads they bought, signed with Standard Webhooks;
//! `GET /api/v1/buyers/{buyer_id}/statement`: a buyer's monthly statement for the sales team;
//! and `GET /api/v1/buyer/statement`: the same statement for the buyer itself, signed by it.
//!
//! A feedback post is checked in this order, each step refusing with nothing changed: the
//! body size (413), the signature over the raw bytes with the secret of the buyer named by
//! `aurum-buyer-id` (401, one message whatever failed), the buyer's rate (429), a repeated
//! message (the first result), the JSON (400/422), the buyer's ownership of the lead (403),
//! the rules (409/422); then every effect is applied in one transaction.

pub mod api;
pub mod limit;

use api::{
    FeedbackError, FeedbackReceipt, FeedbackRequest, PerformanceView, StatementQuery,
    StatementResponse, TransitionErrorBody,
};
use aurum::backend::Backend;
use aurum::domain::buyer::{Buyer, BuyerId, WebhookSecret};
use aurum::domain::feedback::{Refusal, parse_month, statement_month};
use aurum::function::HttpFunction;
use aurum::http::{ApiError, ErrorBody, parse_json};
use aurum::usecases::feedback::{FeedbackIntake, IntakeError, Recorded};
use aurum::webhooks::{self, HEADER_ID};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use limit::BuyerRateLimit;
use std::sync::Arc;
use utoipa::OpenApi;

pub const ROUTE: &str = "/api/v1/revenue/buyer-feedback";
pub const STATEMENT_ROUTE: &str = "/api/v1/buyers/{buyer_id}/statement";
/// A buyer's own statement, signed by the buyer (public, like the feedback post).
pub const OWN_STATEMENT_ROUTE: &str = "/api/v1/buyer/statement";
pub const OWN_LEADS_ROUTE: &str = "/api/v1/buyer/leads";
/// The header naming the signing buyer: its secret verifies the message before the body is
/// read, so no unauthenticated JSON is ever parsed.
pub const HEADER_BUYER: &str = "aurum-buyer-id";
/// Set on the answer to a repeated feedback (the body is the first result).
pub const HEADER_REPLAYED: &str = "idempotent-replayed";

/// The feedback function, as the registry knows it.
pub struct Feedback;

impl HttpFunction for Feedback {
    const NAME: &'static str = "feedback";
    const ROUTES: &'static [(&'static str, Method)] = &[
        (ROUTE, Method::POST),
        (STATEMENT_ROUTE, Method::GET),
        (OWN_STATEMENT_ROUTE, Method::GET),
        (OWN_LEADS_ROUTE, Method::GET),
    ];

    fn openapi() -> utoipa::openapi::OpenApi {
        FeedbackApi::openapi()
    }
    const OPENAPI_JSON: &'static str = include_str!("../openapi.json");

    fn routes<B: Backend>(backend: &B) -> Router {
        let config = backend.config();
        let state = FeedbackState {
            intake: FeedbackIntake::new(backend),
            limit: Arc::new(BuyerRateLimit::new(
                backend.cache(),
                config.feedback.rate_per_minute,
                &config.aws.feedback_table,
            )),
        };
        Router::new()
            .route(ROUTE, post(post_feedback::<B>))
            .route(STATEMENT_ROUTE, get(buyer_statement::<B>))
            .route(OWN_STATEMENT_ROUTE, get(own_statement::<B>))
            .route(OWN_LEADS_ROUTE, get(own_leads::<B>))
            .with_state(state)
    }
}

struct FeedbackState<B: Backend> {
    intake: FeedbackIntake<B>,
    limit: Arc<BuyerRateLimit<B::Cache>>,
}

impl<B: Backend> Clone for FeedbackState<B> {
    fn clone(&self) -> Self {
        FeedbackState {
            intake: self.intake.clone(),
            limit: Arc::clone(&self.limit),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aurum buyer feedback API",
        description = "Buyers' feedback on the leads they bought, and their statements."
    ),
    paths(post_feedback, buyer_statement, own_statement, own_leads),
    components(schemas(ErrorBody, TransitionErrorBody)),
    tags(
        (name = "buyers", description = "Called by buyers' systems, signed with Standard Webhooks"),
        (name = "sales", description = "The sales team's reports (JWT)")
    )
)]
struct FeedbackApi;

/// A secret no buyer has: an unknown buyer id is checked against it, so it costs the same
/// as a known one and fails the same way.
fn no_buyer_secret() -> Option<WebhookSecret> {
    WebhookSecret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").ok()
}

/// The buyer that signed `payload`: the one `aurum-buyer-id` names, if one of its secrets
/// valid now (the current one, or one a rotation replaced whose overlap has not ended)
/// verifies the Standard Webhooks headers. Unsigned, malformed or stale requests are
/// refused before any store read; every failure is the same 401, whatever was wrong.
async fn verified_buyer<B: Backend>(
    app: &FeedbackState<B>,
    headers: &HeaderMap,
    payload: &[u8],
    now: DateTime<Utc>,
    what: &'static str,
) -> Result<Buyer, ApiError> {
    let claimed = headers
        .get(HEADER_BUYER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| BuyerId::parse(v).ok());
    let refuse = |failure: &str| {
        tracing::warn!(claimed_buyer = ?claimed.as_ref().map(BuyerId::as_str), failure, what, "refused: not verified");
        ApiError::InvalidSignature
    };
    if let Err(e) = webhooks::precheck(headers, now) {
        return Err(refuse(e.failure().as_str()));
    }
    let buyer = match &claimed {
        Some(id) => app.intake.buyer(id).await?,
        None => None,
    };
    let secrets = match &buyer {
        Some(b) => b.secrets_at(now),
        None => no_buyer_secret().into_iter().collect(),
    };
    let verified = webhooks::verify_any(&secrets, headers, payload, now);
    match (buyer, verified) {
        (Some(buyer), Ok(())) => Ok(buyer),
        (None, _) => Err(refuse("unknown_buyer")),
        (Some(_), Err(e)) => Err(refuse(e.failure().as_str())),
    }
}

/// Post feedback on a lead
///
/// Signed like the leads the buyer receives (Standard Webhooks): `webhook-id` (unique per
/// message), `webhook-timestamp` (Unix seconds, within 5 minutes of now) and
/// `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{raw body}` keyed
/// with the decoded `whsec_` secret; several space-separated signatures are accepted while a
/// key rotates), plus `aurum-buyer-id`. Repeating a message (same `webhook-id`) or the same
/// lead, buyer and type returns the first result and changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/revenue/buyer-feedback",
    tag = "buyers",
    operation_id = "post_buyer_feedback",
    params(
        ("aurum-buyer-id" = String, Header, description = "The signing buyer's id", example = "solarreviews"),
        ("webhook-id" = String, Header, description = "Unique id of this message", example = "msg_2Xr3Yy0Zv4a"),
        ("webhook-timestamp" = String, Header, description = "Unix seconds when signed", example = "1780425000"),
        ("webhook-signature" = String, Header, description = "`v1,<base64 HMAC-SHA256>`, space separated when several", example = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=")
    ),
    request_body(content = api::FeedbackRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded (or the first result of a repeat, with `idempotent-replayed: true`)", body = api::FeedbackReceipt,
            headers(("idempotent-replayed" = String, description = "`true` on a repeat"))),
        (status = 400, description = "`malformed_json`: the body is not JSON (after the signature verified)", body = ErrorBody),
        (status = 401, description = "`invalid_signature`: missing, malformed, stale or wrong signature, or an unknown buyer (one message for all)", body = ErrorBody,
            example = json!({"error": {"code": "invalid_signature", "message": api::SIGNATURE_MESSAGE}})),
        (status = 403, description = "`not_your_lead`: the lead was not sold to this buyer; `buyer_mismatch`: `buyer_id` is not the signer", body = ErrorBody,
            example = json!({"error": {"code": "not_your_lead", "message": "the lead was not sold to this buyer"}})),
        (status = 409, description = "`invalid_transition`: the lead's status does not allow this feedback (`current_status` says it); `conflict`: concurrent feedback, retry", body = api::TransitionErrorBody,
            example = json!({"error": {"code": "invalid_transition", "message": "a lead that is returned cannot be marked converted", "current_status": "returned"}})),
        (status = 413, description = "`payload_too_large`: the body is over 64 KiB", body = ErrorBody),
        (status = 422, description = "`invalid_request`: a field breaks the schema or the rules (a reason code, a conversion value); `return_window_closed`", body = ErrorBody,
            example = json!({"error": {"code": "invalid_request", "message": "reason_code must be one of wrong_number, not_homeowner, duplicate, outside_service_area, no_consent, unreachable, other"}})),
        (status = 429, description = "`rate_limited`: too many requests from this buyer; retry after `retry-after` seconds", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = ErrorBody)
    ),
    security(())
)]
async fn post_feedback<B: Backend>(
    State(app): State<FeedbackState<B>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FeedbackError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::MalformedJson(e.body_text())
        }
    })?;
    let now = (app.intake.clock())();
    let buyer = verified_buyer(&app, &headers, &body, now, "feedback").await?;
    if let Err(wait) = app.limit.check(&buyer.id, now).await {
        tracing::warn!(buyer_id = %buyer.id, "feedback rate limited");
        return Err(ApiError::RateLimited {
            retry_after_secs: wait.0,
        });
    }
    // The verifier checked the id is present and well formed.
    let message_id = headers
        .get(HEADER_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Some(first) = app.intake.repeated_message(&buyer.id, &message_id).await? {
        return Ok(receipt(&first, true));
    }
    if nesting_depth(&body) > MAX_NESTING {
        return Err(ApiError::MalformedJson(format!(
            "request body is not valid JSON: nested deeper than {MAX_NESTING} levels"
        )));
    }
    let request: FeedbackRequest = parse_json(&body)?;
    let event = request.validate(&buyer.id, &message_id, now)?;
    match app.intake.record(&event).await {
        Ok(Recorded::New(r)) => Ok(receipt(&r, false)),
        Ok(Recorded::Repeat(r)) => Ok(receipt(&r, true)),
        Err(IntakeError::Refused(refusal)) => Err(match refusal {
            Refusal::NotYourLead => ApiError::Forbidden {
                code: "not_your_lead",
                message: "the lead was not sold to this buyer".to_owned(),
            },
            Refusal::Transition { current, message } => {
                ApiError::InvalidTransition { current, message }
            }
            Refusal::WindowClosed { until } => ApiError::Expired {
                code: "return_window_closed",
                message: format!(
                    "the return window of this lead closed at {}",
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            },
            Refusal::Invalid(m) => ApiError::Invalid(m),
        }),
        Err(IntakeError::Busy) => Err(ApiError::Conflict),
        Err(IntakeError::Store(e)) => Err(e.into()),
    }
}

/// The deepest nesting a feedback body may have: the guide's body is one level deep.
const MAX_NESTING: usize = 16;

/// How deep arrays and objects nest in `body` (brackets inside strings do not count). The
/// parser skips unknown fields without a depth limit, so the limit is checked first.
fn nesting_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn receipt(record: &aurum::domain::feedback::FeedbackRecord, replayed: bool) -> Response {
    let mut response = Json(FeedbackReceipt::from(record)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert(HEADER_REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

/// A buyer's monthly statement
///
/// Every ledger line of the buyer in the New York month (sales, releases, credits and the
/// conversion values it reported) and every return held for review, each with its lead id
/// and time; the totals; the buyer's performance that month and over all time. `net` is
/// what the buyer owes for the month: the statements of every month add up to the ledger.
#[utoipa::path(
    get,
    path = "/api/v1/buyers/{buyer_id}/statement",
    tag = "sales",
    operation_id = "buyer_statement",
    params(
        ("buyer_id" = String, Path, description = "The buyer", example = "solarreviews"),
        StatementQuery
    ),
    responses(
        (status = 200, description = "The statement", body = api::StatementResponse),
        (status = 404, description = "`not_found`: no such buyer, or no such month (`2026-13`)", body = ErrorBody),
        (status = 422, description = "`invalid_request`: `month` is not `YYYY-MM`", body = ErrorBody,
            example = json!({"error": {"code": "invalid_request", "message": "month must be YYYY-MM, e.g. 2026-06"}})),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = ErrorBody)
    )
)]
async fn buyer_statement<B: Backend>(
    State(app): State<FeedbackState<B>>,
    Path(buyer_id): Path<String>,
    query: Result<Query<StatementQuery>, QueryRejection>,
) -> Result<Json<StatementResponse>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let month = statement_month_of(&query, (app.intake.clock())())?;
    let not_found = || ApiError::NotFound(format!("no buyer {buyer_id:?}"));
    let id = BuyerId::parse(&buyer_id).map_err(|_| not_found())?;
    if app.intake.buyer(&id).await?.is_none() {
        return Err(not_found());
    }
    Ok(Json(statement_of(&app, &id, &month).await?))
}

async fn statement_of<B: Backend>(
    app: &FeedbackState<B>,
    id: &BuyerId,
    month: &str,
) -> Result<StatementResponse, ApiError> {
    let statement = app.intake.statement(id, month).await?;
    let performance = PerformanceView {
        month: app.intake.performance(id, Some(month)).await?,
        all_time: app.intake.performance(id, None).await?,
    };
    Ok(StatementResponse {
        statement,
        performance,
    })
}

/// What a buyer signs to read its own statement: the method and the route with the query
/// as sent, e.g. `GET /api/v1/buyer/statement?month=2026-06` (without a query, the route
/// alone). A signature covers one month's statement only.
pub fn own_statement_payload(raw_query: Option<&str>) -> String {
    own_read_payload(OWN_STATEMENT_ROUTE, raw_query)
}

/// `GET <route>`, with `?` and the query as sent when there is one.
fn own_read_payload(route: &str, raw_query: Option<&str>) -> String {
    match raw_query.filter(|q| !q.is_empty()) {
        Some(q) => format!("GET {route}?{q}"),
        None => format!("GET {route}"),
    }
}

/// A buyer's signed read of its own data at `route`: the buyer whose secret signed
/// [`own_read_payload`], within its rate limit, and the New York month the query names
/// (the current one without `month`).
async fn own_read<B: Backend>(
    app: &FeedbackState<B>,
    headers: &HeaderMap,
    route: &str,
    raw_query: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Buyer, String), ApiError> {
    let payload = own_read_payload(route, raw_query);
    let buyer = verified_buyer(app, headers, payload.as_bytes(), now, "own read").await?;
    if let Err(wait) = app.limit.check(&buyer.id, now).await {
        return Err(ApiError::RateLimited {
            retry_after_secs: wait.0,
        });
    }
    let uri: axum::http::Uri = format!("/?{}", raw_query.unwrap_or_default())
        .parse()
        .map_err(|_| ApiError::Invalid("month must be YYYY-MM, e.g. 2026-06".into()))?;
    let Query(query) = Query::<StatementQuery>::try_from_uri(&uri)
        .map_err(|e| ApiError::Invalid(e.body_text()))?;
    let month = statement_month_of(&query, now)?;
    Ok((buyer, month))
}

/// A buyer reads its own statement
///
/// The buyer's statement of a New York month (as the sales team sees it: every ledger line,
/// held returns, totals, performance) and its delivery health, for the buyer's own
/// systems. Signed like feedback (Standard Webhooks headers and `aurum-buyer-id`), the
/// signed payload being `GET /api/v1/buyer/statement` followed by `?` and the query exactly
/// as sent, if any (e.g. `GET /api/v1/buyer/statement?month=2026-06`). Any failure (no
/// signature, a stale or wrong one, another buyer's id, a changed query) gets the same
/// 401: a buyer only ever reads its own statement.
#[utoipa::path(
    get,
    path = "/api/v1/buyer/statement",
    tag = "buyers",
    operation_id = "own_statement",
    params(
        ("aurum-buyer-id" = String, Header, description = "The signing buyer's id", example = "solarreviews"),
        ("webhook-id" = String, Header, description = "Unique id of this request", example = "msg_2Xr3Yy0Zv4a"),
        ("webhook-timestamp" = String, Header, description = "Unix seconds when signed", example = "1780425000"),
        ("webhook-signature" = String, Header, description = "`v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.GET /api/v1/buyer/statement[?query]`", example = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
        StatementQuery
    ),
    responses(
        (status = 200, description = "The buyer's statement and delivery health", body = api::OwnStatementResponse),
        (status = 401, description = "`invalid_signature`: whatever is wrong (one message for all)", body = ErrorBody,
            example = json!({"error": {"code": "invalid_signature", "message": api::SIGNATURE_MESSAGE}})),
        (status = 404, description = "`not_found`: no such month (`2026-13`)", body = ErrorBody),
        (status = 422, description = "`invalid_request`: `month` is not `YYYY-MM`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this buyer; retry after `retry-after` seconds", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = ErrorBody)
    ),
    security(())
)]
async fn own_statement<B: Backend>(
    State(app): State<FeedbackState<B>>,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
) -> Result<Json<api::OwnStatementResponse>, ApiError> {
    let now = (app.intake.clock())();
    let (buyer, month) = own_read(
        &app,
        &headers,
        OWN_STATEMENT_ROUTE,
        raw_query.as_deref(),
        now,
    )
    .await?;
    let statement = statement_of(&app, &buyer.id, &month).await?;
    let health = app.intake.delivery_health(&buyer.id).await?;
    let paused = health.paused_until.is_some_and(|until| until > now);
    Ok(Json(api::OwnStatementResponse {
        statement,
        delivery_health: api::DeliveryHealthView {
            consecutive_failures: health.consecutive_failures,
            paused,
            paused_until: health.paused_until.filter(|_| paused),
        },
    }))
}

/// What a buyer signs to read its own leads: `GET /api/v1/buyer/leads` and the query as
/// sent, like [`own_statement_payload`].
pub fn own_leads_payload(raw_query: Option<&str>) -> String {
    own_read_payload(OWN_LEADS_ROUTE, raw_query)
}

/// A buyer reads its own leads
///
/// The leads sold to the buyer in a New York month (default: this one): when, the price,
/// what was released or credited, the net, whether a return waits for review, and the
/// lead's status while the sale is the buyer's (`released` once it is not). Signed like
/// its statement, the signed payload being `GET /api/v1/buyer/leads` followed by `?` and
/// the query as sent, if any. Any failure gets the same 401: a buyer only ever reads its
/// own leads.
#[utoipa::path(
    get,
    path = "/api/v1/buyer/leads",
    tag = "buyers",
    operation_id = "own_leads",
    params(
        ("aurum-buyer-id" = String, Header, description = "The signing buyer's id", example = "solarreviews"),
        ("webhook-id" = String, Header, description = "Unique id of this request", example = "msg_2Xr3Yy0Zv4a"),
        ("webhook-timestamp" = String, Header, description = "Unix seconds when signed", example = "1780425000"),
        ("webhook-signature" = String, Header, description = "`v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.GET /api/v1/buyer/leads[?query]`", example = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
        StatementQuery
    ),
    responses(
        (status = 200, description = "The buyer's leads of the month", body = api::OwnLeadsResponse),
        (status = 401, description = "`invalid_signature`: whatever is wrong (one message for all)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such month (`2026-13`)", body = ErrorBody),
        (status = 422, description = "`invalid_request`: `month` is not `YYYY-MM`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this buyer; retry after `retry-after` seconds", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = ErrorBody)
    ),
    security(())
)]
async fn own_leads<B: Backend>(
    State(app): State<FeedbackState<B>>,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
) -> Result<Json<api::OwnLeadsResponse>, ApiError> {
    let now = (app.intake.clock())();
    let (buyer, month) =
        own_read(&app, &headers, OWN_LEADS_ROUTE, raw_query.as_deref(), now).await?;
    let statement = app.intake.statement(&buyer.id, &month).await?;
    let mut statuses = std::collections::HashMap::new();
    for line in &statement.lines {
        if !statuses.contains_key(&line.lead_id) {
            let status = app.intake.status_for(&buyer.id, &line.lead_id).await?;
            statuses.insert(line.lead_id.clone(), status);
        }
    }
    let leads =
        aurum::domain::statement::own_leads(&statement, |id| statuses.get(id).cloned().flatten());
    Ok(Json(api::OwnLeadsResponse {
        buyer_id: buyer.id.to_string(),
        month,
        leads,
    }))
}

/// The month a statement query names, or the current New York month.
fn statement_month_of(
    query: &StatementQuery,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, ApiError> {
    Ok(match query.month.as_deref() {
        Some(raw) => match parse_month(raw) {
            Some(month) => month,
            // Shaped like a month but not one (2026-13): there is no such statement.
            None if raw.len() == 7
                && raw.as_bytes()[4] == b'-'
                && raw
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 4 || b.is_ascii_digit())
                && raw.starts_with('2') =>
            {
                return Err(ApiError::NotFound(format!("no month {raw}")));
            }
            None => {
                return Err(ApiError::Invalid(
                    "month must be YYYY-MM, e.g. 2026-06".into(),
                ));
            }
        },
        None => statement_month(now),
    })
}

#[cfg(test)]
mod tests {
    use super::nesting_depth;

    #[test]
    fn given_bodies_then_their_nesting_is_counted_outside_strings() {
        assert_eq!(nesting_depth(br#"{"a":1}"#), 1);
        assert_eq!(nesting_depth(br#"{"a":[{"b":[]}]}"#), 4);
        assert_eq!(nesting_depth(br#"{"a":"[[[[\"[[["}"#), 1);
        assert_eq!(nesting_depth(b"]]]]"), 0);
        assert_eq!(nesting_depth(&[b'['; 100]), 100);
    }
}
