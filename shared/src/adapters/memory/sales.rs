//! In-memory sales, releases and the ledger, each applied whole under one lock.

use super::*;

impl SaleStore for MemoryStore {
    async fn sell(&self, sale: &Sale) -> Result<Result<(), SaleRefused>, StoreError> {
        let mut s = lock(&self.sales);
        if !s.check_version(&sale.record) {
            return Ok(Err(SaleRefused::LeadChanged));
        }
        let p = &sale.period;
        let day_key = (p.buyer_id.clone(), p.day);
        let month_key = (p.buyer_id.clone(), p.month.clone());
        let today = s.days.get(&day_key).copied().unwrap_or(0);
        let spent = s.months.get(&month_key).copied().unwrap_or_default();
        let entry_key = (sale.ledger.lead_id.clone(), sale.ledger.entry_id.clone());
        let held_elsewhere = sale.contact_keys.iter().any(|key| {
            s.claims
                .get(key)
                .is_some_and(|(lead, until)| sale.blocked_by_claim(lead, *until))
        });
        if let Some(refused) = sale.refusal(
            s.ledger.contains_key(&entry_key),
            today,
            spent,
            held_elsewhere,
        ) {
            return Ok(Err(refused));
        }
        s.store_record(&sale.record);
        s.days.insert(day_key, today + 1);
        s.months.insert(month_key, spent.saturating_add(sale.price));
        s.ledger.insert(entry_key, sale.ledger.clone());
        s.count(&analytics::ledger_tallies(&sale.ledger));
        for key in &sale.contact_keys {
            s.claims
                .insert(key.clone(), (sale.record.lead_id.clone(), sale.claim_until));
        }
        Ok(Ok(()))
    }

    async fn release(&self, release: &Release) -> Result<Result<(), SaleRefused>, StoreError> {
        let mut s = lock(&self.sales);
        if !s.check_version(&release.record) {
            return Ok(Err(SaleRefused::LeadChanged));
        }
        let entry_key = (
            release.ledger.lead_id.clone(),
            release.ledger.entry_id.clone(),
        );
        if s.ledger.contains_key(&entry_key) {
            return Ok(Err(SaleRefused::LeadChanged));
        }
        let p = &release.period;
        let day = s.days.entry((p.buyer_id.clone(), p.day)).or_insert(0);
        *day = day.saturating_sub(1);
        let month = s
            .months
            .entry((p.buyer_id.clone(), p.month.clone()))
            .or_default();
        *month = month.saturating_sub(release.price);
        s.store_record(&release.record);
        s.ledger.insert(entry_key, release.ledger.clone());
        s.count(&analytics::ledger_tallies(&release.ledger));
        for key in &release.contact_keys {
            if s.claims
                .get(key)
                .is_some_and(|(lead, _)| *lead == release.record.lead_id)
            {
                s.claims.remove(key);
            }
        }
        Ok(Ok(()))
    }

    async fn ledger(&self, lead_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let s = lock(&self.sales);
        Ok(s.ledger
            .range((lead_id.to_owned(), String::new())..)
            .take_while(|((lead, _), _)| lead == lead_id)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn contact_claim(
        &self,
        key: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        Ok(lock(&self.sales).claims.get(key).cloned())
    }
}
