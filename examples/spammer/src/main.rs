//! `spammer`: generate transaction load against an EVM chain.

mod proxies;
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
    /// Proxy lists: check every proxy of a list against a node.
    #[command(subcommand)]
    Proxies(proxies::ProxiesCommand),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // `proxies check` prints every failure in its table; the pool's ban warnings would repeat it.
    let default_filter = match cli.command {
        Command::Proxies(_) => "warn,spam::proxy=error",
        Command::Run(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SPAM_LOG").unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Run(args) => run::run(args).await,
        Command::Proxies(command) => return proxies::main(command).await,
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
