//! The SQS lead queue: a FIFO queue where the lead id is both the de-duplication id and
//! the message group (leads are independent, so every lead is its own group).

use super::meter::Meter;
use crate::ports::{Delivery, LeadQueue, QueueError, QueuedLead};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use std::sync::Arc;
use std::time::Duration;

/// Message attribute names (for tracing and filtering without parsing the body).
pub mod attr {
    pub const SCHEMA: &str = "schema";
    pub const LEAD_ID: &str = "lead_id";
    pub const TIER: &str = "tier";
    pub const MODEL_VERSION: &str = "model_version";
}

#[derive(Clone)]
pub struct SqsLeadQueue {
    client: Client,
    queue_url: String,
    meter: Arc<Meter>,
}

fn unavailable<E: std::error::Error + 'static>(e: SdkError<E>) -> QueueError {
    QueueError::Unavailable(super::error_chain(&e))
}

fn string_attr(value: &str) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| QueueError::Corrupt(e.to_string()))
}

fn number_attr(value: impl ToString) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("Number")
        .string_value(value.to_string())
        .build()
        .map_err(|e| QueueError::Corrupt(e.to_string()))
}

impl SqsLeadQueue {
    pub fn new(client: Client, queue_url: String, meter: Arc<Meter>) -> Self {
        SqsLeadQueue {
            client,
            queue_url,
            meter,
        }
    }

    /// Looks the queue URL up by name (local runs; Lambda gets the URL from the template).
    pub async fn url_for(client: &Client, name: &str) -> Result<String, QueueError> {
        let out = client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(unavailable)?;
        out.queue_url
            .ok_or_else(|| QueueError::Unavailable(format!("queue {name} has no URL")))
    }
}

impl SqsLeadQueue {
    /// Moves up to `max` messages of the dead-letter queue at `dlq_url` back to this queue
    /// (an operator's redrive, after the cause was fixed): each is sent again under a new
    /// de-duplication id, then deleted from the dead-letter queue. Returns their lead ids.
    pub async fn redrive_from(&self, dlq_url: &str, max: usize) -> Result<Vec<String>, QueueError> {
        let mut moved = Vec::new();
        while moved.len() < max {
            self.meter.sqs_call();
            let out = self
                .client
                .receive_message()
                .queue_url(dlq_url)
                .max_number_of_messages((max - moved.len()).clamp(1, 10) as i32)
                .visibility_timeout(60)
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(unavailable)?;
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let body = m.body().unwrap_or_default();
                let lead = serde_json::from_str::<QueuedLead>(body)
                    .map_err(|e| QueueError::Corrupt(super::decode_failure(&e)))?;
                let redrive_id = format!(
                    "{}#redrive#{}",
                    lead.dedup_id(),
                    m.message_id().unwrap_or_default()
                );
                self.meter.sqs_send();
                self.client
                    .send_message()
                    .queue_url(&self.queue_url)
                    .message_body(body)
                    .message_group_id(&lead.lead_id)
                    .message_deduplication_id(redrive_id)
                    .message_attributes(attr::SCHEMA, number_attr(lead.schema)?)
                    .message_attributes(attr::LEAD_ID, string_attr(&lead.lead_id)?)
                    .message_attributes(attr::TIER, string_attr(lead.tier.as_str())?)
                    .message_attributes(attr::MODEL_VERSION, number_attr(lead.model_version)?)
                    .send()
                    .await
                    .map_err(unavailable)?;
                self.meter.sqs_call();
                self.client
                    .delete_message()
                    .queue_url(dlq_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .map_err(unavailable)?;
                moved.push(lead.lead_id);
            }
        }
        Ok(moved)
    }

    /// The queue's client, for looking other queues up.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl LeadQueue for SqsLeadQueue {
    async fn publish(&self, lead: &QueuedLead) -> Result<(), QueueError> {
        let body = serde_json::to_string(lead)
            .map_err(|e| QueueError::Corrupt(super::decode_failure(&e)))?;
        self.meter.sqs_send();
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_group_id(&lead.lead_id)
            .message_deduplication_id(lead.dedup_id())
            .message_attributes(attr::SCHEMA, number_attr(lead.schema)?)
            .message_attributes(attr::LEAD_ID, string_attr(&lead.lead_id)?)
            .message_attributes(attr::TIER, string_attr(lead.tier.as_str())?)
            .message_attributes(attr::MODEL_VERSION, number_attr(lead.model_version)?)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        self.meter.sqs_call();
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs().clamp(1, 43_200) as i32)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        let mut deliveries = Vec::new();
        for m in out.messages.unwrap_or_default() {
            let receive_count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            match serde_json::from_str::<QueuedLead>(m.body().unwrap_or_default()) {
                Ok(lead) => deliveries.push(Delivery {
                    receipt: m.receipt_handle.unwrap_or_default(),
                    receive_count,
                    lead,
                }),
                // Left in flight: after maxReceiveCount the redrive policy moves it to the DLQ.
                Err(e) => {
                    tracing::error!(error = %super::decode_failure(&e), message_id = ?m.message_id, "unreadable lead message")
                }
            }
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.meter.sqs_call();
        match self
            .client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // A receipt from an earlier delivery: that delivery is over, nothing to delete.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_receipt_handle_is_invalid()) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
