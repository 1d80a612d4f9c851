//! The embedded backend: one redb file with ACID transactions. Conditional writes and
//! exactly-once queue inserts happen inside a write transaction, so a crash loses nothing
//! that was acknowledged.

use crate::domain::conversation::{Conversation, SessionId};
use crate::domain::scoring::ScoringModel;
use crate::ports::{
    ConversationStore, Delivery, LeadQueue, ModelStore, QueueError, QueuedLead, StoreError,
};
use chrono::Utc;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const CONVERSATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("conversations");
const MODELS: TableDefinition<u32, &[u8]> = TableDefinition::new("scoring_models");
const SETTINGS: TableDefinition<&str, u32> = TableDefinition::new("settings");
const QUEUE_MESSAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("lead_queue");
const QUEUE_ORDER: TableDefinition<u64, &str> = TableDefinition::new("lead_queue_order");
const QUEUE_PUBLISHED: TableDefinition<&str, i64> = TableDefinition::new("lead_queue_published");

const CURRENT_MODEL: &str = "current_model_version";
const FILE_NAME: &str = "aurum.redb";

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

#[derive(Serialize, Deserialize)]
struct StoredMessage {
    seq: u64,
    lead: QueuedLead,
    /// Unix milliseconds before which the message stays hidden.
    visible_at_ms: i64,
    receive_count: u32,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn queue_unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

impl EmbeddedStore {
    /// Opens (or creates) the database in `dir`, creating the directory if needed.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
        let db = Database::create(dir.join(FILE_NAME)).map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(CONVERSATIONS).map_err(unavailable)?;
            txn.open_table(MODELS).map_err(unavailable)?;
            txn.open_table(SETTINGS).map_err(unavailable)?;
            txn.open_table(QUEUE_MESSAGES).map_err(unavailable)?;
            txn.open_table(QUEUE_ORDER).map_err(unavailable)?;
            txn.open_table(QUEUE_PUBLISHED).map_err(unavailable)?;
        }
        txn.commit().map_err(unavailable)?;
        Ok(EmbeddedStore { db: Arc::new(db) })
    }

    /// Runs blocking database work off the async executor.
    async fn blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static + From<JoinFailure>,
        F: FnOnce(&Database) -> Result<T, E> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| E::from(JoinFailure(e.to_string())))?
    }
}

pub struct JoinFailure(String);

impl From<JoinFailure> for StoreError {
    fn from(e: JoinFailure) -> Self {
        StoreError::Unavailable(e.0)
    }
}

impl From<JoinFailure> for QueueError {
    fn from(e: JoinFailure) -> Self {
        QueueError::Unavailable(e.0)
    }
}

impl ConversationStore for EmbeddedStore {
    async fn load_conversation(&self, id: &SessionId) -> Result<Option<Conversation>, StoreError> {
        let key = id.as_str().to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
            let Some(bytes) = table.get(key.as_str()).map_err(unavailable)? else {
                return Ok(None);
            };
            serde_json::from_slice(bytes.value())
                .map(Some)
                .map_err(|e| StoreError::Corrupt(super::decode_failure(&e)))
        })
        .await
    }

    async fn save_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut saved = conversation.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
                let stored_version =
                    match table.get(saved.session_id.as_str()).map_err(unavailable)? {
                        Some(bytes) => {
                            serde_json::from_slice::<VersionOnly>(bytes.value())
                                .map_err(|e| StoreError::Corrupt(super::decode_failure(&e)))?
                                .version
                        }
                        None => 0,
                    };
                if stored_version != saved.version {
                    return Err(StoreError::Conflict);
                }
                saved.version += 1;
                let bytes = serde_json::to_vec(&saved)
                    .map_err(|e| StoreError::Corrupt(super::decode_failure(&e)))?;
                table
                    .insert(saved.session_id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u64,
}

impl ModelStore for EmbeddedStore {
    async fn current_model(&self) -> Result<Option<ScoringModel>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let settings = txn.open_table(SETTINGS).map_err(unavailable)?;
            let Some(version) = settings.get(CURRENT_MODEL).map_err(unavailable)? else {
                return Ok(None);
            };
            let models = txn.open_table(MODELS).map_err(unavailable)?;
            let Some(bytes) = models.get(version.value()).map_err(unavailable)? else {
                return Err(StoreError::Corrupt(
                    "current model version is missing".into(),
                ));
            };
            serde_json::from_slice(bytes.value())
                .map(Some)
                .map_err(|e| StoreError::Corrupt(super::decode_failure(&e)))
        })
        .await
    }

    async fn save_model(&self, model: &ScoringModel) -> Result<(), StoreError> {
        let model = model.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut models = txn.open_table(MODELS).map_err(unavailable)?;
                if models.get(model.version).map_err(unavailable)?.is_some() {
                    return Err(StoreError::Conflict);
                }
                let bytes = serde_json::to_vec(&model)
                    .map_err(|e| StoreError::Corrupt(super::decode_failure(&e)))?;
                models
                    .insert(model.version, bytes.as_slice())
                    .map_err(unavailable)?;
                let mut settings = txn.open_table(SETTINGS).map_err(unavailable)?;
                settings
                    .insert(CURRENT_MODEL, model.version)
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}

impl LeadQueue for EmbeddedStore {
    async fn publish(&self, lead: &QueuedLead) -> Result<(), QueueError> {
        let lead = lead.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(queue_unavailable)?;
            {
                let mut published = txn.open_table(QUEUE_PUBLISHED).map_err(queue_unavailable)?;
                if published
                    .get(lead.lead_id.as_str())
                    .map_err(queue_unavailable)?
                    .is_some()
                {
                    return Ok(());
                }
                let now_ms = Utc::now().timestamp_millis();
                published
                    .insert(lead.lead_id.as_str(), now_ms)
                    .map_err(queue_unavailable)?;
                let mut order = txn.open_table(QUEUE_ORDER).map_err(queue_unavailable)?;
                let seq = order
                    .last()
                    .map_err(queue_unavailable)?
                    .map_or(0, |(k, _)| k.value() + 1);
                order
                    .insert(seq, lead.lead_id.as_str())
                    .map_err(queue_unavailable)?;
                let message = StoredMessage {
                    seq,
                    visible_at_ms: now_ms,
                    receive_count: 0,
                    lead,
                };
                let bytes = serde_json::to_vec(&message)
                    .map_err(|e| QueueError::Corrupt(super::decode_failure(&e)))?;
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                messages
                    .insert(message.lead.lead_id.as_str(), bytes.as_slice())
                    .map_err(queue_unavailable)?;
            }
            txn.commit().map_err(queue_unavailable)
        })
        .await
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let hide_ms = i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX / 2);
        self.blocking(move |db| {
            let now_ms = Utc::now().timestamp_millis();
            let txn = db.begin_write().map_err(queue_unavailable)?;
            let mut out = Vec::new();
            {
                let order = txn.open_table(QUEUE_ORDER).map_err(queue_unavailable)?;
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                let ids: Vec<String> = order
                    .iter()
                    .map_err(queue_unavailable)?
                    .filter_map(Result::ok)
                    .map(|(_, id)| id.value().to_owned())
                    .collect();
                for id in ids {
                    if out.len() >= max {
                        break;
                    }
                    let Some(bytes) = messages.get(id.as_str()).map_err(queue_unavailable)? else {
                        continue;
                    };
                    let mut m: StoredMessage = serde_json::from_slice(bytes.value())
                        .map_err(|e| QueueError::Corrupt(super::decode_failure(&e)))?;
                    drop(bytes);
                    if m.visible_at_ms > now_ms {
                        continue;
                    }
                    m.visible_at_ms = now_ms.saturating_add(hide_ms);
                    m.receive_count += 1;
                    let updated = serde_json::to_vec(&m)
                        .map_err(|e| QueueError::Corrupt(super::decode_failure(&e)))?;
                    messages
                        .insert(id.as_str(), updated.as_slice())
                        .map_err(queue_unavailable)?;
                    out.push(Delivery {
                        receipt: format!("{id}#{}", m.receive_count),
                        receive_count: m.receive_count,
                        lead: m.lead,
                    });
                }
            }
            txn.commit().map_err(queue_unavailable)?;
            Ok(out)
        })
        .await
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let Some((id, count)) = receipt.rsplit_once('#') else {
            return Ok(());
        };
        let (id, count) = (id.to_owned(), count.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(queue_unavailable)?;
            {
                let mut messages = txn.open_table(QUEUE_MESSAGES).map_err(queue_unavailable)?;
                let found = match messages.get(id.as_str()).map_err(queue_unavailable)? {
                    Some(bytes) => Some(
                        serde_json::from_slice::<StoredMessage>(bytes.value())
                            .map_err(|e| QueueError::Corrupt(super::decode_failure(&e)))?,
                    ),
                    None => None,
                };
                if let Some(m) = found.filter(|m| m.receive_count.to_string() == count) {
                    messages.remove(id.as_str()).map_err(queue_unavailable)?;
                    let mut order = txn.open_table(QUEUE_ORDER).map_err(queue_unavailable)?;
                    order.remove(m.seq).map_err(queue_unavailable)?;
                }
            }
            txn.commit().map_err(queue_unavailable)
        })
        .await
    }
}
