//! `aurum buyers import <file>`: the buyer file (TOML, one `[[buyer]]` table per buyer)
//! read, every buyer validated, then all written in one transaction. A bad file names the
//! buyer and the field and imports nothing. Secrets are never printed.

use aurum::domain::buyer::{Buyer, BuyerError, WebhookSecret};
use aurum::domain::terms::BuyerTerms;
use serde::Deserialize;
use std::collections::HashSet;

/// The buyers the project ships as an example (and `aurum serve` starts with).
pub const EXAMPLE_FILE: &str = include_str!("../../examples/buyers.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuyerFile {
    #[serde(default)]
    buyer: Vec<BuyerTerms>,
}

/// Why a buyer file was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    #[error("the file is not valid TOML for buyers: {0}")]
    Syntax(String),
    #[error(transparent)]
    Buyer(#[from] BuyerError),
    #[error("the file lists no buyer")]
    Empty,
    #[error("buyer {0} is listed twice")]
    Duplicate(String),
    #[error("at most 100 buyers per file")]
    TooMany,
}

/// Parses and validates a whole buyer file: every buyer, or the first error.
pub fn parse(text: &str) -> Result<Vec<Buyer>, ImportError> {
    // TOML's own messages can quote a line of the file, and a line may hold a secret:
    // keep the message, not the excerpt.
    let file: BuyerFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        let message = e.message().lines().next().unwrap_or("").to_owned();
        ImportError::Syntax(match line {
            Some(line) => format!("line {line}: {message}"),
            None => message,
        })
    })?;
    if file.buyer.is_empty() {
        return Err(ImportError::Empty);
    }
    if file.buyer.len() > 100 {
        return Err(ImportError::TooMany);
    }
    let mut seen = HashSet::new();
    let mut buyers = Vec::with_capacity(file.buyer.len());
    for entry in file.buyer {
        if !seen.insert(entry.id.clone()) {
            return Err(ImportError::Duplicate(entry.id));
        }
        let id = entry.id.clone();
        let secret = entry
            .secret
            .as_deref()
            .ok_or("is required in a buyer file".to_owned())
            .and_then(WebhookSecret::parse)
            .map_err(|reason| BuyerError {
                buyer: id,
                field: "secret",
                reason,
            })?;
        buyers.push(entry.into_buyer(secret)?);
    }
    Ok(buyers)
}

/// The example buyers with their webhooks pointed at the sandbox inbox `base` serves.
pub fn example_buyers_for_sandbox(base: &str) -> Result<Vec<Buyer>, ImportError> {
    let mut buyers = parse(EXAMPLE_FILE)?;
    for b in &mut buyers {
        b.webhook_url = format!("{base}/sandbox/buyers/{}/leads", b.id);
        if let Some(ping) = &mut b.ping_post {
            ping.ping_url = format!("{base}/sandbox/buyers/{}/ping", b.id);
        }
    }
    Ok(buyers)
}

/// The example buyer file with every webhook pointed at the sandbox inbox at `base`
/// (what [`example_buyers_for_sandbox`] builds, as a file `aurum buyers import` reads).
/// With `unbounded`, every buyer also takes leads at any hour of any day up to the largest
/// daily cap, so that a throughput run measures sales whenever and however long it runs.
pub fn with_webhooks_at(base: &str, unbounded: bool) -> String {
    let mut id = String::new();
    let mut out = String::with_capacity(EXAMPLE_FILE.len());
    for line in EXAMPLE_FILE.lines() {
        let trimmed = line.trim_start();
        if let Some(value) = trimmed.strip_prefix("id = ") {
            id = value.trim_matches('"').to_owned();
        }
        let key = trimmed.split(" = ").next().unwrap_or_default();
        let replaced = match key {
            "webhook_url" => Some(format!(
                "webhook_url = \"{base}/sandbox/buyers/{id}/leads\""
            )),
            "ping_url" => Some(format!("ping_url = \"{base}/sandbox/buyers/{id}/ping\"")),
            "days" if unbounded => {
                Some(r#"days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]"#.to_owned())
            }
            "open" | "close" if unbounded => Some(format!("{key} = \"00:00\"")),
            "daily_cap" if unbounded => Some("daily_cap = 100000".to_owned()),
            _ => None,
        };
        out.push_str(replaced.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_sandbox_base_when_the_file_is_rewritten_then_it_parses_to_the_sandbox_buyers() {
        let base = "http://127.0.0.1:4321";
        let rewritten = parse(&with_webhooks_at(base, false)).expect("the rewritten file is valid");
        let sandbox = example_buyers_for_sandbox(base).expect("sandbox buyers");
        assert_eq!(rewritten.len(), sandbox.len());
        for (a, b) in rewritten.iter().zip(&sandbox) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.webhook_url, b.webhook_url);
            assert_eq!(a.daily_cap, b.daily_cap);
        }
    }

    #[test]
    fn given_unbounded_when_the_file_is_rewritten_then_every_buyer_takes_leads_all_day_every_day() {
        let buyers = parse(&with_webhooks_at("http://127.0.0.1:4321", true)).expect("valid");
        assert!(!buyers.is_empty());
        for b in &buyers {
            assert_eq!(b.daily_cap, 100_000, "{}", b.id);
            assert_eq!(b.hours.open, b.hours.close, "{}", b.id);
            assert_eq!(b.hours.days.len(), 7, "{}", b.id);
        }
    }

    #[test]
    fn given_the_example_file_when_parsed_then_every_buyer_validates() {
        let buyers = parse(EXAMPLE_FILE).expect("the example file is valid");
        let ids: Vec<&str> = buyers.iter().map(|b| b.id.as_str()).collect();
        for guide in ["solarreviews", "modernize", "installer_direct"] {
            assert!(ids.contains(&guide), "{ids:?}");
        }
        assert!(
            buyers
                .iter()
                .any(|b| b.area.boroughs.is_empty() && b.daily_cap <= 5),
            "a local installer with a narrow area and a small cap"
        );
    }

    #[test]
    fn given_a_bad_field_when_imported_then_the_buyer_and_field_are_named() {
        let text = EXAMPLE_FILE.replacen("price_cap_cents = 40000", "price_cap_cents = 100", 1);
        match parse(&text) {
            Err(ImportError::Buyer(e)) => {
                assert_eq!(e.field, "price_cap_cents");
                assert!(!e.buyer.is_empty());
            }
            other => panic!("expected a buyer error, got {other:?}"),
        }
    }

    #[test]
    fn given_a_malformed_secret_when_imported_then_the_error_never_shows_it() {
        let text = EXAMPLE_FILE.replacen("secret = \"whsec_", "secret = \"whsecX_", 1);
        let e = parse(&text).expect_err("bad secret");
        let shown = e.to_string();
        assert!(shown.contains("secret"), "{shown}");
        assert!(!shown.contains("whsecX_"), "{shown}");
        let broken = EXAMPLE_FILE.replacen("secret = \"whsec_", "secret = whsec_", 1);
        let shown = parse(&broken).expect_err("not TOML").to_string();
        assert!(!shown.contains("whsec_"), "{shown}");
    }

    #[test]
    fn given_unknown_fields_or_duplicates_when_imported_then_nothing_is_accepted() {
        let text = format!("{EXAMPLE_FILE}\n[[buyer]]\nid = \"x\"\ncolour = \"red\"\n");
        assert!(matches!(parse(&text), Err(ImportError::Syntax(_))));
        let first = EXAMPLE_FILE.split("[[buyer]]").nth(1).expect("one buyer");
        let doubled = format!("[[buyer]]{first}\n[[buyer]]{first}");
        assert!(matches!(parse(&doubled), Err(ImportError::Duplicate(_))));
        assert_eq!(parse(""), Err(ImportError::Empty));
    }
}
