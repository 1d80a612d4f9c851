//! Revenue-analytics scenarios, generic over the backend: leads sold by the real router to
//! a fake buyer, feedback posted through the real endpoint, conversations through the real
//! conversation function; then the dashboard's figures are compared with the ledger.

use crate::contract::{ManualTime, Time};
use crate::feedback::{body, call, feedback_lambda, message_id, secret, signed};
use crate::routing::buyer_at;
use aurum::adapters::fake_buyer::FakeBuyer;
use aurum::backend::Backend;
use aurum::domain::buyer::BuyerTier;
use aurum::domain::money::Cents;
use aurum::ports::{BuyerStore, SaleStore};
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt;

/// The dashboard Lambda's router over `backend`.
pub fn dashboard_lambda<B: Backend>(backend: &B) -> axum::Router {
    aurum::function::lambda_router::<aurum_dashboard::Dashboard, _>(backend)
}

pub async fn get(app: &axum::Router, path: &str) -> (u16, Value) {
    let response = app
        .clone()
        .oneshot(
            hyper::Request::get(path)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn cents(v: &Value) -> i64 {
    (v.as_f64().unwrap_or(f64::NAN) * 100.0).round() as i64
}

/// GIVEN leads sold, accepted, rejected, returned and converted, and conversations held
/// WHEN the sales team reads the dashboard and the buyers
/// THEN today's revenue equals the ledger, and every count matches what happened.
pub async fn the_dashboard_reconciles_with_the_ledger<B: Backend>(backend: &B, time: &ManualTime) {
    let now = (backend.clock())();
    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let buyer = buyer_at("analytics_a", BuyerTier::Premium, &fake.url(), 50);
    backend
        .buyers()
        .put_buyers(std::slice::from_ref(&buyer))
        .await
        .expect("buyers");
    let leads = crate::feedback::delivered_leads(backend, &buyer, 5, now).await;
    let feedback = feedback_lambda(backend);
    let post = |lead: &str, kind: &str, extra: Value| {
        signed(
            buyer.id.as_str(),
            &secret(),
            &message_id(),
            now,
            &body(lead, &buyer.id, kind, extra),
        )
    };
    let l = |i: usize| leads[i].lead_id.as_str();
    for (lead, kind, extra) in [
        (l(0), "accepted", json!({})),
        (l(0), "converted", json!({"conversion_value": 21000.0})),
        (l(1), "accepted", json!({})),
        (l(2), "rejected", json!({"reason_code": "wrong_number"})),
        (l(3), "returned", json!({"reason_code": "not_homeowner"})),
    ] {
        let answer = call(&feedback, post(lead, kind, extra)).await;
        assert_eq!(answer.status, 200, "{kind}: {}", answer.body);
    }
    // Three conversations, one of them two turns long.
    let chat = crate::conversation_lambda(backend);
    for (session, message) in [
        ("chat_analytics_1", "hi, thinking about solar"),
        ("chat_analytics_1", "I own a house in Queens"),
        ("chat_analytics_2", "how much does it cost?"),
        ("chat_analytics_3", "just looking"),
    ] {
        let (status, _) = crate::post_turn(&chat, session, message).await;
        assert_eq!(status, 200);
    }

    let app = dashboard_lambda(backend);
    let (status, dash) = get(&app, "/api/v1/revenue/dashboard").await;
    assert_eq!(status, 200, "{dash}");
    let mut ledger = Cents::ZERO;
    for lead in &leads {
        for line in backend.sales().ledger(&lead.lead_id).await.expect("ledger") {
            ledger += line.revenue();
        }
    }
    assert!(ledger.0 > 0);
    assert_eq!(cents(&dash["revenue"]["today"]), ledger.0, "{dash}");
    assert_eq!(cents(&dash["revenue"]["month"]), ledger.0);
    assert_eq!(dash["leads_sold_today"], 5);
    assert_eq!(dash["conversations_today"], 3);
    assert_eq!(dash["active_conversations"], 3);
    assert_eq!(dash["acceptance_rate"], 0.6667, "2 of 3 judged");
    assert_eq!(dash["return_rate"], 0.2, "1 of 5 returned");
    let trend = dash["revenue_trend"].as_array().expect("trend");
    assert_eq!(trend.len(), 30);
    assert_eq!(
        cents(&trend[29]["revenue"]),
        ledger.0,
        "today closes the trend"
    );
    assert_eq!(
        dash["revenue_by_hour"].as_array().map(Vec::len),
        Some(7 * 24)
    );
    let hourly: i64 = dash["revenue_by_hour"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| cents(&c["revenue"]))
        .sum();
    assert_eq!(hourly, ledger.0, "the heatmap holds the same revenue");
    assert_eq!(dash["top_buyers"][0]["buyer_id"], "analytics_a");
    assert_eq!(dash["recent_sales"].as_array().map(Vec::len), Some(5));
    assert!(dash["counted_by"]["revenue"].is_string());

    let (status, buyers) = get(&app, "/api/v1/revenue/buyers").await;
    assert_eq!(status, 200, "{buyers}");
    let a = buyers["buyers"]
        .as_array()
        .expect("buyers")
        .iter()
        .find(|b| b["buyer_id"] == "analytics_a")
        .expect("the buyer")
        .clone();
    assert_eq!(a["leads_sold"], 5);
    assert_eq!(a["accepted"], 2);
    assert_eq!(a["rejected"], 1);
    assert_eq!(a["returned"], 1);
    assert_eq!(a["converted"], 1);
    assert_eq!(cents(&a["revenue"]), ledger.0);
    let reasons: Vec<&str> = a["top_rejection_reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["not_homeowner", "wrong_number"]);
    // Returns are counted by the lead's tier too: the five leads were standard.
    let by_tier: Vec<(String, i64, i64)> = a["returns_by_tier"]
        .as_array()
        .expect("tiers")
        .iter()
        .map(|t| {
            (
                t["tier"].as_str().unwrap_or_default().to_owned(),
                t["accepted"].as_i64().unwrap_or(-1),
                t["returned"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        by_tier,
        [
            ("basic".to_owned(), 0, 0),
            ("standard".to_owned(), 2, 1),
            ("premium".to_owned(), 0, 0)
        ]
    );

    // A new sale shows once the snapshot is older than its freshness.
    let more = crate::feedback::delivered_leads(backend, &buyer, 1, now).await;
    let (_, cached) = get(&app, "/api/v1/revenue/dashboard").await;
    assert_eq!(cached["leads_sold_today"], 5, "served from the snapshot");
    time.pass(Duration::from_secs(16)).await;
    let (_, fresh) = get(&app, "/api/v1/revenue/dashboard").await;
    assert_eq!(fresh["leads_sold_today"], 6);

    // The routing update turns the month's outcomes into the router's acceptance estimate.
    let jobs = aurum::usecases::jobs::Jobs::new(backend);
    let ran = jobs
        .run(
            aurum::usecases::jobs::Job::RoutingUpdate,
            (backend.clock())(),
        )
        .await
        .expect("routing update");
    assert!(matches!(ran, aurum::usecases::jobs::RunOutcome::Ran(_)));
    let stats = jobs
        .latest_routing_update()
        .await
        .expect("read")
        .expect("recorded")
        .stats();
    let learned = stats
        .get("analytics_a")
        .copied()
        .expect("the buyer's stats");
    assert_eq!(
        (learned.accepted, learned.rejected, learned.returned),
        (2, 1, 1)
    );
    // AND per tier, so the chance of a return is the standard tier's own.
    assert_eq!(
        learned.by_tier[1],
        aurum::domain::routing::TierOutcomes {
            accepted: 2,
            returned: 1
        }
    );
    assert_eq!(learned.by_tier[0], Default::default());
    let p_accept = |lead: &str| {
        let lead = lead.to_owned();
        let app = app.clone();
        async move {
            let (_, view) = get(&app, &format!("/api/v1/leads/{lead}")).await;
            view["routing"]["trace"][0]["p_accept"]
                .as_f64()
                .expect("p_accept")
        }
    };
    let before = p_accept(&more[0].lead_id).await;
    let after_update = crate::feedback::delivered_leads(backend, &buyer, 1, now).await;
    let after = p_accept(&after_update[0].lead_id).await;
    assert!(
        after < before,
        "2 of 3 accepted lowers the estimate: {before} → {after}"
    );

    let (status, recs) = get(&app, "/api/v1/revenue/recommendations").await;
    assert_eq!(status, 200, "{recs}");
    assert!(
        recs["recommendations"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    drop(fake);
}

/// GIVEN a conversation of two turns WHEN its metrics are read THEN they describe it;
/// an unknown session is a 404 and a malformed id a 422.
pub async fn conversation_metrics_describe_the_chat<B: Backend>(backend: &B) {
    let chat = crate::conversation_lambda(backend);
    for message in [
        "I own a house in Park Slope",
        "my bill is about $250 a month",
    ] {
        let (status, _) = crate::post_turn(&chat, "chat_metrics_1", message).await;
        assert_eq!(status, 200);
    }
    let app = dashboard_lambda(backend);
    let (status, m) = get(&app, "/api/v1/conversations/chat_metrics_1/metrics").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["turns"], 2);
    assert_eq!(
        m["revenue_potential_over_time"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(m["score"].as_u64().is_some_and(|s| s > 0));
    assert!(m["recommendations"].is_array());
    let (status, missing) = get(&app, "/api/v1/conversations/chat_nobody/metrics").await;
    assert_eq!(status, 404, "{missing}");
    let (status, _) = get(&app, "/api/v1/conversations/bad%20id/metrics").await;
    assert_eq!(status, 422);
}

/// GIVEN a price experiment on the premium tier WHEN leads are sold to a premium buyer
/// that keeps the cheaper ones and rejects the dearest THEN each sale is priced at the
/// variant recorded on its lead (the ledger charges that price), and after the routing
/// update the experiments endpoint counts every variant's offers, leads kept and revenue.
pub async fn price_experiments_price_sales_and_count_outcomes<B: Backend>(backend: &B) {
    use aurum::domain::learning::experiments::{
        ExperimentSet, PriceVariant, PricingExperiment, PromotionRule,
    };
    use aurum::ports::LeadStore;
    use std::collections::BTreeMap;
    let now = (backend.clock())();
    let variants = [("minus_10", 9_000), ("list", 10_000), ("plus_10", 11_000)]
        .map(|(id, price_bps)| PriceVariant {
            id: id.into(),
            price_bps,
        })
        .to_vec();
    let experiment = PricingExperiment::new(
        "premium-test",
        BuyerTier::Premium,
        variants,
        PromotionRule::default(),
        now - chrono::Duration::minutes(1),
    )
    .expect("valid");
    aurum::artefacts::Artefacts::save_experiments(
        &*backend.jobs(),
        ExperimentSet::new(vec![experiment]).expect("one per tier"),
        now,
    )
    .await
    .expect("started");
    aurum::artefacts::forget_experiments(backend).await;

    let fake = FakeBuyer::start(secret()).await.expect("fake buyer");
    let mut buyer = buyer_at("experiment_a", BuyerTier::Premium, &fake.url(), 50);
    // A wide band, so no variant's price is clamped.
    buyer.price_floor = Cents(1_000);
    buyer.price_cap = Cents(100_000);
    backend
        .buyers()
        .put_buyers(std::slice::from_ref(&buyer))
        .await
        .expect("buyers");
    let leads = crate::feedback::delivered_leads(backend, &buyer, 12, now).await;

    let app = dashboard_lambda(backend);
    let mut price_of: BTreeMap<String, i64> = BTreeMap::new();
    let mut at_variant: Vec<(String, String, i64)> = Vec::new();
    for lead in &leads {
        let record = backend
            .leads()
            .lead(&lead.lead_id)
            .await
            .expect("read")
            .expect("stored");
        let sale = record.sale.expect("sold");
        let variant = sale
            .quote
            .experiment
            .as_deref()
            .cloned()
            .expect("priced by the experiment");
        assert_eq!(variant.experiment_id, "premium-test");
        assert_eq!(sale.price, sale.quote.price);
        // The same lead at the same moment: one price per variant.
        let seen = *price_of
            .entry(variant.variant_id.clone())
            .or_insert(sale.price.0);
        assert_eq!(seen, sale.price.0, "{}", variant.variant_id);
        let ledger = backend.sales().ledger(&lead.lead_id).await.expect("ledger");
        assert_eq!(
            ledger.iter().map(|e| e.amount.0).sum::<i64>(),
            sale.price.0,
            "the ledger charges the variant's price"
        );
        let (_, view) = get(&app, &format!("/api/v1/leads/{}", lead.lead_id)).await;
        assert_eq!(
            view["sale"]["pricing"]["experiment"]["variant_id"],
            variant.variant_id.as_str()
        );
        at_variant.push((lead.lead_id.clone(), variant.variant_id, sale.price.0));
    }
    assert!(
        price_of.len() >= 2,
        "Thompson sampling tried variants: {price_of:?}"
    );
    let ordered: Vec<i64> = ["minus_10", "list", "plus_10"]
        .iter()
        .filter_map(|v| price_of.get(*v).copied())
        .collect();
    assert!(
        ordered.windows(2).all(|w| w[0] < w[1]),
        "a higher multiplier, a higher price: {price_of:?}"
    );

    let feedback = feedback_lambda(backend);
    for (lead, variant, _) in &at_variant {
        let kind = if variant == "plus_10" {
            "rejected"
        } else {
            "accepted"
        };
        let extra = if kind == "rejected" {
            json!({"reason_code": "wrong_number"})
        } else {
            json!({})
        };
        let answer = call(
            &feedback,
            signed(
                buyer.id.as_str(),
                &secret(),
                &message_id(),
                now,
                &body(lead, &buyer.id, kind, extra),
            ),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let jobs = aurum::usecases::jobs::Jobs::new(backend);
    jobs.run(aurum::usecases::jobs::Job::RoutingUpdate, now)
        .await
        .expect("routing update");

    let (status, view) = get(&app, "/api/v1/experiments").await;
    assert_eq!(status, 200, "{view}");
    let e = &view["experiments"][0];
    assert_eq!(e["id"], "premium-test");
    assert_eq!(e["status"], "running", "12 offers are too few for a winner");
    assert_eq!(e["offers"], 12);
    for v in e["variants"].as_array().expect("variants") {
        let id = v["id"].as_str().expect("id");
        let sold: Vec<i64> = at_variant
            .iter()
            .filter(|(_, variant, _)| variant == id)
            .map(|(_, _, price)| *price)
            .collect();
        assert_eq!(v["offers"], sold.len(), "{id}");
        let kept = if id == "plus_10" { 0 } else { sold.len() };
        assert_eq!(v["kept"], kept, "{id}");
        let revenue: i64 = if id == "plus_10" {
            0
        } else {
            sold.iter().sum()
        };
        assert_eq!(cents(&v["revenue"]), revenue, "{id}");
        let p = v["probability_best"].as_f64().expect("probability");
        assert!((0.0..=1.0).contains(&p));
    }
    let total: f64 = e["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .filter_map(|v| v["probability_best"].as_f64())
        .sum();
    assert!(
        (total - 1.0).abs() < 1e-9,
        "the probabilities sum to one: {total}"
    );
    drop(fake);
}

/// Dollars of net revenue in one New York hour of the forecast scenario: office hours
/// only, a midday peak, weekends at half, growing 2% a week, with a small wobble.
fn scenario_dollars(week: i64, weekday: u32, hour: u32, n: i64) -> i64 {
    const SHAPE: [i64; 24] = [
        0, 0, 0, 0, 0, 0, 0, 0, 40, 70, 90, 100, 110, 100, 90, 80, 70, 50, 30, 0, 0, 0, 0, 0,
    ];
    let weekend = if weekday >= 5 { 0.5 } else { 1.0 };
    let growth = 1.0 + 0.02 * week as f64;
    let wobble = 1.0 + 0.04 * (n as f64 * 1.3).sin();
    (SHAPE[hour as usize] as f64 * weekend * growth * wobble).round() as i64
}

/// GIVEN half a year of net revenue in the counters, by New York hour, up to 15:20 on a
/// Wednesday (the current hour already has a sale)
/// WHEN the sales team asks the dashboard function for the hourly, weekly and daily
/// forecasts
/// THEN the hourly one starts with the current hour, the weekly one with the current ISO
/// week, the daily one with today; each has `forecast_data` equal to its points, with
/// intervals that never go below zero, a backtest, and a period start in New York time;
/// bounds outside a period's horizon are refused with `invalid_request`.
pub async fn forecasts_by_hour_day_and_week<B: Backend>(backend: &B) {
    use aurum::domain::analytics::{Counter, field, shard_key};
    use aurum::ports::MetricsStore;
    use chrono::{Datelike, NaiveDate, Timelike};

    let now = (backend.clock())();
    let local = now.with_timezone(&chrono_tz::America::New_York);
    let today = local.date_naive();
    assert_eq!(
        (today, local.hour()),
        (NaiveDate::from_ymd_opt(2026, 3, 18).expect("date"), 15),
        "the scenario's clock"
    );
    let monday = today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let first = monday - chrono::Duration::weeks(26);
    let mut counters = Vec::new();
    let mut day = first;
    let mut n = 0;
    while day <= today {
        let week = (day - first).num_days() / 7;
        for hour in 0..=local.hour() {
            let hour_is_over = day < today || hour < local.hour();
            let dollars = scenario_dollars(week, day.weekday().num_days_from_monday(), hour, n);
            n += 1;
            // the current hour: a sale the forecast must not take for a complete hour
            let cents = if hour_is_over { dollars * 100 } else { 123_456 };
            if cents > 0 {
                counters.push(Counter {
                    group: shard_key(day, (n % 3) as u32),
                    slot: format!("h{hour:02}"),
                    field: field::net(hour),
                    by: cents,
                });
            }
        }
        for hour in local.hour() + 1..24 {
            let dollars = scenario_dollars(week, day.weekday().num_days_from_monday(), hour, n);
            n += 1;
            if day < today && dollars > 0 {
                counters.push(Counter {
                    group: shard_key(day, 0),
                    slot: format!("h{hour:02}"),
                    field: field::net(hour),
                    by: dollars * 100,
                });
            }
        }
        day = day.succ_opt().expect("next day");
    }
    backend.metrics().add(&counters).await.expect("counters");
    let app = dashboard_lambda(backend);

    let check_points = |f: &Value, len: usize| {
        assert_eq!(f["status"], "ok", "{f}");
        let points = f["forecast_data"].as_array().expect("forecast_data");
        assert_eq!(points.len(), len, "{f}");
        assert_eq!(f["forecast_data"], f["points"]);
        for p in points {
            let (l, r, u) = (cents(&p["lower"]), cents(&p["revenue"]), cents(&p["upper"]));
            assert!(0 <= l && l <= r && r <= u, "{p}");
            let start =
                chrono::DateTime::parse_from_rfc3339(p["period_start"].as_str().unwrap_or(""))
                    .expect("period_start is RFC 3339");
            assert_eq!(
                start
                    .with_timezone(&chrono_tz::America::New_York)
                    .date_naive()
                    .to_string(),
                p["date"].as_str().unwrap_or(""),
                "{p}"
            );
        }
        assert!(f["backtest"]["mase"].is_number(), "{f}");
        assert!(f["backtest"]["coverage"].is_number(), "{f}");
    };

    // The hourly forecast: the current hour first, then the rest of the day and the night
    let (status, f) = get(&app, "/api/v1/revenue/forecast?period=hourly&horizon=24").await;
    assert_eq!(status, 200, "{f}");
    check_points(&f, 24);
    assert_eq!(f["period"], "hourly");
    assert_eq!(f["unit"], "hours");
    assert_eq!(
        f["forecast_data"][0]["period_start"],
        "2026-03-18T15:00:00-04:00"
    );
    assert_eq!(f["forecast_data"][0]["date"], "2026-03-18");
    assert_eq!(
        f["forecast_data"][9]["period_start"],
        "2026-03-19T00:00:00-04:00"
    );
    // 28 days of wall-clock hours up to 14:00 today (24 a day, the model's way)
    assert_eq!(f["history_periods"], 27 * 24 + 15);
    // the history lists real hours: 02:00 on 8 March, skipped by the clocks, is not one
    assert_eq!(
        f["history"].as_array().map(Vec::len),
        Some(27 * 24 + 15 - 1)
    );
    assert_eq!(f["history_days"], 28);
    let last = f["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["period_start"], "2026-03-18T14:00:00-04:00", "{last}");
    // the night is forecast well below the afternoon
    let at = |i: usize| cents(&f["forecast_data"][i]["revenue"]);
    assert!(at(12) * 4 < at(0), "03:00 {} vs 15:00 {}", at(12), at(0));

    // The weekly forecast: this week first, then three more
    let (status, f) = get(&app, "/api/v1/revenue/forecast?period=weekly").await;
    assert_eq!(status, 200, "{f}");
    check_points(&f, 4);
    assert_eq!(
        (f["period"].as_str(), f["horizon"].as_u64()),
        (Some("weekly"), Some(4))
    );
    assert_eq!(f["forecast_data"][0]["date"], "2026-03-16");
    assert_eq!(
        f["forecast_data"][0]["period_start"],
        "2026-03-16T00:00:00-04:00"
    );
    assert_eq!(f["forecast_data"][1]["date"], "2026-03-23");
    assert_eq!(
        (f["history_periods"].as_u64(), f["history_days"].as_u64()),
        (Some(26), Some(182))
    );
    // the weeks grow: the forecast is above the first week of the history
    assert!(cents(&f["forecast_data"][0]["revenue"]) > cents(&f["history"][0]["revenue"]));

    // The daily forecast, as before: today first; its snapshot is not the hourly one
    let (status, f) = get(&app, "/api/v1/revenue/forecast?period=daily&horizon=24").await;
    assert_eq!(status, 200, "{f}");
    check_points(&f, 24);
    assert_eq!(f["period"], "daily");
    assert_eq!(f["points"][0]["date"], "2026-03-18");
    assert_eq!(f["history_days"], 55);
    let (status, f) = get(&app, "/api/v1/revenue/forecast").await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(
        (f["period"].as_str(), f["horizon"].as_u64()),
        (Some("daily"), Some(7))
    );

    // Any horizon the document allows is answered, cut to the period's most
    for (asked, used) in [
        ("period=weekly&horizon=13", 12),
        ("period=daily&horizon=61", 31),
    ] {
        let (status, f) = get(&app, &format!("/api/v1/revenue/forecast?{asked}")).await;
        assert_eq!(status, 200, "{asked}: {f}");
        assert_eq!(f["horizon"], used, "{asked}");
    }
    // and outside the document's bounds it is refused
    for bad in [
        "period=hourly&horizon=169",
        "period=hourly&horizon=0",
        "period=daily&horizon=169",
        "period=monthly",
        "period=weekly&horizon=two",
    ] {
        let (status, e) = get(&app, &format!("/api/v1/revenue/forecast?{bad}")).await;
        assert_eq!(status, 422, "{bad}: {e}");
        assert_eq!(e["error"]["code"], "invalid_request", "{bad}");
    }
}
