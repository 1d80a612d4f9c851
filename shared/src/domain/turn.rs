//! One homeowner message through the rules: the whole decision of a turn as a pure
//! function of (conversation, message, hints, model, now). The conversation use case only
//! loads, publishes, saves and retries around it; the benchmark and the property tests
//! call this same function.

use super::agent::{self, Reply};
use super::buyer::{Buyer, who_may_call};
use super::conversation::{
    ConsentEvidence, ConsentWithdrawal, ContextHints, Conversation, SessionId, TrailPoint,
};
use super::erasure::{self, ContactErasure, ErasureRequester};
use super::extract::extract;
use super::facts::{Ask, MessageFacts};
use super::incentives;
use super::learning::conversation_rules::{ConversationRules, RulesSettings};
use super::metrics::{self, ConversationMetrics};
use super::scoring::{LeadScore, ScoringModel, score};
use super::targets::Targets;
use crate::contracts::{QueuedLead, lead_id_for};
use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;

/// How much of a homeowner's message is kept as consent (or withdrawal) evidence.
const EVIDENCE_WORDS_MAX: usize = 200;

/// What a turn is judged by: the scoring model in force, the business targets, and the
/// buyers (the consent question names those that could take the lead; none known: it
/// names nobody).
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub model: &'a ScoringModel,
    pub targets: &'a Targets,
    pub buyers: &'a [Buyer],
}

/// One homeowner message, as the frontend sent it and as the extractor read it.
pub struct Message<'a> {
    pub text: &'a str,
    pub facts: &'a MessageFacts,
    pub hints: &'a ContextHints,
}

/// Where the lead stands after this turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadStatus {
    /// Facts are still missing.
    NotReady,
    /// Known renter or outside NYC: never sold.
    NotSellable,
    /// Handed to the routing queue (on this turn or an earlier one).
    Queued { lead_id: String, at: DateTime<Utc> },
    /// Queued once, then the homeowner took consent back (or asked for their contact
    /// details to be erased): never sold.
    Withdrawn { lead_id: String, at: DateTime<Utc> },
}

/// Everything a turn decides. Nothing of it has happened yet: the caller publishes
/// `publish`, records `withdraw`, then saves `conversation`.
#[derive(Debug, Clone)]
pub struct TurnDecision {
    /// The state to save (its `version` is still the loaded one).
    pub conversation: Conversation,
    pub score: LeadScore,
    pub reply: Reply,
    pub metrics: ConversationMetrics,
    pub recommendations: Vec<String>,
    pub lead: LeadStatus,
    /// The lead to hand to the routing queue on this turn.
    pub publish: Option<QueuedLead>,
    /// A queued lead whose consent was taken back on this turn: (lead id, withdrawal).
    pub withdraw: Option<(String, ConsentWithdrawal)>,
    /// A lead (queued on this turn or before, withdrawn or not) whose record must note that
    /// the homeowner had their contact details erased on this turn: (lead id, erasure).
    pub erase: Option<(String, ContactErasure)>,
    /// The lead's record as the router left it (filled by the use case after the turn,
    /// for a lead queued on an earlier turn).
    pub routed: Option<crate::domain::lead::LeadRecord>,
    /// The session's token, on the turn that started the session only (set by the use
    /// case): the caller sends it with every later turn.
    pub session_token: Option<crate::domain::conversation::SessionToken>,
}

/// The state a session starts from when the server has none: earlier messages the
/// frontend sent along are read for their facts.
pub fn fresh_conversation(
    session_id: SessionId,
    history: &[String],
    now: DateTime<Utc>,
) -> Conversation {
    let mut c = Conversation::new(session_id, now);
    for earlier in history {
        c.absorb_history(&extract(earlier));
    }
    c
}

fn evidence_words(text: &str) -> String {
    text.chars().take(EVIDENCE_WORDS_MAX).collect()
}

/// Applies one message to `c` and decides the reply, the score and what happens to the lead.
pub fn decide(
    c: Conversation,
    message: &Message<'_>,
    rules: Rules<'_>,
    now: DateTime<Utc>,
) -> TurnDecision {
    decide_with(c, message, rules, &ConversationRules::default(), now)
}

/// [`decide`], with the learned conversation rules ordering the agent's questions.
pub fn decide_with(
    mut c: Conversation,
    message: &Message<'_>,
    rules: Rules<'_>,
    conversation_rules: &ConversationRules,
    now: DateTime<Utc>,
) -> TurnDecision {
    let model = rules.model;
    let facts = message.facts;
    let asked_before = c.last_ask;
    // The words the homeowner saw last turn: a "yes" answers that disclosure, and the
    // buyers it named.
    let shown_before = asked_before.map(|a| a.words(c.ask_streak, &c.consent_sellers));
    let named_before = c.consent_sellers.clone();
    let before = agent::Before::of(&c.facts);
    c.absorb(facts, message.hints, now);
    let (erase, erasure_words) = if facts.erase_request {
        let (lead, words) = erase_contact(&mut c, message.text, now);
        (lead, Some(words))
    } else {
        (None, None)
    };
    let s = score(model, &c, now);
    if c.lead_queued_at.is_none()
        && !s.sellable()
        && c.duration_seconds() > i64::from(rules.targets.max_conversation_seconds)
    {
        c.past_max_duration = true;
    }
    if c.consent.is_none() && c.lead_queued_at.is_none() {
        c.consent_sellers = who_may_call(
            rules.buyers,
            c.facts.zip_code.as_ref(),
            c.facts.borough,
            s.tier,
            c.facts.property_type,
            c.facts.monthly_bill,
        );
    }
    let reply = agent::reply_with_rules(model, conversation_rules, &c, facts, &before, &s, now);
    c.last_answered_objection = agent::answered_objection(&c, facts);
    c.ask_streak = match reply.asked {
        Some(a) if Some(a) == asked_before => c.ask_streak.saturating_add(1),
        Some(_) => 1,
        None => 0,
    };
    c.last_ask = reply.asked;
    if let Some(ask) = reply.asked
        && c.lead_queued_at.is_none()
    {
        c.record_ask(ask);
    }
    c.greeted_place.clone_from(&reply.greeted_place);
    for t in &reply.topics {
        c.topics_answered |= 1 << (*t as u32);
    }
    c.last_reply_fingerprint = agent::fingerprint(&reply.content);
    if let Some(b) = reply.told_borough {
        c.boroughs_told |= 1 << (b as u8);
    }
    if let Some(w) = reply.sized_watts {
        c.sized_watts = w;
    }
    for ask in &facts.held_back {
        c.held_back |= ask.bit();
    }
    if c.facts.contact.reachable() {
        c.held_back &= !(Ask::Contact.bit() | Ask::Consent.bit());
    }
    for id in &reply.answered_questions {
        c.answered_questions.retain(|said| said != id);
        if c.answered_questions.len() >= crate::domain::conversation::ANSWERED_KEPT {
            c.answered_questions.remove(0);
        }
        c.answered_questions.push(id.clone());
    }

    let mut withdraw = None;
    if c.facts.contact_consent == Some(true) && c.consent.is_none() {
        let answered_consent_question =
            asked_before == Some(Ask::Consent) && facts.answer == Some(true);
        let said_now = facts.contact_consent == Some(true) || answered_consent_question;
        c.consent = Some(ConsentEvidence {
            given_at: now,
            words: if said_now {
                evidence_words(message.text)
            } else {
                "(given earlier in the conversation history)".to_owned()
            },
            disclosure: answered_consent_question
                .then(|| shown_before.unwrap_or_else(|| Ask::Consent.question().to_owned())),
            sellers: if answered_consent_question {
                named_before
            } else {
                Vec::new()
            },
        });
    } else if c.facts.contact_consent == Some(false) {
        c.consent = None;
        if c.lead_queued_at.is_some() && c.consent_withdrawn.is_none() {
            let withdrawal = ConsentWithdrawal {
                at: now,
                // An erasure's words are kept with every contact detail masked.
                words: erasure_words.unwrap_or_else(|| evidence_words(message.text)),
            };
            let lead_id = c
                .lead_id
                .clone()
                .unwrap_or_else(|| lead_id_for(&c.session_id));
            c.consent_withdrawn = Some(withdrawal.clone());
            // The homeowner took consent back: their name, phone and email are erased
            // (the withdrawal keeps its time and words; the buyer holding the lead is told).
            c.facts.contact = Default::default();
            withdraw = Some((lead_id, withdrawal));
        }
    }
    c.record_trail(TrailPoint {
        turn: c.turns,
        at: now,
        score: s.total,
        revenue_potential: s.revenue_potential,
    });

    let mut publish = None;
    let lead = if let (Some(withdrawal), Some(_)) = (&c.consent_withdrawn, c.lead_queued_at) {
        LeadStatus::Withdrawn {
            lead_id: c
                .lead_id
                .clone()
                .unwrap_or_else(|| lead_id_for(&c.session_id)),
            at: withdrawal.at,
        }
    } else if let Some(at) = c.lead_queued_at {
        LeadStatus::Queued {
            lead_id: c
                .lead_id
                .clone()
                .unwrap_or_else(|| lead_id_for(&c.session_id)),
            at,
        }
    } else if s.sellable() {
        let lead_id = lead_id_for(&c.session_id);
        c.lead_id = Some(lead_id.clone());
        c.lead_queued_at = Some(now);
        publish = Some(queued_lead(&c, &s, &lead_id, now, 0));
        LeadStatus::Queued { lead_id, at: now }
    } else if s.blockers.iter().any(|b| b.is_final()) {
        LeadStatus::NotSellable
    } else {
        LeadStatus::NotReady
    };

    let today = now.with_timezone(&New_York).date_naive();
    let urgency = incentives::next_deadline(today).and_then(|(i, _, _)| i.urgency_text(today));
    // The advice learned to precede kept leads moves up (at most two places).
    let recommendations = conversation_rules.reorder_recommendations(
        metrics::recommendations(&c, &s, urgency.as_deref(), rules.targets),
        RulesSettings::default().max_recommendation_shift,
    );
    if c.lead_queued_at.is_none() || publish.is_some() {
        c.record_recommended(&recommendations);
    }
    let metrics = metrics::metrics(&c, &s);
    TurnDecision {
        conversation: c,
        score: s,
        reply,
        metrics,
        recommendations,
        lead,
        publish,
        withdraw,
        erase,
        routed: None,
        session_token: None,
    }
}

/// The homeowner asked for their data to be erased: their name, phone and email go (those
/// this very message gave too), and with them their consent to be contacted; the erasure
/// is recorded (when, on their request, which details), with the consent they had given
/// kept as proof (its time, its words masked, the disclosure). Returns the lead whose
/// record must note it, if one was queued, and the request's words, masked.
fn erase_contact(
    c: &mut Conversation,
    text: &str,
    now: DateTime<Utc>,
) -> (Option<(String, ContactErasure)>, String) {
    let held = std::mem::take(&mut c.facts.contact);
    let words = erasure::mask_contact(&evidence_words(text), &held);
    let earlier = c.contact_erased.take().and_then(|e| e.consent);
    let record = ContactErasure {
        at: now,
        requested_by: ErasureRequester::Homeowner,
        fields: erasure::held_fields(&held),
        consent: c
            .consent
            .take()
            .map(|e| erasure::kept_consent(e, &held))
            .or(earlier),
    };
    c.facts.contact_consent = Some(false);
    c.consent_sellers.clear();
    let lead = c.lead_queued_at.map(|_| {
        (
            c.lead_id
                .clone()
                .unwrap_or_else(|| lead_id_for(&c.session_id)),
            record.without_consent(),
        )
    });
    c.contact_erased = Some(record);
    (lead, words)
}

/// The queue message of the lead of conversation `c` as scored by `s`: its first routing
/// (`offer` 0, `queued_at` now) or its `offer`th re-offer (`queued_at` when it first
/// qualified, which its age is counted from).
pub fn queued_lead(
    c: &Conversation,
    s: &LeadScore,
    lead_id: &str,
    queued_at: DateTime<Utc>,
    offer: u32,
) -> QueuedLead {
    QueuedLead {
        schema: QueuedLead::SCHEMA,
        lead_id: lead_id.to_owned(),
        session_id: c.session_id.clone(),
        queued_at,
        score: s.total,
        tier: s.tier,
        revenue_potential: s.revenue_potential,
        conversion_probability: s.conversion_probability,
        model_version: s.model_version,
        facts: c.facts.clone(),
        consent: c.consent.clone(),
        withdrawn: None,
        factors: Some(s.factors),
        offer,
    }
}

/// Extracts the facts of `text` and decides the turn: the one-call form for callers that
/// hold no extracted facts yet.
pub fn decide_text(
    c: Conversation,
    text: &str,
    hints: &ContextHints,
    rules: Rules<'_>,
    now: DateTime<Utc>,
) -> TurnDecision {
    let facts = extract(text);
    decide(
        c,
        &Message {
            text,
            facts: &facts,
            hints,
        },
        rules,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 12, 15, 0, 0)
            .single()
            .expect("valid")
    }

    fn rules() -> Rules<'static> {
        static MODEL: std::sync::LazyLock<ScoringModel> =
            std::sync::LazyLock::new(ScoringModel::default);
        static TARGETS: std::sync::LazyLock<Targets> = std::sync::LazyLock::new(Targets::default);
        Rules {
            model: &MODEL,
            targets: &TARGETS,
            buyers: &[],
        }
    }

    fn chat(messages: &[&str]) -> Vec<TurnDecision> {
        let mut c = Conversation::new(SessionId::parse("turn_test").expect("id"), start());
        let mut out = Vec::new();
        for (i, text) in messages.iter().enumerate() {
            let now = start() + Duration::seconds(30 * i as i64);
            let d = decide_text(c, text, &ContextHints::default(), rules(), now);
            c = d.conversation.clone();
            out.push(d);
        }
        out
    }

    const QUALIFYING: [&str; 4] = [
        "I own a single-family house in Park Slope, ZIP 11215",
        "Our bill is about $300 a month and we want it installed within 3 months",
        "You can reach me at 718-555-0142",
        "Yes, please have an installer call me",
    ];

    #[test]
    fn given_a_chat_past_the_maximum_duration_then_only_what_a_sale_needs_is_asked() {
        // GIVEN a homeowner with ZIP and bill, no contact yet, 31 minutes into the chat
        let first = decide_text(
            Conversation::new(SessionId::parse("long_chat").expect("id"), start()),
            "I own a house in Park Slope 11215, bill about $250 a month",
            &ContextHints::default(),
            rules(),
            start(),
        );
        let early = &first.reply.next_questions;
        assert!(!first.conversation.past_max_duration);
        // WHEN the next message comes after MAX_CONVERSATION_DURATION (30 minutes)
        let late = decide_text(
            first.conversation.clone(),
            "ok",
            &ContextHints::default(),
            rules(),
            start() + Duration::minutes(31),
        );
        // THEN the chat is marked past its maximum and the agent asks only for what a
        // sale still needs: a way to reach them and consent, no more value questions
        assert!(late.conversation.past_max_duration);
        assert!(
            late.reply
                .asked
                .is_some_and(|a| matches!(a, Ask::Contact | Ask::Consent)),
            "{:?} (early: {early:?})",
            late.reply
        );
        for q in &late.reply.next_questions {
            for value_question in [Ask::Timeline, Ask::DecisionMaker, Ask::Financing] {
                assert_ne!(q, &value_question.words(1, &[]), "{q}");
            }
        }
        // AND a shorter maximum (configuration) marks it sooner
        let short = Targets {
            max_conversation_seconds: 60,
            ..Targets::default()
        };
        let d = decide_text(
            first.conversation.clone(),
            "ok",
            &ContextHints::default(),
            Rules {
                targets: &short,
                ..rules()
            },
            start() + Duration::minutes(2),
        );
        assert!(d.conversation.past_max_duration);
    }

    #[test]
    fn given_recommendations_shown_before_queueing_then_the_conversation_keeps_their_keys() {
        let turns = chat(&QUALIFYING);
        let shown: Vec<String> = turns
            .iter()
            .take(turns.len())
            .flat_map(|t| t.recommendations.iter().cloned())
            .collect();
        assert!(!shown.is_empty());
        let kept = &turns.last().expect("turns").conversation.recommended;
        assert!(!kept.is_empty());
        assert!(kept.len() <= crate::domain::conversation::RECOMMENDED_KEPT);
        for key in kept {
            assert!(key.chars().count() <= 40, "{key}");
            assert!(
                !key.chars().any(|c| c.is_ascii_digit()),
                "figures are masked: {key}"
            );
        }
        // AND learned rules move the favoured advice up
        let last = turns.last().expect("turns");
        let texts = last.recommendations.clone();
        assert!(texts.len() >= 2, "{texts:?}");
        {
            let favoured = texts.last().expect("two").clone();
            let rules_learned = ConversationRules {
                version: 1,
                recommendations: vec![
                    crate::domain::learning::conversation_rules::RecommendationBias {
                        text: crate::domain::learning::conversation_rules::recommendation_key(
                            &favoured,
                        ),
                        bias_bps: 2_500,
                        shown: 100,
                        succeeded: 80,
                    },
                ],
                ..ConversationRules::default()
            };
            let again = decide_with(
                turns[turns.len() - 2].conversation.clone(),
                &Message {
                    text: QUALIFYING[3],
                    facts: &extract(QUALIFYING[3]),
                    hints: &ContextHints::default(),
                },
                rules(),
                &rules_learned,
                start() + Duration::seconds(90),
            );
            let at = again
                .recommendations
                .iter()
                .position(|t| *t == favoured)
                .expect("still shown");
            assert!(
                at < texts.len() - 1,
                "moved up: {:?}",
                again.recommendations
            );
        }
    }

    #[test]
    fn given_a_lead_becoming_sellable_when_the_turn_is_decided_then_it_is_published_once() {
        // GIVEN a homeowner who qualifies on the last message
        let turns = chat(&QUALIFYING);
        // THEN only the turn that made it sellable publishes, with consent evidence
        let published: Vec<_> = turns.iter().filter_map(|t| t.publish.as_ref()).collect();
        assert_eq!(published.len(), 1, "published exactly once");
        let lead = published[0];
        assert_eq!(
            lead.consent.as_ref().map(|e| e.words.as_str()),
            Some(QUALIFYING[3])
        );
        let last = turns.last().expect("turns");
        assert!(matches!(last.lead, LeadStatus::Queued { .. }));
        assert_eq!(
            last.conversation.lead_id.as_deref(),
            Some(lead.lead_id.as_str())
        );
        // AND a further message does not publish again
        let again = decide_text(
            last.conversation.clone(),
            "thanks!",
            &ContextHints::default(),
            rules(),
            start() + Duration::minutes(10),
        );
        assert!(again.publish.is_none());
        assert!(matches!(again.lead, LeadStatus::Queued { .. }));
    }

    #[test]
    fn given_a_queued_lead_when_consent_is_taken_back_then_the_withdrawal_is_decided_once() {
        let turns = chat(&QUALIFYING);
        let queued = turns.last().expect("turns").conversation.clone();
        // WHEN the homeowner withdraws consent
        let at = start() + Duration::minutes(5);
        let words = "Actually no, do not share my details with anyone";
        let d = decide_text(queued.clone(), words, &ContextHints::default(), rules(), at);
        // THEN the lead is withdrawn, with the time and the words, and nothing is published
        let (lead_id, withdrawal) = d.withdraw.clone().expect("a withdrawal");
        assert_eq!(Some(lead_id.clone()), d.conversation.lead_id);
        assert_eq!(withdrawal.at, at);
        assert_eq!(withdrawal.words, words);
        assert_eq!(d.lead, LeadStatus::Withdrawn { lead_id, at });
        assert!(d.publish.is_none());
        assert!(d.conversation.consent.is_none());
        // AND the contact details the chat gathered are erased
        assert!(
            queued.facts.contact.phone.is_some(),
            "the chat gave a phone"
        );
        assert_eq!(d.conversation.facts.contact, Default::default());
        // AND a later "yes" neither republishes nor withdraws again: the lead stays withdrawn
        let later = decide_text(
            d.conversation,
            "yes, please have an installer call me",
            &ContextHints::default(),
            rules(),
            at + Duration::minutes(1),
        );
        assert!(later.publish.is_none());
        assert!(later.withdraw.is_none());
        assert!(matches!(later.lead, LeadStatus::Withdrawn { .. }));
        // AND the agent does not ask a homeowner who took consent back for a phone again
        let after = decide_text(
            later.conversation,
            "ok thanks",
            &ContextHints::default(),
            rules(),
            at + Duration::minutes(2),
        );
        let asked = after.reply.next_questions.join(" ") + &after.reply.content;
        assert!(
            !asked.contains("phone") && !asked.contains("reach you"),
            "{asked}"
        );
    }

    /// A reply a homeowner can read: non-empty, one or more complete sentences.
    fn complete_sentences(text: &str) -> bool {
        let t = text.trim();
        !t.is_empty() && t.chars().next().is_some_and(char::is_uppercase) && t.ends_with(['.', '!'])
    }

    fn asks_for_contact_or_consent(d: &TurnDecision) -> bool {
        matches!(d.reply.asked, Some(Ask::Contact | Ask::Consent))
            || d.reply.next_questions.iter().any(|q| {
                q == Ask::Contact.question()
                    || q == Ask::Contact.rephrased()
                    || q == Ask::Consent.question()
                    || q == Ask::Consent.rephrased()
            })
    }

    #[test]
    fn given_no_lead_queued_when_the_homeowner_asks_to_delete_their_data_then_contact_is_erased_and_never_asked_again()
     {
        // GIVEN a homeowner who gave a phone number and is being asked for consent
        let mut turns = chat(&QUALIFYING[..3]);
        let before = turns.pop().expect("turns");
        assert!(before.conversation.facts.contact.phone.is_some());
        assert_eq!(before.conversation.last_ask, Some(Ask::Consent));
        // WHEN they ask for their data to be deleted
        let at = start() + Duration::minutes(3);
        let d = decide_text(
            before.conversation,
            "please delete my data",
            &ContextHints::default(),
            rules(),
            at,
        );
        // THEN the contact details are erased, nothing is published or withdrawn
        assert_eq!(d.conversation.facts.contact, Default::default());
        assert!(d.publish.is_none());
        assert!(d.withdraw.is_none());
        assert!(d.erase.is_none(), "no lead to note it on");
        assert_eq!(d.lead, LeadStatus::NotReady);
        assert!(d.conversation.consent.is_none());
        // AND the erasure is recorded: when, on the homeowner's request, which details
        let erasure = d.conversation.contact_erased.clone().expect("recorded");
        assert_eq!(erasure.at, at);
        assert_eq!(
            erasure.requested_by,
            crate::domain::erasure::ErasureRequester::Homeowner
        );
        assert_eq!(
            erasure.fields,
            [crate::domain::erasure::ContactField::Phone]
        );
        let stored = serde_json::to_string(&d.conversation).expect("json");
        assert!(!stored.contains("555"), "no trace of the phone: {stored}");
        // AND the reply confirms it in plain words and asks nothing
        assert!(complete_sentences(&d.reply.content), "{}", d.reply.content);
        assert!(
            d.reply.content.contains("erased your phone number"),
            "{}",
            d.reply.content
        );
        assert!(d.reply.next_questions.is_empty());
        assert!(d.reply.asked.is_none());
        // AND later turns neither ask for contact details or consent nor queue on a "yes"
        let mut c = d.conversation;
        for (i, text) in ["ok", "yes", "how long does installation take?"]
            .iter()
            .enumerate()
        {
            let later = decide_text(
                c,
                text,
                &ContextHints::default(),
                rules(),
                at + Duration::minutes(1 + i as i64),
            );
            assert!(
                !asks_for_contact_or_consent(&later),
                "{text}: {:?}",
                later.reply
            );
            assert!(later.publish.is_none(), "{text}");
            assert!(
                complete_sentences(&later.reply.content),
                "{text}: {}",
                later.reply.content
            );
            c = later.conversation;
        }
        // AND details the homeowner volunteers again later are recorded again (a fresh
        // consent in their own words queues the lead), still without being asked for
        let back = decide_text(
            c,
            "Changed my mind: call me at 917-555-0199, an installer can call me",
            &ContextHints::default(),
            rules(),
            at + Duration::minutes(10),
        );
        assert_eq!(
            back.conversation.facts.contact.phone.as_deref(),
            Some("+19175550199")
        );
        assert!(back.publish.is_some(), "{:?}", back.lead);
        assert!(
            back.conversation.contact_erased.is_some(),
            "the erasure stays on record"
        );
    }

    #[test]
    fn given_a_queued_lead_when_the_homeowner_asks_to_erase_their_data_then_it_is_withdrawn_once_and_erased()
     {
        let turns = chat(&QUALIFYING);
        let queued = turns.last().expect("turns").conversation.clone();
        let lead_id = queued.lead_id.clone().expect("queued");
        let consent_words = queued.consent.clone().expect("consent").words;
        // WHEN the homeowner asks for their data to be erased, repeating their number
        let at = start() + Duration::minutes(5);
        let d = decide_text(
            queued,
            "Please erase my info, the number is 718-555-0142",
            &ContextHints::default(),
            rules(),
            at,
        );
        // THEN the lead is withdrawn like a consent withdrawal, with masked words
        let (withdrawn_id, withdrawal) = d.withdraw.clone().expect("withdrawn");
        assert_eq!(withdrawn_id, lead_id);
        assert_eq!(withdrawal.at, at);
        assert_eq!(
            withdrawal.words,
            "Please erase my info, the number is [phone]"
        );
        assert_eq!(
            d.lead,
            LeadStatus::Withdrawn {
                lead_id: lead_id.clone(),
                at
            }
        );
        assert!(d.publish.is_none());
        // AND the lead record is to note the erasure, without consent evidence or values
        let (noted_id, noted) = d.erase.clone().expect("noted on the lead");
        assert_eq!(noted_id, lead_id);
        assert_eq!(noted.at, at);
        assert!(noted.consent.is_none());
        // AND the conversation holds no contact details, the consent evidence only as proof
        assert_eq!(d.conversation.facts.contact, Default::default());
        assert!(d.conversation.consent.is_none());
        let erasure = d.conversation.contact_erased.clone().expect("recorded");
        let kept = erasure.consent.expect("consent evidence kept");
        assert_eq!(kept.words, consent_words);
        let stored = serde_json::to_string(&d.conversation).expect("json");
        assert!(!stored.contains("555"), "{stored}");
        // AND the reply confirms it and asks nothing
        assert!(complete_sentences(&d.reply.content), "{}", d.reply.content);
        assert!(d.reply.content.contains("erased"), "{}", d.reply.content);
        assert!(d.reply.next_questions.is_empty());
        // AND asked again, the lead is not withdrawn twice (the erasure is noted again)
        let again = decide_text(
            d.conversation,
            "delete my data",
            &ContextHints::default(),
            rules(),
            at + Duration::minutes(1),
        );
        assert!(again.withdraw.is_none());
        assert!(again.erase.is_some());
        assert!(matches!(again.lead, LeadStatus::Withdrawn { .. }));
        assert!(
            again
                .conversation
                .contact_erased
                .and_then(|e| e.consent)
                .is_some(),
            "the first consent evidence stays"
        );
    }

    #[test]
    fn given_a_queued_lead_when_the_homeowner_negates_or_asks_about_deletion_then_nothing_is_erased()
     {
        let turns = chat(&QUALIFYING);
        let queued = turns.last().expect("turns").conversation.clone();
        for (i, text) in [
            "don't delete my data",
            "will you delete my data if I ask?",
            "Can I have my info removed later?",
        ]
        .iter()
        .enumerate()
        {
            let d = decide_text(
                queued.clone(),
                text,
                &ContextHints::default(),
                rules(),
                start() + Duration::minutes(5 + i as i64),
            );
            assert!(d.withdraw.is_none(), "{text}");
            assert!(d.erase.is_none(), "{text}");
            assert!(d.conversation.contact_erased.is_none(), "{text}");
            assert_eq!(d.conversation.facts.contact, queued.facts.contact, "{text}");
            assert!(matches!(d.lead, LeadStatus::Queued { .. }), "{text}");
            if text.ends_with('?') {
                // The policy question is answered: how to have the details erased.
                assert!(
                    d.reply.content.contains("delete my data"),
                    "{text}: {}",
                    d.reply.content
                );
            }
        }
    }

    #[test]
    fn given_consent_refused_before_queueing_when_decided_then_nothing_is_withdrawn() {
        let turns = chat(&[
            "I own a house in Park Slope, ZIP 11215, bill is $300 a month",
            "no, don't have anyone contact me",
        ]);
        let last = turns.last().expect("turns");
        assert!(last.withdraw.is_none());
        assert!(last.publish.is_none());
        assert_eq!(last.lead, LeadStatus::NotReady);
    }

    #[test]
    fn given_an_answer_to_the_consent_question_when_decided_then_the_disclosure_is_kept() {
        let mut turns = chat(&QUALIFYING[..3]);
        let before = turns.pop().expect("turns");
        if before.conversation.last_ask == Some(Ask::Consent) {
            let d = decide_text(
                before.conversation,
                "yes",
                &ContextHints::default(),
                rules(),
                start() + Duration::minutes(3),
            );
            let evidence = d.conversation.consent.expect("consent");
            assert_eq!(evidence.words, "yes");
            assert_eq!(
                evidence.disclosure.as_deref(),
                Some(Ask::Consent.question())
            );
        } else {
            panic!(
                "the agent asks for consent once contact details are in: asked {:?}",
                before.conversation.last_ask
            );
        }
    }

    /// Five buyers: four serving Brooklyn (three of them would be named), one only Queens.
    fn buyers() -> Vec<Buyer> {
        use crate::domain::buyer::{BuyerId, BuyerTier, Hours, ServiceArea, WebhookSecret};
        use crate::domain::facts::Borough;
        use crate::domain::money::Cents;
        let buyer = |id: &str, name: &str, tier, boroughs: &[Borough]| Buyer {
            filters: Default::default(),
            pause: None,
            previous_secrets: Vec::new(),
            version: 0,
            id: BuyerId::parse(id).expect("id"),
            name: name.into(),
            tier,
            price_floor: Cents(5_000),
            price_cap: Cents(60_000),
            daily_cap: 10,
            monthly_spend_cap: None,
            area: ServiceArea {
                zips: Default::default(),
                boroughs: boroughs.iter().copied().collect(),
            },
            min_quality: crate::domain::scoring::QualityTier::Basic,
            hours: Hours::always(),
            webhook_url: "https://buyer.example/leads".into(),
            secret: WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("s"),
            return_window_days: 7,
            active: true,
            ping_post: None,
        };
        vec![
            buyer(
                "volume_co",
                "Volume Solar LLC",
                BuyerTier::Volume,
                &[Borough::Brooklyn],
            ),
            buyer(
                "queens_co",
                "Queens Only Inc.",
                BuyerTier::Premium,
                &[Borough::Queens],
            ),
            buyer(
                "premium_co",
                "Premium Roofs Corp.",
                BuyerTier::Premium,
                &[Borough::Brooklyn],
            ),
            buyer(
                "standard_co",
                "Standard Sun LLC",
                BuyerTier::Standard,
                &[Borough::Brooklyn],
            ),
            buyer(
                "direct_co",
                "Direct Power Inc.",
                BuyerTier::Direct,
                &[Borough::Brooklyn],
            ),
        ]
    }

    #[test]
    fn given_buyers_when_the_agent_asks_for_consent_then_it_names_who_may_call_and_the_yes_records_them()
     {
        // GIVEN buyers, four of which serve the homeowner's borough
        let buyers = buyers();
        let rules = Rules {
            buyers: &buyers,
            ..rules()
        };
        let mut c = Conversation::new(SessionId::parse("named").expect("id"), start());
        let mut last = None;
        for (i, text) in QUALIFYING[..3].iter().enumerate() {
            let now = start() + Duration::seconds(30 * i as i64);
            let d = decide_text(c, text, &ContextHints::default(), rules, now);
            c = d.conversation.clone();
            last = Some(d);
        }
        // WHEN the agent asks for consent
        let asked = last.expect("turns");
        assert_eq!(asked.conversation.last_ask, Some(Ask::Consent));
        // THEN it names the three best-paying buyers that serve the home, by legal name
        let question = &asked.reply.content;
        for name in [
            "Premium Roofs Corp.",
            "Direct Power Inc.",
            "Standard Sun LLC",
        ] {
            assert!(question.contains(name), "{question}");
        }
        assert!(!question.contains("Queens Only Inc."), "{question}");
        assert!(
            !question.contains("Volume Solar LLC"),
            "at most three: {question}"
        );
        // WHEN the homeowner says yes
        let d = decide_text(
            asked.conversation,
            "yes",
            &ContextHints::default(),
            rules,
            start() + Duration::minutes(3),
        );
        // THEN the consent records the names it answered, and the queued lead carries them
        let evidence = d.conversation.consent.clone().expect("consent");
        let named: Vec<&str> = evidence
            .sellers
            .iter()
            .map(|s| s.buyer_id.as_str())
            .collect();
        assert_eq!(named, ["premium_co", "direct_co", "standard_co"]);
        assert!(
            evidence
                .disclosure
                .as_deref()
                .is_some_and(|d| d.contains("Premium Roofs Corp.")),
            "{evidence:?}"
        );
        assert!(evidence.allows("direct_co") && !evidence.allows("volume_co"));
        let lead = d.publish.expect("queued");
        assert_eq!(lead.consent.expect("consent").sellers, evidence.sellers);
    }

    #[test]
    fn given_history_when_a_session_starts_fresh_then_its_facts_are_read() {
        let c = fresh_conversation(
            SessionId::parse("hist").expect("id"),
            &["I own my home in 11215".to_owned()],
            start(),
        );
        assert_eq!(c.facts.homeowner, Some(true));
        assert_eq!(c.turns, 0);
    }
}
