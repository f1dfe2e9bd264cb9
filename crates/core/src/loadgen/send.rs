//! How signed transactions reach the node: one request each, JSON-RPC batches, or the
//! synchronous send that answers with the receipt.

use std::{
    fmt,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use alloy::{
    primitives::{Bytes, TxHash, U64},
    rpc::client::{ClientBuilder, RpcClient},
    transports::{TransportError, http::reqwest},
};
use serde::Deserialize;

use crate::{rpc::ErrorClass, rpc::classify};

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

/// Keep-alive JSON-RPC clients to the submission URL, used round-robin.
pub(crate) struct Submitter {
    clients: Vec<RpcClient>,
    next: AtomicUsize,
}

impl Submitter {
    /// `connections` clients, each with its own connection pool, so sends spread over that
    /// many keep-alive connections.
    pub(crate) fn new(
        url: &reqwest::Url,
        connections: usize,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let clients = (0..connections.max(1))
            .map(|_| {
                let http = reqwest::Client::builder()
                    .timeout(timeout)
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(64)
                    .build()?;
                Ok(ClientBuilder::default().http_with_client(http, url.clone()))
            })
            .collect::<Result<Vec<_>, reqwest::Error>>()?;
        Ok(Self {
            clients,
            next: AtomicUsize::new(0),
        })
    }

    /// The next connection in turn, for a send of its own.
    pub(crate) fn next_connection(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len()
    }

    fn client(&self, connection: usize) -> &RpcClient {
        &self.clients[connection % self.clients.len()]
    }

    /// `eth_sendRawTransaction` over `connection`; *already known* counts as accepted.
    pub(crate) async fn send_one(&self, connection: usize, raw: Bytes) -> Result<(), Refused> {
        let result: Result<TxHash, _> = self
            .client(connection)
            .request("eth_sendRawTransaction", (raw,))
            .await;
        settle(result.map(drop))
    }

    /// How many clients (keep-alive connections) there are.
    pub(crate) fn connections(&self) -> usize {
        self.clients.len()
    }

    /// One JSON-RPC batch over connection `connection`; one answer per transaction, in order.
    pub(crate) async fn send_batch(
        &self,
        connection: usize,
        raws: Vec<Bytes>,
    ) -> Vec<Result<(), Refused>> {
        let mut batch = self.client(connection).new_batch();
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

    /// `eth_sendRawTransactionSync` over `connection`: accepted and included in one answer.
    pub(crate) async fn send_sync(
        &self,
        connection: usize,
        raw: Bytes,
    ) -> Result<Option<SyncReceipt>, Refused> {
        // The optional timeout parameter is left out: anvil refuses it, and the node's default
        // is below our HTTP timeout.
        let result: Result<ReceiptLite, _> = self
            .client(connection)
            .request("eth_sendRawTransactionSync", (raw,))
            .await;
        match result {
            Ok(r) => Ok(Some(SyncReceipt {
                gas_used: r.gas_used.to(),
                success: r.status.is_none_or(|s| s == U64::from(1)),
            })),
            Err(err) => settle(Err(err)).map(|()| None),
        }
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
            .field("connections", &self.clients.len())
            .finish_non_exhaustive()
    }
}
