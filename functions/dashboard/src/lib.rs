//! The sales team's read side. `GET /api/v1/leads/{lead_id}`: every lead explains
//! itself — score, tier, the price and each of its multipliers, the buyer, the status and
//! its history with times, and, sold or not, the routing trace (every buyer: eligible with
//! its figures, or the filter that excluded it), and when the homeowner withdrew or had
//! their contact details erased. No contact details, ever.

pub mod revenue;

use aurum::backend::Backend;
use aurum::domain::erasure::{ContactField, ErasureRequester};
use aurum::domain::lead::{LeadRecord, LeadState, Transition};
use aurum::domain::money::Usd;
use aurum::domain::routing::{RoutingDecision, TraceResult};
use aurum::domain::scoring::QualityTier;
use aurum::function::HttpFunction;
use aurum::http::{ApiError, ErrorBody};
use aurum::ports::{LeadStore, SaleStore};
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use utoipa::{OpenApi, ToSchema};

pub mod console;
pub mod console_leads;
pub mod console_models;
pub mod experiments;
pub mod forecast;
pub mod page;

pub const LEAD_ROUTE: &str = "/api/v1/leads/{lead_id}";

/// The dashboard function, as the registry knows it.
pub struct Dashboard;

impl HttpFunction for Dashboard {
    const NAME: &'static str = "dashboard";
    const ROUTES: &'static [(&'static str, Method)] = &[
        (LEAD_ROUTE, Method::GET),
        (revenue::DASHBOARD_ROUTE, Method::GET),
        (revenue::RECOMMENDATIONS_ROUTE, Method::GET),
        (revenue::BUYERS_ROUTE, Method::GET),
        (revenue::CONVERSATION_METRICS_ROUTE, Method::GET),
        (revenue::MODELS_ROUTE, Method::GET),
        (experiments::EXPERIMENTS_ROUTE, Method::GET),
        (forecast::FORECAST_ROUTE, Method::GET),
        (page::PAGE_ROUTE, Method::GET),
        (page::CONSOLE_ROUTE, Method::GET),
        (page::ASSET_ROUTE, Method::GET),
        (console::BUYERS_ROUTE, Method::GET),
        (console::BUYERS_ROUTE, Method::POST),
        (console::BUYER_ROUTE, Method::GET),
        (console::BUYER_ROUTE, Method::PUT),
        (console::STANDING_ROUTE, Method::POST),
        (console::SECRET_ROUTE, Method::POST),
        (console::TEST_ROUTE, Method::POST),
        (console::AUDIT_ROUTE, Method::GET),
        (console_leads::LEADS_ROUTE, Method::GET),
        (console_leads::REOFFER_ROUTE, Method::POST),
        (console_models::MODELS_ROUTE, Method::POST),
        (console_models::PROMOTE_ROUTE, Method::POST),
        (console_models::EXPERIMENTS_ROUTE, Method::POST),
        (console_models::STOP_ROUTE, Method::POST),
    ];

    fn openapi() -> utoipa::openapi::OpenApi {
        let mut doc = DashboardApi::openapi();
        doc.merge(page::PageApi::openapi());
        doc.merge(console::ConsoleApi::openapi());
        doc.merge(console_leads::ConsoleLeadsApi::openapi());
        doc.merge(console_models::ModelsConsoleApi::openapi());
        doc
    }
    const OPENAPI_JSON: &'static str = include_str!("../openapi.json");

    fn routes<B: Backend>(backend: &B) -> Router {
        let state = DashboardState::<B> {
            leads: backend.leads(),
            sales: backend.sales(),
        };
        let revenue_reads = Router::new()
            .route(revenue::DASHBOARD_ROUTE, get(revenue::dashboard::<B>))
            .route(
                revenue::RECOMMENDATIONS_ROUTE,
                get(revenue::recommendations::<B>),
            )
            .route(revenue::BUYERS_ROUTE, get(revenue::buyers::<B>))
            .route(revenue::MODELS_ROUTE, get(revenue::models::<B>))
            .route(
                experiments::EXPERIMENTS_ROUTE,
                get(experiments::experiments::<B>),
            )
            .route(forecast::FORECAST_ROUTE, get(forecast::forecast::<B>))
            .route(
                revenue::CONVERSATION_METRICS_ROUTE,
                get(revenue::conversation_metrics::<B>),
            )
            .with_state(revenue::RevenueState::new(backend));
        Router::new()
            .route(LEAD_ROUTE, get(lead::<B>))
            .with_state(state)
            .merge(revenue_reads)
            .merge(console::router(backend))
            .merge(console_models::router(backend))
            .merge(page::router())
    }
}

struct DashboardState<B: Backend> {
    leads: Arc<B::Leads>,
    sales: Arc<B::Sales>,
}

impl<B: Backend> Clone for DashboardState<B> {
    fn clone(&self) -> Self {
        DashboardState {
            leads: Arc::clone(&self.leads),
            sales: Arc::clone(&self.sales),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aurum dashboard API",
        description = "The sales team's reads: revenue, buyers, conversations, and every lead with how it was routed and priced."
    ),
    paths(
        lead,
        revenue::dashboard,
        revenue::recommendations,
        revenue::buyers,
        revenue::conversation_metrics,
        revenue::models,
        experiments::experiments,
        forecast::forecast
    ),
    tags(
        (name = "leads", description = "Every lead, explained"),
        (name = "revenue", description = "Revenue analytics from the incrementally kept counters")
    )
)]
struct DashboardApi;

/// A lead as the sales team sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadView {
    pub lead_id: String,
    /// `queued`, `sold`, `delivered`, `accepted`, `rejected`, `returned`, `converted`,
    /// `unsold` or `withdrawn`.
    #[schema(value_type = String)]
    pub status: LeadState,
    #[schema(required = true, maximum = 100)]
    pub score: Option<u8>,
    #[schema(required = true)]
    pub tier: Option<QualityTier>,
    #[schema(required = true)]
    pub queued_at: Option<DateTime<Utc>>,
    /// The current sale (while sold, delivered or later).
    #[schema(required = true)]
    pub sale: Option<SaleView>,
    /// Why no buyer took it, when unsold.
    #[schema(required = true)]
    pub unsold_reason: Option<String>,
    /// When the homeowner withdrew consent (their words are not shown here).
    #[schema(required = true)]
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// The homeowner had their contact details erased ("delete my data" in the chat):
    /// when, on whose request, which details. Null when they never asked.
    #[schema(required = true)]
    pub contact_erased: Option<ContactErasureView>,
    /// Buyers that rejected the lead at post time or could not be reached.
    pub cascaded_past: Vec<String>,
    /// Every change of status, oldest first.
    pub history: Vec<TransitionView>,
    /// The last routing decision.
    #[schema(required = true)]
    pub routing: Option<RoutingView>,
    /// What the ledger holds for this lead: sales, releases, credits (the net is the
    /// revenue it brought).
    pub ledger_net: Usd,
}

/// An erasure of the homeowner's contact details: none of their values.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactErasureView {
    /// When they were erased.
    pub erased_at: DateTime<Utc>,
    /// Who asked: `homeowner` (in the chat).
    pub requested_by: ErasureRequester,
    /// Which details the chat held and erased (`name`, `phone`, `email`); empty when it
    /// held none.
    pub fields: Vec<ContactField>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SaleView {
    pub buyer_id: String,
    pub buyer_tier: String,
    pub price: Usd,
    pub expected_revenue: Usd,
    pub sold_at: DateTime<Utc>,
    pub returnable_until: DateTime<Utc>,
    pub pricing: PricingView,
}

/// How the price was made: base × each multiplier (basis points, 10000 = ×1), then the
/// buyer's floor or cap.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricingView {
    pub base: Usd,
    pub quality_bps: u32,
    pub surge_bps: u32,
    pub time_of_day_bps: u32,
    pub day_of_week_bps: u32,
    pub market_bps: u32,
    /// New York wall-clock time the time and day factors were read at.
    pub new_york_time: String,
    pub unclamped: Usd,
    pub price: Usd,
    /// `floor` or `cap` when the buyer's band applied.
    #[schema(required = true)]
    pub clamped_to: Option<String>,
    /// The pricing experiment's variant the sale was priced at (its multiplier applies
    /// after the others), when the buyer's tier runs one.
    #[schema(required = true)]
    pub experiment: Option<aurum::domain::learning::experiments::VariantAssignment>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionView {
    #[schema(value_type = String)]
    pub status: LeadState,
    pub at: DateTime<Utc>,
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingView {
    /// `greedy` or `bid_price`.
    pub strategy: String,
    pub decided_at: DateTime<Utc>,
    /// Why this buyer, or why none.
    pub reason: String,
    pub trace: Vec<TraceView>,
}

/// One buyer in the routing trace.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceView {
    pub buyer_id: String,
    pub eligible: bool,
    /// The filter that excluded it (`inactive`, `paused_by_sales_team`, `paused` (the
    /// delivery circuit breaker), `not_named_in_consent`, `outside_service_area`,
    /// `below_min_quality`, `property_type_not_taken`, `bill_below_minimum`, `closed`,
    /// `daily_cap_reached`, `monthly_spend_cap_reached`, `duplicate`, `declined`, `no_bid`,
    /// `below_reserve`).
    #[schema(required = true)]
    pub excluded_by: Option<String>,
    /// The sales team's reason, when it paused the buyer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[schema(required = true)]
    pub price: Option<Usd>,
    #[schema(required = true)]
    pub p_accept: Option<f64>,
    #[schema(required = true)]
    pub expected_revenue: Option<Usd>,
    pub chosen: bool,
}

fn routing_view(d: &RoutingDecision) -> RoutingView {
    let chosen = d.buyer_id();
    RoutingView {
        strategy: d.strategy.as_str().to_owned(),
        decided_at: d.decided_at,
        reason: match (d.sale(), d.unsold_reason()) {
            (Some(sale), _) => sale.reason.clone(),
            (None, Some(reason)) => format!("unsold: {}", reason.as_str()),
            (None, None) => String::new(),
        },
        trace: d
            .trace
            .iter()
            .map(|t| match &t.result {
                TraceResult::Eligible(e) => TraceView {
                    buyer_id: t.buyer_id.to_string(),
                    eligible: true,
                    excluded_by: None,
                    note: None,
                    price: Some(Usd(e.price)),
                    p_accept: Some((e.p_accept * 1000.0).round() / 1000.0),
                    expected_revenue: Some(Usd(e.expected_revenue)),
                    chosen: chosen == Some(&t.buyer_id),
                },
                TraceResult::Excluded { reason } => TraceView {
                    buyer_id: t.buyer_id.to_string(),
                    eligible: false,
                    excluded_by: Some(reason.as_str().to_owned()),
                    note: t.note.clone(),
                    price: None,
                    p_accept: None,
                    expected_revenue: None,
                    chosen: false,
                },
            })
            .collect(),
    }
}

impl LeadView {
    pub fn new(r: &LeadRecord, ledger_net: Usd) -> LeadView {
        LeadView {
            lead_id: r.lead_id.clone(),
            status: r.state,
            score: r.score,
            tier: r.tier,
            queued_at: r.queued_at,
            sale: r.sale.as_ref().map(|s| SaleView {
                buyer_id: s.buyer_id.to_string(),
                buyer_tier: s.buyer_tier.as_str().to_owned(),
                price: Usd(s.price),
                expected_revenue: Usd(s.expected_revenue),
                sold_at: s.sold_at,
                returnable_until: s.returnable_until,
                pricing: PricingView {
                    base: Usd(s.quote.base),
                    quality_bps: s.quote.quality_bps,
                    surge_bps: s.quote.surge_bps,
                    time_of_day_bps: s.quote.time_of_day_bps,
                    day_of_week_bps: s.quote.day_of_week_bps,
                    market_bps: s.quote.market_bps,
                    new_york_time: s.quote.local_time.format("%Y-%m-%d %H:%M").to_string(),
                    unclamped: Usd(s.quote.unclamped),
                    price: Usd(s.quote.price),
                    clamped_to: s.quote.clamp.map(|c| {
                        match c {
                            aurum::domain::pricing::PriceClamp::Floor => "floor",
                            aurum::domain::pricing::PriceClamp::Cap => "cap",
                        }
                        .to_owned()
                    }),
                    experiment: s.quote.experiment.as_deref().cloned(),
                },
            }),
            unsold_reason: r.unsold_reason.clone(),
            withdrawn_at: r.withdrawal.as_ref().map(|w| w.at),
            contact_erased: r.contact_erased.as_ref().map(|e| ContactErasureView {
                erased_at: e.at,
                requested_by: e.requested_by,
                fields: e.fields.clone(),
            }),
            cascaded_past: r.excluded.iter().map(ToString::to_string).collect(),
            history: r
                .history
                .iter()
                .map(|Transition { state, at, note }| TransitionView {
                    status: *state,
                    at: *at,
                    note: note.clone(),
                })
                .collect(),
            routing: r.routing.as_ref().map(routing_view),
            ledger_net,
        }
    }
}

/// A lead lead ids look like: `lead_` and 32 lowercase hex digits.
fn valid_lead_id(raw: &str) -> bool {
    raw.strip_prefix("lead_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// One lead, explained
///
/// Score, tier, status and its history, the price with each multiplier, the buyer, and
/// the routing trace: for every buyer, eligible (with its price, acceptance probability
/// and expected revenue) or the filter that excluded it. No contact details.
#[utoipa::path(
    get,
    path = "/api/v1/leads/{lead_id}",
    tag = "leads",
    operation_id = "lead",
    params(("lead_id" = String, Path, description = "The lead id (`lead_` + 32 hex digits)", pattern = "^lead_[0-9a-f]{32}$", example = "lead_fbf6592bbf895aaabe7055ec5cbd0089")),
    responses(
        (status = 200, description = "The lead, explained", body = LeadView),
        (status = 404, description = "`not_found`: no such lead", body = ErrorBody),
        (status = 422, description = "`invalid_request`: not a lead id", body = ErrorBody),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
async fn lead<B: Backend>(
    State(app): State<DashboardState<B>>,
    Path(lead_id): Path<String>,
) -> Result<Json<LeadView>, ApiError> {
    if !valid_lead_id(&lead_id) {
        return Err(ApiError::Invalid(
            "lead_id must be lead_ followed by 32 lowercase hex digits".into(),
        ));
    }
    let Some(record) = app.leads.lead(&lead_id).await? else {
        return Err(ApiError::NotFound(format!("no lead {lead_id}")));
    };
    let net = app
        .sales
        .ledger(&lead_id)
        .await?
        .iter()
        .fold(aurum::domain::money::Cents::ZERO, |sum, e| sum + e.amount);
    Ok(Json(LeadView::new(&record, Usd(net))))
}
