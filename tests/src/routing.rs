//! Routing scenarios against real buyer HTTP servers on loopback, generic over the backend:
//! the same scenario runs on the embedded store and on DynamoDB (moto).

use aurum::adapters::fake_buyer::{BuyerAnswer, FakeBuyer};
use aurum::backend::Backend;
use aurum::contracts::{QueuedLead, lead_id_for};
use aurum::delivery::{DeliveryClient, RetryPolicy};
use aurum::domain::buyer::{Buyer, BuyerId, BuyerTier, Hours, ServiceArea, WebhookSecret};
use aurum::domain::conversation::{ConsentEvidence, Conversation, SessionId, ZipCode};
use aurum::domain::facts::{Borough, PropertyType};
use aurum::domain::lead::LeadState;
use aurum::domain::money::Cents;
use aurum::domain::routing::{RoutingRules, RoutingStrategy, TraceResult};
use aurum::domain::scoring::QualityTier;
use aurum::domain::targets::Targets;
use aurum::ports::{BuyerStore, Cache, LeadStore, SaleStore};
use aurum::usecases::routing::{Distributed, Distribution, DistributionSettings};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

pub const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A Tuesday afternoon in New York: every example buyer is open.
pub fn tuesday_afternoon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 2, 18, 30, 0)
        .single()
        .expect("valid")
}

/// A citywide buyer at `url` taking up to `daily_cap` leads.
pub fn buyer_at(id: &str, tier: BuyerTier, url: &str, daily_cap: u32) -> Buyer {
    Buyer {
        filters: Default::default(),
        pause: None,
        previous_secrets: Vec::new(),
        version: 0,
        id: BuyerId::parse(id).expect("id"),
        name: format!("Buyer {id}"),
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
        webhook_url: url.to_owned(),
        secret: WebhookSecret::parse(SECRET).expect("secret"),
        return_window_days: 7,
        active: true,
        ping_post: None,
    }
}

/// A sellable lead: a Park Slope homeowner with a phone and consent. `n` varies the
/// session (and so the lead id) and the phone.
pub fn sellable_lead(n: u32, at: DateTime<Utc>) -> QueuedLead {
    let session =
        SessionId::parse(&format!("route_{n}_{}", uuid::Uuid::new_v4().simple())).expect("id");
    let mut c = Conversation::new(session.clone(), at);
    let f = &mut c.facts;
    f.homeowner = Some(true);
    f.monthly_bill = Some(Cents(32_000));
    f.zip_code = Some(ZipCode::parse("11215").expect("zip"));
    f.borough = Some(Borough::Brooklyn);
    f.property_type = Some(PropertyType::SingleFamily);
    f.contact.phone = Some(format!("+1718555{:04}", n % 10_000));
    f.contact_consent = Some(true);
    QueuedLead {
        schema: QueuedLead::SCHEMA,
        lead_id: lead_id_for(&session),
        session_id: session,
        queued_at: at,
        score: 84,
        tier: QualityTier::Standard,
        revenue_potential: Cents(12_500),
        conversion_probability: 0.55,
        model_version: 1,
        facts: c.facts,
        consent: Some(ConsentEvidence {
            given_at: at,
            words: "yes, have an installer call me".into(),
            disclosure: None,
            sellers: Vec::new(),
        }),
        withdrawn: None,
        factors: None,
        offer: 0,
    }
}

/// One buyer on a fresh loopback webhook, stored as the only buyer: a standard buyer
/// named `prefix` plus a random suffix, with `daily_cap`, shaped by `terms`.
async fn only_buyer<B: Backend>(
    backend: &B,
    prefix: &str,
    daily_cap: u32,
    terms: impl FnOnce(Buyer, &FakeBuyer) -> Buyer,
) -> (FakeBuyer, Buyer) {
    let server = FakeBuyer::start(WebhookSecret::parse(SECRET).expect("s"))
        .await
        .expect("buyer");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let buyer = terms(
        buyer_at(
            &format!("{prefix}_{suffix}"),
            BuyerTier::Standard,
            &server.url(),
            daily_cap,
        ),
        &server,
    );
    backend
        .buyers()
        .put_buyers(std::slice::from_ref(&buyer))
        .await
        .expect("buyers");
    (server, buyer)
}

/// A delivery client with short timeouts, so a hanging buyer costs a test little.
pub fn quick_client() -> Arc<DeliveryClient> {
    Arc::new(
        DeliveryClient::new(
            RetryPolicy {
                max_attempts: 2,
                attempt_timeout: Duration::from_millis(300),
                first_backoff: Duration::from_millis(20),
                budget: Duration::from_secs(2),
            },
            aurum::domain::buyer::Outbound::Sandbox,
        )
        .expect("client"),
    )
}

pub fn settings(strategy: RoutingStrategy) -> DistributionSettings {
    DistributionSettings {
        strategy,
        rules: RoutingRules::from_targets(&Targets::default()),
        dedup_window: chrono::Duration::days(30),
        shelf_life: chrono::Duration::hours(72),
        contact_key: b"routing tests key of the contact hashes".to_vec(),
    }
}

/// GIVEN three buyers, the best-paying answering 500, the next rejecting at post time and
/// the last accepting, WHEN a lead is distributed (and its message redelivered while the
/// first buyer stays down), THEN it cascades to the last buyer: delivered once, signed,
/// the others' capacity given back, the ledger netting to the one sale.
pub async fn cascade_past_a_failing_and_a_rejecting_buyer<B: Backend>(backend: &B) {
    let down = FakeBuyer::start(WebhookSecret::parse(SECRET).expect("s"))
        .await
        .expect("buyer");
    let picky = FakeBuyer::start(WebhookSecret::parse(SECRET).expect("s"))
        .await
        .expect("buyer");
    let taker = FakeBuyer::start(WebhookSecret::parse(SECRET).expect("s"))
        .await
        .expect("buyer");
    down.answer(BuyerAnswer::ServerError);
    picky.answer(BuyerAnswer::Reject("outside_service_area".into()));
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let buyers = [
        buyer_at(
            &format!("down_{suffix}"),
            BuyerTier::Premium,
            &down.url(),
            10,
        ),
        buyer_at(
            &format!("picky_{suffix}"),
            BuyerTier::Direct,
            &picky.url(),
            10,
        ),
        buyer_at(
            &format!("taker_{suffix}"),
            BuyerTier::Volume,
            &taker.url(),
            10,
        ),
    ];
    backend.buyers().put_buyers(&buyers).await.expect("buyers");
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::Greedy));
    let lead = sellable_lead(1, tuesday_afternoon());

    // The first buyer fails every attempt: the message comes back until the lead cascades.
    let mut outcome = router.distribute(&lead).await;
    for _ in 0..5 {
        if outcome.is_ok() {
            break;
        }
        outcome = router.distribute(&lead).await;
    }
    let outcome = outcome.expect("delivered within a few redeliveries");
    assert_eq!(
        outcome,
        Distributed::Delivered {
            buyer: buyers[2].id.clone()
        }
    );
    let delivered = taker.deliveries();
    assert_eq!(delivered.len(), 1, "delivered exactly once");
    assert_eq!(delivered[0].lead_id(), lead.lead_id);
    assert!(taker.requests().iter().all(|r| r.verified), "signed");
    assert!(!down.requests().is_empty() && !picky.requests().is_empty());

    let record = backend
        .leads()
        .lead(&lead.lead_id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(record.state, LeadState::Delivered);
    let sale = record.sale.clone().expect("sale terms");
    assert_eq!(sale.buyer_id, buyers[2].id);
    assert_eq!(
        record.excluded,
        vec![buyers[0].id.clone(), buyers[1].id.clone()]
    );
    let ledger = backend.sales().ledger(&lead.lead_id).await.expect("ledger");
    let net: i64 = ledger.iter().map(|e| e.amount.0).sum();
    assert_eq!(
        net, sale.price.0,
        "the ledger nets to the one kept sale: {ledger:?}"
    );
    let counters = backend
        .buyers()
        .counters(
            &buyers
                .iter()
                .map(|b| aurum::domain::sale::CounterPeriod {
                    buyer_id: b.id.clone(),
                    day: sale.buyer_day,
                    month: sale.buyer_month.clone(),
                })
                .collect::<Vec<_>>(),
        )
        .await
        .expect("counters");
    let taken: Vec<u32> = counters.iter().map(|c| c.leads_today).collect();
    assert_eq!(taken, [0, 0, 1], "released capacity is given back");
    let health = backend
        .buyers()
        .health(&buyers[0].id)
        .await
        .expect("health");
    assert!(health.consecutive_failures >= 1);

    // A redelivery of the message after the end changes nothing.
    let again = router.distribute(&lead).await.expect("redelivery");
    assert_eq!(again, Distributed::AlreadyDone(LeadState::Delivered));
    assert_eq!(taker.deliveries().len(), 1);
}

/// GIVEN a lead whose consent was withdrawn before routing, WHEN distributed, THEN it is
/// never sold and no buyer hears of it. GIVEN a second lead with the phone of a lead sold
/// earlier, THEN it is kept unsold as a duplicate. GIVEN no buyer covering a lead, THEN it
/// is unsold with every buyer's exclusion in the trace.
pub async fn withdrawn_duplicate_and_unroutable_leads_are_not_sold<B: Backend>(backend: &B) {
    let (buyer, only) = only_buyer(backend, "only", 10, |b, _| b).await;
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));
    let at = tuesday_afternoon();

    let withdrawn = sellable_lead(7, at);
    aurum::usecases::lifecycle::withdraw(
        &*backend.leads(),
        &*backend.sales(),
        &withdrawn.lead_id,
        &withdrawn.session_id,
        &aurum::domain::conversation::ConsentWithdrawal {
            at,
            words: "don't share my details".into(),
        },
    )
    .await
    .expect("withdraw");
    assert_eq!(
        router.distribute(&withdrawn).await.expect("routed"),
        Distributed::Withdrawn
    );

    let first = sellable_lead(8, at);
    assert!(matches!(
        router.distribute(&first).await.expect("routed"),
        Distributed::Delivered { .. }
    ));
    // AND the shared cache holds nothing of the buyer: no signing secret, no webhook URL
    // (only a stamp of the list the router keeps in its own memory)
    let keys = aurum::artefacts::CacheKeys::new(backend.config());
    let stamp = backend.cache().get(&keys.buyers).await.expect("cache");
    assert!(
        stamp
            .as_deref()
            .is_some_and(|s| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())),
        "{stamp:?}"
    );
    for key in [&keys.buyers, &keys.priors, &keys.experiments] {
        if let Some(value) = backend.cache().get(key).await.expect("cache") {
            assert!(!value.contains(only.secret.expose()), "{key}");
            assert!(!value.contains(&only.webhook_url), "{key}");
        }
    }
    let mut twin = sellable_lead(99, at);
    twin.facts.contact.phone = first.facts.contact.phone.clone();
    assert_eq!(
        router.distribute(&twin).await.expect("routed"),
        Distributed::Unsold {
            reason: "duplicate".into()
        }
    );

    let mut queens_only = only.clone();
    queens_only.area = ServiceArea {
        zips: Default::default(),
        boroughs: [Borough::Queens].into(),
    };
    backend
        .buyers()
        .put_buyers(&[queens_only])
        .await
        .expect("buyers");
    aurum::artefacts::forget_buyers(backend).await;
    let fresh = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));
    let brooklyn = sellable_lead(11, at);
    let outcome = fresh.distribute(&brooklyn).await.expect("routed");
    assert!(
        matches!(outcome, Distributed::Waiting { .. }),
        "{outcome:?}"
    );
    let record = backend
        .leads()
        .lead(&brooklyn.lead_id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(record.state, LeadState::Waiting);
    let trace = record.routing.expect("decision kept").trace;
    let mine = trace
        .iter()
        .find(|t| t.buyer_id == only.id)
        .expect("the buyer is in the trace");
    assert!(
        serde_json::to_string(&mine.result)
            .expect("json")
            .contains("outside_service_area"),
        "{mine:?}"
    );
    assert_eq!(
        buyer.deliveries().len(),
        1,
        "only the first lead reached a buyer"
    );
}

/// GIVEN `leads` leads, each message delivered 3 times, `tasks` routers racing, and
/// buyers whose caps bind, WHEN all are distributed, THEN every lead is sold at most once,
/// no cap is exceeded, the ledger sums to the sale prices, and every lead is accounted for.
pub async fn race<B: Backend>(backend: &B, leads: u32, tasks: usize) {
    let buyer = FakeBuyer::start(WebhookSecret::parse(SECRET).expect("s"))
        .await
        .expect("buyer");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    // Caps of 20, 30 and 40 (less the 10 % buffer: 18, 27, 36): 81 sales at most.
    let buyers = [
        buyer_at(&format!("a_{suffix}"), BuyerTier::Premium, &buyer.url(), 20),
        buyer_at(&format!("b_{suffix}"), BuyerTier::Direct, &buyer.url(), 30),
        buyer_at(
            &format!("c_{suffix}"),
            BuyerTier::Standard,
            &buyer.url(),
            40,
        ),
    ];
    backend.buyers().put_buyers(&buyers).await.expect("buyers");
    let router = Arc::new(Distribution::new(
        backend,
        quick_client(),
        settings(RoutingStrategy::BidPrice),
    ));
    let at = tuesday_afternoon();
    let all: Vec<QueuedLead> = (0..leads).map(|n| sellable_lead(n, at)).collect();
    let mut work: Vec<QueuedLead> = all
        .iter()
        .cloned()
        .chain(all.iter().cloned())
        .chain(all.iter().cloned())
        .collect();
    // A fixed shuffle: deliveries of one lead land on different tasks at different times.
    let mut state = 0x9e37_79b9_u64;
    for i in (1..work.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        work.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let queue = Arc::new(std::sync::Mutex::new(work));
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let queue = Arc::clone(&queue);
        let router = Arc::clone(&router);
        handles.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            loop {
                let next = queue.lock().expect("lock").pop();
                let Some(lead) = next else { break };
                // A failed delivery is retried, as SQS would redeliver it.
                let mut outcome = router.distribute(&lead).await;
                for _ in 0..10 {
                    if outcome.is_ok() {
                        break;
                    }
                    outcome = router.distribute(&lead).await;
                }
                outcomes.push((lead.lead_id.clone(), outcome.map_err(|e| e.to_string())));
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.extend(h.await.expect("task"));
    }
    assert!(
        outcomes.iter().all(|(_, o)| o.is_ok()),
        "every delivery ended"
    );

    let mut sold_by: HashMap<BuyerId, u32> = HashMap::new();
    let mut ledger_total = 0i64;
    let mut sale_total = 0i64;
    let mut states: HashMap<LeadState, u32> = HashMap::new();
    for lead in &all {
        let record = backend
            .leads()
            .lead(&lead.lead_id)
            .await
            .expect("read")
            .expect("every lead has a record");
        *states.entry(record.state).or_default() += 1;
        let ledger = backend.sales().ledger(&lead.lead_id).await.expect("ledger");
        ledger_total += ledger.iter().map(|e| e.amount.0).sum::<i64>();
        match record.state {
            LeadState::Delivered => {
                let sale = record.sale.expect("sale");
                *sold_by.entry(sale.buyer_id).or_default() += 1;
                sale_total += sale.price.0;
            }
            LeadState::Waiting => assert!(record.unsold_reason.is_some()),
            other => panic!("lead {} ended {other:?}", lead.lead_id),
        }
    }
    let deliveries = buyer.deliveries();
    let distinct: HashSet<&str> = deliveries.iter().map(|m| m.lead_id()).collect();
    assert_eq!(distinct.len(), deliveries.len(), "no lead delivered twice");
    assert_eq!(
        ledger_total, sale_total,
        "the ledger reconciles with the sales"
    );
    for b in &buyers {
        let limit = aurum::domain::routing::effective_daily_cap(b.daily_cap, 1_000);
        let sold = sold_by.get(&b.id).copied().unwrap_or(0);
        assert!(sold <= limit, "{} took {sold} > {limit}", b.id);
    }
    let total_sold: u32 = sold_by.values().sum();
    assert_eq!(total_sold as usize, deliveries.len());
    assert_eq!(
        states.values().sum::<u32>(),
        leads,
        "every lead is accounted for: {states:?}"
    );
    assert_eq!(total_sold, 81, "the caps bind: every slot is used");
}

/// Routes lead `n` now and returns the bid price the trace shows for `scarce` (which must
/// be eligible).
async fn scarce_bid_price<B: Backend>(
    backend: &B,
    router: &Distribution<B>,
    n: u32,
    scarce: &aurum::domain::buyer::BuyerId,
) -> Cents {
    let lead = sellable_lead(n, (backend.clock())());
    router.distribute(&lead).await.expect("routed");
    let decision = router
        .decision(&lead.lead_id)
        .await
        .expect("read")
        .expect("decided");
    let trace = decision
        .trace
        .iter()
        .find(|t| &t.buyer_id == scarce)
        .expect("in the trace");
    match &trace.result {
        TraceResult::Eligible(e) => e.bid_price.unwrap_or(Cents::ZERO),
        other => panic!("the scarce buyer is eligible: {other:?}"),
    }
}

/// GIVEN a day of leads routed by this router, WHEN the next day starts, THEN the
/// capacity-limited buyer's bid price (what its remaining slots are expected to earn later
/// in the day) is positive in the routing trace: `bid_price` learns from recent flow.
pub async fn bid_prices_come_from_the_flow_of_earlier_days<B: Backend>(
    backend: &B,
    time: &crate::contract::ManualTime,
) {
    use crate::contract::Time;
    let buyer = FakeBuyer::start(WebhookSecret::parse(SECRET).expect("s"))
        .await
        .expect("buyer");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let scarce = buyer_at(
        &format!("scarce_{suffix}"),
        BuyerTier::Premium,
        &buyer.url(),
        4,
    );
    let plenty = buyer_at(
        &format!("plenty_{suffix}"),
        BuyerTier::Volume,
        &buyer.url(),
        200,
    );
    backend
        .buyers()
        .put_buyers(&[scarce.clone(), plenty.clone()])
        .await
        .expect("buyers");
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));
    // Day one, from 10:00 New York: 30 leads, one every ten minutes.
    for n in 0..30 {
        let lead = sellable_lead(1_000 + n, (backend.clock())());
        router.distribute(&lead).await.expect("routed");
        time.pass(Duration::from_secs(600)).await;
    }
    // Day two, 09:00 New York: the first lead of the day.
    time.pass(Duration::from_secs(17 * 3600)).await;
    let price = scarce_bid_price(backend, &router, 2_000, &scarce.id).await;
    assert!(
        price > Cents::ZERO,
        "the scarce buyer's capacity has a price"
    );

    // The routing update keeps the fleet's flow: a router started after it (a new Lambda
    // instance, no flow of its own) prices the scarce capacity from it.
    let jobs = aurum::usecases::jobs::Jobs::new(backend);
    jobs.run(
        aurum::usecases::jobs::Job::RoutingUpdate,
        (backend.clock())(),
    )
    .await
    .expect("routing update");
    let demand = jobs
        .latest_routing_update()
        .await
        .expect("read")
        .expect("recorded")
        .demand
        .expect("the flow is kept");
    assert_eq!(
        (demand.days, demand.leads.len()),
        (1, 30),
        "yesterday's 30 leads"
    );
    let fresh = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));
    let price = scarce_bid_price(backend, &fresh, 2_001, &scarce.id).await;
    assert!(
        price > Cents::ZERO,
        "a new router prices the scarce capacity from the kept flow"
    );
}

/// GIVEN a chat whose lead was sold and delivered, WHEN the homeowner withdraws consent,
/// THEN the buyer receives a signed `lead.withdrawn` notice through the queue and the
/// router, once.
pub async fn a_withdrawal_after_delivery_reaches_the_buyer<B: Backend>(backend: &B) {
    use aurum::delivery::BuyerMessage;
    use aurum::function::LeadConsumer;
    use aurum::ports::LeadQueue;
    let (buyer, _holder) = only_buyer(backend, "holder", 10, |b, _| b).await;
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));
    let app = crate::conversation_lambda(backend);
    let session = format!("chat_withdraw_after_{}", uuid::Uuid::new_v4().simple());
    for message in crate::QUALIFYING_CHAT {
        let (status, body) = crate::post_turn(&app, &session, message).await;
        assert_eq!(status, 200, "{body}");
    }
    let seen = std::sync::Mutex::new(Vec::<QueuedLead>::new());
    let route_all = || async {
        let mut handled = 0;
        for _ in 0..20 {
            let batch = backend
                .queue()
                .receive(10, Duration::from_secs(30))
                .await
                .expect("receive");
            if batch.is_empty() && handled > 0 {
                break;
            }
            for d in batch {
                seen.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(d.lead.clone());
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                router.handle(&d, deadline).await.expect("handled");
                backend.queue().ack(&d.receipt).await.expect("ack");
                handled += 1;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        handled
    };
    assert_eq!(route_all().await, 1, "the lead");
    assert_eq!(buyer.deliveries().len(), 1);

    let (status, body) =
        crate::post_turn(&app, &session, "Please don't share my details with anyone").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["revenue_optimization"]["routing_decision"]["status"],
        "withdrawn"
    );
    assert_eq!(route_all().await, 1, "the withdrawal notice");
    // The notice on the queue carries the lead's id, not the homeowner's contact details.
    let notice = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .last()
        .cloned()
        .expect("the notice");
    assert!(notice.withdrawn.is_some());
    assert_eq!(
        notice.facts.contact,
        Default::default(),
        "no contact details"
    );
    let messages = buyer.deliveries();
    assert_eq!(messages.len(), 2);
    assert!(
        matches!(&messages[1], BuyerMessage::LeadWithdrawn { .. }),
        "{:?}",
        messages[1].event_type()
    );
    assert!(buyer.requests().iter().all(|r| r.verified), "signed");
}

/// The conversation behind `lead`, as the conversation function would have saved it: what
/// the re-offer sweep scores again.
pub async fn save_conversation_of<B: Backend>(backend: &B, lead: &QueuedLead) {
    use aurum::ports::ConversationStore;
    let mut c = Conversation::new(lead.session_id.clone(), lead.queued_at);
    c.facts = lead.facts.clone();
    c.turns = 6;
    c.consent = lead.consent.clone();
    c.lead_id = Some(lead.lead_id.clone());
    c.lead_queued_at = Some(lead.queued_at);
    backend
        .conversations()
        .save_conversation(&c)
        .await
        .expect("conversation saved");
}

/// The messages on the lead queue now (received and acknowledged).
pub async fn drain_queue<B: Backend>(backend: &B) -> Vec<QueuedLead> {
    use aurum::ports::LeadQueue;
    let queue = backend.queue();
    let mut out = Vec::new();
    for _ in 0..5 {
        let batch = queue
            .receive(10, Duration::from_secs(30))
            .await
            .expect("receive");
        if batch.is_empty() {
            break;
        }
        for delivery in batch {
            queue.ack(&delivery.receipt).await.expect("ack");
            out.push(delivery.lead);
        }
    }
    out
}

/// GIVEN a buyer open 09:00–17:00 New York and a lead qualified at 06:00, WHEN it is
/// routed, THEN it waits; the re-offer sweep leaves it while the buyer is closed, offers it
/// again once the buyer opens, and the router sells it then at its age's discount, once
/// (a repeated re-offer changes nothing). A lead no buyer covers expires at the end of its
/// shelf life with its last reason.
pub async fn waiting_leads_are_reoffered_when_a_buyer_opens_and_expire_after_their_shelf_life<
    B: Backend,
>(
    backend: &B,
    time: &crate::contract::ManualTime,
) {
    use crate::contract::Time;
    use aurum::usecases::reoffer::Reoffers;
    let (buyer, office) = only_buyer(backend, "office", 10, |b, _| Buyer {
        hours: aurum::domain::buyer::Hours {
            open: chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("09:00"),
            close: chrono::NaiveTime::from_hms_opt(17, 0, 0).expect("17:00"),
            ..aurum::domain::buyer::Hours::always()
        },
        area: ServiceArea {
            zips: Default::default(),
            boroughs: [Borough::Brooklyn].into(),
        },
        ..b
    })
    .await;
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));
    let sweep = Reoffers::new(backend);
    let qualified_at = (backend.clock())();

    // WHEN a lead qualifies at 06:00 and another outside the buyer's area
    let lead = sellable_lead(21, qualified_at);
    save_conversation_of(backend, &lead).await;
    let mut queens = sellable_lead(22, qualified_at);
    queens.facts.zip_code = Some(ZipCode::parse("11368").expect("zip"));
    queens.facts.borough = Some(Borough::Queens);
    save_conversation_of(backend, &queens).await;
    // THEN both wait, with their reasons
    for l in [&lead, &queens] {
        let outcome = router.distribute(l).await.expect("routed");
        assert_eq!(
            outcome,
            Distributed::Waiting {
                reason: "no_eligible_buyer".into()
            }
        );
    }

    // WHEN the sweep runs while the buyer is still closed
    time.pass(Duration::from_secs(30 * 60)).await;
    let quiet = sweep.sweep((backend.clock())()).await.expect("sweep");
    // THEN nothing is offered
    assert_eq!((quiet.reoffered, quiet.expired), (0, 0), "{quiet:?}");
    assert!(drain_queue(backend).await.is_empty());

    // WHEN the clock passes the buyer's opening (09:05) and the sweep runs
    time.pass(Duration::from_secs(155 * 60)).await;
    let opened = sweep.sweep((backend.clock())()).await.expect("sweep");
    // THEN the Brooklyn lead alone is published again, as its first re-offer
    assert_eq!(opened.reoffered, 1, "{opened:?}");
    let messages = drain_queue(backend).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let reoffer = &messages[0];
    assert_eq!(
        (reoffer.lead_id.as_str(), reoffer.offer),
        (lead.lead_id.as_str(), 1)
    );
    assert_eq!(
        reoffer.queued_at, qualified_at,
        "its age counts from qualifying"
    );
    // AND the router sells it now, priced at 3 hours old (× 0.90)
    let outcome = router.distribute(reoffer).await.expect("routed");
    assert_eq!(
        outcome,
        Distributed::Delivered {
            buyer: office.id.clone()
        }
    );
    let record = backend
        .leads()
        .lead(&lead.lead_id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!((record.state, record.offers), (LeadState::Delivered, 1));
    let sale = record.sale.expect("sold");
    assert_eq!((sale.quote.age_hours, sale.quote.age_bps), (3, 9_000));
    assert!(
        record.history.iter().any(|t| t.state == LeadState::Waiting),
        "{:?}",
        record.history
    );
    // AND the same re-offer again sells nothing twice
    assert!(matches!(
        router.distribute(reoffer).await.expect("routed"),
        Distributed::AlreadyDone(LeadState::Delivered)
    ));
    assert_eq!(buyer.deliveries().len(), 1);

    // WHEN the Queens lead's shelf life (72 h) has passed and the sweep runs
    time.pass(Duration::from_secs(70 * 3_600)).await;
    let ended = sweep.sweep((backend.clock())()).await.expect("sweep");
    // THEN it expired with its last reason, and leaves the waiting list
    assert_eq!(ended.expired, 1, "{ended:?}");
    let expired = backend
        .leads()
        .lead(&queens.lead_id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(expired.state, LeadState::Expired);
    assert_eq!(expired.unsold_reason.as_deref(), Some("no_eligible_buyer"));
    assert!(drain_queue(backend).await.is_empty());
    let after = sweep.sweep((backend.clock())()).await.expect("sweep");
    assert_eq!(after.waiting, 0, "{after:?}");
}

/// GIVEN a buyer that may take one lead a day and took one, WHEN two more leads come,
/// THEN both wait on its cap; WHEN the first homeowner withdraws (the sale is credited and
/// the buyer's capacity comes back) THEN the sweep offers a waiting lead again and it
/// sells; WHEN the buyer's day turns THEN the last one is offered again and sells. The cap
/// is never exceeded.
pub async fn waiting_leads_are_reoffered_when_capacity_comes_back_or_the_cap_resets<B: Backend>(
    backend: &B,
    time: &crate::contract::ManualTime,
) {
    use crate::contract::Time;
    use aurum::usecases::reoffer::Reoffers;
    // A cap of 2 keeps 1 after the 10 % capacity buffer.
    let (buyer, _one_a_day) = only_buyer(backend, "small", 2, |b, _| b).await;
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::Greedy));
    let sweep = Reoffers::new(backend);
    let now = (backend.clock())();
    let leads = [31, 32, 33].map(|n| sellable_lead(n, now));
    for l in &leads {
        save_conversation_of(backend, l).await;
    }
    // GIVEN the buyer's one lead of the day sold and delivered
    assert!(matches!(
        router.distribute(&leads[0]).await.expect("routed"),
        Distributed::Delivered { .. }
    ));
    // WHEN two more come: THEN they wait on the cap, and the sweep has nothing to offer
    for l in &leads[1..] {
        assert!(matches!(
            router.distribute(l).await.expect("routed"),
            Distributed::Waiting { .. }
        ));
    }
    let idle = sweep.sweep((backend.clock())()).await.expect("sweep");
    assert_eq!((idle.waiting, idle.reoffered), (2, 0), "{idle:?}");

    // WHEN the first homeowner withdraws: the sale is credited, the capacity comes back
    time.pass(Duration::from_secs(60)).await;
    aurum::usecases::lifecycle::withdraw(
        &*backend.leads(),
        &*backend.sales(),
        &leads[0].lead_id,
        &leads[0].session_id,
        &aurum::domain::conversation::ConsentWithdrawal {
            at: (backend.clock())(),
            words: "please don't call me".into(),
        },
    )
    .await
    .expect("withdraw");
    let freed = sweep.sweep((backend.clock())()).await.expect("sweep");
    // THEN both waiting leads are offered again; the router sells one, the other waits
    assert_eq!(freed.reoffered, 2, "{freed:?}");
    let mut outcomes = Vec::new();
    for m in drain_queue(backend).await {
        outcomes.push(router.distribute(&m).await.expect("routed"));
    }
    let sold = |o: &[Distributed]| {
        o.iter()
            .filter(|o| matches!(o, Distributed::Delivered { .. }))
            .count()
    };
    assert_eq!(sold(&outcomes), 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Distributed::Waiting { .. }))
            .count(),
        1,
        "{outcomes:?}"
    );

    // WHEN the buyer's next day starts
    time.pass(Duration::from_secs(24 * 3_600)).await;
    let next_day = sweep.sweep((backend.clock())()).await.expect("sweep");
    // THEN the last waiting lead is offered again and sells
    assert_eq!(
        (next_day.waiting, next_day.reoffered),
        (1, 1),
        "{next_day:?}"
    );
    let mut later = Vec::new();
    for m in drain_queue(backend).await {
        later.push(router.distribute(&m).await.expect("routed"));
    }
    assert_eq!(sold(&later), 1, "{later:?}");
    assert_eq!(
        buyer.deliveries().len(),
        3,
        "one lead a day, and the freed slot"
    );
}

/// A ping-post buyer served by `server`: citywide, bidding within `deadline_ms`.
fn ping_post_buyer(id: &str, server: &FakeBuyer, deadline_ms: u32) -> Buyer {
    Buyer {
        filters: Default::default(),
        pause: None,
        previous_secrets: Vec::new(),
        version: 0,
        ping_post: Some(aurum::domain::buyer::PingPost {
            ping_url: server.ping_url(),
            deadline_ms,
        }),
        ..buyer_at(id, BuyerTier::Standard, &server.url(), 50)
    }
}

/// GIVEN an in-house buyer at its tier's price and four ping-post buyers (one bids $300,
/// one bids $400 too late, one never answers, one passes), WHEN a lead is routed, THEN
/// the pings carry no contact details, the timely $300 bid wins on expected net value and
/// gets the post with its ping id at its bid, and the others are traced as no bid; WHEN the
/// winner refuses the next lead's post, THEN that lead cascades to the in-house buyer.
pub async fn ping_post_auction_sells_to_the_best_timely_bid<B: Backend>(backend: &B) {
    use aurum::adapters::fake_buyer::PingAnswer;
    let secret = || WebhookSecret::parse(SECRET).expect("s");
    let (house, high, late, silent, passer) = (
        FakeBuyer::start(secret()).await.expect("buyer"),
        FakeBuyer::start(secret()).await.expect("buyer"),
        FakeBuyer::start(secret()).await.expect("buyer"),
        FakeBuyer::start(secret()).await.expect("buyer"),
        FakeBuyer::start(secret()).await.expect("buyer"),
    );
    high.bid(PingAnswer::Bid(Cents(30_000)));
    late.bid(PingAnswer::BidAfter(
        Cents(40_000),
        Duration::from_millis(900),
    ));
    silent.bid(PingAnswer::Hang);
    passer.bid(PingAnswer::Pass("no_coverage"));
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let in_house = buyer_at(
        &format!("house_{suffix}"),
        BuyerTier::Standard,
        &house.url(),
        50,
    );
    let bidders = [
        ping_post_buyer(&format!("high_{suffix}"), &high, 300),
        ping_post_buyer(&format!("late_{suffix}"), &late, 300),
        ping_post_buyer(&format!("silent_{suffix}"), &silent, 300),
        ping_post_buyer(&format!("passer_{suffix}"), &passer, 300),
    ];
    let mut all = vec![in_house.clone()];
    all.extend(bidders.iter().cloned());
    backend.buyers().put_buyers(&all).await.expect("buyers");
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));

    // WHEN a lead is routed
    let lead = sellable_lead(41, tuesday_afternoon());
    let started = std::time::Instant::now();
    let outcome = router.distribute(&lead).await.expect("routed");
    let took = started.elapsed();

    // THEN the $300 bid won and was posted with its ping id and bid id
    assert_eq!(
        outcome,
        Distributed::Delivered {
            buyer: bidders[0].id.clone()
        }
    );
    let record = backend
        .leads()
        .lead(&lead.lead_id)
        .await
        .expect("read")
        .expect("recorded");
    let sale = record.sale.expect("sold");
    assert_eq!(sale.price, Cents(30_000));
    assert!(sale.quote.bid, "priced at the bid");
    let ping = sale.ping.expect("the winning ping");
    assert_eq!(ping.bid_id.as_deref(), Some("bid_30000"));
    let posts = high.deliveries();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = serde_json::to_value(&posts[0]).expect("json");
    assert_eq!(post["data"]["ping_id"], ping.ping_id.as_str());
    assert_eq!(post["data"]["bid_id"], "bid_30000");
    assert_eq!(post["data"]["price_cents"], 30_000);
    // AND every ping was signed, named the lead only by its ping id, and carried no
    // contact details
    for server in [&high, &late, &silent, &passer] {
        let pings = server.pings();
        assert_eq!(pings.len(), 1);
        let p = &pings[0];
        assert!(p.verified);
        for secret in [
            lead.facts.contact.phone.as_deref().unwrap_or("?"),
            "email",
            "phone",
            "name",
            lead.lead_id.as_str(),
        ] {
            assert!(!p.body.contains(secret), "ping leaks {secret}: {}", p.body);
        }
        assert!(p.body.contains("\"type\":\"lead.ping\""), "{}", p.body);
        assert!(p.body.contains("monthly_bill_band"), "{}", p.body);
    }
    // AND the late, silent and passing buyers are traced as no bid; the auction waited
    // for the deadline, not for the silent buyer
    let trace = record.routing.expect("decision").trace;
    for b in &bidders[1..] {
        let t = trace.iter().find(|t| t.buyer_id == b.id).expect("traced");
        assert!(
            matches!(
                t.result,
                TraceResult::Excluded {
                    reason: aurum::domain::routing::Exclusion::NoBid
                }
            ),
            "{t:?}"
        );
    }
    assert!(
        took < Duration::from_secs(30),
        "waited {took:?} (a silent buyer hangs 600 s)"
    );
    assert!(house.deliveries().is_empty());
    // AND each buyer's ping is counted by how it ended (the month's buyer figures)
    let figures = aurum::usecases::analytics::Analytics::new(backend)
        .figures()
        .await
        .expect("figures");
    let pings = |b: &Buyer| {
        figures
            .performance
            .iter()
            .find(|p| p.buyer_id == b.id.as_str())
            .and_then(|p| p.pings)
            .expect("a ping-post buyer has ping counts")
    };
    assert_eq!(pings(&bidders[0]).bid, 1);
    assert_eq!(pings(&bidders[1]).timeout, 1);
    assert_eq!(pings(&bidders[2]).timeout, 1);
    assert_eq!(pings(&bidders[3]).no_coverage, 1);
    assert!(
        figures
            .performance
            .iter()
            .find(|p| p.buyer_id == in_house.id.as_str())
            .is_some_and(|p| p.pings.is_none())
    );

    // WHEN the winner bids on the next lead and then refuses its post
    high.answer(BuyerAnswer::Reject("duplicate".into()));
    let next = sellable_lead(42, tuesday_afternoon());
    let outcome = router.distribute(&next).await.expect("routed");
    // THEN the lead cascades to the in-house buyer at its tier's price
    assert_eq!(
        outcome,
        Distributed::Delivered {
            buyer: in_house.id.clone()
        }
    );
    let record = backend
        .leads()
        .lead(&next.lead_id)
        .await
        .expect("read")
        .expect("recorded");
    assert!(record.excluded.contains(&bidders[0].id));
    let sale = record.sale.expect("sold");
    assert!(!sale.quote.bid && sale.ping.is_none());
}

/// GIVEN a ping-post buyer that passes on a lead it could take, WHEN the lead waits, THEN
/// the sweep does not ping it again every minute: it offers the lead again only once the
/// last routing is 30 minutes old (bids change over a day).
pub async fn a_lead_a_bidder_passed_on_is_offered_again_only_at_the_recheck<B: Backend>(
    backend: &B,
    time: &crate::contract::ManualTime,
) {
    use crate::contract::Time;
    use aurum::adapters::fake_buyer::PingAnswer;
    use aurum::usecases::reoffer::Reoffers;
    let (exchange, _bidder) = only_buyer(backend, "exchange", 50, |b, server| {
        ping_post_buyer(b.id.as_str(), server, 300)
    })
    .await;
    exchange.bid(PingAnswer::Pass("no_bid"));
    let router = Distribution::new(backend, quick_client(), settings(RoutingStrategy::BidPrice));
    let sweep = Reoffers::new(backend);
    let lead = sellable_lead(51, (backend.clock())());
    save_conversation_of(backend, &lead).await;
    // WHEN the only buyer passes: THEN the lead waits
    assert!(matches!(
        router.distribute(&lead).await.expect("routed"),
        Distributed::Waiting { .. }
    ));
    // AND a minute later the sweep leaves it
    time.pass(Duration::from_secs(60)).await;
    let soon = sweep.sweep((backend.clock())()).await.expect("sweep");
    assert_eq!((soon.waiting, soon.reoffered), (1, 0), "{soon:?}");
    assert!(drain_queue(backend).await.is_empty());
    // WHEN the last routing is 30 minutes old: THEN it is offered again
    time.pass(Duration::from_secs(30 * 60)).await;
    let later = sweep.sweep((backend.clock())()).await.expect("sweep");
    assert_eq!(later.reoffered, 1, "{later:?}");
    assert_eq!(drain_queue(backend).await.len(), 1);
    assert_eq!(exchange.pings().len(), 1, "pinged once so far");
}
