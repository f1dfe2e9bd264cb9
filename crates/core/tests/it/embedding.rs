//! The headline use: load a devnet from an ordinary `#[tokio::test]` and assert on the report.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use spam_core::{Spammer, Stop, TaskMix, Thresholds, TxTask, Wallet};
use spam_devnet::Devnet;

use crate::support::SelfTransfer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_workers_for_ten_seconds_meet_the_thresholds() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8)) else {
        return;
    };

    let report = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(devnet.signers().into_iter().map(Wallet::new).collect())
        .tasks(TaskMix::single(Arc::new(TxTask(SelfTransfer))))
        .workers(NonZeroU32::new(8).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::After(Duration::from_secs(10)))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();

    println!("{report}");
    let thresholds = Thresholds::default()
        .with_min_success_rate(0.99)
        .with_max_p99_inclusion(Duration::from_secs(2))
        .with_max_error_count(0);
    report.check(&thresholds).into_result().unwrap();
    assert!(report.totals.txs_included > 0);
}
