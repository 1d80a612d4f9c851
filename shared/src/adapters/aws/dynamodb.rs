//! DynamoDB adapters: the conversation store (one item per session, optimistic version
//! condition) and the scoring-model store (versioned items plus a `current` pointer that
//! carries a copy of the model, so the hot path reads one item).
//!
//! Capacity is metered by DynamoDB's published rules from the item size (moto's reported
//! consumption is not AWS's), so the same numbers hold locally and in production.

use super::meter::{Meter, read_units_for, write_units_for};
use crate::domain::conversation::{Conversation, SessionId};
use crate::domain::lead::{LeadRecord, LeadState};
use crate::domain::scoring::ScoringModel;
use crate::ports::{ConversationStore, LeadStore, ModelStore, StoreError};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Attribute names, shared by the adapters, `aurum setup` and `docs/data-model.md`.
pub mod attr {
    pub const SESSION_ID: &str = "session_id";
    pub const VERSION: &str = "version";
    pub const STATE: &str = "state";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const MODEL_KIND: &str = "model_kind";
    pub const MODEL: &str = "model";
    pub const CURRENT_VERSION: &str = "current_version";
    pub const LEAD_ID: &str = "lead_id";
    pub const LEAD_STATE: &str = "lead_state";
    /// Buyers table keys: `(profile, <buyer>)` for a buyer's terms, `(<buyer>, day#…)`,
    /// `(<buyer>, month#…)` and `(<buyer>, health)` for its counters.
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const LEADS: &str = "leads";
    pub const SPEND: &str = "spend";
    pub const ENTRY_ID: &str = "entry_id";
    pub const CLAIMED_BY: &str = "claimed_by";
    pub const UNTIL: &str = "until";
    /// Ledger lines: `buyer#YYYY-MM` and `time#lead#entry`, the keys of [`LEDGER_BY_BUYER_MONTH`].
    pub const BUYER_MONTH: &str = "buyer_month";
    pub const LINE_AT: &str = "line_at";
    /// Feedback table items.
    pub const COUNT: &str = "count";
    /// Set (to [`super::WAITING`]) only on lead records in the `waiting` state: the key of
    /// the sparse index [`super::LEADS_WAITING`].
    pub const WAITING: &str = "waiting";
}

/// The ledger's index of each buyer's lines by New York month (buyer statements).
pub const LEDGER_BY_BUYER_MONTH: &str = "by_buyer_month";
/// The leads table's sparse index of the leads waiting to be offered again (`waiting`,
/// `lead_id`): a lead leaves it when its record leaves the state.
pub const LEADS_WAITING: &str = "waiting";
/// The one value of the `waiting` attribute.
pub const WAITING: &str = "waiting";

/// Sessions are kept this long after their last message (DynamoDB TTL).
pub const CONVERSATION_TTL_DAYS: i64 = 90;
pub(super) const SCORING: &str = "scoring";
pub(super) const SCORING_CURRENT: &str = "scoring#current";

/// The stored shape of a conversation: the state as compact JSON in one attribute keeps
/// the item small (attribute names inside maps count toward DynamoDB's size and cost).
#[derive(Serialize, Deserialize)]
struct ConversationItem {
    session_id: String,
    version: u64,
    expires_at: i64,
    state: String,
}

#[derive(Serialize, Deserialize)]
struct ModelItem {
    model_kind: String,
    version: u32,
    model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_version: Option<u32>,
}

/// The stored shape of a lead record: key, version and state as attributes (for
/// conditions and, later, indexes), the whole record as compact JSON.
#[derive(Serialize, Deserialize)]
struct LeadItem {
    lead_id: String,
    version: u64,
    lead_state: String,
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    waiting: Option<String>,
}

/// Table names of the DynamoDB store.
#[derive(Debug, Clone)]
pub struct Tables {
    pub conversations: String,
    pub models: String,
    pub leads: String,
    pub buyers: String,
    pub ledger: String,
    pub feedback: String,
    pub metrics: String,
    pub jobs: String,
}

#[derive(Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) tables: Tables,
    pub(super) meter: Arc<Meter>,
}

pub(super) fn unavailable<E: std::error::Error + 'static>(e: SdkError<E>) -> StoreError {
    StoreError::Unavailable(super::error_chain(&e))
}

pub(super) fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(super::decode_failure(&e))
}

pub(super) fn bad_item(_: serde_dynamo::Error) -> StoreError {
    // serde_dynamo quotes values in its messages; stored items hold personal details.
    StoreError::Corrupt("item does not match its expected shape".into())
}

fn bad_request(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// DynamoDB's size of an item: attribute names plus values.
pub(super) fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len().div_ceil(2) + 1,
                    AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
                    _ => 64,
                }
        })
        .sum()
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables, meter: Arc<Meter>) -> Self {
        DynamoStore {
            client,
            tables,
            meter,
        }
    }

    /// A put of `item` conditioned on the stored version: absent when `expected` is 0.
    async fn put_versioned(
        &self,
        table: &str,
        key_attr: &str,
        item: HashMap<String, AttributeValue>,
        expected: u64,
    ) -> Result<(), StoreError> {
        let size = item_size(&item);
        let request = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item));
        let request = if expected == 0 {
            request
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", key_attr)
        } else {
            request
                .condition_expression("#v = :expected")
                .expression_attribute_names("#v", attr::VERSION)
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        };
        let result = request.send().await;
        // A failed condition is charged like the write it would have been.
        self.meter.dynamodb_write(write_units_for(size));
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }
}

impl ConversationStore for DynamoStore {
    async fn load_conversation(&self, id: &SessionId) -> Result<Option<Conversation>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.conversations)
            .key(attr::SESSION_ID, AttributeValue::S(id.as_str().to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let size = out.item().map_or(1, item_size);
        self.meter.dynamodb_read(read_units_for(size));
        let Some(item) = out.item else {
            return Ok(None);
        };
        let stored: ConversationItem = serde_dynamo::from_item(item).map_err(bad_item)?;
        let mut conversation: Conversation =
            serde_json::from_str(&stored.state).map_err(corrupt)?;
        conversation.version = stored.version;
        Ok(Some(conversation))
    }

    async fn save_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let next = conversation.version + 1;
        let mut body = conversation.clone();
        body.version = next;
        let stored = ConversationItem {
            session_id: conversation.session_id.as_str().to_owned(),
            version: next,
            expires_at: (conversation.last_message_at
                + chrono::Duration::days(CONVERSATION_TTL_DAYS))
            .timestamp(),
            state: serde_json::to_string(&body).map_err(corrupt)?,
        };
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(&stored).map_err(bad_item)?;
        self.put_versioned(
            &self.tables.conversations,
            attr::SESSION_ID,
            item,
            conversation.version,
        )
        .await
    }
}

impl LeadStore for DynamoStore {
    async fn lead(&self, lead_id: &str) -> Result<Option<LeadRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.leads)
            .key(attr::LEAD_ID, AttributeValue::S(lead_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        self.meter
            .dynamodb_read(read_units_for(out.item().map_or(1, item_size)));
        let Some(item) = out.item else {
            return Ok(None);
        };
        let stored: LeadItem = serde_dynamo::from_item(item).map_err(bad_item)?;
        let mut record: LeadRecord = serde_json::from_str(&stored.state).map_err(corrupt)?;
        record.version = stored.version;
        Ok(Some(record))
    }

    async fn put_lead(&self, record: &LeadRecord) -> Result<(), StoreError> {
        let item = lead_item(record)?;
        self.put_versioned(&self.tables.leads, attr::LEAD_ID, item, record.version)
            .await
    }

    async fn search(
        &self,
        query: &crate::domain::lead::LeadQuery,
        limit: usize,
    ) -> Result<(Vec<LeadRecord>, bool), StoreError> {
        use crate::domain::lead::SEARCH_SCAN_LIMIT;
        // The table also holds the contact claims: only lead records are read back. A
        // state in the query is filtered by the store, the rest here.
        let mut filter = "begins_with(#id, :lead)".to_owned();
        let mut request = self
            .client
            .scan()
            .table_name(&self.tables.leads)
            .expression_attribute_names("#id", "lead_id")
            .expression_attribute_values(":lead", AttributeValue::S("lead_".into()));
        if let Some(state) = query.state {
            filter.push_str(" AND #st = :st");
            request = request
                .expression_attribute_names("#st", "lead_state")
                .expression_attribute_values(":st", AttributeValue::S(state.as_str().into()));
        }
        let request = request.filter_expression(filter);
        let mut all = Vec::new();
        let mut scanned = 0usize;
        let mut start = None;
        let complete = loop {
            let page = request
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            scanned += usize::try_from(page.scanned_count).unwrap_or(0);
            let items = page.items.unwrap_or_default();
            self.meter.dynamodb_read(
                read_units_for(items.iter().map(item_size).sum::<usize>().max(1)) / 2.0,
            );
            for item in items {
                let stored: LeadItem = serde_dynamo::from_item(item).map_err(bad_item)?;
                let mut record: LeadRecord =
                    serde_json::from_str(&stored.state).map_err(corrupt)?;
                record.version = stored.version;
                if query.matches(&record) {
                    all.push(record);
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => {
                    if scanned >= SEARCH_SCAN_LIMIT {
                        break false;
                    }
                    start = Some(key);
                }
                _ => break true,
            }
        };
        let (found, _) = crate::adapters::newest_matches(all, query, limit);
        Ok((found, complete))
    }

    async fn waiting(&self, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        while out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.tables.leads)
                .index_name(LEADS_WAITING)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", attr::WAITING)
                .expression_attribute_values(":v", AttributeValue::S(WAITING.to_owned()))
                .limit(i32::try_from((limit - out.len()).clamp(1, 1000)).unwrap_or(1000))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            let items = page.items.unwrap_or_default();
            self.meter.dynamodb_read(
                read_units_for(items.iter().map(item_size).sum::<usize>().max(1)) / 2.0,
            );
            for item in items {
                let stored: LeadItem = serde_dynamo::from_item(item).map_err(bad_item)?;
                let mut record: LeadRecord =
                    serde_json::from_str(&stored.state).map_err(corrupt)?;
                record.version = stored.version;
                out.push(record);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(out)
    }
}

/// The stored item of a lead record as it will be after the write (version + 1).
pub(super) fn lead_item(
    record: &LeadRecord,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let next = record.version + 1;
    let mut body = record.clone();
    body.version = next;
    let stored = LeadItem {
        lead_id: record.lead_id.clone(),
        version: next,
        lead_state: record.state.as_str().to_owned(),
        state: serde_json::to_string(&body).map_err(corrupt)?,
        waiting: (record.state == LeadState::Waiting).then(|| WAITING.to_owned()),
    };
    serde_dynamo::to_item(&stored).map_err(bad_item)
}

impl ModelStore for DynamoStore {
    async fn current_model(&self) -> Result<Option<ScoringModel>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.models)
            .key(
                attr::MODEL_KIND,
                AttributeValue::S(SCORING_CURRENT.to_owned()),
            )
            .key(attr::VERSION, AttributeValue::N("0".to_owned()))
            .send()
            .await
            .map_err(unavailable)?;
        let size = out.item().map_or(1, item_size);
        // Eventually consistent: half a unit per started 4 KiB.
        self.meter.dynamodb_read(read_units_for(size) / 2.0);
        let Some(item) = out.item else {
            return Ok(None);
        };
        let stored: ModelItem = serde_dynamo::from_item(item).map_err(bad_item)?;
        serde_json::from_str(&stored.model)
            .map(Some)
            .map_err(corrupt)
    }

    async fn save_model(&self, model: &ScoringModel) -> Result<(), StoreError> {
        let json = serde_json::to_string(model).map_err(corrupt)?;
        let versioned = ModelItem {
            model_kind: SCORING.to_owned(),
            version: model.version,
            model: json.clone(),
            current_version: None,
        };
        let pointer = ModelItem {
            model_kind: SCORING_CURRENT.to_owned(),
            version: 0,
            model: json,
            current_version: Some(model.version),
        };
        let put_versioned = Put::builder()
            .table_name(&self.tables.models)
            .set_item(Some(serde_dynamo::to_item(&versioned).map_err(bad_item)?))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", attr::MODEL_KIND)
            .build()
            .map_err(bad_request)?;
        let put_pointer = Put::builder()
            .table_name(&self.tables.models)
            .set_item(Some(serde_dynamo::to_item(&pointer).map_err(bad_item)?))
            .build()
            .map_err(bad_request)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_versioned).build())
            .transact_items(TransactWriteItem::builder().put(put_pointer).build())
            .send()
            .await;
        self.meter.dynamodb_write(4.0);
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let conflict = matches!(
                    e.as_service_error(),
                    Some(TransactWriteItemsError::TransactionCanceledException(t))
                        if t.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                );
                if conflict {
                    Err(StoreError::Conflict)
                } else {
                    Err(unavailable(e))
                }
            }
        }
    }

    async fn stored_model(&self, version: u32) -> Result<Option<ScoringModel>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.models)
            .key(attr::MODEL_KIND, AttributeValue::S(SCORING.to_owned()))
            .key(attr::VERSION, AttributeValue::N(version.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        self.meter
            .dynamodb_read(read_units_for(out.item().map_or(1, item_size)) / 2.0);
        let Some(item) = out.item else {
            return Ok(None);
        };
        let stored: ModelItem = serde_dynamo::from_item(item).map_err(bad_item)?;
        serde_json::from_str(&stored.model)
            .map(Some)
            .map_err(corrupt)
    }

    async fn promote_model(
        &self,
        model: &ScoringModel,
        expected: Option<u32>,
    ) -> Result<(), StoreError> {
        // A stored version is never rewritten: the pointer carries it as stored, and the
        // version is written only when absent.
        let stored = self.stored_model(model.version).await?;
        let json = serde_json::to_string(stored.as_ref().unwrap_or(model)).map_err(corrupt)?;
        let pointer = ModelItem {
            model_kind: SCORING_CURRENT.to_owned(),
            version: 0,
            model: json.clone(),
            current_version: Some(model.version),
        };
        let mut put_pointer = Put::builder()
            .table_name(&self.tables.models)
            .set_item(Some(serde_dynamo::to_item(&pointer).map_err(bad_item)?));
        put_pointer = match expected {
            Some(v) => put_pointer
                .condition_expression("#c = :expected")
                .expression_attribute_names("#c", attr::CURRENT_VERSION)
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
            None => put_pointer
                .condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", attr::MODEL_KIND),
        };
        let mut transaction = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .put(put_pointer.build().map_err(bad_request)?)
                .build(),
        );
        if stored.is_none() {
            let versioned = ModelItem {
                model_kind: SCORING.to_owned(),
                version: model.version,
                model: json,
                current_version: None,
            };
            let put_versioned = Put::builder()
                .table_name(&self.tables.models)
                .set_item(Some(serde_dynamo::to_item(&versioned).map_err(bad_item)?))
                .condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", attr::MODEL_KIND)
                .build()
                .map_err(bad_request)?;
            transaction =
                transaction.transact_items(TransactWriteItem::builder().put(put_versioned).build());
        }
        let result = transaction.send().await;
        self.meter.dynamodb_write(4.0);
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let conflict = matches!(
                    e.as_service_error(),
                    Some(TransactWriteItemsError::TransactionCanceledException(t))
                        if t.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                );
                if conflict {
                    Err(StoreError::Conflict)
                } else {
                    Err(unavailable(e))
                }
            }
        }
    }
}
