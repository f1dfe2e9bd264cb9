//! Blocks and receipts as JSON-RPC objects, written by hand.
//!
//! They deserialize as alloy's RPC `Block` (with a full post-Cancun header) and
//! `TransactionReceipt`. Nothing in them is computed from real state: roots are the empty-trie
//! root for an empty list and zero otherwise, the size is an estimate, every transaction is a
//! 21 000-gas EIP-1559 transfer between zero addresses that succeeded.

use crate::chain::{BlockView, block_hash};
use crate::json::{push_hex, push_quantity, push_zeros};
use alloy_primitives::{B256, b256};

/// Gas used by each transaction (a plain transfer).
pub(crate) const TX_GAS: u64 = 21_000;
/// The block gas limit: high enough that no benchmark fills it.
pub(crate) const GAS_LIMIT: u64 = 0x100_0000_0000;
/// Base fee, gas price and priority fee alike: 1 gwei.
pub(crate) const ONE_GWEI: u64 = 1_000_000_000;

/// keccak256(rlp([])): the hash of an empty ommers list.
const EMPTY_OMMERS: B256 =
    b256!("1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347");
/// The root of an empty trie.
const EMPTY_ROOT: B256 = b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");

/// An estimate of a block's RLP size: a header and 110-byte transfers.
fn size(txs: usize) -> u64 {
    620 + 110 * txs as u64
}

/// Appends `block` as a JSON-RPC block object with its transactions as hashes.
pub(crate) fn write_block(out: &mut Vec<u8>, block: &BlockView) {
    let txs = block.txs();
    let number = block.number;
    // The list of hashes dominates: size the buffer once.
    out.reserve(1_600 + 67 * txs.len());
    let list_root = if txs.is_empty() {
        EMPTY_ROOT
    } else {
        B256::ZERO
    };
    let parent = number.checked_sub(1).map_or(B256::ZERO, block_hash);

    out.extend_from_slice(b"{\"hash\":");
    push_hex(out, block_hash(number).as_slice());
    out.extend_from_slice(b",\"parentHash\":");
    push_hex(out, parent.as_slice());
    out.extend_from_slice(b",\"sha3Uncles\":");
    push_hex(out, EMPTY_OMMERS.as_slice());
    out.extend_from_slice(b",\"miner\":");
    push_zeros(out, 40);
    out.extend_from_slice(b",\"stateRoot\":");
    push_zeros(out, 64);
    out.extend_from_slice(b",\"transactionsRoot\":");
    push_hex(out, list_root.as_slice());
    out.extend_from_slice(b",\"receiptsRoot\":");
    push_hex(out, list_root.as_slice());
    out.extend_from_slice(b",\"logsBloom\":");
    push_zeros(out, 512);
    out.extend_from_slice(b",\"difficulty\":\"0x0\",\"number\":");
    push_quantity(out, number);
    out.extend_from_slice(b",\"gasLimit\":");
    push_quantity(out, GAS_LIMIT);
    out.extend_from_slice(b",\"gasUsed\":");
    push_quantity(out, TX_GAS * txs.len() as u64);
    out.extend_from_slice(b",\"timestamp\":");
    push_quantity(out, block.timestamp);
    out.extend_from_slice(b",\"extraData\":\"0x\",\"mixHash\":");
    push_zeros(out, 64);
    out.extend_from_slice(b",\"nonce\":\"0x0000000000000000\",\"baseFeePerGas\":");
    push_quantity(out, ONE_GWEI);
    out.extend_from_slice(b",\"withdrawalsRoot\":");
    push_hex(out, EMPTY_ROOT.as_slice());
    out.extend_from_slice(b",\"blobGasUsed\":\"0x0\",\"excessBlobGas\":\"0x0\"");
    out.extend_from_slice(b",\"parentBeaconBlockRoot\":");
    push_zeros(out, 64);
    out.extend_from_slice(b",\"size\":");
    push_quantity(out, size(txs.len()));
    out.extend_from_slice(b",\"uncles\":[],\"transactions\":[");
    for (i, hash) in txs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_hex(out, hash.as_slice());
    }
    out.extend_from_slice(b"],\"withdrawals\":[]}");
}

/// Appends the receipts of `block` as a JSON array: one successful transfer per hash.
pub(crate) fn write_receipts(out: &mut Vec<u8>, block: &BlockView) {
    let txs = block.txs();
    // The block's part of every receipt, written once.
    let mut tail = Vec::with_capacity(160);
    tail.extend_from_slice(b",\"blockHash\":");
    push_hex(&mut tail, block_hash(block.number).as_slice());
    tail.extend_from_slice(b",\"blockNumber\":");
    push_quantity(&mut tail, block.number);
    tail.extend_from_slice(b",\"from\":");
    push_zeros(&mut tail, 40);
    tail.extend_from_slice(b",\"to\":");
    push_zeros(&mut tail, 40);

    out.reserve(2 + (tail.len() + 900) * txs.len());
    out.push(b'[');
    for (i, hash) in txs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"transactionHash\":");
        push_hex(out, hash.as_slice());
        out.extend_from_slice(b",\"transactionIndex\":");
        push_quantity(out, i as u64);
        out.extend_from_slice(&tail);
        out.extend_from_slice(b",\"cumulativeGasUsed\":");
        push_quantity(out, TX_GAS * (i as u64 + 1));
        out.extend_from_slice(b",\"gasUsed\":");
        push_quantity(out, TX_GAS);
        out.extend_from_slice(b",\"effectiveGasPrice\":");
        push_quantity(out, ONE_GWEI);
        out.extend_from_slice(b",\"status\":\"0x1\",\"logs\":[],\"logsBloom\":");
        push_zeros(out, 512);
        out.extend_from_slice(b",\"type\":\"0x2\",\"contractAddress\":null}");
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::rpc::types::{Block, TransactionReceipt};
    use std::sync::Arc;

    fn view(number: u64, hashes: Option<Vec<B256>>) -> BlockView {
        BlockView {
            number,
            timestamp: 1_700_000_000 + number,
            hashes: hashes.map(Arc::new),
        }
    }

    fn hashes(n: u8) -> Vec<B256> {
        (1..=n).map(B256::repeat_byte).collect()
    }

    #[test]
    fn block_deserializes_as_alloy_block() {
        let mut out = Vec::new();
        write_block(&mut out, &view(7, Some(hashes(3))));
        let block: Block = serde_json::from_slice(&out).expect("an alloy block");
        let header = &block.header;
        assert_eq!(header.hash, block_hash(7));
        assert_eq!(header.parent_hash, block_hash(6));
        assert_eq!(header.number, 7);
        assert_eq!(header.timestamp, 1_700_000_007);
        assert_eq!(header.gas_used, 3 * TX_GAS);
        assert_eq!(header.gas_limit, GAS_LIMIT);
        assert_eq!(header.base_fee_per_gas, Some(ONE_GWEI));
        assert_eq!(header.ommers_hash, EMPTY_OMMERS);
        assert_eq!(header.blob_gas_used, Some(0));
        assert!(header.parent_beacon_block_root.is_some());
        let listed: Vec<B256> = block.transactions.hashes().collect();
        assert_eq!(listed, hashes(3));
    }

    #[test]
    fn empty_and_forgotten_blocks() {
        for v in [view(0, Some(Vec::new())), view(3, None)] {
            let mut out = Vec::new();
            write_block(&mut out, &v);
            let block: Block = serde_json::from_slice(&out).expect("an alloy block");
            assert_eq!(block.header.number, v.number);
            assert_eq!(block.header.gas_used, 0);
            assert_eq!(block.header.transactions_root, EMPTY_ROOT);
            assert_eq!(block.transactions.len(), 0);
        }
        let mut out = Vec::new();
        write_block(&mut out, &view(0, None));
        let block: Block = serde_json::from_slice(&out).unwrap();
        assert_eq!(block.header.parent_hash, B256::ZERO);
    }

    #[test]
    fn receipts_deserialize_as_alloy_receipts() {
        let mut out = Vec::new();
        write_receipts(&mut out, &view(9, Some(hashes(2))));
        let receipts: Vec<TransactionReceipt> =
            serde_json::from_slice(&out).expect("alloy receipts");
        assert_eq!(receipts.len(), 2);
        for (i, r) in receipts.iter().enumerate() {
            assert_eq!(r.transaction_hash, B256::repeat_byte(i as u8 + 1));
            assert_eq!(r.transaction_index, Some(i as u64));
            assert_eq!(r.block_number, Some(9));
            assert_eq!(r.block_hash, Some(block_hash(9)));
            assert_eq!(r.gas_used, TX_GAS);
            assert_eq!(r.effective_gas_price, u128::from(ONE_GWEI));
            assert!(r.status());
            assert_eq!(r.inner.cumulative_gas_used(), TX_GAS * (i as u64 + 1));
        }
        let mut out = Vec::new();
        write_receipts(&mut out, &view(1, Some(Vec::new())));
        assert_eq!(out, b"[]");
    }
}
