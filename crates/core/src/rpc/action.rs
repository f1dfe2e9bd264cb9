use std::time::Duration;

use crate::rpc::ErrorClass;

/// What an engine does with a transaction send that failed with an [`ErrorClass`].
///
/// Every action says what happens to the transaction's nonce reservation (spam-nonce).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// The node has the transaction (*already known*): commit the nonce, count it as sent.
    Commit,
    /// The node's view of the sender's nonces differs from ours: resync the sender (the
    /// reservation becomes stale) and send the next transaction with a fresh nonce.
    Resync,
    /// The node said which nonce it expects: fast-forward the sender to it; the reservation
    /// below it is dropped.
    FastForward(u64),
    /// The node said which nonce it expects, below ours (*nonce too high* with its nonce):
    /// set the sender back to it without a read (a resync to that nonce: the reservation
    /// becomes stale).
    Rewind(u64),
    /// Refused for its fee: roll back, refresh (or bump) the fees, try again.
    BumpFee,
    /// Refused for a defect of this transaction (gas limit): roll back the nonce and drop the
    /// transaction; retrying it unchanged cannot succeed.
    Rollback,
    /// The node is saturated or limiting: roll back and wait (at least the given time), or
    /// re-send the same signed bytes later.
    BackOff(Option<Duration>),
    /// The sender cannot pay: roll back and stop using the wallet until it is topped up.
    ParkWallet,
    /// No (readable) answer, or a gateway's 5xx / 408, so the transaction may be in the pool:
    /// re-send the *same* signed bytes (a node that has it answers *already known*), or commit
    /// and resync if giving up. Never reuse the nonce for a different transaction before
    /// knowing.
    ResendSame,
    /// Nothing to retry (reverted, an HTTP 4xx refusal such as 401 or 413, unrecognised
    /// refusal): roll back and record the failure.
    GiveUp,
}

impl ErrorClass {
    /// The action an engine takes when a transaction send fails this way.
    ///
    /// # Examples
    /// ```
    /// use spam_core::{Action, ErrorClass};
    ///
    /// assert_eq!(ErrorClass::NonceTooLow { next: Some(9) }.action(), Action::FastForward(9));
    /// assert_eq!(ErrorClass::AlreadyKnown.action(), Action::Commit);
    /// assert_eq!(ErrorClass::Timeout.action(), Action::ResendSame);
    /// ```
    pub const fn action(&self) -> Action {
        match self {
            Self::AlreadyKnown => Action::Commit,
            Self::NonceTooLow { next: Some(next) } => Action::FastForward(*next),
            // A pending transaction already holds this nonce (an earlier send whose answer was
            // lost, or another process): the pool's pending nonce tells where to continue.
            Self::NonceTooHigh { next: Some(next) } => Action::Rewind(*next),
            Self::NonceTooLow { next: None }
            | Self::NonceTooHigh { next: None }
            | Self::ReplacementUnderpriced => Action::Resync,
            Self::FeeTooLow => Action::BumpFee,
            Self::GasLimitExceeded | Self::IntrinsicGasTooLow | Self::OutOfGas => Action::Rollback,
            Self::RateLimited { retry_after } => Action::BackOff(*retry_after),
            Self::PoolFull => Action::BackOff(None),
            Self::InsufficientFunds => Action::ParkWallet,
            // A gateway may have forwarded the request before failing or giving up on it.
            Self::Timeout
            | Self::Connection
            | Self::BadResponse
            | Self::Http {
                status: 408 | 500..=599,
            } => Action::ResendSame,
            // 401, 403, 404, 413 …: the request itself is refused, unchanged it fails again.
            Self::Http { .. } | Self::Reverted { .. } | Self::Other => Action::GiveUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_the_documented_action() {
        let table = [
            (ErrorClass::AlreadyKnown, Action::Commit),
            (
                ErrorClass::NonceTooLow { next: Some(3) },
                Action::FastForward(3),
            ),
            (ErrorClass::NonceTooLow { next: None }, Action::Resync),
            (ErrorClass::NonceTooHigh { next: None }, Action::Resync),
            (
                ErrorClass::NonceTooHigh { next: Some(4) },
                Action::Rewind(4),
            ),
            (ErrorClass::OutOfGas, Action::Rollback),
            (ErrorClass::ReplacementUnderpriced, Action::Resync),
            (ErrorClass::FeeTooLow, Action::BumpFee),
            (ErrorClass::GasLimitExceeded, Action::Rollback),
            (ErrorClass::IntrinsicGasTooLow, Action::Rollback),
            (
                ErrorClass::RateLimited { retry_after: None },
                Action::BackOff(None),
            ),
            (ErrorClass::PoolFull, Action::BackOff(None)),
            (ErrorClass::InsufficientFunds, Action::ParkWallet),
            (ErrorClass::Timeout, Action::ResendSame),
            (ErrorClass::Connection, Action::ResendSame),
            (ErrorClass::BadResponse, Action::ResendSame),
            (ErrorClass::Http { status: 503 }, Action::ResendSame),
            (ErrorClass::Http { status: 500 }, Action::ResendSame),
            (ErrorClass::Http { status: 502 }, Action::ResendSame),
            (ErrorClass::Http { status: 504 }, Action::ResendSame),
            (ErrorClass::Http { status: 408 }, Action::ResendSame),
            (ErrorClass::Http { status: 401 }, Action::GiveUp),
            (ErrorClass::Http { status: 413 }, Action::GiveUp),
            (ErrorClass::Reverted { reason: None }, Action::GiveUp),
            (ErrorClass::Other, Action::GiveUp),
        ];
        for (class, action) in table {
            assert_eq!(class.action(), action, "{class:?}");
        }
    }

    #[test]
    fn only_transient_classes_are_retryable() {
        assert!(ErrorClass::Timeout.is_retryable());
        assert!(ErrorClass::PoolFull.is_retryable());
        assert!(!ErrorClass::NonceTooLow { next: None }.is_retryable());
        assert!(!ErrorClass::Reverted { reason: None }.is_retryable());
        assert!(ErrorClass::Connection.outcome_unknown());
        assert!(!ErrorClass::AlreadyKnown.outcome_unknown());
        assert!(ErrorClass::Timeout.is_node_failure());
        assert!(ErrorClass::Connection.is_node_failure());
        assert!(!ErrorClass::BadResponse.is_node_failure());
        assert!(!ErrorClass::RateLimited { retry_after: None }.is_node_failure());
        assert!(!ErrorClass::NonceTooLow { next: None }.is_node_failure());
    }

    #[test]
    fn http_statuses_resend_exactly_when_the_outcome_is_open() {
        for status in [
            400, 401, 403, 404, 405, 408, 413, 500, 501, 502, 503, 504, 520,
        ] {
            let class = ErrorClass::Http { status };
            let gateway = status == 408 || status >= 500;
            assert_eq!(class.is_retryable(), gateway, "{class}");
            assert_eq!(class.outcome_unknown(), gateway, "{class}");
            assert_eq!(class.is_node_failure(), gateway, "{class}");
            let expected = if gateway {
                Action::ResendSame
            } else {
                Action::GiveUp
            };
            assert_eq!(class.action(), expected, "{class}");
        }
        assert_eq!(ErrorClass::Http { status: 503 }.to_string(), "http 503");
    }
}
