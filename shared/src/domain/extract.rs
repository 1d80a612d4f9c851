//! Fact extraction from one homeowner chat message: deterministic, table-driven, fast.
//!
//! # How it works
//!
//! 1. Only the first [`MAX_SCAN_BYTES`] of the message are looked at (cut on a character
//!    boundary). A chat message is a sentence or three; anything past 4 KiB is pasted
//!    noise and must not cost CPU on the hot path.
//! 2. The text is normalised **once**: lowercased, whitespace runs collapsed to one space
//!    (a run containing a line break becomes `\n`, which counts as a sentence end), curly
//!    apostrophes/quotes and Unicode dashes made ASCII. All patterns below are written
//!    for that form, so they use a literal space instead of `\s+`.
//! 3. Almost every phrase fact comes from **one** [`RegexSet`] pass ([`RULES`]): each rule
//!    is `(action, pattern)`. Per field, rules are listed in priority order and the first
//!    matching rule wins, which is how negations beat the plain phrase ("not a renter"
//!    is listed before "renter"). A few `*Veto` rules remove one candidate value without
//!    deciding the field ("not right away" vetoes `Immediate` but lets "next year" win).
//! 4. Positional facts (bill amounts, ZIP, phone, e-mail, name, install durations,
//!    question count, sentiment words) use a handful of small precompiled regexes and
//!    linear scans, each gated by a cheap check (a digit, an `@`, …).
//!
//! # Decisions worth knowing
//!
//! * **Bill amounts** count only with a `$`/currency word ("bucks", "dollars"), a period
//!   suffix ("a month", "/mo", "a year") or a bill word nearby (bill, electric, Con Ed,
//!   utility, pay, month…). Words for *other* money (quote, system, loan, rent, mortgage,
//!   savings, tax, credit score, ZIP…) that sit closer to the number than any bill word
//!   disqualify it. Numbers glued to units (kW, family, years, months, %, kids…), years
//!   (1900–2099 without `$`), 5+ digit bare numbers (ZIP-like), parts of phone numbers and
//!   e-mails, and bare numbers below $10 are never bills. A bare dollar amount of $10,000
//!   or more with no bill word and no period is taken to be a system price, not a bill.
//!   "1.2k" needs a bill word or period (a `$` alone is not enough); a bare number needs a
//!   bill word in its own clause ("I'm 45, bill is $275" is $275). Ranges ("180-220",
//!   "between 180 and 220") give the midpoint, "went from $150 to $300" the latter;
//!   yearly amounts ("a year", "annual", "/yr") are divided by 12 (rounded to the cent).
//!   When several amounts qualify, one next to a bill word beats a lone `$` amount, a
//!   written `$`/period beats a bare number, then the first mention wins ("$200 in winter
//!   and $450 in summer" is $200). Number words are supported for "two hundred (and) fifty", "a hundred",
//!   and tens ("fifty dollars"); colloquial "two fifty" is not. Other absurd amounts are
//!   returned as written — validation happens in the conversation layer.
//! * **Price questions are not objections**: "how much does it cost?" is a question; a
//!   Cost objection needs an evaluative statement ("too expensive", "can't afford",
//!   "worried about the cost", "it sounds expensive").
//! * **Objections**: per objection, the first matching rule decides Raise or Resolve;
//!   a message never both raises and resolves the same objection ("not too expensive"
//!   resolves Cost). Resolving an objection that was never raised is harmless.
//! * **Decision maker**: Influencer (someone else decides or must approve: parents own
//!   it, "have to convince my husband", co-op board approval, "not my decision") beats
//!   Joint (spouse/partner/co-owner decides with them) beats Sole ("my decision",
//!   "I make the decisions", sole owner).
//! * **Timeline**: an explicit duration ("in 2-3 months", "within 6 months", "in a year
//!   or two") wins over phrases; among phrases the most concrete wins (Immediate, then 3
//!   months … then "just researching"). Durations next to move/sell/roof/warranty/loan/
//!   payback words, or followed by "ago"/"old", are not install timelines. Seasons ("this
//!   spring") map to three months, "this year" to six months, "next year/next summer" to
//!   a year.
//! * **Credit scores**: 700+ is Strong, below 620 is Weak, 620–699 says nothing.
//! * **Sentiment**: word lexicon with negation (a negator within the previous three
//!   words of the same clause flips the sign: "not interested" is negative, "not bad" is
//!   positive), a few phrases ("waste of time", "can't wait") and emoji. `None` when the
//!   message has no sentiment-bearing word; `Some(Neutral)` when signals cancel out.
//! * **Name**: "my name is …"/"name: …" take one to three words in any case (title-cased
//!   when written all lowercase); "I'm …", "I am …", "this is …" (sentence start only) and
//!   "call me …" need capitalised words that are not on a stop-list ("I'm Interested").
//! * **Phone**: US numbers only, normalised to E.164 (`+1XXXXXXXXXX`); area code and
//!   exchange must start with 2-9; a number glued to more digits is rejected.
//! * **Contact consent**: refusals ("don't call", "no calls", "stop texting") win over
//!   agreement; a bare "yes" is left to the conversation layer. Giving a phone number is
//!   not, by itself, consent.
//! * **ZIP**: a standalone five-digit number (ZIP+4 allowed), not glued to other digits,
//!   not a money amount, not part of a phone number; one after "zip"/"live in"/"NY" is
//!   preferred over the first one found.

use super::facts::{
    CreditSignal, DecisionMaker, Financing, MessageFacts, Objection, PropertyType, Sentiment,
    TechnicalTopic, Timeline,
};
use super::market::market;
use super::money::Cents;
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::sync::LazyLock;

/// Only this many bytes of a message are read (cut back to a character boundary).
pub const MAX_SCAN_BYTES: usize = 4096;

/// Extracts the facts one homeowner message states. Never panics; linear in the first
/// [`MAX_SCAN_BYTES`] of `text`.
pub fn extract(text: &str) -> MessageFacts {
    let raw = truncate_to_boundary(text, MAX_SCAN_BYTES);
    let lower = normalize(raw);
    let mut facts = MessageFacts::default();
    if lower.is_empty() {
        return facts;
    }

    let phrase_sentiment = apply_rules(&lower, &mut facts);

    let has_digit = lower.bytes().any(|b| b.is_ascii_digit());
    let mut excluded: Vec<(usize, usize)> = Vec::new();
    if lower.contains('@')
        && let Some(m) = EMAIL_RE.find(&lower)
    {
        facts.email = Some(m.as_str().to_owned());
        excluded.push((m.start(), m.end()));
    }
    if has_digit {
        let (phone, spans) = find_phone(&lower);
        facts.phone = phone;
        excluded.extend(spans);
        facts.zip_code = find_zip(&lower, &excluded);
    }
    facts.monthly_bill = find_bill(&lower, &excluded, has_digit);
    if let Some(t) = find_duration_timeline(&lower) {
        facts.timeline = Some(t);
    }
    facts.questions_asked = count_questions(&lower);
    facts.sentiment = sentiment(&lower, phrase_sentiment);
    facts.name = find_name(raw);
    facts.place = market().find_place(&lower);
    facts.answer = bare_answer(&lower);
    facts
}

/// "yes", "sure thing", "nope", "no, not really": a short reply that opens with a yes or a
/// no. Longer messages carry their own facts and are not read as a bare answer.
fn bare_answer(lower: &str) -> Option<bool> {
    const YES: &[&str] = &[
        "yes",
        "yeah",
        "yep",
        "yup",
        "sure",
        "of course",
        "correct",
        "absolutely",
        "definitely",
        "i do",
        "we do",
        "that's right",
        "yes please",
        "certainly",
    ];
    const NO: &[&str] = &[
        "no",
        "nope",
        "nah",
        "not really",
        "i don't",
        "we don't",
        "no thanks",
        "not yet",
    ];
    if lower.chars().count() > 40 {
        return None;
    }
    // "Absolutely not", "I do not", "of course not": a yes-word that is negated is a no;
    // "no problem" is a yes.
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    if words
        .iter()
        .any(|w| matches!(*w, "not" | "don't" | "dont" | "never" | "nope" | "nah"))
    {
        return Some(false);
    }
    if lower.starts_with("no problem") || lower.starts_with("no worries") {
        return Some(true);
    }
    let opening = |words: &[&str]| {
        words.iter().any(|w| {
            lower.strip_prefix(w).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with(|c: char| !c.is_alphanumeric() && c != '\'')
            })
        })
    };
    match (opening(YES), opening(NO)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------

fn truncate_to_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Lowercase, collapse whitespace (`\n` kept as a sentence break), ASCII-fy apostrophes,
/// quotes and dashes.
fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    let mut pending: Option<char> = None;
    for c in raw.chars() {
        if c.is_whitespace() {
            let sep = if c == '\n' || c == '\r' { '\n' } else { ' ' };
            pending = match pending {
                Some('\n') => Some('\n'),
                _ => Some(sep),
            };
            continue;
        }
        if let Some(p) = pending.take()
            && !out.is_empty()
        {
            out.push(p);
        }
        match c {
            '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}' => out.push('\''),
            '\u{201C}' | '\u{201D}' => out.push('"'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// `s[start..end]` widened/narrowed to character boundaries, never panicking.
fn slice_clamped(s: &str, start: usize, end: usize) -> &str {
    let mut st = start.min(s.len());
    while st < s.len() && !s.is_char_boundary(st) {
        st += 1;
    }
    let mut en = end.min(s.len()).max(st);
    while en > st && !s.is_char_boundary(en) {
        en -= 1;
    }
    &s[st..en]
}

// ---------------------------------------------------------------------------------------
// Phrase rules (one RegexSet pass)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjAct {
    Raise,
    Resolve,
    /// Decides the objection as "not mentioned" (e.g. "move forward" is not moving).
    Block,
}

#[derive(Debug, Clone, Copy)]
enum Act {
    /// `None` decides the field as unknown (e.g. "my parents own it").
    Home(Option<bool>),
    Prop(PropertyType),
    Time(Timeline),
    TimeVeto(Timeline),
    Decide(DecisionMaker),
    Fin(Financing),
    FinVeto(Financing),
    Credit(CreditSignal),
    /// `None` decides the field as unknown ("can I get a quote?" asks *us* for one).
    Quotes(Option<bool>),
    Topic(TechnicalTopic),
    Obj(Objection, ObjAct),
    Ack(bool),
    Consent(bool),
    /// Phrase-level sentiment points, added to the word lexicon's score.
    Sent(i8),
}

use Act::{
    Ack, Consent, Credit, Decide, Fin, FinVeto, Home, Obj, Prop, Quotes, Sent, Time, TimeVeto,
    Topic,
};
use ObjAct::{Block, Raise, Resolve};
use Objection::{Aesthetics, Cost, Moving, Roof, Trust};

/// Phrase rules over the normalised text (lowercase, single spaces, ASCII apostrophes).
/// Per field, earlier rules win. Patterns are compiled with Unicode off (ASCII `\b`).
static RULES: &[(Act, &str)] = &[
    // ---- homeowner -------------------------------------------------------------------
    (Home(Some(true)), r"\bnot (?:a |the )?(?:renter|tenant)s?\b"),
    (
        Home(Some(true)),
        r"\b(?:don'?t|do not|dont|no longer|never) rent\b",
    ),
    (Home(Some(true)), r"\b(?:not|no longer|stopped) renting\b"),
    (
        Home(Some(true)),
        r"\brent(?:ing|s)? (?:it |them |(?:the|our|my|a) [a-z]+ (?:[a-z]+ )?)?out\b",
    ),
    (Home(Some(true)), r"\b(?:my|our) (?:tenants?|renters?)\b"),
    (
        Home(Some(true)),
        r"\b(?:have|has|got) (?:a |two |\d )?(?:tenants?|renters?)\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i'?m|i am|we'?re|we are) (?:the|a) landlord\b",
    ),
    (
        Home(None),
        r"\b(?:my|our) (?:parents?|mom|mother|dad|father|in-laws|grandparents?|grandma|grandpa|family|brother|sister|son|daughter|aunt|uncle) (?:owns?|is the owner|are the owners)\b",
    ),
    (
        Home(Some(false)),
        r"\b(?:i|we) (?:don'?t|do not|dont|didn'?t) own\b",
    ),
    (
        Home(Some(false)),
        r"\b(?:don'?t|do not|dont) own (?:a|the|my|our|this|it|any)\b",
    ),
    (
        Home(Some(false)),
        r"\bnot (?:a |the )?(?:home ?owner|owner|property owner)s?\b",
    ),
    (
        Home(Some(false)),
        r"\b(?:i|we|i'?m|we'?re|im|i am|we are|currently|still|just) (?:currently |still |just |also )?rent(?:ing)?\b",
    ),
    (
        Home(Some(false)),
        r"\b(?:renter|renters|tenant|tenants|renting)\b",
    ),
    (Home(Some(false)), r"\b(?:my|our|the) landlord\b"),
    (
        Home(Some(false)),
        r"\b(?:apartment|place|unit|room) (?:i|we) rent\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i|we) (?:also |already |both |do |actually |currently |jointly |fully )?own\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i'?m|i am|we'?re|we are) (?:the |a )?(?:home ?owners?|owners?|property owners?|co-?owners?)\b",
    ),
    (
        Home(Some(true)),
        r"\bhome ?owners?\b|\bowner[- ]occupied\b|\bco-?owners?\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i|we) (?:just |recently |finally )?(?:bought|purchased|closed on)\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:my|our) mortgage\b|\bpaid off (?:the|my|our) (?:house|home|mortgage)\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:my|our) (?:own )?(?:house|brownstone|townhouse|townhome|row ?house|limestone|property|two ?-?family|2 ?-?family|three ?-?family|3 ?-?family|duplex)\b",
    ),
    // ---- property type ---------------------------------------------------------------
    (Prop(PropertyType::Condo), r"\bcondo(?:minium)?s?\b"),
    (
        Prop(PropertyType::Coop),
        r"\b(?:co-?op|co op|cooperative)s?\b",
    ),
    (
        Prop(PropertyType::MultiFamily),
        r"\b(?:2|3|4|two|three|four) ?-?(?:family|fam|unit|units)\b",
    ),
    (
        Prop(PropertyType::MultiFamily),
        r"\b(?:duplex|triplex|fourplex|quadplex|multi ?-?family|multi ?-?unit|multifamily)\b",
    ),
    (
        Prop(PropertyType::Townhouse),
        r"\b(?:town ?-?houses?|town ?-?homes?|brownstones?|row ?-?houses?|row ?-?homes?|limestones?|attached (?:house|home)|semi ?-?detached)\b",
    ),
    (
        Prop(PropertyType::SingleFamily),
        r"\b(?:single|one|1) ?-?family\b",
    ),
    (
        Prop(PropertyType::SingleFamily),
        r"\b(?:detached|stand ?-?alone|free ?-?standing) (?:house|home)\b|\bdetached\b",
    ),
    // Weak: "house" alone, only when nothing more specific was said.
    (Prop(PropertyType::SingleFamily), r"\bhouse\b"),
    // ---- timeline (phrases; explicit durations are handled by DURATION_RE) -------------
    (
        TimeVeto(Timeline::Immediate),
        r"\bnot (?:right away|immediately|asap|right now|this month|ready|in a (?:rush|hurry)|urgent)\b|\bno (?:rush|hurry)\b",
    ),
    (
        TimeVeto(Timeline::Immediate),
        r"(?:\b(?:bill|bills|paid|pay|spent|usage|used)\b|\$ ?[0-9])[a-z0-9$., '-]{0,40}\bthis month\b|\bthis month'?s (?:bill|electric|usage)\b",
    ),
    (
        TimeVeto(Timeline::WithinSixMonths),
        r"(?:\b(?:bill|bills|paid|pay|spent|usage|used|rates?|prices?)\b|\$ ?[0-9])[a-z0-9$., '-]{0,40}\bthis year\b|\bthis year'?s (?:bill|electric|usage)\b",
    ),
    (
        TimeVeto(Timeline::WithinThreeMonths),
        r"(?:\b(?:bill|bills|paid|pay|spent|usage|used|went up|higher|hot|ac)\b|\$ ?[0-9])[a-z0-9$., '-]{0,40}\b(?:this|in the|last|every) (?:spring|summer|fall|autumn|winter)\b|\b(?:spring|summer|fall|autumn|winter) (?:bills?|months?)\b",
    ),
    (
        TimeVeto(Timeline::WithinThreeMonths),
        r"\b(?:talk|speak|see you|hear from you|chat|reply|respond|get back to you|call you|back to me) soon\b|\bnot (?:any ?time )?soon\b",
    ),
    (
        Time(Timeline::Immediate),
        r"\b(?:asap|as soon as possible|right away|immediately|this month|this week|next week|this weekend|ready now|ready to (?:go|start|move forward|sign|buy|get started|do it)|the sooner the better|sooner rather than later|urgent(?:ly)?|by the end of the month)\b",
    ),
    (
        Time(Timeline::WithinThreeMonths),
        r"\b(?:next (?:few|couple(?: of)?) months|next month|(?:this|by|by the|before|before the|in the) (?:spring|summer|fall|autumn|winter)|soon|pretty soon|shortly|this quarter|next quarter)\b",
    ),
    (
        Time(Timeline::WithinSixMonths),
        r"\b(?:this year|later this year|(?:by|before) (?:the )?end of (?:the |this )?year|by year'?s? end|half a year|in the (?:second|latter) half of the year)\b",
    ),
    (
        Time(Timeline::WithinYear),
        r"\b(?:next year|within (?:a|one|the) year|within the next year|in the next year|next (?:spring|summer|fall|autumn|winter)|in the new year|by next (?:year|spring|summer|fall|winter))\b",
    ),
    (
        Time(Timeline::MoreThanYear),
        r"\b(?:years from now|someday|some day|eventually|down the road|long ?-?term plan|not (?:any ?time )?soon|not for a while|in the (?:distant |far )?future)\b",
    ),
    (
        Time(Timeline::JustResearching),
        r"\b(?:just (?:looking|researching|browsing|curious|wondering|exploring|checking|asking|getting (?:some )?info(?:rmation)?|want(?:ed|ing)? (?:to know|info|information|some info|to learn|to see))|(?:gathering|collecting|getting) (?:some )?info(?:rmation)?|doing (?:some |my )?research|researching|not sure yet|exploring (?:my |our |the )?options|early stages?|no (?:set )?timeline|no (?:plans|timeline) yet|not ready)\b",
    ),
    // ---- decision maker: Influencer > Joint > Sole -------------------------------------
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:my|our) (?:parents?|mom|mother|dad|father|in-laws|grandparents?|grandma|grandpa|family|landlord|brother|sister|son|daughter|aunt|uncle) (?:owns?|decides?|makes? the decisions?|has the final say|is the owner|are the owners)\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:it'?s|its|it is|the house is|house is|home is|property is|the home is) (?:in )?my (?:parents'?|mom'?s|mother'?s|dad'?s|father'?s|grandparents'?|family'?s|husband'?s|wife'?s) (?:house|home|name|property|place)\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:have|need|needs|got|going) to (?:convince|persuade|talk|get buy-?in from|get approval from|get permission from|ask permission from) (?:my|our|the)\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:need|have) to (?:ask|check with|get it past|run it by) (?:my|our) (?:parents?|mom|mother|dad|father|landlord|in-laws|board|co-?op board)\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\bboard approval\b|\bapproval from (?:the|our|my) (?:co-?op |condo )?board\b|\b(?:hoa|board) (?:has|have|would have|needs) to (?:approve|sign off)\b|\b(?:need|needs) (?:the )?board\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\bnot (?:my|the) (?:decision|call|choice)\b|\bnot the decision ?-?maker\b|\bnot up to me\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:my|the) (?:husband|wife|spouse|partner) (?:decides|makes (?:the|all the|those) decisions|has the final say|handles (?:that|this|those|the money|finances)|is the decision ?-?maker)\b|\bup to my (?:husband|wife|spouse|partner|parents?|mom|dad|landlord|family|board)\b",
    ),
    (
        Decide(DecisionMaker::Joint),
        r"\b(?:my|our) (?:wife|husband|spouse|partner|fiancee?|boyfriend|girlfriend) and (?:i|me)\b|\b(?:me|i) and my (?:wife|husband|spouse|partner|fiancee?|boyfriend|girlfriend)\b",
    ),
    (
        Decide(DecisionMaker::Joint),
        r"\b(?:discuss|talk|check|consult|decide|go over|run it by|speak|think it over)(?: (?:it|this|that|things))?(?: over)? (?:with|by) (?:my|our) (?:wife|husband|spouse|partner|co-?owner|fiancee?|boyfriend|girlfriend|family)\b",
    ),
    (
        Decide(DecisionMaker::Joint),
        r"\b(?:we|we'?ll|we will|we would|we'?d|we both) (?:both )?(?:decide|make (?:the|this|that) decision|make decisions)(?: together)?\b|\b(?:decide|decision|deciding) together\b|\bjoint(?:ly)? (?:decision|decide|own|owned|owners?)\b|\bco-?own(?:ers?|ed)?\b|\bwe both own\b|\bboth on the (?:deed|title)\b",
    ),
    (
        Decide(DecisionMaker::Sole),
        r"\b(?:it'?s|its|it is) (?:all |ultimately )?my (?:decision|call|choice)\b|\bmy (?:decision|call) alone\b|\bi (?:make|'?ll make|will make) (?:the|all the|all) decisions?\b|\bi (?:decide|make the call)\b|\b(?:i'?m|i am) the (?:sole |only )?decision ?-?maker\b|\b(?:sole|only|single) (?:owner|decision ?-?maker)\b|\bi own it (?:myself|alone|by myself|outright)\b|\bup to me\b|\bmy decision\b|\bi live alone\b|\bdon'?t need (?:anyone'?s|anybody'?s) (?:approval|permission)\b",
    ),
    // ---- financing: vetoes first, then Undecided > Cash > Loan > Lease/PPA --------------
    (
        FinVeto(Financing::LeaseOrPpa),
        r"\b(?:no|not|don'?t want|do not want|not interested in|never|avoid|hate|against)(?: a| an| to| any)? (?:solar )?(?:lease|leasing|ppa)s?\b|\b(?:my|our|apartment|rental) lease\b|\blease (?:is up|ends|expires|renewal)\b",
    ),
    (
        FinVeto(Financing::Loan),
        r"\b(?:no|not|don'?t want|do not want|not interested in|never|avoid|hate|against|without)(?: a| an| to| any| taking on| taking out| more)? (?:solar )?(?:loans?|debt|financing|finance it)\b",
    ),
    (
        FinVeto(Financing::Cash),
        r"\b(?:don'?t|do not|can'?t|cannot|won'?t) (?:have (?:the |that kind of |enough )?(?:cash|money)|pay (?:cash|upfront|up front|outright|in full))\b|\bno cash\b",
    ),
    (
        Fin(Financing::Undecided),
        r"\b(?:not sure|unsure|don'?t know|no idea|undecided|haven'?t decided|figuring out) (?:yet )?(?:about |on )?(?:how (?:to|i'?d|we'?d|i would|we would|i'?ll|we'?ll|i will|we will|i should|we should) (?:pay|finance|fund)|(?:the )?(?:financing|payment))\b|\b(?:financing|payment) options\b|\b(?:cash|buy|buying|loan|finance|financing|lease|leasing) (?:or|vs\.?|versus) (?:cash|buy|buying|loan|finance|financing|lease|leasing|ppa)\b",
    ),
    (
        Fin(Financing::Cash),
        r"\b(?:pay(?:ing)?|paid|buy(?:ing)?|purchas(?:e|ing)) (?:it |them |for it |for them |for everything |the (?:system|panels) |in )?(?:cash|outright|upfront|up front|up-front|in full|out of pocket)\b|\b(?:cash|out of pocket|outright purchase|cash purchase)\b|\b(?:use|using|from) (?:my |our )?savings\b|\bhave the (?:cash|money) (?:for it|ready|saved|set aside)\b",
    ),
    (
        Fin(Financing::Loan),
        r"\bloans?\b|\bfinanc(?:e|ed|ing)\b|\bheloc\b|\bhome equity (?:loan|line)\b|\bborrow(?:ing)?\b|\bmonthly payments?\b",
    ),
    (
        Fin(Financing::LeaseOrPpa),
        r"\bleas(?:e|ing)\b|\bppa\b|\bpower purchase(?: agreement)?\b|(?:\$0|\b0 dollars|\bzero|\bno money|\bnothing|\bno) (?:down|upfront|up front|out of pocket)\b|\bno upfront (?:cost|costs|payment)\b",
    ),
    // ---- credit ------------------------------------------------------------------------
    (
        Credit(CreditSignal::Strong),
        r"\bcredit (?:score )?(?:isn'?t|is not|isnt|'s not) (?:bad|poor|terrible|low|an issue|a problem)\b|\bnot (?:bad|poor) credit\b",
    ),
    (
        Credit(CreditSignal::Weak),
        r"\bcredit (?:score )?(?:isn'?t|is not|isnt|'s not) (?:great|good|the best|excellent|strong|high)\b|\b(?:not (?:great|good|the best)|less than (?:perfect|stellar)|so-?so|fair|average) credit\b|\b(?:don'?t|do not) have (?:good|great|the best) credit\b",
    ),
    (
        Credit(CreditSignal::Strong),
        r"\b(?:excellent|great|good|strong|very good|perfect|solid|stellar|high|amazing) credit\b|\bcredit (?:score )?(?:is|'s) (?:excellent|great|good|strong|very good|perfect|solid|stellar|high)\b|\bpre-?approved\b",
    ),
    (
        Credit(CreditSignal::Strong),
        r"\bscore (?:is |of |around |about |is about |is around |is like |~)?(?:7[0-9][0-9]|8[0-5][0-9])\b|\b(?:7[0-9][0-9]|8[0-5][0-9]) (?:credit|fico)\b",
    ),
    (
        Credit(CreditSignal::Strong),
        r"\b(?:lots of|plenty of|a lot of|significant|tons of|high) (?:home )?equity\b|\bno mortgage\b|\bmortgage is paid off\b|\bpaid off (?:the|my|our) (?:mortgage|house|home)\b",
    ),
    (
        Credit(CreditSignal::Weak),
        r"\b(?:bad|poor|terrible|low|horrible|awful|damaged|bruised|rough|shaky|limited|no) credit\b|\bcredit (?:score )?(?:is|'s) (?:bad|poor|terrible|low|shot|awful)\b|\bbankrupt(?:cy|cies)?\b|\bforeclosure\b|\bin collections\b",
    ),
    (
        Credit(CreditSignal::Weak),
        r"\bscore (?:is |of |around |about |is about |is around |is like |~)?(?:[3-5][0-9][0-9]|6[01][0-9])\b|\b(?:[3-5][0-9][0-9]|6[01][0-9]) (?:credit|fico)\b",
    ),
    (
        Credit(CreditSignal::Weak),
        r"\b(?:can'?t|couldn'?t|cannot|could not|won'?t|didn'?t) (?:get|qualify for) (?:approved|financing|a loan|credit|financed)\b|\b(?:denied|rejected|turned down) (?:for )?(?:a |the )?(?:loan|financing|credit)\b",
    ),
    // ---- competing quotes ----------------------------------------------------------------
    (
        Quotes(Some(false)),
        r"\b(?:haven'?t|have not|havent|didn'?t|did not|never) (?:yet )?(?:talked|spoken|spoke|reached out|contacted|gotten|got|received|asked for|requested|looked at|met with|called) (?:to |with |for )?(?:any(?:one| one| other| others)?|other|another|quotes|any quotes|other (?:installers|companies))\b",
    ),
    (
        Quotes(Some(false)),
        r"\bno (?:other )?(?:quotes?|estimates?|bids?)(?: yet)?\b|\b(?:my|the) first (?:quote|installer|company)\b|\byou'?re (?:the|my) first\b|\b(?:only|just) (?:talking|talked|speaking) (?:to|with) you\b|\bnot (?:shopping around|comparing)\b",
    ),
    (
        Quotes(None),
        r"\b(?:can|could|may|how do|how can|want to|wanna|would like to|i'?d like to|like to|looking to|hoping to|trying to|interested in|to) (?:i |we |you )?(?:get|have|getting|receive|request) (?:a |an |my |some |free )?(?:free )?(?:quote|estimate)s?\b",
    ),
    (
        Quotes(Some(true)),
        r"\b(?:got|have|had|received|gotten|getting|collected|compared) (?:a |an |one |two |three |[0-9] |some |several |a few |a couple(?: of)? |multiple |other |another |few |couple of )?(?:other |more |different |competing |solar )?(?:quotes?|estimates?|bids?|proposals?)\b",
    ),
    (
        Quotes(Some(true)),
        r"\b(?:got|have|had|received|gotten)(?: [a-z0-9$,.]+){0,4} (?:quotes?|estimates?|proposals?|bids?)\b|\b(?:quote|estimate|proposal|bid)s? (?:for|of|was|is|came in at) (?:about |around |like |over |under )?(?:\$|[0-9])",
    ),
    (
        Quotes(Some(true)),
        r"\bquoted\b|\b(?:quote|estimate|proposal|bid) from\b|\bcompar(?:e|ing) (?:quotes|installers|offers|companies|prices|estimates|bids)\b|\bshop(?:ping)? around\b",
    ),
    (
        Quotes(Some(true)),
        r"\b(?:talked|spoke|spoken|talking|speaking|met|meeting|working) (?:to|with) (?:another|other|a few|several|some|a couple(?: of)?|two|three|[0-9]|a different) (?:other )?(?:installers?|compan(?:y|ies)|contractors?|solar compan(?:y|ies)|providers?)\b",
    ),
    // ---- technical topics ----------------------------------------------------------------
    (
        Topic(TechnicalTopic::Inverters),
        r"\b(?:micro ?-?)?inverters?\b|\boptimi[sz]ers?\b|\benphase\b|\bsolar ?edge\b",
    ),
    (
        Topic(TechnicalTopic::Production),
        r"(?:\b|[0-9])kwh?s?\b|\bkilowatt|\bmegawatt|\bwatts?\b|\bhow much (?:power|energy|electricity)\b|\bproduc(?:e|es|tion|ing)\b|\boutput\b|\bsystem size\b|\bsize (?:of )?the system\b|\bhow (?:big|large|many panels)\b|\bgenerat(?:e|es|ion|ing)\b|\boffset\b",
    ),
    (
        Topic(TechnicalTopic::NetMetering),
        r"\bnet ?-?meter(?:ing|ed)?\b|\bsell(?:ing)? (?:it |the (?:extra|excess) |(?:extra |excess )?(?:power|energy|electricity) )?back\b|\bcredits? on (?:my|the|our) bill\b|\bbill credits?\b|\bvder\b|\bvalue stack\b|\bexport(?:s|ed|ing)?\b|\bexcess (?:power|energy|electricity|production)\b|\bfeed ?-?in\b|\bgrid\b",
    ),
    (
        Topic(TechnicalTopic::Batteries),
        r"\bbatter(?:y|ies)\b|\bpower ?wall\b|\bstorage\b|\bbackup\b|\bback-up\b|\bblackouts?\b|\boutages?\b|\boff ?-?grid\b",
    ),
    (
        Topic(TechnicalTopic::Warranties),
        r"\bwarrant(?:y|ies|ied)\b|\bguarantee[sd]?\b|\bdegrad(?:e|es|ation)\b|\bhow long (?:do|does|will|would) (?:they|the panels|panels|it|the system|solar panels) last\b|\blife ?span\b",
    ),
    (
        Topic(TechnicalTopic::Panels),
        r"\bpanel efficiency\b|\befficiency of (?:the )?panels\b|\bhow efficient\b|\befficient panels\b|\bmono ?-?crystalline\b|\bpoly ?-?crystalline\b|\b(?:brand|brands|type|kind|make) of (?:solar )?panels?\b|\b(?:what|which) (?:solar )?panels?\b|\bpanel (?:brand|type|model|quality)s?\b|\btier ?-?(?:1|one)\b|\brec\b|\bq ?-?cells?\b|\bhanwha\b|\blg (?:solar|panels?)\b|\bbifacial\b|\bpanel wattage\b|\bjinko\b|\blongi\b|\bcanadian solar\b|\bsilfab\b|\bmaxeon\b|\ball ?-?black panels\b",
    ),
    (
        Topic(TechnicalTopic::Permits),
        r"\bpermit(?:s|ting)?\b|\bfdny\b|\bsetbacks?\b|\blandmark(?:s|ed)?\b|\bdob\b|\bdepartment of buildings\b|\binterconnect(?:ion)?\b|\bboard approval\b|\b(?:co-?op|condo) board\b|\bzoning\b|\binspections?\b|\blpc\b|\bfire code\b",
    ),
    (
        Topic(TechnicalTopic::Maintenance),
        r"\bmaint(?:enance|ain|aining|ained)\b|\bcleaning\b|\bclean (?:the |them|panels)\b|\bsnow\b|\bupkeep\b|\bpigeons?\b",
    ),
    // ---- objections: per objection, the first matching rule decides --------------------
    // Cost
    (
        Obj(Cost, Resolve),
        r"\b(?:the )?(?:cost|price|money|budget|affordability|upfront cost)s? (?:is|was|are)(?:n'?t| not| no longer) (?:really |much of |that much of |that big of |that big |even )?(?:an? |the )?(?:issue|problem|concern|worry|factor|obstacle|big deal)\b",
    ),
    (
        Obj(Cost, Resolve),
        r"\b(?:makes?|made) (?:the )?(?:cost|price|numbers|math|finances|it) (?:work|affordable|doable|manageable)\b|\b(?:i|we) can (?:afford|swing|handle) (?:it|that|this|the cost|the payments?)\b|\bnot (?:too|that|so) (?:expensive|pricey|costly)\b|\b(?:that'?s|that is|it'?s|it is) (?:actually |pretty |very )?(?:affordable|reasonable|doable|manageable|a good price|cheaper than i thought)\b|\b(?:money|cost|price) (?:is|'s) (?:fine|ok|okay|no object)\b|\bmoney is no object\b",
    ),
    (
        Obj(Cost, Raise),
        r"\btoo (?:expensive|pricey|costly|much money)\b|\b(?:is|seems|sounds|looks|are|'s|so|very|really|pretty|way|quite|kinda|kind of) (?:too |so |really |very |pretty |way |a bit |kind of )?(?:expensive|pricey|costly|unaffordable)\b",
    ),
    (
        Obj(Cost, Raise),
        r"\b(?:can'?t|cannot|can not|couldn'?t|could not|won'?t be able to|not able to) (?:really )?(?:afford|swing|justify the cost|pay for)\b|\bout of (?:my|our) (?:budget|price range)\b|\bover (?:my|our) budget\b|\bnot worth (?:it|the money|the cost|the investment)\b|\btight budget\b|\bon a budget\b|\bfixed income\b",
    ),
    (
        Obj(Cost, Raise),
        r"\b(?:the )?(?:cost|price|upfront cost|up ?-?front cost|money|payments?|expense)s? (?:worries|worry|concerns?|scares?|freaks?)\b|\b(?:worried|concerned|nervous|scared|worry) (?:about|by) (?:the )?(?:cost|price|money|upfront|expense|payments?|up ?-?front|how much)\b|\b(?:don'?t|do not) have (?:the |that kind of |enough |that much )?(?:money|cash|budget)\b|\bcost is (?:a|an|my|the) (?:big |major |main |real )?(?:issue|concern|problem|worry|factor|obstacle)\b",
    ),
    // Roof
    (
        Obj(Roof, Raise),
        r"\bneeds? (?:a )?(?:new roof|roof replacement|to replace (?:the|my|our) roof|(?:the |my )?roof (?:replaced|redone|fixed|repaired))\b|\broof (?:needs|need|will need|would need|is due for|requires)\b",
    ),
    (
        Obj(Roof, Resolve),
        r"\b(?:new|brand new|newer) roof\b|\broof (?:was|got|has been|is|were) (?:just |recently |completely )?(?:replaced|redone|re-?done|fixed|repaired|new|brand new|installed)\b|\b(?:replaced|redid|re-?did|re-?roofed|fixed|repaired) (?:the|my|our) roof\b|\broof (?:is|'s) (?:fine|good|great|solid|in (?:good|great) (?:shape|condition))\b",
    ),
    (
        Obj(Roof, Resolve),
        r"\broof\b[a-z0-9 ,'?.!-]{0,60}\b(?:it|which) (?:was|got|has been) (?:just |recently |completely )?(?:replaced|redone|re-?done|re-?roofed)\b|\bno (?:shade|shading|trees)\b|\bnot (?:shaded|shady)\b|\broof (?:isn'?t|is not|won'?t be) (?:a|an) (?:issue|problem|concern)\b|\btrees? (?:were|was|got|have been) (?:cut|removed|trimmed|taken)\b",
    ),
    (
        Obj(Roof, Raise),
        r"\b(?:old|older|aging|leaky|leaking|bad|damaged|weak|slate) roof\b|\broof (?:is|'s) (?:old|getting old|aging|leaking|leaky|bad|in bad shape|damaged|weak|[0-9]+ years old|falling apart|too small|small|tiny|shaded|north ?-?facing)\b|\bleak(?:s|ing|y)?\b|\bshad(?:e|ed|ing)\b|\bshady (?:roof|yard|house|street|block|lot|spot|backyard)\b|\btrees?\b|\bnorth ?-?facing\b",
    ),
    (
        Obj(Roof, Raise),
        r"\b(?:worried|concerned|nervous) (?:about|that) (?:my |the |our )?roof\b|\b(?:damage|holes? in|drill(?:ing)? (?:into|holes in)) (?:to )?(?:my |the |our )?roof\b|\broof (?:damage|problems?|issues?)\b|\bsmall roof\b|\bnot enough (?:roof )?(?:space|room)\b",
    ),
    // Aesthetics
    (
        Obj(Aesthetics, Raise),
        r"\b(?:don'?t|do not) like (?:how|the way|the look|the looks)\b|\b(?:don'?t|doesn'?t|do not|does not|won'?t|wouldn'?t) look (?:good|great|nice)\b",
    ),
    (
        Obj(Aesthetics, Resolve),
        r"\b(?:don'?t|do not) mind (?:how|the way|the look|the looks|what)\b|\b(?:they|panels|it|the panels|solar panels|black panels) (?:look|looks|would look) (?:fine|good|great|nice|sleek|clean|sharp|ok|okay)\b|\bnot (?:ugly|an eyesore)\b|\b(?:aesthetics|looks|the look|appearance) (?:isn'?t|aren'?t|is not|are not|don'?t|doesn'?t) (?:an? )?(?:issue|problem|concern|matter|bother me)\b|\bnot (?:worried|concerned) about (?:the )?(?:look|looks|aesthetics|appearance)\b",
    ),
    (
        Obj(Aesthetics, Raise),
        r"\bugly\b|\beyesores?\b|\bunsightly\b|\bcurb appeal\b|\b(?:look|looks|would look|will look) (?:bad|terrible|awful|ugly|weird|strange|tacky|cheap|hideous)\b|\b(?:hate|dislike|don'?t love) (?:the )?(?:look|looks|appearance)\b|\b(?:worried|concerned|nervous|care) (?:about )?how (?:they|it|the panels|panels) (?:look|would look)\b|\baesthetic(?:s|ally)?\b",
    ),
    // Moving
    (
        Obj(Moving, Block),
        r"\bmov(?:e|ing) (?:forward|ahead|on with (?:it|this)|quickly|fast)\b",
    ),
    (
        Obj(Moving, Resolve),
        r"\bnot (?:planning|going|looking|thinking) (?:to|on|of|about) (?:move|moving|sell|selling|relocat[a-z]*|leave|leaving)\b|\bno (?:plans?|intention) (?:to|of|on) (?:move|moving|sell|selling|relocat[a-z]*|leave|leaving)\b|\b(?:not|never|no longer) (?:moving|selling|relocating|leaving)\b|\b(?:won'?t|will not|wouldn'?t|don'?t plan to|never) (?:ever )?(?:move|sell|leave|relocate)\b",
    ),
    (
        Obj(Moving, Resolve),
        r"\b(?:forever|long ?-?term) home\b|\bstaying (?:here|put|for (?:good|the long haul|a long time|decades|years))\b|\b(?:here|staying) for the long (?:haul|run|term)\b|\bretire here\b",
    ),
    (
        Obj(Moving, Raise),
        r"\b(?:might|may|could|will|going to|gonna|plan to|planning to|planning on|thinking (?:about|of)|considering|probably|likely) (?:be )?(?:move|moving|sell|selling|relocat[a-z]*|leave|leaving)\b|\bsell(?:ing)? (?:the|my|our) (?:house|home|place|property|brownstone|condo|apartment)\b",
    ),
    (
        Obj(Moving, Raise),
        r"\bmoving (?:in (?:a|the|[0-9]|two|three|few|couple)|out|away|next|soon|to|within|this|later|eventually)\b|\brelocat(?:e|ing|ion)\b|\bput (?:the|my|our) (?:house|home) (?:up )?(?:on the market|for sale)\b|\bwon'?t be (?:here|there) (?:long|much longer|forever|for long)\b|\bnot sure how long (?:we'?ll|we will|i'?ll|i will|we'?re|i'?m) (?:stay|be)\b|\bmight not (?:stay|be here)\b",
    ),
    // Trust
    (
        Obj(Trust, Resolve),
        r"\b(?:ok|okay|alright|yes|so|now),? i (?:trust|believe)\b|\bi (?:trust|believe) (?:you|that|this|it|y'?all|your)\b|\bnot (?:a |such a )?scam\b|\b(?:sounds|seems|looks) (?:legit|legitimate|trustworthy|reputable)\b|\breassur(?:ed|es|ing)\b|\bmakes me feel (?:better|more comfortable|safer)\b|\bfeel (?:better|more comfortable|comfortable|safer) (?:now|about (?:it|this|that|you))\b|\bnot pushy\b",
    ),
    (
        Obj(Trust, Raise),
        r"\bscam(?:s|mers?|my)?\b|\b(?:don'?t|do not|can'?t|cannot|hard to|never|not sure i|not sure if i) trust\b|\btoo good to be true\b|\bpushy\b|\bsales ?(?:m[ae]n|people|person|guys?|reps?|pitch(?:es)?)\b|\bskeptic(?:al)?\b|\bsceptic(?:al)?\b|\bsuspicious\b|\brip(?:ped)? ?-?off\b|\bfishy\b|\bsketchy\b|\bshady (?:company|companies|business|installers?|practices|salesm[ae]n|people|contractors?)\b|\bbad experience\b|\b(?:is|are) (?:this|you|it|they) (?:legit|legitimate|real|a real company)\b|\bhidden (?:fees|costs|charges)\b|\bfine print\b|\bwhat'?s the catch\b",
    ),
    // ---- acknowledgement -------------------------------------------------------------------
    (
        Ack(false),
        r"\b(?:doesn'?t|does not|don'?t|do not|didn'?t|did not|not sure (?:that|it)|not) (?:really |quite |totally )?(?:make (?:any |much )?sense|makes sense|help|helps|helpful)\b|\bdon'?t (?:get it|understand)\b",
    ),
    (
        Ack(true),
        r"\bmakes? (?:a lot of |total |perfect |more |some )?sense\b|\bgood to know\b|\b(?:ok|okay|oh|alright|all right|k) (?:great|cool|good|perfect|thanks|thank you|got it|i see|that helps|understood)\b|\b(?:that|this|it) (?:really )?helps?\b|\b(?:that'?s|that is|very|super|really) helpful\b|\bsounds (?:good|great|fair|reasonable|right|fine)\b",
    ),
    (
        Ack(true),
        r"\bgot it(?:[.!,]|$| thanks| thank you)|\bgotcha\b|\bi see(?:[.!,]|$)|\bunderstood(?:[.!,]|$)|\bfair enough\b|\bthanks? (?:you )?for (?:explaining|the (?:info|information|explanation|clarification)|clarifying)\b|\bthat (?:answers|clears up) (?:my|that|it)\b|\b(?:that'?s|that is) (?:reassuring|great to hear|good to hear)\b|\bgood point\b",
    ),
    // ---- contact consent: refusals first ---------------------------------------------------
    (
        Consent(false),
        r"\b(?:don'?t|do not|dont|never|no need to) (?:ever )?(?:call|text|email|e-mail|contact|share|sell|give out|give away|pass (?:on|along)|spam|message|phone|reach out to)\b|\bno (?:more )?(?:phone )?(?:calls?|texts?|emails?|sales calls?|spam)\b|\bstop (?:texting|calling|contacting|messaging|emailing|spamming|sending)\b",
    ),
    (
        Consent(false),
        r"^(?:stop|stop all|end|quit|cancel)[.!]?$|\bunsubscribe\b|\bopt ?-?out\b|\bremove me\b|\btake me off\b|\b(?:don'?t|do not) want (?:anyone|anybody|installers|people|salespeople|companies|any calls|to be (?:called|contacted))\b|\b(?:not comfortable|uncomfortable|rather not|prefer not to|won'?t) (?:sharing|giving|share|give|provide|providing) (?:my|out my|that)\b|\bkeep my (?:info|information|number|details|email|phone)(?: number)? private\b|\bleave me alone\b",
    ),
    (
        Consent(true),
        r"\b(?:don'?t|do not) mind (?:if )?(?:you |they |an installer |installers |someone )?(?:call|text|email|contact|reach|sharing|share|giving)",
    ),
    (
        Consent(true),
        r"\b(?:they|installers?|someone|an installer|somebody|the installer|one of them|your team|a rep) (?:can|may|could) (?:call|text|email|e-mail|contact|reach(?: out to)?|share|give|pass)\b|\byou (?:can|may|could) (?:share|give|pass)\b|\b(?:can|could|would|will) (?:you|someone|somebody|an installer|they) (?:please )?(?:call|text|email|contact|reach out to) me\b",
    ),
    (
        Consent(true),
        r"\b(?:ok|okay|fine|alright|happy|glad|willing) (?:for (?:you|them|installers) )?to (?:be )?(?:call|text|email|contact|share|pass|contacted|called|texted|emailed)|\bfeel free to (?:call|text|email|contact|reach|share|pass)\b|\bi (?:consent|agree to be contacted)\b|\bconsent (?:to|given)\b|\byou have my (?:consent|permission)\b",
    ),
    (
        Consent(true),
        r"\b(?:share|pass (?:along|on)|give|send) my (?:info|information|number|phone(?: number)?|details|contact(?: info| information| details)?|email) (?:with|to) (?:installers?|them|an installer|the installers?|whoever|someone|companies|a company)\b|\bhave (?:them|someone|an installer|installers|somebody|a rep|him|her) (?:call|contact|text|email|reach out)\b",
    ),
    (
        Consent(true),
        r"\byes,? (?:please )?(?:you can |go ahead and )?(?:call|text|email|contact|share)\b",
    ),
    // ---- sentiment phrases ---------------------------------------------------------------
    (Sent(-2), r"\bwaste of (?:my |our )?time\b"),
    (Sent(-2), r"\bleave me alone\b"),
    (Sent(-1), r"\bnot interested\b"),
    (Sent(-1), r"\bno thank(?:s| you)\b"),
    (Sent(2), r"\bcan'?t wait\b"),
    (Sent(2), r"\blooking forward\b"),
    (Sent(-1), r"\b(?:fed up|sick of|tired of)\b"),
    (Sent(1), r"\bthumbs up\b"),
    (Sent(-2), r"\btoo good to be true\b"),
];

static RULE_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSetBuilder::new(RULES.iter().map(|(_, p)| *p))
        .unicode(false)
        .build()
        .expect("extract: the phrase rule patterns are valid")
});

/// Applies every matching phrase rule; returns the phrase sentiment `(points, any)`.
fn apply_rules(lower: &str, f: &mut MessageFacts) -> (i32, bool) {
    let matched: Vec<usize> = RULE_SET.matches(lower).into_iter().collect();

    let mut time_veto = [false; 6];
    let mut fin_veto = [false; 4];
    for &i in &matched {
        match RULES[i].0 {
            Act::TimeVeto(t) => time_veto[timeline_index(t)] = true,
            FinVeto(x) => fin_veto[financing_index(x)] = true,
            _ => {}
        }
    }

    let mut home_done = false;
    let mut quotes_done = false;
    let mut ack_done = false;
    let mut consent_done = false;
    let mut objections: [Option<ObjAct>; 5] = [None; 5];
    let mut topics = [false; 8];
    let mut sentiment = (0i32, false);
    for &i in &matched {
        match RULES[i].0 {
            Home(v) => {
                if !home_done {
                    home_done = true;
                    f.homeowner = v;
                }
            }
            Prop(p) => {
                f.property_type.get_or_insert(p);
            }
            Time(t) => {
                if !time_veto[timeline_index(t)] {
                    f.timeline.get_or_insert(t);
                }
            }
            Decide(d) => {
                f.decision_maker.get_or_insert(d);
            }
            Fin(x) => {
                if !fin_veto[financing_index(x)] {
                    f.financing.get_or_insert(x);
                }
            }
            Credit(c) => {
                f.credit.get_or_insert(c);
            }
            Quotes(v) => {
                if !quotes_done {
                    quotes_done = true;
                    f.competing_quotes = v;
                }
            }
            Topic(t) => topics[topic_index(t)] = true,
            Obj(o, a) => {
                objections[objection_index(o)].get_or_insert(a);
            }
            Ack(v) => {
                if !ack_done {
                    ack_done = true;
                    f.acknowledges_answer = v;
                }
            }
            Consent(v) => {
                if !consent_done {
                    consent_done = true;
                    f.contact_consent = Some(v);
                }
            }
            Sent(v) => sentiment = (sentiment.0 + i32::from(v), true),
            Act::TimeVeto(_) | FinVeto(_) => {}
        }
    }
    f.technical_topics = TechnicalTopic::ALL
        .into_iter()
        .filter(|t| topics[topic_index(*t)])
        .collect();
    for o in Objection::ALL {
        match objections[objection_index(o)] {
            Some(Raise) => f.objections_raised.push(o),
            Some(Resolve) => f.objections_resolved.push(o),
            Some(Block) | None => {}
        }
    }
    sentiment
}

fn timeline_index(t: Timeline) -> usize {
    match t {
        Timeline::Immediate => 0,
        Timeline::WithinThreeMonths => 1,
        Timeline::WithinSixMonths => 2,
        Timeline::WithinYear => 3,
        Timeline::MoreThanYear => 4,
        Timeline::JustResearching => 5,
    }
}

fn financing_index(x: Financing) -> usize {
    match x {
        Financing::Cash => 0,
        Financing::Loan => 1,
        Financing::LeaseOrPpa => 2,
        Financing::Undecided => 3,
    }
}

fn topic_index(t: TechnicalTopic) -> usize {
    match t {
        TechnicalTopic::Inverters => 0,
        TechnicalTopic::Production => 1,
        TechnicalTopic::NetMetering => 2,
        TechnicalTopic::Batteries => 3,
        TechnicalTopic::Warranties => 4,
        TechnicalTopic::Panels => 5,
        TechnicalTopic::Permits => 6,
        TechnicalTopic::Maintenance => 7,
    }
}

fn objection_index(o: Objection) -> usize {
    match o {
        Objection::Cost => 0,
        Objection::Roof => 1,
        Objection::Aesthetics => 2,
        Objection::Moving => 3,
        Objection::Trust => 4,
    }
}

// ---------------------------------------------------------------------------------------
// Contact details
// ---------------------------------------------------------------------------------------

fn ascii_regex(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("extract: static pattern is valid")
}

static EMAIL_RE: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,24}\b"));

static PHONE_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?:\+ ?1|\b1)?[ .\-]?(?:\(([0-9]{3})\)|([0-9]{3}))[ .\-]?([0-9]{3})[ .\-]?([0-9]{4})",
    )
});

/// The first valid US phone number (E.164) and the spans of every phone-shaped match
/// (valid or not), which are then no candidates for ZIPs or bills.
fn find_phone(lower: &str) -> (Option<String>, Vec<(usize, usize)>) {
    let bytes = lower.as_bytes();
    let mut phone = None;
    let mut spans = Vec::new();
    for caps in PHONE_RE.captures_iter(lower) {
        let Some(m) = caps.get(0) else { continue };
        let before_digit = m.start() > 0 && bytes[m.start() - 1].is_ascii_digit();
        let after_digit = bytes.get(m.end()).is_some_and(|b| b.is_ascii_digit());
        if before_digit || after_digit {
            continue;
        }
        spans.push((m.start(), m.end()));
        let area = caps
            .get(1)
            .or_else(|| caps.get(2))
            .map_or("", |g| g.as_str());
        let exchange = caps.get(3).map_or("", |g| g.as_str());
        let line = caps.get(4).map_or("", |g| g.as_str());
        let valid = |s: &str| {
            s.as_bytes()
                .first()
                .is_some_and(|b| (b'2'..=b'9').contains(b))
        };
        if phone.is_none() && valid(area) && valid(exchange) && line.len() == 4 {
            phone = Some(format!("+1{area}{exchange}{line}"));
        }
    }
    (phone, spans)
}

fn overlaps(spans: &[(usize, usize)], start: usize, end: usize) -> bool {
    spans.iter().any(|&(s, e)| start < e && s < end)
}

// ---------------------------------------------------------------------------------------
// ZIP code
// ---------------------------------------------------------------------------------------

static ZIP_RE: LazyLock<Regex> = LazyLock::new(|| ascii_regex(r"\b[0-9]{5}(?:-[0-9]{4})?\b"));

static ZIP_CONTEXT_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:zip|zipcode|zip code|postal|postal code|live in|located in|area|ny|new york|nyc)\b",
    )
});

fn find_zip(lower: &str, excluded: &[(usize, usize)]) -> Option<String> {
    let bytes = lower.as_bytes();
    let mut first: Option<&str> = None;
    for m in ZIP_RE.find_iter(lower) {
        let (start, end) = (m.start(), m.end());
        if overlaps(excluded, start, end) {
            continue;
        }
        let prev = start.checked_sub(1).map(|i| bytes[i]);
        let prev2 = start.checked_sub(2).map(|i| bytes[i]);
        let glued_before = match prev {
            Some(b'$' | b'#' | b'/' | b':') => true,
            Some(b'.' | b',' | b'-') => prev2.is_some_and(|b| b.is_ascii_digit()),
            Some(b' ') => prev2 == Some(b'$'),
            _ => false,
        };
        let next = bytes.get(end).copied();
        let next2 = bytes.get(end + 1).copied();
        let glued_after = match next {
            Some(b'.' | b',' | b'-' | b'/' | b':') => next2.is_some_and(|b| b.is_ascii_digit()),
            Some(b'%') => true,
            _ => false,
        };
        if glued_before || glued_after {
            continue;
        }
        if unit_or_currency_follows(&lower[end..]) || PER_PERIOD_RE.is_match(&lower[end..]) {
            continue;
        }
        let pre = slice_clamped(lower, start.saturating_sub(24), start);
        if MONEY_VERB_RE.is_match(pre) {
            continue;
        }
        if pre.ends_with("box ") || pre.ends_with("apt ") || pre.ends_with("unit ") {
            continue;
        }
        let zip = &m.as_str()[..5];
        if ZIP_CONTEXT_RE.is_match(pre) {
            return Some(zip.to_owned());
        }
        first.get_or_insert(zip);
    }
    first.map(str::to_owned)
}

/// "85000 a year", "12000/yr": an amount per period, never a ZIP.
static PER_PERIOD_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"^ ?(?:a|per|each|every|/) ?(?:year|yr|month|mo|week|annum)\b|^ ?(?:annually|yearly|monthly)\b",
    )
});

/// "we make 85000", "income of 85000": money, never a ZIP.
static MONEY_VERB_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:make|makes|made|earn|earns|earned|income|salary|pay|paid|owe|spent|spend|cost|costs|quoted?|price)(?: is| was| of| about| around| roughly)? ?$",
    )
});

fn unit_or_currency_follows(post: &str) -> bool {
    let t = post.trim_start();
    let word = leading_word(t);
    is_unit_word(word) || is_currency_word(word) || t.starts_with('%')
}

// ---------------------------------------------------------------------------------------
// Monthly bill
// ---------------------------------------------------------------------------------------

static MONEY_RE: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r"(\$ ?)?([0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)( ?k\b)?"));

static RANGE_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"^ ?(-|to|and) ?(?:\$ ?)?([0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)( ?k\b)?")
});

static WORDNUM_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:(?:a|one|two|three|four|five|six|seven|eight|nine) hundred(?:(?: and)? (?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?|(?: and)? (?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen))?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?)\b",
    )
});

static BILL_KW_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:bills?|electric[a-z]*|con ?ed(?:ison)?|coned|utilit(?:y|ies)|pay|pays|paying|paid|energy|power|pseg|psegli|national grid|lipa|monthly|month|spend|spending)\b",
    )
});

static OTHER_KW_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:quot[a-z]*|estimates?|system|systems|install[a-z]*|prices?|priced|pricing|loans?|leases?|leasing|ppa|rent|mortgage|tax[a-z]*|credits?|rebates?|incentives?|save|saves|saved|saving|savings|income|incomes|salary|salaries|make|makes|made|earn|earns|earned|earning|household|down payment|deposit|score|solar|panels?|financ[a-z]*|worth|value|insurance|roof[a-z]*|cash|zip|zipcode|code|phone|call|text|number|kw|watts?|old|age|budget|car|for (?:it|them|the system|a system|the panels|installation|everything|the whole thing|the job))\b",
    )
});

static YEARLY_PRE_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:annual|annually|yearly|per year|every year|each year|for the (?:whole )?year)\b",
    )
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    None,
    Month,
    Year,
}

#[derive(Debug)]
struct MoneyCandidate {
    start: usize,
    end: usize,
    cents: i64,
    currency: bool,
    thousands: bool,
    /// A plain integer without `$`, like a year (1900–2099) or ZIP (5+ digits).
    bare_integer_digits: usize,
    bare_integer_value: i64,
}

fn find_bill(lower: &str, excluded: &[(usize, usize)], has_digit: bool) -> Option<Cents> {
    let mut candidates = Vec::new();
    if has_digit {
        digit_candidates(lower, excluded, &mut candidates);
    }
    const NUMBER_WORDS: [&str; 9] = [
        "hundred", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if NUMBER_WORDS.iter().any(|w| lower.contains(w)) {
        word_candidates(lower, &mut candidates);
    }
    candidates.sort_by_key(|c| c.start);
    let mut best: Option<(u8, Cents)> = None;
    for c in &candidates {
        if let Some((rank, cents)) = judge_candidate(lower, c)
            && best.is_none_or(|(r, _)| rank > r)
        {
            best = Some((rank, cents));
        }
    }
    best.map(|(_, c)| c)
}

fn digit_candidates(lower: &str, excluded: &[(usize, usize)], out: &mut Vec<MoneyCandidate>) {
    let bytes = lower.as_bytes();
    let mut consumed = 0usize;
    for caps in MONEY_RE.captures_iter(lower) {
        let (Some(all), Some(num)) = (caps.get(0), caps.get(2)) else {
            continue;
        };
        if all.start() < consumed || overlaps(excluded, all.start(), all.end()) {
            continue;
        }
        let currency = caps.get(1).is_some();
        let mut thousands = caps.get(3).is_some();
        // What touches the number decides whether it is a number at all.
        if !currency {
            let prev = all.start().checked_sub(1).map(|i| bytes[i]);
            if prev.is_some_and(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'#' | b'/' | b':' | b'_' | b'@')
            }) {
                continue;
            }
        }
        let ish = lower[all.end()..].starts_with("ish")
            && bytes
                .get(all.end() + 3)
                .is_none_or(|b| !b.is_ascii_alphanumeric());
        let next = if ish {
            None
        } else {
            bytes.get(all.end()).copied()
        };
        let next2 = bytes.get(all.end() + 1).copied();
        if !thousands
            && (next.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'%' || b == b'_')
                || (matches!(next, Some(b':' | b'/' | b',' | b'.'))
                    && next2.is_some_and(|b| b.is_ascii_digit())))
        {
            continue;
        }
        let Some(mut cents) = Cents::parse_dollars(num.as_str()).map(|c| c.0) else {
            continue;
        };
        let mut end = all.end();
        // A range: "180-220", "180 to 220", "between 180 and 220".
        if let Some(r) = RANGE_RE.captures(&lower[end..]) {
            let joiner = r.get(1).map_or("", |g| g.as_str());
            let between = slice_clamped(lower, all.start().saturating_sub(9), all.start())
                .ends_with("between ");
            let range_end = r.get(0).map_or(0, |g| g.end());
            let glued = lower
                .as_bytes()
                .get(end + range_end)
                .is_some_and(|b| b.is_ascii_alphanumeric());
            if (joiner != "and" || between)
                && !glued
                && !overlaps(excluded, end, end + range_end)
                && let Some(hi) = r.get(2).and_then(|g| Cents::parse_dollars(g.as_str()))
            {
                let hi_k = r.get(3).is_some();
                let hi = if hi_k {
                    hi.0.saturating_mul(1000)
                } else {
                    hi.0
                };
                if hi_k && !thousands && cents < 100 * 100 {
                    thousands = true;
                }
                let lo = if thousands {
                    cents.saturating_mul(1000)
                } else {
                    cents
                };
                let from =
                    slice_clamped(lower, all.start().saturating_sub(5), all.start()) == "from ";
                // "went from $150 to $300" is a change: the latest figure counts.
                cents = if from && joiner == "to" {
                    hi
                } else {
                    lo / 2 + hi / 2 + (lo % 2 + hi % 2) / 2
                };
                end += range_end;
                consumed = end;
                out.push(MoneyCandidate {
                    start: all.start(),
                    end,
                    cents,
                    currency,
                    thousands,
                    bare_integer_digits: 0,
                    bare_integer_value: 0,
                });
                continue;
            }
        }
        if thousands {
            cents = cents.saturating_mul(1000);
        }
        let integer = !num.as_str().contains(['.', ',']);
        let (digits, value) = if integer && !currency && !thousands {
            (
                num.as_str().len(),
                num.as_str().parse::<i64>().unwrap_or(i64::MAX),
            )
        } else {
            (0, 0)
        };
        consumed = end;
        out.push(MoneyCandidate {
            start: all.start(),
            end,
            cents,
            currency,
            thousands,
            bare_integer_digits: digits,
            bare_integer_value: value,
        });
    }
}

fn word_candidates(lower: &str, out: &mut Vec<MoneyCandidate>) {
    for m in WORDNUM_RE.find_iter(lower) {
        let mut value = 0i64;
        let mut current = 0i64;
        for w in m.as_str().split([' ', '-']) {
            match w {
                "hundred" => current = current.max(1) * 100,
                "and" => {}
                _ => current += number_word(w).unwrap_or(0),
            }
        }
        value += current;
        if value > 0 {
            out.push(MoneyCandidate {
                start: m.start(),
                end: m.end(),
                cents: value * 100,
                currency: false,
                thousands: false,
                bare_integer_digits: 0,
                bare_integer_value: 0,
            });
        }
    }
}

fn number_word(w: &str) -> Option<i64> {
    Some(match w {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Whether a money candidate is the electric bill; `Some((rank, monthly cents))`. The
/// highest rank wins, then the first mention: +2 when a bill word is nearest, +1 when the
/// amount has a `$`, currency word or period.
fn judge_candidate(lower: &str, c: &MoneyCandidate) -> Option<(u8, Cents)> {
    let (period, currency_word, suffix_len) = classify_suffix(&lower[c.end..]);
    let currency = c.currency || currency_word;
    if period == Period::None && !currency_word && unit_or_currency_follows(&lower[c.end..]) {
        return None;
    }
    // Context windows, cut at sentence ends.
    let pre_full = slice_clamped(lower, c.start.saturating_sub(48), c.start);
    let pre = match pre_full
        .rfind(['!', '?', ';', '\n'])
        .max(pre_full.rfind(". "))
    {
        Some(i) => &pre_full[i + 1..],
        None => pre_full,
    };
    let post_start = c.end + suffix_len;
    let post_full = slice_clamped(lower, post_start, post_start + 32);
    // A bare number is only explained by words in its own clause ("I'm 45, bill is $275").
    let post_ends: &[char] = if currency {
        &['!', '?', ';', '\n', '.']
    } else {
        &['!', '?', ';', '\n', '.', ',']
    };
    let post = match post_full.find(post_ends) {
        Some(i) => &post_full[..i],
        None => post_full,
    };
    let nearest = |re: &Regex| -> Option<usize> {
        let before = re.find_iter(pre).last().map(|m| pre.len() - m.end());
        let after = re.find(post).map(|m| m.start());
        match (before, after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let bill_word = nearest(&BILL_KW_RE);
    let other = nearest(&OTHER_KW_RE);
    // A period suffix is bill-like, but weaker than a word right next to the number.
    let bill = match (bill_word, period) {
        (b, Period::None) => b,
        (Some(b), _) => Some(b.min(PERIOD_DISTANCE)),
        (None, _) => Some(PERIOD_DISTANCE),
    };
    let beats_other = |d: usize| other.is_none_or(|o| d < o);
    let bill_wins = bill.is_some_and(beats_other);
    let has_bill_word = bill_word.is_some_and(beats_other);
    if other.is_some() && !bill_wins {
        return None;
    }
    if c.thousands && !bill_wins {
        return None;
    }
    if !currency && !bill_wins {
        return None;
    }
    if !currency && period == Period::None {
        // Bare integers: not years, not ZIP-like, not small counts.
        if (1900..=2099).contains(&c.bare_integer_value) && c.bare_integer_digits == 4 {
            return None;
        }
        if c.bare_integer_digits >= 5 {
            return None;
        }
    }
    if !currency && c.cents < 1000 {
        return None;
    }
    if currency && !bill_wins && period == Period::None && c.cents >= 1_000_000 {
        // "$25,000" with nothing around it is a system price, not a bill.
        return None;
    }
    let yearly = period == Period::Year || (period == Period::None && YEARLY_PRE_RE.is_match(pre));
    let cents = if yearly {
        (c.cents.saturating_add(6)) / 12
    } else {
        c.cents
    };
    // A bill word beats a bare `$`; among those, a written currency/period beats a bare number.
    let rank = u8::from(has_bill_word) * 2 + u8::from(currency || period != Period::None);
    Some((rank, Cents(cents)))
}

/// How close (in bytes) a period suffix counts as a bill word: other-money words nearer
/// than this still win ("the lease is $150 a month").
const PERIOD_DISTANCE: usize = 12;

/// Reads what follows a number: an optional currency word, then an optional period.
/// Returns the period, whether a currency word was there, and the bytes consumed.
fn classify_suffix(post: &str) -> (Period, bool, usize) {
    let mut rest = post;
    let mut currency = false;
    let trimmed = rest.trim_start();
    let w = leading_word(trimmed);
    if is_currency_word(w) {
        currency = true;
        rest = &trimmed[w.len()..];
    }
    const MONTH: &[&str] = &[
        "a month",
        "per month",
        "/month",
        "/mo",
        "a mo",
        "monthly",
        "each month",
        "every month",
        "per mo",
        "/m",
        "a mth",
        "per mth",
    ];
    const YEAR: &[&str] = &[
        "a year",
        "per year",
        "/year",
        "/yr",
        "a yr",
        "per yr",
        "yearly",
        "annually",
        "per annum",
        "each year",
        "every year",
        "/y",
    ];
    let t = rest.trim_start();
    let skipped = post.len() - t.len();
    let boundary_after = |p: &str| {
        t.as_bytes()
            .get(p.len())
            .is_none_or(|b| !b.is_ascii_alphanumeric())
    };
    for p in MONTH {
        if t.starts_with(p) && boundary_after(p) {
            return (Period::Month, currency, skipped + p.len());
        }
    }
    for p in YEAR {
        if t.starts_with(p) && boundary_after(p) {
            return (Period::Year, currency, skipped + p.len());
        }
    }
    (Period::None, currency, post.len() - rest.len())
}

fn leading_word(t: &str) -> &str {
    let end = t
        .bytes()
        .position(|b| !(b.is_ascii_alphabetic() || b == b'\''))
        .unwrap_or(t.len());
    &t[..end]
}

fn is_currency_word(w: &str) -> bool {
    matches!(w, "dollars" | "dollar" | "bucks" | "usd" | "dlls")
}

fn is_unit_word(w: &str) -> bool {
    matches!(
        w,
        "kw" | "kwh"
            | "kws"
            | "kilowatt"
            | "kilowatts"
            | "watt"
            | "watts"
            | "w"
            | "mw"
            | "megawatt"
            | "megawatts"
            | "family"
            | "families"
            | "fam"
            | "unit"
            | "units"
            | "story"
            | "stories"
            | "floor"
            | "floors"
            | "sq"
            | "square"
            | "ft"
            | "feet"
            | "foot"
            | "year"
            | "years"
            | "yr"
            | "yrs"
            | "yo"
            | "month"
            | "months"
            | "week"
            | "weeks"
            | "day"
            | "days"
            | "hour"
            | "hours"
            | "hr"
            | "hrs"
            | "minute"
            | "minutes"
            | "min"
            | "mins"
            | "kid"
            | "kids"
            | "child"
            | "children"
            | "people"
            | "person"
            | "persons"
            | "bedroom"
            | "bedrooms"
            | "bed"
            | "beds"
            | "br"
            | "bath"
            | "baths"
            | "bathroom"
            | "bathrooms"
            | "panel"
            | "panels"
            | "percent"
            | "pct"
            | "am"
            | "pm"
            | "degrees"
            | "degree"
            | "mile"
            | "miles"
            | "times"
            | "x"
            | "apartments"
            | "apts"
            | "apartment"
            | "tenants"
            | "quotes"
            | "installers"
            | "companies"
            | "cars"
            | "car"
            | "inch"
            | "inches"
            | "gallons"
            | "ton"
            | "tons"
            | "credit"
            | "fico"
            | "st"
            | "nd"
            | "rd"
            | "th"
            | "of"
    )
}

// ---------------------------------------------------------------------------------------
// Install timeline from explicit durations
// ---------------------------------------------------------------------------------------

static DURATION_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:(in|within|next|over|about|around|roughly|approximately|maybe|probably|another|under|less than|inside of)(?: the next| the coming| the| about| around| roughly| maybe| another)*(?: |$))?(a couple of|a couple|a few|couple of|couple|few|several|an|a|[0-9]{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen)(?: ?(?:-|to|or) ?([0-9]{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen))? (days?|weeks?|months?|years?)(?: or (two|three|four|five|[0-9]{1,2}))?\b",
    )
});

static DURATION_EXCLUDE_PRE_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"mov|sell|roof|warrant|guarantee|payback|pay back|itself|break even|paid off|pay off|pay it off|lease|loan|contract|last|lived|living|been|old|bill",
    )
});

fn find_duration_timeline(lower: &str) -> Option<Timeline> {
    if !(lower.contains("month")
        || lower.contains("year")
        || lower.contains("week")
        || lower.contains("day"))
    {
        return None;
    }
    for caps in DURATION_RE.captures_iter(lower) {
        let Some(all) = caps.get(0) else { continue };
        let after = &lower[all.end()..];
        let from_now = after.starts_with(" from now") || after.starts_with(" out");
        if caps.get(1).is_none() && !from_now {
            continue;
        }
        if after.starts_with(" ago")
            || after.starts_with(" old")
            || after.starts_with(" of ")
            || after.starts_with(" warrant")
        {
            continue;
        }
        let pre = slice_clamped(lower, all.start().saturating_sub(32), all.start());
        if DURATION_EXCLUDE_PRE_RE.is_match(pre) {
            continue;
        }
        let lo = caps.get(2).and_then(|g| duration_number(g.as_str()))?;
        let hi = caps
            .get(3)
            .or_else(|| caps.get(5))
            .and_then(|g| duration_number(g.as_str()))
            .unwrap_or(lo)
            .max(lo);
        let unit = caps.get(4).map_or("", |g| g.as_str());
        // Work in days to compare units.
        let days = match unit.trim_end_matches('s') {
            "day" => hi,
            "week" => hi.saturating_mul(7),
            "month" => hi.saturating_mul(30),
            _ => hi.saturating_mul(365),
        };
        return Some(match days {
            0..=31 => Timeline::Immediate,
            32..=92 => Timeline::WithinThreeMonths,
            93..=184 => Timeline::WithinSixMonths,
            185..=366 => Timeline::WithinYear,
            _ => Timeline::MoreThanYear,
        });
    }
    None
}

fn duration_number(w: &str) -> Option<u32> {
    match w {
        "a couple of" | "a couple" | "couple of" | "couple" => Some(2),
        "a few" | "few" | "several" => Some(3),
        _ => {
            if let Ok(n) = w.parse::<u32>() {
                Some(n)
            } else {
                number_word(w).and_then(|n| u32::try_from(n).ok())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Questions
// ---------------------------------------------------------------------------------------

static INTERROGATIVE_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"^(?:(?:hi|hey|hello|also|and|so|ok|okay|oh|well|but|btw|quick question|question|one more thing|just curious|curious)[,:]? )*(?:how (?:much|many|long|does|do|is|are|can|would|will|about|soon|big|often|far)|what(?:'s| is| are| does| do| about| if| kind| type| happens| would| will| should| can| size)|why|when (?:will|would|can|do|does|is|are|should|could)|where (?:do|can|is|are|would|should|does)|which|who (?:is|are|does|do|will|would)|(?:can|could|would|will) (?:you|i|we|it|they|someone|solar|the|this|that)|(?:do|does|did) (?:you|i|we|it|they|solar|the|this|that|these|panels)|(?:is|are) (?:it|there|this|that|solar|the|my|these|they|you)|should (?:i|we))\b",
    )
});

/// Sentences ending in `?`, plus sentences that open like a question ("how much does
/// it cost.") without one. A run of `??` counts once; `.` inside numbers is not an end.
fn count_questions(lower: &str) -> u32 {
    let bytes = lower.as_bytes();
    let mut count = 0u32;
    let mut start = 0usize;
    let mut judge = |seg: &str, terminator: Option<u8>| {
        let seg = seg.trim();
        if !seg.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return;
        }
        if terminator == Some(b'?') || INTERROGATIVE_RE.is_match(seg) {
            count = count.saturating_add(1);
        }
    };
    for (i, &b) in bytes.iter().enumerate() {
        let end_here = match b {
            b'?' | b'!' | b'\n' => true,
            b'.' => bytes.get(i + 1).is_none_or(|n| !n.is_ascii_alphanumeric()),
            _ => false,
        };
        if end_here {
            judge(&lower[start..i], Some(b));
            start = i + 1;
        }
    }
    if start < lower.len() {
        judge(&lower[start..], None);
    }
    count
}

// ---------------------------------------------------------------------------------------
// Sentiment
// ---------------------------------------------------------------------------------------

fn word_sentiment(w: &str) -> i32 {
    match w {
        "love" | "loved" | "excited" | "exciting" | "awesome" | "amazing" | "wonderful"
        | "fantastic" | "thrilled" | "excellent" => 2,
        "great" | "good" | "perfect" | "interested" | "loves" | "likes" | "thanks" | "thank"
        | "glad" | "happy" | "helpful" | "nice" | "cool" | "appreciate" | "appreciated"
        | "eager" | "pleased" | "impressed" | "reasonable" | "helps" | "reassuring" | "fair" => 1,
        "annoyed" | "annoying" | "angry" | "frustrated" | "frustrating" | "waste" | "hate"
        | "terrible" | "awful" | "horrible" | "worst" | "ridiculous" | "scam" | "spam"
        | "useless" | "unhappy" | "disappointed" | "upset" | "stupid" | "sucks" | "rude"
        | "harassing" | "harassment" | "unsubscribe" => -2,
        "stop" | "bad" | "worried" | "concerned" | "pushy" | "bothering" | "confused"
        | "confusing" | "skeptical" | "ugly" | "nervous" | "problem" | "expensive" => -1,
        _ => 0,
    }
}

fn is_negator(w: &str) -> bool {
    matches!(
        w,
        "not"
            | "no"
            | "never"
            | "nothing"
            | "neither"
            | "nor"
            | "without"
            | "hardly"
            | "dont"
            | "isnt"
            | "cant"
            | "wont"
            | "didnt"
            | "doesnt"
            | "wasnt"
            | "arent"
            | "werent"
            | "havent"
            | "hasnt"
            | "shouldnt"
            | "wouldnt"
            | "couldnt"
            | "aint"
            | "cannot"
    ) || w.ends_with("n't")
}

fn sentiment(lower: &str, phrases: (i32, bool)) -> Option<Sentiment> {
    let (mut score, mut any) = phrases;
    // Tokens of [a-z'], with clause breaks as `None`.
    let mut tokens: Vec<Option<&str>> = Vec::new();
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_lowercase() || b == b'\'' {
            let s = i;
            while i < bytes.len() && (bytes[i].is_ascii_lowercase() || bytes[i] == b'\'') {
                i += 1;
            }
            tokens.push(Some(lower[s..i].trim_matches('\'')));
            continue;
        }
        if matches!(b, b',' | b'.' | b';' | b'!' | b'?' | b'\n' | b':') {
            tokens.push(None);
        }
        i += 1;
    }
    let mut negation_left = 0u8;
    for (idx, tok) in tokens.iter().enumerate() {
        let Some(w) = tok else {
            negation_left = 0;
            continue;
        };
        if is_negator(w) {
            negation_left = 3;
            continue;
        }
        let v = word_sentiment(w);
        if v != 0 {
            let next = tokens.get(idx + 1).copied().flatten();
            // "good credit", "bad roof" describe facts, not feelings.
            if !matches!(next, Some("credit" | "roof")) {
                any = true;
                score += if negation_left > 0 { -v.signum() } else { v };
            }
        }
        negation_left = negation_left.saturating_sub(1);
    }
    if !lower.is_ascii() {
        for c in lower.chars() {
            let v = match c {
                '😀' | '😃' | '😄' | '😁' | '🙂' | '😊' | '👍' | '❤' | '🎉' | '🙌' | '😍'
                | '🤩' => 1,
                '😡' | '😠' | '👎' | '🙄' | '😤' | '🤬' | '😒' => -1,
                _ => 0,
            };
            if v != 0 {
                any = true;
                score += v;
            }
        }
    }
    if !any {
        return None;
    }
    Some(match score {
        s if s > 0 => Sentiment::Positive,
        s if s < 0 => Sentiment::Negative,
        _ => Sentiment::Neutral,
    })
}

// ---------------------------------------------------------------------------------------
// Name
// ---------------------------------------------------------------------------------------

static NAME_PREFIX_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(my name is|my name's|my name’s|my names|name is|name's|name’s|name\s*:|i am|i'm|i’m|im|this is|call me)\s+")
        .expect("extract: name prefix pattern is valid")
});

fn find_name(raw: &str) -> Option<String> {
    // Cheap gate before running the Unicode regex.
    let has_prefix_word = raw
        .bytes()
        .any(|b| matches!(b, b'i' | b'I' | b'n' | b'N' | b't' | b'T' | b'c' | b'C'));
    if !has_prefix_word {
        return None;
    }
    for caps in NAME_PREFIX_RE.captures_iter(raw) {
        let (Some(all), Some(prefix)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let p = prefix.as_str().to_ascii_lowercase();
        let strong = p.contains("name");
        if p == "this is" {
            let before = raw[..all.start()].trim_end();
            let last_word = before
                .rsplit(|c: char| !c.is_alphabetic())
                .next()
                .unwrap_or("")
                .to_lowercase();
            let at_start = before.is_empty()
                || before.ends_with(['.', '!', '?', ',', ';', ':', '-'])
                || matches!(
                    last_word.as_str(),
                    "hi" | "hello" | "hey" | "yes" | "yeah" | "ok" | "okay" | "there"
                );
            if !at_start {
                continue;
            }
        }
        if let Some(name) = read_name(&raw[all.end()..], strong) {
            return Some(name);
        }
    }
    None
}

fn read_name(rest: &str, strong: bool) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    let mut cursor = rest;
    let mut capitalised_mode = true;
    while words.len() < 3 {
        let end = cursor
            .char_indices()
            .find(|&(_, c)| !(c.is_alphabetic() || c == '\'' || c == '’' || c == '-'))
            .map_or(cursor.len(), |(i, _)| i);
        let word = cursor[..end].trim_matches(|c| c == '\'' || c == '’' || c == '-');
        if word.is_empty() || word.chars().count() > 30 {
            break;
        }
        let lower = word.to_lowercase();
        if is_name_stopword(&lower) {
            break;
        }
        let upper_first = word.chars().next().is_some_and(char::is_uppercase);
        if words.is_empty() {
            if !upper_first && !strong {
                return None;
            }
            if !strong && word.chars().count() > 4 && lower.ends_with("ing") {
                return None;
            }
            if word.chars().count() < 2 {
                return None;
            }
            capitalised_mode = upper_first;
        } else if capitalised_mode && !upper_first {
            break;
        }
        words.push(title_case(word));
        let after = &cursor[end..];
        // Continue only across plain spaces into another letter.
        let trimmed = after.trim_start_matches([' ', '\t']);
        if trimmed.len() == after.len() || !trimmed.chars().next().is_some_and(char::is_alphabetic)
        {
            break;
        }
        cursor = trimmed;
    }
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

fn title_case(word: &str) -> String {
    if word.chars().any(char::is_uppercase) {
        return word.to_owned();
    }
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn is_name_stopword(w: &str) -> bool {
    matches!(
        w,
        "i" | "im"
            | "i'm"
            | "a"
            | "an"
            | "the"
            | "in"
            | "on"
            | "at"
            | "from"
            | "and"
            | "or"
            | "but"
            | "so"
            | "to"
            | "of"
            | "for"
            | "with"
            | "my"
            | "our"
            | "your"
            | "here"
            | "there"
            | "not"
            | "no"
            | "yes"
            | "yeah"
            | "ok"
            | "okay"
            | "sure"
            | "just"
            | "very"
            | "really"
            | "also"
            | "still"
            | "currently"
            | "always"
            | "usually"
            | "about"
            | "over"
            | "under"
            | "out"
            | "all"
            | "interested"
            | "looking"
            | "ready"
            | "homeowner"
            | "owner"
            | "renter"
            | "tenant"
            | "landlord"
            | "new"
            | "thinking"
            | "curious"
            | "wondering"
            | "trying"
            | "hoping"
            | "planning"
            | "considering"
            | "calling"
            | "writing"
            | "texting"
            | "reaching"
            | "asking"
            | "excited"
            | "happy"
            | "glad"
            | "good"
            | "great"
            | "fine"
            | "well"
            | "tired"
            | "sick"
            | "retired"
            | "married"
            | "single"
            | "divorced"
            | "widowed"
            | "employed"
            | "unemployed"
            | "moving"
            | "selling"
            | "paying"
            | "getting"
            | "going"
            | "done"
            | "back"
            | "available"
            | "free"
            | "busy"
            | "worried"
            | "concerned"
            | "skeptical"
            | "confused"
            | "located"
            | "based"
            | "living"
            | "sorry"
            | "thanks"
            | "thank"
            | "hi"
            | "hello"
            | "hey"
            | "pleased"
            | "frustrated"
            | "annoyed"
            | "disappointed"
            | "scared"
            | "nervous"
            | "afraid"
            | "aware"
            | "able"
            | "unable"
            | "open"
            | "home"
            | "away"
            | "retiring"
            | "buying"
            | "monday"
            | "tuesday"
            | "wednesday"
            | "thursday"
            | "friday"
            | "saturday"
            | "sunday"
            | "today"
            | "tomorrow"
            | "tonight"
            | "anytime"
            | "morning"
            | "evening"
            | "afternoon"
            | "later"
            | "now"
            | "soon"
            | "asap"
            | "after"
            | "before"
            | "whenever"
            | "when"
            | "if"
            | "any"
            | "please"
            | "brooklyn"
            | "queens"
            | "manhattan"
            | "bronx"
            | "staten"
            | "con"
            | "coned"
            | "sunrun"
            | "tesla"
            | "solar"
            | "it"
            | "this"
            | "that"
            | "what"
            | "how"
            | "who"
            | "why"
            | "where"
            | "which"
            | "definitely"
            | "probably"
            | "maybe"
            | "pretty"
            | "kind"
            | "kinda"
            | "quite"
            | "too"
            | "only"
            | "both"
            | "like"
            | "late"
            | "early"
            | "number"
            | "email"
            | "phone"
    )
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::{Borough, PropertyType as P, Timeline as T};
    use std::fmt::Debug;

    /// Runs `extract` on every input and compares one field; reports every mismatch.
    fn check<V: PartialEq + Debug>(
        field: &str,
        get: impl Fn(&MessageFacts) -> V,
        cases: &[(&str, V)],
    ) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(input, want)| {
                let got = get(&extract(input));
                (got != *want).then(|| format!("  {input:?}: want {want:?}, got {got:?}"))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{field}: {} of {} failed\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    fn dollars(d: i64) -> Option<Cents> {
        Some(Cents(d * 100))
    }

    #[test]
    fn homeowner() {
        check(
            "homeowner",
            |f| f.homeowner,
            &[
                ("I own my home", Some(true)),
                ("we bought our house in 2015", Some(true)),
                ("Yes, homeowner here", Some(true)),
                ("my house gets a lot of sun", Some(true)),
                ("our brownstone has a flat roof", Some(true)),
                ("I'm not a renter, I own", Some(true)),
                ("we don't rent, we own the place outright", Some(true)),
                ("I rent out the top floor to tenants", Some(true)),
                (
                    "Yes, I own it. It's a two-family home in Astoria",
                    Some(true),
                ),
                ("I rent", Some(false)),
                ("I'm a renter in Bushwick", Some(false)),
                ("tenant here, is that ok?", Some(false)),
                ("my landlord would have to agree", Some(false)),
                ("I don't own", Some(false)),
                ("I do not own the place", Some(false)),
                ("we're renting right now", Some(false)),
                ("it's an apartment I rent", Some(false)),
                ("I’m not the homeowner", Some(false)),
                ("my parents own it", None),
                ("how much does solar cost?", None),
            ],
        );
    }

    #[test]
    fn monthly_bill() {
        check(
            "monthly_bill",
            |f| f.monthly_bill,
            &[
                ("$400", dollars(400)),
                ("around 400 bucks", dollars(400)),
                ("about 350 a month", dollars(350)),
                ("we pay $3,600 a year for electricity", dollars(300)),
                ("my bill is like 1.2k in the summer", dollars(1200)),
                ("$250/mo", dollars(250)),
                ("two hundred dollars", dollars(200)),
                ("three hundred and fifty a month", dollars(350)),
                ("my con ed bill is around 275", dollars(275)),
                ("bill runs 180-220", dollars(200)),
                ("the bill is between 180 and 220", dollars(200)),
                ("$412.50", Some(Cents(41_250))),
                (
                    "Our Con Ed bill is about $320 a month, more in the summer",
                    dollars(320),
                ),
                ("annual electric cost is $4,000", Some(Cents(33_333))),
                ("my electric bill is $40,000", dollars(40_000)),
                ("I'm paying 300 monthly", dollars(300)),
                (
                    "mortgage is $2,000 a month and electric is 300",
                    dollars(300),
                ),
                ("I got a quote for 25k, my bill is $300", dollars(300)),
                (
                    "My electric bill went from $150 to $300 this summer",
                    dollars(300),
                ),
                ("bill's usually 150ish", dollars(150)),
                ("I'm 45, bill is ~$275", dollars(275)),
                (
                    "the house was built in 1925 and the electric is around 180",
                    dollars(180),
                ),
                ("my bill is high, around $300-$350 each month", dollars(325)),
                // Not bills.
                ("my zip is 11215", None),
                ("we bought in 2015", None),
                ("we've lived here since 2015, bill is high", None),
                ("call me at 718-555-0142", None),
                ("thinking about an 8 kw system", None),
                ("it's a 2 family house", None),
                ("they quoted $25,000 for the system", None),
                ("$25,000", None),
                ("my credit score is 780", None),
                ("we have 3 kids and a dog", None),
                ("in 2-3 months", None),
                ("solar would save me $100 a month", None),
                ("a 25 year warranty", None),
                ("1.2k", None),
                ("99999999999999999999999 dollars", None),
            ],
        );
    }

    #[test]
    fn zip_code() {
        check(
            "zip_code",
            |f| f.zip_code.clone(),
            &[
                ("The ZIP is 11105", Some("11105".to_owned())),
                ("10021-1234", Some("10021".to_owned())),
                ("I live in 11215", Some("11215".to_owned())),
                ("my bill is $300, zip 10314", Some("10314".to_owned())),
                ("I'm in 90210 actually", Some("90210".to_owned())),
                ("$12345", None),
                ("call 7185550142", None),
                ("order 123456 please", None),
                ("12345 kwh a year", None),
                ("we bought in 2015", None),
            ],
        );
    }

    #[test]
    fn place_names_come_from_market_data() {
        check(
            "place",
            |f| f.place.map(|p| p.borough),
            &[
                ("we're in park slope", Some(Borough::Brooklyn)),
                ("I live in Astoria", Some(Borough::Queens)),
                ("UES", Some(Borough::Manhattan)),
                ("Staten Island homeowner", Some(Borough::StatenIsland)),
                ("nothing about places here", None),
            ],
        );
        assert!(
            extract("park slope brownstone")
                .place
                .is_some_and(|p| p.neighborhood.is_some())
        );
    }

    #[test]
    fn property_type() {
        check(
            "property_type",
            |f| f.property_type,
            &[
                ("single family home", Some(P::SingleFamily)),
                ("it's a detached house", Some(P::SingleFamily)),
                ("my house", Some(P::SingleFamily)),
                ("2 family in Queens", Some(P::MultiFamily)),
                ("a two-family home", Some(P::MultiFamily)),
                ("3-family house", Some(P::MultiFamily)),
                ("we have a duplex", Some(P::MultiFamily)),
                ("4 unit building I own", Some(P::MultiFamily)),
                ("multi-family", Some(P::MultiFamily)),
                ("townhouse in Harlem", Some(P::Townhouse)),
                ("our brownstone", Some(P::Townhouse)),
                ("it's a row house", Some(P::Townhouse)),
                ("limestone in Bed-Stuy", Some(P::Townhouse)),
                ("I have a condo", Some(P::Condo)),
                ("we're in a co-op", Some(P::Coop)),
                ("coop apartment", Some(P::Coop)),
                ("apartment", None),
            ],
        );
    }

    #[test]
    fn timeline() {
        check(
            "timeline",
            |f| f.timeline,
            &[
                ("asap please", Some(T::Immediate)),
                ("want it done right away", Some(T::Immediate)),
                ("this month if possible", Some(T::Immediate)),
                ("ready now", Some(T::Immediate)),
                ("in the next few months", Some(T::WithinThreeMonths)),
                ("maybe in 2-3 months", Some(T::WithinThreeMonths)),
                ("hoping for this spring", Some(T::WithinThreeMonths)),
                ("within 6 months", Some(T::WithinSixMonths)),
                ("sometime this year", Some(T::WithinSixMonths)),
                ("next year", Some(T::WithinYear)),
                ("within a year", Some(T::WithinYear)),
                ("in the next 12 months", Some(T::WithinYear)),
                ("in a couple of years", Some(T::MoreThanYear)),
                ("maybe 2 years from now", Some(T::MoreThanYear)),
                ("in a year or two", Some(T::MoreThanYear)),
                ("just looking", Some(T::JustResearching)),
                ("just researching for now", Some(T::JustResearching)),
                ("not sure yet, gathering info", Some(T::JustResearching)),
                ("no rush, not right away", None),
                ("my bill this month was $400", None),
                ("we bought 2 years ago", None),
                ("we might move in 2 years", None),
                ("roof is 15 years old", None),
                (
                    "I'm looking to get it done before summer",
                    Some(T::WithinThreeMonths),
                ),
                ("My electric bill went from $150 to $300 this summer", None),
                ("talk soon", None),
            ],
        );
    }

    #[test]
    fn decision_maker() {
        use DecisionMaker::*;
        check(
            "decision_maker",
            |f| f.decision_maker,
            &[
                ("it's my decision", Some(Sole)),
                ("I make the decisions here", Some(Sole)),
                ("I own it myself", Some(Sole)),
                ("my wife and I", Some(Joint)),
                ("need to discuss with my husband", Some(Joint)),
                ("we decide together", Some(Joint)),
                ("I'm a co-owner with my brother", Some(Joint)),
                ("my parents own it", Some(Influencer)),
                ("I have to convince my partner", Some(Influencer)),
                ("we'd need board approval", Some(Influencer)),
                ("it's not my decision", Some(Influencer)),
            ],
        );
    }

    #[test]
    fn financing_and_credit() {
        use CreditSignal::*;
        use Financing::*;
        check(
            "financing",
            |f| f.financing,
            &[
                ("we'd pay cash", Some(Cash)),
                ("I can pay upfront", Some(Cash)),
                ("we'd buy it outright", Some(Cash)),
                ("I'd want a solar loan", Some(Loan)),
                ("We'd probably finance it with a solar loan", Some(Loan)),
                ("maybe a HELOC", Some(Loan)),
                ("I'd rather lease", Some(LeaseOrPpa)),
                ("is a ppa an option", Some(LeaseOrPpa)),
                ("power purchase agreement", Some(LeaseOrPpa)),
                ("only if it's $0 down", Some(LeaseOrPpa)),
                ("not sure how to pay for it", Some(Undecided)),
                ("I don't want a lease, I'll pay cash", Some(Cash)),
                ("no loans, I'd rather lease", Some(LeaseOrPpa)),
                ("we own the house outright", None),
            ],
        );
        check(
            "credit",
            |f| f.credit,
            &[
                ("excellent credit", Some(Strong)),
                ("our credit is excellent", Some(Strong)),
                ("good credit", Some(Strong)),
                ("credit score is 780", Some(Strong)),
                ("we're pre-approved", Some(Strong)),
                ("my credit isn't bad", Some(Strong)),
                ("bad credit unfortunately", Some(Weak)),
                ("poor credit", Some(Weak)),
                ("went through bankruptcy", Some(Weak)),
                ("credit score is 550", Some(Weak)),
                ("my credit is not great", Some(Weak)),
                ("credit score is 650", None),
            ],
        );
    }

    #[test]
    fn competing_quotes() {
        check(
            "competing_quotes",
            |f| f.competing_quotes,
            &[
                ("got a quote from Sunrun", Some(true)),
                ("I'm comparing quotes", Some(true)),
                ("talked to another installer last week", Some(true)),
                ("already have 2 quotes", Some(true)),
                (
                    "We got one quote from another installer already",
                    Some(true),
                ),
                ("they quoted me 30k", Some(true)),
                ("haven't talked to anyone else", Some(false)),
                ("no other quotes", Some(false)),
                ("can I get a quote?", None),
                (
                    "We have an 8kw system quote for $28k from Sunrun",
                    Some(true),
                ),
            ],
        );
    }

    #[test]
    fn technical_topics() {
        use TechnicalTopic::*;
        check(
            "technical_topics",
            |f| f.technical_topics.clone(),
            &[
                (
                    "What kind of inverters do you use? Microinverters or a string inverter?",
                    vec![Inverters],
                ),
                ("enphase or solaredge?", vec![Inverters]),
                ("how many kwh would it produce", vec![Production]),
                (
                    "Does net metering still work with Con Edison?",
                    vec![NetMetering],
                ),
                ("can I sell power back to the grid", vec![NetMetering]),
                (
                    "What about a battery like a Powerwall for outages?",
                    vec![Batteries],
                ),
                ("What warranty comes with the panels?", vec![Warranties]),
                ("are they monocrystalline? tier 1?", vec![Panels]),
                (
                    "do I need a permit? we're in a landmark district",
                    vec![Permits],
                ),
                ("what about snow and cleaning", vec![Maintenance]),
                (
                    "inverter warranty and battery backup",
                    vec![Inverters, Batteries, Warranties],
                ),
                ("hi there", vec![]),
            ],
        );
    }

    #[test]
    fn questions() {
        check(
            "questions_asked",
            |f| f.questions_asked,
            &[
                ("How much could I actually save per year?", 1),
                (
                    "What kind of inverters do you use? Microinverters or a string inverter?",
                    2,
                ),
                ("how does net metering work", 1),
                ("I own my house. Is it worth it?? what about batteries", 2),
                ("is it $412.50 or more?", 1),
                ("I'm interested in solar.", 0),
                ("what a day!", 0),
                ("", 0),
            ],
        );
    }

    #[test]
    fn objections() {
        use Objection::*;
        check(
            "objections_raised",
            |f| f.objections_raised.clone(),
            &[
                ("it's too expensive", vec![Cost]),
                ("I can't afford that", vec![Cost]),
                ("the upfront cost worries me", vec![Cost]),
                (
                    "I'm a bit worried about the cost, it sounds expensive",
                    vec![Cost],
                ),
                ("how much does it cost?", vec![]),
                ("my roof is old", vec![Roof]),
                ("the roof needs replacing", vec![Roof]),
                ("there's a lot of shade from trees", vec![Roof]),
                ("our flat roof leaks", vec![Roof]),
                ("panels are ugly", vec![Aesthetics]),
                ("I don't like how panels look", vec![Aesthetics]),
                ("we might move", vec![Moving]),
                ("we're selling the house next year", vec![Moving]),
                ("moving in a few years", vec![Moving]),
                ("sounds like a scam", vec![Trust]),
                ("sounds too good to be true", vec![Trust]),
                ("I don't trust pushy salesmen", vec![Trust]),
                ("we're ready to move forward", vec![]),
                ("not too expensive", vec![]),
            ],
        );
        check(
            "objections_resolved",
            |f| f.objections_resolved.clone(),
            &[
                ("cost isn't an issue anymore", vec![Cost]),
                ("that makes the cost work", vec![Cost]),
                ("roof was replaced last year", vec![Roof]),
                ("we have a new roof", vec![Roof]),
                (
                    "Is the roof going to be a problem? It was replaced in 2019",
                    vec![Roof],
                ),
                ("not planning to move", vec![Moving]),
                ("ok I trust that", vec![Trust]),
                ("I don't mind how they look", vec![Aesthetics]),
                ("we need a new roof", vec![]),
            ],
        );
    }

    #[test]
    fn acknowledgement() {
        check(
            "acknowledges_answer",
            |f| f.acknowledges_answer,
            &[
                ("OK that makes sense", true),
                ("good to know", true),
                ("ok great", true),
                ("that helps, thanks", true),
                ("Sounds good, I'm excited about this", true),
                ("got it.", true),
                ("that doesn't make sense", false),
                ("not sure that helps", false),
                ("I see panels on my neighbor's roof", false),
            ],
        );
    }

    #[test]
    fn sentiment_lexicon() {
        use Sentiment::*;
        check(
            "sentiment",
            |f| f.sentiment,
            &[
                ("I'm excited about this", Some(Positive)),
                ("love it, great info", Some(Positive)),
                ("not bad at all", Some(Positive)),
                ("not interested", Some(Negative)),
                ("this is a waste of time", Some(Negative)),
                ("stop texting me, I'm annoyed", Some(Negative)),
                ("great, but I'm worried", Some(Neutral)),
                ("my zip is 11215", None),
                ("👍", Some(Positive)),
            ],
        );
    }

    #[test]
    fn contact_details() {
        check(
            "name",
            |f| f.name.clone(),
            &[
                ("My name is Maria Lopez", Some("Maria Lopez".to_owned())),
                (
                    "my name is maria lopez and I live in astoria",
                    Some("Maria Lopez".to_owned()),
                ),
                ("Hi, I'm John", Some("John".to_owned())),
                ("Hi this is Sam Chen", Some("Sam Chen".to_owned())),
                ("you can call me Alex", Some("Alex".to_owned())),
                ("I'm José from Queens", Some("José".to_owned())),
                ("I'm interested in solar", None),
                ("I'm Interested", None),
                ("I'm Looking for info", None),
                ("this is Great", None),
                ("call me at 718-555-0142", None),
            ],
        );
        check(
            "phone",
            |f| f.phone.clone(),
            &[
                ("(718) 555-0142", Some("+17185550142".to_owned())),
                ("718-555-0142", Some("+17185550142".to_owned())),
                ("718.555.0142", Some("+17185550142".to_owned())),
                ("+1 718 555 0142", Some("+17185550142".to_owned())),
                ("7185550142", Some("+17185550142".to_owned())),
                ("1-718-555-0142", Some("+17185550142".to_owned())),
                ("555-0142", None),
                ("71855501423", None),
                ("123-456-7890", None),
            ],
        );
        check(
            "email",
            |f| f.email.clone(),
            &[
                (
                    "reach me at Maria.Lopez@Example.com",
                    Some("maria.lopez@example.com".to_owned()),
                ),
                (
                    "me+solar@mail.co.uk.",
                    Some("me+solar@mail.co.uk".to_owned()),
                ),
                ("not an email @ all", None),
            ],
        );
        check(
            "contact_consent",
            |f| f.contact_consent,
            &[
                ("yes you can call me", Some(true)),
                ("ok to contact me", Some(true)),
                ("you can share my info with installers", Some(true)),
                ("I consent", Some(true)),
                ("sure, have them call", Some(true)),
                ("yes, text me", Some(true)),
                (
                    "Yes, you can share my info with an installer and have them call me",
                    Some(true),
                ),
                ("don't call me", Some(false)),
                ("do not share my number", Some(false)),
                ("no calls please", Some(false)),
                ("stop texting", Some(false)),
                ("STOP", Some(false)),
                ("yes", None),
                ("call me Alex", None),
                ("you can reach me at (718) 555-0142", None),
                ("call me at 917-555-0199", None),
            ],
        );
    }

    #[test]
    fn incomes_and_amounts_are_not_zips() {
        for text in [
            "We make 85000 a year",
            "our household income is 95000",
            "they quoted 25000 for the system",
        ] {
            let f = extract(text);
            assert_eq!(f.zip_code, None, "{text:?}");
            assert_eq!(f.monthly_bill, None, "{text:?}");
        }
        assert_eq!(
            extract("I live in 11215").zip_code.as_deref(),
            Some("11215")
        );
    }

    #[test]
    fn bare_answers() {
        for (text, expected) in [
            ("yes", Some(true)),
            ("Yes!", Some(true)),
            ("yeah, go ahead", Some(true)),
            ("Sure thing", Some(true)),
            ("of course", Some(true)),
            ("I do", Some(true)),
            ("no", Some(false)),
            ("Nope.", Some(false)),
            ("not really", Some(false)),
            ("no thanks", Some(false)),
            ("yesterday I got a quote", None),
            ("nobody told me", None),
            ("notable", None),
            (
                "yes I own a two family house in Astoria with a big roof and a $300 bill",
                None,
            ),
            ("maybe", None),
            ("", None),
            ("Absolutely not", Some(false)),
            ("I do not", Some(false)),
            ("of course not!", Some(false)),
            ("definitely not", Some(false)),
            ("yes, but don't call before 6", Some(false)),
            ("no problem", Some(true)),
            ("no worries, go ahead", Some(true)),
        ] {
            assert_eq!(extract(text).answer, expected, "{text:?}");
        }
    }

    #[test]
    fn a_whole_message_at_once() {
        let f = extract(
            "Hi, I'm Dana Kim. We own a 2-family in Astoria, zip 11105, Con Ed bill about $310/mo. \
             My husband and I want it done this spring. Call me at (917) 555-0199 or dana@kim.nyc",
        );
        assert_eq!(f.homeowner, Some(true));
        assert_eq!(f.property_type, Some(PropertyType::MultiFamily));
        assert_eq!(f.zip_code.as_deref(), Some("11105"));
        assert_eq!(f.monthly_bill, dollars(310));
        assert_eq!(f.timeline, Some(Timeline::WithinThreeMonths));
        assert_eq!(f.decision_maker, Some(DecisionMaker::Joint));
        assert_eq!(f.name.as_deref(), Some("Dana Kim"));
        assert_eq!(f.phone.as_deref(), Some("+19175550199"));
        assert_eq!(f.email.as_deref(), Some("dana@kim.nyc"));
        // A number to call is not consent to share it with an installer.
        assert_eq!(f.contact_consent, None);
        assert_eq!(f.place.map(|p| p.borough), Some(Borough::Queens));
    }

    #[test]
    fn empty_garbage_and_huge_inputs_do_not_panic() {
        assert_eq!(extract(""), MessageFacts::default());
        assert_eq!(extract("   \n\t "), MessageFacts::default());
        let garbage = [
            "\u{0}\u{1}\u{7f}",
            "🎉🎉🎉🙂",
            "$$$$$$$$",
            "$",
            "1.",
            ".5k",
            "k",
            "?????",
            "İİİİ ǅ ß ﬁ",
            "9999999999999999999999999999999999999999 bucks a month",
            "$99999999999999.99 a year bill",
            "bill 1-",
            "bill runs 5-",
            "between 1 and",
            "call me \u{301}",
            "my name is",
            "name: ",
            "in - months",
        ];
        for g in garbage {
            let _ = extract(g);
        }
        let digits = "7".repeat(10 * 1024 * 1024);
        let f = extract(&digits);
        assert_eq!((f.phone, f.zip_code, f.monthly_bill), (None, None, None));
        let emoji = "💡é".repeat(2 * 1024 * 1024);
        let _ = extract(&emoji);
        let words = "my bill is $400 and I own my house. ".repeat(300_000);
        let f = extract(&words);
        assert_eq!(f.monthly_bill, dollars(400));
        let mixed: String = (0..200_000)
            .map(|i| char::from_u32(i % 0x2FFF + 32).unwrap_or(' '))
            .collect();
        let _ = extract(&mixed);
        // Deterministic fuzz over a chat-like alphabet with multi-byte characters.
        let alphabet: Vec<char> = "ab kmyo$0123456789.,-/()+@?!'’k\n é💡İ".chars().collect();
        let words = [
            "bill ", "month ", "zip ", "call me ", "I'm ", "not ", "1-", "$", "k ",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2_000 {
            let mut s = String::new();
            for _ in 0..(seed % 120) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let r = (seed >> 33) as usize;
                if r.is_multiple_of(5) {
                    s.push_str(words[r % words.len()]);
                } else {
                    s.push(alphabet[r % alphabet.len()]);
                }
            }
            let f = extract(&s);
            assert!(f.questions_asked as usize <= s.len());
            if let Some(p) = &f.phone {
                assert_eq!(p.len(), 12, "{s:?}");
            }
            if let Some(z) = &f.zip_code {
                assert_eq!(z.len(), 5, "{s:?}");
            }
        }
    }
}
