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
//! 3. Almost every phrase fact comes from **one** pass of a lazy DFA of all the rules
//!    ([`RULES`](rules::RULES)), asked only which rules match: each rule is `(action, pattern)`. Per field, rules are listed in priority order and the first
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
//! * **Property type**: the most specific type named wins (condo, co-op, 2-4 family,
//!   townhouse, single-family, then "house" alone). A type named of another home is not
//!   the homeowner's: someone else's home that already has solar, a friend's or a
//!   neighbour's, a past home ("we used to own", "grew up in", "my old house"), a kind of
//!   home asked about in general ("are condos harder to get approved?"), "two family
//!   members", a renter's relative's house. Only the words inside such a phrase are
//!   discounted, so "my neighbour's house has solar, ours is a two-family" is 2-4 family.
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
//! * **Erasure requests** ("delete my data", "forget me", "borra mis datos", misspelt
//!   within one edit) set `erase_request`; negated ones ("don't delete my data") do
//!   nothing, and questions about the policy ("will you delete my data if I ask?") raise
//!   the `Privacy` topic instead (`erase`).
//! * **ZIP**: a standalone five-digit number (ZIP+4 allowed), not glued to other digits,
//!   not a money amount, not part of a phone number; one after "zip"/"live in"/"NY" is
//!   preferred over the first one found.
//!
//! # Layout
//!
//! [`extract`] (here) runs the steps in order; each step lives in its own module:
//! `normalize` (truncation and the normalised form), `rules` (the phrase rules),
//! `contact` (e-mail, phone), `erase` (requests to erase one's data), `zip`, `bill` (money candidates, number words, periods),
//! `timeline` (explicit durations), `questions`, `sentiment` and `name`. The word lists
//! they read (sentiment words, negators, currency and unit words, number words, name stop
//! words, …) are data, in `shared/data/extract-words.json`, loaded by `words`; phrase
//! patterns stay in code.

mod automaton;
mod bill;
mod contact;
mod courtesy;
mod erase;
mod name;
mod normalize;
mod questions;
mod rules;
mod sentiment;
mod timeline;
mod words;
mod zip;

use super::facts::{Borough, DecisionMaker, Financing, MessageFacts, Place, Topic};
use super::knowledge;
use super::market::market;
use bill::{CORRECTION_RE, find_bare_amount, find_bill};
use contact::{find_email, find_phone};
use name::find_name;
use normalize::{normalize, truncate_to_boundary};
use questions::count_questions;
use regex::{Regex, RegexBuilder};
use rules::apply_rules;
use sentiment::sentiment;
use timeline::find_duration_timeline;
use words::words;
use zip::find_zip;

/// Only this many bytes of a message are read (cut back to a character boundary).
pub const MAX_SCAN_BYTES: usize = 4096;

pub use words::WordsError;

/// Loads the word tables and compiles every pattern now (start-up), so that the first
/// message pays nothing extra and a bad word table stops the process with its reason.
/// The phrase rules' automaton, most of the cost, builds on a second thread meanwhile.
pub fn warm() -> Result<(), &'static WordsError> {
    std::thread::scope(|s| {
        let rules = std::thread::Builder::new()
            .name("aurum-rules".into())
            .spawn_scoped(s, rules::warm);
        let words = words::try_words().map(|_| {
            let sample =
                "Hi, I own my house at 11215, the bill is $300 a month, call (718) 555-0142?";
            let _ = extract_facts(sample, false);
        });
        match rules {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            // No thread to be had: the same work on this one.
            Err(_) => rules::warm(),
        }
        words
    })
}

/// Extracts the facts one homeowner message states. Never panics; linear in the first
/// [`MAX_SCAN_BYTES`] of `text`.
pub fn extract(text: &str) -> MessageFacts {
    extract_facts(text, true)
}

/// [`extract`], the phrase rules left out when `phrase_rules` is false: start-up compiles
/// every other pattern that way while the rules' automaton builds.
fn extract_facts(text: &str, phrase_rules: bool) -> MessageFacts {
    let raw = truncate_to_boundary(text, MAX_SCAN_BYTES);
    let lower = normalize(raw);
    let mut facts = MessageFacts::default();
    if lower.is_empty() {
        return facts;
    }

    let phrase_sentiment = if phrase_rules {
        apply_rules(&lower, &mut facts)
    } else {
        (0, false)
    };

    let has_digit = lower.bytes().any(|b| b.is_ascii_digit());
    let mut excluded: Vec<(usize, usize)> = Vec::new();
    if let Some((email, span)) = find_email(&lower) {
        facts.email = Some(email);
        excluded.push(span);
    }
    if has_digit {
        let (phone, spans) = find_phone(&lower);
        facts.phone = phone;
        excluded.extend(spans);
        facts.zip_code = find_zip(&lower, &excluded);
    }
    facts.monthly_bill = find_bill(&lower, &excluded, has_digit);
    if facts.monthly_bill.is_none() && has_digit && facts.zip_code.is_none() {
        facts.bare_amount = find_bare_amount(&lower, &excluded);
        // Only a lone amount needs to know whether it corrects an earlier bill.
        facts.corrects = facts.bare_amount.is_some() && CORRECTION_RE.is_match(&lower);
    }
    if let Some(t) = find_duration_timeline(&lower) {
        facts.timeline = Some(t);
    }
    facts.questions_asked = count_questions(&lower);
    if let Ok(kb) = knowledge::try_knowledge() {
        facts.known_questions = kb.asked_in(&lower);
    }
    facts.sentiment = sentiment(&lower, phrase_sentiment);
    facts.name = find_name(raw);
    facts.place = market()
        .find_place(&lower)
        .or_else(|| staten_island_initials(raw));
    facts.answer = bare_answer(&lower);
    let courtesy = courtesy::read_courtesy(&lower);
    facts.thanks = courtesy.thanks;
    facts.closing = courtesy.closing;
    facts.held_back = courtesy.held_back;
    settle_topics(&lower, &mut facts);
    let erase = erase::read_erase(&lower);
    facts.erase_request = erase.request;
    if erase.asks && !facts.topics.contains(&Topic::Privacy) {
        facts.topics.push(Topic::Privacy);
        facts.topics.sort();
    }
    facts
}

/// Words of a choice being made ("we'd", "I want", "planning to"), as opposed to a question.
static INTENT_RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    ascii_regex(
        r"\b(?:i'?d|we'?d|i would|we would|i want|we want|i'?ll|we'?ll|i will|we will|planning|plan to|going to|gonna|prefer|rather|probably|leaning|only if|considering|thinking of|thinking about|we can|i can|we could|i could)\b",
    )
});

/// "SI" written in capitals is Staten Island; in lowercase "si" is too often something else.
fn staten_island_initials(raw: &str) -> Option<Place> {
    let bytes = raw.as_bytes();
    let found = raw.match_indices("SI").any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 2).copied();
        before.is_none_or(|b| !b.is_ascii_alphanumeric())
            && after.is_none_or(|b| !b.is_ascii_alphanumeric())
    });
    found.then_some(Place {
        borough: Borough::StatenIsland,
        neighborhood: None,
    })
}

/// Topics that depend on the rest of the message: financing words are a topic only in a
/// question ("we'd lease it" chooses, "how does the lease work?" asks); a renter or a buyer
/// gets the renters' answer. Someone still buying a home has no property type or install
/// timeline yet: those words are about the purchase.
fn settle_topics(lower: &str, f: &mut MessageFacts) {
    // "How do solar loans work?" asks about a way of paying; it does not choose it.
    if f.questions_asked > 0
        && matches!(
            f.financing,
            Some(Financing::Cash | Financing::Loan | Financing::LeaseOrPpa)
        )
        && !INTENT_RE.is_match(lower)
    {
        f.financing = None;
    }
    let asking = f.questions_asked > 0 || lower.contains(" or ") || lower.contains(" vs");
    let chose = matches!(
        f.financing,
        Some(Financing::Cash | Financing::Loan | Financing::LeaseOrPpa)
    );
    if !asking && chose {
        f.topics.retain(|t| *t != Topic::Financing);
    }
    // A renter speaking of a relative's house: that house is not the renter's home.
    if f.homeowner == Some(false) && f.decision_maker == Some(DecisionMaker::Influencer) {
        f.decision_maker = None;
        f.property_type = None;
    }
    if f.homeowner == Some(false) || f.buying_home {
        if f.buying_home {
            f.property_type = None;
            f.timeline = None;
        }
        if !f.topics.contains(&Topic::Renters) {
            f.topics.push(Topic::Renters);
            f.topics.sort();
        }
    }
}

/// "yes", "sure thing", "nope", "no, not really": a short reply that opens with a yes or a
/// no. Longer messages carry their own facts and are not read as a bare answer.
fn bare_answer(lower: &str) -> Option<bool> {
    if lower.chars().count() > 40 {
        return None;
    }
    let w = words();
    // "Absolutely not", "I do not", "of course not": a yes-word that is negated is a no;
    // "no problem" is a yes.
    if lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .any(|t| w.answer_negators.contains(t))
    {
        return Some(false);
    }
    if w.answer_yes_despite_no
        .iter()
        .any(|p| lower.starts_with(p.as_str()))
    {
        return Some(true);
    }
    let opening = |phrases: &[String]| {
        phrases.iter().any(|p| {
            lower.strip_prefix(p.as_str()).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with(|c: char| !c.is_alphanumeric() && c != '\'')
            })
        })
    };
    match (opening(&w.answer_yes), opening(&w.answer_no)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// A case-sensitive, ASCII-only regex (`\b` is an ASCII word boundary) over the
/// normalised text.
fn ascii_regex(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("extract: static pattern is valid")
}

/// Whether `start..end` overlaps one of the byte `spans`.
fn overlaps(spans: &[(usize, usize)], start: usize, end: usize) -> bool {
    spans.iter().any(|&(s, e)| start < e && s < end)
}

/// Shared by the tests of every extraction module.
#[cfg(test)]
mod test_support {
    use super::extract;
    use crate::domain::facts::MessageFacts;
    use crate::domain::money::Cents;
    use std::fmt::Debug;

    /// Runs `extract` on every input and compares one field; reports every mismatch.
    pub(super) fn check<V: PartialEq + Debug>(
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

    pub(super) fn dollars(d: i64) -> Option<Cents> {
        Some(Cents(d * 100))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{check, dollars};
    use super::*;
    use crate::domain::facts::{Borough, DecisionMaker, PropertyType, Timeline};
    use proptest::prelude::*;

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
    }

    /// Chat-like text: an alphabet with multi-byte characters, mixed with fragments that
    /// lead into the bill, ZIP, phone and name paths.
    fn chat_like() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = "ab kmyo$0123456789.,-/()+@?!'’k\n é💡İ".chars().collect();
        let fragments = vec![
            "bill ", "month ", "zip ", "call me ", "I'm ", "not ", "1-", "$", "k ",
        ];
        let piece = prop_oneof![
            4 => prop::sample::select(alphabet).prop_map(String::from),
            1 => prop::sample::select(fragments).prop_map(str::to_owned),
        ];
        prop::collection::vec(piece, 0..120).prop_map(|pieces| pieces.concat())
    }

    /// What holds for the facts of any text: no more questions than bytes, phone numbers
    /// in E.164 (`+1` and ten digits), five-digit ZIPs.
    fn facts_are_well_formed(text: &str) -> Result<MessageFacts, TestCaseError> {
        let f = extract(text);
        prop_assert!(f.questions_asked as usize <= text.len());
        if let Some(p) = &f.phone {
            prop_assert_eq!(p.len(), 12, "{:?}", p);
            prop_assert!(p.starts_with("+1"), "{:?}", p);
            prop_assert!(p[1..].bytes().all(|b| b.is_ascii_digit()), "{:?}", p);
        }
        if let Some(z) = &f.zip_code {
            prop_assert_eq!(z.len(), 5, "{:?}", z);
            prop_assert!(z.bytes().all(|b| b.is_ascii_digit()), "{:?}", z);
        }
        Ok(f)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn given_chat_like_text_when_extracting_then_it_never_panics_and_facts_are_well_formed(
            text in chat_like()
        ) {
            facts_are_well_formed(&text)?;
        }
    }

    proptest! {
        #[test]
        fn given_any_string_when_extracting_then_it_never_panics_and_facts_are_well_formed(
            text in any::<String>()
        ) {
            let f = facts_are_well_formed(&text)?;
            prop_assert_eq!(extract(&text), f, "the same text gives the same facts");
        }

        #[test]
        fn given_a_multi_byte_text_past_the_scan_limit_when_extracting_then_the_rest_is_ignored(
            pad in (MAX_SCAN_BYTES - 12)..(MAX_SCAN_BYTES + 4),
            head in "[a-z0-9 $.,?éİ💡’-]{0,40}",
            tail in "\\PC{1,40}",
        ) {
            // Two-byte padding after a head of any length puts the cut at either offset of
            // a multi-byte character, or inside `tail`.
            let text = format!("{head}{}{tail}", "é".repeat(pad / 2));
            let f = facts_are_well_formed(&text)?;
            if text.len() >= MAX_SCAN_BYTES {
                prop_assert_eq!(extract(&format!("{text}{tail}")), f);
            }
        }
    }
}
