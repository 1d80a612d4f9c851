//! What the scheduled jobs produce and the functions read: the routing update (buyer
//! stats and the fleet's lead flow), the pricing experiments in force, the conversation
//! rules, the routed leads' arrivals, and the scoring model as the cache keeps it. Each is
//! reached through a typed method here, so no use case names another's record kinds or
//! cache keys, and use cases import this module, never each other.

use crate::config::Config;
use crate::domain::bid_price::{Arrival, DemandForecast};
use crate::domain::learning::conversation_rules::ConversationRules;
use crate::domain::learning::conversion::ModelVersion;
use crate::domain::learning::experiments::ExperimentSet;
use crate::domain::scoring::ScoringModel;
use crate::ports::{Cache, JobStore, ModelStore, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;

pub const ROUTING_RECORDS: &str = "routing";
pub const RULES_RECORDS: &str = "rules";
pub const EXPERIMENT_RECORDS: &str = "experiments";
/// The scoring-model versions: every one the job trained (rolled back too) and every one
/// loaded from a model trained offline.
pub const MODEL_RECORDS: &str = "model";
const RULES_CACHE_KEY: &str = "conversation_rules:current";
const MODEL_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The routing update's stored result: each buyer's month as the router's priors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoutingUpdate {
    pub window: DateTime<Utc>,
    pub buyers: Vec<BuyerStats>,
    /// The recent days' routed leads the `bid_price` strategy's dual prices are computed
    /// on, for every router of the fleet (absent in records before it was kept).
    #[serde(default)]
    pub demand: Option<DemandForecast>,
}

/// One buyer's month as the routing update counted it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuyerStats {
    pub buyer_id: String,
    pub leads_sold: i64,
    /// This month's outcome counts: the router's acceptance and history estimates.
    pub accepted: i64,
    pub rejected: i64,
    pub returned: i64,
    pub acceptance_rate: f64,
    pub conversion_rate: f64,
    pub return_rate: f64,
    pub daily_utilisation: f64,
    pub monthly_spend_utilisation: f64,
    /// This month's accepted and returned leads by quality tier (absent in records before
    /// they were kept).
    #[serde(default)]
    pub returns_by_tier: Vec<crate::domain::analytics::TierReturns>,
}

impl RoutingUpdate {
    /// Each buyer's counts as the router's stats.
    pub fn stats(&self) -> HashMap<String, crate::domain::routing::BuyerStats> {
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        self.buyers
            .iter()
            .map(|b| {
                (
                    b.buyer_id.clone(),
                    crate::domain::routing::BuyerStats {
                        accepted: count(b.accepted),
                        rejected: count(b.rejected),
                        returned: count(b.returned),
                        by_tier: by_tier(&b.returns_by_tier),
                    },
                )
            })
            .collect()
    }
}

/// Per-tier counts in the router's order (basic, standard, premium).
fn by_tier(
    rows: &[crate::domain::analytics::TierReturns],
) -> [crate::domain::routing::TierOutcomes; 3] {
    use crate::domain::routing::{TierOutcomes, tier_slot};
    let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    let mut out = [TierOutcomes::default(); 3];
    for row in rows {
        if let Some(i) = tier_slot(row.tier) {
            out[i] = TierOutcomes {
                accepted: count(row.accepted),
                returned: count(row.returned),
            };
        }
    }
    out
}

/// The pricing experiments as of `updated_at` (written when a business starts them, and
/// by each routing update with their counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentsRecord {
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub set: ExperimentSet,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(corrupt)
}

/// The id of a routed lead's arrival record: sorts by the minute it arrived.
fn arrival_id(minute: u16, lead_id: &str) -> String {
    format!("{minute:04}#{lead_id}")
}

/// The typed artefacts over any job store (the records are JSON under a kind and an id
/// that sorts by time).
pub trait Artefacts: JobStore {
    /// The newest routing update, if one ran.
    fn routing_update(
        &self,
    ) -> impl Future<Output = Result<Option<RoutingUpdate>, StoreError>> + Send {
        async move {
            Ok(self
                .records(ROUTING_RECORDS, 1)
                .await?
                .first()
                .and_then(|json| serde_json::from_str(json).ok()))
        }
    }

    fn save_routing_update(
        &self,
        update: &RoutingUpdate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.put_record(
                ROUTING_RECORDS,
                &update.window.to_rfc3339(),
                &to_json(update)?,
            )
            .await
        }
    }

    /// Every stored model version, newest first, at most `limit`.
    fn model_versions(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ModelVersion>, StoreError>> + Send {
        async move {
            self.records(MODEL_RECORDS, limit)
                .await?
                .iter()
                .map(|json| serde_json::from_str(json).map_err(corrupt))
                .collect()
        }
    }

    /// Keeps a model version's record (once: a version taken already is a `Conflict`).
    fn save_model_version(
        &self,
        version: &ModelVersion,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.put_record(
                MODEL_RECORDS,
                &format!("{:010}", version.version),
                &to_json(version)?,
            )
            .await
        }
    }

    /// The pricing experiments in force, if any were started.
    fn experiments(
        &self,
    ) -> impl Future<Output = Result<Option<ExperimentsRecord>, StoreError>> + Send {
        async move {
            match self.records(EXPERIMENT_RECORDS, 1).await?.first() {
                None => Ok(None),
                Some(json) => serde_json::from_str(json).map(Some).map_err(corrupt),
            }
        }
    }

    /// Stores `set` as the experiments in force: under `at`, or just after the newest
    /// record when that is later (the newest record is the one in force).
    fn save_experiments(
        &self,
        set: ExperimentSet,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<ExperimentsRecord, StoreError>> + Send {
        async move {
            let newest = self.experiments().await?.map(|r| r.updated_at);
            let updated_at = match newest {
                Some(n) if n >= at => n + Duration::milliseconds(1),
                _ => at,
            };
            let record = ExperimentsRecord { updated_at, set };
            self.put_record(
                EXPERIMENT_RECORDS,
                &updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                &to_json(&record)?,
            )
            .await?;
            Ok(record)
        }
    }

    /// The newest conversation rules, if the rules job stored any.
    fn conversation_rules(
        &self,
    ) -> impl Future<Output = Result<Option<ConversationRules>, StoreError>> + Send {
        async move {
            Ok(self
                .records(RULES_RECORDS, 1)
                .await?
                .first()
                .and_then(|json| serde_json::from_str(json).ok()))
        }
    }

    /// Stores a new version of the conversation rules (id: the version, so the newest
    /// sorts last).
    fn save_conversation_rules(
        &self,
        rules: &ConversationRules,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.put_record(
                RULES_RECORDS,
                &format!("{:010}", rules.version),
                &to_json(rules)?,
            )
            .await
        }
    }

    /// Records a lead's first routing on its New York day, for the fleet's bid prices.
    fn record_arrival(
        &self,
        day: NaiveDate,
        lead_id: &str,
        arrival: &Arrival,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.put_record(
                &arrival_kind(day),
                &arrival_id(arrival.minute, lead_id),
                &to_json(arrival)?,
            )
            .await
        }
    }

    /// Up to `limit` arrivals of a New York day (unreadable ones skipped).
    fn arrivals(
        &self,
        day: NaiveDate,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Arrival>, StoreError>> + Send {
        async move {
            Ok(self
                .records(&arrival_kind(day), limit)
                .await?
                .iter()
                .filter_map(|json| serde_json::from_str(json).ok())
                .collect())
        }
    }
}

impl<J: JobStore + ?Sized> Artefacts for J {}

/// The records of one New York day's routed leads.
pub fn arrival_kind(day: NaiveDate) -> String {
    format!("flow#{day}")
}

/// Where the routers cache what they read for every lead, per buyers table (stages may
/// share one cache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKeys {
    /// A stamp of the buyer list the routers keep in process (never the list itself: it
    /// holds webhook URLs and signing secrets); dropping it makes every router read the
    /// store again.
    pub buyers: String,
    /// The newest routing update's stats and lead flow.
    pub priors: String,
    /// The pricing experiments in force.
    pub experiments: String,
    /// The scoring model in force, per models table.
    pub model: String,
}

impl CacheKeys {
    pub fn new(config: &Config) -> CacheKeys {
        let buyers = format!("buyers:{}:all", config.aws.buyers_table);
        CacheKeys {
            model: format!("scoring_model:{}:current", config.aws.models_table),
            priors: format!("{buyers}:stats"),
            experiments: format!("{buyers}:experiments"),
            buyers,
        }
    }
}

/// Drops the buyer list's stamp, so that every router reads the buyers from the store at
/// its next lead (after an import or an edit).
pub async fn forget_buyers<B: crate::backend::Backend>(backend: &B) {
    let keys = CacheKeys::new(backend.config());
    forget(&*backend.cache(), &keys.buyers, "buyers").await;
}

/// Drops the cached experiments, so the next sale is priced on the ones stored now.
pub async fn forget_experiments<B: crate::backend::Backend>(backend: &B) {
    let keys = CacheKeys::new(backend.config());
    forget(&*backend.cache(), &keys.experiments, "experiments").await;
}

/// Drops a cached artefact, so the next reader takes it from the store; readers that
/// miss the drop see the change within the cache's minute.
pub async fn forget<C: Cache + ?Sized>(cache: &C, key: &str, what: &str) {
    if let Err(e) = cache.delete(key).await {
        tracing::warn!(error = %e, what, "could not drop a cached artefact; it refreshes within a minute");
    }
}

/// The scoring model in force: cache, then store, then the built-in default. A model that
/// does not validate is never used.
pub async fn current_model<S: ModelStore + ?Sized, C: Cache + ?Sized>(
    store: &S,
    cache: &C,
    key: &str,
    base: &ScoringModel,
) -> Result<ScoringModel, StoreError> {
    match cache.get(key).await {
        Ok(Some(json)) => match serde_json::from_str::<ScoringModel>(&json) {
            Ok(model) if model.validate().is_ok() => return Ok(model),
            Ok(_) => tracing::warn!("cached scoring model is invalid; reading the store"),
            Err(e) => {
                tracing::warn!(error = %crate::redact::decode_failure(&e), "cached scoring model unreadable")
            }
        },
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cache unavailable; reading the model from the store"),
    }
    let model = match store.current_model().await? {
        Some(model) => match model.validate() {
            Ok(()) => model,
            Err(reason) => {
                tracing::error!(version = model.version, %reason, "stored scoring model is invalid; using the built-in one");
                base.clone()
            }
        },
        None => base.clone(),
    };
    if let Ok(json) = serde_json::to_string(&model)
        && let Err(e) = cache.set(key, &json, MODEL_CACHE_TTL).await
    {
        tracing::warn!(error = %e, "could not cache the scoring model");
    }
    Ok(model)
}

/// Drops the cached scoring model (a new version was promoted), `key` being
/// [`CacheKeys::model`].
pub async fn forget_model<C: Cache + ?Sized>(cache: &C, key: &str) {
    forget(cache, key, "scoring model").await;
}

/// The conversation rules in force: the cache, then the newest the rules job stored, else
/// none (the agent's own order). Never fails a turn: rules only reorder questions.
pub async fn current_rules<J: JobStore + ?Sized, C: Cache + ?Sized>(
    jobs: &J,
    cache: &C,
) -> ConversationRules {
    if let Ok(Some(json)) = cache.get(RULES_CACHE_KEY).await
        && let Ok(rules) = serde_json::from_str::<ConversationRules>(&json)
    {
        return rules;
    }
    let rules = match jobs.conversation_rules().await {
        Ok(rules) => rules.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "conversation rules unreadable; the agent's own order");
            return ConversationRules::default();
        }
    };
    if let Ok(json) = serde_json::to_string(&rules) {
        let _ = cache.set(RULES_CACHE_KEY, &json, MODEL_CACHE_TTL).await;
    }
    rules
}

/// Drops the cached conversation rules (the rules job stored new ones).
pub async fn forget_rules<C: Cache + ?Sized>(cache: &C) {
    forget(cache, RULES_CACHE_KEY, "conversation rules").await;
}
