//! The in-memory lead records.

use super::*;

impl LeadStore for MemoryStore {
    async fn lead(&self, lead_id: &str) -> Result<Option<LeadRecord>, StoreError> {
        Ok(lock(&self.sales).leads.get(lead_id).cloned())
    }

    async fn put_lead(&self, record: &LeadRecord) -> Result<(), StoreError> {
        let mut all = lock(&self.sales);
        if !all.check_version(record) {
            return Err(StoreError::Conflict);
        }
        all.store_record(record);
        Ok(())
    }

    async fn search(
        &self,
        query: &crate::domain::lead::LeadQuery,
        limit: usize,
    ) -> Result<(Vec<LeadRecord>, bool), StoreError> {
        let all: Vec<LeadRecord> = lock(&self.sales).leads.values().cloned().collect();
        Ok(crate::adapters::newest_matches(all, query, limit))
    }

    async fn waiting(&self, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
        Ok(lock(&self.sales)
            .leads
            .values()
            .filter(|r| r.state == LeadState::Waiting)
            .take(limit)
            .cloned()
            .collect())
    }
}
