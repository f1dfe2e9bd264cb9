//! The catalogue's single-call workloads through the open loop: each prepared on anvil, sent at
//! a rate, every transaction included, and only `revert` reverting.

use std::time::Duration;

use spam_core::{LoadGen, Rate, Session, SessionConfig, Wallet};
use spam_devnet::Devnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_prepared_builder_lands_in_the_open_loop() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4).block_time(0.5)) else {
        return;
    };
    let url: alloy::transports::http::reqwest::Url = devnet.endpoint().parse().unwrap();
    let wallets = || -> Vec<Wallet> { devnet.signers().into_iter().map(Wallet::new).collect() };
    for name in spam_tasks::PREPARED_TX_BUILDERS {
        let session = Session::open(SessionConfig::new(url.clone()).with_wallets(wallets()))
            .await
            .unwrap();
        let builder = spam_tasks::prepare_tx_builder(name, &session, 3)
            .await
            .expect("a listed name")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        drop(session);
        assert_eq!(builder.name(), *name);
        // A blob's sidecar takes ~0.4 s to build in a debug build: signed before the start.
        let report = LoadGen::builder()
            .rpc_url(url.clone())
            .wallets(wallets())
            .presign(*name == "blob_tx")
            .tx(builder)
            .rate(Rate::constant(20.0))
            .duration(Duration::from_secs(1))
            .grace(Duration::from_secs(10))
            .run()
            .await
            .unwrap();
        let o = report.open_loop.as_ref().unwrap();
        assert_eq!((o.sent, o.included), (20, 20), "{name}: {o:?}");
        let reverted = if *name == "revert" { 20 } else { 0 };
        assert_eq!(o.reverted, reverted, "{name}");
    }
}
