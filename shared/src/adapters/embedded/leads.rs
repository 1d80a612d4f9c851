//! The lead records of the embedded store.

use super::*;

impl LeadStore for EmbeddedStore {
    async fn lead(&self, lead_id: &str) -> Result<Option<LeadRecord>, StoreError> {
        self.read_json(LEADS, lead_id.to_owned()).await
    }

    async fn put_lead(&self, record: &LeadRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.commits
            .run(move |txn| match put_lead_in(txn, &record)? {
                true => Ok(()),
                false => Err(StoreError::Conflict),
            })
            .await
    }

    async fn search(
        &self,
        query: &crate::domain::lead::LeadQuery,
        limit: usize,
    ) -> Result<(Vec<LeadRecord>, bool), StoreError> {
        use crate::domain::lead::SEARCH_SCAN_LIMIT;
        let query = query.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(LEADS).map_err(unavailable)?;
            let mut all = Vec::new();
            let mut complete = true;
            for (n, entry) in table.iter().map_err(unavailable)?.enumerate() {
                if n >= SEARCH_SCAN_LIMIT {
                    complete = false;
                    break;
                }
                let (_, bytes) = entry.map_err(unavailable)?;
                let record: LeadRecord = serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                if query.matches(&record) {
                    all.push(record);
                }
            }
            let (found, _) = crate::adapters::newest_matches(all, &query, limit);
            Ok((found, complete))
        })
        .await
    }

    async fn waiting(&self, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
        let ids: Vec<String> = self
            .blocking(move |db| {
                let txn = db.begin_read().map_err(unavailable)?;
                let table = txn.open_table(WAITING).map_err(unavailable)?;
                let mut ids = Vec::new();
                for entry in table.iter().map_err(unavailable)?.take(limit) {
                    let (id, _) = entry.map_err(unavailable)?;
                    ids.push(id.value().to_owned());
                }
                Ok::<_, StoreError>(ids)
            })
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = self.lead(&id).await? {
                out.push(record);
            }
        }
        Ok(out)
    }
}
