//! The lead-distribution use case (the router): one queued lead in; routed, sold in one
//! transaction, delivered to the buyer's webhook, cascaded to the next buyer when the
//! buyer rejects it or cannot be reached; or kept unsold with the reason. Every step is
//! a conditional write on the lead record, so a redelivered or raced message repeats
//! nothing: the lead is sold at most once, no cap is exceeded, a withdrawn lead is never
//! sold.

use crate::artefacts::{Artefacts, CacheKeys};
use crate::backend::{Backend, Clock};
use crate::contracts::QueuedLead;
use crate::delivery::{BuyerMessage, DeliveryClient, DeliveryOutcome, PingOutcome};
use crate::domain::analytics;
use crate::domain::bid_price::{self, DemandForecast, ForecastLead};
use crate::domain::buyer::{Buyer, BuyerId, PingPost};
use crate::domain::lead::{BuyerNotice, LeadRecord, LeadState, NoticeKind, PingRef, SaleTerms};
use crate::domain::learning::experiments::ExperimentSet;
use crate::domain::lifecycle::{self, DeliveryResult, LeadEvent, Refused, SaleOrder};
use crate::domain::market::market;
use crate::domain::money::Cents;
use crate::domain::pricing;
use crate::domain::routing::{
    BuyerLoad, BuyerState, BuyerStats, Exclusion, LeadToRoute, RoutingDecision, RoutingRequest,
    RoutingRules, RoutingStrategy, effective_daily_cap, eligibility, expected_net_value, route,
};
use crate::domain::sale::{CounterPeriod, SaleRefused, normalise_contact};
use crate::function::{LeadConsumer, WorkError};
use crate::ports::{
    BuyerStore, Cache, Delivery, LeadStore, MAX_RECEIVE_COUNT, MetricsStore, SaleStore, StoreError,
};
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::America::New_York;
use hmac::{Hmac, KeyInit, Mac};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Days of routed leads the bid prices are estimated from (earlier days only: today's own
/// leads are what the prices are for).
const FLOW_DAYS: i64 = 7;
/// At most this many routed leads are remembered.
const FLOW_MAX: usize = 20_000;

/// Recent lead flow as this process routed it: for each lead, when (New York) and what
/// it was worth to each eligible buyer. The bid prices of `bid_price` routing are the
/// duals of each buyer's remaining capacity over the part of the day still to come, as
/// these earlier days predict it. A new process starts without history (bid prices of
/// zero: the best expected revenue wins) and learns as it routes.
/// One routed arrival: its New York day and minute, and its value to each buyer.
type Arrival = (NaiveDate, u16, Vec<(BuyerId, Cents)>);

#[derive(Default)]
struct FlowLog {
    leads: VecDeque<Arrival>,
}

impl FlowLog {
    /// Records one arrival with what it is worth to each buyer that could take such a lead
    /// (area, tier, hours) whatever its caps: the demand the caps are rationed against.
    fn record(&mut self, at: DateTime<Utc>, values: Vec<(BuyerId, Cents)>) {
        let local = at.with_timezone(&New_York);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let day = local.date_naive();
        self.leads.push_back((day, minute, values));
        let oldest = day - chrono::Duration::days(FLOW_DAYS);
        while self
            .leads
            .front()
            .is_some_and(|(d, ..)| *d < oldest || self.leads.len() > FLOW_MAX)
        {
            self.leads.pop_front();
        }
    }

    /// The forecast for `today` over `buyers`: the earlier days' leads.
    fn forecast(&self, today: NaiveDate, buyers: &[Buyer]) -> DemandForecast {
        let ids: Vec<String> = buyers.iter().map(|b| b.id.to_string()).collect();
        let mut days = std::collections::BTreeSet::new();
        let mut leads = Vec::new();
        for (day, minute, values) in self.leads.iter().filter(|(d, ..)| *d < today) {
            days.insert(*day);
            leads.push(ForecastLead {
                minute: *minute,
                values: values
                    .iter()
                    .filter_map(|(id, value)| {
                        let index = buyers.iter().position(|b| &b.id == id)?;
                        Some((u16::try_from(index).ok()?, *value))
                    })
                    .collect(),
            });
        }
        if days.is_empty() {
            return DemandForecast::none(ids);
        }
        DemandForecast::new(ids, days.len() as u32, leads)
    }
}

/// What the newest routing update taught the routers: each buyer's outcome counts, and
/// the fleet's recent lead flow the bid prices are computed on.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct RouterPriors {
    stats: HashMap<String, BuyerStats>,
    demand: Option<DemandForecast>,
}
const BUYERS_CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a router keeps the buyer list it read, at most (changes reach it within a
/// minute, at once after an import drops the stamp).
const BUYERS_MEMO: Duration = Duration::from_secs(60);

/// The buyer list a router read, and the cache's stamp it was read under.
struct BuyersMemo {
    stamp: String,
    at: std::time::Instant,
    buyers: Arc<Vec<Buyer>>,
}
/// How long a router keeps the routing update's priors in process.
const PRIORS_MEMO: Duration = Duration::from_secs(5);
/// Steps one message may take (sell, deliver, cascade…) before it is left for redelivery.
const MAX_STEPS: usize = 24;
/// A buyer that failed this many deliveries in a row is paused this long.
const PAUSE_FOR: chrono::Duration = chrono::Duration::minutes(30);

/// The seed of a sale's variant draw: FNV-1a of the lead id and the sale's number.
fn variant_seed(lead_id: &str, sale_number: usize) -> u64 {
    format!("{lead_id}#{sale_number}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Settings of the distribution, read once from the configuration.
#[derive(Debug, Clone)]
pub struct DistributionSettings {
    pub strategy: RoutingStrategy,
    pub rules: RoutingRules,
    /// A phone or email sold within this window is not sold again.
    pub dedup_window: chrono::Duration,
    /// A lead no buyer can take waits this long after it qualified to be offered again.
    pub shelf_life: chrono::Duration,
    /// The key of the contact hashes: contact details are only stored keyed.
    pub contact_key: Vec<u8>,
}

/// What happened to a lead on this delivery of its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distributed {
    /// Delivered to a buyer that took it.
    Delivered { buyer: BuyerId },
    /// No buyer can take it now: it waits to be offered again (the reason kept).
    Waiting { reason: String },
    /// Its shelf life ended without a buyer (the last reason kept).
    Expired { reason: String },
    /// No buyer may ever take it; kept with the reason.
    Unsold { reason: String },
    /// The homeowner withdrew consent: never sold.
    Withdrawn,
    /// The buyer that had it was told of the withdrawal.
    BuyerTold { buyer: BuyerId },
    /// Already past routing (a redelivered message).
    AlreadyDone(LeadState),
}

pub struct Distribution<B: Backend> {
    leads: Arc<B::Leads>,
    buyers: Arc<B::Buyers>,
    sales: Arc<B::Sales>,
    cache: Arc<B::Cache>,
    metrics: Arc<B::Metrics>,
    jobs: Arc<B::Jobs>,
    keys: CacheKeys,
    delivery: Arc<DeliveryClient>,
    settings: DistributionSettings,
    clock: Clock,
    flow: Mutex<FlowLog>,
    /// Recent ping answers per ping-post buyer, to throttle the ones that time out.
    pings: PingHealth,
    /// The priors as last read, kept a few seconds: the forecast is parsed once, not per
    /// lead.
    priors_memo: Mutex<Option<(std::time::Instant, Arc<RouterPriors>)>>,
    /// The buyers as last read from the store: kept in this process only, never in the
    /// shared cache (they hold webhook URLs and signing secrets).
    buyers_memo: Mutex<Option<BuyersMemo>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("delivery to {buyer} failed after {attempts} attempts: {last_error}")]
    DeliveryPending {
        buyer: BuyerId,
        attempts: u32,
        last_error: String,
    },
    #[error("notice to {buyer} not delivered after {attempts} attempts: {last_error}")]
    NoticePending {
        buyer: BuyerId,
        attempts: u32,
        last_error: String,
    },
    #[error("the lead kept changing under the router")]
    TooManySteps,
    #[error("the invocation's time ran out; the message comes back")]
    DeadlineReached,
}

impl<B: Backend> Distribution<B> {
    pub fn new(
        backend: &B,
        delivery: Arc<DeliveryClient>,
        settings: DistributionSettings,
    ) -> Distribution<B> {
        Distribution {
            leads: backend.leads(),
            buyers: backend.buyers(),
            sales: backend.sales(),
            cache: backend.cache(),
            metrics: backend.metrics(),
            jobs: backend.jobs(),
            keys: CacheKeys::new(backend.config()),
            delivery,
            settings,
            clock: backend.clock(),
            flow: Mutex::new(FlowLog::default()),
            pings: PingHealth::default(),
            priors_memo: Mutex::new(None),
            buyers_memo: Mutex::new(None),
        }
    }

    /// Every buyer, as this process last read them from the store. The buyers (webhook
    /// URLs, signing secrets) never go into the shared cache: it holds only a stamp of the
    /// newest list, which an import drops (`artefacts::forget_buyers`) so that every
    /// router reads the store again at its next lead; a list is also read again after
    /// [`BUYERS_MEMO`]. With the cache down, the age alone decides.
    async fn buyer_list(&self) -> Result<Vec<Buyer>, StoreError> {
        let stamp = self.cache.get(&self.keys.buyers).await;
        let current = match &stamp {
            Ok(found) => found.as_deref(),
            Err(_) => None,
        };
        {
            let memo = self
                .buyers_memo
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(m) = memo.as_ref()
                && m.at.elapsed() < BUYERS_MEMO
                && (stamp.is_err() || current == Some(m.stamp.as_str()))
            {
                return Ok(m.buyers.to_vec());
            }
        }
        let buyers = Arc::new(self.buyers.buyers().await?);
        let stamp = match stamp {
            Ok(Some(stamp)) => stamp,
            Ok(None) => {
                let mut bytes = [0u8; 8];
                // Any value the other routers have not seen will do; the time is a fallback.
                if getrandom::fill(&mut bytes).is_err() {
                    bytes = (std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_nanos() as u64)
                        .to_le_bytes();
                }
                let fresh = format!("{:016x}", u64::from_le_bytes(bytes));
                let _ = self
                    .cache
                    .set(&self.keys.buyers, &fresh, BUYERS_CACHE_TTL)
                    .await;
                fresh
            }
            Err(_) => String::new(),
        };
        *self
            .buyers_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(BuyersMemo {
            stamp,
            at: std::time::Instant::now(),
            buyers: Arc::clone(&buyers),
        });
        Ok(buyers.to_vec())
    }

    /// The newest routing update's buyer stats and lead flow (the cache, else the jobs'
    /// store); none before the first update, or when neither answers.
    async fn priors(&self) -> Arc<RouterPriors> {
        let memo = |m: &Mutex<Option<(std::time::Instant, Arc<RouterPriors>)>>| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .filter(|(at, _)| at.elapsed() < PRIORS_MEMO)
                .map(|(_, p)| Arc::clone(p))
        };
        if let Some(priors) = memo(&self.priors_memo) {
            return priors;
        }
        let priors = Arc::new(self.read_priors().await);
        *self
            .priors_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), Arc::clone(&priors)));
        priors
    }

    async fn read_priors(&self) -> RouterPriors {
        let key = &self.keys.priors;
        if let Ok(Some(json)) = self.cache.get(key).await
            && let Ok(priors) = serde_json::from_str::<RouterPriors>(&json)
        {
            return priors;
        }
        let priors = match self.jobs.routing_update().await {
            Ok(update) => update.map_or_else(RouterPriors::default, |u| RouterPriors {
                stats: u.stats(),
                demand: u.demand,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "routing update unreadable; default buyer stats");
                return RouterPriors::default();
            }
        };
        if let Ok(json) = serde_json::to_string(&priors) {
            let _ = self.cache.set(key, &json, BUYERS_CACHE_TTL).await;
        }
        priors
    }

    /// The pricing experiments in force (the cache, else the jobs' store); none when none
    /// were started, or when neither answers (the sale is priced at the list price).
    async fn experiments(&self) -> ExperimentSet {
        let key = &self.keys.experiments;
        if let Ok(Some(json)) = self.cache.get(key).await
            && let Ok(set) = serde_json::from_str::<ExperimentSet>(&json)
        {
            return set;
        }
        let set = match self.jobs.experiments().await {
            Ok(record) => record.map(|r| r.set).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "pricing experiments unreadable; list prices");
                return ExperimentSet::default();
            }
        };
        if let Ok(json) = serde_json::to_string(&set) {
            let _ = self.cache.set(key, &json, BUYERS_CACHE_TTL).await;
        }
        set
    }

    /// Records a lead's first routing for the fleet's bid prices (a lost record is a lead
    /// missing from tomorrow's sample, never a lost lead).
    async fn record_arrival(&self, lead_id: &str, at: DateTime<Utc>, values: &[(BuyerId, Cents)]) {
        let local = at.with_timezone(&New_York);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let arrival = bid_price::Arrival {
            minute,
            values: values.iter().map(|(id, v)| (id.to_string(), *v)).collect(),
        };
        if let Err(e) = self
            .jobs
            .record_arrival(local.date_naive(), lead_id, &arrival)
            .await
        {
            tracing::warn!(lead_id, error = %e, "arrival not recorded for the bid prices");
        }
    }

    /// Counts an unsold lead for the dashboard (a lost count is not a lost lead).
    async fn count_unsold(&self, lead_id: &str, reason: &str, now: DateTime<Utc>) {
        let counters = analytics::unsold_tallies(lead_id, reason, now);
        if let Err(e) = self.metrics.add(&counters).await {
            tracing::warn!(lead_id, error = %e, "unsold counter not recorded");
        }
    }

    /// The keyed hashes of the lead's phone and email.
    fn contact_keys(&self, lead: &QueuedLead) -> Vec<String> {
        let contact = &lead.facts.contact;
        [contact.phone.as_deref(), contact.email.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(normalise_contact)
            .map(|normalised| {
                let mut mac =
                    <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.settings.contact_key)
                        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                mac.update(normalised.as_bytes());
                mac.finalize()
                    .into_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect()
    }

    fn period(buyer: &Buyer, at: DateTime<Utc>) -> CounterPeriod {
        CounterPeriod::of(buyer, at)
    }

    /// Routes, sells, delivers and cascades one lead with a minute to spare, as if this were
    /// its message's first receive (tests, tools).
    pub async fn distribute(&self, lead: &QueuedLead) -> Result<Distributed, DistributionError> {
        self.distribute_within(
            lead,
            Budget::new(1, Instant::now() + Duration::from_secs(60)),
        )
        .await
    }

    /// Routes, sells, delivers and cascades one lead until it is delivered, unsold or
    /// withdrawn, within `budget`. `Err` leaves the message for redelivery (a buyer down, a
    /// store error, the time up); on the message's last receive no lead is left sold.
    pub async fn distribute_within(
        &self,
        lead: &QueuedLead,
        budget: Budget,
    ) -> Result<Distributed, DistributionError> {
        if lead.withdrawn.is_some() {
            let Some(record) = self.leads.lead(&lead.lead_id).await? else {
                return Ok(Distributed::Withdrawn);
            };
            let told: Vec<BuyerId> = record
                .unsent_notices()
                .map(|n| n.buyer_id.clone())
                .collect();
            self.send_notices(record, &budget).await?;
            return Ok(match told.into_iter().next() {
                Some(buyer) => Distributed::BuyerTold { buyer },
                None => Distributed::Withdrawn,
            });
        }
        let keys = self.contact_keys(lead);
        let mut record = self.leads.record_queued(lead).await?;
        for step in 0..MAX_STEPS {
            if budget.left() < MIN_STEP {
                return Err(DistributionError::DeadlineReached);
            }
            let now = (self.clock)();
            let moved = match record.state {
                LeadState::Queued => self.sell(lead, &record, &keys, now, &budget).await?,
                LeadState::Sold => self.deliver(lead, &record, &keys, &budget).await?,
                // A re-offer of a waiting lead, scored on the conversation as it stands:
                // queue it again and route it (a repeated re-offer changes nothing).
                LeadState::Waiting if lead.offer > record.offers => {
                    let event = LeadEvent::Reoffered {
                        offer: lead.offer,
                        score: lead.score,
                        tier: lead.tier,
                    };
                    self.requeue(&record, event, now, &keys).await?
                }
                // Its message came back from the dead-letter queue (a redrive): queue the
                // lead again and route it.
                LeadState::DeadLettered => {
                    self.requeue(&record, LeadEvent::Redriven, now, &keys)
                        .await?
                }
                _ => {
                    let done = match record.state {
                        LeadState::Withdrawn => Distributed::Withdrawn,
                        LeadState::Unsold => Distributed::Unsold {
                            reason: record.unsold_reason.clone().unwrap_or_default(),
                        },
                        LeadState::Waiting => Distributed::Waiting {
                            reason: record.unsold_reason.clone().unwrap_or_default(),
                        },
                        LeadState::Expired => Distributed::Expired {
                            reason: record.unsold_reason.clone().unwrap_or_default(),
                        },
                        // Delivered by this message (a redelivery finds it done already).
                        LeadState::Delivered if step > 0 => Distributed::Delivered {
                            buyer: record
                                .sale
                                .as_ref()
                                .map(|s| s.buyer_id.clone())
                                .ok_or_else(|| {
                                    StoreError::Corrupt("delivered without a sale".into())
                                })?,
                        },
                        other => Distributed::AlreadyDone(other),
                    };
                    // `record` is the lead as stored: the notices it owes are sent now.
                    if record.unsent_notices().next().is_some() {
                        self.send_notices(record, &budget).await?;
                    }
                    return Ok(done);
                }
            };
            record = match moved {
                Step::Next(next) => *next,
                Step::Raced(next) => {
                    contention_pause(step).await;
                    *next
                }
            };
        }
        Err(DistributionError::TooManySteps)
    }

    /// Applies `event` to `record` as the lead's life rules it, in one transaction.
    async fn apply(
        &self,
        record: &LeadRecord,
        event: LeadEvent,
        now: DateTime<Utc>,
        keys: &[String],
    ) -> Result<Applied, DistributionError> {
        let change = match lifecycle::next(record, &event, now, keys) {
            Ok(change) => change,
            Err(Refused::Unchanged) => return Ok(Applied::Stored(Box::new(record.clone()))),
            Err(refused @ Refused::NotAllowed { .. }) => {
                tracing::info!(lead_id = %record.lead_id, %refused, "lead changed under the router");
                return Ok(Applied::Raced(Box::new(
                    self.reload(&record.lead_id).await?,
                )));
            }
        };
        let stored = |record: LeadRecord| {
            Applied::Stored(Box::new(LeadRecord {
                version: record.version + 1,
                ..record
            }))
        };
        match crate::usecases::lifecycle::write(&*self.leads, &*self.sales, &change).await {
            Ok(Ok(())) => Ok(stored(change.record)),
            Ok(Err(SaleRefused::Duplicate)) => Ok(Applied::Duplicate),
            // Another router took the capacity or changed the lead meanwhile: decide again
            // on what is stored now.
            Ok(Err(_)) | Err(StoreError::Conflict) => Ok(Applied::Raced(Box::new(
                self.reload(&record.lead_id).await?,
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Queues a resting lead again (a re-offer, a redrive) so the loop routes it.
    async fn requeue(
        &self,
        record: &LeadRecord,
        event: LeadEvent,
        now: DateTime<Utc>,
        keys: &[String],
    ) -> Result<Step, DistributionError> {
        let name = event.name();
        match self.apply(record, event, now, keys).await? {
            Applied::Stored(next) => {
                tracing::info!(lead_id = %record.lead_id, event = name, offers = next.offers, "lead queued again");
                Ok(Step::Next(next))
            }
            Applied::Raced(next) => Ok(Step::Raced(next)),
            Applied::Duplicate => {
                Err(StoreError::Corrupt("a record write refused as a duplicate".into()).into())
            }
        }
    }

    /// Decides the buyer and applies the sale (or the unsold end).
    async fn sell(
        &self,
        lead: &QueuedLead,
        record: &LeadRecord,
        keys: &[String],
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Step, DistributionError> {
        let buyers = self.buyer_list().await?;
        let loads = self.buyers.loads(&buyers, now).await?;
        let mut duplicate = false;
        for key in keys {
            if let Some((holder, until)) = self.sales.contact_claim(key).await?
                && holder != lead.lead_id
                && until > now
            {
                duplicate = true;
            }
        }
        let local = now.with_timezone(&New_York);
        let priors = self.priors().await;
        let remaining: Vec<u32> = buyers
            .iter()
            .zip(&loads)
            .map(|(b, l)| {
                effective_daily_cap(b.daily_cap, self.settings.rules.capacity_buffer_bps)
                    .saturating_sub(l.sold_today)
            })
            .collect();
        let minute = (local.hour() * 60 + local.minute()) as u16;
        // The fleet's flow as the routing update keeps it; this process's own before the
        // first update.
        let bid_prices = match priors.demand.as_ref().filter(|d| d.days > 0) {
            Some(demand) => {
                let ids: Vec<&str> = buyers.iter().map(|b| b.id.as_str()).collect();
                demand.for_buyers(&ids).bid_prices(minute, &remaining)
            }
            None => self
                .flow
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .forecast(local.date_naive(), &buyers)
                .bid_prices(minute, &remaining),
        };
        let stats = &priors.stats;
        let mut states: Vec<BuyerState<'_>> = buyers
            .iter()
            .zip(&loads)
            .zip(&bid_prices)
            .map(|((buyer, load), bid_price)| BuyerState {
                buyer,
                load: *load,
                stats: stats.get(buyer.id.as_str()).copied().unwrap_or_default(),
                bid_price: *bid_price,
                bid: None,
            })
            .collect();
        let to_route = LeadToRoute::from_facts(lead.score, lead.tier, &lead.facts, market())
            .aged(pricing::age_hours(lead.queued_at, now))
            .consented(lead.consent.as_ref());
        // Ping-post buyers that pass every other filter bid first.
        let bids = self
            .auction(lead, record, &states, &to_route, duplicate, now, budget)
            .await;
        for state in &mut states {
            state.bid = bids.get(&state.buyer.id).map(|(price, _)| *price);
        }
        let request = RoutingRequest {
            lead: &to_route,
            buyers: &states,
            duplicate,
            declined: &record.excluded,
            at: now,
        };
        let decision = route(&self.settings.rules, self.settings.strategy, &request);
        // Only a lead's first routing is flow; cascades re-route the same arrival.
        if record.excluded.is_empty() {
            let uncapped: Vec<BuyerState<'_>> = states
                .iter()
                .map(|s| BuyerState {
                    load: BuyerLoad::default(),
                    bid_price: Cents::ZERO,
                    ..*s
                })
                .collect();
            let open = RoutingRequest {
                duplicate: false,
                declined: &[],
                ..request.clone()
            };
            let values: Vec<(BuyerId, Cents)> = uncapped
                .iter()
                .filter_map(|s| {
                    eligibility(&self.settings.rules, &open, s)
                        .ok()
                        .map(|offer| (s.buyer.id.clone(), offer.expected_revenue))
                })
                .collect();
            self.record_arrival(&lead.lead_id, now, &values).await;
            self.flow
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .record(now, values);
        }
        let Some(mut chosen) = decision.sale().cloned() else {
            let reason = decision
                .unsold_reason()
                .map_or("no_eligible_buyer", |r| r.as_str())
                .to_owned();
            return self.unsold(record, reason, decision, keys, now).await;
        };
        let Some(buyer) = buyers.iter().find(|b| b.id == chosen.buyer_id) else {
            return Err(StoreError::Corrupt("routing chose an unknown buyer".into()).into());
        };
        let period = Self::period(buyer, now);
        let sale_number = record.sale_number() + 1;
        // A pricing experiment on the buyer's tier prices this sale at one of its variants
        // (the buyer was chosen on the list price). The draw is seeded by the lead and the
        // sale, so a redelivered message prices it the same.
        let mut decision = decision;
        let ping = bids.get(&buyer.id).map(|(_, ping)| ping.clone());
        // A bid is the buyer's own price: no price experiment on it.
        let experiment = match buyer.bids() {
            true => None,
            false => self.experiments().await.for_tier(buyer.tier).cloned(),
        };
        if let Some(experiment) = experiment {
            let seed = variant_seed(&lead.lead_id, sale_number);
            let variant = experiment.assign(&mut StdRng::seed_from_u64(seed));
            let list = chosen.quote.price;
            let (experiment_id, variant_id) =
                (variant.experiment_id.clone(), variant.variant_id.clone());
            chosen.quote = chosen.quote.clone().at_variant(buyer, variant);
            chosen.expected_revenue = expected_net_value(
                chosen.quote.price,
                (chosen.p_accept * 10_000.0).round() as u32,
                (chosen.p_return * 10_000.0).round() as u32,
            );
            if chosen.quote.price != list {
                chosen.reason = format!(
                    "{}; charged {} (variant {variant_id} of price experiment {experiment_id}; list price {list})",
                    chosen.reason, chosen.quote.price
                );
            }
            decision.set_sale(chosen.clone());
        }
        let price = chosen.quote.price;
        let order = SaleOrder {
            terms: SaleTerms {
                buyer_id: buyer.id.clone(),
                buyer_tier: buyer.tier,
                price,
                quote: chosen.quote.clone(),
                sold_at: now,
                buyer_day: period.day,
                buyer_month: period.month.clone(),
                expected_revenue: chosen.expected_revenue,
                returnable_until: now + chrono::Duration::days(i64::from(buyer.return_window_days)),
                ping,
            },
            routing: decision.clone(),
            period,
            daily_limit: effective_daily_cap(
                buyer.daily_cap,
                self.settings.rules.capacity_buffer_bps,
            ),
            monthly_spend_cap: buyer.monthly_spend_cap,
            contact_keys: keys.to_vec(),
            claim_until: now + self.settings.dedup_window,
        };
        match self
            .apply(record, LeadEvent::Sold(Box::new(order)), now, keys)
            .await?
        {
            Applied::Stored(next) => {
                tracing::info!(lead_id = %lead.lead_id, buyer_id = %buyer.id, price_cents = price.0, strategy = self.settings.strategy.as_str(), "lead sold");
                Ok(Step::Next(next))
            }
            Applied::Raced(next) => Ok(Step::Raced(next)),
            Applied::Duplicate => {
                self.unsold(record, "duplicate".into(), decision, keys, now)
                    .await
            }
        }
    }

    /// The ping-post auction: every ping-post buyer that passes every filter but the bid is
    /// pinged at once with the anonymised lead, and has until its own deadline (within the
    /// time the message has left) to bid. Each answer is counted for the buyer; a buyer
    /// whose pings keep timing out is not pinged for a while. Returns each bid and its ids.
    #[allow(clippy::too_many_arguments)]
    async fn auction(
        &self,
        lead: &QueuedLead,
        record: &LeadRecord,
        states: &[BuyerState<'_>],
        to_route: &LeadToRoute,
        duplicate: bool,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> HashMap<BuyerId, (Cents, PingRef)> {
        let request = RoutingRequest {
            lead: to_route,
            buyers: states,
            duplicate,
            declined: &record.excluded,
            at: now,
        };
        let open: Vec<&Buyer> = states
            .iter()
            .filter(|s| s.buyer.bids())
            .filter(|s| eligibility(&self.settings.rules, &request, s) == Err(Exclusion::NoBid))
            .map(|s| s.buyer)
            .collect();
        if open.is_empty() {
            return HashMap::new();
        }
        let time = budget
            .left()
            .saturating_sub(RESERVE + MIN_DELIVERY + MIN_STEP);
        let mut pings = Vec::new();
        let mut counts = Vec::new();
        for buyer in open {
            if self.pings.throttled(&buyer.id) {
                counts.extend(analytics::ping_tallies(&buyer.id, "throttled", now));
                continue;
            }
            let deadline = buyer
                .ping_post
                .as_ref()
                .map_or(Duration::ZERO, PingPost::deadline)
                .min(time);
            let ping_id = ping_id(&lead.lead_id, &buyer.id, record.version);
            let message =
                BuyerMessage::lead_ping(lead, buyer, ping_id.clone(), to_route.age_hours, now);
            pings.push(async move {
                let outcome = self.delivery.ping(buyer, &message, deadline).await;
                (buyer, ping_id, outcome)
            });
        }
        let answers = futures_util::future::join_all(pings).await;
        let mut bids = HashMap::new();
        for (buyer, ping_id, outcome) in answers {
            self.pings
                .record(&buyer.id, matches!(outcome, PingOutcome::Timeout));
            counts.extend(analytics::ping_tallies(&buyer.id, outcome.code(), now));
            if let PingOutcome::Bid { price, bid_id } = outcome {
                bids.insert(buyer.id.clone(), (price, PingRef { ping_id, bid_id }));
            }
        }
        if let Err(e) = self.metrics.add(&counts).await {
            tracing::warn!(lead_id = %lead.lead_id, error = %e, "ping outcomes not counted");
        }
        bids
    }

    /// Keeps the lead unsold with the reason.
    async fn unsold(
        &self,
        record: &LeadRecord,
        reason: String,
        decision: RoutingDecision,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Step, DistributionError> {
        let shelf_from = record.shelf_start().unwrap_or(now);
        let event = LeadEvent::NoBuyer {
            reason: reason.clone(),
            routing: Box::new(decision),
            shelf_until: shelf_from + self.settings.shelf_life,
        };
        match self.apply(record, event, now, keys).await? {
            Applied::Stored(next) => {
                tracing::info!(lead_id = %record.lead_id, %reason, state = next.state.as_str(), "no buyer for the lead now");
                // A waiting lead is counted when it ends (sold, or expired by the sweep).
                if next.state != LeadState::Waiting {
                    self.count_unsold(&record.lead_id, &reason, now).await;
                }
                Ok(Step::Next(next))
            }
            Applied::Raced(next) => Ok(Step::Raced(next)),
            Applied::Duplicate => {
                Err(StoreError::Corrupt("a record write refused as a duplicate".into()).into())
            }
        }
    }

    /// Delivers a sold lead to its buyer within the budget; a refusal, a permanent failure,
    /// too many failed attempts or the message's last receive releases the sale and the
    /// lead cascades.
    async fn deliver(
        &self,
        lead: &QueuedLead,
        record: &LeadRecord,
        keys: &[String],
        budget: &Budget,
    ) -> Result<Step, DistributionError> {
        let Some(sale) = record.sale.clone() else {
            return Err(StoreError::Corrupt("a sold lead without its sale".into()).into());
        };
        let buyers = self.buyer_list().await?;
        let gone = |reason: &'static str| LeadEvent::BuyerGone { reason };
        let Some(buyer) = buyers.iter().find(|b| b.id == sale.buyer_id) else {
            // The buyer was removed after the sale: give the lead back and cascade.
            return self
                .after(record, gone("buyer_removed"), keys, (self.clock)())
                .await;
        };
        let message = match BuyerMessage::lead_sold(lead, buyer, sale.price, sale.sold_at) {
            Ok(m) => match &sale.ping {
                Some(ping) => m.answering(&ping.ping_id, ping.bid_id.as_deref()),
                None => m,
            },
            Err(e) => {
                // Never sell what cannot be delivered lawfully (no consent, no contact).
                tracing::error!(lead_id = %lead.lead_id, error = %e, "lead cannot be delivered");
                return self
                    .after(record, gone("undeliverable"), keys, (self.clock)())
                    .await;
            }
        };
        let time = budget.left().saturating_sub(RESERVE);
        if time < MIN_DELIVERY {
            return Err(DistributionError::DeadlineReached);
        }
        let outcome = self.delivery.deliver_within(buyer, &message, time).await;
        let now = (self.clock)();
        let delivered = outcome == DeliveryOutcome::Accepted;
        if !matches!(outcome, DeliveryOutcome::Rejected { .. }) {
            let _ = self
                .buyers
                .record_delivery(
                    &buyer.id,
                    delivered,
                    self.settings.rules.pause_after_failures,
                    now + PAUSE_FOR,
                )
                .await;
        }
        let (result, pending) = match outcome {
            DeliveryOutcome::Accepted => (DeliveryResult::Accepted, None),
            DeliveryOutcome::Rejected { reason } => {
                tracing::info!(lead_id = %lead.lead_id, buyer_id = %buyer.id, "lead rejected at post time");
                (
                    DeliveryResult::Refused {
                        code: short_code(&reason),
                    },
                    None,
                )
            }
            DeliveryOutcome::Failed {
                attempts,
                last_error,
                reached,
                permanent,
            } => (
                DeliveryResult::Failed {
                    attempts,
                    reached,
                    permanent,
                    last_receive: budget.last_receive,
                },
                Some((attempts, last_error)),
            ),
        };
        let event = LeadEvent::Delivery {
            buyer: buyer.id.clone(),
            result,
        };
        let step = self.after(record, event, keys, now).await?;
        match (step, pending) {
            // Still sold to this buyer: the message comes back for another try.
            (Step::Next(next), Some((attempts, last_error))) if next.state == LeadState::Sold => {
                Err(DistributionError::DeliveryPending {
                    buyer: buyer.id.clone(),
                    attempts: next.delivery_attempts.max(attempts),
                    last_error,
                })
            }
            (Step::Next(next), _) => {
                match next.state {
                    LeadState::Delivered => {
                        tracing::info!(lead_id = %lead.lead_id, buyer_id = %buyer.id, "lead delivered")
                    }
                    _ => {
                        tracing::warn!(lead_id = %lead.lead_id, buyer_id = %buyer.id, "sale released; cascading")
                    }
                }
                Ok(Step::Next(next))
            }
            (step, _) => Ok(step),
        }
    }

    /// Applies an event after a delivery; the record as stored next.
    async fn after(
        &self,
        record: &LeadRecord,
        event: LeadEvent,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Step, DistributionError> {
        match self.apply(record, event.clone(), now, keys).await? {
            Applied::Stored(next) => Ok(Step::Next(next)),
            // The lead changed while the buyer was being posted to (a withdrawal): what the
            // buyer answered still counts on the record as it is now (it may be owed a
            // notice).
            Applied::Raced(latest) => match self.apply(&latest, event, now, keys).await? {
                Applied::Stored(next) | Applied::Raced(next) => Ok(Step::Raced(next)),
                Applied::Duplicate => Ok(Step::Raced(latest)),
            },
            Applied::Duplicate => Ok(Step::Raced(Box::new(self.reload(&record.lead_id).await?))),
        }
    }

    /// Sends every notice the lead owes (withdrawals, released sales), signed like a
    /// delivery, and marks each sent. A notice that cannot be sent leaves the message for
    /// redelivery, except on its last receive (the notice stays owed on the record).
    async fn send_notices(
        &self,
        record: LeadRecord,
        budget: &Budget,
    ) -> Result<(), DistributionError> {
        let owed: Vec<BuyerNotice> = record.unsent_notices().cloned().collect();
        if owed.is_empty() {
            return Ok(());
        }
        let buyers = self.buyer_list().await?;
        let mut record = record;
        let mut failed = None;
        for notice in owed {
            let Some(buyer) = buyers.iter().find(|b| b.id == notice.buyer_id) else {
                tracing::warn!(lead_id = %record.lead_id, buyer_id = %notice.buyer_id, "notice owed to a buyer that was removed");
                continue;
            };
            let message = match notice.kind {
                NoticeKind::Withdrawn => {
                    BuyerMessage::lead_withdrawn(&record.lead_id, &buyer.id, notice.at)
                }
                NoticeKind::Released => BuyerMessage::lead_released(
                    &record.lead_id,
                    &buyer.id,
                    notice.at,
                    &notice.reason,
                ),
            };
            let time = budget.left().saturating_sub(RESERVE);
            if time < MIN_DELIVERY {
                failed = Some((buyer.id.clone(), 0, "no time left".to_owned()));
                break;
            }
            match self.delivery.deliver_within(buyer, &message, time).await {
                DeliveryOutcome::Accepted | DeliveryOutcome::Rejected { .. } => {
                    let event = LeadEvent::NoticeSent {
                        buyer: buyer.id.clone(),
                        kind: notice.kind,
                    };
                    for attempt in 0..MAX_STEPS {
                        let now = (self.clock)();
                        match self.apply(&record, event.clone(), now, &[]).await? {
                            Applied::Stored(next) => {
                                record = *next;
                                break;
                            }
                            Applied::Raced(next) => {
                                record = *next;
                                contention_pause(attempt).await;
                            }
                            Applied::Duplicate => break,
                        }
                    }
                    tracing::info!(lead_id = %record.lead_id, buyer_id = %buyer.id, notice = notice.kind.as_str(), "buyer notified");
                }
                DeliveryOutcome::Failed {
                    attempts,
                    last_error,
                    ..
                } => failed = Some((buyer.id.clone(), attempts, last_error)),
            }
        }
        match failed {
            Some((buyer, attempts, last_error)) if !budget.last_receive => {
                Err(DistributionError::NoticePending {
                    buyer,
                    attempts,
                    last_error,
                })
            }
            Some((buyer, _, _)) => {
                tracing::error!(lead_id = %record.lead_id, buyer_id = %buyer, "notice not delivered on the message's last receive; it stays owed on the lead");
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn reload(&self, lead_id: &str) -> Result<LeadRecord, StoreError> {
        self.leads
            .lead(lead_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("lead record vanished".into()))
    }

    /// The decision kept on a lead, for tests and the lead view.
    pub async fn decision(&self, lead_id: &str) -> Result<Option<RoutingDecision>, StoreError> {
        Ok(self.leads.lead(lead_id).await?.and_then(|r| r.routing))
    }
}

/// A ping id: derived from the lead, the buyer and the record's version, so a redelivered
/// message pings with the same id and another auction of the lead with a new one.
fn ping_id(lead_id: &str, buyer: &BuyerId, version: u64) -> String {
    let name = format!("{lead_id}:{buyer}:{version}");
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes());
    format!("ping_{}", id.simple())
}

/// Pings answered per buyer that are remembered for throttling.
const PING_WINDOW: usize = 20;
/// At least this many pings before a buyer can be throttled.
const PING_MIN_SAMPLE: usize = 10;
/// A buyer whose remembered pings time out more often than this (basis points: 15 %, the
/// ad exchanges' rule) is not pinged for [`PING_PAUSE`].
const PING_TIMEOUT_LIMIT_BPS: usize = 1_500;
const PING_PAUSE: Duration = Duration::from_secs(60);

/// Each ping-post buyer's recent ping answers in this process: a buyer that times out too
/// often is skipped (counted `throttled`) for a minute, then pinged again afresh.
#[derive(Default)]
struct PingHealth {
    buyers: Mutex<HashMap<BuyerId, PingWindow>>,
}

/// A buyer's last pings (whether each timed out) and since when it is throttled.
type PingWindow = (VecDeque<bool>, Option<std::time::Instant>);

impl PingHealth {
    fn throttled(&self, buyer: &BuyerId) -> bool {
        let mut all = self
            .buyers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some((window, until)) = all.get_mut(buyer) else {
            return false;
        };
        match until {
            Some(t) if t.elapsed() < PING_PAUSE => true,
            Some(_) => {
                *until = None;
                window.clear();
                false
            }
            None => false,
        }
    }

    fn record(&self, buyer: &BuyerId, timed_out: bool) {
        let mut all = self
            .buyers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (window, until) = all.entry(buyer.clone()).or_default();
        window.push_back(timed_out);
        while window.len() > PING_WINDOW {
            window.pop_front();
        }
        let timeouts = window.iter().filter(|t| **t).count();
        if window.len() >= PING_MIN_SAMPLE
            && timeouts * 10_000 > window.len() * PING_TIMEOUT_LIMIT_BPS
            && until.is_none()
        {
            tracing::warn!(buyer_id = %buyer, timeouts, pings = window.len(), "ping-post buyer throttled: too many pings timed out");
            *until = Some(std::time::Instant::now());
        }
    }
}

/// How a change was applied.
enum Applied {
    /// Written; the record as stored.
    Stored(Box<LeadRecord>),
    /// Another writer changed the lead first; the record as stored now.
    Raced(Box<LeadRecord>),
    /// The sale was refused: the homeowner's contact details were sold within the window.
    Duplicate,
}

enum Step {
    Next(Box<LeadRecord>),
    /// The lead changed under this router: go on from the stored record after a pause.
    Raced(Box<LeadRecord>),
}

/// The time a message's work may take: until the invocation's deadline (the Lambda's, or
/// the visibility timeout in `aurum serve`), and whether this is the message's last receive
/// before the dead-letter queue.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub deadline: Instant,
    pub last_receive: bool,
}

impl Budget {
    /// The budget of a message received `receive_count` times, with work allowed until
    /// `deadline`.
    pub fn new(receive_count: u32, deadline: Instant) -> Budget {
        Budget {
            deadline,
            last_receive: receive_count >= MAX_RECEIVE_COUNT,
        }
    }

    pub fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// No step is started with less time than this left.
const MIN_STEP: Duration = Duration::from_millis(300);
/// No delivery is started with less time than this for it.
const MIN_DELIVERY: Duration = Duration::from_millis(200);
/// Kept back from a delivery's time for the writes after it.
const RESERVE: Duration = Duration::from_millis(500);

/// A short, jittered, growing pause after a lost conditional write, so racing routers do
/// not collide again in lockstep.
async fn contention_pause(attempt: usize) {
    tokio::time::sleep(crate::ports::conflict_backoff(attempt)).await;
}

/// A buyer's free-text reason as a short code for the history (no personal data: only
/// `[a-z0-9_]`, at most 40 characters).
fn short_code(reason: &str) -> String {
    let code: String = reason
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    if code.is_empty() {
        "other".into()
    } else {
        code
    }
}

impl<B: Backend> LeadConsumer for Distribution<B> {
    const NAME: &'static str = "router";

    async fn handle(&self, delivery: &Delivery, deadline: Instant) -> Result<(), WorkError> {
        let budget = Budget::new(delivery.receive_count, deadline);
        match self.distribute_within(&delivery.lead, budget).await {
            Ok(_) => Ok(()),
            Err(e) => Err(WorkError(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyer() -> BuyerId {
        BuyerId::parse("exchange").expect("id")
    }

    #[test]
    fn given_a_ping_post_buyer_whose_pings_time_out_too_often_then_it_is_throttled() {
        // GIVEN a buyer that answered its first 9 pings and timed out on 1: 10 %
        let health = PingHealth::default();
        for _ in 0..9 {
            health.record(&buyer(), false);
        }
        health.record(&buyer(), true);
        // THEN it is still pinged
        assert!(!health.throttled(&buyer()));
        // WHEN 2 more of its pings time out (3 of 12: 25 %, over the 15 % limit)
        health.record(&buyer(), true);
        health.record(&buyer(), true);
        // THEN it is not pinged for a while; another buyer is
        assert!(health.throttled(&buyer()));
        assert!(!health.throttled(&BuyerId::parse("other").expect("id")));
    }

    #[test]
    fn given_too_few_pings_then_even_timeouts_do_not_throttle() {
        let health = PingHealth::default();
        for _ in 0..PING_MIN_SAMPLE - 1 {
            health.record(&buyer(), true);
        }
        assert!(!health.throttled(&buyer()));
    }

    #[test]
    fn given_a_lead_buyer_and_version_then_the_ping_id_is_stable_and_names_no_lead() {
        let a = ping_id("lead_1", &buyer(), 3);
        assert_eq!(a, ping_id("lead_1", &buyer(), 3));
        assert_ne!(a, ping_id("lead_1", &buyer(), 4));
        assert!(a.starts_with("ping_") && !a.contains("lead_1"));
    }
}
