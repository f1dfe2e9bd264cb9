//! spam-nonce against a real anvil: 4 senders, 8 tasks, 2 000 transfers with 5% of the
//! reserved nonces deliberately never sent and rolled back later in random order. At the end
//! every sender's chain nonce equals what it committed and nothing is stuck in the pool.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::eip2718::Encodable2718,
    network::{EthereumWallet, TxSignerSync},
    primitives::{Address, Bytes, TxKind, U256},
    providers::{Provider, ProviderBuilder, RootProvider, ext::TxPoolApi},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use spam_devnet::Devnet;
use spam_nonce::{AlloyNonceManager, NonceManager, NonceSource, ProviderSource};

const SENDERS: usize = 4;
const TASKS: u64 = 8;
const TRANSFERS: u64 = 2_000;
const GWEI: u128 = 1_000_000_000;

async fn send_transfer(
    provider: &RootProvider,
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
) {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 20 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(Address::repeat_byte(0xee)),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let signature = signer.sign_transaction_sync(&mut tx).unwrap();
    let raw = tx.into_signed(signature).encoded_2718();
    let _pending = provider
        .send_raw_transaction(&raw)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "send of nonce {nonce} from {} failed: {e}",
                signer.address()
            )
        });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_nonces_are_refilled_and_nothing_is_stuck() {
    // Interval mining, not automine: anvil's automine can leave a ready transaction unmined when
    // many arrive out of nonce order from one sender (foundry-rs/foundry#10122), which is what
    // this test does on purpose.
    let Some(devnet) =
        spam_devnet::for_test(Devnet::builder().accounts(SENDERS as u32).block_time(0.2))
    else {
        return;
    };
    let provider = devnet.provider();
    let chain_id = devnet.chain_id();
    let signers: Arc<Vec<PrivateKeySigner>> = Arc::new(devnet.signers());
    let nonces = NonceManager::new(ProviderSource::new(provider.clone()));
    let next_item = Arc::new(AtomicU64::new(0));
    let committed: Arc<[AtomicU64; SENDERS]> = Arc::new(Default::default());
    let skipped = Arc::new(AtomicU64::new(0));
    let sent: Arc<[parking_lot::Mutex<BTreeSet<u64>>; SENDERS]> = Arc::new(Default::default());

    let mut workers = Vec::new();
    for task in 0..TASKS {
        let (provider, signers, nonces) = (provider.clone(), Arc::clone(&signers), nonces.clone());
        let (next_item, committed, skipped, sent) = (
            Arc::clone(&next_item),
            Arc::clone(&committed),
            Arc::clone(&skipped),
            Arc::clone(&sent),
        );
        workers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(task);
            let mut deferred = Vec::new();
            while next_item.fetch_add(1, Ordering::Relaxed) < TRANSFERS {
                let s = rng.random_range(0..SENDERS);
                let reservation = nonces.reserve(signers[s].address()).await.unwrap();
                if rng.random_ratio(1, 20) {
                    // Not sent: give the nonce back later, in random order, while later nonces
                    // of the same sender are already in the pool.
                    skipped.fetch_add(1, Ordering::Relaxed);
                    let delay = Duration::from_millis(rng.random_range(0..40));
                    let explicit = rng.random_bool(0.5);
                    deferred.push(tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        if explicit {
                            let _ = reservation.rollback();
                        } // else: dropped unresolved, which rolls back too
                    }));
                    continue;
                }
                send_transfer(&provider, &signers[s], chain_id, reservation.nonce()).await;
                assert!(
                    sent[s].lock().insert(reservation.nonce()),
                    "nonce sent twice"
                );
                let _ = reservation.commit();
                committed[s].fetch_add(1, Ordering::Relaxed);
            }
            for rollback in deferred {
                rollback.await.unwrap();
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(
        skipped.load(Ordering::Relaxed) > 0,
        "the test must exercise rollbacks"
    );

    // Holes left by the last rollbacks are gaps on chain: fill them, lowest first.
    for (s, signer) in signers.iter().enumerate() {
        while !nonces.snapshot(signer.address()).unwrap().holes.is_empty() {
            let reservation = nonces.reserve(signer.address()).await.unwrap();
            send_transfer(&provider, signer, chain_id, reservation.nonce()).await;
            assert!(
                sent[s].lock().insert(reservation.nonce()),
                "nonce sent twice"
            );
            let _ = reservation.commit();
            committed[s].fetch_add(1, Ordering::Relaxed);
        }
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    for (s, signer) in signers.iter().enumerate() {
        let want = committed[s].load(Ordering::Relaxed);
        // spam-nonce's part: every nonce below the committed count was sent exactly once
        assert_eq!(
            *sent[s].lock(),
            (0..want).collect::<BTreeSet<_>>(),
            "sender {s}: sent nonces"
        );
        let mined = loop {
            let mined = provider
                .get_transaction_count(signer.address())
                .latest()
                .await
                .unwrap();
            if mined >= want || Instant::now() > deadline {
                break mined;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(mined, want, "sender {s}: chain nonce vs committed count");
        let snap = nonces.snapshot(signer.address()).unwrap();
        assert_eq!((snap.next, snap.in_flight), (want, 0), "sender {s}");
    }
    let pool = provider.txpool_status().await.unwrap();
    assert_eq!(
        (pool.pending, pool.queued),
        (0, 0),
        "transactions stuck in the pool"
    );
}

#[tokio::test]
async fn provider_source_falls_back_when_pending_nonce_method_is_missing() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(1)) else {
        return;
    };
    let provider = devnet.provider();
    let signer = &devnet.signers()[0];
    let source = ProviderSource::new(provider.clone()).with_pending_nonce_method(true);
    assert_eq!(source.next_nonce(signer.address()).await.unwrap(), 0);
    assert!(
        format!("{source:?}").contains("try_pending_nonce: false"),
        "anvil lacks the method"
    );
    for nonce in 0..3 {
        send_transfer(&provider, signer, devnet.chain_id(), nonce).await;
    }
    assert_eq!(source.next_nonce(signer.address()).await.unwrap(), 3);

    // resync reads the same source; old reservations become stale
    let nonces = NonceManager::new(source);
    let stale = nonces.reserve(signer.address()).await.unwrap();
    assert_eq!(stale.nonce(), 3);
    nonces.fast_forward(signer.address(), 1); // at or below what is known: no change
    assert_eq!(nonces.resync(signer.address()).await.unwrap(), 3);
    assert!(stale.is_stale());
}

#[tokio::test]
async fn alloy_filler_takes_nonces_from_the_manager() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(1)) else {
        return;
    };
    let url: alloy::transports::http::reqwest::Url = devnet.endpoint().parse().unwrap();
    let signer = devnet.signers().remove(0);
    let from = signer.address();
    let nonces = NonceManager::new(ProviderSource::new(devnet.provider()));
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_nonce_management(AlloyNonceManager::new(nonces.clone()))
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url);
    for expected in 0..3u64 {
        let tx = TransactionRequest::default()
            .from(from)
            .to(Address::repeat_byte(0xee))
            .value(U256::from(1));
        let receipt = provider
            .send_transaction(tx)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        let mined = provider
            .get_transaction_by_hash(receipt.transaction_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(alloy::consensus::Transaction::nonce(&mined), expected);
    }
    let snap = nonces
        .snapshot(from)
        .expect("the filler went through the manager");
    assert_eq!((snap.next, snap.in_flight), (3, 0));
}
