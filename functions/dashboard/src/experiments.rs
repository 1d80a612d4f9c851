//! `GET /api/v1/experiments`: the pricing experiments per buyer tier, each variant's
//! offers with an outcome, leads kept, revenue and posterior chance of being best, and the
//! winner once one is promoted.

use crate::revenue::RevenueState;
use aurum::backend::Backend;
use aurum::domain::learning::experiments::{ExperimentStatus, PricingExperiment};
use aurum::domain::money::Usd;
use aurum::http::ApiError;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub const EXPERIMENTS_ROUTE: &str = "/api/v1/experiments";

#[derive(Debug, Serialize, ToSchema)]
pub struct PricingExperimentsView {
    /// When the experiments were started or last recounted by the routing update; null
    /// before any experiment was started.
    #[schema(required = true)]
    pub updated_at: Option<DateTime<Utc>>,
    pub experiments: Vec<PricingExperimentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PricingExperimentView {
    pub id: String,
    /// The buyer tier whose sales it prices: `premium`, `standard`, `volume` or `direct`.
    pub buyer_tier: String,
    /// `running`, or `concluded` once a winner was promoted.
    pub status: String,
    /// The promoted variant (every lead of the tier gets its price); null while running.
    #[schema(required = true)]
    pub winner: Option<String>,
    #[schema(required = true)]
    pub concluded_at: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    /// Offers with an outcome, over every variant.
    pub offers: u64,
    /// The promotion rule: offers before any winner, the winner's own minimum, and the
    /// posterior probability of being best it must reach.
    pub min_offers: u64,
    pub min_winner_offers: u64,
    pub probability_best_needed: f64,
    pub variants: Vec<PriceVariantView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceVariantView {
    pub id: String,
    /// Multiplier on the quoted price, in basis points (10000 = the list price).
    pub price_bps: u32,
    /// Leads sold at this variant whose outcome a buyer reported.
    pub offers: u64,
    /// Of those, kept (accepted or converted).
    pub kept: u64,
    /// kept / offers; null before any offer.
    #[schema(required = true)]
    pub keep_rate: Option<f64>,
    /// Revenue of the kept leads.
    pub revenue: Usd,
    /// Posterior mean of price multiplier × keep rate: what an offer earns, relative to
    /// the list price.
    pub expected_value_per_offer: f64,
    /// Posterior probability that this variant earns the most per offer.
    pub probability_best: f64,
}

fn view(e: &PricingExperiment, seed: u64) -> PricingExperimentView {
    let best = e.probability_best_seeded(seed);
    let value = e.expected_revenue_bps();
    let (status, winner, concluded_at) = match &e.status {
        ExperimentStatus::Running => ("running", None, None),
        ExperimentStatus::Concluded { winner, at, .. } => {
            ("concluded", Some(winner.clone()), Some(*at))
        }
    };
    PricingExperimentView {
        id: e.id.clone(),
        buyer_tier: e.buyer_tier.as_str().to_owned(),
        status: status.to_owned(),
        winner,
        concluded_at,
        started_at: e.started_at,
        offers: e.stats.iter().map(|s| s.offers).sum(),
        min_offers: e.rule.min_offers,
        min_winner_offers: e.rule.min_winner_offers,
        probability_best_needed: e.rule.probability_best,
        variants: e
            .variants
            .iter()
            .zip(&e.stats)
            .enumerate()
            .map(|(i, (v, s))| PriceVariantView {
                id: v.id.clone(),
                price_bps: v.price_bps,
                offers: s.offers,
                kept: s.accepted,
                keep_rate: (s.offers > 0).then(|| s.accepted as f64 / s.offers as f64),
                revenue: Usd(s.revenue),
                expected_value_per_offer: value.get(i).copied().unwrap_or(0.0) / 10_000.0,
                probability_best: best.get(i).copied().unwrap_or(0.0),
            })
            .collect(),
    }
}

/// The pricing experiments
///
/// Each buyer tier's price experiment (Thompson sampling over price variants): per variant
/// the offers whose outcome buyers reported, the leads kept, their revenue and the
/// posterior probability of earning the most per offer; the winner once promoted. Counts
/// are as of the newest hourly routing update.
#[utoipa::path(
    get,
    path = "/api/v1/experiments",
    tag = "revenue",
    operation_id = "pricing_experiments",
    responses(
        (status = 200, description = "The pricing experiments", body = PricingExperimentsView),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = aurum::http::ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn experiments<B: Backend>(
    State(app): State<RevenueState<B>>,
) -> Result<axum::Json<PricingExperimentsView>, ApiError> {
    Ok(axum::Json(experiments_view(app.jobs.experiments().await?)))
}

/// The experiments of a stored record (none: nothing started).
pub fn experiments_view(
    record: Option<aurum::artefacts::ExperimentsRecord>,
) -> PricingExperimentsView {
    match record {
        None => PricingExperimentsView {
            updated_at: None,
            experiments: Vec::new(),
        },
        Some(r) => {
            // Seeded by the record: the same counts show the same probabilities.
            let seed = r.updated_at.timestamp_millis().unsigned_abs();
            PricingExperimentsView {
                updated_at: Some(r.updated_at),
                experiments: r.set.experiments.iter().map(|e| view(e, seed)).collect(),
            }
        }
    }
}
