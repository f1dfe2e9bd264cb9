//! Every task of the catalogue against anvil: each runs, and its effect is on chain. Prints
//! the gas of each task's own transaction (`GAS <name> <gas>` lines with `--nocapture`).

use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, U256, keccak256},
    providers::Provider,
    sol_types::{SolCall, SolEvent},
};
use spam_core::TaskError;
use spam_tasks::contracts::{Counter, EventEmitter, Nft, Pool, StorageWriter, Token};

use crate::common::{Harness, print_gas};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_tasks_transfer_deploy_and_count() {
    let Some(h) = Harness::start(3).await else {
        return;
    };
    let p = &h.provider;

    // transfer_self: 1 wei to itself, the sender pays only gas
    let outcome = h.ok("transfer_self", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    assert_eq!(receipt.to, Some(h.address(0)));
    print_gas("transfer_self", &receipt);

    // transfer_fresh: a new account holding exactly 1 wei
    let outcome = h.ok("transfer_fresh", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    let to = receipt.to.unwrap();
    assert!(!h.wallets.iter().any(|w| w.address() == to));
    assert_eq!(p.get_balance(to).await.unwrap(), U256::from(1));
    print_gas("transfer_fresh", &receipt);

    // transfer_peer: once two wallets have run it, value goes between them
    h.ok("transfer_peer", 0).await;
    let before = p.get_balance(h.address(0)).await.unwrap();
    let outcome = h.ok("transfer_peer", 1).await;
    let receipt = h.last_receipt(&outcome).await;
    assert_eq!(
        receipt.to,
        Some(h.address(0)),
        "wallet 1's only peer is wallet 0"
    );
    assert_eq!(
        p.get_balance(h.address(0)).await.unwrap(),
        before + U256::from(1)
    );
    print_gas("transfer_peer", &receipt);

    // deploy_counter: the runtime code is at the recorded address
    let outcome = h.ok("deploy_counter", 0).await;
    let asset = outcome.assets.last().expect("recorded").clone();
    assert_eq!(asset.kind, "counter");
    assert_eq!(asset.creator, h.address(0));
    assert_eq!(
        p.get_code_at(asset.address).await.unwrap(),
        Counter::DEPLOYED_BYTECODE
    );
    assert_eq!(
        h.last_receipt(&outcome).await.contract_address,
        Some(asset.address)
    );
    print_gas("deploy_counter", &h.last_receipt(&outcome).await);

    // counter_increment: the shared counter (the first one recorded) counts every call
    let counter = h.asset("counter");
    let start = h.call(counter, Counter::countCall {}).await;
    h.ok("counter_increment", 1).await;
    let outcome = h.ok("counter_increment", 2).await;
    assert_eq!(
        h.call(counter, Counter::countCall {}).await,
        start + U256::from(2)
    );
    print_gas("counter_increment", &h.last_receipt(&outcome).await);

    // create2_deploy: the counter's code sits at the CREATE2 address of the factory and salt
    let outcome = h.ok("create2_deploy", 0).await;
    let factory = h.asset("create2_factory");
    let deployed = outcome.assets.last().unwrap().address;
    assert_eq!(
        p.get_code_at(deployed).await.unwrap(),
        Counter::DEPLOYED_BYTECODE
    );
    let receipt = h.last_receipt(&outcome).await;
    let log = &receipt.inner.logs()[0];
    let salt = log.topics()[2];
    assert_eq!(spam_tasks::Create2Deploy::address(factory, salt), deployed);
    print_gas("create2_deploy", &receipt);
    // the factory was deployed once: a second call reuses it
    let again = h.ok("create2_deploy", 1).await;
    assert_eq!(again.tx_hashes.len(), 1, "no second factory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_tasks_move_balances_and_allowances() {
    let Some(h) = Harness::start(2).await else {
        return;
    };
    let p = &h.provider;
    let me = h.address(0);

    // erc20_deploy: a token with its runtime code
    let outcome = h.ok("erc20_deploy", 0).await;
    let deployed = outcome.assets.last().unwrap();
    assert_eq!(deployed.kind, "erc20");
    assert_eq!(
        p.get_code_at(deployed.address).await.unwrap(),
        Token::DEPLOYED_BYTECODE
    );
    print_gas("erc20_deploy", &h.last_receipt(&outcome).await);
    let token = h.asset("erc20");
    assert_eq!(
        token, deployed.address,
        "later tasks find the deployed token"
    );

    // erc20_mint: 1e18 to a new holder
    let outcome = h.ok("erc20_mint", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    let minted = Token::Transfer::decode_log_data(receipt.inner.logs()[0].data()).unwrap();
    assert_eq!(minted.from, Address::ZERO);
    let one = U256::from(10).pow(U256::from(18));
    assert_eq!(
        h.call(token, Token::balanceOfCall::new((minted.to,))).await,
        one
    );
    print_gas("erc20_mint", &receipt);

    // erc20_transfer: the wallet is minted once, then pays 1 unit to a new holder
    let first = h.ok("erc20_transfer", 0).await;
    assert_eq!(
        first.tx_hashes.len(),
        2,
        "mint to the wallet, then transfer"
    );
    let outcome = h.ok("erc20_transfer", 0).await;
    assert_eq!(outcome.tx_hashes.len(), 1, "no second mint");
    let receipt = h.last_receipt(&outcome).await;
    let moved = Token::Transfer::decode_log_data(receipt.inner.logs()[0].data()).unwrap();
    assert_eq!(moved.from, me);
    assert_eq!(
        h.call(token, Token::balanceOfCall::new((moved.to,))).await,
        U256::from(1)
    );
    print_gas("erc20_transfer", &receipt);

    // erc20_approve: a new allowance
    let outcome = h.ok("erc20_approve", 1).await;
    let receipt = h.last_receipt(&outcome).await;
    let approval = Token::Approval::decode_log_data(receipt.inner.logs()[0].data()).unwrap();
    assert_eq!(approval.owner, h.address(1));
    let allowance = h
        .call(
            token,
            Token::allowanceCall::new((approval.owner, approval.spender)),
        )
        .await;
    assert_eq!(allowance, approval.value);
    print_gas("erc20_approve", &receipt);

    // erc20_transfer_from: spends the wallet's allowance to itself
    h.ok("erc20_transfer_from", 0).await;
    let allowed = h.call(token, Token::allowanceCall::new((me, me))).await;
    let outcome = h.ok("erc20_transfer_from", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    let moved = Token::Transfer::decode_log_data(receipt.inner.logs()[0].data()).unwrap();
    assert_eq!(
        h.call(token, Token::balanceOfCall::new((moved.to,))).await,
        U256::from(1)
    );
    assert_eq!(
        h.call(token, Token::allowanceCall::new((me, me))).await,
        allowed - U256::from(1)
    );
    print_gas("erc20_transfer_from", &receipt);

    // erc721_deploy, erc721_mint, erc721_transfer
    let outcome = h.ok("erc721_deploy", 1).await;
    let nft = outcome.assets.last().unwrap().address;
    assert_eq!(p.get_code_at(nft).await.unwrap(), Nft::DEPLOYED_BYTECODE);
    print_gas("erc721_deploy", &h.last_receipt(&outcome).await);
    assert_eq!(h.asset("erc721"), nft);

    let outcome = h.ok("erc721_mint", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    let minted = Nft::Transfer::decode_log_data(receipt.inner.logs()[0].data()).unwrap();
    assert_eq!(
        h.call(nft, Nft::ownerOfCall::new((minted.id,))).await,
        minted.to
    );
    print_gas("erc721_mint", &receipt);

    let outcome = h.ok("erc721_transfer", 1).await;
    assert_eq!(
        outcome.tx_hashes.len(),
        2,
        "mint to the wallet, then transfer"
    );
    let receipt = h.last_receipt(&outcome).await;
    let moved = Nft::Transfer::decode_log_data(receipt.inner.logs()[0].data()).unwrap();
    assert_eq!(moved.from, h.address(1));
    assert_eq!(
        h.call(nft, Nft::ownerOfCall::new((moved.id,))).await,
        moved.to
    );
    assert_eq!(
        h.call(nft, Nft::balanceOfCall::new((h.address(1),))).await,
        U256::ZERO
    );
    print_gas("erc721_transfer", &receipt);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_and_compute_tasks_grow_state_burn_gas_and_log() {
    let Some(h) = Harness::start(1).await else {
        return;
    };
    let p = &h.provider;

    // storage_write: 10 new slots per call, each holding key + 1 in the `slots` mapping
    h.ok("storage_write", 0).await;
    let outcome = h.ok("storage_write", 0).await;
    let writer = h.asset("storage_writer");
    assert_eq!(
        h.call(writer, StorageWriter::writtenCall {}).await,
        U256::from(20)
    );
    for key in [0u64, 9, 10, 19] {
        // mapping at slot 1: keccak256(key ‖ 1)
        let slot = keccak256([B256::from(U256::from(key)), B256::from(U256::from(1))].concat());
        let value = p.get_storage_at(writer, slot.into()).await.unwrap();
        assert_eq!(value, U256::from(key + 1), "slot of key {key}");
    }
    print_gas("storage_write", &h.last_receipt(&outcome).await);

    // gas_burn: at least the 1M target used, and not much more
    let outcome = h.ok("gas_burn", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    assert!(
        (1_000_000..1_060_000).contains(&receipt.gas_used),
        "{}",
        receipt.gas_used
    );
    print_gas("gas_burn", &receipt);

    // emit_events: 10 Ping logs with the sender and index as topics
    let outcome = h.ok("emit_events", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    let logs = receipt.inner.logs();
    assert_eq!(logs.len(), 10);
    for (i, log) in logs.iter().enumerate() {
        assert_eq!(log.topics()[0], EventEmitter::Ping::SIGNATURE_HASH);
        let ping = EventEmitter::Ping::decode_log_data(log.data()).unwrap();
        assert_eq!((ping.sender, ping.index), (h.address(0), U256::from(i)));
    }
    print_gas("emit_events", &receipt);

    // large_calldata: 4 KiB of input on chain
    let outcome = h.ok("large_calldata", 0).await;
    let hash = outcome.tx_hashes[0];
    let tx = p.get_transaction_by_hash(hash).await.unwrap().unwrap();
    assert_eq!(tx.input().len(), 4096);
    assert_eq!(tx.to(), Some(h.address(0)));
    print_gas("large_calldata", &h.last_receipt(&outcome).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_dex_and_failure_tasks() {
    let Some(h) = Harness::start(2).await else {
        return;
    };
    let p = &h.provider;

    // multicall: 10 increments of the shared counter in one tx
    h.ok("counter_increment", 0).await;
    let counter = h.asset("counter");
    let before = h.call(counter, Counter::countCall {}).await;
    let outcome = h.ok("multicall", 0).await;
    assert_eq!(
        h.call(counter, Counter::countCall {}).await,
        before + U256::from(10)
    );
    print_gas("multicall", &h.last_receipt(&outcome).await);

    // disperse_eth: 1 gwei to each of 10 new addresses
    let outcome = h.ok("disperse_eth", 1).await;
    let hash = *outcome.tx_hashes.last().unwrap();
    let tx = p.get_transaction_by_hash(hash).await.unwrap().unwrap();
    let call = spam_tasks::contracts::Disperse::disperseEtherCall::abi_decode(tx.input()).unwrap();
    assert_eq!(call.recipients.len(), 10);
    for recipient in &call.recipients {
        assert_eq!(
            p.get_balance(*recipient).await.unwrap(),
            U256::from(1_000_000_000u64)
        );
    }
    assert_eq!(
        p.get_balance(h.asset("disperse")).await.unwrap(),
        U256::ZERO,
        "nothing left behind"
    );
    print_gas("disperse_eth", &h.last_receipt(&outcome).await);

    // disperse_erc20: 1 unit to each of 10 new holders
    h.ok("disperse_erc20", 0).await;
    let outcome = h.ok("disperse_erc20", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    let token = h.asset("erc20");
    let logs = receipt.inner.logs();
    assert_eq!(logs.len(), 10, "a Transfer per recipient");
    let holders: Vec<_> = logs
        .iter()
        .filter_map(|l| Token::Transfer::decode_log_data(l.data()).ok())
        .map(|t| t.to)
        .collect();
    assert_eq!(holders.len(), 10);
    for holder in holders {
        assert_eq!(
            h.call(token, Token::balanceOfCall::new((holder,))).await,
            U256::ONE
        );
    }
    print_gas("disperse_erc20", &receipt);

    // dex_add_liquidity: both reserves grow by 1e18
    h.ok("dex_swap", 1).await; // deploys and seeds the pool, sets up wallet 1
    let pool = h.asset("cp_pool");
    let (r0, r1) = reserves(&h, pool).await;
    let outcome = h.ok("dex_add_liquidity", 0).await;
    let one = U256::from(10).pow(U256::from(18));
    assert_eq!(reserves(&h, pool).await, (r0 + one, r1 + one));
    assert!(h.call(pool, Pool::sharesCall::new((h.address(0),))).await > U256::ZERO);
    print_gas("dex_add_liquidity", &h.last_receipt(&outcome).await);

    // dex_swap: one reserve up by the amount in, the other down, k does not fall
    let (r0, r1) = reserves(&h, pool).await;
    let outcome = h.ok("dex_swap", 1).await;
    let receipt = h.last_receipt(&outcome).await;
    let swap = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| Pool::Swap::decode_log_data(l.data()).ok())
        .unwrap();
    let (n0, n1) = reserves(&h, pool).await;
    if swap.zeroForOne {
        assert_eq!((n0, n1), (r0 + swap.amountIn, r1 - swap.amountOut));
    } else {
        assert_eq!((n0, n1), (r0 - swap.amountOut, r1 + swap.amountIn));
    }
    assert!(n0 * n1 >= r0 * r1, "x*y=k never falls");
    print_gas("dex_swap", &receipt);

    // revert: included with status 0, reported as "reverted", with the contract's reason
    let err = h.run("revert", 0).await.unwrap_err();
    assert_eq!(err.label(), "reverted");
    let TaskError::Reverted { hash } = err else {
        panic!("{err}")
    };
    let receipt = p.get_transaction_receipt(hash).await.unwrap().unwrap();
    assert!(!receipt.status());
    print_gas("revert", &receipt);
    let reverter = h.asset("reverter");
    let reason = p
        .call(alloy::rpc::types::TransactionRequest {
            to: Some(reverter.into()),
            input: alloy::rpc::types::TransactionInput::new(
                spam_tasks::contracts::Reverter::failCall {}
                    .abi_encode()
                    .into(),
            ),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        reason.to_string().contains(spam_tasks::REVERT_REASON),
        "{reason}"
    );
}

async fn reserves(h: &Harness, pool: Address) -> (U256, U256) {
    (
        h.call(pool, Pool::reserve0Call {}).await,
        h.call(pool, Pool::reserve1Call {}).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eip7702_delegates_and_calls_through_the_account() {
    let Some(h) = Harness::start(1).await else {
        return;
    };
    let p = &h.provider;
    let outcome = h.ok("eip7702_delegate", 0).await;
    let authority: Address = outcome
        .message
        .as_deref()
        .and_then(|m| m.strip_prefix("delegated "))
        .unwrap()
        .parse()
        .unwrap();
    let counter = h.asset("counter");
    let code = p.get_code_at(authority).await.unwrap();
    assert_eq!(
        code.as_ref(),
        [&[0xef, 0x01, 0x00][..], counter.as_slice()].concat()
    );
    // the call ran the counter's code in the account's own storage
    let slot0 = p.get_storage_at(authority, U256::ZERO).await.unwrap();
    assert_eq!(slot0, U256::from(1));
    assert_eq!(
        h.call(counter, Counter::countCall {}).await,
        U256::ZERO,
        "the delegate's own storage is untouched"
    );
    let receipt = h.last_receipt(&outcome).await;
    assert_eq!(receipt.transaction_type() as u8, 4);
    print_gas("eip7702_delegate", &receipt);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_contracts_deploys_each_shared_contract_once() {
    let Some(h) = Harness::start(2).await else {
        return;
    };
    let (a, b) = tokio::join!(h.run("setup_contracts", 0), h.run("setup_contracts", 1));
    let sent = a.unwrap().tx_hashes.len() + b.unwrap().tx_hashes.len();
    let assets = h.run.assets();
    let kinds: std::collections::BTreeSet<_> = assets.iter().map(|a| a.kind.as_str()).collect();
    for contract in spam_tasks::SharedContract::ALL {
        assert!(
            kinds.contains(contract.kind()),
            "{} missing",
            contract.kind()
        );
        let code = h
            .provider
            .get_code_at(h.asset(contract.kind()))
            .await
            .unwrap();
        assert!(!code.is_empty(), "{} has code", contract.kind());
    }
    // 10 plain contracts + 2 pool tokens + the pool; 2 mints, 2 approvals and the seed
    assert_eq!(assets.len(), 13, "{assets:?}");
    assert_eq!(
        sent,
        13 + 5,
        "each deployed once although two workers asked at once"
    );
    let again = h.run("setup_contracts", 1).await.unwrap();
    assert!(again.tx_hashes.is_empty());
}

#[cfg(feature = "blob")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_tx_carries_a_blob() {
    let Some(h) = Harness::start(1).await else {
        return;
    };
    let outcome = h.ok("blob_tx", 0).await;
    let receipt = h.last_receipt(&outcome).await;
    assert_eq!(receipt.transaction_type() as u8, 3);
    assert_eq!(receipt.blob_gas_used, Some(131_072), "one blob");
    let tx = h
        .provider
        .get_transaction_by_hash(outcome.tx_hashes[0])
        .await
        .unwrap()
        .unwrap();
    let hashes = tx.blob_versioned_hashes().unwrap();
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes[0][0], 1, "KZG versioned hash");
    print_gas("blob_tx", &receipt);
}
