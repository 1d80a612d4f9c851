//! The in-memory lead queue: FIFO, de-duplicated, with visibility, receive counts and
//! dead letters.

use super::*;

struct QueuedMessage {
    seq: u64,
    lead: QueuedLead,
    visible_at: DateTime<Utc>,
    receive_count: u32,
}

#[derive(Default)]
struct QueueState {
    next_seq: u64,
    /// In publish order (seq ascending).
    messages: BTreeMap<u64, QueuedMessage>,
    /// Lead id → when it was last published, for the de-duplication window.
    published: HashMap<String, DateTime<Utc>>,
    dead: Vec<QueuedLead>,
}

pub struct MemoryQueue {
    state: Mutex<QueueState>,
    clock: Clock,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        MemoryQueue::with_clock(system_clock())
    }
}

impl MemoryQueue {
    pub fn new() -> MemoryQueue {
        MemoryQueue::default()
    }

    pub fn with_clock(clock: Clock) -> MemoryQueue {
        MemoryQueue {
            state: Mutex::default(),
            clock,
        }
    }

    /// Messages waiting (visible or in flight).
    pub fn depth(&self) -> usize {
        lock(&self.state).messages.len()
    }

    /// The dead-letter queue's messages, oldest first.
    pub fn dead_letters(&self) -> Vec<QueuedLead> {
        lock(&self.state).dead.clone()
    }
}

impl LeadQueue for MemoryQueue {
    async fn publish(&self, lead: &QueuedLead) -> Result<(), QueueError> {
        let now = (self.clock)();
        let mut q = lock(&self.state);
        let dedup = lead.dedup_id();
        if q.published
            .get(&dedup)
            .is_some_and(|at| now - *at < as_chrono(DEDUP_WINDOW))
        {
            return Ok(());
        }
        q.published.insert(dedup, now);
        let seq = q.next_seq;
        q.next_seq += 1;
        q.messages.insert(
            seq,
            QueuedMessage {
                seq,
                lead: lead.clone(),
                visible_at: now,
                receive_count: 0,
            },
        );
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let now = (self.clock)();
        let mut guard = lock(&self.state);
        let q = &mut *guard;
        let mut out = Vec::new();
        let mut dead = Vec::new();
        for m in q.messages.values_mut() {
            if out.len() >= max {
                break;
            }
            if m.visible_at > now {
                continue;
            }
            if m.receive_count >= MAX_RECEIVE_COUNT {
                dead.push(m.seq);
                continue;
            }
            m.visible_at = now + as_chrono(visibility);
            m.receive_count += 1;
            out.push(Delivery {
                receipt: receipt(m.seq, m.receive_count),
                receive_count: m.receive_count,
                lead: m.lead.clone(),
            });
        }
        for seq in dead {
            if let Some(m) = q.messages.remove(&seq) {
                q.dead.push(m.lead);
            }
        }
        Ok(out)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let Some((seq, count)) = parse_receipt(receipt) else {
            return Ok(());
        };
        let mut q = lock(&self.state);
        if q.messages
            .get(&seq)
            .is_some_and(|m| m.receive_count == count)
        {
            q.messages.remove(&seq);
        }
        Ok(())
    }
}
