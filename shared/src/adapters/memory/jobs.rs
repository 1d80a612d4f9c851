//! The in-memory job claims and records.

use super::*;

impl JobStore for MemoryStore {
    async fn claim(&self, job: &str, window: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(lock(&self.jobs)
            .0
            .insert(format!("{job}|{}", window.to_rfc3339())))
    }

    async fn release_claim(&self, job: &str, window: DateTime<Utc>) -> Result<(), StoreError> {
        lock(&self.jobs)
            .0
            .remove(&format!("{job}|{}", window.to_rfc3339()));
        Ok(())
    }

    async fn put_record(&self, kind: &str, id: &str, json: &str) -> Result<(), StoreError> {
        lock(&self.jobs)
            .1
            .entry((kind.to_owned(), id.to_owned()))
            .or_insert_with(|| json.to_owned());
        Ok(())
    }

    async fn records(&self, kind: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let jobs = lock(&self.jobs);
        Ok(jobs
            .1
            .range((kind.to_owned(), String::new())..)
            .take_while(|((k, _), _)| k == kind)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .take(limit)
            .collect())
    }
}
