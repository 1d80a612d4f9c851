//! The ping-post auction's own cost: one lead routed by the real router on the embedded
//! store, with an in-house buyer and two ping-post buyers on loopback that verify the
//! signature and bid. `at_once`: both bid at once; `slowest_200ms`: one bids after 200 ms
//! (its deadline is 250 ms). The time from the lead's arrival to the post, less the
//! slowest bid, is what the auction adds (BENCHMARKS.md, "Ping-post auction latency").

use aurum::adapters::embedded::EmbeddedBackend;
use aurum::adapters::fake_buyer::{FakeBuyer, PingAnswer};
use aurum::backend::Backend;
use aurum::contracts::{QueuedLead, lead_id_for};
use aurum::delivery::{DeliveryClient, RetryPolicy};
use aurum::domain::buyer::{
    Buyer, BuyerId, BuyerTier, Hours, PingPost, ServiceArea, WebhookSecret,
};
use aurum::domain::conversation::{ConsentEvidence, Conversation, SessionId, ZipCode};
use aurum::domain::facts::{Borough, PropertyType};
use aurum::domain::money::Cents;
use aurum::domain::routing::{RoutingRules, RoutingStrategy};
use aurum::domain::scoring::QualityTier;
use aurum::domain::targets::Targets;
use aurum::ports::BuyerStore;
use aurum::usecases::routing::{Distributed, Distribution, DistributionSettings};
use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn buyer(id: &str, url: &str, ping: Option<String>) -> Buyer {
    Buyer {
        filters: Default::default(),
        pause: None,
        previous_secrets: Vec::new(),
        version: 0,
        id: BuyerId::parse(id).expect("id"),
        name: id.into(),
        tier: BuyerTier::Standard,
        price_floor: Cents(5_000),
        price_cap: Cents(60_000),
        daily_cap: 1_000_000,
        monthly_spend_cap: None,
        area: ServiceArea {
            zips: Default::default(),
            boroughs: Borough::ALL.into(),
        },
        min_quality: QualityTier::Basic,
        hours: Hours::always(),
        webhook_url: url.to_owned(),
        secret: WebhookSecret::parse(SECRET).expect("secret"),
        return_window_days: 7,
        active: true,
        ping_post: ping.map(|ping_url| PingPost {
            ping_url,
            deadline_ms: 250,
        }),
    }
}

/// A sellable lead with its own session and phone.
fn lead(n: u32) -> QueuedLead {
    let now = chrono::Utc::now();
    let session =
        SessionId::parse(&format!("auction_{n}_{}", uuid::Uuid::new_v4().simple())).expect("id");
    let mut c = Conversation::new(session.clone(), now);
    let f = &mut c.facts;
    f.homeowner = Some(true);
    f.monthly_bill = Some(Cents(32_000));
    f.zip_code = Some(ZipCode::parse("11215").expect("zip"));
    f.borough = Some(Borough::Brooklyn);
    f.property_type = Some(PropertyType::SingleFamily);
    f.contact.phone = Some(format!("+1718{:07}", n % 10_000_000));
    f.contact_consent = Some(true);
    QueuedLead {
        schema: QueuedLead::SCHEMA,
        lead_id: lead_id_for(&session),
        session_id: session,
        queued_at: now,
        score: 84,
        tier: QualityTier::Standard,
        revenue_potential: Cents(12_500),
        conversion_probability: 0.55,
        model_version: 1,
        facts: c.facts,
        consent: Some(ConsentEvidence {
            given_at: now,
            words: "yes".into(),
            disclosure: None,
            sellers: Vec::new(),
        }),
        withdrawn: None,
        factors: None,
        offer: 0,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let secret = || WebhookSecret::parse(SECRET).expect("secret");
    let mut group = c.benchmark_group("auction");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    for (name, slow_bid) in [
        ("at_once", PingAnswer::Bid(Cents(21_000))),
        (
            "slowest_200ms",
            PingAnswer::BidAfter(Cents(21_000), Duration::from_millis(200)),
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = EmbeddedBackend::open(dir.path()).expect("open");
        let (house, fast, slow) = rt.block_on(async {
            (
                FakeBuyer::start(secret()).await.expect("buyer"),
                FakeBuyer::start(secret()).await.expect("buyer"),
                FakeBuyer::start(secret()).await.expect("buyer"),
            )
        });
        fast.bid(PingAnswer::Bid(Cents(20_000)));
        slow.bid(slow_bid);
        let buyers = [
            buyer("house", &house.url(), None),
            buyer("fast", &fast.url(), Some(fast.ping_url())),
            buyer("slow", &slow.url(), Some(slow.ping_url())),
        ];
        rt.block_on(backend.buyers().put_buyers(&buyers))
            .expect("buyers");
        let client = DeliveryClient::new(
            RetryPolicy::default(),
            aurum::domain::buyer::Outbound::Sandbox,
        )
        .expect("client");
        let router = Distribution::new(
            &backend,
            Arc::new(client),
            DistributionSettings {
                strategy: RoutingStrategy::BidPrice,
                rules: RoutingRules::from_targets(&Targets::default()),
                dedup_window: chrono::Duration::days(30),
                shelf_life: chrono::Duration::hours(72),
                contact_key: b"the auction bench's key of the contact hashes".to_vec(),
            },
        );
        let n = AtomicU32::new(0);
        group.bench_function(name, |b| {
            b.iter(|| {
                let lead = lead(n.fetch_add(1, Ordering::Relaxed));
                let outcome = rt.block_on(router.distribute(&lead)).expect("routed");
                assert!(
                    matches!(outcome, Distributed::Delivered { .. }),
                    "{outcome:?}"
                );
            })
        });
        drop(backend);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
