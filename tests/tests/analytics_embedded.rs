//! Revenue analytics on the embedded store (what `aurum serve` runs).

use aurum::adapters::embedded::EmbeddedBackend;
use aurum_tests::analytics;
use aurum_tests::contract::ManualTime;

#[tokio::test]
async fn given_sales_feedback_and_chats_on_the_embedded_store_then_the_dashboard_reconciles_with_the_ledger()
 {
    let time = ManualTime::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    analytics::the_dashboard_reconciles_with_the_ledger(&backend, &time).await;
}

#[tokio::test]
async fn given_a_chat_on_the_embedded_store_then_its_metrics_describe_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open(dir.path()).expect("open");
    analytics::conversation_metrics_describe_the_chat(&backend).await;
}

#[tokio::test]
async fn given_a_price_experiment_on_the_embedded_store_then_sales_are_priced_at_variants_and_counted()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open(dir.path()).expect("open");
    analytics::price_experiments_price_sales_and_count_outcomes(&backend).await;
}

#[tokio::test]
async fn given_the_guides_example_requests_on_the_embedded_store_then_every_field_of_its_examples_is_answered()
 {
    let time = ManualTime::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    aurum_tests::guide::the_guides_examples_work_unchanged(&backend, &time).await;
}

#[tokio::test]
async fn given_half_a_year_of_hourly_revenue_on_the_embedded_store_when_the_forecasts_are_asked_for_then_hours_days_and_weeks_are_forecast()
 {
    use chrono::TimeZone;
    let now = chrono_tz::America::New_York
        .with_ymd_and_hms(2026, 3, 18, 15, 20, 0)
        .single()
        .expect("time")
        .with_timezone(&chrono::Utc);
    let time = ManualTime::at(now);
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    analytics::forecasts_by_hour_day_and_week(&backend).await;
}
