//! `aurum model load | promote | rollback` and `aurum experiments start | stop`: the sales
//! console's model and experiment changes from a shell, through the same use case as the
//! API (audited as the operator `cli`). Each returns the lines to print.

use aurum::backend::Backend;
use aurum::domain::learning::offline::OfflineModelFile;
use aurum::usecases::console_models::ModelsConsole;

/// Who the audit names for a change made from the shell.
pub const ACTOR: &str = "cli";

/// A change to the configured store.
#[derive(Debug, Clone)]
pub enum Change {
    /// A model file's JSON (`aurum model train`'s output), and whether to promote it too.
    Load {
        json: String,
        promote: bool,
    },
    Promote {
        version: u32,
    },
    /// Promotes the version the one in force was built on.
    Rollback,
    /// An experiments file's TOML.
    StartExperiments {
        toml: String,
    },
    StopExperiment {
        id: String,
    },
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Makes `change` on `backend`'s store.
pub async fn run<B: Backend>(backend: B, change: Change) -> Result<Vec<String>, Error> {
    let console = ModelsConsole::new(backend);
    let mut out = Vec::new();
    match change {
        Change::Load { json, promote } => {
            let file = OfflineModelFile::parse(&json)?;
            let v = console.load(&file, ACTOR).await?;
            out.push(format!(
                "loaded as version {} (held-out log loss {:.4} on {} rows), built on version {}",
                v.version, v.evaluation.log_loss, v.evaluation.samples, v.parent_version
            ));
            if promote {
                let p = console.promote(v.version, v.parent_version, ACTOR).await?;
                out.push(promoted(&p));
            } else {
                out.push(format!(
                    "not in force: `aurum model promote {}` puts it in force",
                    v.version
                ));
            }
        }
        Change::Promote { version } => {
            let current = console.current_version().await?;
            out.push(promoted(&console.promote(version, current, ACTOR).await?));
        }
        Change::Rollback => {
            let (current, parent) = console.parent_of_current().await?;
            out.push(promoted(&console.promote(parent, current, ACTOR).await?));
        }
        Change::StartExperiments { toml } => {
            let file = crate::experiments::read(&toml)?;
            let record = console.start_experiments(file, ACTOR).await?;
            for e in &record.set.experiments {
                let variants: Vec<String> = e
                    .variants
                    .iter()
                    .map(|v| format!("{} ×{:.2}", v.id, f64::from(v.price_bps) / 10_000.0))
                    .collect();
                out.push(format!(
                    "started {} ({}: {})",
                    e.id,
                    e.buyer_tier.as_str(),
                    variants.join(", ")
                ));
            }
        }
        Change::StopExperiment { id } => {
            let record = console.stop_experiment(&id, ACTOR).await?;
            out.push(format!(
                "stopped {id}; {} experiment(s) go on",
                record.set.experiments.len()
            ));
        }
    }
    Ok(out)
}

fn promoted(p: &aurum::usecases::console_models::Promotion) -> String {
    let verb = if p.action == "model.rolled_back" {
        "rolled back"
    } else {
        "promoted"
    };
    format!(
        "{verb}: version {} in force (was {}); conversations score with it from their next turn",
        p.current_version, p.previous_version
    )
}
