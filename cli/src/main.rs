//! `aurum`: the whole system on one machine, and its operations.

use clap::{Parser, Subcommand};
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
    /// Serve every endpoint on one port over the embedded store.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000", env = "AURUM_ADDR")]
        addr: SocketAddr,
        /// Directory of the embedded database.
        #[arg(long, default_value = ".aurum", env = "AURUM_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Print the OpenAPI 3.1 document of every endpoint `serve` answers.
    Openapi {
        /// Write it to this file instead of standard output (the committed copy is
        /// docs/openapi.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    aurum::telemetry::init();
    match Cli::parse().command {
        Command::Serve { addr, data_dir } => {
            let store = aurum_cli::open_store(&data_dir)?;
            let listener = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(%addr, data_dir = %data_dir.display(), "aurum serving");
            aurum_cli::serve(listener, store, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        Command::Openapi { out } => {
            let document = aurum_cli::openapi_json_pretty();
            match out {
                Some(path) => std::fs::write(&path, document)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                None => print!("{document}"),
            }
        }
    }
    Ok(())
}
