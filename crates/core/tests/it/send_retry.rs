//! Replay safety of `send_raw_transaction` against an in-process JSON-RPC endpoint that injects
//! faults a real node cannot produce on demand: a dropped connection after the request
//! arrived, a 429, then a chosen answer. The fake counts what it received.

use std::{sync::atomic::Ordering, time::Duration};

use alloy::{
    primitives::keccak256,
    providers::{ProviderBuilder, RootProvider},
};
use spam_core::{ErrorClass, RetryPolicy, send_raw_transaction};

use crate::support::{Reply, fake_node};

fn provider(url: &str) -> RootProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url.parse().unwrap())
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_delays(Duration::from_millis(1), Duration::from_millis(5))
        .with_jitter(false)
}

const RAW: &[u8] = &[0x02, 0xf8, 0x6b, 0x01];

#[tokio::test]
async fn lost_answer_then_already_known_counts_as_sent() {
    let (url, served) = fake_node(vec![Reply::Drop, Reply::Error("already known")]).await;
    let hash = send_raw_transaction(&provider(&url), RAW, &fast_policy())
        .await
        .unwrap();
    assert_eq!(hash, keccak256(RAW));
    assert_eq!(
        served.load(Ordering::SeqCst),
        2,
        "the same bytes were sent twice, no more"
    );
}

#[tokio::test]
async fn rate_limit_is_retried_until_accepted() {
    let (url, served) = fake_node(vec![Reply::Status(429), Reply::Status(429), Reply::Hash]).await;
    let hash = send_raw_transaction(&provider(&url), RAW, &fast_policy())
        .await
        .unwrap();
    assert_eq!(hash, keccak256(RAW));
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn refusals_are_not_retried() {
    let (url, served) = fake_node(vec![Reply::Error(
        "nonce too low: next nonce 9, tx nonce 3",
    )])
    .await;
    let err = send_raw_transaction(&provider(&url), RAW, &fast_policy())
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::NonceTooLow { next: Some(9) });
    assert_eq!((err.attempts, served.load(Ordering::SeqCst)), (1, 1));
    assert_eq!(err.hash, keccak256(RAW));
}

#[tokio::test]
async fn attempts_are_bounded() {
    let (url, served) = fake_node(vec![Reply::Drop]).await;
    let policy = fast_policy().with_attempts(std::num::NonZeroU32::new(3).unwrap());
    let err = send_raw_transaction(&provider(&url), RAW, &policy)
        .await
        .unwrap_err();
    assert!(err.class.outcome_unknown(), "{}", err.class);
    assert_eq!((err.attempts, served.load(Ordering::SeqCst)), (3, 3));
}

#[tokio::test]
async fn a_refusal_after_a_lost_answer_is_not_a_clean_refusal() {
    // attempt 1 may have delivered it; attempt 2 then hears "nonce too low" (it landed)
    let (url, served) = fake_node(vec![Reply::Drop, Reply::Error("nonce too low")]).await;
    let err = send_raw_transaction(&provider(&url), RAW, &fast_policy())
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::NonceTooLow { next: None });
    assert!(err.maybe_delivered && err.outcome_unknown());
    assert_eq!(
        err.action(),
        spam_core::Action::ResendSame,
        "keep the nonce, do not re-sign"
    );
    assert_eq!(served.load(Ordering::SeqCst), 2);
}
