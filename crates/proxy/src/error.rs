//! The crate's errors.

use std::{path::PathBuf, time::Duration};

/// Errors of spam-proxy. None of them carries credentials: inputs are redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A proxy address could not be parsed.
    #[error("invalid proxy `{input}`: {reason}")]
    InvalidProxy {
        /// The input, credentials replaced by `***`.
        input: String,
        /// What is wrong.
        reason: ParseError,
    },
    /// A line of a proxy list could not be parsed.
    #[error("line {line}: invalid proxy `{input}`: {reason}")]
    InvalidLine {
        /// 1-based line number.
        line: usize,
        /// The line, credentials replaced by `***`.
        input: String,
        /// What is wrong.
        reason: ParseError,
    },
    /// A proxy list file could not be read.
    #[error("cannot read proxy list {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// reqwest refused to build a client for a proxy (e.g. no TLS backend).
    #[error("cannot build an http client for {proxy}")]
    Client {
        /// The proxy, redacted; `"direct"` for the direct client.
        proxy: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// Every proxy is banned (or the pool is empty) and direct connections are not allowed.
    #[error(
        "no proxy available: {banned} of {total} banned{}, and direct connections are not allowed",
        next_unban.map(|d| format!(", next unban in {}s", d.as_secs().max(1))).unwrap_or_default()
    )]
    NoProxyAvailable {
        /// Proxies in the pool.
        total: usize,
        /// Proxies banned right now.
        banned: usize,
        /// Time until the first ban expires, if any.
        next_unban: Option<Duration>,
    },
    /// A [`ProxyId`](crate::ProxyId) that does not belong to this pool.
    #[error("unknown proxy id {0}")]
    UnknownProxy(crate::ProxyId),
}

impl Error {
    /// Whether waiting may help: true for [`Error::NoProxyAvailable`] (bans expire).
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::NoProxyAvailable { .. })
    }
}

/// What is wrong with a proxy address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// No `scheme://`.
    #[error("missing scheme (expected `scheme://host:port`)")]
    MissingScheme,
    /// A scheme other than http, https, socks5, socks5h.
    #[error("unsupported scheme `{0}` (expected http, https, socks5 or socks5h)")]
    UnsupportedScheme(String),
    /// Empty host.
    #[error("missing host")]
    MissingHost,
    /// A host that is neither a name nor an IP address.
    #[error("bad host (expected a host name or IP address)")]
    BadHost,
    /// No `:port`.
    #[error("missing port")]
    MissingPort,
    /// A port that is not 1-65535.
    #[error("bad port `{0}` (expected 1-65535)")]
    BadPort(String),
    /// A path, query or fragment after the address.
    #[error("a proxy address has no path, query or fragment")]
    HasPath,
    /// Malformed `user:password@`.
    #[error("bad credentials: {0}")]
    BadCredentials(&'static str),
}
