//! Implementations of the ports: `embedded` (redb file, local runs), `memory` (tests).

pub mod embedded;
pub mod memory;
