//! What the breaker layer counts, against an endpoint that injects faults: HTTP 5xx and client
//! timeouts are failures; JSON-RPC error answers are not; outside a retry layer, a call counts
//! once with its final outcome.

use std::{num::NonZeroU32, time::Duration};

use alloy::{
    providers::{Provider, ProviderBuilder},
    rpc::client::ClientBuilder,
    transports::{http::reqwest, layers::RetryBackoffLayer},
};
use spam_core::{
    ErrorClass,
    breaker::{BreakerConfig, BreakerLayer, BreakerState, CircuitBreaker, is_breaker_open},
    classify,
};

use crate::support::{Reply, fake_node};

fn breaker() -> CircuitBreaker {
    let config = BreakerConfig::builder()
        .min_calls(3)
        .failure_rate(0.5)
        .probes(NonZeroU32::new(1).unwrap())
        .build()
        .unwrap();
    CircuitBreaker::new(config)
}

/// A provider whose HTTP client gives up after 100 ms, behind `breaker`.
fn provider(url: &str, breaker: &CircuitBreaker) -> impl Provider {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let client = ClientBuilder::default()
        .layer(BreakerLayer::new(breaker.clone()))
        .http_with_client(http, url.parse().unwrap());
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client)
}

#[tokio::test]
async fn server_errors_count_as_failures() {
    let (url, served) = fake_node(vec![Reply::Status(503)]).await;
    let breaker = breaker();
    let provider = provider(&url, &breaker);
    for _ in 0..3 {
        let err = provider.get_block_number().await.unwrap_err();
        assert_eq!(classify(&err), ErrorClass::Http { status: 503 }, "{err}");
    }
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.stats().failures, 3);
    assert!(is_breaker_open(
        &provider.get_block_number().await.unwrap_err()
    ));
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "refused calls never left"
    );
}

#[tokio::test]
async fn timeouts_count_as_failures() {
    let (url, _) = fake_node(vec![Reply::Stall(1_000)]).await;
    let breaker = breaker();
    let provider = provider(&url, &breaker);
    for _ in 0..3 {
        let err = provider.get_block_number().await.unwrap_err();
        assert_eq!(classify(&err), ErrorClass::Timeout, "{err}");
    }
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[tokio::test]
async fn json_rpc_errors_are_not_failures() {
    let (url, _) = fake_node(vec![Reply::Error("nonce too low")]).await;
    let breaker = breaker();
    let provider = provider(&url, &breaker);
    for _ in 0..5 {
        let err = provider.get_block_number().await.unwrap_err();
        assert!(
            matches!(classify(&err), ErrorClass::NonceTooLow { .. }),
            "{err}"
        );
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    let stats = breaker.stats();
    assert_eq!((stats.calls, stats.failures), (5, 0));
}

/// A provider with the breaker outside alloy's retry layer (3 retries, 10 ms apart).
fn retrying_provider(url: &str, breaker: &CircuitBreaker) -> impl Provider {
    let client = ClientBuilder::default()
        .layer(BreakerLayer::new(breaker.clone()))
        .layer(RetryBackoffLayer::new(3, 10, u64::MAX))
        .http(url.parse().unwrap());
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client)
}

/// A call the fake node answers with a hash (or its fault).
async fn call(provider: &impl Provider) -> Result<String, alloy::transports::TransportError> {
    provider
        .raw_request("eth_sendRawTransaction".into(), ("0x00",))
        .await
}

#[tokio::test]
async fn a_call_retried_to_success_counts_once_as_a_success() {
    let (url, served) = fake_node(vec![Reply::Status(503), Reply::Status(503), Reply::Hash]).await;
    let breaker = breaker();
    let provider = retrying_provider(&url, &breaker);
    call(&provider).await.unwrap();
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3);
    let stats = breaker.stats();
    assert_eq!((stats.calls, stats.failures), (1, 0));
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[tokio::test]
async fn a_call_that_exhausts_its_retries_counts_once_as_a_failure() {
    let (url, served) = fake_node(vec![Reply::Status(503)]).await;
    let breaker = breaker();
    let provider = retrying_provider(&url, &breaker);
    let err = call(&provider).await.unwrap_err();
    assert_eq!(classify(&err), ErrorClass::Http { status: 503 }, "{err}");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 4);
    let stats = breaker.stats();
    assert_eq!((stats.calls, stats.failures), (1, 1));
}

#[tokio::test]
async fn inside_the_retries_every_attempt_counts() {
    let (url, _) = fake_node(vec![Reply::Status(503), Reply::Hash]).await;
    let breaker = breaker();
    let client = ClientBuilder::default()
        .layer(RetryBackoffLayer::new(3, 10, u64::MAX))
        .layer(BreakerLayer::new(breaker.clone()))
        .http(url.parse().unwrap());
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client);
    call(&provider).await.unwrap();
    let stats = breaker.stats();
    assert_eq!(
        (stats.calls, stats.failures),
        (2, 1),
        "the documented other order"
    );
}
