//! The scheduled jobs' claims and records in the embedded store.

use super::*;

impl JobStore for EmbeddedStore {
    async fn claim(&self, job: &str, window: DateTime<Utc>) -> Result<bool, StoreError> {
        let key = format!("{job}|{}", window.to_rfc3339());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let fresh = {
                let mut table = txn.open_table(JOB_CLAIMS).map_err(unavailable)?;
                let fresh = table.get(key.as_str()).map_err(unavailable)?.is_none();
                if fresh {
                    table.insert(key.as_str(), 1).map_err(unavailable)?;
                }
                fresh
            };
            txn.commit().map_err(unavailable)?;
            Ok(fresh)
        })
        .await
    }

    async fn release_claim(&self, job: &str, window: DateTime<Utc>) -> Result<(), StoreError> {
        let key = format!("{job}|{}", window.to_rfc3339());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            txn.open_table(JOB_CLAIMS)
                .map_err(unavailable)?
                .remove(key.as_str())
                .map_err(unavailable)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn put_record(&self, kind: &str, id: &str, json: &str) -> Result<(), StoreError> {
        let (key, json) = (format!("{kind}|{id}"), json.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(JOB_RECORDS).map_err(unavailable)?;
                if table.get(key.as_str()).map_err(unavailable)?.is_none() {
                    table
                        .insert(key.as_str(), json.as_str())
                        .map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn records(&self, kind: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let prefix = format!("{kind}|");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(JOB_RECORDS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (k, v) = entry.map_err(unavailable)?;
                if !k.value().starts_with(prefix.as_str()) {
                    break;
                }
                out.push(v.value().to_owned());
            }
            out.reverse();
            out.truncate(limit);
            Ok(out)
        })
        .await
    }
}
