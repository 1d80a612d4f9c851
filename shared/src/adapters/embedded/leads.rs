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
}
