//! The sales console's buyer administration (`/api/v1/admin/…`): list, create, edit,
//! pause / resume, deactivate, rotate a secret, send a test message, and read the audit.
//! In AWS every route needs the sales team's JWT; reads need the `aurum/read` scope,
//! changes `aurum/admin` (the template's authorizer checks them; the API document, like
//! the other sales-team routes', does not repeat it). Each change names the
//! version it was made on: someone else's change in between gets 409 `version_conflict`.

use aurum::backend::Backend;
use aurum::delivery::{DeliveryClient, Probe, RetryPolicy};
use aurum::domain::audit::AuditEntry;
use aurum::domain::terms::BuyerTerms;
use aurum::http::{ApiError, ErrorBody, Operator, ValidJson};
use aurum::usecases::console::{
    BuyerSummary, Console, ConsoleError, DEFAULT_OVERLAP_HOURS, NewSecret, StandingChange,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, OpenApi, ToSchema};

pub const BUYERS_ROUTE: &str = "/api/v1/admin/buyers";
pub const BUYER_ROUTE: &str = "/api/v1/admin/buyers/{buyer_id}";
pub const STANDING_ROUTE: &str = "/api/v1/admin/buyers/{buyer_id}/standing";
pub const SECRET_ROUTE: &str = "/api/v1/admin/buyers/{buyer_id}/secret";
pub const TEST_ROUTE: &str = "/api/v1/admin/buyers/{buyer_id}/test";
pub const AUDIT_ROUTE: &str = "/api/v1/admin/audit";

#[derive(OpenApi)]
#[openapi(
    paths(
        list_buyers,
        create_buyer,
        get_buyer,
        update_buyer,
        set_standing,
        rotate_secret,
        send_test,
        audit
    ),
    tags((name = "console", description = "The sales team's buyer administration (JWT; changes need the admin scope)"))
)]
pub struct ConsoleApi;

/// The routes, on `backend`. Test messages go out by the deployment's outbound rule.
pub fn router<B: Backend>(backend: &B) -> Router {
    let delivery = DeliveryClient::new(RetryPolicy::default(), backend.config().outbound)
        .map_err(|e| tracing::warn!(error = %e, "no delivery client: test messages are off"))
        .ok();
    let console = Arc::new(Console::new(
        backend.clone(),
        backend.config().outbound,
        delivery,
    ));
    let leads = crate::console_leads::router(backend, Arc::clone(&console));
    Router::new()
        .route(BUYERS_ROUTE, get(list_buyers::<B>).post(create_buyer::<B>))
        .route(BUYER_ROUTE, get(get_buyer::<B>).put(update_buyer::<B>))
        .route(STANDING_ROUTE, post(set_standing::<B>))
        .route(SECRET_ROUTE, post(rotate_secret::<B>))
        .route(TEST_ROUTE, post(send_test::<B>))
        .route(AUDIT_ROUTE, get(audit::<B>))
        .with_state(console)
        .merge(leads)
}

type ConsoleState<B> = State<Arc<Console<B>>>;

fn api_error(e: ConsoleError) -> ApiError {
    match e {
        ConsoleError::NotFound(id) => ApiError::NotFound(format!("no buyer {id}")),
        e @ ConsoleError::Exists(_) => ApiError::VersionConflict(e.to_string()),
        e @ ConsoleError::VersionConflict { .. } => ApiError::VersionConflict(e.to_string()),
        ConsoleError::Invalid(e) => ApiError::Invalid(format!("{}: {}", e.field, e.reason)),
        ConsoleError::Refused(message) => ApiError::Invalid(message),
        ConsoleError::Store(e) => e.into(),
    }
}

/// Every buyer
///
/// Terms, version, standing (`active`, `paused`, `inactive`), the sales team's pause,
/// when any rotated-out secret stops verifying, and delivery health. Never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/admin/buyers",
    tag = "console",
    responses(
        (status = 200, body = Vec<BuyerSummary>),
        (status = 401, description = "`unauthorized`: no sales-team credentials", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn list_buyers<B: Backend>(
    State(console): ConsoleState<B>,
) -> Result<Json<Vec<BuyerSummary>>, ApiError> {
    console.list().await.map(Json).map_err(api_error)
}

/// Create a buyer
///
/// The buyer file's fields (money in cents, hours `HH:MM`), without `secret`: a secret is
/// generated and returned once in the answer. The webhook URL is checked as delivery will
/// use it. An existing id gets 409.
#[utoipa::path(
    post,
    path = "/api/v1/admin/buyers",
    tag = "console",
    request_body = BuyerTerms,
    responses(
        (status = 201, description = "Created; `secret` is shown only here", body = NewSecret),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 409, description = "`version_conflict`: the id is taken", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`: names the field", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn create_buyer<B: Backend>(
    State(console): ConsoleState<B>,
    operator: Operator,
    ValidJson(terms): ValidJson<BuyerTerms>,
) -> Result<(StatusCode, Json<NewSecret>), ApiError> {
    let created = console
        .create(terms, &operator.0)
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One buyer
#[utoipa::path(
    get,
    path = "/api/v1/admin/buyers/{buyer_id}",
    tag = "console",
    params(("buyer_id" = String, Path, description = "The buyer's id")),
    responses(
        (status = 200, body = BuyerSummary),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn get_buyer<B: Backend>(
    State(console): ConsoleState<B>,
    Path(buyer_id): Path<String>,
) -> Result<Json<BuyerSummary>, ApiError> {
    console.get(&buyer_id).await.map(Json).map_err(api_error)
}

/// New terms for a buyer, made on the version read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsChange {
    pub terms: BuyerTerms,
    /// The version the terms were read at.
    pub version: u64,
}

/// Edit a buyer
///
/// Every term at once, as read with its version. The secret, a pause and retiring
/// secrets stay as they are. `active: false` deactivates.
#[utoipa::path(
    put,
    path = "/api/v1/admin/buyers/{buyer_id}",
    tag = "console",
    params(("buyer_id" = String, Path, description = "The buyer's id")),
    request_body = TermsChange,
    responses(
        (status = 200, body = BuyerSummary),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`version_conflict`: changed since it was read", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`: names the field", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn update_buyer<B: Backend>(
    State(console): ConsoleState<B>,
    operator: Operator,
    Path(buyer_id): Path<String>,
    ValidJson(change): ValidJson<TermsChange>,
) -> Result<Json<BuyerSummary>, ApiError> {
    console
        .update(&buyer_id, change.terms, change.version, &operator.0)
        .await
        .map(Json)
        .map_err(api_error)
}

/// Pause, resume, deactivate or activate a buyer
///
/// `paused` needs a `reason`: routing skips the buyer and its trace shows
/// `paused_by_sales_team` with the reason. `active` resumes (and activates); `inactive`
/// deactivates.
#[utoipa::path(
    post,
    path = "/api/v1/admin/buyers/{buyer_id}/standing",
    tag = "console",
    params(("buyer_id" = String, Path, description = "The buyer's id")),
    request_body = StandingChange,
    responses(
        (status = 200, body = BuyerSummary),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`version_conflict`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn set_standing<B: Backend>(
    State(console): ConsoleState<B>,
    operator: Operator,
    Path(buyer_id): Path<String>,
    ValidJson(change): ValidJson<StandingChange>,
) -> Result<Json<BuyerSummary>, ApiError> {
    console
        .set_standing(&buyer_id, change, &operator.0)
        .await
        .map(Json)
        .map_err(api_error)
}

/// A rotation, made on the version read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    pub version: u64,
    /// How long the current secret keeps verifying (1 to 168 hours; default 24).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 168)]
    pub overlap_hours: Option<u32>,
}

/// Rotate a buyer's secret
///
/// A new secret, shown once in this answer. The current one keeps verifying the buyer's
/// feedback, and every delivery carries a signature with each, until
/// `previous_valid_until`; then it retires by itself.
#[utoipa::path(
    post,
    path = "/api/v1/admin/buyers/{buyer_id}/secret",
    tag = "console",
    params(("buyer_id" = String, Path, description = "The buyer's id")),
    request_body = Rotation,
    responses(
        (status = 200, description = "`secret` is shown only here", body = NewSecret),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`version_conflict`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn rotate_secret<B: Backend>(
    State(console): ConsoleState<B>,
    operator: Operator,
    Path(buyer_id): Path<String>,
    ValidJson(rotation): ValidJson<Rotation>,
) -> Result<Json<NewSecret>, ApiError> {
    console
        .rotate_secret(
            &buyer_id,
            rotation.version,
            rotation.overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS),
            &operator.0,
        )
        .await
        .map(Json)
        .map_err(api_error)
}

/// Send a test message
///
/// Posts a signed `lead.test` (no lead, nothing billed) to the buyer's webhook once and
/// shows what came back: status, time, the first 500 characters, or why nothing came.
#[utoipa::path(
    post,
    path = "/api/v1/admin/buyers/{buyer_id}/test",
    tag = "console",
    params(("buyer_id" = String, Path, description = "The buyer's id")),
    responses(
        (status = 200, body = Probe),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn send_test<B: Backend>(
    State(console): ConsoleState<B>,
    Path(buyer_id): Path<String>,
) -> Result<Json<Probe>, ApiError> {
    console
        .send_test(&buyer_id)
        .await
        .map(Json)
        .map_err(api_error)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many of the newest changes (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub entries: Vec<AuditEntry>,
}

/// The audit of changes
///
/// Every change the sales team made, newest first: who, when, what, and the state before
/// and after. Never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    tag = "console",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditView),
        (status = 422, description = "`invalid_request`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn audit<B: Backend>(
    State(console): ConsoleState<B>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditView>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Invalid("limit must be 1 to 500".into()));
    }
    let entries = console.audit(limit).await.map_err(api_error)?;
    Ok(Json(AuditView { entries }))
}
