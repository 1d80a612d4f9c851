//! Implementations of the ports: `embedded` (redb file, local runs), `memory` (tests),
//! and the AWS ones (`dynamodb`, `sqs`, `redis`), built together by `aws`.

pub mod aws;
pub mod dynamodb;
pub mod embedded;
pub mod memory;
pub mod meter;
pub mod redis;
pub mod setup;
pub mod sqs;

/// An error with its whole source chain: the SDKs' own messages are terse ("dispatch
/// failure"), the cause (e.g. "connection refused") sits further down.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A decoding failure described without quoting the data: stored items and messages hold
/// personal details, and this text reaches the logs.
pub fn decode_failure(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}
