//! The analytics read side: day totals from the counters (sealed days one item each), and
//! the dashboard's figures computed from them. Responses are kept as snapshots in the
//! cache (Redis in AWS, the process otherwise) for [`SNAPSHOT_FRESH`]; a request inside
//! that reads one cache key, and at most one request per snapshot reads the counters.

use crate::backend::{Backend, Clock};
use crate::domain::analytics::{
    self, Alert, BuyerMonth, DayTotals, HISTORY_DAYS, Kpis, Recommendation,
};
use crate::domain::buyer::Buyer;
use crate::domain::forecast::{HOURLY_HISTORY_DAYS, Period, WEEKLY_HISTORY_WEEKS};
use crate::domain::money::Cents;
use crate::domain::sale::{BuyerCounters, CounterPeriod, LedgerKind};
use crate::domain::targets::Targets;
use crate::ports::{BuyerStore, Cache, FeedbackStore, MetricsStore, StoreError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a dashboard snapshot is served before it is computed again.
pub const SNAPSHOT_FRESH: chrono::Duration = chrono::Duration::seconds(15);
const SNAPSHOT_TTL: Duration = Duration::from_secs(60);
/// Recent sales the dashboard lists.
pub const RECENT_SALES: usize = 20;

/// One sale in the dashboard's list of recent sales.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecentSale {
    pub lead_id: String,
    pub buyer_id: String,
    pub price: crate::domain::money::Usd,
    pub at: DateTime<Utc>,
    /// Whether the sale stands: `standing`, `released` (given back before the buyer kept
    /// it: refused, undeliverable, withdrawn before delivery) or `credited` (a return, or
    /// a withdrawal after delivery).
    pub status: SaleStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaleStatus {
    Standing,
    Released,
    Credited,
}

/// Everything the dashboard's endpoints show, computed once from the counters.
pub struct Figures {
    pub now: DateTime<Utc>,
    pub days: Vec<DayTotals>,
    pub buyers: Vec<(Buyer, BuyerCounters)>,
    pub kpis: Kpis,
    pub performance: Vec<BuyerMonth>,
    pub alerts: Vec<Alert>,
    pub recommendations: Vec<Recommendation>,
    pub quality: analytics::QualityMetrics,
}

impl Figures {
    pub fn today(&self) -> NaiveDate {
        analytics::new_york_day(self.now)
    }
}

/// The ports the analytics reads use.
pub struct Analytics<B: Backend> {
    metrics: Arc<B::Metrics>,
    buyers: Arc<B::Buyers>,
    feedback: Arc<B::Feedback>,
    cache: Arc<B::Cache>,
    clock: Clock,
    targets: Targets,
    /// Snapshot keys are per deployment: one Redis may serve several.
    key_prefix: String,
    /// Seal ended days (not when the clock can be set back: see `Config::clock_settable`).
    seal: bool,
}

impl<B: Backend> Clone for Analytics<B> {
    fn clone(&self) -> Self {
        Analytics {
            metrics: Arc::clone(&self.metrics),
            buyers: Arc::clone(&self.buyers),
            feedback: Arc::clone(&self.feedback),
            cache: Arc::clone(&self.cache),
            clock: Arc::clone(&self.clock),
            targets: self.targets,
            key_prefix: self.key_prefix.clone(),
            seal: self.seal,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    at: DateTime<Utc>,
    body: String,
}

impl<B: Backend> Analytics<B> {
    pub fn new(backend: &B) -> Analytics<B> {
        Analytics {
            metrics: backend.metrics(),
            buyers: backend.buyers(),
            feedback: backend.feedback(),
            cache: backend.cache(),
            clock: backend.clock(),
            targets: backend.config().targets,
            key_prefix: format!("analytics:{}", backend.config().aws.metrics_table),
            seal: !backend.config().clock_settable,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The totals of each day: a sealed day is one item; an open day sums its shards, and
    /// is sealed when it ended long enough ago.
    pub async fn day_totals(&self, days: &[NaiveDate]) -> Result<Vec<DayTotals>, StoreError> {
        let now = self.now();
        let sealed_keys: Vec<String> = days.iter().map(|d| analytics::sealed_key(*d)).collect();
        let sealed = self.metrics.sealed(&sealed_keys).await?;
        let open: Vec<NaiveDate> = days
            .iter()
            .zip(&sealed)
            .filter(|(_, s)| s.is_none())
            .map(|(d, _)| *d)
            .collect();
        let shard_keys: Vec<String> = open
            .iter()
            .flat_map(|d| analytics::shard_keys(*d))
            .collect();
        let groups = self.metrics.groups(&shard_keys).await?;
        let mut opened = std::collections::BTreeMap::new();
        for (day, shards) in open.iter().zip(groups.chunks(analytics::SHARDS as usize)) {
            let mut totals = DayTotals::new(*day);
            for shard in shards {
                totals.add(shard);
            }
            if self.seal && analytics::sealable(*day, now) {
                self.metrics
                    .seal(&analytics::sealed_key(*day), &totals.counters)
                    .await?;
            }
            opened.insert(*day, totals);
        }
        Ok(days
            .iter()
            .zip(sealed)
            .map(|(day, sealed)| match sealed {
                Some(counters) => DayTotals {
                    day: *day,
                    counters,
                },
                None => opened.remove(day).unwrap_or_else(|| DayTotals::new(*day)),
            })
            .collect())
    }

    /// Every buyer with its counters of today and this month (in its own time zone).
    async fn buyers_with_counters(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Buyer, BuyerCounters)>, StoreError> {
        let buyers = self.buyers.buyers().await?;
        let periods: Vec<CounterPeriod> =
            buyers.iter().map(|b| CounterPeriod::of(b, now)).collect();
        let counters = self.buyers.counters(&periods).await?;
        Ok(buyers.into_iter().zip(counters).collect())
    }

    /// Every figure of the dashboard at this moment.
    pub async fn figures(&self) -> Result<Figures, StoreError> {
        let now = self.now();
        let days = self.day_totals(&analytics::history_days(now)).await?;
        let buyers = self.buyers_with_counters(now).await?;
        let kpis = analytics::kpis(&days, &buyers, now);
        let performance = analytics::buyer_performance(&days, &buyers, now);
        let alerts = analytics::alerts(&kpis, &self.targets, analytics::hours_elapsed_today(now));
        let recommendations = analytics::recommendations(&kpis, &alerts, &performance);
        let quality = analytics::quality_metrics(&days, &kpis, &performance, &self.targets, now);
        Ok(Figures {
            now,
            days,
            buyers,
            kpis,
            performance,
            alerts,
            recommendations,
            quality,
        })
    }

    /// The revenue history a forecast of `period` learns from, oldest first, as the New
    /// York wall-clock start of each complete period (the current hour, day or week is not
    /// over: it is the first forecast one). Reads day totals only, no buyer: daily the
    /// dashboard's [`HISTORY_DAYS`], hourly the last [`HOURLY_HISTORY_DAYS`] of them, weekly
    /// the [`WEEKLY_HISTORY_WEEKS`] complete ISO weeks before this one (one sealed item a
    /// day, so 182 items: only the weekly forecast reads that far back).
    pub async fn forecast_history(
        &self,
        period: Period,
    ) -> Result<Vec<(NaiveDateTime, Cents)>, StoreError> {
        let now = self.now();
        let today = analytics::new_york_day(now);
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        Ok(match period {
            Period::Hourly => {
                let days = self
                    .day_totals(&analytics::days_ending(today, HOURLY_HISTORY_DAYS))
                    .await?;
                analytics::hourly_revenue(&days, now, HOURLY_HISTORY_DAYS)
            }
            Period::Daily => {
                let days = self.day_totals(&analytics::history_days(now)).await?;
                let mut history = analytics::daily_revenue(&days, today, HISTORY_DAYS);
                // Today is not over: the forecast starts with it.
                if history.last().is_some_and(|(day, _)| *day == today) {
                    history.pop();
                }
                history.into_iter().map(|(d, c)| (midnight(d), c)).collect()
            }
            Period::Weekly => {
                let days = self
                    .day_totals(&analytics::complete_weeks_days(now, WEEKLY_HISTORY_WEEKS))
                    .await?;
                analytics::weekly_revenue(&days, today, WEEKLY_HISTORY_WEEKS)
                    .into_iter()
                    .map(|(d, c)| (midnight(d), c))
                    .collect()
            }
        })
    }

    /// The newest sales of the month across buyers, newest first, each with whether it
    /// stands. A sale's release or credit is newer than the sale, so the lines read hold
    /// the undoing of every sale among them.
    pub async fn recent_sales(&self, figures: &Figures) -> Result<Vec<RecentSale>, StoreError> {
        let month = crate::domain::feedback::statement_month(figures.now);
        let mut sales = Vec::new();
        for (buyer, _) in &figures.buyers {
            let lines = self
                .feedback
                .latest_ledger(&buyer.id, &month, RECENT_SALES * 4)
                .await?;
            let undone = |kind: LedgerKind, sale_entry: &str, lead_id: &str| {
                let number = sale_entry.trim_start_matches("sale#");
                let entry = format!("{}#{number}", kind.as_str());
                lines
                    .iter()
                    .any(|l| l.kind == kind && l.lead_id == lead_id && l.entry_id == entry)
            };
            for line in lines.iter().filter(|l| l.kind == LedgerKind::Sale) {
                let status = if undone(LedgerKind::Release, &line.entry_id, &line.lead_id) {
                    SaleStatus::Released
                } else if undone(LedgerKind::Credit, &line.entry_id, &line.lead_id) {
                    SaleStatus::Credited
                } else {
                    SaleStatus::Standing
                };
                sales.push(RecentSale {
                    lead_id: line.lead_id.clone(),
                    buyer_id: line.buyer_id.to_string(),
                    price: crate::domain::money::Usd(line.amount),
                    at: line.at,
                    status,
                });
            }
        }
        sales.sort_by(|a, b| b.at.cmp(&a.at).then(a.lead_id.cmp(&b.lead_id)));
        sales.truncate(RECENT_SALES);
        Ok(sales)
    }

    /// A response body from its snapshot while fresh, else computed and kept.
    pub async fn snapshot<F, Fut>(&self, name: &str, compute: F) -> Result<String, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, StoreError>>,
    {
        let key = format!("{}:{name}", self.key_prefix);
        let now = self.now();
        if let Ok(Some(raw)) = self.cache.get(&key).await
            && let Ok(snapshot) = serde_json::from_str::<Snapshot>(&raw)
            && snapshot.at <= now
            && now - snapshot.at < SNAPSHOT_FRESH
        {
            return Ok(snapshot.body);
        }
        let body = compute().await?;
        if let Ok(raw) = serde_json::to_string(&Snapshot {
            at: now,
            body: body.clone(),
        }) && let Err(e) = self.cache.set(&key, &raw, SNAPSHOT_TTL).await
        {
            tracing::warn!(error = %e, "dashboard snapshot not cached");
        }
        Ok(body)
    }
}

/// The history of daily revenue the forecast reads, oldest first, ending today.
pub fn revenue_history(figures: &Figures) -> Vec<(NaiveDate, Cents)> {
    analytics::daily_revenue(&figures.days, figures.today(), HISTORY_DAYS)
}
