//! Invariants over any input: the score stays in 0..=100, a renter is never sellable,
//! and nothing a homeowner types can make extraction, scoring or the reply panic.

use aurum::domain::conversation::{ContextHints, Conversation, SessionId, ZipCode};
use aurum::domain::extract::extract;
use aurum::domain::facts::{
    CreditSignal, DecisionMaker, Financing, Objection, PropertyType, TechnicalTopic, Timeline,
};
use aurum::domain::money::Cents;
use aurum::domain::scoring::{ScoringModel, score};
use aurum::domain::targets::Targets;
use aurum::domain::turn::{LeadStatus, Rules, decide_text};

fn rules(model: &ScoringModel) -> Rules<'_> {
    static TARGETS: std::sync::LazyLock<Targets> = std::sync::LazyLock::new(Targets::default);
    Rules {
        model,
        targets: &TARGETS,
        buyers: &[],
    }
}
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::select;

fn option<T: Clone + std::fmt::Debug + 'static>(
    values: Vec<T>,
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![Just(None), select(values).prop_map(Some)]
}

prop_compose! {
    fn any_conversation()(
        homeowner in option(vec![true, false]),
        bill in option(vec![1i64, 50, 99, 150, 250, 400, 1_000, 20_000]),
        zip in option(vec!["10021", "11215", "11105", "10314", "10467", "07030", "90210", "11249"]),
        property in option(vec![PropertyType::SingleFamily, PropertyType::MultiFamily, PropertyType::Townhouse, PropertyType::Condo, PropertyType::Coop]),
        timeline in option(vec![Timeline::Immediate, Timeline::WithinThreeMonths, Timeline::WithinSixMonths, Timeline::WithinYear, Timeline::MoreThanYear, Timeline::JustResearching]),
        decision in option(vec![DecisionMaker::Sole, DecisionMaker::Joint, DecisionMaker::Influencer]),
        financing in option(vec![Financing::Cash, Financing::Loan, Financing::LeaseOrPpa, Financing::Undecided]),
        credit in option(vec![CreditSignal::Strong, CreditSignal::Weak]),
        quotes in option(vec![true, false]),
        topics in proptest::collection::vec(select(TechnicalTopic::ALL.to_vec()), 0..8),
        open in proptest::collection::vec(select(Objection::ALL.to_vec()), 0..5),
        resolved in proptest::collection::vec(select(Objection::ALL.to_vec()), 0..5),
        consent in option(vec![true, false]),
        phone in option(vec!["+17185550142".to_owned()]),
        turns in 0u32..500,
        questions in 0u32..10_000,
        positive in 0u32..1_000,
        negative in 0u32..1_000,
        minutes in 0i64..100_000,
        month in 1u32..=12,
    ) -> (Conversation, chrono::DateTime<Utc>) {
        let now = Utc.with_ymd_and_hms(2026, month, 15, 17, 0, 0).single().expect("valid");
        let mut c = Conversation::new(SessionId::parse("prop").expect("id"), now - Duration::minutes(minutes));
        c.last_message_at = now;
        c.turns = turns;
        c.questions_asked = questions;
        c.sentiment.positive = positive;
        c.sentiment.negative = negative;
        let f = &mut c.facts;
        f.homeowner = homeowner;
        f.monthly_bill = bill.map(Cents::from_dollars);
        f.zip_code = zip.and_then(|z| ZipCode::parse(z).ok());
        f.property_type = property;
        f.timeline = timeline;
        f.decision_maker = decision;
        f.financing = financing;
        f.credit = credit;
        f.competing_quotes = quotes;
        f.technical_topics = topics.into_iter().collect();
        f.objections_open = open.into_iter().collect();
        f.objections_resolved = resolved.into_iter().collect();
        f.contact_consent = consent;
        f.contact.phone = phone;
        (c, now)
    }
}

proptest! {
    #[test]
    fn score_is_always_within_0_to_100((c, now) in any_conversation()) {
        let s = score(&ScoringModel::default(), &c, now);
        prop_assert!(s.total <= 100);
        for f in [s.factors.base_qualification, s.factors.behavioral, s.factors.market_timing, s.factors.nyc_intelligence] {
            prop_assert!(f <= 100);
        }
        prop_assert!((0.0..=1.0).contains(&s.conversion_probability));
        prop_assert!(s.revenue_potential >= Cents::ZERO);
    }

    #[test]
    fn a_renter_is_never_sellable((mut c, now) in any_conversation()) {
        c.facts.homeowner = Some(false);
        let s = score(&ScoringModel::default(), &c, now);
        prop_assert!(!s.sellable());
        prop_assert_eq!(s.revenue_potential, Cents::ZERO);
    }

    #[test]
    fn extraction_never_panics_on_any_string(text in any::<String>()) {
        let _ = extract(&text);
    }

    #[test]
    fn extraction_never_panics_on_chat_like_text(text in "[a-zA-Z0-9 $.,?!'()+@-]{0,400}") {
        let _ = extract(&text);
    }

    #[test]
    fn any_message_goes_through_a_whole_turn((c, now) in any_conversation(), text in any::<String>()) {
        let d = decide_text(c, &text, &ContextHints::default(), rules(&ScoringModel::default()), now);
        prop_assert!(d.score.total <= 100);
        prop_assert!(d.reply.next_questions.len() <= 3);
        if d.conversation.facts.homeowner == Some(false) {
            prop_assert!(!d.score.sellable());
            prop_assert!(d.publish.is_none());
        }
        // A lead is published only when sellable, and then with consent evidence.
        if let Some(lead) = &d.publish {
            prop_assert!(d.score.sellable());
            prop_assert!(lead.consent.is_some());
            prop_assert_eq!(Some(&lead.lead_id), d.conversation.lead_id.as_ref());
        }
    }

    #[test]
    fn a_withdrawn_lead_is_never_published_again((c, now) in any_conversation(), texts in proptest::collection::vec(any::<String>(), 1..6)) {
        let mut c = c;
        c.lead_id = Some("lead_prop".into());
        c.lead_queued_at = Some(now);
        let model = ScoringModel::default();
        let d = decide_text(c, "no, don't share my details with anyone", &ContextHints::default(), rules(&model), now);
        prop_assert!(d.withdraw.is_some());
        let mut c = d.conversation;
        for text in &texts {
            let d = decide_text(c, text, &ContextHints::default(), rules(&model), now);
            prop_assert!(d.publish.is_none());
            prop_assert!(d.withdraw.is_none());
            prop_assert!(matches!(d.lead, LeadStatus::Withdrawn { .. }), "{:?}", d.lead);
            c = d.conversation;
        }
    }
}
