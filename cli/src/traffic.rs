//! `aurum simulate --days N`: synthetic traffic through the real endpoints of a running
//! `aurum serve`, over simulated days, so that the dashboard shows weeks of business within
//! a minute.
//!
//! * **Homeowners** chat through `POST /api/v1/conversation/revenue-optimized`, several
//!   turns each, worded from varied templates: most are homeowners who give their bill,
//!   ZIP, timeline, a contact and consent (some leave before the contact, a few take
//!   consent back); some are renters, some live outside the five boroughs, some only ask
//!   questions. More chats on weekdays than at the weekend, more at lunch and in the
//!   evening, a slow growth from day to day.
//! * **Buyers** (the example buyers that `aurum serve` delivers to its sandbox inbox) answer
//!   each delivered lead plausibly through the real feedback endpoint, signed with their
//!   secret (Standard Webhooks): most accept within hours, some reject with a reason, a few
//!   accepted leads are returned for credit within days, and about one in six converts
//!   within two weeks with a sale value.
//! * **Time**: the simulation covers the `days` New York days before today and today up to
//!   now. Before each chat and each feedback the simulator sets the server's sandbox clock
//!   (`PUT /sandbox/clock`, see [`crate::sandbox_clock`]) to that moment, so every turn,
//!   sale, ledger line and feedback is stamped with its simulated time; at the end it
//!   puts the clock back (`DELETE`). Only `aurum serve` answers that route: a deployed API
//!   cannot be backdated, and the simulator refuses to run against a server without it.
//! * **Deterministic**: every draw comes from one seeded stream per day (chats) or per lead
//!   (buyer answers); session ids are named by the seed and the day, so the lead ids, the
//!   sandbox's delivery answers and the buyers' feedback repeat on a fresh data directory.
//!   Replaying a seed on a server that already has its sessions is refused.

use crate::buyer_client::FeedbackSender;
use crate::simulate::{HOURLY_ARRIVALS, Rng};
use aurum::domain::buyer::{BuyerId, WebhookSecret};
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Instant;

pub const CONVERSATION_PATH: &str = "/api/v1/conversation/revenue-optimized";
pub const DEFAULT_URL: &str = "http://127.0.0.1:3000";
/// Most simulated days in one run.
pub const MAX_DAYS: u32 = 90;

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("--days must be 1 to {MAX_DAYS}, not {0}")]
    Days(u32),
    #[error("bad URL {0}: the simulator talks to a local `aurum serve` over http://")]
    Url(String),
    #[error(
        "{0} has no sandbox clock (PUT /sandbox/clock answered {1}): only `aurum serve` can be \
         simulated on, a deployed API cannot be backdated"
    )]
    NoSandboxClock(String, u16),
    #[error("cannot reach {0}: {1} (is `aurum serve` running?)")]
    Unreachable(String, String),
    #[error("{method} {path} answered {status}: {body}")]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        body: String,
    },
    #[error(
        "the server already has the sessions of seed {0} for these days: run with another \
         --seed, or on a fresh data directory"
    )]
    SeedReplayed(u64),
    #[error("the example buyers: {0}")]
    Buyers(String),
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    /// Whole New York days before today (today up to now comes on top).
    pub days: u32,
    pub seed: u64,
    /// Base URL of the running `aurum serve`.
    pub url: String,
}

/// What happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficReport {
    pub chats: usize,
    pub turns: usize,
    pub leads_queued: usize,
    /// Queued leads by the quality tier they were first routed at.
    pub tiers: BTreeMap<String, usize>,
    /// Leads that reached a buyer (sold and delivered).
    pub leads_sold: usize,
    /// Of those, sold on a re-offer after waiting for a buyer.
    pub leads_sold_after_waiting: usize,
    /// What the delivered leads sold for, in cents (before any credit).
    pub sold_cents: i64,
    /// Still waiting for a buyer when the run ended (within their shelf life).
    pub leads_waiting: usize,
    /// Waited their whole shelf life without a buyer.
    pub leads_expired: usize,
    pub leads_unsold: usize,
    /// Feedback posted and applied, by type (`accepted`, `rejected`, `returned`, `converted`).
    pub feedback: BTreeMap<String, usize>,
    /// Feedback the endpoint refused (e.g. a return past its window), by status.
    pub feedback_refused: BTreeMap<u16, usize>,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
}

// ---- the synthetic homeowners ------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// Homeowner in NYC who gives everything and consents.
    Qualified,
    /// Homeowner who leaves before giving a contact.
    Leaves,
    /// Consents, then takes it back.
    Withdraws,
    /// Asks questions, gives no contact.
    Researcher,
    Renter,
    OutOfArea,
}

const PERSONAS: [(Persona, f64); 6] = [
    (Persona::Qualified, 0.52),
    (Persona::Leaves, 0.10),
    (Persona::Withdraws, 0.03),
    (Persona::Researcher, 0.14),
    (Persona::Renter, 0.12),
    (Persona::OutOfArea, 0.09),
];

/// NYC ZIPs the market data knows, with a way to say the place.
const PLACES: [(&str, &str); 16] = [
    ("11105", "Astoria"),
    ("11215", "Park Slope"),
    ("10314", "Staten Island"),
    ("11234", "Marine Park, Brooklyn"),
    ("11364", "Bayside"),
    ("10465", "the Bronx"),
    ("10021", "the Upper East Side"),
    ("11229", "Sheepshead Bay"),
    ("10306", "Staten Island"),
    ("11357", "Whitestone"),
    ("10471", "Riverdale"),
    ("11209", "Bay Ridge"),
    ("11432", "Jamaica, Queens"),
    ("11218", "Kensington, Brooklyn"),
    ("10312", "Staten Island"),
    ("11361", "Bayside, Queens"),
];

/// ZIPs just outside the five boroughs.
const OUTSIDE: [(&str, &str); 4] = [
    ("07030", "Hoboken"),
    ("10701", "Yonkers"),
    ("11550", "Hempstead"),
    ("07302", "Jersey City"),
];

const PROPERTIES: [&str; 6] = [
    "single-family house",
    "two-family house",
    "detached house",
    "townhouse",
    "semi-detached house",
    "row house",
];

const FIRST_NAMES: [&str; 12] = [
    "Maria", "James", "Wei", "Priya", "Daniel", "Aisha", "Kevin", "Sofia", "Omar", "Grace", "Luis",
    "Hannah",
];
const LAST_NAMES: [&str; 10] = [
    "Lopez", "Chen", "Patel", "Murphy", "Rossi", "Johnson", "Kim", "Cohen", "Okafor", "Silva",
];

fn pick<'a>(rng: &mut Rng, options: &[&'a str]) -> &'a str {
    options[rng.below(options.len())]
}

/// One synthetic chat: when it starts and what the homeowner says, turn by turn.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedChat {
    pub session_id: String,
    pub starts_at: DateTime<Utc>,
    pub persona: Persona,
    pub messages: Vec<String>,
}

fn opener(rng: &mut Rng, property: &str, place: &str) -> String {
    match rng.below(4) {
        0 => format!("Hi! I own a {property} in {place} and I'm thinking about solar."),
        1 => format!("Hello, we own a {property} in {place}. Is solar worth it for us?"),
        2 => format!("I'm a homeowner in {place} looking into solar panels for my {property}."),
        _ => format!("Hey there, thinking about going solar on our {property} in {place}."),
    }
}

fn bill_and_zip(rng: &mut Rng, bill: u32, zip: &str) -> String {
    match rng.below(3) {
        0 => format!("Our Con Ed bill is about ${bill} a month. ZIP is {zip}."),
        1 => format!("We pay around ${bill} a month for electricity, zip code {zip}."),
        _ => format!("Electric bill runs ${bill} monthly. We're in {zip}."),
    }
}

fn timeline(rng: &mut Rng) -> String {
    pick(
        rng,
        &[
            "We'd like to get it done in the next few months. My wife and I decide together.",
            "Hoping to install within 6 months. It's my decision.",
            "As soon as possible, honestly. I make the decisions here.",
            "Probably in the next year or so. My husband and I decide together.",
            "Within 3 months if the numbers work. I'm the sole owner.",
        ],
    )
    .to_owned()
}

fn question(rng: &mut Rng) -> String {
    pick(
        rng,
        &[
            "How does net metering work, and do I need a battery?",
            "What incentives are there in New York?",
            "How long does it take to pay back?",
            "Will panels work on a flat roof?",
            "What about the federal tax credit?",
            "Do I need permits from the city?",
        ],
    )
    .to_owned()
}

/// How the homeowner would pay, and what they say of their credit (half of them say).
fn money(rng: &mut Rng) -> String {
    pick(
        rng,
        &[
            "We'd pay cash if the numbers work.",
            "We'd probably finance it with a solar loan, our credit is excellent.",
            "Maybe a lease or a PPA, not sure yet.",
            "We want to own it, we'd take out a loan.",
            "Not sure how we'd pay for it yet.",
        ],
    )
    .to_owned()
}

fn contact(rng: &mut Rng, n: u64) -> String {
    let first = pick(rng, &FIRST_NAMES);
    let last = pick(rng, &LAST_NAMES);
    if rng.unit() < 0.6 {
        format!("My name is {first} {last}, you can email me at homeowner{n}@example.com.")
    } else {
        format!(
            "I'm {first} {last}, reach me at {first}.{last}.{n}@example.net",
            first = first.to_lowercase(),
            last = last.to_lowercase()
        )
    }
}

fn consent(rng: &mut Rng) -> String {
    pick(
        rng,
        &[
            "Yes, you can share my info with an installer and have them call me.",
            "Yes, you can share my info with an installer.",
            "Yes, please have an installer contact me. You can share my info.",
        ],
    )
    .to_owned()
}

fn plan_messages(rng: &mut Rng, persona: Persona, n: u64) -> Vec<String> {
    let property = pick(rng, &PROPERTIES);
    let (zip, place) = PLACES[rng.below(PLACES.len())];
    let bill = 10 * ((rng.normal(300.0, 90.0).clamp(120.0, 700.0) / 10.0).round() as u32);
    let mut m = Vec::new();
    match persona {
        Persona::Qualified | Persona::Leaves | Persona::Withdraws => {
            m.push(opener(rng, property, place));
            m.push(bill_and_zip(rng, bill, zip));
            m.push(timeline(rng));
            if rng.unit() < 0.5 {
                m.push(money(rng));
            }
            // Most ask something; some ask a lot.
            let asked = [0, 1, 1, 2, 3][rng.below(5)];
            for _ in 0..asked {
                m.push(question(rng));
            }
            if rng.unit() < 0.25 {
                m.push("We already got a quote from another installer, comparing now.".into());
            }
            if persona == Persona::Leaves {
                if rng.unit() < 0.5 {
                    m.push("Let me think about it and come back later.".into());
                }
                return m;
            }
            m.push(contact(rng, n));
            m.push(consent(rng));
            if persona == Persona::Withdraws {
                m.push("Actually, don't share my details with anyone.".into());
            } else if rng.unit() < 0.5 {
                m.push(
                    pick(
                        rng,
                        &["Thanks, sounds great!", "Thank you!", "Great, talk soon."],
                    )
                    .into(),
                );
            }
        }
        Persona::Researcher => {
            m.push(
                pick(
                    rng,
                    &[
                        "Just researching: how much do solar panels cost in NYC?",
                        "I'm curious how solar works in the city.",
                        "Is solar worth it in New York?",
                    ],
                )
                .into(),
            );
            for _ in 0..1 + rng.below(3) {
                m.push(question(rng));
            }
        }
        Persona::Renter => {
            m.push(
                pick(
                    rng,
                    &[
                        "Hi, I rent an apartment in {place} and want solar.",
                        "I'm renting in {place}, can I get solar panels?",
                        "We are tenants, is there community solar for renters?",
                    ],
                )
                .replace("{place}", place),
            );
            m.push(bill_and_zip(rng, bill.min(200), zip));
        }
        Persona::OutOfArea => {
            let (zip, town) = OUTSIDE[rng.below(OUTSIDE.len())];
            m.push(format!(
                "I own a {property} in {town}, zip {zip}. Interested in solar."
            ));
            m.push(bill_and_zip(rng, bill, zip));
        }
    }
    m
}

/// `n` homeowner scripts in the simulator's mix of personas (the load generator's
/// conversations): the same seed, the same scripts.
pub fn scripts(seed: u64, n: usize) -> Vec<Vec<String>> {
    let mut rng = Rng::new(seed, 0x10ad);
    let weights: Vec<f64> = PERSONAS.iter().map(|p| p.1).collect();
    (0..n as u64)
        .map(|serial| {
            let persona = PERSONAS[rng.weighted(&weights)].0;
            plan_messages(&mut rng, persona, serial)
        })
        .collect()
}

/// Chats on a New York day before `rng` noise: weekdays busier than weekends.
fn base_volume(weekday: Weekday) -> f64 {
    match weekday {
        Weekday::Sat => 22.0,
        Weekday::Sun => 16.0,
        Weekday::Fri => 30.0,
        _ => 34.0,
    }
}

/// The chats of one New York day (index `day_index` from the first simulated day), in
/// start order; none starts after `until`.
pub fn plan_day(
    seed: u64,
    date: NaiveDate,
    day_index: u32,
    until: DateTime<Utc>,
) -> Vec<PlannedChat> {
    let mut rng = Rng::new(
        seed,
        0x7AFF_1C00 ^ u64::from(date.num_days_from_ce() as u32),
    );
    let growth = 1.0 + 0.012 * f64::from(day_index);
    let volume = (base_volume(date.weekday()) * growth * rng.normal(1.0, 0.12).clamp(0.6, 1.5))
        .round()
        .max(1.0) as usize;
    let mut starts: Vec<u32> = (0..volume)
        .map(|_| {
            let hour = rng.weighted(&HOURLY_ARRIVALS) as u32;
            hour * 60 + rng.below(60) as u32
        })
        .collect();
    starts.sort_unstable();
    let weights: Vec<f64> = PERSONAS.iter().map(|(_, w)| *w).collect();
    let mut chats = Vec::new();
    for (n, minute) in starts.into_iter().enumerate() {
        let persona = PERSONAS[rng.weighted(&weights)].0;
        let serial = u64::from(day_index) * 1000 + n as u64;
        let messages = plan_messages(&mut rng, persona, serial);
        let Some(starts_at) = new_york(date, minute) else {
            continue;
        };
        if starts_at > until {
            break;
        }
        chats.push(PlannedChat {
            session_id: format!("sim-{seed}-{date}-{n:03}"),
            starts_at,
            persona,
            messages,
        });
    }
    chats
}

fn new_york(date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)?;
    New_York
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Every chat of the run: `days` whole days before `now`'s New York date, then that day up
/// to `now`.
pub fn plan(seed: u64, days: u32, now: DateTime<Utc>) -> Vec<PlannedChat> {
    let today = now.with_timezone(&New_York).date_naive();
    (0..=days)
        .filter_map(|i| {
            today
                .checked_sub_days(Days::new(u64::from(days - i)))
                .map(|d| (i, d))
        })
        .flat_map(|(i, date)| plan_day(seed, date, i, now))
        .collect()
}

// ---- the buyers ------------------------------------------------------------------------

/// A feedback a buyer will post, at a simulated time.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFeedback {
    pub at: DateTime<Utc>,
    pub lead_id: String,
    pub buyer_id: String,
    pub body: Value,
    pub kind: &'static str,
}

/// How the buyer that bought `lead_id` at `sold_at` answers it: accept or reject within
/// hours; an accepted lead may be returned within its window or converted within weeks.
pub fn buyer_answers(
    seed: u64,
    lead_id: &str,
    buyer_id: &str,
    sold_at: DateTime<Utc>,
    returnable_until: DateTime<Utc>,
) -> Vec<PlannedFeedback> {
    let digest = Sha256::digest(lead_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let mut rng = Rng::new(seed, u64::from_be_bytes(first));
    let hours = |rng: &mut Rng, lo: f64, hi: f64| {
        Duration::minutes(((lo + rng.unit() * (hi - lo)) * 60.0) as i64)
    };
    let feedback = |at, kind: &'static str, extra: Value| {
        let mut body = json!({"lead_id": lead_id, "buyer_id": buyer_id, "feedback_type": kind});
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        PlannedFeedback {
            at,
            lead_id: lead_id.to_owned(),
            buyer_id: buyer_id.to_owned(),
            body,
            kind,
        }
    };
    let mut answers = Vec::new();
    if rng.unit() < 0.08 {
        let reason = pick(
            &mut rng,
            &["wrong_number", "not_homeowner", "unreachable", "duplicate"],
        );
        answers.push(feedback(
            sold_at + hours(&mut rng, 0.5, 8.0),
            "rejected",
            json!({"reason_code": reason, "feedback_score": 2.0}),
        ));
        return answers;
    }
    let accepted_at = sold_at + hours(&mut rng, 0.2, 6.0);
    let score = (rng.normal(7.5, 1.2).clamp(3.0, 10.0) * 10.0).round() / 10.0;
    answers.push(feedback(
        accepted_at,
        "accepted",
        json!({"feedback_score": score}),
    ));
    let outcome = rng.unit();
    if outcome < 0.06 {
        let at = accepted_at + hours(&mut rng, 12.0, 96.0);
        if at < returnable_until {
            let reason = pick(&mut rng, &["wrong_number", "unreachable", "not_homeowner"]);
            answers.push(feedback(at, "returned", json!({"reason_code": reason})));
        }
    } else if outcome < 0.06 + 0.17 {
        let value =
            100.0 * (rng.normal(28_000.0, 7_000.0).clamp(12_000.0, 55_000.0) / 100.0).round();
        answers.push(feedback(
            accepted_at + hours(&mut rng, 48.0, 14.0 * 24.0),
            "converted",
            json!({"conversion_value": value}),
        ));
    }
    answers
}

// ---- the run ---------------------------------------------------------------------------

struct Http {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    fn new(base: &str) -> Result<Http, TrafficError> {
        let base = base.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") || base.parse::<hyper::Uri>().is_err() {
            return Err(TrafficError::Url(base));
        }
        Ok(Http {
            base,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    async fn call(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), TrafficError> {
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(Value::to_string).unwrap_or_default(),
            )))
            .map_err(|e| TrafficError::Url(e.to_string()))?;
        let response = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            self.client.request(request),
        )
        .await
        .map_err(|_| TrafficError::Unreachable(self.base.clone(), "timed out".into()))?
        .map_err(|e| TrafficError::Unreachable(self.base.clone(), e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = Limited::new(response.into_body(), 4 * 1024 * 1024)
            .collect()
            .await
            .map_err(|e| TrafficError::Unreachable(self.base.clone(), e.to_string()))?
            .to_bytes();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// A call that must answer 2xx.
    async fn ok(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, TrafficError> {
        let (status, answer) = self.call(method, path, body).await?;
        success(method, path, status, answer)
    }
}

/// The answer of a 2xx, or the error that names the call and the API's error.
fn success(
    method: &'static str,
    path: &str,
    status: u16,
    answer: Value,
) -> Result<Value, TrafficError> {
    if !(200..300).contains(&status) {
        return Err(TrafficError::Status {
            method,
            path: path.to_owned(),
            status,
            // Error bodies are the API's `{error: {code, message}}`: no personal data.
            body: answer["error"].to_string(),
        });
    }
    Ok(answer)
}

/// The server's sandbox clock, moved only forward during a run.
struct SimClock<'a> {
    http: &'a Http,
    /// The simulated time last set, and the real instant it was set at.
    set: Option<(DateTime<Utc>, Instant)>,
}

impl SimClock<'_> {
    /// The simulated now (as the server has it, give or take the latency).
    fn now(&self) -> Option<DateTime<Utc>> {
        self.set.map(|(at, since)| {
            at + Duration::from_std(since.elapsed()).unwrap_or_else(|_| Duration::zero())
        })
    }

    async fn advance_to(&mut self, at: DateTime<Utc>) -> Result<(), TrafficError> {
        if self.now().is_some_and(|now| now >= at) {
            return Ok(());
        }
        let body = json!({ "now": at });
        let (status, answer) = self
            .http
            .call("PUT", crate::sandbox_clock::CLOCK_ROUTE, Some(&body))
            .await?;
        match status {
            200 => {}
            404 | 405 => return Err(TrafficError::NoSandboxClock(self.http.base.clone(), status)),
            _ => {
                return Err(TrafficError::Status {
                    method: "PUT",
                    path: crate::sandbox_clock::CLOCK_ROUTE.into(),
                    status,
                    body: answer["error"].to_string(),
                });
            }
        }
        self.set = Some((at, Instant::now()));
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), TrafficError> {
        self.http
            .ok("DELETE", crate::sandbox_clock::CLOCK_ROUTE, None)
            .await?;
        self.set = None;
        Ok(())
    }
}

/// What the simulator does next, in simulated-time order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// Read the queued lead's sale and plan its buyer's answers.
    CheckSale { lead_id: String, tries: u32 },
    /// Post the `n`th planned feedback.
    Feedback(usize),
}

/// Runs the traffic against `traffic.url`, calling `progress` after each chat with the
/// chats done, the total and the simulated day.
pub async fn run(
    traffic: &Traffic,
    mut progress: impl FnMut(usize, usize, NaiveDate),
) -> Result<TrafficReport, TrafficError> {
    if traffic.days == 0 || traffic.days > MAX_DAYS {
        return Err(TrafficError::Days(traffic.days));
    }
    let http = Http::new(&traffic.url)?;
    let secrets = buyer_secrets()?;
    let sender = FeedbackSender::new(std::time::Duration::from_secs(15))
        .map_err(|e| TrafficError::Buyers(e.to_string()))?;
    let now = Utc::now();
    let chats = plan(traffic.seed, traffic.days, now);
    let mut report = TrafficReport {
        first_day: chats
            .first()
            .map(|c| c.starts_at.with_timezone(&New_York).date_naive()),
        last_day: Some(now.with_timezone(&New_York).date_naive()),
        ..TrafficReport::default()
    };
    let mut clock = SimClock {
        http: &http,
        set: None,
    };
    let mut steps: BinaryHeap<Reverse<(DateTime<Utc>, Step)>> = BinaryHeap::new();
    let mut planned: Vec<PlannedFeedback> = Vec::new();
    let total = chats.len();
    let outcome = async {
        for (done, chat) in chats.iter().enumerate() {
            run_due(
                &mut steps,
                chat.starts_at,
                &mut clock,
                &http,
                &sender,
                &secrets,
                &mut planned,
                &mut report,
                traffic.seed,
            )
            .await?;
            clock.advance_to(chat.starts_at).await?;
            if let Some(lead_id) =
                converse(&http, chat, done == 0, traffic.seed, &mut report).await?
            {
                report.leads_queued += 1;
                steps.push(Reverse((
                    chat.starts_at + Duration::minutes(15),
                    Step::CheckSale { lead_id, tries: 0 },
                )));
            }
            progress(
                done + 1,
                total,
                chat.starts_at.with_timezone(&New_York).date_naive(),
            );
        }
        run_due(
            &mut steps,
            Utc::now(),
            &mut clock,
            &http,
            &sender,
            &secrets,
            &mut planned,
            &mut report,
            traffic.seed,
        )
        .await
    }
    .await;
    // Whatever happened, the server goes back to the real time.
    let reset = if clock.set.is_some() {
        clock.reset().await
    } else {
        Ok(())
    };
    outcome?;
    reset?;
    Ok(report)
}

/// One chat, turn by turn; the lead id when the chat queued its lead.
async fn converse(
    http: &Http,
    chat: &PlannedChat,
    first_of_run: bool,
    seed: u64,
    report: &mut TrafficReport,
) -> Result<Option<String>, TrafficError> {
    let mut lead = None;
    // The token the chat's first reply gives, sent back with every later turn.
    let mut token: Option<String> = None;
    for (i, message) in chat.messages.iter().enumerate() {
        let mut body = json!({"session_id": chat.session_id, "message": message});
        if let Some(t) = &token {
            body["session_token"] = json!(t);
        }
        let (status, answer) = http.call("POST", CONVERSATION_PATH, Some(&body)).await?;
        // A session that already exists belongs to the run that started it: this seed has
        // been played against this server before.
        if i == 0 && first_of_run && status == 403 && answer["error"]["code"] == "session_forbidden"
        {
            return Err(TrafficError::SeedReplayed(seed));
        }
        let answer = success("POST", CONVERSATION_PATH, status, answer)?;
        report.turns += 1;
        if let Some(t) = answer["session_token"].as_str() {
            token = Some(t.to_owned());
        }
        if let Some(id) = answer["lead_id"].as_str() {
            lead = Some(id.to_owned());
        }
    }
    report.chats += 1;
    Ok(lead)
}

#[allow(clippy::too_many_arguments)]
async fn run_due(
    steps: &mut BinaryHeap<Reverse<(DateTime<Utc>, Step)>>,
    until: DateTime<Utc>,
    clock: &mut SimClock<'_>,
    http: &Http,
    sender: &FeedbackSender,
    secrets: &HashMap<String, WebhookSecret>,
    planned: &mut Vec<PlannedFeedback>,
    report: &mut TrafficReport,
    seed: u64,
) -> Result<(), TrafficError> {
    let real_now = Utc::now();
    while steps.peek().is_some_and(|Reverse((at, _))| *at <= until) {
        let Some(Reverse((at, step))) = steps.pop() else {
            break;
        };
        if at > real_now {
            continue;
        }
        clock.advance_to(at).await?;
        match step {
            Step::CheckSale { lead_id, tries } => {
                let view = http
                    .ok("GET", &format!("/api/v1/leads/{lead_id}"), None)
                    .await?;
                if tries == 0
                    && let Some(tier) = view["tier"].as_str()
                {
                    *report.tiers.entry(tier.to_owned()).or_default() += 1;
                }
                match view["status"].as_str().unwrap_or("") {
                    "queued" | "sold" if tries < 40 => {
                        // The in-process router has not finished: give it a moment.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        steps.push(Reverse((
                            at + Duration::seconds(30),
                            Step::CheckSale {
                                lead_id,
                                tries: tries + 1,
                            },
                        )));
                    }
                    // No buyer now: the re-offer sweep offers it again when one opens;
                    // look again an hour later, through its shelf life.
                    "waiting" if tries < 200 => {
                        steps.push(Reverse((
                            at + Duration::hours(1),
                            Step::CheckSale {
                                lead_id,
                                tries: tries.max(40) + 1,
                            },
                        )));
                    }
                    "waiting" => report.leads_waiting += 1,
                    "expired" => report.leads_expired += 1,
                    "delivered" => {
                        report.leads_sold += 1;
                        if tries > 40 {
                            report.leads_sold_after_waiting += 1;
                        }
                        let sale = &view["sale"];
                        if let Some(dollars) = sale["price"].as_f64() {
                            report.sold_cents += (dollars * 100.0).round() as i64;
                        }
                        let (Some(buyer), Some(sold_at), Some(until)) = (
                            sale["buyer_id"].as_str(),
                            time(&sale["sold_at"]),
                            time(&sale["returnable_until"]),
                        ) else {
                            continue;
                        };
                        if !secrets.contains_key(buyer) {
                            continue;
                        }
                        for answer in buyer_answers(seed, &lead_id, buyer, sold_at, until) {
                            let at = answer.at.max(clock.now().unwrap_or(answer.at));
                            planned.push(answer);
                            steps.push(Reverse((at, Step::Feedback(planned.len() - 1))));
                        }
                    }
                    "unsold" => report.leads_unsold += 1,
                    _ => {}
                }
            }
            Step::Feedback(n) => {
                let Some(answer) = planned.get(n) else {
                    continue;
                };
                post_feedback(clock, sender, http, secrets, answer, report).await?;
            }
        }
    }
    Ok(())
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

async fn post_feedback(
    clock: &SimClock<'_>,
    sender: &FeedbackSender,
    http: &Http,
    secrets: &HashMap<String, WebhookSecret>,
    answer: &PlannedFeedback,
    report: &mut TrafficReport,
) -> Result<(), TrafficError> {
    let (Some(secret), Ok(buyer)) = (
        secrets.get(&answer.buyer_id),
        BuyerId::parse(&answer.buyer_id),
    ) else {
        return Ok(());
    };
    let digest = Sha256::digest(format!("{}:{}", answer.lead_id, answer.kind).as_bytes());
    let message_id = format!(
        "msg_{}",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let body = answer.body.to_string();
    for _ in 0..5 {
        let at = clock.now().unwrap_or_else(Utc::now);
        let sent = sender
            .send(&http.base, &buyer, secret, &message_id, at, body.as_bytes())
            .await
            .map_err(|e| TrafficError::Unreachable(http.base.clone(), e.to_string()))?;
        match sent.status {
            200..=299 => {
                *report.feedback.entry(answer.kind.to_owned()).or_default() += 1;
                return Ok(());
            }
            429 => {
                let wait = sent
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 60);
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            }
            status => {
                *report.feedback_refused.entry(status).or_default() += 1;
                return Ok(());
            }
        }
    }
    *report.feedback_refused.entry(429).or_default() += 1;
    Ok(())
}

/// The example buyers' signing secrets (the ones `aurum serve` loads on a fresh store).
fn buyer_secrets() -> Result<HashMap<String, WebhookSecret>, TrafficError> {
    Ok(crate::buyers::parse(crate::buyers::EXAMPLE_FILE)
        .map_err(|e| TrafficError::Buyers(e.to_string()))?
        .into_iter()
        .map(|b| (b.id.to_string(), b.secret))
        .collect())
}

/// A few lines for the terminal.
pub fn summary(t: &Traffic, r: &TrafficReport) -> String {
    let days = match (r.first_day, r.last_day) {
        (Some(a), Some(b)) => format!("{a} to {b} (New York)"),
        _ => "no days".into(),
    };
    let feedback: Vec<String> = r.feedback.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let mut out = format!(
        "simulated {days}, seed {}\n{} chats ({} turns), {} leads queued, {} sold and delivered ({} of them re-offered after waiting), {} waiting, {} expired, {} unsold\nbuyer feedback: {}\n",
        t.seed,
        r.chats,
        r.turns,
        r.leads_queued,
        r.leads_sold,
        r.leads_sold_after_waiting,
        r.leads_waiting,
        r.leads_expired,
        r.leads_unsold,
        if feedback.is_empty() {
            "none".into()
        } else {
            feedback.join(", ")
        },
    );
    if r.leads_queued > 0 {
        out.push_str(&format!(
            "sell-through {:.1}% of queued leads; sales ${:.2} per qualified lead (before credits)\n",
            100.0 * r.leads_sold as f64 / r.leads_queued as f64,
            r.sold_cents as f64 / 100.0 / r.leads_queued as f64
        ));
    }
    let qualified: usize = r.tiers.values().sum();
    if qualified > 0 {
        let share =
            |tier: &str| 100.0 * r.tiers.get(tier).copied().unwrap_or(0) as f64 / qualified as f64;
        out.push_str(&format!(
            "tier mix of queued leads: premium {:.0}%, standard {:.0}%, basic {:.0}% (the guide's target 30/50/20)\n",
            share("premium"),
            share("standard"),
            share("basic")
        ));
    }
    if !r.feedback_refused.is_empty() {
        let refused: Vec<String> = r
            .feedback_refused
            .iter()
            .map(|(s, n)| format!("{n} × {s}"))
            .collect();
        out.push_str(&format!("feedback refused: {}\n", refused.join(", ")));
    }
    out.push_str(&format!(
        "dashboard: {}/dashboard\n",
        t.url.trim_end_matches('/')
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn given_a_seed_when_planned_twice_then_the_chats_are_identical_and_another_seed_differs() {
        let now = at("2026-11-30T20:00:00Z");
        assert_eq!(plan(7, 3, now), plan(7, 3, now));
        assert_ne!(plan(7, 3, now), plan(8, 3, now));
    }

    #[test]
    fn given_days_then_the_plan_covers_them_and_today_up_to_now_in_order() {
        let now = at("2026-11-30T20:00:00Z"); // 15:00 in New York, a Monday
        let chats = plan(1, 14, now);
        let days: std::collections::BTreeSet<NaiveDate> = chats
            .iter()
            .map(|c| c.starts_at.with_timezone(&New_York).date_naive())
            .collect();
        assert_eq!(days.len(), 15, "{days:?}");
        assert!(chats.windows(2).all(|w| w[0].starts_at <= w[1].starts_at));
        assert!(chats.iter().all(|c| c.starts_at <= now));
        // weekdays busier than Sundays
        let count = |d: &str| {
            chats
                .iter()
                .filter(|c| {
                    c.starts_at
                        .with_timezone(&New_York)
                        .date_naive()
                        .to_string()
                        == d
                })
                .count()
        };
        assert!(
            count("2026-11-24") > count("2026-11-22"),
            "Tuesday vs Sunday"
        );
        // every persona shows up in two weeks, qualified ones most
        for (p, _) in PERSONAS {
            assert!(chats.iter().any(|c| c.persona == p), "{p:?}");
        }
        let qualified = chats
            .iter()
            .filter(|c| c.persona == Persona::Qualified)
            .count();
        assert!(
            qualified * 3 > chats.len(),
            "{qualified} of {}",
            chats.len()
        );
    }

    #[test]
    fn given_the_places_then_every_nyc_zip_is_known_and_every_outside_one_is_not() {
        aurum::domain::init().expect("market data");
        for (zip, _) in PLACES {
            assert!(aurum::domain::market::is_nyc_zip(zip), "{zip}");
        }
        for (zip, _) in OUTSIDE {
            assert!(!aurum::domain::market::is_nyc_zip(zip), "{zip}");
        }
    }

    #[test]
    fn given_many_sold_leads_then_buyers_answer_plausibly_and_in_order() {
        let sold = at("2026-11-20T15:00:00Z");
        let until = sold + Duration::days(7);
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for n in 0..2_000 {
            let lead = format!("lead_{n:032x}");
            let answers = buyer_answers(3, &lead, "modernize", sold, until);
            assert_eq!(answers, buyer_answers(3, &lead, "modernize", sold, until));
            assert!(!answers.is_empty());
            assert!(answers.windows(2).all(|w| w[0].at < w[1].at));
            assert!(answers.iter().all(|a| a.at > sold));
            if let Some(r) = answers.iter().find(|a| a.kind == "returned") {
                assert!(r.at < until && r.body["reason_code"].is_string());
            }
            for a in &answers {
                *kinds.entry(a.kind).or_default() += 1;
            }
        }
        let share = |k: &str| kinds.get(k).copied().unwrap_or(0) as f64 / 2_000.0;
        assert!((0.05..0.12).contains(&share("rejected")), "{kinds:?}");
        assert!((0.85..0.96).contains(&share("accepted")), "{kinds:?}");
        assert!((0.03..0.09).contains(&share("returned")), "{kinds:?}");
        assert!((0.11..0.22).contains(&share("converted")), "{kinds:?}");
    }

    #[test]
    fn given_an_https_or_bad_url_then_it_is_refused_before_any_request() {
        assert!(matches!(
            Http::new("https://api.example.com"),
            Err(TrafficError::Url(_))
        ));
        assert!(matches!(Http::new("not a url"), Err(TrafficError::Url(_))));
        assert!(Http::new("http://127.0.0.1:3000/").is_ok());
    }
}
