//! [`Routed`]: an alloy transport that sends each request to the endpoint its route names at
//! that moment, counts it there, and fans transactions out when the run broadcasts.

use std::task::{Context, Poll};

use alloy::{
    primitives::Address,
    rpc::json_rpc::{RequestPacket, ResponsePacket, ResponsePayload},
    transports::{TransportError, TransportFut, TransportResult},
};
use futures_util::{StreamExt, stream::FuturesUnordered};
use std::sync::Arc;
use tokio::time::Instant;
use tower::Service;

use super::{
    member::{Endpoint, Kind},
    router::Router,
};
use crate::rpc::{ErrorClass, classify, classify_response};

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The read set.
    Reads,
    /// The first healthy send endpoint (sends that belong to no sender).
    Sends,
    /// The sender's send endpoint of the moment.
    Sender(Address),
}

#[derive(Clone)]
pub(crate) struct Routed {
    pub(super) router: Arc<Router>,
    pub(super) route: Route,
}

impl Service<RequestPacket> for Routed {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The endpoints' HTTP transports are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let (router, route) = (Arc::clone(&self.router), self.route);
        Box::pin(async move { dispatch(&router, route, request).await })
    }
}

fn is_send(request: &RequestPacket) -> bool {
    request
        .method_names()
        .any(|m| m.starts_with("eth_sendRawTransaction"))
}

async fn dispatch(
    router: &Arc<Router>,
    route: Route,
    request: RequestPacket,
) -> TransportResult<ResponsePacket> {
    let send = is_send(&request);
    if send && router.broadcasts() && route != Route::Reads {
        return broadcast(router, request).await;
    }
    let endpoint = match route {
        Route::Reads => router.read_endpoint(),
        Route::Sends => router.first_send_endpoint(),
        Route::Sender(sender) => router.send_endpoint(sender),
    };
    let kind = if send { Kind::Send } else { Kind::Read };
    // A request that could not reach its endpoint (connection refused or reset before an
    // answer) goes to another healthy one at once: the same bytes, so a send is replay-safe,
    // and the caller does not see a dead endpoint its breaker has not opened on yet.
    let again = router.is_multi().then(|| request.clone());
    let result = call(endpoint, kind, request).await;
    match (again, &result) {
        (Some(request), Err(err)) if classify(err) == ErrorClass::Connection => {
            match router.other_healthy(route, endpoint.index) {
                Some(other) => call(other, kind, request).await,
                None => result,
            }
        }
        _ => result,
    }
}

/// One request to `endpoint`, after its request cap allows it; counted there.
pub(crate) async fn call(
    endpoint: &Endpoint,
    kind: Kind,
    request: RequestPacket,
) -> TransportResult<ResponsePacket> {
    let calls = request.requests().len();
    endpoint.permits(calls).await;
    let permit = endpoint.breaker.try_acquire().ok();
    let started = Instant::now();
    let result = endpoint.transport.clone().call(request).await;
    let failures = failures(calls, &result);
    endpoint.observe(kind, calls, started.elapsed(), &failures, permit);
    result
}

/// The class of each call that failed: every call for a failed request, else each error
/// answer ("already known" is an acceptance).
pub(super) fn failures(calls: usize, result: &TransportResult<ResponsePacket>) -> Vec<ErrorClass> {
    match result {
        Err(err) => vec![classify(err); calls],
        Ok(packet) => {
            let responses = match packet {
                ResponsePacket::Single(r) => std::slice::from_ref(r),
                ResponsePacket::Batch(rs) => rs.as_slice(),
            };
            responses
                .iter()
                .filter_map(|r| match &r.payload {
                    ResponsePayload::Failure(payload) => Some(classify_response(payload)),
                    ResponsePayload::Success(_) => None,
                })
                .filter(|class| *class != ErrorClass::AlreadyKnown)
                .collect()
        }
    }
}

/// Whether a request's answer accepted every transaction in it.
fn accepted(result: &TransportResult<ResponsePacket>) -> bool {
    match result {
        Err(_) => false,
        Ok(packet) => {
            let responses = match packet {
                ResponsePacket::Single(r) => std::slice::from_ref(r),
                ResponsePacket::Batch(rs) => rs.as_slice(),
            };
            responses.iter().all(|r| match &r.payload {
                ResponsePayload::Success(_) => true,
                ResponsePayload::Failure(p) => classify_response(p) == ErrorClass::AlreadyKnown,
            })
        }
    }
}

/// Sends `request` to every healthy send endpoint at once. The first acceptance is the
/// answer; later acceptances count as duplicates where they happen (counted on a task of
/// their own, the caller does not wait for them). Without an acceptance, the answer of the
/// first endpoint in order.
async fn broadcast(
    router: &Arc<Router>,
    request: RequestPacket,
) -> TransportResult<ResponsePacket> {
    let targets: Vec<Arc<Endpoint>> = router.healthy_sends().into_iter().cloned().collect();
    let mut pending: FuturesUnordered<_> = targets
        .into_iter()
        .enumerate()
        .map(|(order, endpoint)| {
            let request = request.clone();
            async move { (order, call(&endpoint, Kind::Send, request).await, endpoint) }
        })
        .collect();
    let mut refused: Vec<(usize, TransportResult<ResponsePacket>)> = Vec::new();
    while let Some((order, result, _)) = pending.next().await {
        if accepted(&result) {
            tokio::spawn(async move {
                while let Some((_, later, endpoint)) = pending.next().await {
                    if accepted(&later) {
                        endpoint.duplicates(1);
                    }
                }
            });
            return result;
        }
        refused.push((order, result));
    }
    refused.sort_by_key(|(order, _)| *order);
    refused
        .into_iter()
        .next()
        .map(|(_, result)| result)
        .expect("at least one send endpoint")
}
