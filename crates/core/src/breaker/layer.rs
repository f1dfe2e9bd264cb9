use std::task::{Context, Poll};

use alloy::{
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{RpcError, TransportError, TransportErrorKind, TransportFut},
};

use super::{BreakerOpen, CircuitBreaker};
use crate::{rpc::ErrorClass, rpc::classify};

/// A tower [`Layer`](tower::Layer) that puts a [`CircuitBreaker`] in front of an alloy transport.
///
/// While the breaker is open, calls fail at once with a transport error that
/// [`is_breaker_open`] recognises (classified [`ErrorClass::Other`], so retry policies do not
/// hammer it). Transport errors, timeouts and HTTP 5xx count as failures; JSON-RPC error
/// responses (*nonce too low* …) are answers from a working node and count as successes.
///
/// # Examples
/// ```
/// use alloy::{providers::ProviderBuilder, rpc::client::ClientBuilder};
/// use spam_core::breaker::{BreakerConfig, BreakerLayer, CircuitBreaker};
///
/// let breaker = CircuitBreaker::new(BreakerConfig::default());
/// let client = ClientBuilder::default()
///     .layer(BreakerLayer::new(breaker.clone()))
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
                Err(err)
                    if matches!(classify(err), ErrorClass::Connection | ErrorClass::Timeout) =>
                {
                    permit.failure()
                }
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
