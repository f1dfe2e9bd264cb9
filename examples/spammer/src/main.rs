//! `spammer`: generate transaction load against an EVM chain.

mod breaker;
mod catalogue;
mod config;
mod devnet;
mod endpoints;
mod funding;
mod input;
mod loadgen;
mod metrics;
mod node;
mod output;
mod progress;
mod proxies;
mod report;
mod run;
mod scenario;
mod senders;
mod shard;
mod table;
mod task;
mod wallets;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Generate transaction load against an EVM chain you operate or test on.
///
/// Exit codes: 0 done (thresholds met), 1 a threshold failed or the run failed, 2 bad input
/// (nothing was written), 3 the node (or another endpoint) did not answer (nothing was
/// written), 130 interrupted.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Log lines as `text` or `json` (one object per line), on stderr. Filter with SPAM_LOG or
    /// RUST_LOG (default `warn`); keys are never logged.
    #[arg(long, value_name = "FORMAT", env = "SPAM_LOG_FORMAT", default_value = "text",
          value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Closed-loop load: workers run weighted tasks from the dev mnemonic's accounts, then a report.
    ///
    /// Without --rpc-url, starts its own anvil (installed by ./scripts/setup.sh).
    Run(Box<run::RunArgs>),
    /// Open-loop load: sends one kind of transaction at a target rate whatever the node does,
    /// counting what it cannot send in time as dropped, then a report.
    ///
    /// Without --rpc-url, starts its own anvil mining a block every second.
    Loadgen(Box<loadgen::LoadgenArgs>),
    /// Runs persisted with --db: list them, or rebuild one run's report.
    Report(report::ReportArgs),
    /// Proxy lists: check every proxy of a list against a node.
    #[command(subcommand)]
    Proxies(proxies::ProxiesCommand),
    /// Lists the built-in workloads: name, category, gas, which engine takes it, what it does.
    Tasks(catalogue::TasksArgs),
    /// Runs one task once on one wallet and prints everything: outcome, transactions, gas,
    /// timing, created assets, or the error class and every cause.
    ///
    /// Without --rpc-url, starts its own anvil. Exit code 1 when the task failed.
    Task(Box<task::TaskArgs>),
    /// Runs tasks in order on one wallet (e.g. deploy, then call), printing each step; stops at
    /// the first failure (exit code 1).
    ///
    /// Without --rpc-url, starts its own anvil.
    Sequence(Box<task::SequenceArgs>),
    /// Keystore wallets: create (readable by `cast`), list with balances, fund, sweep back.
    #[command(subcommand)]
    Wallets(wallets::WalletsCommand),
    /// Starts an anvil from the project's tools folder, prints its URLs and chain id, and keeps
    /// it until Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// Prints a shell completion script, e.g. `spammer completions bash >
    /// ~/.local/share/bash-completion/completions/spammer`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Output to a closed pipe (`spammer tasks | head`) ends the process quietly, as it does for
/// other command-line tools, instead of a panic in `println!` (Rust ignores SIGPIPE by default).
/// Sockets are unaffected: Rust and tokio send on them with `MSG_NOSIGNAL`.
fn quiet_on_closed_pipes() {
    // SAFETY: `signal` with `SIG_DFL` only sets the process-wide disposition of SIGPIPE; nothing
    // in this process installs a handler for it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    quiet_on_closed_pipes();
    let cli: Cli = match config::parse() {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    // `proxies check` prints every failure in its table; the pool's ban warnings would repeat it.
    let default_filter = match cli.command {
        Command::Proxies(_) => "warn,spam::proxy=error",
        _ => "warn",
    };
    let filter = EnvFilter::try_from_env("SPAM_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| default_filter.into());
    // Colour only on a terminal, and never with NO_COLOR: logs piped to a file stay plain.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(input::colour())
        .with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    let result = match cli.command {
        Command::Run(args) => run::run(*args).await,
        Command::Loadgen(args) => loadgen::run(*args).await,
        Command::Report(args) => report::run(args).await,
        Command::Proxies(command) => return proxies::main(command).await,
        Command::Tasks(args) => return catalogue::run(&args),
        Command::Task(args) => task::task(*args).await,
        Command::Sequence(args) => task::sequence(*args).await,
        Command::Wallets(command) => wallets::run(command).await,
        Command::Devnet(args) => devnet::run(args).await,
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "spammer", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        if input::is_unreachable(&err) {
            ExitCode::from(3)
        } else if input::is_bad_input(&err) {
            ExitCode::from(2)
        } else {
            ExitCode::FAILURE
        }
    })
}
