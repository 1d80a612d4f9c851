//! The sales console's leads: find them by status, buyer, day, tier or unsold reason, and
//! offer an ended or waiting lead again (`/api/v1/admin/leads…`). Reads need the
//! `aurum/read` scope, the re-offer `aurum/admin`; the re-offer is audited.

use aurum::backend::Backend;
use aurum::domain::buyer::BuyerId;
use aurum::domain::lead::{LeadQuery, LeadRecord, LeadState};
use aurum::domain::money::Usd;
use aurum::domain::scoring::QualityTier;
use aurum::http::{ApiError, ErrorBody, Operator};
use aurum::ports::LeadStore;
use aurum::usecases::console::Console;
use aurum::usecases::reoffer::{OfferAgainError, Reoffers};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, OpenApi, ToSchema};

pub const LEADS_ROUTE: &str = "/api/v1/admin/leads";
pub const REOFFER_ROUTE: &str = "/api/v1/admin/leads/{lead_id}/reoffer";

#[derive(OpenApi)]
#[openapi(
    paths(search, reoffer),
    tags((name = "console", description = "The sales team's buyer administration (JWT; changes need the admin scope)"))
)]
pub struct ConsoleLeadsApi;

struct LeadsState<B: Backend> {
    backend: B,
    console: Arc<Console<B>>,
}

pub fn router<B: Backend>(backend: &B, console: Arc<Console<B>>) -> Router {
    let state = Arc::new(LeadsState {
        backend: backend.clone(),
        console,
    });
    Router::new()
        .route(LEADS_ROUTE, get(search::<B>))
        .route(REOFFER_ROUTE, post(reoffer::<B>))
        .with_state(state)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadSearch {
    #[param(inline)]
    pub status: Option<LeadState>,
    /// The buyer of its current sale.
    #[param(pattern = "^[a-z0-9_-]{1,64}$")]
    pub buyer_id: Option<String>,
    /// The New York day it qualified (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub day: Option<NaiveDate>,
    #[param(inline)]
    pub tier: Option<QualityTier>,
    /// Why no buyer took it: `no_eligible_buyer`, `duplicate`, `held_for_capacity`, …
    #[param(max_length = 64)]
    pub unsold_reason: Option<String>,
    /// At most this many, newest first (1 to 200; default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

/// One lead in the search's answer (the lead view has the rest).
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadRow {
    pub lead_id: String,
    pub status: LeadState,
    #[schema(required = true)]
    pub score: Option<u8>,
    #[schema(required = true)]
    pub tier: Option<QualityTier>,
    #[schema(required = true)]
    pub queued_at: Option<DateTime<Utc>>,
    /// The buyer of its current sale, and its price.
    #[schema(required = true)]
    pub buyer_id: Option<String>,
    #[schema(required = true)]
    pub price: Option<Usd>,
    #[schema(required = true)]
    pub unsold_reason: Option<String>,
    /// Re-offers so far.
    pub offers: u32,
    pub updated_at: DateTime<Utc>,
}

impl LeadRow {
    fn of(r: &LeadRecord) -> LeadRow {
        LeadRow {
            lead_id: r.lead_id.clone(),
            status: r.state,
            score: r.score,
            tier: r.tier,
            queued_at: r.queued_at,
            buyer_id: r.sale.as_ref().map(|s| s.buyer_id.to_string()),
            price: r.sale.as_ref().map(|s| Usd(s.price)),
            unsold_reason: r.unsold_reason.clone(),
            offers: r.offers,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadSearchResult {
    pub leads: Vec<LeadRow>,
    /// Whether every lead was looked at (a search reads at most 20,000).
    pub complete: bool,
}

/// Find leads
///
/// By status, buyer, New York day, tier and unsold reason; every filter given must match.
/// Newest first. No contact details.
#[utoipa::path(
    get,
    path = "/api/v1/admin/leads",
    tag = "console",
    params(LeadSearch),
    responses(
        (status = 200, body = LeadSearchResult),
        (status = 422, description = "`invalid_request`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn search<B: Backend>(
    State(state): State<Arc<LeadsState<B>>>,
    query: Result<Query<LeadSearch>, QueryRejection>,
) -> Result<Json<LeadSearchResult>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::Invalid("limit must be 1 to 200".into()));
    }
    if q.unsold_reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 64)
    {
        return Err(ApiError::Invalid(
            "unsold_reason is at most 64 characters".into(),
        ));
    }
    let buyer = match q.buyer_id.as_deref() {
        Some(raw) => {
            Some(BuyerId::parse(raw).map_err(|r| ApiError::Invalid(format!("buyer_id {r}")))?)
        }
        None => None,
    };
    let query = LeadQuery {
        state: q.status,
        buyer,
        day: q.day,
        tier: q.tier,
        unsold_reason: q.unsold_reason,
    };
    let (found, complete) = state.backend.leads().search(&query, limit).await?;
    Ok(Json(LeadSearchResult {
        leads: found.iter().map(LeadRow::of).collect(),
        complete,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reoffered {
    pub lead_id: String,
    /// The number of this offer (1 for the first re-offer).
    pub offer: u32,
}

/// Offer a lead again
///
/// An expired, unsold or dead-lettered lead waits again with a new shelf life from now,
/// and a waiting one is offered at once: its next offer goes to the routers, scored on its
/// conversation as it stands. Any other state gets 409 `invalid_transition`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/leads/{lead_id}/reoffer",
    tag = "console",
    params(("lead_id" = String, Path, description = "The lead's id")),
    responses(
        (status = 202, description = "Offered to the routers", body = Reoffered),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`invalid_transition`: its state does not allow it", body = ErrorBody),
        (status = 422, description = "`invalid_request`: it can no longer be sold", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)
    )
)]
async fn reoffer<B: Backend>(
    State(state): State<Arc<LeadsState<B>>>,
    operator: Operator,
    Path(lead_id): Path<String>,
) -> Result<(StatusCode, Json<Reoffered>), ApiError> {
    let now = (state.backend.clock())();
    let before = state.backend.leads().lead(&lead_id).await?.map(|r| r.state);
    let offer = Reoffers::new(&state.backend)
        .offer_again(&lead_id, now)
        .await
        .map_err(|e| match e {
            OfferAgainError::NotFound => ApiError::NotFound(format!("no lead {lead_id}")),
            OfferAgainError::NotAllowed(current) => ApiError::InvalidTransition {
                current,
                message: e.to_string(),
            },
            OfferAgainError::NotSellable => ApiError::Invalid(e.to_string()),
            OfferAgainError::Store(e) => e.into(),
        })?;
    let noted = state
        .console
        .note(
            &operator.0,
            "lead.reoffered",
            format!("lead:{lead_id}"),
            before.map(|s| serde_json::json!({ "status": s })),
            Some(serde_json::json!({ "status": "waiting", "offer": offer })),
        )
        .await;
    if let Err(e) = noted {
        tracing::warn!(%lead_id, error = %e, "re-offer not audited");
    }
    Ok((StatusCode::ACCEPTED, Json(Reoffered { lead_id, offer })))
}
