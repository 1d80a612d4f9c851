//! A homeowner's request, in the chat, to have their contact details erased ("delete my
//! data", "borra mis datos"). What is erased: their name, phone and email (the chat never
//! asks for a street address, so none is held). What is kept: that it happened, when, and
//! that the homeowner asked for it; and, when they had given consent, the consent evidence
//! the law needs (when, their words with any contact detail masked, the disclosure shown).

use super::conversation::{ConsentEvidence, Contact};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who asked for the erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureRequester {
    /// The homeowner, in the chat.
    Homeowner,
}

/// A contact detail that was erased (its name, never its value).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    Name,
    Phone,
    Email,
}

impl ContactField {
    /// In a sentence: "your name", "your phone number", "your email".
    pub fn spoken(self) -> &'static str {
        match self {
            ContactField::Name => "name",
            ContactField::Phone => "phone number",
            ContactField::Email => "email",
        }
    }
}

/// The record of an erasure: none of the erased data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactErasure {
    pub at: DateTime<Utc>,
    pub requested_by: ErasureRequester,
    /// What was held and erased (empty: the chat held no contact details).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ContactField>,
    /// The consent given before the erasure, kept as proof (when, the words with contact
    /// details masked, the disclosure shown). Only on the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentEvidence>,
}

impl ContactErasure {
    /// The same erasure without the consent evidence: what the lead record keeps.
    pub fn without_consent(&self) -> ContactErasure {
        ContactErasure {
            consent: None,
            ..self.clone()
        }
    }
}

/// The contact details `contact` holds, by name.
pub fn held_fields(contact: &Contact) -> Vec<ContactField> {
    [
        (ContactField::Name, contact.name.is_some()),
        (ContactField::Phone, contact.phone.is_some()),
        (ContactField::Email, contact.email.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, held)| held.then_some(f))
    .collect()
}

/// Consent evidence as kept after an erasure: its time, its words with every contact
/// detail masked, the disclosure shown (which names the buyers it named).
pub fn kept_consent(evidence: ConsentEvidence, contact: &Contact) -> ConsentEvidence {
    ConsentEvidence {
        given_at: evidence.given_at,
        words: mask_contact(&evidence.words, contact),
        disclosure: evidence.disclosure,
        sellers: Vec::new(),
    }
}

/// `text` with contact details masked: every e-mail address (`[email]`), every run of
/// seven or more digits however punctuated (`[phone]`), and the homeowner's name as held
/// in `contact` (`[name]`, each of its words of three or more letters, any case).
pub fn mask_contact(text: &str, contact: &Contact) -> String {
    let mut out = String::with_capacity(text.len());
    for token in split_keep(text) {
        out.push_str(&mask_token(token));
    }
    let out = mask_phones(&out);
    match &contact.name {
        Some(name) => mask_name(&out, name),
        None => out,
    }
}

/// The text in whitespace-separated tokens, the whitespace kept as tokens of its own.
fn split_keep(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (i, ch) in text.char_indices() {
        let space = ch.is_whitespace();
        match in_space {
            Some(s) if s != space => {
                pieces.push(&text[start..i]);
                start = i;
            }
            _ => {}
        }
        in_space = Some(space);
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

fn mask_token(token: &str) -> String {
    match token.find('@') {
        Some(at) if at > 0 && token[at + 1..].contains('.') => {
            let lead: String = token
                .chars()
                .take_while(|c| matches!(c, '(' | '<' | '"' | '\''))
                .collect();
            let trail: String = {
                let t: Vec<char> = token
                    .chars()
                    .rev()
                    .take_while(|c| {
                        matches!(
                            c,
                            '.' | ',' | '!' | '?' | ')' | '>' | '"' | '\'' | ';' | ':'
                        )
                    })
                    .collect();
                t.into_iter().rev().collect()
            };
            format!("{lead}[email]{trail}")
        }
        _ => token.to_owned(),
    }
}

/// Runs of digits (with spaces, dashes, dots, parentheses or a leading `+` between them)
/// holding seven digits or more become `[phone]`.
fn mask_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() || matches!(chars[i], '+' | '(');
        if starts {
            let mut j = i;
            let mut digits = 0;
            let mut last_digit = None;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || matches!(chars[j], ' ' | '-' | '.' | '(' | ')' | '+'))
            {
                if chars[j].is_ascii_digit() {
                    digits += 1;
                    last_digit = Some(j);
                }
                j += 1;
            }
            if digits >= 7
                && let Some(end) = last_digit
            {
                out.push_str("[phone]");
                i = end + 1;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn mask_name(text: &str, name: &str) -> String {
    let mut out = text.to_owned();
    for word in name.split_whitespace().filter(|w| w.chars().count() >= 3) {
        let lower_word = word.to_lowercase();
        let mut masked = String::with_capacity(out.len());
        let mut rest = out.as_str();
        loop {
            let lower_rest = rest.to_lowercase();
            // Lowercasing may change byte lengths outside ASCII: only mask where it did not.
            let found = if lower_rest.len() == rest.len() {
                lower_rest.find(&lower_word)
            } else {
                rest.find(word)
            };
            let Some(at) = found else {
                masked.push_str(rest);
                break;
            };
            let end = at + word.len();
            let bounded = !rest[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
                && !rest[end..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphanumeric);
            masked.push_str(&rest[..at]);
            masked.push_str(if bounded { "[name]" } else { &rest[at..end] });
            rest = &rest[end..];
        }
        out = masked;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maria() -> Contact {
        Contact {
            name: Some("Maria Lopez".into()),
            phone: Some("+17185550142".into()),
            email: Some("maria@example.com".into()),
        }
    }

    #[test]
    fn given_words_with_contact_details_when_masked_then_none_is_left() {
        for (text, want) in [
            (
                "Yes, call me at (718) 555-0142.",
                "Yes, call me at [phone].",
            ),
            (
                "sure, maria@example.com or 718.555.0142",
                "sure, [email] or [phone]",
            ),
            (
                "This is Maria Lopez, please delete my data",
                "This is [name] [name], please delete my data",
            ),
            (
                "yes, have an installer call me",
                "yes, have an installer call me",
            ),
            (
                "my bill is $300 and my zip is 11215",
                "my bill is $300 and my zip is 11215",
            ),
            ("MARIA says yes", "[name] says yes"),
            ("Mariana says yes", "Mariana says yes"),
        ] {
            assert_eq!(mask_contact(text, &maria()), want, "{text:?}");
        }
    }

    #[test]
    fn given_a_contact_when_its_fields_are_listed_then_only_held_ones_count() {
        assert_eq!(
            held_fields(&maria()),
            [ContactField::Name, ContactField::Phone, ContactField::Email]
        );
        let phone_only = Contact {
            phone: Some("+17185550142".into()),
            ..Contact::default()
        };
        assert_eq!(held_fields(&phone_only), [ContactField::Phone]);
        assert!(held_fields(&Contact::default()).is_empty());
    }
}
