//! Why a request through a proxy failed: one classifier for reqwest errors and HTTP statuses.

use std::{error::Error as StdError, fmt, io};

/// The class of a proxy failure. `Display` gives the short reason used in reports
/// (`"connect"`, `"auth"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The proxy (or, through it, the target) refused or dropped the connection.
    Connect,
    /// No answer within the deadline.
    Timeout,
    /// Credentials rejected: HTTP 401/407 or SOCKS5 authentication failure.
    Auth,
    /// HTTP 403: the proxy or the target refuses this egress.
    Forbidden,
    /// HTTP 429: rate-limited.
    RateLimited,
    /// An answer that is not what the probe expects (other status, not JSON-RPC, TLS error…).
    BadResponse,
}

impl FailureKind {
    /// The short reason (`"rate-limited"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Auth => "auth",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate-limited",
            Self::BadResponse => "bad-response",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified failure with a human-readable detail. Never holds credentials or target URLs
/// (reqwest's URL is stripped before the text is kept).
///
/// `Display`: `"auth: proxy answered 407 Proxy Authentication Required"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    kind: FailureKind,
    detail: String,
}

impl Failure {
    /// A failure of `kind` with a detail message.
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// The class.
    pub const fn kind(&self) -> FailureKind {
        self.kind
    }

    /// What happened, in words.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Classifies an HTTP status from a proxy or through it: 401/407 auth, 403 forbidden,
    /// 429 rate-limited, anything else bad-response. Only call it for unexpected statuses.
    pub fn from_status(status: u16) -> Self {
        let kind = match status {
            401 | 407 => FailureKind::Auth,
            403 => FailureKind::Forbidden,
            429 => FailureKind::RateLimited,
            _ => FailureKind::BadResponse,
        };
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        Self::new(
            kind,
            format!("answered {status} {reason}").trim_end().to_owned(),
        )
    }

    /// Classifies a reqwest error by walking its `source()` chain.
    pub fn from_reqwest(err: &reqwest::Error) -> Self {
        if let Some(status) = err.status() {
            return Self::from_status(status.as_u16());
        }
        // reqwest names the target URL (which may hold an API key) only at the top level, as
        // "… for url (…)"; the sources describe the failure without it.
        let detail = match err.source() {
            Some(source) => chain_text(source),
            None => {
                let text = err.to_string();
                text.split(" for url (")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        let kind = classify_chain(err).unwrap_or(if err.is_timeout() {
            FailureKind::Timeout
        } else if err.is_connect() {
            FailureKind::Connect
        } else {
            FailureKind::BadResponse
        });
        Self::new(kind, detail)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

/// `"a: b: c"` from an error and its sources, skipping repeated messages.
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The one place where proxy failures are recognised from error types and, where the proxy
/// libraries expose no types (hyper-util's SOCKS and tunnel errors are private), from their
/// messages. Returns `None` when nothing in the chain is conclusive.
pub(crate) fn classify_chain(err: &(dyn StdError + 'static)) -> Option<FailureKind> {
    let mut found = None;
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(kind) = classify_message(&e.to_string()) {
            // An auth failure is the most specific thing the chain can say.
            if kind == FailureKind::Auth {
                return Some(kind);
            }
            found = found.or(Some(kind));
        }
        if let Some(kind) = e
            .downcast_ref::<io::Error>()
            .and_then(|io| classify_io(io.kind()))
        {
            found = Some(kind);
        }
        next = e.source();
    }
    found
}

fn classify_io(kind: io::ErrorKind) -> Option<FailureKind> {
    use io::ErrorKind as K;
    match kind {
        K::TimedOut => Some(FailureKind::Timeout),
        K::ConnectionRefused
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::AddrNotAvailable
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::BrokenPipe
        | K::UnexpectedEof => Some(FailureKind::Connect),
        _ => None,
    }
}

/// Messages of hyper-util 0.1 (`SocksError`, `SocksV5Error`, `TunnelError`) and reqwest 0.13.
fn classify_message(msg: &str) -> Option<FailureKind> {
    const AUTH: [&str; 4] = [
        "credentials not accepted",
        "does not support user/pass authentication",
        "implements authentication incorrectly",
        "proxy authorization required",
    ];
    const TIMEOUT: [&str; 2] = ["timed out", "deadline has elapsed"];
    const CONNECT: [&str; 6] = [
        "connection closed before message completed",
        "tcp connect error",
        "error connecting to socks proxy",
        "SOCKS error",
        "tunnel error",
        "connection refused",
    ];
    let lower = msg.to_ascii_lowercase();
    let has = |needles: &[&str]| {
        needles
            .iter()
            .any(|n| lower.contains(&n.to_ascii_lowercase()))
    };
    if has(&AUTH) {
        Some(FailureKind::Auth)
    } else if has(&TIMEOUT) {
        Some(FailureKind::Timeout)
    } else if has(&CONNECT) {
        Some(FailureKind::Connect)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Msg(&'static str, Option<Box<dyn StdError + 'static>>);

    impl fmt::Display for Msg {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Msg {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref()
        }
    }

    fn chain(msgs: &[&'static str], io: Option<io::ErrorKind>) -> Box<dyn StdError + 'static> {
        let mut err: Option<Box<dyn StdError + 'static>> =
            io.map(|k| Box::new(io::Error::from(k)) as Box<dyn StdError>);
        for m in msgs.iter().rev() {
            err = Some(Box::new(Msg(m, err)));
        }
        err.expect("non-empty chain")
    }

    #[test]
    fn classifies_the_chains_reqwest_and_hyper_util_produce() {
        use io::ErrorKind as K;
        for (msgs, io, expected) in [
            // SOCKS5 with a wrong password (microsocks).
            (
                &[
                    "client error (Connect)",
                    "error connecting to socks proxy",
                    "SOCKS error: credentials not accepted",
                ][..],
                None,
                Some(FailureKind::Auth),
            ),
            // SOCKS5 proxy port closed.
            (
                &[
                    "client error (Connect)",
                    "error connecting to socks proxy",
                    "SOCKS error: failed to create underlying connection",
                ][..],
                None,
                Some(FailureKind::Connect),
            ),
            // HTTPS target through an HTTP proxy that wants credentials.
            (
                &[
                    "client error (Connect)",
                    "tunnel error: proxy authorization required",
                ][..],
                None,
                Some(FailureKind::Auth),
            ),
            // HTTP proxy port closed.
            (
                &["client error (Connect)", "tcp connect error"][..],
                Some(K::ConnectionRefused),
                Some(FailureKind::Connect),
            ),
            (
                &["client error (Connect)"][..],
                Some(K::TimedOut),
                Some(FailureKind::Timeout),
            ),
            (
                &["operation timed out"][..],
                None,
                Some(FailureKind::Timeout),
            ),
            (
                &["connection closed before message completed"][..],
                Some(K::ConnectionReset),
                Some(FailureKind::Connect),
            ),
            (&["expected value at line 1 column 1"][..], None, None),
            (&["invalid peer certificate: UnknownIssuer"][..], None, None),
        ] {
            let err = chain(msgs, io);
            assert_eq!(classify_chain(&*err), expected, "{msgs:?} {io:?}");
        }
    }

    #[test]
    fn statuses_map_to_kinds() {
        for (status, kind) in [
            (401, FailureKind::Auth),
            (407, FailureKind::Auth),
            (403, FailureKind::Forbidden),
            (429, FailureKind::RateLimited),
            (500, FailureKind::BadResponse),
            (502, FailureKind::BadResponse),
            (404, FailureKind::BadResponse),
        ] {
            assert_eq!(Failure::from_status(status).kind(), kind, "{status}");
        }
        assert_eq!(
            Failure::from_status(407).to_string(),
            "auth: answered 407 Proxy Authentication Required"
        );
        assert_eq!(
            Failure::from_status(599).to_string(),
            "bad-response: answered 599"
        );
    }

    #[test]
    fn chain_text_skips_repeats() {
        let err = chain(&["a: b", "b", "c"], None);
        assert_eq!(chain_text(&*err), "a: b: c");
    }
}
