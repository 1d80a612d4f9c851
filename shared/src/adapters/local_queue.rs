//! What the embedded and in-memory queues share: receipts and time arithmetic.

use std::time::Duration;

/// A receipt names one delivery: the message and its receive count, so that an
/// acknowledgement from an earlier, timed-out delivery is ignored (as SQS does).
pub(crate) fn receipt(seq: u64, receive_count: u32) -> String {
    format!("{seq}#{receive_count}")
}

/// `(seq, receive_count)` of a receipt these queues issued.
pub(crate) fn parse_receipt(receipt: &str) -> Option<(u64, u32)> {
    let (seq, count) = receipt.split_once('#')?;
    Some((seq.parse().ok()?, count.parse().ok()?))
}

pub(crate) fn as_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
