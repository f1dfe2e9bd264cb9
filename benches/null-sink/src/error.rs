//! JSON-RPC error objects, the only errors the sink answers with.

use std::fmt;

/// A JSON-RPC 2.0 error: a standard code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RpcError {
    /// The JSON-RPC error code.
    pub(crate) code: i32,
    /// Lowercase, no trailing period.
    pub(crate) message: String,
}

impl RpcError {
    /// -32700: the body is not JSON.
    pub(crate) fn parse(why: impl fmt::Display) -> Self {
        Self::new(-32700, format!("parse error: {why}"))
    }

    /// -32600: JSON, but not a request object (or an empty batch).
    pub(crate) fn invalid_request(why: impl fmt::Display) -> Self {
        Self::new(-32600, format!("invalid request: {why}"))
    }

    /// -32601: a method the sink does not answer.
    pub(crate) fn method_not_found(method: &str) -> Self {
        Self::new(-32601, format!("method not found: {method}"))
    }

    /// -32602: the method exists but its parameters are wrong.
    pub(crate) fn invalid_params(why: impl fmt::Display) -> Self {
        Self::new(-32602, format!("invalid params: {why}"))
    }

    /// -32000: the server-error range; what geth answers for a transaction it cannot decode.
    pub(crate) fn undecodable_tx(why: impl fmt::Display) -> Self {
        Self::new(-32000, format!("failed to decode transaction: {why}"))
    }

    /// An error with `code` and `message`.
    fn new(code: i32, message: String) -> Self {
        Self { code, message }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}
