//! The sandbox buyer inbox that `aurum serve` answers for the example buyers, so a local
//! chat ends sold and delivered with nothing else running. It behaves like a buyer's
//! webhook: it verifies the signature with that buyer's secret and accepts most leads,
//! rejecting about one in ten (chosen from the lead id, so the same lead always gets the
//! same answer). Local only: no deployed function serves it.

use crate::delivery::{BuyerMessage, BuyerReply};
use crate::domain::buyer::{BuyerId, WebhookSecret};
use crate::http::MAX_BODY_BYTES;
use crate::webhooks;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// The inbox route, one per buyer.
pub const INBOX_ROUTE: &str = "/sandbox/buyers/{buyer_id}/leads";

/// The reason the sandbox gives for the leads it rejects.
pub const REJECT_REASON: &str = "outside_service_area";

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
    Router::new()
        .route(INBOX_ROUTE, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(secrets))
}

/// What the sandbox answers for a sold lead: rejected (with [`REJECT_REASON`]) for about
/// one lead id in ten, accepted otherwise.
pub fn sandbox_reply(lead_id: &str) -> BuyerReply {
    let digest = Sha256::digest(lead_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    if u64::from_be_bytes(first) % 10 == 0 {
        BuyerReply::reject(REJECT_REASON)
    } else {
        BuyerReply::accept()
    }
}

type Secrets = Arc<HashMap<BuyerId, WebhookSecret>>;

async fn receive(
    State(secrets): State<Secrets>,
    Path(buyer_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((buyer, secret)) = BuyerId::parse(&buyer_id)
        .ok()
        .and_then(|id| secrets.get_key_value(&id))
    else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such sandbox buyer");
    };
    if let Err(e) = webhooks::verify(secret, &headers, &body, chrono::Utc::now()) {
        tracing::warn!(buyer_id = %buyer, failure = e.failure().as_str(), "sandbox inbox refused a delivery");
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            &e.to_string(),
        );
    }
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
        BuyerMessage::LeadSold { .. } => sandbox_reply(message.lead_id()),
        BuyerMessage::LeadWithdrawn { .. } | BuyerMessage::LeadReleased { .. } => {
            BuyerReply::accept()
        }
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
    use crate::webhooks::SignatureHeaders;
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
        let now = Utc::now();
        let body = serde_json::json!({
            "type": "lead.sold", "schema": 1, "timestamp": now,
            "data": {
                "lead_id": lead, "buyer_id": buyer, "sold_at": now, "price_cents": 20000,
                "tier": "premium", "score": 90, "return_window_days": 7, "returnable_until": now,
                "contact": {"name": null, "phone": "+17185550142", "email": null},
                "consent": {"given_at": now, "words": "yes", "disclosure": null},
                "property": {"homeowner": true, "property_type": null, "zip_code": null,
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

    async fn post(
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
        let response = inbox().oneshot(request).await.expect("response");
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
        // GIVEN a lead id the sandbox accepts and one it rejects
        let accepted = (0..)
            .map(|n| format!("lead_{n}"))
            .find(|l| sandbox_reply(l).accepted)
            .expect("some lead is accepted");
        let rejected = (0..)
            .map(|n| format!("lead_{n}"))
            .find(|l| !sandbox_reply(l).accepted)
            .expect("some lead is rejected");
        // WHEN each is delivered, signed with the buyer's secret
        for (lead, expected) in [
            (accepted, serde_json::json!({"accepted": true})),
            (
                rejected,
                serde_json::json!({"accepted": false, "reason": REJECT_REASON}),
            ),
        ] {
            let body = sold(&lead, "solarreviews");
            let (status, reply) = post("solarreviews", Some(signed(SECRET, &body)), body).await;
            // THEN the answer is 200 with the decision
            assert_eq!(status, StatusCode::OK);
            assert_eq!(reply, expected, "{lead}");
        }
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
    fn given_many_leads_then_about_one_in_ten_is_rejected_and_the_answer_is_stable() {
        let rejected = (0..2_000)
            .filter(|n| !sandbox_reply(&format!("lead_{n:05}")).accepted)
            .count();
        assert!((140..=260).contains(&rejected), "{rejected} of 2000");
        assert_eq!(sandbox_reply("lead_00042"), sandbox_reply("lead_00042"));
    }

    #[test]
    fn given_a_server_base_then_the_inbox_url_names_the_buyer() {
        assert_eq!(
            inbox_url("http://127.0.0.1:8080/", &id("solarreviews")),
            "http://127.0.0.1:8080/sandbox/buyers/solarreviews/leads"
        );
    }
}
