//! The fault suite on the AWS backend (DynamoDB on moto, Redis) against buyer servers on
//! loopback.

use aurum::adapters::aws::AwsBackend;
use aurum::adapters::setup::setup;
use aurum_tests::local_aws::{config, fresh_backend, fresh_resources, redis_url, sdk};
use aurum_tests::{faults, routing};

async fn backend() -> AwsBackend {
    fresh_backend(std::sync::Arc::new(routing::tuesday_afternoon)).await
}

#[tokio::test]
async fn given_a_webhook_answering_404_410_401_a_redirect_or_400_when_routed_on_dynamodb_then_the_next_buyer_gets_the_lead_in_the_same_receive()
 {
    faults::permanent_answers_cascade_at_once(&backend().await).await;
}

#[tokio::test]
async fn given_a_buyer_answering_after_our_timeout_on_dynamodb_when_the_receives_run_out_then_it_is_released_cascaded_and_told()
 {
    faults::an_answer_after_our_timeout_is_released_and_told(&backend().await).await;
}

#[tokio::test]
async fn given_a_buyer_that_never_answers_on_dynamodb_then_the_lead_goes_to_the_next_and_nothing_is_billed()
 {
    faults::a_buyer_that_never_answers_loses_the_lead(&backend().await).await;
}

#[tokio::test]
async fn given_a_flapping_buyer_on_dynamodb_then_the_retry_delivers_once() {
    faults::a_flapping_buyer_gets_the_lead_on_the_retry(&backend().await).await;
}

#[tokio::test]
async fn given_the_deadline_mid_cascade_on_dynamodb_then_the_message_stops_in_time_and_the_next_receive_finishes()
 {
    faults::the_deadline_reached_mid_cascade_leaves_the_lead_for_the_next_receive(&backend().await)
        .await;
}

#[tokio::test]
async fn given_a_router_gone_after_the_sale_on_dynamodb_when_the_message_returns_then_the_lead_is_delivered_once()
 {
    faults::a_sale_whose_router_died_is_delivered_by_the_redelivery(&backend().await).await;
}

#[tokio::test]
async fn given_a_withdrawal_in_every_state_on_dynamodb_then_the_books_and_the_notices_are_right() {
    faults::a_withdrawal_in_every_state_bills_and_tells_as_it_should(&backend().await).await;
}

#[tokio::test]
async fn given_a_sale_left_in_flight_on_dynamodb_when_reconciled_and_redriven_then_it_is_released_marked_and_routed_again()
 {
    faults::a_dead_lettered_sale_is_released_marked_and_redriven(&backend().await).await;
}

#[tokio::test]
async fn given_messages_in_the_sqs_dead_letter_queue_when_redriven_then_they_are_back_on_the_lead_queue()
 {
    use aurum::ports::LeadQueue;
    // GIVEN a lead message sitting in the dead-letter queue
    let sdk = sdk().await;
    let resources = fresh_resources();
    setup(&sdk, &resources).await.expect("setup");
    let backend = AwsBackend::connect_with(&sdk, &config(resources.clone(), Some(redis_url())))
        .await
        .expect("connect");
    let client = backend.queue.client();
    let dlq = aurum::adapters::aws::sqs::SqsLeadQueue::url_for(client, &resources.lead_dlq_name)
        .await
        .expect("dlq");
    let lead = routing::sellable_lead(51, routing::tuesday_afternoon());
    client
        .send_message()
        .queue_url(&dlq)
        .message_body(serde_json::to_string(&lead).expect("json"))
        .message_group_id(&lead.lead_id)
        .message_deduplication_id(lead.dedup_id())
        .send()
        .await
        .expect("sent to the dead-letter queue");
    // WHEN it is redriven
    let moved = backend
        .queue
        .redrive_from(&dlq, 10)
        .await
        .expect("redriven");
    // THEN it is on the lead queue, and the dead-letter queue is empty
    assert_eq!(moved, std::slice::from_ref(&lead.lead_id));
    let batch = backend
        .queue
        .receive(10, std::time::Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].lead, lead);
    assert!(
        backend
            .queue
            .redrive_from(&dlq, 10)
            .await
            .expect("again")
            .is_empty(),
        "nothing left to redrive"
    );
}
