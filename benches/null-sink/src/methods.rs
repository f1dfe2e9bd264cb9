//! The methods the sink answers, each writing its `result` value straight into the response.

use crate::block::{ONE_GWEI, TX_GAS, write_block, write_receipts};
use crate::chain::Chain;
use crate::error::RpcError;
use crate::json::{push_hex, push_quantity};
use crate::params::Params;
use crate::rlp;
use alloy_primitives::{B256, hex, keccak256};
use std::io::Write as _;
use std::sync::Arc;

/// `web3_clientVersion`.
const CLIENT_VERSION: &str = concat!("\"null-sink/", env!("CARGO_PKG_VERSION"), "\"");
/// `eth_getBalance` for every account: 10^24 wei (a million ether), enough for any run.
const BALANCE: &str = "\"0xd3c21bcecceda1000000\"";
/// The most blocks one `eth_feeHistory` answers for (geth's limit).
const FEE_HISTORY_MAX: u64 = 1_024;

/// The transactions of one HTTP body, queued together when it has been answered, and the
/// buffer their bytes are decoded into.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    raw: Vec<u8>,
    /// Hashes in arrival order.
    pub(crate) hashes: Vec<B256>,
    /// The highest nonce among them.
    pub(crate) highest_nonce: Option<u64>,
}

impl Sent {
    /// Empties the lists, keeping their memory.
    pub(crate) fn clear(&mut self) {
        self.hashes.clear();
        self.highest_nonce = None;
    }
}

/// The method table over one chain.
#[derive(Debug)]
pub(crate) struct Methods {
    chain: Arc<Chain>,
    chain_id: u64,
}

impl Methods {
    /// Methods answering for `chain` with `chain_id`.
    pub(crate) fn new(chain: Arc<Chain>, chain_id: u64) -> Self {
        Self { chain, chain_id }
    }

    /// Appends the result of `method` to `out`; transactions go to `sent`.
    ///
    /// # Errors
    ///
    /// -32601 for an unknown method (`eth_sendRawTransactionSync` included), -32602 for bad
    /// parameters, -32000 for a transaction whose nonce cannot be read. `out` may then hold
    /// part of a result: the caller cuts it.
    pub(crate) fn call(
        &self,
        method: &str,
        params: &Params<'_>,
        out: &mut Vec<u8>,
        sent: &mut Sent,
    ) -> Result<(), RpcError> {
        let literal = |out: &mut Vec<u8>, s: &str| out.extend_from_slice(s.as_bytes());
        match method {
            "eth_sendRawTransaction" => return send_raw(params, out, sent),
            "eth_blockNumber" => push_quantity(out, self.chain.head()),
            "eth_getBlockByNumber" => {
                // `full` (parameter 1) is ignored: blocks always list hashes, which is what
                // the load generator asks for; the sink keeps no transaction bodies.
                let number = params.block(0, self.chain.head())?;
                match self.chain.block(number) {
                    Some(block) => write_block(out, &block),
                    None => literal(out, "null"),
                }
            }
            "eth_getBlockReceipts" => {
                let number = params.block(0, self.chain.head())?;
                match self.chain.block(number) {
                    Some(block) if block.hashes.is_some() => write_receipts(out, &block),
                    _ => literal(out, "null"),
                }
            }
            // The sink does not recover senders, so it cannot count per account: it answers
            // the highest nonce seen plus one for every address. For a benchmark whose senders
            // start at the same nonce and are used evenly, that is each sender's count once
            // all are sent, which is what the final "settled" check asks.
            "eth_getTransactionCount" => push_quantity(out, self.chain.next_nonce()),
            "eth_chainId" => push_quantity(out, self.chain_id),
            "net_version" => write!(out, "\"{}\"", self.chain_id).expect("a Vec grows"),
            "web3_clientVersion" => literal(out, CLIENT_VERSION),
            "eth_getBalance" => literal(out, BALANCE),
            "eth_gasPrice" | "eth_maxPriorityFeePerGas" => push_quantity(out, ONE_GWEI),
            "eth_feeHistory" => self.fee_history(params, out)?,
            "eth_estimateGas" => push_quantity(out, TX_GAS),
            "eth_getCode" => literal(out, "\"0x\""),
            "eth_syncing" => literal(out, "false"),
            // No transaction is kept past its hash.
            "eth_getTransactionByHash" | "eth_getTransactionReceipt" => literal(out, "null"),
            _ => return Err(RpcError::method_not_found(method)),
        }
        Ok(())
    }

    /// `eth_feeHistory [blockCount, newestBlock, rewardPercentiles?]`: a constant 1 gwei base
    /// fee and priority fee, empty blocks (by gas ratio), blob base fee 1 wei.
    fn fee_history(&self, params: &Params<'_>, out: &mut Vec<u8>) -> Result<(), RpcError> {
        let requested = params.count(0, "block count")?;
        let newest = params.block(1, self.chain.head())?.min(self.chain.head());
        let percentiles = params.get::<Vec<f64>>(2)?.unwrap_or_default();
        let count = requested.min(FEE_HISTORY_MAX).min(newest + 1);
        let fees = count as usize + usize::from(count > 0);
        let list = |out: &mut Vec<u8>, n: usize, item: &dyn Fn(&mut Vec<u8>)| {
            out.push(b'[');
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                item(out);
            }
            out.push(b']');
        };
        out.extend_from_slice(b"{\"oldestBlock\":");
        push_quantity(out, newest + 1 - count);
        out.extend_from_slice(b",\"baseFeePerGas\":");
        list(out, fees, &|o| push_quantity(o, ONE_GWEI));
        out.extend_from_slice(b",\"gasUsedRatio\":");
        list(out, count as usize, &|o| o.extend_from_slice(b"0.0"));
        out.extend_from_slice(b",\"baseFeePerBlobGas\":");
        list(out, fees, &|o| push_quantity(o, 1));
        out.extend_from_slice(b",\"blobGasUsedRatio\":");
        list(out, count as usize, &|o| o.extend_from_slice(b"0.0"));
        if !percentiles.is_empty() {
            out.extend_from_slice(b",\"reward\":");
            list(out, count as usize, &|o| {
                list(o, percentiles.len(), &|o| push_quantity(o, ONE_GWEI));
            });
        }
        out.push(b'}');
        Ok(())
    }
}

/// `eth_sendRawTransaction [raw]`: the hash is keccak256 of the bytes as sent; the nonce is
/// read for `eth_getTransactionCount`; nothing is checked (signature, chain id, funds, fees).
fn send_raw(params: &Params<'_>, out: &mut Vec<u8>, sent: &mut Sent) -> Result<(), RpcError> {
    let raw: &str = params.required(0, "raw transaction")?;
    let digits = raw.strip_prefix("0x").unwrap_or(raw);
    sent.raw.resize(digits.len() / 2, 0);
    hex::decode_to_slice(digits, &mut sent.raw)
        .map_err(|e| RpcError::invalid_params(format_args!("raw transaction: {e}")))?;
    let nonce = rlp::nonce(&sent.raw).map_err(RpcError::undecodable_tx)?;
    let hash = keccak256(&sent.raw);
    sent.hashes.push(hash);
    sent.highest_nonce = sent.highest_nonce.max(Some(nonce));
    push_hex(out, hash.as_slice());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::rpc::types::FeeHistory;
    use serde_json::Value;

    fn methods() -> Methods {
        Methods::new(Arc::new(Chain::new(1_700_000_000)), 31_337)
    }

    fn call(m: &Methods, method: &str, params: &str, sent: &mut Sent) -> Result<Value, RpcError> {
        let params: Params<'_> = serde_json::from_str(params).unwrap();
        let mut out = Vec::new();
        m.call(method, &params, &mut out, sent)?;
        Ok(serde_json::from_slice(&out).expect("valid JSON"))
    }

    /// `0x02 || rlp([chain_id 1, nonce, 0])`: enough of a typed transaction for the sink.
    fn typed(nonce: u8) -> Vec<u8> {
        vec![0x02, 0xc3, 0x01, nonce, 0x80]
    }

    #[test]
    fn send_raw_hashes_the_bytes_and_reads_the_nonce() {
        let m = methods();
        let mut sent = Sent::default();
        for nonce in [5, 9, 2] {
            let raw = typed(nonce);
            let hash = call(
                &m,
                "eth_sendRawTransaction",
                &format!(r#"["{}"]"#, hex::encode_prefixed(&raw)),
                &mut sent,
            )
            .unwrap();
            assert_eq!(hash, hex::encode_prefixed(keccak256(&raw)));
        }
        assert_eq!(sent.hashes.len(), 3);
        assert_eq!(sent.highest_nonce, Some(9));
    }

    #[test]
    fn send_raw_rejects_what_it_cannot_hash_or_read() {
        let m = methods();
        let mut sent = Sent::default();
        for (params, code) in [
            (r#"["0x02c3010"]"#, -32602),
            (r#"["0xzz"]"#, -32602),
            (r#"["0x"]"#, -32000),
            (r#"["0x05c0"]"#, -32000),
        ] {
            let err = call(&m, "eth_sendRawTransaction", params, &mut sent).unwrap_err();
            assert_eq!(err.code, code, "{params}: {err}");
        }
        assert!(sent.hashes.is_empty());
    }

    #[test]
    fn constant_answers() {
        let m = methods();
        let mut s = Sent::default();
        let mut c = |method: &str, params: &str| call(&m, method, params, &mut s).unwrap();
        assert_eq!(
            c(
                "eth_getBalance",
                r#"["0x0000000000000000000000000000000000000000","latest"]"#
            ),
            "0xd3c21bcecceda1000000"
        );
        assert_eq!(c("eth_gasPrice", "[]"), "0x3b9aca00");
        assert_eq!(c("eth_maxPriorityFeePerGas", "[]"), "0x3b9aca00");
        assert_eq!(c("eth_estimateGas", "[{}]"), "0x5208");
        assert_eq!(c("eth_getCode", "[]"), "0x");
        assert_eq!(c("eth_getTransactionCount", "[]"), "0x0");
        assert_eq!(c("eth_getTransactionByHash", "[]"), Value::Null);
        assert_eq!(c("eth_getTransactionReceipt", "[]"), Value::Null);
        assert_eq!(c("eth_getBlockByNumber", r#"["0x1", false]"#), Value::Null);
        assert_eq!(
            c("eth_getBlockByNumber", r#"["latest", true]"#)["number"],
            "0x0"
        );
        assert_eq!(
            c("eth_getBlockReceipts", r#"["0x0"]"#),
            Value::Array(vec![])
        );
    }

    #[test]
    fn sync_send_is_not_supported() {
        let err = call(
            &methods(),
            "eth_sendRawTransactionSync",
            "[]",
            &mut Sent::default(),
        );
        assert_eq!(err.unwrap_err().code, -32601);
    }

    #[test]
    fn forgotten_blocks_have_no_receipts() {
        let m = methods();
        for _ in 0..20 {
            m.chain.mine(1_700_000_001);
        }
        let mut s = Sent::default();
        assert_eq!(
            call(&m, "eth_getBlockReceipts", r#"["0x1"]"#, &mut s).unwrap(),
            Value::Null
        );
        let block = call(&m, "eth_getBlockByNumber", r#"["0x1", false]"#, &mut s).unwrap();
        assert_eq!(block["number"], "0x1");
        assert_eq!(
            call(&m, "eth_getBlockReceipts", r#"["0x15"]"#, &mut s).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn fee_history_is_plausible() {
        let m = methods();
        for _ in 0..10 {
            m.chain.mine(1_700_000_001);
        }
        let mut s = Sent::default();
        let v = call(
            &m,
            "eth_feeHistory",
            r#"["0x4", "latest", [25, 75]]"#,
            &mut s,
        )
        .unwrap();
        let h: FeeHistory = serde_json::from_value(v).expect("an alloy fee history");
        assert_eq!(h.oldest_block, 7);
        assert_eq!(h.base_fee_per_gas, vec![u128::from(ONE_GWEI); 5]);
        assert_eq!(h.gas_used_ratio.len(), 4);
        assert_eq!(
            h.reward.as_ref().unwrap(),
            &vec![vec![u128::from(ONE_GWEI); 2]; 4]
        );
        // More than the chain has, by number, without percentiles.
        let v = call(&m, "eth_feeHistory", r#"[100, "0x2"]"#, &mut s).unwrap();
        let h: FeeHistory = serde_json::from_value(v).unwrap();
        assert_eq!((h.oldest_block, h.base_fee_per_gas.len()), (0, 4));
        assert!(h.reward.is_none());
        let v = call(&m, "eth_feeHistory", r#"["0x0", "latest"]"#, &mut s).unwrap();
        let h: FeeHistory = serde_json::from_value(v).unwrap();
        assert!(h.base_fee_per_gas.is_empty());
    }
}
