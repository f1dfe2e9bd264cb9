//! JSON-RPC 2.0 framing: one request or a batch in, the answers written by hand in the same
//! order, ids echoed as sent.

use crate::chain::Chain;
use crate::error::RpcError;
use crate::json::push_str;
use crate::methods::{Methods, Sent};
use crate::params::Params;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One request object, borrowed from the body.
#[derive(Debug, Deserialize)]
struct Request<'a> {
    /// Echoed raw; a missing id is answered as `null` (a notification still gets an answer,
    /// so a batch's answers line up with its requests).
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow, default)]
    params: Params<'a>,
}

thread_local! {
    /// The decode buffer and the hash list, reused by every request on this thread.
    static SENT: RefCell<Sent> = RefCell::new(Sent::default());
}

/// Answers request bodies and counts them.
#[derive(Debug)]
pub(crate) struct Rpc {
    methods: Methods,
    chain: Arc<Chain>,
    bodies: AtomicU64,
    calls: AtomicU64,
}

impl Rpc {
    /// Answers for `chain`, reporting `chain_id`.
    pub(crate) fn new(chain: Arc<Chain>, chain_id: u64) -> Self {
        Self {
            methods: Methods::new(Arc::clone(&chain), chain_id),
            chain,
            bodies: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        }
    }

    /// The answer to an HTTP body holding one request or a batch.
    ///
    /// Transactions in it are queued for the next block before this returns, so a client
    /// that has its answer will find them in a later block.
    pub(crate) fn handle(&self, body: &[u8]) -> Vec<u8> {
        self.bodies.fetch_add(1, Ordering::Relaxed);
        // Answers are shorter than requests for sends (the bulk), longer for blocks (which
        // reserve for themselves).
        let mut out = Vec::with_capacity((body.len() / 2).max(256));
        SENT.with_borrow_mut(|sent| {
            sent.clear();
            match body.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'[') => self.batch(body, &mut out, sent),
                _ => self.one(body, &mut out, sent),
            }
            if !sent.hashes.is_empty() {
                self.chain.accept(&sent.hashes, sent.highest_nonce);
            }
        });
        out
    }

    /// HTTP bodies and JSON-RPC calls answered so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.bodies.load(Ordering::Relaxed),
            self.calls.load(Ordering::Relaxed),
        )
    }

    /// Answers a JSON array of requests with an array in the same order.
    fn batch(&self, body: &[u8], out: &mut Vec<u8>, sent: &mut Sent) {
        let items: Vec<&RawValue> = match serde_json::from_slice(body) {
            Ok(items) => items,
            Err(e) => return write_error(out, None, &RpcError::parse(e)),
        };
        if items.is_empty() {
            return write_error(out, None, &RpcError::invalid_request("empty batch"));
        }
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.one(item.get().as_bytes(), out, sent);
        }
        out.push(b']');
    }

    /// Answers one request object (an element of a batch, or the whole body).
    fn one(&self, json: &[u8], out: &mut Vec<u8>, sent: &mut Sent) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let request: Request<'_> = match serde_json::from_slice(json) {
            Ok(request) => request,
            Err(e) if e.is_data() => return write_error(out, None, &RpcError::invalid_request(e)),
            Err(e) => return write_error(out, None, &RpcError::parse(e)),
        };
        write_head(out, request.id);
        let mark = out.len();
        out.extend_from_slice(b",\"result\":");
        match self
            .methods
            .call(&request.method, &request.params, out, sent)
        {
            Ok(()) => out.push(b'}'),
            Err(e) => {
                out.truncate(mark);
                write_error_tail(out, &e);
            }
        }
    }
}

/// `{"jsonrpc":"2.0","id":ID`
fn write_head(out: &mut Vec<u8>, id: Option<&RawValue>) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id.map_or("null", RawValue::get).as_bytes());
}

/// `,"error":{"code":C,"message":"M"}}`
fn write_error_tail(out: &mut Vec<u8>, e: &RpcError) {
    out.extend_from_slice(b",\"error\":{\"code\":");
    out.extend_from_slice(e.code.to_string().as_bytes());
    out.extend_from_slice(b",\"message\":");
    push_str(out, &e.message);
    out.extend_from_slice(b"}}");
}

/// A whole error answer.
fn write_error(out: &mut Vec<u8>, id: Option<&RawValue>, e: &RpcError) {
    write_head(out, id);
    write_error_tail(out, e);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn rpc() -> Rpc {
        Rpc::new(Arc::new(Chain::new(1_700_000_000)), 31_337)
    }

    fn answer(rpc: &Rpc, body: &str) -> Value {
        let out = rpc.handle(body.as_bytes());
        serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out));
        })
    }

    #[test]
    fn single_request_echoes_the_raw_id() {
        let rpc = rpc();
        let a = answer(
            &rpc,
            r#"{"jsonrpc":"2.0","id":"abc","method":"eth_chainId","params":[]}"#,
        );
        assert_eq!(a, json!({"jsonrpc":"2.0","id":"abc","result":"0x7a69"}));
        let a = answer(&rpc, r#"{"jsonrpc":"2.0","id":7,"method":"net_version"}"#);
        assert_eq!(a, json!({"jsonrpc":"2.0","id":7,"result":"31337"}));
    }

    #[test]
    fn batch_answers_in_order() {
        let rpc = rpc();
        let a = answer(
            &rpc,
            r#" [{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"},
                {"jsonrpc":"2.0","id":1,"method":"web3_clientVersion"},
                {"jsonrpc":"2.0","id":{"x":[1]},"method":"eth_syncing"}]"#,
        );
        assert_eq!(
            a,
            json!([
                {"jsonrpc":"2.0","id":2,"result":"0x0"},
                {"jsonrpc":"2.0","id":1,"result":"null-sink/0.1.0"},
                {"jsonrpc":"2.0","id":{"x":[1]},"result":false},
            ])
        );
        assert_eq!(rpc.counts(), (1, 3));
    }

    #[test]
    fn errors_have_standard_codes() {
        let rpc = rpc();
        let code = |a: &Value| a["error"]["code"].as_i64().unwrap();
        let a = answer(&rpc, r#"{"jsonrpc":"2.0","id":1,"method":"eth_nope"}"#);
        assert_eq!(code(&a), -32601);
        assert_eq!(a["error"]["message"], "method not found: eth_nope");
        assert_eq!(a["id"], 1);
        assert_eq!(code(&answer(&rpc, r#"{"id":1,"#)), -32700);
        assert_eq!(code(&answer(&rpc, r#"[{"id":1}"#)), -32700);
        assert_eq!(code(&answer(&rpc, "[]")), -32600);
        assert_eq!(code(&answer(&rpc, r#"{"id":1}"#)), -32600);
        let a = answer(&rpc, r#"[{"id":1},{"id":2,"method":"eth_chainId"}]"#);
        assert_eq!(code(&a[0]), -32600);
        assert_eq!(a[1]["result"], "0x7a69");
        let a = answer(
            &rpc,
            r#"{"id":1,"method":"eth_sendRawTransaction","params":[]}"#,
        );
        assert_eq!(code(&a), -32602);
    }

    #[test]
    fn escaped_method_names_are_read() {
        let rpc = rpc();
        let a = answer(&rpc, r#"{"id":1,"method":"eth_chain\u0049d"}"#);
        assert_eq!(a["result"], "0x7a69");
        let a = answer(&rpc, r#"{"id":1,"method":"a\"b"}"#);
        assert_eq!(a["error"]["message"], "method not found: a\"b");
    }
}
