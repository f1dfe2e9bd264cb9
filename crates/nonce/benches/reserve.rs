//! Reserve + commit throughput: one thread, and two threads on one or two senders.
#![allow(missing_docs)]

use std::{hint::black_box, thread, time::Instant};

use alloy_primitives::Address;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spam_nonce::{MemorySource, NonceManager};

fn loaded(senders: &[Address]) -> NonceManager {
    let nonces = NonceManager::new(MemorySource::default());
    for &sender in senders {
        nonces.resync_to(sender, 0);
    }
    nonces
}

fn reserve_commit(nonces: &NonceManager, sender: Address) {
    let reservation = nonces.try_reserve(sender).expect("loaded");
    black_box(reservation.nonce());
    black_box(reservation.commit());
}

/// Runs `iters` reserve+commit pairs split over two threads, one sender per thread.
fn two_threads(nonces: &NonceManager, senders: [Address; 2], iters: u64) -> std::time::Duration {
    let start = Instant::now();
    thread::scope(|scope| {
        for sender in senders {
            scope.spawn(move || {
                for _ in 0..iters / 2 {
                    reserve_commit(nonces, sender);
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
    let mut group = c.benchmark_group("nonce");
    group.throughput(Throughput::Elements(1));

    let nonces = loaded(&[a]);
    group.bench_function("reserve+commit/1 thread", |bench| {
        bench.iter(|| reserve_commit(&nonces, a))
    });

    let nonces = loaded(&[a]);
    group.bench_function("reserve+rollback+refill/1 thread", |bench| {
        bench.iter(|| {
            nonces.try_reserve(a).expect("loaded").rollback();
            reserve_commit(&nonces, a);
        })
    });

    let nonces = loaded(&[a]);
    group.bench_function("reserve+commit/2 threads, 1 sender", |bench| {
        bench.iter_custom(|iters| two_threads(&nonces, [a, a], iters))
    });

    let nonces = loaded(&[a, b]);
    group.bench_function("reserve+commit/2 threads, 2 senders", |bench| {
        bench.iter_custom(|iters| two_threads(&nonces, [a, b], iters))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
