use std::task::{Context, Poll};

use alloy::{
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{RpcError, TransportError, TransportErrorKind, TransportFut},
};

use super::{BreakerOpen, CircuitBreaker};
use crate::rpc::classify;

/// A tower [`Layer`](tower::Layer) that puts a [`CircuitBreaker`] in front of an alloy transport.
///
/// While the breaker is open, calls fail at once with a transport error that
/// [`is_breaker_open`] recognises (classified [`ErrorClass::Other`](crate::ErrorClass::Other),
/// so retry policies do not hammer it). Errors that say the node is failing count as failures
/// ([`ErrorClass::is_node_failure`](crate::ErrorClass::is_node_failure): connection failures,
/// timeouts, HTTP 5xx and 408); JSON-RPC error responses (*nonce too low* …) are answers from
/// a working node and count as successes; other errors (429, other 4xx, unreadable answers)
/// count as neither.
///
/// # Retries
/// The layer counts the outcome of each call that passes through it. Add it **before** a retry
/// layer (alloy's `RetryBackoffLayer`), so it wraps the retries: a request answered 503, retried
/// and then answered is one success, and an open breaker refuses before any attempt. Added
/// after the retry layer, or under a retry loop above the provider
/// ([`RetryPolicy`](crate::RetryPolicy), [`send_raw_transaction`](crate::send_raw_transaction)),
/// every failed attempt counts as a failure of its own.
///
/// # Examples
/// ```
/// use alloy::{
///     providers::ProviderBuilder, rpc::client::ClientBuilder, transports::layers::RetryBackoffLayer,
/// };
/// use spam_core::breaker::{BreakerConfig, BreakerLayer, CircuitBreaker};
///
/// let breaker = CircuitBreaker::new(BreakerConfig::default());
/// let client = ClientBuilder::default()
///     .layer(BreakerLayer::new(breaker.clone())) // first: outside the retries
///     .layer(RetryBackoffLayer::new(3, 100, u64::MAX))
///     .http("http://127.0.0.1:8545".parse()?);
/// let provider = ProviderBuilder::new().connect_client(client);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BreakerLayer {
    breaker: CircuitBreaker,
}

impl BreakerLayer {
    /// A layer sharing `breaker` (clone the breaker to watch its state elsewhere).
    pub const fn new(breaker: CircuitBreaker) -> Self {
        Self { breaker }
    }
}

impl<S> tower::Layer<S> for BreakerLayer {
    type Service = BreakerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            breaker: self.breaker.clone(),
        }
    }
}

/// The service [`BreakerLayer`] produces.
#[derive(Debug, Clone)]
pub struct BreakerService<S> {
    inner: S,
    breaker: CircuitBreaker,
}

impl<S> tower::Service<RequestPacket> for BreakerService<S>
where
    S: tower::Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Send
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let permit = match self.breaker.try_acquire() {
            Ok(permit) => permit,
            Err(open) => return Box::pin(async move { Err(TransportErrorKind::custom(open)) }),
        };
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await;
            match &result {
                Ok(_) => permit.success(),
                Err(err) if classify(err).is_node_failure() => permit.failure(),
                Err(_) => drop(permit), // not the node's health: counts as neither
            }
            result
        })
    }
}

/// Whether `err` is a call refused by an open [`BreakerLayer`].
pub fn is_breaker_open(err: &TransportError) -> bool {
    match err {
        RpcError::Transport(TransportErrorKind::Custom(inner)) => {
            inner.downcast_ref::<BreakerOpen>().is_some()
        }
        _ => false,
    }
}
