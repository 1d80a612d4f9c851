//! `aurum`: the whole system on one machine, and its operations.

use aurum::adapters::aws::{AwsBackend, sdk_config};
use aurum::adapters::embedded::EmbeddedBackend;
use aurum::adapters::setup::setup;
use aurum::config::{BackendKind, Config};
use aurum::ports::BuyerStore;
use aurum_cli::simulate::{Scenario, simulate, summary};
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
    },
    /// Create every DynamoDB table and SQS queue on the configured endpoint (idempotent).
    Setup,
    /// Manage the buyers of the configured store.
    Buyers {
        #[command(subcommand)]
        command: BuyersCommand,
    },
    /// Print the OpenAPI 3.1 document of every endpoint `serve` answers.
    Openapi {
        /// Write it to this file instead of standard output (the committed copy is
        /// docs/openapi.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run seeded simulations of the system's decisions.
    Simulate {
        #[command(subcommand)]
        what: Simulation,
    },
}

#[derive(Subcommand)]
enum Simulation {
    /// A synthetic day of leads routed by each strategy, against the offline optimum.
    Routing(RoutingSimulation),
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
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    aurum::telemetry::init();
    match Cli::parse().command {
        Command::Serve { addr, data_dir } => {
            aurum::domain::init()?;
            let mut config = Config::from_env(BackendKind::Embedded)?;
            config.data_dir = data_dir;
            let listener = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(%addr, backend = ?config.backend, "aurum serving");
            let ctrl_c = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            match config.backend {
                BackendKind::Embedded => {
                    let backend = EmbeddedBackend::from_config(config)?;
                    aurum_cli::run(listener, backend, ctrl_c).await?;
                }
                BackendKind::Aws => {
                    let backend = AwsBackend::connect(&config).await?;
                    aurum_cli::run(listener, backend, ctrl_c).await?;
                }
            }
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
            match config.backend {
                BackendKind::Embedded => {
                    let backend = EmbeddedBackend::from_config(config)?;
                    backend.store.put_buyers(&buyers).await?;
                }
                BackendKind::Aws => {
                    let backend = AwsBackend::connect(&config).await?;
                    backend.store.put_buyers(&buyers).await?;
                    // Routers read the buyers through the cache: drop it so they see these.
                    aurum::distribution::forget_buyers(&backend).await;
                }
            }
            for b in &buyers {
                println!(
                    "imported {} ({}, {} leads/day{})",
                    b.id,
                    b.tier.as_str(),
                    b.daily_cap,
                    if b.active { "" } else { ", paused" }
                );
            }
        }
        Command::Setup => {
            let config = Config::from_env(BackendKind::Aws)?;
            let report = setup(&sdk_config().await, &config.aws).await?;
            for resource in &report.created {
                println!("created  {resource}");
            }
            for resource in &report.existing {
                println!("existing {resource}");
            }
            println!("lead queue: {}", report.lead_queue_url);
            println!("dead-letter queue: {}", report.lead_dlq_url);
        }
        Command::Openapi { out } => {
            let document = aurum_cli::openapi_json_pretty();
            match out {
                Some(path) => std::fs::write(&path, document)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                None => print!("{document}"),
            }
        }
        Command::Simulate {
            what: Simulation::Routing(args),
        } => {
            let scenario = Scenario {
                sell_below_bid_price: args.sell_below_bid_price,
                warmup_days: args.warmup_days,
                warmup_volume_percent: args.warmup_volume_percent,
                date: args.date,
                ..Scenario::new(args.seed, args.leads)
            };
            let report = simulate(&scenario)?;
            if let Some(path) = &args.json {
                let mut text = serde_json::to_string_pretty(&report)?;
                text.push('\n');
                std::fs::write(path, text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            print!("{}", summary(&scenario, &report));
        }
    }
    Ok(())
}
