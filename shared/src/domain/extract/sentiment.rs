//! Sentiment: a word lexicon with negation, phrase points from the rules, and emoji.

use super::words::words;
use crate::domain::facts::Sentiment;

/// A negator within the previous three words flips a sentiment word ("not bad").
fn is_negator(w: &str) -> bool {
    words().is_listed_negator(w) || w.ends_with("n't")
}

/// Lexicon words (negated within three words of the same clause), the rules' phrase
/// points and emoji; `None` when nothing carried sentiment.
pub(super) fn sentiment(lower: &str, phrases: (i32, bool)) -> Option<Sentiment> {
    let (mut score, mut any) = phrases;
    let lexicon = words();
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
        let v = lexicon.sentiment(w);
        if v != 0 {
            let next = tokens.get(idx + 1).copied().flatten();
            // "good credit", "bad roof" describe facts, not feelings.
            if !next.is_some_and(|n| lexicon.fact_nouns.contains(n)) {
                any = true;
                score += if negation_left > 0 { -v.signum() } else { v };
            }
        }
        negation_left = negation_left.saturating_sub(1);
    }
    if !lower.is_ascii() {
        for c in lower.chars() {
            let v = lexicon.emoji_sentiment(c);
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

#[cfg(test)]
mod tests {
    use crate::domain::extract::test_support::check;
    use crate::domain::facts::Sentiment;

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
}
