//! The sales console's models and experiments: load a model trained offline as a new
//! version, promote a stored version (or roll back to an older one), start and stop the
//! pricing experiments. Every change is kept in the audit (who, when, before and after)
//! and the cached copy is dropped, so conversations score with the promoted model, and
//! sales are priced on the experiments, from their next read.

use crate::artefacts::{self, Artefacts, ExperimentsRecord};
use crate::backend::Backend;
use crate::domain::audit::AuditEntry;
use crate::domain::learning::conversion::ModelVersion;
use crate::domain::learning::experiments::{ExperimentSet, ExperimentsFile};
use crate::domain::learning::offline::OfflineModelFile;
use crate::domain::scoring::ScoringModel;
use crate::ports::{BuyerStore, ModelStore, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What the audit names as the model's target.
pub const MODEL_TARGET: &str = "model:scoring";

/// Why a models or experiments action changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("no {0}")]
    NotFound(String),
    /// The version in force is not the one the operator saw.
    #[error("version {current} is in force, not {expected}: reload the versions and decide again")]
    VersionConflict { expected: u32, current: u32 },
    #[error("version {0} is in force already")]
    AlreadyInForce(u32),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The model in force after a promotion, and the one it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Promotion {
    pub current_version: u32,
    pub previous_version: u32,
    /// `model.promoted`, or `model.rolled_back` when the version is older than the one
    /// it replaced.
    pub action: String,
}

/// The console's models and experiments over one backend.
pub struct ModelsConsole<B: Backend> {
    backend: B,
}

impl<B: Backend> ModelsConsole<B> {
    pub fn new(backend: B) -> ModelsConsole<B> {
        ModelsConsole { backend }
    }

    fn now(&self) -> DateTime<Utc> {
        (self.backend.clock())()
    }

    fn base_model(&self) -> ScoringModel {
        self.backend.config().targets.base_model()
    }

    /// The version in force (the built-in model, version 1, until one is promoted) and
    /// whether any was ever stored.
    async fn in_force(&self) -> Result<(ScoringModel, bool), ModelsError> {
        Ok(match self.backend.models().current_model().await? {
            Some(model) => (model, true),
            None => (self.base_model(), false),
        })
    }

    /// Stores the model of an offline file as the next version, not in force; it scores
    /// with the model in force's weights, tiers and prices and the file's conversion
    /// coefficients.
    pub async fn load(
        &self,
        file: &OfflineModelFile,
        actor: &str,
    ) -> Result<ModelVersion, ModelsError> {
        let (in_force, _) = self.in_force().await?;
        let jobs = self.backend.jobs();
        let newest = jobs
            .model_versions(1)
            .await?
            .first()
            .map_or(0, |v| v.version);
        let version = newest.max(in_force.version) + 1;
        let record = file
            .into_version(&in_force, version, self.now())
            .map_err(|e| ModelsError::Refused(e.to_string()))?;
        jobs.save_model_version(&record).await?;
        // A record is written once: a concurrent load that took the number wins.
        let stored = jobs.model_versions(1).await?;
        let same = |v: &ModelVersion| {
            (v.version, v.verdict, v.trained_at, v.training_samples)
                == (
                    record.version,
                    record.verdict,
                    record.trained_at,
                    record.training_samples,
                )
        };
        if !stored.first().is_some_and(same) {
            return Err(ModelsError::VersionConflict {
                expected: version,
                current: stored.first().map_or(0, |v| v.version),
            });
        }
        self.audit(
            actor,
            "model.loaded",
            None,
            Some(serde_json::json!({
                "version": version,
                "parent_version": record.parent_version,
                "conversion": record.model.conversion,
                "held_out": record.evaluation,
            })),
        )
        .await?;
        tracing::info!(version, "offline model loaded by the sales team");
        Ok(record)
    }

    /// Makes stored version `version` the one in force, if `expected` is in force now.
    /// Version 1 is the built-in model.
    pub async fn promote(
        &self,
        version: u32,
        expected: u32,
        actor: &str,
    ) -> Result<Promotion, ModelsError> {
        let (current, stored) = self.in_force().await?;
        if current.version != expected {
            return Err(ModelsError::VersionConflict {
                expected,
                current: current.version,
            });
        }
        if version == current.version {
            return Err(ModelsError::AlreadyInForce(version));
        }
        let model = self.stored(version).await?;
        model
            .validate()
            .map_err(|e| ModelsError::Refused(format!("version {version}: {e}")))?;
        let models = self.backend.models();
        match models
            .promote_model(&model, stored.then_some(current.version))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let now_at = self.in_force().await?.0.version;
                return Err(ModelsError::VersionConflict {
                    expected,
                    current: now_at,
                });
            }
            Err(e) => return Err(e.into()),
        }
        let keys = artefacts::CacheKeys::new(self.backend.config());
        artefacts::forget_model(&*self.backend.cache(), &keys.model).await;
        let action = if version < current.version {
            "model.rolled_back"
        } else {
            "model.promoted"
        };
        self.audit(
            actor,
            action,
            Some(serde_json::json!({"version": current.version})),
            Some(serde_json::json!({"version": version})),
        )
        .await?;
        tracing::info!(
            version,
            previous = current.version,
            action,
            "scoring model changed by the sales team"
        );
        Ok(Promotion {
            current_version: version,
            previous_version: current.version,
            action: action.to_owned(),
        })
    }

    /// The version in force (1: the built-in model).
    pub async fn current_version(&self) -> Result<u32, ModelsError> {
        Ok(self.in_force().await?.0.version)
    }

    /// The version in force and the version it was built on (what `aurum model rollback` promotes).
    pub async fn parent_of_current(&self) -> Result<(u32, u32), ModelsError> {
        let (current, _) = self.in_force().await?;
        let versions = self.backend.jobs().model_versions(1_000).await?;
        let parent = versions
            .iter()
            .find(|v| v.version == current.version)
            .map(|v| v.parent_version)
            .ok_or_else(|| {
                ModelsError::Refused(format!(
                    "version {} has no earlier version to roll back to",
                    current.version
                ))
            })?;
        Ok((current.version, parent))
    }

    /// A version as it was in force, else as it was trained or loaded, else the built-in
    /// model (version 1).
    async fn stored(&self, version: u32) -> Result<ScoringModel, ModelsError> {
        if let Some(model) = self.backend.models().stored_model(version).await? {
            return Ok(model);
        }
        let versions = self.backend.jobs().model_versions(1_000).await?;
        if let Some(v) = versions.into_iter().find(|v| v.version == version) {
            return Ok(ScoringModel { version, ..v.model });
        }
        let base = self.base_model();
        if version == base.version {
            return Ok(base);
        }
        Err(ModelsError::NotFound(format!("model version {version}")))
    }

    /// Makes the file's experiments the ones in force, counting from now (any running
    /// experiment is replaced).
    pub async fn start_experiments(
        &self,
        file: ExperimentsFile,
        actor: &str,
    ) -> Result<ExperimentsRecord, ModelsError> {
        let now = self.now();
        let set = file
            .start(now)
            .map_err(|e| ModelsError::Refused(e.to_string()))?;
        let jobs = self.backend.jobs();
        let before = jobs.experiments().await?;
        let record = jobs.save_experiments(set, now).await?;
        artefacts::forget_experiments(&self.backend).await;
        let ids: Vec<&str> = record
            .set
            .experiments
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        self.audit_experiments(
            actor,
            "experiments.started",
            format!("experiments:{}", ids.join(",")),
            before.map(|r| r.set),
            Some(&record.set),
        )
        .await?;
        Ok(record)
    }

    /// Ends experiment `id`: its tier is priced at the list price again; the others go on.
    pub async fn stop_experiment(
        &self,
        id: &str,
        actor: &str,
    ) -> Result<ExperimentsRecord, ModelsError> {
        let jobs = self.backend.jobs();
        let current = jobs
            .experiments()
            .await?
            .filter(|r| r.set.experiments.iter().any(|e| e.id == id))
            .ok_or_else(|| ModelsError::NotFound(format!("experiment {id}")))?;
        let rest: Vec<_> = current
            .set
            .experiments
            .iter()
            .filter(|e| e.id != id)
            .cloned()
            .collect();
        let set = ExperimentSet::new(rest).map_err(|e| ModelsError::Refused(e.to_string()))?;
        let record = jobs.save_experiments(set, self.now()).await?;
        artefacts::forget_experiments(&self.backend).await;
        self.audit_experiments(
            actor,
            "experiment.stopped",
            format!("experiment:{id}"),
            Some(current.set),
            Some(&record.set),
        )
        .await?;
        tracing::info!(
            experiment = id,
            "pricing experiment stopped by the sales team"
        );
        Ok(record)
    }

    async fn audit_experiments(
        &self,
        actor: &str,
        action: &str,
        target: String,
        before: Option<ExperimentSet>,
        after: Option<&ExperimentSet>,
    ) -> Result<(), ModelsError> {
        let state = |set: &ExperimentSet| serde_json::to_value(set).unwrap_or_default();
        let entry = AuditEntry::new(
            self.now(),
            wall_nanos(),
            actor,
            action,
            target,
            before.as_ref().map(state),
            after.map(state),
        );
        self.backend.buyers().append_audit(&entry).await?;
        Ok(())
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), ModelsError> {
        let entry = AuditEntry::new(
            self.now(),
            wall_nanos(),
            actor,
            action,
            MODEL_TARGET.to_owned(),
            before,
            after,
        );
        self.backend.buyers().append_audit(&entry).await?;
        Ok(())
    }
}

/// The wall clock's nanoseconds, to keep apart the audit ids of one business-clock moment.
fn wall_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
