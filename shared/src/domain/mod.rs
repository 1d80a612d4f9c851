//! Pure business logic: no I/O, no clock reads (time is passed in), no AWS or Lambda types.

pub mod agent;
pub mod conversation;
pub mod data;
pub mod extract;
pub mod facts;
pub mod incentives;
pub mod market;
pub mod metrics;
pub mod money;
pub mod scoring;
pub mod targets;

pub use data::{DataError, init};
