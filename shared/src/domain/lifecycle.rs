//! The life of a lead as one state machine. Every use case that moves a lead (the router,
//! the conversation on a withdrawal, the reconcile job, a redrive) loads the record, asks
//! [`next`] what an event does to it, and applies the answer in one transaction: the record
//! as it will be stored, plus the sale or release that goes with it (the buyer's counters,
//! the ledger line, the contact claims). Notices owed to buyers are written into the record
//! with the change that makes them due, and sent afterwards.
//!
//! ```text
//!            ┌──────── refused / failed / buyer gone (released, buyer excluded) ───────┐
//!            ▼                                                                         │
//! queued ──sold──► sold ──accepted──► delivered ──feedback──► accepted | rejected | returned
//!   │                │                                          └──► converted
//!   ├─no buyer now─► waiting ──re-offered──► queued                        (domain::feedback)
//!   │                   └──shelf life over──► expired
//!   ├─no buyer ever (duplicate contact)─► unsold
//!   ├─message dead-lettered─► dead_lettered ──redrive──► queued
//!   └─withdrawn (from any state)─► withdrawn
//! ```
//!
//! A homeowner who has their contact details erased ("delete my data") withdraws the lead
//! like a consent withdrawal, then [`LeadEvent::ContactErased`] notes the erasure on the
//! record (when, on their request), in whatever state it is, without changing it.
//!
//! A lead that cannot be sold now waits: the re-offer sweep (`usecases::reoffer`) offers it
//! again when a buyer that could take it opens, resets its cap or gets capacity back,
//! until its shelf life ends; the router prices it at its age (`domain::pricing`).
//!
//! The money rules, the same for every adapter:
//! * a sale adds its price to the ledger, one lead to the buyer's day and the price to its
//!   month, within the caps ([`Sale::refusal`]);
//! * a release (refused at post, failed delivery, dead-lettered, withdrawn before delivery)
//!   gives all of it back with a `release#n` line;
//! * a withdrawal after delivery gives it back with a `credit#n` line, unless the buyer
//!   converted the lead or the return window had closed after it accepted it; returns and
//!   rejections already credited are not credited twice;
//! * a buyer whose sale is undone after an attempt that may have reached it is owed a signed
//!   notice (`lead.released`, or `lead.withdrawn` on a withdrawal).

use super::buyer::BuyerId;
use super::conversation::ConsentWithdrawal;
use super::erasure::ContactErasure;
use super::lead::{BuyerNotice, LeadRecord, LeadState, LeadWithdrawal, NoticeKind, SaleTerms};
use super::money::Cents;
use super::routing::{RoutingDecision, UnsoldReason};
use super::sale::{CounterPeriod, LedgerEntry, LedgerKind, Release, Sale};
use super::scoring::QualityTier;
use chrono::{DateTime, Utc};

/// Whether a lead no buyer takes now may wait for a re-offer: not when its contact details
/// were sold within the dedup window (no buyer may take it inside the shelf life).
pub fn may_wait(reason: &str) -> bool {
    reason != UnsoldReason::Duplicate.as_str()
}

/// Delivery attempts to one buyer, over all receives of the message, before the lead is
/// released and cascades.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 6;

/// What can happen to a lead.
#[derive(Debug, Clone, PartialEq)]
pub enum LeadEvent {
    /// The router chose a buyer and priced the lead.
    Sold(Box<SaleOrder>),
    /// No buyer can take it now. It waits for a re-offer until `shelf_until`, unless the
    /// reason is one no later moment can lift ([`may_wait`]).
    NoBuyer {
        reason: String,
        routing: Box<RoutingDecision>,
        shelf_until: DateTime<Utc>,
    },
    /// A waiting lead offered again: the `offer`th re-offer, scored on the conversation as it
    /// stands now.
    Reoffered {
        offer: u32,
        score: u8,
        tier: QualityTier,
    },
    /// Its shelf life ended while it waited.
    ShelfLifeOver,
    /// What the buyer's webhook answered.
    Delivery {
        buyer: BuyerId,
        result: DeliveryResult,
    },
    /// The buyer was removed, or the lead cannot lawfully be delivered (`reason` is a code).
    BuyerGone { reason: &'static str },
    /// The homeowner withdrew consent.
    Withdrawn(ConsentWithdrawal),
    /// The homeowner had their contact details erased (in any state: the record notes it,
    /// nothing else changes; a queued or sold lead is withdrawn by its own event first).
    ContactErased(ContactErasure),
    /// Its queue message reached the dead-letter queue, or it sat in flight past its bound.
    DeadLettered { reason: &'static str },
    /// `aurum leads redrive` queued it again.
    Redriven,
    /// The sales team offers an ended lead (expired, unsold or dead-lettered) again: it
    /// waits for its next offer, with a new shelf life from now.
    Revived,
    /// A buyer answered a notice with a 2xx.
    NoticeSent { buyer: BuyerId, kind: NoticeKind },
}

impl LeadEvent {
    pub fn name(&self) -> &'static str {
        match self {
            LeadEvent::Sold(_) => "sold",
            LeadEvent::NoBuyer { .. } => "no_buyer",
            LeadEvent::Reoffered { .. } => "reoffered",
            LeadEvent::ShelfLifeOver => "shelf_life_over",
            LeadEvent::Delivery { result, .. } => match result {
                DeliveryResult::Accepted => "delivery_accepted",
                DeliveryResult::Refused { .. } => "delivery_refused",
                DeliveryResult::Failed { .. } => "delivery_failed",
            },
            LeadEvent::BuyerGone { .. } => "buyer_gone",
            LeadEvent::Withdrawn(_) => "withdrawn",
            LeadEvent::ContactErased(_) => "contact_erased",
            LeadEvent::DeadLettered { .. } => "dead_lettered",
            LeadEvent::Redriven => "redriven",
            LeadEvent::Revived => "revived",
            LeadEvent::NoticeSent { .. } => "notice_sent",
        }
    }
}

/// A sale as the router decided it, with the limits it must fit in.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleOrder {
    pub terms: SaleTerms,
    pub routing: RoutingDecision,
    pub period: CounterPeriod,
    /// At most this many leads in the buyer's day (its cap minus the buffer).
    pub daily_limit: u32,
    pub monthly_spend_cap: Option<Cents>,
    /// Keyed hashes of the homeowner's phone and email, claimed until `claim_until`.
    pub contact_keys: Vec<String>,
    pub claim_until: DateTime<Utc>,
}

/// How one delivery (one or more attempts within one receive of the message) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Accepted,
    /// The buyer refused the lead at post time (a reason code, no personal data).
    Refused {
        code: String,
    },
    Failed {
        attempts: u32,
        /// A request went out and may have arrived (a timeout, an answer we cannot use).
        reached: bool,
        /// Retrying cannot help: a 4xx that is not a refusal, a redirect, a URL delivery
        /// refuses.
        permanent: bool,
        /// This is the message's last receive before the dead-letter queue: the lead must
        /// not stay sold.
        last_receive: bool,
    },
}

/// Where and how to apply a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// The record alone, on its version.
    Record,
    /// A sale: the record, the buyer's counters (within the caps), the ledger line, the
    /// contact claims.
    Sale(Box<Sale>),
    /// A sale undone: the record, the counters given back, the negative ledger line.
    Release(Box<Release>),
}

/// What an event does: the record as it will be stored (its `version` is the one read)
/// and how to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub record: LeadRecord,
    pub write: Write,
}

impl Change {
    fn record(record: LeadRecord) -> Change {
        Change {
            record,
            write: Write::Record,
        }
    }
}

/// Why an event changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// It happened already (a repeated withdrawal, a notice marked sent).
    #[error("nothing to change")]
    Unchanged,
    /// The lead is not in a state the event applies to (a stale message, a race lost).
    #[error("a lead that is {from} cannot take {event}")]
    NotAllowed {
        from: &'static str,
        event: &'static str,
    },
}

fn not_allowed(record: &LeadRecord, event: &LeadEvent) -> Refused {
    Refused::NotAllowed {
        from: record.state.as_str(),
        event: event.name(),
    }
}

/// The change `event` makes to `record` at `now`. `contact_keys` are the lead's keyed
/// contact hashes, released with a sale the router gives back (a withdrawal keeps them
/// claimed: the homeowner's details are not sold again inside the window).
pub fn next(
    record: &LeadRecord,
    event: &LeadEvent,
    now: DateTime<Utc>,
    contact_keys: &[String],
) -> Result<Change, Refused> {
    match (record.state, event) {
        (LeadState::Queued, LeadEvent::Sold(order)) => Ok(sell(record, order, now)),
        (
            LeadState::Queued,
            LeadEvent::NoBuyer {
                reason,
                routing,
                shelf_until,
            },
        ) => {
            let mut next = if !may_wait(reason) {
                record.moved(LeadState::Unsold, now, format!("unsold: {reason}"))
            } else if now >= *shelf_until {
                record.moved(
                    LeadState::Expired,
                    now,
                    format!("expired at the end of its shelf life: {reason}"),
                )
            } else {
                record.moved(
                    LeadState::Waiting,
                    now,
                    format!("waiting for a buyer: {reason}"),
                )
            };
            next.unsold_reason = Some(reason.clone());
            next.routing = Some((**routing).clone());
            Ok(Change::record(next))
        }
        (LeadState::Waiting, LeadEvent::Reoffered { offer, score, tier }) => {
            if *offer <= record.offers {
                return Err(Refused::Unchanged);
            }
            let mut next = record.moved(
                LeadState::Queued,
                now,
                format!("re-offered ({offer}), {} at {score}", tier.as_str()),
            );
            next.offers = *offer;
            next.score = Some(*score);
            next.tier = Some(*tier);
            Ok(Change::record(next))
        }
        (LeadState::Waiting, LeadEvent::ShelfLifeOver) => {
            let reason = record
                .unsold_reason
                .as_deref()
                .unwrap_or("no_eligible_buyer");
            Ok(Change::record(record.moved(
                LeadState::Expired,
                now,
                format!("expired at the end of its shelf life: {reason}"),
            )))
        }
        (LeadState::Sold, LeadEvent::Delivery { buyer, result }) => {
            let Some(sale) = record.sale.as_ref().filter(|s| &s.buyer_id == buyer) else {
                return Err(not_allowed(record, event));
            };
            Ok(delivered(record, sale, result, now, contact_keys))
        }
        // The buyer accepted a delivery that was under way when the homeowner withdrew:
        // it holds the lead now, so it is owed the withdrawal.
        (LeadState::Withdrawn, LeadEvent::Delivery { buyer, result }) => {
            let may_hold = matches!(result, DeliveryResult::Accepted)
                || matches!(result, DeliveryResult::Failed { reached: true, .. });
            let was_sold = record
                .withdrawal
                .as_ref()
                .is_some_and(|w| w.from == Some(LeadState::Sold));
            let told = record
                .notices
                .iter()
                .any(|n| &n.buyer_id == buyer && n.kind == NoticeKind::Withdrawn);
            if !(may_hold && was_sold && record.excluded.contains(buyer)) {
                return Err(not_allowed(record, event));
            }
            if told {
                return Err(Refused::Unchanged);
            }
            let mut next = record.clone();
            next.updated_at = now;
            next.notices.push(BuyerNotice {
                buyer_id: buyer.clone(),
                kind: NoticeKind::Withdrawn,
                at: record.withdrawal.as_ref().map_or(now, |w| w.at),
                reason: "consent_withdrawn".into(),
                sent_at: None,
            });
            Ok(Change::record(next))
        }
        (LeadState::Sold, LeadEvent::BuyerGone { reason }) => {
            give_back(record, now, reason, LeadState::Queued, contact_keys)
        }
        (_, LeadEvent::Withdrawn(withdrawal)) => withdraw(record, withdrawal),
        (_, LeadEvent::ContactErased(erasure)) => {
            if record
                .contact_erased
                .as_ref()
                .is_some_and(|kept| kept.at >= erasure.at)
            {
                return Err(Refused::Unchanged);
            }
            let mut next = record.clone();
            next.contact_erased = Some(erasure.without_consent());
            next.updated_at = record.updated_at.max(erasure.at);
            Ok(Change::record(next))
        }
        (LeadState::Queued, LeadEvent::DeadLettered { reason }) => {
            Ok(Change::record(record.moved(
                LeadState::DeadLettered,
                now,
                format!("dead-lettered: {reason}"),
            )))
        }
        (LeadState::Sold, LeadEvent::DeadLettered { reason }) => {
            give_back(record, now, reason, LeadState::DeadLettered, contact_keys)
        }
        (_, LeadEvent::DeadLettered { .. }) => Err(Refused::Unchanged),
        (LeadState::Expired | LeadState::Unsold | LeadState::DeadLettered, LeadEvent::Revived) => {
            let mut next = record.moved(LeadState::Waiting, now, "offered again by the sales team");
            next.revived_at = Some(now);
            Ok(Change::record(next))
        }
        (LeadState::DeadLettered, LeadEvent::Redriven) => Ok(Change::record(record.moved(
            LeadState::Queued,
            now,
            "redriven from the dead-letter queue",
        ))),
        (_, LeadEvent::NoticeSent { buyer, kind }) => {
            let mut next = record.clone();
            let mut marked = false;
            for notice in next
                .notices
                .iter_mut()
                .filter(|n| &n.buyer_id == buyer && n.kind == *kind && n.sent_at.is_none())
            {
                notice.sent_at = Some(now);
                marked = true;
            }
            if !marked {
                return Err(Refused::Unchanged);
            }
            next.updated_at = now;
            Ok(Change::record(next))
        }
        _ => Err(not_allowed(record, event)),
    }
}

/// Releases a sold lead to `to` for `reason`, without a delivery answer to go by: the buyer
/// is owed a `lead.released` if an earlier attempt may have reached it.
fn give_back(
    record: &LeadRecord,
    now: DateTime<Utc>,
    reason: &str,
    to: LeadState,
    contact_keys: &[String],
) -> Result<Change, Refused> {
    let sale = record.sale.as_ref().ok_or(Refused::NotAllowed {
        from: "sold without a sale",
        event: "release",
    })?;
    Ok(release(
        record,
        sale,
        Undo {
            now,
            reason,
            kind: LedgerKind::Release,
            notice: record.delivery_reached.then_some(NoticeKind::Released),
            to,
            contact_keys,
        },
    ))
}

fn sell(record: &LeadRecord, order: &SaleOrder, now: DateTime<Utc>) -> Change {
    let terms = &order.terms;
    let mut next = record.moved(
        LeadState::Sold,
        now,
        format!("sold to {} for {}", terms.buyer_id, terms.price),
    );
    next.sale = Some(terms.clone());
    next.delivery_attempts = 0;
    next.delivery_reached = false;
    next.billed = Some(terms.price);
    next.routing = Some(order.routing.clone());
    let sale_number = next.sale_number();
    let sale = Sale {
        period: order.period.clone(),
        price: terms.price,
        daily_limit: order.daily_limit,
        monthly_spend_cap: order.monthly_spend_cap,
        ledger: LedgerEntry {
            lead_id: record.lead_id.clone(),
            entry_id: format!("sale#{sale_number}"),
            buyer_id: terms.buyer_id.clone(),
            kind: LedgerKind::Sale,
            amount: terms.price,
            at: now,
        },
        contact_keys: order.contact_keys.clone(),
        claim_until: order.claim_until,
        record: next.clone(),
    };
    Change {
        record: next,
        write: Write::Sale(Box::new(sale)),
    }
}

fn delivered(
    record: &LeadRecord,
    sale: &SaleTerms,
    result: &DeliveryResult,
    now: DateTime<Utc>,
    contact_keys: &[String],
) -> Change {
    match result {
        DeliveryResult::Accepted => {
            let mut next = record.moved(
                LeadState::Delivered,
                now,
                format!("delivered to {}", sale.buyer_id),
            );
            next.delivery_reached = true;
            Change::record(next)
        }
        // The buyer said no itself: it knows it did not buy the lead.
        DeliveryResult::Refused { code } => release(
            record,
            sale,
            Undo {
                now,
                reason: &format!("rejected_at_post:{code}"),
                kind: LedgerKind::Release,
                notice: None,
                to: LeadState::Queued,
                contact_keys,
            },
        ),
        DeliveryResult::Failed {
            attempts,
            reached,
            permanent,
            last_receive,
        } => {
            let total = record.delivery_attempts.saturating_add(*attempts);
            let reached = record.delivery_reached || *reached;
            if *permanent || *last_receive || total >= MAX_DELIVERY_ATTEMPTS {
                let reason = if *permanent {
                    "delivery_refused_permanently"
                } else {
                    "delivery_failed"
                };
                return release(
                    record,
                    sale,
                    Undo {
                        now,
                        reason,
                        kind: LedgerKind::Release,
                        notice: reached.then_some(NoticeKind::Released),
                        to: LeadState::Queued,
                        contact_keys,
                    },
                );
            }
            let mut next = record.clone();
            next.delivery_attempts = total;
            next.delivery_reached = reached;
            next.updated_at = now;
            Change::record(next)
        }
    }
}

/// How a sale is undone.
struct Undo<'a> {
    now: DateTime<Utc>,
    reason: &'a str,
    kind: LedgerKind,
    notice: Option<NoticeKind>,
    to: LeadState,
    contact_keys: &'a [String],
}

fn release(record: &LeadRecord, sale: &SaleTerms, undo: Undo<'_>) -> Change {
    let verb = if undo.kind == LedgerKind::Credit {
        "credited"
    } else {
        "released"
    };
    let mut next = record.moved(
        undo.to,
        undo.now,
        format!("{verb} by {}: {}", sale.buyer_id, undo.reason),
    );
    next.sale = None;
    next.delivery_attempts = 0;
    next.delivery_reached = false;
    next.billed = record.billed.map(|_| Cents::ZERO);
    if !next.excluded.contains(&sale.buyer_id) {
        next.excluded.push(sale.buyer_id.clone());
    }
    if let Some(kind) = undo.notice {
        next.notices.push(BuyerNotice {
            buyer_id: sale.buyer_id.clone(),
            kind,
            at: undo.now,
            reason: undo.reason.to_owned(),
            sent_at: None,
        });
    }
    let sale_number = record.sale_number().max(1);
    let prefix = if undo.kind == LedgerKind::Credit {
        "credit"
    } else {
        "release"
    };
    let release = Release {
        period: CounterPeriod {
            buyer_id: sale.buyer_id.clone(),
            day: sale.buyer_day,
            month: sale.buyer_month.clone(),
        },
        price: sale.price,
        ledger: LedgerEntry {
            lead_id: record.lead_id.clone(),
            entry_id: format!("{prefix}#{sale_number}"),
            buyer_id: sale.buyer_id.clone(),
            kind: undo.kind,
            amount: Cents(-sale.price.0),
            at: undo.now,
        },
        contact_keys: undo.contact_keys.to_vec(),
        record: next.clone(),
    };
    Change {
        record: next,
        write: Write::Release(Box::new(release)),
    }
}

/// A withdrawal, from every state:
/// * not sold (queued, unsold, dead-lettered): withdrawn, nothing owed;
/// * sold, not delivered: the sale is released; the buyer is told only if an attempt may
///   have reached it (a delivery still under way when the withdrawal lands is caught by
///   the router's write after it: see the `Withdrawn` + `Delivery` transition);
/// * delivered, or accepted inside the return window: credited in full and told;
/// * accepted after the window, converted, returned or rejected: told; the money stands as
///   it is (a converted lead earned its price; a credited one is not credited twice).
fn withdraw(record: &LeadRecord, withdrawal: &ConsentWithdrawal) -> Result<Change, Refused> {
    if record.state == LeadState::Withdrawn {
        return Err(Refused::Unchanged);
    }
    let at = withdrawal.at;
    let kept = LeadWithdrawal {
        at,
        words: withdrawal.words.clone(),
        from: Some(record.state),
    };
    let reason = "consent_withdrawn";
    let Some(sale) = record.sale.as_ref() else {
        let mut next = record.moved(LeadState::Withdrawn, at, "the homeowner withdrew consent");
        next.withdrawal = Some(kept);
        return Ok(Change::record(next));
    };
    let credit_window_open = at <= sale.returnable_until;
    let undo = match record.state {
        LeadState::Sold => Some((LedgerKind::Release, record.delivery_reached)),
        LeadState::Delivered => Some((LedgerKind::Credit, true)),
        LeadState::Accepted if credit_window_open => Some((LedgerKind::Credit, true)),
        _ => None,
    };
    let mut change = match undo {
        Some((kind, tell)) => release(
            record,
            sale,
            Undo {
                now: at,
                reason,
                kind,
                notice: tell.then_some(NoticeKind::Withdrawn),
                to: LeadState::Withdrawn,
                contact_keys: &[],
            },
        ),
        None => {
            let mut next = record.moved(
                LeadState::Withdrawn,
                at,
                format!("the homeowner withdrew consent; {} told", sale.buyer_id),
            );
            next.notices.push(BuyerNotice {
                buyer_id: sale.buyer_id.clone(),
                kind: NoticeKind::Withdrawn,
                at,
                reason: reason.into(),
                sent_at: None,
            });
            Change::record(next)
        }
    };
    change.record.withdrawal = Some(kept);
    if let Write::Release(release) = &mut change.write {
        release.record = change.record.clone();
    }
    Ok(change)
}

/// How long a lead may stay in flight before the reconcile step treats its message as
/// lost: longer than every receive of a message (five visibility timeouts of three
/// minutes) with room to spare.
pub const IN_FLIGHT_BOUND: chrono::Duration = chrono::Duration::minutes(30);

/// Whether a lead has sat in flight (queued or sold) past its bound at `now`.
pub fn stuck(record: &LeadRecord, now: DateTime<Utc>) -> bool {
    record.state.in_flight() && now - record.updated_at > IN_FLIGHT_BOUND
}

/// The revenue the ledger lines of one lead add up to.
pub fn ledger_net(lines: &[LedgerEntry]) -> Cents {
    Cents(lines.iter().map(|l| l.revenue().0).sum())
}

/// Whether a lead's ledger agrees with what the record says is billed (records from before
/// the billed amount was kept are not judged).
pub fn ledger_agrees(record: &LeadRecord, lines: &[LedgerEntry]) -> bool {
    record
        .billed
        .is_none_or(|billed| billed == ledger_net(lines))
}

#[cfg(test)]
mod tests;
