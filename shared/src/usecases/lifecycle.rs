//! Applying the lead's life (`domain::lifecycle`) to the stores: a change is written in one
//! transaction (the record alone, a sale, or a release), and a lost race is read again
//! and decided again after a jittered pause. Every use case that moves a lead goes through
//! here or through the router's own loop, which adds deliveries between the steps.

use crate::domain::conversation::{ConsentWithdrawal, SessionId};
use crate::domain::erasure::ContactErasure;
use crate::domain::lead::LeadRecord;
use crate::domain::lifecycle::{self, Change, LeadEvent, Refused, Write};
use crate::domain::sale::SaleRefused;
use crate::ports::{LeadStore, SaleStore, StoreError, WRITE_ATTEMPTS, conflict_backoff};
use chrono::{DateTime, Utc};

/// Writes a change in one transaction: `Ok(Err(_))` when a condition refused it (nothing
/// changed).
pub async fn write<L: LeadStore + ?Sized, S: SaleStore + ?Sized>(
    leads: &L,
    sales: &S,
    change: &Change,
) -> Result<Result<(), SaleRefused>, StoreError> {
    match &change.write {
        Write::Record => match leads.put_lead(&change.record).await {
            Ok(()) => Ok(Ok(())),
            Err(StoreError::Conflict) => Ok(Err(SaleRefused::LeadChanged)),
            Err(e) => Err(e),
        },
        Write::Sale(sale) => sales.sell(sale).await,
        Write::Release(release) => sales.release(release).await,
    }
}

/// What became of an event applied with retries.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Written; the record as stored.
    Changed(LeadRecord),
    /// The event changes nothing on the record as it is (or does not apply to its state).
    Unchanged(LeadRecord, Refused),
}

/// Applies `event` to the lead `lead_id`, reading it again after each lost race.
pub async fn apply<L: LeadStore + ?Sized, S: SaleStore + ?Sized>(
    leads: &L,
    sales: &S,
    lead_id: &str,
    event: &LeadEvent,
    now: DateTime<Utc>,
) -> Result<Option<Applied>, StoreError> {
    for attempt in 0..WRITE_ATTEMPTS {
        let Some(record) = leads.lead(lead_id).await? else {
            return Ok(None);
        };
        let change = match lifecycle::next(&record, event, now, &[]) {
            Ok(change) => change,
            Err(refused) => return Ok(Some(Applied::Unchanged(record, refused))),
        };
        match write(leads, sales, &change).await? {
            Ok(()) => {
                return Ok(Some(Applied::Changed(LeadRecord {
                    version: change.record.version + 1,
                    ..change.record
                })));
            }
            Err(_) => tokio::time::sleep(conflict_backoff(attempt)).await,
        }
    }
    Err(StoreError::Conflict)
}

/// Withdraws the lead whatever its state (a tombstone when no record exists yet), once:
/// a sale not delivered is released, one delivered is credited, and the buyer that may
/// hold it is owed the signed `lead.withdrawn` (`LeadRecord::unsent_notices`). Returns the
/// record as stored.
pub async fn withdraw<L: LeadStore + ?Sized, S: SaleStore + ?Sized>(
    leads: &L,
    sales: &S,
    lead_id: &str,
    session_id: &SessionId,
    withdrawal: &ConsentWithdrawal,
) -> Result<LeadRecord, StoreError> {
    for attempt in 0..WRITE_ATTEMPTS {
        let change = match leads.lead(lead_id).await? {
            None => Change {
                record: LeadRecord::withdrawn_before_recorded(lead_id, session_id, withdrawal),
                write: Write::Record,
            },
            Some(current) => {
                match lifecycle::next(
                    &current,
                    &LeadEvent::Withdrawn(withdrawal.clone()),
                    withdrawal.at,
                    &[],
                ) {
                    Ok(change) => change,
                    Err(_) => return Ok(current),
                }
            }
        };
        match write(leads, sales, &change).await? {
            Ok(()) => {
                return Ok(LeadRecord {
                    version: change.record.version + 1,
                    ..change.record
                });
            }
            Err(_) => tokio::time::sleep(conflict_backoff(attempt)).await,
        }
    }
    Err(StoreError::Conflict)
}

/// Notes on the lead `lead_id` that the homeowner had their contact details erased
/// (after any withdrawal it also needs). Returns the record as stored, `None` when there
/// is no record (nothing to note).
pub async fn note_erasure<L: LeadStore + ?Sized, S: SaleStore + ?Sized>(
    leads: &L,
    sales: &S,
    lead_id: &str,
    erasure: &ContactErasure,
) -> Result<Option<LeadRecord>, StoreError> {
    let event = LeadEvent::ContactErased(erasure.without_consent());
    Ok(
        match apply(leads, sales, lead_id, &event, erasure.at).await? {
            Some(Applied::Changed(record) | Applied::Unchanged(record, _)) => Some(record),
            None => None,
        },
    )
}

/// What the reconcile step found on one lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadCheck {
    /// Terminal, or in flight within its bound, and its ledger agrees.
    Sound,
    /// It sat in flight past its bound: its sale (if any) was released and it was marked
    /// dead-lettered, waiting for a redrive.
    Repaired,
    /// Its ledger does not net to what the record says is billed: for people to look at.
    LedgerMismatch,
}

/// Checks one lead at `now`: a lead stuck in flight is released and marked (safe: its
/// message is dead or lost, and a late router finds the record changed); a ledger that
/// disagrees with the record is reported, never rewritten.
pub async fn reconcile<L: LeadStore + ?Sized, S: SaleStore + ?Sized>(
    leads: &L,
    sales: &S,
    lead_id: &str,
    now: DateTime<Utc>,
) -> Result<LeadCheck, StoreError> {
    let Some(record) = leads.lead(lead_id).await? else {
        return Ok(LeadCheck::Sound);
    };
    if lifecycle::stuck(&record, now) {
        let event = LeadEvent::DeadLettered {
            reason: "stuck_in_flight",
        };
        if let Some(Applied::Changed(after)) = apply(leads, sales, lead_id, &event, now).await? {
            tracing::warn!(
                lead_id,
                was = record.state.as_str(),
                "lead stuck in flight: released and marked dead-lettered"
            );
            let lines = sales.ledger(lead_id).await?;
            return Ok(if lifecycle::ledger_agrees(&after, &lines) {
                LeadCheck::Repaired
            } else {
                LeadCheck::LedgerMismatch
            });
        }
    }
    let lines = sales.ledger(lead_id).await?;
    Ok(if lifecycle::ledger_agrees(&record, &lines) {
        LeadCheck::Sound
    } else {
        tracing::error!(lead_id, "lead's ledger does not net to what it bills");
        LeadCheck::LedgerMismatch
    })
}
