//! The conversation endpoint on the AWS backend (DynamoDB + SQS on moto, Redis): same
//! behaviour as the embedded backend, the per-turn round-trip budget, and a dead Redis.

use aurum::adapters::aws::AwsBackend;
use aurum::adapters::aws::meter::Usage;
use aurum::adapters::embedded::EmbeddedBackend;
use aurum::adapters::setup::setup;
use aurum::ports::LeadQueue;
use aurum_tests::local_aws::{config, fresh_resources, redis_url, sdk};
use aurum_tests::{QUALIFYING_CHAT, conversation_lambda, post_turn, turn_as};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

async fn aws_backend(redis: Option<String>) -> AwsBackend {
    let sdk = sdk().await;
    let resources = fresh_resources();
    setup(&sdk, &resources).await.expect("setup");
    AwsBackend::connect_with(&sdk, &config(resources, redis))
        .await
        .expect("connect")
}

#[tokio::test]
async fn a_qualifying_chat_queues_one_lead_within_the_round_trip_budget() {
    let aws = aws_backend(Some(redis_url())).await;
    let meter = Arc::clone(&aws.meter);
    let queue = Arc::clone(&aws.queue);
    let app = conversation_lambda(&aws);

    let mut per_turn: Vec<Usage> = Vec::new();
    let mut last = Value::Null;
    for message in QUALIFYING_CHAT {
        let before = meter.usage();
        let (status, body) = post_turn(&app, "chat_aws_budget", message).await;
        assert_eq!(status, 200, "{body}");
        per_turn.push(meter.usage().since(before));
        last = body;
    }
    println!("turn | ddb reads | RCU | ddb writes | WCU | sqs sends | redis round trips");
    for (i, u) in per_turn.iter().enumerate() {
        println!(
            "{} | {} | {:.1} | {} | {:.1} | {} | {}",
            i + 1,
            u.dynamodb_reads,
            u.read_milli_units as f64 / 1000.0,
            u.dynamodb_writes,
            u.write_milli_units as f64 / 1000.0,
            u.sqs_sends,
            u.redis_round_trips
        );
    }
    // The first turn of a cold container also loads the scoring model and the conversation
    // rules (more reads and cache fills); every later turn must stay within the budget: its
    // conversation write and one small write of the dashboard's activity counters. The one
    // turn that queues the lead also writes its lead record (one more small write), and
    // every turn after it reads that record (one more small read) to report the routing.
    let queued_on = per_turn
        .iter()
        .position(|u| u.sqs_sends > 0)
        .expect("a turn queues the lead");
    for (i, u) in per_turn.iter().enumerate().skip(1) {
        let queues = u64::from(u.sqs_sends > 0);
        let after = u64::from(i > queued_on);
        assert!(u.dynamodb_reads <= 1 + after, "turn {}: {u:?}", i + 1);
        assert!(u.dynamodb_writes <= 2 + queues, "turn {}: {u:?}", i + 1);
        assert!(
            u.write_milli_units <= 3_000 + 1_000 * queues,
            "turn {}: {u:?}",
            i + 1
        );
        assert!(u.redis_round_trips <= 1, "turn {}: {u:?}", i + 1);
    }
    assert_eq!(
        per_turn.iter().map(|u| u.sqs_sends).sum::<u64>(),
        1,
        "the lead is sent once"
    );

    assert_eq!(
        last["revenue_optimization"]["routing_decision"]["status"], "queued",
        "{last}"
    );
    let lead_id = last["lead_id"].as_str().expect("lead id");
    let got = queue
        .receive(10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].lead.lead_id, lead_id);
}

#[tokio::test]
async fn with_redis_down_every_turn_still_succeeds() {
    // Nothing listens on this port: every cache call fails fast and the turn goes on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let aws = aws_backend(Some(format!("redis://127.0.0.1:{port}"))).await;
    let app = conversation_lambda(&aws);
    for (i, message) in QUALIFYING_CHAT.iter().take(3).enumerate() {
        let (status, body) = post_turn(&app, "chat_no_redis", message).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["revenue_optimization"]["conversation_metrics"]["turns"],
            i as u64 + 1
        );
    }
}

#[tokio::test]
async fn given_a_queued_lead_on_aws_when_consent_is_withdrawn_then_the_lead_record_is_withdrawn() {
    let aws = aws_backend(Some(redis_url())).await;
    aurum_tests::consent_withdrawal_after_queueing(&aws, "chat_aws_withdraw").await;
}

#[tokio::test]
async fn given_a_chat_on_aws_when_the_homeowner_asks_to_delete_their_data_then_contact_details_are_erased_and_the_lead_view_shows_it()
 {
    let aws = aws_backend(Some(redis_url())).await;
    aurum_tests::erasure_request_through_the_chat(&aws, "chat_aws_erase").await;
}

#[tokio::test]
async fn embedded_and_aws_backends_answer_the_same() {
    let aws = aws_backend(Some(redis_url())).await;
    let aws_app = conversation_lambda(&aws);
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded_app = conversation_lambda(&EmbeddedBackend::open(dir.path()).expect("open"));
    for message in QUALIFYING_CHAT {
        let (_, a) = post_turn(&aws_app, "chat_same", message).await;
        let (_, e) = post_turn(&embedded_app, "chat_same", message).await;
        assert_eq!(a["lead_profile"], e["lead_profile"], "{message}");
        assert_eq!(a["next_questions"], e["next_questions"], "{message}");
        assert_eq!(
            a["revenue_optimization"]["lead_score"]["quality_tier"],
            e["revenue_optimization"]["lead_score"]["quality_tier"]
        );
        assert_eq!(a["lead_id"], e["lead_id"]);
    }
}

#[tokio::test]
async fn concurrent_turns_of_one_session_lose_no_fact() {
    let aws = aws_backend(Some(redis_url())).await;
    let app = conversation_lambda(&aws);
    let (status, _) = post_turn(&app, "chat_race", "Hi, I'm looking into solar").await;
    assert_eq!(status, 200);
    let messages = [
        "Our electric bill is about $275 a month",
        "The ZIP code is 10314",
        "It's a single family house",
        "We want it installed in the next few months",
    ];
    let mut racing = tokio::task::JoinSet::new();
    for message in messages {
        let app = app.clone();
        racing.spawn(async move { post_turn(&app, "chat_race", message).await });
    }
    let results = racing.join_all().await;
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    let (_, last) = post_turn(&app, "chat_race", "thanks").await;
    let profile = &last["lead_profile"];
    assert_eq!(profile["monthly_bill"], 275.0, "{profile}");
    assert_eq!(profile["zip_code"], "10314", "{profile}");
    assert_eq!(profile["property_type"], "single_family", "{profile}");
    assert_eq!(profile["timeline"], "within_three_months", "{profile}");
    assert_eq!(
        last["revenue_optimization"]["conversation_metrics"]["turns"],
        6
    );
}

/// GIVEN the deployed configuration (a frontend key set) WHEN a browser without the key, or
/// with a wrong one, chats THEN each reply has the agent's words, the next questions, the
/// caller's own profile and the session token, and none of the business's figures: no
/// score, buyer, price or revenue; the frontend with its key gets them.
#[tokio::test]
async fn a_caller_without_the_frontend_key_sees_no_business_figures() {
    let aws = aws_backend(Some(redis_url())).await;
    let app = conversation_lambda(&aws).router();
    let session = "chat_anonymous";
    let mut token = Value::Null;
    for (i, message) in QUALIFYING_CHAT.iter().enumerate() {
        let key = if i % 2 == 0 {
            None
        } else {
            Some("not-the-key")
        };
        let (status, reply) = turn_as(
            &app,
            key,
            &serde_json::json!({"session_id": session, "message": message, "session_token": token}),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        if i == 0 {
            token = reply["session_token"].clone();
            assert!(token.is_string(), "{reply}");
        }
        assert!(reply["content"].is_string());
        assert!(reply["next_questions"].is_array());
        assert!(reply["lead_profile"].is_object());
        assert!(reply.get("revenue_optimization").is_none(), "{reply}");
        for figure in ["price", "buyer", "revenue", "score", "tier"] {
            assert!(!names_a_field(&reply, figure), "{figure} in {reply}");
        }
    }
    // The frontend, with its key, reads the same session's figures.
    let (status, reply) = turn_as(
        &app,
        Some(aurum_tests::FRONTEND_KEY),
        &serde_json::json!({"session_id": session, "message": "thanks", "session_token": token}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply["revenue_optimization"]["lead_score"]["total_score"].is_u64(),
        "{reply}"
    );
}

/// Whether any object in `v`, at any depth, has a field whose name contains `part`.
fn names_a_field(v: &Value, part: &str) -> bool {
    match v {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(part) || names_a_field(v, part)),
        Value::Array(items) => items.iter().any(|v| names_a_field(v, part)),
        _ => false,
    }
}
