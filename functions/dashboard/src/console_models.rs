//! The sales console's models and experiments (`/api/v1/admin/…`): load a model trained
//! offline, promote a stored version or roll back to an older one, start and stop the
//! pricing experiments. Reads are `GET /api/v1/models` and `GET /api/v1/experiments`. In
//! AWS every change needs the `aurum/admin` scope; each is kept in the audit.

use crate::experiments::{PricingExperimentsView, experiments_view};
use aurum::backend::Backend;
use aurum::domain::learning::conversion::ModelVersion;
use aurum::domain::learning::experiments::ExperimentsFile;
use aurum::domain::learning::offline::OfflineModelFile;
use aurum::http::{ApiError, ErrorBody, Operator, ValidJson};
use aurum::usecases::console_models::{ModelsConsole, ModelsError, Promotion};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{OpenApi, ToSchema};

pub const MODELS_ROUTE: &str = "/api/v1/admin/models";
pub const PROMOTE_ROUTE: &str = "/api/v1/admin/models/{version}/promote";
pub const EXPERIMENTS_ROUTE: &str = "/api/v1/admin/experiments";
pub const STOP_ROUTE: &str = "/api/v1/admin/experiments/{experiment_id}/stop";

#[derive(OpenApi)]
#[openapi(
    paths(load_model, promote_model, start_experiments, stop_experiment),
    tags((name = "console", description = "The sales team's buyer administration (JWT; changes need the admin scope)"))
)]
pub struct ModelsConsoleApi;

type ModelsState<B> = State<Arc<ModelsConsole<B>>>;

/// The routes, on `backend`.
pub fn router<B: Backend>(backend: &B) -> Router {
    Router::new()
        .route(MODELS_ROUTE, post(load_model::<B>))
        .route(PROMOTE_ROUTE, post(promote_model::<B>))
        .route(EXPERIMENTS_ROUTE, post(start_experiments::<B>))
        .route(STOP_ROUTE, post(stop_experiment::<B>))
        .with_state(Arc::new(ModelsConsole::new(backend.clone())))
}

fn api_error(e: ModelsError) -> ApiError {
    match e {
        ModelsError::NotFound(what) => ApiError::NotFound(format!("no {what}")),
        e @ ModelsError::VersionConflict { .. } => ApiError::VersionConflict(e.to_string()),
        e @ ModelsError::AlreadyInForce(_) => ApiError::InvalidTransition {
            current: "in_force",
            message: e.to_string(),
        },
        ModelsError::Refused(message) => ApiError::Invalid(message),
        ModelsError::Store(e) => e.into(),
    }
}

/// A version stored by a load: not in force until promoted.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoadedModel {
    pub version: u32,
    /// The version in force when it was loaded (its weights, tiers and prices are kept).
    pub parent_version: u32,
    /// `loaded`.
    pub verdict: String,
    pub training_samples: usize,
    /// The file's held-out figures.
    pub evaluation: aurum::domain::learning::logistic::Evaluation,
    /// The conversion coefficients on the factor scores read as 0 to 1.
    pub conversion: ConversionView,
}

/// Conversion coefficients: the intercept and one per factor score.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversionView {
    pub intercept: f64,
    pub base_qualification: f64,
    pub behavioral: f64,
    pub market_timing: f64,
    pub nyc_intelligence: f64,
}

fn loaded(v: &ModelVersion) -> LoadedModel {
    let c = &v.model.conversion;
    LoadedModel {
        version: v.version,
        parent_version: v.parent_version,
        verdict: "loaded".to_owned(),
        training_samples: v.training_samples,
        evaluation: v.evaluation,
        conversion: ConversionView {
            intercept: c.intercept,
            base_qualification: c.base_qualification,
            behavioral: c.behavioral,
            market_timing: c.market_timing,
            nyc_intelligence: c.nyc_intelligence,
        },
    }
}

/// Load a model trained offline
///
/// The JSON `aurum model train` writes, trained on the four factor-score columns
/// (`base_qualification`, `behavioral`, `market_timing`, `nyc_intelligence`, 0 to 100).
/// Its coefficients become the conversion coefficients of a new version built on the
/// model in force; the version is listed by `GET /api/v1/models` with verdict `loaded`
/// and is not in force until promoted. A file on other columns, or whose coefficients do
/// not match its columns or fall outside the scorer's bounds, is refused and nothing is
/// stored.
#[utoipa::path(
    post,
    path = "/api/v1/admin/models",
    tag = "console",
    request_body = OfflineModelFile,
    responses(
        (status = 201, description = "Stored as a new version, not in force", body = LoadedModel),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 409, description = "`version_conflict`: another load took the number; retry", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`: the file cannot be loaded, and why", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn load_model<B: Backend>(
    State(console): ModelsState<B>,
    operator: Operator,
    ValidJson(file): ValidJson<OfflineModelFile>,
) -> Result<(StatusCode, Json<LoadedModel>), ApiError> {
    let version = console.load(&file, &operator.0).await.map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(loaded(&version))))
}

/// A promotion, made on the version seen in force.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionRequest {
    /// The version in force as read (`current_version` of `GET /api/v1/models`).
    #[schema(minimum = 1)]
    pub current_version: u32,
}

fn version_of(path: Result<Path<u32>, PathRejection>) -> Result<u32, ApiError> {
    match path {
        Ok(Path(v)) if v >= 1 => Ok(v),
        _ => Err(ApiError::NotFound(
            "no such model version: versions are whole numbers from 1".into(),
        )),
    }
}

/// Promote a model version, or roll back to an older one
///
/// Makes a stored version the one in force (version 1 is the built-in model): a version
/// the scoring-model job trained (promoted or rolled back), one loaded from a file, or
/// one in force before — a roll back. Conversations score with it from their next turn
/// (the cached model is dropped). If the version in force is no longer
/// `current_version`, 409 `version_conflict`; the version in force already, 409
/// `invalid_transition`. Audited as `model.promoted` or `model.rolled_back`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/models/{version}/promote",
    tag = "console",
    params(("version" = u32, Path, minimum = 1, description = "The version to put in force")),
    request_body = PromotionRequest,
    responses(
        (status = 200, body = Promotion),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such version", body = ErrorBody),
        (status = 409, description = "`version_conflict` or `invalid_transition`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn promote_model<B: Backend>(
    State(console): ModelsState<B>,
    operator: Operator,
    path: Result<Path<u32>, PathRejection>,
    ValidJson(request): ValidJson<PromotionRequest>,
) -> Result<Json<Promotion>, ApiError> {
    let version = version_of(path)?;
    console
        .promote(version, request.current_version, &operator.0)
        .await
        .map(Json)
        .map_err(api_error)
}

/// Start pricing experiments
///
/// The experiments file as JSON (`aurum experiments start` reads the same as TOML): one
/// experiment per buyer tier, each with at least two price variants. They replace the
/// experiments in force and count from now. A bad experiment is named and nothing
/// starts. Audited as `experiments.started`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/experiments",
    tag = "console",
    request_body = ExperimentsFile,
    responses(
        (status = 201, description = "The experiments in force now", body = PricingExperimentsView),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`: names the experiment and the problem", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn start_experiments<B: Backend>(
    State(console): ModelsState<B>,
    operator: Operator,
    ValidJson(file): ValidJson<ExperimentsFile>,
) -> Result<(StatusCode, Json<PricingExperimentsView>), ApiError> {
    let record = console
        .start_experiments(file, &operator.0)
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(experiments_view(Some(record)))))
}

/// Stop a pricing experiment
///
/// Ends it: its buyer tier is priced at the list price again; the other experiments go
/// on. Audited as `experiment.stopped`, with the experiment's counts at the stop.
#[utoipa::path(
    post,
    path = "/api/v1/admin/experiments/{experiment_id}/stop",
    tag = "console",
    params(("experiment_id" = String, Path, description = "The experiment's id")),
    responses(
        (status = 200, description = "The experiments in force now", body = PricingExperimentsView),
        (status = 404, description = "`not_found`: no such experiment in force", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn stop_experiment<B: Backend>(
    State(console): ModelsState<B>,
    operator: Operator,
    Path(experiment_id): Path<String>,
) -> Result<Json<PricingExperimentsView>, ApiError> {
    console
        .stop_experiment(&experiment_id, &operator.0)
        .await
        .map(|r| Json(experiments_view(Some(r))))
        .map_err(api_error)
}
