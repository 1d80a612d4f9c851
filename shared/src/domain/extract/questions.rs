//! How many questions a message asks.

use super::ascii_regex;
use regex::Regex;
use std::sync::LazyLock;

static INTERROGATIVE_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"^(?:(?:hi|hey|hello|also|and|so|ok|okay|oh|well|but|btw|quick question|question|one more thing|just curious|curious)[,:]? )*(?:how (?:much|many|long|does|do|is|are|can|would|will|about|soon|big|often|far)|what(?:'s| is| are| does| do| about| if| kind| type| happens| would| will| should| can| size)|why|when (?:will|would|can|do|does|is|are|should|could)|where (?:do|can|is|are|would|should|does)|which|who (?:is|are|does|do|will|would)|(?:can|could|would|will) (?:you|i|we|it|they|someone|solar|the|this|that)|(?:do|does|did) (?:you|i|we|it|they|solar|the|this|that|these|panels)|(?:is|are) (?:it|there|this|that|solar|the|my|these|they|you)|should (?:i|we))\b",
    )
});

/// Sentences ending in `?`, plus sentences that open like a question ("how much does
/// it cost.") without one. A run of `??` counts once; `.` inside numbers is not an end.
pub(super) fn count_questions(lower: &str) -> u32 {
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
#[cfg(test)]
mod tests {
    use crate::domain::extract::test_support::check;

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
}
