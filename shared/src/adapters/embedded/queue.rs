//! The lead queue of the embedded store: FIFO, de-duplicated, with dead letters.

use super::*;

impl LeadQueue for EmbeddedStore {
    async fn publish(&self, lead: &QueuedLead) -> Result<(), QueueError> {
        let lead = lead.clone();
        let now_ms = (self.clock)().timestamp_millis();
        let window_ms = i64::try_from(DEDUP_WINDOW.as_millis()).unwrap_or(i64::MAX);
        self.commits
            .run(move |txn| {
                let mut published = txn.open_table(QUEUE_PUBLISHED).map_err(queue_unavailable)?;
                let dedup = lead.dedup_id();
                let last = published
                    .get(dedup.as_str())
                    .map_err(queue_unavailable)?
                    .map(|at| at.value());
                if last.is_some_and(|at| now_ms.saturating_sub(at) < window_ms) {
                    return Ok(());
                }
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                let dead = txn.open_table(QUEUE_DEAD).map_err(queue_unavailable)?;
                // Sequence numbers run across both tables, so a dead letter keeps its number.
                let last_live = messages
                    .last()
                    .map_err(queue_unavailable)?
                    .map(|(k, _)| k.value());
                let last_dead = dead
                    .last()
                    .map_err(queue_unavailable)?
                    .map(|(k, _)| k.value());
                let seq = last_live.max(last_dead).map_or(0, |k| k + 1);
                let message = encode(&StoredMessage {
                    seq,
                    visible_at_ms: now_ms,
                    receive_count: 0,
                    lead,
                })?;
                published
                    .insert(dedup.as_str(), now_ms)
                    .map_err(queue_unavailable)?;
                messages
                    .insert(seq, message.as_slice())
                    .map_err(queue_unavailable)?;
                Ok(())
            })
            .await
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let hide_ms = as_chrono(visibility).num_milliseconds();
        let now_ms = (self.clock)().timestamp_millis();
        self.commits
            .run(move |txn| {
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                // Decided and encoded before the first write: (seq, to the dead letters?, bytes).
                let mut moves = Vec::new();
                let (mut out, mut dead_letters) = (Vec::new(), Vec::new());
                for entry in messages.iter().map_err(queue_unavailable)? {
                    if out.len() >= max {
                        break;
                    }
                    let (seq, bytes) = entry.map_err(queue_unavailable)?;
                    let (seq, mut m) = (seq.value(), decode(bytes.value())?);
                    if m.visible_at_ms > now_ms {
                        continue;
                    }
                    if m.receive_count >= MAX_RECEIVE_COUNT {
                        moves.push((seq, true, encode(&m)?));
                        dead_letters.push(m.lead.lead_id);
                        continue;
                    }
                    m.visible_at_ms = now_ms.saturating_add(hide_ms);
                    m.receive_count += 1;
                    moves.push((seq, false, encode(&m)?));
                    out.push(Delivery {
                        receipt: receipt(seq, m.receive_count),
                        receive_count: m.receive_count,
                        lead: m.lead,
                    });
                }
                let mut dead = txn.open_table(QUEUE_DEAD).map_err(queue_unavailable)?;
                for (seq, to_dead, bytes) in moves {
                    if to_dead {
                        messages.remove(seq).map_err(queue_unavailable)?;
                        dead.insert(seq, bytes.as_slice())
                            .map_err(queue_unavailable)?;
                    } else {
                        messages
                            .insert(seq, bytes.as_slice())
                            .map_err(queue_unavailable)?;
                    }
                }
                for lead_id in dead_letters {
                    tracing::warn!(%lead_id, "lead message moved to the dead-letter queue");
                }
                Ok(out)
            })
            .await
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let Some((seq, count)) = parse_receipt(receipt) else {
            return Ok(());
        };
        self.commits
            .run(move |txn| {
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                let current = match messages.get(seq).map_err(queue_unavailable)? {
                    Some(bytes) => Some(decode(bytes.value())?.receive_count),
                    None => None,
                };
                if current == Some(count) {
                    messages.remove(seq).map_err(queue_unavailable)?;
                }
                Ok(())
            })
            .await
    }
}
