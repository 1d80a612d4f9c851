//! `POST /api/v1/conversation/revenue-optimized`: the chat frontend calls it on every
//! homeowner message and gets the agent's reply, the next questions and the live score.

pub mod api;

use aurum::app::AppState;
use aurum::chat::{self, TurnInput};
use aurum::http::{ApiError, ValidJson, harden};
use aurum::ports::{Cache, ConversationStore, LeadQueue, ModelStore};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

pub const ROUTE: &str = "/api/v1/conversation/revenue-optimized";

pub fn router<S, Q, C>(state: AppState<S, Q, C>) -> Router
where
    S: ConversationStore + ModelStore,
    Q: LeadQueue,
    C: Cache,
{
    harden(Router::new().route(ROUTE, post(converse::<S, Q, C>))).with_state(state)
}

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
