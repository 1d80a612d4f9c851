//! The deterministic reply agent: answers from the facts gathered so far and asks for the
//! missing fact worth the most expected revenue.

use super::answers::answers;
use super::conversation::{Conversation, NamedSeller, ZipCode};
use super::facts::{
    Ask, Borough, DecisionMaker, Financing, MessageFacts, Objection, PropertyType, Timeline, Topic,
};
use super::incentives::{self, Ownership};
use super::knowledge::{Entry, knowledge};
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

    /// This fact's bit in a set of facts (`Conversation::held_back`).
    pub fn bit(self) -> u16 {
        let at = Ask::ALL.iter().position(|a| *a == self).unwrap_or(0);
        1 << at
    }

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

    /// The same question in other words, for the second time in a row. A bare yes/no
    /// means the same to both.
    pub fn rephrased(self) -> &'static str {
        match self {
            Ask::Homeowner => "Is the home yours, or are you renting it?",
            Ask::Bill => {
                "Roughly what does Con Edison charge you in a typical month? The total on a recent bill is fine."
            }
            Ask::Zip => "Which ZIP code is the home in? It tells me the local rules and prices.",
            Ask::PropertyType => {
                "Is it a house, a 2-4 family, a townhouse, or an apartment in a condo or co-op?"
            }
            Ask::Timeline => {
                "When would you like the panels up: in the next few months, this year, or later?"
            }
            Ask::DecisionMaker => {
                "Will anyone else, such as a spouse or co-owner, decide this with you?"
            }
            Ask::Financing => {
                "Would you pay for it upfront, take a solar loan, or prefer a lease with nothing down?"
            }
            Ask::CompetingQuotes => "Has any other installer given you a quote so far?",
            Ask::Contact => "Where can an installer reach you: a phone number or an email?",
            Ask::Consent => {
                "Would you like me to share your details with one vetted NYC installer, who would contact you with a quote?"
            }
        }
    }

    /// The words for the `streak`-th time in a row this fact is asked, naming `sellers` in
    /// the consent question when there are any.
    pub fn words(self, streak: u8, sellers: &[NamedSeller]) -> String {
        if self != Ask::Consent || sellers.is_empty() {
            return self.phrasing(streak).to_owned();
        }
        let names: Vec<&str> = sellers.iter().map(|s| s.name.as_str()).collect();
        let names = match names.as_slice() {
            [one] => (*one).to_owned(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
            [] => String::new(),
        };
        if streak >= 2 {
            format!(
                "Would you like me to share your details with {names}, solar installers and their partners in your area, so one of them can contact you with a quote?"
            )
        } else {
            format!(
                "May we share your details with {names} (solar installers and their partners serving your area) so one of them can contact you with a quote?"
            )
        }
    }

    /// The words for the `streak`-th time in a row this fact is asked (1 = first time).
    pub fn phrasing(self, streak: u8) -> &'static str {
        if streak >= 2 {
            self.rephrased()
        } else {
            self.question()
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
    // A homeowner who took consent back, or had their contact details erased, is not
    // asked for consent, or for a way to reach them, again.
    let withdrawn = c.consent_withdrawn.is_some() || c.contact_erased.is_some();
    let mut ranked: Vec<(Ask, Cents)> = Ask::ALL
        .iter()
        .filter(|a| a.missing(c))
        .filter(|a| !(withdrawn && matches!(a, Ask::Contact | Ask::Consent)))
        // Past the maximum duration, only what a sale still needs.
        .filter(|a| {
            !c.past_max_duration
                || matches!(
                    a,
                    Ask::Homeowner | Ask::Zip | Ask::Bill | Ask::Contact | Ask::Consent
                )
        })
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
    /// The topics the content answers.
    pub topics: Vec<Topic>,
    /// The borough whose market facts the content told (told once per chat).
    pub told_borough: Option<Borough>,
    /// The system size the content quoted, in watts.
    pub sized_watts: Option<u32>,
    /// The knowledge-base entries the content answered (ids).
    pub answered_questions: Vec<String>,
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

/// What was known before this message, to notice a correction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Before {
    pub monthly_bill: Option<Cents>,
    pub zip_code: Option<ZipCode>,
    pub property_type: Option<PropertyType>,
    pub homeowner: Option<bool>,
    pub timeline: Option<Timeline>,
    pub decision_maker: Option<DecisionMaker>,
    pub financing: Option<Financing>,
    pub competing_quotes: Option<bool>,
    pub contact_consent: Option<bool>,
    pub phone: bool,
    pub email: bool,
}

impl Before {
    pub fn of(f: &super::conversation::LeadFacts) -> Before {
        Before {
            monthly_bill: f.monthly_bill,
            zip_code: f.zip_code.clone(),
            property_type: f.property_type,
            homeowner: f.homeowner,
            timeline: f.timeline,
            decision_maker: f.decision_maker,
            financing: f.financing,
            competing_quotes: f.competing_quotes,
            contact_consent: f.contact_consent,
            phone: f.contact.phone.is_some(),
            email: f.contact.email.is_some(),
        }
    }
}

/// Topics this reply addresses: what the message raised (its technical topics and
/// objections included), a co-op or condo just named (its board), in `Topic::ALL` order.
fn topics_raised(c: &Conversation, latest: &MessageFacts) -> Vec<Topic> {
    let mut raised = [false; Topic::ALL.len()];
    for t in &latest.topics {
        raised[*t as usize] = true;
    }
    for t in &latest.technical_topics {
        raised[Topic::from(*t) as usize] = true;
    }
    for o in &latest.objections_raised {
        raised[Topic::from(*o) as usize] = true;
    }
    // A question the rules missed (misspelt, in Spanish) but the knowledge base matched
    // raises the topic whose answer covers it.
    let kb = knowledge();
    for k in &latest.known_questions {
        if let Some(t) = kb.entry(k.entry).covers {
            raised[t as usize] = true;
        }
    }
    if latest.property_type.is_some()
        && matches!(
            c.facts.property_type,
            Some(PropertyType::Coop | PropertyType::Condo)
        )
    {
        raised[Topic::Board as usize] = true;
    }
    if c.facts.homeowner == Some(false)
        && (latest.homeowner == Some(false) || !answered_before(c, Topic::Renters))
    {
        raised[Topic::Renters as usize] = true;
    }
    Topic::ALL
        .into_iter()
        .filter(|t| raised[*t as usize])
        .collect()
}

fn answered_before(c: &Conversation, t: Topic) -> bool {
    c.topics_answered & (1 << (t as u32)) != 0
}

/// Net cost after the incentives in effect when the system would be in service, for an
/// owned system; and the words naming them.
fn net_of_incentives(
    cost: Cents,
    today: NaiveDate,
    f: &super::conversation::LeadFacts,
) -> (Cents, &'static str) {
    let rule = &answers().payback;
    let ownership = f
        .financing
        .and_then(Ownership::from_financing)
        .or(Some(Ownership::Purchase));
    let install = expected_install_date(today, f.timeline);
    let in_effect = |id: &str| {
        incentives::citable_for(today, ownership).any(|i| i.id == id && i.is_in_effect(install))
    };
    let state = in_effect(&rule.state_credit_id).then(|| {
        cost.mul_ppm(i64::from(rule.state_credit_percent) * 10_000)
            .min(Cents::from_dollars(i64::from(
                rule.state_credit_cap_dollars,
            )))
    });
    let city = in_effect(&rule.city_abatement_id)
        .then(|| cost.mul_ppm(i64::from(rule.city_abatement_percent) * 10_000));
    let net = cost - state.unwrap_or(Cents::ZERO) - city.unwrap_or(Cents::ZERO);
    let words = match (state.is_some(), city.is_some()) {
        (true, true) => "after the state credit and the NYC property tax abatement",
        (true, false) => "after the state credit",
        (false, true) => "after the NYC property tax abatement",
        (false, false) => "before incentives",
    };
    (net, words)
}

/// What a system for one bill comes to: size, price before and after the incentives in
/// effect when it would be in service, yearly savings, years to pay back.
struct MoneyFigures {
    bill: Cents,
    kw: String,
    cost: Cents,
    net: Cents,
    after: &'static str,
    savings: Cents,
    years: i64,
}

fn money_figures(c: &Conversation, bill: Cents, today: NaiveDate) -> Option<MoneyFigures> {
    let f = &c.facts;
    let e = market().sizing().estimate(bill, f.property_type);
    if e.system_watts == 0 || e.annual_savings <= Cents::ZERO {
        return None;
    }
    let (net, after) = net_of_incentives(e.installed_cost, today, f);
    let years = (net.0 + e.annual_savings.0 / 2) / e.annual_savings.0.max(1);
    Some(MoneyFigures {
        bill,
        kw: e.system_kw(),
        cost: Cents::from_dollars(e.installed_cost.whole_dollars() / 100 * 100),
        net: Cents::from_dollars(net.whole_dollars() / 100 * 100),
        after,
        savings: Cents::from_dollars(e.annual_savings.whole_dollars() / 10 * 10),
        years: years.max(1),
    })
}

fn fill(text: &str, per_watt: Cents, m: Option<&MoneyFigures>) -> String {
    let mut out = text.replace("{cost_per_watt}", &per_watt.spoken());
    if let Some(m) = m {
        out = out
            .replace("{kw}", &m.kw)
            .replace("{cost}", &m.cost.spoken())
            .replace("{net}", &m.net.spoken())
            .replace("{after}", m.after)
            .replace("{savings}", &m.savings.spoken())
            .replace("{bill}", &m.bill.spoken())
            .replace("{years}", &m.years.to_string());
    }
    out
}

/// One topic's sentence, personalised with the bill when it is known (the cost answer
/// illustrates with a typical bill until then).
fn topic_sentence(out: &mut String, c: &Conversation, topic: Topic, today: NaiveDate) {
    let entry = answers().topic(topic);
    let own_figures = entry.personal.is_some() && c.facts.monthly_bill.is_some();
    if answered_before(c, topic) && !own_figures {
        out.push_str(&entry.again);
        out.push(' ');
        return;
    }
    let per_watt = Cents(i64::from(market().sizing().installed_cost_cents_per_watt));
    let own = c
        .facts
        .monthly_bill
        .and_then(|bill| money_figures(c, bill, today));
    let text = match (&entry.personal, &own) {
        (Some(personal), Some(m)) => fill(personal, per_watt, Some(m)),
        _ if entry.answer.contains('{') => {
            let typical = Cents::from_dollars(i64::from(answers().typical_bill.dollars));
            let m = money_figures(c, typical, today);
            fill(&entry.answer, per_watt, m.as_ref())
        }
        _ => entry.answer.clone(),
    };
    out.push_str(&text);
    out.push(' ');
}

/// The knowledge-base entry this message asks that covers `topic`, not said yet in this
/// chat and in force today: said instead of the topic's short repeat.
fn specific_answer<'a>(
    c: &Conversation,
    latest: &MessageFacts,
    topic: Topic,
    today: NaiveDate,
) -> Option<&'a Entry> {
    let kb = knowledge();
    latest
        .known_questions
        .iter()
        .map(|k| kb.entry(k.entry))
        .find(|e| {
            e.covers == Some(topic) && e.holds_on(today) && !c.answered_questions.contains(&e.id)
        })
}

/// Knowledge-base answers to what the message asks that no topic answer covers.
fn known_answers(
    out: &mut String,
    latest: &MessageFacts,
    today: NaiveDate,
    said: &mut Vec<String>,
) {
    let kb = knowledge();
    for k in &latest.known_questions {
        let e = kb.entry(k.entry);
        if e.covers.is_some() || !e.holds_on(today) || said.contains(&e.id) {
            continue;
        }
        out.push_str(&e.a);
        out.push(' ');
        said.push(e.id.clone());
    }
}

/// The incentive sentences for a homeowner asking about incentives (or about cost or
/// payback, once per chat): those in effect, and the ones that ended, named as ended.
fn incentive_sentences(out: &mut String, c: &Conversation, today: NaiveDate, asked: bool) {
    let f = &c.facts;
    let claims = incentive_claims(today, f.timeline, f.financing);
    for claim in claims.iter().take(if asked { 3 } else { 2 }) {
        out.push_str(claim);
        out.push(' ');
    }
    if asked {
        for ended in incentives::incentives().iter().filter(|i| {
            i.effective_until.is_some_and(|end| end < today)
                && i.applies_to.contains(&Ownership::Purchase)
        }) {
            if let Some(end) = ended.effective_until {
                out.push_str(
                    &answers()
                        .ended_incentive
                        .replace("{name}", &ended.name)
                        .replace("{date}", &end.format("%B %-d, %Y").to_string()),
                );
                out.push(' ');
            }
        }
    }
}

/// The fact to ask for: the most valuable one, unless it was just asked twice in a row
/// without an answer (then it waits); asked a second time, it comes in other words.
fn pick_ask(c: &Conversation, asks: &[(Ask, Cents)]) -> Option<(Ask, String)> {
    asks.iter()
        .map(|(a, _)| *a)
        .find(|a| !(c.last_ask == Some(*a) && c.ask_streak >= 2))
        .map(|a| {
            let streak = if c.last_ask == Some(a) {
                c.ask_streak.saturating_add(1)
            } else {
                1
            };
            (a, a.words(streak, &c.consent_sellers))
        })
}

/// A cheap, stable fingerprint of a reply, to never send the same words twice: FNV-1a
/// over the length and every seventh byte (the same text always gives the same value; a
/// rare collision only makes the next reply open with a recap).
pub fn fingerprint(text: &str) -> u32 {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    text.bytes().step_by(7).fold(0x811c_9dc5_u32 ^ len, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Composes the reply to one homeowner message: first what the message raised, each topic
/// answered, then at most one question.
pub fn reply(
    model: &ScoringModel,
    c: &Conversation,
    latest: &MessageFacts,
    before: &Before,
    s: &LeadScore,
    now: DateTime<Utc>,
) -> Reply {
    reply_with_rules(
        model,
        &ConversationRules::default(),
        c,
        latest,
        before,
        s,
        now,
    )
}

/// [`reply`], with the next questions re-ranked by learned conversation rules.
pub fn reply_with_rules(
    model: &ScoringModel,
    rules: &ConversationRules,
    c: &Conversation,
    latest: &MessageFacts,
    before: &Before,
    s: &LeadScore,
    now: DateTime<Utc>,
) -> Reply {
    let f = &c.facts;
    let today = now.with_timezone(&New_York).date_naive();
    let mut out = String::with_capacity(768);
    let topics = topics_raised(c, latest);
    let mut said_questions = Vec::new();

    if latest.erase_request {
        erased(&mut out, c);
        return finish(c, out, Vec::new(), None, None, Vec::new());
    }
    if f.homeowner == Some(false) {
        let mut answered = Vec::with_capacity(topics.len());
        for t in topics
            .iter()
            .copied()
            .filter(|t| *t == Topic::Renters)
            .chain(
                topics
                    .iter()
                    .copied()
                    .filter(|t| *t != Topic::Renters)
                    .take(2),
            )
        {
            topic_sentence(&mut out, c, t, today);
            answered.push(t);
        }
        known_answers(&mut out, latest, today, &mut said_questions);
        if c.buying_home {
            out.push_str(&answers().renters_buying);
        }
        if latest.closing {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.push_str("Thanks for chatting, and good luck!");
        }
        let mut r = finish(c, out, Vec::new(), None, None, answered);
        r.answered_questions = said_questions;
        return r;
    }
    if f.outside_nyc() {
        let zip = f.zip_code.as_ref().map_or("", ZipCode::as_str);
        let _ = write!(
            out,
            "Thanks! ZIP {zip} is outside the five boroughs, and our installer network only covers New York City, so we can't match you with an installer there."
        );
        return finish(c, out, Vec::new(), None, None, Vec::new());
    }

    let place = f
        .neighborhood
        .clone()
        .or_else(|| f.borough.map(|b| b.as_str().to_owned()));
    let new_place = place.is_some() && place != c.greeted_place;
    if latest.thanks && !latest.closing {
        out.push_str("You're welcome! ");
    }
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
        _ if c.turns <= 1 && !latest.thanks => {
            out.push_str("Thanks for reaching out about solar! ")
        }
        _ => {}
    }
    let mut told_borough = None;
    if let Some(b) = f.borough.filter(|_| new_place)
        && c.boroughs_told & (1 << (b as u8)) == 0
        && let Some(point) = market().borough(b).talking_points.first()
    {
        out.push_str(point);
        out.push(' ');
        told_borough = Some(b);
    }
    acknowledge_correction(&mut out, c, latest, before);
    acknowledge_new(
        &mut out,
        c,
        before,
        new_place && f.borough.is_some(),
        s.sellable() && c.lead_queued_at.is_none(),
    );
    let held_now = latest.held_back.iter().fold(0u16, |set, a| set | a.bit());
    acknowledge_held_back(&mut out, held_now);

    // The cost answer, said now, quotes the size itself: the sizing sentence waits.
    let cost_now = topics.contains(&Topic::Cost) && !answered_before(c, Topic::Cost);
    let payback_now = topics.contains(&Topic::Payback) && !answered_before(c, Topic::Payback);
    let mut sized_watts = None;
    if let Some(bill) = f.monthly_bill
        && let e = market().sizing().estimate(bill, f.property_type)
        && e.system_watts > 0
        && e.system_watts != c.sized_watts
        && (c.sized_watts == 0
            || before.monthly_bill != f.monthly_bill
            || latest.property_type.is_some())
    {
        sized_watts = Some(e.system_watts);
        if !cost_now && !payback_now {
            let savings = Cents::from_dollars(e.annual_savings.whole_dollars() / 10 * 10).spoken();
            let kwh = group_thousands(u64::from(e.annual_production_kwh));
            if c.sized_watts == 0 {
                let _ = write!(
                    out,
                    "With a {} monthly bill, a system of about {} kW could produce around {kwh} kWh a year and save roughly {savings} annually",
                    bill.spoken(),
                    e.system_kw(),
                );
            } else {
                let _ = write!(
                    out,
                    "That changes my estimate to about {} kW, around {kwh} kWh a year, saving roughly {savings} annually",
                    e.system_kw(),
                );
            }
            out.push_str(if e.capped_by_roof {
                ", limited by the roof space a home like yours usually has. "
            } else {
                ". "
            });
        }
    }

    for t in &topics {
        if *t == Topic::Payback && cost_now && payback_now {
            // The cost answer already gave the savings and the years to pay back.
            continue;
        }
        // A matched question gets its own answer rather than the topic's general one;
        // the money topics keep theirs, worked out from the homeowner's figures.
        if !matches!(t, Topic::Cost | Topic::Payback | Topic::Incentives)
            && let Some(e) = specific_answer(c, latest, *t, today)
        {
            out.push_str(&e.a);
            out.push(' ');
            said_questions.push(e.id.clone());
            continue;
        }
        topic_sentence(&mut out, c, *t, today);
    }
    known_answers(&mut out, latest, today, &mut said_questions);
    let incentives_asked = topics.contains(&Topic::Incentives);
    let money_topic = topics
        .iter()
        .any(|t| matches!(t, Topic::Cost | Topic::Payback));
    if incentives_asked || (money_topic && !answered_before(c, Topic::Incentives)) {
        incentive_sentences(&mut out, c, today, incentives_asked);
    }
    if s.sellable() && c.lead_queued_at.is_none() {
        out.push_str(
            "You're all set: a vetted NYC installer will reach out with a personalised quote. ",
        );
    } else if f.contact_consent == Some(false) && refused_now(latest) {
        out.push_str("Understood, we won't share your details or have anyone contact you. ");
    }

    let mut answered = topics;
    if incentives_asked || money_topic {
        answered.push(Topic::Incentives);
        answered.sort();
        answered.dedup();
    }
    if latest.closing {
        closing_words(&mut out, c, s);
        let mut r = finish(c, out, Vec::new(), None, place, answered);
        r.told_borough = told_borough;
        r.sized_watts = sized_watts;
        r.answered_questions = said_questions;
        return r;
    }

    let asks = if f.contact_consent == Some(false) {
        Vec::new()
    } else {
        let mut asks = rules.reorder_asks(ranked_asks(model, c, s, now));
        // Held back on this turn: not asked now (consent waits with the contact details);
        // held back before: asked once nothing else is left.
        let held_now = if held_now & Ask::Contact.bit() != 0 {
            held_now | Ask::Consent.bit()
        } else {
            held_now
        };
        asks.retain(|(a, _)| held_now & a.bit() == 0);
        asks.sort_by_key(|(a, _)| c.held_back & a.bit() != 0);
        asks
    };
    let picked = pick_ask(c, &asks);
    let asked = picked.as_ref().map(|(a, _)| *a);
    let mut next_questions: Vec<String> = Vec::with_capacity(MAX_QUESTIONS);
    if let Some((ask, words)) = picked {
        out.push_str(&words);
        next_questions.push(words);
        next_questions.extend(
            asks.iter()
                .filter(|(a, _)| *a != ask)
                .take(MAX_QUESTIONS - 1)
                .map(|(a, _)| a.words(1, &c.consent_sellers)),
        );
    }
    let mut r = finish(c, out, next_questions, asked, place, answered);
    r.told_borough = told_borough;
    r.sized_watts = sized_watts;
    r.answered_questions = said_questions;
    r
}

/// Whether the refusal to be contacted is news: said on this turn.
fn refused_now(latest: &MessageFacts) -> bool {
    latest.contact_consent == Some(false) || latest.answer == Some(false)
}

/// The homeowner is leaving: thank them and say where things stand; nothing is asked.
fn closing_words(out: &mut String, c: &Conversation, s: &LeadScore) {
    if c.lead_queued_at.is_some() || (s.sellable() && c.lead_queued_at.is_none()) {
        out.push_str(
            "Thanks for chatting! The installer will be in touch about your quote, and you can come back here any time with a question.",
        );
    } else if c.facts.contact_consent == Some(false) {
        out.push_str(
            "Thanks for chatting! Nobody will contact you, and you can come back here any time.",
        );
    } else {
        out.push_str(
            "Thanks for chatting! Whenever you're ready, come back here and we'll pick up where we left off; nothing is shared without your yes.",
        );
    }
}

/// "Got it: you own the home and it's a 2-4 family house": what this message told the
/// agent for the first time (the bill, the place and corrections are acknowledged where
/// they are used).
fn acknowledge_new(
    out: &mut String,
    c: &Conversation,
    before: &Before,
    place_greeted: bool,
    completes: bool,
) {
    let f = &c.facts;
    let mut items: Vec<std::borrow::Cow<'static, str>> = Vec::with_capacity(6);
    if f.homeowner == Some(true) && before.homeowner.is_none() {
        items.push("you own the home".into());
    }
    if before.zip_code.is_none()
        && !place_greeted
        && let Some(zip) = &f.zip_code
    {
        items.push(format!("ZIP {}", zip.as_str()).into());
    }
    if before.property_type.is_none()
        && let Some(p) = f.property_type
    {
        items.push(
            match p {
                PropertyType::SingleFamily => "it's a single-family house",
                PropertyType::MultiFamily => "it's a 2-4 family house",
                PropertyType::Townhouse => "it's a townhouse",
                PropertyType::Condo => "it's a condo",
                PropertyType::Coop => "it's a co-op",
            }
            .into(),
        );
    }
    if before.timeline.is_none()
        && let Some(t) = f.timeline
    {
        items.push(
            match t {
                Timeline::Immediate => "you'd like to start right away",
                Timeline::WithinThreeMonths => "you're aiming for the next three months",
                Timeline::WithinSixMonths => "you're aiming for the next six months",
                Timeline::WithinYear => "you're thinking within the year",
                Timeline::MoreThanYear => "you're planning more than a year out",
                Timeline::JustResearching => "you're still researching",
            }
            .into(),
        );
    }
    if before.decision_maker.is_none()
        && let Some(d) = f.decision_maker
    {
        items.push(
            match d {
                DecisionMaker::Sole => "the decision is yours",
                DecisionMaker::Joint => "you'll decide together",
                DecisionMaker::Influencer => "someone else has a say in the decision",
            }
            .into(),
        );
    }
    if before.financing.is_none()
        && let Some(fin) = f.financing
    {
        items.push(
            match fin {
                Financing::Cash => "you'd pay upfront",
                Financing::Loan => "you'd use a solar loan",
                Financing::LeaseOrPpa => "you'd prefer a lease or PPA",
                Financing::Undecided => "you haven't settled how to pay",
            }
            .into(),
        );
    }
    if before.competing_quotes.is_none()
        && let Some(q) = f.competing_quotes
    {
        items.push(
            if q {
                "you already have another quote"
            } else {
                "no other quotes yet"
            }
            .into(),
        );
    }
    match (
        f.contact.phone.is_some() && !before.phone,
        f.contact.email.is_some() && !before.email,
    ) {
        (true, true) => items.push("I have your phone number and email".into()),
        (true, false) => items.push("I have your phone number".into()),
        (false, true) => items.push("I have your email".into()),
        (false, false) => {}
    }
    // Consent that does not complete the lead yet (completing it says "You're all set").
    if f.contact_consent == Some(true) && before.contact_consent != Some(true) && !completes {
        items.push("you're happy for an installer to contact you".into());
    }
    match items.as_slice() {
        [] => {}
        [one] => {
            let _ = write!(out, "Got it: {one}. ");
        }
        [init @ .., last] => {
            let _ = write!(out, "Got it: {} and {last}. ", init.join(", "));
        }
    }
}

/// "No problem, no need to share your number yet": a fact held back is not pressed for.
fn acknowledge_held_back(out: &mut String, held_now: u16) {
    if held_now & Ask::Contact.bit() != 0 {
        out.push_str("No problem, there's no need to share your number until you're ready. ");
    }
    if held_now & Ask::Bill.bit() != 0 {
        out.push_str("That's fine, you don't have to share your bill. ");
    }
    if held_now & Ask::Zip.bit() != 0 {
        out.push_str("That's fine, the ZIP code can wait. ");
    }
}

/// The reply to a request to erase one's data: what was erased, and that nobody will
/// contact them; no question follows.
fn erased(out: &mut String, c: &Conversation) {
    let fields: Vec<&str> = c
        .contact_erased
        .as_ref()
        .map(|e| e.fields.iter().map(|f| f.spoken()).collect())
        .unwrap_or_default();
    match fields.as_slice() {
        [] => out.push_str(
            "Done: we hold no contact details from this chat, and I won't ask you for any. ",
        ),
        [one] => {
            let _ = write!(
                out,
                "Done: I've erased your {one} from our records, and I won't ask for it again. "
            );
        }
        [init @ .., last] => {
            let _ = write!(
                out,
                "Done: I've erased your {} and {last} from our records, and I won't ask for them again. ",
                init.join(", ")
            );
        }
    }
    out.push_str(if c.lead_queued_at.is_some() {
        "Your request is withdrawn: no installer will contact you about it, and one that already received it is told to stop and delete it."
    } else {
        "Nobody will contact you about this request."
    });
}

/// "Got it, $400 a month then": a changed bill, ZIP or home type is acknowledged.
fn acknowledge_correction(
    out: &mut String,
    c: &Conversation,
    latest: &MessageFacts,
    before: &Before,
) {
    let f = &c.facts;
    if let (Some(was), Some(now)) = (before.monthly_bill, f.monthly_bill)
        && was != now
    {
        let _ = write!(
            out,
            "Got it, I've updated your bill to {} a month. ",
            now.spoken()
        );
    }
    if let (Some(was), Some(now)) = (&before.zip_code, &f.zip_code)
        && latest.zip_code.is_some()
        && was != now
    {
        let _ = write!(
            out,
            "Thanks, I've changed the ZIP code to {}. ",
            now.as_str()
        );
    }
    if let (Some(was), Some(now)) = (before.property_type, f.property_type)
        && latest.property_type.is_some()
        && was != now
    {
        let _ = write!(out, "Noted, a {} then. ", property_words(now));
    }
}

fn property_words(p: PropertyType) -> &'static str {
    match p {
        PropertyType::SingleFamily => "single-family house",
        PropertyType::MultiFamily => "2-4 family house",
        PropertyType::Townhouse => "townhouse",
        PropertyType::Condo => "condo",
        PropertyType::Coop => "co-op",
    }
}

/// Trims the reply and makes sure it is never the previous reply word for word.
fn finish(
    c: &Conversation,
    mut out: String,
    next_questions: Vec<String>,
    asked: Option<Ask>,
    greeted_place: Option<String>,
    topics: Vec<Topic>,
) -> Reply {
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if out.is_empty() {
        out.push_str(
            "Happy to help with anything else about solar for your home: costs, incentives, your roof or the next steps.",
        );
    }
    if c.last_reply_fingerprint != 0 && fingerprint(&out) == c.last_reply_fingerprint {
        out.insert_str(0, "To sum up what I said: ");
    }
    Reply {
        content: out,
        next_questions,
        asked,
        greeted_place,
        topics,
        told_borough: None,
        sized_watts: None,
        answered_questions: Vec::new(),
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
            buyers: &[],
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

    /// A chat through the same turn function the endpoint calls, from message text.
    fn chat(texts: &[&str]) -> Vec<Reply> {
        let start = t(2026, 12, 1);
        let mut c = Conversation::new(SessionId::parse("talk").expect("id"), start);
        let rules = crate::domain::turn::Rules {
            model: &ScoringModel::default(),
            targets: &crate::domain::targets::Targets::default(),
            buyers: &[],
        };
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let now = start + chrono::Duration::seconds(30 * i as i64);
                let d = crate::domain::turn::decide_text(
                    c.clone(),
                    text,
                    &ContextHints::default(),
                    rules,
                    now,
                );
                c = d.conversation;
                d.reply
            })
            .collect()
    }

    #[test]
    fn given_common_questions_when_replying_then_each_is_answered_before_at_most_one_question() {
        let texts = [
            "how much does solar cost?",
            "is it worth it?",
            "I'm worried it costs too much",
            "what about the roof, it's flat",
            "how long does installation take?",
            "will it work in winter?",
        ];
        let topics = [
            Topic::Cost,
            Topic::Payback,
            Topic::Cost,
            Topic::Roof,
            Topic::InstallTime,
            Topic::Winter,
        ];
        let replies = chat(&texts);
        for ((r, topic), text) in replies.iter().zip(topics).zip(texts) {
            assert!(r.topics.contains(&topic), "{text}: {:?}", r.topics);
            let entry = answers().topic(topic);
            let first_words: String = entry.again.chars().take(20).collect();
            let opening: String = entry.answer.chars().take(20).collect();
            // Or the knowledge base's answer to the very question, which covers the topic.
            let kb = knowledge();
            let specific = r.answered_questions.iter().any(|id| {
                kb.by_id(id).is_some_and(|i| {
                    kb.entry(i).covers == Some(topic) && r.content.contains(&kb.entry(i).a)
                })
            });
            assert!(
                specific || r.content.contains(&opening) || r.content.contains(&first_words),
                "{text}: {}",
                r.content
            );
            assert!(r.content.matches('?').count() <= 1, "{}", r.content);
        }
        for pair in replies.windows(2) {
            assert_ne!(pair[0].content, pair[1].content);
        }
    }

    #[test]
    fn given_a_fact_left_unanswered_when_asked_again_then_it_is_rephrased_and_then_left_for_later()
    {
        let replies = chat(&["I own a house in 11215", "hmm", "ok", "sure, whatever"]);
        let asked: Vec<Option<Ask>> = replies.iter().map(|r| r.asked).collect();
        let closing: Vec<&str> = replies
            .iter()
            .map(|r| r.next_questions.first().map_or("", String::as_str))
            .collect();
        for i in 1..replies.len() {
            assert_ne!(closing[i], closing[i - 1], "turn {i}: {closing:?}");
        }
        for w in asked.windows(3) {
            assert!(
                !(w[0].is_some() && w[0] == w[1] && w[1] == w[2]),
                "the same fact three turns in a row: {asked:?}"
            );
        }
        let rephrased = asked
            .windows(2)
            .zip(closing.windows(2))
            .any(|(a, q)| a[0] == a[1] && a[1].is_some_and(|ask| q[1] == ask.rephrased()));
        assert!(rephrased, "{asked:?} {closing:?}");
    }

    #[test]
    fn given_a_corrected_bill_when_replying_then_the_correction_is_acknowledged() {
        let replies = chat(&[
            "I own my house, bill is $200 a month",
            "sorry, I meant $400 a month",
        ]);
        assert!(
            replies[1].content.contains("updated your bill to $400"),
            "{}",
            replies[1].content
        );
    }

    #[test]
    fn given_a_renter_who_is_buying_when_replying_then_they_are_told_when_to_come_back() {
        let replies = chat(&["renting right now but we're buying a house next year"]);
        let r = &replies[0];
        assert!(r.content.contains("community solar"), "{}", r.content);
        assert!(
            r.content.contains(&answers().renters_buying),
            "{}",
            r.content
        );
        assert!(r.next_questions.is_empty());
    }

    #[test]
    fn given_incentive_questions_after_2025_then_only_dated_incentives_are_cited() {
        let replies = chat(&["what about the 30% tax credit?"]);
        let r = &replies[0];
        assert!(r.topics.contains(&Topic::Incentives));
        assert!(r.content.contains("ended"), "{}", r.content);
        assert!(
            !r.content.contains("qualifies for the 30% federal"),
            "{}",
            r.content
        );
    }
}
