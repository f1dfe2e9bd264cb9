//! Every task of the registry, equal weights, 10 s through the Spammer on one anvil: no
//! engine errors, and the only failures are the `revert` task's expected reverts.

use std::{num::NonZeroU32, time::Duration};

use alloy::providers::{Provider, ext::TxPoolApi};
use spam_core::{Spammer, Stop, Wallet};
use spam_devnet::Devnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_tasks_with_equal_weights_for_ten_seconds() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(16)) else {
        return;
    };
    let registry = spam_tasks::registry();
    let weights: Vec<(&str, u32)> = registry.names().map(|name| (name, 1)).collect();
    let mix = registry.mix(&weights).unwrap();
    let report = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(devnet.signers().into_iter().map(Wallet::new).collect())
        .tasks(mix)
        .workers(NonZeroU32::new(8).unwrap())
        .cooldown(Duration::ZERO)
        .receipt_poll(Duration::from_millis(20))
        .stop(Stop::After(Duration::from_secs(10)))
        .seed(6)
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    println!("{report}");

    for (name, _) in &weights {
        let stats = report
            .tasks
            .get(*name)
            .unwrap_or_else(|| panic!("{name} never ran"));
        if *name == "revert" {
            assert_eq!(stats.succeeded, 0, "revert never succeeds");
            assert!(stats.failed > 0);
        } else {
            assert!(stats.succeeded > 0, "{name}: {stats:?}");
            assert_eq!(stats.failed, 0, "{name}: {:?}", report.errors);
        }
    }
    assert_eq!(
        report.errors.keys().collect::<Vec<_>>(),
        ["reverted"],
        "only reverts: {:?}",
        report.errors
    );
    assert_eq!(report.errors["reverted"], report.tasks["revert"].failed);

    let provider = devnet.provider();
    let pool = provider.txpool_status().await.unwrap();
    assert_eq!((pool.pending, pool.queued), (0, 0), "no stuck transactions");
    let mut on_chain = 0;
    for address in devnet.addresses() {
        on_chain += provider
            .get_transaction_count(*address)
            .latest()
            .await
            .unwrap();
    }
    assert_eq!(
        report.totals.txs_included + report.nonces.holes_filled,
        on_chain,
        "every included transaction of the report is on chain"
    );
}
