//! The scheduled jobs behind EventBridge. One function serves the four schedules: the job
//! is named by the rule that fired (`resources[0]` ends in `aurum-<job>-<stage>`, e.g.
//! `…:rule/aurum-model-update-prod`), or by `detail.job` for a hand-made event; the
//! window is the one the event's `time` falls in, never the clock, so a repeated
//! delivery names the same window and the claim makes it a no-op.

use aurum::backend::Backend;
use aurum::function::WorkError;
use aurum::usecases::jobs::{Job, Jobs, RunOutcome};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What the function returns (and logs): the job, its window, and what happened.
#[derive(Debug, Serialize, PartialEq)]
pub struct JobResponse {
    pub job: String,
    pub window: DateTime<Utc>,
    /// `ran` or `already_ran`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

#[derive(Debug, PartialEq)]
pub enum EventError {
    UnknownJob(String),
    NoTime,
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventError::UnknownJob(rule) => write!(
                f,
                "the event names no known job (rule {rule:?}); expected model_update, routing_update, conversation_rules or kpi_monitor"
            ),
            EventError::NoTime => f.write_str("the event has no time"),
        }
    }
}

/// The job and window an EventBridge event asks for.
pub fn job_of(
    event: &EventBridgeEvent<serde_json::Value>,
) -> Result<(Job, DateTime<Utc>), EventError> {
    let by_detail = event
        .detail
        .get("job")
        .and_then(|j| j.as_str())
        .and_then(Job::parse);
    let rule = event
        .resources
        .as_ref()
        .and_then(|r| r.first())
        .cloned()
        .unwrap_or_default();
    let by_rule = rule
        .rsplit('/')
        .next()
        .and_then(|name| name.strip_prefix("aurum-"))
        .and_then(|rest| {
            Job::ALL
                .into_iter()
                .find(|j| rest.starts_with(&j.name().replace('_', "-")))
        });
    let job = by_detail.or(by_rule).ok_or(EventError::UnknownJob(rule))?;
    let time = event.time.ok_or(EventError::NoTime)?;
    Ok((job, job.window_of(time)))
}

/// Runs the job an event asks for, on `backend`.
pub async fn handle<B: Backend>(
    jobs: &Jobs<B>,
    event: &EventBridgeEvent<serde_json::Value>,
) -> Result<JobResponse, WorkError> {
    let (job, window) = job_of(event).map_err(|e| WorkError(e.to_string()))?;
    Ok(match jobs.run(job, window).await? {
        RunOutcome::AlreadyRan => JobResponse {
            job: job.name().into(),
            window,
            status: "already_ran".into(),
            summary: None,
        },
        RunOutcome::Ran(record) => JobResponse {
            job: job.name().into(),
            window,
            status: "ran".into(),
            summary: Some(record.summary),
        },
    })
}

/// The whole `main`: the functions' init (telemetry, the data tables, the AWS backend),
/// then the runtime.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    serve(&aurum::function::lambda_init().await?).await
}

/// The jobs function's Lambda runtime loop over any backend (`aurum lambda jobs`).
pub async fn serve<B: aurum::backend::Backend>(backend: &B) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{LambdaEvent, service_fn};
    let jobs = Jobs::new(backend);
    let jobs = &jobs;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            handle(jobs, &event.payload)
                .await
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        },
    ))
    .await
}
