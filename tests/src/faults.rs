//! The fault suite: the lead's life against real buyer servers on loopback that fail in
//! every way a webhook fails, generic over the backend (embedded and DynamoDB on moto).
//! After each scenario every lead is terminal or in flight within its bound, each buyer's
//! ledger nets to the prices of the sales that stand with it, its cap count equals those
//! sales, and each buyer received exactly the messages it should.

use crate::routing::{SECRET, buyer_at, quick_client, sellable_lead, settings, tuesday_afternoon};
use aurum::adapters::fake_buyer::{BuyerAnswer, FakeBuyer};
use aurum::backend::Backend;
use aurum::contracts::QueuedLead;
use aurum::delivery::BuyerMessage;
use aurum::domain::buyer::{Buyer, BuyerId, BuyerTier, WebhookSecret};
use aurum::domain::conversation::ConsentWithdrawal;
use aurum::domain::lead::{LeadRecord, LeadState, NoticeKind};
use aurum::domain::money::Cents;
use aurum::domain::routing::RoutingStrategy;
use aurum::domain::sale::CounterPeriod;
use aurum::ports::{BuyerStore, LeadStore, SaleStore};
use aurum::usecases::routing::{Budget, Distributed, Distribution};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Buyers in order of preference (the greedy router offers each lead to the first that is
/// open), each a loopback server answering as scripted.
pub struct Fleet {
    pub fakes: Vec<FakeBuyer>,
    pub buyers: Vec<Buyer>,
}

const TIERS: [BuyerTier; 4] = [
    BuyerTier::Premium,
    BuyerTier::Direct,
    BuyerTier::Standard,
    BuyerTier::Volume,
];

pub async fn fleet<B: Backend>(backend: &B, answers: &[BuyerAnswer]) -> Fleet {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut fakes = Vec::new();
    let mut buyers = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        let fake = FakeBuyer::start(WebhookSecret::parse(SECRET).expect("secret"))
            .await
            .expect("buyer server");
        fake.answer(answer.clone());
        buyers.push(buyer_at(
            &format!("f{i}_{suffix}"),
            TIERS[i],
            &fake.url(),
            10,
        ));
        fakes.push(fake);
    }
    backend.buyers().put_buyers(&buyers).await.expect("buyers");
    aurum::artefacts::forget_buyers(backend).await;
    Fleet { fakes, buyers }
}

impl Fleet {
    /// Deactivates these buyers, so the next scenario on the same store starts clean.
    pub async fn retire<B: Backend>(self, backend: &B) {
        let retired: Vec<Buyer> = self
            .buyers
            .iter()
            .map(|b| Buyer {
                active: false,
                ..b.clone()
            })
            .collect();
        backend.buyers().put_buyers(&retired).await.expect("buyers");
        aurum::artefacts::forget_buyers(backend).await;
    }
}

fn router<B: Backend>(backend: &B) -> Distribution<B> {
    Distribution::new(backend, quick_client(), settings(RoutingStrategy::Greedy))
}

/// The message's `receive`-th delivery with a minute to work.
fn receive(n: u32) -> Budget {
    Budget::new(n, Instant::now() + Duration::from_secs(60))
}

async fn record<B: Backend>(backend: &B, lead_id: &str) -> LeadRecord {
    backend
        .leads()
        .lead(lead_id)
        .await
        .expect("read")
        .expect("recorded")
}

/// The message types each buyer received (signed and verified), in order.
fn received(fleet: &Fleet) -> Vec<Vec<&'static str>> {
    fleet
        .fakes
        .iter()
        .map(|f| {
            assert!(
                f.requests().iter().all(|r| r.verified),
                "every request is signed"
            );
            f.deliveries()
                .iter()
                .map(BuyerMessage::event_type)
                .collect()
        })
        .collect()
}

/// The books: every lead terminal or in flight within its bound; per buyer, the ledger
/// nets to what the leads standing with it bill, and its count of the day equals them.
pub async fn books_balance<B: Backend>(backend: &B, fleet: &Fleet, leads: &[&QueuedLead]) {
    let mut net: HashMap<BuyerId, i64> = HashMap::new();
    let mut billed: HashMap<BuyerId, i64> = HashMap::new();
    let mut held: HashMap<BuyerId, u32> = HashMap::new();
    let mut spend: HashMap<BuyerId, i64> = HashMap::new();
    let now = tuesday_afternoon();
    for lead in leads {
        let r = record(backend, &lead.lead_id).await;
        assert!(
            !aurum::domain::lifecycle::stuck(&r, now),
            "{} is not stuck: {:?}",
            r.lead_id,
            r.state
        );
        for line in backend.sales().ledger(&lead.lead_id).await.expect("ledger") {
            *net.entry(line.buyer_id.clone()).or_default() += line.revenue().0;
        }
        if let Some(sale) = &r.sale {
            *billed.entry(sale.buyer_id.clone()).or_default() +=
                r.billed.expect("billed is kept").0;
            *held.entry(sale.buyer_id.clone()).or_default() += 1;
            *spend.entry(sale.buyer_id.clone()).or_default() += sale.price.0;
        }
        assert!(
            aurum::domain::lifecycle::ledger_agrees(
                &r,
                &backend.sales().ledger(&lead.lead_id).await.expect("ledger")
            ),
            "{}'s ledger agrees with its record",
            r.lead_id
        );
    }
    let periods: Vec<CounterPeriod> = fleet
        .buyers
        .iter()
        .map(|b| {
            let (year, month) = b.hours.local_month(now);
            CounterPeriod {
                buyer_id: b.id.clone(),
                day: b.hours.local_day(now),
                month: format!("{year:04}-{month:02}"),
            }
        })
        .collect();
    let counters = backend.buyers().counters(&periods).await.expect("counters");
    for (b, c) in fleet.buyers.iter().zip(counters) {
        let net = net.get(&b.id).copied().unwrap_or(0);
        let billed = billed.get(&b.id).copied().unwrap_or(0);
        assert_eq!(
            net, billed,
            "{}: ledger net equals the sales that stand",
            b.id
        );
        assert_eq!(
            c.leads_today,
            held.get(&b.id).copied().unwrap_or(0),
            "{}: cap count equals the sales that stand",
            b.id
        );
        assert_eq!(
            c.spend_this_month,
            Cents(spend.get(&b.id).copied().unwrap_or(0)),
            "{}: month's spend equals the sales that stand",
            b.id
        );
    }
}

/// GIVEN a first buyer whose webhook gives a permanent answer (404, 410, 401, a redirect,
/// a 400 without a refusal) WHEN a lead is routed THEN it is released and delivered to the
/// next buyer in the same receive (no visibility timeout waited); the first is not billed
/// and, having
/// said it did not take the lead, is owed no notice.
pub async fn permanent_answers_cascade_at_once<B: Backend>(backend: &B) {
    for (n, answer) in [
        BuyerAnswer::Status(404),
        BuyerAnswer::Status(410),
        BuyerAnswer::Status(401),
        BuyerAnswer::Redirect,
        BuyerAnswer::Status(400),
    ]
    .into_iter()
    .enumerate()
    {
        let fleet = fleet(backend, &[answer.clone(), BuyerAnswer::Accept]).await;
        let lead = sellable_lead(100 + n as u32, tuesday_afternoon());
        let outcome = router(backend).distribute_within(&lead, receive(1)).await;
        assert_eq!(
            outcome.expect("one receive is enough"),
            Distributed::Delivered {
                buyer: fleet.buyers[1].id.clone()
            },
            "{answer:?}"
        );
        assert_eq!(
            fleet.fakes[0].requests().len(),
            1,
            "{answer:?}: not retried"
        );
        assert_eq!(received(&fleet)[1], ["lead.sold"]);
        let r = record(backend, &lead.lead_id).await;
        assert_eq!(r.state, LeadState::Delivered);
        assert!(r.notices.is_empty(), "{answer:?}: no notice owed");
        books_balance(backend, &fleet, &[&lead]).await;
        fleet.retire(backend).await;
    }
}

/// GIVEN a buyer that takes the lead but answers after our attempt timeout WHEN the
/// message's receives run out THEN the sale is released, the lead goes to the next buyer,
/// and the first buyer, which may hold it, gets the signed `lead.released`.
pub async fn an_answer_after_our_timeout_is_released_and_told<B: Backend>(backend: &B) {
    let fleet = fleet(backend, &[BuyerAnswer::Accept, BuyerAnswer::Accept]).await;
    let late = BuyerAnswer::AcceptAfter(Duration::from_millis(900));
    // Two attempts a receive: two receives of late answers, then it answers in time.
    fleet.fakes[0].answer_next([late.clone(), late.clone(), late.clone(), late]);
    let lead = sellable_lead(2, tuesday_afternoon());
    let router = router(backend);
    // The first receive: both attempts time out; the lead stays sold, the message returns.
    assert!(router.distribute_within(&lead, receive(1)).await.is_err());
    let r = record(backend, &lead.lead_id).await;
    assert_eq!((r.state, r.delivery_attempts), (LeadState::Sold, 2));
    assert!(r.delivery_reached);
    // The last receive: late again, then released, cascaded, and the first told.
    let outcome = router
        .distribute_within(&lead, receive(aurum::ports::MAX_RECEIVE_COUNT))
        .await
        .expect("finished on the last receive");
    assert_eq!(
        outcome,
        Distributed::Delivered {
            buyer: fleet.buyers[1].id.clone()
        }
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let got = received(&fleet);
    assert_eq!(got[0].last(), Some(&"lead.released"), "{got:?}");
    assert_eq!(got[0].iter().filter(|t| **t == "lead.released").count(), 1);
    assert_eq!(got[1], ["lead.sold"]);
    let r = record(backend, &lead.lead_id).await;
    assert!(
        r.notices.iter().all(|n| n.sent_at.is_some()),
        "the notice is marked sent"
    );
    books_balance(backend, &fleet, &[&lead]).await;
}

/// GIVEN a buyer that never answers WHEN the message is received up to the last time THEN
/// the lead leaves it after the attempt budget and is delivered to the next buyer; the
/// silent buyer is not billed and its notice stays owed on the record, never lost.
pub async fn a_buyer_that_never_answers_loses_the_lead<B: Backend>(backend: &B) {
    let fleet = fleet(backend, &[BuyerAnswer::Hang, BuyerAnswer::Accept]).await;
    let lead = sellable_lead(3, tuesday_afternoon());
    let router = router(backend);
    let mut outcome = None;
    for n in 1..=aurum::ports::MAX_RECEIVE_COUNT {
        if let Ok(done) = router.distribute_within(&lead, receive(n)).await {
            outcome = Some(done);
            break;
        }
    }
    // Delivered on one receive; the receives after it only retry the owed notice.
    assert_eq!(
        outcome.expect("done by the last receive"),
        Distributed::AlreadyDone(LeadState::Delivered)
    );
    let r = record(backend, &lead.lead_id).await;
    assert_eq!(
        r.sale.as_ref().map(|s| s.buyer_id.clone()),
        Some(fleet.buyers[1].id.clone())
    );
    let owed: Vec<_> = r
        .unsent_notices()
        .map(|n| (n.buyer_id.clone(), n.kind))
        .collect();
    assert_eq!(owed, [(fleet.buyers[0].id.clone(), NoticeKind::Released)]);
    assert_eq!(received(&fleet)[1], ["lead.sold"]);
    books_balance(backend, &fleet, &[&lead]).await;
}

/// GIVEN a buyer that fails once then accepts THEN the retry inside the receive delivers
/// to it, once.
pub async fn a_flapping_buyer_gets_the_lead_on_the_retry<B: Backend>(backend: &B) {
    let fleet = fleet(backend, &[BuyerAnswer::Accept, BuyerAnswer::Accept]).await;
    fleet.fakes[0].answer_next([BuyerAnswer::ServerError]);
    let lead = sellable_lead(4, tuesday_afternoon());
    let outcome = router(backend)
        .distribute_within(&lead, receive(1))
        .await
        .expect("delivered");
    assert_eq!(
        outcome,
        Distributed::Delivered {
            buyer: fleet.buyers[0].id.clone()
        }
    );
    assert_eq!(fleet.fakes[0].requests().len(), 2);
    assert_eq!(received(&fleet), [vec!["lead.sold", "lead.sold"], vec![]]);
    books_balance(backend, &fleet, &[&lead]).await;
}

/// GIVEN a cascade (a refusal, then a buyer that hangs) and a second left in the
/// invocation WHEN routed THEN the message gives up before the deadline with the lead in
/// flight, and the next receive finishes it with the third buyer.
pub async fn the_deadline_reached_mid_cascade_leaves_the_lead_for_the_next_receive<B: Backend>(
    backend: &B,
) {
    let fleet = fleet(
        backend,
        &[
            BuyerAnswer::Reject("outside_service_area".into()),
            BuyerAnswer::Hang,
            BuyerAnswer::Accept,
        ],
    )
    .await;
    let lead = sellable_lead(5, tuesday_afternoon());
    let router = router(backend);
    let started = Instant::now();
    let first = router
        .distribute_within(
            &lead,
            Budget::new(1, started + Duration::from_millis(1_200)),
        )
        .await;
    assert!(first.is_err(), "{first:?}");
    // Stopped at its deadline, not at the silent buyer's pace (it never answers).
    assert!(started.elapsed() < Duration::from_secs(10));
    let r = record(backend, &lead.lead_id).await;
    assert!(r.state.in_flight(), "{:?}", r.state);
    let last = router
        .distribute_within(&lead, receive(aurum::ports::MAX_RECEIVE_COUNT))
        .await
        .expect("finished");
    assert_eq!(
        last,
        Distributed::Delivered {
            buyer: fleet.buyers[2].id.clone()
        }
    );
    books_balance(backend, &fleet, &[&lead]).await;
}

/// GIVEN a sale written and the router gone before it delivered (killed after the sale's
/// transaction) WHEN the message comes back after its visibility timeout THEN the lead is
/// delivered once, and a further redelivery changes nothing.
pub async fn a_sale_whose_router_died_is_delivered_by_the_redelivery<B: Backend>(backend: &B) {
    let fleet = fleet(backend, &[BuyerAnswer::Hang, BuyerAnswer::Accept]).await;
    let lead = sellable_lead(6, tuesday_afternoon());
    // The router that dies: its only receive runs out of time after the sale was written.
    let dying = router(backend);
    let cut = dying
        .distribute_within(
            &lead,
            Budget::new(1, Instant::now() + Duration::from_millis(700)),
        )
        .await;
    assert!(cut.is_err());
    assert_eq!(record(backend, &lead.lead_id).await.state, LeadState::Sold);
    fleet.fakes[0].answer(BuyerAnswer::Accept);
    let fresh = router(backend);
    let outcome = fresh
        .distribute_within(&lead, receive(2))
        .await
        .expect("delivered");
    assert_eq!(
        outcome,
        Distributed::Delivered {
            buyer: fleet.buyers[0].id.clone()
        }
    );
    let again = fresh
        .distribute_within(&lead, receive(3))
        .await
        .expect("again");
    assert_eq!(
        again,
        Distributed::AlreadyDone(LeadState::Delivered),
        "a redelivery repeats nothing"
    );
    let sold = received(&fleet)[0]
        .iter()
        .filter(|t| **t == "lead.sold")
        .count();
    assert!(sold >= 1);
    assert_eq!(
        fleet.fakes[0]
            .requests()
            .iter()
            .filter(|r| r.answer == Some(BuyerAnswer::Accept))
            .count(),
        1,
        "accepted once"
    );
    books_balance(backend, &fleet, &[&lead]).await;
}

async fn withdraw<B: Backend>(backend: &B, lead: &QueuedLead) -> LeadRecord {
    aurum::usecases::lifecycle::withdraw(
        &*backend.leads(),
        &*backend.sales(),
        &lead.lead_id,
        &lead.session_id,
        &ConsentWithdrawal {
            at: tuesday_afternoon() + chrono::Duration::minutes(5),
            words: "stop, don't share my number".into(),
        },
    )
    .await
    .expect("withdrawn")
}

fn notice_message(lead: &QueuedLead) -> QueuedLead {
    QueuedLead {
        withdrawn: Some(ConsentWithdrawal {
            at: tuesday_afternoon() + chrono::Duration::minutes(5),
            words: String::new(),
        }),
        ..lead.clone()
    }
}

/// GIVEN leads queued, sold but not delivered, delivered, and converted WHEN the homeowner
/// withdraws consent THEN none is sold after; the sale not delivered is released unbilled
/// and untold; the delivered one is credited in full and its buyer told, signed, leaving
/// its month at $0 for it; the converted one's buyer is told and the sale stands.
pub async fn a_withdrawal_in_every_state_bills_and_tells_as_it_should<B: Backend>(backend: &B) {
    let fleet = fleet(backend, &[BuyerAnswer::Accept]).await;
    let router = router(backend);
    let at = tuesday_afternoon();

    let queued = sellable_lead(21, at);
    backend
        .leads()
        .record_queued(&queued)
        .await
        .expect("queued");
    assert_eq!(withdraw(backend, &queued).await.state, LeadState::Withdrawn);
    assert_eq!(
        router
            .distribute_within(&queued, receive(1))
            .await
            .expect("routed"),
        Distributed::Withdrawn
    );

    fleet.fakes[0].answer(BuyerAnswer::ServerError);
    let sold = sellable_lead(22, at);
    assert!(router.distribute_within(&sold, receive(1)).await.is_err());
    assert_eq!(record(backend, &sold.lead_id).await.state, LeadState::Sold);
    let w = withdraw(backend, &sold).await;
    assert_eq!(
        (w.state, w.billed),
        (LeadState::Withdrawn, Some(Cents::ZERO))
    );
    assert!(
        w.notices.is_empty(),
        "every attempt was answered 500: the buyer never had it"
    );
    assert_eq!(
        router
            .distribute_within(&sold, receive(2))
            .await
            .expect("routed"),
        Distributed::Withdrawn
    );

    fleet.fakes[0].answer(BuyerAnswer::Accept);
    let delivered = sellable_lead(23, at);
    router
        .distribute_within(&delivered, receive(1))
        .await
        .expect("delivered");
    let w = withdraw(backend, &delivered).await;
    assert_eq!(w.billed, Some(Cents::ZERO), "credited in full");
    let told = router
        .distribute_within(&notice_message(&delivered), receive(1))
        .await
        .expect("told");
    assert_eq!(
        told,
        Distributed::BuyerTold {
            buyer: fleet.buyers[0].id.clone()
        }
    );
    let month: i64 = backend
        .sales()
        .ledger(&delivered.lead_id)
        .await
        .expect("ledger")
        .iter()
        .map(|l| l.revenue().0)
        .sum();
    assert_eq!(month, 0, "the buyer's month is $0 for the withdrawn lead");

    let converted = sellable_lead(24, at);
    router
        .distribute_within(&converted, receive(1))
        .await
        .expect("delivered");
    let r = record(backend, &converted.lead_id).await;
    let event = aurum::domain::feedback::FeedbackEvent {
        message_id: format!("msg_{}", converted.lead_id),
        lead_id: converted.lead_id.clone(),
        buyer_id: fleet.buyers[0].id.clone(),
        kind: aurum::domain::feedback::FeedbackType::Converted,
        reason: None,
        score_tenths: None,
        reason_text: None,
        conversion_value: Some(Cents(2_400_000)),
        notes: None,
        received_at: at + chrono::Duration::minutes(3),
    };
    let change = aurum::domain::feedback::decide(
        &Default::default(),
        &event,
        &r,
        aurum::domain::feedback::MonthToDate::default(),
    )
    .expect("converted");
    aurum::ports::FeedbackStore::apply(&*backend.feedback(), &change)
        .await
        .expect("store")
        .expect("applied");
    let w = withdraw(backend, &converted).await;
    assert_eq!(
        w.billed,
        Some(r.sale.expect("sale").price),
        "a converted sale stands"
    );
    router
        .distribute_within(&notice_message(&converted), receive(1))
        .await
        .expect("told");

    assert_eq!(
        received(&fleet)[0],
        [
            "lead.sold",
            "lead.sold",
            "lead.sold",
            "lead.withdrawn",
            "lead.sold",
            "lead.withdrawn"
        ],
        "the sale answered 500 twice, then two deliveries and their two withdrawals"
    );
    books_balance(backend, &fleet, &[&queued, &sold, &delivered, &converted]).await;

    // AND the dashboard's recent sales never show an undone sale as standing
    use aurum::usecases::analytics::{Analytics, SaleStatus};
    let analytics = Analytics::new(backend);
    let figures = analytics.figures().await.expect("figures");
    let recent = analytics
        .recent_sales(&figures)
        .await
        .expect("recent sales");
    let status = |lead: &QueuedLead| -> Vec<SaleStatus> {
        recent
            .iter()
            .filter(|s| s.lead_id == lead.lead_id)
            .map(|s| s.status)
            .collect()
    };
    assert_eq!(status(&sold), [SaleStatus::Released]);
    assert_eq!(status(&delivered), [SaleStatus::Credited]);
    assert_eq!(status(&converted), [SaleStatus::Standing]);
}

/// GIVEN a lead left sold by a router whose receives all ran out (its message in the
/// dead-letter queue) WHEN the reconcile step runs past the in-flight bound THEN the sale is
/// released (the buyer, which may hold it, is owed a notice) and the lead is marked
/// dead-lettered; WHEN its message is redriven THEN it is routed again, to another buyer.
pub async fn a_dead_lettered_sale_is_released_marked_and_redriven<B: Backend>(backend: &B) {
    let fleet = fleet(backend, &[BuyerAnswer::Hang, BuyerAnswer::Accept]).await;
    let lead = sellable_lead(31, tuesday_afternoon());
    let router = router(backend);
    assert!(router.distribute_within(&lead, receive(1)).await.is_err());
    assert_eq!(record(backend, &lead.lead_id).await.state, LeadState::Sold);
    let later = tuesday_afternoon() + aurum::domain::lifecycle::IN_FLIGHT_BOUND * 2;
    let jobs = aurum::usecases::jobs::Jobs::new(backend);
    let found = jobs.reconcile(later).await.expect("reconciled");
    assert!(found.repaired >= 1, "{found:?}");
    assert_eq!(found.ledger_mismatches, 0);
    let r = record(backend, &lead.lead_id).await;
    assert_eq!(
        (r.state, r.billed),
        (LeadState::DeadLettered, Some(Cents::ZERO))
    );
    assert!(r.unsent_notices().any(|n| n.buyer_id == fleet.buyers[0].id));
    books_balance(backend, &fleet, &[&lead]).await;
    fleet.fakes[0].answer(BuyerAnswer::Accept);
    let outcome = router
        .distribute_within(&lead, receive(1))
        .await
        .expect("redriven");
    assert_eq!(
        outcome,
        Distributed::Delivered {
            buyer: fleet.buyers[1].id.clone()
        }
    );
    assert_eq!(received(&fleet)[0].last(), Some(&"lead.released"));
    books_balance(backend, &fleet, &[&lead]).await;
}

/// GIVEN a lead whose buyer never answers, its message received until the queue gives up
/// WHEN the reconcile step runs past the bound THEN the lead is released and marked; WHEN
/// the operator redrives the dead-letter queue (`aurum leads redrive`) THEN the router
/// receives the message again and sells the lead to the next buyer.
pub async fn a_dead_lettered_message_is_redriven_through_the_queue(
    backend: &aurum::adapters::embedded::EmbeddedBackend,
) {
    use aurum::function::LeadConsumer;
    use aurum::ports::{LeadQueue, MAX_RECEIVE_COUNT};
    let fleet = fleet(backend, &[BuyerAnswer::Hang, BuyerAnswer::Accept]).await;
    let lead = sellable_lead(41, tuesday_afternoon());
    let router = router(backend);
    let queue = backend.queue();
    queue.publish(&lead).await.expect("published");
    // Every receive is cut short by its invocation's deadline before the delivery can be
    // tried (a router that keeps dying), so the message reaches the dead-letter queue with
    // the lead still in flight.
    for n in 1..=MAX_RECEIVE_COUNT {
        let batch = queue.receive(10, Duration::ZERO).await.expect("receive");
        assert_eq!(batch.len(), 1, "receive {n}");
        let deadline = Instant::now() + Duration::from_millis(600);
        let _ = aurum::function::handle_guarded(&router, &batch[0], deadline).await;
    }
    assert!(record(backend, &lead.lead_id).await.state.in_flight());
    assert!(
        queue
            .receive(10, Duration::ZERO)
            .await
            .expect("receive")
            .is_empty()
    );
    assert_eq!(backend.store.dead_letters().await.expect("dlq").len(), 1);
    let jobs = aurum::usecases::jobs::Jobs::new(backend);
    let later = tuesday_afternoon() + aurum::domain::lifecycle::IN_FLIGHT_BOUND * 2;
    jobs.reconcile(later).await.expect("reconciled");
    assert_eq!(
        record(backend, &lead.lead_id).await.state,
        LeadState::DeadLettered
    );

    let moved = backend
        .store
        .redrive_dead_letters(100)
        .await
        .expect("redriven");
    assert_eq!(moved, std::slice::from_ref(&lead.lead_id));
    let batch = queue.receive(10, Duration::ZERO).await.expect("receive");
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].receive_count, 1, "its receives count afresh");
    fleet.fakes[0].answer(BuyerAnswer::Accept);
    router
        .handle(&batch[0], Instant::now() + Duration::from_secs(60))
        .await
        .expect("routed");
    let r = record(backend, &lead.lead_id).await;
    assert_eq!(r.state, LeadState::Delivered);
    assert_eq!(
        r.sale.map(|s| s.buyer_id),
        Some(fleet.buyers[1].id.clone()),
        "the buyer that never answered is not offered it again"
    );
    books_balance(backend, &fleet, &[&lead]).await;
}
