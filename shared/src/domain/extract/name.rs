//! The homeowner's name from an introduction ("my name is …", "I'm …", "call me …").

use super::words::words;
use regex::Regex;
use std::sync::LazyLock;

static NAME_PREFIX_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(my name is|my name's|my name’s|my names|name is|name's|name’s|name\s*:|i am|i'm|i’m|im|this is|call me)\s+")
        .expect("extract: name prefix pattern is valid")
});

pub(super) fn find_name(raw: &str) -> Option<String> {
    // Cheap gate before running the Unicode regex.
    let has_prefix_word = raw
        .bytes()
        .any(|b| matches!(b, b'i' | b'I' | b'n' | b'N' | b't' | b'T' | b'c' | b'C'));
    if !has_prefix_word {
        return None;
    }
    // Plain matches, not captures (much cheaper): every prefix ends in a letter or ':',
    // so the prefix is the match without the whitespace that follows it.
    for all in NAME_PREFIX_RE.find_iter(raw) {
        let p = all.as_str().trim_end().to_ascii_lowercase();
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
                || words().name_sentence_openers.contains(&last_word);
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
    let stop_words = &words().name_stop_words;
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
        if stop_words.contains(&lower) {
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

#[cfg(test)]
mod tests {
    use crate::domain::extract::test_support::check;

    #[test]
    fn given_an_introduction_when_extracting_then_the_name_is_read() {
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
    }
}
