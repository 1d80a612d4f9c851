//! The buyers, their cap counters and delivery health in the embedded store.

use super::*;

impl BuyerStore for EmbeddedStore {
    async fn buyers(&self) -> Result<Vec<Buyer>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(BUYERS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(unavailable)? {
                let (_, bytes) = entry.map_err(unavailable)?;
                out.push(serde_json::from_slice(bytes.value()).map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }

    async fn put_buyers(&self, buyers: &[Buyer]) -> Result<(), StoreError> {
        let buyers = buyers.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(BUYERS).map_err(unavailable)?;
                for b in &buyers {
                    let bytes = serde_json::to_vec(b).map_err(corrupt)?;
                    table
                        .insert(b.id.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn save_buyer(
        &self,
        buyer: &Buyer,
        expected: Option<u64>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let buyer = buyer.clone();
        let audit = audit.clone();
        self.commits
            .run(move |txn| {
                let mut table = txn.open_table(BUYERS).map_err(unavailable)?;
                let stored: Option<Buyer> = get_json(&table, buyer.id.as_str())?;
                if stored.map(|b| b.version) != expected {
                    return Err(StoreError::Conflict);
                }
                let bytes = serde_json::to_vec(&buyer).map_err(corrupt)?;
                table
                    .insert(buyer.id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
                put_audit(txn, &audit)
            })
            .await
    }

    async fn append_audit(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        let audit = audit.clone();
        self.commits.run(move |txn| put_audit(txn, &audit)).await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(AUDIT).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(unavailable)?.rev().take(limit) {
                let (_, bytes) = entry.map_err(unavailable)?;
                out.push(serde_json::from_slice(bytes.value()).map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }

    async fn counters(&self, periods: &[CounterPeriod]) -> Result<Vec<BuyerCounters>, StoreError> {
        let periods = periods.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let days = txn.open_table(BUYER_DAYS).map_err(unavailable)?;
            let months = txn.open_table(BUYER_MONTHS).map_err(unavailable)?;
            let mut out = Vec::with_capacity(periods.len());
            for p in &periods {
                let leads_today = days
                    .get(day_key(p).as_str())
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value());
                let spend = months
                    .get(month_key(p).as_str())
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value());
                out.push(BuyerCounters {
                    leads_today,
                    spend_this_month: Cents(spend),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn health(&self, buyer: &BuyerId) -> Result<BuyerHealth, StoreError> {
        Ok(self
            .read_json(BUYER_HEALTH, buyer.to_string())
            .await?
            .unwrap_or_default())
    }

    async fn healths(&self, buyers: &[BuyerId]) -> Result<Vec<BuyerHealth>, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(BUYER_HEALTH).map_err(unavailable)?;
        buyers
            .iter()
            .map(|b| Ok(get_json(&table, b.as_str())?.unwrap_or_default()))
            .collect()
    }

    async fn record_delivery(
        &self,
        buyer: &BuyerId,
        delivered: bool,
        pause_after: u32,
        pause_until: DateTime<Utc>,
    ) -> Result<BuyerHealth, StoreError> {
        let id = buyer.to_string();
        self.commits
            .run(move |txn| {
                let mut table = txn.open_table(BUYER_HEALTH).map_err(unavailable)?;
                let current: BuyerHealth = match table.get(id.as_str()).map_err(unavailable)? {
                    Some(bytes) => serde_json::from_slice(bytes.value()).map_err(corrupt)?,
                    None => BuyerHealth::default(),
                };
                let next = current.after_delivery(delivered, pause_after, pause_until);
                let bytes = serde_json::to_vec(&next).map_err(corrupt)?;
                table
                    .insert(id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
                Ok(next)
            })
            .await
    }
}

fn put_audit(txn: &WriteTransaction, audit: &AuditEntry) -> Result<(), StoreError> {
    let mut table = txn.open_table(AUDIT).map_err(unavailable)?;
    let bytes = serde_json::to_vec(audit).map_err(corrupt)?;
    table
        .insert(audit.id.as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    Ok(())
}
