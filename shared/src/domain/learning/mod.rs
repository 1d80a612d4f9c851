//! Learning from feedback: the scoring model's conversion learner, pricing experiments
//! (Thompson sampling) and the conversation rules. Pure: the jobs load the data, pass
//! time and randomness in, and store what these functions decide.

pub mod conversation_rules;
pub mod conversion;
pub mod experiments;
pub mod logistic;
pub mod offline;

#[cfg(test)]
mod tests {
    use super::conversation_rules::{ConversationOutcome, ConversationRules, RulesSettings, learn};
    use super::conversion::{ConversionExample, LearnerSettings, ModelVersion, update};
    use super::experiments::{PriceVariant, PricingExperiment, PromotionRule};
    use crate::domain::buyer::BuyerTier;
    use crate::domain::facts::Ask;
    use crate::domain::money::Cents;
    use crate::domain::scoring::{FactorScores, ScoringModel};
    use chrono::{DateTime, TimeZone, Utc};
    use rand::SeedableRng;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0)
            .single()
            .expect("t")
    }

    fn round_trip<
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    >(
        value: &T,
    ) {
        let json = serde_json::to_string(value).expect("serialises");
        let back: T = serde_json::from_str(&json).expect("reads back");
        assert_eq!(&back, value, "{json}");
    }

    #[test]
    fn given_learned_versions_then_each_is_stored_and_read_back_unchanged() {
        let examples: Vec<ConversionExample> = (0..700)
            .map(|i| ConversionExample {
                lead_id: format!("l{i}"),
                factors: FactorScores {
                    base_qualification: (i % 101) as u8,
                    behavioral: (i * 7 % 101) as u8,
                    market_timing: (i * 13 % 101) as u8,
                    nyc_intelligence: (i * 29 % 101) as u8,
                },
                converted: i % 101 > 60 || i % 9 == 0,
            })
            .collect();
        let u = update(
            &ScoringModel::default(),
            &examples[..600],
            &examples[600..],
            &LearnerSettings::default(),
            2,
            at(),
        )
        .expect("update");
        round_trip::<ModelVersion>(&u.version);

        let mut e = PricingExperiment::new(
            "standard-1",
            BuyerTier::Standard,
            vec![
                PriceVariant {
                    id: "a".into(),
                    price_bps: 9_500,
                },
                PriceVariant {
                    id: "b".into(),
                    price_bps: 10_500,
                },
            ],
            PromotionRule {
                min_offers: 10,
                min_winner_offers: 5,
                ..PromotionRule::default()
            },
            at(),
        )
        .expect("valid");
        round_trip(&e);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for i in 0..200 {
            let a = e.assign(&mut rng);
            e.record(&a.variant_id, i % 4 != 0, a.apply(Cents(12_500)))
                .expect("known");
            round_trip(&a);
        }
        e.conclude(&mut rng, at());
        round_trip(&e);

        let outcomes = vec![
            ConversationOutcome {
                asked: vec![Ask::Bill, Ask::Timeline],
                recommended: vec!["Ask for consent to share details with one installer".into()],
                qualified: true,
                kept: true,
            };
            250
        ];
        let rules = learn(
            &ConversationRules::default(),
            &outcomes,
            &RulesSettings::default(),
            at(),
        )
        .expect("rules");
        round_trip(&rules);
    }
}
