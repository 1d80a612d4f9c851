//! The analytics counters of the embedded store.

use super::*;

impl MetricsStore for EmbeddedStore {
    /// Activity counts are queued for the next group commit and not waited for: a turn
    /// waits for one durable commit (its conversation), not two. A count still queued when
    /// the process dies is lost (a count, never a turn); readers of the counters wait for
    /// every queued count first, so a count added is a count read.
    async fn add(&self, counters: &[Counter]) -> Result<(), StoreError> {
        let counters = counters.to_vec();
        self.commits
            .submit(Box::new(move |txn| count_in(txn, &counters)))
    }

    async fn groups(&self, keys: &[String]) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        self.commits.barrier().await?;
        let keys = keys.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(METRICS).map_err(unavailable)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let prefix = format!("{key}|");
                let mut sums = BTreeMap::new();
                for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                    let (k, v) = entry.map_err(unavailable)?;
                    let Some(rest) = k.value().strip_prefix(prefix.as_str()) else {
                        break;
                    };
                    let field = rest.split_once('|').map_or(rest, |(_, f)| f);
                    *sums.entry(field.to_owned()).or_insert(0) += v.value();
                }
                out.push(sums);
            }
            Ok(out)
        })
        .await
    }

    async fn sealed(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<BTreeMap<String, i64>>>, StoreError> {
        self.commits.barrier().await?;
        let keys = keys.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(SEALED_DAYS).map_err(unavailable)?;
            keys.iter().map(|k| get_json(&table, k)).collect()
        })
        .await
    }

    async fn seal(&self, key: &str, totals: &BTreeMap<String, i64>) -> Result<(), StoreError> {
        let (key, bytes) = (key.to_owned(), serde_json::to_vec(totals).map_err(corrupt)?);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(SEALED_DAYS).map_err(unavailable)?;
                if table.get(key.as_str()).map_err(unavailable)?.is_none() {
                    table
                        .insert(key.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}
