//! The revenue reads: the dashboard, recommendations, buyer performance and one
//! conversation's metrics. Figures come from the incrementally kept counters
//! (`aurum::usecases::analytics`), served from a snapshot refreshed at most every 15 seconds.

use aurum::artefacts::current_model;
use aurum::backend::Backend;
use aurum::domain::analytics::{
    self as figures, Alert, BuyerMonth, BuyerRevenue, COUNTED_BY, DailyRevenue, HourCell, Kpis,
    Recommendation,
};
use aurum::domain::conversation::SessionId;
use aurum::domain::metrics;
use aurum::domain::money::Usd;
use aurum::domain::scoring::{self, QualityTier};
use aurum::http::ApiError;
use aurum::ports::{ConversationStore, StoreError};
use aurum::usecases::analytics::{Analytics, RecentSale};
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

pub const DASHBOARD_ROUTE: &str = "/api/v1/revenue/dashboard";
pub const RECOMMENDATIONS_ROUTE: &str = "/api/v1/revenue/recommendations";
pub const BUYERS_ROUTE: &str = "/api/v1/revenue/buyers";
pub const MODELS_ROUTE: &str = "/api/v1/models";
pub const CONVERSATION_METRICS_ROUTE: &str = "/api/v1/conversations/{session_id}/metrics";

/// Days of the revenue trend; the revenue-by-hour heatmap covers four weeks.
const TREND_DAYS: i64 = 30;
const HEATMAP_DAYS: i64 = 28;
const TOP_BUYERS: usize = 5;

pub struct RevenueState<B: Backend> {
    pub analytics: Analytics<B>,
    pub conversations: Arc<B::Conversations>,
    pub models: Arc<B::Models>,
    pub cache: Arc<B::Cache>,
    pub targets: aurum::domain::targets::Targets,
    pub jobs: aurum::usecases::jobs::Jobs<B>,
    /// Where the model in force is cached.
    pub model_key: String,
}

impl<B: Backend> Clone for RevenueState<B> {
    fn clone(&self) -> Self {
        RevenueState {
            analytics: self.analytics.clone(),
            conversations: Arc::clone(&self.conversations),
            models: Arc::clone(&self.models),
            cache: Arc::clone(&self.cache),
            targets: self.targets,
            jobs: self.jobs.clone(),
            model_key: self.model_key.clone(),
        }
    }
}

impl<B: Backend> RevenueState<B> {
    pub fn new(backend: &B) -> RevenueState<B> {
        RevenueState {
            analytics: Analytics::new(backend),
            conversations: backend.conversations(),
            models: backend.models(),
            cache: backend.cache(),
            targets: backend.config().targets,
            jobs: aurum::usecases::jobs::Jobs::new(backend),
            model_key: aurum::artefacts::CacheKeys::new(backend.config()).model,
        }
    }
}

/// The revenue dashboard: the guide's fields and what lead sellers read first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardView {
    pub generated_at: DateTime<Utc>,
    /// Days, hours and weeks are New York's.
    pub time_zone: String,
    /// The guide's revenue figures (dollars, ledger net by entry time): this New York
    /// hour, today, this ISO week, this month; the same as `revenue`.
    pub current_hour_revenue: Usd,
    pub today_revenue: Usd,
    pub week_revenue: Usd,
    pub month_revenue: Usd,
    /// Revenue (ledger net by entry time), conversations, conversion and the month's rates.
    #[serde(flatten)]
    pub kpis: Kpis,
    /// The guide's top buyers: `[buyer_id, month revenue in dollars]` pairs, best first
    /// (the same buyers as `top_buyers`).
    #[schema(example = json!([["solarreviews", 3200.0], ["modernize", 2800.0]]))]
    pub top_performing_buyers: Vec<(String, Usd)>,
    pub top_buyers: Vec<BuyerRevenue>,
    /// The guide's lead counts by quality tier this month (`tier_distribution` without the
    /// unqualified conversations).
    pub quality_tier_distribution: TierDistribution,
    /// The guide's quality metrics: conversion by lead quality, revenue per lead by buyer
    /// tier, the quality trend and the tier mix against its target.
    pub quality_metrics: figures::QualityMetrics,
    /// The last 30 New York days, oldest first.
    pub revenue_trend: Vec<DailyRevenue>,
    /// The last 28 days by weekday and hour: 7 × 24 cells, Monday 0h first.
    pub revenue_by_hour: Vec<HourCell>,
    /// The guide's alerts: one sentence each, problems first and good news (a KPI above
    /// its target) last; `alert_details` has the same alerts with their figures.
    pub alerts: Vec<String>,
    pub alert_details: Vec<Alert>,
    /// The newest 15-minute KPI check (the KPI job): when it ran and the alerts it raised;
    /// absent until it first ran.
    pub kpi_check: Option<KpiCheckView>,
    /// This month's newest sales, newest first, each with whether it stands.
    pub recent_sales: Vec<RecentSale>,
    /// What the newest reconcile step (in the 15-minute KPI job) found on the leads sold
    /// in the last two days; absent until it first ran.
    pub reconciliation: Option<ReconciliationView>,
    /// What each figure counts by.
    pub counted_by: BTreeMap<String, String>,
}

/// Leads qualified this month by quality tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierDistribution {
    pub premium: i64,
    pub standard: i64,
    pub basic: i64,
}

/// The KPI job's newest check, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiCheckView {
    /// The job's 15-minute window.
    pub checked_at: DateTime<Utc>,
    pub conversion_rate: f64,
    pub revenue_today: Usd,
    pub acceptance_rate: f64,
    /// The alerts it raised, one sentence each.
    pub alerts: Vec<String>,
}

/// The reconcile step's counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationView {
    /// The KPI job's window the counts were taken in.
    pub checked_at: DateTime<Utc>,
    /// Leads with a ledger line in the last two days, checked.
    pub checked: u32,
    /// Leads stuck in flight past their bound: their sale released, marked dead-lettered
    /// (a redrive routes them again).
    pub repaired: u32,
    /// Leads whose ledger does not net to what they bill: for people to look at.
    pub ledger_mismatches: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationsView {
    pub generated_at: DateTime<Utc>,
    /// Most urgent first; each carries the figure that triggered it and its target.
    pub recommendations: Vec<Recommendation>,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BuyersView {
    pub generated_at: DateTime<Utc>,
    /// The New York month counted, `YYYY-MM`.
    pub month: String,
    pub buyers: Vec<BuyerMonth>,
}

/// One point of a conversation's revenue potential over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct PotentialPoint {
    pub turn: u32,
    pub at: DateTime<Utc>,
    #[schema(maximum = 100)]
    pub score: u8,
    pub revenue_potential: Usd,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationMetricsView {
    pub session_id: String,
    pub started_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    pub duration_minutes: f64,
    pub turns: u32,
    pub questions_asked: u32,
    /// Share of the technical topics the homeowner raised, 0–1.
    pub technical_engagement: f64,
    pub revenue_per_minute: Usd,
    #[schema(maximum = 100)]
    pub score: u8,
    pub tier: QualityTier,
    pub revenue_potential: Usd,
    /// The last turns' score and revenue potential, oldest first.
    pub revenue_potential_over_time: Vec<PotentialPoint>,
    pub recommendations: Vec<String>,
    /// Set once the lead was queued for routing.
    #[schema(required = true)]
    pub lead_id: Option<String>,
}

/// How a model version did on the held-out leads.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationView {
    pub samples: usize,
    pub positives: usize,
    pub log_loss: f64,
    pub brier: f64,
    /// Mean predicted ÷ observed conversion (1 is calibrated); absent without a conversion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration_ratio: Option<f64>,
    /// Absent unless both outcomes occur.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelVersionView {
    pub version: u32,
    pub parent_version: u32,
    pub trained_at: DateTime<Utc>,
    pub training_samples: usize,
    /// `promoted` or `rolled_back` (by the scoring-model job), or `loaded` (from a model
    /// trained offline; in force only once promoted).
    pub verdict: String,
    pub evaluation: EvaluationView,
    /// The parent's figures on the same held-out leads.
    pub parent_evaluation: EvaluationView,
    /// The candidate's factor weights in bps: base qualification, behavioral, market
    /// timing, NYC intelligence.
    pub weights: [u32; 4],
    /// The candidate's tier thresholds: premium, standard, basic.
    pub tier_thresholds: [u8; 3],
    /// The verdict on the candidate's weights and thresholds, judged apart from its
    /// conversion coefficients: the score's AUC and the tiers' log loss on the same
    /// held-out leads, and how many of them it re-tiers; absent on versions from before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiering: Option<aurum::domain::learning::conversion::TieringJudgement>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelsView {
    /// The version the functions score with now (1 = the built-in weights).
    pub current_version: u32,
    /// Every learned or loaded version, newest first, rolled back ones too. Any of them
    /// (or 1, the built-in model) can be promoted: `POST /api/v1/admin/models/{version}/promote`.
    pub versions: Vec<ModelVersionView>,
}

fn evaluation_view(e: &aurum::domain::learning::logistic::Evaluation) -> EvaluationView {
    EvaluationView {
        samples: e.samples,
        positives: e.positives,
        log_loss: e.log_loss,
        brier: e.brier,
        calibration_ratio: e.calibration_ratio,
        auc: e.auc,
    }
}

/// The scoring-model versions
///
/// The model in force and every version the scoring-model job trained, newest first: its
/// held-out log loss, Brier score, calibration ratio and AUC beside its parent's, and
/// whether it was promoted or rolled back.
#[utoipa::path(
    get,
    path = "/api/v1/models",
    tag = "revenue",
    operation_id = "scoring_models",
    responses(
        (status = 200, description = "The model versions", body = ModelsView),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = aurum::http::ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn models<B: Backend>(
    State(app): State<RevenueState<B>>,
) -> Result<axum::Json<ModelsView>, ApiError> {
    let versions = app.jobs.model_versions(100).await?;
    Ok(axum::Json(ModelsView {
        current_version: aurum::usecases::jobs::current_version(&*app.models).await?,
        versions: versions
            .iter()
            .map(|v| ModelVersionView {
                version: v.version,
                parent_version: v.parent_version,
                trained_at: v.trained_at,
                training_samples: v.training_samples,
                verdict: match v.verdict {
                    aurum::domain::learning::conversion::Verdict::Promoted => "promoted",
                    aurum::domain::learning::conversion::Verdict::RolledBack => "rolled_back",
                    aurum::domain::learning::conversion::Verdict::Loaded => "loaded",
                }
                .into(),
                evaluation: evaluation_view(&v.evaluation),
                parent_evaluation: evaluation_view(&v.parent_evaluation),
                weights: [
                    v.model.weights.base_qualification,
                    v.model.weights.behavioral,
                    v.model.weights.market_timing,
                    v.model.weights.nyc_intelligence,
                ],
                tier_thresholds: [
                    v.model.tiers.premium,
                    v.model.tiers.standard,
                    v.model.tiers.basic,
                ],
                tiering: v.tiering,
            })
            .collect(),
    }))
}

fn json_body(body: String) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The revenue dashboard
///
/// Revenue this hour, today, this ISO week and month (New York time, ledger entry time),
/// conversations and conversion, earnings per lead, sell-through, acceptance and return
/// rates, top buyers, tier distribution, the 30-day trend, revenue by weekday and hour,
/// alerts and the newest sales. `counted_by` says which time each figure counts by.
#[utoipa::path(
    get,
    path = "/api/v1/revenue/dashboard",
    tag = "revenue",
    operation_id = "revenue_dashboard",
    responses(
        (status = 200, description = "The dashboard's figures", body = DashboardView),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = aurum::http::ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn dashboard<B: Backend>(
    State(app): State<RevenueState<B>>,
) -> Result<Response, ApiError> {
    let a = &app.analytics;
    let body = a
        .snapshot("dashboard", || async {
            let f = a.figures().await?;
            let today = f.today();
            let check = app.jobs.latest_kpi_check().await?;
            let reconciliation = check.as_ref().map(|c| (c.window, c.reconciliation));
            let mut alerts = f.alerts.clone();
            if let Some((_, found)) = &reconciliation {
                alerts.extend(aurum::usecases::jobs::reconciliation_alerts(found));
                // Problems first, good news last, as the figures' own alerts are.
                alerts.sort_by_key(|a| std::cmp::Reverse(a.severity as u8));
            }
            let top_buyers = figures::top_buyers(&f.performance, TOP_BUYERS);
            let k = &f.kpis;
            let view = DashboardView {
                generated_at: f.now,
                time_zone: "America/New_York".into(),
                current_hour_revenue: k.revenue.hour,
                today_revenue: k.revenue.today,
                week_revenue: k.revenue.week,
                month_revenue: k.revenue.month,
                top_performing_buyers: top_buyers
                    .iter()
                    .map(|b| (b.buyer_id.clone(), b.revenue))
                    .collect(),
                top_buyers,
                quality_tier_distribution: TierDistribution {
                    premium: k.tier_distribution.premium,
                    standard: k.tier_distribution.standard,
                    basic: k.tier_distribution.basic,
                },
                quality_metrics: f.quality.clone(),
                revenue_trend: figures::revenue_trend(&f.days, today, TREND_DAYS),
                kpis: f.kpis.clone(),
                revenue_by_hour: figures::revenue_by_hour(&f.days, today, HEATMAP_DAYS),
                alerts: alerts.iter().map(|a| a.message.clone()).collect(),
                alert_details: alerts,
                kpi_check: check.map(|c| KpiCheckView {
                    checked_at: c.window,
                    conversion_rate: c.conversion_rate,
                    revenue_today: Usd(aurum::domain::money::Cents(c.revenue_today_cents)),
                    acceptance_rate: c.acceptance_rate,
                    alerts: c.alerts.iter().map(|a| a.message.clone()).collect(),
                }),
                recent_sales: a.recent_sales(&f).await?,
                reconciliation: reconciliation.map(|(checked_at, r)| ReconciliationView {
                    checked_at,
                    checked: r.checked,
                    repaired: r.repaired,
                    ledger_mismatches: r.ledger_mismatches,
                }),
                counted_by: COUNTED_BY
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            };
            to_json(&view)
        })
        .await?;
    Ok(json_body(body))
}

/// Recommendations from KPI gaps
///
/// Each recommendation names the KPI, its figure and the target it misses
/// (`TARGET_CONVERSION_RATE`, `TARGET_AVG_LEAD_VALUE`, `TARGET_REVENUE_PER_HOUR`,
/// `SURGE_PRICING_THRESHOLD`, return and acceptance thresholds), most urgent first.
#[utoipa::path(
    get,
    path = "/api/v1/revenue/recommendations",
    tag = "revenue",
    operation_id = "revenue_recommendations",
    responses(
        (status = 200, description = "Recommendations and the alerts behind them", body = RecommendationsView),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = aurum::http::ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn recommendations<B: Backend>(
    State(app): State<RevenueState<B>>,
) -> Result<Response, ApiError> {
    let a = &app.analytics;
    let body = a
        .snapshot("recommendations", || async {
            let f = a.figures().await?;
            to_json(&RecommendationsView {
                generated_at: f.now,
                recommendations: f.recommendations,
                alerts: f.alerts,
            })
        })
        .await?;
    Ok(json_body(body))
}

/// Buyer performance this month
///
/// Per buyer: leads sold, revenue, acceptance, conversion and return rates, today's cap
/// and the month's spend cap in use, and the top rejection and return reasons.
#[utoipa::path(
    get,
    path = "/api/v1/revenue/buyers",
    tag = "revenue",
    operation_id = "revenue_buyers",
    responses(
        (status = 200, description = "Every buyer's month", body = BuyersView),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = aurum::http::ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn buyers<B: Backend>(State(app): State<RevenueState<B>>) -> Result<Response, ApiError> {
    let a = &app.analytics;
    let body = a
        .snapshot("buyers", || async {
            let f = a.figures().await?;
            to_json(&BuyersView {
                generated_at: f.now,
                month: aurum::domain::feedback::statement_month(f.now),
                buyers: f.performance,
            })
        })
        .await?;
    Ok(json_body(body))
}

/// One conversation's metrics
///
/// Duration, turns, questions asked, technical engagement, revenue per minute, the score
/// and revenue potential over the last turns, and what to do next. No contact details.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{session_id}/metrics",
    tag = "revenue",
    operation_id = "conversation_metrics",
    params(("session_id" = String, Path, description = "The chat session id", pattern = "^[A-Za-z0-9_.:-]{1,128}$", example = "chat_1234567890")),
    responses(
        (status = 200, description = "The conversation's metrics", body = ConversationMetricsView),
        (status = 404, description = "`not_found`: no such conversation", body = aurum::http::ErrorBody),
        (status = 422, description = "`invalid_request`: not a session id", body = aurum::http::ErrorBody),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = aurum::http::ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn conversation_metrics<B: Backend>(
    State(app): State<RevenueState<B>>,
    Path(session_id): Path<String>,
) -> Result<axum::Json<ConversationMetricsView>, ApiError> {
    let id = SessionId::parse(&session_id).map_err(ApiError::Invalid)?;
    let Some(c) = app.conversations.load_conversation(&id).await? else {
        return Err(ApiError::NotFound("no such conversation".into()));
    };
    let model = current_model(
        &*app.models,
        &*app.cache,
        &app.model_key,
        &app.targets.base_model(),
    )
    .await?;
    let score = scoring::score(&model, &c, c.last_message_at);
    let m = metrics::metrics(&c, &score);
    Ok(axum::Json(ConversationMetricsView {
        session_id: c.session_id.as_str().to_owned(),
        started_at: c.started_at,
        last_message_at: c.last_message_at,
        duration_minutes: m.duration_minutes,
        turns: m.turns,
        questions_asked: m.questions_asked,
        technical_engagement: m.technical_engagement,
        revenue_per_minute: m.revenue_per_minute,
        score: score.total,
        tier: score.tier,
        revenue_potential: Usd(score.revenue_potential),
        revenue_potential_over_time: c
            .trail
            .iter()
            .map(|p| PotentialPoint {
                turn: p.turn,
                at: p.at,
                score: p.score,
                revenue_potential: Usd(p.revenue_potential),
            })
            .collect(),
        recommendations: metrics::recommendations(&c, &score, None, &app.targets),
        lead_id: c.lead_id.clone().filter(|_| c.lead_queued_at.is_some()),
    }))
}
