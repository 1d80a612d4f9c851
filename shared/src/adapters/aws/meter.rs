//! Counts backend round trips and capacity units, so that the cost of one request can be
//! measured (and budgeted) rather than guessed.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Meter {
    dynamodb_reads: AtomicU64,
    dynamodb_writes: AtomicU64,
    /// Capacity units ×1000, to stay in integers.
    read_milli_units: AtomicU64,
    write_milli_units: AtomicU64,
    sqs_sends: AtomicU64,
    sqs_other: AtomicU64,
    redis_round_trips: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub dynamodb_reads: u64,
    pub dynamodb_writes: u64,
    pub read_milli_units: u64,
    pub write_milli_units: u64,
    pub sqs_sends: u64,
    pub sqs_other: u64,
    pub redis_round_trips: u64,
}

impl Usage {
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            dynamodb_reads: self.dynamodb_reads - earlier.dynamodb_reads,
            dynamodb_writes: self.dynamodb_writes - earlier.dynamodb_writes,
            read_milli_units: self.read_milli_units - earlier.read_milli_units,
            write_milli_units: self.write_milli_units - earlier.write_milli_units,
            sqs_sends: self.sqs_sends - earlier.sqs_sends,
            sqs_other: self.sqs_other - earlier.sqs_other,
            redis_round_trips: self.redis_round_trips - earlier.redis_round_trips,
        }
    }
}

fn milli(units: f64) -> u64 {
    (units * 1000.0).round().max(0.0) as u64
}

impl Meter {
    pub fn dynamodb_read(&self, units: f64) {
        self.dynamodb_reads.fetch_add(1, Ordering::Relaxed);
        self.read_milli_units
            .fetch_add(milli(units), Ordering::Relaxed);
    }

    pub fn dynamodb_write(&self, units: f64) {
        self.dynamodb_writes.fetch_add(1, Ordering::Relaxed);
        self.write_milli_units
            .fetch_add(milli(units), Ordering::Relaxed);
    }

    pub fn sqs_send(&self) {
        self.sqs_sends.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sqs_call(&self) {
        self.sqs_other.fetch_add(1, Ordering::Relaxed);
    }

    pub fn redis_round_trip(&self) {
        self.redis_round_trips.fetch_add(1, Ordering::Relaxed);
    }

    pub fn usage(&self) -> Usage {
        Usage {
            dynamodb_reads: self.dynamodb_reads.load(Ordering::Relaxed),
            dynamodb_writes: self.dynamodb_writes.load(Ordering::Relaxed),
            read_milli_units: self.read_milli_units.load(Ordering::Relaxed),
            write_milli_units: self.write_milli_units.load(Ordering::Relaxed),
            sqs_sends: self.sqs_sends.load(Ordering::Relaxed),
            sqs_other: self.sqs_other.load(Ordering::Relaxed),
            redis_round_trips: self.redis_round_trips.load(Ordering::Relaxed),
        }
    }
}

/// DynamoDB's write cost of an item: one unit per started KiB.
pub fn write_units_for(item_bytes: usize) -> f64 {
    item_bytes.div_ceil(1024).max(1) as f64
}

/// Strongly consistent read cost: one unit per started 4 KiB.
pub fn read_units_for(item_bytes: usize) -> f64 {
    item_bytes.div_ceil(4096).max(1) as f64
}
