//! A tower layer that reports each request's outcome to the pool.

use std::{
    fmt,
    task::{Context, Poll},
    time::Instant,
};

use alloy::{
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{TransportError, TransportFut},
};
use tower::{Layer, Service};

use crate::{failure::Failure, route::Route};

/// Reports every request through an alloy transport to the route's pool: success with its
/// latency, or the classified failure ([`Failure::from_transport_error`]); errors that are
/// not the proxy's are not reported. A direct route reports nothing.
///
/// [`Route::rpc_client`] installs it; add it yourself when stacking other layers.
#[derive(Clone)]
pub struct ReportLayer {
    route: Route,
}

impl ReportLayer {
    /// Reports to `route`'s pool about `route`'s proxy.
    pub const fn new(route: Route) -> Self {
        Self { route }
    }
}

impl fmt::Debug for ReportLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReportLayer").field(&self.route).finish()
    }
}

impl<S> Layer<S> for ReportLayer {
    type Service = ReportService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReportService {
            inner,
            route: self.route.clone(),
        }
    }
}

/// The service of [`ReportLayer`].
#[derive(Clone)]
pub struct ReportService<S> {
    inner: S,
    route: Route,
}

impl<S> fmt::Debug for ReportService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportService")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl<S> Service<RequestPacket> for ReportService<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let route = self.route.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let start = Instant::now();
            let result = response.await;
            match &result {
                Ok(_) => route.report_success(start.elapsed()),
                Err(e) => {
                    if let Some(failure) = Failure::from_transport_error(e) {
                        route.report_failure(failure);
                    }
                }
            }
            result
        })
    }
}
