//! The deterministic reply agent: answers from the facts gathered so far and asks for the
//! missing fact worth the most expected revenue.

use super::conversation::{Conversation, ZipCode};
use super::facts::{
    Ask, Borough, DecisionMaker, Financing, MessageFacts, Objection, PropertyType, TechnicalTopic,
    Timeline,
};
use super::incentives::{self, Ownership};
use super::learning::conversation_rules::ConversationRules;
use super::market::market;
use super::money::{Cents, group_thousands};
use super::scoring::{Blocker, LeadScore, ScoringModel, score};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::America::New_York;
use serde::Serialize;
use std::fmt::Write;

/// How many follow-up questions the frontend gets.
const MAX_QUESTIONS: usize = 3;

impl Ask {
    const ALL: [Ask; 10] = [
        Ask::Homeowner,
        Ask::Bill,
        Ask::Zip,
        Ask::PropertyType,
        Ask::Timeline,
        Ask::DecisionMaker,
        Ask::Financing,
        Ask::CompetingQuotes,
        Ask::Contact,
        Ask::Consent,
    ];

    pub fn question(self) -> &'static str {
        match self {
            Ask::Homeowner => "Do you own your home?",
            Ask::Bill => "About how much is your monthly electric bill?",
            Ask::Zip => "What's your ZIP code?",
            Ask::PropertyType => {
                "What type of home is it: a house, a 2-4 family, a brownstone or townhouse, a condo or a co-op?"
            }
            Ask::Timeline => "What's your timeline for installation?",
            Ask::DecisionMaker => "Is anyone else part of the decision, like a spouse or co-owner?",
            Ask::Financing => {
                "Would you rather pay upfront, finance with a solar loan, or lease with no money down?"
            }
            Ask::CompetingQuotes => "Have you gotten quotes from other installers yet?",
            Ask::Contact => "What's the best phone number or email for an installer to reach you?",
            Ask::Consent => {
                "May we share your details with one vetted NYC installer so they can contact you with a quote?"
            }
        }
    }

    fn missing(self, c: &Conversation) -> bool {
        let f = &c.facts;
        match self {
            Ask::Homeowner => f.homeowner.is_none(),
            Ask::Bill => f.monthly_bill.is_none(),
            Ask::Zip => f.zip_code.is_none(),
            Ask::PropertyType => f.property_type.is_none(),
            Ask::Timeline => f.timeline.is_none(),
            Ask::DecisionMaker => f.decision_maker.is_none(),
            Ask::Financing => f.financing.is_none(),
            Ask::CompetingQuotes => f.competing_quotes.is_none(),
            Ask::Contact => !f.contact.reachable(),
            Ask::Consent => f.contact_consent.is_none(),
        }
    }

    /// Fills the fact with a typical answer, to price what knowing it is worth.
    fn assume(self, c: &mut Conversation) {
        let f = &mut c.facts;
        match self {
            Ask::Homeowner => f.homeowner = Some(true),
            Ask::Bill => f.monthly_bill = Some(Cents::from_dollars(200)),
            Ask::Zip => {
                // A ZIP of the neighbourhood they named, else a typical one of the borough.
                let named = f
                    .neighborhood
                    .as_deref()
                    .and_then(|n| market().neighborhood(n))
                    .and_then(|n| n.zips.first());
                let zip = named.map_or_else(|| typical_zip(f.borough), String::as_str);
                f.zip_code = ZipCode::parse(zip).ok();
            }
            Ask::PropertyType => f.property_type = Some(PropertyType::MultiFamily),
            Ask::Timeline => f.timeline = Some(Timeline::WithinSixMonths),
            Ask::DecisionMaker => f.decision_maker = Some(DecisionMaker::Joint),
            Ask::Financing => f.financing = Some(Financing::Loan),
            Ask::CompetingQuotes => f.competing_quotes = Some(true),
            Ask::Contact => f.contact.phone = Some("+12125550100".into()),
            Ask::Consent => f.contact_consent = Some(true),
        }
    }
}

fn typical_zip(borough: Option<Borough>) -> &'static str {
    match borough {
        Some(Borough::Manhattan) => "10027",
        Some(Borough::Brooklyn) => "11226",
        Some(Borough::Bronx) => "10467",
        Some(Borough::StatenIsland) => "10314",
        Some(Borough::Queens) | None => "11385",
    }
}

/// Expected revenue of the lead as it stands, discounted by half for every sellability
/// gate still open: what ranks the next question.
pub fn lead_value(s: &LeadScore) -> Cents {
    if s.blockers.iter().any(|b| b.is_final()) {
        return Cents::ZERO;
    }
    let open_gates = s
        .blockers
        .iter()
        .filter(|b| **b != Blocker::BelowBasicTier)
        .count();
    let discount = 1_000_000_i64 >> open_gates.min(20);
    s.expected_revenue().mul_ppm(discount)
}

/// Missing facts, most valuable first.
pub fn ranked_asks(
    model: &ScoringModel,
    c: &Conversation,
    current: &LeadScore,
    now: DateTime<Utc>,
) -> Vec<(Ask, Cents)> {
    if current.blockers.iter().any(|b| b.is_final()) {
        return Vec::new();
    }
    let base = lead_value(current);
    let mut probe = c.clone();
    let mut ranked: Vec<(Ask, Cents)> = Ask::ALL
        .iter()
        .filter(|a| a.missing(c))
        .map(|&ask| {
            probe.facts.clone_from(&c.facts);
            ask.assume(&mut probe);
            let gain = lead_value(&score(model, &probe, now)) - base;
            (ask, gain)
        })
        .collect();
    // Consent only makes sense once there is a way to reach them.
    if ranked.iter().any(|(a, _)| *a == Ask::Contact) {
        ranked.retain(|(a, _)| *a != Ask::Consent);
    }
    ranked.sort_by_key(|(_, gain)| std::cmp::Reverse(*gain));
    ranked
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub content: String,
    pub next_questions: Vec<String>,
    /// The fact the content's closing question asks for.
    pub asked: Option<Ask>,
    /// The place the content talked about (neighbourhood or borough id).
    pub greeted_place: Option<String>,
}

fn topic_answer(topic: TechnicalTopic) -> &'static str {
    match topic {
        TechnicalTopic::Inverters => {
            "On inverters: microinverters or optimizers keep one shaded panel from dragging down the rest, which matters on NYC roofs with chimneys and bulkheads."
        }
        TechnicalTopic::Production => {
            "In NYC each kW of panels makes roughly 1,200 kWh a year, so the system is sized from your yearly usage."
        }
        TechnicalTopic::NetMetering => {
            "With Con Edison, power you export is credited to your bill and offsets what you draw at night."
        }
        TechnicalTopic::Batteries => {
            "A battery stores daytime solar for evenings and outages; it adds cost, so it pays off most if backup power matters to you."
        }
        TechnicalTopic::Warranties => {
            "Panels usually carry 25-year performance warranties; ask each installer about workmanship and inverter coverage too."
        }
        TechnicalTopic::Panels => {
            "Most NYC installers use high-efficiency monocrystalline panels, which get the most out of a small roof."
        }
        TechnicalTopic::Permits => {
            "Your installer handles the DOB permit, FDNY roof setbacks and Con Edison interconnection paperwork."
        }
        TechnicalTopic::Maintenance => {
            "Panels need little upkeep: rain and snow melt do most of the cleaning, and monitoring flags any drop in output."
        }
    }
}

fn objection_answer(o: Objection) -> &'static str {
    match o {
        Objection::Cost => {
            "On cost: loans and leases can start with $0 down, so the monthly payment can sit below the savings."
        }
        Objection::Roof => {
            "On the roof: the installer inspects it first, and if it needs work soon it is cheaper to do both together."
        }
        Objection::Aesthetics => {
            "On looks: all-black panels on low-tilt racking are barely visible from the street on most NYC rowhouses."
        }
        Objection::Moving => {
            "If you might move: homes with owned solar tend to sell for more, and leases can usually transfer to the buyer."
        }
        Objection::Trust => {
            "On trust: we only pass your request to one vetted, licensed NYC installer, and you are never obliged to sign."
        }
    }
}

/// Incentive sentences the agent may say today, for how the homeowner would pay.
/// When the system would likely be in service: an incentive only helps if it is still in
/// effect then (25D, for one, counted the date the installation was completed).
pub fn expected_install_date(today: NaiveDate, timeline: Option<Timeline>) -> NaiveDate {
    let days = match timeline {
        Some(Timeline::Immediate) => 60,
        Some(Timeline::WithinThreeMonths) | None => 90,
        Some(Timeline::WithinSixMonths) => 180,
        Some(Timeline::WithinYear) | Some(Timeline::JustResearching) => 365,
        Some(Timeline::MoreThanYear) => 730,
    };
    today + chrono::Duration::days(days)
}

/// Incentive sentences the agent may say today to a homeowner on this timeline, for how
/// they would pay. Most homeowners buy or finance: when it is not known how they would
/// pay, incentives for owned systems come first.
pub fn incentive_claims(
    today: NaiveDate,
    timeline: Option<Timeline>,
    financing: Option<Financing>,
) -> Vec<&'static str> {
    let ownership = financing.and_then(Ownership::from_financing);
    let install = expected_install_date(today, timeline);
    let mut found: Vec<_> = incentives::citable_for(today, ownership)
        .filter(|i| i.is_in_effect(install))
        .collect();
    if ownership.is_none() {
        found.sort_by_key(|i| !i.applies_to.contains(&Ownership::Purchase));
    }
    found.into_iter().map(|i| i.claim.as_str()).collect()
}

/// Composes the reply to one homeowner message.
pub fn reply(
    model: &ScoringModel,
    c: &Conversation,
    latest: &MessageFacts,
    s: &LeadScore,
    now: DateTime<Utc>,
) -> Reply {
    reply_with_rules(model, &ConversationRules::default(), c, latest, s, now)
}

/// [`reply`], with the next questions re-ranked by learned conversation rules.
pub fn reply_with_rules(
    model: &ScoringModel,
    rules: &ConversationRules,
    c: &Conversation,
    latest: &MessageFacts,
    s: &LeadScore,
    now: DateTime<Utc>,
) -> Reply {
    let f = &c.facts;
    let today = now.with_timezone(&New_York).date_naive();
    let mut out = String::with_capacity(512);

    if f.homeowner == Some(false) {
        out.push_str(
            "Thanks for telling me. Rooftop solar needs the owner's approval, so it usually isn't an option for renters, but NYC community solar lets you subscribe and save on your Con Edison bill without panels.",
        );
        return Reply {
            content: out,
            next_questions: Vec::new(),
            asked: None,
            greeted_place: None,
        };
    }
    if f.outside_nyc() {
        let zip = f.zip_code.as_ref().map_or("", ZipCode::as_str);
        let _ = write!(
            out,
            "Thanks! ZIP {zip} is outside the five boroughs, and our installer network only covers New York City, so we can't match you with an installer there."
        );
        return Reply {
            content: out,
            next_questions: Vec::new(),
            asked: None,
            greeted_place: None,
        };
    }

    let place = f
        .neighborhood
        .clone()
        .or_else(|| f.borough.map(|b| b.as_str().to_owned()));
    let new_place = place.is_some() && place != c.greeted_place;
    match (
        f.borough,
        f.neighborhood
            .as_deref()
            .and_then(|n| market().neighborhood(n)),
    ) {
        (Some(_), Some(n)) if new_place => {
            let _ = write!(out, "Great, {} is a good area for solar. ", n.name);
        }
        (Some(b), _) if new_place => {
            let _ = write!(
                out,
                "Great, {} is a good place for solar. ",
                b.display_name()
            );
        }
        _ if c.turns <= 1 => out.push_str("Thanks for reaching out about solar! "),
        _ => {}
    }
    if let Some(b) = f.borough.filter(|_| new_place)
        && let Some(point) = market().borough(b).talking_points.first()
    {
        out.push_str(point);
        out.push(' ');
    }

    if let Some(bill) = f.monthly_bill
        && let e = market().sizing().estimate(bill, f.property_type)
        && e.system_watts > 0
        && (latest.monthly_bill.is_some() || latest.property_type.is_some() || c.turns <= 1)
    {
        let _ = write!(
            out,
            "With a {} monthly bill, a system of about {} kW could produce around {} kWh a year and save roughly {} annually",
            bill.spoken(),
            e.system_kw(),
            group_thousands(u64::from(e.annual_production_kwh)),
            Cents::from_dollars(e.annual_savings.whole_dollars() / 10 * 10).spoken(),
        );
        out.push_str(if e.capped_by_roof {
            ", limited by the roof space a home like yours usually has. "
        } else {
            ". "
        });
    }
    if matches!(
        f.property_type,
        Some(PropertyType::Coop | PropertyType::Condo)
    ) && latest.property_type.is_some()
    {
        out.push_str("Rooftop solar on a co-op or condo needs the board's approval, and many NYC boards have approved shared systems. ");
    }

    for topic in &latest.technical_topics {
        out.push_str(topic_answer(*topic));
        out.push(' ');
    }
    if let Some(o) = latest
        .objections_raised
        .first()
        .or(f.objections_open.iter().next())
    {
        out.push_str(objection_answer(*o));
        out.push(' ');
        if *o == Objection::Cost {
            for claim in incentive_claims(today, f.timeline, f.financing)
                .iter()
                .take(2)
            {
                out.push_str(claim);
                out.push(' ');
            }
        }
    }
    if s.sellable() && c.lead_queued_at.is_none() {
        out.push_str(
            "You're all set: a vetted NYC installer will reach out with a personalised quote. ",
        );
    } else if f.contact_consent == Some(false) {
        out.push_str("Understood, we won't share your details or have anyone contact you. ");
    }

    let asks = rules.reorder_asks(ranked_asks(model, c, s, now));
    let next_questions: Vec<String> = asks
        .iter()
        .filter(|_| f.contact_consent != Some(false))
        .take(MAX_QUESTIONS)
        .map(|(a, _)| a.question().to_owned())
        .collect();
    if let Some(first) = next_questions.first() {
        out.push_str(first);
    }
    Reply {
        content: out.trim_end().to_owned(),
        asked: asks
            .first()
            .map(|(a, _)| *a)
            .filter(|_| !next_questions.is_empty()),
        next_questions,
        greeted_place: place,
    }
}

/// The objection this reply answers, remembered so that "makes sense" can resolve it.
pub fn answered_objection(c: &Conversation, latest: &MessageFacts) -> Option<Objection> {
    latest
        .objections_raised
        .first()
        .copied()
        .or_else(|| c.facts.objections_open.iter().next().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::conversation::{ContextHints, SessionId};
    use chrono::TimeZone;

    fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 16, 0, 0)
            .single()
            .expect("valid")
    }

    /// One turn through the same function the conversation use case calls.
    fn turn(c: &mut Conversation, m: MessageFacts, now: DateTime<Utc>) -> Reply {
        let message = crate::domain::turn::Message {
            text: "",
            facts: &m,
            hints: &ContextHints::default(),
        };
        let rules = crate::domain::turn::Rules {
            model: &ScoringModel::default(),
            targets: &crate::domain::targets::Targets::default(),
        };
        let d = crate::domain::turn::decide(c.clone(), &message, rules, now);
        *c = d.conversation;
        d.reply
    }

    #[test]
    fn the_reply_quotes_the_market_sizing_estimate() {
        // One sizing rule (market data's `Sizing::estimate`): the reply says its figures.
        let s = market().sizing();
        let e = s.estimate(Cents::from_dollars(400), Some(PropertyType::SingleFamily));
        assert_eq!(
            u64::from(e.annual_use_kwh),
            40_000 * 12 / u64::from(s.price_cents_per_kwh)
        );
        assert!(e.system_watts > 0);
        assert!(e.annual_savings > Cents::ZERO);
        let small = s.estimate(Cents::from_dollars(400), Some(PropertyType::Townhouse));
        assert!(small.system_watts <= e.system_watts);
        assert_eq!(s.estimate(Cents::ZERO, None).system_watts, 0);

        let mut c = Conversation::new(SessionId::parse("z").expect("id"), t(2026, 5, 1));
        let r = turn(
            &mut c,
            MessageFacts {
                homeowner: Some(true),
                monthly_bill: Some(Cents::from_dollars(400)),
                property_type: Some(PropertyType::SingleFamily),
                ..MessageFacts::default()
            },
            t(2026, 5, 1),
        );
        let quoted = format!(
            "about {} kW could produce around {} kWh",
            e.system_kw(),
            group_thousands(u64::from(e.annual_production_kwh))
        );
        assert!(r.content.contains(&quoted), "{quoted:?} in {}", r.content);
    }

    #[test]
    fn given_a_bill_then_the_reply_quotes_size_and_savings() {
        let mut c = Conversation::new(SessionId::parse("a").expect("id"), t(2026, 5, 1));
        let r = turn(
            &mut c,
            MessageFacts {
                homeowner: Some(true),
                monthly_bill: Some(Cents::from_dollars(400)),
                ..MessageFacts::default()
            },
            t(2026, 5, 1),
        );
        assert!(r.content.contains("$400 monthly bill"), "{}", r.content);
        assert!(r.content.contains("kW"), "{}", r.content);
        assert!(!r.next_questions.is_empty());
        assert_eq!(
            r.next_questions.len(),
            r.next_questions
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
        );
    }

    #[test]
    fn given_a_homeowner_with_bill_then_the_zip_is_asked_before_minor_facts() {
        let mut c = Conversation::new(SessionId::parse("b").expect("id"), t(2026, 5, 1));
        let r = turn(
            &mut c,
            MessageFacts {
                homeowner: Some(true),
                monthly_bill: Some(Cents::from_dollars(300)),
                ..MessageFacts::default()
            },
            t(2026, 5, 1),
        );
        let zip_at = r
            .next_questions
            .iter()
            .position(|q| q == Ask::Zip.question());
        let quotes_at = r
            .next_questions
            .iter()
            .position(|q| q == Ask::CompetingQuotes.question());
        assert!(zip_at.is_some(), "{:?}", r.next_questions);
        assert!(quotes_at.is_none_or(|q| zip_at < Some(q)));
    }

    #[test]
    fn given_a_renter_then_no_sales_questions_are_asked() {
        let mut c = Conversation::new(SessionId::parse("c").expect("id"), t(2026, 5, 1));
        let r = turn(
            &mut c,
            MessageFacts {
                homeowner: Some(false),
                ..MessageFacts::default()
            },
            t(2026, 5, 1),
        );
        assert!(r.next_questions.is_empty());
        assert!(r.content.contains("community solar"));
    }

    #[test]
    fn given_a_zip_outside_nyc_then_the_reply_says_so() {
        let mut c = Conversation::new(SessionId::parse("d").expect("id"), t(2026, 5, 1));
        let r = turn(
            &mut c,
            MessageFacts {
                zip_code: Some("07030".into()),
                ..MessageFacts::default()
            },
            t(2026, 5, 1),
        );
        assert!(r.content.contains("07030"));
        assert!(r.content.contains("outside the five boroughs"));
    }

    #[test]
    fn the_federal_credit_is_cited_only_inside_its_window() {
        let federal = incentives::incentives()
            .iter()
            .find(|i| i.id.contains("25d"))
            .expect("the federal credit is in the table");
        let before = NaiveDate::from_ymd_opt(2025, 6, 1).expect("date");
        let after = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
        assert!(incentive_claims(before, None, None).contains(&federal.claim.as_str()));
        assert!(!incentive_claims(after, None, None).contains(&federal.claim.as_str()));
        // In mid-2025 a homeowner installing next year could no longer get it either.
        assert!(
            !incentive_claims(before, Some(Timeline::WithinYear), None)
                .contains(&federal.claim.as_str())
        );

        for (now, cited) in [(t(2025, 6, 1), true), (t(2026, 1, 2), false)] {
            let mut c = Conversation::new(SessionId::parse("e").expect("id"), now);
            let r = turn(
                &mut c,
                MessageFacts {
                    homeowner: Some(true),
                    objections_raised: vec![Objection::Cost],
                    financing: Some(Financing::Cash),
                    ..MessageFacts::default()
                },
                now,
            );
            assert_eq!(
                r.content.contains(&federal.claim),
                cited,
                "{now}: {}",
                r.content
            );
            assert!(
                cited || !r.content.to_lowercase().contains("federal"),
                "{}",
                r.content
            );
        }
    }
}
