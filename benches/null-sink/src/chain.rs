//! The sink's chain: a head number, the hashes waiting for the next block, the last few blocks'
//! hash lists, and counters.
//!
//! Invariants:
//! - every hash accepted before [`Chain::mine`] is listed by the block it mines, in arrival
//!   order, exactly once;
//! - timestamps never decrease;
//! - memory is bounded by [`KEPT_BLOCKS`] blocks' hash lists plus the pending one, whatever the
//!   length of the run: older blocks are forgotten and served empty.

use alloy_primitives::{B256, keccak256};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

/// How many recent blocks keep their hash lists (and receipts).
pub(crate) const KEPT_BLOCKS: usize = 16;

/// The hash of block `number`: unique per number, stable for the life of the process, not
/// the hash of any header.
pub(crate) fn block_hash(number: u64) -> B256 {
    let mut preimage = *b"null-sink block \0\0\0\0\0\0\0\0";
    preimage[16..].copy_from_slice(&number.to_be_bytes());
    keccak256(preimage)
}

/// A block as served: its number, timestamp and, while it is kept, its transaction hashes.
#[derive(Debug, Clone)]
pub(crate) struct BlockView {
    /// The block number.
    pub(crate) number: u64,
    /// Unix seconds; a forgotten block carries the genesis timestamp (still not after any
    /// later block's).
    pub(crate) timestamp: u64,
    /// The hashes in arrival order; `None` once the block is forgotten.
    pub(crate) hashes: Option<Arc<Vec<B256>>>,
}

impl BlockView {
    /// The hashes, empty for a forgotten block.
    pub(crate) fn txs(&self) -> &[B256] {
        self.hashes.as_deref().map_or(&[], Vec::as_slice)
    }
}

/// Totals for the exit summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Transactions accepted.
    pub(crate) txs: u64,
    /// Blocks mined after genesis (the head number).
    pub(crate) blocks: u64,
}

/// A mined block still in memory.
#[derive(Debug)]
struct Mined {
    number: u64,
    timestamp: u64,
    hashes: Arc<Vec<B256>>,
}

#[derive(Debug)]
struct State {
    head: u64,
    genesis_timestamp: u64,
    /// Oldest first; the last one is the head.
    recent: VecDeque<Mined>,
    pending: Vec<B256>,
    /// The highest nonce seen plus one (0: none seen), i.e. `eth_getTransactionCount`.
    next_nonce: u64,
    txs: u64,
}

/// The chain state shared by the RPC handlers and the block timer.
///
/// One short lock per request (or batch) that sends transactions, one per block, one per block
/// read: the lock is never held while JSON is written.
#[derive(Debug)]
pub(crate) struct Chain {
    state: Mutex<State>,
}

impl Chain {
    /// A chain with an empty block 0 at `genesis_timestamp` (unix seconds).
    pub(crate) fn new(genesis_timestamp: u64) -> Self {
        let mut recent = VecDeque::with_capacity(KEPT_BLOCKS);
        recent.push_back(Mined {
            number: 0,
            timestamp: genesis_timestamp,
            hashes: Arc::default(),
        });
        Self {
            state: Mutex::new(State {
                head: 0,
                genesis_timestamp,
                recent,
                pending: Vec::new(),
                next_nonce: 0,
                txs: 0,
            }),
        }
    }

    /// Queues `hashes` for the next block and raises the highest nonce to `highest_nonce`.
    pub(crate) fn accept(&self, hashes: &[B256], highest_nonce: Option<u64>) {
        let mut state = self.state.lock();
        state.pending.extend_from_slice(hashes);
        state.txs += hashes.len() as u64;
        if let Some(n) = highest_nonce {
            state.next_nonce = state.next_nonce.max(n.saturating_add(1));
        }
    }

    /// Mines the pending hashes into block head + 1 at `now` (unix seconds, raised to the
    /// head's timestamp if the clock went back); returns its number.
    pub(crate) fn mine(&self, now: u64) -> u64 {
        let mut state = self.state.lock();
        // Sized like the last block: the next one is likely similar, and a Vec that grows by
        // doubling inside the lock would hold it longer.
        let capacity = state.pending.len();
        let hashes = std::mem::replace(&mut state.pending, Vec::with_capacity(capacity));
        let parent = state.recent.back().map_or(0, |b| b.timestamp);
        state.head += 1;
        let number = state.head;
        if state.recent.len() == KEPT_BLOCKS {
            state.recent.pop_front();
        }
        state.recent.push_back(Mined {
            number,
            timestamp: now.max(parent),
            hashes: Arc::new(hashes),
        });
        number
    }

    /// The head block number.
    pub(crate) fn head(&self) -> u64 {
        self.state.lock().head
    }

    /// Block `number`, or `None` above the head.
    pub(crate) fn block(&self, number: u64) -> Option<BlockView> {
        let state = self.state.lock();
        if number > state.head {
            return None;
        }
        let oldest = state.recent.front().map_or(0, |b| b.number);
        let view = match number.checked_sub(oldest) {
            Some(i) => {
                let b = &state.recent[i as usize];
                debug_assert_eq!(b.number, number);
                BlockView {
                    number,
                    timestamp: b.timestamp,
                    hashes: Some(Arc::clone(&b.hashes)),
                }
            }
            None => BlockView {
                number,
                timestamp: state.genesis_timestamp,
                hashes: None,
            },
        };
        Some(view)
    }

    /// The highest nonce received plus one, 0 before any transaction.
    pub(crate) fn next_nonce(&self) -> u64 {
        self.state.lock().next_nonce
    }

    /// Transactions accepted and blocks mined so far.
    pub(crate) fn totals(&self) -> Totals {
        let state = self.state.lock();
        Totals {
            txs: state.txs,
            blocks: state.head,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    #[test]
    fn genesis_is_empty_and_nothing_above_the_head() {
        let chain = Chain::new(100);
        let b0 = chain.block(0).unwrap();
        assert_eq!((b0.number, b0.timestamp, b0.txs()), (0, 100, &[][..]));
        assert!(chain.block(1).is_none());
        assert_eq!(chain.head(), 0);
    }

    #[test]
    fn blocks_list_hashes_in_arrival_order() {
        let chain = Chain::new(100);
        chain.accept(&[h(1), h(2)], Some(5));
        chain.accept(&[h(3)], Some(2));
        assert_eq!(chain.mine(101), 1);
        chain.accept(&[h(4)], None);
        assert_eq!(chain.mine(102), 2);
        assert_eq!(chain.block(1).unwrap().txs(), &[h(1), h(2), h(3)]);
        assert_eq!(chain.block(2).unwrap().txs(), &[h(4)]);
        assert_eq!(chain.next_nonce(), 6);
        assert_eq!(chain.totals(), Totals { txs: 4, blocks: 2 });
    }

    #[test]
    fn next_nonce_is_zero_before_any_and_saturates() {
        let chain = Chain::new(0);
        assert_eq!(chain.next_nonce(), 0);
        chain.accept(&[h(1)], Some(0));
        assert_eq!(chain.next_nonce(), 1);
        chain.accept(&[h(2)], Some(u64::MAX));
        assert_eq!(chain.next_nonce(), u64::MAX);
    }

    #[test]
    fn timestamps_never_decrease() {
        let chain = Chain::new(100);
        chain.mine(90);
        chain.mine(105);
        chain.mine(104);
        let ts: Vec<_> = (0..=3).map(|n| chain.block(n).unwrap().timestamp).collect();
        assert_eq!(ts, [100, 100, 105, 105]);
    }

    #[test]
    fn keeps_only_the_last_blocks() {
        let chain = Chain::new(7);
        for n in 1..=40u8 {
            chain.accept(&[h(n)], None);
            chain.mine(7 + u64::from(n));
        }
        let oldest_kept = 40 - KEPT_BLOCKS as u64 + 1;
        for n in 0..oldest_kept {
            let b = chain.block(n).unwrap();
            assert!(b.hashes.is_none(), "block {n} forgotten");
            assert_eq!((b.number, b.timestamp), (n, 7));
        }
        for n in oldest_kept..=40 {
            let b = chain.block(n).unwrap();
            assert_eq!(b.txs(), &[h(n as u8)]);
            assert_eq!(b.timestamp, 7 + n);
        }
        assert!(chain.block(41).is_none());
    }

    #[test]
    fn block_hashes_are_distinct() {
        assert_ne!(block_hash(0), block_hash(1));
        assert_ne!(block_hash(1), block_hash(1 << 8));
    }
}
