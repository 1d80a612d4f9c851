//! `aurum simulate --days N` against the real local system: `aurum serve`'s application on
//! a loopback port with its sandbox clock, two simulated days.

use aurum::adapters::embedded::EmbeddedBackend;
use aurum::config::{BackendKind, Config};
use aurum::contracts::lead_id_for;
use aurum::domain::conversation::SessionId;
use aurum_cli::sandbox_clock::{CLOCK_ROUTE, SandboxClock};
use aurum_cli::traffic::{Persona, Traffic, TrafficError, plan, run};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::America::New_York;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::net::SocketAddr;
use tokio::sync::oneshot;

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(dir: &std::path::Path, with_clock: bool) -> Server {
    let clock = SandboxClock::new();
    // As `aurum serve` builds it: the clock can be set back.
    let mut config = Config::defaults(BackendKind::Embedded);
    config.data_dir = dir.to_owned();
    config.clock_settable = with_clock;
    let backend =
        EmbeddedBackend::from_config_with_clock(config, clock.clock()).expect("open store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, rx) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = rx.await;
    };
    let task = if with_clock {
        tokio::spawn(aurum_cli::serve(
            listener,
            backend,
            aurum_cli::Exposure::Local(Some(clock)),
            shutdown,
        ))
    } else {
        tokio::spawn(aurum_cli::run(listener, backend, shutdown))
    };
    Server { addr, stop, task }
}

impl Server {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let response = client
            .request(
                hyper::Request::get(format!("{}{path}", self.url()))
                    .body(Full::new(Bytes::new()))
                    .expect("request"),
            )
            .await
            .expect("answer");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_running_server_when_two_days_are_simulated_then_sales_and_feedback_are_backdated_and_the_clock_returns()
 {
    aurum::domain::init().expect("data");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), true).await;
    let traffic = Traffic {
        days: 2,
        seed: 11,
        url: server.url(),
    };
    // AND someone already read the (empty) figures at today's time, as a newcomer who
    // opens the dashboard before simulating does
    let (status, _) = server.get("/api/v1/revenue/buyers").await;
    assert_eq!(status, 200);
    // WHEN two days (and today so far) are simulated
    let started = Utc::now();
    let mut calls = 0;
    let report = run(&traffic, |done, total, _| {
        calls += 1;
        assert!(done <= total);
    })
    .await
    .expect("the simulation runs");
    // THEN chats went through the real endpoint, leads were sold and buyers answered
    assert!(report.chats >= 30, "{report:?}");
    assert_eq!(calls, report.chats);
    assert!(report.leads_queued > 5, "{report:?}");
    assert!(report.leads_sold > 3, "{report:?}");
    assert!(
        report.feedback.get("accepted").copied().unwrap_or(0) > 3,
        "{report:?}"
    );
    assert!(report.feedback_refused.is_empty(), "{report:?}");
    // AND the sales of the first day were made at its simulated times, not today
    let chats = plan(11, 2, started);
    let first_day = chats[0].starts_at.with_timezone(&New_York).date_naive();
    let mut checked = 0;
    for chat in chats.iter().filter(|c| {
        c.persona == Persona::Qualified
            && c.starts_at.with_timezone(&New_York).date_naive() == first_day
    }) {
        let lead = lead_id_for(&SessionId::parse(&chat.session_id).expect("id"));
        let (status, view) = server.get(&format!("/api/v1/leads/{lead}")).await;
        if status != 200 || view["sale"].is_null() {
            continue;
        }
        let sold_at = time(&view["sale"]["sold_at"]);
        assert!(
            sold_at >= chat.starts_at && sold_at < chat.starts_at + Duration::hours(3),
            "{lead}: sold {sold_at}, chat at {}",
            chat.starts_at
        );
        assert!(sold_at < started - Duration::days(1));
        checked += 1;
    }
    assert!(checked > 0, "some first-day lead was sold");
    // AND the dashboard counts the first day's sales on that day: the earlier read at
    // today's time did not close the past days before they were played
    let (status, d) = server.get("/api/v1/revenue/dashboard").await;
    assert_eq!(status, 200, "{d}");
    let first = d["revenue_trend"]
        .as_array()
        .and_then(|t| t.iter().find(|p| p["date"] == first_day.to_string()))
        .cloned()
        .unwrap_or_default();
    assert!(
        first["leads_sold"].as_i64().is_some_and(|n| n > 0),
        "{first}"
    );
    // AND two days are too few to forecast: a clear answer, not an error
    let (status, f) = server
        .get("/api/v1/revenue/forecast?period=daily&horizon=7")
        .await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["status"], "insufficient_history");
    assert!(
        f["history_days"]
            .as_u64()
            .is_some_and(|d| (1..=3).contains(&d)),
        "{f}"
    );
    assert_eq!(f["min_history_days"], 14);
    assert_eq!(f["points"], serde_json::json!([]));
    assert!(f.get("backtest").is_none());
    // AND a horizon past a month of days is cut to 31; past the document's 168, refused
    let (status, f) = server.get("/api/v1/revenue/forecast?horizon=99").await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["horizon"], 31);
    let (status, e) = server.get("/api/v1/revenue/forecast?horizon=999").await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["code"], "invalid_request");
    // AND the server's clock is back at the system time
    let (status, clock) = server.get(CLOCK_ROUTE).await;
    assert_eq!(status, 200);
    assert_eq!(clock["offset_seconds"], 0);
    assert!((time(&clock["now"]) - Utc::now()).num_seconds().abs() < 5);
    // AND replaying the same seed on the same server is refused, the clock reset again
    let again = run(&traffic, |_, _, _| {}).await;
    assert!(
        matches!(again, Err(TrafficError::SeedReplayed(11))),
        "{again:?}"
    );
    let (_, clock) = server.get(CLOCK_ROUTE).await;
    assert_eq!(clock["offset_seconds"], 0);
    server.stop().await;
}

#[tokio::test]
async fn given_a_server_without_the_sandbox_clock_when_simulated_then_it_refuses_to_run() {
    aurum::domain::init().expect("data");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), false).await;
    let (status, _) = server.get(CLOCK_ROUTE).await;
    assert_eq!(status, 404, "the clock is only mounted when given");
    let traffic = Traffic {
        days: 1,
        seed: 1,
        url: server.url(),
    };
    let result = run(&traffic, |_, _, _| {}).await;
    assert!(
        matches!(result, Err(TrafficError::NoSandboxClock(_, 404))),
        "{result:?}"
    );
    server.stop().await;
}

#[test]
fn the_sandbox_clock_is_not_part_of_the_api() {
    assert!(
        aurum_cli::routes()
            .iter()
            .all(|(path, _)| !path.starts_with("/sandbox")),
        "no function of the registry (so no Lambda) serves a sandbox route"
    );
    let doc = aurum_cli::openapi_json_pretty();
    assert!(!doc.contains(CLOCK_ROUTE));
}
