//! Standard Webhooks signatures, for both directions: the deliveries we post to buyers and
//! the feedback buyers post to us. The signed content is `{webhook-id}.{webhook-timestamp}.{body}`,
//! HMAC-SHA256 with the key inside the `whsec_` secret, sent as `webhook-signature: v1,<base64>`
//! (several space-separated while a key rotates). A verification failure tells the caller
//! nothing about which part was wrong; its [`VerifyFailure`] is for logs and metrics only.
//!
//! HMAC and SHA-256 come from RustCrypto (`hmac`, `sha2`, already linked by the AWS SDK),
//! the tag comparison is `Mac::verify_slice` (constant time). The `standardwebhooks` crate
//! reads the wall clock inside `verify`, which rules it out here (the time is passed in,
//! and tests need stale and future timestamps); the tests check this module against it.

use crate::domain::buyer::WebhookSecret;
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// How far a signature's timestamp may be from the receiver's clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

const VERSION: &str = "v1";
/// Longest `webhook-id` accepted; ours are `msg_` + 32 hex digits.
const MAX_ID_LEN: usize = 256;
/// Most signatures looked at in one header: a rotation needs two or three.
const MAX_SIGNATURES: usize = 8;
/// Longest `webhook-signature` header accepted.
const MAX_SIGNATURE_HEADER_LEN: usize = 1024;

type HmacSha256 = Hmac<Sha256>;

/// The three headers of one signed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// `v1,<base64>`, or several of them separated by spaces.
    pub signature: String,
}

impl SignatureHeaders {
    /// Adds the three headers to `headers`, replacing any already there.
    pub fn apply(&self, headers: &mut HeaderMap) -> Result<(), SignError> {
        let value = |text: &str| HeaderValue::from_str(text).map_err(|_| SignError::InvalidId);
        headers.insert(HEADER_ID, value(&self.id)?);
        headers.insert(HEADER_TIMESTAMP, HeaderValue::from(self.timestamp));
        headers.insert(HEADER_SIGNATURE, value(&self.signature)?);
        Ok(())
    }

    pub fn to_header_map(&self) -> Result<HeaderMap, SignError> {
        let mut headers = HeaderMap::new();
        self.apply(&mut headers)?;
        Ok(headers)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The secret's key is not base64 (a [`WebhookSecret`] is checked when parsed, so this
    /// only happens if that check and this one disagree).
    #[error("webhook secret is not usable")]
    InvalidSecret,
    #[error("webhook id must be 1 to {MAX_ID_LEN} visible ASCII characters")]
    InvalidId,
}

/// Signs `body` as message `msg_id` sent at `at`.
pub fn sign(
    secret: &WebhookSecret,
    msg_id: &str,
    at: DateTime<Utc>,
    body: &[u8],
) -> Result<SignatureHeaders, SignError> {
    if !valid_id(msg_id) {
        return Err(SignError::InvalidId);
    }
    let timestamp = at.timestamp();
    let tag = keyed(secret)
        .ok_or(SignError::InvalidSecret)?
        .signed_content(msg_id, timestamp, body)
        .finalize()
        .into_bytes();
    Ok(SignatureHeaders {
        id: msg_id.to_owned(),
        timestamp,
        signature: format!("{VERSION},{}", BASE64.encode(tag)),
    })
}

/// Signs `body` with each of `secrets` (a key rotation's overlap): one `v1` signature per
/// secret, space-separated, as Standard Webhooks allows, so a receiver holding either key
/// verifies it.
pub fn sign_all(
    secrets: &[WebhookSecret],
    msg_id: &str,
    at: DateTime<Utc>,
    body: &[u8],
) -> Result<SignatureHeaders, SignError> {
    let mut signed: Option<SignatureHeaders> = None;
    for secret in secrets {
        let one = sign(secret, msg_id, at, body)?;
        match &mut signed {
            None => signed = Some(one),
            Some(all) => {
                all.signature.push(' ');
                all.signature.push_str(&one.signature);
            }
        }
    }
    signed.ok_or(SignError::InvalidSecret)
}

/// Why a message did not verify. For logs and metrics: the caller answers every failure
/// the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyFailure {
    /// A header is absent.
    MissingHeader,
    /// A header is present but not in the scheme's form (not ASCII, not a number, too long…).
    MalformedHeader,
    /// The timestamp is more than [`TOLERANCE_SECS`] from now, in the past or the future.
    Stale,
    /// No signature matches any secret.
    BadSignature,
}

impl VerifyFailure {
    /// A metric dimension.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyFailure::MissingHeader => "missing_header",
            VerifyFailure::MalformedHeader => "malformed_header",
            VerifyFailure::Stale => "stale",
            VerifyFailure::BadSignature => "bad_signature",
        }
    }
}

/// A message that did not verify. Its `Display` is the same whatever went wrong.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("webhook signature could not be verified")]
pub struct VerifyError(VerifyFailure);

impl VerifyError {
    pub fn failure(self) -> VerifyFailure {
        self.0
    }
}

impl fmt::Debug for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyError({})", self.0.as_str())
    }
}

/// Verifies a message against one secret. See [`verify_any`].
pub fn verify(
    secret: &WebhookSecret,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    verify_any(std::slice::from_ref(secret), headers, body, now)
}

/// Verifies a message: the headers are present and well formed, the timestamp is within
/// [`TOLERANCE_SECS`] of `now`, and one `v1` signature of the header matches one of
/// `secrets` (a receiver holding the old and the new key while a sender rotates).
/// Signatures of other versions are ignored.
pub fn verify_any(
    secrets: &[WebhookSecret],
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    let (id, timestamp, sig) = signed_headers(headers, now)?;
    let tags: Vec<Vec<u8>> = sig
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == VERSION)
        .filter_map(|(_, b64)| BASE64.decode(b64).ok())
        .take(MAX_SIGNATURES)
        .collect();
    for key in secrets.iter().filter_map(keyed) {
        let mac = key.signed_content(id, timestamp, body);
        if tags.iter().any(|tag| mac.clone().verify_slice(tag).is_ok()) {
            return Ok(());
        }
    }
    Err(VerifyError(VerifyFailure::BadSignature))
}

/// The part of [`verify_any`] that needs no secret: the headers are present, well formed
/// and fresh. A receiver runs it before looking a sender's secret up, so a flood of
/// unsigned or stale requests costs no store read, and it answers the same whoever the
/// request claims to be.
pub fn precheck(headers: &HeaderMap, now: DateTime<Utc>) -> Result<(), VerifyError> {
    signed_headers(headers, now).map(|_| ())
}

/// The id, the timestamp and the signatures of a message whose headers pass [`precheck`].
fn signed_headers(
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<(&str, i64, &str), VerifyError> {
    let fail = |f| Err(VerifyError(f));
    let (Some(id), Some(ts), Some(sig)) = (
        headers.get(HEADER_ID),
        headers.get(HEADER_TIMESTAMP),
        headers.get(HEADER_SIGNATURE),
    ) else {
        return fail(VerifyFailure::MissingHeader);
    };
    let (Ok(id), Ok(ts), Ok(sig)) = (id.to_str(), ts.to_str(), sig.to_str()) else {
        return fail(VerifyFailure::MalformedHeader);
    };
    let Some(timestamp) = parse_timestamp(ts) else {
        return fail(VerifyFailure::MalformedHeader);
    };
    if !valid_id(id) || sig.len() > MAX_SIGNATURE_HEADER_LEN {
        return fail(VerifyFailure::MalformedHeader);
    }
    if now.timestamp().abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return fail(VerifyFailure::Stale);
    }
    Ok((id, timestamp, sig))
}

/// An HMAC keyed with a secret's key, ready to take the signed content.
struct Keyed(HmacSha256);

impl Keyed {
    fn signed_content(&self, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

fn keyed(secret: &WebhookSecret) -> Option<Keyed> {
    let encoded = secret.expose().strip_prefix(WebhookSecret::PREFIX)?;
    let key = BASE64.decode(encoded).ok()?;
    // An empty key would make every signature forgeable; `WebhookSecret` already refuses
    // keys under 24 bytes, this guards the scheme itself.
    if key.is_empty() {
        return None;
    }
    HmacSha256::new_from_slice(&key).ok().map(Keyed)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Unix seconds as the header carries them: ASCII digits only (no sign, no spaces).
fn parse_timestamp(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const EXPECTED: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).expect("secret")
    }

    fn other_secret() -> WebhookSecret {
        WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret")
    }

    fn at(ts: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(ts, 0).single().expect("time")
    }

    fn signed() -> HeaderMap {
        sign(&secret(), ID, at(TS), BODY)
            .expect("sign")
            .to_header_map()
            .expect("headers")
    }

    fn failure(r: Result<(), VerifyError>) -> VerifyFailure {
        r.expect_err("must not verify").failure()
    }

    #[test]
    fn given_the_spec_vector_when_signed_then_the_signature_is_the_published_one() {
        let headers = sign(&secret(), ID, at(TS), BODY).expect("sign");
        assert_eq!(headers.signature, EXPECTED);
        assert_eq!(headers.timestamp, TS);
        assert_eq!(headers.id, ID);
        let map = headers.to_header_map().expect("headers");
        assert_eq!(map[HEADER_TIMESTAMP], "1649367553");
        assert_eq!(map[HEADER_SIGNATURE], EXPECTED);
    }

    #[test]
    fn given_the_spec_vector_when_verified_at_its_time_then_it_passes() {
        assert_eq!(verify(&secret(), &signed(), BODY, at(TS)), Ok(()));
    }

    #[test]
    fn given_a_timestamp_at_the_tolerance_edge_then_it_passes_and_one_second_past_it_is_stale() {
        let headers = signed();
        assert_eq!(verify(&secret(), &headers, BODY, at(TS + 300)), Ok(()));
        assert_eq!(verify(&secret(), &headers, BODY, at(TS - 300)), Ok(()));
        // Stale: received six minutes after it was signed.
        assert_eq!(
            failure(verify(&secret(), &headers, BODY, at(TS + 301))),
            VerifyFailure::Stale
        );
        // From the future: the receiver's clock is six minutes behind.
        assert_eq!(
            failure(verify(&secret(), &headers, BODY, at(TS - 301))),
            VerifyFailure::Stale
        );
    }

    #[test]
    fn given_a_tampered_body_id_or_timestamp_when_verified_then_the_signature_is_bad() {
        let tampered = br#"{"email":"test@example.com","username":"test_user2"}"#;
        assert_eq!(
            failure(verify(&secret(), &signed(), tampered, at(TS))),
            VerifyFailure::BadSignature
        );
        let mut other_id = signed();
        other_id.insert(HEADER_ID, HeaderValue::from_static("msg_other"));
        assert_eq!(
            failure(verify(&secret(), &other_id, BODY, at(TS))),
            VerifyFailure::BadSignature
        );
        let mut other_ts = signed();
        other_ts.insert(HEADER_TIMESTAMP, HeaderValue::from(TS + 1));
        assert_eq!(
            failure(verify(&secret(), &other_ts, BODY, at(TS))),
            VerifyFailure::BadSignature
        );
        assert_eq!(
            failure(verify(&other_secret(), &signed(), BODY, at(TS))),
            VerifyFailure::BadSignature
        );
    }

    #[test]
    fn given_several_signatures_when_one_matches_then_it_passes() {
        // GIVEN a sender rotating its key: the old key's signature and the new one's
        let new = sign(&other_secret(), ID, at(TS), BODY).expect("sign");
        let mut headers = signed();
        let both = format!("v1,bm9wZQ== {} {EXPECTED} v2,ignored", new.signature);
        headers.insert(
            HEADER_SIGNATURE,
            HeaderValue::from_str(&both).expect("ascii"),
        );
        // THEN a receiver with either key accepts it
        assert_eq!(verify(&secret(), &headers, BODY, at(TS)), Ok(()));
        assert_eq!(verify(&other_secret(), &headers, BODY, at(TS)), Ok(()));
    }

    #[test]
    fn given_a_receiver_holding_two_keys_when_the_sender_uses_either_then_it_passes() {
        let keys = [other_secret(), secret()];
        assert_eq!(verify_any(&keys, &signed(), BODY, at(TS)), Ok(()));
        assert_eq!(
            failure(verify_any(&keys[..1], &signed(), BODY, at(TS))),
            VerifyFailure::BadSignature
        );
        assert_eq!(
            failure(verify_any(&[], &signed(), BODY, at(TS))),
            VerifyFailure::BadSignature
        );
    }

    #[test]
    fn given_missing_headers_when_verified_then_each_is_missing() {
        for name in [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE] {
            let mut headers = signed();
            headers.remove(name);
            assert_eq!(
                failure(verify(&secret(), &headers, BODY, at(TS))),
                VerifyFailure::MissingHeader,
                "{name}"
            );
        }
    }

    #[test]
    fn given_malformed_headers_when_verified_then_none_passes() {
        let cases: [(&str, &[u8], VerifyFailure); 11] = [
            (
                HEADER_TIMESTAMP,
                b"+1649367553",
                VerifyFailure::MalformedHeader,
            ),
            (HEADER_TIMESTAMP, b"-1", VerifyFailure::MalformedHeader),
            (
                HEADER_TIMESTAMP,
                b"1649367553.0",
                VerifyFailure::MalformedHeader,
            ),
            (
                HEADER_TIMESTAMP,
                b"99999999999999999999",
                VerifyFailure::MalformedHeader,
            ),
            (HEADER_TIMESTAMP, b"", VerifyFailure::MalformedHeader),
            (HEADER_ID, b"", VerifyFailure::MalformedHeader),
            (HEADER_ID, b"msg \xff", VerifyFailure::MalformedHeader),
            // Truncated signatures: `v1,` and the first 8 characters.
            (HEADER_SIGNATURE, b"v1,", VerifyFailure::BadSignature),
            (HEADER_SIGNATURE, b"v1,tZ1I4", VerifyFailure::BadSignature),
            (
                HEADER_SIGNATURE,
                b"tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
                VerifyFailure::BadSignature,
            ),
            (
                HEADER_SIGNATURE,
                b"v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
                VerifyFailure::BadSignature,
            ),
        ];
        for (name, value, expected) in cases {
            let mut headers = signed();
            headers.insert(name, HeaderValue::from_bytes(value).expect("header bytes"));
            assert_eq!(
                failure(verify(&secret(), &headers, BODY, at(TS))),
                expected,
                "{name}: {value:?}"
            );
        }
        let mut long = signed();
        let many = vec![EXPECTED; 200].join(" ");
        long.insert(
            HEADER_SIGNATURE,
            HeaderValue::from_str(&many).expect("ascii"),
        );
        assert_eq!(
            failure(verify(&secret(), &long, BODY, at(TS))),
            VerifyFailure::MalformedHeader
        );
    }

    #[test]
    fn given_any_failure_when_displayed_then_the_text_is_the_same() {
        let texts: std::collections::BTreeSet<String> = [
            VerifyFailure::MissingHeader,
            VerifyFailure::MalformedHeader,
            VerifyFailure::Stale,
            VerifyFailure::BadSignature,
        ]
        .into_iter()
        .map(|f| VerifyError(f).to_string())
        .collect();
        assert_eq!(texts.len(), 1, "{texts:?}");
    }

    #[test]
    fn given_a_bad_id_when_signing_then_it_is_refused() {
        assert_eq!(sign(&secret(), "", at(TS), BODY), Err(SignError::InvalidId));
        assert_eq!(
            sign(&secret(), "msg one", at(TS), BODY),
            Err(SignError::InvalidId)
        );
    }

    #[test]
    fn given_the_reference_implementation_then_it_agrees_on_the_spec_vector() {
        let reference = standardwebhooks::Webhook::new(SECRET).expect("reference key");
        assert_eq!(reference.sign(ID, TS, BODY).expect("reference"), EXPECTED);
    }

    proptest! {
        #[test]
        fn any_message_signed_here_matches_the_reference_and_verifies(
            id in "[A-Za-z0-9_-]{1,64}",
            ts in 0i64..4_000_000_000,
            body in ".{0,256}",
        ) {
            let ours = sign(&secret(), &id, at(ts), body.as_bytes()).expect("sign");
            let reference = standardwebhooks::Webhook::new(SECRET).expect("key");
            prop_assert_eq!(
                &ours.signature,
                &reference.sign(&id, ts, body.as_bytes()).expect("reference")
            );
            let headers = ours.to_header_map().expect("headers");
            prop_assert_eq!(verify(&secret(), &headers, body.as_bytes(), at(ts)), Ok(()));
        }

        #[test]
        fn arbitrary_headers_and_bodies_never_panic_and_never_verify(
            id in proptest::collection::vec(any::<u8>(), 0..80),
            ts in proptest::collection::vec(any::<u8>(), 0..24),
            sig in proptest::collection::vec(any::<u8>(), 0..200),
            body in proptest::collection::vec(any::<u8>(), 0..512),
            drop in proptest::option::of(0usize..3),
        ) {
            let mut headers = HeaderMap::new();
            for (i, (name, value)) in [(HEADER_ID, id), (HEADER_TIMESTAMP, ts), (HEADER_SIGNATURE, sig)]
                .into_iter()
                .enumerate()
            {
                if drop == Some(i) {
                    continue;
                }
                if let Ok(v) = HeaderValue::from_bytes(&value) {
                    headers.insert(name, v);
                }
            }
            let now = at(TS);
            prop_assert!(verify(&secret(), &headers, &body, now).is_err());
        }

        #[test]
        fn a_signed_message_with_any_changed_body_byte_never_verifies(
            body in proptest::collection::vec(any::<u8>(), 1..256),
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let headers = sign(&secret(), ID, at(TS), &body)
                .expect("sign")
                .to_header_map()
                .expect("headers");
            let mut tampered = body.clone();
            let i = index.index(tampered.len());
            tampered[i] ^= flip;
            prop_assert_eq!(
                failure(verify(&secret(), &headers, &tampered, at(TS))),
                VerifyFailure::BadSignature
            );
        }
    }
}
