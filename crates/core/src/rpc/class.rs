use std::time::Duration;

use alloy::{
    rpc::json_rpc::ErrorPayload,
    transports::{RpcError, TransportErrorKind},
};

/// What a node's answer means for the request that got it.
///
/// Built from the messages of geth, reth, anvil, erigon, nethermind and besu (see the table test
/// in `tests/it/error_classes.rs`). Use [`classify`] on an alloy error; never match message strings
/// at call sites.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The nonce is already used; `next` is the node's next nonce when the message gives it.
    NonceTooLow {
        /// The sender's next nonce according to the node.
        next: Option<u64>,
    },
    /// The nonce leaves a gap the node does not accept (too far ahead, or gapped); `next` is
    /// the nonce the node expects when the message gives it (geth's `state: N`, its blob
    /// pool's `gapped nonce N`, Nethermind's `Expected nonce: N`).
    NonceTooHigh {
        /// The sender's next nonce according to the node.
        next: Option<u64>,
    },
    /// The node already has this exact transaction: it was accepted earlier.
    AlreadyKnown,
    /// Another transaction with this nonce is pending and this one does not pay enough more.
    ReplacementUnderpriced,
    /// The fee is below the base fee or the node's minimum.
    FeeTooLow,
    /// The sender cannot pay value plus gas.
    InsufficientFunds,
    /// The pool (or the sender's share of it) is full.
    PoolFull,
    /// The gas limit is above what a block (or the node) allows.
    GasLimitExceeded,
    /// The gas limit is below the transaction's intrinsic gas.
    IntrinsicGasTooLow,
    /// Execution ran out of gas (`out of gas`, `gas required exceeds allowance`): the
    /// transaction needs a higher gas limit, or fails whatever its limit. Not a pool limit.
    OutOfGas,
    /// The node or its gateway asks to slow down.
    RateLimited {
        /// How long it asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// No answer in time (the client's own timeout); a send may or may not have arrived.
    Timeout,
    /// The connection failed or broke (refused, reset, closed before the answer); a send may
    /// or may not have arrived.
    Connection,
    /// An HTTP error status from the node or a gateway in front of it, any but 429
    /// ([`RateLimited`](Self::RateLimited)).
    ///
    /// 5xx (502, 503: the node or its gateway is failing) and 408/504 (a gateway gave up
    /// waiting for the node) are retryable and leave a send's outcome open: a gateway may have
    /// forwarded the request before failing. They are kept apart from [`Timeout`](Self::Timeout)
    /// and [`Connection`](Self::Connection) so a report tells a gateway's `http 504` from the
    /// client's own timeout. Other 4xx (401, 403, 404, 413 …) refuse the request itself.
    Http {
        /// The HTTP status code.
        status: u16,
    },
    /// An answer arrived but could not be read (bad JSON, null result, broken body); a send
    /// may or may not have been taken.
    BadResponse,
    /// Execution reverted (calls and gas estimation).
    Reverted {
        /// The revert reason, when the node gave one.
        reason: Option<String>,
    },
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// Whether a later identical request can succeed: rate limits, timeouts, connection
    /// failures, HTTP 5xx and 408, and a full pool.
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Timeout | Self::Connection | Self::PoolFull
        ) || self.is_gateway_failure()
    }

    /// Whether the error concerns the sender's nonce sequence.
    pub const fn is_nonce_conflict(&self) -> bool {
        matches!(
            self,
            Self::NonceTooLow { .. } | Self::NonceTooHigh { .. } | Self::ReplacementUnderpriced
        )
    }

    /// The wait the node asked for, if any.
    pub const fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Whether a transaction send that failed this way may still have reached the pool.
    ///
    /// A JSON-RPC error response is a refusal; only a missing or unreadable answer, or an
    /// HTTP 5xx or 408 (a gateway may have forwarded the request), leaves the outcome open.
    pub const fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout | Self::Connection | Self::BadResponse)
            || self.is_gateway_failure()
    }

    /// Whether the node, or the way to it, is failing rather than answering: no answer in
    /// time, a broken connection, an HTTP 5xx or 408.
    ///
    /// This is what a circuit breaker counts as a failure
    /// ([`BreakerLayer`](crate::breaker::BreakerLayer) does). Refusals (nonce, fee, funds,
    /// revert), rate limits, other 4xx and unreadable answers come from a node that works
    /// and are not counted.
    pub const fn is_node_failure(&self) -> bool {
        matches!(self, Self::Timeout | Self::Connection) || self.is_gateway_failure()
    }

    /// HTTP 5xx or 408: the server or a gateway failed or gave up on this request.
    const fn is_gateway_failure(&self) -> bool {
        matches!(
            self,
            Self::Http {
                status: 408 | 500..=599
            }
        )
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NonceTooLow { next: Some(next) } => write!(f, "nonce too low (next {next})"),
            Self::NonceTooLow { next: None } => f.write_str("nonce too low"),
            Self::NonceTooHigh { next: Some(next) } => write!(f, "nonce too high (next {next})"),
            Self::NonceTooHigh { next: None } => f.write_str("nonce too high"),
            Self::AlreadyKnown => f.write_str("already known"),
            Self::ReplacementUnderpriced => f.write_str("replacement underpriced"),
            Self::FeeTooLow => f.write_str("fee too low"),
            Self::InsufficientFunds => f.write_str("insufficient funds"),
            Self::PoolFull => f.write_str("pool full"),
            Self::GasLimitExceeded => f.write_str("gas limit exceeded"),
            Self::IntrinsicGasTooLow => f.write_str("intrinsic gas too low"),
            Self::OutOfGas => f.write_str("out of gas"),
            Self::RateLimited {
                retry_after: Some(d),
            } => write!(f, "rate limited (retry after {d:?})"),
            Self::RateLimited { retry_after: None } => f.write_str("rate limited"),
            Self::Timeout => f.write_str("timeout"),
            Self::Connection => f.write_str("connection failed"),
            Self::Http { status } => write!(f, "http {status}"),
            Self::BadResponse => f.write_str("unreadable response"),
            Self::Reverted {
                reason: Some(reason),
            } => write!(f, "reverted: {reason}"),
            Self::Reverted { reason: None } => f.write_str("reverted"),
            Self::Other => f.write_str("other error"),
        }
    }
}

/// Classifies an alloy RPC error.
///
/// # Examples
/// ```
/// use alloy::{rpc::json_rpc::ErrorPayload, transports::RpcError};
/// use spam_core::{ErrorClass, classify};
///
/// let payload = ErrorPayload {
///     code: -32000,
///     message: "nonce too low: next nonce 7, tx nonce 5".into(),
///     data: None,
/// };
/// let err: alloy::transports::TransportError = RpcError::ErrorResp(payload);
/// assert_eq!(classify(&err), ErrorClass::NonceTooLow { next: Some(7) });
/// ```
pub fn classify(err: &RpcError<TransportErrorKind>) -> ErrorClass {
    match err {
        RpcError::ErrorResp(payload) => classify_response(payload),
        RpcError::Transport(kind) => super::transport_class::classify_transport(kind),
        RpcError::DeserError { .. } | RpcError::NullResp => ErrorClass::BadResponse,
        _ => ErrorClass::Other,
    }
}

/// Classifies a JSON-RPC error object (`{"code", "message", "data"}`).
///
/// The message decides (clients share few codes: geth answers -32000 to everything), read
/// case-insensitively; erigon's `IMPORT_RESULT: reason` prefix and Nethermind's
/// `Code, detail` form are covered by the same words. A nonce the node states is read from
/// the message, else from `data` (where Besu puts its detail).
pub fn classify_response(payload: &ErrorPayload) -> ErrorClass {
    let message = payload.message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| message.contains(n));
    let stated_nonce = || {
        next_nonce_in(&message).or_else(|| {
            payload
                .data
                .as_ref()
                .and_then(|d| next_nonce_in(&d.get().to_ascii_lowercase()))
        })
    };

    // Order matters where one client's words contain another's: "replacement transaction
    // underpriced" before "underpriced"; the "intrinsic gas too high" that means a limit below
    // the intrinsic cost before the one that means a limit above the block's; "out of gas"
    // before the gas-limit words; "account limit exceeded" before the rate-limit words.
    if payload.code == 3 || has(&["execution reverted", "vm execution error", "revert"]) {
        return ErrorClass::Reverted {
            reason: revert_reason(payload),
        };
    }
    // Besu's "Known transaction", not anvil's "Unknown transaction type …".
    if has(&["already known", "already imported", "alreadyknown"])
        || has(&["existing tx with same hash", "existing txn with same hash"])
        || message.starts_with("known transaction")
    {
        return ErrorClass::AlreadyKnown;
    }
    if has(&["nonce too low", "oldnonce", "nonce is too low"]) {
        return ErrorClass::NonceTooLow {
            next: stated_nonce(),
        };
    }
    // geth: the pool is full and a gapped transaction would evict a pending one.
    if has(&["future transaction tries to replace pending"]) {
        return ErrorClass::PoolFull;
    }
    if has(&[
        "nonce too high",
        "noncegap",
        "nonce gap",
        "noncetoofarinfuture",
        "nonce too far in future",
    ]) || has(&["gapped-nonce", "too distant from current sender nonce"])
    {
        return ErrorClass::NonceTooHigh {
            next: stated_nonce(),
        };
    }
    if has(&[
        "replacement transaction underpriced",
        "replacement underpriced",
    ]) || has(&["replacementnotallowed", "could not replace existing tx"])
    {
        return ErrorClass::ReplacementUnderpriced;
    }
    if has(&[
        "insufficient funds",
        "insufficientfunds",
        "insufficient balance",
    ]) || has(&[
        "upfront cost exceeds account balance",
        "would cause overdraft",
    ]) {
        return ErrorClass::InsufficientFunds;
    }
    // Execution, not the pool: the transaction (or the call estimating it) ran out of gas.
    if has(&["out of gas", "gas required exceeds allowance", "outofgas"]) {
        return ErrorClass::OutOfGas;
    }
    // A limit below the intrinsic cost, in words that say "too high" or "exceeds": anvil's
    // `intrinsic gas too high -- CallGasCostMoreThanGasLimit`, Besu's `Intrinsic gas exceeds
    // gas limit`.
    if has(&[
        "callgascostmorethangaslimit",
        "gasfloormorethangaslimit",
        "intrinsic gas exceeds gas limit",
    ]) {
        return ErrorClass::IntrinsicGasTooLow;
    }
    if has(&[
        "exceeds block gas limit",
        "exceeds max transaction gas limit",
        "gaslimitexceeded",
        "gas limit too high",
    ]) || has(&[
        "gas limit is too high",
        "greater than the block gas limit",
        "gas limit reached",
        "intrinsic gas too high",
    ]) || has(&["txgaslimitcapexceeded", "exceeded cap of"])
    {
        return ErrorClass::GasLimitExceeded;
    }
    if has(&["intrinsic gas", "intrinsicgas", "floor data gas"]) {
        return ErrorClass::IntrinsicGasTooLow;
    }
    if has(&[
        "txpool is full",
        "sub-pool is full",
        "transaction pool is full",
        "pool full",
    ]) || has(&[
        "account limit exceeded",
        "spammer",
        "in-flight transaction limit",
    ]) || has(&["exceeds max txs capacity", "too many pending"])
    {
        return ErrorClass::PoolFull;
    }
    if has(&[
        "underpriced",
        "fee too low",
        "feetoolow",
        "less than block base fee",
    ]) || has(&[
        "below current base fee",
        "below current blob base fee",
        "less than block blob gas fee",
        "greater than tx-specified",
    ]) || has(&["below configured minimum", "price below minimum"])
        || has(&[
            "tip needed",
            "fee cap too low",
            "feecap too low",
            "fee below minimum",
        ])
        || has(&["below minimum required", "needs to be at least"])
    {
        return ErrorClass::FeeTooLow;
    }
    // EIP-1474's -32005 "limit exceeded" and HTTP-style 429 in the body; the words alone
    // would also match e.g. geth's "transaction blob limit exceeded".
    if matches!(payload.code, 429 | -32005)
        || has(&["rate limit", "too many requests", "request limit reached"])
        || has(&["compute units per second", "capacity exceeded"])
        || message.starts_with("limit exceeded")
    {
        return ErrorClass::RateLimited {
            retry_after: backoff_seconds(payload),
        };
    }
    ErrorClass::Other
}

/// The node's next nonce in a nonce error (lowercased): geth's pool and reth `next nonce 7`,
/// geth's state transition `state: 7`, Nethermind `Current nonce: 7` (too low) and `Expected
/// nonce: 7` (too high), geth's blob pool `gapped nonce 7`, avalanche `current nonce (7)`.
fn next_nonce_in(message: &str) -> Option<u64> {
    [
        "state: ",
        "next nonce ",
        "current nonce: ",
        "current nonce (",
        "expected nonce: ",
        "gapped nonce ",
    ]
    .iter()
    .find_map(|key| {
        let rest = &message[message.find(key)? + key.len()..];
        let digits: &str = &rest[..rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len())];
        digits.parse().ok()
    })
}

/// The longest wait a node's hint can ask for.
pub(super) const MAX_HINT: Duration = Duration::from_secs(3600);

/// Infura-style `{"rate": {"backoff_seconds": 30}}` in the error data.
fn backoff_seconds(payload: &ErrorPayload) -> Option<Duration> {
    let data = payload.data.as_ref()?.get();
    let rest = &data[data.find("\"backoff_seconds\"")? + "\"backoff_seconds\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let seconds = rest[..end].parse::<f64>().ok().filter(|s| *s >= 0.0)?;
    // a gateway's hint is untrusted input: no panic on huge values, and at most an hour
    Some(Duration::try_from_secs_f64(seconds).map_or(MAX_HINT, |d| d.min(MAX_HINT)))
}

/// The reason after `execution reverted: `, else an `Error(string)` decoded from the data.
fn revert_reason(payload: &ErrorPayload) -> Option<String> {
    if let Some((_, reason)) = payload.message.split_once("reverted: ") {
        return Some(reason.trim().to_string()).filter(|r| !r.is_empty());
    }
    let data = payload.as_revert_data()?;
    decode_error_string(&data)
}

/// Decodes `Error(string)`: selector 0x08c379a0, offset, length, bytes.
fn decode_error_string(data: &[u8]) -> Option<String> {
    let body = data.strip_prefix(&[0x08, 0xc3, 0x79, 0xa0])?;
    // offsets and lengths come from the node: every addition is checked
    let word = |i: usize| -> Option<usize> {
        let w = body.get(i..i.checked_add(32)?)?;
        w[..24]
            .iter()
            .all(|b| *b == 0)
            .then(|| u64::from_be_bytes(w[24..].try_into().unwrap()) as usize)
    };
    let offset = word(0)?;
    let len = word(offset)?;
    let start = offset.checked_add(32)?;
    let bytes = body.get(start..start.checked_add(len)?)?;
    String::from_utf8(bytes.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_nonce_is_read_from_each_clients_wording() {
        assert_eq!(
            next_nonce_in("nonce too low: address 0xab, tx: 5 state: 7"),
            Some(7)
        );
        assert_eq!(
            next_nonce_in("nonce too low: next nonce 12, tx nonce 5"),
            Some(12)
        );
        assert_eq!(
            next_nonce_in("oldnonce, current nonce: 22, nonce of rejected tx: 17"),
            Some(22)
        );
        assert_eq!(next_nonce_in("nonce too low"), None);
    }

    #[test]
    fn decodes_error_string_revert_data() {
        // Error("no") as the ABI encodes it
        let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
        let mut word = [0u8; 32];
        word[31] = 32;
        data.extend_from_slice(&word);
        word[31] = 2;
        data.extend_from_slice(&word);
        let mut text = [0u8; 32];
        text[..2].copy_from_slice(b"no");
        data.extend_from_slice(&text);
        assert_eq!(decode_error_string(&data).as_deref(), Some("no"));
        assert_eq!(decode_error_string(&data[..40]), None);
        // an offset word near usize::MAX must not overflow
        let mut hostile = vec![0x08, 0xc3, 0x79, 0xa0];
        hostile.extend_from_slice(&[0u8; 24]);
        hostile.extend_from_slice(&[0xff; 8]);
        assert_eq!(decode_error_string(&hostile), None);
    }

    #[test]
    fn reads_infura_backoff_hint() {
        let payload = ErrorPayload {
            code: -32005,
            message: "daily request count exceeded, request rate limited".into(),
            data: Some(
                serde_json::value::RawValue::from_string(
                    r#"{"rate":{"allowed_rps":1,"backoff_seconds":30,"current_rps":1.1}}"#.into(),
                )
                .unwrap(),
            ),
        };
        assert_eq!(
            classify_response(&payload),
            ErrorClass::RateLimited {
                retry_after: Some(Duration::from_secs(30))
            }
        );
        let hostile = ErrorPayload {
            data: Some(
                serde_json::value::RawValue::from_string(
                    r#"{"rate":{"backoff_seconds":100000000000000000000000}}"#.into(),
                )
                .unwrap(),
            ),
            ..payload
        };
        assert_eq!(
            classify_response(&hostile),
            ErrorClass::RateLimited {
                retry_after: Some(MAX_HINT)
            }
        );
    }
}
