//! The client's own ceiling, against `null-sink` (benches/null-sink): a JSON-RPC endpoint that
//! takes every transaction, validates nothing and mines what it got into a block every second,
//! so signing, sending, tracking and accounting run at their own speed. Run by
//! `benches/sink.sh`.
//!
//! `ceiling`: LoadGen with its default settings (adaptive batches, receipts read, senders
//! sized for the rate) at rising constant rates, presigned and signed live, a fresh sink each;
//! a rate is *sustained* when ≤ 1% of ticks are dropped, ≥ 99% are included and none is
//! pending. Prints included tx/s, CPU µs per transaction (this process, signing included),
//! the signing cost measured alone, and peak RSS.
//!
//! `one --rate R [--secs S] [--presign 1]`: one run, for profiling.
//!
//! `soak`: one live-signing run of `--txs` transactions (default 10 000 000) at `--rate`,
//! sampling RSS every 5 s.

use std::{
    io::{BufRead, BufReader},
    num::NonZeroU32,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{B256, U256},
    signers::local::PrivateKeySigner,
};
use spam_core::{Fees, LoadGen, Rate, Report, Wallet};

mod support;

use support::{Result, TO, Transfer, arg, cpu_secs, status_mb};

const PER_SENDER: NonZeroU32 = NonZeroU32::new(64).unwrap();

/// A running null sink; killed when dropped.
struct Sink {
    child: Child,
    url: String,
}

impl Sink {
    /// Starts `$NULL_SINK_BIN`, else `null-sink` beside this example's directory.
    fn start() -> Result<Self> {
        let bin = std::env::var_os("NULL_SINK_BIN").map_or_else(
            || {
                let exe = std::env::current_exe().expect("own path");
                exe.parent()
                    .and_then(|examples| examples.parent())
                    .map(|dir| dir.join("null-sink"))
                    .expect("target dir")
            },
            Into::into,
        );
        let mut child = Command::new(&bin)
            .args(["--block-time-ms", "1000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "{}: {e} (cargo build --release -p spam-null-sink)",
                    bin.display()
                )
            })?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("null-sink said {line:?}"))?
            .to_owned();
        Ok(Self { child, url })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` senders with fixed keys (the sink checks no balance).
fn wallets(n: u32) -> Vec<Wallet> {
    (1..=n)
        .map(|i| {
            let key = B256::from(U256::from(i) + U256::from(0x5eed_u64 << 32));
            Wallet::new(PrivateKeySigner::from_bytes(&key).expect("valid key"))
        })
        .collect()
}

/// CPU µs to build and sign one transfer, on one core.
fn signing_cost() -> f64 {
    let wallet = &wallets(1)[0];
    let fees = Fees::Eip1559 {
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
    };
    let n = 20_000u64;
    let t = Instant::now();
    for nonce in 0..n {
        let tx = fees.transfer(31_337, nonce, TO, U256::from(1));
        let _ = std::hint::black_box(wallet.sign(tx));
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

async fn run(rate: f64, secs: u64, presign: bool) -> Result<(Report, f64)> {
    let sink = Sink::start()?;
    let senders = LoadGen::senders_for(&Rate::constant(rate), Duration::from_secs(1), PER_SENDER);
    let cpu = cpu_secs();
    let report = LoadGen::builder()
        .rpc_url(sink.url.parse()?)
        .wallets(wallets(senders))
        .tx(Transfer)
        .rate(Rate::constant(rate))
        .duration(Duration::from_secs(secs))
        .presign(presign)
        .grace(Duration::from_secs(10))
        .run()
        .await?;
    Ok((report, cpu_secs() - cpu))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    match std::env::args().nth(1).as_deref().unwrap_or("ceiling") {
        "ceiling" => ceiling().await,
        "soak" => soak().await,
        "one" => {
            let rate = arg("--rate", 20_000) as f64;
            let (report, cpu) = run(rate, arg("--secs", 10), arg("--presign", 0) == 1).await?;
            let o = report.open_loop.as_ref().expect("open loop");
            println!(
                "{rate:.0} tx/s: included {} ({:.0} tx/s), dropped {} {:?}, {:.1} µs CPU/tx, peak RSS {:.0} MB",
                o.included,
                o.included_tps,
                o.dropped,
                o.dropped_by_reason,
                cpu * 1e6 / o.sent.max(1) as f64,
                status_mb("VmHWM:")
            );
            Ok(())
        }
        other => Err(format!("unknown mode {other:?}: ceiling | soak | one").into()),
    }
}

async fn ceiling() -> Result<()> {
    let secs = arg("--secs", 10);
    let sign_us = signing_cost();
    println!(
        "signing backend {}: {sign_us:.1} µs per transfer on one core",
        if cfg!(feature = "secp256k1") {
            "libsecp256k1"
        } else {
            "k256"
        }
    );
    for presign in [true, false] {
        let label = if presign { "presigned" } else { "live" };
        let mut best = None;
        for rate in [
            10_000.0, 20_000.0, 30_000.0, 40_000.0, 50_000.0, 60_000.0, 80_000.0, 100_000.0,
            120_000.0,
        ] {
            let (report, cpu) = run(rate, secs, presign).await?;
            let o = report.open_loop.as_ref().expect("open loop");
            let sustained = o.dropped as f64 <= 0.01 * o.offered as f64
                && o.included as f64 >= 0.99 * o.offered as f64
                && o.pending_at_end == 0;
            let per_tx = cpu * 1e6 / o.sent.max(1) as f64;
            println!(
                "  {label:<9} {rate:>7.0} tx/s: included {:>8} ({:>6.0} tx/s), dropped {:>7} {:?}, pending {}, {per_tx:.1} µs CPU/tx ({:.1} beyond signing), peak RSS {:.0} MB{}",
                o.included,
                o.included_tps,
                o.dropped,
                o.dropped_by_reason,
                o.pending_at_end,
                per_tx - sign_us,
                status_mb("VmHWM:"),
                if sustained { "" } else { "  <- not sustained" }
            );
            if !sustained {
                break;
            }
            best = Some((rate, o.included_tps, per_tx));
        }
        match best {
            Some((rate, tps, per_tx)) => println!(
                "{label}: sustained {rate:.0} tx/s ({tps:.0} included/s), {per_tx:.1} µs CPU/tx"
            ),
            None => println!("{label}: no rate sustained"),
        }
    }
    Ok(())
}

async fn soak() -> Result<()> {
    let rate = arg("--rate", 40_000) as f64;
    let txs = arg("--txs", 10_000_000);
    let secs = (txs as f64 / rate).ceil() as u64;
    let sampler = tokio::spawn(async {
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            samples.push(status_mb("VmRSS:"));
            println!("  rss {:.0} MB", samples[samples.len() - 1]);
        }
    });
    let (report, cpu) = run(rate, secs, false).await?;
    sampler.abort();
    let o = report.open_loop.as_ref().expect("open loop");
    println!(
        "soak: {} offered at {rate:.0} tx/s, {} sent, {} included, {} dropped {:?}, {:.1} µs CPU/tx, peak RSS {:.0} MB",
        o.offered,
        o.sent,
        o.included,
        o.dropped,
        o.dropped_by_reason,
        cpu * 1e6 / o.sent.max(1) as f64,
        status_mb("VmHWM:")
    );
    Ok(())
}
