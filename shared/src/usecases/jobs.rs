//! The scheduled jobs: the scoring-model update (6 h), the routing and pricing update
//! (1 h), the conversation-rules update (30 min) and KPI monitoring (15 min). Each run
//! claims its (job, window) before any effect, so a second delivery of the same window
//! does nothing; a run that fails gives its claim back so a retry can run.

use crate::artefacts::{Artefacts, BuyerStats, CacheKeys, ExperimentsRecord, RoutingUpdate};
use crate::backend::Backend;
use crate::domain::analytics::{self, Alert};
use crate::domain::bid_price::{Arrival, DemandForecast};
use crate::domain::learning::conversion::{
    self, LabelPolicy, LearnerSettings, ModelVersion, TieringSettings, Verdict,
};
use crate::domain::learning::experiments::VariantOutcome;
use crate::domain::scoring::ScoringModel;
use crate::function::WorkError;
use crate::ports::{FeedbackStore, JobStore, ModelStore, StoreError};
use crate::usecases::analytics::Analytics;
use crate::usecases::reoffer::Reoffers;
use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Days of training examples the scoring-model update reads.
pub const TRAINING_DAYS: i64 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    ModelUpdate,
    RoutingUpdate,
    ConversationRules,
    KpiMonitor,
    /// The re-offer sweep of waiting leads (`usecases::reoffer`).
    Reoffer,
}

impl Job {
    pub const ALL: [Job; 5] = [
        Job::ModelUpdate,
        Job::RoutingUpdate,
        Job::ConversationRules,
        Job::KpiMonitor,
        Job::Reoffer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::ModelUpdate => "model_update",
            Job::RoutingUpdate => "routing_update",
            Job::ConversationRules => "conversation_rules",
            Job::KpiMonitor => "kpi_monitor",
            Job::Reoffer => "reoffer",
        }
    }

    pub fn parse(raw: &str) -> Option<Job> {
        let raw = raw.replace('-', "_");
        Job::ALL.into_iter().find(|j| j.name() == raw)
    }

    /// How often EventBridge (and `aurum serve`) runs it.
    pub fn every(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            Job::ModelUpdate => 6 * 3_600,
            Job::RoutingUpdate => 3_600,
            Job::ConversationRules => 30 * 60,
            Job::KpiMonitor => 15 * 60,
            Job::Reoffer => 60,
        })
    }

    /// The window a moment falls in (windows start at multiples of the period, UTC).
    pub fn window_of(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let step = self.every().as_secs() as i64;
        let start = at.timestamp().div_euclid(step) * step;
        DateTime::from_timestamp(start, 0).unwrap_or(at)
    }
}

/// What one run did, as recorded (`run#<job>` records, id = the window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub job: Job,
    pub window: DateTime<Utc>,
    pub ran_at: DateTime<Utc>,
    /// One line a person reads: what changed, or why nothing did.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// This window was claimed before: nothing done.
    AlreadyRan,
    Ran(RunRecord),
}

/// The KPI monitor's stored result: the KPIs of the moment and the alerts they raised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KpiCheck {
    pub window: DateTime<Utc>,
    pub conversion_rate: f64,
    pub revenue_today_cents: i64,
    pub revenue_per_hour_cents: i64,
    pub earnings_per_lead_cents: i64,
    pub acceptance_rate: f64,
    pub return_rate: f64,
    pub capacity_utilisation: f64,
    pub alerts: Vec<StoredAlert>,
    /// What the reconcile step found on the leads sold lately.
    #[serde(default)]
    pub reconciliation: Reconciliation,
}

/// The reconcile step's counts, shown on the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reconciliation {
    /// Leads with a ledger line in the last [`RECONCILE_DAYS`] days, checked.
    pub checked: u32,
    /// Stuck in flight past their bound: released and marked dead-lettered.
    pub repaired: u32,
    /// Ledger net not equal to what the lead bills: left for people (an alert).
    pub ledger_mismatches: u32,
}

/// How far back the reconcile step looks (by ledger line).
pub const RECONCILE_DAYS: i64 = 2;

/// An alert as stored (the dashboard's `Alert` without its display-only parts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAlert {
    pub kind: String,
    pub severity: String,
    pub message: String,
    pub metric: String,
    pub figure: f64,
    pub target: f64,
}

impl From<&Alert> for StoredAlert {
    fn from(a: &Alert) -> StoredAlert {
        StoredAlert {
            kind: a.kind.clone(),
            severity: serde_json::to_value(a.severity)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            message: a.message.clone(),
            metric: a.metric.clone(),
            figure: a.figure,
            target: a.target,
        }
    }
}

pub use crate::artefacts::MODEL_RECORDS;
pub const KPI_RECORDS: &str = "kpi";
/// Days of routed leads the bid prices are computed on (earlier days only: today's own
/// leads are what the prices are for).
pub const FLOW_DAYS: i64 = 7;
/// At most this many routed leads in the bid prices' sample (whole recent days).
pub const FLOW_SAMPLE: usize = 3_000;
/// Days of outcomes a pricing experiment's counts are read from, at most.
pub const EXPERIMENT_DAYS: i64 = 90;

/// Days of feedback the conversation-rules update learns from.
pub const RULES_DAYS: i64 = 30;

pub fn run_kind(job: Job) -> String {
    format!("run#{}", job.name())
}

fn store_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The ports the jobs use.
pub struct Jobs<B: Backend> {
    jobs: Arc<B::Jobs>,
    models: Arc<B::Models>,
    feedback: Arc<B::Feedback>,
    leads: Arc<B::Leads>,
    sales: Arc<B::Sales>,
    buyers: Arc<B::Buyers>,
    conversations: Arc<B::Conversations>,
    cache: Arc<B::Cache>,
    analytics: Analytics<B>,
    reoffers: Reoffers<B>,
    settings: LearnerSettings,
    keys: CacheKeys,
    targets: crate::domain::targets::Targets,
}

impl<B: Backend> Jobs<B> {
    pub fn new(backend: &B) -> Jobs<B> {
        Jobs {
            jobs: backend.jobs(),
            models: backend.models(),
            feedback: backend.feedback(),
            leads: backend.leads(),
            sales: backend.sales(),
            buyers: backend.buyers(),
            conversations: backend.conversations(),
            cache: backend.cache(),
            analytics: Analytics::new(backend),
            reoffers: Reoffers::new(backend),
            settings: LearnerSettings {
                tiering: TieringSettings::for_targets(&backend.config().targets),
                ..LearnerSettings::default()
            },
            keys: CacheKeys::new(backend.config()),
            targets: backend.config().targets,
        }
    }

    /// The same jobs with other learner thresholds (tests with small samples).
    pub fn with_settings(mut self, settings: LearnerSettings) -> Jobs<B> {
        self.settings = settings;
        self
    }

    /// Runs `job` for the window starting at `window`, once.
    pub async fn run(&self, job: Job, window: DateTime<Utc>) -> Result<RunOutcome, WorkError> {
        let window = job.window_of(window);
        let store = |e: StoreError| WorkError(e.to_string());
        // The sweep is idempotent lead by lead (each change is conditional, each re-offer
        // numbered): it takes no window claim and keeps no run record (one a minute).
        if job == Job::Reoffer {
            let now = self.analytics.now();
            let sweep = self.reoffers.sweep(now).await.map_err(store)?;
            if sweep.waiting > 0 {
                tracing::info!(job = job.name(), summary = %sweep.summary(), "job ran");
            }
            return Ok(RunOutcome::Ran(RunRecord {
                job,
                window,
                ran_at: now,
                summary: sweep.summary(),
            }));
        }
        if !self.jobs.claim(job.name(), window).await.map_err(store)? {
            tracing::info!(job = job.name(), %window, "window already ran");
            return Ok(RunOutcome::AlreadyRan);
        }
        let result = match job {
            Job::ModelUpdate => self.model_update(window).await,
            Job::RoutingUpdate => self.routing_update(window).await,
            Job::ConversationRules => self.conversation_rules(window).await,
            Job::KpiMonitor => self.kpi_monitor(window).await,
            Job::Reoffer => unreachable!("the sweep returned above"),
        };
        let summary = match result {
            Ok(summary) => summary,
            Err(e) => {
                if let Err(release) = self.jobs.release_claim(job.name(), window).await {
                    tracing::warn!(job = job.name(), error = %release, "claim not released");
                }
                return Err(store(e));
            }
        };
        let record = RunRecord {
            job,
            window,
            ran_at: self.analytics.now(),
            summary,
        };
        self.jobs
            .put_record(
                &run_kind(job),
                &window.to_rfc3339(),
                &store_json(&record).map_err(store)?,
            )
            .await
            .map_err(store)?;
        tracing::info!(job = job.name(), %window, summary = %record.summary, "job ran");
        Ok(RunOutcome::Ran(record))
    }

    /// Every stored model version, newest first.
    pub async fn model_versions(&self, limit: usize) -> Result<Vec<ModelVersion>, StoreError> {
        self.jobs.model_versions(limit).await
    }

    /// The newest routing update, if one ran.
    pub async fn latest_routing_update(&self) -> Result<Option<RoutingUpdate>, StoreError> {
        self.jobs.routing_update().await
    }

    /// The pricing experiments in force, with their counts as of the newest routing
    /// update.
    pub async fn experiments(&self) -> Result<Option<ExperimentsRecord>, StoreError> {
        self.jobs.experiments().await
    }

    /// The newest KPI check, if the monitor ran.
    pub async fn latest_kpi_check(&self) -> Result<Option<KpiCheck>, StoreError> {
        Ok(self
            .jobs
            .records(KPI_RECORDS, 1)
            .await?
            .first()
            .and_then(|json| serde_json::from_str(json).ok()))
    }

    /// Learns conversion from the feedback of the last [`TRAINING_DAYS`], judges the
    /// candidate on what was known before this window, and promotes it only when its
    /// held-out log loss is no worse; every candidate is stored, rolled back or not.
    async fn model_update(&self, window: DateTime<Utc>) -> Result<String, StoreError> {
        let today = analytics::new_york_day(window);
        let mut training = Vec::new();
        for back in 0..TRAINING_DAYS {
            training.extend(
                self.feedback
                    .training_examples(today - Duration::days(back))
                    .await?,
            );
        }
        let factors: HashMap<String, _> = training
            .iter()
            .filter_map(|t| t.factors.map(|f| (t.lead_id.clone(), f)))
            .collect();
        let since = window - Duration::from_std(Job::ModelUpdate.every()).unwrap_or_default();
        let (earlier, recent): (Vec<_>, Vec<_>) =
            training.into_iter().partition(|t| t.recorded_at < since);
        let label = |set: &[crate::domain::feedback::TrainingExample]| {
            conversion::labelled_examples(
                set,
                |id| factors.get(id).copied(),
                window,
                LabelPolicy::default(),
            )
        };
        let (earlier, recent) = (label(&earlier), label(&recent));
        let (train, held_out) = conversion::split_for_update(&earlier, &recent, &self.settings);
        let current = self
            .models
            .current_model()
            .await?
            .unwrap_or_else(|| self.targets.base_model());
        let stored_max = self
            .model_versions(1)
            .await?
            .first()
            .map_or(0, |v| v.version);
        let next = stored_max.max(current.version) + 1;
        let update =
            match conversion::update(&current, &train, &held_out, &self.settings, next, window) {
                Ok(update) => update,
                Err(no) => return Ok(format!("no new model: {no}")),
            };
        let v = &update.version;
        self.jobs.save_model_version(v).await?;
        let tiering = match &v.tiering {
            Some(t) if t.verdict == Verdict::Promoted => format!(
                "; weights and tier thresholds {}/{}/{} promoted ({} held-out leads re-tiered)",
                v.model.tiers.premium, v.model.tiers.standard, v.model.tiers.basic, t.retiered
            ),
            Some(t) => format!(
                "; weights and tier thresholds kept (the candidate's held-out tier log loss {:.4} against {:.4})",
                t.candidate.tier_log_loss, t.current.tier_log_loss
            ),
            None => String::new(),
        };
        let conversion = match v.verdict {
            Verdict::Promoted => format!(
                "model {} conversion promoted: held-out log loss {:.4} (was {:.4}) on {} leads",
                v.version,
                v.evaluation.log_loss,
                v.parent_evaluation.log_loss,
                v.evaluation.samples
            ),
            Verdict::RolledBack => format!(
                "model {} conversion rolled back: held-out log loss {:.4} is worse than {:.4}",
                v.version, v.evaluation.log_loss, v.parent_evaluation.log_loss
            ),
            Verdict::Loaded => format!("model {} loaded", v.version),
        };
        if update.in_force == current {
            return Ok(format!(
                "{conversion}{tiering}; model {} stays",
                current.version
            ));
        }
        self.models.save_model(&update.in_force).await?;
        // Functions read the model through the cache: drop it so they pick this up.
        crate::artefacts::forget_model(&*self.cache, &self.keys.model).await;
        Ok(format!("{conversion}{tiering}"))
    }

    /// Each buyer's acceptance, conversion, returns and cap use this month (the priors the
    /// router's acceptance estimates start from), the recent lead flow the bid prices are
    /// computed on, and the pricing experiments' counts and winners.
    async fn routing_update(&self, window: DateTime<Utc>) -> Result<String, StoreError> {
        let f = self.analytics.figures().await?;
        let buyers: Vec<BuyerStats> = f
            .performance
            .iter()
            .map(|p| BuyerStats {
                buyer_id: p.buyer_id.clone(),
                leads_sold: p.leads_sold,
                accepted: p.accepted,
                rejected: p.rejected,
                returned: p.returned,
                acceptance_rate: p.acceptance_rate,
                conversion_rate: p.conversion_rate,
                return_rate: p.return_rate,
                daily_utilisation: p.daily_utilisation,
                monthly_spend_utilisation: p.monthly_spend_utilisation,
                returns_by_tier: p.returns_by_tier.clone(),
            })
            .collect();
        let n = buyers.len();
        let demand = self.demand(window).await?;
        let flow = format!(
            "bid prices from {} leads over {} days",
            demand.leads.len(),
            demand.days
        );
        self.jobs
            .save_routing_update(&RoutingUpdate {
                window,
                buyers,
                demand: Some(demand),
            })
            .await?;
        // Routers read the stats through the cache: drop it so they pick these up.
        crate::artefacts::forget(&*self.cache, &self.keys.priors, "routing priors").await;
        let experiments = self.recount_experiments(window).await?;
        Ok(format!(
            "stats of {n} buyers recorded; {flow}; {experiments}"
        ))
    }

    /// The routed leads of the [`FLOW_DAYS`] before the window's New York day.
    async fn demand(&self, window: DateTime<Utc>) -> Result<DemandForecast, StoreError> {
        let today = analytics::new_york_day(window);
        let mut days = Vec::new();
        for back in 1..=FLOW_DAYS {
            let mut arrivals: Vec<Arrival> = self
                .jobs
                .arrivals(today - Duration::days(back), FLOW_SAMPLE)
                .await?;
            arrivals.reverse();
            days.push(arrivals);
        }
        Ok(DemandForecast::from_days(&days, FLOW_SAMPLE))
    }

    /// Counts each pricing experiment's offers again from the outcomes buyers reported,
    /// promotes the winners the evidence allows, and stores the result.
    async fn recount_experiments(&self, window: DateTime<Utc>) -> Result<String, StoreError> {
        let Some(mut current) = self.jobs.experiments().await? else {
            return Ok("no pricing experiments".to_owned());
        };
        let today = analytics::new_york_day(window);
        let first = current
            .set
            .experiments
            .iter()
            .map(|e| analytics::new_york_day(e.started_at))
            .min()
            .unwrap_or(today)
            .max(today - Duration::days(EXPERIMENT_DAYS));
        let mut outcomes = Vec::new();
        let mut day = first;
        while day <= today {
            outcomes.extend(
                self.feedback
                    .training_examples(day)
                    .await?
                    .iter()
                    .filter_map(VariantOutcome::of),
            );
            day += Duration::days(1);
        }
        let mut rng = StdRng::seed_from_u64(window.timestamp().unsigned_abs());
        let promoted = current.set.recount(&outcomes, &mut rng, window);
        let offers: u64 = current
            .set
            .experiments
            .iter()
            .flat_map(|e| e.stats.iter().map(|s| s.offers))
            .sum();
        let n = current.set.experiments.len();
        // Experiments started or stopped by the sales team while this counted stand: the
        // next update counts them.
        let newest = self.jobs.experiments().await?.map(|r| r.updated_at);
        if newest != Some(current.updated_at) {
            return Ok(
                "pricing experiments changed while counting; the next update counts them".into(),
            );
        }
        self.jobs.save_experiments(current.set, window).await?;
        crate::artefacts::forget(&*self.cache, &self.keys.experiments, "experiments").await;
        let winners: Vec<String> = promoted
            .iter()
            .map(|(e, v)| format!("{e} promoted {}", v.id))
            .collect();
        Ok(if winners.is_empty() {
            format!("{n} pricing experiments, {offers} offers with an outcome")
        } else {
            format!(
                "{n} pricing experiments, {offers} offers with an outcome; {}",
                winners.join(", ")
            )
        })
    }

    /// Reorders the agent's questions (bounded tilts, versioned) from the questions that
    /// preceded leads buyers kept, over the leads judged in the last [`RULES_DAYS`].
    async fn conversation_rules(&self, window: DateTime<Utc>) -> Result<String, StoreError> {
        use crate::domain::feedback::FeedbackType;
        use crate::domain::learning::conversation_rules::{
            ConversationOutcome, ConversationRules, RulesSettings, learn,
        };
        use crate::ports::{ConversationStore, LeadStore};
        let today = analytics::new_york_day(window);
        let mut judged: std::collections::BTreeMap<String, (bool, bool)> = Default::default();
        for back in 0..RULES_DAYS {
            for t in self
                .feedback
                .training_examples(today - Duration::days(back))
                .await?
            {
                let (kept, refused) = judged.entry(t.lead_id).or_default();
                match t.outcome {
                    FeedbackType::Accepted | FeedbackType::Converted => *kept = true,
                    FeedbackType::Rejected | FeedbackType::Returned => *refused = true,
                }
            }
        }
        let mut outcomes = Vec::with_capacity(judged.len());
        for (lead_id, (kept, refused)) in judged {
            let Some(record) = self.leads.lead(&lead_id).await? else {
                continue;
            };
            let Some(c) = self
                .conversations
                .load_conversation(&record.session_id)
                .await?
            else {
                continue;
            };
            // Every judged lead was queued: these conversations qualified.
            outcomes.push(ConversationOutcome {
                asked: c.asked.clone(),
                recommended: c.recommended.clone(),
                qualified: true,
                kept: kept && !refused,
            });
        }
        let current: ConversationRules = self.jobs.conversation_rules().await?.unwrap_or_default();
        match learn(&current, &outcomes, &RulesSettings::default(), window) {
            Ok(rules) => {
                self.jobs.save_conversation_rules(&rules).await?;
                crate::artefacts::forget_rules(&*self.cache).await;
                Ok(format!(
                    "conversation rules {} from {} conversations ({} kept)",
                    rules.version, rules.conversations, rules.succeeded
                ))
            }
            Err(no) => Ok(format!("no rules update: {no}")),
        }
    }

    /// KPIs against the targets: alerts stored for the dashboard and emitted as CloudWatch
    /// metrics in Embedded Metric Format (one JSON log line).
    async fn kpi_monitor(&self, window: DateTime<Utc>) -> Result<String, StoreError> {
        let reconciliation = self.reconcile(self.analytics.now()).await?;
        let f = self.analytics.figures().await?;
        let k = &f.kpis;
        let check = KpiCheck {
            window,
            conversion_rate: k.conversion_rate,
            revenue_today_cents: k.revenue.today.0.0,
            revenue_per_hour_cents: k.revenue_per_hour.0.0,
            earnings_per_lead_cents: k.earnings_per_lead.0.0,
            acceptance_rate: k.acceptance_rate,
            return_rate: k.return_rate,
            capacity_utilisation: k.capacity_utilisation,
            alerts: f
                .alerts
                .iter()
                .chain(&reconciliation_alerts(&reconciliation))
                .map(StoredAlert::from)
                .collect(),
            reconciliation,
        };
        self.jobs
            .put_record(KPI_RECORDS, &window.to_rfc3339(), &store_json(&check)?)
            .await?;
        println!("{}", embedded_metric_format(&check, window));
        Ok(format!("{} alerts", check.alerts.len()))
    }
}

impl<B: Backend> Jobs<B> {
    /// The reconcile step: every lead with a ledger line in the last [`RECONCILE_DAYS`]
    /// days (by buyer and New York month) is checked at `now`; a lead stuck in flight is
    /// released and marked, a ledger that disagrees is counted for an alert.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<Reconciliation, StoreError> {
        use crate::domain::feedback::statement_month;
        use crate::ports::{BuyerStore, FeedbackStore};
        use crate::usecases::lifecycle::LeadCheck;
        let since = now - chrono::Duration::days(RECONCILE_DAYS);
        let mut months = vec![statement_month(since)];
        if statement_month(now) != months[0] {
            months.push(statement_month(now));
        }
        let mut leads = std::collections::BTreeSet::new();
        for buyer in self.buyers.buyers().await? {
            for month in &months {
                for line in self.feedback.buyer_ledger(&buyer.id, month).await? {
                    if line.at >= since {
                        leads.insert(line.lead_id);
                    }
                }
            }
        }
        let mut found = Reconciliation::default();
        for lead_id in &leads {
            found.checked += 1;
            match crate::usecases::lifecycle::reconcile(&*self.leads, &*self.sales, lead_id, now)
                .await?
            {
                LeadCheck::Sound => {}
                LeadCheck::Repaired => found.repaired += 1,
                LeadCheck::LedgerMismatch => found.ledger_mismatches += 1,
            }
        }
        if found.repaired > 0 || found.ledger_mismatches > 0 {
            tracing::warn!(
                checked = found.checked,
                repaired = found.repaired,
                ledger_mismatches = found.ledger_mismatches,
                "reconcile found leads to look at"
            );
        }
        Ok(found)
    }

    /// The newest reconcile counts, with the window they were taken in.
    pub async fn latest_reconciliation(
        &self,
    ) -> Result<Option<(DateTime<Utc>, Reconciliation)>, StoreError> {
        Ok(self
            .latest_kpi_check()
            .await?
            .map(|check| (check.window, check.reconciliation)))
    }
}

/// The alerts a reconcile raises: leads whose ledger disagrees, and leads that had to be
/// repaired.
pub fn reconciliation_alerts(found: &Reconciliation) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if found.ledger_mismatches > 0 {
        alerts.push(Alert {
            kind: "ledger_mismatch".into(),
            severity: analytics::Severity::Critical,
            message: format!(
                "{} lead(s) whose ledger does not net to the sale that stands: check them before the statements go out",
                found.ledger_mismatches
            ),
            metric: "ledger_mismatches".into(),
            figure: f64::from(found.ledger_mismatches),
            target: 0.0,
        });
    }
    if found.repaired > 0 {
        alerts.push(Alert {
            kind: "leads_dead_lettered".into(),
            severity: analytics::Severity::Warning,
            message: format!(
                "{} lead(s) stuck in flight were released and marked dead-lettered: move the dead-letter queue's messages back to the lead queue (aurum leads redrive) to route them again",
                found.repaired
            ),
            metric: "leads_repaired".into(),
            figure: f64::from(found.repaired),
            target: 0.0,
        });
    }
    alerts
}

/// The KPI check as one CloudWatch Embedded Metric Format document.
pub fn embedded_metric_format(check: &KpiCheck, at: DateTime<Utc>) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "Aurum",
                "Dimensions": [[]],
                "Metrics": [
                    {"Name": "ConversionRate", "Unit": "None"},
                    {"Name": "RevenueToday", "Unit": "None"},
                    {"Name": "RevenuePerHour", "Unit": "None"},
                    {"Name": "EarningsPerLead", "Unit": "None"},
                    {"Name": "AcceptanceRate", "Unit": "None"},
                    {"Name": "ReturnRate", "Unit": "None"},
                    {"Name": "CapacityUtilisation", "Unit": "None"},
                    {"Name": "Alerts", "Unit": "Count"}
                ]
            }]
        },
        "ConversionRate": check.conversion_rate,
        "RevenueToday": check.revenue_today_cents as f64 / 100.0,
        "RevenuePerHour": check.revenue_per_hour_cents as f64 / 100.0,
        "EarningsPerLead": check.earnings_per_lead_cents as f64 / 100.0,
        "AcceptanceRate": check.acceptance_rate,
        "ReturnRate": check.return_rate,
        "CapacityUtilisation": check.capacity_utilisation,
        "Alerts": check.alerts.len(),
    })
    .to_string()
}

impl<B: Backend> Clone for Jobs<B> {
    fn clone(&self) -> Self {
        Jobs {
            jobs: Arc::clone(&self.jobs),
            models: Arc::clone(&self.models),
            feedback: Arc::clone(&self.feedback),
            leads: Arc::clone(&self.leads),
            sales: Arc::clone(&self.sales),
            buyers: Arc::clone(&self.buyers),
            conversations: Arc::clone(&self.conversations),
            cache: Arc::clone(&self.cache),
            analytics: self.analytics.clone(),
            reoffers: self.reoffers.clone(),
            settings: self.settings,
            keys: self.keys.clone(),
            targets: self.targets,
        }
    }
}

/// How often `aurum serve` sweeps the waiting leads.
pub const LOCAL_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// One job on its schedule, for an in-process scheduler (`aurum serve`).
pub struct Scheduled<B: Backend> {
    pub jobs: Jobs<B>,
    pub job: Job,
}

impl<B: Backend> crate::function::ScheduledJob for Scheduled<B> {
    fn name(&self) -> &'static str {
        self.job.name()
    }

    /// The job's period, but the re-offer sweep every [`LOCAL_SWEEP_EVERY`]: in process it
    /// costs one index read when nothing waits, and a moved sandbox clock re-offers within
    /// seconds.
    fn every(&self) -> std::time::Duration {
        match self.job {
            Job::Reoffer => LOCAL_SWEEP_EVERY,
            job => job.every(),
        }
    }

    async fn run(&self, window: DateTime<Utc>) -> Result<(), WorkError> {
        self.jobs.run(self.job, window).await.map(|_| ())
    }
}

/// The model in force, for listing beside the versions.
pub async fn current_version<M: ModelStore>(models: &M) -> Result<u32, StoreError> {
    Ok(models
        .current_model()
        .await?
        .unwrap_or_else(ScoringModel::default)
        .version)
}
