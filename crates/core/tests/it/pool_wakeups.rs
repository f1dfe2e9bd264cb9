//! Cooldown and wakeups under `tokio::time::pause()`: a cooling wallet is not handed out early,
//! a waiting `acquire` returns exactly at `ready_at` or on release, cancelled waiters lose no
//! wakeup, the skip predicate is honoured and its changes wake waiters, an empty pool is
//! refused.

use std::{
    future::Future,
    num::NonZeroU32,
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use spam_core::{PoolError, WalletPool, WalletPoolConfig};
use tokio::time::{Instant, advance, timeout};

const COOLDOWN: Duration = Duration::from_secs(4);
/// With paused time a hang turns into this timeout at once instead of blocking the test.
const HANG: Duration = Duration::from_secs(3600);

fn pool(n: usize, cap: u32, cooldown: Duration) -> WalletPool<usize> {
    let config = WalletPoolConfig::default()
        .with_cooldown(cooldown)
        .with_max_in_flight(NonZeroU32::new(cap).unwrap());
    WalletPool::new(0..n, config).unwrap()
}

/// A waker that records whether it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Flag {
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::SeqCst)
    }
}

fn poll_once<F: Future>(future: Pin<&mut F>, flag: &Arc<Flag>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(&Waker::from(Arc::clone(flag))))
}

#[tokio::test(start_paused = true)]
async fn released_wallet_is_not_handed_out_before_cooldown() {
    let pool = pool(1, 1, COOLDOWN);
    pool.try_acquire().unwrap().release();
    assert!(pool.try_acquire().is_none());
    advance(COOLDOWN - Duration::from_millis(1)).await;
    assert!(pool.try_acquire().is_none(), "1 ms before ready_at");
    advance(Duration::from_millis(1)).await;
    assert!(pool.try_acquire().is_some(), "at ready_at");
}

#[tokio::test(start_paused = true)]
async fn acquire_returns_exactly_at_the_earliest_ready_at() {
    let pool = pool(2, 1, COOLDOWN);
    let start = Instant::now();
    let (a, b) = (pool.acquire().await, pool.acquire().await);
    b.release(); // wallet 1 ready at 4 s
    advance(Duration::from_secs(1)).await;
    a.release(); // wallet 0 ready at 5 s
    let lease = timeout(HANG, pool.acquire()).await.unwrap();
    assert_eq!((lease.index(), start.elapsed()), (1, COOLDOWN));
    let lease = timeout(HANG, pool.acquire()).await.unwrap();
    assert_eq!(
        (lease.index(), start.elapsed()),
        (0, COOLDOWN + Duration::from_secs(1))
    );
}

#[tokio::test(start_paused = true)]
async fn zero_cooldown_hands_a_released_wallet_out_again_at_once() {
    let pool = pool(1, 1, Duration::ZERO);
    for _ in 0..3 {
        pool.try_acquire().expect("free again at once").release();
    }
}

#[tokio::test(start_paused = true)]
async fn acquire_wakes_on_release() {
    let pool = pool(1, 1, Duration::ZERO);
    let start = Instant::now();
    let lease = pool.acquire().await;
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.index() }
    });
    tokio::task::yield_now().await;
    assert_eq!(pool.stats().waiting, 1);
    drop(lease);
    assert_eq!(timeout(HANG, waiter).await.unwrap().unwrap(), 0);
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "woken by the release, not a timer"
    );
}

#[tokio::test(start_paused = true)]
async fn release_while_waiting_starts_the_cooldown_timer() {
    let pool = pool(1, 1, COOLDOWN);
    let start = Instant::now();
    let lease = pool.acquire().await;
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.index() }
    });
    tokio::task::yield_now().await; // waiting: nothing cools, no timer
    advance(Duration::from_secs(1)).await;
    drop(lease); // ready at 5 s
    assert_eq!(timeout(HANG, waiter).await.unwrap().unwrap(), 0);
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn wallets_ready_at_one_instant_wake_as_many_waiters() {
    let pool = pool(3, 1, COOLDOWN);
    let start = Instant::now();
    let leases: Vec<_> = (0..3).map(|_| pool.try_acquire().unwrap()).collect();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            // keeps its lease: no later release may paper over a missed wakeup
            tokio::spawn(async move { pool.acquire().await })
        })
        .collect();
    tokio::task::yield_now().await;
    drop(leases); // all three ready at 4 s; one timer owner wakes, it must wake the others
    let mut held = Vec::new();
    for waiter in waiters {
        held.push(timeout(HANG, waiter).await.expect("woken").unwrap());
        assert_eq!(start.elapsed(), COOLDOWN);
    }
    let mut got: Vec<_> = held.iter().map(|l| l.index()).collect();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);
}

#[tokio::test(start_paused = true)]
async fn cancelled_waiter_passes_its_notification_on() {
    let pool = pool(1, 1, Duration::ZERO);
    let lease = pool.try_acquire().unwrap();
    let (fa, fb) = (Arc::new(Flag::default()), Arc::new(Flag::default()));
    let mut a = Box::pin(pool.acquire());
    let mut b = pin!(pool.acquire());
    assert!(poll_once(a.as_mut(), &fa).is_pending());
    assert!(poll_once(b.as_mut(), &fb).is_pending());
    assert_eq!(pool.stats().waiting, 2);

    drop(lease); // wakes one waiter: the oldest, `a`
    assert!(fa.take() && !fb.take());
    drop(a); // cancelled before it could look: the wakeup must move to `b`
    assert!(
        fb.take(),
        "the notification was lost with the cancelled waiter"
    );
    let Poll::Ready(lease) = poll_once(b.as_mut(), &fb) else {
        panic!("b was woken but found nothing")
    };
    assert_eq!(lease.index(), 0);
    assert_eq!(pool.stats().waiting, 0);
}

#[tokio::test(start_paused = true)]
async fn cancelled_timer_owner_hands_the_timer_over() {
    let pool = pool(1, 1, COOLDOWN);
    let start = Instant::now();
    pool.try_acquire().unwrap().release(); // ready at 4 s
    let (fa, fb) = (Arc::new(Flag::default()), Arc::new(Flag::default()));
    let mut a = Box::pin(pool.acquire());
    let mut b = pin!(pool.acquire());
    assert!(poll_once(a.as_mut(), &fa).is_pending()); // sleeps until 4 s
    assert!(poll_once(b.as_mut(), &fb).is_pending()); // waits for a notification only
    drop(a);
    assert!(fb.take(), "the remaining waiter must take over the timer");
    let lease = timeout(HANG, b).await.expect("woken at ready_at");
    assert_eq!((lease.index(), start.elapsed()), (0, COOLDOWN));
}

#[tokio::test(start_paused = true)]
async fn timed_out_waiters_do_not_strand_the_others() {
    let pool = pool(1, 1, Duration::ZERO);
    let start = Instant::now();
    let lease = pool.acquire().await;
    let waiters: Vec<_> = (0..10)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    // gives up at 1 s, before anything is released
                    timeout(Duration::from_secs(1), pool.acquire())
                        .await
                        .ok()
                        .map(|_| i)
                } else {
                    let lease = pool.acquire().await;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    drop(lease);
                    Some(i)
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pool.stats().waiting, 5);
    drop(lease);
    let mut served = Vec::new();
    for waiter in waiters {
        served.extend(timeout(HANG, waiter).await.unwrap().unwrap());
    }
    assert_eq!(served, [1, 3, 5, 7, 9]);
    assert_eq!(start.elapsed(), Duration::from_millis(2_050));
}

#[tokio::test(start_paused = true)]
async fn skip_predicate_is_honoured() {
    let pool = pool(4, 1, Duration::ZERO).with_skip(|&w: &usize| w % 2 == 0);
    for _ in 0..20 {
        let lease = pool.try_acquire().unwrap();
        assert_eq!(lease.index() % 2, 1);
    }
    let (one, three) = (pool.try_acquire().unwrap(), pool.try_acquire().unwrap());
    assert_eq!((one.index(), three.index()), (1, 3));
    assert!(
        pool.try_acquire().is_none(),
        "the even wallets are free but skipped"
    );
    pool.clear_skip();
    assert_eq!(pool.try_acquire().unwrap().index(), 0);
}

#[tokio::test(start_paused = true)]
async fn changing_the_skip_predicate_wakes_waiters() {
    let banned = Arc::new(AtomicBool::new(true));
    let pool = pool(2, 1, Duration::ZERO).with_skip({
        let banned = Arc::clone(&banned);
        move |_: &usize| banned.load(Ordering::SeqCst)
    });
    let start = Instant::now();
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.index() }
    });
    tokio::task::yield_now().await;
    pool.refresh(); // nothing changed: the waiter looks again and keeps waiting
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    assert_eq!(pool.stats().waiting, 1);

    banned.store(false, Ordering::SeqCst);
    pool.refresh();
    assert_eq!(timeout(HANG, waiter).await.unwrap().unwrap(), 0);

    // the same through set_skip, which refreshes by itself
    pool.set_skip(|_| true);
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.index() }
    });
    tokio::task::yield_now().await;
    pool.set_skip(|&w| w == 0);
    assert_eq!(timeout(HANG, waiter).await.unwrap().unwrap(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn skipped_wallet_is_not_handed_out_when_its_cooldown_ends() {
    let pool = pool(2, 1, COOLDOWN);
    let start = Instant::now();
    let (a, b) = (pool.acquire().await, pool.acquire().await);
    a.release(); // wallet 0 ready at 4 s, but skipped below
    advance(Duration::from_secs(2)).await;
    b.release(); // wallet 1 ready at 6 s
    pool.set_skip(|&w| w == 0);
    let lease = timeout(HANG, pool.acquire()).await.unwrap();
    assert_eq!(
        (lease.index(), start.elapsed()),
        (1, Duration::from_secs(6))
    );
}

#[tokio::test(start_paused = true)]
async fn cap_k_permits_cool_down_one_by_one() {
    let pool = pool(1, 2, COOLDOWN);
    let (a, b) = (pool.try_acquire().unwrap(), pool.try_acquire().unwrap());
    assert_eq!((a.index(), b.index()), (0, 0));
    assert!(pool.try_acquire().is_none(), "cap 2 reached");
    a.release();
    assert!(pool.try_acquire().is_none(), "one leased, one cooling");
    advance(Duration::from_secs(1)).await;
    b.release();
    advance(Duration::from_secs(3)).await;
    let c = pool.try_acquire().expect("a's permit is back after 4 s");
    assert!(pool.try_acquire().is_none(), "b's permit cools until 5 s");
    advance(Duration::from_secs(1)).await;
    let d = pool.try_acquire().expect("b's permit is back");
    drop((c, d));
}

#[test]
fn empty_pool_is_refused() {
    let err = WalletPool::<u8>::new([], WalletPoolConfig::default()).unwrap_err();
    assert_eq!(err, PoolError::Empty);
    assert_eq!(
        err.to_string(),
        "wallet pool is empty: give it at least one wallet"
    );
}

#[tokio::test(start_paused = true)]
async fn lease_derefs_to_the_wallet_and_releases_on_drop() {
    let pool = WalletPool::new(
        ["alice".to_owned(), "bob".to_owned()],
        WalletPoolConfig::default().with_cooldown(Duration::ZERO),
    )
    .unwrap();
    let lease = pool.acquire().await;
    assert_eq!(lease.len(), 5, "String methods through Deref");
    assert_eq!((lease.index(), lease.wallet().as_str()), (0, "alice"));
    assert_eq!(
        format!("{lease:?}"),
        r#"Lease { index: 0, wallet: "alice" }"#
    );
    assert_eq!(pool.stats().leased, 1);
    drop(lease);
    assert_eq!(pool.stats().leased, 0);
}

#[test]
fn pool_and_lease_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<WalletPool<String>>();
    assert_send_sync::<spam_core::Lease<String>>();
    fn assert_send<T: Send>(_: &T) {}
    let pool = pool(1, 1, Duration::ZERO);
    assert_send(&pool.acquire());
}
