//! DynamoDB adapter of the scheduled jobs' store. The jobs table holds, under `pk`/`sk`:
//!
//! | pk | sk | item |
//! |---|---|---|
//! | `claim#<job>` | the window (RFC 3339) | a claim, put once (`attribute_not_exists`) |
//! | `record#<kind>` | the record id (a zero-padded version or a window) | `record` (JSON), put once |

use super::dynamodb::{DynamoStore, attr, item_size, unavailable};
use super::dynamodb_sales::s;
use super::meter::{read_units_for, write_units_for};
use crate::ports::{JobStore, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

const RECORD: &str = "record";

/// The partition keys of the jobs table's items.
pub(super) fn claim_pk(job: &str) -> String {
    format!("claim#{job}")
}

pub(super) fn record_pk(kind: &str) -> String {
    format!("record#{kind}")
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([(attr::PK.to_owned(), s(pk)), (attr::SK.to_owned(), s(sk))])
}

impl DynamoStore {
    /// Puts `item` in `table` unless its key exists; `Ok(false)` when it did.
    pub(super) async fn put_once(
        &self,
        table: &str,
        item: HashMap<String, AttributeValue>,
    ) -> Result<bool, StoreError> {
        let size = item_size(&item);
        let put = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", attr::PK)
            .send()
            .await;
        self.meter.dynamodb_write(write_units_for(size));
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl JobStore for DynamoStore {
    async fn claim(&self, job: &str, window: DateTime<Utc>) -> Result<bool, StoreError> {
        self.put_once(&self.tables.jobs, key(claim_pk(job), window.to_rfc3339()))
            .await
    }

    async fn release_claim(&self, job: &str, window: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.jobs)
            .set_key(Some(key(claim_pk(job), window.to_rfc3339())))
            .send()
            .await
            .map_err(unavailable)?;
        self.meter.dynamodb_write(1.0);
        Ok(())
    }

    async fn put_record(&self, kind: &str, id: &str, json: &str) -> Result<(), StoreError> {
        let mut item = key(record_pk(kind), id.to_owned());
        item.insert(RECORD.to_owned(), s(json));
        self.put_once(&self.tables.jobs, item).await.map(|_| ())
    }

    async fn records(&self, kind: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = limit.max(1);
        let mut out = Vec::new();
        let mut start = None;
        // A page is at most 1 MB: read on until `limit` records or the end.
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.tables.jobs)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_values(":pk", s(record_pk(kind)))
                .scan_index_forward(false)
                .limit(i32::try_from((limit - out.len()).min(1000)).unwrap_or(1000))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            let items = page.items.unwrap_or_default();
            self.meter.dynamodb_read(read_units_for(
                items.iter().map(item_size).sum::<usize>().max(1),
            ));
            out.extend(
                items
                    .into_iter()
                    .filter_map(|mut i| match i.remove(RECORD) {
                        Some(AttributeValue::S(json)) => Some(json),
                        _ => None,
                    }),
            );
            start = page.last_evaluated_key;
            if out.len() >= limit || start.is_none() {
                return Ok(out);
            }
        }
    }
}
