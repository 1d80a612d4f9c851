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

#[tokio::test]
async fn given_the_console_on_the_embedded_store_when_an_offline_model_is_loaded_promoted_and_rolled_back_and_experiments_start_and_stop_then_turns_score_with_the_version_in_force_and_the_audit_follows()
 {
    let time = ManualTime::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    aurum_tests::console::models_and_experiments_from_the_console(&backend).await;
}
