//! The conversations and scoring models of the embedded store.

use super::*;

impl ConversationStore for EmbeddedStore {
    async fn load_conversation(&self, id: &SessionId) -> Result<Option<Conversation>, StoreError> {
        self.read_json(CONVERSATIONS, id.as_str().to_owned()).await
    }

    async fn save_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut saved = conversation.clone();
        self.commits
            .apply(Box::new(move |txn| {
                let mut table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
                let stored_version = match table
                    .get(saved.session_id.as_str())
                    .map_err(unavailable)?
                {
                    Some(bytes) => {
                        serde_json::from_slice::<VersionOnly>(bytes.value())
                            .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))?
                            .version
                    }
                    None => 0,
                };
                if stored_version != saved.version {
                    return Err(StoreError::Conflict);
                }
                saved.version += 1;
                let bytes = serde_json::to_vec(&saved)
                    .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))?;
                table
                    .insert(saved.session_id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
                Ok(())
            }))
            .await
    }
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
                .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))
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
                    .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))?;
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

    async fn stored_model(&self, version: u32) -> Result<Option<ScoringModel>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let models = txn.open_table(MODELS).map_err(unavailable)?;
            let Some(bytes) = models.get(version).map_err(unavailable)? else {
                return Ok(None);
            };
            serde_json::from_slice(bytes.value())
                .map(Some)
                .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))
        })
        .await
    }

    async fn promote_model(
        &self,
        model: &ScoringModel,
        expected: Option<u32>,
    ) -> Result<(), StoreError> {
        let model = model.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut settings = txn.open_table(SETTINGS).map_err(unavailable)?;
                let current = settings
                    .get(CURRENT_MODEL)
                    .map_err(unavailable)?
                    .map(|v| v.value());
                if current != expected {
                    return Err(StoreError::Conflict);
                }
                let mut models = txn.open_table(MODELS).map_err(unavailable)?;
                if models.get(model.version).map_err(unavailable)?.is_none() {
                    let bytes = serde_json::to_vec(&model)
                        .map_err(|e| StoreError::Corrupt(crate::adapters::decode_failure(&e)))?;
                    models
                        .insert(model.version, bytes.as_slice())
                        .map_err(unavailable)?;
                }
                settings
                    .insert(CURRENT_MODEL, model.version)
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}
