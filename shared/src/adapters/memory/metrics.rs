//! The in-memory analytics counters.

use super::*;

impl MetricsStore for MemoryStore {
    async fn add(&self, counters: &[Counter]) -> Result<(), StoreError> {
        lock(&self.sales).count(counters);
        Ok(())
    }

    async fn groups(&self, keys: &[String]) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        let s = lock(&self.sales);
        Ok(keys
            .iter()
            .map(|key| {
                let mut sums = BTreeMap::new();
                let from = (key.clone(), String::new(), String::new());
                for ((group, _, field), v) in s.metrics.range(from..) {
                    if group != key {
                        break;
                    }
                    *sums.entry(field.clone()).or_insert(0) += v;
                }
                sums
            })
            .collect())
    }

    async fn sealed(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<BTreeMap<String, i64>>>, StoreError> {
        let s = lock(&self.sales);
        Ok(keys.iter().map(|k| s.sealed.get(k).cloned()).collect())
    }

    async fn seal(&self, key: &str, totals: &BTreeMap<String, i64>) -> Result<(), StoreError> {
        lock(&self.sales)
            .sealed
            .entry(key.to_owned())
            .or_insert_with(|| totals.clone());
        Ok(())
    }
}
