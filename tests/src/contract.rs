//! One contract per port, generic over the implementation. Every adapter (in-memory,
//! embedded, and the AWS ones) must pass the same suite.

use aurum::backend::Clock;
use aurum::domain::conversation::{ConsentWithdrawal, Conversation, SessionId};
use aurum::domain::lead::{LeadRecord, LeadState};
use aurum::domain::money::Cents;
use aurum::domain::scoring::{QualityTier, ScoringModel};
use aurum::ports::{
    Cache, ConversationStore, DEDUP_WINDOW, LeadQueue, LeadStore, MAX_RECEIVE_COUNT, ModelStore,
    QueuedLead, StoreError,
};
use chrono::{DateTime, TimeZone, Utc};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a contract lets time pass: a real server (SQS on moto) needs real time; the
/// embedded and in-memory queues read a clock the test moves.
pub trait Time {
    fn pass(&self, d: Duration) -> impl Future<Output = ()>;
}

/// Wall-clock time: the test sleeps.
pub struct RealTime;

impl Time for RealTime {
    async fn pass(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// A clock that moves only when told.
#[derive(Clone)]
pub struct ManualTime(Arc<Mutex<DateTime<Utc>>>);

impl Default for ManualTime {
    fn default() -> Self {
        ManualTime(Arc::new(Mutex::new(Utc::now())))
    }
}

impl ManualTime {
    pub fn at(start: DateTime<Utc>) -> ManualTime {
        ManualTime(Arc::new(Mutex::new(start)))
    }

    /// The time the clock shows now.
    pub fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Arc::new(move || {
            *now.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
    }
}

impl Time for ManualTime {
    async fn pass(&self, d: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += chrono::Duration::from_std(d).expect("a test duration");
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn conversation(id: &str) -> Conversation {
    let at = Utc
        .with_ymd_and_hms(2026, 4, 1, 14, 0, 0)
        .single()
        .expect("valid");
    Conversation::new(SessionId::parse(id).expect("id"), at)
}

pub async fn conversation_store<S: ConversationStore>(store: &S) {
    let id = unique("contract");
    let session = SessionId::parse(&id).expect("id");
    assert_eq!(
        store.load_conversation(&session).await.expect("load"),
        None,
        "unknown session loads as None"
    );

    let mut c = conversation(&id);
    c.facts.monthly_bill = Some(Cents::from_dollars(321));
    store.save_conversation(&c).await.expect("first save");
    let loaded = store
        .load_conversation(&session)
        .await
        .expect("load")
        .expect("saved");
    assert_eq!(loaded.version, 1, "a save bumps the version");
    assert_eq!(loaded.facts.monthly_bill, Some(Cents::from_dollars(321)));
    assert_eq!(loaded.started_at, c.started_at);

    // Saving from a stale copy must lose.
    let stale = c.clone();
    assert!(matches!(
        store.save_conversation(&stale).await,
        Err(StoreError::Conflict)
    ));
    let mut next = loaded.clone();
    next.turns = 7;
    store
        .save_conversation(&next)
        .await
        .expect("save from the current version");
    let loaded = store
        .load_conversation(&session)
        .await
        .expect("load")
        .expect("saved");
    assert_eq!((loaded.version, loaded.turns), (2, 7));

    // Two writers from the same version: exactly one wins.
    let (a, b) = tokio::join!(
        store.save_conversation(&loaded),
        store.save_conversation(&loaded)
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "exactly one of two racing saves wins: {a:?} {b:?}"
    );

    // Many sessions saved at once (one group commit on the embedded store): every one lands.
    let many: Vec<Conversation> = (0..64)
        .map(|i| conversation(&unique(&format!("contract_many_{i}"))))
        .collect();
    let saves = futures_util::future::join_all(many.iter().map(|c| store.save_conversation(c)));
    assert!(saves.await.iter().all(Result::is_ok));
    for c in &many {
        let stored = store
            .load_conversation(&c.session_id)
            .await
            .expect("load")
            .expect("saved");
        assert_eq!(stored.version, 1);
    }
}

pub async fn model_store<S: ModelStore>(store: &S) {
    let base = store
        .current_model()
        .await
        .expect("current")
        .map_or(1, |m| m.version);
    let model = ScoringModel {
        version: base + 1,
        ..ScoringModel::default()
    };
    store.save_model(&model).await.expect("save model");
    assert_eq!(
        store.current_model().await.expect("current"),
        Some(model.clone())
    );
    assert!(
        matches!(store.save_model(&model).await, Err(StoreError::Conflict)),
        "a model version is written once"
    );

    // Promotion: only on the version in force, storing a new version once, never
    // rewriting a stored one.
    let next = ScoringModel {
        version: base + 2,
        premium_area_bps: 10_500,
        ..ScoringModel::default()
    };
    assert!(
        matches!(
            store.promote_model(&next, Some(base)).await,
            Err(StoreError::Conflict)
        ),
        "a promotion on a stale version changes nothing"
    );
    assert_eq!(store.stored_model(next.version).await.expect("read"), None);
    store
        .promote_model(&next, Some(model.version))
        .await
        .expect("promoted");
    assert_eq!(
        store.current_model().await.expect("current"),
        Some(next.clone())
    );
    assert_eq!(
        store.stored_model(next.version).await.expect("read"),
        Some(next.clone())
    );
    let altered = ScoringModel {
        premium_area_bps: 12_000,
        ..model.clone()
    };
    store
        .promote_model(&altered, Some(next.version))
        .await
        .expect("rolled back");
    assert_eq!(
        store.current_model().await.expect("current"),
        Some(model.clone()),
        "a stored version is put back as stored, never rewritten"
    );
    assert_eq!(store.stored_model(base + 99).await.expect("read"), None);
}

pub fn lead(lead_id: &str) -> QueuedLead {
    let c = conversation(&unique("queued"));
    QueuedLead {
        schema: QueuedLead::SCHEMA,
        lead_id: lead_id.to_owned(),
        session_id: c.session_id.clone(),
        queued_at: c.started_at,
        score: 88,
        tier: QualityTier::Premium,
        revenue_potential: Cents(26_400),
        conversion_probability: 0.81,
        model_version: 1,
        facts: c.facts,
        consent: None,
        withdrawn: None,
        factors: None,
        offer: 0,
    }
}

/// Expects a queue with no other consumer.
pub async fn lead_queue<Q: LeadQueue>(queue: &Q, time: &impl Time) {
    let id = unique("lead");
    let message = lead(&id);
    queue.publish(&message).await.expect("publish");
    queue
        .publish(&message)
        .await
        .expect("publishing the same lead again is accepted");

    let got = receive_until(queue, &id, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "a lead published twice is delivered once");
    assert_eq!(got[0].lead, message, "the message round-trips unchanged");
    assert_eq!(got[0].receive_count, 1);

    // Not acknowledged: it comes back after the visibility timeout.
    time.pass(Duration::from_millis(2_100)).await;
    let again = receive_until(queue, &id, Duration::from_secs(30)).await;
    assert_eq!(again.len(), 1, "an unacknowledged message is redelivered");
    assert_eq!(again[0].receive_count, 2);

    queue
        .ack(&got[0].receipt)
        .await
        .expect("a stale receipt is ignored");
    queue.ack(&again[0].receipt).await.expect("ack");
    time.pass(Duration::from_millis(2_100)).await;
    let after = queue
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(
        after.iter().all(|d| d.lead.lead_id != id),
        "an acknowledged message is gone"
    );
}

/// The dead-letter queue of a local queue.
pub trait DeadLetters {
    fn dead_letters(&self) -> impl Future<Output = Vec<QueuedLead>>;
}

impl DeadLetters for aurum::adapters::memory::MemoryQueue {
    async fn dead_letters(&self) -> Vec<QueuedLead> {
        aurum::adapters::memory::MemoryQueue::dead_letters(self)
    }
}

impl DeadLetters for aurum::adapters::embedded::EmbeddedStore {
    async fn dead_letters(&self) -> Vec<QueuedLead> {
        aurum::adapters::embedded::EmbeddedStore::dead_letters(self)
            .await
            .expect("dead letters")
    }
}

/// What SQS FIFO does that the local queues must do too, so that local runs see the
/// redeliveries the router must survive: de-duplication for a window (not forever), and
/// a dead letter after `MAX_RECEIVE_COUNT` deliveries. Time passes on a manual clock.
pub async fn local_queue_semantics<Q: LeadQueue + DeadLetters>(queue: &Q, time: &ManualTime) {
    let id = unique("lead");
    queue.publish(&lead(&id)).await.expect("publish");
    time.pass(DEDUP_WINDOW - Duration::from_secs(1)).await;
    queue.publish(&lead(&id)).await.expect("publish");
    let got = queue
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1, "inside the window a republish is dropped");
    queue.ack(&got[0].receipt).await.expect("ack");

    time.pass(Duration::from_secs(2)).await;
    queue.publish(&lead(&id)).await.expect("publish");
    let got = queue
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(
        got.len(),
        1,
        "after the window the same lead id is a new message"
    );
    assert_eq!(got[0].receive_count, 1);

    // Never acknowledged: delivered MAX_RECEIVE_COUNT times, then dead-lettered.
    let mut deliveries = got.len();
    for _ in 0..MAX_RECEIVE_COUNT + 2 {
        time.pass(Duration::from_secs(31)).await;
        deliveries += queue
            .receive(10, Duration::from_secs(30))
            .await
            .expect("receive")
            .len();
    }
    assert_eq!(deliveries, MAX_RECEIVE_COUNT as usize);
    let dead = queue.dead_letters().await;
    assert_eq!(
        dead.iter().map(|l| l.lead_id.as_str()).collect::<Vec<_>>(),
        vec![id.as_str()],
        "the message moved to the dead-letter queue, unchanged"
    );
    time.pass(Duration::from_secs(31)).await;
    assert!(
        queue
            .receive(10, Duration::from_secs(30))
            .await
            .expect("receive")
            .is_empty(),
        "a dead letter is not delivered again"
    );
}

pub async fn lead_store<S: LeadStore + aurum::ports::SaleStore>(store: &S) {
    let id = unique("lead");
    assert_eq!(store.lead(&id).await.expect("read"), None);
    let queued = lead(&id);

    // Recording is idempotent: a retried turn records nothing new.
    let first = store.record_queued(&queued).await.expect("record");
    assert_eq!((first.state, first.version), (LeadState::Queued, 1));
    let again = store.record_queued(&queued).await.expect("record again");
    assert_eq!(again, first);
    assert_eq!(store.lead(&id).await.expect("read"), Some(first.clone()));

    // A stale write loses.
    let stale = LeadRecord {
        version: 0,
        ..first.clone()
    };
    assert!(matches!(
        store.put_lead(&stale).await,
        Err(StoreError::Conflict)
    ));

    // Withdrawal: once, with the words and the state it came from.
    let withdrawal = ConsentWithdrawal {
        at: first.updated_at + chrono::Duration::minutes(3),
        words: "please don't share my number".into(),
    };
    let withdrawn =
        aurum::usecases::lifecycle::withdraw(store, store, &id, &queued.session_id, &withdrawal)
            .await
            .expect("withdraw");
    assert_eq!(withdrawn.state, LeadState::Withdrawn);
    let kept = withdrawn.withdrawal.clone().expect("kept");
    assert_eq!(kept.from, Some(LeadState::Queued));
    assert_eq!(kept.words, withdrawal.words);
    assert_eq!(
        store.lead(&id).await.expect("read"),
        Some(withdrawn.clone())
    );
    let twice =
        aurum::usecases::lifecycle::withdraw(store, store, &id, &queued.session_id, &withdrawal)
            .await
            .expect("withdraw again");
    assert_eq!(twice, withdrawn, "a second withdrawal changes nothing");
    // A late "queued" record (a retried publish) does not undo it.
    let late = store.record_queued(&queued).await.expect("record late");
    assert_eq!(late.state, LeadState::Withdrawn);

    // A withdrawal that arrives before the record leaves a tombstone.
    let early = unique("lead");
    let tomb =
        aurum::usecases::lifecycle::withdraw(store, store, &early, &queued.session_id, &withdrawal)
            .await
            .expect("withdraw first");
    assert_eq!(tomb.state, LeadState::Withdrawn);
    assert_eq!(tomb.withdrawal.and_then(|w| w.from), None);
    let after = store.record_queued(&lead(&early)).await.expect("record");
    assert_eq!(
        after.state,
        LeadState::Withdrawn,
        "never sold after a withdrawal"
    );

    // Two racing writers from one version: exactly one wins.
    let current = store.lead(&id).await.expect("read").expect("present");
    let (a, b) = tokio::join!(store.put_lead(&current), store.put_lead(&current));
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "exactly one of two racing writes wins: {a:?} {b:?}"
    );
}

async fn receive_until<Q: LeadQueue>(
    queue: &Q,
    lead_id: &str,
    visibility: Duration,
) -> Vec<aurum::ports::Delivery> {
    let mut found = Vec::new();
    for _ in 0..20 {
        let batch = queue.receive(10, visibility).await.expect("receive");
        found.extend(batch.into_iter().filter(|d| d.lead.lead_id == lead_id));
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}

pub async fn cache<C: Cache>(cache: &C) {
    let key = unique("contract");
    assert_eq!(cache.get(&key).await.expect("get"), None);
    cache
        .set(&key, "value", Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(
        cache.get(&key).await.expect("get").as_deref(),
        Some("value")
    );

    let counter = unique("counter");
    assert_eq!(
        cache
            .incr(&counter, 2, Duration::from_secs(60))
            .await
            .expect("incr"),
        2
    );
    assert_eq!(
        cache
            .incr(&counter, 3, Duration::from_secs(60))
            .await
            .expect("incr"),
        5
    );

    cache.delete(&key).await.expect("delete");
    assert_eq!(
        cache.get(&key).await.expect("get"),
        None,
        "a deleted key is gone"
    );
    cache
        .delete(&key)
        .await
        .expect("deleting a missing key is fine");

    let short = unique("short");
    cache
        .set(&short, "gone soon", Duration::from_secs(1))
        .await
        .expect("set");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        cache.get(&short).await.expect("get"),
        None,
        "entries expire after their TTL"
    );
}

/// A valid buyer for the contracts.
pub fn buyer(id: &str) -> aurum::domain::buyer::Buyer {
    use aurum::domain::buyer::{Buyer, BuyerId, BuyerTier, Hours, ServiceArea, WebhookSecret};
    use aurum::domain::facts::Borough;
    Buyer {
        filters: Default::default(),
        pause: None,
        previous_secrets: Vec::new(),
        version: 0,
        id: BuyerId::parse(id).expect("id"),
        name: format!("Buyer {id}"),
        tier: BuyerTier::Standard,
        price_floor: Cents(10_000),
        price_cap: Cents(30_000),
        daily_cap: 10,
        monthly_spend_cap: None,
        area: ServiceArea {
            zips: Default::default(),
            boroughs: Borough::ALL.into(),
        },
        min_quality: QualityTier::Basic,
        hours: Hours::always(),
        webhook_url: "https://buyer.example/leads".into(),
        secret: WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret"),
        return_window_days: 7,
        active: true,
        ping_post: None,
    }
}

pub async fn buyer_store<S: aurum::ports::BuyerStore>(store: &S) {
    use aurum::domain::sale::CounterPeriod;
    let a = buyer(&unique("b").to_lowercase());
    let mut b = buyer(&unique("b").to_lowercase());
    store
        .put_buyers(&[a.clone(), b.clone()])
        .await
        .expect("import");
    let all = store.buyers().await.expect("buyers");
    assert!(all.contains(&a) && all.contains(&b), "both stored");
    b.daily_cap = 3;
    store.put_buyers(&[b.clone()]).await.expect("re-import");
    let all = store.buyers().await.expect("buyers");
    assert!(
        all.contains(&b) && all.contains(&a),
        "replaced, the other kept"
    );
    let ids: Vec<_> = all.iter().map(|x| x.id.clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "in id order");

    let period = CounterPeriod {
        buyer_id: a.id.clone(),
        day: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("day"),
        month: "2026-06".into(),
    };
    let counters = store.counters(&[period]).await.expect("counters");
    assert_eq!(counters[0].leads_today, 0);
    assert_eq!(counters[0].spend_this_month, Cents(0));

    let until = Utc::now() + chrono::Duration::hours(1);
    for expected in 1..=2 {
        let h = store
            .record_delivery(&a.id, false, 3, until)
            .await
            .expect("failure");
        assert_eq!(h.consecutive_failures, expected);
        assert_eq!(h.paused_until, None);
    }
    let h = store
        .record_delivery(&a.id, false, 3, until)
        .await
        .expect("third");
    assert_eq!(
        h.paused_until,
        Some(until),
        "the third failure in a row pauses"
    );
    assert_eq!(store.health(&a.id).await.expect("health"), h);
    let h = store
        .record_delivery(&a.id, true, 3, until)
        .await
        .expect("ok");
    assert_eq!(
        h,
        aurum::ports::BuyerHealth::default(),
        "a success clears it"
    );
}

/// The sales team's saves: a buyer is created only once, changed only on the version
/// read, and every save keeps its audit entry in the same write (newest first).
pub async fn buyer_saves<S: aurum::ports::BuyerStore>(store: &S) {
    use aurum::domain::audit::AuditEntry;
    use aurum::ports::StoreError;
    let id = unique("v").to_lowercase();
    let target = format!("buyer:{id}");
    let entry = |n: u64, action: &str| {
        AuditEntry::new(
            Utc::now() + chrono::Duration::milliseconds(n as i64),
            n,
            "tester",
            action,
            target.clone(),
            None,
            Some(serde_json::json!({ "version": n })),
        )
    };
    // GIVEN a new buyer at version 1
    let mut first = buyer(&id);
    first.version = 1;
    store
        .save_buyer(&first, None, &entry(1, "buyer.created"))
        .await
        .expect("created");
    // WHEN it is created again THEN the store refuses and keeps the first
    let again = store
        .save_buyer(&first, None, &entry(2, "buyer.created"))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    // WHEN two operators change version 1 THEN the first wins, the second is refused
    let mut one = first.clone();
    one.daily_cap = 7;
    one.version = 2;
    store
        .save_buyer(&one, Some(1), &entry(3, "buyer.updated"))
        .await
        .expect("first change");
    let mut other = first.clone();
    other.daily_cap = 9;
    other.version = 2;
    let lost = store
        .save_buyer(&other, Some(1), &entry(4, "buyer.updated"))
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let stored = store.buyers().await.expect("buyers");
    let now = stored.iter().find(|b| b.id == one.id).expect("stored");
    assert_eq!((now.daily_cap, now.version), (7, 2));
    // AND only the saves that happened are in the audit, newest first
    let log: Vec<AuditEntry> = store
        .audit_log(1_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.target == target)
        .collect();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["buyer.updated", "buyer.created"]);
    assert_eq!(log[0].after, Some(serde_json::json!({ "version": 3 })));
    // AND a change made elsewhere is kept beside them
    store
        .append_audit(&entry(5, "buyers.imported"))
        .await
        .expect("appended");
    let newest = store.audit_log(1).await.expect("audit");
    assert_eq!(newest.len(), 1);
    // AND a buyer imported before versions were kept (version 0) is saved on version 0
    let mut old = buyer(&unique("o").to_lowercase());
    store
        .put_buyers(std::slice::from_ref(&old))
        .await
        .expect("import");
    old.version = 1;
    store
        .save_buyer(&old, Some(0), &entry(6, "buyer.updated"))
        .await
        .expect("saved on version 0");
}

/// A sale of `lead` (already recorded as queued) to `buyer` at `at`.
pub fn sale_of(
    record: &LeadRecord,
    buyer: &aurum::domain::buyer::Buyer,
    price: Cents,
    daily_limit: u32,
    contact: &str,
    at: DateTime<Utc>,
) -> aurum::domain::sale::Sale {
    use aurum::domain::lead::SaleTerms;
    use aurum::domain::pricing::{MarketSignals, PriceInput, PricingRules, quote};
    use aurum::domain::sale::{CounterPeriod, LedgerEntry, LedgerKind, Sale};
    let period = CounterPeriod {
        buyer_id: buyer.id.clone(),
        day: buyer.hours.local_day(at),
        month: at.format("%Y-%m").to_string(),
    };
    let mut next = record.moved(LeadState::Sold, at, format!("sold to {}", buyer.id));
    next.sale = Some(SaleTerms {
        buyer_id: buyer.id.clone(),
        buyer_tier: buyer.tier,
        price,
        quote: quote(
            &PricingRules::from_targets(&aurum::domain::targets::Targets::default()),
            buyer,
            &PriceInput {
                score: 80,
                market: MarketSignals::for_place(aurum::domain::market::market(), None, None, None),
                sold_today: 0,
                at,
            },
        ),
        sold_at: at,
        buyer_day: period.day,
        buyer_month: period.month.clone(),
        expected_revenue: price,
        returnable_until: at + chrono::Duration::days(7),
        ping: None,
    });
    let n = record
        .history
        .iter()
        .filter(|t| t.state == LeadState::Sold)
        .count()
        + 1;
    Sale {
        record: next,
        period,
        price,
        daily_limit,
        monthly_spend_cap: buyer.monthly_spend_cap,
        ledger: LedgerEntry {
            lead_id: record.lead_id.clone(),
            entry_id: format!("sale#{n}"),
            buyer_id: buyer.id.clone(),
            kind: LedgerKind::Sale,
            amount: price,
            at,
        },
        contact_keys: vec![contact.to_owned()],
        claim_until: at + chrono::Duration::days(30),
    }
}

pub async fn sale_store<S: LeadStore + aurum::ports::SaleStore + aurum::ports::BuyerStore>(
    store: &S,
) {
    use aurum::domain::sale::{LedgerKind, Release, SaleRefused};
    let at = Utc
        .with_ymd_and_hms(2026, 6, 1, 15, 0, 0)
        .single()
        .expect("t");
    let mut b = buyer(&unique("b").to_lowercase());
    b.monthly_spend_cap = Some(Cents(50_000));
    let contact = unique("phone");

    // A sale changes the record, the counters, the ledger and the claim together.
    let first = store
        .record_queued(&lead(&unique("lead")))
        .await
        .expect("record");
    let sale = sale_of(&first, &b, Cents(20_000), 2, &contact, at);
    assert_eq!(store.sell(&sale).await.expect("sell"), Ok(()));
    let sold = store
        .lead(&first.lead_id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(sold.state, LeadState::Sold);
    let counters = store
        .counters(std::slice::from_ref(&sale.period))
        .await
        .expect("counters");
    assert_eq!(counters[0].leads_today, 1);
    assert_eq!(counters[0].spend_this_month, Cents(20_000));
    let ledger = store.ledger(&first.lead_id).await.expect("ledger");
    assert_eq!(ledger, vec![sale.ledger.clone()]);
    assert_eq!(
        store
            .contact_claim(&contact)
            .await
            .expect("claim")
            .map(|c| c.0),
        Some(first.lead_id.clone())
    );

    // The same sale again (a redelivery) is refused and changes nothing.
    assert_eq!(
        store.sell(&sale).await.expect("sell"),
        Err(SaleRefused::LeadChanged)
    );
    let counters = store
        .counters(std::slice::from_ref(&sale.period))
        .await
        .expect("counters");
    assert_eq!(counters[0].leads_today, 1, "sold once, counted once");

    // Another lead with the same phone inside the window is a duplicate.
    let dup = store
        .record_queued(&lead(&unique("lead")))
        .await
        .expect("record");
    let refused = store
        .sell(&sale_of(&dup, &b, Cents(20_000), 2, &contact, at))
        .await
        .expect("sell");
    assert_eq!(refused, Err(SaleRefused::Duplicate));
    assert_eq!(
        store
            .lead(&dup.lead_id)
            .await
            .expect("read")
            .map(|r| r.state),
        Some(LeadState::Queued),
        "a refused sale leaves the lead queued"
    );

    // The monthly spend cap: $200 spent of $500, a $350 lead does not fit.
    let big = store
        .record_queued(&lead(&unique("lead")))
        .await
        .expect("record");
    let refused = store
        .sell(&sale_of(&big, &b, Cents(35_000), 2, &unique("phone"), at))
        .await
        .expect("sell");
    assert_eq!(refused, Err(SaleRefused::MonthlySpendCapReached));

    // The daily limit: a second lead fits, a third does not.
    let second = store
        .record_queued(&lead(&unique("lead")))
        .await
        .expect("record");
    let second_sale = sale_of(&second, &b, Cents(10_000), 2, &unique("phone"), at);
    assert_eq!(store.sell(&second_sale).await.expect("sell"), Ok(()));
    let third = store
        .record_queued(&lead(&unique("lead")))
        .await
        .expect("record");
    let refused = store
        .sell(&sale_of(&third, &b, Cents(10_000), 2, &unique("phone"), at))
        .await
        .expect("sell");
    assert_eq!(refused, Err(SaleRefused::DailyCapReached));

    // A release gives the capacity back, writes a negative line and frees the claim.
    let current = store
        .lead(&first.lead_id)
        .await
        .expect("read")
        .expect("present");
    let release = Release {
        record: current.moved(LeadState::Queued, at, "rejected at post time"),
        period: sale.period.clone(),
        price: Cents(20_000),
        ledger: aurum::domain::sale::LedgerEntry {
            entry_id: "release#1".into(),
            kind: LedgerKind::Release,
            amount: Cents(-20_000),
            ..sale.ledger.clone()
        },
        contact_keys: vec![contact.clone()],
    };
    assert_eq!(store.release(&release).await.expect("release"), Ok(()));
    assert_eq!(
        store.release(&release).await.expect("release again"),
        Err(SaleRefused::LeadChanged),
        "released once"
    );
    let counters = store
        .counters(std::slice::from_ref(&sale.period))
        .await
        .expect("counters");
    assert_eq!(counters[0].leads_today, 1);
    assert_eq!(counters[0].spend_this_month, Cents(10_000));
    let total: i64 = store
        .ledger(&first.lead_id)
        .await
        .expect("ledger")
        .iter()
        .map(|e| e.amount.0)
        .sum();
    assert_eq!(total, 0, "sale and release cancel out");
    assert_eq!(store.contact_claim(&contact).await.expect("claim"), None);
    // The duplicate can now be sold: the claim was released.
    let dup = store
        .lead(&dup.lead_id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        store
            .sell(&sale_of(&dup, &b, Cents(10_000), 2, &contact, at))
            .await
            .expect("sell"),
        Ok(())
    );
}

/// Racing sales against one buyer's daily limit: exactly `limit` succeed.
pub async fn sales_race_the_daily_limit<S>(store: &S)
where
    S: LeadStore + aurum::ports::SaleStore + aurum::ports::BuyerStore,
{
    let at = Utc
        .with_ymd_and_hms(2026, 6, 2, 15, 0, 0)
        .single()
        .expect("t");
    let b = buyer(&unique("b").to_lowercase());
    let limit = 3;
    let mut sales = Vec::new();
    for _ in 0..8 {
        let record = store
            .record_queued(&lead(&unique("lead")))
            .await
            .expect("record");
        sales.push(sale_of(
            &record,
            &b,
            Cents(10_000),
            limit,
            &unique("phone"),
            at,
        ));
    }
    let results = futures_util::future::join_all(sales.iter().map(|sale| async move {
        // A transaction conflict is retried, as the router does.
        for _ in 0..20 {
            match store.sell(sale).await {
                Err(StoreError::Conflict) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                other => return other.expect("store reachable"),
            }
        }
        panic!("sale kept conflicting");
    }))
    .await;
    let sold = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(sold, limit as usize, "{results:?}");
    let counters = store
        .counters(std::slice::from_ref(&sales[0].period))
        .await
        .expect("counters");
    assert_eq!(counters[0].leads_today, limit);
}

/// The feedback store: a change is applied whole or not at all (a failed counter limit, a
/// stale lead or a repeat leaves nothing behind), each feedback is found by message and by
/// (lead, buyer, type), and the buyer's month reads back its ledger lines and feedback.
pub async fn feedback_store<S>(store: &S)
where
    S: LeadStore + aurum::ports::SaleStore + aurum::ports::BuyerStore + aurum::ports::FeedbackStore,
{
    use aurum::domain::feedback::{
        FeedbackEvent, FeedbackRefused, FeedbackRules, FeedbackType, MonthToDate, ReasonCode,
        decide, statement_month, tally, training_day,
    };
    let at = Utc
        .with_ymd_and_hms(2026, 6, 2, 18, 30, 0)
        .single()
        .expect("valid");
    let buyer = buyer(&unique("fb"));
    let lead_id = unique("lead_fb");
    let queued = store.record_queued(&lead(&lead_id)).await.expect("queued");
    let sale = sale_of(&queued, &buyer, Cents(20_000), 10, &unique("contact"), at);
    store.sell(&sale).await.expect("sell").expect("sold");
    let sold = store.lead(&lead_id).await.expect("read").expect("lead");
    let event = |kind, message: &str, reason| FeedbackEvent {
        message_id: message.to_owned(),
        lead_id: lead_id.clone(),
        buyer_id: buyer.id.clone(),
        kind,
        reason,
        score_tenths: None,
        reason_text: None,
        conversion_value: None,
        notes: Some("private words".into()),
        received_at: at + chrono::Duration::hours(1),
    };
    let rules = FeedbackRules::default();
    let month = statement_month(at);

    // A counter over its limit: nothing of the change is kept.
    let mut capped = decide(
        &rules,
        &event(
            FeedbackType::Returned,
            "msg_cap",
            Some(ReasonCode::WrongNumber),
        ),
        &sold,
        MonthToDate {
            kept: 10,
            credits: 0,
        },
    )
    .expect("decided");
    for t in capped.tallies.iter_mut().filter(|t| t.at_most.is_some()) {
        t.at_most = Some(0);
    }
    assert_eq!(
        store.apply(&capped).await.expect("apply"),
        Err(FeedbackRefused::LimitReached)
    );
    assert_eq!(
        store.lead(&lead_id).await.expect("read"),
        Some(sold.clone())
    );
    assert_eq!(store.ledger(&lead_id).await.expect("ledger").len(), 1);
    assert_eq!(
        store
            .feedback_by_message(&buyer.id, "msg_cap")
            .await
            .expect("read"),
        None
    );
    assert!(
        store
            .tallies(&tally::buyer(&buyer.id))
            .await
            .expect("tallies")
            .is_empty()
    );

    let accepted = decide(
        &rules,
        &event(FeedbackType::Accepted, "msg_accept", None),
        &sold,
        MonthToDate::default(),
    )
    .expect("decided");
    assert_eq!(store.apply(&accepted).await.expect("apply"), Ok(()));
    let stored = store.lead(&lead_id).await.expect("read").expect("lead");
    assert_eq!(stored.state, LeadState::Accepted);
    assert_eq!(stored.version, sold.version + 1);
    assert_eq!(
        store
            .feedback_by_message(&buyer.id, "msg_accept")
            .await
            .expect("read"),
        Some(accepted.record.clone())
    );
    assert_eq!(
        store
            .feedback(&lead_id, &buyer.id, FeedbackType::Accepted)
            .await
            .expect("read"),
        Some(accepted.record.clone())
    );
    assert_eq!(
        store
            .feedback(&lead_id, &buyer.id, FeedbackType::Returned)
            .await
            .expect("read"),
        None
    );
    // A repeat, by message or by (lead, buyer, type), is refused whole.
    assert_eq!(
        store.apply(&accepted).await.expect("apply"),
        Err(FeedbackRefused::AlreadyRecorded)
    );
    let mut same_message = decide(
        &rules,
        &event(
            FeedbackType::Returned,
            "msg_accept",
            Some(ReasonCode::Duplicate),
        ),
        &stored,
        MonthToDate {
            kept: 10,
            credits: 0,
        },
    )
    .expect("decided");
    assert_eq!(
        store.apply(&same_message).await.expect("apply"),
        Err(FeedbackRefused::AlreadyRecorded)
    );
    // A change decided on a stale read of the lead.
    same_message.record.message_id = "msg_stale".into();
    same_message.lead.version = sold.version;
    assert_eq!(
        store.apply(&same_message).await.expect("apply"),
        Err(FeedbackRefused::LeadChanged)
    );
    assert_eq!(store.ledger(&lead_id).await.expect("ledger").len(), 1);

    let returned = decide(
        &rules,
        &event(
            FeedbackType::Returned,
            "msg_return",
            Some(ReasonCode::Duplicate),
        ),
        &stored,
        MonthToDate {
            kept: 10,
            credits: 0,
        },
    )
    .expect("decided");
    assert_eq!(store.apply(&returned).await.expect("apply"), Ok(()));
    let lines = store.buyer_ledger(&buyer.id, &month).await.expect("lines");
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.entry_id.as_str(), l.amount.0))
            .collect::<Vec<_>>(),
        [("sale#1", 20_000), ("credit#1", -20_000)],
        "in time order"
    );
    assert!(
        store
            .buyer_ledger(&buyer.id, "2026-05")
            .await
            .expect("lines")
            .is_empty()
    );
    let all = store
        .tallies(&tally::buyer(&buyer.id))
        .await
        .expect("tallies");
    assert_eq!(all.get("accepted"), Some(&1));
    assert_eq!(all.get("returned"), Some(&1));
    assert_eq!(all.get("credits"), Some(&1));
    let month_tallies = store
        .tallies(&tally::buyer_month(&buyer.id, &month))
        .await
        .expect("tallies");
    assert_eq!(month_tallies.get("credited_cents"), Some(&20_000));
    let reasons = store
        .tallies(&tally::reasons_by_buyer(&buyer.id))
        .await
        .expect("reasons");
    assert_eq!(reasons.get("returned:duplicate"), Some(&1));
    let feedback = store
        .buyer_feedback(&buyer.id, &month)
        .await
        .expect("feedback");
    assert_eq!(
        feedback.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [FeedbackType::Accepted, FeedbackType::Returned]
    );
    let examples = store
        .training_examples(training_day(at + chrono::Duration::hours(1)))
        .await
        .expect("training");
    let mine: Vec<_> = examples.iter().filter(|e| e.lead_id == lead_id).collect();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|e| e.price == Cents(20_000)));
}

/// Sums the counters of every shard of `day`.
async fn day_sum<S: aurum::ports::MetricsStore>(
    store: &S,
    day: chrono::NaiveDate,
) -> std::collections::BTreeMap<String, i64> {
    let groups = store
        .groups(&aurum::domain::analytics::shard_keys(day))
        .await
        .expect("groups");
    let mut totals = aurum::domain::analytics::DayTotals::new(day);
    for g in &groups {
        totals.add(g);
    }
    totals.counters
}

/// The analytics counters: added, summed by group over their slots, sealed once, and
/// moved by a sale and its release in the same transaction, never by a refused one.
pub async fn metrics_store<S>(store: &S)
where
    S: aurum::ports::MetricsStore + LeadStore + aurum::ports::SaleStore + aurum::ports::BuyerStore,
{
    use aurum::domain::analytics::{Counter, field, new_york_day};
    use aurum::domain::sale::{LedgerEntry, LedgerKind, Release, SaleRefused};
    use std::collections::BTreeMap;

    // GIVEN a group nobody wrote: empty, and not sealed.
    let group = unique("2026-06-01#s99");
    let sealed = unique("2026-06-01#all");
    assert_eq!(
        store
            .groups(std::slice::from_ref(&group))
            .await
            .expect("groups"),
        vec![BTreeMap::new()]
    );
    assert_eq!(
        store
            .sealed(std::slice::from_ref(&sealed))
            .await
            .expect("sealed"),
        vec![None]
    );

    // WHEN counters are added to two slots of the group, twice
    let counter = |slot: &str, field: &str, by: i64| Counter {
        group: group.clone(),
        slot: slot.to_owned(),
        field: field.to_owned(),
        by,
    };
    let batch = [
        counter("h09", "turns.09", 1),
        counter("h09", "conv.09", 1),
        counter("h10", "turns.10", 2),
    ];
    store.add(&batch).await.expect("add");
    store.add(&batch).await.expect("add");
    // THEN the group reads every field summed over its slots
    assert_eq!(
        store
            .groups(std::slice::from_ref(&group))
            .await
            .expect("groups"),
        vec![BTreeMap::from([
            ("conv.09".to_owned(), 2),
            ("turns.09".to_owned(), 2),
            ("turns.10".to_owned(), 4),
        ])]
    );

    // A seal is written once: the second keeps the first.
    let first = BTreeMap::from([("net.09".to_owned(), 1_500)]);
    store.seal(&sealed, &first).await.expect("seal");
    store
        .seal(&sealed, &BTreeMap::from([("net.09".to_owned(), 9)]))
        .await
        .expect("seal again");
    assert_eq!(
        store
            .sealed(std::slice::from_ref(&sealed))
            .await
            .expect("sealed"),
        vec![Some(first)]
    );

    // A sale counts its revenue and lead in its own transaction; a refused one nothing.
    let at = Utc
        .with_ymd_and_hms(2026, 6, 2, 18, 30, 0)
        .single()
        .expect("t");
    let day = new_york_day(at);
    let before = day_sum(store, day).await;
    let b = buyer(&unique("b").to_lowercase());
    let record = store
        .record_queued(&lead(&unique("lead")))
        .await
        .expect("record");
    let sale = sale_of(&record, &b, Cents(21_000), 5, &unique("phone"), at);
    assert_eq!(store.sell(&sale).await.expect("sell"), Ok(()));
    assert_eq!(
        store.sell(&sale).await.expect("sell"),
        Err(SaleRefused::LeadChanged)
    );
    let after = day_sum(store, day).await;
    let moved = |f: &str| after.get(f).copied().unwrap_or(0) - before.get(f).copied().unwrap_or(0);
    assert_eq!(moved(&field::net(14)), 21_000, "14:30 in New York");
    assert_eq!(moved(&field::sold(14)), 1);
    assert_eq!(moved(&field::buyer(b.id.as_str(), "net")), 21_000);

    // Its release takes both back.
    let sold = store
        .lead(&record.lead_id)
        .await
        .expect("read")
        .expect("present");
    let release = Release {
        record: sold.moved(LeadState::Queued, at, "released"),
        period: sale.period.clone(),
        price: sale.price,
        ledger: LedgerEntry {
            lead_id: record.lead_id.clone(),
            entry_id: "release#1".into(),
            buyer_id: b.id.clone(),
            kind: LedgerKind::Release,
            amount: Cents(-21_000),
            at,
        },
        contact_keys: sale.contact_keys.clone(),
    };
    assert_eq!(store.release(&release).await.expect("release"), Ok(()));
    let released = day_sum(store, day).await;
    assert_eq!(
        released.get(&field::net(14)).copied().unwrap_or(0),
        before.get(&field::net(14)).copied().unwrap_or(0),
        "released: the day's revenue is back where it was"
    );
}

/// The jobs' store: GIVEN a (job, window) WHEN it is claimed twice THEN only the first
/// claim wins, and a released claim can be taken again; a record is written once (a second
/// write of its id keeps the first); records come back newest first, as many as asked for,
/// beyond one page of the store's reads.
pub async fn job_store<S: aurum::ports::JobStore>(store: &S) {
    let window = Utc
        .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .expect("t");
    assert!(store.claim("routing_update", window).await.expect("claim"));
    assert!(!store.claim("routing_update", window).await.expect("again"));
    assert!(
        store
            .claim("kpi_monitor", window)
            .await
            .expect("another job")
    );
    store
        .release_claim("routing_update", window)
        .await
        .expect("release");
    assert!(
        store
            .claim("routing_update", window)
            .await
            .expect("after release")
    );

    store
        .put_record("kind", "0001", "{\"n\":1}")
        .await
        .expect("put");
    store
        .put_record("kind", "0001", "{\"n\":2}")
        .await
        .expect("second put");
    store
        .put_record("kind", "0002", "{\"n\":3}")
        .await
        .expect("put");
    assert_eq!(
        store.records("kind", 10).await.expect("records"),
        ["{\"n\":3}", "{\"n\":1}"],
        "newest first; the first write of an id stays"
    );
    assert_eq!(
        store.records("kind", 1).await.expect("records"),
        ["{\"n\":3}"]
    );
    assert!(store.records("other", 5).await.expect("none").is_empty());

    // More records than one read returns (DynamoDB answers 1,000 items per query page).
    let padding = "x".repeat(900);
    for i in 0..1_100 {
        store
            .put_record(
                "many",
                &format!("{i:05}"),
                &format!("{{\"i\":{i},\"p\":\"{padding}\"}}"),
            )
            .await
            .expect("put");
    }
    let all = store.records("many", 1_100).await.expect("records");
    assert_eq!(all.len(), 1_100);
    assert!(all[0].starts_with("{\"i\":1099,"), "newest first");
    assert!(all[1_099].starts_with("{\"i\":0,"));
    assert_eq!(
        store.records("many", 1_050).await.expect("records").len(),
        1_050
    );
}
