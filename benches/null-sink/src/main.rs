#![doc = include_str!("../README.md")]

mod block;
mod chain;
mod cli;
mod error;
mod json;
mod methods;
mod params;
mod rlp;
mod rpc;
mod server;

use std::process::ExitCode;

/// Parses the command line, builds a runtime of `--threads` threads and serves until stdin
/// closes or a signal comes; exit code 2 for a bad command line.
fn main() -> ExitCode {
    let config = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Run(config)) => config,
        Ok(cli::Command::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("null-sink: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let runtime = if config.threads.get() == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads.get())
            .enable_all()
            .build()
    };
    let result = runtime.and_then(|rt| {
        let result = rt.block_on(server::run(config));
        // Open connections are dropped, not drained: the sink is stopping because its client
        // is gone or asked.
        rt.shutdown_background();
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("null-sink: {e}");
            ExitCode::FAILURE
        }
    }
}
