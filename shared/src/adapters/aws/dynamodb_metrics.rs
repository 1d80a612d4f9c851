//! DynamoDB adapter of the analytics counters (`domain::analytics`). The metrics table
//! holds, under `pk`/`sk`:
//!
//! | pk | sk | item |
//! |---|---|---|
//! | `<day>#s<NN>` (a day's shard) | `h<HH>` (New York hour) | one number attribute per counter |
//! | `<day>#all` | `sealed` | a finished day's totals (`totals`, JSON), written once |
//!
//! One event's counters share an item and are one `UpdateItem` with `ADD` (or one item of
//! the sale's or feedback's transaction); the shard spreads a day's writes over
//! [`SHARDS`](crate::domain::analytics::SHARDS) partitions.

use super::dynamodb::{DynamoStore, attr, corrupt, item_size, unavailable};
use super::dynamodb_sales::{built, n, s};
use super::meter::read_units_for;
use crate::domain::analytics::{Counter, by_item};
use crate::ports::{MetricsStore, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem, Update};
use std::collections::{BTreeMap, HashMap};

const SEALED_SK: &str = "sealed";
const TOTALS: &str = "totals";
/// DynamoDB's limit of keys in one `BatchGetItem`.
const BATCH_GET_KEYS: usize = 100;

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(attr::PK.to_owned(), s(pk)), (attr::SK.to_owned(), s(sk))])
}

impl DynamoStore {
    /// One `ADD` update per (group, slot) item.
    fn counter_updates(&self, counters: &[Counter]) -> Result<Vec<Update>, StoreError> {
        by_item(counters)
            .into_iter()
            .filter(|(_, fields)| !fields.is_empty())
            .map(|((group, slot), fields)| {
                let mut update = Update::builder()
                    .table_name(&self.tables.metrics)
                    .set_key(Some(key(&group, &slot)));
                let mut adds = Vec::with_capacity(fields.len());
                for (i, (field, by)) in fields.iter().enumerate() {
                    adds.push(format!("#f{i} :v{i}"));
                    update = update
                        .expression_attribute_names(format!("#f{i}"), field)
                        .expression_attribute_values(format!(":v{i}"), n(by));
                }
                built(
                    update
                        .update_expression(format!("ADD {}", adds.join(", ")))
                        .build(),
                )
            })
            .collect()
    }

    /// The counters as items of a transaction.
    pub(super) fn counter_items(
        &self,
        counters: &[Counter],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        Ok(self
            .counter_updates(counters)?
            .into_iter()
            .map(|u| TransactWriteItem::builder().update(u).build())
            .collect())
    }
}

fn numbers(item: &HashMap<String, AttributeValue>, into: &mut BTreeMap<String, i64>) {
    for (name, value) in item {
        if name == attr::PK || name == attr::SK {
            continue;
        }
        if let AttributeValue::N(v) = value {
            *into.entry(name.clone()).or_insert(0) += v.parse::<i64>().unwrap_or(0);
        }
    }
}

impl MetricsStore for DynamoStore {
    async fn add(&self, counters: &[Counter]) -> Result<(), StoreError> {
        let updates = self.counter_updates(counters)?;
        let calls = updates.into_iter().map(|u| {
            let mut call = self
                .client
                .update_item()
                .table_name(u.table_name)
                .set_key(Some(u.key))
                .update_expression(u.update_expression);
            call = call
                .set_expression_attribute_names(u.expression_attribute_names)
                .set_expression_attribute_values(u.expression_attribute_values);
            async move { call.send().await }
        });
        let results = futures_util::future::join_all(calls).await;
        for r in results {
            self.meter.dynamodb_write(1.0);
            r.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn groups(&self, keys: &[String]) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        let queries = keys
            .iter()
            .map(|k| self.query_all(&self.tables.metrics, None, attr::PK, k.clone()));
        let pages = futures_util::future::join_all(queries).await;
        pages
            .into_iter()
            .map(|items| {
                let mut sums = BTreeMap::new();
                for item in items? {
                    numbers(&item, &mut sums);
                }
                Ok(sums)
            })
            .collect()
    }

    async fn sealed(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<BTreeMap<String, i64>>>, StoreError> {
        let mut found: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(|k| key(k, SEALED_SK)).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
            // Unprocessed keys come back under throttling; ask again for them.
            for _ in 0..8 {
                let Some(keys) = request.take() else { break };
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.tables.metrics, keys)
                    .send()
                    .await
                    .map_err(unavailable)?;
                let items = out
                    .responses
                    .and_then(|mut r| r.remove(&self.tables.metrics))
                    .unwrap_or_default();
                self.meter.dynamodb_read(read_units_for(
                    items.iter().map(item_size).sum::<usize>().max(1),
                ));
                for item in items {
                    if let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(totals))) =
                        (item.get(attr::PK), item.get(TOTALS))
                    {
                        found.insert(pk.clone(), serde_json::from_str(totals).map_err(corrupt)?);
                    }
                }
                request = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.tables.metrics))
                    .filter(|k| !k.keys.is_empty());
            }
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    async fn seal(&self, key_: &str, totals: &BTreeMap<String, i64>) -> Result<(), StoreError> {
        let mut item = key(key_, SEALED_SK);
        item.insert(
            TOTALS.to_owned(),
            s(serde_json::to_string(totals).map_err(corrupt)?),
        );
        // A second seal of a day keeps the first.
        self.put_once(&self.tables.metrics, item).await.map(|_| ())
    }
}
