//! `aurum load`: plays multi-turn homeowner conversations against a local server (`aurum
//! serve`) from `--connections` concurrent connections and reports turns per second and
//! latency percentiles, with the CPU the generator itself and (given its pid) the server
//! used, so throughput can be read per core of the server. Loopback only; it stops by
//! itself after `--seconds` or once every session has been played.

use crate::traffic::scripts;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const TURN_PATH: &str = "/api/v1/conversation/revenue-optimized";
/// Distinct scripts; sessions reuse them under their own ids.
const SCRIPTS: usize = 2_000;

#[derive(Debug, Clone)]
pub struct LoadSettings {
    pub url: String,
    pub connections: usize,
    pub sessions: u64,
    pub duration: Duration,
    pub seed: u64,
    /// The server's process, whose CPU time is read from /proc before and after.
    pub server_pid: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub connections: usize,
    pub sessions_started: u64,
    pub turns: u64,
    /// Answers other than 200 (each counted, none retried).
    pub errors: u64,
    pub seconds: f64,
    pub turns_per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU seconds (user + system) of this generator and of the server over the run.
    pub generator_cpu_seconds: f64,
    pub server_cpu_seconds: Option<f64>,
    /// The server's turns per CPU-second: throughput per core it used.
    pub turns_per_server_cpu_second: Option<f64>,
    /// The server's peak resident memory (VmHWM) at the end, MiB.
    pub server_peak_rss_mib: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the load generator only targets loopback (http://127.0.0.1:PORT), not {0}")]
    NotLoopback(String),
    #[error("cannot reach {0}: {1} (is `aurum serve` running?)")]
    Unreachable(String, String),
    #[error("--connections and --sessions must be at least 1")]
    Empty,
}

/// CPU seconds (utime + stime) of a process from /proc/<pid>/stat (clock ticks of 1/100 s,
/// Linux's USER_HZ).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Peak resident set (VmHWM) of a process, MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn check_loopback(url: &str) -> Result<String, LoadError> {
    let base = url.trim_end_matches('/').to_owned();
    let uri: hyper::Uri = base
        .parse()
        .map_err(|_| LoadError::NotLoopback(base.clone()))?;
    let loopback = uri.scheme_str() == Some("http")
        && matches!(uri.host(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if loopback {
        Ok(base)
    } else {
        Err(LoadError::NotLoopback(base))
    }
}

/// The value at quantile `q` of sorted `values` (nearest rank).
fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1_000.0
}

pub async fn run(settings: &LoadSettings) -> Result<LoadReport, LoadError> {
    let base = check_loopback(&settings.url)?;
    if settings.connections == 0 || settings.sessions == 0 {
        return Err(LoadError::Empty);
    }
    let scripts = Arc::new(scripts(settings.seed, SCRIPTS));
    let url: hyper::Uri = format!("{base}{TURN_PATH}")
        .parse()
        .map_err(|_| LoadError::NotLoopback(base.clone()))?;
    // One probe, so a server that is not there is an error rather than a run of failures.
    let probe = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    probe
        .get(
            format!("{base}/openapi.json")
                .parse()
                .map_err(|_| LoadError::NotLoopback(base.clone()))?,
        )
        .await
        .map_err(|e| LoadError::Unreachable(base.clone(), e.to_string()))?;

    let next_session = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let run_id = format!("{:x}", std::process::id() as u64 ^ settings.seed);
    let server_before = settings.server_pid.and_then(|p| cpu_seconds(Some(p)));
    let own_before = cpu_seconds(None);
    let started = Instant::now();
    let deadline = started + settings.duration;
    let mut tasks = Vec::with_capacity(settings.connections);
    for _ in 0..settings.connections {
        let (scripts, next_session, stop, errors) = (
            Arc::clone(&scripts),
            Arc::clone(&next_session),
            Arc::clone(&stop),
            Arc::clone(&errors),
        );
        let (url, run_id, sessions) = (url.clone(), run_id.clone(), settings.sessions);
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per task: requests one after another, like a chat.
            let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(1)
                .build_http();
            let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
            'sessions: while !stop.load(Ordering::Relaxed) {
                let k = next_session.fetch_add(1, Ordering::Relaxed);
                if k >= sessions {
                    break;
                }
                let script = &scripts[(k as usize) % scripts.len()];
                let session = format!("load-{run_id}-{k}");
                // The token the session's first reply gives, sent with every later turn.
                let mut token: Option<String> = None;
                for message in script {
                    if Instant::now() >= deadline {
                        stop.store(true, Ordering::Relaxed);
                        break 'sessions;
                    }
                    let mut body = serde_json::json!({"session_id": session, "message": message});
                    if let Some(t) = &token {
                        body["session_token"] = serde_json::json!(t);
                    }
                    let body = body.to_string();
                    let Ok(request) = hyper::Request::post(url.clone())
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body)))
                    else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let sent = Instant::now();
                    let ok = match tokio::time::timeout(
                        Duration::from_secs(10),
                        client.request(request),
                    )
                    .await
                    {
                        Ok(Ok(response)) => {
                            let status = response.status();
                            let body = response.into_body().collect().await.map(|b| b.to_bytes());
                            if token.is_none()
                                && let Ok(bytes) = &body
                            {
                                token = serde_json::from_slice::<serde_json::Value>(bytes)
                                    .ok()
                                    .and_then(|v| v["session_token"].as_str().map(str::to_owned));
                            }
                            status == hyper::StatusCode::OK && body.is_ok()
                        }
                        _ => false,
                    };
                    let micros = sent.elapsed().as_micros();
                    if ok {
                        latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        if let Ok(latencies) = task.await {
            all.extend(latencies);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let own = cpu_seconds(None)
        .zip(own_before)
        .map_or(0.0, |(a, b)| a - b);
    let server = settings
        .server_pid
        .and_then(|p| cpu_seconds(Some(p)))
        .zip(server_before)
        .map(|(a, b)| a - b);
    all.sort_unstable();
    let turns = all.len() as u64;
    Ok(LoadReport {
        connections: settings.connections,
        sessions_started: next_session.load(Ordering::Relaxed).min(settings.sessions),
        turns,
        errors: errors.load(Ordering::Relaxed),
        seconds,
        turns_per_second: turns as f64 / seconds.max(f64::EPSILON),
        p50_ms: quantile(&all, 0.50),
        p90_ms: quantile(&all, 0.90),
        p99_ms: quantile(&all, 0.99),
        max_ms: all.last().map_or(0.0, |m| f64::from(*m) / 1_000.0),
        generator_cpu_seconds: own,
        server_cpu_seconds: server,
        turns_per_server_cpu_second: server.filter(|s| *s > 0.0).map(|s| turns as f64 / s),
        server_peak_rss_mib: settings.server_pid.and_then(peak_rss_mib),
    })
}

/// The report for people, one figure a line.
pub fn summary(r: &LoadReport) -> String {
    let mut s = format!(
        "{turns} turns in {secs:.1} s over {conn} connections ({sessions} sessions): {tps:.0} turns/s, \
         p50 {p50:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms, max {max:.1} ms, {errors} errors\n\
         load generator CPU {gen:.1} s",
        turns = r.turns,
        secs = r.seconds,
        conn = r.connections,
        sessions = r.sessions_started,
        tps = r.turns_per_second,
        p50 = r.p50_ms,
        p90 = r.p90_ms,
        p99 = r.p99_ms,
        max = r.max_ms,
        errors = r.errors,
        gen = r.generator_cpu_seconds,
    );
    if let (Some(cpu), Some(per)) = (r.server_cpu_seconds, r.turns_per_server_cpu_second) {
        s.push_str(&format!(
            ", server CPU {cpu:.1} s ({:.0} % of a core; {per:.0} turns per server CPU-second)",
            100.0 * cpu / r.seconds.max(f64::EPSILON)
        ));
    }
    if let Some(rss) = r.server_peak_rss_mib {
        s.push_str(&format!(", server peak RSS {rss:.1} MiB"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_non_loopback_url_then_the_load_generator_refuses_it() {
        for url in [
            "http://10.0.0.1:3000",
            "https://127.0.0.1:3000",
            "http://example.com",
        ] {
            assert!(
                matches!(check_loopback(url), Err(LoadError::NotLoopback(_))),
                "{url}"
            );
        }
        assert_eq!(
            check_loopback("http://127.0.0.1:3000/").expect("loopback"),
            "http://127.0.0.1:3000"
        );
    }

    #[test]
    fn given_latencies_then_the_quantiles_are_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1_000).collect();
        assert_eq!(quantile(&sorted, 0.5), 50.0);
        assert_eq!(quantile(&sorted, 0.99), 99.0);
        assert_eq!(quantile(&[], 0.99), 0.0);
    }

    #[test]
    fn given_this_process_then_its_cpu_time_is_read() {
        assert!(cpu_seconds(None).is_some_and(|s| s >= 0.0));
        assert!(peak_rss_mib(std::process::id()).is_some_and(|m| m > 0.0));
    }
}
