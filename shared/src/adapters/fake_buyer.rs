//! A buyer's webhook on loopback, for tests: it verifies each delivery's signature with the
//! buyer's secret (401 when it fails), answers as it is told (accept, reject with a reason,
//! fail with 500, or hang until the client gives up) and records every request. As a
//! ping-post buyer it also answers pings at `/ping` with a bid, a pass, late or never.

use crate::delivery::{BidReply, BuyerMessage, BuyerReply};
use crate::domain::buyer::WebhookSecret;
use crate::domain::money::Cents;
use crate::webhooks::{self, HEADER_ID};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How the buyer answers a delivery whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyerAnswer {
    /// 200 `{"accepted": true}`.
    Accept,
    /// 204, no body.
    AcceptEmpty,
    /// 200 `{"accepted": false, "reason": …}`.
    Reject(String),
    /// 409 with no body.
    Conflict,
    /// 500.
    ServerError,
    /// No answer for a long time; the client's timeout ends the attempt.
    Hang,
    /// A bare status with no body (404, 410, 401, 400…).
    Status(u16),
    /// `301 Moved Permanently` to another address.
    Redirect,
    /// Takes the lead, but answers only after this long (past the client's timeout).
    AcceptAfter(Duration),
}

/// How the buyer answers a ping whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingAnswer {
    /// Bids this price, with a bid id.
    Bid(Cents),
    /// Bids this price, but only after this long.
    BidAfter(Cents, Duration),
    /// Passes with this reason (`no_bid`, `no_coverage`, `duplicate`, `capped`).
    Pass(&'static str),
    /// Never answers.
    Hang,
    /// 500.
    ServerError,
}

/// One ping as the fake buyer saw it: the body as sent, and whether it verified.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedPing {
    pub verified: bool,
    pub body: String,
    pub message: Option<BuyerMessage>,
}

/// One request as the fake buyer saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    pub webhook_id: Option<String>,
    /// Whether the signature verified with the buyer's secret.
    pub verified: bool,
    /// The parsed body, when it verified and parsed.
    pub message: Option<BuyerMessage>,
    /// What the buyer answered (`None`: the signature failed, 401).
    pub answer: Option<BuyerAnswer>,
}

const HANG: Duration = Duration::from_secs(600);

struct Script {
    next: VecDeque<BuyerAnswer>,
    then: BuyerAnswer,
}

impl Inner {
    fn secret(&self) -> WebhookSecret {
        self.secret
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

struct Inner {
    secret: Mutex<WebhookSecret>,
    script: Mutex<Script>,
    received: Mutex<Vec<ReceivedRequest>>,
    bids: Mutex<PingAnswer>,
    pings: Mutex<Vec<ReceivedPing>>,
}

/// The running server; it stops when dropped.
pub struct FakeBuyer {
    addr: SocketAddr,
    inner: Arc<Inner>,
    server: JoinHandle<()>,
}

impl FakeBuyer {
    /// Serves on 127.0.0.1 at a free port, accepting every lead until told otherwise.
    pub async fn start(secret: WebhookSecret) -> std::io::Result<FakeBuyer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            secret: Mutex::new(secret),
            script: Mutex::new(Script {
                next: VecDeque::new(),
                then: BuyerAnswer::Accept,
            }),
            received: Mutex::new(Vec::new()),
            bids: Mutex::new(PingAnswer::Pass("no_bid")),
            pings: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/leads", post(receive))
            .route("/ping", post(receive_ping))
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake buyer stopped");
            }
        });
        Ok(FakeBuyer {
            addr,
            inner,
            server,
        })
    }

    /// From now on verifies with `secret` only (the buyer switched to a new key).
    pub fn trust(&self, secret: WebhookSecret) {
        *self
            .inner
            .secret
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = secret;
    }

    /// The webhook URL to give the buyer.
    pub fn url(&self) -> String {
        format!("http://{}/leads", self.addr)
    }

    /// The ping URL to give a ping-post buyer.
    pub fn ping_url(&self) -> String {
        format!("http://{}/ping", self.addr)
    }

    /// Answers every later ping this way.
    pub fn bid(&self, answer: PingAnswer) {
        *lock(&self.inner.bids) = answer;
    }

    /// Every ping received, in order.
    pub fn pings(&self) -> Vec<ReceivedPing> {
        lock(&self.inner.pings).clone()
    }

    /// Answers every later delivery this way.
    pub fn answer(&self, answer: BuyerAnswer) {
        let mut script = lock(&self.inner.script);
        script.next.clear();
        script.then = answer;
    }

    /// Answers the next deliveries with `answers`, one each, then as before.
    pub fn answer_next(&self, answers: impl IntoIterator<Item = BuyerAnswer>) {
        lock(&self.inner.script).next.extend(answers);
    }

    /// Every request received, in order, verified or not.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.inner.received).clone()
    }

    /// The messages of the requests whose signature verified.
    pub fn deliveries(&self) -> Vec<BuyerMessage> {
        self.requests()
            .into_iter()
            .filter_map(|r| r.message)
            .collect()
    }
}

impl Drop for FakeBuyer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A poisoned lock only means another test thread panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn receive_ping(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verified = webhooks::verify(&inner.secret(), &headers, &body, chrono::Utc::now()).is_ok();
    lock(&inner.pings).push(ReceivedPing {
        verified,
        body: String::from_utf8_lossy(&body).into_owned(),
        message: serde_json::from_slice(&body).ok(),
    });
    if !verified {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let answer = lock(&inner.bids).clone();
    let bid = |price: Cents| {
        axum::Json(BidReply {
            bid: true,
            price_cents: Some(price.0),
            bid_id: Some(format!("bid_{}", price.0)),
            reason: None,
        })
    };
    match answer {
        PingAnswer::Bid(price) => (StatusCode::OK, bid(price)).into_response(),
        PingAnswer::BidAfter(price, delay) => {
            tokio::time::sleep(delay).await;
            (StatusCode::OK, bid(price)).into_response()
        }
        PingAnswer::Pass(reason) => (
            StatusCode::OK,
            axum::Json(BidReply {
                bid: false,
                price_cents: None,
                bid_id: None,
                reason: Some(reason.to_owned()),
            }),
        )
            .into_response(),
        PingAnswer::Hang => {
            tokio::time::sleep(HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        PingAnswer::ServerError => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let webhook_id = headers
        .get(HEADER_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let verified = webhooks::verify(&inner.secret(), &headers, &body, chrono::Utc::now()).is_ok();
    if !verified {
        lock(&inner.received).push(ReceivedRequest {
            webhook_id,
            verified,
            message: None,
            answer: None,
        });
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({
                "error": {"code": "invalid_signature", "message": "webhook signature could not be verified"}
            })),
        )
            .into_response();
    }
    let answer = {
        let mut script = lock(&inner.script);
        script
            .next
            .pop_front()
            .unwrap_or_else(|| script.then.clone())
    };
    lock(&inner.received).push(ReceivedRequest {
        webhook_id,
        verified,
        message: serde_json::from_slice(&body).ok(),
        answer: Some(answer.clone()),
    });
    match answer {
        BuyerAnswer::Accept => (StatusCode::OK, axum::Json(BuyerReply::accept())).into_response(),
        BuyerAnswer::AcceptEmpty => StatusCode::NO_CONTENT.into_response(),
        BuyerAnswer::Reject(reason) => {
            (StatusCode::OK, axum::Json(BuyerReply::reject(&reason))).into_response()
        }
        BuyerAnswer::Conflict => StatusCode::CONFLICT.into_response(),
        BuyerAnswer::ServerError => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        BuyerAnswer::Hang => {
            tokio::time::sleep(HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        BuyerAnswer::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::BAD_REQUEST)
            .into_response(),
        BuyerAnswer::Redirect => (
            StatusCode::MOVED_PERMANENTLY,
            [(
                axum::http::header::LOCATION,
                "https://elsewhere.example/leads",
            )],
        )
            .into_response(),
        BuyerAnswer::AcceptAfter(delay) => {
            tokio::time::sleep(delay).await;
            (StatusCode::OK, axum::Json(BuyerReply::accept())).into_response()
        }
    }
}
