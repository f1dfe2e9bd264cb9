//! The fee oracle against anvil: EIP-1559 fees from the latest block, computed once per block
//! and shared; a legacy gas price on a chain without base fee.

use std::time::Duration;

use alloy::{
    consensus::BlockHeader, eips::BlockNumberOrTag, network::BlockResponse, providers::Provider,
};
use spam_core::{FeeOracle, FeeOracleConfig, Fees};
use spam_devnet::Devnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eip1559_fees_follow_the_latest_block_once_per_block() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(1)) else {
        return;
    };
    let provider = devnet.provider();
    let config = FeeOracleConfig {
        refresh_after: Duration::from_millis(50),
        ..Default::default()
    };
    let oracle = FeeOracle::new(provider.clone(), config);

    let latest = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    let base_fee = u128::from(
        latest
            .header()
            .base_fee_per_gas()
            .expect("anvil has a base fee"),
    );
    let expected = Fees::Eip1559 {
        max_fee_per_gas: base_fee * 2 + 1_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
    };
    // many workers at once: one computation
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let oracle = oracle.clone();
            tokio::spawn(async move { oracle.current().await.unwrap() })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.await.unwrap(), expected);
    }
    assert_eq!(oracle.computations(), 1);

    // after the refresh interval with no new block: checked, not recomputed
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(oracle.current().await.unwrap(), expected);
    assert_eq!(oracle.computations(), 1);

    // a new block: recomputed from its base fee
    provider
        .raw_request::<_, String>("evm_mine".into(), ())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let mined = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    let new_base = u128::from(mined.header().base_fee_per_gas().unwrap());
    assert_eq!(
        oracle.current().await.unwrap().max_fee_per_gas(),
        new_base * 2 + 1_000_000_000
    );
    assert_eq!(oracle.computations(), 2);

    // pushed blocks need no RPC; older ones are ignored
    oracle.observe_block(mined.header().number() + 1, 10);
    assert_eq!(
        oracle.cached().unwrap().max_fee_per_gas(),
        20 + 1_000_000_000
    );
    oracle.observe_block(1, 99);
    assert_eq!(
        oracle.cached().unwrap().max_fee_per_gas(),
        20 + 1_000_000_000
    );
}

#[tokio::test]
async fn legacy_gas_price_without_base_fee() {
    let Some(devnet) = spam_devnet::for_test(
        Devnet::builder()
            .accounts(1)
            .arg("--hardfork")
            .arg("berlin"),
    ) else {
        return;
    };
    let provider = devnet.provider();
    let oracle = FeeOracle::new(provider.clone(), FeeOracleConfig::default());
    let gas_price = provider.get_gas_price().await.unwrap();
    match oracle.current().await.unwrap() {
        Fees::Legacy { gas_price: price } => assert_eq!(price, gas_price + 1_000_000_000),
        other => panic!("expected legacy fees, got {other:?}"),
    }
    let bumped = oracle.current().await.unwrap().bump();
    assert!(bumped.max_fee_per_gas() * 8 >= (gas_price + 1_000_000_000) * 9);
}
