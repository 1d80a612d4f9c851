//! Sentiment: a word lexicon with negation, phrase points from the rules, and emoji.

use crate::domain::facts::Sentiment;

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

pub(super) fn sentiment(lower: &str, phrases: (i32, bool)) -> Option<Sentiment> {
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
