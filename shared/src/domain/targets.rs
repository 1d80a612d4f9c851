//! The business targets the system measures itself against (the guide's configuration):
//! read from the environment by `config`, passed into the domain as a value.

use super::money::Cents;

/// Money in cents, ratios in basis points, durations in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub conversion_rate_bps: u32,
    /// What an average lead should be worth (`TARGET_AVG_LEAD_VALUE`).
    pub avg_lead_value: Cents,
    /// Expected revenue a conversation should earn per hour of chat (`TARGET_REVENUE_PER_HOUR`).
    pub revenue_per_hour: Cents,
    pub surge_pricing_threshold_bps: u32,
    pub buyer_capacity_buffer_bps: u32,
    pub max_conversation_seconds: u32,
    pub min_conversation_seconds: u32,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            conversion_rate_bps: 6_000,
            avg_lead_value: Cents::from_dollars(150),
            revenue_per_hour: Cents::from_dollars(30),
            surge_pricing_threshold_bps: 8_000,
            buyer_capacity_buffer_bps: 1_000,
            max_conversation_seconds: 1_800,
            min_conversation_seconds: 300,
        }
    }
}
