//! The sandbox buyer inbox that `aurum serve` answers for the example buyers, so a local
//! chat ends sold and delivered with nothing else running. It behaves like a buyer's
//! webhook: it verifies the signature with that buyer's secret, then each buyer decides on
//! its own, for a reason that is true of the lead ([`decide`]). Local only: no deployed
//! function serves it.

use aurum::delivery::{BidReply, BuyerMessage, BuyerReply, LeadPing, LeadSold};
use aurum::domain::buyer::{BuyerId, WebhookSecret};
use aurum::domain::sale::normalise_contact;
use aurum::http::MAX_BODY_BYTES;
use aurum::webhooks;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;

/// The inbox route, one per buyer.
pub const INBOX_ROUTE: &str = "/sandbox/buyers/{buyer_id}/leads";
/// The ping route of the sandbox ping-post buyers.
pub const PING_ROUTE: &str = "/sandbox/buyers/{buyer_id}/ping";

/// The webhook URL of `buyer`'s sandbox inbox on a server at `base` (`http://127.0.0.1:8080`).
pub fn inbox_url(base: &str, buyer: &BuyerId) -> String {
    format!(
        "{}/sandbox/buyers/{buyer}/leads",
        base.trim_end_matches('/')
    )
}

/// The inbox for these buyers: `POST /sandbox/buyers/{buyer_id}/leads`. Answers 404 for a
/// buyer it does not know, 401 when the signature does not verify with that buyer's secret,
/// 422 when the body is not a message; otherwise 200 with the buyer's reply.
pub fn sandbox_inbox(secrets: HashMap<BuyerId, WebhookSecret>) -> Router {
    let inbox = Inbox {
        secrets,
        held: Mutex::new(HashMap::new()),
    };
    Router::new()
        .route(INBOX_ROUTE, post(receive))
        .route(PING_ROUTE, post(receive_ping))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(inbox))
}

/// Why a sandbox buyer refuses a lead, each a fact about the lead or the buyer.
pub mod reason {
    /// The buyer already holds this homeowner's phone or email (from an earlier lead).
    pub const DUPLICATE: &str = "duplicate";
    /// The homeowner did not say they own the home.
    pub const NOT_HOMEOWNER: &str = "not_homeowner";
    /// The buyer's call center has no one free this hour to call within its promise.
    pub const CALL_CENTER_FULL: &str = "call_center_full";
}

/// How a sandbox buyer decides on a sold lead, as a buyer's intake would, each buyer on its
/// own: it refuses a homeowner it already holds and a lead without a confirmed homeowner; otherwise it takes the lead unless its call center is full, which
/// happens for about one lead in ten, drawn from (buyer, lead): another buyer decides the
/// same lead independently, and the same buyer always answers the same lead the same way.
pub fn decide(buyer: &BuyerId, lead: &LeadSold, already_held: bool) -> BuyerReply {
    if already_held {
        return BuyerReply::reject(reason::DUPLICATE);
    }
    if lead.property.homeowner != Some(true) {
        return BuyerReply::reject(reason::NOT_HOMEOWNER);
    }
    if draw(buyer, &lead.lead_id).is_multiple_of(10) {
        BuyerReply::reject(reason::CALL_CENTER_FULL)
    } else {
        BuyerReply::accept()
    }
}

/// A number drawn from (buyer, id): the same buyer answers the same lead or ping the same
/// way, and another buyer independently.
fn draw(buyer: &BuyerId, id: &str) -> u64 {
    let digest = Sha256::digest(format!("{buyer}|{id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// How a sandbox ping-post buyer bids, from what the ping says and nothing else: by tier
/// (premium $190, standard $120, basic $70), ±$15 drawn from (buyer, ping), less 10 % a day
/// of the lead's age; it passes on about one ping in eight, and bids nothing under the
/// reserve. The same ping always gets the same answer.
pub fn bid(buyer: &BuyerId, ping: &LeadPing) -> BidReply {
    let draw = draw(buyer, &ping.ping_id);
    let pass = BidReply {
        bid: false,
        price_cents: None,
        bid_id: None,
        reason: Some("no_bid".to_owned()),
    };
    if draw.is_multiple_of(8) {
        return pass;
    }
    let base: i64 = match ping.tier {
        aurum::domain::scoring::QualityTier::Premium => 19_000,
        aurum::domain::scoring::QualityTier::Standard => 12_000,
        _ => 7_000,
    };
    let spread = (draw / 8 % 3_001) as i64 - 1_500;
    let days = i64::from(ping.age_hours / 24);
    let price = (base + spread) * (10 - days.min(9)) / 10;
    if price < ping.reserve_price_cents.0 {
        return pass;
    }
    BidReply {
        bid: true,
        price_cents: Some(price),
        bid_id: Some(format!("sbx_{:016x}", draw)),
        reason: None,
    }
}

async fn receive_ping(
    State(inbox): State<Shared>,
    Path(buyer_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let buyer = match inbox.verified(&buyer_id, &headers, &body) {
        Ok(buyer) => buyer,
        Err(refused) => return *refused,
    };
    match serde_json::from_slice::<BuyerMessage>(&body) {
        Ok(BuyerMessage::LeadPing { data, .. }) if data.buyer_id == *buyer => {
            (StatusCode::OK, Json(bid(buyer, &data))).into_response()
        }
        _ => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed_payload",
            "not a ping for this buyer",
        ),
    }
}

/// The inbox's state: each buyer's secret, and the homeowners each buyer took (as hashes
/// of their normalised phone and email, with the lead that brought them).
struct Inbox {
    secrets: HashMap<BuyerId, WebhookSecret>,
    held: Mutex<HashMap<BuyerId, HashMap<[u8; 32], String>>>,
}

impl Inbox {
    /// The sandbox buyer `buyer_id`, if the body is signed with its secret: else the
    /// answer a webhook gives (404 unknown buyer, 401 bad signature, without saying why).
    fn verified(
        &self,
        buyer_id: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<&BuyerId, Box<Response>> {
        let Some((buyer, secret)) = BuyerId::parse(buyer_id)
            .ok()
            .and_then(|id| self.secrets.get_key_value(&id))
        else {
            return Err(Box::new(error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such sandbox buyer",
            )));
        };
        if let Err(e) = webhooks::verify(secret, headers, body, chrono::Utc::now()) {
            tracing::warn!(buyer_id = %buyer, failure = e.failure().as_str(), "sandbox buyer refused a message");
            return Err(Box::new(error(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                &e.to_string(),
            )));
        }
        Ok(buyer)
    }

    /// Decides on a sale and, when taken, remembers the homeowner for this buyer. A lead
    /// delivered again (a retry) is answered as the first time.
    fn decide(&self, buyer: &BuyerId, lead: &LeadSold) -> BuyerReply {
        let keys: HashSet<[u8; 32]> =
            [lead.contact.phone.as_deref(), lead.contact.email.as_deref()]
                .into_iter()
                .flatten()
                .filter_map(normalise_contact)
                .map(|k| Sha256::digest(k.as_bytes()).into())
                .collect();
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let mine = held.entry(buyer.clone()).or_default();
        let already = keys
            .iter()
            .any(|k| mine.get(k).is_some_and(|lead_id| *lead_id != lead.lead_id));
        let answer = decide(buyer, lead, already);
        if answer.accepted {
            for k in keys {
                mine.insert(k, lead.lead_id.clone());
            }
        }
        answer
    }
}

type Shared = Arc<Inbox>;

async fn receive(
    State(inbox): State<Shared>,
    Path(buyer_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let buyer = match inbox.verified(&buyer_id, &headers, &body) {
        Ok(buyer) => buyer,
        Err(refused) => return *refused,
    };
    let message: BuyerMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(_) => {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                BuyerReply::reject("malformed_payload"),
            );
        }
    };
    if message.buyer_id() != buyer {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            BuyerReply::reject("wrong_buyer"),
        );
    }
    let answer = match &message {
        BuyerMessage::LeadSold { data, .. } => inbox.decide(buyer, data),
        BuyerMessage::LeadWithdrawn { .. }
        | BuyerMessage::LeadReleased { .. }
        | BuyerMessage::LeadTest { .. } => BuyerReply::accept(),
        BuyerMessage::LeadPing { .. } => BuyerReply::reject("a ping goes to the ping route"),
    };
    tracing::info!(
        buyer_id = %buyer,
        lead_id = message.lead_id(),
        event_type = message.event_type(),
        accepted = answer.accepted,
        "sandbox inbox answered"
    );
    reply(StatusCode::OK, answer)
}

fn reply(status: StatusCode, answer: BuyerReply) -> Response {
    (status, Json(answer)).into_response()
}

/// The API's error body, `{"error": {"code", "message"}}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurum::webhooks::SignatureHeaders;
    use axum::body::Body;
    use axum::http::Request;
    use chrono::Utc;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const OTHER: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn id(s: &str) -> BuyerId {
        BuyerId::parse(s).expect("id")
    }

    fn inbox() -> Router {
        sandbox_inbox(HashMap::from([(
            id("solarreviews"),
            WebhookSecret::parse(SECRET).expect("secret"),
        )]))
    }

    fn withdrawal(lead: &str, buyer: &str) -> Vec<u8> {
        BuyerMessage::lead_withdrawn(lead, &id(buyer), Utc::now())
            .to_body()
            .expect("body")
    }

    /// A sold-lead body; only the fields the inbox reads matter, but it must parse.
    fn sold(lead: &str, buyer: &str) -> Vec<u8> {
        sold_with(lead, buyer, Some("+17185550142"), Some(true))
    }

    fn sold_with(lead: &str, buyer: &str, phone: Option<&str>, homeowner: Option<bool>) -> Vec<u8> {
        let now = Utc::now();
        let body = serde_json::json!({
            "type": "lead.sold", "schema": 1, "timestamp": now,
            "data": {
                "lead_id": lead, "buyer_id": buyer, "sold_at": now, "price_cents": 20000,
                "tier": "premium", "score": 90, "return_window_days": 7, "returnable_until": now,
                "contact": {"name": null, "phone": phone, "email": null},
                "consent": {"given_at": now, "words": "yes", "disclosure": null},
                "property": {"homeowner": homeowner, "property_type": null, "zip_code": null,
                             "borough": null, "neighborhood": null, "monthly_bill_cents": null},
                "interest": {"timeline": null, "decision_maker": null, "financing": null,
                             "credit": null, "competing_quotes": null,
                             "technical_topics": [], "open_objections": []}
            }
        });
        serde_json::to_vec(&body).expect("json")
    }

    fn signed(secret: &str, body: &[u8]) -> SignatureHeaders {
        let secret = WebhookSecret::parse(secret).expect("secret");
        webhooks::sign(&secret, "msg_sandbox_test", Utc::now(), body).expect("sign")
    }

    fn lead(body: &[u8]) -> LeadSold {
        match serde_json::from_slice::<BuyerMessage>(body).expect("message") {
            BuyerMessage::LeadSold { data, .. } => *data,
            other => panic!("not a sale: {other:?}"),
        }
    }

    async fn post(
        buyer: &str,
        headers: Option<SignatureHeaders>,
        body: Vec<u8>,
    ) -> (StatusCode, serde_json::Value) {
        post_to(inbox(), buyer, headers, body).await
    }

    async fn post_to(
        inbox: Router,
        buyer: &str,
        headers: Option<SignatureHeaders>,
        body: Vec<u8>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = Request::post(format!("/sandbox/buyers/{buyer}/leads"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request");
        if let Some(h) = headers {
            h.apply(request.headers_mut()).expect("headers");
        }
        let response = inbox.oneshot(request).await.expect("response");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, serde_json::from_slice(&bytes).expect("json body"))
    }

    #[tokio::test]
    async fn given_a_signed_sale_when_posted_then_the_sandbox_answers_with_its_decision() {
        // GIVEN a lead the buyer takes and one that finds its call center full
        let buyer = id("solarreviews");
        let pick = |accepted: bool| {
            (0..)
                .map(|n| format!("lead_{n}"))
                .find(|l| {
                    decide(&buyer, &lead(&sold(l, "solarreviews")), false).accepted == accepted
                })
                .expect("found")
        };
        for (lead_id, expected) in [
            (pick(true), serde_json::json!({"accepted": true})),
            (
                pick(false),
                serde_json::json!({"accepted": false, "reason": reason::CALL_CENTER_FULL}),
            ),
        ] {
            // WHEN each is delivered, signed with the buyer's secret
            let body = sold(&lead_id, "solarreviews");
            let (status, reply) = post("solarreviews", Some(signed(SECRET, &body)), body).await;
            // THEN the answer is 200 with the decision
            assert_eq!(status, StatusCode::OK);
            assert_eq!(reply, expected, "{lead_id}");
        }
    }

    #[tokio::test]
    async fn given_a_homeowner_the_buyer_took_when_another_lead_brings_them_then_it_is_a_duplicate()
    {
        let buyer = id("solarreviews");
        let taken: Vec<String> = (0..)
            .map(|n| format!("lead_{n}"))
            .filter(|l| decide(&buyer, &lead(&sold(l, "solarreviews")), false).accepted)
            .take(2)
            .collect();
        let inbox = inbox();
        let first = sold(&taken[0], "solarreviews");
        let (_, reply) = post_to(
            inbox.clone(),
            "solarreviews",
            Some(signed(SECRET, &first)),
            first.clone(),
        )
        .await;
        assert_eq!(reply, serde_json::json!({"accepted": true}));
        // WHEN a second lead carries the same phone
        let second = sold(&taken[1], "solarreviews");
        let (_, reply) = post_to(
            inbox.clone(),
            "solarreviews",
            Some(signed(SECRET, &second)),
            second,
        )
        .await;
        // THEN the buyer refuses it as a duplicate, and a retry of the first is still taken
        assert_eq!(
            reply,
            serde_json::json!({"accepted": false, "reason": reason::DUPLICATE})
        );
        let (_, reply) = post_to(inbox, "solarreviews", Some(signed(SECRET, &first)), first).await;
        assert_eq!(reply, serde_json::json!({"accepted": true}));
    }

    #[tokio::test]
    async fn given_a_signed_withdrawal_when_posted_then_it_is_accepted() {
        let body = withdrawal("lead_1", "solarreviews");
        let (status, reply) = post("solarreviews", Some(signed(SECRET, &body)), body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reply, serde_json::json!({"accepted": true}));
    }

    #[tokio::test]
    async fn given_an_unsigned_or_wrongly_signed_post_when_received_then_401_without_saying_why() {
        let body = withdrawal("lead_1", "solarreviews");
        let (unsigned, e1) = post("solarreviews", None, body.clone()).await;
        let other_key = signed(OTHER, &body);
        let (wrong_key, e2) = post("solarreviews", Some(other_key), body.clone()).await;
        let tampered = signed(SECRET, b"{}");
        let (wrong_body, e3) = post("solarreviews", Some(tampered), body).await;
        for status in [unsigned, wrong_key, wrong_body] {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(e1["error"]["code"], "invalid_signature");
        assert_eq!(e1, e2);
        assert_eq!(e2, e3);
    }

    #[tokio::test]
    async fn given_an_unknown_buyer_when_posted_then_404() {
        let body = withdrawal("lead_1", "nobody");
        let (status, e) = post("nobody", Some(signed(SECRET, &body)), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(e["error"]["code"], "not_found");
        let (status, _) = post("Not%20An%20Id", None, Vec::new()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn given_a_signed_body_that_is_not_a_message_or_for_another_buyer_then_it_is_rejected_422()
     {
        let junk = br#"{"hello": "world"}"#.to_vec();
        let (status, reply) = post("solarreviews", Some(signed(SECRET, &junk)), junk).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply["reason"], "malformed_payload");
        let elsewhere = withdrawal("lead_1", "modernize");
        let (status, reply) =
            post("solarreviews", Some(signed(SECRET, &elsewhere)), elsewhere).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply["reason"], "wrong_buyer");
    }

    #[test]
    fn given_many_leads_then_each_buyer_refuses_about_one_in_ten_on_its_own() {
        let (a, b) = (id("solarreviews"), id("modernize"));
        let refused = |buyer: &BuyerId| -> Vec<usize> {
            (0..2_000)
                .filter(|n| {
                    !decide(buyer, &lead(&sold(&format!("lead_{n:05}"), "x")), false).accepted
                })
                .collect()
        };
        let (by_a, by_b) = (refused(&a), refused(&b));
        assert!((140..=260).contains(&by_a.len()), "{} of 2000", by_a.len());
        let both = by_a.iter().filter(|n| by_b.contains(n)).count();
        assert!(both < by_a.len() / 3, "independent: {both} refused by both");
        let one = lead(&sold("lead_00042", "x"));
        assert_eq!(decide(&a, &one, false), decide(&a, &one, false), "stable");
    }

    #[test]
    fn given_a_lead_without_a_confirmed_homeowner_then_the_reason_says_so() {
        let buyer = id("solarreviews");
        let unsure = lead(&sold_with("lead_1", "x", Some("+17185550142"), None));
        assert_eq!(
            decide(&buyer, &unsure, false),
            BuyerReply::reject(reason::NOT_HOMEOWNER)
        );
    }

    #[test]
    fn given_a_server_base_then_the_inbox_url_names_the_buyer() {
        assert_eq!(
            inbox_url("http://127.0.0.1:8080/", &id("solarreviews")),
            "http://127.0.0.1:8080/sandbox/buyers/solarreviews/leads"
        );
    }
}
