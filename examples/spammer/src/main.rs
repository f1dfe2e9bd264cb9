//! `spammer`: generate transaction load against an EVM chain.

mod run;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Generate transaction load against an EVM chain you operate or test on.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Closed-loop load: workers run weighted tasks from the dev mnemonic's accounts, then a report.
    ///
    /// Without --rpc-url, starts its own anvil (installed by ./scripts/setup.sh).
    Run(run::RunArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("SPAM_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Run(args) => run::run(args).await,
    };
    match result {
        Ok(report) => {
            println!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
