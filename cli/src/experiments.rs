//! `aurum experiments start <file>`: the pricing experiments file (TOML, one
//! `[[experiment]]` table per buyer tier) read, validated, and stored as the experiments in
//! force. A bad file names the experiment and the problem and starts nothing.

use aurum::domain::buyer::BuyerTier;
use aurum::domain::learning::experiments::{
    ExperimentError, ExperimentSet, PriceVariant, PricingExperiment, PromotionRule,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The experiments the project ships as an example (and `aurum serve` starts with).
pub const EXAMPLE_FILE: &str = include_str!("../../examples/experiments.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    #[serde(default)]
    experiment: Vec<ExperimentEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentEntry {
    id: String,
    buyer_tier: BuyerTier,
    variants: Vec<PriceVariant>,
    #[serde(default)]
    min_offers: Option<u64>,
    #[serde(default)]
    min_winner_offers: Option<u64>,
    #[serde(default)]
    probability_best: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExperimentFileError {
    #[error("not a valid experiments file: {0}")]
    Syntax(String),
    #[error("experiment {id}: {error}")]
    Experiment { id: String, error: ExperimentError },
    #[error("the file has no [[experiment]]")]
    Empty,
}

/// Every experiment of the file, started at `at`.
pub fn parse(text: &str, at: DateTime<Utc>) -> Result<ExperimentSet, ExperimentFileError> {
    let file: ExperimentFile =
        toml::from_str(text).map_err(|e| ExperimentFileError::Syntax(e.message().to_owned()))?;
    if file.experiment.is_empty() {
        return Err(ExperimentFileError::Empty);
    }
    let defaults = PromotionRule::default();
    let experiments = file
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }

    #[test]
    fn given_the_example_file_then_every_experiment_is_valid() {
        let set = parse(EXAMPLE_FILE, at()).expect("the example file is valid");
        assert!(set.for_tier(BuyerTier::Premium).is_some());
        assert!(set.experiments.iter().all(|e| e.variants.len() >= 2));
    }

    #[test]
    fn given_a_bad_file_then_the_error_names_the_experiment_and_nothing_starts() {
        let one_variant = r#"
[[experiment]]
id = "solo"
buyer_tier = "volume"
variants = [{ id = "list", price_bps = 10000 }]
"#;
        let e = parse(one_variant, at()).expect_err("refused");
        assert!(e.to_string().contains("solo"), "{e}");

        let twice = format!(
            "{EXAMPLE_FILE}\n[[experiment]]\nid = \"again\"\nbuyer_tier = \"premium\"\nvariants = [{{ id = \"a\", price_bps = 9000 }}, {{ id = \"b\", price_bps = 10000 }}]\n"
        );
        let e = parse(&twice, at()).expect_err("two for one tier");
        assert!(e.to_string().contains("again"), "{e}");

        let unknown = r#"
[[experiment]]
id = "x"
buyer_tier = "volume"
colour = "red"
variants = []
"#;
        assert!(matches!(
            parse(unknown, at()),
            Err(ExperimentFileError::Syntax(_))
        ));
        assert!(matches!(parse("", at()), Err(ExperimentFileError::Empty)));
    }
}
