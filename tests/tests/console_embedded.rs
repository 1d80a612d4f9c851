//! The sales console's buyer administration on the embedded store.

use aurum::adapters::embedded::EmbeddedBackend;
use aurum_tests::contract::ManualTime;

#[tokio::test]
async fn given_the_console_on_the_embedded_store_when_a_buyer_is_created_paused_edited_tested_and_rotated_then_routing_feedback_and_the_audit_follow()
 {
    let time = ManualTime::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    aurum_tests::console::a_buyer_from_creation_to_rotation(&backend, &time).await;
}

#[tokio::test]
async fn given_an_expired_lead_on_the_embedded_store_when_the_team_finds_it_and_offers_it_again_then_it_sells()
 {
    let time = ManualTime::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    aurum_tests::console::an_expired_lead_found_and_offered_again(&backend, &time).await;
}
