//! In-memory adapters for tests: same semantics as the real ones, nothing persisted.

use crate::domain::conversation::{Conversation, SessionId};
use crate::domain::scoring::ScoringModel;
use crate::ports::{
    Cache, CacheError, ConversationStore, Delivery, LeadQueue, ModelStore, QueueError, QueuedLead,
    StoreError,
};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not wedge every other test on the same store.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
pub struct MemoryStore {
    conversations: Mutex<HashMap<String, Conversation>>,
    models: Mutex<(BTreeMap<u32, ScoringModel>, Option<u32>)>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl ConversationStore for MemoryStore {
    async fn load_conversation(&self, id: &SessionId) -> Result<Option<Conversation>, StoreError> {
        Ok(lock(&self.conversations).get(id.as_str()).cloned())
    }

    async fn save_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut all = lock(&self.conversations);
        let stored = all
            .get(conversation.session_id.as_str())
            .map_or(0, |c| c.version);
        if stored != conversation.version {
            return Err(StoreError::Conflict);
        }
        let mut saved = conversation.clone();
        saved.version += 1;
        all.insert(saved.session_id.as_str().to_owned(), saved);
        Ok(())
    }
}

impl ModelStore for MemoryStore {
    async fn current_model(&self) -> Result<Option<ScoringModel>, StoreError> {
        let models = lock(&self.models);
        Ok(models.1.and_then(|v| models.0.get(&v).cloned()))
    }

    async fn save_model(&self, model: &ScoringModel) -> Result<(), StoreError> {
        let mut models = lock(&self.models);
        if models.0.contains_key(&model.version) {
            return Err(StoreError::Conflict);
        }
        models.0.insert(model.version, model.clone());
        models.1 = Some(model.version);
        Ok(())
    }
}

struct QueuedMessage {
    lead: QueuedLead,
    visible_at: Instant,
    receive_count: u32,
}

#[derive(Default)]
struct QueueState {
    order: VecDeque<String>,
    messages: HashMap<String, QueuedMessage>,
    published: HashSet<String>,
}

#[derive(Default)]
pub struct MemoryQueue {
    state: Mutex<QueueState>,
}

impl MemoryQueue {
    pub fn new() -> MemoryQueue {
        MemoryQueue::default()
    }

    /// Messages waiting (visible or in flight).
    pub fn depth(&self) -> usize {
        lock(&self.state).messages.len()
    }
}

impl LeadQueue for MemoryQueue {
    async fn publish(&self, lead: &QueuedLead) -> Result<(), QueueError> {
        let mut q = lock(&self.state);
        if !q.published.insert(lead.lead_id.clone()) {
            return Ok(());
        }
        q.order.push_back(lead.lead_id.clone());
        q.messages.insert(
            lead.lead_id.clone(),
            QueuedMessage {
                lead: lead.clone(),
                visible_at: Instant::now(),
                receive_count: 0,
            },
        );
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let mut guard = lock(&self.state);
        let q = &mut *guard;
        let now = Instant::now();
        let mut out = Vec::new();
        q.order.retain(|id| q.messages.contains_key(id));
        for id in &q.order {
            if out.len() >= max {
                break;
            }
            if let Some(m) = q.messages.get_mut(id)
                && m.visible_at <= now
            {
                m.visible_at = now + visibility;
                m.receive_count += 1;
                out.push(Delivery {
                    receipt: format!("{id}#{}", m.receive_count),
                    receive_count: m.receive_count,
                    lead: m.lead.clone(),
                });
            }
        }
        Ok(out)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let Some((id, count)) = receipt.rsplit_once('#') else {
            return Ok(());
        };
        let mut q = lock(&self.state);
        if q.messages
            .get(id)
            .is_some_and(|m| m.receive_count.to_string() == count)
        {
            q.messages.remove(id);
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemoryCache {
    pub fn new() -> MemoryCache {
        MemoryCache::default()
    }
}

impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut entries = lock(&self.entries);
        match entries.get(key) {
            Some((v, expires)) if *expires > Instant::now() => Ok(Some(v.clone())),
            Some(_) => {
                entries.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        lock(&self.entries).insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
        Ok(())
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, CacheError> {
        let mut entries = lock(&self.entries);
        let now = Instant::now();
        let current = match entries.get(key) {
            Some((v, expires)) if *expires > now => (v.parse::<i64>().unwrap_or(0), *expires),
            _ => (0, now + ttl),
        };
        let next = current.0.saturating_add(by);
        entries.insert(key.to_owned(), (next.to_string(), current.1));
        Ok(next)
    }
}
