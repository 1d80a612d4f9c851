//! Install timelines from explicit durations ("in 2-3 months", "within a year").

use super::ascii_regex;
use super::normalize::slice_clamped;
use super::words::words;
use crate::domain::facts::Timeline;
use regex::Regex;
use std::sync::LazyLock;

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

pub(super) fn find_duration_timeline(lower: &str) -> Option<Timeline> {
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
    let words = words();
    words
        .vague_quantity(w)
        .or_else(|| w.parse::<u32>().ok())
        .or_else(|| words.number(w))
}
#[cfg(test)]
mod tests {
    use super::duration_number;

    #[test]
    fn given_the_duration_words_the_pattern_knows_when_read_then_each_has_a_number() {
        for w in [
            "a couple of",
            "a couple",
            "a few",
            "couple of",
            "couple",
            "few",
            "several",
            "an",
            "a",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "eighteen",
            "18",
            "0",
        ] {
            assert!(duration_number(w).is_some(), "{w:?}");
        }
        assert_eq!(duration_number("a couple of"), Some(2));
        assert_eq!(duration_number("several"), Some(3));
        assert_eq!(duration_number("eighteen"), Some(18));
        assert_eq!(duration_number("dozen"), None);
    }
    use crate::domain::extract::test_support::check;
    use crate::domain::facts::Timeline as T;

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
}
