//! A local Lambda Runtime API (the `2018-06-01` interface every function's runtime polls)
//! and the cold-start bench over it: a function process is started with
//! `AWS_LAMBDA_RUNTIME_API` pointed here, and the bench measures, from outside, what a
//! Lambda's operator sees — the time from process start to its first poll of
//! `/runtime/invocation/next` (init), the first event's latency, the latency of the warm
//! events after it, and the process's resident memory.
//!
//! Loopback only; a run ends after its events, or at the first event that gets no answer
//! within [`EVENT_TIMEOUT`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// How long one event may take before the run is given up.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a process may take to reach its first poll.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the function answered for one event.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`.
    Response(Vec<u8>),
    /// `POST /runtime/invocation/{id}/error`.
    Error(Vec<u8>),
}

impl Outcome {
    pub fn body(&self) -> &[u8] {
        match self {
            Outcome::Response(b) | Outcome::Error(b) => b,
        }
    }
}

struct Pending {
    id: String,
    payload: Vec<u8>,
    reply: oneshot::Sender<Outcome>,
}

struct Api {
    next: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: watch::Sender<Option<Instant>>,
    init_error: watch::Sender<Option<Vec<u8>>>,
}

const PREFIX: &str = "/2018-06-01/runtime";

fn api_router(api: Arc<Api>) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/invocation/next"), get(next))
        .route(
            &format!("{PREFIX}/invocation/{{id}}/response"),
            post(|s, p, b| answer(s, p, b, false)),
        )
        .route(
            &format!("{PREFIX}/invocation/{{id}}/error"),
            post(|s, p, b| answer(s, p, b, true)),
        )
        .route(&format!("{PREFIX}/init/error"), post(init_error))
        .with_state(api)
}

async fn next(State(api): State<Arc<Api>>) -> Response {
    api.first_poll.send_if_modified(|first| {
        if first.is_none() {
            *first = Some(Instant::now());
            true
        } else {
            false
        }
    });
    let Some(pending) = api.next.lock().await.recv().await else {
        // The run is over: the process is stopped while it waits here.
        return StatusCode::GONE.into_response();
    };
    api.waiting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pending.id.clone(), pending.reply);
    let deadline = chrono::Utc::now().timestamp_millis()
        + i64::try_from(EVENT_TIMEOUT.as_millis()).unwrap_or(30_000);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", pending.id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:local".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, pending.payload).into_response()
}

async fn answer(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    body: Bytes,
    error: bool,
) -> StatusCode {
    let reply = api
        .waiting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    match reply {
        Some(reply) => {
            let body = body.to_vec();
            let _ = reply.send(if error {
                Outcome::Error(body)
            } else {
                Outcome::Response(body)
            });
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    api.init_error.send_replace(Some(body.to_vec()));
    StatusCode::ACCEPTED
}

/// One function process to start and the events to hand it, in order.
pub struct LambdaRun {
    /// The program and its arguments (a function binary, or `aurum lambda NAME`).
    pub command: Vec<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, MB.
    pub memory_mb: u32,
    pub events: Vec<Vec<u8>>,
    /// Extra environment of the process (its backend); the rest is inherited.
    pub env: Vec<(String, String)>,
}

/// What one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LambdaReport {
    pub function: String,
    pub program: PathBuf,
    /// Process start to its first poll for an event, ms.
    pub init_ms: f64,
    /// The first event: handed over to answered, ms.
    pub first_event_ms: f64,
    /// The events after the first.
    pub warm_events: usize,
    pub warm_p50_ms: Option<f64>,
    pub warm_p99_ms: Option<f64>,
    /// Events answered on `/error` (a handler error, not an HTTP status).
    pub errors: usize,
    /// Resident memory at the first poll, MiB.
    pub rss_at_init_mib: Option<f64>,
    /// Peak resident memory (VmHWM) after the last event, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Each event's answer, in order (not in the JSON report).
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("no program to start")]
    NoCommand,
    #[error("cannot start {0}: {1}")]
    Spawn(String, std::io::Error),
    #[error("the runtime API could not listen on loopback: {0}")]
    Listen(std::io::Error),
    #[error("the function exited before its first poll ({0})")]
    ExitedDuringInit(String),
    #[error("the function reported an init error: {0}")]
    InitError(String),
    #[error("the function did not poll for an event within {0:?}")]
    InitTimeout(Duration),
    #[error("event {0} got no answer within {1:?}")]
    EventTimeout(usize, Duration),
    #[error("the function exited during event {0}")]
    ExitedDuringEvent(usize),
}

fn rss_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The `q`-quantile (0..=1) of sorted samples, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The function process, killed when dropped (the run is over, or given up).
struct Process(std::process::Child);

impl Process {
    /// Resolves when the process has exited, with its status.
    async fn exited(&mut self) -> String {
        loop {
            match self.0.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(e) => return e.to_string(),
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The session tokens conversation replies gave, sent back with each session's later
/// events as a chat frontend does (events are built before the run, without them).
#[derive(Default)]
struct SessionTokens {
    by_session: HashMap<String, String>,
    /// The session of the event in flight.
    last: Option<String>,
}

impl SessionTokens {
    /// The event with its session's token in the body, if the body names a session whose
    /// token is known and carries none.
    fn attach(&mut self, payload: Vec<u8>) -> Vec<u8> {
        self.last = None;
        let Ok(mut event) = serde_json::from_slice::<serde_json::Value>(&payload) else {
            return payload;
        };
        let Some(mut body) = event["body"]
            .as_str()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        else {
            return payload;
        };
        let Some(session) = body["session_id"].as_str().map(str::to_owned) else {
            return payload;
        };
        self.last = Some(session.clone());
        match self.by_session.get(&session) {
            Some(token) if body.get("session_token").is_none() => {
                body["session_token"] = serde_json::Value::String(token.clone());
                event["body"] = serde_json::Value::String(body.to_string());
                serde_json::to_vec(&event).unwrap_or(payload)
            }
            _ => payload,
        }
    }

    /// Keeps the token a reply gave for the session of the event it answers.
    fn keep(&mut self, outcome: &Outcome) {
        let Some(session) = self.last.take() else {
            return;
        };
        let token = serde_json::from_slice::<serde_json::Value>(outcome.body())
            .ok()
            .and_then(|r| r["body"].as_str().map(str::to_owned))
            .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
            .and_then(|b| b["session_token"].as_str().map(str::to_owned));
        if let Some(token) = token {
            self.by_session.insert(session, token);
        }
    }
}

/// Starts the process, waits for its first poll, hands it every event in turn and stops it.
pub async fn run(settings: LambdaRun) -> Result<LambdaReport, BenchError> {
    let program = settings.command.first().ok_or(BenchError::NoCommand)?;
    let (tx, rx) = mpsc::channel::<Pending>(1);
    let api = Arc::new(Api {
        next: tokio::sync::Mutex::new(rx),
        waiting: Mutex::new(HashMap::new()),
        first_poll: watch::channel(None).0,
        init_error: watch::channel(None).0,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(BenchError::Listen)?;
    let addr = listener.local_addr().map_err(BenchError::Listen)?;
    let server = tokio::spawn(axum::serve(listener, api_router(Arc::clone(&api))).into_future());

    let mut first_poll = api.first_poll.subscribe();
    let mut init_error = api.init_error.subscribe();
    let mut command = std::process::Command::new(program);
    command
        .args(&settings.command[1..])
        .envs(settings.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &settings.function)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            settings.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", settings.function),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let started = Instant::now();
    let child = command
        .spawn()
        .map_err(|e| BenchError::Spawn(program.clone(), e))?;
    let mut child = Process(child);
    let pid = child.0.id();

    let ready = tokio::select! {
        polled = first_poll.wait_for(Option::is_some) => match polled {
            Ok(at) => at.unwrap_or_else(Instant::now),
            Err(_) => return Err(BenchError::InitTimeout(INIT_TIMEOUT)),
        },
        reported = init_error.wait_for(Option::is_some) => {
            let text = reported.ok().and_then(|r| r.clone()).unwrap_or_default();
            return Err(BenchError::InitError(String::from_utf8_lossy(&text).into_owned()));
        }
        status = child.exited() => {
            return Err(BenchError::ExitedDuringInit(status));
        }
        _ = tokio::time::sleep(INIT_TIMEOUT) => {
            return Err(BenchError::InitTimeout(INIT_TIMEOUT));
        }
    };
    let init = ready.duration_since(started);
    let rss_at_init_mib = rss_mib(pid, "VmRSS:");

    let mut latencies = Vec::with_capacity(settings.events.len());
    let mut outcomes = Vec::with_capacity(settings.events.len());
    let mut tokens = SessionTokens::default();
    for (i, payload) in settings.events.into_iter().enumerate() {
        let payload = tokens.attach(payload);
        let (reply, answered) = oneshot::channel();
        let handed = Instant::now();
        let sent = tx.send(Pending {
            id: format!("00000000-0000-4000-8000-{i:012}"),
            payload,
            reply,
        });
        let outcome = tokio::select! {
            outcome = async { sent.await.ok()?; answered.await.ok() } => outcome,
            _ = child.exited() => return Err(BenchError::ExitedDuringEvent(i)),
            _ = tokio::time::sleep(EVENT_TIMEOUT) => {
                return Err(BenchError::EventTimeout(i, EVENT_TIMEOUT));
            }
        };
        let Some(outcome) = outcome else {
            return Err(BenchError::ExitedDuringEvent(i));
        };
        latencies.push(ms(handed.elapsed()));
        tokens.keep(&outcome);
        outcomes.push(outcome);
    }
    let peak_rss_mib = rss_mib(pid, "VmHWM:");
    drop(child);
    server.abort();

    let first_event_ms = latencies.first().copied().unwrap_or_default();
    let mut warm: Vec<f64> = latencies.iter().skip(1).copied().collect();
    warm.sort_by(f64::total_cmp);
    Ok(LambdaReport {
        function: settings.function,
        program: PathBuf::from(program),
        init_ms: ms(init),
        first_event_ms,
        warm_events: warm.len(),
        warm_p50_ms: quantile(&warm, 0.5),
        warm_p99_ms: quantile(&warm, 0.99),
        errors: outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Error(_)))
            .count(),
        rss_at_init_mib,
        peak_rss_mib,
        outcomes,
    })
}

/// One line per figure, for the terminal.
pub fn summary(r: &LambdaReport) -> String {
    let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".to_owned(), |v| format!("{v:.2} {unit}"));
    format!(
        "{}: init {:.2} ms, first event {:.2} ms, warm p50 {} p99 {} over {} events ({} errors), \
         RSS at init {}, peak {}",
        r.function,
        r.init_ms,
        r.first_event_ms,
        opt(r.warm_p50_ms, "ms"),
        opt(r.warm_p99_ms, "ms"),
        r.warm_events,
        r.errors,
        opt(r.rss_at_init_mib, "MiB"),
        opt(r.peak_rss_mib, "MiB"),
    )
}

/// An API Gateway HTTP API (payload 2.0) event: `method path` with a JSON body.
pub fn http_event(method: &str, path: &str, body: &str, request: usize) -> Vec<u8> {
    let now = chrono::Utc::now();
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "api.aurum.example",
            "user-agent": "aurum-lambda-bench"
        },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "api.aurum.example",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "aurum-lambda-bench"
            },
            "requestId": format!("bench-{request}"),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis()
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
    .into_bytes()
}

/// The conversation function's events: `sessions` realistic chats (2 to 7 turns each, the
/// load generator's scripts), every turn of a chat in order, as the chat page posts them.
pub fn conversation_events(seed: u64, sessions: usize) -> Vec<Vec<u8>> {
    let mut events = Vec::new();
    for (s, script) in crate::traffic::scripts(seed, sessions).iter().enumerate() {
        let session = format!("bench_{seed}_{s}");
        for message in script {
            let body = serde_json::json!({"session_id": session, "message": message}).to_string();
            events.push(http_event(
                "POST",
                "/api/v1/conversation/revenue-optimized",
                &body,
                events.len(),
            ));
        }
    }
    events
}

/// The router's events: `batches` SQS batches of `size` distinct qualified leads (each its
/// own lead id, session and phone number), built from the sample batch's first message.
pub fn router_events(template: &str, seed: u64, batches: usize, size: usize) -> Vec<Vec<u8>> {
    let template: serde_json::Value = serde_json::from_str(template).unwrap_or_default();
    let Some(record) = template["Records"].get(0).cloned() else {
        return Vec::new();
    };
    let lead: serde_json::Value = record["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    let queued_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut events = Vec::with_capacity(batches);
    for b in 0..batches {
        let records: Vec<serde_json::Value> = (0..size)
            .map(|m| {
                let n = (seed as usize)
                    .wrapping_mul(1_000_003)
                    .wrapping_add(b * size + m);
                let lead_id = format!("lead_{:032x}", n as u128 * 0x9e37_79b9_7f4a_7c15);
                let mut lead = lead.clone();
                lead["lead_id"] = lead_id.clone().into();
                lead["session_id"] = format!("bench_{seed}_{b}_{m}").into();
                lead["queued_at"] = queued_at.clone().into();
                lead["consent"]["given_at"] = queued_at.clone().into();
                // Distinct numbers in valid NANP exchanges (2xx-9xx), so no lead is a
                // duplicate of another.
                lead["facts"]["contact"]["phone"] =
                    format!("+1718{:03}{:04}", 200 + (n / 10_000) % 800, n % 10_000).into();
                let mut record = record.clone();
                record["messageId"] = format!("bench-{b}-{m}").into();
                record["receiptHandle"] = format!("bench-{b}-{m}").into();
                record["body"] = lead.to_string().into();
                record["attributes"]["ApproximateReceiveCount"] = "1".into();
                record["attributes"]["MessageGroupId"] = lead_id.clone().into();
                record["attributes"]["MessageDeduplicationId"] = lead_id.into();
                record
            })
            .collect();
        events.push(
            serde_json::json!({ "Records": records })
                .to_string()
                .into_bytes(),
        );
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_sorted_samples_when_quantiles_are_taken_then_nearest_rank_is_returned() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&samples, 0.5), Some(50.0));
        assert_eq!(quantile(&samples, 0.99), Some(99.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn given_the_sample_batch_when_router_events_are_built_then_every_lead_is_distinct() {
        let template = include_str!("../../events/router-lead-batch.json");
        let events = router_events(template, 3, 4, 10);
        assert_eq!(events.len(), 4);
        let mut ids = std::collections::HashSet::new();
        let mut phones = std::collections::HashSet::new();
        for event in &events {
            let batch: serde_json::Value = serde_json::from_slice(event).expect("json");
            for record in batch["Records"].as_array().expect("records") {
                let lead: serde_json::Value =
                    serde_json::from_str(record["body"].as_str().expect("body")).expect("lead");
                assert!(ids.insert(lead["lead_id"].as_str().expect("id").to_owned()));
                assert!(
                    phones.insert(
                        lead["facts"]["contact"]["phone"]
                            .as_str()
                            .expect("phone")
                            .to_owned()
                    )
                );
            }
        }
        assert_eq!(ids.len(), 40);
    }
}
