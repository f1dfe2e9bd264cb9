//! Every error a node can answer to `eth_sendRawTransaction`, from the clients' sources
//! (`data/send_errors.tsv`: client and version, source file, code, class, exact message),
//! classed as the engines must act on it.

use std::collections::BTreeMap;

use alloy::{rpc::json_rpc::ErrorPayload, transports::RpcError};
use spam_core::{ErrorClass, classify};

const TABLE: &str = include_str!("data/send_errors.tsv");

/// `Name` or `Name(arg)` as the table writes a class.
fn class(text: &str) -> ErrorClass {
    let (name, arg) = match text.split_once('(') {
        Some((name, rest)) => (name, rest.strip_suffix(')')),
        None => (text, None),
    };
    let nonce = || arg.map(|a| a.parse().expect("a nonce"));
    match name {
        "NonceTooLow" => ErrorClass::NonceTooLow { next: nonce() },
        "NonceTooHigh" => ErrorClass::NonceTooHigh { next: nonce() },
        "AlreadyKnown" => ErrorClass::AlreadyKnown,
        "ReplacementUnderpriced" => ErrorClass::ReplacementUnderpriced,
        "FeeTooLow" => ErrorClass::FeeTooLow,
        "InsufficientFunds" => ErrorClass::InsufficientFunds,
        "PoolFull" => ErrorClass::PoolFull,
        "GasLimitExceeded" => ErrorClass::GasLimitExceeded,
        "IntrinsicGasTooLow" => ErrorClass::IntrinsicGasTooLow,
        "OutOfGas" => ErrorClass::OutOfGas,
        "RateLimited" => ErrorClass::RateLimited { retry_after: None },
        "Reverted" => ErrorClass::Reverted {
            reason: arg.map(str::to_owned),
        },
        "Other" => ErrorClass::Other,
        other => panic!("unknown class {other} in the table"),
    }
}

#[test]
fn every_send_error_of_every_client_is_classed_right() {
    let mut wrong = Vec::new();
    let mut per_client: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, line) in TABLE.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.splitn(5, '\t').collect();
        let [source, file, code, expected, message] = cols[..] else {
            panic!("line {}: five tab-separated columns, got {cols:?}", n + 1);
        };
        assert!(!file.is_empty() && !source.is_empty(), "line {}", n + 1);
        let client = source.split(['@', ' ']).next().unwrap();
        *per_client.entry(client).or_default() += 1;
        let err = RpcError::ErrorResp(ErrorPayload {
            code: code.parse().expect("a code"),
            message: message.to_owned().into(),
            data: None,
        });
        let (got, want) = (classify(&err), class(expected));
        if got != want {
            wrong.push(format!(
                "line {}: {source} {file}: {message:?}: {got:?}, want {want:?}",
                n + 1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} misclassed:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // Each source is there, with its whole list.
    for (client, at_least) in [
        ("go-ethereum", 45),
        ("reth", 40),
        ("erigon", 25),
        ("nethermind", 35),
        ("besu", 25),
        ("foundry", 30),
        ("gateway", 5),
    ] {
        let n = per_client.get(client).copied().unwrap_or(0);
        assert!(n >= at_least, "{client}: {n} rows");
    }
}

/// A nonce the node states beside *nonce too high* comes with the class, so the engine can
/// set the sender back without a read; Besu's detail in `data` counts too.
#[test]
fn nonce_too_high_carries_the_nodes_nonce_and_data_is_read() {
    let with_data = |message: &str, data: &str| {
        RpcError::ErrorResp(ErrorPayload {
            code: -32006,
            message: message.to_owned().into(),
            data: Some(serde_json::value::RawValue::from_string(data.into()).unwrap()),
        })
    };
    assert_eq!(
        classify(&with_data("Nonce too high", r#""Expected nonce: 4""#)),
        ErrorClass::NonceTooHigh { next: Some(4) }
    );
    assert_eq!(
        classify(&with_data(
            "Nonce too low",
            r#""tx nonce 3 below next nonce 9""#
        )),
        ErrorClass::NonceTooLow { next: Some(9) }
    );
    assert_eq!(
        ErrorClass::NonceTooHigh { next: Some(4) }.action(),
        spam_core::Action::Rewind(4)
    );
    assert_eq!(
        ErrorClass::NonceTooHigh { next: None }.action(),
        spam_core::Action::Resync
    );
    assert_eq!(ErrorClass::OutOfGas.to_string(), "out of gas");
    assert!(!ErrorClass::OutOfGas.is_retryable());
}
