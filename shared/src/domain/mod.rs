//! Pure business logic: no I/O, no clock reads (time is passed in), no AWS or Lambda types.

pub mod agent;
pub mod analytics;
pub mod answers;
pub mod audit;
pub mod bid_price;
pub mod buyer;
pub mod conversation;
pub mod data;
pub mod erasure;
pub mod extract;
pub mod facts;
pub mod feedback;
pub mod forecast;
pub mod incentives;
pub mod knowledge;
pub mod lead;
pub mod learning;
pub mod lifecycle;
pub mod market;
pub mod metrics;
pub mod money;
pub mod pricing;
pub mod routing;
pub mod sale;
pub mod scoring;
pub mod statement;
pub mod targets;
pub mod terms;
pub mod turn;

pub use data::{DataError, init};

/// Whether two secrets (tokens, keys, their hashes) are equal, compared in time that does
/// not depend on where they differ: the one comparison of every credential a caller sends.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
