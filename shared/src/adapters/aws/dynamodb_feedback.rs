//! DynamoDB adapter of buyer feedback. One feedback is one `TransactWriteItems`: the
//! feedback record and its message claim (each written once), the lead record (version
//! condition), the ledger line (written once), every counter (`ADD`, the return-rate cap as
//! a condition), the statement copy and the training example. The feedback table holds
//! them under `pk`/`sk`:
//!
//! | pk | sk | item |
//! |---|---|---|
//! | `feedback#<lead>` | `<buyer>#<type>` | the feedback record |
//! | `message#<buyer>#<webhook id>` | `message` | the record again, found by message |
//! | `month#<buyer>#<YYYY-MM>` | `<time>#<lead>#<type>` | the record, for the statement |
//! | `tally#<key>` | `<field>` | one counter (`count`) |
//! | `training#<YYYY-MM-DD>` | `<lead>#<buyer>#<type>` | one training example |

use super::dynamodb::{DynamoStore, LEDGER_BY_BUYER_MONTH, attr, corrupt, item_size, unavailable};
use super::dynamodb_sales::{built, ledger_buyer_month, n, s};
use super::meter::{read_units_for, write_units_for};
use crate::domain::analytics;
use crate::domain::buyer::BuyerId;
use crate::domain::feedback::{
    FeedbackChange, FeedbackRecord, FeedbackRefused, FeedbackType, TrainingExample, training_day,
};
use crate::domain::sale::LedgerEntry;
use crate::ports::{FeedbackStore, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};

/// DynamoDB's limit of items in one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;
const MESSAGE_SK: &str = "message";

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([(attr::PK.to_owned(), s(pk)), (attr::SK.to_owned(), s(sk))])
}

/// The partition keys of the feedback table's items.
pub(super) fn record_pk(lead_id: &str) -> String {
    format!("feedback#{lead_id}")
}

pub(super) fn message_pk(buyer: &BuyerId, message_id: &str) -> String {
    format!("message#{buyer}#{message_id}")
}

pub(super) fn tally_pk(key: &str) -> String {
    format!("tally#{key}")
}

pub(super) fn month_pk(buyer: &BuyerId, month: &str) -> String {
    format!("month#{buyer}#{month}")
}

pub(super) fn training_pk(day: impl std::fmt::Display) -> String {
    format!("training#{day}")
}

fn record_key(
    lead_id: &str,
    buyer: &BuyerId,
    kind: FeedbackType,
) -> HashMap<String, AttributeValue> {
    key(record_pk(lead_id), format!("{buyer}#{}", kind.as_str()))
}

fn message_key(buyer: &BuyerId, message_id: &str) -> HashMap<String, AttributeValue> {
    key(message_pk(buyer, message_id), MESSAGE_SK.to_owned())
}

/// An item of `key` holding `value` as JSON in `state`.
fn json_item<T: serde::Serialize>(
    mut key: HashMap<String, AttributeValue>,
    value: &T,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    key.insert(
        attr::STATE.to_owned(),
        s(serde_json::to_string(value).map_err(corrupt)?),
    );
    Ok(key)
}

fn from_state<T: DeserializeOwned>(
    item: &HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    match item.get(attr::STATE) {
        Some(AttributeValue::S(json)) => serde_json::from_str(json).map_err(corrupt),
        _ => Err(StoreError::Corrupt("item without its state".into())),
    }
}

impl DynamoStore {
    async fn get_json<T: DeserializeOwned>(
        &self,
        key: HashMap<String, AttributeValue>,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.feedback)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        self.meter
            .dynamodb_read(read_units_for(out.item().map_or(1, item_size)));
        out.item.as_ref().map(from_state).transpose()
    }

    /// Every item of a partition, page by page (`index`: a secondary index of `table`).
    pub(super) async fn query_all(
        &self,
        table: &str,
        index: Option<&str>,
        key_attr: &str,
        value: String,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", key_attr)
                .expression_attribute_values(":v", s(value.clone()))
                // Indexes are eventually consistent; the table's own reads are not.
                .consistent_read(index.is_none())
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            let items = page.items.unwrap_or_default();
            self.meter.dynamodb_read(read_units_for(
                items.iter().map(item_size).sum::<usize>().max(1),
            ));
            out.extend(items);
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        Ok(out)
    }

    fn put_if_absent(&self, item: HashMap<String, AttributeValue>) -> Result<Put, StoreError> {
        built(
            Put::builder()
                .table_name(&self.tables.feedback)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::PK)
                .build(),
        )
    }

    fn put_plain(&self, item: HashMap<String, AttributeValue>) -> Result<Put, StoreError> {
        built(
            Put::builder()
                .table_name(&self.tables.feedback)
                .set_item(Some(item))
                .build(),
        )
    }
}

impl FeedbackStore for DynamoStore {
    async fn feedback_by_message(
        &self,
        buyer: &BuyerId,
        message_id: &str,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        self.get_json(message_key(buyer, message_id)).await
    }

    async fn feedback(
        &self,
        lead_id: &str,
        buyer: &BuyerId,
        kind: FeedbackType,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        self.get_json(record_key(lead_id, buyer, kind)).await
    }

    async fn apply(
        &self,
        change: &FeedbackChange,
    ) -> Result<Result<(), FeedbackRefused>, StoreError> {
        let r = &change.record;
        let mut items = Vec::new();
        let mut units = 0.0;
        let mut refusals = Vec::new();
        let mut push = |item: TransactWriteItem, size: usize, refusal: Option<FeedbackRefused>| {
            units += write_units_for(size.max(1));
            items.push(item);
            refusals.push(refusal);
        };

        let record = json_item(record_key(&r.lead_id, &r.buyer_id, r.kind), r)?;
        let size = item_size(&record);
        push(
            TransactWriteItem::builder()
                .put(self.put_if_absent(record)?)
                .build(),
            size,
            Some(FeedbackRefused::AlreadyRecorded),
        );
        let message = json_item(message_key(&r.buyer_id, &r.message_id), r)?;
        let size = item_size(&message);
        push(
            TransactWriteItem::builder()
                .put(self.put_if_absent(message)?)
                .build(),
            size,
            Some(FeedbackRefused::AlreadyRecorded),
        );
        let (lead, lead_units) = self.lead_put(&change.lead)?;
        push(
            TransactWriteItem::builder().put(lead).build(),
            (lead_units * 1024.0) as usize - 1,
            Some(FeedbackRefused::LeadChanged),
        );
        if let Some(line) = &change.ledger {
            push(
                TransactWriteItem::builder()
                    .put(self.ledger_put(line)?)
                    .build(),
                512,
                Some(FeedbackRefused::LeadChanged),
            );
        }
        // Uncapped counters are spread over shards by lead, so one buyer's feedback on
        // different leads does not write the same items (a transaction conflict); a capped
        // counter stays one item, as its condition needs.
        let shard = tally_shard(&r.lead_id);
        for t in &change.tallies {
            let field = match t.at_most {
                Some(_) => t.field.clone(),
                None => format!("{}#{shard}", t.field),
            };
            let mut update = Update::builder()
                .table_name(&self.tables.feedback)
                .set_key(Some(key(tally_pk(&t.key), field)))
                .update_expression("ADD #c :by")
                .expression_attribute_names("#c", attr::COUNT)
                .expression_attribute_values(":by", n(t.by));
            if let Some(max) = t.at_most {
                let room = max - t.by;
                if room < 0 {
                    return Ok(Err(FeedbackRefused::LimitReached));
                }
                update = update
                    .condition_expression("attribute_not_exists(#c) OR #c <= :room")
                    .expression_attribute_values(":room", n(room));
            }
            push(
                TransactWriteItem::builder()
                    .update(built(update.build())?)
                    .build(),
                100,
                t.at_most.map(|_| FeedbackRefused::LimitReached),
            );
        }
        let by_month = json_item(
            key(
                month_pk(&r.buyer_id, &r.month),
                format!(
                    "{}#{}#{}",
                    r.received_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    r.lead_id,
                    r.kind.as_str()
                ),
            ),
            r,
        )?;
        let size = item_size(&by_month);
        push(
            TransactWriteItem::builder()
                .put(self.put_plain(by_month)?)
                .build(),
            size,
            None,
        );
        let example = &change.training;
        let training = json_item(
            key(
                training_pk(training_day(example.recorded_at)),
                format!("{}#{}#{}", r.lead_id, r.buyer_id, r.kind.as_str()),
            ),
            example,
        )?;
        let size = item_size(&training);
        push(
            TransactWriteItem::builder()
                .put(self.put_plain(training)?)
                .build(),
            size,
            None,
        );
        for item in self.counter_items(&analytics::feedback_tallies(
            &change.record,
            change.ledger.as_ref(),
        ))? {
            push(item, 100, None);
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Corrupt(format!(
                "a feedback of {} items does not fit one transaction",
                items.len()
            )));
        }
        Ok(match self.transact(items, units).await? {
            Ok(()) => Ok(()),
            Err(i) => Err(refusals
                .get(i)
                .copied()
                .flatten()
                .unwrap_or(FeedbackRefused::LeadChanged)),
        })
    }

    async fn tallies(&self, key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        let items = self
            .query_all(&self.tables.feedback, None, attr::PK, tally_pk(key))
            .await?;
        let mut out = BTreeMap::new();
        for item in items {
            let field = match item.get(attr::SK) {
                Some(AttributeValue::S(f)) => unsharded(f).to_owned(),
                _ => continue,
            };
            let count: i64 = match item.get(attr::COUNT) {
                Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
                _ => 0,
            };
            *out.entry(field).or_insert(0) += count;
        }
        Ok(out)
    }

    async fn buyer_ledger(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let items = self
            .query_all(
                &self.tables.ledger,
                Some(LEDGER_BY_BUYER_MONTH),
                attr::BUYER_MONTH,
                ledger_buyer_month(buyer, month),
            )
            .await?;
        let mut lines: Vec<LedgerEntry> = items.iter().map(from_state).collect::<Result<_, _>>()?;
        lines.sort_by(|a, b| (a.at, &a.lead_id, &a.entry_id).cmp(&(b.at, &b.lead_id, &b.entry_id)));
        Ok(lines)
    }

    async fn latest_ledger(
        &self,
        buyer: &BuyerId,
        month: &str,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .index_name(LEDGER_BY_BUYER_MONTH)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attr::BUYER_MONTH)
            .expression_attribute_values(":v", s(ledger_buyer_month(buyer, month)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
            .send()
            .await
            .map_err(unavailable)?;
        let items = page.items.unwrap_or_default();
        self.meter.dynamodb_read(read_units_for(
            items.iter().map(item_size).sum::<usize>().max(1),
        ));
        items.iter().map(from_state).collect()
    }

    async fn buyer_feedback(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<FeedbackRecord>, StoreError> {
        let items = self
            .query_all(
                &self.tables.feedback,
                None,
                attr::PK,
                month_pk(buyer, month),
            )
            .await?;
        items.iter().map(from_state).collect()
    }

    async fn training_examples(&self, day: NaiveDate) -> Result<Vec<TrainingExample>, StoreError> {
        let items = self
            .query_all(&self.tables.feedback, None, attr::PK, training_pk(day))
            .await?;
        items.iter().map(from_state).collect()
    }
}

/// Shards of each uncapped feedback counter.
const TALLY_SHARDS: u32 = 8;

/// The shard of a lead's feedback counters: FNV-1a of the lead id.
fn tally_shard(lead_id: &str) -> u32 {
    let hash = lead_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % TALLY_SHARDS
}

/// A counter's field without its shard suffix (`accepted#3` → `accepted`).
fn unsharded(field: &str) -> &str {
    match field.rsplit_once('#') {
        Some((name, shard)) if !shard.is_empty() && shard.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => field,
    }
}

#[cfg(test)]
mod shard_tests {
    use super::*;

    #[test]
    fn given_sharded_and_plain_fields_then_the_shard_suffix_is_dropped() {
        assert_eq!(unsharded("accepted#3"), "accepted");
        assert_eq!(
            unsharded("returned:wrong_number#7"),
            "returned:wrong_number"
        );
        assert_eq!(unsharded("credits"), "credits");
        assert!(tally_shard("lead_abc") < TALLY_SHARDS);
    }
}
