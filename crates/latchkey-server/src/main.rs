//! `latchkey-server`: the reset service's command line. Glue only; the work is in the library.
// A command-line tool prints its answers to standard output.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use latchkey_server::{Config, Dependencies, demo};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "latchkey-server",
    version,
    about = "Latchkey self-service password reset service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// Configuration file (TOML); LATCHKEY_<SECTION>__<KEY> variables override it.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Run with demo users on the embedded directory; data under --data-dir.
        #[arg(long)]
        demo: bool,
        /// Where the demo keeps its databases, key and mail.
        #[arg(long, default_value = "latchkey-demo")]
        data_dir: PathBuf,
    },
    /// Check a configuration and exit.
    CheckConfig {
        /// Configuration file (TOML).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the OpenAPI document.
    Openapi,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            demo,
            data_dir,
        } => {
            let mut cfg = Config::load(config.as_deref(), std::env::vars())?;
            init_logging(&cfg);
            if demo {
                cfg = demo::configure(cfg, &data_dir)?;
            }
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(serve(cfg, demo, data_dir))
        }
        Command::CheckConfig { config } => {
            Config::load(config.as_deref(), std::env::vars())?;
            println!("configuration is valid");
            Ok(())
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&latchkey_server::openapi())
                    .context("serialising the OpenAPI document")?
            );
            Ok(())
        }
    }
}

async fn serve(cfg: Config, demo: bool, data_dir: PathBuf) -> anyhow::Result<()> {
    let running = latchkey_server::start(cfg, Dependencies::default()).await?;
    if demo {
        demo::seed(&running.state).await?;
        let mail = data_dir.join("mail");
        println!(
            "Latchkey demo: {}/api/v1 — demo users are listed in README.md; mail goes to {}",
            running.base_url(),
            mail.display()
        );
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

fn init_logging(cfg: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
