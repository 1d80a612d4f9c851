use super::*;
use crate::contracts::QueuedLead;
use crate::domain::buyer::BuyerTier;
use crate::domain::conversation::SessionId;
use crate::domain::feedback::{
    self, FeedbackEvent, FeedbackRules, FeedbackType, MonthToDate, ReasonCode,
};
use crate::domain::pricing::PriceQuote;
use crate::domain::routing::{RoutingOutcome, RoutingStrategy, UnsoldReason};
use chrono::{NaiveDate, TimeZone};
use proptest::prelude::*;
use std::collections::HashMap;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 2, 15, 0, 0)
        .single()
        .expect("valid")
        + chrono::Duration::minutes(minute)
}

fn buyer(i: usize) -> BuyerId {
    BuyerId::parse(&format!("buyer_{i}")).expect("id")
}

fn quote(price: i64) -> PriceQuote {
    serde_json::from_value(serde_json::json!({
        "buyer_tier": "standard", "base": price, "quality_bps": 10000,
        "quality_min_score": null, "surge_bps": 10000, "utilization_bps": 0,
        "time_of_day_bps": 10000, "time_band": null, "day_of_week_bps": 10000,
        "market_bps": 10000,
        "market": {"borough": "brooklyn", "premium_area": false, "adoption": null, "income": null},
        "local_time": "2026-06-02T11:00:00", "unclamped": price, "price": price, "clamp": null
    }))
    .expect("quote")
}

fn decision() -> RoutingDecision {
    RoutingDecision {
        strategy: RoutingStrategy::BidPrice,
        decided_at: at(0),
        outcome: RoutingOutcome::Unsold {
            reason: UnsoldReason::NoEligibleBuyer,
        },
        trace: Vec::new(),
    }
}

fn queued() -> LeadRecord {
    let session = SessionId::parse("chat_life").expect("id");
    let lead: QueuedLead = serde_json::from_value(serde_json::json!({
        "schema": 1, "lead_id": "lead_life", "session_id": "chat_life",
        "queued_at": at(0), "score": 80, "tier": "standard", "revenue_potential": 12500,
        "conversion_probability": 0.5, "model_version": 1,
        "facts": crate::domain::conversation::Conversation::new(session, at(0)).facts,
    }))
    .expect("lead");
    LeadRecord {
        version: 1,
        ..LeadRecord::queued(&lead)
    }
}

fn order(b: usize, price: i64, now: DateTime<Utc>) -> LeadEvent {
    LeadEvent::Sold(Box::new(SaleOrder {
        terms: SaleTerms {
            buyer_id: buyer(b),
            buyer_tier: BuyerTier::Standard,
            price: Cents(price),
            quote: quote(price),
            sold_at: now,
            buyer_day: NaiveDate::from_ymd_opt(2026, 6, 2).expect("day"),
            buyer_month: "2026-06".into(),
            expected_revenue: Cents(price / 2),
            returnable_until: now + chrono::Duration::days(7),
            ping: None,
        },
        routing: decision(),
        period: CounterPeriod {
            buyer_id: buyer(b),
            day: NaiveDate::from_ymd_opt(2026, 6, 2).expect("day"),
            month: "2026-06".into(),
        },
        daily_limit: 2,
        monthly_spend_cap: None,
        contact_keys: vec!["phone-key".into()],
        claim_until: now + chrono::Duration::days(30),
    }))
}

fn failed(attempts: u32, reached: bool, permanent: bool, last_receive: bool) -> DeliveryResult {
    DeliveryResult::Failed {
        attempts,
        reached,
        permanent,
        last_receive,
    }
}

fn delivery(b: usize, result: DeliveryResult) -> LeadEvent {
    LeadEvent::Delivery {
        buyer: buyer(b),
        result,
    }
}

fn withdrawal(now: DateTime<Utc>) -> LeadEvent {
    LeadEvent::Withdrawn(ConsentWithdrawal {
        at: now,
        words: "stop, don't share my number".into(),
    })
}

/// The stores as the property test keeps them: what a sale or a release writes.
#[derive(Default)]
struct Books {
    record: Option<LeadRecord>,
    ledger: Vec<LedgerEntry>,
    leads_today: HashMap<BuyerId, i64>,
    spend: HashMap<BuyerId, i64>,
    /// (buyer, kind) of every notice written.
    notices_due: Vec<(BuyerId, NoticeKind)>,
}

impl Books {
    /// Applies a change as a store would: a sale refused by its rules changes nothing.
    fn apply(&mut self, change: Change) -> bool {
        match &change.write {
            Write::Record => {}
            Write::Sale(sale) => {
                let today = self
                    .leads_today
                    .get(&sale.period.buyer_id)
                    .copied()
                    .unwrap_or(0);
                let spent = Cents(self.spend.get(&sale.period.buyer_id).copied().unwrap_or(0));
                let recorded = self
                    .ledger
                    .iter()
                    .any(|l| l.entry_id == sale.ledger.entry_id);
                if sale
                    .refusal(recorded, u32::try_from(today).unwrap_or(0), spent, false)
                    .is_some()
                {
                    return false;
                }
                *self
                    .leads_today
                    .entry(sale.period.buyer_id.clone())
                    .or_default() += 1;
                *self.spend.entry(sale.period.buyer_id.clone()).or_default() += sale.price.0;
                self.ledger.push(sale.ledger.clone());
            }
            Write::Release(release) => {
                assert!(
                    !self
                        .ledger
                        .iter()
                        .any(|l| l.entry_id == release.ledger.entry_id),
                    "a ledger line is written once: {}",
                    release.ledger.entry_id
                );
                *self
                    .leads_today
                    .entry(release.period.buyer_id.clone())
                    .or_default() -= 1;
                *self
                    .spend
                    .entry(release.period.buyer_id.clone())
                    .or_default() -= release.price.0;
                self.ledger.push(release.ledger.clone());
            }
        }
        let before = self.record.as_ref().map_or(0, |r| r.notices.len());
        for n in &change.record.notices[before..] {
            self.notices_due.push((n.buyer_id.clone(), n.kind));
        }
        self.record = Some(LeadRecord {
            version: change.record.version + 1,
            ..change.record
        });
        true
    }

    /// The invariants that must hold after any sequence of events.
    fn check(&self) {
        let record = self.record.as_ref().expect("record");
        assert!(
            ledger_agrees(record, &self.ledger),
            "the ledger nets to what is billed: {:?} vs {:?}",
            record.billed,
            self.ledger
        );
        for i in 0..3 {
            let b = buyer(i);
            let holds = record.sale.as_ref().is_some_and(|s| s.buyer_id == b);
            let count = self.leads_today.get(&b).copied().unwrap_or(0);
            let spend = self.spend.get(&b).copied().unwrap_or(0);
            assert_eq!(
                count,
                i64::from(holds),
                "{b}: cap count equals the standing sale"
            );
            let price = record
                .sale
                .as_ref()
                .filter(|_| holds)
                .map_or(0, |s| s.price.0);
            assert_eq!(spend, price, "{b}: spend equals the standing sale");
        }
        if record.state == LeadState::Sold {
            assert!(record.sale.is_some(), "sold with its sale");
        }
        if matches!(
            record.state,
            LeadState::Queued
                | LeadState::Unsold
                | LeadState::Waiting
                | LeadState::Expired
                | LeadState::DeadLettered
        ) {
            assert!(record.sale.is_none(), "{:?} holds no sale", record.state);
            assert_eq!(record.billed, Some(Cents::ZERO));
        }
        let mut ids: Vec<&str> = self.ledger.iter().map(|l| l.entry_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), self.ledger.len(), "ledger ids are unique");
        for notice in &record.notices {
            assert!(
                record.excluded.contains(&notice.buyer_id)
                    || record
                        .sale
                        .as_ref()
                        .is_some_and(|s| s.buyer_id == notice.buyer_id),
                "a notice goes only to a buyer that had the lead"
            );
        }
    }
}

#[test]
fn given_a_queued_lead_when_sold_then_the_sale_carries_the_caps_the_ledger_line_and_the_claims() {
    let change = next(&queued(), &order(0, 12_500, at(1)), at(1), &[]).expect("sold");
    assert_eq!(change.record.state, LeadState::Sold);
    assert_eq!(change.record.billed, Some(Cents(12_500)));
    let Write::Sale(sale) = change.write else {
        panic!("a sale")
    };
    assert_eq!(sale.ledger.entry_id, "sale#1");
    assert_eq!(sale.ledger.amount, Cents(12_500));
    assert_eq!(sale.daily_limit, 2);
    assert_eq!(sale.contact_keys, ["phone-key"]);
    assert_eq!(
        sale.record, change.record,
        "the sale stores the record it decided"
    );
}

fn sold() -> LeadRecord {
    let change = next(&queued(), &order(0, 12_500, at(1)), at(1), &[]).expect("sold");
    LeadRecord {
        version: 2,
        ..change.record
    }
}

#[test]
fn given_a_sold_lead_when_the_webhook_answers_404_then_the_sale_is_released_at_once_and_the_buyer_told()
 {
    // GIVEN a sold lead WHEN the one attempt gets a permanent answer (it reached the buyer)
    let change = next(
        &sold(),
        &delivery(0, failed(1, true, true, false)),
        at(2),
        &["phone-key".into()],
    )
    .expect("released");
    // THEN it is queued again without the buyer, nothing billed, and a notice is owed
    assert_eq!(change.record.state, LeadState::Queued);
    assert_eq!(change.record.excluded, [buyer(0)]);
    assert_eq!(change.record.billed, Some(Cents::ZERO));
    let Write::Release(release) = &change.write else {
        panic!("a release")
    };
    assert_eq!(release.ledger.entry_id, "release#1");
    assert_eq!(release.ledger.amount, Cents(-12_500));
    assert_eq!(release.contact_keys, ["phone-key"]);
    let notice = change.record.unsent_notices().next().expect("owed");
    assert_eq!(
        (notice.buyer_id.clone(), notice.kind),
        (buyer(0), NoticeKind::Released)
    );
}

#[test]
fn given_a_sold_lead_when_the_url_is_refused_then_it_is_released_and_no_notice_is_owed() {
    let change = next(
        &sold(),
        &delivery(0, failed(0, false, true, false)),
        at(2),
        &[],
    )
    .expect("released");
    assert_eq!(change.record.state, LeadState::Queued);
    assert!(
        change.record.notices.is_empty(),
        "nothing reached the buyer"
    );
}

#[test]
fn given_a_retryable_failure_then_the_lead_stays_sold_until_the_attempts_or_the_receives_run_out() {
    // GIVEN three failed attempts on the first receive: still sold, attempts counted
    let first = next(
        &sold(),
        &delivery(0, failed(3, true, false, false)),
        at(2),
        &[],
    )
    .expect("counted");
    assert_eq!(first.record.state, LeadState::Sold);
    assert_eq!(first.record.delivery_attempts, 3);
    assert_eq!(first.write, Write::Record);
    // WHEN the second receive fails three more: released (six attempts), notice owed
    let second = next(
        &LeadRecord {
            version: 3,
            ..first.record.clone()
        },
        &delivery(0, failed(3, false, false, false)),
        at(5),
        &[],
    )
    .expect("released");
    assert_eq!(second.record.state, LeadState::Queued);
    assert!(
        second
            .record
            .unsent_notices()
            .any(|n| n.buyer_id == buyer(0))
    );
    // AND on the message's last receive one failed attempt is enough
    let last = next(
        &sold(),
        &delivery(0, failed(1, false, false, true)),
        at(2),
        &[],
    )
    .expect("released");
    assert_eq!(
        last.record.state,
        LeadState::Queued,
        "never left sold for the DLQ"
    );
    assert!(
        last.record.notices.is_empty(),
        "the attempt never connected"
    );
}

#[test]
fn given_a_refusal_at_post_then_the_sale_is_released_without_a_notice() {
    let change = next(
        &sold(),
        &delivery(
            0,
            DeliveryResult::Refused {
                code: "outside_service_area".into(),
            },
        ),
        at(2),
        &[],
    )
    .expect("released");
    assert_eq!(change.record.state, LeadState::Queued);
    assert!(change.record.notices.is_empty());
    assert!(
        change
            .record
            .history
            .last()
            .is_some_and(|t| t.note.contains("rejected_at_post:outside_service_area"))
    );
}

#[test]
fn given_an_answer_from_another_buyer_then_it_changes_nothing() {
    let refused = next(&sold(), &delivery(1, DeliveryResult::Accepted), at(2), &[]);
    assert!(matches!(refused, Err(Refused::NotAllowed { .. })));
}

#[test]
fn given_a_sold_lead_not_yet_posted_when_withdrawn_then_the_sale_is_released_and_nobody_is_told() {
    let change = next(&sold(), &withdrawal(at(2)), at(2), &[]).expect("withdrawn");
    assert_eq!(change.record.state, LeadState::Withdrawn);
    assert_eq!(change.record.billed, Some(Cents::ZERO));
    assert!(change.record.notices.is_empty());
    let Write::Release(release) = &change.write else {
        panic!("a release")
    };
    assert_eq!(release.ledger.kind, LedgerKind::Release);
    assert!(
        release.contact_keys.is_empty(),
        "the claims stay: not sold again"
    );
    assert_eq!(
        change.record.withdrawal.as_ref().and_then(|w| w.from),
        Some(LeadState::Sold)
    );
    assert_eq!(release.record, change.record);
}

#[test]
fn given_a_withdrawal_while_the_delivery_was_under_way_when_the_buyer_accepts_then_it_is_owed_the_withdrawal()
 {
    let withdrawn = next(&sold(), &withdrawal(at(2)), at(2), &[]).expect("withdrawn");
    let record = LeadRecord {
        version: 3,
        ..withdrawn.record
    };
    let change =
        next(&record, &delivery(0, DeliveryResult::Accepted), at(3), &[]).expect("notice owed");
    let notice = change.record.unsent_notices().next().expect("owed");
    assert_eq!(notice.kind, NoticeKind::Withdrawn);
    assert_eq!(change.write, Write::Record, "no money moves again");
    let again = next(
        &LeadRecord {
            version: 4,
            ..change.record
        },
        &delivery(0, DeliveryResult::Accepted),
        at(3),
        &[],
    );
    assert_eq!(again, Err(Refused::Unchanged), "owed once");
}

fn delivered() -> LeadRecord {
    let change =
        next(&sold(), &delivery(0, DeliveryResult::Accepted), at(2), &[]).expect("delivered");
    LeadRecord {
        version: 3,
        ..change.record
    }
}

#[test]
fn given_a_delivered_lead_when_withdrawn_then_the_buyer_is_credited_in_full_and_told() {
    let change = next(&delivered(), &withdrawal(at(30)), at(30), &[]).expect("withdrawn");
    assert_eq!(change.record.state, LeadState::Withdrawn);
    let Write::Release(release) = &change.write else {
        panic!("a credit")
    };
    assert_eq!(release.ledger.kind, LedgerKind::Credit);
    assert_eq!(release.ledger.entry_id, "credit#1");
    assert_eq!(release.ledger.amount, Cents(-12_500));
    let notice = change.record.unsent_notices().next().expect("owed");
    assert_eq!(
        (notice.kind, notice.reason.as_str()),
        (NoticeKind::Withdrawn, "consent_withdrawn")
    );
}

fn after_feedback(
    kind: FeedbackType,
    reason: Option<ReasonCode>,
    value: Option<Cents>,
) -> LeadRecord {
    let event = FeedbackEvent {
        message_id: "msg_1".into(),
        lead_id: "lead_life".into(),
        buyer_id: buyer(0),
        kind,
        reason,
        score_tenths: None,
        reason_text: None,
        conversion_value: value,
        notes: None,
        received_at: at(60),
    };
    let room = MonthToDate {
        kept: 50,
        credits: 0,
    };
    let change =
        feedback::decide(&FeedbackRules::default(), &event, &delivered(), room).expect("recorded");
    LeadRecord {
        version: 4,
        ..change.lead
    }
}

#[test]
fn given_an_accepted_lead_when_withdrawn_inside_the_return_window_then_credited_after_it_only_told()
{
    let accepted = after_feedback(FeedbackType::Accepted, None, None);
    let inside = next(&accepted, &withdrawal(at(120)), at(120), &[]).expect("withdrawn");
    assert!(matches!(inside.write, Write::Release(_)));
    let late = at(60 * 24 * 8);
    let outside = next(&accepted, &withdrawal(late), late, &[]).expect("withdrawn");
    assert_eq!(
        outside.write,
        Write::Record,
        "the window closed: the sale stands"
    );
    assert_eq!(outside.record.billed, Some(Cents(12_500)));
    assert!(
        outside
            .record
            .unsent_notices()
            .any(|n| n.kind == NoticeKind::Withdrawn)
    );
}

#[test]
fn given_a_converted_or_credited_lead_when_withdrawn_then_the_buyer_is_told_and_no_money_moves() {
    let converted = after_feedback(FeedbackType::Converted, None, Some(Cents(2_000_000)));
    let change = next(&converted, &withdrawal(at(120)), at(120), &[]).expect("withdrawn");
    assert_eq!(change.write, Write::Record);
    assert_eq!(change.record.billed, Some(Cents(12_500)));
    let returned = after_feedback(FeedbackType::Returned, Some(ReasonCode::WrongNumber), None);
    assert_eq!(returned.billed, Some(Cents::ZERO), "credited by the return");
    let change = next(&returned, &withdrawal(at(120)), at(120), &[]).expect("withdrawn");
    assert_eq!(change.write, Write::Record, "not credited twice");
    assert!(
        change
            .record
            .unsent_notices()
            .any(|n| n.kind == NoticeKind::Withdrawn)
    );
}

#[test]
fn given_a_withdrawn_lead_when_withdrawn_again_then_nothing_changes() {
    let once = next(&queued(), &withdrawal(at(2)), at(2), &[]).expect("withdrawn");
    assert_eq!(once.write, Write::Record);
    let twice = next(&once.record, &withdrawal(at(3)), at(3), &[]);
    assert_eq!(twice, Err(Refused::Unchanged));
}

#[test]
fn given_a_withdrawn_lead_when_the_homeowner_has_their_contact_erased_then_the_record_notes_it_once()
 {
    use crate::domain::erasure::{ContactErasure, ContactField, ErasureRequester};
    let withdrawn = next(&queued(), &withdrawal(at(2)), at(2), &[]).expect("withdrawn");
    let erasure = ContactErasure {
        at: at(2),
        requested_by: ErasureRequester::Homeowner,
        fields: vec![ContactField::Phone],
        consent: None,
    };
    // WHEN the erasure is noted
    let noted = next(
        &withdrawn.record,
        &LeadEvent::ContactErased(erasure.clone()),
        at(2),
        &[],
    )
    .expect("noted");
    // THEN the record says so, in its state as it was, and nothing else moves
    assert_eq!(noted.write, Write::Record);
    assert_eq!(noted.record.contact_erased, Some(erasure.clone()));
    assert_eq!(noted.record.state, LeadState::Withdrawn);
    assert_eq!(noted.record.history, withdrawn.record.history);
    assert_eq!(noted.record.notices, withdrawn.record.notices);
    // AND the same erasure again changes nothing; a later one is noted
    assert_eq!(
        next(
            &noted.record,
            &LeadEvent::ContactErased(erasure.clone()),
            at(3),
            &[]
        ),
        Err(Refused::Unchanged)
    );
    let later = ContactErasure {
        at: at(9),
        fields: Vec::new(),
        ..erasure
    };
    let again = next(
        &noted.record,
        &LeadEvent::ContactErased(later.clone()),
        at(9),
        &[],
    )
    .expect("noted");
    assert_eq!(again.record.contact_erased, Some(later));
}

#[test]
fn given_a_sold_lead_whose_message_dead_lettered_then_it_is_released_marked_and_can_be_redriven() {
    let change = next(
        &sold(),
        &LeadEvent::DeadLettered {
            reason: "stuck_in_flight",
        },
        at(40),
        &[],
    )
    .expect("dead-lettered");
    assert_eq!(change.record.state, LeadState::DeadLettered);
    assert!(matches!(change.write, Write::Release(_)));
    let redriven = next(&change.record, &LeadEvent::Redriven, at(41), &[]).expect("queued");
    assert_eq!(redriven.record.state, LeadState::Queued);
    assert_eq!(
        redriven.record.excluded,
        [buyer(0)],
        "not offered to the same buyer"
    );
    assert_eq!(
        next(
            &delivered(),
            &LeadEvent::DeadLettered { reason: "x" },
            at(40),
            &[]
        ),
        Err(Refused::Unchanged),
        "a finished lead stays as it is"
    );
}

#[test]
fn given_an_owed_notice_when_sent_then_it_is_marked_once() {
    let withdrawn = next(&delivered(), &withdrawal(at(30)), at(30), &[]).expect("withdrawn");
    let sent = LeadEvent::NoticeSent {
        buyer: buyer(0),
        kind: NoticeKind::Withdrawn,
    };
    let change = next(&withdrawn.record, &sent, at(31), &[]).expect("marked");
    assert_eq!(change.record.unsent_notices().count(), 0);
    assert_eq!(
        next(&change.record, &sent, at(32), &[]),
        Err(Refused::Unchanged)
    );
}

#[test]
fn given_leads_in_flight_then_only_those_past_the_bound_are_stuck() {
    let record = sold();
    assert!(!stuck(&record, at(1) + IN_FLIGHT_BOUND));
    assert!(stuck(&record, at(2) + IN_FLIGHT_BOUND));
    assert!(!stuck(&delivered(), at(600)));
}

fn no_buyer(reason: &str, shelf_until: DateTime<Utc>) -> LeadEvent {
    LeadEvent::NoBuyer {
        reason: reason.into(),
        routing: Box::new(decision()),
        shelf_until,
    }
}

fn applied(record: &LeadRecord, event: &LeadEvent, now: DateTime<Utc>) -> LeadRecord {
    let change = next(record, event, now, &[]).expect("allowed");
    assert_eq!(change.write, Write::Record, "no money moves");
    LeadRecord {
        version: change.record.version + 1,
        ..change.record
    }
}

#[test]
fn given_no_buyer_now_within_the_shelf_life_then_the_lead_waits_with_its_reason() {
    let waiting = applied(&queued(), &no_buyer("no_eligible_buyer", at(60)), at(1));
    assert_eq!(waiting.state, LeadState::Waiting);
    assert_eq!(waiting.unsold_reason.as_deref(), Some("no_eligible_buyer"));
    assert!(!waiting.state.in_flight(), "a waiting lead is not stuck");
}

#[test]
fn given_a_duplicate_contact_then_the_lead_is_unsold_for_good() {
    let unsold = applied(&queued(), &no_buyer("duplicate", at(60)), at(1));
    assert_eq!(unsold.state, LeadState::Unsold);
}

#[test]
fn given_no_buyer_past_the_shelf_life_then_the_lead_expires_with_its_last_reason() {
    let expired = applied(&queued(), &no_buyer("held_for_capacity", at(60)), at(60));
    assert_eq!(expired.state, LeadState::Expired);
    assert_eq!(expired.unsold_reason.as_deref(), Some("held_for_capacity"));
    let waiting = applied(&queued(), &no_buyer("held_for_capacity", at(60)), at(2));
    let expired = applied(&waiting, &LeadEvent::ShelfLifeOver, at(61));
    assert_eq!(expired.state, LeadState::Expired);
    assert!(
        expired
            .history
            .last()
            .is_some_and(|t| t.note.contains("held_for_capacity")),
        "{:?}",
        expired.history
    );
}

#[test]
fn given_a_waiting_lead_when_re_offered_then_it_is_queued_once_with_its_new_score() {
    let waiting = applied(&queued(), &no_buyer("no_eligible_buyer", at(60)), at(1));
    let event = LeadEvent::Reoffered {
        offer: 1,
        score: 91,
        tier: QualityTier::Premium,
    };
    let queued_again = applied(&waiting, &event, at(5));
    assert_eq!(queued_again.state, LeadState::Queued);
    assert_eq!(
        (queued_again.offers, queued_again.score, queued_again.tier),
        (1, Some(91), Some(QualityTier::Premium))
    );
    // The same re-offer again (a repeated message) changes nothing once it waits again.
    let waiting_again = applied(&queued_again, &no_buyer("no_eligible_buyer", at(60)), at(6));
    assert_eq!(
        next(&waiting_again, &event, at(7), &[]),
        Err(Refused::Unchanged)
    );
    // A re-offer reaches only a waiting lead.
    assert!(matches!(
        next(&queued(), &event, at(7), &[]),
        Err(Refused::NotAllowed { .. })
    ));
}

#[test]
fn given_a_waiting_lead_when_consent_is_withdrawn_then_it_is_withdrawn_owing_nothing() {
    let waiting = applied(&queued(), &no_buyer("no_eligible_buyer", at(60)), at(1));
    let withdrawn = applied(&waiting, &withdrawal(at(3)), at(3));
    assert_eq!(withdrawn.state, LeadState::Withdrawn);
    assert!(withdrawn.notices.is_empty());
    assert_eq!(withdrawn.billed, Some(Cents::ZERO));
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Act {
    Sell(usize, i64),
    NoBuyer,
    Reoffer(u32),
    ShelfLifeOver,
    Accept(usize),
    Refuse(usize),
    Fail {
        buyer: usize,
        attempts: u32,
        reached: bool,
        permanent: bool,
        last: bool,
    },
    Gone,
    Withdraw,
    DeadLetter,
    Redrive,
    Feedback(u8),
    NoticeSent(usize, bool),
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => (0..3usize, 5_000..40_000i64).prop_map(|(b, p)| Act::Sell(b, p)),
        1 => Just(Act::NoBuyer),
        1 => (0..4u32).prop_map(Act::Reoffer),
        1 => Just(Act::ShelfLifeOver),
        3 => (0..3usize).prop_map(Act::Accept),
        1 => (0..3usize).prop_map(Act::Refuse),
        3 => (0..3usize, 0..4u32, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(buyer, attempts, reached, permanent, last)| Act::Fail {
                buyer,
                attempts,
                reached,
                permanent,
                last,
            }
        ),
        1 => Just(Act::Gone),
        1 => Just(Act::Withdraw),
        1 => Just(Act::DeadLetter),
        1 => Just(Act::Redrive),
        2 => (0..4u8).prop_map(Act::Feedback),
        1 => (0..3usize, any::<bool>()).prop_map(|(b, w)| Act::NoticeSent(b, w)),
    ]
}

fn feedback_event(kind: u8, buyer_id: BuyerId, now: DateTime<Utc>) -> FeedbackEvent {
    let (kind, reason, value) = match kind {
        0 => (FeedbackType::Accepted, None, None),
        1 => (FeedbackType::Rejected, Some(ReasonCode::Duplicate), None),
        2 => (FeedbackType::Returned, Some(ReasonCode::WrongNumber), None),
        _ => (FeedbackType::Converted, None, Some(Cents(1_500_000))),
    };
    FeedbackEvent {
        message_id: format!("msg_{now}"),
        lead_id: "lead_life".into(),
        buyer_id,
        kind,
        reason,
        score_tenths: None,
        reason_text: None,
        conversion_value: value,
        notes: None,
        received_at: now,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// GIVEN any sequence of events on a lead WHEN each is applied as the machine says
    /// THEN after every step the ledger nets to what is billed, each buyer's cap count and
    /// spend equal the sale that stands with it, no lead is left sold by a last receive or
    /// a dead letter, a release after a possible delivery owes that buyer a notice, and
    /// every ledger line is written once.
    #[test]
    fn every_history_keeps_the_books_and_the_notices(acts in prop::collection::vec(act(), 1..40)) {
        let mut books = Books { record: Some(queued()), ..Books::default() };
        for (i, a) in acts.iter().enumerate() {
            let now = at(i as i64 + 1);
            let record = books.record.clone().expect("record");
            let holder = record.sale.as_ref().map(|s| s.buyer_id.clone());
            if let Act::Feedback(kind) = a {
                let Some(holder) = holder else { continue };
                let room = MonthToDate { kept: 50, credits: 0 };
                if let Ok(change) = feedback::decide(
                    &FeedbackRules::default(),
                    &feedback_event(*kind, holder, now),
                    &record,
                    room,
                ) {
                    books.apply(Change { record: change.lead, write: Write::Record });
                    // A credit's ledger line is the feedback store's to write.
                    if let Some(line) = change.ledger.filter(|l| l.kind.is_revenue()) {
                        books.ledger.push(line);
                    }
                }
                books.check();
                continue;
            }
            let event = match a {
                Act::Sell(b, p) => order(*b, *p, now),
                Act::NoBuyer => LeadEvent::NoBuyer {
                    reason: "no_eligible_buyer".into(),
                    routing: Box::new(decision()),
                    shelf_until: at(30),
                },
                Act::Reoffer(n) => LeadEvent::Reoffered { offer: *n, score: 72, tier: QualityTier::Standard },
                Act::ShelfLifeOver => LeadEvent::ShelfLifeOver,
                Act::Accept(b) => delivery(*b, DeliveryResult::Accepted),
                Act::Refuse(b) => delivery(*b, DeliveryResult::Refused { code: "other".into() }),
                Act::Fail { buyer: b, attempts, reached, permanent, last } =>
                    delivery(*b, failed(*attempts, *reached, *permanent, *last)),
                Act::Gone => LeadEvent::BuyerGone { reason: "buyer_removed" },
                Act::Withdraw => withdrawal(now),
                Act::DeadLetter => LeadEvent::DeadLettered { reason: "dead_letter_queue" },
                Act::Redrive => LeadEvent::Redriven,
                Act::NoticeSent(b, w) => LeadEvent::NoticeSent {
                    buyer: buyer(*b),
                    kind: if *w { NoticeKind::Withdrawn } else { NoticeKind::Released },
                },
                Act::Feedback(_) => unreachable!("handled above"),
            };
            let Ok(change) = next(&record, &event, now, &[]) else {
                books.check();
                continue;
            };
            let owed_notice = match (&change.write, &event) {
                (Write::Release(_), LeadEvent::Delivery { result: DeliveryResult::Refused { .. }, .. }) => false,
                (Write::Release(_), LeadEvent::Withdrawn(_)) => {
                    record.delivery_reached || record.state != LeadState::Sold
                }
                (Write::Release(_), LeadEvent::Delivery { result: DeliveryResult::Failed { reached, .. }, .. }) => {
                    record.delivery_reached || *reached
                }
                (Write::Release(_), _) => record.delivery_reached,
                _ => false,
            };
            let notices_before = books.notices_due.len();
            let applied = books.apply(change);
            if applied && owed_notice {
                prop_assert!(
                    books.notices_due[notices_before..].iter().any(|(b, _)| Some(b) == holder.as_ref()),
                    "a release after a possible delivery owes the buyer a notice"
                );
            }
            let after = books.record.as_ref().expect("record");
            if applied
                && let LeadEvent::Delivery { result: DeliveryResult::Failed { last_receive: true, .. }, .. }
                | LeadEvent::DeadLettered { .. } = event
            {
                prop_assert_ne!(after.state, LeadState::Sold, "never left sold");
            }
            books.check();
        }
    }
}
