//! The sales console's buyer administration on DynamoDB, SQS and Redis (moto on loopback).

use aurum::domain::buyer::Outbound;
use aurum_tests::contract::ManualTime;
use aurum_tests::local_aws::fresh_backend;

#[tokio::test]
async fn given_the_console_on_dynamodb_when_a_buyer_is_created_paused_edited_tested_and_rotated_then_routing_feedback_and_the_audit_follow()
 {
    let time = ManualTime::default();
    let mut backend = fresh_backend(time.clock()).await;
    // The buyer's server listens on loopback: this deployment may post there.
    let mut config = (*backend.config).clone();
    config.outbound = Outbound::Sandbox;
    backend.config = std::sync::Arc::new(config);
    aurum_tests::console::a_buyer_from_creation_to_rotation(&backend, &time).await;
}

#[tokio::test]
async fn given_an_expired_lead_on_dynamodb_when_the_team_finds_it_and_offers_it_again_then_it_sells()
 {
    let time = ManualTime::default();
    let mut backend = fresh_backend(time.clock()).await;
    let mut config = (*backend.config).clone();
    config.outbound = Outbound::Sandbox;
    backend.config = std::sync::Arc::new(config);
    aurum_tests::console::an_expired_lead_found_and_offered_again(&backend, &time).await;
}

#[tokio::test]
async fn given_the_console_on_dynamodb_when_an_offline_model_is_loaded_promoted_and_rolled_back_and_experiments_start_and_stop_then_turns_score_with_the_version_in_force_and_the_audit_follows()
 {
    let time = ManualTime::default();
    let backend = fresh_backend(time.clock()).await;
    aurum_tests::console::models_and_experiments_from_the_console(&backend).await;
}
