//! What a buyer receives at its webhook, and the client that posts it.
//!
//! The body follows the Standard Webhooks payload shape (`type`, `timestamp`, `data`) with a
//! `schema` version; tests pin its JSON, because every buyer's integration parses it. The
//! `webhook-id` of a message is derived from the lead, the buyer and the message type, so a
//! retry, or the same sale resumed on the queue message's next delivery, carries the same id
//! and the buyer de-duplicates on it.
//!
//! [`DeliveryClient`] is built once per process (its connection pool is reused) and posts
//! over rustls with the system's root certificates; plain http only to loopback addresses.
//! It logs the lead id, buyer id, webhook id, attempt and status, never the body.

use crate::contracts::QueuedLead;
use crate::domain::buyer::{Buyer, BuyerId, Outbound, WebhookSecret, forbidden_ip};
use crate::domain::conversation::ZipCode;
use crate::domain::facts::{
    Borough, CreditSignal, DecisionMaker, Financing, Objection, PropertyType, TechnicalTopic,
    Timeline,
};
use crate::domain::money::Cents;
use crate::domain::scoring::QualityTier;
use crate::webhooks;
use chrono::{DateTime, TimeDelta, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

/// The version of the message body this build writes.
pub const SCHEMA: u8 = 1;

/// How much of a test answer the console shows.
const PROBE_ANSWER_CHARS: usize = 500;

/// What a buyer's endpoint answered to a test message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Probe {
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The answer's first 500 characters.
    pub answer: Option<String>,
    /// Why no answer came (refused URL, connection, timeout).
    pub error: Option<String>,
}

/// The body POSTed to a buyer's webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BuyerMessage {
    /// The buyer bought this lead: everything it needs to call the homeowner.
    #[serde(rename = "lead.sold")]
    LeadSold {
        schema: u8,
        /// When the event happened (the sale).
        timestamp: DateTime<Utc>,
        data: Box<LeadSold>,
    },
    /// The homeowner withdrew consent: the buyer must stop contacting them.
    #[serde(rename = "lead.withdrawn")]
    LeadWithdrawn {
        schema: u8,
        timestamp: DateTime<Utc>,
        data: LeadWithdrawn,
    },
    /// A sale that may have reached the buyer did not stand: do not contact, not billed.
    #[serde(rename = "lead.released")]
    LeadReleased {
        schema: u8,
        timestamp: DateTime<Utc>,
        data: LeadReleased,
    },
    /// A ping-post buyer is asked for a bid on an anonymised lead: no contact details.
    #[serde(rename = "lead.ping")]
    LeadPing {
        schema: u8,
        timestamp: DateTime<Utc>,
        data: LeadPing,
    },
    /// The sales team checks the buyer's endpoint: no lead, nothing billed.
    #[serde(rename = "lead.test")]
    LeadTest {
        schema: u8,
        timestamp: DateTime<Utc>,
        data: LeadTest,
    },
}

/// The body of a `lead.test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadTest {
    /// `test_` + 32 hex digits; also in the `webhook-id`.
    pub test_id: String,
    pub buyer_id: BuyerId,
    pub note: String,
}

/// What a ping-post buyer sees before it bids: where, how much electricity, what kind of
/// home, how good and how ready, and that the homeowner gave written consent. Never who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadPing {
    /// Quote it back with the bid; the post of a winning bid carries it.
    pub ping_id: String,
    pub buyer_id: BuyerId,
    pub tier: QualityTier,
    pub score: u8,
    pub zip_code: Option<ZipCode>,
    pub borough: Option<Borough>,
    /// The monthly bill in a $50 band, e.g. `"$300-349"` (`"$600+"` above).
    pub monthly_bill_band: Option<String>,
    pub property_type: Option<PropertyType>,
    pub timeline: Option<Timeline>,
    /// Always `written`: the homeowner agreed in writing to be contacted by an installer.
    pub consent: String,
    /// Hours since the lead qualified (0 for a fresh lead).
    pub age_hours: u32,
    /// The lowest bid that can take the lead, in US cents.
    pub reserve_price_cents: Cents,
    /// Answer within this many milliseconds; a later bid does not count.
    pub respond_within_ms: u32,
}

/// A bill's $50 band, or `"$600+"`.
pub fn bill_band(bill: Cents) -> String {
    let dollars = bill.whole_dollars().max(0);
    if dollars >= 600 {
        return "$600+".to_owned();
    }
    let low = dollars / 50 * 50;
    format!("${low}-{}", low + 49)
}

/// What a ping-post buyer answers a ping: `{"bid": true, "price_cents": 14500, "bid_id":
/// "…"}` or `{"bid": false, "reason": "no_coverage"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidReply {
    pub bid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_cents: Option<i64>,
    /// The buyer's own token for the bid, quoted back in the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How a ping ended, for the auction and the buyer's ping counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingOutcome {
    Bid {
        price: Cents,
        bid_id: Option<String>,
    },
    /// The buyer answered without a bid: `no_bid`, `no_coverage`, `duplicate` or `capped`.
    NoBid { code: &'static str },
    /// No answer within the buyer's deadline.
    Timeout,
    /// An answer that is not a bid (a status, a body we cannot read), or no connection.
    Error { error: String },
}

impl PingOutcome {
    /// The outcome's count name: `bid`, `no_bid`, `no_coverage`, `duplicate`, `capped`,
    /// `timeout` or `error`.
    pub fn code(&self) -> &'static str {
        match self {
            PingOutcome::Bid { .. } => "bid",
            PingOutcome::NoBid { code } => code,
            PingOutcome::Timeout => "timeout",
            PingOutcome::Error { .. } => "error",
        }
    }

    fn from_reply(reply: BidReply) -> PingOutcome {
        match (reply.bid, reply.price_cents) {
            (true, Some(cents)) if cents > 0 && cents <= 1_000_000 => PingOutcome::Bid {
                price: Cents(cents),
                bid_id: reply.bid_id.filter(|id| {
                    !id.is_empty()
                        && id.len() <= 100
                        && id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
                }),
            },
            (true, _) => PingOutcome::Error {
                error: "a bid without a price between 1 cent and $10,000".to_owned(),
            },
            (false, _) => PingOutcome::NoBid {
                code: match reply.reason.as_deref() {
                    Some("no_coverage") => "no_coverage",
                    Some("duplicate") => "duplicate",
                    Some("capped") => "capped",
                    _ => "no_bid",
                },
            },
        }
    }
}

/// A sold lead as the buyer receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadSold {
    pub lead_id: String,
    pub buyer_id: BuyerId,
    pub sold_at: DateTime<Utc>,
    /// What the buyer pays for this lead, in US cents.
    pub price_cents: Cents,
    pub tier: QualityTier,
    /// Lead score, 0..=100.
    pub score: u8,
    /// The buyer may return the lead for credit until `returnable_until`.
    pub return_window_days: u16,
    pub returnable_until: DateTime<Utc>,
    pub contact: LeadContact,
    pub consent: LeadConsent,
    pub property: LeadProperty,
    pub interest: LeadInterest,
    /// The ping this post answers, when the buyer won it by a bid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_id: Option<String>,
    /// The buyer's token for its winning bid, as it sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_id: Option<String>,
}

/// The homeowner's contact details. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadContact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl fmt::Debug for LeadContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeadContact(…)")
    }
}

/// Proof that the homeowner agreed to be contacted by an installer. `Debug` hides the words.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadConsent {
    pub given_at: DateTime<Utc>,
    /// The homeowner's own words.
    pub words: String,
    /// The disclosure they answered, when they answered the agent's consent question.
    pub disclosure: Option<String>,
}

impl fmt::Debug for LeadConsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeadConsent")
            .field("given_at", &self.given_at)
            .finish_non_exhaustive()
    }
}

/// The home and its electricity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadProperty {
    pub homeowner: Option<bool>,
    pub property_type: Option<PropertyType>,
    pub zip_code: Option<ZipCode>,
    pub borough: Option<Borough>,
    pub neighborhood: Option<String>,
    pub monthly_bill_cents: Option<Cents>,
}

/// How ready the homeowner is, and what they care about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadInterest {
    pub timeline: Option<Timeline>,
    pub decision_maker: Option<DecisionMaker>,
    pub financing: Option<Financing>,
    pub credit: Option<CreditSignal>,
    pub competing_quotes: Option<bool>,
    pub technical_topics: BTreeSet<TechnicalTopic>,
    pub open_objections: BTreeSet<Objection>,
}

/// A withdrawal: no contact details, only the lead the buyer already holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadWithdrawn {
    pub lead_id: String,
    pub buyer_id: BuyerId,
    pub withdrawn_at: DateTime<Utc>,
    /// Always `consent_withdrawn`: stop contacting the homeowner and delete the lead.
    pub reason: String,
}

/// A released sale: no contact details, only the lead the buyer may have received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadReleased {
    pub lead_id: String,
    pub buyer_id: BuyerId,
    pub released_at: DateTime<Utc>,
    /// Why the sale did not stand (`delivery_failed`, `delivery_refused_permanently`…).
    pub reason: String,
    /// Always `do_not_contact`: delete the lead; it is not billed.
    pub instruction: String,
}

/// Why a sold lead cannot be turned into a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("lead has no consent evidence; it must not be delivered")]
    NoConsent,
    #[error("lead has neither a phone number nor an email address")]
    Unreachable,
    #[error("return window does not fit the calendar")]
    ReturnWindow,
}

impl BuyerMessage {
    /// The delivery of a sale. Refuses a lead without consent evidence or any way to reach
    /// the homeowner: such a lead must never reach a buyer.
    pub fn lead_sold(
        lead: &QueuedLead,
        buyer: &Buyer,
        price: Cents,
        sold_at: DateTime<Utc>,
    ) -> Result<BuyerMessage, PayloadError> {
        let consent = lead.consent.as_ref().ok_or(PayloadError::NoConsent)?;
        let facts = &lead.facts;
        if !facts.contact.reachable() {
            return Err(PayloadError::Unreachable);
        }
        let returnable_until = sold_at
            .checked_add_signed(TimeDelta::days(i64::from(buyer.return_window_days)))
            .ok_or(PayloadError::ReturnWindow)?;
        let data = LeadSold {
            lead_id: lead.lead_id.clone(),
            buyer_id: buyer.id.clone(),
            sold_at,
            price_cents: price,
            tier: lead.tier,
            score: lead.score,
            return_window_days: buyer.return_window_days,
            returnable_until,
            contact: LeadContact {
                name: facts.contact.name.clone(),
                phone: facts.contact.phone.clone(),
                email: facts.contact.email.clone(),
            },
            consent: LeadConsent {
                given_at: consent.given_at,
                words: consent.words.clone(),
                disclosure: consent.disclosure.clone(),
            },
            property: LeadProperty {
                homeowner: facts.homeowner,
                property_type: facts.property_type,
                zip_code: facts.zip_code.clone(),
                borough: facts.borough,
                neighborhood: facts.neighborhood.clone(),
                monthly_bill_cents: facts.monthly_bill,
            },
            interest: LeadInterest {
                timeline: facts.timeline,
                decision_maker: facts.decision_maker,
                financing: facts.financing,
                credit: facts.credit,
                competing_quotes: facts.competing_quotes,
                technical_topics: facts.technical_topics.clone(),
                open_objections: facts.objections_open.clone(),
            },
            ping_id: None,
            bid_id: None,
        };
        Ok(BuyerMessage::LeadSold {
            schema: SCHEMA,
            timestamp: sold_at,
            data: Box::new(data),
        })
    }

    /// The notice that the homeowner withdrew consent for a lead the buyer holds.
    pub fn lead_withdrawn(
        lead_id: &str,
        buyer_id: &BuyerId,
        withdrawn_at: DateTime<Utc>,
    ) -> BuyerMessage {
        BuyerMessage::LeadWithdrawn {
            schema: SCHEMA,
            timestamp: withdrawn_at,
            data: LeadWithdrawn {
                lead_id: lead_id.to_owned(),
                buyer_id: buyer_id.clone(),
                withdrawn_at,
                reason: "consent_withdrawn".to_owned(),
            },
        }
    }

    /// The notice that a sale which may have reached the buyer was released.
    pub fn lead_released(
        lead_id: &str,
        buyer_id: &BuyerId,
        released_at: DateTime<Utc>,
        reason: &str,
    ) -> BuyerMessage {
        BuyerMessage::LeadReleased {
            schema: SCHEMA,
            timestamp: released_at,
            data: LeadReleased {
                lead_id: lead_id.to_owned(),
                buyer_id: buyer_id.clone(),
                released_at,
                reason: reason.to_owned(),
                instruction: "do_not_contact".to_owned(),
            },
        }
    }

    /// The ping of an anonymised lead to a ping-post buyer, signed like a delivery.
    pub fn lead_ping(
        lead: &QueuedLead,
        buyer: &Buyer,
        ping_id: String,
        age_hours: u32,
        at: DateTime<Utc>,
    ) -> BuyerMessage {
        let facts = &lead.facts;
        BuyerMessage::LeadPing {
            schema: SCHEMA,
            timestamp: at,
            data: LeadPing {
                ping_id,
                buyer_id: buyer.id.clone(),
                tier: lead.tier,
                score: lead.score,
                zip_code: facts.zip_code.clone(),
                borough: facts.borough,
                monthly_bill_band: facts.monthly_bill.map(bill_band),
                property_type: facts.property_type,
                timeline: facts.timeline,
                consent: "written".to_owned(),
                age_hours,
                reserve_price_cents: buyer.price_floor,
                respond_within_ms: buyer.ping_post.as_ref().map_or(0, |p| p.deadline_ms),
            },
        }
    }

    /// A test message for `buyer`'s endpoint, as the sales console sends it.
    pub fn lead_test(buyer: &Buyer, test_id: String, at: DateTime<Utc>) -> BuyerMessage {
        BuyerMessage::LeadTest {
            schema: SCHEMA,
            timestamp: at,
            data: LeadTest {
                test_id,
                buyer_id: buyer.id.clone(),
                note: "A test from the sales team: no lead, nothing billed. Verify the \
                       signature and answer 2xx."
                    .to_owned(),
            },
        }
    }

    /// This sale's delivery as the post of the ping the buyer won (its ids quoted back).
    pub fn answering(mut self, ping_id: &str, bid_id: Option<&str>) -> BuyerMessage {
        if let BuyerMessage::LeadSold { data, .. } = &mut self {
            data.ping_id = Some(ping_id.to_owned());
            data.bid_id = bid_id.map(str::to_owned);
        }
        self
    }

    /// `lead.sold`, `lead.withdrawn`, `lead.released` or `lead.ping`.
    pub fn event_type(&self) -> &'static str {
        match self {
            BuyerMessage::LeadSold { .. } => "lead.sold",
            BuyerMessage::LeadWithdrawn { .. } => "lead.withdrawn",
            BuyerMessage::LeadReleased { .. } => "lead.released",
            BuyerMessage::LeadPing { .. } => "lead.ping",
            BuyerMessage::LeadTest { .. } => "lead.test",
        }
    }

    /// The lead the message is about; for a ping, the ping's id (a ping names no lead).
    pub fn lead_id(&self) -> &str {
        match self {
            BuyerMessage::LeadSold { data, .. } => &data.lead_id,
            BuyerMessage::LeadWithdrawn { data, .. } => &data.lead_id,
            BuyerMessage::LeadReleased { data, .. } => &data.lead_id,
            BuyerMessage::LeadPing { data, .. } => &data.ping_id,
            BuyerMessage::LeadTest { data, .. } => &data.test_id,
        }
    }

    pub fn buyer_id(&self) -> &BuyerId {
        match self {
            BuyerMessage::LeadSold { data, .. } => &data.buyer_id,
            BuyerMessage::LeadWithdrawn { data, .. } => &data.buyer_id,
            BuyerMessage::LeadReleased { data, .. } => &data.buyer_id,
            BuyerMessage::LeadPing { data, .. } => &data.buyer_id,
            BuyerMessage::LeadTest { data, .. } => &data.buyer_id,
        }
    }

    /// The `webhook-id`: the same for every attempt and every resumption of this message,
    /// different for another buyer or another message type.
    pub fn webhook_id(&self) -> String {
        webhook_id(self.event_type(), self.lead_id(), self.buyer_id())
    }

    /// The JSON body, exactly the bytes that are signed and sent.
    pub fn to_body(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// `msg_` + 32 hex digits, derived from what the message is about.
pub fn webhook_id(event_type: &str, lead_id: &str, buyer_id: &BuyerId) -> String {
    let name = format!("{event_type}:{lead_id}:{buyer_id}");
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes());
    format!("msg_{}", id.simple())
}

/// What a buyer answers at post time. Any other 2xx body (or none) means accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerReply {
    pub accepted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl BuyerReply {
    pub fn accept() -> BuyerReply {
        BuyerReply {
            accepted: true,
            reason: None,
        }
    }

    pub fn reject(reason: &str) -> BuyerReply {
        BuyerReply {
            accepted: false,
            reason: Some(reason.to_owned()),
        }
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The buyer took the lead: 2xx with `{"accepted": true}`, no body, or a body that
    /// does not say otherwise.
    Accepted,
    /// The buyer refused the lead at post time: `{"accepted": false, "reason": …}` (2xx or
    /// 4xx), or 409/422. The capacity goes back and the lead cascades.
    Rejected { reason: String },
    /// No answer that decides: 5xx, 408, 429, timeouts and connection errors after the
    /// retries, or an answer that retrying cannot change (401, 404, 410, a redirect, a 400
    /// without a refusal, a URL delivery refuses). `last_error` names the status or the
    /// transport error, never the body.
    Failed {
        attempts: u32,
        last_error: String,
        /// The buyer may hold the lead without our knowing: an attempt timed out or broke
        /// after the request went out. `false` when every attempt was refused a connection
        /// or answered with a status that is not a 2xx.
        reached: bool,
        /// Retrying cannot help (the answer or the URL itself is the problem).
        permanent: bool,
    },
}

/// Retries of one delivery: at most `max_attempts` (at least one), each cut at `attempt_timeout`, waiting
/// `first_backoff`, then twice that, and so on between them, all within `budget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub attempt_timeout: Duration,
    pub first_backoff: Duration,
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts of up to 3 s within 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            attempt_timeout: Duration::from_secs(3),
            first_backoff: Duration::from_millis(250),
            budget: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, after_attempt: u32) -> Duration {
        let factor = 1u32 << after_attempt.saturating_sub(1).min(16);
        self.first_backoff.saturating_mul(factor).min(self.budget)
    }
}

/// An attempt is not started with less time than this left in the budget.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);
/// Longest reply body read; buyers answer a few bytes of JSON.
const MAX_REPLY_BYTES: usize = 16 * 1024;
/// Longest rejection reason kept.
const MAX_REASON_CHARS: usize = 200;

#[cfg(feature = "https")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>;
#[cfg(not(feature = "https"))]
type Connector = HttpConnector<GuardedResolver>;

/// The system resolver, keeping only the addresses this deployment may reach
/// ([`Outbound`]): a name that resolves (or is rebound) to loopback, a private range or the
/// metadata service is refused at connect time, whatever the URL said.
#[derive(Clone)]
pub struct GuardedResolver {
    inner: GaiResolver,
    outbound: Outbound,
}

impl GuardedResolver {
    pub fn new(outbound: Outbound) -> GuardedResolver {
        GuardedResolver {
            inner: GaiResolver::new(),
            outbound,
        }
    }
}

type Resolving = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<std::vec::IntoIter<std::net::SocketAddr>, std::io::Error>,
            > + Send,
    >,
>;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<std::net::SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let resolving = self.inner.call(name);
        let outbound = self.outbound;
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = resolving
                .await?
                .filter(|a| outbound == Outbound::Sandbox || !forbidden_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "the host resolves only to addresses deliveries may not reach",
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no trusted root certificates could be loaded: {0}")]
    RootCertificates(String),
}

/// One signed POST: where, as whom, and the exact bytes.
#[derive(Debug, Clone, Copy)]
pub struct WebhookPost<'a> {
    pub lead_id: &'a str,
    pub buyer_id: &'a BuyerId,
    pub url: &'a str,
    /// Every secret valid now: the message carries a signature with each.
    pub secrets: &'a [WebhookSecret],
    pub webhook_id: &'a str,
    pub body: &'a [u8],
}

/// Posts signed messages to buyers' webhooks. Cheap to clone; build one per process.
#[derive(Clone)]
pub struct DeliveryClient {
    http: Client<Connector, Full<Bytes>>,
    policy: RetryPolicy,
    outbound: Outbound,
}

impl fmt::Debug for DeliveryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryClient")
            .field("policy", &self.policy)
            .field("outbound", &self.outbound)
            .finish_non_exhaustive()
    }
}

impl DeliveryClient {
    /// Loads the system's root certificates (with the `https` feature) and sets up the
    /// connection pool; requests go only where `outbound` allows, checked on the URL and
    /// again on the addresses its host resolves to.
    pub fn new(policy: RetryPolicy, outbound: Outbound) -> Result<DeliveryClient, ClientError> {
        let mut tcp = HttpConnector::new_with_resolver(GuardedResolver::new(outbound));
        tcp.set_connect_timeout(Some(policy.attempt_timeout));
        tcp.set_nodelay(true);
        #[cfg(feature = "https")]
        let connector = {
            tcp.enforce_http(false);
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
                .map_err(|e| ClientError::RootCertificates(e.to_string()))?
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp)
        };
        #[cfg(not(feature = "https"))]
        let connector = tcp;
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Ok(DeliveryClient {
            http,
            policy,
            outbound,
        })
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Delivers `message` to `buyer`'s webhook within the policy's budget.
    pub async fn deliver(&self, buyer: &Buyer, message: &BuyerMessage) -> DeliveryOutcome {
        self.deliver_within(buyer, message, self.policy.budget)
            .await
    }

    /// Delivers within `budget` or the policy's, whichever is shorter: a function passes
    /// what is left of its own time.
    pub async fn deliver_within(
        &self,
        buyer: &Buyer,
        message: &BuyerMessage,
        budget: Duration,
    ) -> DeliveryOutcome {
        let Ok(body) = message.to_body() else {
            // Plain structs of strings, numbers and enums: not expected to happen.
            return DeliveryOutcome::Failed {
                attempts: 0,
                last_error: "message could not be encoded".to_owned(),
                reached: false,
                permanent: true,
            };
        };
        let webhook_id = message.webhook_id();
        let secrets = buyer.secrets_at(Utc::now());
        let post = WebhookPost {
            lead_id: message.lead_id(),
            buyer_id: &buyer.id,
            url: &buyer.webhook_url,
            secrets: &secrets,
            webhook_id: &webhook_id,
            body: &body,
        };
        self.post_within(&post, budget).await
    }

    /// Posts `message` to the buyer's webhook once, signed with every secret valid now, and
    /// reports the answer as it came (no retry, no classification): the sales console's
    /// "send a test lead".
    pub async fn probe(&self, buyer: &Buyer, message: &BuyerMessage) -> Probe {
        let started = Instant::now();
        let done = |status: Option<u16>, answer: Option<String>, error: Option<String>| Probe {
            status,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            answer,
            error,
        };
        let uri = match webhook_uri(&buyer.webhook_url, self.outbound) {
            Ok(uri) => uri,
            Err(reason) => return done(None, None, Some(reason.to_owned())),
        };
        let Ok(body) = message.to_body() else {
            return done(None, None, Some("message could not be encoded".to_owned()));
        };
        let webhook_id = message.webhook_id();
        let secrets = buyer.secrets_at(Utc::now());
        let post = WebhookPost {
            lead_id: message.lead_id(),
            buyer_id: &buyer.id,
            url: &buyer.webhook_url,
            secrets: &secrets,
            webhook_id: &webhook_id,
            body: &body,
        };
        let body = Bytes::from(body.clone());
        let request = match signed_request(&uri, &post, &body) {
            Ok(request) => request,
            Err(error) => return done(None, None, Some(error)),
        };
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| crate::redact::error_chain(&e))?;
            let status = response.status().as_u16();
            let answer = Limited::new(response.into_body(), MAX_REPLY_BYTES)
                .collect()
                .await
                .map(|b| {
                    let text = String::from_utf8_lossy(&b.to_bytes()).into_owned();
                    text.chars().take(PROBE_ANSWER_CHARS).collect::<String>()
                })
                .ok();
            Ok::<_, String>((status, answer))
        };
        match tokio::time::timeout(self.policy.attempt_timeout, exchange).await {
            Ok(Ok((status, answer))) => done(Some(status), answer, None),
            Ok(Err(error)) => done(None, None, Some(error)),
            Err(_) => done(
                None,
                None,
                Some(format!(
                    "timed out after {} ms",
                    self.policy.attempt_timeout.as_millis()
                )),
            ),
        }
    }

    /// Pings a ping-post buyer once: the signed ping to its ping URL, its bid read within
    /// `deadline` (its own deadline or the time the router has left, whichever is
    /// shorter). No retry: a late bid does not count.
    pub async fn ping(
        &self,
        buyer: &Buyer,
        message: &BuyerMessage,
        deadline: Duration,
    ) -> PingOutcome {
        let Some(ping) = &buyer.ping_post else {
            return PingOutcome::Error {
                error: "not a ping-post buyer".to_owned(),
            };
        };
        let uri = match webhook_uri(&ping.ping_url, self.outbound) {
            Ok(uri) => uri,
            Err(reason) => {
                return PingOutcome::Error {
                    error: reason.to_owned(),
                };
            }
        };
        let Ok(body) = message.to_body() else {
            return PingOutcome::Error {
                error: "message could not be encoded".to_owned(),
            };
        };
        let webhook_id = message.webhook_id();
        let secrets = buyer.secrets_at(Utc::now());
        let post = WebhookPost {
            lead_id: message.lead_id(),
            buyer_id: &buyer.id,
            url: &ping.ping_url,
            secrets: &secrets,
            webhook_id: &webhook_id,
            body: &body,
        };
        let body = Bytes::from(body.clone());
        let outcome = match tokio::time::timeout(deadline, self.bid(&uri, &post, &body)).await {
            Ok(outcome) => outcome,
            Err(_) => PingOutcome::Timeout,
        };
        tracing::info!(ping_id = post.lead_id, buyer_id = %buyer.id, outcome = outcome.code(), "ping answered");
        outcome
    }

    /// One signed ping, its reply read as a bid.
    async fn bid(&self, uri: &Uri, post: &WebhookPost<'_>, body: &Bytes) -> PingOutcome {
        let request = match signed_request(uri, post, body) {
            Ok(request) => request,
            Err(error) => return PingOutcome::Error { error },
        };
        let response = match self.http.request(request).await {
            Ok(response) => response,
            Err(e) => {
                return PingOutcome::Error {
                    error: crate::redact::error_chain(&e),
                };
            }
        };
        let status = response.status();
        if !status.is_success() {
            return PingOutcome::Error {
                error: format!("http {}", status.as_u16()),
            };
        }
        match Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
        {
            Ok(body) => match serde_json::from_slice::<BidReply>(&body.to_bytes()) {
                Ok(reply) => PingOutcome::from_reply(reply),
                Err(_) => PingOutcome::Error {
                    error: format!("http {}; the reply is not a bid", status.as_u16()),
                },
            },
            Err(e) => PingOutcome::Error {
                error: format!("http {}; reply interrupted: {e}", status.as_u16()),
            },
        }
    }

    /// Posts `post` with the policy's retries and budget.
    pub async fn post(&self, post: &WebhookPost<'_>) -> DeliveryOutcome {
        self.post_within(post, self.policy.budget).await
    }

    /// Posts `post` within `budget` or the policy's, whichever is shorter.
    pub async fn post_within(&self, post: &WebhookPost<'_>, budget: Duration) -> DeliveryOutcome {
        let deadline = Instant::now() + budget.min(self.policy.budget);
        let uri = match webhook_uri(post.url, self.outbound) {
            Ok(uri) => uri,
            Err(reason) => {
                tracing::warn!(lead_id = post.lead_id, buyer_id = %post.buyer_id, reason, "webhook URL refused");
                return DeliveryOutcome::Failed {
                    attempts: 0,
                    last_error: reason.to_owned(),
                    reached: false,
                    permanent: true,
                };
            }
        };
        let body = Bytes::copy_from_slice(post.body);
        let mut attempt = 0;
        let mut reached = false;
        loop {
            attempt += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let limit = self.policy.attempt_timeout.min(left);
            let verdict = match tokio::time::timeout(limit, self.attempt(&uri, post, &body)).await {
                Ok(verdict) => verdict,
                // The request may have been sent and be in the buyer's hands.
                Err(_) => Verdict::Retry {
                    error: format!("timed out after {} ms", limit.as_millis()),
                    after: None,
                    reached: true,
                },
            };
            let (error, after) = match verdict {
                Verdict::Decided(outcome) => {
                    log_decided(post, attempt, &outcome);
                    return outcome;
                }
                Verdict::Final { error, reached: r } => {
                    tracing::warn!(lead_id = post.lead_id, buyer_id = %post.buyer_id, webhook_id = post.webhook_id, attempt, error, "delivery failed; not retried");
                    return DeliveryOutcome::Failed {
                        attempts: attempt,
                        last_error: error,
                        reached: reached || r,
                        permanent: true,
                    };
                }
                Verdict::Retry {
                    error,
                    after,
                    reached: r,
                } => {
                    reached |= r;
                    (error, after)
                }
            };
            let wait = self.policy.backoff(attempt).max(after.unwrap_or_default());
            let retry = attempt < self.policy.max_attempts
                && Instant::now() + wait + MIN_ATTEMPT <= deadline;
            tracing::warn!(lead_id = post.lead_id, buyer_id = %post.buyer_id, webhook_id = post.webhook_id, attempt, error, retry, "delivery attempt failed");
            if !retry {
                return DeliveryOutcome::Failed {
                    attempts: attempt,
                    last_error: error,
                    reached,
                    permanent: false,
                };
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One signed POST, its reply read and classified.
    async fn attempt(&self, uri: &Uri, post: &WebhookPost<'_>, body: &Bytes) -> Verdict {
        let request = match signed_request(uri, post, body) {
            Ok(request) => request,
            Err(error) => return Verdict::unsent(error),
        };
        let response = match self.http.request(request).await {
            Ok(response) => response,
            Err(e) => {
                return Verdict::Retry {
                    error: crate::redact::error_chain(&e),
                    after: None,
                    // A refused or failed connection carried nothing to the buyer.
                    reached: !e.is_connect(),
                };
            }
        };
        let status = response.status();
        let after = retry_after(response.headers());
        let reply = match Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
        {
            Ok(body) => serde_json::from_slice::<BuyerReply>(&body.to_bytes()).ok(),
            // A reply too long to be ours says nothing; the status still does.
            Err(e) if e.is::<http_body_util::LengthLimitError>() => None,
            Err(e) => {
                return Verdict::Retry {
                    error: format!("http {}; reply interrupted: {e}", status.as_u16()),
                    after: None,
                    reached: true,
                };
            }
        };
        classify(status, reply, after)
    }
}

/// The POST of `post`, signed now (the timestamp is the send time, the id stays the same
/// across attempts); `Err` says why it could not be built.
fn signed_request(
    uri: &Uri,
    post: &WebhookPost<'_>,
    body: &Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    let signature = webhooks::sign_all(post.secrets, post.webhook_id, Utc::now(), post.body)
        .map_err(|e| e.to_string())?;
    let mut request = Request::post(uri.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(
            USER_AGENT,
            concat!("aurum-delivery/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(body.clone()))
        .map_err(|e| format!("request could not be built: {e}"))?;
    signature
        .apply(request.headers_mut())
        .map_err(|e| e.to_string())?;
    Ok(request)
}

enum Verdict {
    Decided(DeliveryOutcome),
    Retry {
        error: String,
        after: Option<Duration>,
        reached: bool,
    },
    Final {
        error: String,
        reached: bool,
    },
}

impl Verdict {
    /// A failure before anything was sent, that retrying cannot change.
    fn unsent(error: String) -> Verdict {
        Verdict::Final {
            error,
            reached: false,
        }
    }
}

fn classify(status: StatusCode, reply: Option<BuyerReply>, after: Option<Duration>) -> Verdict {
    let refusal = reply
        .filter(|r| !r.accepted)
        .map(|r| reason_text(r.reason.as_deref()));
    let code = status.as_u16();
    match (code, refusal) {
        (200..=299, None) => Verdict::Decided(DeliveryOutcome::Accepted),
        (200..=299 | 400..=499, Some(reason)) => {
            Verdict::Decided(DeliveryOutcome::Rejected { reason })
        }
        (409 | 422, None) => Verdict::Decided(DeliveryOutcome::Rejected {
            reason: format!("http_{code}"),
        }),
        // An answer that is not a 2xx says the buyer did not take the lead (Standard
        // Webhooks): it was not left holding it.
        (408 | 429 | 500..=599, _) => Verdict::Retry {
            error: format!("http {code}"),
            after,
            reached: false,
        },
        _ => Verdict::Final {
            error: format!("http {code}"),
            reached: false,
        },
    }
}

/// A buyer's reason as kept: trimmed, no control characters, at most 200 characters.
fn reason_text(reason: Option<&str>) -> String {
    let text: String = reason
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON_CHARS)
        .collect();
    if text.is_empty() {
        "unspecified".to_owned()
    } else {
        text
    }
}

/// A reason that reads as a code (`outside_service_area`) is logged as is; free text
/// might quote the homeowner, so it is not.
fn loggable_reason(reason: &str) -> &str {
    let code_like = reason.len() <= 64
        && reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if code_like { reason } else { "free_text" }
}

fn log_decided(post: &WebhookPost<'_>, attempt: u32, outcome: &DeliveryOutcome) {
    match outcome {
        DeliveryOutcome::Accepted => {
            tracing::info!(lead_id = post.lead_id, buyer_id = %post.buyer_id, webhook_id = post.webhook_id, attempt, "delivery accepted");
        }
        DeliveryOutcome::Rejected { reason } => {
            tracing::info!(lead_id = post.lead_id, buyer_id = %post.buyer_id, webhook_id = post.webhook_id, attempt, reason = loggable_reason(reason), "delivery rejected by the buyer");
        }
        DeliveryOutcome::Failed { .. } => {}
    }
}

/// `Retry-After` in seconds (the date form is ignored), at most a minute.
fn retry_after(headers: &hyper::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

/// The URL to post to: the buyer rule (`domain::buyer::check_webhook_url`, the one the
/// import applies) for where this client may send, and https only where this binary can
/// speak it.
fn webhook_uri(url: &str, outbound: Outbound) -> Result<Uri, &'static str> {
    crate::domain::buyer::check_webhook_url(url, outbound)?;
    let uri: Uri = url.parse().map_err(|_| "webhook URL is not a valid URL")?;
    match uri.scheme_str() {
        Some("https") if !cfg!(feature = "https") => {
            Err("https delivery is not built into this binary")
        }
        _ => Ok(uri),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::lead_id_for;
    use crate::domain::buyer::{BuyerTier, Hours, ServiceArea};
    use crate::domain::conversation::{ConsentEvidence, Contact, Conversation, SessionId};
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 2, h, m, 0)
            .single()
            .expect("valid")
    }

    fn buyer() -> Buyer {
        Buyer {
            filters: Default::default(),
            pause: None,
            previous_secrets: Vec::new(),
            version: 0,
            id: BuyerId::parse("solarreviews").expect("id"),
            name: "SolarReviews".into(),
            tier: BuyerTier::Premium,
            price_floor: Cents(20_000),
            price_cap: Cents(40_000),
            daily_cap: 40,
            monthly_spend_cap: None,
            area: ServiceArea {
                zips: BTreeSet::new(),
                boroughs: Borough::ALL.into(),
            },
            min_quality: QualityTier::Standard,
            hours: Hours::always(),
            webhook_url: "https://buyer.example/leads".into(),
            secret: WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret"),
            return_window_days: 7,
            active: true,
            ping_post: None,
        }
    }

    fn lead() -> QueuedLead {
        let session = SessionId::parse("chat_pinned").expect("id");
        let mut c = Conversation::new(session.clone(), at(15, 0));
        c.facts.homeowner = Some(true);
        c.facts.monthly_bill = Some(Cents(32_000));
        c.facts.zip_code = Some(ZipCode::parse("11215").expect("zip"));
        c.facts.borough = Some(Borough::Brooklyn);
        c.facts.neighborhood = Some("park_slope".into());
        c.facts.property_type = Some(PropertyType::Townhouse);
        c.facts.timeline = Some(Timeline::WithinThreeMonths);
        c.facts.decision_maker = Some(DecisionMaker::Joint);
        c.facts.financing = Some(Financing::Loan);
        c.facts.technical_topics = [TechnicalTopic::Batteries].into();
        c.facts.objections_open = [Objection::Cost].into();
        c.facts.contact = Contact {
            name: Some("Maria Lopez".into()),
            phone: Some("+17185550142".into()),
            email: Some("maria@example.com".into()),
        };
        c.facts.contact_consent = Some(true);
        QueuedLead {
            schema: QueuedLead::SCHEMA,
            lead_id: lead_id_for(&session),
            session_id: session,
            queued_at: at(15, 0),
            score: 86,
            tier: QualityTier::Premium,
            revenue_potential: Cents(26_400),
            conversion_probability: 0.8,
            model_version: 3,
            facts: c.facts,
            consent: Some(ConsentEvidence {
                given_at: at(14, 58),
                words: "yes, have an installer call me".into(),
                disclosure: Some("An installer will call you about solar.".into()),
                sellers: Vec::new(),
            }),
            withdrawn: None,
            factors: None,
            offer: 0,
        }
    }

    #[test]
    fn given_a_sale_when_serialised_then_the_buyer_reads_the_pinned_v1_json() {
        // GIVEN a premium lead sold at $275.00 at 15:30 UTC to a buyer with a 7-day window
        let message =
            BuyerMessage::lead_sold(&lead(), &buyer(), Cents(27_500), at(15, 30)).expect("sale");
        // WHEN it is written
        let written: serde_json::Value =
            serde_json::from_slice(&message.to_body().expect("body")).expect("json");
        // THEN it is exactly the pinned v1 body (every buyer's integration parses this)
        let expected = serde_json::json!({
            "type": "lead.sold",
            "schema": 1,
            "timestamp": "2026-06-02T15:30:00Z",
            "data": {
                "lead_id": "lead_fbf6592bbf895aaabe7055ec5cbd0089",
                "buyer_id": "solarreviews",
                "sold_at": "2026-06-02T15:30:00Z",
                "price_cents": 27500,
                "tier": "premium",
                "score": 86,
                "return_window_days": 7,
                "returnable_until": "2026-06-09T15:30:00Z",
                "contact": {
                    "name": "Maria Lopez",
                    "phone": "+17185550142",
                    "email": "maria@example.com"
                },
                "consent": {
                    "given_at": "2026-06-02T14:58:00Z",
                    "words": "yes, have an installer call me",
                    "disclosure": "An installer will call you about solar."
                },
                "property": {
                    "homeowner": true,
                    "property_type": "townhouse",
                    "zip_code": "11215",
                    "borough": "brooklyn",
                    "neighborhood": "park_slope",
                    "monthly_bill_cents": 32000
                },
                "interest": {
                    "timeline": "within_three_months",
                    "decision_maker": "joint",
                    "financing": "loan",
                    "credit": null,
                    "competing_quotes": null,
                    "technical_topics": ["batteries"],
                    "open_objections": ["cost"]
                }
            }
        });
        assert_eq!(written, expected);
        // AND it reads back unchanged
        let back: BuyerMessage = serde_json::from_value(written).expect("reads back");
        assert_eq!(back, message);
    }

    #[test]
    fn given_a_withdrawal_when_serialised_then_it_is_the_pinned_json_without_contact_details() {
        let buyer = buyer();
        let message = BuyerMessage::lead_withdrawn("lead_1", &buyer.id, at(16, 0));
        let written: serde_json::Value =
            serde_json::from_slice(&message.to_body().expect("body")).expect("json");
        assert_eq!(
            written,
            serde_json::json!({
                "type": "lead.withdrawn",
                "schema": 1,
                "timestamp": "2026-06-02T16:00:00Z",
                "data": {
                    "lead_id": "lead_1",
                    "buyer_id": "solarreviews",
                    "withdrawn_at": "2026-06-02T16:00:00Z",
                    "reason": "consent_withdrawn"
                }
            })
        );
    }

    #[test]
    fn given_a_lead_without_consent_or_contact_when_sold_then_no_delivery_is_built() {
        let mut no_consent = lead();
        no_consent.consent = None;
        assert_eq!(
            BuyerMessage::lead_sold(&no_consent, &buyer(), Cents(27_500), at(15, 30)),
            Err(PayloadError::NoConsent)
        );
        let mut unreachable = lead();
        unreachable.facts.contact.phone = None;
        unreachable.facts.contact.email = None;
        assert_eq!(
            BuyerMessage::lead_sold(&unreachable, &buyer(), Cents(27_500), at(15, 30)),
            Err(PayloadError::Unreachable)
        );
    }

    #[test]
    fn given_a_sale_when_printed_for_a_log_then_no_contact_detail_or_consent_words_show() {
        let message =
            BuyerMessage::lead_sold(&lead(), &buyer(), Cents(27_500), at(15, 30)).expect("sale");
        let text = format!("{message:?}");
        for secret in [
            "Maria",
            "7185550142",
            "maria@example.com",
            "installer call me",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("lead_fbf6592bbf895aaabe7055ec5cbd0089"),
            "{text}"
        );
    }

    #[test]
    fn given_one_message_then_its_webhook_id_is_stable_and_differs_per_buyer_and_type() {
        let b = buyer();
        let sold = BuyerMessage::lead_sold(&lead(), &b, Cents(27_500), at(15, 30)).expect("sale");
        let resold_later =
            BuyerMessage::lead_sold(&lead(), &b, Cents(27_500), at(15, 45)).expect("sale");
        // Pinned: buyers de-duplicate on it across our deployments.
        assert_eq!(sold.webhook_id(), "msg_d7d3a8a7eda353dfbd0e14723dcdb068");
        assert_eq!(sold.webhook_id(), resold_later.webhook_id());
        let other = BuyerId::parse("modernize").expect("id");
        assert_ne!(
            sold.webhook_id(),
            webhook_id("lead.sold", sold.lead_id(), &other)
        );
        assert_ne!(
            sold.webhook_id(),
            BuyerMessage::lead_withdrawn(sold.lead_id(), &b.id, at(16, 0)).webhook_id()
        );
    }

    #[test]
    fn given_buyer_replies_when_classified_then_accept_reject_and_retry_follow_the_contract() {
        let decided = |code: u16, reply: Option<BuyerReply>| match classify(
            StatusCode::from_u16(code).expect("status"),
            reply,
            None,
        ) {
            Verdict::Decided(o) => Some(o),
            Verdict::Retry { .. } => None,
            Verdict::Final { error, reached } => Some(DeliveryOutcome::Failed {
                attempts: 1,
                last_error: error,
                reached,
                permanent: true,
            }),
        };
        let rejected = |reason: &str| {
            Some(DeliveryOutcome::Rejected {
                reason: reason.into(),
            })
        };
        assert_eq!(decided(200, None), Some(DeliveryOutcome::Accepted));
        assert_eq!(
            decided(202, Some(BuyerReply::accept())),
            Some(DeliveryOutcome::Accepted)
        );
        assert_eq!(
            decided(200, Some(BuyerReply::reject("outside_service_area"))),
            rejected("outside_service_area")
        );
        assert_eq!(
            decided(400, Some(BuyerReply::reject("duplicate"))),
            rejected("duplicate")
        );
        assert_eq!(decided(409, None), rejected("http_409"));
        assert_eq!(decided(422, None), rejected("http_422"));
        assert_eq!(
            decided(
                422,
                Some(BuyerReply {
                    accepted: false,
                    reason: None
                })
            ),
            rejected("unspecified")
        );
        for code in [408, 429, 500, 502, 503] {
            assert_eq!(decided(code, None), None, "{code} is retried");
        }
        for code in [301, 400, 401, 404] {
            assert!(
                matches!(decided(code, None), Some(DeliveryOutcome::Failed { .. })),
                "{code} is final"
            );
        }
    }

    #[test]
    fn given_a_long_reason_with_control_characters_then_it_is_trimmed_and_not_logged() {
        let long = format!(" \u{7}{}", "x".repeat(500));
        let kept = reason_text(Some(&long));
        assert_eq!(kept.chars().count(), MAX_REASON_CHARS);
        assert!(!kept.contains('\u{7}'));
        assert_eq!(
            loggable_reason("outside_service_area"),
            "outside_service_area"
        );
        assert_eq!(loggable_reason("call Maria at 718 555 0142"), "free_text");
    }

    #[tokio::test]
    async fn given_a_deployment_when_a_host_resolves_to_loopback_then_the_connection_is_refused() {
        use tower_service::Service;
        // GIVEN a name that resolves to loopback (a public-looking name rebound to 127.0.0.1
        // resolves the same way; `localhost` needs no DNS server)
        let name: Name = "localhost".parse().expect("name");
        // WHEN a deployment's resolver resolves it THEN no address is left to connect to
        let mut public = GuardedResolver::new(Outbound::Public);
        let refused = public.call(name.clone()).await.expect_err("loopback only");
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        // AND the local sandbox reaches it
        let mut sandbox = GuardedResolver::new(Outbound::Sandbox);
        let addrs: Vec<_> = sandbox.call(name).await.expect("resolves").collect();
        assert!(addrs.iter().any(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[tokio::test]
    async fn given_a_deployment_when_a_buyer_points_at_an_internal_address_then_nothing_is_sent() {
        // GIVEN a listener on loopback standing in for an internal service
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let client = DeliveryClient::new(RetryPolicy::default(), Outbound::Public).expect("client");
        let secret =
            WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret");
        let buyer_id = BuyerId::parse("internal_probe").expect("id");
        for url in [
            format!("http://127.0.0.1:{port}/leads"),
            format!("https://127.0.0.1:{port}/leads"),
            format!("https://2130706433:{port}/leads"),
            format!("https://localhost:{port}/leads"),
        ] {
            // WHEN a signed post is made to it
            let outcome = client
                .post(&WebhookPost {
                    lead_id: "lead_probe",
                    buyer_id: &buyer_id,
                    url: &url,
                    secrets: std::slice::from_ref(&secret),
                    webhook_id: "msg_probe",
                    body: b"{}",
                })
                .await;
            // THEN it is refused for good, without a connection
            assert!(
                matches!(
                    outcome,
                    DeliveryOutcome::Failed {
                        attempts: 0,
                        reached: false,
                        permanent: true,
                        ..
                    }
                ),
                "{url}: {outcome:?}"
            );
        }
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(
            accepted.is_err(),
            "no connection reached the internal service"
        );
    }

    #[test]
    fn given_webhook_urls_then_https_or_loopback_http_only() {
        assert!(webhook_uri("http://127.0.0.1:8080/leads", Outbound::Sandbox).is_ok());
        assert!(webhook_uri("http://localhost:8080/leads", Outbound::Sandbox).is_ok());
        assert!(webhook_uri("http://[::1]:8080/leads", Outbound::Sandbox).is_ok());
        assert!(webhook_uri("http://127.5.0.1/leads", Outbound::Sandbox).is_ok());
        assert!(webhook_uri("http://buyer.example/leads", Outbound::Sandbox).is_err());
        assert!(webhook_uri("http://10.0.0.1/leads", Outbound::Sandbox).is_err());
        assert!(webhook_uri("http://localhost.buyer.example/leads", Outbound::Sandbox).is_err());
        assert!(webhook_uri("ftp://buyer.example/leads", Outbound::Sandbox).is_err());
        assert!(webhook_uri("not a url", Outbound::Sandbox).is_err());
        assert_eq!(
            webhook_uri("https://buyer.example/leads", Outbound::Sandbox).is_ok(),
            cfg!(feature = "https")
        );
    }

    #[test]
    fn given_the_default_policy_then_three_attempts_fit_the_ten_second_budget() {
        let p = RetryPolicy::default();
        let worst = p.attempt_timeout * p.max_attempts + p.backoff(1) + p.backoff(2);
        assert!(worst <= p.budget, "{worst:?}");
        assert_eq!(p.backoff(1), Duration::from_millis(250));
        assert_eq!(p.backoff(2), Duration::from_millis(500));
        assert_eq!(p.backoff(40), p.budget);
    }
}
