//! A qualified lead's record: `queued → sold → delivered → accepted | rejected | returned
//! → converted`, or `waiting` to be offered again (until `expired` at the end of its shelf
//! life), `unsold`, `withdrawn`, or `dead_lettered` (until a redrive). The record
//! is the one item every step of that life changes with a condition on its version, so a
//! lead is sold once and a withdrawn lead is never sold. Which step may follow which, and
//! what each costs or credits, is `domain::lifecycle`.

use super::buyer::{BuyerId, BuyerTier};
use super::conversation::{ConsentWithdrawal, SessionId};
use super::erasure::ContactErasure;
use super::money::Cents;
use super::pricing::PriceQuote;
use super::routing::RoutingDecision;
use super::scoring::{FactorScores, QualityTier};
use crate::contracts::QueuedLead;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadState {
    Queued,
    Sold,
    Delivered,
    Accepted,
    Rejected,
    Returned,
    Converted,
    /// No buyer can take it now: offered again when one can, within its shelf life.
    Waiting,
    /// Its shelf life ended while it waited (the last reason kept).
    Expired,
    /// No buyer may ever take it (its contact details were sold within the dedup window).
    Unsold,
    Withdrawn,
    /// Its queue message reached the dead-letter queue: any sale released, waiting for
    /// `aurum leads redrive`.
    DeadLettered,
}

impl LeadState {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadState::Queued => "queued",
            LeadState::Sold => "sold",
            LeadState::Delivered => "delivered",
            LeadState::Accepted => "accepted",
            LeadState::Rejected => "rejected",
            LeadState::Returned => "returned",
            LeadState::Converted => "converted",
            LeadState::Waiting => "waiting",
            LeadState::Expired => "expired",
            LeadState::Unsold => "unsold",
            LeadState::Withdrawn => "withdrawn",
            LeadState::DeadLettered => "dead_lettered",
        }
    }

    pub const ALL: [LeadState; 12] = [
        LeadState::Queued,
        LeadState::Sold,
        LeadState::Delivered,
        LeadState::Accepted,
        LeadState::Rejected,
        LeadState::Returned,
        LeadState::Converted,
        LeadState::Waiting,
        LeadState::Expired,
        LeadState::Unsold,
        LeadState::Withdrawn,
        LeadState::DeadLettered,
    ];

    /// States the router still has to move on: a lead may rest in them only briefly.
    pub fn in_flight(self) -> bool {
        matches!(self, LeadState::Queued | LeadState::Sold)
    }
}

/// A withdrawal as the lead record keeps it: what the homeowner said, and the state the
/// lead was in, so the router knows whether a buyer must be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadWithdrawal {
    pub at: DateTime<Utc>,
    pub words: String,
    /// The state before the withdrawal (`None`: the record did not exist yet).
    pub from: Option<LeadState>,
}

/// The sale of a lead to one buyer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleTerms {
    pub buyer_id: BuyerId,
    pub buyer_tier: BuyerTier,
    pub price: Cents,
    /// How the price was computed: base, each multiplier, the clamp.
    pub quote: PriceQuote,
    pub sold_at: DateTime<Utc>,
    /// The buyer's local day and month the sale counts against (its caps reset there).
    pub buyer_day: chrono::NaiveDate,
    pub buyer_month: String,
    /// The strategy's expected net value of the sale (price × P(accept) × (1 − P(return))).
    pub expected_revenue: Cents,
    /// Until when the buyer may return the lead.
    pub returnable_until: DateTime<Utc>,
    /// The ping a ping-post buyer won with its bid: quoted back in the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<PingRef>,
}

/// A winning bid's ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingRef {
    pub ping_id: String,
    /// The buyer's own token for its bid, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_id: Option<String>,
}

/// What a buyer must be told after a sale was undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// `lead.withdrawn`: the homeowner withdrew consent; stop contacting them.
    Withdrawn,
    /// `lead.released`: the sale did not stand; do not contact, not billed.
    Released,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Withdrawn => "withdrawn",
            NoticeKind::Released => "released",
        }
    }
}

/// A signed notice owed to a buyer: written with the change that makes it due (the outbox
/// of the lead), sent by the router, marked sent after the buyer's 2xx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerNotice {
    pub buyer_id: BuyerId,
    pub kind: NoticeKind,
    /// When the change happened (the notice's timestamp).
    pub at: DateTime<Utc>,
    /// A code without personal data (`delivery_failed`, `consent_withdrawn`…).
    pub reason: String,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
}

/// A change of state, kept in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transition {
    pub state: LeadState,
    pub at: DateTime<Utc>,
    /// Why, in words without personal data (a buyer id, a reason code).
    pub note: String,
}

/// The system of record of one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadRecord {
    pub lead_id: String,
    pub session_id: SessionId,
    pub state: LeadState,
    /// When the conversation queued it (absent on a withdrawal that arrived first).
    pub queued_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub score: Option<u8>,
    #[serde(default)]
    pub tier: Option<QualityTier>,
    pub withdrawal: Option<LeadWithdrawal>,
    /// The homeowner had their contact details erased: when, on whose request, which
    /// details (none of their values). The record never holds contact details; this says
    /// the conversation and the buyer's copy no longer may either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_erased: Option<ContactErasure>,
    /// The current sale (set while sold, delivered or later).
    #[serde(default)]
    pub sale: Option<SaleTerms>,
    /// Why no buyer took it, when unsold.
    #[serde(default)]
    pub unsold_reason: Option<String>,
    /// The last routing decision, with its trace: every buyer, eligible or why not.
    #[serde(default)]
    pub routing: Option<RoutingDecision>,
    /// Buyers that rejected it at post time or could not be delivered to: the cascade
    /// skips them.
    #[serde(default)]
    pub excluded: Vec<BuyerId>,
    /// Delivery attempts to the current buyer, across queue deliveries.
    #[serde(default)]
    pub delivery_attempts: u32,
    /// Whether an attempt to the current buyer may have reached it (a request went out and
    /// no answer said it did not arrive): releasing the sale then owes it a notice.
    #[serde(default)]
    pub delivery_reached: bool,
    /// What the buyers owe for this lead now: the price of the sale that stands, less what
    /// was credited (`None` on records written before this was kept).
    #[serde(default)]
    pub billed: Option<Cents>,
    /// Notices owed to buyers, sent or not.
    #[serde(default)]
    pub notices: Vec<BuyerNotice>,
    #[serde(default)]
    pub history: Vec<Transition>,
    /// The score's factors when queued (the scoring-model job's features).
    #[serde(default)]
    pub factors: Option<FactorScores>,
    /// Re-offers routed so far (0: only its first routing). A re-offer message carries the
    /// number it would be, so a repeated message re-offers nothing.
    #[serde(default)]
    pub offers: u32,
    /// When the sales team last offered it again after it ended (expired, unsold or
    /// dead-lettered): its shelf life runs from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revived_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, bumped by every write.
    pub version: u64,
}

impl LeadRecord {
    /// When its shelf life started: when the sales team last offered it again, else when it
    /// qualified.
    pub fn shelf_start(&self) -> Option<DateTime<Utc>> {
        self.revived_at.or(self.queued_at)
    }

    pub fn queued(lead: &QueuedLead) -> LeadRecord {
        LeadRecord {
            lead_id: lead.lead_id.clone(),
            session_id: lead.session_id.clone(),
            state: LeadState::Queued,
            queued_at: Some(lead.queued_at),
            score: Some(lead.score),
            tier: Some(lead.tier),
            withdrawal: None,
            contact_erased: None,
            sale: None,
            unsold_reason: None,
            routing: None,
            excluded: Vec::new(),
            delivery_attempts: 0,
            delivery_reached: false,
            billed: Some(Cents::ZERO),
            notices: Vec::new(),
            history: vec![Transition {
                state: LeadState::Queued,
                at: lead.queued_at,
                note: format!("{} lead queued for routing", lead.tier.as_str()),
            }],
            factors: lead.factors,
            offers: lead.offer,
            revived_at: None,
            updated_at: lead.queued_at,
            version: 0,
        }
    }

    /// This record moved to `state` at `at`, with the reason kept in the history.
    pub fn moved(
        &self,
        state: LeadState,
        at: DateTime<Utc>,
        note: impl Into<String>,
    ) -> LeadRecord {
        let mut next = self.clone();
        next.state = state;
        next.updated_at = at;
        next.history.push(Transition {
            state,
            at,
            note: note.into(),
        });
        next
    }

    /// How many times the lead was sold (its current or last sale's number; ledger lines
    /// of sale `n` are `sale#n`, `release#n`, `credit#n`).
    pub fn sale_number(&self) -> usize {
        self.history
            .iter()
            .filter(|t| t.state == LeadState::Sold)
            .count()
    }

    /// The notices owed and not sent yet.
    pub fn unsent_notices(&self) -> impl Iterator<Item = &BuyerNotice> {
        self.notices.iter().filter(|n| n.sent_at.is_none())
    }

    /// A withdrawal for a lead whose record is not there yet: the tombstone makes a later
    /// `queued` write a no-op, so the router never sells it.
    pub fn withdrawn_before_recorded(
        lead_id: &str,
        session_id: &SessionId,
        withdrawal: &ConsentWithdrawal,
    ) -> LeadRecord {
        LeadRecord {
            lead_id: lead_id.to_owned(),
            session_id: session_id.clone(),
            state: LeadState::Withdrawn,
            queued_at: None,
            score: None,
            tier: None,
            withdrawal: Some(LeadWithdrawal {
                at: withdrawal.at,
                words: withdrawal.words.clone(),
                from: None,
            }),
            contact_erased: None,
            sale: None,
            unsold_reason: None,
            routing: None,
            excluded: Vec::new(),
            delivery_attempts: 0,
            delivery_reached: false,
            billed: Some(Cents::ZERO),
            notices: Vec::new(),
            history: vec![Transition {
                state: LeadState::Withdrawn,
                at: withdrawal.at,
                note: "the homeowner withdrew consent".into(),
            }],
            factors: None,
            offers: 0,
            revived_at: None,
            updated_at: withdrawal.at,
            version: 0,
        }
    }
}

/// What the sales team looks for among the leads; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadQuery {
    pub state: Option<LeadState>,
    /// The buyer of its current sale.
    pub buyer: Option<BuyerId>,
    /// The New York day it qualified.
    pub day: Option<chrono::NaiveDate>,
    pub tier: Option<QualityTier>,
    /// Why no buyer took it (`no_eligible_buyer`, `duplicate`, `held_for_capacity`, …).
    pub unsold_reason: Option<String>,
}

impl LeadQuery {
    pub fn matches(&self, record: &LeadRecord) -> bool {
        self.state.is_none_or(|s| s == record.state)
            && self
                .buyer
                .as_ref()
                .is_none_or(|b| record.sale.as_ref().is_some_and(|s| &s.buyer_id == b))
            && self.day.is_none_or(|d| {
                record
                    .queued_at
                    .is_some_and(|at| super::analytics::new_york_day(at) == d)
            })
            && self.tier.is_none_or(|t| record.tier == Some(t))
            && self
                .unsold_reason
                .as_deref()
                .is_none_or(|r| record.unsold_reason.as_deref() == Some(r))
    }
}

/// Leads a search looks at, at most: the newest matches of that many are answered.
pub const SEARCH_SCAN_LIMIT: usize = 20_000;
