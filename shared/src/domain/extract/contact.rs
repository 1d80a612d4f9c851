//! Contact details: e-mail addresses and US phone numbers (normalised to E.164).

use super::ascii_regex;
use regex::Regex;
use std::sync::LazyLock;

static EMAIL_RE: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,24}\b"));

static PHONE_RE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?:\+ ?1|\b1)?[ .\-]?(?:\(([0-9]{3})\)|([0-9]{3}))[ .\-]?([0-9]{3})[ .\-]?([0-9]{4})",
    )
});

/// The first valid US phone number (E.164) and the spans of every phone-shaped match
/// (valid or not), which are then no candidates for ZIPs or bills.
pub(super) fn find_phone(lower: &str) -> (Option<String>, Vec<(usize, usize)>) {
    let bytes = lower.as_bytes();
    let mut phone = None;
    let mut spans = Vec::new();
    for caps in PHONE_RE.captures_iter(lower) {
        let Some(m) = caps.get(0) else { continue };
        let before_digit = m.start() > 0 && bytes[m.start() - 1].is_ascii_digit();
        let after_digit = bytes.get(m.end()).is_some_and(|b| b.is_ascii_digit());
        if before_digit || after_digit {
            continue;
        }
        spans.push((m.start(), m.end()));
        let area = caps
            .get(1)
            .or_else(|| caps.get(2))
            .map_or("", |g| g.as_str());
        let exchange = caps.get(3).map_or("", |g| g.as_str());
        let line = caps.get(4).map_or("", |g| g.as_str());
        let valid = |s: &str| {
            s.as_bytes()
                .first()
                .is_some_and(|b| (b'2'..=b'9').contains(b))
        };
        if phone.is_none() && valid(area) && valid(exchange) && line.len() == 4 {
            phone = Some(format!("+1{area}{exchange}{line}"));
        }
    }
    (phone, spans)
}

/// The first e-mail address and its byte span, which is then no candidate for a ZIP or a
/// bill.
pub(super) fn find_email(lower: &str) -> Option<(String, (usize, usize))> {
    if !lower.contains('@') {
        return None;
    }
    let m = EMAIL_RE.find(lower)?;
    Some((m.as_str().to_owned(), (m.start(), m.end())))
}

#[cfg(test)]
mod tests {
    use crate::domain::extract::test_support::check;

    #[test]
    fn contact_details() {
        check(
            "phone",
            |f| f.phone.clone(),
            &[
                ("(718) 555-0142", Some("+17185550142".to_owned())),
                ("718-555-0142", Some("+17185550142".to_owned())),
                ("718.555.0142", Some("+17185550142".to_owned())),
                ("+1 718 555 0142", Some("+17185550142".to_owned())),
                ("7185550142", Some("+17185550142".to_owned())),
                ("1-718-555-0142", Some("+17185550142".to_owned())),
                ("555-0142", None),
                ("71855501423", None),
                ("123-456-7890", None),
            ],
        );
        check(
            "email",
            |f| f.email.clone(),
            &[
                (
                    "reach me at Maria.Lopez@Example.com",
                    Some("maria.lopez@example.com".to_owned()),
                ),
                (
                    "me+solar@mail.co.uk.",
                    Some("me+solar@mail.co.uk".to_owned()),
                ),
                ("not an email @ all", None),
            ],
        );
    }
}
