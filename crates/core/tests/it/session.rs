//! `Session::open` against real anvil nodes: what it reads, what it refuses, and how its
//! `StartError` classifies each failure; and a task run on the session's context.

use std::{sync::Arc, time::Duration};

use alloy::providers::Provider;
use spam_core::{
    ExecutionLayer, LoadGen, MainnetPolicy, Session, SessionConfig, Spammer, StartErrorKind,
    TaskContext, TxTask, Wallet,
};
use spam_devnet::Devnet;

use crate::support::SelfTransfer;

fn wallets(devnet: &Devnet, n: usize) -> Vec<Wallet> {
    devnet
        .signers()
        .into_iter()
        .take(n)
        .map(Wallet::new)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_synced_and_a_task_runs_on_its_context() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4)) else {
        return;
    };
    let url = devnet.endpoint().parse().unwrap();
    let session = Session::open(SessionConfig::new(url).with_wallets(wallets(&devnet, 2)))
        .await
        .unwrap();
    assert_eq!(session.chain_id(), devnet.chain_id());
    assert!(
        session.client_version().contains("anvil"),
        "{}",
        session.client_version()
    );
    assert_eq!(session.execution_layer(), ExecutionLayer::Anvil);
    assert_eq!(session.wallets().len(), 2);
    for wallet in session.wallets() {
        let synced = session.nonces().snapshot(wallet.address()).expect("loaded");
        assert_eq!(synced.next, 0);
    }
    assert!(session.fees().cached().is_some(), "fees read at open");

    // A one-shot task on the session's context sends through its nonce manager.
    let wallet = Arc::clone(&session.wallets()[0]);
    let ctx = TaskContext::new(Arc::new(session.run_context()), Arc::clone(&wallet), 0, 1);
    let outcome = spam_core::Task::run(&TxTask(SelfTransfer), &ctx)
        .await
        .unwrap();
    assert_eq!(outcome.tx_hashes.len(), 1);
    let mined = session
        .provider()
        .get_transaction_count(wallet.address())
        .await
        .unwrap();
    assert_eq!(mined, 1);
    assert_eq!(session.nonces().snapshot(wallet.address()).unwrap().next, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_mainnet_chain_id_before_anything_else() {
    let Some(devnet) =
        spam_devnet::for_test(Devnet::builder().accounts(2).arg("--chain-id").arg("8453"))
    else {
        return;
    };
    let config =
        || SessionConfig::new(devnet.endpoint().parse().unwrap()).with_wallets(wallets(&devnet, 1));
    let err = Session::open(config()).await.unwrap_err();
    assert!(err.is_bad_input() && !err.is_unreachable());
    assert!(
        matches!(err.kind(), StartErrorKind::Mainnet(m) if m.chain_id == 8453 && m.name == "Base"),
        "{err:?}"
    );
    assert!(err.to_string().contains("public mainnet"), "{err}");
    // Both engines refuse it the same way.
    let loadgen = LoadGen::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet, 1))
        .tx(SelfTransfer)
        .run()
        .await
        .unwrap_err();
    assert!(matches!(loadgen.kind(), StartErrorKind::Mainnet(_)));
    // The opt-in opens it.
    let allowed = Session::open(config().with_mainnet(MainnetPolicy::Allow))
        .await
        .unwrap();
    assert_eq!(allowed.chain_id(), 8453);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_is_not_there_is_unreachable_not_bad_input() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url: alloy::transports::http::reqwest::Url =
        format!("http://127.0.0.1:{port}").parse().unwrap();
    let signer = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        .parse()
        .unwrap();
    let err = Session::open(
        SessionConfig::new(url.clone())
            .with_wallets(vec![Wallet::new(signer)])
            .with_http_timeout(Duration::from_secs(5)),
    )
    .await
    .unwrap_err();
    assert!(err.is_unreachable() && !err.is_bad_input(), "{err:?}");
    assert!(matches!(
        err.kind(),
        StartErrorKind::Rpc {
            what: "reading the chain id",
            ..
        }
    ));

    // Settings that need no node are refused first, whatever the node.
    let spammer = Spammer::builder().rpc_url(url).build().unwrap_err();
    assert!(spammer.is_bad_input());
    assert_eq!(
        spammer.to_string(),
        "invalid settings: at least one wallet is required"
    );
}
