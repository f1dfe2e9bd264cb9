//! Acquire + release throughput of `WalletPool`: one thread per strategy (cooldown 0, 100
//! wallets), the async `acquire` fast path, and two threads sharing one pool.
#![allow(missing_docs)]

use std::{hint::black_box, thread, time::Duration, time::Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spam_core::{LeaseStrategy, WalletPool, WalletPoolConfig};

const WALLETS: usize = 100;

fn new_pool(strategy: LeaseStrategy) -> WalletPool<usize> {
    let config = WalletPoolConfig::default()
        .with_cooldown(Duration::ZERO)
        .with_strategy(strategy);
    WalletPool::new(0..WALLETS, config).unwrap()
}

fn acquire_release(pool: &WalletPool<usize>) {
    let lease = pool.try_acquire().expect("cooldown 0: always one free");
    black_box(*lease);
}

/// Runs `iters` acquire+release pairs split over two threads sharing `pool`.
fn two_threads(pool: &WalletPool<usize>, iters: u64) -> Duration {
    let start = Instant::now();
    thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..iters / 2 {
                    acquire_release(pool);
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool");
    group.throughput(Throughput::Elements(1));

    for (name, strategy) in [
        ("round-robin", LeaseStrategy::RoundRobin),
        ("lru", LeaseStrategy::LeastRecentlyUsed),
        ("random", LeaseStrategy::Random { seed: Some(1) }),
    ] {
        let pool = new_pool(strategy);
        group.bench_function(format!("try_acquire+release/{name}/1 thread"), |b| {
            b.iter(|| acquire_release(&pool))
        });
    }

    // Half the wallets leased: round-robin and random have to look past busy ones.
    for (name, strategy) in [
        ("round-robin", LeaseStrategy::RoundRobin),
        ("random", LeaseStrategy::Random { seed: Some(1) }),
    ] {
        let pool = new_pool(strategy);
        let all: Vec<_> = (0..WALLETS).map(|_| pool.try_acquire().unwrap()).collect();
        let _held: Vec<_> = all.into_iter().filter(|l| l.index() % 2 == 0).collect();
        group.bench_function(format!("try_acquire+release/{name}/half busy"), |b| {
            b.iter(|| acquire_release(&pool))
        });
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let pool = new_pool(LeaseStrategy::RoundRobin);
    group.bench_function("acquire().await+release/round-robin/1 thread", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(*pool.acquire().await);
                }
                start.elapsed()
            })
        })
    });

    let pool = new_pool(LeaseStrategy::RoundRobin);
    group.bench_function("try_acquire+release/round-robin/2 threads", |b| {
        b.iter_custom(|iters| two_threads(&pool, iters))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
