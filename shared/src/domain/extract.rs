//! Fact extraction from free text.

use super::facts::MessageFacts;

pub fn extract(_text: &str) -> MessageFacts {
    MessageFacts::default()
}
