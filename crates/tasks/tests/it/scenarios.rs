//! Scenario files against anvil, both engines: what the chain holds agrees with the report,
//! the mix follows the weights, and the same scenario and seed give the same addresses and
//! calldata on fresh chains.

use std::{num::NonZeroU32, path::PathBuf, time::Duration};

use alloy::{
    primitives::{Address, U256, address, keccak256},
    providers::{Provider, RootProvider},
    rpc::types::TransactionRequest,
    sol_types::SolValue,
};
use spam_core::{LoadGen, Rate, Session, SessionConfig, Spammer, Stop, Wallet};
use spam_devnet::Devnet;
use spam_tasks::{Prepared, Scenario};

fn example(name: &str) -> Scenario {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "../../examples/scenarios", name]
        .iter()
        .collect();
    Scenario::from_file(path).unwrap()
}

fn wallets(devnet: &Devnet) -> Vec<Wallet> {
    devnet.signers().into_iter().map(Wallet::new).collect()
}

async fn prepare(devnet: &Devnet, scenario: &Scenario, seed: u64) -> Prepared {
    let session = Session::open(
        SessionConfig::new(devnet.endpoint().parse().unwrap()).with_wallets(wallets(devnet)),
    )
    .await
    .unwrap();
    scenario.prepare(&session, seed).await.unwrap()
}

/// `name()(uint256)` of `to`, with `args` encoded after the selector.
async fn read(provider: &RootProvider, to: Address, signature: &str, args: Vec<u8>) -> U256 {
    let mut input = keccak256(signature.as_bytes())[..4].to_vec();
    input.extend(args);
    let out = provider
        .call(TransactionRequest::default().to(to).input(input.into()))
        .await
        .unwrap();
    U256::from_be_slice(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_in_the_closed_loop_agrees_with_the_chain_and_the_weights() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(16)) else {
        return;
    };
    let scenario = example("counter.toml");
    let prepared = prepare(&devnet, &scenario, 5).await;
    let counter = prepared.addresses()["Counter"];
    let provider = devnet.provider();
    assert_eq!(
        read(&provider, counter, "value()", vec![]).await,
        U256::from(1),
        "set up"
    );
    let report = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tasks(prepared.tasks())
        .workers(NonZeroU32::new(16).unwrap())
        .cooldown(Duration::ZERO)
        .receipt_poll(Duration::from_millis(10))
        .stop(Stop::Tasks(3_000))
        .seed(5)
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    println!("{report}");
    let tasks = &report.tasks;
    assert_eq!(report.totals.failed, 0, "{:?}", report.errors);
    let count = read(&provider, counter, "count()", vec![]).await;
    assert_eq!(
        count,
        U256::from(7 + tasks["increment"].succeeded),
        "7 + every increment"
    );
    let total = report.totals.started as f64;
    for (name, weight) in [("increment", 0.6), ("set", 0.2), ("ping", 0.2)] {
        let share = tasks[name].started as f64 / total;
        assert!(
            (share - weight).abs() <= 0.03,
            "{name}: {share:.3} of the tasks, weight {weight}"
        );
    }
    let dead = provider
        .get_balance(address!("000000000000000000000000000000000000dEaD"))
        .await
        .unwrap();
    assert_eq!(
        dead,
        U256::from(tasks["ping"].succeeded) * U256::from(1_000_000_000u64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_in_the_open_loop_lands_whole() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(16).block_time(0.5)) else {
        return;
    };
    let scenario = example("counter.toml");
    let prepared = prepare(&devnet, &scenario, 9).await;
    let counter = prepared.addresses()["Counter"];
    let report = LoadGen::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tx(prepared.builder())
        .rate(Rate::constant(400.0))
        .duration(Duration::from_secs(5))
        .seed(9)
        .grace(Duration::from_secs(15))
        .run()
        .await
        .unwrap();
    println!("{report}");
    let o = report.open_loop.as_ref().unwrap();
    assert_eq!(o.included, o.sent, "{o:?}");
    assert_eq!(o.dropped, 0, "{:?}", o.dropped_by_reason);
    // Each transaction under its [[tx]]'s name; the chain agrees with the increments counted.
    let provider = devnet.provider();
    let increments = read(&provider, counter, "count()", vec![]).await - U256::from(7);
    assert_eq!(
        increments,
        U256::from(report.tasks["increment"].txs_included)
    );
    let total: u64 = ["increment", "set", "ping"]
        .iter()
        .map(|name| report.tasks[*name].txs_sent)
        .sum();
    assert_eq!(total, o.sent);
    let share = increments.to::<u64>() as f64 / o.included as f64;
    assert!(
        (share - 0.6).abs() <= 0.03,
        "increments {share:.3} of the transactions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erc20_balances_add_up_to_what_was_minted() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8)) else {
        return;
    };
    let scenario = example("erc20.toml");
    let prepared = prepare(&devnet, &scenario, 1).await;
    let token = prepared.addresses()["Token"];
    let report = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tasks(prepared.tasks())
        .workers(NonZeroU32::new(8).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::Tasks(400))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    assert_eq!(report.totals.failed, 0, "{:?}", report.errors);
    let provider = devnet.provider();
    let balance = |who: Address| read(&provider, token, "balanceOf(address)", who.abi_encode());
    let mut sum = U256::ZERO;
    for sender in devnet.addresses() {
        sum += balance(*sender).await;
    }
    let sink = balance(address!("000000000000000000000000000000000000bEEF")).await;
    assert!(sink > U256::ZERO, "transfers reached the sink");
    let minted = U256::from(1_000_000_000u64) * U256::from(devnet.addresses().len());
    assert_eq!(sum + sink, minted);
    assert_eq!(
        read(&provider, token, "totalSupply()", vec![]).await,
        minted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_scenario_and_seed_give_the_same_addresses_and_calldata() {
    let (Some(a), Some(b)) = (
        spam_devnet::for_test(Devnet::builder().accounts(2)),
        spam_devnet::for_test(Devnet::builder().accounts(2)),
    ) else {
        return;
    };
    let scenario = example("counter.toml");
    let (pa, pb) = (
        prepare(&a, &scenario, 42).await,
        prepare(&b, &scenario, 42).await,
    );
    assert_eq!(pa.addresses(), pb.addresses());
    assert_eq!(
        pa.addresses()["Counter"],
        scenario.address_of("Counter", 42).unwrap()
    );
    assert_ne!(
        scenario.address_of("Counter", 43),
        scenario.address_of("Counter", 42)
    );
    let sender = a.addresses()[0];
    assert_eq!(pa.sample(50, sender, 7), pb.sample(50, sender, 7));
    assert!(pa.reused().is_empty());
    // Prepared again on the same chain: the contract is found, not deployed twice.
    let again = prepare(&a, &scenario, 42).await;
    assert_eq!(again.reused(), ["Counter"]);
}
