//! Learning the scoring model from feedback: the conversion model's coefficients are
//! refitted over a window of labelled leads (penalised towards the model in force), moved
//! at most a bounded step, and replace the ones in force only if their held-out log loss
//! is no worse. The factor weights follow the coefficients within bounds and the premium
//! and standard thresholds move towards the target tier mix within a band around their
//! configured values; together they decide each lead's score and tier (so its price and
//! which buyers may take it), and they replace the ones in force only if, on the same
//! held-out leads, the score ranks outcomes no worse (AUC) and the tiers tell outcomes
//! apart no worse (the log loss of each tier's outcome rate).

use super::logistic::{self, Evaluation, FitError, FitSettings, Logit};
use crate::domain::feedback::{FeedbackType, TrainingExample};
use crate::domain::scoring::{
    ConversionModel, FactorScores, FactorWeights, InvalidModel, MAX_COEFFICIENT, QualityTier,
    ScoringModel, TierThresholds, weighted_total,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One sold lead with a known outcome: the four factor scores it was scored with, and
/// whether it converted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversionExample {
    pub lead_id: String,
    pub factors: FactorScores,
    pub converted: bool,
}

/// The features the conversion model reads: each factor score on 0..=1, in the order of
/// [`ConversionModel`]'s coefficients.
pub fn features(f: &FactorScores) -> [f64; 4] {
    [
        f64::from(f.base_qualification) / 100.0,
        f64::from(f.behavioral) / 100.0,
        f64::from(f.market_timing) / 100.0,
        f64::from(f.nyc_intelligence) / 100.0,
    ]
}

fn to_logit(m: &ConversionModel) -> Logit {
    Logit {
        intercept: m.intercept,
        coefficients: vec![
            m.base_qualification,
            m.behavioral,
            m.market_timing,
            m.nyc_intelligence,
        ],
    }
}

/// What counts as a positive outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Positive {
    /// The buyer reported a sale (what `ConversionModel` predicts).
    Converted,
    /// The buyer kept the lead (accepted or converted).
    Kept,
}

/// How feedback becomes labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelPolicy {
    pub positive: Positive,
    /// An accepted lead with no conversion counts as not converted once this long has
    /// passed since its sale; before that its outcome is still open and it is left out.
    pub mature_after: Duration,
}

impl Default for LabelPolicy {
    fn default() -> Self {
        LabelPolicy {
            positive: Positive::Converted,
            mature_after: Duration::days(45),
        }
    }
}

/// One label per lead from every feedback on it: a conversion is positive; a rejection
/// or return negative; an acceptance positive when keeping counts, else negative once
/// mature. `factors_of` gives the factor scores the lead was sold with (leads without
/// them are left out). Sorted by lead id.
pub fn labelled_examples(
    training: &[TrainingExample],
    factors_of: impl Fn(&str) -> Option<FactorScores>,
    as_of: DateTime<Utc>,
    policy: LabelPolicy,
) -> Vec<ConversionExample> {
    #[derive(Default)]
    struct Seen {
        converted: bool,
        refused: bool,
        accepted: bool,
        sold_at: Option<DateTime<Utc>>,
    }
    let mut by_lead: BTreeMap<&str, Seen> = BTreeMap::new();
    for t in training {
        let seen = by_lead.entry(t.lead_id.as_str()).or_default();
        seen.sold_at = Some(t.sold_at);
        match t.outcome {
            FeedbackType::Converted => seen.converted = true,
            FeedbackType::Rejected | FeedbackType::Returned => seen.refused = true,
            FeedbackType::Accepted => seen.accepted = true,
        }
    }
    by_lead
        .into_iter()
        .filter_map(|(lead_id, seen)| {
            let label = if seen.converted {
                Some(true)
            } else if seen.refused {
                Some(false)
            } else if seen.accepted && policy.positive == Positive::Kept {
                Some(true)
            } else if seen
                .sold_at
                .is_some_and(|s| as_of - s >= policy.mature_after)
            {
                Some(false)
            } else {
                None
            }?;
            Some(ConversionExample {
                lead_id: lead_id.to_owned(),
                factors: factors_of(lead_id)?,
                converted: label,
            })
        })
        .collect()
}

/// The bounds and thresholds of an update.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LearnerSettings {
    /// Fewer labelled training examples than this: no update.
    pub min_examples: usize,
    /// Each class must have at least this many training examples.
    pub min_each_class: usize,
    /// Fewer held-out examples than this: no verdict, so no update.
    pub min_held_out: usize,
    pub fit: FitSettings,
    /// Most any coefficient (or the intercept) may move in one update.
    pub max_coefficient_step: f64,
    /// No coefficient ever leaves ±this (within the model's own limit).
    pub coefficient_bound: f64,
    /// Most a factor weight may move in one update (bps).
    pub max_weight_step_bps: u32,
    /// Factor weights stay within min..=max bps (a weight already outside moves towards it).
    pub min_weight_bps: u32,
    pub max_weight_bps: u32,
    /// Share of a window held out for the verdict (bps), by a hash of the lead id.
    pub held_out_bps: u32,
    /// Where the tier thresholds may go.
    #[serde(default)]
    pub tiering: TieringSettings,
}

/// The bounds of the tier thresholds' learning: the configured thresholds are the centre
/// of a band each may move within; premium and standard move towards the thresholds that
/// would give the training leads the target mix, a bounded step per update. The basic
/// threshold decides whether a lead is sold at all and stays where it is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TieringSettings {
    pub configured: TierThresholds,
    /// Target shares of sold leads in the premium and standard tiers (bps; basic has the
    /// rest).
    pub premium_share_bps: u32,
    pub standard_share_bps: u32,
    /// Most a threshold moves in one update (points).
    pub max_step: u8,
    /// No threshold moves further than this from its configured value (points).
    pub band: u8,
}

impl Default for TieringSettings {
    fn default() -> Self {
        TieringSettings::for_targets(&crate::domain::targets::Targets::default())
    }
}

impl TieringSettings {
    pub fn for_targets(t: &crate::domain::targets::Targets) -> TieringSettings {
        TieringSettings {
            configured: t.tiers,
            premium_share_bps: t.tier_mix.premium_bps,
            standard_share_bps: t.tier_mix.standard_bps,
            max_step: 3,
            band: crate::domain::targets::THRESHOLD_BAND,
        }
    }
}

impl Default for LearnerSettings {
    fn default() -> Self {
        LearnerSettings {
            min_examples: 500,
            min_each_class: 25,
            min_held_out: 100,
            fit: FitSettings::default(),
            max_coefficient_step: 2.0,
            coefficient_bound: 12.0,
            max_weight_step_bps: 500,
            min_weight_bps: 500,
            max_weight_bps: 6_000,
            held_out_bps: 2_000,
            tiering: TieringSettings::default(),
        }
    }
}

/// Why no candidate was made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoUpdate {
    #[error(
        "{have} labelled examples ({positives} positive); an update needs {need}, {each} of each outcome"
    )]
    TooFewExamples {
        have: usize,
        positives: usize,
        need: usize,
        each: usize,
    },
    #[error("{have} held-out examples; a verdict needs {need}")]
    TooFewHeldOut { have: usize, need: usize },
    #[error("fit failed: {0}")]
    Fit(#[from] FitError),
    #[error("the candidate is not a valid model: {0}")]
    Invalid(#[from] InvalidModel),
}

/// A stable 64-bit hash (FNV-1a) of a lead id: the same lead is always on the same side
/// of the split, whichever run makes it.
fn lead_hash(lead_id: &str) -> u64 {
    lead_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Splits a window into (training, held-out) by lead id: `held_out_bps` of the leads,
/// always the same ones, are held out.
pub fn split_held_out(
    examples: &[ConversionExample],
    held_out_bps: u32,
) -> (Vec<ConversionExample>, Vec<ConversionExample>) {
    examples
        .iter()
        .cloned()
        .partition(|e| lead_hash(&e.lead_id) % 10_000 >= u64::from(held_out_bps.min(10_000)))
}

/// The job's split of its data: it trains on the training share of every example, and
/// judges on the held-out share of the examples from before this window (`earlier`) — a
/// window is judged by what was known before it, so a window of poisoned feedback cannot
/// vouch for itself. Only when too little came before (the first runs) is the window's
/// own held-out share used.
pub fn split_for_update(
    earlier: &[ConversionExample],
    window: &[ConversionExample],
    settings: &LearnerSettings,
) -> (Vec<ConversionExample>, Vec<ConversionExample>) {
    let (mut train, earlier_held_out) = split_held_out(earlier, settings.held_out_bps);
    let (window_train, window_held_out) = split_held_out(window, settings.held_out_bps);
    train.extend(window_train);
    let held_out = if earlier_held_out.len() >= settings.min_held_out {
        earlier_held_out
    } else {
        window_held_out
    };
    (train, held_out)
}

/// The model's figures on `examples`.
pub fn evaluate(model: &ScoringModel, examples: &[ConversionExample]) -> Evaluation {
    let predictions: Vec<f64> = examples
        .iter()
        .map(|e| model.conversion.probability(&e.factors))
        .collect();
    let labels: Vec<bool> = examples.iter().map(|e| e.converted).collect();
    logistic::evaluate(&predictions, &labels)
}

/// `fitted`, moved at most `step` from `current` and kept within ±`bound`.
fn bounded(current: f64, fitted: f64, step: f64, bound: f64) -> f64 {
    let bound = bound.min(MAX_COEFFICIENT);
    fitted
        .clamp(current - step, current + step)
        .clamp(-bound, bound)
}

/// Moves the factor weights towards `target` (bps, any sum): each within
/// `current ± step` and `min..=max` (a weight outside the band only moves towards it),
/// summing to exactly 10,000.
pub fn bounded_weights(
    current: FactorWeights,
    target: [f64; 4],
    settings: &LearnerSettings,
) -> FactorWeights {
    let now = [
        current.base_qualification,
        current.behavioral,
        current.market_timing,
        current.nyc_intelligence,
    ]
    .map(i64::from);
    if now.iter().sum::<i64>() != 10_000 {
        return current;
    }
    let step = i64::from(settings.max_weight_step_bps);
    let (min, max) = (
        i64::from(settings.min_weight_bps),
        i64::from(settings.max_weight_bps.max(settings.min_weight_bps)),
    );
    let lo: Vec<i64> = now.iter().map(|&w| (w - step).max(min.min(w))).collect();
    let hi: Vec<i64> = now.iter().map(|&w| (w + step).min(max.max(w))).collect();
    let total: f64 = target.iter().map(|t| t.max(0.0)).sum();
    let goal: Vec<f64> = if total > 0.0 && total.is_finite() {
        target
            .iter()
            .map(|t| t.max(0.0) / total * 10_000.0)
            .collect()
    } else {
        now.iter().map(|&w| w as f64).collect()
    };
    // Shift every goal by one amount `t` (found by bisection) so that the clamped goals
    // sum to 10,000: the closest point of the box on the simplex.
    let placed = |t: f64| -> Vec<f64> {
        goal.iter()
            .zip(lo.iter().zip(&hi))
            .map(|(g, (&l, &h))| (g + t).clamp(l as f64, h as f64))
            .collect()
    };
    let (mut a, mut b) = (-20_000.0, 20_000.0);
    for _ in 0..100 {
        let mid = (a + b) / 2.0;
        if placed(mid).iter().sum::<f64>() < 10_000.0 {
            a = mid;
        } else {
            b = mid;
        }
    }
    let real = placed(b);
    let mut out: Vec<i64> = real
        .iter()
        .zip(&lo)
        .map(|(r, &l)| (r.floor() as i64).max(l))
        .collect();
    // Hand out the rounding remainder (or take back an excess), largest fraction first.
    let mut order: Vec<usize> = (0..4).collect();
    order.sort_by(|&i, &j| (real[j] - real[j].floor()).total_cmp(&(real[i] - real[i].floor())));
    let mut remainder = 10_000 - out.iter().sum::<i64>();
    while remainder != 0 {
        let mut moved = false;
        for &i in &order {
            if remainder > 0 && out[i] < hi[i] {
                out[i] += 1;
                remainder -= 1;
                moved = true;
            } else if remainder < 0 && out[i] > lo[i] {
                out[i] -= 1;
                remainder += 1;
                moved = true;
            }
            if remainder == 0 {
                break;
            }
        }
        if !moved {
            return current;
        }
    }
    let w: Vec<u32> = out.iter().map(|&v| u32::try_from(v).unwrap_or(0)).collect();
    FactorWeights {
        base_qualification: w[0],
        behavioral: w[1],
        market_timing: w[2],
        nyc_intelligence: w[3],
    }
}

/// A candidate model fitted on `train`, penalised towards `current`, each coefficient
/// within its bounded step; the factor weights follow the positive coefficients.
pub fn train_candidate(
    current: &ScoringModel,
    train: &[ConversionExample],
    settings: &LearnerSettings,
    next_version: u32,
) -> Result<ScoringModel, NoUpdate> {
    let positives = train.iter().filter(|e| e.converted).count();
    let negatives = train.len() - positives;
    if train.len() < settings.min_examples
        || positives < settings.min_each_class
        || negatives < settings.min_each_class
    {
        return Err(NoUpdate::TooFewExamples {
            have: train.len(),
            positives,
            need: settings.min_examples,
            each: settings.min_each_class,
        });
    }
    let xs: Vec<Vec<f64>> = train
        .iter()
        .map(|e| features(&e.factors).to_vec())
        .collect();
    let ys: Vec<bool> = train.iter().map(|e| e.converted).collect();
    let prior = to_logit(&current.conversion);
    let fitted = logistic::fit(&xs, &ys, &prior, &settings.fit)?.logit;
    let step = settings.max_coefficient_step;
    let bound = settings.coefficient_bound;
    let c = &current.conversion;
    let b = &fitted.coefficients;
    let conversion = ConversionModel {
        intercept: bounded(c.intercept, fitted.intercept, step, bound),
        base_qualification: bounded(c.base_qualification, b[0], step, bound),
        behavioral: bounded(c.behavioral, b[1], step, bound),
        market_timing: bounded(c.market_timing, b[2], step, bound),
        nyc_intelligence: bounded(c.nyc_intelligence, b[3], step, bound),
    };
    let weights = bounded_weights(
        current.weights,
        [
            conversion.base_qualification,
            conversion.behavioral,
            conversion.market_timing,
            conversion.nyc_intelligence,
        ],
        settings,
    );
    let tiers = proposed_thresholds(current.tiers, weights, train, &settings.tiering);
    let candidate = ScoringModel {
        version: next_version,
        weights,
        tiers,
        conversion,
        ..current.clone()
    };
    candidate.validate()?;
    Ok(candidate)
}

/// The score at which the top `share_bps` of `totals` (sorted descending) begin.
fn top_share_cut(sorted_desc: &[u8], share_bps: u32) -> Option<u8> {
    if sorted_desc.is_empty() {
        return None;
    }
    let n = sorted_desc.len();
    let k = (n * share_bps.min(10_000) as usize)
        .div_ceil(10_000)
        .clamp(1, n);
    Some(sorted_desc[k - 1])
}

/// The premium and standard thresholds moved towards those that give `train`'s leads
/// (scored with `weights`) the target mix: each at most `max_step` points, within `band`
/// of its configured value, and always rising above basic (which stays as configured).
pub fn proposed_thresholds(
    current: TierThresholds,
    weights: FactorWeights,
    train: &[ConversionExample],
    s: &TieringSettings,
) -> TierThresholds {
    let basic = s.configured.basic;
    let mut totals: Vec<u8> = train
        .iter()
        .map(|e| weighted_total(&weights, &e.factors))
        .filter(|t| *t >= basic)
        .collect();
    totals.sort_unstable_by(|a, b| b.cmp(a));
    let step = i32::from(s.max_step);
    let band = i32::from(s.band);
    let towards = |now: u8, goal: Option<u8>, configured: u8| -> i32 {
        let now = i32::from(now);
        let goal = goal.map_or(now, i32::from);
        goal.clamp(now - step, now + step)
            .clamp(i32::from(configured) - band, i32::from(configured) + band)
    };
    let premium_goal = top_share_cut(&totals, s.premium_share_bps);
    let standard_goal = top_share_cut(
        &totals,
        s.premium_share_bps.saturating_add(s.standard_share_bps),
    );
    let basic_i = i32::from(basic);
    let standard =
        towards(current.standard, standard_goal, s.configured.standard).clamp(basic_i + 1, 98);
    let premium =
        towards(current.premium, premium_goal, s.configured.premium).clamp(standard + 1, 100);
    TierThresholds {
        premium: u8::try_from(premium).unwrap_or(current.premium),
        standard: u8::try_from(standard).unwrap_or(current.standard),
        basic,
    }
}

/// How a model's scores and tiers tell held-out outcomes apart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TieringEvaluation {
    pub samples: usize,
    /// How well the weighted score ranks the outcome (0.5 is chance); absent unless both
    /// outcomes occur.
    pub score_auc: Option<f64>,
    /// Log loss of predicting each held-out lead by its tier's outcome rate among the
    /// training leads (smoothed): lower means the tiers separate outcomes better.
    pub tier_log_loss: f64,
    /// Held-out leads per tier: basic, standard, premium (below basic: not counted).
    pub leads_by_tier: [usize; 3],
    /// Their positive outcomes per tier.
    pub positives_by_tier: [usize; 3],
}

fn tier_slot(t: QualityTier) -> Option<usize> {
    match t {
        QualityTier::Basic => Some(0),
        QualityTier::Standard => Some(1),
        QualityTier::Premium => Some(2),
        QualityTier::Unqualified => None,
    }
}

fn tier_of(model: &ScoringModel, e: &ConversionExample) -> Option<usize> {
    tier_slot(model.tier_for(weighted_total(&model.weights, &e.factors)))
}

/// The model's tiering on `held_out`, each tier's rate learned on `train`.
pub fn evaluate_tiering(
    model: &ScoringModel,
    train: &[ConversionExample],
    held_out: &[ConversionExample],
) -> TieringEvaluation {
    let mut seen = [(0usize, 0usize); 3];
    for e in train {
        if let Some(i) = tier_of(model, e) {
            seen[i].0 += 1;
            seen[i].1 += usize::from(e.converted);
        }
    }
    let overall = {
        let (n, k) = seen
            .iter()
            .fold((0usize, 0usize), |(n, k), (a, b)| (n + a, k + b));
        (k as f64 + 1.0) / (n as f64 + 2.0)
    };
    // Each tier's rate shrunk towards the overall rate by two pseudo-leads.
    let rate = |i: usize| (seen[i].1 as f64 + 2.0 * overall) / (seen[i].0 as f64 + 2.0);
    let mut leads = [0usize; 3];
    let mut positives = [0usize; 3];
    let mut loss = 0.0;
    let mut scores = Vec::with_capacity(held_out.len());
    let mut labels = Vec::with_capacity(held_out.len());
    for e in held_out {
        scores.push(f64::from(weighted_total(&model.weights, &e.factors)));
        labels.push(e.converted);
        let p = tier_of(model, e).map_or(overall, |i| {
            leads[i] += 1;
            positives[i] += usize::from(e.converted);
            rate(i)
        });
        let p = p.clamp(1e-6, 1.0 - 1e-6);
        loss -= if e.converted { p.ln() } else { (1.0 - p).ln() };
    }
    let n = held_out.len();
    TieringEvaluation {
        samples: n,
        score_auc: logistic::auc(&scores, &labels),
        tier_log_loss: if n == 0 { 0.0 } else { loss / n as f64 },
        leads_by_tier: leads,
        positives_by_tier: positives,
    }
}

/// Whether a candidate's weights and thresholds replace the ones in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TieringJudgement {
    pub verdict: Verdict,
    pub current: TieringEvaluation,
    pub candidate: TieringEvaluation,
    /// Held-out leads whose tier the candidate changes.
    pub retiered: usize,
}

/// Promote the candidate's weights and thresholds when, on the held-out leads, its score
/// ranks outcomes no worse and its tiers separate them no worse; with nothing changed, or
/// no held-out lead, the ones in force stay.
pub fn judge_tiering(
    current: &ScoringModel,
    candidate: &ScoringModel,
    train: &[ConversionExample],
    held_out: &[ConversionExample],
) -> TieringJudgement {
    let now = evaluate_tiering(current, train, held_out);
    let next = evaluate_tiering(candidate, train, held_out);
    let retiered = held_out
        .iter()
        .filter(|e| tier_of(current, e) != tier_of(candidate, e))
        .count();
    let changed = current.weights != candidate.weights || current.tiers != candidate.tiers;
    let ranks_no_worse = match (now.score_auc, next.score_auc) {
        (Some(a), Some(b)) => b >= a - 1e-12,
        _ => true,
    };
    let verdict = if changed
        && !held_out.is_empty()
        && ranks_no_worse
        && next.tier_log_loss <= now.tier_log_loss + 1e-12
    {
        Verdict::Promoted
    } else {
        Verdict::RolledBack
    };
    TieringJudgement {
        verdict,
        current: now,
        candidate: next,
        retiered,
    }
}

/// Whether a candidate replaces the model in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Its held-out log loss is no worse: it is the model in force now.
    Promoted,
    /// Its held-out log loss is worse: the model in force stays.
    RolledBack,
    /// Loaded from a model trained offline: in force once the sales team promotes it.
    Loaded,
}

/// Both models' figures on the same held-out examples, and the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub verdict: Verdict,
    pub current: Evaluation,
    pub candidate: Evaluation,
}

/// Promote when the candidate's held-out log loss is no worse than the current model's;
/// otherwise keep the current one. With no held-out example there is no evidence, and the
/// current model stays.
pub fn judge(
    current: &ScoringModel,
    candidate: &ScoringModel,
    held_out: &[ConversionExample],
) -> Judgement {
    let now = evaluate(current, held_out);
    let next = evaluate(candidate, held_out);
    let verdict = if !held_out.is_empty() && next.log_loss <= now.log_loss {
        Verdict::Promoted
    } else {
        Verdict::RolledBack
    };
    Judgement {
        verdict,
        current: now,
        candidate: next,
    }
}

/// One stored model version: the model, where it came from and how it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub version: u32,
    /// The version in force when this one was trained.
    pub parent_version: u32,
    pub trained_at: DateTime<Utc>,
    pub training_samples: usize,
    pub verdict: Verdict,
    /// This version's figures on the held-out examples.
    pub evaluation: Evaluation,
    /// The parent's figures on the same examples.
    pub parent_evaluation: Evaluation,
    /// The verdict on the candidate's factor weights and tier thresholds, judged apart
    /// from its conversion coefficients (absent on versions kept from before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiering: Option<TieringJudgement>,
    pub model: ScoringModel,
}

/// What one run of the scoring-model job decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelUpdate {
    /// The candidate's record (stored whatever the verdict, so rollbacks are listed too).
    pub version: ModelVersion,
    /// The model in force after the run: the candidate, or the current one.
    pub in_force: ScoringModel,
}

/// The scoring-model job's decision: train a candidate on `train`, judge it on
/// `held_out` against `current`, and say which model is in force. `next_version` is the
/// number the candidate gets (one above every stored version).
pub fn update(
    current: &ScoringModel,
    train: &[ConversionExample],
    held_out: &[ConversionExample],
    settings: &LearnerSettings,
    next_version: u32,
    trained_at: DateTime<Utc>,
) -> Result<ModelUpdate, NoUpdate> {
    if held_out.len() < settings.min_held_out.max(1) {
        return Err(NoUpdate::TooFewHeldOut {
            have: held_out.len(),
            need: settings.min_held_out.max(1),
        });
    }
    let candidate = train_candidate(current, train, settings, next_version)?;
    let judgement = judge(current, &candidate, held_out);
    let tiering = judge_tiering(current, &candidate, train, held_out);
    let conversion_promoted = judgement.verdict == Verdict::Promoted;
    let tiering_promoted = tiering.verdict == Verdict::Promoted;
    // Each part is taken only when its own judgement promotes it.
    let in_force = if conversion_promoted || tiering_promoted {
        ScoringModel {
            version: next_version,
            conversion: if conversion_promoted {
                candidate.conversion
            } else {
                current.conversion
            },
            weights: if tiering_promoted {
                candidate.weights
            } else {
                current.weights
            },
            tiers: if tiering_promoted {
                candidate.tiers
            } else {
                current.tiers
            },
            ..current.clone()
        }
    } else {
        current.clone()
    };
    in_force.validate()?;
    Ok(ModelUpdate {
        version: ModelVersion {
            version: next_version,
            parent_version: current.version,
            trained_at,
            training_samples: train.len(),
            verdict: judgement.verdict,
            evaluation: judgement.candidate,
            parent_evaluation: judgement.current,
            tiering: Some(tiering),
            model: candidate,
        },
        in_force,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(w: [u32; 4]) -> FactorWeights {
        FactorWeights {
            base_qualification: w[0],
            behavioral: w[1],
            market_timing: w[2],
            nyc_intelligence: w[3],
        }
    }

    fn at() -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 6, 0, 0)
            .single()
            .expect("t")
    }

    /// Leads whose true conversion model is `truth`, drawn with a seeded generator.
    fn leads(seed: u64, n: usize, truth: &ConversionModel) -> Vec<ConversionExample> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let factors = FactorScores {
                    base_qualification: rng.random_range(0..=100),
                    behavioral: rng.random_range(0..=100),
                    market_timing: rng.random_range(0..=100),
                    nyc_intelligence: rng.random_range(0..=100),
                };
                ConversionExample {
                    lead_id: format!("{seed}_{i}"),
                    converted: rng.random_bool(truth.probability(&factors)),
                    factors,
                }
            })
            .collect()
    }

    const TRUTH: ConversionModel = ConversionModel {
        intercept: -4.0,
        base_qualification: 3.5,
        behavioral: 0.5,
        market_timing: 2.5,
        nyc_intelligence: 1.5,
    };

    /// Leads that convert when their base qualification is high, whatever the rest.
    fn driven_by_base(seed: u64, n: usize) -> Vec<ConversionExample> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let base: u8 = rng.random_range(40..=100);
                let factors = FactorScores {
                    base_qualification: base,
                    behavioral: rng.random_range(40..=100),
                    market_timing: rng.random_range(40..=100),
                    nyc_intelligence: rng.random_range(40..=100),
                };
                ConversionExample {
                    lead_id: format!("b{seed}_{i}"),
                    converted: rng.random_bool(if base >= 80 { 0.8 } else { 0.1 }),
                    factors,
                }
            })
            .collect()
    }

    #[test]
    fn given_weights_that_rank_outcomes_better_then_the_tiering_is_promoted() {
        // GIVEN leads whose outcome follows base qualification
        let train = driven_by_base(1, 1_500);
        let held_out = driven_by_base(2, 500);
        let current = ScoringModel::default();
        // WHEN a candidate leans further on base qualification
        let candidate = ScoringModel {
            weights: weights([5_500, 2_500, 1_500, 500]),
            ..current.clone()
        };
        let j = judge_tiering(&current, &candidate, &train, &held_out);
        // THEN its score ranks the held-out outcomes better, its tiers separate them
        // better, and it is promoted
        assert!(j.candidate.score_auc > j.current.score_auc, "{j:?}");
        assert!(j.candidate.tier_log_loss < j.current.tier_log_loss, "{j:?}");
        assert_eq!(j.verdict, Verdict::Promoted);
        assert!(j.retiered > 0);
    }

    #[test]
    fn given_weights_that_lean_on_noise_then_the_tiering_is_rolled_back() {
        let train = driven_by_base(3, 1_500);
        let held_out = driven_by_base(4, 500);
        let current = ScoringModel::default();
        // WHEN a candidate moves weight onto a factor that says nothing of the outcome
        let candidate = ScoringModel {
            weights: weights([2_500, 3_000, 2_000, 2_500]),
            ..current.clone()
        };
        let j = judge_tiering(&current, &candidate, &train, &held_out);
        // THEN it ranks worse and is rolled back
        assert!(j.candidate.score_auc < j.current.score_auc, "{j:?}");
        assert_eq!(j.verdict, Verdict::RolledBack);
        // AND a candidate that changes nothing is not a promotion either
        let same = judge_tiering(&current, &current.clone(), &train, &held_out);
        assert_eq!(same.verdict, Verdict::RolledBack);
        assert_eq!(same.retiered, 0);
    }

    #[test]
    fn given_an_update_whose_tiering_is_rolled_back_then_only_the_conversion_part_moves() {
        // GIVEN a model in force with weights already on the informative factor
        let current = ScoringModel {
            weights: weights([6_000, 2_000, 1_000, 1_000]),
            ..ScoringModel::default()
        };
        let examples = driven_by_base(5, 2_000);
        let (train, held_out) = split_held_out(&examples, 2_500);
        // WHEN the learner proposes weights that follow every positive coefficient
        let u = update(
            &current,
            &train,
            &held_out,
            &LearnerSettings::default(),
            2,
            at(),
        )
        .expect("update");
        let t = u.version.tiering.expect("judged");
        // THEN whatever the conversion verdict, the weights and thresholds in force are
        // the ones the tiering verdict allows
        match t.verdict {
            Verdict::Promoted => {
                assert_eq!(u.in_force.weights, u.version.model.weights);
                assert_eq!(u.in_force.tiers, u.version.model.tiers);
            }
            Verdict::RolledBack => {
                assert_eq!(u.in_force.weights, current.weights);
                assert_eq!(u.in_force.tiers, current.tiers);
            }
            Verdict::Loaded => panic!("the job never loads a model"),
        }
        match u.version.verdict {
            Verdict::Promoted => assert_eq!(u.in_force.conversion, u.version.model.conversion),
            Verdict::RolledBack => assert_eq!(u.in_force.conversion, current.conversion),
            Verdict::Loaded => panic!("the job never loads a model"),
        }
        assert!(u.in_force.validate().is_ok());
    }

    #[test]
    fn given_training_leads_then_thresholds_move_towards_the_target_mix_within_step_and_band() {
        let s = TieringSettings::default();
        // GIVEN leads that almost all score high: far too many would be premium
        let high: Vec<ConversionExample> = (0..400)
            .map(|i| ConversionExample {
                lead_id: format!("h{i}"),
                factors: FactorScores {
                    base_qualification: 90 + (i % 10) as u8,
                    behavioral: 100,
                    market_timing: 100,
                    nyc_intelligence: 100,
                },
                converted: i % 2 == 0,
            })
            .collect();
        let w = ScoringModel::default().weights;
        let t = proposed_thresholds(s.configured, w, &high, &s);
        // THEN premium and standard rise by one step, basic stays where configured
        assert_eq!(t.premium, s.configured.premium + s.max_step);
        assert_eq!(t.standard, s.configured.standard + s.max_step);
        assert_eq!(t.basic, s.configured.basic);
        // AND repeated updates stop at the band around the configured value
        let mut t = s.configured;
        for _ in 0..20 {
            t = proposed_thresholds(t, w, &high, &s);
        }
        assert_eq!(t.premium, s.configured.premium + s.band);
        assert!(t.standard <= s.configured.standard + s.band);
        assert!(t.basic < t.standard && t.standard < t.premium);
        // AND with no leads nothing moves
        assert_eq!(proposed_thresholds(s.configured, w, &[], &s), s.configured);
    }

    #[test]
    fn given_clean_feedback_then_the_candidate_is_promoted_and_nears_the_truth() {
        let current = ScoringModel::default();
        let train = leads(1, 4_000, &TRUTH);
        let held_out = leads(2, 1_000, &TRUTH);
        let u = update(
            &current,
            &train,
            &held_out,
            &LearnerSettings::default(),
            2,
            at(),
        )
        .expect("enough feedback");
        assert_eq!(u.version.verdict, Verdict::Promoted);
        assert_eq!(u.in_force.version, 2);
        assert!(u.version.evaluation.log_loss < u.version.parent_evaluation.log_loss);
        assert!((u.in_force.conversion.base_qualification - TRUTH.base_qualification).abs() < 0.5);
        assert_eq!(u.version.training_samples, 4_000);
        assert_eq!(u.version.parent_version, 1);
        assert!(u.in_force.weights.base_qualification > u.in_force.weights.behavioral);
    }

    #[test]
    fn given_poisoned_feedback_then_the_candidate_is_rolled_back_and_the_model_stays() {
        let settings = LearnerSettings::default();
        let good = update(
            &ScoringModel::default(),
            &leads(1, 4_000, &TRUTH),
            &leads(2, 1_000, &TRUTH),
            &settings,
            2,
            at(),
        )
        .expect("update")
        .in_force;
        // A buyer's integration reports every outcome inverted.
        let poisoned: Vec<ConversionExample> = leads(3, 3_000, &TRUTH)
            .into_iter()
            .map(|e| ConversionExample {
                converted: !e.converted,
                ..e
            })
            .collect();
        let u = update(
            &good,
            &poisoned,
            &leads(4, 1_000, &TRUTH),
            &settings,
            3,
            at(),
        )
        .expect("enough feedback");
        assert_eq!(u.version.verdict, Verdict::RolledBack);
        assert!(u.version.evaluation.log_loss > u.version.parent_evaluation.log_loss);
        assert_eq!(u.in_force, good, "the model in force is unchanged");
        assert_eq!(
            u.version.version, 3,
            "the rejected candidate is still recorded"
        );
    }

    #[test]
    fn given_too_few_examples_then_no_candidate_is_made() {
        let settings = LearnerSettings::default();
        let few = leads(5, 300, &TRUTH);
        assert!(matches!(
            update(
                &ScoringModel::default(),
                &few,
                &leads(6, 200, &TRUTH),
                &settings,
                2,
                at()
            ),
            Err(NoUpdate::TooFewExamples {
                have: 300,
                need: 500,
                ..
            })
        ));
        assert!(matches!(
            update(
                &ScoringModel::default(),
                &leads(7, 600, &TRUTH),
                &few[..50],
                &settings,
                2,
                at()
            ),
            Err(NoUpdate::TooFewHeldOut {
                have: 50,
                need: 100
            })
        ));
        let one_sided: Vec<ConversionExample> = leads(8, 600, &TRUTH)
            .into_iter()
            .map(|e| ConversionExample {
                converted: false,
                ..e
            })
            .collect();
        assert!(matches!(
            train_candidate(&ScoringModel::default(), &one_sided, &settings, 2),
            Err(NoUpdate::TooFewExamples { positives: 0, .. })
        ));
    }

    #[test]
    fn given_earlier_feedback_then_the_window_is_judged_on_the_earlier_held_out_share() {
        let s = LearnerSettings::default();
        let earlier = leads(10, 2_000, &TRUTH);
        let window = leads(11, 1_000, &TRUTH);
        let (train, held_out) = split_for_update(&earlier, &window, &s);
        assert!(held_out.iter().all(|e| earlier.contains(e)));
        assert!(held_out.iter().all(|e| !train.contains(e)));
        assert_eq!(
            train.len() + held_out.len() + split_held_out(&window, s.held_out_bps).1.len(),
            3_000
        );
        let (_, first) = split_for_update(&[], &window, &s);
        assert!(!first.is_empty() && first.iter().all(|e| window.contains(e)));
    }

    #[test]
    fn given_a_window_then_the_split_is_stable_and_near_its_share() {
        let window = leads(9, 5_000, &TRUTH);
        let (train, held) = split_held_out(&window, 2_000);
        assert_eq!(train.len() + held.len(), 5_000);
        assert!((800..1_200).contains(&held.len()), "{}", held.len());
        let (_, again) = split_held_out(&window[..2_500], 2_000);
        assert!(
            again.iter().all(|e| held.contains(e)),
            "a lead stays on its side"
        );
    }

    #[test]
    fn given_a_far_target_then_each_weight_moves_one_step_and_the_sum_stays() {
        let s = LearnerSettings::default();
        let w = bounded_weights(
            weights([4_000, 3_000, 2_000, 1_000]),
            [0.0, 0.0, 0.0, 1.0],
            &s,
        );
        assert_eq!(w.total(), 10_000);
        assert_eq!(w.nyc_intelligence, 1_500);
        assert!(w.base_qualification >= 3_500 && w.behavioral >= 2_500);
    }

    #[test]
    fn given_weights_outside_the_band_then_they_move_towards_it() {
        let s = LearnerSettings::default();
        let w = bounded_weights(weights([10_000, 0, 0, 0]), [1.0, 1.0, 1.0, 1.0], &s);
        assert_eq!(w.total(), 10_000);
        assert_eq!(w.base_qualification, 9_500);
    }

    #[test]
    fn given_a_lead_with_several_feedbacks_then_it_gets_one_label() {
        let sale = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 1, 15, 0, 0)
            .single()
            .expect("t");
        let example = |lead: &str, outcome| {
            serde_json::from_value::<TrainingExample>(serde_json::json!({
                "lead_id": lead, "buyer_id": "b1", "outcome": outcome, "reason": null,
                "conversion_value": null, "recorded_at": sale, "score": 80, "tier": "standard",
                "queued_at": sale, "sold_at": sale, "buyer_tier": "premium", "price": 20000,
                "expected_revenue": 15000,
                "quote": {
                    "buyer_tier": "premium", "base": 25000, "quality_bps": 10000,
                    "quality_min_score": null, "surge_bps": 10000, "utilization_bps": 0,
                    "time_of_day_bps": 10000, "time_band": null, "day_of_week_bps": 10000,
                    "market_bps": 10000,
                    "market": {"borough": null, "premium_area": false, "adoption": null, "income": null},
                    "local_time": "2026-03-01T10:00:00", "unclamped": 20000, "price": 20000, "clamp": null
                }
            }))
            .expect("example")
        };
        let feed = vec![
            example("a", "accepted"),
            example("a", "converted"),
            example("b", "rejected"),
            example("c", "accepted"),
            example("d", "accepted"),
        ];
        let factors = |lead: &str| (lead != "d").then(FactorScores::default);
        let early = labelled_examples(
            &feed,
            factors,
            sale + Duration::days(3),
            LabelPolicy::default(),
        );
        let labels: Vec<(&str, bool)> = early
            .iter()
            .map(|e| (e.lead_id.as_str(), e.converted))
            .collect();
        assert_eq!(
            labels,
            [("a", true), ("b", false)],
            "c is still open, d has no factors"
        );
        let late = labelled_examples(
            &feed,
            factors,
            sale + Duration::days(60),
            LabelPolicy::default(),
        );
        assert_eq!(late.len(), 3);
        assert!(!late[2].converted, "an acceptance that never converted");
    }
}
