//! `aurum simulate faults`: the router and the queue consumer that `aurum serve` runs, on a
//! fresh embedded store, against buyers on loopback that fail the way webhooks fail, with
//! homeowners withdrawing along the way; then the reconcile step and a redrive of the
//! dead-letter queue. It reports how every lead ended and whether each buyer's books
//! balance: the ledger net against the sales that stand, the cap count against them, and
//! the notices owed and sent.
//!
//! * **Buyers** are real HTTP servers on 127.0.0.1 that verify each signature and answer
//!   from a seeded script: `steady` takes nine leads in ten and refuses the rest at post
//!   time; `flaky` answers 500 to two posts in five; `slow` answers after our attempt
//!   timeout one time in three (it took the lead, we never heard); `gone` answers 404,
//!   410, 401 or a redirect; `silent` never answers one time in four.
//! * **Leads** are sellable homeowners across the boroughs; about one in twelve withdraws
//!   consent at a random moment while the router works.
//! * **Routers die**: one message in twenty-five panics inside the router (the per-message
//!   guard fails it alone), and for one lead in forty every receive runs out of time right
//!   after the sale, so its message reaches the dead-letter queue with the lead still in
//!   flight, for the reconcile step and the redrive to deal with.
//! * Every draw comes from the seed, but the interleaving of routers, timeouts and
//!   withdrawals is real, so two runs of one seed may differ in detail; the balances must
//!   hold on every run.

use crate::runtime::{Polling, Workers};
use crate::simulate::Rng;
use aurum::adapters::embedded::EmbeddedBackend;
use aurum::adapters::fake_buyer::{BuyerAnswer, FakeBuyer};
use aurum::backend::Backend;
use aurum::contracts::{QueuedLead, lead_id_for};
use aurum::delivery::{DeliveryClient, RetryPolicy};
use aurum::domain::buyer::{Buyer, BuyerId, BuyerTier, Hours, ServiceArea, WebhookSecret};
use aurum::domain::conversation::{
    ConsentEvidence, ConsentWithdrawal, Conversation, SessionId, ZipCode,
};
use aurum::domain::facts::{Borough, PropertyType};
use aurum::domain::lead::LeadState;
use aurum::domain::money::Cents;
use aurum::domain::routing::{RoutingRules, RoutingStrategy};
use aurum::domain::sale::CounterPeriod;
use aurum::domain::scoring::QualityTier;
use aurum::domain::targets::Targets;
use aurum::ports::{BuyerStore, LeadQueue, LeadStore, SaleStore};
use aurum::usecases::routing::{Distribution, DistributionSettings};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A signing secret for the simulated buyers (never a real buyer's).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Scripted answers per buyer; enough for every lead several times over.
const SCRIPT: usize = 4_000;

#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("--leads must be 1 to 2000, not {0}")]
    Leads(usize),
    #[error("{0}")]
    Setup(String),
}

/// One buyer's books at the end of a run.
#[derive(Debug, Clone, Serialize)]
pub struct BuyerBooks {
    pub buyer_id: String,
    pub behaviour: &'static str,
    /// Sales that stand with the buyer (delivered and not undone).
    pub standing_sales: u32,
    /// What those sales bill.
    pub billed_cents: i64,
    /// The buyer's ledger lines summed (sales, releases, credits).
    pub ledger_net_cents: i64,
    /// The buyer's count of the day, from its cap counters.
    pub cap_count: u32,
    pub notices_owed: u32,
    pub notices_sent: u32,
    /// Distinct `lead.released` and `lead.withdrawn` messages the buyer's server received,
    /// verified (a retry of one is not counted twice).
    pub notices_received: u32,
}

impl BuyerBooks {
    pub fn balanced(&self) -> bool {
        self.billed_cents == self.ledger_net_cents && self.cap_count == self.standing_sales
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChaosReport {
    pub seed: u64,
    pub leads: usize,
    pub withdrawals: usize,
    /// How every lead ended, by state.
    pub end_states: BTreeMap<String, usize>,
    /// Leads the reconcile step released and marked, and messages redriven after it.
    pub repaired: u32,
    pub redriven: usize,
    pub ledger_mismatches: u32,
    pub buyers: Vec<BuyerBooks>,
}

impl ChaosReport {
    /// Every lead ended (none in flight), and every buyer's books balance.
    pub fn sound(&self) -> bool {
        let in_flight = ["queued", "sold"]
            .iter()
            .filter_map(|s| self.end_states.get(*s))
            .sum::<usize>();
        in_flight == 0
            && self.ledger_mismatches == 0
            && self.buyers.iter().all(BuyerBooks::balanced)
    }

    /// The report as Markdown tables.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "Seed {}, {} leads, {} withdrawals; reconcile repaired {}, redriven {}, ledger mismatches {}.\n\n| end state | leads |\n|---|---:|\n",
            self.seed,
            self.leads,
            self.withdrawals,
            self.repaired,
            self.redriven,
            self.ledger_mismatches
        );
        for (state, n) in &self.end_states {
            out.push_str(&format!("| {state} | {n} |\n"));
        }
        out.push_str("\n| buyer | behaviour | sales standing | billed | ledger net | cap count | notices owed / sent / received | balanced |\n|---|---|---:|---:|---:|---:|---|---|\n");
        for b in &self.buyers {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} / {} / {} | {} |\n",
                b.buyer_id,
                b.behaviour,
                b.standing_sales,
                Cents(b.billed_cents),
                Cents(b.ledger_net_cents),
                b.cap_count,
                b.notices_owed,
                b.notices_sent,
                b.notices_received,
                if b.balanced() { "yes" } else { "**no**" }
            ));
        }
        out
    }
}

/// The behaviours, each with its scripted answers.
fn behaviours() -> [(&'static str, BuyerTier); 5] {
    [
        ("gone", BuyerTier::Premium),
        ("slow", BuyerTier::Direct),
        ("flaky", BuyerTier::Standard),
        ("silent", BuyerTier::Standard),
        ("steady", BuyerTier::Volume),
    ]
}

fn script(behaviour: &str, rng: &mut Rng) -> Vec<BuyerAnswer> {
    (0..SCRIPT)
        .map(|_| {
            let u = rng.unit();
            match behaviour {
                "gone" => match rng.below(4) {
                    0 => BuyerAnswer::Status(404),
                    1 => BuyerAnswer::Status(410),
                    2 => BuyerAnswer::Status(401),
                    _ => BuyerAnswer::Redirect,
                },
                "slow" if u < 0.33 => BuyerAnswer::AcceptAfter(Duration::from_millis(900)),
                "flaky" if u < 0.4 => BuyerAnswer::ServerError,
                "silent" if u < 0.25 => BuyerAnswer::Hang,
                "steady" if u < 0.1 => BuyerAnswer::Reject("outside_service_area".into()),
                _ => BuyerAnswer::Accept,
            }
        })
        .collect()
}

fn buyer(id: &str, tier: BuyerTier, url: String, daily_cap: u32) -> Result<Buyer, ChaosError> {
    Ok(Buyer {
        filters: Default::default(),
        pause: None,
        previous_secrets: Vec::new(),
        version: 0,
        id: BuyerId::parse(id).map_err(|e| ChaosError::Setup(e.to_string()))?,
        name: format!("Simulated {id}"),
        tier,
        price_floor: Cents(5_000),
        price_cap: Cents(60_000),
        daily_cap,
        monthly_spend_cap: None,
        area: ServiceArea {
            zips: Default::default(),
            boroughs: Borough::ALL.into(),
        },
        min_quality: QualityTier::Basic,
        hours: Hours::always(),
        webhook_url: url,
        secret: WebhookSecret::parse(SECRET).map_err(|e| ChaosError::Setup(e.to_string()))?,
        return_window_days: 7,
        active: true,
        ping_post: None,
    })
}

const ZIPS: [(&str, Borough); 5] = [
    ("11215", Borough::Brooklyn),
    ("11375", Borough::Queens),
    ("10463", Borough::Bronx),
    ("10025", Borough::Manhattan),
    ("10314", Borough::StatenIsland),
];

fn lead(seed: u64, n: usize, rng: &mut Rng) -> Result<QueuedLead, ChaosError> {
    let now = chrono::Utc::now();
    let session = SessionId::parse(&format!("chaos_{seed}_{n}"))
        .map_err(|e| ChaosError::Setup(e.to_string()))?;
    let mut c = Conversation::new(session.clone(), now);
    let (zip, borough) = ZIPS[rng.below(ZIPS.len())];
    let f = &mut c.facts;
    f.homeowner = Some(true);
    f.monthly_bill = Some(Cents(15_000 + 1_000 * rng.below(30) as i64));
    f.zip_code = ZipCode::parse(zip).ok();
    f.borough = Some(borough);
    f.property_type = Some(PropertyType::SingleFamily);
    f.contact.phone = Some(format!(
        "+1718{:07}",
        (seed as usize * 10_007 + n) % 10_000_000
    ));
    f.contact_consent = Some(true);
    let score = 60 + rng.below(35) as u8;
    let tier = match score {
        85.. => QualityTier::Premium,
        70.. => QualityTier::Standard,
        _ => QualityTier::Basic,
    };
    Ok(QueuedLead {
        schema: QueuedLead::SCHEMA,
        lead_id: lead_id_for(&session),
        session_id: session,
        queued_at: now,
        score,
        tier,
        revenue_potential: Cents(12_500),
        conversion_probability: 0.5,
        model_version: 1,
        facts: c.facts,
        consent: Some(ConsentEvidence {
            given_at: now,
            words: "yes, have an installer call me".into(),
            disclosure: None,
            sellers: Vec::new(),
        }),
        withdrawn: None,
        factors: None,
        offer: 0,
    })
}

/// The router as the chaos run delivers to it: now and then it panics, and for the doomed
/// leads every receive dies right after the sale (until the redrive).
struct Crashing {
    router: Arc<Distribution<EmbeddedBackend>>,
    doomed: std::collections::HashSet<String>,
    dying: std::sync::atomic::AtomicBool,
    seed: u64,
}

impl aurum::function::LeadConsumer for Crashing {
    const NAME: &'static str = "router";

    async fn handle(
        &self,
        delivery: &aurum::ports::Delivery,
        deadline: tokio::time::Instant,
    ) -> Result<(), aurum::function::WorkError> {
        let lead_id = &delivery.lead.lead_id;
        let draw = Rng::new(self.seed, fnv(lead_id) ^ u64::from(delivery.receive_count)).unit();
        if draw < 0.04 {
            panic!("{SIMULATED_CRASH}");
        }
        let dying = self.dying.load(std::sync::atomic::Ordering::Relaxed);
        let deadline = if dying && self.doomed.contains(lead_id) {
            tokio::time::Instant::now() + Duration::from_millis(600)
        } else {
            deadline
        };
        self.router.handle(delivery, deadline).await
    }
}

const SIMULATED_CRASH: &str = "simulated router crash";

/// Keeps the simulated crashes out of the terminal; any other panic is reported as usual.
fn quiet_simulated_crashes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let simulated = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m == SIMULATED_CRASH);
        if !simulated {
            default(info);
        }
    }));
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs the chaos simulation: `leads` leads over the five behaviours.
pub async fn run(seed: u64, leads: usize) -> Result<ChaosReport, ChaosError> {
    if !(1..=2_000).contains(&leads) {
        return Err(ChaosError::Leads(leads));
    }
    quiet_simulated_crashes();
    let setup = |e: &dyn std::fmt::Display| ChaosError::Setup(e.to_string());
    let dir = tempfile::tempdir().map_err(|e| setup(&e))?;
    let backend = EmbeddedBackend::open_with_clock(dir.path(), aurum::backend::system_clock())
        .map_err(|e| setup(&e))?;
    let mut rng = Rng::new(seed, 0xC4A05);
    let secret = WebhookSecret::parse(SECRET).map_err(|e| setup(&e))?;
    let mut fakes = Vec::new();
    let mut buyers = Vec::new();
    // Caps that bind, so every behaviour gets its share of the leads.
    let cap = u32::try_from(leads / 3).unwrap_or(u32::MAX).max(10);
    for (behaviour, tier) in behaviours() {
        let fake = FakeBuyer::start(secret.clone())
            .await
            .map_err(|e| setup(&e))?;
        fake.answer_next(script(behaviour, &mut rng));
        buyers.push(buyer(&format!("sim_{behaviour}"), tier, fake.url(), cap)?);
        fakes.push((behaviour, fake));
    }
    backend
        .buyers()
        .put_buyers(&buyers)
        .await
        .map_err(|e| setup(&e))?;
    let client = DeliveryClient::new(
        RetryPolicy {
            max_attempts: 2,
            attempt_timeout: Duration::from_millis(500),
            first_backoff: Duration::from_millis(50),
            budget: Duration::from_secs(2),
        },
        aurum::domain::buyer::Outbound::Sandbox,
    )
    .map_err(|e| setup(&e))?;
    let router = Arc::new(Distribution::new(
        &backend,
        Arc::new(client),
        DistributionSettings {
            strategy: RoutingStrategy::BidPrice,
            rules: RoutingRules::from_targets(&Targets::default()),
            dedup_window: chrono::Duration::days(30),
            shelf_life: chrono::Duration::hours(72),
            contact_key: b"the chaos run's key of the contact hashes".to_vec(),
        },
    ));
    let polling = Polling {
        batch: 10,
        visibility: Duration::from_secs(4),
        idle: Duration::from_millis(20),
    };
    let mut all = Vec::with_capacity(leads);
    let mut withdrawals = Vec::new();
    let mut doomed = std::collections::HashSet::new();
    for n in 0..leads {
        let l = lead(seed, n, &mut rng)?;
        if rng.unit() < 1.0 / 12.0 {
            withdrawals.push((rng.below(3_000) as u64, l.clone()));
        } else if rng.unit() < 1.0 / 40.0 {
            doomed.insert(l.lead_id.clone());
        }
        all.push(l);
    }
    let crashing = Arc::new(Crashing {
        router: Arc::clone(&router),
        doomed,
        dying: std::sync::atomic::AtomicBool::new(true),
        seed,
    });
    let mut workers = Workers::new();
    workers.consume(backend.queue(), Arc::clone(&crashing), polling);
    let queue = backend.queue();
    for l in &all {
        queue.publish(l).await.map_err(|e| setup(&e))?;
    }
    // The homeowners who change their mind, each at its own moment while routing runs.
    withdrawals.sort_by_key(|(ms, _)| *ms);
    let started = std::time::Instant::now();
    for (ms, l) in &withdrawals {
        let wait = Duration::from_millis(*ms).saturating_sub(started.elapsed());
        tokio::time::sleep(wait).await;
        withdraw(&backend, l).await?;
    }
    settle(&backend, &all, Duration::from_secs(45)).await?;
    workers.stop().await;

    // The reconcile step, as the 15-minute job runs it once the bound has passed; then the
    // operator's redrive of whatever the queue dead-lettered, and the router once more.
    let jobs = aurum::usecases::jobs::Jobs::new(&backend);
    let later = chrono::Utc::now() + aurum::domain::lifecycle::IN_FLIGHT_BOUND * 2;
    let found = jobs.reconcile(later).await.map_err(|e| setup(&e))?;
    let redriven = backend
        .store
        .redrive_dead_letters(leads * 2)
        .await
        .map_err(|e| setup(&e))?
        .len();
    crashing
        .dying
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let mut workers = Workers::new();
    workers.consume(backend.queue(), Arc::clone(&crashing), polling);
    settle(&backend, &all, Duration::from_secs(45)).await?;
    workers.stop().await;
    let check = jobs.reconcile(later).await.map_err(|e| setup(&e))?;

    let mut end_states = BTreeMap::new();
    let mut books: BTreeMap<BuyerId, BuyerBooks> = BTreeMap::new();
    for (b, (behaviour, _)) in buyers.iter().zip(&fakes) {
        books.insert(
            b.id.clone(),
            BuyerBooks {
                buyer_id: b.id.to_string(),
                behaviour,
                standing_sales: 0,
                billed_cents: 0,
                ledger_net_cents: 0,
                cap_count: 0,
                notices_owed: 0,
                notices_sent: 0,
                notices_received: 0,
            },
        );
    }
    for l in &all {
        let Some(r) = backend
            .leads()
            .lead(&l.lead_id)
            .await
            .map_err(|e| setup(&e))?
        else {
            continue;
        };
        *end_states.entry(r.state.as_str().to_owned()).or_insert(0) += 1;
        if let Some(sale) = &r.sale
            && let Some(b) = books.get_mut(&sale.buyer_id)
        {
            b.standing_sales += 1;
            b.billed_cents += r.billed.unwrap_or(sale.price).0;
        }
        for notice in &r.notices {
            if let Some(b) = books.get_mut(&notice.buyer_id) {
                b.notices_owed += 1;
                b.notices_sent += u32::from(notice.sent_at.is_some());
            }
        }
        for line in backend
            .sales()
            .ledger(&l.lead_id)
            .await
            .map_err(|e| setup(&e))?
        {
            if let Some(b) = books.get_mut(&line.buyer_id) {
                b.ledger_net_cents += line.revenue().0;
            }
        }
    }
    let now = chrono::Utc::now();
    let periods: Vec<CounterPeriod> = buyers.iter().map(|b| CounterPeriod::of(b, now)).collect();
    let counters = backend
        .buyers()
        .counters(&periods)
        .await
        .map_err(|e| setup(&e))?;
    for ((b, c), (_, fake)) in buyers.iter().zip(counters).zip(&fakes) {
        if let Some(books) = books.get_mut(&b.id) {
            books.cap_count = c.leads_today;
            // Distinct messages: a retried notice carries the same webhook id.
            let notices: std::collections::BTreeSet<String> = fake
                .requests()
                .into_iter()
                .filter(|r| {
                    r.message
                        .as_ref()
                        .is_some_and(|m| m.event_type() != "lead.sold")
                })
                .filter_map(|r| r.webhook_id)
                .collect();
            books.notices_received = notices.len() as u32;
        }
    }
    Ok(ChaosReport {
        seed,
        leads,
        withdrawals: withdrawals.len(),
        end_states,
        repaired: found.repaired,
        redriven,
        ledger_mismatches: check.ledger_mismatches,
        buyers: books.into_values().collect(),
    })
}

/// The homeowner withdraws: the lead's life decides what the sale becomes, and the router
/// is told to send the notices owed.
async fn withdraw(backend: &EmbeddedBackend, lead: &QueuedLead) -> Result<(), ChaosError> {
    let withdrawal = ConsentWithdrawal {
        at: chrono::Utc::now(),
        words: "please stop, don't share my details".into(),
    };
    let record = aurum::usecases::lifecycle::withdraw(
        &*backend.leads(),
        &*backend.sales(),
        &lead.lead_id,
        &lead.session_id,
        &withdrawal,
    )
    .await
    .map_err(|e| ChaosError::Setup(e.to_string()))?;
    if record.unsent_notices().next().is_some() {
        let notice = QueuedLead {
            withdrawn: Some(withdrawal),
            consent: None,
            ..lead.clone()
        };
        backend
            .queue()
            .publish(&notice)
            .await
            .map_err(|e| ChaosError::Setup(e.to_string()))?;
    }
    Ok(())
}

/// Waits until no lead is in flight (or `limit` passes).
async fn settle(
    backend: &EmbeddedBackend,
    leads: &[QueuedLead],
    limit: Duration,
) -> Result<(), ChaosError> {
    let started = std::time::Instant::now();
    loop {
        let mut in_flight = 0;
        for l in leads {
            let state = backend
                .leads()
                .lead(&l.lead_id)
                .await
                .map_err(|e| ChaosError::Setup(e.to_string()))?
                .map(|r| r.state);
            if state.is_none_or(LeadState::in_flight) {
                in_flight += 1;
            }
        }
        if in_flight == 0 || started.elapsed() > limit {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
