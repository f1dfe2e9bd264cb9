//! Many tasks on a multi-thread runtime lease, hold across suspension points and release: no
//! wallet is ever held by more leases than its cap, a cooled-down wallet is never handed out
//! early, and every task finishes (no lost wakeup strands a waiter).

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
    time::Duration,
};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng, rngs::StdRng};
use spam_core::{LeaseStrategy, WalletPool, WalletPoolConfig};
use tokio::time::Instant;

const WALLETS: usize = 8;
const TASKS: u64 = 64;

/// Liveness bound only (a lost wakeup would hang forever): not a speed assertion.
const LIVENESS: Duration = Duration::from_secs(120);

struct Tally {
    holders: Vec<AtomicU32>,
    max_seen: AtomicU32,
    leases: AtomicUsize,
    last_release: Vec<Mutex<Option<Instant>>>,
}

async fn stress(cap: u32, cooldown: Duration, strategy: LeaseStrategy, ops_per_task: usize) {
    let config = WalletPoolConfig::default()
        .with_cooldown(cooldown)
        .with_max_in_flight(NonZeroU32::new(cap).unwrap())
        .with_strategy(strategy);
    let pool = WalletPool::new(0..WALLETS, config).unwrap();
    let tally = Arc::new(Tally {
        holders: (0..WALLETS).map(|_| AtomicU32::new(0)).collect(),
        max_seen: AtomicU32::new(0),
        leases: AtomicUsize::new(0),
        last_release: (0..WALLETS).map(|_| Mutex::new(None)).collect(),
    });

    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (pool, tally) = (pool.clone(), Arc::clone(&tally));
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(task);
                for _ in 0..ops_per_task {
                    let lease = if rng.random_bool(0.2) {
                        match pool.try_acquire() {
                            Some(lease) => lease,
                            None => continue,
                        }
                    } else {
                        pool.acquire().await
                    };
                    let i = lease.index();
                    assert_eq!(*lease, i);
                    if cap == 1
                        && let Some(released) = *tally.last_release[i].lock()
                    {
                        // recorded before the previous release, read after this lease: a bound
                        assert!(
                            Instant::now() >= released + cooldown,
                            "wallet {i} handed out before its cooldown"
                        );
                    }
                    let held = tally.holders[i].fetch_add(1, Ordering::SeqCst) + 1;
                    assert!(held <= cap, "wallet {i} held {held} times, cap {cap}");
                    tally.max_seen.fetch_max(held, Ordering::SeqCst);
                    tally.leases.fetch_add(1, Ordering::Relaxed);
                    for _ in 0..rng.random_range(1..4) {
                        tokio::task::yield_now().await;
                    }
                    tally.holders[i].fetch_sub(1, Ordering::SeqCst);
                    if cap == 1 {
                        *tally.last_release[i].lock() = Some(Instant::now());
                    }
                    drop(lease);
                }
            })
        })
        .collect();

    tokio::time::timeout(LIVENESS, async {
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await
    .expect("every task finishes");

    let stats = pool.stats();
    assert_eq!((stats.leased, stats.waiting), (0, 0));
    assert!(tally.leases.load(Ordering::Relaxed) >= TASKS as usize * ops_per_task / 2);
    // 64 tasks on 8 wallets saturate every permit: the test is not vacuous.
    assert_eq!(tally.max_seen.load(Ordering::SeqCst), cap);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cap_one_is_exclusive_under_contention() {
    for strategy in [
        LeaseStrategy::RoundRobin,
        LeaseStrategy::LeastRecentlyUsed,
        LeaseStrategy::Random { seed: Some(1) },
    ] {
        stress(1, Duration::ZERO, strategy, 500).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cap_k_is_never_exceeded_under_contention() {
    for strategy in [
        LeaseStrategy::RoundRobin,
        LeaseStrategy::LeastRecentlyUsed,
        LeaseStrategy::Random { seed: Some(2) },
    ] {
        stress(3, Duration::ZERO, strategy, 500).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cooldown_holds_under_contention() {
    // Real time: each wallet serves about one lease per 2 ms, so this runs for about a second.
    stress(1, Duration::from_millis(2), LeaseStrategy::RoundRobin, 40).await;
    stress(
        3,
        Duration::from_millis(2),
        LeaseStrategy::LeastRecentlyUsed,
        40,
    )
    .await;
}
