//! Failures below JSON-RPC: HTTP statuses, timeouts and broken connections, read from the
//! transport's error and its causes.

use alloy::transports::TransportErrorKind;

use super::{ErrorClass, class::MAX_HINT};

/// The class of a failure below JSON-RPC: an HTTP status (429 is a rate limit), a broken
/// connection, a timeout, an unreadable body.
pub(super) fn classify_transport(kind: &TransportErrorKind) -> ErrorClass {
    // With or without a `Retry-After` header: a 503 announcing its length is still a 503.
    if let Some(http) = kind.as_http_error() {
        return match http.status {
            429 => ErrorClass::RateLimited {
                retry_after: kind.retry_after().map(|d| d.min(MAX_HINT)),
            },
            status => ErrorClass::Http { status },
        };
    }
    match kind {
        TransportErrorKind::BackendGone
        | TransportErrorKind::PubsubUnavailable
        | TransportErrorKind::MissingBatchResponse(_) => ErrorClass::Connection,
        TransportErrorKind::Custom(err) => classify_io(err.as_ref()),
        _ => ErrorClass::Other,
    }
}

/// Walks an I/O error chain (reqwest, hyper, std::io) for a timeout or a connection failure.
fn classify_io(err: &(dyn std::error::Error + 'static)) -> ErrorClass {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(req) = e.downcast_ref::<alloy::transports::http::reqwest::Error>() {
            if req.is_timeout() {
                return ErrorClass::Timeout;
            }
            if req.is_decode() {
                return ErrorClass::BadResponse;
            }
            if req.is_connect() || req.is_request() || req.is_body() {
                return ErrorClass::Connection;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                TimedOut => return ErrorClass::Timeout,
                ConnectionRefused | ConnectionReset | ConnectionAborted | BrokenPipe
                | NotConnected | UnexpectedEof => return ErrorClass::Connection,
                _ => {}
            }
        }
        current = e.source();
    }
    let text = err.to_string().to_ascii_lowercase();
    // alloy's `RetryBackoffLayer` gives up with its last error flattened into a string
    // ("Max retries exceeded HTTP error 503 with body: …"): its status is all that is left.
    if let Some(status) = http_status_in(&text) {
        return match status {
            429 => ErrorClass::RateLimited { retry_after: None },
            status => ErrorClass::Http { status },
        };
    }
    if text.contains("timed out") || text.contains("timeout") {
        ErrorClass::Timeout
    } else if [
        "connection",
        "connect",
        "broken pipe",
        "dns error",
        "error sending request",
    ]
    .iter()
    .any(|n| text.contains(n))
    {
        ErrorClass::Connection
    } else {
        ErrorClass::Other
    }
}

/// The status in alloy's rendering of an HTTP error, `http error 503 with …` (lowercased).
fn http_status_in(text: &str) -> Option<u16> {
    let rest = &text[text.find("http error ")? + "http error ".len()..];
    let digits = rest.get(..3)?;
    let status: u16 = digits.parse().ok()?;
    let whole = rest[3..].chars().next().is_none_or(|c| !c.is_ascii_digit());
    (whole && (100..=599).contains(&status)).then_some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_status_is_read_from_alloys_rendering() {
        assert_eq!(
            http_status_in("max retries exceeded http error 503 with body: {}"),
            Some(503)
        );
        assert_eq!(http_status_in("http error 429 with empty body"), Some(429));
        assert_eq!(http_status_in("http error 5031 with empty body"), None);
        assert_eq!(http_status_in("http error 42"), None);
        assert_eq!(http_status_in("http error 999"), None);
        assert_eq!(http_status_in("connection refused"), None);
    }
}
