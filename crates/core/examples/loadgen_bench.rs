//! The open-loop ceiling benchmark, run by `benches/loadgen.sh`.
//!
//! `ceiling` mode, in one run on one anvil (1 s blocks, high gas limit):
//! (a) a minimal hand-written sender posts pre-signed transactions in JSON-RPC batches of 100
//!     over 8 keep-alive connections: included TPS until every sender's nonce is mined;
//! (b) LoadGen at rising constant rates, presigned and signed live: the highest rate it
//!     sustains (≤ 1% dropped, ≥ 99% of offered included, none pending) and its included TPS,
//!     intended→sent lag p99 and CPU µs per transaction.
//!
//! `overload` mode: the hand-written ceiling on a fresh anvil, then LoadGen with its default
//! settings (adaptive batches, as many senders as the rate needs; and, for comparison, batches
//! of 100 with a 2 ms linger and no receipts) offered 2× and 4× that
//! ceiling for 15 s, each on a fresh anvil: included tx/s and its ratio to the ceiling, the
//! longest stretch of blocks without our transactions while the load was on, drops, and what
//! the stuck-sender repair did.
//!
//! `soak` mode: one long live-signing run (default 1 000 000 transactions) against anvil,
//! sampling this process's RSS; prints CPU µs per transaction and peak RSS.

use std::{
    collections::VecDeque,
    fmt::Write as _,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    eips::eip2718::Encodable2718,
    primitives::{U64, U256, hex},
    providers::Provider,
    rpc::client::ClientBuilder,
    transports::http::reqwest,
};
use spam_core::{FeeOracle, FeeOracleConfig, LoadGen, Rate, Report, Wallet};
use spam_devnet::Devnet;

mod support;

use support::{Result, Transfer, arg, cpu_secs, status_mb};

const CONNECTIONS: usize = 8;
const BATCH: usize = 100;

fn start_anvil(accounts: u32) -> Result<Devnet> {
    Ok(Devnet::builder()
        .accounts(accounts)
        .balance_eth(1_000_000)
        .block_time(1.0)
        .arg("--gas-limit")
        .arg("3000000000")
        .start()?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "ceiling".into());
    match mode.as_str() {
        "ceiling" => ceiling().await,
        "soak" => soak().await,
        "overload" => overload().await,
        "handwritten" => {
            let devnet = start_anvil(arg("--accounts", 200) as u32)?;
            let wallets: Vec<Wallet> = devnet.signers().into_iter().map(Wallet::new).collect();
            let tps = hand_written(&devnet, &wallets, arg("--per-account", 400)).await?;
            println!("{tps:.0}");
            Ok(())
        }
        other => {
            Err(format!("unknown mode {other:?}: ceiling | overload | soak | handwritten").into())
        }
    }
}

async fn ceiling() -> Result<()> {
    let accounts = arg("--accounts", 200) as u32;
    let per_account = arg("--per-account", 400);
    let trial = Duration::from_secs(arg("--trial-secs", 8));
    let devnet = start_anvil(accounts)?;
    let wallets: Vec<Wallet> = devnet.signers().into_iter().map(Wallet::new).collect();
    println!(
        "anvil {} with {} funded senders, 1 s blocks; signing backend: {}",
        devnet.endpoint(),
        wallets.len(),
        if cfg!(feature = "secp256k1") {
            "libsecp256k1"
        } else {
            "k256"
        }
    );

    let baseline = hand_written(&devnet, &wallets, per_account).await?;
    println!("(a) hand-written batch sender: {baseline:.0} included tx/s");

    let mut results = Vec::new();
    for presign in [true, false] {
        let best = search(&devnet, &wallets, baseline, presign, trial).await?;
        let label = if presign { "presigned" } else { "live" };
        match &best {
            Some(b) => println!(
                "(b) LoadGen {label}: {:.0} included tx/s at {:.0} offered (ratio {:.3}), lag p99 {:.2} ms, {:.1} µs CPU/tx",
                b.included_tps,
                b.rate,
                b.included_tps / baseline,
                b.lag_p99_ms,
                b.cpu_us_per_tx
            ),
            None => println!("(b) LoadGen {label}: no rate sustained"),
        }
        results.push((label, best));
    }
    println!("\nsummary");
    println!("  hand-written ceiling   {baseline:>8.0} tx/s   1.000");
    for (label, best) in results {
        if let Some(b) = best {
            println!(
                "  loadgen {label:<14} {:>8.0} tx/s   {:.3}   lag p99 {:.2} ms   {:.1} µs CPU/tx",
                b.included_tps,
                b.included_tps / baseline,
                b.lag_p99_ms,
                b.cpu_us_per_tx
            );
        }
    }
    Ok(())
}

/// (a): pre-signed transactions posted as raw JSON-RPC batches; included TPS from the first
/// send until every sender's nonce is mined.
async fn hand_written(devnet: &Devnet, wallets: &[Wallet], per_account: u64) -> Result<f64> {
    let provider = devnet.provider();
    let fees = FeeOracle::new(provider.clone(), FeeOracleConfig::default())
        .current()
        .await?;
    let chain_id = devnet.chain_id();
    let mut starts = Vec::new();
    for w in wallets {
        starts.push(
            provider
                .get_transaction_count(w.address())
                .pending()
                .await?,
        );
    }
    // Sign on both cores, before the clock starts.
    let signed: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = wallets
            .chunks(wallets.len().div_ceil(2))
            .zip(starts.chunks(wallets.len().div_ceil(2)))
            .map(|(ws, ns)| {
                s.spawn(move || {
                    ws.iter()
                        .zip(ns)
                        .map(|(w, &start)| {
                            (0..per_account)
                                .map(|i| {
                                    let tx = fees.transfer(
                                        chain_id,
                                        start + i,
                                        support::TO,
                                        U256::from(1),
                                    );
                                    hex::encode_prefixed(w.sign(tx).expect("signs").encoded_2718())
                                })
                                .collect::<Vec<_>>()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signer thread"))
            .collect()
    });
    let total = signed.len() as u64 * per_account;
    // Sender j owns accounts j, j + 8, …, and sends them nonce-major, so each account's
    // nonces arrive in order.
    let url = devnet.endpoint();
    let mut queues: Vec<VecDeque<String>> = vec![VecDeque::new(); CONNECTIONS];
    for i in 0..per_account as usize {
        for (a, txs) in signed.iter().enumerate() {
            queues[a % CONNECTIONS].push_back(txs[i].clone());
        }
    }
    let t0 = Instant::now();
    let mut senders = Vec::new();
    for mut queue in queues {
        let url = url.clone();
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .build()
                .expect("client");
            let mut id = 0u64;
            while !queue.is_empty() {
                let mut body = String::from("[");
                for (k, raw) in queue.drain(..BATCH.min(queue.len())).enumerate() {
                    id += 1;
                    if k > 0 {
                        body.push(',');
                    }
                    let _ = write!(
                        body,
                        r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_sendRawTransaction","params":["{raw}"]}}"#
                    );
                }
                body.push(']');
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("post")
                    .text()
                    .await
                    .expect("answer");
                assert!(!answer.contains("\"error\""), "refused: {answer:.300}");
            }
        }));
    }
    for s in senders {
        s.await?;
    }
    let sent_in = t0.elapsed();
    // Included when every account's mined nonce reaches its target.
    let client = ClientBuilder::default().http(url.parse()?);
    loop {
        let mut batch = client.new_batch();
        let waiters: Vec<_> = wallets
            .iter()
            .map(|w| batch.add_call::<_, U64>("eth_getTransactionCount", &(w.address(), "latest")))
            .collect::<std::result::Result<_, _>>()?;
        batch.send().await?;
        let mut done = true;
        for ((waiter, start), _) in waiters.into_iter().zip(&starts).zip(wallets) {
            let mined: U64 = waiter.await?;
            done &= mined.to::<u64>() >= start + per_account;
        }
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = t0.elapsed();
    println!(
        "    {total} txs sent in {:.2} s ({:.0} tx/s), all included {:.2} s after the first send",
        sent_in.as_secs_f64(),
        total as f64 / sent_in.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    // Every transaction was included, so the included rate over the sending window is the
    // send rate; LoadGen's `included_tps` is measured over its sending window the same way.
    Ok(total as f64 / sent_in.as_secs_f64())
}

#[derive(Debug, Clone, Copy)]
struct Trial {
    rate: f64,
    included_tps: f64,
    lag_p99_ms: f64,
    cpu_us_per_tx: f64,
}

/// Raises the rate until LoadGen stops sustaining it; returns the best sustained trial.
async fn search(
    devnet: &Devnet,
    wallets: &[Wallet],
    baseline: f64,
    presign: bool,
    trial: Duration,
) -> Result<Option<Trial>> {
    let mut best: Option<Trial> = None;
    for factor in [
        0.6, 0.75, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3, 1.5, 1.75, 2.0,
    ] {
        let rate = (baseline * factor).round();
        let cpu = cpu_secs();
        let report = run(devnet, wallets, rate, trial, presign, CEILING_CAPS).await?;
        let cpu_used = cpu_secs() - cpu;
        let o = report.open_loop.as_ref().expect("open loop");
        let sustained = o.dropped as f64 <= 0.01 * o.offered as f64
            && o.included as f64 >= 0.99 * o.offered as f64
            && o.pending_at_end == 0;
        let t = Trial {
            rate,
            included_tps: o.included_tps,
            lag_p99_ms: o.lag_ms.p99,
            cpu_us_per_tx: cpu_used * 1e6 / o.sent.max(1) as f64,
        };
        println!(
            "    {} {rate:>6.0} tx/s: offered {} dropped {} {:?} included {} ({:.0} tx/s) pending {} lag p99 {:.2} ms, {:.1} µs CPU/tx{}",
            if presign { "presigned" } else { "live     " },
            o.offered,
            o.dropped,
            o.dropped_by_reason,
            o.included,
            o.included_tps,
            o.pending_at_end,
            t.lag_p99_ms,
            t.cpu_us_per_tx,
            if sustained { "" } else { "  <- not sustained" }
        );
        if !sustained {
            break;
        }
        if best.is_none_or(|b| t.included_tps > b.included_tps) {
            best = Some(t);
        }
    }
    Ok(best)
}

/// In-flight caps: `(unanswered sends, unconfirmed per sender)`.
type Caps = (usize, u32);

/// Room for a second of transactions in flight at the ceiling.
const CEILING_CAPS: Caps = (20_000, 256);
/// The engine's defaults.
const DEFAULT_CAPS: Caps = (10_000, 64);

async fn run(
    devnet: &Devnet,
    wallets: &[Wallet],
    rate: f64,
    duration: Duration,
    presign: bool,
    (in_flight, per_wallet): Caps,
) -> Result<Report> {
    Ok(LoadGen::builder()
        .rpc_url(devnet.endpoint().parse()?)
        .wallets(wallets.to_vec())
        .tx(Transfer)
        .rate(Rate::constant(rate))
        .duration(duration)
        .batch(BATCH, Duration::from_millis(2))
        .connections(arg("--connections", CONNECTIONS as u64) as usize)
        .max_in_flight(in_flight)
        .max_in_flight_per_wallet(NonZeroU32::new(per_wallet).expect("> 0"))
        .presign(presign)
        // The baseline reads no receipts; anvil takes seconds per receipts call of a big block.
        .receipts(false)
        .grace(Duration::from_secs(15))
        .run()
        .await?)
}

/// LoadGen far above the node's capacity: does it hold the node there?
async fn overload() -> Result<()> {
    let accounts = arg("--accounts", 200) as u32;
    let secs = arg("--secs", 15);
    let baseline = {
        let devnet = start_anvil(accounts)?;
        let wallets: Vec<Wallet> = devnet.signers().into_iter().map(Wallet::new).collect();
        hand_written(&devnet, &wallets, arg("--per-account", 400)).await?
    };
    println!("hand-written ceiling: {baseline:.0} tx/s (fresh anvil, 1 s blocks)");
    println!(
        "{:<10} {:>7} {:>9} {:>8} {:>6} {:>6} {:>10} {:>9}  dropped",
        "flags", "offered", "incl tx/s", "window s", "ratio", "empty", "unanswered", "rebcast"
    );
    for factor in [2.0, 4.0] {
        for tuned in [false, true] {
            // As many senders as the rate needs (the defaults' sizing), at least `--accounts`.
            let rate = Rate::constant((baseline * factor).round());
            let needed = LoadGen::senders_for(&rate, Duration::from_secs(1), 64.try_into()?);
            let devnet = start_anvil(accounts.max(needed))?;
            let wallets: Vec<Wallet> = devnet.signers().into_iter().map(Wallet::new).collect();
            let mut load = LoadGen::builder()
                .rpc_url(devnet.endpoint().parse()?)
                .wallets(wallets)
                .tx(Transfer)
                .rate(rate)
                .duration(Duration::from_secs(secs));
            if tuned {
                load = load.batch(BATCH, Duration::from_millis(2)).receipts(false);
            }
            let report = load.run().await?;
            let o = report.open_loop.as_ref().expect("open loop");
            println!(
                "{:<10} {:>7.0} {:>9.0} {:>8.1} {:>6.2} {:>6} {:>10} {:>9}  {:?}",
                if tuned { "batch 100" } else { "defaults" },
                baseline * factor,
                o.included_tps,
                o.inclusion_window_secs,
                o.included_tps / baseline,
                longest_empty_stretch(o, secs),
                o.unanswered,
                o.rebroadcasts,
                o.dropped_by_reason,
            );
        }
    }
    Ok(())
}

/// The most consecutive blocks without our transactions between the first block holding
/// ours and the end of the sending window.
fn longest_empty_stretch(o: &spam_core::OpenLoopStats, secs: u64) -> u64 {
    let (mut longest, mut current, mut started) = (0, 0, false);
    for b in o.blocks.list.iter().filter(|b| b.seen_ms <= secs * 1_000) {
        started |= b.own_txs > 0;
        if !started {
            continue;
        }
        current = if b.own_txs == 0 { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

/// One long live run; samples RSS every 5 s.
async fn soak() -> Result<()> {
    let txs = arg("--txs", 1_000_000);
    let rate = arg("--rate", 8_000) as f64;
    let accounts = arg("--accounts", 200) as u32;
    let devnet = start_anvil(accounts)?;
    let wallets: Vec<Wallet> = devnet.signers().into_iter().map(Wallet::new).collect();
    let duration = Duration::from_secs_f64(txs as f64 / rate);
    println!(
        "soak: {txs} txs at {rate:.0} tx/s ({:.0} s), live signing, {} senders, default in-flight caps",
        duration.as_secs_f64(),
        wallets.len()
    );
    let samples = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let sampler = tokio::spawn({
        let samples = Arc::clone(&samples);
        async move {
            let t0 = Instant::now();
            loop {
                samples
                    .lock()
                    .push((t0.elapsed().as_secs(), status_mb("VmRSS:")));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    });
    let cpu = cpu_secs();
    let report = run(&devnet, &wallets, rate, duration, false, DEFAULT_CAPS).await?;
    let cpu_used = cpu_secs() - cpu;
    sampler.abort();
    let o = report.open_loop.as_ref().expect("open loop");
    println!(
        "offered {} dropped {} {:?} sent {} included {} pending {} ({:.0} included tx/s)",
        o.offered,
        o.dropped,
        o.dropped_by_reason,
        o.sent,
        o.included,
        o.pending_at_end,
        o.included_tps
    );
    println!(
        "CPU {:.1} s = {:.1} µs per sent tx; lag p99 {:.2} ms; peak RSS {:.1} MB",
        cpu_used,
        cpu_used * 1e6 / o.sent.max(1) as f64,
        o.lag_ms.p99,
        status_mb("VmHWM:")
    );
    let samples = samples.lock();
    let line: Vec<String> = samples
        .iter()
        .map(|(s, mb)| format!("{s}s:{mb:.0}"))
        .collect();
    println!("RSS MB over time: {}", line.join(" "));
    Ok(())
}
