//! A qualified lead's life after the chat: `queued → sold → delivered → accepted |
//! rejected | returned → converted`, or `unsold`, or `withdrawn`. The lead record is the
//! one item every step of that life changes with a condition on its status, so a lead is
//! sold once and a withdrawn lead is never sold.

use super::buyer::{BuyerId, BuyerTier};
use super::conversation::{ConsentWithdrawal, SessionId};
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
    Unsold,
    Withdrawn,
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
            LeadState::Unsold => "unsold",
            LeadState::Withdrawn => "withdrawn",
        }
    }

    /// A buyer holds the lead's contact details in these states: a withdrawal must reach it.
    pub fn buyer_has_it(self) -> bool {
        matches!(
            self,
            LeadState::Sold
                | LeadState::Delivered
                | LeadState::Accepted
                | LeadState::Returned
                | LeadState::Converted
                | LeadState::Rejected
        )
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
    /// The strategy's expected revenue of the sale (price × acceptance probability).
    pub expected_revenue: Cents,
    /// Until when the buyer may return the lead.
    pub returnable_until: DateTime<Utc>,
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
    #[serde(default)]
    pub history: Vec<Transition>,
    /// The score's factors when queued (the scoring-model job's features).
    #[serde(default)]
    pub factors: Option<FactorScores>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, bumped by every write.
    pub version: u64,
}

impl LeadRecord {
    pub fn queued(lead: &QueuedLead) -> LeadRecord {
        LeadRecord {
            lead_id: lead.lead_id.clone(),
            session_id: lead.session_id.clone(),
            state: LeadState::Queued,
            queued_at: Some(lead.queued_at),
            score: Some(lead.score),
            tier: Some(lead.tier),
            withdrawal: None,
            sale: None,
            unsold_reason: None,
            routing: None,
            excluded: Vec::new(),
            delivery_attempts: 0,
            history: vec![Transition {
                state: LeadState::Queued,
                at: lead.queued_at,
                note: format!("{} lead queued for routing", lead.tier.as_str()),
            }],
            factors: lead.factors,
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

    /// This record after the homeowner's withdrawal; `None` when it is withdrawn already
    /// (a withdrawal is recorded once).
    pub fn withdrawn(&self, withdrawal: &ConsentWithdrawal) -> Option<LeadRecord> {
        if self.state == LeadState::Withdrawn {
            return None;
        }
        let mut next = self.moved(
            LeadState::Withdrawn,
            withdrawal.at,
            "the homeowner withdrew consent",
        );
        next.withdrawal = Some(LeadWithdrawal {
            at: withdrawal.at,
            words: withdrawal.words.clone(),
            from: Some(self.state),
        });
        Some(next)
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
            sale: None,
            unsold_reason: None,
            routing: None,
            excluded: Vec::new(),
            delivery_attempts: 0,
            history: vec![Transition {
                state: LeadState::Withdrawn,
                at: withdrawal.at,
                note: "the homeowner withdrew consent".into(),
            }],
            factors: None,
            updated_at: withdrawal.at,
            version: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, min, 0)
            .single()
            .expect("valid")
    }

    fn record(state: LeadState) -> LeadRecord {
        LeadRecord {
            state,
            version: 3,
            ..LeadRecord::withdrawn_before_recorded(
                "lead_1",
                &SessionId::parse("s1").expect("id"),
                &withdrawal(),
            )
        }
    }

    fn withdrawal() -> ConsentWithdrawal {
        ConsentWithdrawal {
            at: at(9),
            words: "stop, don't share my number".into(),
        }
    }

    #[test]
    fn given_a_sold_lead_when_withdrawn_then_it_remembers_a_buyer_must_be_told() {
        let w = record(LeadState::Sold)
            .withdrawn(&withdrawal())
            .expect("withdrawn");
        assert_eq!(w.state, LeadState::Withdrawn);
        let kept = w.withdrawal.expect("kept");
        assert_eq!(kept.from, Some(LeadState::Sold));
        assert!(LeadState::Sold.buyer_has_it());
        assert_eq!(kept.at, at(9));
        assert_eq!(w.version, 3, "the store bumps the version, not the rule");
    }

    #[test]
    fn given_a_withdrawn_lead_when_withdrawn_again_then_nothing_changes() {
        let once = record(LeadState::Queued)
            .withdrawn(&withdrawal())
            .expect("withdrawn");
        assert_eq!(once.withdrawn(&withdrawal()), None);
        assert!(!LeadState::Queued.buyer_has_it());
    }
}
