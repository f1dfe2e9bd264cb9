//! Each strategy's distribution: round-robin gives equal counts, least-recently-used always
//! picks the longest-idle wallet, random gives every wallet a share and repeats with its seed.

use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use spam_core::{Lease, LeaseStrategy, WalletPool, WalletPoolConfig};
use tokio::time::Instant;

fn pool(n: usize, strategy: LeaseStrategy, cooldown: Duration) -> WalletPool<usize> {
    let config = WalletPoolConfig::default()
        .with_cooldown(cooldown)
        .with_strategy(strategy);
    WalletPool::new(0..n, config).unwrap()
}

fn counts(pool: &WalletPool<usize>, rounds: usize) -> Vec<usize> {
    let mut counts = vec![0; pool.len()];
    for _ in 0..rounds {
        counts[pool.try_acquire().unwrap().index()] += 1;
    }
    counts
}

#[test]
fn round_robin_gives_equal_counts() {
    let pool = pool(7, LeaseStrategy::RoundRobin, Duration::ZERO);
    assert_eq!(counts(&pool, 700), [100; 7]);
}

#[tokio::test(start_paused = true)]
async fn round_robin_cycles_in_order_through_cooldowns() {
    let pool = pool(5, LeaseStrategy::RoundRobin, Duration::from_secs(4));
    let start = Instant::now();
    let mut order = Vec::new();
    for _ in 0..15 {
        let lease = pool.acquire().await;
        order.push(lease.index());
        tokio::time::sleep(Duration::from_secs(1)).await; // hold it 1 s
    }
    assert_eq!(order, [0, 1, 2, 3, 4].repeat(3));
    // each wallet is reused 5 s after it was leased: 1 s held + 4 s cooldown
    assert_eq!(start.elapsed(), Duration::from_secs(15));
}

#[test]
fn round_robin_skips_busy_wallets_and_keeps_the_share_of_the_rest() {
    let pool = pool(4, LeaseStrategy::RoundRobin, Duration::ZERO);
    let busy = pool.try_acquire().unwrap();
    assert_eq!(busy.index(), 0);
    let counts = counts(&pool, 300);
    assert_eq!(counts, [0, 100, 100, 100]);
}

#[test]
fn least_recently_used_picks_the_longest_idle_wallet() {
    const N: usize = 6;
    let pool = pool(N, LeaseStrategy::LeastRecentlyUsed, Duration::ZERO);
    let mut rng = StdRng::seed_from_u64(11);
    // when each wallet was last leased or released; never used = before everything, by index
    let mut touched: Vec<i64> = (0..N as i64).map(|i| i - N as i64).collect();
    let mut live: Vec<Lease<usize>> = Vec::new();
    for step in 0..5_000 {
        if live.len() < N && (live.is_empty() || rng.random_bool(0.5)) {
            let lease = pool.try_acquire().unwrap();
            let idle = (0..N)
                .filter(|i| live.iter().all(|l| l.index() != *i))
                .min_by_key(|&i| touched[i])
                .unwrap();
            assert_eq!(
                lease.index(),
                idle,
                "step {step}: not the longest-idle wallet"
            );
            touched[lease.index()] = step;
            live.push(lease);
        } else {
            let lease = live.swap_remove(rng.random_range(0..live.len()));
            touched[lease.index()] = step;
            drop(lease);
        }
    }
}

#[test]
fn least_recently_used_hands_wallets_out_in_release_order() {
    let pool = pool(8, LeaseStrategy::LeastRecentlyUsed, Duration::ZERO);
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..20 {
        let mut all: Vec<_> = (0..8).map(|_| pool.try_acquire().unwrap()).collect();
        all.shuffle(&mut rng);
        let released: Vec<_> = all.iter().map(Lease::index).collect();
        drop(all); // drops in vector order
        let next: Vec<_> = (0..8).map(|_| pool.try_acquire().unwrap()).collect();
        assert_eq!(next.iter().map(Lease::index).collect::<Vec<_>>(), released);
    }
}

#[test]
fn random_gives_every_wallet_a_share() {
    let pool = pool(10, LeaseStrategy::Random { seed: Some(42) }, Duration::ZERO);
    let counts = counts(&pool, 20_000);
    // expected 2 000 each, standard deviation about 42
    assert!(
        counts.iter().all(|c| (1_700..2_300).contains(c)),
        "{counts:?}"
    );
}

#[test]
fn random_is_reproducible_with_a_seed() {
    let sequence = |seed| {
        let pool = pool(
            10,
            LeaseStrategy::Random { seed: Some(seed) },
            Duration::ZERO,
        );
        let held: Vec<_> = (0..5).map(|_| pool.try_acquire().unwrap()).collect();
        let mut picks: Vec<_> = held.iter().map(Lease::index).collect();
        picks.extend((0..100).map(|_| pool.try_acquire().unwrap().index()));
        picks
    };
    assert_eq!(sequence(7), sequence(7));
    assert_ne!(sequence(7), sequence(8));
}

#[test]
fn random_only_picks_available_wallets() {
    let pool = pool(10, LeaseStrategy::Random { seed: None }, Duration::ZERO);
    let held: Vec<_> = (0..9).map(|_| pool.try_acquire().unwrap()).collect();
    let free = (0..10)
        .find(|i| held.iter().all(|l| l.index() != *i))
        .unwrap();
    for _ in 0..50 {
        assert_eq!(pool.try_acquire().unwrap().index(), free);
    }
}
