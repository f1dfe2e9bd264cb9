//! Confirmation tracking by block scan: new heads (WebSocket) or polling tell how far the chain
//! is; each new block's transaction hashes (`eth_getBlockByNumber(n, false)`, batched) are
//! matched against the transactions in flight. No per-transaction receipt polling: receipts
//! (gas, status) are fetched per block, off the critical path, by the
//! [receipts worker](super::receipts).

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use alloy::{
    primitives::U64, providers::RootProvider, rpc::client::RpcClient,
    transports::http::reqwest::Url,
};
use parking_lot::Mutex;
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{ledger::Ledger, receipts::ReceiptJob};
use crate::fees::FeeOracle;
use crate::session::{BlockBook, BlockLite};

/// Blocks fetched in one batch when catching up.
const BLOCK_BATCH: u64 = 32;

/// How far the head must fall behind the scan before the scan starts again from it.
const REWIND: u64 = 3;

pub(crate) struct Tracker {
    pub(crate) client: RpcClient,
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) fees: FeeOracle<RootProvider>,
    pub(crate) blocks: Arc<Mutex<BlockBook>>,
    /// Where blocks with our transactions go for their receipts; `None`: no receipts, gas
    /// from the header of blocks that hold only our transactions.
    pub(crate) receipts: Option<mpsc::Sender<ReceiptJob>>,
    pub(crate) poll: Duration,
    pub(crate) ws_url: Option<Url>,
}

impl Tracker {
    /// Scans every block after `from` until `stop`, then once more up to the chain head at
    /// that moment (blocks made later do not count).
    pub(crate) async fn run(self, from: u64, stop: CancellationToken) {
        let mut next = from + 1;
        let mut heads = Heads::connect(self.ws_url.as_ref(), self.poll).await;
        self.blocks.lock().via = heads.describe();
        loop {
            let head = tokio::select! {
                head = heads.next(&self.client) => head,
                () = stop.cancelled() => break,
            };
            if let Some(head) = head {
                if head + REWIND < next {
                    // The chain is much shorter than what was scanned: the node restarted from
                    // an older state, and its new blocks reuse those numbers. (A head a block
                    // or two behind is a lagging answer; what a shallow rewind hides, the
                    // stuck-sender reconciliation finds by hash.)
                    tracing::warn!(target: "spam::loadgen", head, next, "chain head went back; scanning from it");
                    next = head + 1;
                }
                next = self.scan(next, head, &stop).await;
                self.ledger.scanned.store(next, Ordering::Release);
            }
        }
        // The final scan: up to the head as of now.
        for _ in 0..3 {
            if let Ok(head) = block_number(&self.client).await {
                self.scan(next, head, &CancellationToken::new()).await;
                return;
            }
        }
    }

    /// Scans blocks `next..=head`; returns the first block not scanned.
    async fn scan(&self, mut next: u64, head: u64, stop: &CancellationToken) -> u64 {
        while next <= head {
            let last = head.min(next + BLOCK_BATCH - 1);
            match self.fetch(next, last).await {
                Ok(blocks) => {
                    for block in blocks {
                        self.process(block);
                    }
                    next = last + 1;
                }
                Err(err) => {
                    tracing::debug!(target: "spam::loadgen", %err, next, "block fetch failed");
                    tokio::select! {
                        () = tokio::time::sleep(self.poll) => {}
                        () = stop.cancelled() => return next,
                    }
                }
            }
        }
        next
    }

    async fn fetch(
        &self,
        first: u64,
        last: u64,
    ) -> Result<Vec<BlockLite>, alloy::transports::TransportError> {
        BlockLite::fetch(&self.client, first, last).await
    }

    fn process(&self, block: BlockLite) {
        let seen = Instant::now();
        let mut ours = Vec::new();
        let number = block.number.to::<u64>();
        for hash in &block.transactions {
            if let Some(info) = self.ledger.seen_in_block(hash, seen, number) {
                ours.push((info, seen));
            }
        }
        let record = block.seen(seen, ours.len() as u64);
        if record.base_fee > 0 {
            self.fees.observe_block(number, record.base_fee);
        }
        self.blocks.lock().record(record);
        self.ledger.block(&record);
        if ours.is_empty() {
            return;
        }
        let only_ours = ours.len() == block.transactions.len();
        match &self.receipts {
            Some(receipts) => {
                let job = ReceiptJob {
                    number,
                    ours,
                    block_gas: only_ours.then(|| block.gas_used.to()),
                    seen,
                };
                if let Err(err) = receipts.try_send(job) {
                    let job = match err {
                        mpsc::error::TrySendError::Full(job)
                        | mpsc::error::TrySendError::Closed(job) => job,
                    };
                    self.blocks.lock().receipts_skipped += job.ours.len() as u64;
                }
            }
            None if only_ours => self.ledger.block_gas(seen, block.gas_used.to()),
            None => {}
        }
    }
}

async fn block_number(client: &RpcClient) -> Result<u64, alloy::transports::TransportError> {
    let n: U64 = client.request_noparams("eth_blockNumber").await?;
    Ok(n.to())
}

/// Where the chain head comes from.
enum Heads {
    Poll(Duration),
    Ws {
        // Keeps the connection open.
        _provider: alloy::providers::RootProvider,
        sub: alloy::pubsub::Subscription<alloy::rpc::types::Header>,
        poll: Duration,
    },
}

impl Heads {
    async fn connect(ws: Option<&Url>, poll: Duration) -> Self {
        let Some(url) = ws else {
            return Self::Poll(poll);
        };
        use alloy::providers::{Provider, ProviderBuilder, WsConnect};
        let connected = async {
            let provider = ProviderBuilder::new()
                .disable_recommended_fillers()
                .connect_ws(WsConnect::new(url.as_str()))
                .await?;
            let sub = provider.subscribe_blocks().await?;
            Ok::<_, alloy::transports::TransportError>((provider.root().clone(), sub))
        };
        match connected.await {
            Ok((provider, sub)) => Self::Ws {
                _provider: provider,
                sub,
                poll,
            },
            Err(err) => {
                tracing::warn!(target: "spam::loadgen", %err, %url, "new-heads subscription failed; polling instead");
                Self::Poll(poll)
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Poll(every) => format!("http polling every {every:?}"),
            Self::Ws { .. } => "ws new heads".into(),
        }
    }

    /// The next known head; `None` when asking failed (try again).
    async fn next(&mut self, client: &RpcClient) -> Option<u64> {
        match self {
            Self::Poll(every) => {
                tokio::time::sleep(*every).await;
                block_number(client).await.ok()
            }
            Self::Ws { sub, poll, .. } => {
                // A missed or late head is caught by the slow poll beside it.
                tokio::select! {
                    head = sub.recv() => match head {
                        Ok(header) => Some(header.number),
                        Err(_) => {
                            *self = Self::Poll(*poll);
                            None
                        }
                    },
                    () = tokio::time::sleep(*poll * 10) => block_number(client).await.ok(),
                }
            }
        }
    }
}
