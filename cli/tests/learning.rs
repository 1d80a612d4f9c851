//! The learning jobs' proofs on seeded simulations (the same reports `aurum simulate
//! learning` and `aurum simulate pricing` print).

use aurum::domain::learning::conversion::Verdict;
use aurum_cli::learning::{simulate_learning, simulate_pricing};

#[test]
fn given_5000_feedback_events_then_the_learned_model_beats_the_built_in_weights_and_nears_the_truth()
 {
    for seed in [7, 11, 23] {
        let r = simulate_learning(seed, 5_000, 1_000);
        assert!(
            r.learned_log_loss < r.static_log_loss,
            "seed {seed}: learned {} vs built-in {}",
            r.learned_log_loss,
            r.static_log_loss
        );
        assert!(
            r.ratio_to_true() <= 1.05,
            "seed {seed}: learned {} vs true {}",
            r.learned_log_loss,
            r.true_log_loss
        );
        assert!(
            r.learned.version > 1,
            "seed {seed}: a learned version is in force"
        );
        assert_eq!(r.learned.validate(), Ok(()));
        assert!(r.updates.iter().any(|u| u.verdict == Verdict::Promoted));
    }
}

#[test]
fn given_a_window_of_inverted_outcomes_then_its_candidate_is_rolled_back_and_the_model_stays() {
    for seed in [7, 11, 23] {
        let r = simulate_learning(seed, 5_000, 1_000);
        assert_eq!(r.poisoned.verdict, Verdict::RolledBack, "seed {seed}");
        assert!(r.poisoned.candidate_log_loss > r.poisoned.current_log_loss);
        // The poisoned conversion coefficients never go out (weights and thresholds are
        // judged apart, on leads from before the window).
        assert_eq!(
            r.conversion_after_poison, r.learned.conversion,
            "seed {seed}"
        );
    }
}

#[test]
fn given_three_price_variants_then_thompson_sampling_finds_the_best_with_little_regret() {
    for seed in 1..=5 {
        let r = simulate_pricing(seed, 10_000).expect("valid experiment");
        let best = r
            .variants
            .iter()
            .position(|v| v.id == r.best)
            .expect("best is a variant");
        assert_eq!(r.best, "list");
        if let Some(winner) = &r.winner {
            assert_eq!(winner, &r.best, "seed {seed}: promoted the wrong variant");
        }
        let most = r
            .allocation
            .iter()
            .enumerate()
            .max_by_key(|(_, n)| **n)
            .map(|(i, _)| i);
        assert_eq!(most, Some(best), "seed {seed}: {:?}", r.allocation);
        assert!(
            r.regret < 0.5 * r.uniform_regret,
            "seed {seed}: regret {} vs an even split's {}",
            r.regret,
            r.uniform_regret
        );
    }
    assert!(
        (1..=5).any(|seed| simulate_pricing(seed, 10_000)
            .expect("valid")
            .winner
            .is_some()),
        "a winner is promoted within 10,000 offers"
    );
}
