//! The in-memory conversations and scoring models.

use super::*;

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

    async fn stored_model(&self, version: u32) -> Result<Option<ScoringModel>, StoreError> {
        Ok(lock(&self.models).0.get(&version).cloned())
    }

    async fn promote_model(
        &self,
        model: &ScoringModel,
        expected: Option<u32>,
    ) -> Result<(), StoreError> {
        let mut models = lock(&self.models);
        if models.1 != expected {
            return Err(StoreError::Conflict);
        }
        models
            .0
            .entry(model.version)
            .or_insert_with(|| model.clone());
        models.1 = Some(model.version);
        Ok(())
    }
}
