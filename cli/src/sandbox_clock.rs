//! The sandbox clock of `aurum serve`: the time every use case of the local server reads
//! is the system time plus an offset, and `/sandbox/clock` (local only) moves it, so that
//! `aurum simulate` can play past days through the real endpoints.
//!
//! Only this binary has it: the route is mounted by [`crate::serve`] when it is given a
//! clock (as `aurum serve` does), it is not in the OpenAPI document or the function
//! registry, and no Lambda links this crate — a deployed API reads the system clock and
//! offers no way to set it. The clock only goes back (at most [`MAX_BACK_DAYS`]) or to the
//! present: never into the future, where queued messages and windows would be stamped
//! ahead of the real time they are later read at.
//!
//! * `GET /sandbox/clock` → `{"now": "…", "offset_seconds": -86400}`
//! * `PUT /sandbox/clock` with `{"now": "2026-11-20T14:00:00Z"}` → the same shape
//! * `DELETE /sandbox/clock` → back to the system time

use aurum::backend::Clock;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub const CLOCK_ROUTE: &str = "/sandbox/clock";

/// Furthest back the clock may be set.
pub const MAX_BACK_DAYS: i64 = 400;

/// How far ahead of the system time a requested time may be (a client's clock may run a
/// little ahead); anything later is refused.
const AHEAD_TOLERANCE_SECS: i64 = 60;

/// System time plus a settable offset; clones share the offset.
#[derive(Clone, Default)]
pub struct SandboxClock {
    offset_ms: Arc<AtomicI64>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ClockView {
    pub now: DateTime<Utc>,
    pub offset_seconds: i64,
}

#[derive(Debug, Deserialize)]
struct SetClock {
    now: DateTime<Utc>,
}

impl SandboxClock {
    pub fn new() -> SandboxClock {
        SandboxClock::default()
    }

    /// The backend's time source.
    pub fn clock(&self) -> Clock {
        let offset = Arc::clone(&self.offset_ms);
        Arc::new(move || Utc::now() + Duration::milliseconds(offset.load(Ordering::SeqCst)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock())()
    }

    /// Sets the time to `at` (from now on it runs on from there); refuses the future and
    /// the far past.
    pub fn set(&self, at: DateTime<Utc>) -> Result<ClockView, String> {
        let system = Utc::now();
        if at > system + Duration::seconds(AHEAD_TOLERANCE_SECS) {
            return Err(format!(
                "the sandbox clock cannot be set ahead of the system time ({system})"
            ));
        }
        if at < system - Duration::days(MAX_BACK_DAYS) {
            return Err(format!(
                "the sandbox clock goes back at most {MAX_BACK_DAYS} days"
            ));
        }
        let offset = (at - system).num_milliseconds().min(0);
        self.offset_ms.store(offset, Ordering::SeqCst);
        Ok(self.view())
    }

    pub fn reset(&self) -> ClockView {
        self.offset_ms.store(0, Ordering::SeqCst);
        self.view()
    }

    pub fn view(&self) -> ClockView {
        let offset = self.offset_ms.load(Ordering::SeqCst);
        ClockView {
            now: Utc::now() + Duration::milliseconds(offset),
            offset_seconds: offset / 1000,
        }
    }

    /// `GET`, `PUT` and `DELETE /sandbox/clock`.
    pub fn router(&self) -> Router {
        Router::new()
            .route(CLOCK_ROUTE, get(read).put(put).delete(delete))
            .with_state(self.clone())
    }
}

async fn read(State(clock): State<SandboxClock>) -> Json<ClockView> {
    Json(clock.view())
}

async fn put(
    State(clock): State<SandboxClock>,
    body: Result<Json<SetClock>, JsonRejection>,
) -> Response {
    let Json(SetClock { now }) = match body {
        Ok(body) => body,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("expected {{\"now\": RFC 3339 time}}: {}", e.body_text()),
            );
        }
    };
    match clock.set(now) {
        Ok(view) => Json(view).into_response(),
        Err(message) => error(StatusCode::UNPROCESSABLE_ENTITY, &message),
    }
}

async fn delete(State(clock): State<SandboxClock>) -> Json<ClockView> {
    Json(clock.reset())
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": "invalid_request", "message": message}});
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_past_time_when_set_then_the_clock_runs_on_from_there_and_resets() {
        let clock = SandboxClock::new();
        let source = clock.clock();
        let target = Utc::now() - Duration::days(10);
        clock.set(target).expect("set");
        let read = source();
        assert!(
            read >= target && read < target + Duration::seconds(5),
            "{read}"
        );
        assert!((clock.view().offset_seconds + 10 * 86_400).abs() <= 1);
        clock.reset();
        assert!((source() - Utc::now()).num_seconds().abs() < 2);
    }

    #[test]
    fn given_the_future_or_the_far_past_then_setting_is_refused_and_nothing_changes() {
        let clock = SandboxClock::new();
        assert!(clock.set(Utc::now() + Duration::hours(1)).is_err());
        assert!(
            clock
                .set(Utc::now() - Duration::days(MAX_BACK_DAYS + 1))
                .is_err()
        );
        assert_eq!(clock.view().offset_seconds, 0);
    }
}
