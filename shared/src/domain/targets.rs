//! The business targets the system measures itself against (the guide's
//! `RevenueOptimizationConfig`): read from the environment by `config`, passed into the
//! domain as a value.

use super::money::Cents;
use super::scoring::TierThresholds;

/// The share of qualified leads each quality tier should have (bps, summing to 10,000):
/// the guide's 30 % premium, 50 % standard, 20 % basic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierMix {
    pub premium_bps: u32,
    pub standard_bps: u32,
    pub basic_bps: u32,
}

impl Default for TierMix {
    fn default() -> Self {
        TierMix {
            premium_bps: 3_000,
            standard_bps: 5_000,
            basic_bps: 2_000,
        }
    }
}

/// Money in cents, ratios in basis points, durations in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub conversion_rate_bps: u32,
    /// What an average lead should be worth (`TARGET_AVG_LEAD_VALUE`).
    pub avg_lead_value: Cents,
    /// Expected revenue a conversation should earn per hour of chat (`TARGET_REVENUE_PER_HOUR`).
    pub revenue_per_hour: Cents,
    /// Buyers should accept at least this share of the leads they judge
    /// (`TARGET_ACCEPTANCE_RATE`, the guide's 85 %).
    pub acceptance_rate_bps: u32,
    /// The tier mix qualified leads should have (`TARGET_TIER_MIX`).
    pub tier_mix: TierMix,
    pub surge_pricing_threshold_bps: u32,
    pub buyer_capacity_buffer_bps: u32,
    pub max_conversation_seconds: u32,
    pub min_conversation_seconds: u32,
    /// The scores that start each tier in the built-in scoring model
    /// (`QUALITY_THRESHOLD_PREMIUM` / `_STANDARD` / `_BASIC`); a learned model moves
    /// them at most [`THRESHOLD_BAND`] points away.
    pub tiers: TierThresholds,
}

/// How far learning may move a tier threshold from its configured value (points).
pub const THRESHOLD_BAND: u8 = 10;

impl Default for Targets {
    fn default() -> Self {
        Targets {
            conversion_rate_bps: 6_000,
            avg_lead_value: Cents::from_dollars(150),
            revenue_per_hour: Cents::from_dollars(30),
            acceptance_rate_bps: 8_500,
            tier_mix: TierMix::default(),
            surge_pricing_threshold_bps: 8_000,
            buyer_capacity_buffer_bps: 1_000,
            max_conversation_seconds: 1_800,
            min_conversation_seconds: 300,
            tiers: TierThresholds {
                premium: 85,
                standard: 70,
                basic: 50,
            },
        }
    }
}

impl Targets {
    /// The built-in scoring model (version 1) with the configured tier thresholds: what
    /// scores leads until a learned version is promoted.
    pub fn base_model(&self) -> super::scoring::ScoringModel {
        super::scoring::ScoringModel {
            tiers: self.tiers,
            ..super::scoring::ScoringModel::default()
        }
    }
}
