//! The sales console's buyer administration: list, create, edit, pause and resume,
//! deactivate, rotate a secret, send a test message, and the audit of every change.
//!
//! Every change is made on the version the operator read and saved with its audit entry in
//! one transaction (a concurrent change gets [`ConsoleError::VersionConflict`]); then the
//! buyer list's stamp is dropped, so every router reads the new terms at its next lead.
//! Secrets are generated here, shown once in the answer of the change that made them, and
//! never again: the list, the audit and the logs carry none.

use crate::artefacts;
use crate::backend::Backend;
use crate::delivery::{BuyerMessage, DeliveryClient, Probe};
use crate::domain::audit::{AuditEntry, buyer_state};
use crate::domain::buyer::{Buyer, BuyerError, BuyerId, Outbound, SalesPause, WebhookSecret};
use crate::domain::terms::BuyerTerms;
use crate::ports::{BuyerHealth, BuyerStore, StoreError};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How long a rotated-out secret keeps verifying, unless the operator says otherwise.
pub const DEFAULT_OVERLAP_HOURS: u32 = 24;
/// The longest overlap an operator may choose (a week).
pub const MAX_OVERLAP_HOURS: u32 = 168;

/// Why a console action changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("no buyer {0}")]
    NotFound(String),
    #[error("buyer {0} exists already")]
    Exists(String),
    /// Someone saved the buyer since the operator read it.
    #[error(
        "buyer {buyer} changed since version {expected} (it is at {current}): reload it and make the change again"
    )]
    VersionConflict {
        buyer: String,
        expected: u64,
        current: u64,
    },
    #[error(transparent)]
    Invalid(#[from] BuyerError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A buyer's standing as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Active,
    /// Paused by the sales team.
    Paused,
    /// Deactivated: takes no leads until activated again.
    Inactive,
}

/// One buyer in the console: its terms, version, standing and delivery health. No secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BuyerSummary {
    pub terms: BuyerTerms,
    pub version: u64,
    pub standing: Standing,
    #[schema(required = true)]
    pub pause: Option<SalesPause>,
    /// When each secret replaced by a rotation stops verifying (none after the overlap).
    pub previous_secrets_until: Vec<DateTime<Utc>>,
    /// Deliveries failed in a row, and the circuit breaker's pause, if on.
    pub consecutive_failures: u32,
    #[schema(required = true)]
    pub failing_until: Option<DateTime<Utc>>,
}

/// A standing to set, with the operator's reason for a pause.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandingChange {
    pub standing: Standing,
    /// Why (required for a pause; 1 to 200 characters, shown in the routing trace).
    #[serde(default)]
    pub reason: Option<String>,
    /// The version the change is made on.
    pub version: u64,
}

/// A secret, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewSecret {
    pub buyer_id: String,
    /// `whsec_…`: give it to the buyer now; it is not shown again.
    pub secret: String,
    /// The buyer's version after the change.
    pub version: u64,
    /// Until when the replaced secret still verifies (a rotation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<DateTime<Utc>>,
}

/// The console's buyer administration over one backend.
pub struct Console<B: Backend> {
    backend: B,
    outbound: Outbound,
    delivery: Option<DeliveryClient>,
}

impl<B: Backend> Console<B> {
    /// `outbound` is the deployment's rule for webhook URLs (the one delivery applies);
    /// `delivery` sends test messages (none: the test button answers that it cannot).
    pub fn new(backend: B, outbound: Outbound, delivery: Option<DeliveryClient>) -> Console<B> {
        Console {
            backend,
            outbound,
            delivery,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        (self.backend.clock())()
    }

    fn buyers(&self) -> Arc<B::Buyers> {
        self.backend.buyers()
    }

    /// Every buyer, in id order.
    pub async fn list(&self) -> Result<Vec<BuyerSummary>, ConsoleError> {
        let now = self.now();
        let buyers = self.buyers().buyers().await?;
        let ids: Vec<BuyerId> = buyers.iter().map(|b| b.id.clone()).collect();
        let healths = self.buyers().healths(&ids).await?;
        let mut out: Vec<BuyerSummary> = buyers
            .iter()
            .zip(healths)
            .map(|(b, h)| summary(b, h, now))
            .collect();
        out.sort_by(|a, b| a.terms.id.cmp(&b.terms.id));
        Ok(out)
    }

    /// One buyer.
    pub async fn get(&self, id: &str) -> Result<BuyerSummary, ConsoleError> {
        let buyer = self.find(id).await?;
        let health = self.buyers().health(&buyer.id).await?;
        Ok(summary(&buyer, health, self.now()))
    }

    async fn find(&self, id: &str) -> Result<Buyer, ConsoleError> {
        let id = BuyerId::parse(id).map_err(|_| ConsoleError::NotFound(id.to_owned()))?;
        self.buyers()
            .buyers()
            .await?
            .into_iter()
            .find(|b| b.id == id)
            .ok_or_else(|| ConsoleError::NotFound(id.to_string()))
    }

    /// A new buyer on `terms`, with a generated secret (returned once).
    pub async fn create(&self, terms: BuyerTerms, actor: &str) -> Result<NewSecret, ConsoleError> {
        refuse_secret(&terms)?;
        let secret = generate_secret()?;
        let mut buyer = terms.into_buyer(secret.clone())?;
        buyer.version = 1;
        buyer.validate_for(self.outbound)?;
        let audit = self.entry(actor, "buyer.created", &buyer.id, None, Some(&buyer));
        match self.buyers().save_buyer(&buyer, None, &audit).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(ConsoleError::Exists(buyer.id.to_string())),
            Err(e) => return Err(e.into()),
        }
        artefacts::forget_buyers(&self.backend).await;
        tracing::info!(buyer_id = %buyer.id, "buyer created by the sales team");
        Ok(NewSecret {
            buyer_id: buyer.id.to_string(),
            secret: secret.expose().to_owned(),
            version: buyer.version,
            previous_valid_until: None,
        })
    }

    /// New terms for buyer `id`, made on `version`. The secret, the pause and any retiring
    /// secrets stay.
    pub async fn update(
        &self,
        id: &str,
        terms: BuyerTerms,
        version: u64,
        actor: &str,
    ) -> Result<BuyerSummary, ConsoleError> {
        refuse_secret(&terms)?;
        if terms.id != id {
            return Err(ConsoleError::Refused(format!(
                "id: the terms are for {:?}, the address for {id:?}; a buyer's id cannot change",
                terms.id
            )));
        }
        let current = self.find(id).await?;
        self.check_version(&current, version)?;
        let mut next = terms.into_buyer(current.secret.clone())?;
        next.pause = current.pause.clone();
        next.previous_secrets = current.previous_secrets.clone();
        next.version = version + 1;
        next.validate_for(self.outbound)?;
        let action = match (current.active, next.active) {
            (true, false) => "buyer.deactivated",
            (false, true) => "buyer.activated",
            _ => "buyer.updated",
        };
        self.save(&current, &next, action, actor).await?;
        self.get(id).await
    }

    /// Pauses (with a reason), resumes, deactivates or activates buyer `id`.
    pub async fn set_standing(
        &self,
        id: &str,
        change: StandingChange,
        actor: &str,
    ) -> Result<BuyerSummary, ConsoleError> {
        let current = self.find(id).await?;
        self.check_version(&current, change.version)?;
        let mut next = current.clone();
        let action = match change.standing {
            Standing::Paused => {
                let reason = change.reason.as_deref().map(str::trim).unwrap_or_default();
                if reason.is_empty() {
                    return Err(ConsoleError::Refused(
                        "reason: a pause needs a reason (shown in the routing trace)".into(),
                    ));
                }
                next.pause = Some(SalesPause {
                    reason: reason.to_owned(),
                    by: actor.to_owned(),
                    at: self.now(),
                });
                "buyer.paused"
            }
            Standing::Active => {
                next.pause = None;
                next.active = true;
                if current.active {
                    "buyer.resumed"
                } else {
                    "buyer.activated"
                }
            }
            Standing::Inactive => {
                next.active = false;
                "buyer.deactivated"
            }
        };
        next.version = change.version + 1;
        next.validate_for(self.outbound)?;
        self.save(&current, &next, action, actor).await?;
        self.get(id).await
    }

    /// A new secret for buyer `id`; the current one keeps verifying (and deliveries keep
    /// carrying a signature with it) for `overlap_hours`, then retires by itself.
    pub async fn rotate_secret(
        &self,
        id: &str,
        version: u64,
        overlap_hours: u32,
        actor: &str,
    ) -> Result<NewSecret, ConsoleError> {
        if !(1..=MAX_OVERLAP_HOURS).contains(&overlap_hours) {
            return Err(ConsoleError::Refused(format!(
                "overlap_hours: must be 1 to {MAX_OVERLAP_HOURS}"
            )));
        }
        let current = self.find(id).await?;
        self.check_version(&current, version)?;
        let now = self.now();
        let fresh = generate_secret()?;
        let mut next = current.rotated(fresh.clone(), now, Duration::hours(overlap_hours.into()));
        next.version = version + 1;
        self.save(&current, &next, "buyer.secret_rotated", actor)
            .await?;
        Ok(NewSecret {
            buyer_id: next.id.to_string(),
            secret: fresh.expose().to_owned(),
            version: next.version,
            previous_valid_until: Some(now + Duration::hours(overlap_hours.into())),
        })
    }

    /// Posts a signed `lead.test` to buyer `id`'s webhook and reports the answer.
    pub async fn send_test(&self, id: &str) -> Result<Probe, ConsoleError> {
        let buyer = self.find(id).await?;
        let Some(client) = &self.delivery else {
            return Err(ConsoleError::Refused(
                "this deployment sends no test messages".into(),
            ));
        };
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)
            .map_err(|_| StoreError::Unavailable("no random source".into()))?;
        let test_id = format!("test_{}", hex(&nonce));
        let message = BuyerMessage::lead_test(&buyer, test_id, self.now());
        let probe = client.probe(&buyer, &message).await;
        tracing::info!(buyer_id = %buyer.id, status = ?probe.status, "test message sent");
        Ok(probe)
    }

    /// Writes a buyer file's buyers (validated by the caller) in one transaction: each
    /// replaces the stored buyer of its id, one version later, keeping a pause the sales
    /// team set; the import is kept in the audit, and every router reads the new list.
    pub async fn import(&self, mut buyers: Vec<Buyer>, actor: &str) -> Result<(), ConsoleError> {
        let stored = self.buyers().buyers().await?;
        for b in &mut buyers {
            let current = stored.iter().find(|s| s.id == b.id);
            b.version = current.map_or(1, |c| c.version + 1);
            if b.pause.is_none() {
                b.pause = current.and_then(|c| c.pause.clone());
            }
        }
        self.buyers().put_buyers(&buyers).await?;
        let ids: Vec<&str> = buyers.iter().map(|b| b.id.as_str()).collect();
        let audit = AuditEntry::new(
            self.now(),
            wall_nanos(),
            actor,
            "buyers.imported",
            format!("buyers:{}", ids.join(",")),
            None,
            Some(serde_json::Value::Array(
                buyers.iter().map(buyer_state).collect(),
            )),
        );
        self.buyers().append_audit(&audit).await?;
        artefacts::forget_buyers(&self.backend).await;
        Ok(())
    }

    /// Keeps the audit entry of a change another use case made for the sales team (a lead
    /// offered again, a return decided): `target` like `lead:<id>`.
    pub async fn note(
        &self,
        actor: &str,
        action: &str,
        target: String,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), ConsoleError> {
        let audit = AuditEntry::new(
            self.now(),
            wall_nanos(),
            actor,
            action,
            target,
            before,
            after,
        );
        Ok(self.buyers().append_audit(&audit).await?)
    }

    /// The newest `limit` changes.
    pub async fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, ConsoleError> {
        Ok(self.buyers().audit_log(limit).await?)
    }

    fn check_version(&self, current: &Buyer, version: u64) -> Result<(), ConsoleError> {
        if current.version != version {
            return Err(ConsoleError::VersionConflict {
                buyer: current.id.to_string(),
                expected: version,
                current: current.version,
            });
        }
        Ok(())
    }

    async fn save(
        &self,
        current: &Buyer,
        next: &Buyer,
        action: &str,
        actor: &str,
    ) -> Result<(), ConsoleError> {
        let audit = self.entry(actor, action, &next.id, Some(current), Some(next));
        match self
            .buyers()
            .save_buyer(next, Some(current.version), &audit)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let now_at = self.find(next.id.as_str()).await.map_or(0, |b| b.version);
                return Err(ConsoleError::VersionConflict {
                    buyer: next.id.to_string(),
                    expected: current.version,
                    current: now_at,
                });
            }
            Err(e) => return Err(e.into()),
        }
        artefacts::forget_buyers(&self.backend).await;
        tracing::info!(buyer_id = %next.id, action, version = next.version, "buyer changed by the sales team");
        Ok(())
    }

    fn entry(
        &self,
        actor: &str,
        action: &str,
        id: &BuyerId,
        before: Option<&Buyer>,
        after: Option<&Buyer>,
    ) -> AuditEntry {
        AuditEntry::new(
            self.now(),
            wall_nanos(),
            actor,
            action,
            format!("buyer:{id}"),
            before.map(buyer_state),
            after.map(buyer_state),
        )
    }
}

fn summary(b: &Buyer, health: BuyerHealth, now: DateTime<Utc>) -> BuyerSummary {
    let standing = if !b.active {
        Standing::Inactive
    } else if b.pause.is_some() {
        Standing::Paused
    } else {
        Standing::Active
    };
    BuyerSummary {
        terms: BuyerTerms::of(b),
        version: b.version,
        standing,
        pause: b.pause.clone(),
        previous_secrets_until: b
            .previous_secrets
            .iter()
            .filter(|s| s.until > now)
            .map(|s| s.until)
            .collect(),
        consecutive_failures: health.consecutive_failures,
        failing_until: health.paused_until.filter(|until| *until > now),
    }
}

fn refuse_secret(terms: &BuyerTerms) -> Result<(), ConsoleError> {
    if terms.secret.is_some() {
        return Err(ConsoleError::Refused(
            "secret: secrets are generated, never sent; rotate to get a new one".into(),
        ));
    }
    Ok(())
}

/// A new Standard Webhooks secret: `whsec_` + base64 of 32 bytes from the OS.
pub fn generate_secret() -> Result<WebhookSecret, ConsoleError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|_| StoreError::Unavailable("no random source".into()))?;
    let text = format!(
        "{}{}",
        WebhookSecret::PREFIX,
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    WebhookSecret::parse(&text).map_err(ConsoleError::Refused)
}

/// The wall clock's nanoseconds: they order the changes of one moment of the business
/// clock (which stands still in a sandbox) and keep their audit ids apart.
fn wall_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
