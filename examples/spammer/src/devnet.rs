//! `spammer devnet`: an anvil from the project's tools folder, kept until Ctrl-C.

use std::{process::ExitCode, time::Duration};

use anyhow::Context as _;
use spam_devnet::Devnet;

use crate::input;

/// Options of `spammer devnet`.
#[derive(Debug, clap::Args)]
pub(crate) struct DevnetArgs {
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, default_value = "0")]
    port: u16,
    /// Mine a block this often, e.g. 1s, 500ms (default: a block per transaction).
    #[arg(long, value_parser = input::positive_duration, allow_hyphen_values = true)]
    block_time: Option<Duration>,
    /// Funded dev-mnemonic accounts.
    #[arg(long, default_value = "10", value_parser = input::senders, allow_hyphen_values = true)]
    accounts: std::num::NonZeroU32,
}

pub(crate) async fn run(args: DevnetArgs) -> anyhow::Result<ExitCode> {
    let mut builder = Devnet::builder()
        .port(args.port)
        .accounts(args.accounts.get());
    if let Some(every) = args.block_time {
        builder = builder.block_time(every.as_secs_f64());
    }
    // Listening before the URL is printed: a client that reads it and stops us at once must
    // not kill us the default way, which would leave anvil running.
    let stop = stopped()?;
    let devnet = builder.start().context("starting anvil")?;
    let port = devnet.port();
    let mining = match args.block_time {
        Some(every) => format!("a block every {}", humantime::format_duration(every)),
        None => "automine".to_owned(),
    };
    println!("anvil ({mining}), {} funded dev accounts", args.accounts);
    println!("http: http://127.0.0.1:{port}");
    println!("ws: ws://127.0.0.1:{port}");
    println!("chain id: {}", devnet.chain_id());
    eprintln!("Ctrl-C stops it");
    stop.await;
    // Dropping the devnet kills anvil.
    drop(devnet);
    eprintln!("anvil stopped");
    Ok(ExitCode::SUCCESS)
}

/// A future that returns on Ctrl-C (SIGINT) or, on Unix, SIGTERM; the handlers are installed
/// before it returns, so either signal after this call ends it, not the process.
fn stopped() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
