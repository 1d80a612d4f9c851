//! The jobs' handler driven by the EventBridge events in `events/` (the same files work
//! with `cargo lambda invoke jobs --data-file events/jobs-<job>.json`).

use aurum::adapters::memory::MemoryBackend;
use aurum::usecases::jobs::{Job, Jobs};
use aurum_jobs::{EventError, handle, job_of};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;

fn event(name: &str) -> EventBridgeEvent<serde_json::Value> {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn given_each_sample_event_then_its_rule_names_its_job_and_its_time_the_window() {
    for (file, job) in [
        ("jobs-model-update", Job::ModelUpdate),
        ("jobs-routing-update", Job::RoutingUpdate),
        ("jobs-conversation-rules", Job::ConversationRules),
        ("jobs-kpi-monitor", Job::KpiMonitor),
        ("jobs-reoffer", Job::Reoffer),
    ] {
        let e = event(file);
        let (parsed, window) = job_of(&e).expect(file);
        assert_eq!(parsed, job, "{file}");
        assert_eq!(window.to_rfc3339(), "2026-12-01T18:00:00+00:00", "{file}");
    }
}

#[test]
fn given_a_time_inside_a_window_then_the_window_is_its_start() {
    let mut e = event("jobs-kpi-monitor");
    e.time = Some("2026-12-01T18:29:59Z".parse().expect("time"));
    let (_, window) = job_of(&e).expect("job");
    assert_eq!(window.to_rfc3339(), "2026-12-01T18:15:00+00:00");
}

#[test]
fn given_an_event_of_an_unknown_rule_then_it_is_refused_by_name() {
    let mut e = event("jobs-kpi-monitor");
    e.resources = Some(vec!["arn:aws:events:us-east-1:1:rule/someone-else".into()]);
    assert!(matches!(job_of(&e), Err(EventError::UnknownJob(_))));
    e.detail = serde_json::json!({"job": "kpi_monitor"});
    assert_eq!(job_of(&e).expect("by detail").0, Job::KpiMonitor);
}

#[tokio::test]
async fn given_each_schedule_event_delivered_twice_then_the_second_changes_nothing() {
    let backend = MemoryBackend::new();
    let jobs = Jobs::new(&backend);
    for file in [
        "jobs-model-update",
        "jobs-routing-update",
        "jobs-conversation-rules",
        "jobs-kpi-monitor",
    ] {
        let e = event(file);
        let first = handle(&jobs, &e).await.expect(file);
        assert_eq!(first.status, "ran", "{file}");
        assert!(first.summary.is_some());
        let again = handle(&jobs, &e).await.expect(file);
        assert_eq!(again.status, "already_ran", "{file}");
        assert_eq!(again.window, first.window);
    }
}
