//! The functions' Lambda runtime loop under the local Runtime API: `aurum lambda-bench`
//! starts `aurum lambda NAME` (the function over the embedded store) as a process, hands it
//! events through `/2018-06-01/runtime/invocation/next` and reads back what it answered.

use aurum::adapters::embedded::EmbeddedStore;
use aurum::domain::conversation::SessionId;
use aurum::domain::lead::LeadState;
use aurum::ports::{ConversationStore, LeadStore};
use std::path::Path;
use std::process::Command;

fn bench(function: &str, events: usize, data_dir: &Path, extra: &[&str]) -> serde_json::Value {
    let report = data_dir.with_extension("json");
    let aurum = env!("CARGO_BIN_EXE_aurum");
    let output = Command::new(aurum)
        .args(["lambda-bench", "--function", function, "--events"])
        .arg(events.to_string())
        .args(["--events-dir", "../events", "--json"])
        .arg(&report)
        .args(extra)
        .args(["--", aurum, "lambda", function])
        .env("AURUM_BACKEND", "embedded")
        .env("AURUM_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("aurum lambda-bench runs");
    assert!(
        output.status.success(),
        "lambda-bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&report).expect("the JSON report is written");
    serde_json::from_str(&text).expect("the report is JSON")
}

fn number(report: &serde_json::Value, field: &str) -> f64 {
    report[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} in {report}"))
}

#[test]
fn given_the_conversation_function_under_the_runtime_api_when_chat_turns_are_invoked_then_each_is_answered_and_stored()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");

    let report = bench("conversation", 12, &data, &[]);

    assert_eq!(report["function"], "conversation");
    assert_eq!(report["warm_events"], 12);
    assert_eq!(report["errors"], 0);
    assert!(number(&report, "init_ms") > 0.0);
    assert!(number(&report, "first_event_ms") > 0.0);
    assert!(number(&report, "warm_p50_ms") <= number(&report, "warm_p99_ms"));
    assert!(number(&report, "peak_rss_mib") >= number(&report, "rss_at_init_mib"));
    let store = EmbeddedStore::open(&data).expect("the store opens after the process stopped");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let session = SessionId::parse("bench_7_0").expect("session id");
    let stored = runtime
        .block_on(store.load_conversation(&session))
        .expect("store read")
        .expect("the first chat's turns were stored");
    assert!(stored.version >= 2, "the chat's turns were each stored");
}

#[test]
fn given_the_router_under_the_runtime_api_when_lead_batches_are_invoked_then_every_lead_is_sold_and_delivered()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");

    let report = bench("router", 1, &data, &["--buyers-inbox"]);

    assert_eq!(report["function"], "router");
    assert_eq!(report["errors"], 0);
    let store = EmbeddedStore::open(&data).expect("the store opens after the process stopped");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let batches = aurum_cli::lambda_bench::router_events(
        include_str!("../../events/router-lead-batch.json"),
        7,
        2,
        10,
    );
    let mut leads = 0;
    let mut delivered = 0;
    for batch in &batches {
        let batch: serde_json::Value = serde_json::from_slice(batch).expect("json");
        for record in batch["Records"].as_array().expect("records") {
            let lead: serde_json::Value =
                serde_json::from_str(record["body"].as_str().expect("body")).expect("lead");
            let id = lead["lead_id"].as_str().expect("lead id");
            let stored = runtime
                .block_on(store.lead(id))
                .expect("store read")
                .expect("every lead of every batch has a record");
            assert!(
                matches!(
                    stored.state,
                    LeadState::Delivered
                        | LeadState::Accepted
                        | LeadState::Rejected
                        | LeadState::Waiting
                ),
                "lead {id} ended {:?}",
                stored.state
            );
            if matches!(stored.state, LeadState::Delivered | LeadState::Accepted) {
                delivered += 1;
            }
            leads += 1;
        }
    }
    assert_eq!(leads, 20);
    assert!(delivered >= 18, "{delivered} of 20 delivered");
}
