//! Seeded simulations of the learning jobs: the scoring-model update against a known true
//! conversion model (with a poisoned window at the end), and a pricing experiment over
//! three price variants. `aurum simulate learning` and `aurum simulate pricing` print
//! them; the tests assert on the same reports.

use aurum::domain::buyer::BuyerTier;
use aurum::domain::learning::conversion::{
    self, ConversionExample, LearnerSettings, Verdict, split_for_update,
};
use aurum::domain::learning::experiments::{
    ExperimentError, ExperimentStatus, PriceVariant, PricingExperiment, PromotionRule,
};
use aurum::domain::money::Cents;
use aurum::domain::scoring::{ConversionModel, FactorScores, ScoringModel};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use std::fmt::Write;

/// The conversion model the simulated buyers follow.
pub const TRUE_MODEL: ConversionModel = ConversionModel {
    intercept: -4.2,
    base_qualification: 3.8,
    behavioral: 0.6,
    market_timing: 2.8,
    nyc_intelligence: 1.5,
};

fn lead(rng: &mut StdRng, n: usize, truth: &ConversionModel) -> ConversionExample {
    let factors = FactorScores {
        base_qualification: rng.random_range(20..=100),
        behavioral: rng.random_range(0..=100),
        market_timing: rng.random_range(10..=100),
        nyc_intelligence: rng.random_range(0..=100),
    };
    let converted = rng.random_bool(truth.probability(&factors));
    ConversionExample {
        lead_id: format!("lead_{n:06}"),
        factors,
        converted,
    }
}

/// `n` of the simulation's leads as the CSV `aurum model train` reads: the four factor
/// scores and whether the lead converted (`converted`, 0 or 1).
pub fn examples_csv(seed: u64, n: usize) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut csv =
        String::from("base_qualification,behavioral,market_timing,nyc_intelligence,converted\n");
    for i in 0..n {
        let e = lead(&mut rng, i, &TRUE_MODEL);
        let f = e.factors;
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            f.base_qualification,
            f.behavioral,
            f.market_timing,
            f.nyc_intelligence,
            u8::from(e.converted)
        );
    }
    csv
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdateRow {
    pub events: usize,
    pub version: u32,
    pub verdict: Verdict,
    pub candidate_log_loss: f64,
    pub current_log_loss: f64,
    pub in_force_version: u32,
    /// The verdict on the candidate's weights and tier thresholds (judged apart), the
    /// thresholds it proposed (premium, standard) and the held-out leads it re-tiers.
    pub tiering: Option<Verdict>,
    pub thresholds: (u8, u8),
    pub retiered: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LearningReport {
    pub seed: u64,
    pub events: usize,
    pub test_leads: usize,
    /// Log loss on fresh leads of the built-in weights, the learned model and the truth.
    pub static_log_loss: f64,
    pub learned_log_loss: f64,
    pub true_log_loss: f64,
    pub learned_auc: Option<f64>,
    pub true_auc: Option<f64>,
    pub learned: ScoringModel,
    pub updates: Vec<UpdateRow>,
    /// The run over a window whose outcomes were reported inverted.
    pub poisoned: UpdateRow,
    pub in_force_after_poison: u32,
    /// The conversion coefficients in force after that run (the learned ones when the
    /// poisoned candidate's were rolled back; its weights and thresholds are judged apart).
    pub conversion_after_poison: aurum::domain::scoring::ConversionModel,
}

impl LearningReport {
    /// Learned log loss over the true model's (1.0 is as good as the truth).
    pub fn ratio_to_true(&self) -> f64 {
        self.learned_log_loss / self.true_log_loss
    }
}

fn at(events: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::hours(6 * events as i64 / 1000)
}

/// `events` feedback events arrive in windows of `window`; after each window the job
/// trains on the training share of every event so far and judges on the held-out share of
/// the events before the window (at the first run, the window's own): a window is judged
/// by what was known before it. A last window of `window` events reports every outcome
/// inverted.
pub fn simulate_learning(seed: u64, events: usize, window: usize) -> LearningReport {
    let settings = LearnerSettings::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut current = ScoringModel::default();
    let mut next_version = current.version + 1;
    let mut earlier: Vec<ConversionExample> = Vec::new();
    let mut updates = Vec::new();
    let window = window.max(1);

    let run = |current: &ScoringModel,
               earlier: &[ConversionExample],
               fresh: &[ConversionExample],
               next_version: u32,
               events: usize| {
        let (train, held_out) = split_for_update(earlier, fresh, &settings);
        conversion::update(
            current,
            &train,
            &held_out,
            &settings,
            next_version,
            at(events),
        )
    };

    let mut made = 0;
    while made < events {
        let n = window.min(events - made);
        let fresh: Vec<ConversionExample> = (made..made + n)
            .map(|i| lead(&mut rng, i, &TRUE_MODEL))
            .collect();
        made += n;
        // Too little feedback yet: no candidate, and the window waits for the next run.
        if let Ok(u) = run(&current, &earlier, &fresh, next_version, made) {
            next_version += 1;
            updates.push(UpdateRow {
                events: made,
                version: u.version.version,
                verdict: u.version.verdict,
                candidate_log_loss: u.version.evaluation.log_loss,
                current_log_loss: u.version.parent_evaluation.log_loss,
                in_force_version: u.in_force.version,
                tiering: u.version.tiering.map(|t| t.verdict),
                thresholds: (
                    u.version.model.tiers.premium,
                    u.version.model.tiers.standard,
                ),
                retiered: u.version.tiering.map_or(0, |t| t.retiered),
            });
            current = u.in_force;
        }
        earlier.extend(fresh);
    }

    let test: Vec<ConversionExample> = (0..20_000)
        .map(|i| lead(&mut rng, 1_000_000 + i, &TRUE_MODEL))
        .collect();
    let truth = ScoringModel {
        conversion: TRUE_MODEL,
        ..ScoringModel::default()
    };
    let static_eval = conversion::evaluate(&ScoringModel::default(), &test);
    let learned_eval = conversion::evaluate(&current, &test);
    let true_eval = conversion::evaluate(&truth, &test);

    let poisoned_feed: Vec<ConversionExample> = (0..window)
        .map(|i| {
            let mut e = lead(&mut rng, 2_000_000 + i, &TRUE_MODEL);
            e.converted = !e.converted;
            e
        })
        .collect();
    let (poisoned, (in_force_after_poison, conversion_after_poison)) = match run(
        &current,
        &earlier,
        &poisoned_feed,
        next_version,
        made + window,
    ) {
        Ok(u) => (
            UpdateRow {
                events: made + window,
                version: u.version.version,
                verdict: u.version.verdict,
                candidate_log_loss: u.version.evaluation.log_loss,
                current_log_loss: u.version.parent_evaluation.log_loss,
                in_force_version: u.in_force.version,
                tiering: u.version.tiering.map(|t| t.verdict),
                thresholds: (
                    u.version.model.tiers.premium,
                    u.version.model.tiers.standard,
                ),
                retiered: u.version.tiering.map_or(0, |t| t.retiered),
            },
            (u.in_force.version, u.in_force.conversion),
        ),
        Err(_) => (
            UpdateRow {
                events: made + window,
                version: 0,
                verdict: Verdict::RolledBack,
                candidate_log_loss: f64::NAN,
                current_log_loss: f64::NAN,
                in_force_version: current.version,
                tiering: None,
                thresholds: (current.tiers.premium, current.tiers.standard),
                retiered: 0,
            },
            (current.version, current.conversion),
        ),
    };

    LearningReport {
        seed,
        events,
        test_leads: test.len(),
        static_log_loss: static_eval.log_loss,
        learned_log_loss: learned_eval.log_loss,
        true_log_loss: true_eval.log_loss,
        learned_auc: learned_eval.auc,
        true_auc: true_eval.auc,
        learned: current,
        updates,
        poisoned,
        in_force_after_poison,
        conversion_after_poison,
    }
}

pub fn learning_summary(r: &LearningReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scoring-model learning: seed {}, {} feedback events, judged on {} fresh leads",
        r.seed, r.events, r.test_leads
    );
    for u in &r.updates {
        let _ = writeln!(
            s,
            "  after {:>5} events: v{} conversion {:?} (held-out log loss {:.4} vs {:.4} in force); weights and thresholds {}/{} {} ({} held-out leads re-tiered)",
            u.events,
            u.version,
            u.verdict,
            u.candidate_log_loss,
            u.current_log_loss,
            u.thresholds.0,
            u.thresholds.1,
            u.tiering
                .map_or("not judged".to_owned(), |v| format!("{v:?}")),
            u.retiered
        );
    }
    let auc = |a: Option<f64>| a.map_or("-".to_owned(), |a| format!("{a:.4}"));
    let _ = writeln!(s, "  log loss, built-in weights: {:.4}", r.static_log_loss);
    let _ = writeln!(
        s,
        "  log loss, learned v{}:       {:.4} (AUC {})",
        r.learned.version,
        r.learned_log_loss,
        auc(r.learned_auc)
    );
    let _ = writeln!(
        s,
        "  log loss, true model:        {:.4} (AUC {})",
        r.true_log_loss,
        auc(r.true_auc)
    );
    let _ = writeln!(
        s,
        "  learned / true: {:.4} ({:+.2} %)",
        r.ratio_to_true(),
        (r.ratio_to_true() - 1.0) * 100.0
    );
    let c = r.learned.conversion;
    let _ = writeln!(
        s,
        "  learned coefficients: intercept {:.3}, base {:.3}, behavioral {:.3}, timing {:.3}, nyc {:.3}; weights {:?}",
        c.intercept,
        c.base_qualification,
        c.behavioral,
        c.market_timing,
        c.nyc_intelligence,
        r.learned.weights
    );
    let _ = writeln!(
        s,
        "  poisoned window (outcomes inverted): v{} {:?} (held-out log loss {:.4} vs {:.4}); in force: v{}",
        r.poisoned.version,
        r.poisoned.verdict,
        r.poisoned.candidate_log_loss,
        r.poisoned.current_log_loss,
        r.in_force_after_poison
    );
    s
}

#[derive(Debug, Clone, Serialize)]
pub struct PricingReport {
    pub seed: u64,
    pub offers: usize,
    pub variants: Vec<PriceVariant>,
    /// True acceptance rate of each variant.
    pub acceptance: Vec<f64>,
    pub best: String,
    pub winner: Option<String>,
    /// Offers made when the winner was promoted.
    pub concluded_after: Option<usize>,
    /// Offers per variant.
    pub allocation: Vec<u64>,
    /// Expected revenue lost against always offering the best variant, in units of the
    /// quoted price (one offer at list price accepted = 1.0).
    pub regret: f64,
    /// The same for an even split of offers (a fixed A/B/C test).
    pub uniform_regret: f64,
    pub revenue: Cents,
}

/// `offers` leads of one tier, quoted at $250, priced by the experiment; buyers keep a
/// lead with the variant's true acceptance rate. The experiment is checked for a winner
/// every 100 offers.
pub fn simulate_pricing(seed: u64, offers: usize) -> Result<PricingReport, ExperimentError> {
    let variants: Vec<PriceVariant> = [("low", 9_000), ("list", 10_000), ("high", 11_500)]
        .map(|(id, price_bps)| PriceVariant {
            id: id.into(),
            price_bps,
        })
        .to_vec();
    let acceptance = vec![0.80, 0.78, 0.62];
    let value: Vec<f64> = variants
        .iter()
        .zip(&acceptance)
        .map(|(v, a)| f64::from(v.price_bps) / 10_000.0 * a)
        .collect();
    let best_value = value.iter().copied().fold(f64::MIN, f64::max);
    let best = value
        .iter()
        .position(|v| *v == best_value)
        .map_or_else(String::new, |i| variants[i].id.clone());
    let mut e = PricingExperiment::new(
        "premium",
        BuyerTier::Premium,
        variants.clone(),
        PromotionRule::default(),
        chrono::DateTime::UNIX_EPOCH,
    )?;
    let mut rng = StdRng::seed_from_u64(seed);
    let quoted = Cents::from_dollars(250);
    let mut regret = 0.0;
    let mut concluded_after = None;
    let mut revenue = Cents::ZERO;
    for n in 0..offers {
        let a = e.assign(&mut rng);
        let i = variants
            .iter()
            .position(|v| v.id == a.variant_id)
            .unwrap_or(0);
        regret += best_value - value[i];
        let kept = rng.random_bool(acceptance[i]);
        let price = a.apply(quoted);
        if kept {
            revenue += price;
        }
        let _ = e.record(&a.variant_id, kept, price);
        if (n + 1) % 100 == 0 && e.conclude(&mut rng, at(n)).is_some() {
            concluded_after = Some(n + 1);
        }
    }
    let mean: f64 = value.iter().sum::<f64>() / value.len() as f64;
    Ok(PricingReport {
        seed,
        offers,
        winner: match &e.status {
            ExperimentStatus::Concluded { winner, .. } => Some(winner.clone()),
            _ => None,
        },
        allocation: e.stats.iter().map(|s| s.offers).collect(),
        variants,
        acceptance,
        best,
        concluded_after,
        regret,
        uniform_regret: (best_value - mean) * offers as f64,
        revenue,
    })
}

pub fn pricing_summary(r: &PricingReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "pricing experiment: seed {}, {} offers at a $250.00 quote",
        r.seed, r.offers
    );
    for ((v, a), n) in r.variants.iter().zip(&r.acceptance).zip(&r.allocation) {
        let _ = writeln!(
            s,
            "  {:<5} x{:.2}  acceptance {:.2}  revenue/offer {:.3}  offers {}",
            v.id,
            f64::from(v.price_bps) / 10_000.0,
            a,
            f64::from(v.price_bps) / 10_000.0 * a,
            n
        );
    }
    let _ = writeln!(
        s,
        "  best: {}; promoted: {} after {} offers",
        r.best,
        r.winner.as_deref().unwrap_or("none"),
        r.concluded_after.map_or("-".to_owned(), |n| n.to_string())
    );
    let _ = writeln!(
        s,
        "  regret (offers at list price): Thompson {:.1}, even split {:.1} ({:.1} % of it); revenue {}",
        r.regret,
        r.uniform_regret,
        r.regret / r.uniform_regret * 100.0,
        r.revenue
    );
    s
}
