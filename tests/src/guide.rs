//! The guide's API, field for field: its example requests are posted as written and every
//! field its example responses (and usage examples) name is checked for presence and JSON
//! type. The examples are kept in `tests/fixtures/guide/`.

use crate::analytics::{dashboard_lambda, get};
use crate::contract::{ManualTime, Time};
use crate::feedback::{call, feedback_lambda, message_id, secret, signed};
use crate::routing::buyer_at;
use aurum::adapters::fake_buyer::FakeBuyer;
use aurum::backend::Backend;
use aurum::domain::buyer::BuyerTier;
use aurum::domain::feedback::FeedbackType;
use aurum::domain::lead::LeadState;
use aurum::ports::{BuyerStore, FeedbackStore, LeadStore};
use serde_json::Value;
use std::time::Duration;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/guide")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `guide` present in `actual` with the same JSON type, recursively
/// (objects by key; arrays by their first elements when both have one). `nullable` names
/// paths documented to be null until later (a buyer before routing). The mismatches, by
/// path.
pub fn mismatches(guide: &Value, actual: &Value, path: &str, nullable: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    match (guide, actual) {
        (Value::Object(g), Value::Object(a)) => {
            for (key, gv) in g {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match a.get(key) {
                    None => out.push(format!("{p}: missing")),
                    Some(Value::Null) if nullable.contains(&p.as_str()) => {}
                    Some(av) => out.extend(mismatches(gv, av, &p, nullable)),
                }
            }
        }
        (Value::Array(g), Value::Array(a)) => {
            if let (Some(g0), Some(a0)) = (g.first(), a.first()) {
                out.extend(mismatches(g0, a0, &format!("{path}[0]"), nullable));
            }
        }
        (g, a) if kind(g) == kind(a) => {}
        (g, a) => out.push(format!(
            "{path}: the guide has {}, the API {}",
            kind(g),
            kind(a)
        )),
    }
    out
}

/// GIVEN the guide's example conversation request, a buyer with sales and the guide's
/// example feedback
/// WHEN each is posted as written and the dashboard, forecast and recommendations read
/// THEN every field the guide's examples show is there with the guide's type, and the
/// feedback's score, words and conversion value are used.
pub async fn the_guides_examples_work_unchanged<B: Backend>(backend: &B, time: &ManualTime) {
    // The conversation, as the guide posts it (the business's chat frontend).
    let chat = crate::conversation_lambda(backend);
    let request = fixture("conversation_request.json");
    let (status, reply) = crate::turn_as(&chat.router(), Some(crate::FRONTEND_KEY), &request).await;
    assert_eq!(status, 200, "{reply}");
    // Before routing there is no buyer yet: those fields are null (documented).
    let before_routing = [
        "revenue_optimization.routing_decision.selected_buyer_id",
        "revenue_optimization.routing_decision.selected_buyer_tier",
        "revenue_optimization.routing_decision.price_per_lead",
        "revenue_optimization.routing_decision.expected_revenue",
    ];
    let wrong = mismatches(
        &fixture("conversation_response.json"),
        &reply,
        "",
        &before_routing,
    );
    assert!(wrong.is_empty(), "{wrong:?}\n{reply}");
    assert!(
        reply["revenue_optimization"]["optimization_recommendations"]
            .as_array()
            .is_some_and(|r| r.iter().all(Value::is_string))
    );

    // A buyer with sales, and the guide's feedback on one of them.
    let now = (backend.clock())();
    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let buyer = buyer_at("solarreviews", BuyerTier::Premium, &fake.url(), 50);
    backend
        .buyers()
        .put_buyers(std::slice::from_ref(&buyer))
        .await
        .expect("buyers");
    let leads = crate::feedback::delivered_leads(backend, &buyer, 3, now).await;
    let mut feedback = fixture("feedback_request.json");
    feedback["lead_id"] = Value::String(leads[0].lead_id.clone());
    let app = feedback_lambda(backend);
    let answer = call(
        &app,
        signed(
            buyer.id.as_str(),
            &secret(),
            &message_id(),
            now,
            feedback.to_string().as_bytes(),
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // The conversion value sent with `accepted` is a conversion.
    let lead = backend
        .leads()
        .lead(&leads[0].lead_id)
        .await
        .expect("read")
        .expect("lead");
    assert_eq!(lead.state, LeadState::Converted);
    // The score, the words and the notes are kept for the sales team.
    let kept = backend
        .feedback()
        .feedback(&leads[0].lead_id, &buyer.id, FeedbackType::Accepted)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(kept.score_tenths, Some(85));
    assert_eq!(
        kept.reason_text.as_deref(),
        feedback["feedback_reason"].as_str()
    );
    assert_eq!(kept.notes.as_deref(), feedback["buyer_notes"].as_str());

    time.pass(Duration::from_secs(16)).await;
    let dashboard = dashboard_lambda(backend);
    let (status, dash) = get(&dashboard, "/api/v1/revenue/dashboard").await;
    assert_eq!(status, 200, "{dash}");
    let wrong = mismatches(&fixture("dashboard_response.json"), &dash, "", &[]);
    assert!(wrong.is_empty(), "{wrong:?}\n{dash}");
    assert_eq!(dash["top_performing_buyers"][0][0], "solarreviews");
    assert_eq!(dash["current_hour_revenue"], dash["revenue"]["hour"]);
    assert_eq!(dash["month_revenue"], dash["revenue"]["month"]);
    assert!(
        dash["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
    );
    let usage = fixture("usage.json");
    let wrong = mismatches(&usage["dashboard"], &dash, "", &[]);
    assert!(wrong.is_empty(), "{wrong:?}");

    // The buyer's rating is averaged per buyer and lead tier.
    let (_, buyers) = get(&dashboard, "/api/v1/revenue/buyers").await;
    let b = buyers["buyers"]
        .as_array()
        .expect("buyers")
        .iter()
        .find(|b| b["buyer_id"] == "solarreviews")
        .expect("the buyer")
        .clone();
    assert_eq!(b["scored"], 1);
    assert_eq!(b["average_feedback_score"], 8.5);
    assert_eq!(b["converted"], 1);
    let tier = lead.tier.expect("tier").as_str();
    let rated = b["feedback_by_tier"]
        .as_array()
        .expect("by tier")
        .iter()
        .find(|t| t["tier"] == tier)
        .expect("the lead's tier")
        .clone();
    assert_eq!(rated["average_score"], 8.5);
    assert_eq!(rated["converted"], 1);

    // get_revenue_forecast("daily", 7) → forecast_data, even before enough history.
    let days = usage["forecast"]["daily"].as_u64().expect("days");
    let (status, forecast) = get(
        &dashboard,
        &format!("/api/v1/revenue/forecast?period=daily&horizon={days}"),
    )
    .await;
    assert_eq!(status, 200, "{forecast}");
    let wrong = mismatches(&usage["forecast"]["fields"], &forecast, "", &[]);
    assert!(wrong.is_empty(), "{wrong:?}\n{forecast}");

    // get_optimization_recommendations() → each with a title and a description.
    let (status, recs) = get(&dashboard, "/api/v1/revenue/recommendations").await;
    assert_eq!(status, 200, "{recs}");
    let list = recs["recommendations"].as_array().expect("list");
    assert!(!list.is_empty(), "{recs}");
    for r in list {
        let wrong = mismatches(&usage["recommendations"]["fields"], r, "", &[]);
        assert!(wrong.is_empty(), "{wrong:?}\n{r}");
    }

    // The 15-minute KPI check is stored and the dashboard shows the newest one.
    assert!(dash["kpi_check"].is_null(), "not run yet");
    let jobs = aurum::usecases::jobs::Jobs::new(backend);
    let window = (backend.clock())();
    jobs.run(aurum::usecases::jobs::Job::KpiMonitor, window)
        .await
        .expect("kpi check");
    time.pass(Duration::from_secs(16)).await;
    let (_, dash) = get(&dashboard, "/api/v1/revenue/dashboard").await;
    let check = &dash["kpi_check"];
    assert!(check["checked_at"].is_string(), "{dash}");
    assert!(
        check["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
    );
    assert_eq!(check["revenue_today"], dash["today_revenue"]);
    drop(fake);
}
