//! The monthly electric bill: money candidates (digits, ranges, number words), what
//! follows them (currency words, periods) and the words around them.

use super::normalize::slice_clamped;
use super::words::words;
use super::{ascii_regex, overlaps};
use crate::domain::money::Cents;
use regex::Regex;
use std::sync::LazyLock;

static MONEY_RE: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r"(\$ ?)?([0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)( ?(?:k|grand)\b)?"));

static RANGE_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"^ ?(-|to|and) ?(?:\$ ?)?([0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)( ?(?:k|grand)\b)?")
});

/// Written amounts: "two hundred (and) fifty", "a hundred", "2 hundred", "fifty", and the
/// spoken "two fifty" / "2 fifty" (hundreds, then tens).
const WORDNUM_PATTERN: &str = r"\b(?:(?:one|two|three|four|five|six|seven|eight|nine|[1-9]) (?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?|(?:a|one|two|three|four|five|six|seven|eight|nine|[1-9]) hundred(?:(?: and)? (?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?|(?: and)? (?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen))?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?)\b";

static WORDNUM_RE: LazyLock<Regex> = LazyLock::new(|| ascii_regex(WORDNUM_PATTERN));

/// The multiplier in written amounts ("two hundred and fifty"); the other number words
/// come from the word tables.
const HUNDRED: &str = "hundred";

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
    Quarter,
    TwoMonths,
    Week,
}

/// Words for a one-off payment ("I paid $3,000 for the roof"): without a utility word or
/// a period, a large amount next to them is no monthly bill.
static UTILITY_KW_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:bills?|electric[a-z]*|con ?ed(?:ison)?|coned|utilit(?:y|ies)|energy|power|pseg|psegli|national grid|lipa|monthly|month)\b",
    )
});

/// "sorry, I meant", "wait", "actually": what follows corrects what came before.
pub(super) static CORRECTION_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:sorry|actually|i meant|i mean|wait|oops|correction|make that|scratch that|my bad|no no|rather|closer to|more like|kidding)\b",
    )
});

#[derive(Debug)]
struct MoneyCandidate {
    start: usize,
    end: usize,
    cents: i64,
    currency: bool,
    thousands: bool,
    /// Digits of a plain integer without `$` or "k" (0 otherwise): a year (1900–2099) or
    /// a ZIP-like number (5+ digits) is no bill.
    bare_integer_digits: usize,
}

pub(super) fn find_bill(
    lower: &str,
    excluded: &[(usize, usize)],
    has_digit: bool,
) -> Option<Cents> {
    let mut candidates = Vec::new();
    if has_digit {
        digit_candidates(lower, excluded, &mut candidates);
    }
    if lower.contains(HUNDRED) || words().tens.iter().any(|w| lower.contains(w.as_str())) {
        word_candidates(lower, &mut candidates);
    }
    candidates.sort_by_key(|c| c.start);
    let mut best: Option<(u8, Cents, usize)> = None;
    let mut corrected: Option<Cents> = None;
    for c in &candidates {
        let judged = judge_candidate(lower, c);
        // A later amount after "sorry, I meant" / "wait" replaces the bill said before it.
        if let Some((_, _, end)) = best
            && CORRECTION_RE.is_match(&lower[end..c.start])
        {
            if let Some((_, cents)) = judged {
                corrected = Some(cents);
                continue;
            }
            if let Some(cents) = bare_correction(lower, c) {
                corrected = Some(cents);
                continue;
            }
        }
        if let Some((rank, cents)) = judged
            && best.is_none_or(|(r, _, _)| rank > r)
        {
            best = Some((rank, cents, c.end));
        }
    }
    corrected.or(best.map(|(_, c, _)| c))
}

/// A bare number right after a correction of the bill ("$300 a month. sorry, 250"): a
/// plausible bill with no unit after it and no other money word in its clause.
fn bare_correction(lower: &str, c: &MoneyCandidate) -> Option<Cents> {
    let post = &lower[c.end..];
    if unit_or_currency_follows(post) && !currency_follows(post) {
        return None;
    }
    let pre = slice_clamped(lower, c.start.saturating_sub(16), c.start);
    let clause_end = post.find(['.', '!', '?', ',', ';']).unwrap_or(post.len());
    if OTHER_KW_RE.is_match(pre) || OTHER_KW_RE.is_match(&post[..clause_end]) {
        return None;
    }
    (2_000..=2_000_000)
        .contains(&c.cents)
        .then_some(Cents(c.cents))
        .filter(|_| c.bare_integer_digits <= 4)
}

/// A lone amount that can only be a bill figure in context: "like 350", "closer to 350",
/// "$280". The conversation decides (the agent just asked for the bill, or it corrects one).
pub(super) fn find_bare_amount(lower: &str, excluded: &[(usize, usize)]) -> Option<Cents> {
    let mut found = None;
    for caps in MONEY_RE.captures_iter(lower) {
        let (Some(all), Some(num)) = (caps.get(0), caps.get(2)) else {
            continue;
        };
        if overlaps(excluded, all.start(), all.end()) || found.is_some() {
            return None;
        }
        let post = &lower[all.end()..];
        if unit_or_currency_follows(post) && !currency_follows(post) {
            return None;
        }
        let digits = num.as_str().len();
        let cents = Cents::parse_dollars(num.as_str())?.0;
        let cents = if caps.get(3).is_some() {
            cents.saturating_mul(1000)
        } else {
            cents
        };
        if !(2..=4).contains(&digits) && caps.get(1).is_none() {
            return None;
        }
        found = Some(cents);
    }
    found
        .filter(|c| (2_000..=2_000_000).contains(c))
        .filter(|_| !OTHER_KW_RE.is_match(lower))
        .map(Cents)
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
                });
                continue;
            }
        }
        if thousands {
            cents = cents.saturating_mul(1000);
        }
        let integer = !num.as_str().contains(['.', ',']);
        let digits = if integer && !currency && !thousands {
            num.as_str().len()
        } else {
            0
        };
        consumed = end;
        out.push(MoneyCandidate {
            start: all.start(),
            end,
            cents,
            currency,
            thousands,
            bare_integer_digits: digits,
        });
    }
}

fn word_candidates(lower: &str, out: &mut Vec<MoneyCandidate>) {
    for m in WORDNUM_RE.find_iter(lower) {
        let mut value = 0i64;
        let mut current = 0i64;
        let parts: Vec<&str> = m.as_str().split([' ', '-']).collect();
        let unit = |w: &str| {
            w.parse::<i64>()
                .ok()
                .or_else(|| words().number(w).map(i64::from))
        };
        let spoken_hundreds = parts.len() >= 2
            && parts[1] != HUNDRED
            && unit(parts[0]).is_some_and(|v| (1..10).contains(&v));
        for (i, w) in parts.iter().enumerate() {
            match *w {
                HUNDRED => current = current.max(1) * 100,
                "and" => {}
                _ if i == 0 && spoken_hundreds => current += unit(w).unwrap_or(0) * 100,
                _ => current += unit(w).unwrap_or(0),
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
            });
        }
    }
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
    let post_ends: &[char] = if currency && period == Period::None {
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
        // A bare integer's cents are exactly its value × 100 (`Cents::parse_dollars`).
        if c.bare_integer_digits == 4 && (1900..=2099).contains(&(c.cents / 100)) {
            return None;
        }
        if c.bare_integer_digits >= 5 {
            return None;
        }
    }
    if c.cents < 1000 {
        return None;
    }
    if currency && !bill_wins && period == Period::None && c.cents >= 1_000_000 {
        // "$25,000" with nothing around it is a system price, not a bill.
        return None;
    }
    if period == Period::None
        && c.cents >= 100_000
        && !UTILITY_KW_RE.is_match(pre)
        && !UTILITY_KW_RE.is_match(post)
    {
        // "I paid $3,000 for a new roof": a one-off payment, not a monthly bill.
        return None;
    }
    let yearly = period == Period::Year || (period == Period::None && YEARLY_PRE_RE.is_match(pre));
    let cents = match period {
        _ if yearly => (c.cents.saturating_add(6)) / 12,
        Period::Quarter => (c.cents.saturating_add(1)) / 3,
        Period::TwoMonths => (c.cents.saturating_add(1)) / 2,
        Period::Week => (c.cents.saturating_mul(52).saturating_add(6)) / 12,
        Period::None | Period::Month | Period::Year => c.cents,
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
    let word = leading_word(trimmed);
    if words().currency_words.contains(word) {
        currency = true;
        rest = &trimmed[word.len()..];
    }
    let t = rest.trim_start();
    let skipped = post.len() - t.len();
    let boundary_after = |p: &str| {
        t.as_bytes()
            .get(p.len())
            .is_none_or(|b| !b.is_ascii_alphanumeric())
    };
    let w = words();
    for p in &w.per_month {
        if t.starts_with(p.as_str()) && boundary_after(p) {
            return (Period::Month, currency, skipped + p.len());
        }
    }
    for (period, list) in [
        (Period::Year, &w.per_year),
        (Period::Quarter, &w.per_quarter),
        (Period::TwoMonths, &w.per_two_months),
        (Period::Week, &w.per_week),
    ] {
        for p in list {
            if t.starts_with(p.as_str()) && boundary_after(p) {
                return (period, currency, skipped + p.len());
            }
        }
    }
    (Period::None, currency, post.len() - rest.len())
}

/// A unit ("kW", "years", "%") or a currency word right after a number.
pub(super) fn unit_or_currency_follows(post: &str) -> bool {
    let t = post.trim_start();
    let word = leading_word(t);
    let w = words();
    w.unit_words.contains(word) || w.currency_words.contains(word) || t.starts_with('%')
}

/// "bucks", "dollars" right after a number.
fn currency_follows(post: &str) -> bool {
    words()
        .currency_words
        .contains(leading_word(post.trim_start()))
}

fn leading_word(t: &str) -> &str {
    let end = t
        .bytes()
        .position(|b| !(b.is_ascii_alphabetic() || b == b'\''))
        .unwrap_or(t.len());
    &t[..end]
}

#[cfg(test)]
mod tests {
    use super::{HUNDRED, WORDNUM_PATTERN, words};
    use crate::domain::extract::test_support::{check, dollars};
    use crate::domain::money::Cents;

    #[test]
    fn given_the_written_amount_pattern_when_reading_its_words_then_each_has_a_value() {
        let text = WORDNUM_PATTERN.replace("\\b", " ");
        let spelled: Vec<&str> = text
            .split(|c: char| !c.is_ascii_lowercase())
            .filter(|w| !w.is_empty() && *w != HUNDRED && *w != "and")
            .collect();
        assert!(spelled.len() > 20, "{spelled:?}");
        for w in spelled {
            assert!(
                words().number(w).is_some(),
                "{w:?} has no value in the word tables"
            );
        }
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
                // Other periods and shorthand.
                ("our electric is $900 a quarter", dollars(300)),
                ("we pay $75 a week for electric", dollars(325)),
                ("electric is 1.2k every two months", dollars(600)),
                ("about 4 grand a year on electric", Some(Cents(33_333))),
                ("bill like 2 fifty", dollars(250)),
                ("bill is ~$190/mo, zip 11236", dollars(190)),
                // A correction replaces the figure before it.
                ("Our bill is $200, sorry I meant $400", dollars(400)),
                (
                    "my electric bill is 150, wait that's the gas. electric is 230",
                    dollars(230),
                ),
                ("I paid $3,000 for a new roof last year", None),
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
}
