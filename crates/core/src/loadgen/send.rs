//! How signed transactions reach the node: one request each, JSON-RPC batches, or the
//! synchronous send that answers with the receipt.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::{Address, Bytes, TxHash, U64},
    rpc::client::{ClientBuilder, RpcClient},
    transports::{TransportError, http::reqwest},
};
use serde::Deserialize;

use tokio::time::Instant;

use crate::{
    endpoint::{Endpoint, Kind, Router},
    rpc::{ErrorClass, classify},
};

/// A send that failed: its class, and whether the node may still have the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) class: ErrorClass,
}

impl Refused {
    fn from_transport(err: &TransportError) -> Self {
        let class = classify(err);
        if class == ErrorClass::Other {
            // The class drops the text; debug logs keep it, to see what to classify.
            tracing::debug!(target: "spam::loadgen", %err, "send failed: unclassified error");
        }
        Self { class }
    }

    /// The label the report counts rejections under.
    pub(crate) fn label(&self) -> String {
        match &self.class {
            ErrorClass::Reverted { .. } => "reverted".into(),
            class => class.to_string(),
        }
    }
}

/// What a sync send learnt from the receipt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncReceipt {
    pub(crate) gas_used: u64,
    pub(crate) success: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptLite {
    gas_used: U64,
    status: Option<U64>,
}

/// What a send came to: accepted (with the receipt of a sync send), or refused.
pub(crate) type Answer = Result<Option<SyncReceipt>, Refused>;

/// Keep-alive JSON-RPC clients to each send endpoint, `connections` of them per endpoint,
/// used round-robin; each transaction goes to its sender's endpoint (or to all of them when
/// the run broadcasts).
pub(crate) struct Submitter {
    router: Arc<Router>,
    /// Per send endpoint, in the router's order: the endpoint and its clients.
    routes: Vec<(Arc<Endpoint>, Vec<RpcClient>)>,
    next: AtomicUsize,
}

impl Submitter {
    /// `connections` clients per send endpoint, each with its own connection pool, so sends
    /// spread over that many keep-alive connections.
    pub(crate) fn new(
        router: &Arc<Router>,
        connections: usize,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let routes = router
            .send_endpoints()
            .map(|endpoint| {
                let clients = (0..connections.max(1))
                    .map(|_| {
                        let http = reqwest::Client::builder()
                            .timeout(timeout)
                            .tcp_nodelay(true)
                            .pool_max_idle_per_host(64)
                            .build()?;
                        Ok(ClientBuilder::default().http_with_client(http, endpoint.url.clone()))
                    })
                    .collect::<Result<Vec<_>, reqwest::Error>>()?;
                Ok((Arc::clone(endpoint), clients))
            })
            .collect::<Result<Vec<_>, reqwest::Error>>()?;
        Ok(Self {
            router: Arc::clone(router),
            routes,
            next: AtomicUsize::new(0),
        })
    }

    /// The next connection in turn, for a send of its own.
    pub(crate) fn next_connection(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.connections()
    }

    /// How many keep-alive connections each endpoint has.
    pub(crate) fn connections(&self) -> usize {
        self.routes[0].1.len()
    }

    /// Whether a transaction of `sender` may go now under the endpoints' request caps.
    pub(crate) fn admit(&self, sender: Address) -> bool {
        self.router.admit(sender)
    }

    /// The route of `endpoint`.
    fn slot(&self, endpoint: &Endpoint) -> usize {
        self.routes
            .iter()
            .position(|(e, _)| e.index == endpoint.index)
            .expect("a send endpoint of this router")
    }

    /// Sends `items` (sender, bytes) over `connection`: to each sender's endpoint (one
    /// request per endpoint, at once), or to every healthy endpoint when the run
    /// broadcasts. One answer per transaction, in order.
    pub(crate) async fn post(
        &self,
        items: Vec<(Address, Bytes)>,
        connection: usize,
        sync: bool,
    ) -> Vec<Answer> {
        if self.router.broadcasts() {
            return self.broadcast(items, connection, sync).await;
        }
        if self.routes.len() == 1 {
            let raws = items.into_iter().map(|(_, raw)| raw).collect();
            return self.post_to(0, raws, connection, sync).await;
        }
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); self.routes.len()];
        for (i, (sender, _)) in items.iter().enumerate() {
            groups[self.slot(self.router.send_endpoint(*sender))].push(i);
        }
        let sent = groups
            .iter()
            .enumerate()
            .filter(|(_, group)| !group.is_empty())
            .map(|(slot, group)| {
                let raws = group.iter().map(|&i| items[i].1.clone()).collect();
                self.post_to(slot, raws, connection, sync)
            });
        let answers = futures_util::future::join_all(sent).await;
        let mut out: Vec<Option<Answer>> = vec![None; items.len()];
        for (group, answers) in groups.iter().filter(|g| !g.is_empty()).zip(answers) {
            for (&i, answer) in group.iter().zip(answers) {
                out[i] = Some(answer);
            }
        }
        out.into_iter()
            .map(|a| a.expect("every transaction answered"))
            .collect()
    }

    /// Every transaction to every healthy send endpoint: accepted when one accepted (the
    /// first in order counts, later ones are duplicates there), else the first refusal.
    async fn broadcast(
        &self,
        items: Vec<(Address, Bytes)>,
        connection: usize,
        sync: bool,
    ) -> Vec<Answer> {
        let raws: Vec<Bytes> = items.into_iter().map(|(_, raw)| raw).collect();
        let slots: Vec<usize> = self
            .router
            .healthy_sends()
            .into_iter()
            .map(|e| self.slot(e))
            .collect();
        let answers = futures_util::future::join_all(
            slots
                .iter()
                .map(|&slot| self.post_to(slot, raws.clone(), connection, sync)),
        )
        .await;
        let mut duplicates = vec![0u64; slots.len()];
        let out = (0..raws.len())
            .map(|i| {
                let mut first: Option<Answer> = None;
                for (k, answers) in answers.iter().enumerate() {
                    let answer = &answers[i];
                    match (&first, answer) {
                        (Some(Ok(_)), Ok(_)) => duplicates[k] += 1,
                        (Some(Err(_)) | None, Ok(_)) | (None, Err(_)) => {
                            first = Some(answer.clone());
                        }
                        _ => {}
                    }
                }
                first.expect("at least one endpoint")
            })
            .collect();
        for (&slot, n) in slots.iter().zip(duplicates) {
            self.routes[slot].0.duplicates(n);
        }
        out
    }

    /// One request with `raws` to the endpoint of `slot`: a plain (or synchronous) send for
    /// one transaction, a batch for more; counted at the endpoint.
    async fn post_to(
        &self,
        slot: usize,
        mut raws: Vec<Bytes>,
        connection: usize,
        sync: bool,
    ) -> Vec<Answer> {
        let (endpoint, clients) = &self.routes[slot];
        let client = &clients[connection % clients.len()];
        let permit = endpoint.breaker.try_acquire().ok();
        let started = Instant::now();
        let calls = raws.len();
        let answers = if calls == 1 {
            let raw = raws.pop().expect("one");
            vec![if sync {
                send_sync(client, raw).await
            } else {
                send_one(client, raw).await.map(|()| None)
            }]
        } else {
            send_batch(client, raws)
                .await
                .into_iter()
                .map(|a| a.map(|()| None))
                .collect()
        };
        let failures: Vec<ErrorClass> = answers
            .iter()
            .filter_map(|a| a.as_ref().err().map(|r| r.class.clone()))
            .collect();
        endpoint.observe(Kind::Send, calls, started.elapsed(), &failures, permit);
        answers
    }
}

/// `eth_sendRawTransaction`; *already known* counts as accepted.
async fn send_one(client: &RpcClient, raw: Bytes) -> Result<(), Refused> {
    let result: Result<TxHash, _> = client.request("eth_sendRawTransaction", (raw,)).await;
    settle(result.map(drop))
}

/// One JSON-RPC batch; one answer per transaction, in order.
async fn send_batch(client: &RpcClient, raws: Vec<Bytes>) -> Vec<Result<(), Refused>> {
    let mut batch = client.new_batch();
    let mut waiters = Vec::with_capacity(raws.len());
    for raw in &raws {
        waiters.push(batch.add_call::<_, TxHash>("eth_sendRawTransaction", &(raw,)));
    }
    // A failed batch leaves its waiters only "channel closed": each gets the batch's error.
    if let Err(err) = batch.send().await {
        let refused = Refused::from_transport(&err);
        return raws.iter().map(|_| Err(refused.clone())).collect();
    }
    let mut answers = Vec::with_capacity(waiters.len());
    for waiter in waiters {
        answers.push(match waiter {
            Ok(waiter) => settle(waiter.await.map(drop)),
            Err(err) => Err(Refused::from_transport(&err)),
        });
    }
    answers
}

/// `eth_sendRawTransactionSync`: accepted and included in one answer.
async fn send_sync(client: &RpcClient, raw: Bytes) -> Result<Option<SyncReceipt>, Refused> {
    // The optional timeout parameter is left out: anvil refuses it, and the node's default
    // is below our HTTP timeout.
    let result: Result<ReceiptLite, _> = client.request("eth_sendRawTransactionSync", (raw,)).await;
    match result {
        Ok(r) => Ok(Some(SyncReceipt {
            gas_used: r.gas_used.to(),
            success: r.status.is_none_or(|s| s == U64::from(1)),
        })),
        Err(err) => settle(Err(err)).map(|()| None),
    }
}

fn settle(result: Result<(), TransportError>) -> Result<(), Refused> {
    match result {
        Ok(()) => Ok(()),
        Err(err) => {
            let refused = Refused::from_transport(&err);
            if refused.class == ErrorClass::AlreadyKnown {
                Ok(())
            } else {
                Err(refused)
            }
        }
    }
}

impl fmt::Debug for Submitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submitter")
            .field("endpoints", &self.routes.len())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}
