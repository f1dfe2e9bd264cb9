//! Error classification against real node messages: a table naming each row's client, and
//! errors provoked from a real anvil.

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, U256},
    providers::Provider,
    rpc::json_rpc::ErrorPayload,
    signers::local::PrivateKeySigner,
    transports::{RpcError, TransportError, TransportErrorKind},
};
use spam_core::{ErrorClass, classify};
use spam_devnet::Devnet;

fn resp(code: i64, message: &str) -> TransportError {
    RpcError::ErrorResp(ErrorPayload {
        code,
        message: message.to_string().into(),
        data: None,
    })
}

#[test]
fn real_messages_by_client() {
    use ErrorClass::*;
    let low = |n| NonceTooLow { next: Some(n) };
    let rate = RateLimited { retry_after: None };
    let table: &[(&str, i64, &str, ErrorClass)] = &[
        // geth (core/error.go, core/txpool/errors.go)
        (
            "geth",
            -32000,
            "nonce too low: address 0x71C7656EC7ab88b098defB751B7401B5f6d8976F, tx: 5 state: 7",
            low(7),
        ),
        (
            "geth",
            -32000,
            "nonce too high: address 0x71C7656EC7ab88b098defB751B7401B5f6d8976F, tx: 9 state: 7",
            NonceTooHigh { next: Some(7) },
        ),
        ("geth", -32000, "already known", AlreadyKnown),
        (
            "geth",
            -32000,
            "replacement transaction underpriced",
            ReplacementUnderpriced,
        ),
        (
            "geth",
            -32000,
            "transaction underpriced: tip needed 1000000000, tip permitted 0",
            FeeTooLow,
        ),
        (
            "geth",
            -32000,
            "max fee per gas less than block base fee: address 0x71C7656EC7ab88b098defB751B7401B5f6d8976F, maxFeePerGas: 1 baseFee: 7",
            FeeTooLow,
        ),
        (
            "geth",
            -32000,
            "insufficient funds for gas * price + value: address 0x71C7656EC7ab88b098defB751B7401B5f6d8976F have 0 want 21000000000000",
            InsufficientFunds,
        ),
        ("geth", -32000, "txpool is full", PoolFull),
        ("geth", -32000, "account limit exceeded", PoolFull),
        ("geth", -32000, "exceeds block gas limit", GasLimitExceeded),
        (
            "geth",
            -32000,
            "intrinsic gas too low: gas 20000, minimum needed 21000",
            IntrinsicGasTooLow,
        ),
        (
            "geth",
            -32000,
            "future transaction tries to replace pending",
            PoolFull,
        ),
        (
            "geth",
            3,
            "execution reverted: Ownable: caller is not the owner",
            Reverted {
                reason: Some("Ownable: caller is not the owner".into()),
            },
        ),
        (
            "geth",
            -32000,
            "max priority fee per gas higher than max fee per gas",
            Other,
        ),
        // reth (rpc-eth-types RpcPoolError / RpcInvalidTransactionError)
        (
            "reth",
            -32003,
            "nonce too low: next nonce 12, tx nonce 5",
            low(12),
        ),
        (
            "reth",
            -32003,
            "insufficient funds for gas * price + value: have 0 want 21000000000000",
            InsufficientFunds,
        ),
        ("reth", -32000, "transaction underpriced", FeeTooLow),
        ("reth", -32003, "intrinsic gas too high", GasLimitExceeded),
        ("reth", -32000, "already known", AlreadyKnown),
        (
            "reth",
            -32003,
            "transaction would cause overdraft",
            InsufficientFunds,
        ),
        // erigon (txpool DiscardReason strings)
        (
            "erigon",
            -32000,
            "nonce too low",
            NonceTooLow { next: None },
        ),
        ("erigon", -32000, "underpriced", FeeTooLow),
        ("erigon", -32000, "fee too low", FeeTooLow),
        ("erigon", -32000, "pending sub-pool is full", PoolFull),
        (
            "erigon",
            -32000,
            "existing txn with same hash",
            AlreadyKnown,
        ),
        (
            "erigon",
            -32000,
            "could not replace existing tx",
            ReplacementUnderpriced,
        ),
        ("erigon", -32000, "IntrinsicGas", IntrinsicGasTooLow),
        // nethermind (AcceptTxResult)
        (
            "nethermind",
            -32010,
            "OldNonce, Current nonce: 22, nonce of rejected tx: 17",
            low(22),
        ),
        (
            "nethermind",
            -32010,
            "NonceGap, Future nonce. Expected nonce: 5",
            NonceTooHigh { next: Some(5) },
        ),
        ("nethermind", -32010, "AlreadyKnown", AlreadyKnown),
        (
            "nethermind",
            -32010,
            "FeeTooLow, MaxFeePerGas too low. MaxFeePerGas: 1, BaseFee: 7, MaxPriorityFeePerGas:1, Block number: 100",
            FeeTooLow,
        ),
        (
            "nethermind",
            -32010,
            "InsufficientFunds, Account balance: 0, cumulative cost: 21000",
            InsufficientFunds,
        ),
        (
            "nethermind",
            -32010,
            "GasLimitExceeded, Gas limit: 30000000, gas limit of rejected tx: 40000000",
            GasLimitExceeded,
        ),
        (
            "nethermind",
            -32010,
            "ReplacementNotAllowed",
            ReplacementUnderpriced,
        ),
        // besu (RpcErrorType)
        ("besu", -32001, "Nonce too low", NonceTooLow { next: None }),
        ("besu", -32000, "Known transaction", AlreadyKnown),
        (
            "besu",
            -32000,
            "Replacement transaction underpriced",
            ReplacementUnderpriced,
        ),
        (
            "besu",
            -32004,
            "Upfront cost exceeds account balance",
            InsufficientFunds,
        ),
        (
            "besu",
            -32000,
            "Transaction gas limit exceeds block gas limit",
            GasLimitExceeded,
        ),
        (
            "besu",
            -32003,
            "Intrinsic gas exceeds gas limit",
            IntrinsicGasTooLow,
        ),
        (
            "besu",
            -32009,
            "Gas price below current base fee",
            FeeTooLow,
        ),
        (
            "besu",
            -32009,
            "Gas price below configured minimum gas price",
            FeeTooLow,
        ),
        // anvil (foundry anvil eth/error.rs)
        ("anvil", -32003, "nonce too low", NonceTooLow { next: None }),
        (
            "anvil",
            -32003,
            "Nonce too high",
            NonceTooHigh { next: None },
        ),
        (
            "anvil",
            -32003,
            "transaction already imported",
            AlreadyKnown,
        ),
        (
            "anvil",
            -32003,
            "max fee per gas less than block base fee",
            FeeTooLow,
        ),
        // gateways in front of these clients
        (
            "infura",
            -32005,
            "daily request count exceeded, request rate limited",
            rate.clone(),
        ),
        (
            "alchemy",
            429,
            "Your app has exceeded its compute units per second capacity.",
            rate.clone(),
        ),
        ("base node", -32007, "25/second request limit reached", rate),
    ];
    assert!(table.len() >= 30);
    for (client, code, message, expected) in table {
        assert_eq!(
            &classify(&resp(*code, message)),
            expected,
            "{client}: {message}"
        );
    }
}

/// HTTP statuses as the node or a gateway in front of it answers them: each its own class
/// (labelled `http 503` in reports) but 429, with what a caller does next.
#[test]
fn http_statuses_and_transport_failures() {
    use ErrorClass::*;
    let http = |status| TransportErrorKind::http_error(status, String::new());
    let after = |status, secs| {
        TransportErrorKind::http_error_with_retry_after(
            status,
            "busy".into(),
            Some(std::time::Duration::from_secs(secs)),
        )
    };
    // (error, class, label, retryable, outcome unknown)
    let table: Vec<(TransportError, ErrorClass, &str, bool, bool)> = vec![
        (
            http(429),
            RateLimited { retry_after: None },
            "rate limited",
            true,
            false,
        ),
        (
            after(429, 7),
            RateLimited {
                retry_after: Some(std::time::Duration::from_secs(7)),
            },
            "rate limited (retry after 7s)",
            true,
            false,
        ),
        // a gateway in front of a node that is down, restarting or overloaded
        (http(500), Http { status: 500 }, "http 500", true, true),
        (http(502), Http { status: 502 }, "http 502", true, true),
        (http(503), Http { status: 503 }, "http 503", true, true),
        (after(503, 30), Http { status: 503 }, "http 503", true, true),
        // a gateway gave up waiting: the node may have the transaction
        (http(504), Http { status: 504 }, "http 504", true, true),
        (http(408), Http { status: 408 }, "http 408", true, true),
        // refusals of the request itself
        (http(401), Http { status: 401 }, "http 401", false, false),
        (http(403), Http { status: 403 }, "http 403", false, false),
        (http(404), Http { status: 404 }, "http 404", false, false),
        (http(413), Http { status: 413 }, "http 413", false, false),
        // alloy's RetryBackoffLayer gives up with the last error as a string
        (
            TransportErrorKind::custom_str("Max retries exceeded HTTP error 503 with body: {}"),
            Http { status: 503 },
            "http 503",
            true,
            true,
        ),
        (
            TransportErrorKind::custom_str("Max retries exceeded HTTP error 429 with empty body"),
            RateLimited { retry_after: None },
            "rate limited",
            true,
            false,
        ),
        (
            TransportErrorKind::backend_gone(),
            Connection,
            "connection failed",
            true,
            true,
        ),
        (
            TransportErrorKind::missing_batch_response(alloy::rpc::json_rpc::Id::Number(1)),
            Connection,
            "connection failed",
            true,
            true,
        ),
    ];
    for (err, class, label, retryable, unknown) in table {
        let got = classify(&err);
        assert_eq!(got, class, "{err}");
        assert_eq!(got.to_string(), label, "{err}");
        assert_eq!(got.is_retryable(), retryable, "{err}");
        assert_eq!(got.outcome_unknown(), unknown, "{err}");
    }
}

/// Signs a transfer from `signer` with the given nonce and fees.
fn transfer(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    max_fee: u128,
    gas: u64,
    value: U256,
) -> Vec<u8> {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: max_fee.min(1),
        to: TxKind::Call(Address::repeat_byte(0xee)),
        value,
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let sig = signer.sign_transaction_sync(&mut tx).unwrap();
    tx.into_signed(sig).encoded_2718()
}

#[tokio::test]
async fn anvil_refusals_are_classified() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(1)) else {
        return;
    };
    let provider = devnet.provider();
    let signer = devnet.signers().remove(0);
    let chain = devnet.chain_id();
    let gwei = 1_000_000_000u128;
    let send = |raw: Vec<u8>| {
        let provider = provider.clone();
        async move { provider.send_raw_transaction(&raw).await.map(|_| ()) }
    };

    let first = transfer(&signer, chain, 0, 10 * gwei, 21_000, U256::from(1));
    send(first.clone()).await.unwrap();
    // once mined, the same bytes again are "nonce too low" (before, "already known")
    while provider
        .get_transaction_count(signer.address())
        .latest()
        .await
        .unwrap()
        == 0
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let again = send(first).await.unwrap_err();
    assert!(
        matches!(classify(&again), ErrorClass::NonceTooLow { .. }),
        "{again}"
    );

    let below_base_fee = send(transfer(&signer, chain, 1, 1, 21_000, U256::from(1)))
        .await
        .unwrap_err();
    assert_eq!(
        classify(&below_base_fee),
        ErrorClass::FeeTooLow,
        "{below_base_fee}"
    );

    let intrinsic = send(transfer(
        &signer,
        chain,
        1,
        10 * gwei,
        20_000,
        U256::from(1),
    ))
    .await
    .unwrap_err();
    assert_eq!(
        classify(&intrinsic),
        ErrorClass::IntrinsicGasTooLow,
        "{intrinsic}"
    );

    let too_much = send(transfer(
        &signer,
        chain,
        1,
        10 * gwei,
        21_000,
        U256::MAX >> 1,
    ))
    .await
    .unwrap_err();
    assert_eq!(
        classify(&too_much),
        ErrorClass::InsufficientFunds,
        "{too_much}"
    );

    let huge_gas = send(transfer(
        &signer,
        chain,
        1,
        10 * gwei,
        1_000_000_000,
        U256::from(1),
    ))
    .await
    .unwrap_err();
    assert_eq!(
        classify(&huge_gas),
        ErrorClass::GasLimitExceeded,
        "{huge_gas}"
    );

    // a gapped nonce is queued by anvil; the same bytes again are "already known"
    let gapped = transfer(&signer, chain, 5, 10 * gwei, 21_000, U256::from(1));
    send(gapped.clone()).await.unwrap();
    let known = send(gapped).await.unwrap_err();
    assert_eq!(classify(&known), ErrorClass::AlreadyKnown, "{known}");

    // a different tx with that queued nonce and the same fee is an underpriced replacement
    let replacement = send(transfer(
        &signer,
        chain,
        5,
        10 * gwei,
        21_000,
        U256::from(2),
    ))
    .await
    .unwrap_err();
    assert_eq!(
        classify(&replacement),
        ErrorClass::ReplacementUnderpriced,
        "{replacement}"
    );

    // nothing listens here: a connection error
    drop(devnet);
    let gone = provider.get_block_number().await.unwrap_err();
    assert_eq!(classify(&gone), ErrorClass::Connection, "{gone}");
}
