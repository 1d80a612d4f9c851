//! The sales team's changes, kept: who, when, what, and the state before and after. An
//! entry never holds a secret: a buyer appears as its terms ([`BuyerTerms`]), its pause and
//! the end of each retiring secret's overlap; a model change as its versions, an experiments
//! change as the experiments before and after.

use super::buyer::{Buyer, SalesPause};
use super::terms::BuyerTerms;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Sorts by time: `<unix millis, 13 digits>-<16 hex digits>`.
    pub id: String,
    pub at: DateTime<Utc>,
    /// Who: the sales team member's identity (the token's subject), `local` on `aurum serve`.
    pub actor: String,
    /// `buyer.created`, `buyer.updated`, `buyer.paused`, `buyer.resumed`,
    /// `buyer.deactivated`, `buyer.secret_rotated`, `buyers.imported`, `model.loaded`,
    /// `model.promoted`, `model.rolled_back`, `experiments.started`, `experiment.stopped`.
    pub action: String,
    /// What changed, e.g. `buyer:solarreviews`, `model:scoring`,
    /// `experiment:premium-price-1`.
    pub target: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl AuditEntry {
    /// A new entry at `at`; `nonce` orders and keeps apart the ids of one millisecond.
    pub fn new(
        at: DateTime<Utc>,
        nonce: u64,
        actor: &str,
        action: &str,
        target: String,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> AuditEntry {
        AuditEntry {
            id: format!("{:013}-{nonce:016x}", at.timestamp_millis().max(0)),
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target,
            before,
            after,
        }
    }
}

/// A buyer as the audit keeps it: terms, version, pause and when each previous secret
/// stops verifying. Never a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct AuditedBuyer<'a> {
    #[serde(flatten)]
    terms: BuyerTerms,
    version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pause: Option<&'a SalesPause>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    previous_secrets_until: Vec<DateTime<Utc>>,
}

/// The JSON of `buyer` for an audit entry.
pub fn buyer_state(buyer: &Buyer) -> serde_json::Value {
    serde_json::to_value(AuditedBuyer {
        terms: BuyerTerms::of(buyer),
        version: buyer.version,
        pause: buyer.pause.as_ref(),
        previous_secrets_until: buyer.previous_secrets.iter().map(|s| s.until).collect(),
    })
    .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::buyer::tests::buyer;

    #[test]
    fn given_a_rotated_buyer_when_audited_then_no_secret_appears() {
        let now = Utc::now();
        let b = buyer();
        let fresh =
            crate::domain::buyer::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .expect("secret");
        let rotated = b.rotated(fresh.clone(), now, chrono::Duration::hours(24));
        let text = buyer_state(&rotated).to_string();
        assert!(!text.contains(fresh.expose()));
        assert!(!text.contains(b.secret.expose()));
        assert!(!text.contains("whsec_"));
        assert!(text.contains("previous_secrets_until"));
    }

    #[test]
    fn given_two_entries_when_their_ids_are_compared_then_they_sort_by_time() {
        let t = Utc::now();
        let a = AuditEntry::new(t, u64::MAX, "a", "x", "t".into(), None, None);
        let b = AuditEntry::new(
            t + chrono::Duration::milliseconds(1),
            0,
            "a",
            "x",
            "t".into(),
            None,
            None,
        );
        assert!(a.id < b.id);
    }
}
