//! [`SendStrategy`]: how the open-loop engine submits signed transactions.

use std::{fmt, time::Duration};

use serde::{Deserialize, Serialize};

/// How the open-loop engine submits transactions.
///
/// The default is [`adaptive`](Self::adaptive): batches of up to 100 with no linger, which
/// behave as single sends while the node keeps up and as batches as the rate grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SendStrategy {
    /// One `eth_sendRawTransaction` request per transaction, sent at its intended time.
    Single,
    /// JSON-RPC batches of up to `max` transactions, one request at a time per connection:
    /// a free connection takes what is queued, waiting at most `linger` after the first
    /// transaction's intended time for the batch to fill. Light load gives small batches sent at
    /// once (a lone transaction goes as a plain request, not a batch of one); heavy load fills
    /// them, as fast as the node answers.
    Batch {
        /// Most transactions per batch.
        max: usize,
        /// Longest a transaction waits for its batch to fill.
        #[serde(with = "micros")]
        linger: Duration,
    },
    /// `eth_sendRawTransactionSync` (EIP-7966): the answer is the receipt, so acked means
    /// included. Needs a node that supports it.
    Sync,
}

impl SendStrategy {
    /// Batches of up to `max` transactions, each waiting at most `linger` to fill.
    pub const fn batch(max: usize, linger: Duration) -> Self {
        Self::Batch { max, linger }
    }

    /// The default: batches of up to 100 that never wait to fill. Each connection sends what
    /// queued while its previous request was out: one transaction alone while the node keeps
    /// up, up to 100 in one request as the rate outgrows the connections — so a low rate keeps
    /// its latency and a high one costs the node one request per hundred transactions.
    pub const fn adaptive() -> Self {
        Self::Batch {
            max: 100,
            linger: Duration::ZERO,
        }
    }
}

impl Default for SendStrategy {
    fn default() -> Self {
        Self::adaptive()
    }
}

impl fmt::Display for SendStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Single => f.write_str("single"),
            Self::Batch { max, linger } if linger.is_zero() => {
                write!(f, "batches of up to {max} as queued")
            }
            Self::Batch { max, linger } => write!(f, "batch {max} / {linger:?}"),
            Self::Sync => f.write_str("sync"),
        }
    }
}

mod micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_micros().try_into().unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}
