//! An in-process JSON-RPC endpoint that injects faults a real node cannot produce on demand:
//! a dropped connection after the request arrived, an HTTP error status, a stalled answer, or
//! a chosen JSON-RPC answer. It counts the requests it received.
#![allow(unreachable_pub)]

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use alloy::primitives::keccak256;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// Read the request, then close without answering.
    Drop,
    /// A JSON-RPC error object.
    Error(&'static str),
    /// The transaction hash (for `eth_sendRawTransaction`) or a block number (`0x1`).
    Hash,
    /// This HTTP status with an empty body.
    Status(u16),
    /// Answer `Hash` only after this many milliseconds.
    Stall(u64),
}

/// Serves `script` one reply per request (the last one repeats); returns the URL and a counter.
pub async fn fake_node(script: Vec<Reply>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&served);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let served = Arc::clone(&counter);
            let script = script.clone();
            tokio::spawn(async move {
                loop {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut len = 0;
                    // read headers and a body of Content-Length bytes
                    let body_start = loop {
                        match socket.read(&mut buf[len..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => len += n,
                        }
                        if let Some(i) = buf[..len].windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..body_start]).to_ascii_lowercase();
                    let content_len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while len < body_start + content_len {
                        match socket.read(&mut buf[len..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => len += n,
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[body_start..len]).to_string();
                    let raw = body
                        .split("\"params\":[\"")
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .unwrap_or("");
                    let hash = keccak256(alloy::primitives::hex::decode(raw).unwrap_or_default());
                    let n = served.fetch_add(1, Ordering::SeqCst);
                    let reply = script[n.min(script.len() - 1)];
                    if let Reply::Stall(ms) = reply {
                        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                    }
                    let status_line;
                    let (status, json) = match reply {
                        Reply::Drop => return,
                        Reply::Status(code) => {
                            status_line = format!("{code} Fault");
                            (status_line.as_str(), "{}".to_string())
                        }
                        Reply::Error(m) => (
                            "200 OK",
                            format!(
                                r#"{{"jsonrpc":"2.0","id":0,"error":{{"code":-32000,"message":"{m}"}}}}"#
                            ),
                        ),
                        Reply::Hash | Reply::Stall(_) => (
                            "200 OK",
                            format!(r#"{{"jsonrpc":"2.0","id":0,"result":"{hash}"}}"#),
                        ),
                    };
                    let id = body
                        .split("\"id\":")
                        .nth(1)
                        .and_then(|r| r.split([',', '}']).next())
                        .unwrap_or("0");
                    let json = json.replace("\"id\":0", &format!("\"id\":{id}"));
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
                        json.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, served)
}
pub mod forwarder;
pub mod sequencer;

/// 1 wei to the sender itself: the smallest real transaction, as task `self_transfer`.
#[derive(Debug, Clone, Copy)]
pub struct SelfTransfer;

/// [`SelfTransfer`] under another task name.
#[derive(Debug, Clone, Copy)]
pub struct NamedSelfTransfer(pub &'static str);

fn self_transfer(r: spam_core::BuildRequest<'_>) -> alloy::consensus::TypedTransaction {
    r.fees.transfer(
        r.chain_id,
        r.nonce,
        r.sender,
        alloy::primitives::U256::from(1),
    )
}

impl spam_core::TxBuilder for SelfTransfer {
    fn name(&self) -> &str {
        "self_transfer"
    }

    fn build(&self, r: spam_core::BuildRequest<'_>) -> alloy::consensus::TypedTransaction {
        self_transfer(r)
    }
}

impl spam_core::TxBuilder for NamedSelfTransfer {
    fn name(&self) -> &str {
        self.0
    }

    fn build(&self, r: spam_core::BuildRequest<'_>) -> alloy::consensus::TypedTransaction {
        self_transfer(r)
    }
}

/// A free port on 127.0.0.1, for a node restarted in place.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
