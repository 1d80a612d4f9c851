//! Messages between functions, versioned. A consumer reads every schema version it was
//! built for; a producer writes the newest. Tests pin the JSON of each version, so a field
//! renamed here breaks a test before it breaks the router.

use crate::domain::conversation::{ConsentEvidence, ConsentWithdrawal, LeadFacts, SessionId};
use crate::domain::money::Cents;
use crate::domain::scoring::{FactorScores, QualityTier};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The body of a lead-queue message (conversation → router): everything the router needs
/// to price and sell the lead without reading the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedLead {
    pub schema: u8,
    pub lead_id: String,
    pub session_id: SessionId,
    pub queued_at: DateTime<Utc>,
    pub score: u8,
    pub tier: QualityTier,
    pub revenue_potential: Cents,
    pub conversion_probability: f64,
    pub model_version: u32,
    pub facts: LeadFacts,
    /// Proof of consent to be contacted, for the buyer.
    #[serde(default)]
    pub consent: Option<ConsentEvidence>,
    /// Set on the notice that consent was withdrawn after a buyer got the lead: the router
    /// then tells that buyer, signed, instead of routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<ConsentWithdrawal>,
    /// The score's factors when queued: the features the scoring-model job learns from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factors: Option<FactorScores>,
    /// 0 on the conversation's message; `n` on the `n`th re-offer of a waiting lead (the
    /// re-offer sweep's message, scored on the conversation as it stands then).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offer: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl QueuedLead {
    pub const SCHEMA: u8 = 1;

    /// What the queue de-duplicates on: the lead id, the lead id and `#withdrawn` for a
    /// withdrawal notice, or `#offer<n>` for a re-offer (neither must be dropped as a repeat
    /// of the lead).
    pub fn dedup_id(&self) -> String {
        match (&self.withdrawn, self.offer) {
            (Some(_), _) => format!("{}#withdrawn", self.lead_id),
            (None, 0) => self.lead_id.clone(),
            (None, n) => format!("{}#offer{n}", self.lead_id),
        }
    }
}

/// The stable lead id of a session: a retried or raced turn names the same lead, so the
/// queue and the router can de-duplicate on it.
pub fn lead_id_for(session: &SessionId) -> String {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, session.as_str().as_bytes());
    format!("lead_{}", id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::conversation::Conversation;
    use chrono::TimeZone;

    fn pinned() -> QueuedLead {
        let at = Utc
            .with_ymd_and_hms(2026, 6, 2, 15, 30, 0)
            .single()
            .expect("valid");
        let session = SessionId::parse("chat_pinned").expect("id");
        let mut c = Conversation::new(session.clone(), at);
        c.facts.homeowner = Some(true);
        c.facts.monthly_bill = Some(Cents(32_000));
        QueuedLead {
            schema: QueuedLead::SCHEMA,
            lead_id: lead_id_for(&session),
            session_id: session,
            queued_at: at,
            score: 86,
            tier: QualityTier::Premium,
            revenue_potential: Cents(26_400),
            conversion_probability: 0.8,
            model_version: 3,
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

    #[test]
    fn given_a_queued_lead_when_serialised_then_the_router_reads_the_pinned_v1_json() {
        // GIVEN the JSON a schema-1 producer writes (pinned: the router parses exactly this,
        // and the lead id derivation is part of it: a changed id would defeat de-duplication)
        let expected = serde_json::json!({
            "schema": 1,
            "lead_id": "lead_fbf6592bbf895aaabe7055ec5cbd0089",
            "session_id": "chat_pinned",
            "queued_at": "2026-06-02T15:30:00Z",
            "score": 86,
            "tier": "premium",
            "revenue_potential": 26400,
            "conversion_probability": 0.8,
            "model_version": 3,
            "consent": {
                "given_at": "2026-06-02T15:30:00Z",
                "words": "yes, have an installer call me",
                "disclosure": null
            }
        });
        // WHEN a lead is written
        let mut written = serde_json::to_value(pinned()).expect("serialise");
        // THEN every pinned field has its pinned name and value
        let facts = written
            .as_object_mut()
            .and_then(|o| o.remove("facts"))
            .expect("facts present");
        assert_eq!(written, expected);
        assert_eq!(facts["homeowner"], true);
        assert_eq!(
            facts["monthly_bill"], 32_000,
            "money travels as integer cents"
        );
        // AND it reads back unchanged
        let back: QueuedLead =
            serde_json::from_value(serde_json::to_value(pinned()).expect("ser")).expect("de");
        assert_eq!(back, pinned());
    }

    #[test]
    fn given_a_session_when_its_lead_id_is_derived_twice_then_it_is_the_same() {
        let s = SessionId::parse("chat_1").expect("id");
        assert_eq!(lead_id_for(&s), lead_id_for(&s));
        assert_ne!(
            lead_id_for(&s),
            lead_id_for(&SessionId::parse("chat_2").expect("id"))
        );
        assert!(lead_id_for(&s).starts_with("lead_"));
    }

    #[test]
    fn given_a_v1_message_without_consent_when_read_then_consent_is_none() {
        let mut v = serde_json::to_value(pinned()).expect("ser");
        v.as_object_mut().expect("object").remove("consent");
        let lead: QueuedLead = serde_json::from_value(v).expect("older v1 messages still read");
        assert_eq!(lead.consent, None);
    }
}
