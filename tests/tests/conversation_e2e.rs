//! The local system end to end over real HTTP on loopback: a chat that ends with a queued
//! lead, state that survives a restart, and bad input that changes nothing.

use aurum::domain::conversation::SessionId;
use aurum::ports::{ConversationStore, LeadQueue, LeadStore};
use aurum_tests::spawn_app;
use serde_json::{Value, json};
use std::time::Duration;

const ROUTE: &str = "/api/v1/conversation/revenue-optimized";

fn turn(session: &str, message: &str) -> Value {
    json!({ "session_id": session, "message": message })
}

#[tokio::test]
async fn given_a_queued_lead_on_the_embedded_store_when_consent_is_withdrawn_then_it_is_withdrawn()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = aurum::adapters::embedded::EmbeddedBackend::open(dir.path()).expect("open");
    aurum_tests::consent_withdrawal_after_queueing(&backend, "chat_embedded_withdraw").await;
}

#[tokio::test]
async fn given_a_chat_on_the_embedded_store_when_the_homeowner_asks_to_delete_their_data_then_contact_details_are_erased_and_the_lead_view_shows_it()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = aurum::adapters::embedded::EmbeddedBackend::open(dir.path()).expect("open");
    aurum_tests::erasure_request_through_the_chat(&backend, "chat_embedded_erase").await;
}

#[tokio::test]
async fn guide_example_returns_every_field_with_a_sensible_score() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let r = app
        .post_json(
            ROUTE,
            &json!({
                "message": "I'm interested in solar for my co-op in Manhattan",
                "session_id": "chat_1234567890",
                "conversation_context": {
                    "homeowner_verified": true,
                    "bill_amount": 400.0,
                    "zip_code": "10021",
                    "borough": "manhattan",
                    "neighborhood": "upper_east_side"
                },
                "conversation_history": []
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let score = &r.body["revenue_optimization"]["lead_score"];
    let total = score["total_score"].as_u64().expect("total_score");
    assert!((45..=90).contains(&total), "score {total}");
    assert!(
        score["conversion_probability"]
            .as_f64()
            .is_some_and(|p| p > 0.0 && p < 1.0)
    );
    assert!(
        r.body["content"].as_str().is_some_and(|c| c.contains("kW")),
        "{}",
        r.body["content"]
    );
    assert_eq!(r.body["lead_profile"]["neighborhood"], "upper_east_side");
    assert_eq!(
        r.body["revenue_optimization"]["routing_decision"]["status"],
        "not_ready"
    );
    assert!(r.body["lead_id"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn a_chat_that_gives_contact_and_consent_ends_with_the_lead_queued_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let s = "chat_e2e_full";
    let script = aurum_tests::QUALIFYING_CHAT;
    let mut last = Value::Null;
    for message in script {
        let r = app.post_json(ROUTE, &turn(s, message)).await;
        assert_eq!(r.status, 200, "{message}: {}", r.body);
        last = r.body;
    }
    let decision = &last["revenue_optimization"]["routing_decision"];
    // The in-process router may already have sold it by the last turn.
    assert!(
        ["queued", "sold", "delivered"].contains(&decision["status"].as_str().unwrap_or("")),
        "{last}"
    );
    let lead_id = last["lead_id"].as_str().expect("lead id").to_owned();
    assert_eq!(decision["lead_id"], lead_id.as_str());
    assert_eq!(last["lead_profile"]["contact_provided"], true);
    assert!(
        !last.to_string().contains("555-0142"),
        "contact details must not be echoed"
    );

    // The in-process router takes the message off the queue; the lead record it and the
    // conversation keep shows it was queued once, with the homeowner's details.
    let record = app
        .store
        .lead(&lead_id)
        .await
        .expect("read")
        .expect("the queued lead has its record");
    let queued = record
        .history
        .iter()
        .filter(|t| t.state == aurum::domain::lead::LeadState::Queued)
        .count();
    assert_eq!(queued, 1, "queued exactly once: {:?}", record.history);
    let stored = app
        .store
        .load_conversation(&SessionId::parse(s).expect("id"))
        .await
        .expect("load")
        .expect("saved");
    assert_eq!(stored.facts.contact.phone.as_deref(), Some("+17185550142"));
    app.stop().await;
}

#[tokio::test]
async fn conversation_state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let r = app
        .post_json(
            ROUTE,
            &turn(
                "chat_restart",
                "I own my home in 10314, bill is $250 a month",
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["session_token"].clone();
    app.stop().await;

    let app = spawn_app(dir.path()).await;
    let mut later = turn("chat_restart", "What about batteries?");
    later["session_token"] = token;
    let r = app.post_json(ROUTE, &later).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["lead_profile"]["zip_code"], "10314");
    assert_eq!(r.body["lead_profile"]["monthly_bill"], 250.0);
    assert_eq!(
        r.body["revenue_optimization"]["conversation_metrics"]["turns"],
        2
    );
    app.stop().await;
}

/// GIVEN a session a homeowner started WHEN someone else posts to its session_id without
/// its token, with a wrong one, or with a token for a session that does not exist THEN each
/// is refused with 403 `session_forbidden`, reads nothing of the session and changes nothing.
#[tokio::test]
async fn a_session_answers_only_the_client_that_started_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let s = "chat_owned";
    let first = app
        .post_json(
            ROUTE,
            &turn(s, "I own my house in 11215, the bill is $300 a month"),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let token = first.body["session_token"]
        .as_str()
        .expect("the first reply's token");
    assert!(token.starts_with("st_") && token.len() == 46, "{token}");
    let id = SessionId::parse(s).expect("id");
    let before = app
        .store
        .load_conversation(&id)
        .await
        .expect("load")
        .expect("saved");
    assert_ne!(
        before.token_hash.as_deref(),
        Some(token),
        "only a hash is kept"
    );

    let wrong = format!("st_{}", "A".repeat(43));
    for (what, body) in [
        (
            "no token",
            json!({"session_id": s, "message": "I changed my mind, withdraw"}),
        ),
        (
            "a wrong token",
            json!({"session_id": s, "message": "hi", "session_token": wrong}),
        ),
        (
            "a token for a session that does not exist",
            json!({"session_id": "chat_never_started", "message": "hi", "session_token": token}),
        ),
    ] {
        let r = app.request("POST", ROUTE, body.to_string()).await;
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "session_forbidden", "{what}");
        assert!(
            r.body.get("lead_profile").is_none(),
            "{what}: nothing of the session is read back"
        );
    }
    let after = app
        .store
        .load_conversation(&id)
        .await
        .expect("load")
        .expect("saved");
    assert_eq!(after.version, before.version, "nothing changed");
    assert_eq!(after.turns, 1);
    assert!(
        app.store
            .load_conversation(&SessionId::parse("chat_never_started").expect("id"))
            .await
            .expect("load")
            .is_none()
    );

    // WHEN the owner sends its token THEN the turn is taken, and the token is not sent again
    let r = app
        .request(
            "POST",
            ROUTE,
            json!({"session_id": s, "message": "single family house", "session_token": token})
                .to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("session_token").is_none(), "{}", r.body);
    assert_eq!(r.body["lead_profile"]["zip_code"], "11215");
    app.stop().await;
}

#[tokio::test]
async fn a_zip_outside_nyc_is_valid_but_not_sellable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let r = app
        .post_json(
            ROUTE,
            &turn("chat_nj", "I own a house in Hoboken, zip 07030"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["revenue_optimization"]["routing_decision"]["status"],
        "not_sellable"
    );
    assert_eq!(r.body["lead_profile"]["in_service_area"], false);
    assert!(
        r.body["content"]
            .as_str()
            .is_some_and(|c| c.contains("07030"))
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_json_4xx_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let big_message = "a".repeat(10 * 1024 * 1024);
    let cases: Vec<(String, u16)> = vec![
        ("{not json".into(), 400),
        ("".into(), 400),
        ("[]".into(), 422),
        (json!({"session_id": "chat_bad", "message": 42}).to_string(), 422),
        (json!({"message": "hello"}).to_string(), 422),
        (json!({"session_id": "", "message": "hello"}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "   "}).to_string(), 422),
        (json!({"session_id": "chat bad!", "message": "hi"}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "hi", "session_token": "st_short"}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "hi", "conversation_context": {"bill_amount": -50}}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "hi", "conversation_context": {"bill_amount": 1.0e9}}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "hi", "conversation_context": {"zip_code": "1002"}}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "hi", "conversation_context": {"zip_code": "ABCDE"}}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "hi", "conversation_context": {"borough": "jersey"}}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "hi", "conversation_context": {"property_type": "castle"}}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "x".repeat(5_000)}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "hi", "conversation_history": vec!["hi"; 51]}).to_string(), 422),
        (json!({"session_id": "chat_bad", "message": "y".repeat(70 * 1024)}).to_string(), 413),
        (json!({"session_id": "chat_bad", "message": big_message}).to_string(), 413),
    ];
    for (body, expected) in cases {
        let shown: String = body.chars().take(80).collect();
        let r = app.request("POST", ROUTE, body).await;
        assert_eq!(r.status, expected, "{shown}: {}", r.body);
        assert!(r.body["error"]["code"].is_string(), "{shown}: {}", r.body);
        assert!(
            r.body["error"]["message"].is_string(),
            "{shown}: {}",
            r.body
        );
    }
    // A body not declared JSON: no content-type, a form, plain text.
    let valid = json!({"session_id": "chat_bad", "message": "hi"}).to_string();
    for content_type in [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
    ] {
        let r = app
            .request_as("POST", ROUTE, content_type, valid.clone())
            .await;
        assert_eq!(r.status, 415, "{content_type:?}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "unsupported_media_type");
    }
    let r = app
        .request_as(
            "POST",
            ROUTE,
            Some("application/json; charset=utf-8"),
            json!({"session_id": "chat_typed", "message": "hi"}).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "a charset parameter is fine: {}", r.body);
    let r = app.request("GET", ROUTE, "").await;
    assert_eq!(r.status, 405, "{}", r.body);
    let r = app.request("POST", "/api/v1/nowhere", "{}").await;
    assert_eq!(r.status, 404, "{}", r.body);

    let bad = SessionId::parse("chat_bad").expect("id");
    assert_eq!(app.store.load_conversation(&bad).await.expect("load"), None);
    assert!(
        app.store
            .receive(10, Duration::from_secs(1))
            .await
            .expect("receive")
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_bare_yes_to_the_consent_question_queues_the_lead_with_its_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let s = "chat_consent_yes";
    for message in [
        "I own a single family house on Staten Island, zip 10314",
        "The electric bill is around $280 a month",
        "You can reach me at 718-555-0199",
    ] {
        let r = app.post_json(ROUTE, &turn(s, message)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body["revenue_optimization"]["routing_decision"]["status"], "not_ready",
            "{message}"
        );
        last_questions(&r.body);
    }
    let r = app.post_json(ROUTE, &turn(s, "Thanks")).await;
    let asked = last_questions(&r.body);
    assert!(
        asked
            .first()
            .is_some_and(|q| q.contains("share your details")),
        "{asked:?}"
    );
    let r = app.post_json(ROUTE, &turn(s, "yes")).await;
    assert_eq!(
        r.body["lead_profile"]["contact_consent"], true,
        "{}",
        r.body
    );
    assert_eq!(
        r.body["revenue_optimization"]["routing_decision"]["status"], "queued",
        "{}",
        r.body
    );

    // The in-process router consumes the queue: the evidence is read where the queued
    // lead takes it from, the saved conversation, and the lead record shows it queued.
    let lead_id = r.body["lead_id"].as_str().expect("lead id").to_owned();
    assert!(
        app.store.lead(&lead_id).await.expect("read").is_some(),
        "the queued lead has its record"
    );
    let consent = app
        .store
        .load_conversation(&SessionId::parse(s).expect("id"))
        .await
        .expect("load")
        .expect("saved")
        .consent
        .expect("consent evidence travels with the lead");
    assert_eq!(consent.words, "yes");
    let disclosure = consent.disclosure.clone().expect("the question answered");
    assert!(disclosure.contains("installer"), "{disclosure}");
    // AND the question named the buyers that could take the lead, and the yes recorded them
    assert!(
        (1..=3).contains(&consent.sellers.len()),
        "{:?}",
        consent.sellers
    );
    for seller in &consent.sellers {
        assert!(disclosure.contains(&seller.name), "{disclosure}");
    }
    // AND the router offers the lead to none other
    let mut routed = None;
    for _ in 0..100 {
        let record = app
            .store
            .lead(&lead_id)
            .await
            .expect("read")
            .expect("record");
        if record.routing.is_some() {
            routed = Some(record);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let record = routed.expect("the in-process router decided");
    for t in &record.routing.expect("decision").trace {
        let named = consent
            .sellers
            .iter()
            .any(|s| s.buyer_id == t.buyer_id.as_str());
        let result = serde_json::to_string(&t.result).expect("json");
        assert_eq!(
            !named,
            result.contains("not_named_in_consent"),
            "{}: {result}",
            t.buyer_id
        );
    }
    app.stop().await;
}

fn last_questions(body: &Value) -> Vec<String> {
    body["next_questions"]
        .as_array()
        .map(|qs| {
            qs.iter()
                .filter_map(|q| q.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn given_a_fresh_aurum_serve_when_a_homeowner_qualifies_then_the_lead_is_sold_and_delivered()
{
    use aurum::domain::lead::LeadState;
    use aurum::ports::LeadStore;
    // GIVEN `aurum serve` on an empty store (the example buyers, the sandbox inbox)
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    // WHEN a homeowner qualifies
    let mut lead_id = None;
    for message in aurum_tests::QUALIFYING_CHAT {
        let r = app.post_json(ROUTE, &turn("chat_sold_e2e", message)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if let Some(id) = r.body["lead_id"].as_str() {
            lead_id = Some(id.to_owned());
        }
    }
    let lead_id = lead_id.expect("the chat queues a lead");
    // THEN the in-process router sells and delivers it
    let mut state = None;
    for _ in 0..100 {
        state = app
            .store
            .lead(&lead_id)
            .await
            .expect("read")
            .map(|r| r.state);
        if state == Some(LeadState::Delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, Some(LeadState::Delivered));
    // AND the chat's next reply names the buyer and the price
    let r = app
        .post_json(ROUTE, &turn("chat_sold_e2e", "Great, thanks!"))
        .await;
    let routing = &r.body["revenue_optimization"]["routing_decision"];
    assert_eq!(routing["status"], "delivered", "{routing}");
    assert!(routing["selected_buyer_id"].is_string(), "{routing}");
    assert!(routing["selected_buyer_tier"].is_string(), "{routing}");
    assert!(
        routing["price_per_lead"].as_f64().is_some_and(|p| p > 0.0),
        "{routing}"
    );
    assert!(!routing["routing_reason"].as_str().unwrap_or("").is_empty());

    // AND the sales team's view of the lead explains it, without contact details
    let view = app
        .request("GET", &format!("/api/v1/leads/{lead_id}"), "")
        .await;
    assert_eq!(view.status, 200, "{}", view.body);
    let v = &view.body;
    assert_eq!(v["status"], "delivered");
    assert_eq!(v["sale"]["buyer_id"], routing["selected_buyer_id"]);
    assert_eq!(v["sale"]["price"], routing["price_per_lead"]);
    assert_eq!(
        v["ledger_net"], routing["price_per_lead"],
        "the ledger holds the sale"
    );
    for factor in [
        "quality_bps",
        "surge_bps",
        "time_of_day_bps",
        "day_of_week_bps",
        "market_bps",
    ] {
        assert!(v["sale"]["pricing"][factor].is_u64(), "{factor}: {v}");
    }
    let trace = v["routing"]["trace"].as_array().expect("trace");
    assert_eq!(trace.len(), 7, "every example buyer is in the trace");
    assert!(trace.iter().any(|t| t["chosen"] == true));
    let statuses: Vec<&str> = v["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["status"].as_str())
        .collect();
    assert_eq!(statuses.first(), Some(&"queued"));
    assert_eq!(statuses.last(), Some(&"delivered"));
    let text = v.to_string();
    assert!(
        !text.contains("555-0142") && !text.contains("5550142"),
        "no phone: {text}"
    );
    assert!(!text.contains("Maria"), "no name: {text}");

    let missing = app
        .request(
            "GET",
            "/api/v1/leads/lead_00000000000000000000000000000000",
            "",
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "not_found");
    let bad = app.request("GET", "/api/v1/leads/not-a-lead", "").await;
    assert_eq!(bad.status, 422);
    app.stop().await;
}
