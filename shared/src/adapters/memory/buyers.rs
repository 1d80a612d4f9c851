//! The in-memory buyers, their cap counters and delivery health.

use super::*;

impl BuyerStore for MemoryStore {
    async fn buyers(&self) -> Result<Vec<Buyer>, StoreError> {
        Ok(lock(&self.buyers).values().cloned().collect())
    }

    async fn put_buyers(&self, buyers: &[Buyer]) -> Result<(), StoreError> {
        let mut all = lock(&self.buyers);
        for b in buyers {
            all.insert(b.id.clone(), b.clone());
        }
        Ok(())
    }

    async fn save_buyer(
        &self,
        buyer: &Buyer,
        expected: Option<u64>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut all = lock(&self.buyers);
        let stored = all.get(&buyer.id).map(|b| b.version);
        if stored != expected {
            return Err(StoreError::Conflict);
        }
        all.insert(buyer.id.clone(), buyer.clone());
        lock(&self.audit).push(audit.clone());
        Ok(())
    }

    async fn append_audit(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        lock(&self.audit).push(audit.clone());
        Ok(())
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut all = lock(&self.audit).clone();
        all.sort_by(|a, b| b.id.cmp(&a.id));
        all.truncate(limit);
        Ok(all)
    }

    async fn counters(&self, periods: &[CounterPeriod]) -> Result<Vec<BuyerCounters>, StoreError> {
        let s = lock(&self.sales);
        Ok(periods
            .iter()
            .map(|p| BuyerCounters {
                leads_today: s
                    .days
                    .get(&(p.buyer_id.clone(), p.day))
                    .copied()
                    .unwrap_or(0),
                spend_this_month: s
                    .months
                    .get(&(p.buyer_id.clone(), p.month.clone()))
                    .copied()
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn health(&self, buyer: &BuyerId) -> Result<BuyerHealth, StoreError> {
        Ok(lock(&self.health).get(buyer).copied().unwrap_or_default())
    }

    async fn record_delivery(
        &self,
        buyer: &BuyerId,
        delivered: bool,
        pause_after: u32,
        pause_until: DateTime<Utc>,
    ) -> Result<BuyerHealth, StoreError> {
        let mut all = lock(&self.health);
        let h = all.entry(buyer.clone()).or_default();
        *h = h.after_delivery(delivered, pause_after, pause_until);
        Ok(*h)
    }
}
