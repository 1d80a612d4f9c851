//! Implementations of the ports, each behind the cargo feature of the deployments that use
//! it: `aws` (DynamoDB, SQS, Redis; the Lambda functions), `embedded` (one redb file;
//! `aurum serve`), `memory` (tests), `setup` (table and queue provisioning, `aurum setup`).
//! `process_cache` has no dependencies and serves every backend without Redis.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
mod dynamodb_feedback;
#[cfg(feature = "aws")]
mod dynamodb_jobs;
#[cfg(feature = "aws")]
mod dynamodb_metrics;
#[cfg(feature = "aws")]
mod dynamodb_sales;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "memory")]
pub mod fake_buyer;
#[cfg(any(feature = "embedded", feature = "memory"))]
mod local_queue;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "aws")]
pub mod meter;
pub mod process_cache;
#[cfg(feature = "aws")]
pub mod redis;
#[cfg(feature = "setup")]
pub mod setup;
#[cfg(feature = "aws")]
pub mod sqs;

pub use crate::redact::{decode_failure, error_chain};
