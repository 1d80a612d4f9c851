//! DynamoDB adapters of the buyers and of sales. A sale is one `TransactWriteItems`: the
//! lead record (version condition), the buyer's day count (`leads < limit`), its month
//! spend (`spend <= cap - price`), the ledger line (written once) and the contact claims
//! (free, expired, or this lead's). Any failed condition cancels the whole transaction,
//! and the cancellation reasons say which one, so the router knows why.

use super::dynamodb::{DynamoStore, attr, bad_item, corrupt, item_size, lead_item, unavailable};
use super::meter::{read_units_for, write_units_for};
use crate::domain::analytics;
use crate::domain::audit::AuditEntry;
use crate::domain::buyer::{Buyer, BuyerId};
use crate::domain::money::Cents;
use crate::domain::sale::{BuyerCounters, CounterPeriod, LedgerEntry, Release, Sale, SaleRefused};
use crate::ports::{BuyerHealth, BuyerStore, SaleStore, StoreError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub(super) const PROFILE: &str = "profile";
const HEALTH: &str = "health";
/// Counter items outlive their period by this long, then DynamoDB's TTL removes them.
const COUNTER_TTL_DAYS: i64 = 62;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(attr::PK.to_owned(), s(pk)), (attr::SK.to_owned(), s(sk))])
}

fn day_sk(p: &CounterPeriod) -> String {
    format!("day#{}", p.day)
}

fn month_sk(p: &CounterPeriod) -> String {
    format!("month#{}", p.month)
}

pub(super) fn claim_key(contact_key: &str) -> String {
    format!("contact#{contact_key}")
}

#[derive(Serialize, Deserialize)]
struct ProfileItem {
    pk: String,
    sk: String,
    state: String,
    /// The buyer's version, for the sales team's conditional saves.
    #[serde(default)]
    version: u64,
}

/// The partition of the sales team's audit entries, sorted by entry id (time).
pub(super) const AUDIT: &str = "audit";

#[derive(Serialize, Deserialize)]
struct LedgerItem {
    lead_id: String,
    entry_id: String,
    /// `buyer#YYYY-MM` (New York month) and the line's time: the keys of the index the
    /// buyer statements read.
    #[serde(default)]
    buyer_month: String,
    #[serde(default)]
    line_at: String,
    state: String,
}

/// The `buyer_month` of a ledger line.
pub(super) fn ledger_buyer_month(buyer: &BuyerId, month: &str) -> String {
    format!("{buyer}#{month}")
}

#[derive(Serialize, Deserialize)]
struct HealthItem {
    pk: String,
    sk: String,
    state: String,
}

pub(super) fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl DynamoStore {
    fn expires(at: DateTime<Utc>) -> AttributeValue {
        n((at + chrono::Duration::days(COUNTER_TTL_DAYS)).timestamp())
    }

    /// Runs a transaction; `Ok(Err(i))` names the first item whose condition failed.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        units: f64,
    ) -> Result<Result<(), usize>, StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        // Transactions cost two write units per item KiB, whether they succeed or not.
        self.meter.dynamodb_write(units * 2.0);
        match result {
            Ok(_) => Ok(Ok(())),
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let reasons = c.cancellation_reasons();
                    if let Some(i) = reasons
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed"))
                    {
                        return Ok(Err(i));
                    }
                    // Another transaction on the same items was in flight: retry.
                    if reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"))
                    {
                        return Err(StoreError::Conflict);
                    }
                }
                Err(unavailable(e))
            }
        }
    }

    pub(super) fn lead_put(
        &self,
        record: &crate::domain::lead::LeadRecord,
    ) -> Result<(Put, f64), StoreError> {
        let item = lead_item(record)?;
        let units = write_units_for(item_size(&item));
        let put = Put::builder()
            .table_name(&self.tables.leads)
            .set_item(Some(item));
        let put = if record.version == 0 {
            put.condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", attr::LEAD_ID)
        } else {
            put.condition_expression("#v = :expected")
                .expression_attribute_names("#v", attr::VERSION)
                .expression_attribute_values(":expected", n(record.version))
        };
        Ok((built(put.build())?, units))
    }

    pub(super) fn ledger_put(&self, entry: &LedgerEntry) -> Result<Put, StoreError> {
        let item = serde_dynamo::to_item(LedgerItem {
            lead_id: entry.lead_id.clone(),
            entry_id: entry.entry_id.clone(),
            buyer_month: ledger_buyer_month(
                &entry.buyer_id,
                &crate::domain::feedback::statement_month(entry.at),
            ),
            line_at: format!(
                "{}#{}#{}",
                entry
                    .at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                entry.lead_id,
                entry.entry_id
            ),
            state: serde_json::to_string(entry).map_err(corrupt)?,
        })
        .map_err(bad_item)?;
        built(
            Put::builder()
                .table_name(&self.tables.ledger)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#e)")
                .expression_attribute_names("#e", attr::ENTRY_ID)
                .build(),
        )
    }

    fn counter_add(
        &self,
        p: &CounterPeriod,
        sk: String,
        attribute: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.tables.buyers)
            .set_key(Some(key(p.buyer_id.as_str(), &sk)))
            .update_expression("ADD #c :by SET #x = :x")
            .expression_attribute_names("#c", attribute)
            .expression_attribute_names("#x", attr::EXPIRES_AT)
            .expression_attribute_values(":by", n(by))
            .expression_attribute_values(":x", Self::expires(at))
    }
}

impl DynamoStore {
    /// Items of the buyers table by (pk, sk), read consistently in batches of 100.
    async fn buyer_items(
        &self,
        wanted: &[HashMap<String, AttributeValue>],
    ) -> Result<HashMap<(String, String), HashMap<String, AttributeValue>>, StoreError> {
        let mut found: HashMap<(String, String), HashMap<String, AttributeValue>> = HashMap::new();
        for chunk in wanted.chunks(100) {
            let mut pending = Some(built(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build(),
            )?);
            // Unprocessed keys (throttling) are asked for again, a bounded number of times.
            for _ in 0..5 {
                let Some(request) = pending.take() else {
                    break;
                };
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.tables.buyers, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                let items = out
                    .responses
                    .and_then(|mut r| r.remove(&self.tables.buyers))
                    .unwrap_or_default();
                self.meter.dynamodb_read(read_units_for(
                    items.iter().map(item_size).sum::<usize>().max(1),
                ));
                for item in items {
                    let text = |name: &str| match item.get(name) {
                        Some(AttributeValue::S(v)) => v.clone(),
                        _ => String::new(),
                    };
                    found.insert((text(attr::PK), text(attr::SK)), item.clone());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.tables.buyers));
            }
            if pending.is_some() {
                return Err(StoreError::Unavailable(
                    "buyer items: keys left unprocessed".into(),
                ));
            }
        }
        Ok(found)
    }
}

impl BuyerStore for DynamoStore {
    async fn buyers(&self) -> Result<Vec<Buyer>, StoreError> {
        self.partition_states(PROFILE, true, usize::MAX).await
    }

    async fn put_buyers(&self, buyers: &[Buyer]) -> Result<(), StoreError> {
        if buyers.len() > 100 {
            return Err(StoreError::Corrupt(
                "at most 100 buyers per import (one DynamoDB transaction)".into(),
            ));
        }
        let mut items = Vec::with_capacity(buyers.len());
        let mut units = 0.0;
        for b in buyers {
            let item = serde_dynamo::to_item(ProfileItem {
                pk: PROFILE.into(),
                sk: b.id.to_string(),
                state: serde_json::to_string(b).map_err(corrupt)?,
                version: b.version,
            })
            .map_err(bad_item)?;
            units += write_units_for(item_size(&item));
            let put = built(
                Put::builder()
                    .table_name(&self.tables.buyers)
                    .set_item(Some(item))
                    .build(),
            )?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        if items.is_empty() {
            return Ok(());
        }
        match self.transact(items, units).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::Conflict),
        }
    }

    async fn save_buyer(
        &self,
        buyer: &Buyer,
        expected: Option<u64>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let item = serde_dynamo::to_item(ProfileItem {
            pk: PROFILE.into(),
            sk: buyer.id.to_string(),
            state: serde_json::to_string(buyer).map_err(corrupt)?,
            version: buyer.version,
        })
        .map_err(bad_item)?;
        let mut units = write_units_for(item_size(&item));
        let put = Put::builder()
            .table_name(&self.tables.buyers)
            .set_item(Some(item));
        let put = match expected {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::PK),
            // Items imported before versions were kept have no version attribute: 0.
            Some(0) => put
                .condition_expression(
                    "attribute_exists(#pk) AND (attribute_not_exists(#v) OR #v = :v)",
                )
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N("0".into())),
            Some(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        let audit_item = audit_item(audit)?;
        units += write_units_for(item_size(&audit_item));
        let items = vec![
            TransactWriteItem::builder()
                .put(built(put.build())?)
                .build(),
            TransactWriteItem::builder()
                .put(built(
                    Put::builder()
                        .table_name(&self.tables.buyers)
                        .set_item(Some(audit_item))
                        .build(),
                )?)
                .build(),
        ];
        match self.transact(items, units).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::Conflict),
        }
    }

    async fn append_audit(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        let item = audit_item(audit)?;
        self.meter.dynamodb_write(write_units_for(item_size(&item)));
        self.client
            .put_item()
            .table_name(&self.tables.buyers)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.partition_states(AUDIT, false, limit).await
    }

    async fn counters(&self, periods: &[CounterPeriod]) -> Result<Vec<BuyerCounters>, StoreError> {
        let mut wanted: Vec<HashMap<String, AttributeValue>> = Vec::new();
        for p in periods {
            wanted.push(key(p.buyer_id.as_str(), &day_sk(p)));
            wanted.push(key(p.buyer_id.as_str(), &month_sk(p)));
        }
        let found = self.buyer_items(&wanted).await?;
        let number = |item: Option<&HashMap<String, AttributeValue>>, name: &str| -> i64 {
            match item.and_then(|i| i.get(name)) {
                Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
                _ => 0,
            }
        };
        Ok(periods
            .iter()
            .map(|p| {
                let id = p.buyer_id.to_string();
                let day = found.get(&(id.clone(), day_sk(p)));
                let month = found.get(&(id, month_sk(p)));
                BuyerCounters {
                    leads_today: u32::try_from(number(day, attr::LEADS).max(0)).unwrap_or(0),
                    spend_this_month: Cents(number(month, attr::SPEND).max(0)),
                }
            })
            .collect())
    }

    async fn health(&self, buyer: &BuyerId) -> Result<BuyerHealth, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.buyers)
            .set_key(Some(key(buyer.as_str(), HEALTH)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        self.meter.dynamodb_read(0.5);
        match out.item {
            Some(item) => {
                let stored: HealthItem = serde_dynamo::from_item(item).map_err(bad_item)?;
                serde_json::from_str(&stored.state).map_err(corrupt)
            }
            None => Ok(BuyerHealth::default()),
        }
    }

    async fn healths(&self, buyers: &[BuyerId]) -> Result<Vec<BuyerHealth>, StoreError> {
        let wanted: Vec<_> = buyers.iter().map(|b| key(b.as_str(), HEALTH)).collect();
        let found = self.buyer_items(&wanted).await?;
        buyers
            .iter()
            .map(|b| match found.get(&(b.to_string(), HEALTH.to_owned())) {
                Some(item) => {
                    let stored: HealthItem =
                        serde_dynamo::from_item(item.clone()).map_err(bad_item)?;
                    serde_json::from_str(&stored.state).map_err(corrupt)
                }
                None => Ok(BuyerHealth::default()),
            })
            .collect()
    }

    async fn record_delivery(
        &self,
        buyer: &BuyerId,
        delivered: bool,
        pause_after: u32,
        pause_until: DateTime<Utc>,
    ) -> Result<BuyerHealth, StoreError> {
        // The health item is advisory (it pauses a failing buyer); last writer wins.
        let next = self
            .health(buyer)
            .await?
            .after_delivery(delivered, pause_after, pause_until);
        let item = serde_dynamo::to_item(HealthItem {
            pk: buyer.to_string(),
            sk: HEALTH.into(),
            state: serde_json::to_string(&next).map_err(corrupt)?,
        })
        .map_err(bad_item)?;
        self.client
            .put_item()
            .table_name(&self.tables.buyers)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        self.meter.dynamodb_write(1.0);
        Ok(next)
    }
}

impl SaleStore for DynamoStore {
    async fn sell(&self, sale: &Sale) -> Result<Result<(), SaleRefused>, StoreError> {
        let now = sale.record.updated_at;
        let (lead, lead_units) = self.lead_put(&sale.record)?;
        let day = self
            .counter_add(&sale.period, day_sk(&sale.period), attr::LEADS, 1, now)
            .condition_expression("attribute_not_exists(#c) OR #c < :limit")
            .expression_attribute_values(":limit", n(sale.daily_limit));
        let mut month = self.counter_add(
            &sale.period,
            month_sk(&sale.period),
            attr::SPEND,
            sale.price.0,
            now,
        );
        if let Some(cap) = sale.monthly_spend_cap {
            let room = cap.0 - sale.price.0;
            if room < 0 {
                return Ok(Err(SaleRefused::MonthlySpendCapReached));
            }
            month = month
                .condition_expression("attribute_not_exists(#c) OR #c <= :room")
                .expression_attribute_values(":room", n(room));
        }
        let mut items = vec![
            TransactWriteItem::builder().put(lead).build(),
            TransactWriteItem::builder()
                .update(built(day.build())?)
                .build(),
            TransactWriteItem::builder()
                .update(built(month.build())?)
                .build(),
            TransactWriteItem::builder()
                .put(self.ledger_put(&sale.ledger)?)
                .build(),
        ];
        for contact in &sale.contact_keys {
            let item = HashMap::from([
                (attr::LEAD_ID.to_owned(), s(claim_key(contact))),
                (attr::CLAIMED_BY.to_owned(), s(&sale.record.lead_id)),
                (attr::UNTIL.to_owned(), n(sale.claim_until.timestamp())),
                (attr::EXPIRES_AT.to_owned(), n(sale.claim_until.timestamp())),
            ]);
            let put = Put::builder()
                .table_name(&self.tables.leads)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#id) OR #until < :now OR #by = :me")
                .expression_attribute_names("#id", attr::LEAD_ID)
                .expression_attribute_names("#until", attr::UNTIL)
                .expression_attribute_names("#by", attr::CLAIMED_BY)
                .expression_attribute_values(":now", n(now.timestamp()))
                .expression_attribute_values(":me", s(&sale.record.lead_id));
            items.push(
                TransactWriteItem::builder()
                    .put(built(put.build())?)
                    .build(),
            );
        }
        let counters = self.counter_items(&analytics::ledger_tallies(&sale.ledger))?;
        let units = lead_units + 3.0 + (sale.contact_keys.len() + counters.len()) as f64;
        items.extend(counters);
        Ok(match self.transact(items, units).await? {
            Ok(()) => Ok(()),
            Err(0) | Err(3) => Err(SaleRefused::LeadChanged),
            Err(1) => Err(SaleRefused::DailyCapReached),
            Err(2) => Err(SaleRefused::MonthlySpendCapReached),
            Err(_) => Err(SaleRefused::Duplicate),
        })
    }

    async fn release(&self, release: &Release) -> Result<Result<(), SaleRefused>, StoreError> {
        let now = release.record.updated_at;
        let (lead, lead_units) = self.lead_put(&release.record)?;
        let day = self.counter_add(
            &release.period,
            day_sk(&release.period),
            attr::LEADS,
            -1,
            now,
        );
        let month = self.counter_add(
            &release.period,
            month_sk(&release.period),
            attr::SPEND,
            -release.price.0,
            now,
        );
        let mut items = vec![
            TransactWriteItem::builder().put(lead).build(),
            TransactWriteItem::builder()
                .update(built(day.build())?)
                .build(),
            TransactWriteItem::builder()
                .update(built(month.build())?)
                .build(),
            TransactWriteItem::builder()
                .put(self.ledger_put(&release.ledger)?)
                .build(),
        ];
        let counters = self.counter_items(&analytics::ledger_tallies(&release.ledger))?;
        let units = lead_units + 3.0 + counters.len() as f64;
        items.extend(counters);
        match self.transact(items, units).await? {
            Ok(()) => {}
            Err(_) => return Ok(Err(SaleRefused::LeadChanged)),
        }
        // The claims go after the transaction: a claim another lead took over meanwhile
        // (after its window) must stay, and its failed condition must not undo the release.
        for contact in &release.contact_keys {
            let delete = self
                .client
                .delete_item()
                .table_name(&self.tables.leads)
                .key(attr::LEAD_ID, s(claim_key(contact)))
                .condition_expression("#by = :me")
                .expression_attribute_names("#by", attr::CLAIMED_BY)
                .expression_attribute_values(":me", s(&release.record.lead_id))
                .send()
                .await;
            self.meter.dynamodb_write(1.0);
            if let Err(e) = delete
                && !e
                    .as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception())
            {
                tracing::warn!(lead_id = %release.record.lead_id, "contact claim not released; it expires by itself");
            }
        }
        Ok(Ok(()))
    }

    async fn ledger(&self, lead_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .key_condition_expression("#id = :id")
            .expression_attribute_names("#id", attr::LEAD_ID)
            .expression_attribute_values(":id", s(lead_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let items = out.items.unwrap_or_default();
        self.meter.dynamodb_read(read_units_for(
            items.iter().map(item_size).sum::<usize>().max(1),
        ));
        items
            .into_iter()
            .map(|item| {
                let stored: LedgerItem = serde_dynamo::from_item(item).map_err(bad_item)?;
                serde_json::from_str(&stored.state).map_err(corrupt)
            })
            .collect()
    }

    async fn contact_claim(
        &self,
        key: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.leads)
            .key(attr::LEAD_ID, s(claim_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        self.meter.dynamodb_read(0.5);
        let Some(item) = out.item else {
            return Ok(None);
        };
        let by = match item.get(attr::CLAIMED_BY) {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => return Err(StoreError::Corrupt("contact claim without a lead".into())),
        };
        let until = match item.get(attr::UNTIL) {
            Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
            _ => None,
        }
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or_else(|| StoreError::Corrupt("contact claim without a time".into()))?;
        Ok(Some((by, until)))
    }
}

/// An audit entry as an item of the buyers table: `(audit, <entry id>)`.
fn audit_item(audit: &AuditEntry) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(ProfileItem {
        pk: AUDIT.into(),
        sk: audit.id.clone(),
        state: serde_json::to_string(audit).map_err(corrupt)?,
        version: 0,
    })
    .map_err(bad_item)
}

impl DynamoStore {
    /// The JSON states of one partition of the buyers table (the profiles, the audit), in
    /// key order or newest first, at most `limit`; read consistently, page by page.
    async fn partition_states<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        while out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.tables.buyers)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .scan_index_forward(forward)
                .limit(
                    i32::try_from(limit - out.len())
                        .unwrap_or(i32::MAX)
                        .min(1_000),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            let items = page.items.unwrap_or_default();
            let bytes: usize = items.iter().map(item_size).sum();
            self.meter.dynamodb_read(read_units_for(bytes.max(1)));
            for item in items {
                let stored: ProfileItem = serde_dynamo::from_item(item).map_err(bad_item)?;
                out.push(serde_json::from_str(&stored.state).map_err(corrupt)?);
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        Ok(out)
    }
}
