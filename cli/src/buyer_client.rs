//! The buyer's side of the feedback endpoint: builds the body, signs it with Standard
//! Webhooks and posts it. `aurum feedback send` and the end-to-end tests use it; a buyer's
//! engineers can read it as the reference of what to send.

use aurum::domain::buyer::{BuyerId, WebhookSecret};
use aurum::webhooks;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::body::Bytes;
use hyper::header::CONTENT_TYPE;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// The path of the endpoint, below the API's base URL.
pub const FEEDBACK_PATH: &str = "/api/v1/revenue/buyer-feedback";
/// The header naming the signing buyer.
pub const HEADER_BUYER: &str = "aurum-buyer-id";

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("bad URL {0}")]
    Url(String),
    #[error("signing: {0}")]
    Sign(#[from] webhooks::SignError),
    #[error("request: {0}")]
    Request(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("transport: {0}")]
    Transport(String),
}

/// The server's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

/// A fresh message id (`msg_` + 32 hex digits).
pub fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// Posts signed feedback. One client per process; cheap to clone.
#[derive(Clone)]
pub struct FeedbackSender {
    http: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

impl FeedbackSender {
    pub fn new(timeout: Duration) -> Result<FeedbackSender, SendError> {
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(timeout));
        let connector = {
            tcp.enforce_http(false);
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
                .map_err(|e| SendError::Transport(e.to_string()))?
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp)
        };
        Ok(FeedbackSender {
            http: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    /// Signs `body` as `buyer` (message `message_id`, timestamp `at`) and posts it to
    /// `base_url` + [`FEEDBACK_PATH`].
    pub async fn send(
        &self,
        base_url: &str,
        buyer: &BuyerId,
        secret: &WebhookSecret,
        message_id: &str,
        at: DateTime<Utc>,
        body: &[u8],
    ) -> Result<Answer, SendError> {
        let url = format!("{}{FEEDBACK_PATH}", base_url.trim_end_matches('/'));
        let uri: hyper::Uri = url.parse().map_err(|_| SendError::Url(url.clone()))?;
        let signature = webhooks::sign(secret, message_id, at, body)?;
        let mut request = Request::post(uri)
            .header(CONTENT_TYPE, "application/json")
            .header(HEADER_BUYER, buyer.as_str())
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| SendError::Request(e.to_string()))?;
        signature
            .apply(request.headers_mut())
            .map_err(|e| SendError::Request(e.to_string()))?;
        let call = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| SendError::Transport(aurum::redact::error_chain(&e)))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = Limited::new(response.into_body(), 1024 * 1024)
                .collect()
                .await
                .map_err(|e| SendError::Transport(e.to_string()))?
                .to_bytes()
                .to_vec();
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| SendError::Timeout(self.timeout))?
    }
}
