//! Error text that is safe to log: whole source chains, and decode failures described
//! without quoting the data (stored items and messages hold personal details).

/// An error with its whole source chain: the SDKs' own messages are terse ("dispatch
/// failure"), the cause (e.g. "connection refused") sits further down.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A decoding failure described without quoting the data.
pub fn decode_failure(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_message_with_a_phone_in_a_bad_field_when_decoding_fails_then_the_text_does_not_quote_it()
     {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Lead {
            score: u8,
        }
        let body = r#"{"score": "+17185550142 maria@example.com"}"#;
        let e = serde_json::from_str::<Lead>(body).expect_err("a string is not a score");
        assert!(
            e.to_string().contains("7185550142"),
            "serde's own text quotes the value"
        );
        let safe = decode_failure(&e);
        assert!(!safe.contains("7185550142"), "{safe}");
        assert!(!safe.contains("maria"), "{safe}");
        assert!(safe.contains("line 1"), "{safe}");
    }
}
