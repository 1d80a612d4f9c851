//! Routing on the embedded backend against buyer servers on loopback.

use aurum::adapters::embedded::EmbeddedBackend;
use aurum_tests::routing;

fn backend() -> (tempfile::TempDir, EmbeddedBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(
        dir.path(),
        std::sync::Arc::new(routing::tuesday_afternoon),
    )
    .expect("open");
    (dir, backend)
}

#[tokio::test]
async fn given_failing_and_rejecting_buyers_when_routed_then_the_lead_cascades_to_one_sale() {
    let (_dir, backend) = backend();
    routing::cascade_past_a_failing_and_a_rejecting_buyer(&backend).await;
}

#[tokio::test]
async fn given_withdrawn_duplicate_and_unroutable_leads_then_none_is_sold() {
    let (_dir, backend) = backend();
    routing::withdrawn_duplicate_and_unroutable_leads_are_not_sold(&backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_500_leads_delivered_three_times_to_racing_routers_then_each_sells_once_within_caps()
{
    let (_dir, backend) = backend();
    routing::race(&backend, 500, 4).await;
}

#[tokio::test]
async fn given_a_day_of_routed_leads_when_the_next_day_starts_then_scarce_capacity_has_a_bid_price()
{
    use aurum_tests::contract::ManualTime;
    let time = ManualTime::at(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 2, 14, 0, 0)
            .single()
            .expect("10:00 in New York"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    routing::bid_prices_come_from_the_flow_of_earlier_days(&backend, &time).await;
}

#[tokio::test]
async fn given_a_delivered_lead_when_consent_is_withdrawn_then_the_buyer_is_told() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open(dir.path()).expect("open");
    routing::a_withdrawal_after_delivery_reaches_the_buyer(&backend).await;
}

fn backend_at(time: &aurum_tests::contract::ManualTime) -> (tempfile::TempDir, EmbeddedBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    (dir, backend)
}

fn six_in_the_morning() -> aurum_tests::contract::ManualTime {
    aurum_tests::contract::ManualTime::at(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 2, 10, 0, 0)
            .single()
            .expect("06:00 in New York"),
    )
}

#[tokio::test]
async fn given_a_lead_no_buyer_can_take_now_when_a_buyer_opens_then_it_is_reoffered_and_else_expires()
 {
    let time = six_in_the_morning();
    let (_dir, backend) = backend_at(&time);
    routing::waiting_leads_are_reoffered_when_a_buyer_opens_and_expire_after_their_shelf_life(
        &backend, &time,
    )
    .await;
}

#[tokio::test]
async fn given_leads_waiting_on_a_cap_when_capacity_comes_back_or_the_day_turns_then_they_sell() {
    let time = six_in_the_morning();
    let (_dir, backend) = backend_at(&time);
    routing::waiting_leads_are_reoffered_when_capacity_comes_back_or_the_cap_resets(
        &backend, &time,
    )
    .await;
}

#[tokio::test]
async fn given_ping_post_buyers_when_a_lead_is_routed_then_the_best_timely_bid_wins_the_post() {
    let (_dir, backend) = backend();
    routing::ping_post_auction_sells_to_the_best_timely_bid(&backend).await;
}

#[tokio::test]
async fn given_a_bidder_that_passed_when_the_lead_waits_then_it_is_offered_again_only_at_the_recheck()
 {
    let time = six_in_the_morning();
    let (_dir, backend) = backend_at(&time);
    routing::a_lead_a_bidder_passed_on_is_offered_again_only_at_the_recheck(&backend, &time).await;
}
