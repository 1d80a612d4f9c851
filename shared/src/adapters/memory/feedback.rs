//! In-memory buyer feedback and what it changes.

use super::*;

impl FeedbackStore for MemoryStore {
    async fn feedback_by_message(
        &self,
        buyer: &BuyerId,
        message_id: &str,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        let s = lock(&self.sales);
        Ok(s.messages
            .get(&(buyer.clone(), message_id.to_owned()))
            .and_then(|key| s.feedback.get(key))
            .cloned())
    }

    async fn feedback(
        &self,
        lead_id: &str,
        buyer: &BuyerId,
        kind: FeedbackType,
    ) -> Result<Option<FeedbackRecord>, StoreError> {
        Ok(lock(&self.sales)
            .feedback
            .get(&(lead_id.to_owned(), buyer.clone(), kind))
            .cloned())
    }

    async fn apply(
        &self,
        change: &FeedbackChange,
    ) -> Result<Result<(), FeedbackRefused>, StoreError> {
        let mut s = lock(&self.sales);
        let r = &change.record;
        let key = (r.lead_id.clone(), r.buyer_id.clone(), r.kind);
        let message = (r.buyer_id.clone(), r.message_id.clone());
        if s.feedback.contains_key(&key) || s.messages.contains_key(&message) {
            return Ok(Err(FeedbackRefused::AlreadyRecorded));
        }
        if !s.check_version(&change.lead) {
            return Ok(Err(FeedbackRefused::LeadChanged));
        }
        if let Some(line) = &change.ledger
            && s.ledger
                .contains_key(&(line.lead_id.clone(), line.entry_id.clone()))
        {
            return Ok(Err(FeedbackRefused::LeadChanged));
        }
        for t in &change.tallies {
            let current = s
                .tallies
                .get(&(t.key.clone(), t.field.clone()))
                .copied()
                .unwrap_or(0);
            if t.at_most.is_some_and(|max| current + t.by > max) {
                return Ok(Err(FeedbackRefused::LimitReached));
            }
        }
        s.store_record(&change.lead);
        if let Some(line) = &change.ledger {
            s.ledger
                .insert((line.lead_id.clone(), line.entry_id.clone()), line.clone());
        }
        for t in &change.tallies {
            *s.tallies
                .entry((t.key.clone(), t.field.clone()))
                .or_insert(0) += t.by;
        }
        s.count(&analytics::feedback_tallies(r, change.ledger.as_ref()));
        s.training.push(change.training.clone());
        s.messages.insert(message, key.clone());
        s.feedback.insert(key, r.clone());
        Ok(Ok(()))
    }

    async fn tallies(&self, key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        Ok(lock(&self.sales)
            .tallies
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|((_, field), n)| (field.clone(), *n))
            .collect())
    }

    async fn buyer_ledger(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut lines: Vec<LedgerEntry> = lock(&self.sales)
            .ledger
            .values()
            .filter(|e| e.buyer_id == *buyer && statement_month(e.at) == month)
            .cloned()
            .collect();
        lines.sort_by(|a, b| (a.at, &a.lead_id, &a.entry_id).cmp(&(b.at, &b.lead_id, &b.entry_id)));
        Ok(lines)
    }

    async fn buyer_feedback(
        &self,
        buyer: &BuyerId,
        month: &str,
    ) -> Result<Vec<FeedbackRecord>, StoreError> {
        let mut all: Vec<FeedbackRecord> = lock(&self.sales)
            .feedback
            .values()
            .filter(|f| f.buyer_id == *buyer && f.month == month)
            .cloned()
            .collect();
        all.sort_by(|a, b| (a.received_at, &a.feedback_id).cmp(&(b.received_at, &b.feedback_id)));
        Ok(all)
    }

    async fn training_examples(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Vec<TrainingExample>, StoreError> {
        Ok(lock(&self.sales)
            .training
            .iter()
            .filter(|t| training_day(t.recorded_at) == day)
            .cloned()
            .collect())
    }
}
