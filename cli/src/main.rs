//! `aurum`: the whole system on one machine, and its operations.

use aurum::adapters::aws::AwsBackend;
use aurum::adapters::embedded::EmbeddedBackend;
use aurum::adapters::setup::{operator_sdk_config, setup};
use aurum::backend::Backend;
use aurum::config::{BackendKind, Config};
use aurum::domain::buyer::{BuyerId, WebhookSecret};
use aurum_cli::Exposure;
use aurum_cli::buyer_client;
use aurum_cli::sandbox_clock::SandboxClock;
use aurum_cli::simulate::{Scenario, simulate, summary};
use aurum_cli::simulate_days::{DaysScenario, days_summary, simulate_days};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "aurum",
    version,
    about = "Aurum revenue engine: local runs and operations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum JobCommand {
    /// Run one job for the current window (a window that already ran is left alone).
    Run {
        /// model_update, routing_update, conversation_rules or kpi_monitor.
        job: String,
        /// Directory of the embedded database (stop `aurum serve` first: one process
        /// holds it).
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
}

/// Runs a buyers command through the sales console's use case, as the operator `cli`.
async fn buyers_command<B: Backend>(
    backend: B,
    command: BuyersCommand,
    imported: Option<Vec<aurum::domain::buyer::Buyer>>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use aurum::usecases::console::{Console, Standing, StandingChange};
    let outbound = backend.config().outbound;
    let console = Console::new(backend, outbound, None);
    let actor = "cli";
    let change = |id: &str, standing: Standing, reason: Option<String>| {
        let console = &console;
        let id = id.to_owned();
        async move {
            let version = console.get(&id).await?.version;
            console
                .set_standing(
                    &id,
                    StandingChange {
                        standing,
                        reason,
                        version,
                    },
                    actor,
                )
                .await
        }
    };
    match command {
        BuyersCommand::Import { .. } => {
            console.import(imported.unwrap_or_default(), actor).await?;
        }
        BuyersCommand::List { .. } => {
            for b in console.list().await? {
                println!(
                    "{}\t{}\t{}\tversion {}{}",
                    b.terms.id,
                    b.terms.tier.as_str(),
                    serde_json::to_value(b.standing)?
                        .as_str()
                        .unwrap_or_default(),
                    b.version,
                    b.pause
                        .map(|p| format!("\t{}", p.reason))
                        .unwrap_or_default()
                );
            }
        }
        BuyersCommand::Pause { buyer, reason, .. } => {
            let b = change(&buyer, Standing::Paused, Some(reason)).await?;
            println!("paused {} (version {})", b.terms.id, b.version);
        }
        BuyersCommand::Resume { buyer, .. } => {
            let b = change(&buyer, Standing::Active, None).await?;
            println!("resumed {} (version {})", b.terms.id, b.version);
        }
        BuyersCommand::Deactivate { buyer, .. } => {
            let b = change(&buyer, Standing::Inactive, None).await?;
            println!("deactivated {} (version {})", b.terms.id, b.version);
        }
        BuyersCommand::RotateSecret {
            buyer,
            overlap_hours,
            ..
        } => {
            let version = console.get(&buyer).await?.version;
            let fresh = console
                .rotate_secret(&buyer, version, overlap_hours, actor)
                .await?;
            // The one time the secret is shown: on stdout, for the operator to hand over.
            println!("{}", fresh.secret);
            if let Some(until) = fresh.previous_valid_until {
                eprintln!(
                    "{}: new secret above (shown once); the previous one verifies until {until}",
                    fresh.buyer_id
                );
            }
        }
        BuyersCommand::Audit { limit, .. } => {
            for e in console.audit(limit.clamp(1, 500)).await? {
                println!("{}\t{}\t{}\t{}", e.at, e.actor, e.action, e.target);
            }
        }
    }
    Ok(())
}

async fn run_job<B: aurum::backend::Backend>(
    backend: &B,
    job: aurum::usecases::jobs::Job,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let now = (backend.clock())();
    match aurum::usecases::jobs::Jobs::new(backend)
        .run(job, now)
        .await?
    {
        aurum::usecases::jobs::RunOutcome::AlreadyRan => {
            println!("{}: window {} already ran", job.name(), job.window_of(now));
        }
        aurum::usecases::jobs::RunOutcome::Ran(record) => {
            println!(
                "{}: window {}: {}",
                job.name(),
                record.window,
                record.summary
            );
        }
    }
    Ok(())
}

/// One function's Lambda runtime loop over `backend`.
async fn lambda<B: Backend>(
    function: &str,
    backend: &B,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use aurum::function::{HttpFunction, QueueFunction, serve_http, serve_sqs};
    match function {
        aurum_conversation::Conversation::NAME => {
            serve_http::<aurum_conversation::Conversation, _>(backend).await
        }
        aurum_dashboard::Dashboard::NAME => {
            serve_http::<aurum_dashboard::Dashboard, _>(backend).await
        }
        aurum_feedback::Feedback::NAME => serve_http::<aurum_feedback::Feedback, _>(backend).await,
        aurum_router::Router::NAME => serve_sqs::<aurum_router::Router, _>(backend).await,
        "jobs" => aurum_jobs::serve(backend).await,
        other => Err(format!(
            "unknown function {other:?}: conversation, dashboard, feedback, router or jobs"
        )
        .into()),
    }
}

/// `count` events for `function`: generated conversation turns or router batches, or the
/// function's sample events (`<function>-*.json` in `dir`) cycled.
fn bench_events(
    function: &str,
    count: usize,
    seed: u64,
    dir: &std::path::Path,
) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
    use aurum_cli::lambda_bench::{conversation_events, router_events};
    match function {
        "conversation" => {
            // Chats are 2 to 7 turns: enough of them, then cut at `count`.
            let mut events = conversation_events(seed, count);
            events.truncate(count);
            Ok(events)
        }
        "router" => {
            let path = dir.join("router-lead-batch.json");
            let template = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok(router_events(&template, seed, count, 10))
        }
        _ => {
            let mut samples = Vec::new();
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with(&format!("{function}-")) && n.ends_with(".json")
                    })
                })
                .collect();
            paths.sort();
            for p in paths {
                samples.push(
                    std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
                );
            }
            if samples.is_empty() {
                return Err(
                    format!("no {function}-*.json sample events in {}", dir.display()).into(),
                );
            }
            Ok(samples.iter().cycle().take(count).cloned().collect())
        }
    }
}

/// Serves the sandbox buyer inbox on loopback and imports the example buyers, webhooks
/// pointed at it, into the configured store (with `aurum buyers import`, as an operator
/// would). The inbox runs until the returned task is dropped.
async fn import_bench_buyers() -> Result<AbortOnDrop, Box<dyn std::error::Error + Send + Sync>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let buyers = aurum_cli::buyers::example_buyers_for_sandbox(&base)?;
    let secrets = buyers
        .iter()
        .map(|b| (b.id.clone(), b.secret.clone()))
        .collect();
    let inbox = tokio::spawn(
        axum::serve(listener, aurum_cli::sandbox::sandbox_inbox(secrets)).into_future(),
    );
    let file = std::env::temp_dir().join(format!("aurum-bench-buyers-{}.toml", std::process::id()));
    std::fs::write(&file, aurum_cli::buyers::with_webhooks_at(&base, true))?;
    let status = std::process::Command::new(std::env::current_exe()?)
        .arg("buyers")
        .arg("import")
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .status()?;
    let _ = std::fs::remove_file(&file);
    if !status.success() {
        return Err(format!("aurum buyers import failed ({status})").into());
    }
    Ok(AbortOnDrop(inbox))
}

struct AbortOnDrop(tokio::task::JoinHandle<std::io::Result<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve every endpoint on one port: over the embedded store by default, or over
    /// DynamoDB/SQS/Redis with AURUM_BACKEND=aws.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000", env = "AURUM_ADDR")]
        addr: SocketAddr,
        /// Directory of the embedded database.
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
        /// Serve on an address other machines can reach. Without it a non-loopback
        /// address is refused. With it no sandbox route is mounted (no buyer inbox, no
        /// clock), nothing is seeded, and the sales team's routes need
        /// `Authorization: Bearer $AURUM_SALES_TOKEN` (32+ characters, required).
        #[arg(long)]
        public: bool,
    },
    /// Create every DynamoDB table and SQS queue on the configured endpoint (idempotent).
    Setup,
    /// Run a scheduled job now (`aurum serve` runs them on their schedules).
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
    /// Manage the buyers of the configured store.
    Buyers {
        #[command(subcommand)]
        command: BuyersCommand,
    },
    /// Operate on leads of the configured store.
    Leads {
        #[command(subcommand)]
        command: LeadsCommand,
    },
    /// Manage the pricing experiments of the configured store.
    Experiments {
        #[command(subcommand)]
        command: ExperimentsCommand,
    },
    /// Act as a buyer on the feedback endpoint.
    Feedback {
        #[command(subcommand)]
        command: FeedbackCommand,
    },
    /// Play multi-turn homeowner conversations against a local `aurum serve` from many
    /// connections and report turns per second, latency percentiles and the CPU used
    /// (loopback only; stops after --seconds or once every session is played).
    Load {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Conversations to play (each a script of 2 to 7 turns under its own session id).
        #[arg(long, default_value_t = 20_000)]
        sessions: u64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// The server's process id: its CPU time and peak memory are reported too.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Run one function's Lambda runtime loop (the Runtime API at AWS_LAMBDA_RUNTIME_API)
    /// over the configured backend: the embedded store by default, AURUM_BACKEND=aws as the
    /// deployed binaries do. What `aurum lambda-bench` starts for the embedded figures.
    Lambda {
        /// conversation, dashboard, feedback, router or jobs.
        function: String,
        /// Directory of the embedded database.
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Start a function process under a local Lambda Runtime API and measure its cold
    /// start (process start to first poll), first event, warm events and peak memory
    /// (loopback only; stops after its events). The process is the program after `--`,
    /// e.g. a function binary (AWS backend) or `aurum lambda NAME` (embedded).
    LambdaBench {
        /// conversation, dashboard, feedback, router or jobs: which events to send.
        #[arg(long)]
        function: String,
        /// Events after the first: conversation turns, router batches of 10 leads, or the
        /// function's sample events from --events-dir, cycled.
        #[arg(long, default_value_t = 500)]
        events: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value = "events")]
        events_dir: PathBuf,
        /// AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MB.
        #[arg(long, default_value_t = 128)]
        memory_mb: u32,
        /// Import the example buyers into the configured store first, their webhooks
        /// pointed at a loopback buyer inbox this command serves, open at every hour and
        /// with the largest daily caps (for the router: every lead sold and delivered).
        #[arg(long)]
        buyers_inbox: bool,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// The function process and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Print the OpenAPI 3.1 document of every endpoint `serve` answers, or of one
    /// function's Lambda.
    Openapi {
        /// Write it to this file instead of standard output (the committed copies are
        /// docs/openapi.json and functions/NAME/openapi.json).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only this HTTP function's document, as its Lambda serves it.
        #[arg(long)]
        function: Option<String>,
    },
    /// Train the scoring model's learner on a CSV of past leads, or score leads with it;
    /// load a trained model as a scoring-model version, promote a version, roll back.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Play synthetic days of business through a running `aurum serve` (homeowners chat,
    /// buyers answer with signed feedback, the server's sandbox clock set to each simulated
    /// moment), or, with `routing`, an offline routing simulation.
    #[command(args_conflicts_with_subcommands = true)]
    Simulate {
        #[command(subcommand)]
        what: Option<Simulation>,
        #[command(flatten)]
        traffic: TrafficArgs,
    },
}

#[derive(Subcommand)]
enum Simulation {
    /// A synthetic day of leads routed by each strategy, against the offline optimum.
    Routing(RoutingSimulation),
    /// The scoring-model update on feedback from a known true model, then a poisoned window.
    Learning {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Feedback events (sold leads with a known outcome).
        #[arg(long, default_value_t = 5_000)]
        events: usize,
        /// Events between two runs of the job.
        #[arg(long, default_value_t = 1_000)]
        window: usize,
    },
    /// The router and queue consumer of `aurum serve` on a fresh embedded store, against
    /// loopback buyers that fail as webhooks fail, with withdrawals, the reconcile step and
    /// a redrive: how every lead ended and whether each buyer's books balance.
    Faults {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 200)]
        leads: usize,
    },
    /// A pricing experiment (Thompson sampling) over three price variants.
    Pricing {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 10_000)]
        offers: usize,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Train on a CSV with a header row: every column but the target is a feature
    /// (numeric, or categorical text one-hot encoded with rare levels pooled; empty cells
    /// allowed); the target is 0 or 1. Prints the held-out log loss and AUC.
    Train {
        #[arg(long)]
        csv: PathBuf,
        /// The 0/1 outcome column.
        #[arg(long)]
        target: String,
        /// Where to write the model (JSON).
        #[arg(long)]
        out: PathBuf,
        /// Read this column as text even if every cell is a number (a ZIP code, say).
        #[arg(long)]
        categorical: Vec<String>,
        /// A text level on fewer rows than this is pooled into `(other)`.
        #[arg(long, default_value_t = 10)]
        min_level_rows: usize,
    },
    /// Write one `probability` per row of the CSV, in order (a target column is ignored).
    Score {
        #[arg(long)]
        csv: PathBuf,
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Store a model `train` wrote (on the columns base_qualification, behavioral,
    /// market_timing and nyc_intelligence) as a new scoring-model version: in the embedded
    /// store (--data-dir) or DynamoDB (AURUM_BACKEND=aws). Not in force until promoted.
    Load {
        file: PathBuf,
        /// Put it in force at once.
        #[arg(long)]
        promote: bool,
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Put a stored version in force (1 is the built-in model); conversations score with it
    /// from their next turn.
    Promote {
        version: u32,
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Put back the version the one in force was built on.
    Rollback {
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Args)]
struct TrafficArgs {
    /// Whole New York days before today to simulate (today up to now comes on top).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=i64::from(aurum_cli::traffic::MAX_DAYS)))]
    days: u32,
    /// Names the traffic: the same seed gives the same chats and buyer answers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Base URL of the running `aurum serve`.
    #[arg(long, default_value = aurum_cli::traffic::DEFAULT_URL, env = "AURUM_API_URL")]
    url: String,
}

#[derive(Args)]
struct RoutingSimulation {
    /// Names the scenario: the same seed gives the same day, the same JSON.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Leads on the scored day (buyers' caps scale with it so that capacity binds).
    #[arg(long, default_value_t = 400)]
    leads: usize,
    /// Write the scenario, every strategy's assignment and revenue to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Earlier days of the same kind that bid_price learns its bid prices from.
    #[arg(long, default_value_t = 5)]
    warmup_days: u32,
    /// Warm-up days' lead volume as a percentage of the scored day's: away from 100 the
    /// forecast bid_price learns from is wrong by that much.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(10..=1000))]
    warmup_volume_percent: u32,
    /// The scored day, in New York.
    #[arg(long, default_value = "2026-03-02")]
    date: NaiveDate,
    /// Let bid_price sell a lead whose value is below every eligible buyer's bid price (to
    /// the highest net value); the router holds such a lead unsold.
    #[arg(long)]
    sell_below_bid_price: bool,
    /// Several days from --date instead of one scored day: buyer hours and daily caps,
    /// leads that wait and are offered again, prices that decay with age, ping-post
    /// marketplaces and consent that names who may call; --leads is then a weekday's volume
    /// and the optimum is over lead × buyer × day within the shelf life.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=28))]
    days: Option<u32>,
    /// With --days: how long a lead may wait for a buyer.
    #[arg(long, default_value_t = 72, requires = "days", value_parser = clap::value_parser!(u32).range(1..=720))]
    shelf_life_hours: u32,
}

#[derive(Subcommand)]
enum LeadsCommand {
    /// Move the dead-letter queue's lead messages back to the lead queue, oldest first: the
    /// router then routes each lead again (a lead the reconcile step marked dead-lettered
    /// is queued again, its earlier buyer excluded). Run it once the cause is fixed. On the
    /// embedded store (--data-dir) with `aurum serve` stopped, or on SQS
    /// (AURUM_BACKEND=aws, the queues named by AURUM_LEAD_QUEUE_NAME and
    /// AURUM_LEAD_DLQ_NAME).
    Redrive {
        /// At most this many messages.
        #[arg(long, default_value_t = 1_000)]
        max: usize,
        /// Directory of the embedded database.
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum BuyersCommand {
    /// Validate a buyer file (TOML, see examples/buyers.toml) and write every buyer in one
    /// transaction: into the embedded store (--data-dir) or DynamoDB (AURUM_BACKEND=aws).
    /// A bad file names the buyer and field and imports nothing.
    Import {
        file: PathBuf,
        /// Directory of the embedded database.
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Every buyer: id, tier, standing, version (never a secret).
    List {
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Pause a buyer: routing skips it and its trace shows the reason.
    Pause {
        buyer: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Resume a paused (or activate a deactivated) buyer.
    Resume {
        buyer: String,
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Deactivate a buyer: it takes no leads until resumed.
    Deactivate {
        buyer: String,
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Give a buyer a new secret, printed once; the current one keeps verifying (and
    /// deliveries carry a signature with each) for the overlap, then retires by itself.
    RotateSecret {
        buyer: String,
        #[arg(long, default_value_t = aurum::usecases::console::DEFAULT_OVERLAP_HOURS)]
        overlap_hours: u32,
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// The newest changes to buyers: who, when, what (never a secret).
    Audit {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum ExperimentsCommand {
    /// Validate an experiments file (TOML, see examples/experiments.toml) and make it the
    /// experiments in force, counting from now: in the embedded store (--data-dir) or
    /// DynamoDB (AURUM_BACKEND=aws). A bad file names the experiment and starts nothing.
    Start {
        file: PathBuf,
        /// Directory of the embedded database.
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Stop a running experiment: its buyer tier is priced at the list price again.
    Stop {
        /// The experiment's id.
        id: String,
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum FeedbackCommand {
    /// Sign feedback on a lead with the buyer's secret (Standard Webhooks) and post it to
    /// POST /api/v1/revenue/buyer-feedback; prints the status and the JSON answer, and
    /// exits non-zero on a refusal.
    Send {
        /// The buyer posting (its id, as in the buyer file).
        #[arg(long)]
        buyer: String,
        /// The buyer's signing secret, `whsec_…` (prefer the environment variable: a flag
        /// stays in the shell history).
        #[arg(long, env = "AURUM_BUYER_SECRET", hide_env_values = true)]
        secret: String,
        /// The lead, as delivered in `lead.sold`.
        #[arg(long)]
        lead: String,
        /// accepted, rejected, returned or converted.
        feedback_type: String,
        /// Reason code of a rejection or return: wrong_number, not_homeowner, duplicate,
        /// outside_service_area, no_consent, unreachable, other (rejections only).
        #[arg(long)]
        reason: Option<String>,
        /// Conversion value in US dollars (converted).
        #[arg(long)]
        value: Option<f64>,
        /// The buyer's 0-10 rating of the lead.
        #[arg(long)]
        score: Option<f64>,
        /// Free-text notes.
        #[arg(long)]
        notes: Option<String>,
        /// The message id (`webhook-id`); a fresh one by default. Send the same id again to
        /// retry a message safely.
        #[arg(long)]
        message_id: Option<String>,
        /// Base URL of the API.
        #[arg(long, default_value = "http://127.0.0.1:3000", env = "AURUM_API_URL")]
        url: String,
    },
}

/// Makes a model or experiments change on the configured store (embedded or AWS).
async fn store_change(
    data_dir: PathBuf,
    change: aurum_cli::console_models::Change,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut config = Config::from_env(BackendKind::Embedded)?;
    config.data_dir = data_dir;
    let lines = match config.backend {
        BackendKind::Embedded => {
            aurum_cli::console_models::run(EmbeddedBackend::from_config(config)?, change).await
        }
        BackendKind::Aws => {
            aurum_cli::console_models::run(AwsBackend::connect(&config).await?, change).await
        }
    }
    .map_err(|e| format!("{e}; nothing changed"))?;
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    aurum::telemetry::init();
    match Cli::parse().command {
        Command::Serve {
            addr,
            data_dir,
            public,
        } => {
            aurum::domain::init()?;
            let mut config = Config::from_env(BackendKind::Embedded)?;
            config.data_dir = data_dir;
            let sales_token = serve_exposure(addr, public)?;
            let listener = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(%addr, backend = ?config.backend, "aurum serving");
            let ctrl_c = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            // System time until `aurum simulate` moves it (local only: no Lambda has it, and
            // a public server does not mount it).
            let sandbox_clock = SandboxClock::new();
            config.clock_settable = sales_token.is_none();
            let exposure = |clock: SandboxClock| match &sales_token {
                Some(token) => Exposure::Public {
                    sales_token: token.clone(),
                },
                None => Exposure::Local(Some(clock)),
            };
            match config.backend {
                BackendKind::Embedded => {
                    let backend =
                        EmbeddedBackend::from_config_with_clock(config, sandbox_clock.clock())?;
                    aurum_cli::serve(listener, backend, exposure(sandbox_clock), ctrl_c).await?;
                }
                BackendKind::Aws => {
                    let mut backend = AwsBackend::connect(&config).await?;
                    backend.clock = sandbox_clock.clock();
                    aurum_cli::serve(listener, backend, exposure(sandbox_clock), ctrl_c).await?;
                }
            }
        }
        Command::Leads {
            command: LeadsCommand::Redrive { max, data_dir },
        } => {
            let mut config = Config::from_env(BackendKind::Embedded)?;
            config.data_dir = data_dir;
            let moved = match config.backend {
                BackendKind::Embedded => {
                    let backend = EmbeddedBackend::from_config(config)?;
                    backend.store.redrive_dead_letters(max).await?
                }
                BackendKind::Aws => {
                    let backend = AwsBackend::connect(&config).await?;
                    let dlq = aurum::adapters::aws::sqs::SqsLeadQueue::url_for(
                        backend.queue.client(),
                        &config.aws.lead_dlq_name,
                    )
                    .await?;
                    backend.queue.redrive_from(&dlq, max).await?
                }
            };
            for lead_id in &moved {
                println!("redriven {lead_id}");
            }
            println!("{} lead message(s) back on the lead queue", moved.len());
        }
        Command::Buyers {
            command: BuyersCommand::Import { file, data_dir },
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let buyers = aurum_cli::buyers::parse(&text)
                .map_err(|e| format!("{}: {e}; nothing imported", file.display()))?;
            let mut config = Config::from_env(BackendKind::Embedded)?;
            config.data_dir = data_dir;
            // Where this deployment may send: a buyer delivery would refuse is not stored.
            for b in &buyers {
                b.validate_for(config.outbound)
                    .map_err(|e| format!("{}: {e}; nothing imported", file.display()))?;
            }
            let printed = buyers.clone();
            let import = BuyersCommand::Import {
                file: file.clone(),
                data_dir: config.data_dir.clone(),
            };
            match config.backend {
                BackendKind::Embedded => {
                    let backend = EmbeddedBackend::from_config(config)?;
                    buyers_command(backend, import, Some(buyers))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                BackendKind::Aws => {
                    let backend = AwsBackend::connect(&config).await?;
                    buyers_command(backend, import, Some(buyers))
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            for b in &printed {
                println!(
                    "imported {} ({}, {} leads/day{})",
                    b.id,
                    b.tier.as_str(),
                    b.daily_cap,
                    if b.active { "" } else { ", paused" }
                );
            }
        }
        Command::Buyers { command } => {
            let data_dir = match &command {
                BuyersCommand::Import { data_dir, .. }
                | BuyersCommand::List { data_dir }
                | BuyersCommand::Pause { data_dir, .. }
                | BuyersCommand::Resume { data_dir, .. }
                | BuyersCommand::Deactivate { data_dir, .. }
                | BuyersCommand::RotateSecret { data_dir, .. }
                | BuyersCommand::Audit { data_dir, .. } => data_dir.clone(),
            };
            let mut config = Config::from_env(BackendKind::Embedded)?;
            config.data_dir = data_dir;
            match config.backend {
                BackendKind::Embedded => {
                    buyers_command(EmbeddedBackend::from_config(config)?, command, None)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                BackendKind::Aws => {
                    buyers_command(AwsBackend::connect(&config).await?, command, None)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        Command::Load {
            url,
            connections,
            sessions,
            seconds,
            seed,
            server_pid,
            json,
        } => {
            let report = aurum_cli::load::run(&aurum_cli::load::LoadSettings {
                url,
                connections,
                sessions,
                duration: std::time::Duration::from_secs(seconds),
                seed,
                server_pid,
            })
            .await?;
            println!("{}", aurum_cli::load::summary(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
        Command::Experiments {
            command: ExperimentsCommand::Start { file, data_dir },
        } => {
            let toml = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            // Checked before the store opens: a bad file names the experiment.
            aurum_cli::experiments::parse(&toml, chrono::Utc::now())
                .map_err(|e| format!("{}: {e}; nothing started", file.display()))?;
            store_change(
                data_dir,
                aurum_cli::console_models::Change::StartExperiments { toml },
            )
            .await?;
        }
        Command::Experiments {
            command: ExperimentsCommand::Stop { id, data_dir },
        } => {
            store_change(
                data_dir,
                aurum_cli::console_models::Change::StopExperiment { id },
            )
            .await?;
        }
        Command::Job {
            command: JobCommand::Run { job, data_dir },
        } => {
            let job = aurum::usecases::jobs::Job::parse(&job).ok_or_else(|| {
                format!("unknown job {job:?}: model_update, routing_update, conversation_rules or kpi_monitor")
            })?;
            aurum::domain::init()?;
            let mut config = Config::from_env(BackendKind::Embedded)?;
            config.data_dir = data_dir;
            match config.backend {
                BackendKind::Embedded => {
                    run_job(&EmbeddedBackend::from_config(config)?, job).await?;
                }
                BackendKind::Aws => run_job(&AwsBackend::connect(&config).await?, job).await?,
            }
        }
        Command::Setup => {
            let config = Config::from_env(BackendKind::Aws)?;
            let report = setup(&operator_sdk_config().await, &config.aws).await?;
            for resource in &report.created {
                println!("created  {resource}");
            }
            for resource in &report.existing {
                println!("existing {resource}");
            }
            println!("lead queue: {}", report.lead_queue_url);
            println!("dead-letter queue: {}", report.lead_dlq_url);
        }
        Command::Feedback {
            command:
                FeedbackCommand::Send {
                    buyer,
                    secret,
                    lead,
                    feedback_type,
                    reason,
                    value,
                    score,
                    notes,
                    message_id,
                    url,
                },
        } => {
            let buyer = BuyerId::parse(&buyer).map_err(|e| format!("--buyer {e}"))?;
            let secret = WebhookSecret::parse(&secret).map_err(|e| format!("--secret {e}"))?;
            let mut body = serde_json::json!({
                "lead_id": lead,
                "buyer_id": buyer.as_str(),
                "feedback_type": feedback_type,
            });
            for (field, v) in [
                ("reason_code", reason.map(serde_json::Value::from)),
                ("conversion_value", value.map(serde_json::Value::from)),
                ("feedback_score", score.map(serde_json::Value::from)),
                ("buyer_notes", notes.map(serde_json::Value::from)),
            ] {
                if let Some(v) = v {
                    body[field] = v;
                }
            }
            let message_id = message_id.unwrap_or_else(buyer_client::new_message_id);
            let sender = buyer_client::FeedbackSender::new(std::time::Duration::from_secs(15))?;
            let answer = sender
                .send(
                    &url,
                    &buyer,
                    &secret,
                    &message_id,
                    chrono::Utc::now(),
                    body.to_string().as_bytes(),
                )
                .await?;
            let replayed = answer
                .headers
                .get(aurum_feedback::HEADER_REPLAYED)
                .is_some();
            println!(
                "{} (webhook-id {message_id}{})",
                answer.status,
                if replayed {
                    ", a repeat: first result"
                } else {
                    ""
                }
            );
            println!("{}", String::from_utf8_lossy(&answer.body));
            if !(200..300).contains(&answer.status) {
                std::process::exit(1);
            }
        }
        Command::Lambda { function, data_dir } => {
            // As in the function binaries: the tables parse while the store opens.
            let tables = tokio::task::spawn_blocking(aurum::domain::init);
            let mut config = Config::from_env(BackendKind::Embedded)?;
            config.data_dir = data_dir;
            match config.backend {
                BackendKind::Embedded => {
                    let backend = EmbeddedBackend::from_config(config)?;
                    tables.await??;
                    lambda(&function, &backend).await?;
                }
                BackendKind::Aws => {
                    let backend = AwsBackend::connect(&config).await?;
                    backend.warm().await;
                    tables.await??;
                    lambda(&function, &backend).await?;
                }
            }
        }
        Command::LambdaBench {
            function,
            events,
            seed,
            events_dir,
            memory_mb,
            buyers_inbox,
            json,
            command,
        } => {
            let payloads = bench_events(&function, events + 1, seed, &events_dir)?;
            let _inbox = if buyers_inbox {
                Some(import_bench_buyers().await?)
            } else {
                None
            };
            let report = aurum_cli::lambda_bench::run(aurum_cli::lambda_bench::LambdaRun {
                command,
                function,
                memory_mb,
                events: payloads,
                env: Vec::new(),
            })
            .await?;
            println!("{}", aurum_cli::lambda_bench::summary(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
        Command::Openapi { out, function } => {
            let document = match function {
                None => aurum_cli::openapi_json_pretty(),
                Some(name) => {
                    let functions = aurum_cli::http_functions();
                    let Some(f) = functions.iter().find(|f| f.name == name) else {
                        let names: Vec<&str> = functions.iter().map(|f| f.name).collect();
                        return Err(format!(
                            "no HTTP function {name:?}; one of {}",
                            names.join(", ")
                        )
                        .into());
                    };
                    (f.generated_openapi_json)()
                }
            };
            match out {
                Some(path) => std::fs::write(&path, document)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                None => print!("{document}"),
            }
        }
        Command::Model { command } => {
            let offline = match command {
                ModelCommand::Train {
                    csv,
                    target,
                    out,
                    categorical,
                    min_level_rows,
                } => aurum_cli::model::Command::Train {
                    csv,
                    out,
                    options: aurum_cli::model::TrainOptions {
                        categorical,
                        min_level_rows,
                        ..aurum_cli::model::TrainOptions::new(target)
                    },
                },
                ModelCommand::Score { csv, model, out } => {
                    aurum_cli::model::Command::Score { csv, model, out }
                }
                ModelCommand::Load {
                    file,
                    promote,
                    data_dir,
                } => {
                    let json = std::fs::read_to_string(&file)
                        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                    let change = aurum_cli::console_models::Change::Load { json, promote };
                    return store_change(data_dir, change)
                        .await
                        .map_err(|e| format!("{}: {e}", file.display()).into());
                }
                ModelCommand::Promote { version, data_dir } => {
                    let change = aurum_cli::console_models::Change::Promote { version };
                    return store_change(data_dir, change).await;
                }
                ModelCommand::Rollback { data_dir } => {
                    return store_change(data_dir, aurum_cli::console_models::Change::Rollback)
                        .await;
                }
            };
            if let Err(e) = aurum_cli::model::run(offline) {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
        Command::Simulate {
            what:
                Some(Simulation::Learning {
                    seed,
                    events,
                    window,
                }),
            ..
        } => {
            let report = aurum_cli::learning::simulate_learning(seed, events, window);
            print!("{}", aurum_cli::learning::learning_summary(&report));
        }
        Command::Simulate {
            what: Some(Simulation::Faults { seed, leads }),
            ..
        } => {
            let report = aurum_cli::chaos::run(seed, leads).await?;
            print!("{}", report.markdown());
            if !report.sound() {
                return Err("a lead was left in flight or a buyer's books do not balance".into());
            }
        }
        Command::Simulate {
            what: Some(Simulation::Pricing { seed, offers }),
            ..
        } => {
            let report = aurum_cli::learning::simulate_pricing(seed, offers)?;
            print!("{}", aurum_cli::learning::pricing_summary(&report));
        }
        Command::Simulate {
            what: None,
            traffic,
        } => {
            let traffic = aurum_cli::traffic::Traffic {
                days: traffic.days,
                seed: traffic.seed,
                url: traffic.url,
            };
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg:>10} [{bar:40}] {pos}/{len} chats ({elapsed})",
                )?
                .progress_chars("=> "),
            );
            let report = aurum_cli::traffic::run(&traffic, |done, total, day| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                bar.set_message(day.to_string());
            })
            .await;
            bar.finish_and_clear();
            print!("{}", aurum_cli::traffic::summary(&traffic, &report?));
        }
        Command::Simulate {
            what: Some(Simulation::Routing(args)),
            ..
        } => {
            if let Some(days) = args.days {
                let scenario = DaysScenario {
                    start: args.date,
                    shelf_life_hours: args.shelf_life_hours,
                    warmup_days: args.warmup_days,
                    ..DaysScenario::new(args.seed, args.leads, days)
                };
                let report = simulate_days(&scenario)?;
                write_report(args.json.as_deref(), &report)?;
                print!("{}", days_summary(&report));
                return Ok(());
            }
            let scenario = Scenario {
                sell_below_bid_price: args.sell_below_bid_price,
                warmup_days: args.warmup_days,
                warmup_volume_percent: args.warmup_volume_percent,
                date: args.date,
                ..Scenario::new(args.seed, args.leads)
            };
            let report = simulate(&scenario)?;
            write_report(args.json.as_deref(), &report)?;
            print!("{}", summary(&scenario, &report));
        }
    }
    Ok(())
}

/// Whether `aurum serve` may listen on `addr`, and the sales team's token when it serves
/// publicly: a non-loopback address needs `--public`, and `--public` needs
/// `AURUM_SALES_TOKEN` (32+ characters).
fn serve_exposure(
    addr: SocketAddr,
    public: bool,
) -> Result<Option<String>, Box<dyn std::error::Error + Send + Sync>> {
    if !public {
        if !addr.ip().is_loopback() {
            return Err(format!(
                "refusing to serve on {addr}: it is not a loopback address, and this server's \
                 dashboard, leads, statements and sandbox clock have no authentication; \
                 serve on 127.0.0.1, or pass --public (no sandbox routes, the sales team's \
                 routes behind AURUM_SALES_TOKEN)"
            )
            .into());
        }
        return Ok(None);
    }
    match std::env::var("AURUM_SALES_TOKEN") {
        Ok(token) if token.trim().len() >= 32 => Ok(Some(token.trim().to_owned())),
        _ => Err(
            "--public needs AURUM_SALES_TOKEN (32 or more characters): the sales \
                  team's routes take it as a bearer token"
                .into(),
        ),
    }
}

/// Writes a simulation's report as pretty JSON to `path`, if one is given.
fn write_report(
    path: Option<&std::path::Path>,
    report: &impl serde::Serialize,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
