//! Recognises a node's answer to a JSON-RPC method it does not implement.

use alloy::transports::{RpcError, TransportErrorKind};

/// JSON-RPC 2.0 "method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// Whether `err` says the node lacks the method, as opposed to failing to run it.
///
/// Most nodes answer `-32601`; some gateways use a generic code with a message instead.
pub(crate) fn is_method_missing(err: &RpcError<TransportErrorKind>) -> bool {
    let Some(payload) = err.as_error_resp() else {
        return false;
    };
    if payload.code == METHOD_NOT_FOUND {
        return true;
    }
    // Without the standard code, only a message about a *method* counts: "header not
    // available" must not switch the builder method off for good.
    let message = payload.message.to_ascii_lowercase();
    message.contains("method")
        && [
            "not found",
            "does not exist",
            "not available",
            "unsupported",
            "not supported",
        ]
        .iter()
        .any(|needle| message.contains(needle))
}

#[cfg(test)]
mod tests {
    use alloy::rpc::json_rpc::ErrorPayload;

    use super::*;

    fn resp(code: i64, message: &'static str) -> RpcError<TransportErrorKind> {
        RpcError::ErrorResp(ErrorPayload {
            code,
            message: message.into(),
            data: None,
        })
    }

    #[test]
    fn classifies_real_node_answers() {
        let table = [
            // geth, erigon
            (
                -32601,
                "the method eth_getPendingNonce does not exist/is not available",
                true,
            ),
            // anvil, reth, nethermind, besu
            (-32601, "Method not found", true),
            // hosted gateways
            (-32600, "Unsupported method: eth_getPendingNonce", true),
            (-32000, "method eth_getPendingNonce not supported", true),
            // real failures of an existing method
            (-32000, "header not found", false),
            (-32000, "historical state not available", false),
            (-32000, "resource does not exist", false),
            (
                -32602,
                "invalid argument 0: hex string has length 2, want 40 for common.Address",
                false,
            ),
            (-32005, "rate limit exceeded", false),
        ];
        for (code, message, missing) in table {
            assert_eq!(
                is_method_missing(&resp(code, message)),
                missing,
                "{code} {message}"
            );
        }
    }

    #[test]
    fn transport_failures_are_not_missing_methods() {
        let err = TransportErrorKind::custom_str("connection refused");
        assert!(!is_method_missing(&err));
    }
}
