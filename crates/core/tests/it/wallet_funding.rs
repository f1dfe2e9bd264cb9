//! Funding against a real anvil: 200 fresh wallets (dev mnemonic indices 1000..1200, which
//! anvil does not fund) get value from anvil's account 0, some are topped up, then everything
//! is swept back. Also: refused transfers are reported, not hidden, and a poor funder is
//! stopped before sending anything.

use std::{num::NonZeroU32, time::Duration};

use alloy::{
    primitives::{Address, U256},
    providers::{Provider, RootProvider},
};
use spam_core::{
    ErrorClass, Fees, Funder, FundingConfig, MainnetPolicy, MnemonicSource, Wallet, WalletError,
};
use spam_devnet::{Devnet, DevnetBuilder};

const GWEI: u128 = 1_000_000_000;
const WALLETS: u32 = 200;

async fn fees(provider: &RootProvider) -> Fees {
    let gas_price = provider.get_gas_price().await.unwrap();
    Fees::Eip1559 {
        max_fee_per_gas: 2 * gas_price + GWEI,
        max_priority_fee_per_gas: GWEI,
    }
}

async fn balances(provider: &RootProvider, addresses: &[Address]) -> Vec<U256> {
    let mut out = Vec::with_capacity(addresses.len());
    for &address in addresses {
        out.push(provider.get_balance(address).await.unwrap());
    }
    out
}

fn milli_eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64.pow(15))
}

/// Interval mining: the funder's pipelined sends reach anvil out of nonce order, and anvil's
/// automine can then leave a ready transaction unmined (foundry-rs/foundry#10122).
fn devnet() -> DevnetBuilder {
    Devnet::builder().accounts(1).block_time(0.2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fund_top_up_and_sweep_200_wallets() {
    let Some(devnet) = spam_devnet::for_test(devnet()) else {
        return;
    };
    let provider = devnet.provider();
    let fees = fees(&provider).await;
    let funder = Wallet::new(devnet.signers().remove(0));
    let funder = Funder::connect(provider.clone(), funder, fees, MainnetPolicy::Refuse)
        .await
        .unwrap();
    let wallets = MnemonicSource::dev()
        .with_indices(1000..1000 + WALLETS)
        .load()
        .unwrap();
    let addresses: Vec<Address> = wallets.iter().map(Wallet::address).collect();
    assert!(
        balances(&provider, &addresses)
            .await
            .iter()
            .all(U256::is_zero)
    );

    // Fan out.
    let amount = milli_eth(10);
    let started = std::time::Instant::now();
    let report = funder.fund(&addresses, amount).await.unwrap();
    eprintln!(
        "funded {WALLETS} wallets in {:?}: {report}",
        started.elapsed()
    );
    assert_eq!(report.sent, WALLETS as usize);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.value, amount * U256::from(WALLETS));
    assert!(
        balances(&provider, &addresses)
            .await
            .iter()
            .all(|b| *b == amount)
    );
    let mined = provider
        .get_transaction_count(funder.address())
        .await
        .unwrap();
    assert_eq!(
        mined,
        u64::from(WALLETS),
        "one transaction per wallet, no gap fillers"
    );

    // Give the second half more, then top up: only the first half is below the threshold.
    let (low, high) = addresses.split_at(addresses.len() / 2);
    funder.fund(high, amount).await.unwrap();
    let (threshold, target) = (milli_eth(15), milli_eth(30));
    let report = funder.top_up(&addresses, threshold, target).await.unwrap();
    assert_eq!((report.sent, report.skipped), (low.len(), high.len()));
    assert_eq!(report.value, (target - amount) * U256::from(low.len()));
    assert!(balances(&provider, low).await.iter().all(|b| *b == target));
    assert!(
        balances(&provider, high)
            .await
            .iter()
            .all(|b| *b == amount * U256::from(2))
    );
    let again = funder.top_up(&addresses, threshold, target).await.unwrap();
    assert_eq!(
        (again.sent, again.skipped),
        (0, addresses.len()),
        "nobody is paid twice"
    );

    // Sweep back.
    let max_fee = U256::from(fees.max_cost(21_000));
    let held: U256 = balances(&provider, &addresses).await.into_iter().sum();
    let funder_before = provider.get_balance(funder.address()).await.unwrap();
    let started = std::time::Instant::now();
    let report = funder.sweep(&wallets).await.unwrap();
    eprintln!(
        "swept {WALLETS} wallets in {:?}: {report}",
        started.elapsed()
    );
    assert_eq!(report.sent, WALLETS as usize);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.value, held - max_fee * U256::from(WALLETS));
    let left = balances(&provider, &addresses).await;
    assert!(left.iter().all(|b| *b < max_fee), "dust below one max fee");
    let funder_after = provider.get_balance(funder.address()).await.unwrap();
    assert_eq!(
        funder_after - funder_before,
        report.value,
        "the funder got it all back"
    );

    let again = funder.sweep(&wallets).await.unwrap();
    assert_eq!((again.sent, again.skipped), (0, wallets.len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_transfers_are_reported_and_leave_no_gap() {
    let Some(devnet) = spam_devnet::for_test(devnet()) else {
        return;
    };
    let provider = devnet.provider();
    // A fee cap of 1 wei is below anvil's base fee: every transfer is refused, every round.
    let too_cheap = Fees::Eip1559 {
        max_fee_per_gas: 1,
        max_priority_fee_per_gas: 1,
    };
    let funder = Funder::connect(
        provider.clone(),
        Wallet::new(devnet.signers().remove(0)),
        too_cheap,
        MainnetPolicy::Refuse,
    )
    .await
    .unwrap()
    .with_config(
        FundingConfig::default()
            .with_attempts(NonZeroU32::new(2).unwrap())
            .with_poll_interval(Duration::from_millis(10)),
    );
    let recipients: Vec<Address> = (1..=5).map(Address::with_last_byte).collect();
    let report = funder.fund(&recipients, milli_eth(1)).await.unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(report.failed.len(), recipients.len());
    for failure in &report.failed {
        assert_eq!(
            failure.error.class,
            ErrorClass::FeeTooLow,
            "{}",
            failure.error
        );
    }
    assert!(
        balances(&provider, &recipients)
            .await
            .iter()
            .all(U256::is_zero)
    );

    // With real fees the rolled-back nonces are used again: no gap, nothing stuck.
    let funder = funder.with_fees(fees(&provider).await);
    let report = funder.fund(&recipients, milli_eth(1)).await.unwrap();
    assert_eq!(report.sent, recipients.len());
    let mined = provider
        .get_transaction_count(funder.address())
        .await
        .unwrap();
    assert_eq!(mined, recipients.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poor_funder_is_stopped_before_sending() {
    let Some(devnet) = spam_devnet::for_test(devnet()) else {
        return;
    };
    let provider = devnet.provider();
    let fees = fees(&provider).await;
    let poor = Wallet::random();
    let funder = Funder::connect(provider.clone(), poor, fees, MainnetPolicy::Refuse)
        .await
        .unwrap();
    let err = funder
        .fund(&[Address::with_last_byte(9)], milli_eth(1))
        .await
        .unwrap_err();
    match err {
        WalletError::InsufficientFunds {
            funder: who,
            available,
            needed,
        } => {
            assert_eq!(who, funder.address());
            assert!(available.is_zero());
            assert_eq!(needed, milli_eth(1) + U256::from(fees.max_cost(21_000)));
        }
        other => panic!("expected InsufficientFunds, got {other:?}"),
    }
    assert_eq!(
        provider
            .get_transaction_count(funder.address())
            .await
            .unwrap(),
        0
    );
}
