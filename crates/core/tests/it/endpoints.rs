//! Several RPC endpoints against a real anvil: forwarders give one anvil several URLs, and a
//! forwarder can be killed (its port refuses connections, as a dead node's does).

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use alloy::providers::Provider;
use spam_core::{
    EndpointStrategy, EndpointSummary, Endpoints, Rate, Report, Spammer, Stop, TaskMix, TxTask,
};
use spam_devnet::Devnet;
use tokio::time::Instant;

use crate::{
    faults_spammer::{identities, on_chain},
    loadgen_anvil::{assert_accounting, assert_no_gaps, loadgen, marked_on_chain, wallets},
    support::{
        SelfTransfer,
        forwarder::Forwarder,
        sequencer::{Faults, Switches, sequencer},
    },
};

fn url(s: &str) -> alloy::transports::http::reqwest::Url {
    s.parse().unwrap()
}

/// The summary of the endpoint at `url`.
fn endpoint<'a>(report: &'a Report, url: &str) -> &'a EndpointSummary {
    let host = url.trim_start_matches("http://");
    report
        .endpoints
        .iter()
        .find(|e| e.endpoint.ends_with(host))
        .unwrap_or_else(|| panic!("no figures for {url}: {:#?}", report.endpoints))
}

async fn devnet(block_time: Option<f64>) -> Option<Devnet> {
    let mut builder = Devnet::builder().accounts(20);
    if let Some(t) = block_time {
        builder = builder.block_time(t);
    }
    spam_devnet::for_test(builder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spread_shares_the_sends_and_every_tx_lands_once() {
    let Some(devnet) = devnet(Some(0.5)).await else {
        return;
    };
    let (a, b) = (
        Forwarder::start(&devnet.endpoint()).await,
        Forwarder::start(&devnet.endpoint()).await,
    );
    let from = devnet.provider().get_block_number().await.unwrap();
    let report = loadgen(&devnet)
        .endpoints(
            Endpoints::new(vec![url(&devnet.endpoint())])
                .with_sends(vec![url(&a.url), url(&b.url)])
                .with_strategy(EndpointStrategy::Spread),
        )
        .rate(Rate::constant(400.0))
        .duration(Duration::from_secs(5))
        .presign(true)
        .run()
        .await
        .unwrap();
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    let (ea, eb) = (endpoint(&report, &a.url), endpoint(&report, &b.url));
    eprintln!("{report}");
    assert!(
        a.connections() > 0 && b.connections() > 0,
        "both forwarders carried traffic"
    );
    assert_eq!(ea.senders + eb.senders, 20, "every sender on one of them");
    assert_eq!((ea.senders, eb.senders), (10, 10), "balanced");
    assert_eq!(ea.sends + eb.sends, o.sent, "each send counted once");
    for e in [ea, eb] {
        assert!(
            (0.35..=0.65).contains(&e.share),
            "{} carried {:.0}% of the sends",
            e.endpoint,
            e.share * 100.0
        );
        assert_eq!(e.roles, "send");
    }
    assert_eq!(o.included, o.sent, "{o:?}");
    assert_eq!(marked_on_chain(&devnet, from).await, o.included);
    assert_no_gaps(&devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_moves_the_sends_when_the_primary_dies() {
    let Some(devnet) = devnet(Some(0.5)).await else {
        return;
    };
    let (primary, backup) = (
        Forwarder::start(&devnet.endpoint()).await,
        Forwarder::start(&devnet.endpoint()).await,
    );
    let from = devnet.provider().get_block_number().await.unwrap();
    let t0 = Instant::now();
    let run = loadgen(&devnet)
        .endpoints(
            Endpoints::new(vec![url(&primary.url), url(&backup.url)])
                .with_strategy(EndpointStrategy::Failover),
        )
        .rate(Rate::constant(200.0))
        .duration(Duration::from_secs(10))
        .run();
    let kill = async {
        tokio::time::sleep(Duration::from_secs(4)).await;
        primary.kill();
        t0.elapsed()
    };
    let (report, killed_at) = tokio::join!(run, kill);
    let report = report.unwrap();
    eprintln!("{report}");
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    let (p, b) = (
        endpoint(&report, &primary.url),
        endpoint(&report, &backup.url),
    );
    let opened = p
        .transitions
        .iter()
        .find(|t| t.to == "unhealthy")
        .expect("the primary's breaker opened");
    let switch = opened.at_s - killed_at.as_secs_f64();
    eprintln!("the primary was unhealthy {switch:.3} s after the kill");
    assert!(switch < 1.0, "sends moved {switch:.3} s after the kill");
    assert_eq!(p.senders, 0, "nobody left on the dead primary");
    assert_eq!(b.senders, 20);
    assert_eq!(p.senders_out, 20, "every sender moved once");
    assert!(
        p.sends > 0 && b.sends > 0,
        "both carried sends: {p:?} {b:?}"
    );
    // Dropped only during the switch: at most a second of the offered rate.
    assert!(
        o.dropped <= 200,
        "dropped {} ({:?})",
        o.dropped,
        o.dropped_by_reason
    );
    assert_eq!(
        o.included + o.pending_at_end + o.superseded + o.duplicates,
        o.accepted + o.unanswered
    );
    assert_eq!(marked_on_chain(&devnet, from).await, o.included);
    assert_no_gaps(&devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_lands_each_tx_once_and_counts_the_copies_apart() {
    let Some(devnet) = devnet(Some(0.5)).await else {
        return;
    };
    let (a, b) = (
        Forwarder::start(&devnet.endpoint()).await,
        Forwarder::start(&devnet.endpoint()).await,
    );
    let from = devnet.provider().get_block_number().await.unwrap();
    let report = loadgen(&devnet)
        .endpoints(
            Endpoints::new(vec![url(&devnet.endpoint())])
                .with_sends(vec![url(&a.url), url(&b.url)])
                .with_strategy(EndpointStrategy::Broadcast),
        )
        .rate(Rate::constant(200.0))
        .duration(Duration::from_secs(4))
        .presign(true)
        .run()
        .await
        .unwrap();
    eprintln!("{report}");
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    let (ea, eb) = (endpoint(&report, &a.url), endpoint(&report, &b.url));
    assert_eq!(ea.sends, o.sent, "every tx went to a");
    assert_eq!(eb.sends, o.sent, "every tx went to b");
    // One pool behind both: the second copy of each tx is accepted ("already known", a
    // duplicate), or refused when a block took the tx between the two ("nonce too low"); a
    // refused copy is counted at its endpoint, never against the run.
    assert_eq!(
        o.rejected, 0,
        "copies are not failures: {:?}",
        report.errors
    );
    let copies_refused: u64 = ea.errors.values().chain(eb.errors.values()).sum();
    assert_eq!(
        ea.duplicates + eb.duplicates + copies_refused,
        o.sent,
        "{:?} {:?}",
        ea.errors,
        eb.errors
    );
    assert!(ea.duplicates + eb.duplicates >= o.sent * 9 / 10);
    assert_eq!(o.included, o.sent);
    assert_eq!(marked_on_chain(&devnet, from).await, o.included);
    assert_no_gaps(&devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rps_per_endpoint_holds_and_the_open_loop_drops_the_excess() {
    let Some(devnet) = devnet(Some(0.5)).await else {
        return;
    };
    let capped = Forwarder::start(&devnet.endpoint()).await;
    let t0 = Instant::now();
    let report = loadgen(&devnet)
        .endpoints(
            Endpoints::new(vec![url(&devnet.endpoint())])
                .with_sends(vec![url(&capped.url)])
                .with_max_rps(NonZeroU32::new(50).unwrap()),
        )
        .rate(Rate::constant(200.0))
        .duration(Duration::from_secs(10))
        .run()
        .await
        .unwrap();
    let window = t0.elapsed().as_secs_f64();
    eprintln!("{report}");
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    let e = endpoint(&report, &capped.url);
    // Every request to the endpoint (sends, nonce reads, settling) is under the cap: at most
    // 50 per second of the whole session, within 2%; and with four times as many ticks
    // offered, the 10 s of load use the cap to the full.
    eprintln!(
        "{} requests ({} sends) in {window:.2} s: {:.1}/s",
        e.requests,
        e.sends,
        e.requests as f64 / window
    );
    assert!(
        e.requests as f64 <= 50.0 * window * 1.02,
        "{} requests in {window:.2} s under a cap of 50/s",
        e.requests
    );
    assert!(
        e.requests >= 450,
        "{} requests: the cap was not used",
        e.requests
    );
    assert_eq!(e.sends, o.sent);
    let limited = o.dropped_by_reason.get("endpoint rate limit").copied();
    assert!(
        limited.is_some_and(|n| n + o.sent >= 1_900),
        "the excess is dropped as endpoint rate limit: {:?}",
        o.dropped_by_reason
    );
    assert!(e.rate_limited >= limited.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_max_rate_holds_the_start_rate() {
    let Some(devnet) = devnet(None).await else {
        return;
    };
    let report = Spammer::builder()
        .rpc_url(url(&devnet.endpoint()))
        .wallets(wallets(&devnet))
        .tasks(TaskMix::single(Arc::new(TxTask(SelfTransfer))))
        .workers(NonZeroU32::new(64).unwrap())
        .cooldown(Duration::ZERO)
        .max_rate(NonZeroU32::new(100).unwrap())
        .stop(Stop::After(Duration::from_secs(5)))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    identities(&report);
    let started = report.totals.started;
    eprintln!("started {started} tasks in 5 s under --max-rate 100");
    assert!(
        (450..=511).contains(&started),
        "started {started} under a cap of 100/s for 5 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_fails_over_without_failing_tasks() {
    let Some(devnet) = devnet(None).await else {
        return;
    };
    let (primary, backup) = (
        Forwarder::start(&devnet.endpoint()).await,
        Forwarder::start(&devnet.endpoint()).await,
    );
    let run = Spammer::builder()
        .endpoints(
            Endpoints::new(vec![url(&primary.url), url(&backup.url)])
                .with_strategy(EndpointStrategy::Failover),
        )
        .wallets(wallets(&devnet))
        .tasks(TaskMix::single(Arc::new(TxTask(SelfTransfer))))
        .workers(NonZeroU32::new(16).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::After(Duration::from_secs(10)))
        .grace(Duration::from_secs(15))
        .build()
        .unwrap()
        .run();
    let kill = async {
        tokio::time::sleep(Duration::from_secs(4)).await;
        primary.kill();
    };
    let (report, ()) = tokio::join!(run, kill);
    let report = report.unwrap();
    eprintln!("{report}");
    identities(&report);
    let t = &report.totals;
    assert!(
        t.succeeded as f64 >= 0.99 * t.started as f64,
        "{} of {} tasks succeeded: {:?}",
        t.succeeded,
        t.started,
        report.errors
    );
    let (p, b) = (
        endpoint(&report, &primary.url),
        endpoint(&report, &backup.url),
    );
    assert!(p.transitions.iter().any(|t| t.to == "unhealthy"), "{p:?}");
    assert_eq!(b.senders, 20, "{b:?}");
    assert!(b.sends > 0 && p.sends > 0, "{p:?} {b:?}");
    let c = report.closed_loop.as_ref().unwrap();
    let senders: Vec<_> = devnet.addresses().to_vec();
    assert_eq!(on_chain(&devnet.provider(), &senders).await, c.included);
}

/// The mempools differ: the primary takes every transaction and loses it (its pool is not
/// the chain's), then dies. The senders move to the backup, which never saw their
/// transactions: reconciled against it, the lost bytes are sent again and everything lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_reconciles_against_the_new_endpoints_pool() {
    let Some(devnet) = devnet(Some(0.5)).await else {
        return;
    };
    let switches: &'static Switches = Box::leak(Box::default());
    let primary = sequencer(
        devnet.endpoint(),
        Faults {
            swallow_sends: true,
            switches: Some(switches),
            ..Faults::default()
        },
    )
    .await;
    let from = devnet.provider().get_block_number().await.unwrap();
    let run = loadgen(&devnet)
        .endpoints(
            Endpoints::new(vec![url(&devnet.endpoint())])
                .with_sends(vec![url(&primary.http_url), url(&devnet.endpoint())])
                .with_strategy(EndpointStrategy::Failover),
        )
        .rate(Rate::constant(100.0))
        .duration(Duration::from_secs(6))
        .run();
    let kill = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        switches
            .down
            .store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (report, ()) = tokio::join!(run, kill);
    let report = report.unwrap();
    eprintln!("{report}");
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    assert!(
        o.reconciliations
            .get("endpoint move")
            .is_some_and(|&n| n > 0),
        "{:?}",
        o.reconciliations
    );
    assert!(
        o.rebroadcasts > 0,
        "the bytes the backup never saw were sent again"
    );
    assert_eq!((o.pending_at_end, o.superseded), (0, 0), "{o:?}");
    assert_eq!(o.included, o.accepted + o.unanswered - o.duplicates);
    assert_eq!(marked_on_chain(&devnet, from).await, o.included);
    assert_no_gaps(&devnet).await;
}
