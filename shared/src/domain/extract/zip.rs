//! ZIP codes: a standalone five-digit number that is not money, not part of a phone number
//! and not glued to other digits.

use super::bill::{CORRECTION_RE, unit_or_currency_follows};
use super::normalize::slice_clamped;
use super::words::words;
use super::{ascii_regex, overlaps};
use regex::Regex;
use std::sync::LazyLock;

static ZIP_RE: LazyLock<Regex> = LazyLock::new(|| ascii_regex(r"\b[0-9]{5}(?:-[0-9]{4})?\b"));

static ZIP_CONTEXT_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:zip|zipcode|zip code|postal|postal code|live in|located in|area|ny|new york|nyc)\b",
    )
});

pub(super) fn find_zip(lower: &str, excluded: &[(usize, usize)]) -> Option<String> {
    let bytes = lower.as_bytes();
    // (ZIP, where it ends, whether a word like "zip" or "live in" introduced it)
    let mut best: Option<(&str, usize, bool)> = None;
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
        // "box 11215", "apt 12345": not a ZIP.
        let after_word = |w: &String| {
            pre.strip_suffix(' ')
                .is_some_and(|p| p.ends_with(w.as_str()))
        };
        if words().zip_not_after.iter().any(after_word) {
            continue;
        }
        let zip = &m.as_str()[..5];
        let context = ZIP_CONTEXT_RE.is_match(pre);
        best = match best {
            // "11354, oh sorry, 11355": a ZIP after a correction replaces the one before.
            Some((_, prev_end, _)) if CORRECTION_RE.is_match(&lower[prev_end..start]) => {
                Some((zip, end, true))
            }
            Some((_, _, false)) if context => Some((zip, end, true)),
            None => Some((zip, end, context)),
            kept => kept,
        };
    }
    best.map(|(z, _, _)| z.to_owned())
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
#[cfg(test)]
mod tests {
    use crate::domain::extract::extract;
    use crate::domain::extract::test_support::check;

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
}
