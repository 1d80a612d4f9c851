//! The fault suite on the embedded backend against buyer servers on loopback.

use aurum::adapters::embedded::EmbeddedBackend;
use aurum_tests::{faults, routing};

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
async fn given_a_webhook_answering_404_410_401_a_redirect_or_400_when_routed_then_the_next_buyer_gets_the_lead_in_the_same_receive()
 {
    let (_dir, backend) = backend();
    faults::permanent_answers_cascade_at_once(&backend).await;
}

#[tokio::test]
async fn given_a_buyer_answering_after_our_timeout_when_the_receives_run_out_then_it_is_released_cascaded_and_told()
 {
    let (_dir, backend) = backend();
    faults::an_answer_after_our_timeout_is_released_and_told(&backend).await;
}

#[tokio::test]
async fn given_a_buyer_that_never_answers_then_the_lead_goes_to_the_next_and_nothing_is_billed() {
    let (_dir, backend) = backend();
    faults::a_buyer_that_never_answers_loses_the_lead(&backend).await;
}

#[tokio::test]
async fn given_a_flapping_buyer_then_the_retry_delivers_once() {
    let (_dir, backend) = backend();
    faults::a_flapping_buyer_gets_the_lead_on_the_retry(&backend).await;
}

#[tokio::test]
async fn given_the_deadline_mid_cascade_then_the_message_stops_in_time_and_the_next_receive_finishes()
 {
    let (_dir, backend) = backend();
    faults::the_deadline_reached_mid_cascade_leaves_the_lead_for_the_next_receive(&backend).await;
}

#[tokio::test]
async fn given_a_router_gone_after_the_sale_when_the_message_returns_then_the_lead_is_delivered_once()
 {
    let (_dir, backend) = backend();
    faults::a_sale_whose_router_died_is_delivered_by_the_redelivery(&backend).await;
}

#[tokio::test]
async fn given_a_withdrawal_in_every_state_then_the_books_and_the_notices_are_right() {
    let (_dir, backend) = backend();
    faults::a_withdrawal_in_every_state_bills_and_tells_as_it_should(&backend).await;
}

#[tokio::test]
async fn given_a_sale_left_in_flight_when_reconciled_and_redriven_then_it_is_released_marked_and_routed_again()
 {
    let (_dir, backend) = backend();
    faults::a_dead_lettered_sale_is_released_marked_and_redriven(&backend).await;
}

#[tokio::test]
async fn given_a_message_in_the_dead_letter_queue_when_redriven_then_the_lead_is_routed_again() {
    let (_dir, backend) = backend();
    faults::a_dead_lettered_message_is_redriven_through_the_queue(&backend).await;
}
