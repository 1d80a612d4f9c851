//! A model trained offline (`aurum model train`, format `aurum-offline-model/1`) as the
//! live scorer takes it: a logistic regression whose features are the four factor scores,
//! which becomes the scoring model's conversion coefficients. The file standardises each
//! column (`(x − mean) / scale`); the scorer reads factors as `x / 100`, so each coefficient
//! is rescaled and the means move into the intercept. Any other column is refused: the
//! live scorer has no such input.

use super::conversion::{ModelVersion, Verdict};
use super::logistic::{self, Evaluation};
use crate::domain::scoring::{ConversionModel, ScoringModel};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The format `aurum model train` writes.
pub const FORMAT: &str = "aurum-offline-model/1";

/// The columns the live scorer has: the four factor scores, 0 to 100.
pub const FACTOR_COLUMNS: [&str; 4] = [
    "base_qualification",
    "behavioral",
    "market_timing",
    "nyc_intelligence",
];

/// The parts of a model file the loader reads (the rest is ignored).
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct OfflineModelFile {
    /// `aurum-offline-model/1`.
    #[schema(pattern = "^aurum-offline-model/1$")]
    pub format: String,
    /// How each column became a feature: each of the four factor scores, numeric.
    #[schema(min_items = 4, max_items = 4)]
    pub columns: Vec<OfflineColumn>,
    pub logit: OfflineLogit,
    /// Rows the model was trained on.
    pub training_rows: usize,
    /// The held-out figures `train` printed.
    pub held_out: Evaluation,
}

/// One column's encoding, as `aurum model train` writes it.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfflineColumn {
    Numeric {
        column: FactorColumn,
        mean: f64,
        #[schema(exclusive_minimum = 0)]
        scale: f64,
        /// Ignored: the live factors are never missing.
        #[serde(default)]
        missing_indicator: bool,
    },
}

/// A factor score's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactorColumn {
    BaseQualification,
    Behavioral,
    MarketTiming,
    NycIntelligence,
}

/// The fitted coefficients, one per feature in column order.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct OfflineLogit {
    pub intercept: f64,
    #[schema(min_items = 4, max_items = 8)]
    pub coefficients: Vec<f64>,
}

/// Why a model file cannot be loaded, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unloadable(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, Unloadable> {
    Err(Unloadable(why.into()))
}

impl OfflineModelFile {
    /// Reads a model file's JSON, naming what is wrong.
    pub fn parse(text: &str) -> Result<OfflineModelFile, Unloadable> {
        serde_json::from_str(text).map_err(|e| {
            Unloadable(format!(
                "not a model the live scorer can load: {e} (train on the columns {} only)",
                FACTOR_COLUMNS.join(", ")
            ))
        })
    }

    /// The conversion coefficients on the live scorer's `factor / 100`.
    pub fn conversion(&self) -> Result<ConversionModel, Unloadable> {
        if self.format != FORMAT {
            return refuse(format!(
                "format {:?}; this version loads {FORMAT:?}",
                self.format
            ));
        }
        let mut coefficients = [None; 4];
        let mut intercept = self.logit.intercept;
        let mut feature = 0;
        for c in &self.columns {
            let OfflineColumn::Numeric {
                column,
                mean,
                scale,
                missing_indicator,
            } = c;
            let Some(&w) = self.logit.coefficients.get(feature) else {
                return refuse("logit: fewer coefficients than features");
            };
            feature += 1 + usize::from(*missing_indicator);
            if !(scale.is_finite() && *scale > 0.0 && mean.is_finite() && w.is_finite()) {
                return refuse("columns: a mean, scale or coefficient is not a finite number");
            }
            let slot = &mut coefficients[*column as usize];
            if slot.is_some() {
                return refuse(format!("columns: {column:?} appears twice"));
            }
            *slot = Some(w * 100.0 / scale);
            intercept -= w * mean / scale;
        }
        if feature != self.logit.coefficients.len() {
            return refuse("logit: the coefficients do not match the columns");
        }
        let [Some(base), Some(behavioral), Some(timing), Some(nyc)] = coefficients else {
            return refuse(format!(
                "columns: the live scorer needs all of {}",
                FACTOR_COLUMNS.join(", ")
            ));
        };
        Ok(ConversionModel {
            intercept,
            base_qualification: base,
            behavioral,
            market_timing: timing,
            nyc_intelligence: nyc,
        })
    }

    /// The model in force with this file's conversion coefficients, as version `version`,
    /// and its record (verdict `loaded`; no parent figures: the file brings its own).
    pub fn into_version(
        &self,
        in_force: &ScoringModel,
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<ModelVersion, Unloadable> {
        let model = ScoringModel {
            version,
            conversion: self.conversion()?,
            ..in_force.clone()
        };
        model.validate().map_err(|e| Unloadable(e.to_string()))?;
        Ok(ModelVersion {
            version,
            parent_version: in_force.version,
            trained_at: at,
            training_samples: self.training_rows,
            verdict: Verdict::Loaded,
            evaluation: self.held_out,
            parent_evaluation: logistic::evaluate(&[], &[]),
            tiering: None,
            model,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scoring::FactorScores;

    fn file(columns: &str, coefficients: &str) -> String {
        format!(
            r#"{{"format": "{FORMAT}", "target": "converted", "columns": [{columns}],
            "logit": {{"intercept": -0.5, "coefficients": [{coefficients}]}},
            "training_rows": 100,
            "held_out": {{"samples": 20, "positives": 5, "log_loss": 0.5, "brier": 0.2}}}}"#
        )
    }

    fn numeric(name: &str, mean: f64, scale: f64) -> String {
        format!(
            r#"{{"kind": "numeric", "column": "{name}", "mean": {mean}, "scale": {scale}, "missing_indicator": false}}"#
        )
    }

    #[test]
    fn given_a_file_on_the_four_factors_when_converted_then_the_live_scorer_gives_the_files_probabilities()
     {
        let columns = [
            numeric("base_qualification", 60.0, 20.0),
            numeric("behavioral", 50.0, 25.0),
            numeric("market_timing", 55.0, 10.0),
            numeric("nyc_intelligence", 40.0, 30.0),
        ]
        .join(",");
        let f = OfflineModelFile::parse(&file(&columns, "0.8, 0.1, 0.6, 0.3")).expect("parses");
        let live = f.conversion().expect("converts");
        let factors = FactorScores {
            base_qualification: 70,
            behavioral: 20,
            market_timing: 90,
            nyc_intelligence: 10,
        };
        let z: f64 = -0.5
            + 0.8 * (70.0 - 60.0) / 20.0
            + 0.1 * (20.0 - 50.0) / 25.0
            + 0.6 * (90.0 - 55.0) / 10.0
            + 0.3 * (10.0 - 40.0) / 30.0;
        let offline = 1.0 / (1.0 + (-z).exp());
        assert!((live.probability(&factors) - offline).abs() < 1e-9);
    }

    #[test]
    fn given_a_file_with_another_column_or_a_missing_factor_then_it_is_refused() {
        let three = [
            numeric("base_qualification", 60.0, 20.0),
            numeric("behavioral", 50.0, 25.0),
            numeric("market_timing", 55.0, 10.0),
        ]
        .join(",");
        let f = OfflineModelFile::parse(&file(&three, "0.8, 0.1, 0.6")).expect("parses");
        assert!(f.conversion().is_err(), "a factor is missing");
        let zip = format!("{three},{}", numeric("zip_code", 11_000.0, 50.0));
        assert!(OfflineModelFile::parse(&file(&zip, "0.8, 0.1, 0.6, 0.2")).is_err());
        let four = format!("{three},{}", numeric("nyc_intelligence", 40.0, 30.0));
        let short = OfflineModelFile::parse(&file(&four, "0.8, 0.1, 0.6")).expect("parses");
        assert!(short.conversion().is_err(), "coefficients short of columns");
    }
}
