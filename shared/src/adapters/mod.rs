//! Implementations of the ports, one folder per backend, each behind the cargo feature of
//! the deployments that use it: `aws/` (DynamoDB, SQS, Redis; the Lambda functions),
//! `embedded/` (one redb file; `aurum serve`), `memory/` (tests). Beside them what several
//! share: `process_cache` (no dependencies; every backend without Redis), `local_queue`
//! (the embedded and in-memory queues' receipts), `setup` (table and queue provisioning,
//! `aurum setup`) and `fake_buyer` (a buyer's webhook on loopback, for tests and the fault
//! run).

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "memory")]
pub mod fake_buyer;
#[cfg(any(feature = "embedded", feature = "memory"))]
mod local_queue;
#[cfg(feature = "memory")]
pub mod memory;
pub mod process_cache;
#[cfg(feature = "setup")]
pub mod setup;

pub use crate::redact::{decode_failure, error_chain};

/// The records `query` matches, newest first by when they qualified, at most `limit`; and
/// `true`: every record given was looked at (a store that stopped early says so itself).
pub(crate) fn newest_matches(
    records: Vec<crate::domain::lead::LeadRecord>,
    query: &crate::domain::lead::LeadQuery,
    limit: usize,
) -> (Vec<crate::domain::lead::LeadRecord>, bool) {
    let mut found: Vec<_> = records.into_iter().filter(|r| query.matches(r)).collect();
    found.sort_by(|a, b| {
        b.queued_at
            .cmp(&a.queued_at)
            .then_with(|| a.lead_id.cmp(&b.lead_id))
    });
    found.truncate(limit);
    (found, true)
}
