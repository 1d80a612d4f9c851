//! `aurum experiments start <file>`: the pricing experiments file (TOML, one
//! `[[experiment]]` table per buyer tier) read, validated, and stored as the experiments in
//! force. A bad file names the experiment and the problem and starts nothing.

pub use aurum::domain::learning::experiments::ExperimentFileError as FileError;
use aurum::domain::learning::experiments::{ExperimentSet, ExperimentsFile};
use chrono::{DateTime, Utc};

/// The experiments the project ships as an example (and `aurum serve` starts with).
pub const EXAMPLE_FILE: &str = include_str!("../../examples/experiments.toml");

#[derive(Debug, thiserror::Error)]
pub enum ExperimentFileError {
    #[error("not a valid experiments file: {0}")]
    Syntax(String),
    #[error(transparent)]
    Invalid(#[from] FileError),
}

/// The file's TOML, read.
pub fn read(text: &str) -> Result<ExperimentsFile, ExperimentFileError> {
    toml::from_str(text).map_err(|e| ExperimentFileError::Syntax(e.message().to_owned()))
}

/// Every experiment of the file, started at `at`.
pub fn parse(text: &str, at: DateTime<Utc>) -> Result<ExperimentSet, ExperimentFileError> {
    Ok(read(text)?.start(at)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurum::domain::buyer::BuyerTier;

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
        assert!(matches!(
            parse("", at()),
            Err(ExperimentFileError::Invalid(FileError::Empty))
        ));
    }
}
