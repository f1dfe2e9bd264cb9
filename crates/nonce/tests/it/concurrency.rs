//! Many tasks on a multi-thread runtime reserve, commit and roll back at once: no nonce is
//! committed twice, none is lost, and first uses of a sender share one source read.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy_primitives::Address;
use rand::{Rng, SeedableRng, rngs::StdRng};
use spam_nonce::{MemorySource, NonceManager, NonceSource, SourceError};

const SENDERS: u8 = 4;
const TASKS: u64 = 16;
const OPS_PER_TASK: u64 = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reserve_commit_rollback_loses_nothing() {
    let nonces = NonceManager::new(MemorySource::default());
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let nonces = nonces.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(task);
            let mut committed = Vec::new();
            for _ in 0..OPS_PER_TASK {
                let sender = Address::repeat_byte(rng.random_range(1..=SENDERS));
                let reservation = nonces.reserve(sender).await.unwrap();
                if rng.random_bool(0.3) {
                    // hold the nonce across a suspension point, like a real send
                    tokio::task::yield_now().await;
                }
                match rng.random_range(0..100) {
                    0..80 => {
                        committed.push((sender, reservation.nonce()));
                        let _ = reservation.commit();
                    }
                    80..95 => {
                        let _ = reservation.rollback();
                    }
                    _ => drop(reservation),
                }
            }
            committed
        }));
    }
    let mut committed = BTreeSet::new();
    let mut total = 0;
    for task in tasks {
        for entry in task.await.unwrap() {
            total += 1;
            assert!(committed.insert(entry), "nonce {entry:?} committed twice");
        }
    }
    let mut seen_senders = 0;
    for s in 1..=SENDERS {
        let sender = Address::repeat_byte(s);
        let Some(snap) = nonces.snapshot(sender) else {
            continue;
        };
        seen_senders += 1;
        assert_eq!(snap.in_flight, 0);
        let mine: BTreeSet<u64> = committed
            .iter()
            .filter(|(a, _)| *a == sender)
            .map(|(_, n)| *n)
            .collect();
        let holes: BTreeSet<u64> = snap.holes.iter().copied().collect();
        assert!(mine.is_disjoint(&holes));
        let all: BTreeSet<u64> = mine.union(&holes).copied().collect();
        assert_eq!(
            all,
            (0..snap.next).collect(),
            "sender {sender}: a nonce was lost"
        );
    }
    assert_eq!(seen_senders, SENDERS);
    assert_eq!(total as u64, committed.len() as u64);
}

/// Counts reads and answers slowly, so concurrent first uses overlap.
#[derive(Debug, Default)]
struct SlowCountingSource {
    reads: AtomicU64,
}

#[async_trait::async_trait]
impl NonceSource for SlowCountingSource {
    async fn next_nonce(&self, _sender: Address) -> Result<u64, SourceError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(100)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_uses_share_one_read() {
    let source = Arc::new(SlowCountingSource::default());
    let nonces = NonceManager::new(Arc::clone(&source));
    let sender = Address::repeat_byte(9);
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let nonces = nonces.clone();
            tokio::spawn(async move { nonces.reserve(sender).await.unwrap().commit() })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(source.reads.load(Ordering::SeqCst), 1);
    let snap = nonces.snapshot(sender).unwrap();
    assert_eq!((snap.next, snap.in_flight), (132, 0));
}

/// A source that fails: the error names the sender and keeps the cause, nothing is cached.
#[derive(Debug)]
struct Down;

#[async_trait::async_trait]
impl NonceSource for Down {
    async fn next_nonce(&self, _sender: Address) -> Result<u64, SourceError> {
        Err("connection refused".into())
    }
}

#[tokio::test]
async fn source_errors_keep_their_cause_and_cache_nothing() {
    let nonces = NonceManager::new(Down);
    let sender = Address::repeat_byte(3);
    let err = nonces.reserve(sender).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.sender(), sender);
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(cause.as_deref(), Some("connection refused"));
    assert!(nonces.snapshot(sender).is_none());
    assert!(matches!(
        nonces.try_reserve(sender),
        Err(spam_nonce::Error::NotLoaded { .. })
    ));
}

#[tokio::test]
async fn cancelled_first_use_reserves_nothing() {
    let source = Arc::new(SlowCountingSource::default());
    let nonces = NonceManager::new(Arc::clone(&source));
    let sender = Address::repeat_byte(4);
    let cancelled = tokio::time::timeout(Duration::from_millis(1), nonces.reserve(sender)).await;
    assert!(cancelled.is_err());
    assert!(nonces.snapshot(sender).is_none());
    assert_eq!(nonces.reserve(sender).await.unwrap().nonce(), 100);
}

/// A source whose answer is old by the time it arrives.
#[derive(Debug)]
struct Lagging;

#[async_trait::async_trait]
impl NonceSource for Lagging {
    async fn next_nonce(&self, _sender: Address) -> Result<u64, SourceError> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(3)
    }
}

#[tokio::test]
async fn a_slow_resync_does_not_overwrite_a_newer_fast_forward() {
    let nonces = NonceManager::new(Lagging);
    let sender = Address::repeat_byte(5);
    nonces.resync_to(sender, 3);
    let resync = tokio::spawn({
        let nonces = nonces.clone();
        async move { nonces.resync(sender).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(nonces.fast_forward(sender, 10)); // the node said 10 while the read was out
    assert_eq!(resync.await.unwrap(), 10, "the newer value wins");
    let snap = nonces.snapshot(sender).unwrap();
    assert_eq!((snap.next, snap.floor), (10, 10));
}
