//! Invariants of the learning jobs: whatever feedback arrives, a learned model stays
//! within its bounds and validates, every probability is within 0..=1, and the rules and
//! experiments never step outside their limits.

use aurum::domain::buyer::BuyerTier;
use aurum::domain::facts::Ask;
use aurum::domain::learning::conversation_rules::{
    ASKS, ConversationOutcome, ConversationRules, RulesSettings, learn,
};
use aurum::domain::learning::conversion::{
    ConversionExample, LearnerSettings, Verdict, bounded_weights, judge, train_candidate, update,
};
use aurum::domain::learning::experiments::{PriceVariant, PricingExperiment, PromotionRule};
use aurum::domain::learning::logistic::{Logit, evaluate};
use aurum::domain::money::Cents;
use aurum::domain::scoring::{FactorScores, FactorWeights, ScoringModel};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::select;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn any_factors() -> impl Strategy<Value = FactorScores> {
    (0u8..=100, 0u8..=100, 0u8..=100, 0u8..=100).prop_map(|(a, b, c, d)| FactorScores {
        base_qualification: a,
        behavioral: b,
        market_timing: c,
        nyc_intelligence: d,
    })
}

fn any_examples(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<ConversionExample>> {
    proptest::collection::vec((any_factors(), any::<bool>()), n).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (factors, converted))| ConversionExample {
                lead_id: format!("lead_{i}"),
                factors,
                converted,
            })
            .collect()
    })
}

fn any_weights() -> impl Strategy<Value = FactorWeights> {
    (0u32..=10_000, 0u32..=10_000, 0u32..=10_000).prop_map(|(a, b, c)| {
        let mut cuts = [a, b, c];
        cuts.sort_unstable();
        FactorWeights {
            base_qualification: cuts[0],
            behavioral: cuts[1] - cuts[0],
            market_timing: cuts[2] - cuts[1],
            nyc_intelligence: 10_000 - cuts[2],
        }
    })
}

fn settings() -> LearnerSettings {
    LearnerSettings {
        min_examples: 20,
        min_each_class: 1,
        min_held_out: 1,
        ..LearnerSettings::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_logit_gives_a_probability_within_0_and_1(
        intercept in prop_oneof![proptest::num::f64::ANY, -1e3..1e3f64],
        coefficients in proptest::collection::vec(prop_oneof![proptest::num::f64::ANY, -1e3..1e3f64], 0..6),
        x in proptest::collection::vec(prop_oneof![proptest::num::f64::ANY, -1e3..1e3f64], 0..6),
    ) {
        let p = Logit { intercept, coefficients }.probability(&x);
        prop_assert!((0.0..=1.0).contains(&p), "{p}");
    }

    #[test]
    fn any_predictions_give_finite_figures_in_range(
        rows in proptest::collection::vec((prop_oneof![proptest::num::f64::ANY, 0.0..=1.0f64], any::<bool>()), 0..50),
    ) {
        let (p, y): (Vec<f64>, Vec<bool>) = rows.into_iter().unzip();
        let e = evaluate(&p, &y);
        prop_assert!(e.log_loss.is_finite() && e.log_loss >= 0.0);
        prop_assert!((0.0..=1.0).contains(&e.brier));
        if let Some(auc) = e.auc {
            prop_assert!((0.0..=1.0).contains(&auc));
        }
    }

    #[test]
    fn any_weight_target_keeps_weights_summing_to_10000_within_one_step(
        current in any_weights(),
        target in proptest::array::uniform4(prop_oneof![proptest::num::f64::ANY, -60.0..60.0f64]),
    ) {
        let s = LearnerSettings::default();
        let next = bounded_weights(current, target, &s);
        prop_assert_eq!(next.total(), 10_000);
        let pairs = [
            (current.base_qualification, next.base_qualification),
            (current.behavioral, next.behavioral),
            (current.market_timing, next.market_timing),
            (current.nyc_intelligence, next.nyc_intelligence),
        ];
        for (was, now) in pairs {
            prop_assert!(was.abs_diff(now) <= s.max_weight_step_bps, "{was} -> {now}");
            // Inside the band a weight stays inside; outside it only moves towards it.
            if (s.min_weight_bps..=s.max_weight_bps).contains(&was) {
                prop_assert!((s.min_weight_bps..=s.max_weight_bps).contains(&now), "{was} -> {now}");
            } else if was < s.min_weight_bps {
                prop_assert!(now >= was);
            } else {
                prop_assert!(now <= was);
            }
        }
    }

    #[test]
    fn any_feedback_gives_a_valid_candidate_within_one_step_of_the_model(
        examples in any_examples(20..200),
        weights in any_weights(),
    ) {
        let current = ScoringModel { weights, ..ScoringModel::default() };
        let s = settings();
        match train_candidate(&current, &examples, &s, 2) {
            Ok(candidate) => {
                prop_assert_eq!(candidate.validate(), Ok(()));
                prop_assert_eq!(candidate.version, 2);
                let (a, b) = (current.conversion, candidate.conversion);
                for (was, now) in [
                    (a.intercept, b.intercept),
                    (a.base_qualification, b.base_qualification),
                    (a.behavioral, b.behavioral),
                    (a.market_timing, b.market_timing),
                    (a.nyc_intelligence, b.nyc_intelligence),
                ] {
                    prop_assert!((was - now).abs() <= s.max_coefficient_step + 1e-12);
                    prop_assert!(now.abs() <= s.coefficient_bound);
                }
                for e in &examples {
                    let p = candidate.conversion.probability(&e.factors);
                    prop_assert!((0.0..=1.0).contains(&p));
                }
            }
            // Only a single-outcome sample is refused (min_each_class = 1).
            Err(e) => prop_assert!(
                examples.iter().all(|x| x.converted) || examples.iter().all(|x| !x.converted),
                "{e}"
            ),
        }
    }

    #[test]
    fn the_model_in_force_never_has_a_worse_held_out_log_loss_than_the_one_before(
        train in any_examples(20..150),
        held_out in any_examples(1..60),
    ) {
        let current = ScoringModel::default();
        let at = Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).single().expect("t");
        if let Ok(u) = update(&current, &train, &held_out, &settings(), 2, at) {
            let j = judge(&current, &u.in_force, &held_out);
            prop_assert!(j.candidate.log_loss <= j.current.log_loss);
            // Each part follows its own verdict: the coefficients theirs, the weights and
            // thresholds (judged on what they re-tier) theirs.
            match u.version.verdict {
                Verdict::Promoted => prop_assert_eq!(u.in_force.conversion, u.version.model.conversion),
                Verdict::RolledBack => prop_assert_eq!(u.in_force.conversion, current.conversion),
                Verdict::Loaded => prop_assert!(false, "the job never loads a model"),
            }
            let tiering = u.version.tiering.expect("judged");
            match tiering.verdict {
                Verdict::Promoted => {
                    prop_assert_eq!(u.in_force.weights, u.version.model.weights);
                    prop_assert_eq!(u.in_force.tiers, u.version.model.tiers);
                }
                Verdict::RolledBack => {
                    prop_assert_eq!(u.in_force.weights, current.weights);
                    prop_assert_eq!(u.in_force.tiers, current.tiers);
                }
                Verdict::Loaded => prop_assert!(false, "the job never loads a model"),
            }
            if u.version.verdict == Verdict::RolledBack && tiering.verdict == Verdict::RolledBack {
                prop_assert_eq!(&u.in_force, &current);
            }
            prop_assert!(u.in_force.validate().is_ok());
        }
    }

    #[test]
    fn any_outcomes_keep_every_tilt_within_its_bounds(
        outcomes in proptest::collection::vec(
            (proptest::collection::vec(select(ASKS.to_vec()), 0..6),
             proptest::collection::vec(select(vec!["a".to_owned(), "b".to_owned()]), 0..3),
             any::<bool>(), any::<bool>()),
            200..400),
        rounds in 1usize..4,
    ) {
        let outcomes: Vec<ConversationOutcome> = outcomes
            .into_iter()
            .map(|(asked, recommended, qualified, kept)| ConversationOutcome { asked, recommended, qualified, kept })
            .collect();
        let s = RulesSettings { min_per_item: 5, ..RulesSettings::default() };
        let at = Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).single().expect("t");
        let mut rules = ConversationRules::default();
        for _ in 0..rounds {
            let Ok(next) = learn(&rules, &outcomes, &s, at) else { break };
            for ask in ASKS {
                let (was, now) = (rules.ask_bias_bps(ask), next.ask_bias_bps(ask));
                prop_assert!(now.abs() <= s.max_bias_bps);
                prop_assert!((now - was).abs() <= s.max_step_bps);
            }
            prop_assert_eq!(next.version, rules.version + 1);
            rules = next;
        }
        // Re-ranking keeps exactly the questions it was given.
        let ranked: Vec<(Ask, Cents)> = ASKS.iter().enumerate().map(|(i, a)| (*a, Cents(1_000 - 90 * i as i64))).collect();
        let mut got: Vec<Ask> = rules.reorder_asks(ranked.clone()).into_iter().map(|(a, _)| a).collect();
        let mut want: Vec<Ask> = ranked.into_iter().map(|(a, _)| a).collect();
        got.sort_by_key(|a| format!("{a:?}"));
        want.sort_by_key(|a| format!("{a:?}"));
        prop_assert_eq!(got, want);
    }

    #[test]
    fn any_experiment_history_assigns_a_listed_variant_and_probabilities_sum_to_one(
        history in proptest::collection::vec((0usize..3, any::<bool>()), 0..300),
        seed in any::<u64>(),
    ) {
        let variants: Vec<PriceVariant> = [("a", 9_000), ("b", 10_000), ("c", 11_000)]
            .map(|(id, price_bps)| PriceVariant { id: id.into(), price_bps })
            .to_vec();
        let rule = PromotionRule { draws: 200, ..PromotionRule::default() };
        let mut e = PricingExperiment::new("x", BuyerTier::Standard, variants.clone(), rule, chrono::DateTime::UNIX_EPOCH).expect("valid");
        for (i, kept) in history {
            e.record(&variants[i].id, kept, Cents(12_500)).expect("known");
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let a = e.assign(&mut rng);
        prop_assert!(variants.iter().any(|v| v.id == a.variant_id && v.price_bps == a.price_bps));
        let p = e.probability_best(&mut rng);
        prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        prop_assert!(p.iter().all(|x| (0.0..=1.0).contains(x)));
    }
}
