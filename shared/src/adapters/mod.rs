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
