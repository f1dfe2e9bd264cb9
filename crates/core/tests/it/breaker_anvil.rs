//! The breaker layer around a real alloy client: anvil dies, the breaker opens and fails fast;
//! anvil comes back on the same port, probes succeed, the breaker closes. JSON-RPC refusals
//! never count as failures.

use std::{
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    providers::{Provider, ProviderBuilder},
    rpc::client::ClientBuilder,
};
use spam_core::breaker::{
    BreakerConfig, BreakerLayer, BreakerState, CircuitBreaker, is_breaker_open,
};
use spam_devnet::Devnet;

#[tokio::test]
async fn opens_when_anvil_dies_and_closes_when_it_returns() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(1)) else {
        return;
    };
    let port = devnet.port();
    let config = BreakerConfig::builder()
        .min_calls(3)
        .failure_rate(0.05)
        .open_for(Duration::from_millis(300))
        .probes(NonZeroU32::new(2).unwrap())
        .build()
        .unwrap();
    let transitions = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&transitions);
    let breaker = CircuitBreaker::new(config)
        .on_transition(move |t| log.lock().unwrap().push((t.from, t.to)));
    let client = ClientBuilder::default()
        .layer(BreakerLayer::new(breaker.clone()))
        .http(devnet.endpoint().parse().unwrap());
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client);

    for _ in 0..5 {
        provider.get_block_number().await.unwrap();
    }
    // JSON-RPC errors are answers from a healthy node, not failures
    for _ in 0..5 {
        let refused = provider
            .raw_request::<_, String>("eth_sendRawTransaction".into(), ("0x00",))
            .await;
        assert!(refused.is_err());
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(breaker.stats().failures, 0);

    drop(devnet);
    // 10 successes are in the window, so one failure (1 in 11 > 5%) opens it
    let err = provider.get_block_number().await.unwrap_err();
    assert!(
        !is_breaker_open(&err),
        "the first failure reaches the transport: {err}"
    );
    assert_eq!(
        spam_core::classify(&err),
        spam_core::ErrorClass::Connection,
        "{err}"
    );
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.stats().failures, 1);
    let fast = provider.get_block_number().await.unwrap_err();
    assert!(is_breaker_open(&fast), "open breaker fails fast: {fast}");
    assert_eq!(
        spam_core::classify(&fast),
        spam_core::ErrorClass::Other,
        "not retryable"
    );

    let _devnet = Devnet::builder()
        .accounts(1)
        .port(port)
        .start()
        .expect("anvil restarts on its port");
    tokio::time::sleep(Duration::from_millis(350)).await;
    for _ in 0..2 {
        provider
            .get_block_number()
            .await
            .expect("probe reaches the restarted anvil");
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    provider.get_block_number().await.unwrap();
    assert_eq!(
        *transitions.lock().unwrap(),
        [
            (BreakerState::Closed, BreakerState::Open),
            (BreakerState::Open, BreakerState::HalfOpen),
            (BreakerState::HalfOpen, BreakerState::Closed),
        ]
    );
}
