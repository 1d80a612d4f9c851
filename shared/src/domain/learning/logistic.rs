//! Regularised logistic regression fitted by Newton's method, and the figures a
//! probability model is judged by (log loss, Brier score, calibration, AUC).
//!
//! The penalty pulls the coefficients towards a prior (the model in force, or zero), so a
//! small window moves a model a little and a large one moves it to what the data says.

use serde::{Deserialize, Serialize};

/// Coefficients of a logistic model: P(y) = σ(intercept + Σ coefficientᵢ·xᵢ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logit {
    pub intercept: f64,
    pub coefficients: Vec<f64>,
}

impl Logit {
    pub fn zeros(dim: usize) -> Logit {
        Logit {
            intercept: 0.0,
            coefficients: vec![0.0; dim],
        }
    }

    pub fn linear(&self, x: &[f64]) -> f64 {
        self.intercept
            + self
                .coefficients
                .iter()
                .zip(x)
                .map(|(b, v)| b * v)
                .sum::<f64>()
    }

    /// Always within 0..=1 (0 for a NaN input: a NaN must not reach a price).
    pub fn probability(&self, x: &[f64]) -> f64 {
        sigmoid(self.linear(x))
    }
}

pub fn sigmoid(z: f64) -> f64 {
    let p = if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    };
    if p.is_nan() { 0.0 } else { p }
}

/// How a fit is made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// L2 penalty (½·l2·‖θ − prior‖²) on every coefficient and the intercept.
    pub l2: f64,
    pub max_iterations: u32,
    /// Stop once no coefficient moves by more than this in a step.
    pub tolerance: f64,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            l2: 1.0,
            max_iterations: 50,
            tolerance: 1e-8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("no examples to fit")]
    Empty,
    #[error("example {row} has {got} features; the prior has {want}")]
    Dimension { row: usize, got: usize, want: usize },
    #[error("example {row} has a feature that is not a finite number")]
    NotFinite { row: usize },
    #[error("the L2 penalty must be a positive finite number")]
    Penalty,
}

/// The result of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub logit: Logit,
    pub iterations: u32,
    pub converged: bool,
}

fn penalised_loss(logit: &Logit, prior: &Logit, xs: &[Vec<f64>], ys: &[bool], l2: f64) -> f64 {
    let data: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, &y)| {
            let z = logit.linear(x);
            // log(1 + e^z) − y·z, computed without overflow.
            let softplus = if z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            softplus - if y { z } else { 0.0 }
        })
        .sum();
    let shift = (logit.intercept - prior.intercept).powi(2)
        + logit
            .coefficients
            .iter()
            .zip(&prior.coefficients)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>();
    data + 0.5 * l2 * shift
}

/// Solves `a·x = b` for a symmetric positive-definite `a` (Cholesky), in place.
// Indexed loops read as the textbook algorithm; iterator forms would hide the triangles.
#[allow(clippy::needless_range_loop)]
fn solve_spd(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for j in 0..n {
        let mut d = a[j][j];
        for k in 0..j {
            d -= a[j][k] * a[j][k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j][j] = d;
        for i in j + 1..n {
            let mut s = a[i][j];
            for k in 0..j {
                s -= a[i][k] * a[j][k];
            }
            a[i][j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i][k] * b[k];
        }
        b[i] = s / a[i][i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k][i] * b[k];
        }
        b[i] = s / a[i][i];
    }
    Some(b)
}

/// Fits a logistic model to `(xs, ys)`, penalised towards `prior` (which also sets the
/// number of features). Newton steps with step halving: the penalised loss never rises.
#[allow(clippy::needless_range_loop)]
pub fn fit(
    xs: &[Vec<f64>],
    ys: &[bool],
    prior: &Logit,
    settings: &FitSettings,
) -> Result<Fitted, FitError> {
    if xs.is_empty() || xs.len() != ys.len() {
        return Err(FitError::Empty);
    }
    if !(settings.l2.is_finite() && settings.l2 > 0.0) {
        return Err(FitError::Penalty);
    }
    let dim = prior.coefficients.len();
    for (row, x) in xs.iter().enumerate() {
        if x.len() != dim {
            return Err(FitError::Dimension {
                row,
                got: x.len(),
                want: dim,
            });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(FitError::NotFinite { row });
        }
    }
    let n = dim + 1;
    let mut current = prior.clone();
    let mut loss = penalised_loss(&current, prior, xs, ys, settings.l2);
    for iteration in 1..=settings.max_iterations {
        let mut gradient = vec![0.0; n];
        let mut hessian = vec![vec![0.0; n]; n];
        for (x, &y) in xs.iter().zip(ys) {
            let p = current.probability(x);
            let residual = p - if y { 1.0 } else { 0.0 };
            let w = (p * (1.0 - p)).max(1e-12);
            gradient[0] += residual;
            hessian[0][0] += w;
            for i in 0..dim {
                gradient[i + 1] += residual * x[i];
                hessian[i + 1][0] += w * x[i];
                for j in 0..=i {
                    hessian[i + 1][j + 1] += w * x[i] * x[j];
                }
            }
        }
        gradient[0] += settings.l2 * (current.intercept - prior.intercept);
        hessian[0][0] += settings.l2;
        for i in 0..dim {
            gradient[i + 1] += settings.l2 * (current.coefficients[i] - prior.coefficients[i]);
            hessian[i + 1][i + 1] += settings.l2;
        }
        for i in 0..n {
            for j in i + 1..n {
                hessian[i][j] = hessian[j][i];
            }
        }
        let Some(step) = solve_spd(hessian, gradient) else {
            return Ok(Fitted {
                logit: current,
                iterations: iteration,
                converged: false,
            });
        };
        let mut scale = 1.0;
        let mut accepted = None;
        for _ in 0..30 {
            let candidate = Logit {
                intercept: current.intercept - scale * step[0],
                coefficients: current
                    .coefficients
                    .iter()
                    .zip(&step[1..])
                    .map(|(b, s)| b - scale * s)
                    .collect(),
            };
            let candidate_loss = penalised_loss(&candidate, prior, xs, ys, settings.l2);
            if candidate_loss <= loss {
                accepted = Some((candidate, candidate_loss));
                break;
            }
            scale *= 0.5;
        }
        let Some((next, next_loss)) = accepted else {
            return Ok(Fitted {
                logit: current,
                iterations: iteration,
                converged: true,
            });
        };
        let moved = step.iter().map(|s| (s * scale).abs()).fold(0.0, f64::max);
        current = next;
        loss = next_loss;
        if moved < settings.tolerance {
            return Ok(Fitted {
                logit: current,
                iterations: iteration,
                converged: true,
            });
        }
    }
    Ok(Fitted {
        logit: current,
        iterations: settings.max_iterations,
        converged: false,
    })
}

/// How well predicted probabilities match outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evaluation {
    pub samples: usize,
    pub positives: usize,
    /// Mean negative log-likelihood (nats); lower is better.
    pub log_loss: f64,
    /// Mean squared error of the probability; lower is better.
    pub brier: f64,
    /// Mean predicted probability / observed positive rate (1.0 is calibrated); `None`
    /// without a positive.
    pub calibration_ratio: Option<f64>,
    /// Probability that a random positive is ranked above a random negative; `None`
    /// unless both occur.
    pub auc: Option<f64>,
}

/// Probabilities are clipped to [1e-15, 1 − 1e-15] so one confident miss is costly but
/// finite.
pub fn evaluate(predictions: &[f64], labels: &[bool]) -> Evaluation {
    let n = predictions.len().min(labels.len());
    let positives = labels[..n].iter().filter(|y| **y).count();
    if n == 0 {
        return Evaluation {
            samples: 0,
            positives: 0,
            log_loss: 0.0,
            brier: 0.0,
            calibration_ratio: None,
            auc: None,
        };
    }
    let mut log_loss = 0.0;
    let mut brier = 0.0;
    let mut predicted = 0.0;
    for (&p, &y) in predictions.iter().zip(labels) {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        let q = p.clamp(1e-15, 1.0 - 1e-15);
        let t = if y { 1.0 } else { 0.0 };
        log_loss -= if y { q.ln() } else { (1.0 - q).ln() };
        brier += (p - t).powi(2);
        predicted += p;
    }
    let samples = n as f64;
    Evaluation {
        samples: n,
        positives,
        log_loss: log_loss / samples,
        brier: brier / samples,
        calibration_ratio: (positives > 0).then(|| predicted / positives as f64),
        auc: auc(&predictions[..n], &labels[..n]),
    }
}

/// The Mann–Whitney AUC, ties counted as half.
pub fn auc(predictions: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|y| **y).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<(f64, bool)> = predictions
        .iter()
        .map(|p| if p.is_nan() { 0.0 } else { *p })
        .zip(labels.iter().copied())
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the positives' ranks (1-based, ties averaged).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && order[j + 1].0 == order[i].0 {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += average_rank * order[i..=j].iter().filter(|(_, y)| *y).count() as f64;
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_perfect_ranking_then_auc_is_one_and_a_reversed_one_zero() {
        let labels = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &labels), Some(0.0));
        assert_eq!(auc(&[0.5; 4], &labels), Some(0.5));
        assert_eq!(auc(&[0.5, 0.6], &[true, true]), None);
    }

    #[test]
    fn given_known_predictions_then_the_figures_are_the_textbook_ones() {
        let e = evaluate(&[0.8, 0.4], &[true, false]);
        let want = -(0.8f64.ln() + 0.6f64.ln()) / 2.0;
        assert!((e.log_loss - want).abs() < 1e-12);
        assert!((e.brier - (0.04 + 0.16) / 2.0).abs() < 1e-12);
        assert!((e.calibration_ratio.expect("a positive") - 1.2).abs() < 1e-12);
        assert_eq!((e.samples, e.positives), (2, 1));
    }

    #[test]
    fn given_data_from_a_known_logit_then_the_fit_recovers_it() {
        // A deterministic grid: the expected label frequency at each point is the truth.
        let truth = Logit {
            intercept: -1.0,
            coefficients: vec![2.0, -1.5],
        };
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for a in 0..20 {
            for b in 0..20 {
                let x = vec![f64::from(a) / 19.0, f64::from(b) / 19.0];
                let positives = (truth.probability(&x) * 100.0).round() as usize;
                for k in 0..100 {
                    xs.push(x.clone());
                    ys.push(k < positives);
                }
            }
        }
        let fitted = fit(&xs, &ys, &Logit::zeros(2), &FitSettings::default()).expect("fit");
        assert!(fitted.converged);
        assert!(
            (fitted.logit.intercept - truth.intercept).abs() < 0.02,
            "{fitted:?}"
        );
        for (got, want) in fitted.logit.coefficients.iter().zip(&truth.coefficients) {
            assert!((got - want).abs() < 0.03, "{fitted:?}");
        }
    }

    #[test]
    fn given_separable_data_then_the_penalty_keeps_the_fit_finite() {
        let xs = vec![vec![0.0], vec![1.0]];
        let ys = vec![false, true];
        let fitted = fit(&xs, &ys, &Logit::zeros(1), &FitSettings::default()).expect("fit");
        assert!(fitted.logit.coefficients[0].is_finite());
        assert!(fitted.logit.coefficients[0] > 0.0);
    }

    #[test]
    fn given_bad_input_then_the_fit_is_refused() {
        let prior = Logit::zeros(2);
        let s = FitSettings::default();
        assert_eq!(fit(&[], &[], &prior, &s), Err(FitError::Empty));
        assert!(matches!(
            fit(&[vec![1.0]], &[true], &prior, &s),
            Err(FitError::Dimension { row: 0, .. })
        ));
        assert!(matches!(
            fit(&[vec![1.0, f64::NAN]], &[true], &prior, &s),
            Err(FitError::NotFinite { row: 0 })
        ));
    }
}
