//! A qualified lead's life after the chat: `queued → sold → delivered → accepted |
//! rejected | returned → converted`, or `unsold`, or `withdrawn`. The lead record is the
//! one item every step of that life changes with a condition on its status, so a lead is
//! sold once and a withdrawn lead is never sold.

use super::conversation::{ConsentWithdrawal, SessionId};
use crate::contracts::QueuedLead;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// The system of record of one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadRecord {
    pub lead_id: String,
    pub session_id: SessionId,
    pub state: LeadState,
    /// When the conversation queued it (absent on a withdrawal that arrived first).
    pub queued_at: Option<DateTime<Utc>>,
    pub withdrawal: Option<LeadWithdrawal>,
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
            withdrawal: None,
            updated_at: lead.queued_at,
            version: 0,
        }
    }

    /// This record after the homeowner's withdrawal; `None` when it is withdrawn already
    /// (a withdrawal is recorded once).
    pub fn withdrawn(&self, withdrawal: &ConsentWithdrawal) -> Option<LeadRecord> {
        if self.state == LeadState::Withdrawn {
            return None;
        }
        Some(LeadRecord {
            state: LeadState::Withdrawn,
            withdrawal: Some(LeadWithdrawal {
                at: withdrawal.at,
                words: withdrawal.words.clone(),
                from: Some(self.state),
            }),
            updated_at: withdrawal.at,
            ..self.clone()
        })
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
            withdrawal: Some(LeadWithdrawal {
                at: withdrawal.at,
                words: withdrawal.words.clone(),
                from: None,
            }),
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
            lead_id: "lead_1".into(),
            session_id: SessionId::parse("s1").expect("id"),
            state,
            queued_at: Some(at(0)),
            withdrawal: None,
            updated_at: at(0),
            version: 3,
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
