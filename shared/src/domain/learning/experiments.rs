//! Pricing experiments per buyer tier: Thompson sampling over price variants.
//!
//! A variant is a multiplier on the quoted price. An offer at it earns price × the chance
//! the buyer keeps the lead, and the price is known: so the unknown is a Bernoulli
//! acceptance rate, with a Beta posterior per variant, and a draw of a variant's revenue
//! per offer is its price × a draw of its acceptance. (A Gamma–Poisson model would fit
//! revenue of unknown size per offer; here the size is the price we set.) Randomness is
//! passed in, so a seeded generator gives the same assignments.

use crate::domain::buyer::BuyerTier;
use crate::domain::feedback::{FeedbackType, TrainingExample};
use crate::domain::money::Cents;
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

/// One price of an experiment, as a multiplier (bps) on the price the pricing rules quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceVariant {
    #[schema(min_length = 1, max_length = 64)]
    pub id: String,
    #[schema(minimum = 1, maximum = 50000)]
    pub price_bps: u32,
}

/// What a variant has earned so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VariantStats {
    /// Leads sold at this variant whose outcome is known.
    pub offers: u64,
    /// Of those, kept by the buyer (accepted or converted).
    pub accepted: u64,
    /// Revenue of the kept ones.
    #[schema(value_type = i64)]
    pub revenue: Cents,
}

/// When a winner is promoted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PromotionRule {
    /// Offers across every variant before any winner (Thompson sampling starves a clear
    /// loser, so a per-variant minimum could wait for ever: the posterior's width already
    /// counts against a variant seen little).
    pub min_offers: u64,
    /// The winner itself needs this many offers.
    pub min_winner_offers: u64,
    /// The leader's posterior probability of being best must reach this.
    pub probability_best: f64,
    /// Posterior draws used to estimate that probability.
    pub draws: u32,
}

impl Default for PromotionRule {
    fn default() -> Self {
        PromotionRule {
            min_offers: 500,
            min_winner_offers: 100,
            probability_best: 0.95,
            draws: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ExperimentStatus {
    Running,
    /// Every lead of the tier gets the winner's price from now on.
    Concluded {
        winner: String,
        probability_best: f64,
        at: DateTime<Utc>,
    },
}

/// A price experiment for one buyer tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingExperiment {
    pub id: String,
    pub buyer_tier: BuyerTier,
    pub variants: Vec<PriceVariant>,
    /// In the order of `variants`.
    pub stats: Vec<VariantStats>,
    /// Beta(prior_accepted, prior_refused) before any offer: a weak prior of 1 and 1 is
    /// uniform.
    pub prior_accepted: f64,
    pub prior_refused: f64,
    pub rule: PromotionRule,
    pub status: ExperimentStatus,
    /// Outcomes of leads sold from this time on count towards it.
    pub started_at: DateTime<Utc>,
}

pub use crate::domain::pricing::VariantAssignment;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExperimentError {
    #[error("an experiment needs at least two variants")]
    TooFewVariants,
    #[error("variant ids must be distinct and 1 to 64 characters: {0:?}")]
    VariantId(String),
    #[error("experiment ids must be 1 to 64 characters: {0:?}")]
    Id(String),
    #[error("variant {0} has a price multiplier outside 1..=50000 bps")]
    Price(String),
    #[error("the prior must be positive and finite")]
    Prior,
    #[error("probability_best must be within (0.5, 1) and draws at least 100")]
    Rule,
    #[error("experiment {0} shares its id or its buyer tier with another experiment")]
    TwoForOneTier(String),
    #[error("experiment {experiment} has no variant {variant}")]
    UnknownVariant { experiment: String, variant: String },
}

/// The experiments file (TOML for `aurum experiments start`, the same as JSON for the API):
/// one entry per buyer tier; an omitted rule field takes the default.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentsFile {
    #[serde(default)]
    #[schema(required = true, min_items = 1, max_items = 4)]
    pub experiment: Vec<ExperimentEntry>,
}

/// One experiment of the file.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentEntry {
    #[schema(min_length = 1, max_length = 64)]
    pub id: String,
    pub buyer_tier: BuyerTier,
    /// At least two, with distinct ids.
    #[schema(min_items = 2, max_items = 10)]
    pub variants: Vec<PriceVariant>,
    #[serde(default)]
    pub min_offers: Option<u64>,
    #[serde(default)]
    pub min_winner_offers: Option<u64>,
    /// Above 0.5 and below 1 (default 0.95).
    #[serde(default)]
    #[schema(exclusive_minimum = 0.5, exclusive_maximum = 1)]
    pub probability_best: Option<f64>,
}

/// Why an experiments file starts nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExperimentFileError {
    #[error("experiment {id}: {error}")]
    Experiment { id: String, error: ExperimentError },
    #[error("the file has no [[experiment]]")]
    Empty,
}

impl ExperimentsFile {
    /// Every experiment of the file, started at `at`.
    pub fn start(self, at: DateTime<Utc>) -> Result<ExperimentSet, ExperimentFileError> {
        if self.experiment.is_empty() {
            return Err(ExperimentFileError::Empty);
        }
        let defaults = PromotionRule::default();
        let experiments = self
            .experiment
            .into_iter()
            .map(|e| {
                let rule = PromotionRule {
                    min_offers: e.min_offers.unwrap_or(defaults.min_offers),
                    min_winner_offers: e.min_winner_offers.unwrap_or(defaults.min_winner_offers),
                    probability_best: e.probability_best.unwrap_or(defaults.probability_best),
                    draws: defaults.draws,
                };
                PricingExperiment::new(e.id.clone(), e.buyer_tier, e.variants, rule, at)
                    .map_err(|error| ExperimentFileError::Experiment { id: e.id, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        ExperimentSet::new(experiments).map_err(|error| ExperimentFileError::Experiment {
            id: match &error {
                ExperimentError::TwoForOneTier(id) => id.clone(),
                _ => String::new(),
            },
            error,
        })
    }
}

impl PricingExperiment {
    pub fn new(
        id: impl Into<String>,
        buyer_tier: BuyerTier,
        variants: Vec<PriceVariant>,
        rule: PromotionRule,
        started_at: DateTime<Utc>,
    ) -> Result<PricingExperiment, ExperimentError> {
        let e = PricingExperiment {
            started_at,
            id: id.into(),
            buyer_tier,
            stats: vec![VariantStats::default(); variants.len()],
            variants,
            prior_accepted: 1.0,
            prior_refused: 1.0,
            rule,
            status: ExperimentStatus::Running,
        };
        e.validate()?;
        Ok(e)
    }

    /// Checks an experiment read back from a store.
    pub fn validate(&self) -> Result<(), ExperimentError> {
        let id_ok = |id: &str| (1..=64).contains(&id.chars().count());
        if !id_ok(&self.id) {
            return Err(ExperimentError::Id(self.id.clone()));
        }
        if self.variants.len() < 2 || self.stats.len() != self.variants.len() {
            return Err(ExperimentError::TooFewVariants);
        }
        for (i, v) in self.variants.iter().enumerate() {
            if !id_ok(&v.id) || self.variants[..i].iter().any(|o| o.id == v.id) {
                return Err(ExperimentError::VariantId(v.id.clone()));
            }
            if !(1..=50_000).contains(&v.price_bps) {
                return Err(ExperimentError::Price(v.id.clone()));
            }
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.prior_accepted) || !positive(self.prior_refused) {
            return Err(ExperimentError::Prior);
        }
        let r = self.rule;
        if !(r.probability_best > 0.5 && r.probability_best < 1.0) || r.draws < 100 {
            return Err(ExperimentError::Rule);
        }
        Ok(())
    }

    fn posterior(&self, i: usize) -> Option<Beta<f64>> {
        let s = self.stats[i];
        let accepted = s.accepted.min(s.offers) as f64;
        let refused = (s.offers - s.accepted.min(s.offers)) as f64;
        Beta::new(self.prior_accepted + accepted, self.prior_refused + refused).ok()
    }

    /// One Thompson draw: each variant's revenue per offer (in price bps).
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        (0..self.variants.len())
            .map(|i| {
                self.posterior(i).map_or(0.0, |b| {
                    b.sample(rng) * f64::from(self.variants[i].price_bps)
                })
            })
            .collect()
    }

    fn argmax(values: &[f64]) -> usize {
        values
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                if v > best.1 { (i, v) } else { best }
            })
            .0
    }

    /// The variant for the next lead of the tier: the winner once concluded, else the
    /// best of one posterior draw.
    pub fn assign<R: Rng + ?Sized>(&self, rng: &mut R) -> VariantAssignment {
        let i = match &self.status {
            ExperimentStatus::Concluded { winner, .. } => self
                .variants
                .iter()
                .position(|v| v.id == *winner)
                .unwrap_or(0),
            ExperimentStatus::Running => Self::argmax(&self.draw(rng)),
        };
        VariantAssignment {
            experiment_id: self.id.clone(),
            variant_id: self.variants[i].id.clone(),
            price_bps: self.variants[i].price_bps,
        }
    }

    /// Records the outcome of a lead sold at `variant`: kept (with its revenue) or not.
    pub fn record(
        &mut self,
        variant: &str,
        kept: bool,
        revenue: Cents,
    ) -> Result<(), ExperimentError> {
        let i = self
            .variants
            .iter()
            .position(|v| v.id == variant)
            .ok_or_else(|| ExperimentError::UnknownVariant {
                experiment: self.id.clone(),
                variant: variant.to_owned(),
            })?;
        let s = &mut self.stats[i];
        s.offers += 1;
        if kept {
            s.accepted += 1;
            s.revenue += revenue;
        }
        Ok(())
    }

    /// Posterior probability that each variant earns the most per offer (Monte Carlo over
    /// `rule.draws` draws).
    pub fn probability_best<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        let mut wins = vec![0u32; self.variants.len()];
        for _ in 0..self.rule.draws {
            wins[Self::argmax(&self.draw(rng))] += 1;
        }
        wins.iter()
            .map(|&w| f64::from(w) / f64::from(self.rule.draws))
            .collect()
    }

    /// [`PricingExperiment::probability_best`] from a seeded generator: the same figures
    /// for the same counts and seed.
    pub fn probability_best_seeded(&self, seed: u64) -> Vec<f64> {
        self.probability_best(&mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    /// Posterior mean revenue per offer of each variant, in price bps × acceptance.
    pub fn expected_revenue_bps(&self) -> Vec<f64> {
        (0..self.variants.len())
            .map(|i| {
                let s = self.stats[i];
                let a = self.prior_accepted + s.accepted as f64;
                let b = self.prior_refused + (s.offers - s.accepted.min(s.offers)) as f64;
                a / (a + b) * f64::from(self.variants[i].price_bps)
            })
            .collect()
    }

    /// Promotes the leader once the experiment has its minimum of offers, the leader its
    /// own, and the leader is best with at least `rule.probability_best`. Returns the
    /// winner when this call concluded the experiment.
    pub fn conclude<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        at: DateTime<Utc>,
    ) -> Option<PriceVariant> {
        if self.status != ExperimentStatus::Running
            || self.stats.iter().map(|s| s.offers).sum::<u64>() < self.rule.min_offers
        {
            return None;
        }
        let p = self.probability_best(rng);
        let leader = Self::argmax(&p);
        if p[leader] < self.rule.probability_best
            || self.stats[leader].offers < self.rule.min_winner_offers
        {
            return None;
        }
        self.status = ExperimentStatus::Concluded {
            winner: self.variants[leader].id.clone(),
            probability_best: p[leader],
            at,
        };
        Some(self.variants[leader].clone())
    }
}

/// A lead's last known outcome at a variant: what its offer counts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantOutcome {
    pub lead_id: String,
    pub assignment: VariantAssignment,
    pub kept: bool,
    pub price: Cents,
    pub at: DateTime<Utc>,
}

impl VariantOutcome {
    /// The outcome a training example reports, when its lead was priced by an experiment:
    /// accepted or converted keeps the lead; rejected or returned does not.
    pub fn of(example: &TrainingExample) -> Option<VariantOutcome> {
        let assignment = example.quote.experiment.as_deref().cloned()?;
        Some(VariantOutcome {
            lead_id: example.lead_id.clone(),
            assignment,
            kept: matches!(
                example.outcome,
                FeedbackType::Accepted | FeedbackType::Converted
            ),
            price: example.price,
            at: example.recorded_at,
        })
    }
}

/// The experiments in force, at most one per buyer tier.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExperimentSet {
    pub experiments: Vec<PricingExperiment>,
}

impl ExperimentSet {
    /// Checks every experiment and that no tier has two.
    pub fn new(experiments: Vec<PricingExperiment>) -> Result<ExperimentSet, ExperimentError> {
        for (i, e) in experiments.iter().enumerate() {
            e.validate()?;
            if experiments[..i]
                .iter()
                .any(|o| o.buyer_tier == e.buyer_tier || o.id == e.id)
            {
                return Err(ExperimentError::TwoForOneTier(e.id.clone()));
            }
        }
        Ok(ExperimentSet { experiments })
    }

    /// The experiment pricing leads of `tier`, if any.
    pub fn for_tier(&self, tier: BuyerTier) -> Option<&PricingExperiment> {
        self.experiments.iter().find(|e| e.buyer_tier == tier)
    }

    /// Counts each experiment's offers again from the outcomes known now: each lead once,
    /// at its latest outcome, when it was sold at one of the experiment's variants after
    /// the experiment started. Then promotes any winner the evidence allows. Returns the
    /// winners this call promoted.
    pub fn recount<R: Rng + ?Sized>(
        &mut self,
        outcomes: &[VariantOutcome],
        rng: &mut R,
        at: DateTime<Utc>,
    ) -> Vec<(String, PriceVariant)> {
        let mut latest: std::collections::HashMap<&str, &VariantOutcome> =
            std::collections::HashMap::new();
        for o in outcomes {
            let entry = latest.entry(o.lead_id.as_str()).or_insert(o);
            if o.at >= entry.at {
                *entry = o;
            }
        }
        let mut ordered: Vec<&VariantOutcome> = latest.into_values().collect();
        ordered.sort_by(|a, b| (a.at, &a.lead_id).cmp(&(b.at, &b.lead_id)));
        let mut promoted = Vec::new();
        for e in &mut self.experiments {
            e.stats = vec![VariantStats::default(); e.variants.len()];
            let (id, started_at) = (e.id.clone(), e.started_at);
            for o in ordered
                .iter()
                .filter(|o| o.assignment.experiment_id == id && o.at >= started_at)
            {
                // A variant no longer in the experiment is not counted.
                let _ = e.record(&o.assignment.variant_id, o.kept, o.price);
            }
            if let Some(winner) = e.conclude(rng, at) {
                promoted.push((e.id.clone(), winner));
            }
        }
        promoted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn variants() -> Vec<PriceVariant> {
        [("low", 9_000), ("list", 10_000), ("high", 11_500)]
            .map(|(id, price_bps)| PriceVariant {
                id: id.into(),
                price_bps,
            })
            .to_vec()
    }

    fn experiment() -> PricingExperiment {
        PricingExperiment::new(
            "premium-2026-06",
            BuyerTier::Premium,
            variants(),
            PromotionRule::default(),
            at(),
        )
        .expect("valid")
    }

    #[test]
    fn given_the_same_seed_then_the_assignments_are_the_same() {
        let e = experiment();
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..50)
                .map(|_| e.assign(&mut rng).variant_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4), "a different seed draws differently");
    }

    #[test]
    fn given_bad_variants_then_the_experiment_is_refused() {
        let r = PromotionRule::default();
        assert_eq!(
            PricingExperiment::new("x", BuyerTier::Volume, variants()[..1].to_vec(), r, at()),
            Err(ExperimentError::TooFewVariants)
        );
        let mut twins = variants();
        twins[1].id = "low".into();
        assert!(matches!(
            PricingExperiment::new("x", BuyerTier::Volume, twins, r, at()),
            Err(ExperimentError::VariantId(_))
        ));
        let mut free = variants();
        free[0].price_bps = 0;
        assert!(matches!(
            PricingExperiment::new("x", BuyerTier::Volume, free, r, at()),
            Err(ExperimentError::Price(_))
        ));
    }

    #[test]
    fn given_an_unknown_variant_then_recording_is_refused() {
        let mut e = experiment();
        assert!(matches!(
            e.record("nope", true, Cents(100)),
            Err(ExperimentError::UnknownVariant { .. })
        ));
        e.record("high", true, Cents(28_750)).expect("known");
        assert_eq!(e.stats[2].offers, 1);
        assert_eq!(e.stats[2].revenue, Cents(28_750));
    }

    fn at() -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 12, 0, 0)
            .single()
            .expect("t")
    }

    #[test]
    fn given_too_little_evidence_then_no_winner_is_promoted() {
        let mut e = experiment();
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..166 {
            e.record("list", true, Cents(25_000)).expect("known");
            e.record("low", false, Cents::ZERO).expect("known");
            e.record("high", false, Cents::ZERO).expect("known");
        }
        assert_eq!(
            e.conclude(&mut rng, at()),
            None,
            "498 offers is below the minimum"
        );
        for v in ["list", "low"] {
            e.record(v, v == "list", Cents(25_000)).expect("known");
        }
        assert_eq!(
            e.conclude(&mut rng, at()).map(|v| v.id),
            Some("list".into())
        );
        assert!(
            matches!(e.status, ExperimentStatus::Concluded { ref winner, .. } if winner == "list")
        );
        assert_eq!(
            e.assign(&mut rng).variant_id,
            "list",
            "the winner is every lead's price"
        );
    }

    fn outcome(lead: &str, variant: &str, kept: bool, minutes: i64) -> VariantOutcome {
        VariantOutcome {
            lead_id: lead.into(),
            assignment: VariantAssignment {
                experiment_id: "premium-2026-06".into(),
                variant_id: variant.into(),
                price_bps: 10_000,
            },
            kept,
            price: Cents(25_000),
            at: at() + chrono::Duration::minutes(minutes),
        }
    }

    #[test]
    fn given_outcomes_when_recounted_then_each_lead_counts_once_at_its_latest_outcome() {
        let mut set = ExperimentSet::new(vec![experiment()]).expect("one");
        let mut rng = StdRng::seed_from_u64(2);
        let mut other = outcome("l9", "low", true, 5);
        other.assignment.experiment_id = "another".into();
        let outcomes = vec![
            outcome("l1", "list", true, 1),
            // Accepted, then returned: one offer, not kept.
            outcome("l2", "high", true, 1),
            outcome("l2", "high", false, 9),
            // Before the experiment started: not counted.
            outcome("l3", "low", true, -5),
            // A variant the experiment no longer has, and another experiment's lead.
            outcome("l4", "gone", true, 2),
            other,
        ];
        let promoted = set.recount(&outcomes, &mut rng, at());
        assert!(promoted.is_empty());
        let stats = &set.experiments[0].stats;
        assert_eq!((stats[1].offers, stats[1].accepted), (1, 1), "list");
        assert_eq!((stats[2].offers, stats[2].accepted), (1, 0), "high");
        assert_eq!(stats[0].offers, 0, "low");
        // Recounting the same outcomes gives the same counts (the job runs every hour).
        let again = set.experiments[0].stats.clone();
        set.recount(&outcomes, &mut rng, at());
        assert_eq!(set.experiments[0].stats, again);
    }

    #[test]
    fn given_enough_evidence_when_recounted_then_the_best_variant_is_promoted() {
        let mut set = ExperimentSet::new(vec![experiment()]).expect("one");
        let outcomes: Vec<VariantOutcome> = (0..600)
            .map(|i| {
                let variant = ["low", "list", "high"][i % 3];
                // list keeps 80 %, the others 30 %.
                let kept = if variant == "list" {
                    i % 10 < 8
                } else {
                    i % 10 < 3
                };
                outcome(&format!("l{i}"), variant, kept, 1)
            })
            .collect();
        let promoted = set.recount(&outcomes, &mut StdRng::seed_from_u64(3), at());
        assert_eq!(promoted.len(), 1);
        assert_eq!(promoted[0].1.id, "list");
        assert!(set.for_tier(BuyerTier::Premium).is_some_and(|e| matches!(
            &e.status,
            ExperimentStatus::Concluded { winner, .. } if winner == "list"
        )));
        assert!(set.for_tier(BuyerTier::Volume).is_none());
    }

    #[test]
    fn given_two_experiments_for_one_tier_then_the_set_is_refused() {
        let mut second = experiment();
        second.id = "premium-other".into();
        assert_eq!(
            ExperimentSet::new(vec![experiment(), second]),
            Err(ExperimentError::TwoForOneTier("premium-other".into()))
        );
    }
}
