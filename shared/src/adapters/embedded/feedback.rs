//! Buyer feedback and what it changes, in the embedded store.

use super::*;

impl FeedbackStore for EmbeddedStore {
    async fn feedback_by_message(
        &self,
        buyer: &BuyerId,
        message_id: &str,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        let message = format!("{buyer}|{message_id}");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let messages = txn.open_table(FEEDBACK_MESSAGES).map_err(unavailable)?;
            let Some(key) = messages.get(message.as_str()).map_err(unavailable)? else {
                return Ok(None);
            };
            let feedback = txn.open_table(FEEDBACK).map_err(unavailable)?;
            get_feedback(&feedback, key.value())
        })
        .await
    }

    async fn feedback(
        &self,
        lead_id: &str,
        buyer: &BuyerId,
        kind: FeedbackType,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        let key = feedback_key(lead_id, buyer, kind);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let feedback = txn.open_table(FEEDBACK).map_err(unavailable)?;
            get_feedback(&feedback, &key)
        })
        .await
    }

    async fn apply(
        &self,
        change: &FeedbackChange,
    ) -> Result<Result<(), FeedbackRefused>, StoreError> {
        let change = change.clone();
        self.blocking(move |db| {
            let r = &change.record;
            let key = feedback_key(&r.lead_id, &r.buyer_id, r.kind);
            let message = format!("{}|{}", r.buyer_id, r.message_id);
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut feedback = txn.open_table(FEEDBACK).map_err(unavailable)?;
                let mut messages = txn.open_table(FEEDBACK_MESSAGES).map_err(unavailable)?;
                if feedback.get(key.as_str()).map_err(unavailable)?.is_some()
                    || messages
                        .get(message.as_str())
                        .map_err(unavailable)?
                        .is_some()
                {
                    return Ok(Err(FeedbackRefused::AlreadyRecorded));
                }
                let bytes = serde_json::to_vec(r).map_err(corrupt)?;
                feedback
                    .insert(key.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
                messages
                    .insert(message.as_str(), key.as_str())
                    .map_err(unavailable)?;
            }
            // Returning before the commit drops the transaction: nothing above is kept.
            if !put_lead_in(&txn, &change.lead)? {
                return Ok(Err(FeedbackRefused::LeadChanged));
            }
            {
                let mut ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                if let Some(line) = &change.ledger {
                    let k = ledger_key(line);
                    if ledger.get(k.as_str()).map_err(unavailable)?.is_some() {
                        return Ok(Err(FeedbackRefused::LeadChanged));
                    }
                    let bytes = serde_json::to_vec(line).map_err(corrupt)?;
                    ledger
                        .insert(k.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
                let mut tallies = txn.open_table(TALLIES).map_err(unavailable)?;
                for t in &change.tallies {
                    let k = format!("{}|{}", t.key, t.field);
                    let current = tallies
                        .get(k.as_str())
                        .map_err(unavailable)?
                        .map_or(0, |v| v.value());
                    let next = current.saturating_add(t.by);
                    if t.at_most.is_some_and(|max| next > max) {
                        return Ok(Err(FeedbackRefused::LimitReached));
                    }
                    tallies.insert(k.as_str(), next).map_err(unavailable)?;
                }
                let mut training = txn.open_table(TRAINING).map_err(unavailable)?;
                let example = &change.training;
                let k = format!("{}|{}", training_day(example.recorded_at), key);
                let bytes = serde_json::to_vec(example).map_err(corrupt)?;
                training
                    .insert(k.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
            }
            count_in(
                &txn,
                &analytics::feedback_tallies(&change.record, change.ledger.as_ref()),
            )?;
            txn.commit().map_err(unavailable)?;
            Ok(Ok(()))
        })
        .await
    }

    async fn tallies(&self, key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        let prefix = format!("{key}|");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TALLIES).map_err(unavailable)?;
            let mut out = BTreeMap::new();
            for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (k, v) = entry.map_err(unavailable)?;
                let Some(field) = k.value().strip_prefix(prefix.as_str()) else {
                    break;
                };
                out.insert(field.to_owned(), v.value());
            }
            Ok(out)
        })
        .await
    }

    async fn buyer_ledger(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let (buyer, month) = (buyer.clone(), month.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(LEDGER).map_err(unavailable)?;
            let mut out = Vec::new();
            // Local scale: a scan. DynamoDB answers this from an index.
            for entry in table.iter().map_err(unavailable)? {
                let (_, bytes) = entry.map_err(unavailable)?;
                let line: LedgerEntry = serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                if line.buyer_id == buyer && statement_month(line.at) == month {
                    out.push(line);
                }
            }
            out.sort_by(|a: &LedgerEntry, b: &LedgerEntry| {
                (a.at, &a.lead_id, &a.entry_id).cmp(&(b.at, &b.lead_id, &b.entry_id))
            });
            Ok(out)
        })
        .await
    }

    async fn buyer_feedback(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<FeedbackRecord>, StoreError> {
        let (buyer, month) = (buyer.clone(), month.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(FEEDBACK).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(unavailable)? {
                let (_, bytes) = entry.map_err(unavailable)?;
                let f: FeedbackRecord = serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                if f.buyer_id == buyer && f.month == month {
                    out.push(f);
                }
            }
            out.sort_by(|a: &FeedbackRecord, b: &FeedbackRecord| {
                (a.received_at, &a.feedback_id).cmp(&(b.received_at, &b.feedback_id))
            });
            Ok(out)
        })
        .await
    }

    async fn training_examples(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Vec<TrainingExample>, StoreError> {
        let prefix = format!("{day}|");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TRAINING).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (k, bytes) = entry.map_err(unavailable)?;
                if !k.value().starts_with(prefix.as_str()) {
                    break;
                }
                out.push(serde_json::from_slice(bytes.value()).map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }
}
