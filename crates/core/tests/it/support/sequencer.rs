//! A toy sequencer in front of anvil: forwards JSON-RPC over HTTP, fails a share of the
//! transaction sends on demand (a fault a real node cannot produce on demand), and pushes a
//! preconfirmation event per accepted transaction over a WebSocket feed.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use alloy::transports::http::reqwest;
use futures_util::SinkExt;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::broadcast,
};
use tokio_tungstenite::tungstenite::Message;

/// What the sequencer does wrong, on purpose.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Every n-th `eth_sendRawTransaction` request fails: alternately answered 503 without
    /// forwarding, and forwarded with the answer replaced by a 502 (the node has it).
    pub fail_every: Option<usize>,
    /// Every n-th accepted transaction is announced `revoked` instead of `preconfirmed`.
    pub revoke_every: Option<usize>,
    /// Every n-th `eth_sendRawTransaction` request is forwarded, and the node's answer is
    /// lost: the connection closes without a response (the node has the transaction).
    pub lose_every: Option<usize>,
    /// Every n-th `eth_sendRawTransaction` request is answered HTTP 503 without forwarding
    /// (a gateway in front of the node refuses it).
    pub refuse_every: Option<usize>,
    /// Faults a test switches on and off while it runs (a dead node, HTTP 503s on any request).
    pub switches: Option<&'static Switches>,
    /// Every `eth_sendRawTransaction` is answered with the transaction's hash and never
    /// forwarded: a node whose pool loses what it took (its mempool is not the chain's).
    pub swallow_sends: bool,
}

/// Faults switched while a test runs, and what they saw. Leak one (`Box::leak`) to share it.
#[derive(Debug, Default)]
pub struct Switches {
    /// While set, every request's connection is closed unanswered: a dead node.
    pub down: std::sync::atomic::AtomicBool,
    /// Requests that arrived while `down`.
    pub while_down: AtomicUsize,
    /// While non-zero, every n-th request (any method) is answered HTTP 503, not forwarded.
    pub status_503_every: AtomicUsize,
    /// Requests counted for `status_503_every`.
    pub counted: AtomicUsize,
    /// Requests answered 503 by `status_503_every`.
    pub answered_503: AtomicUsize,
}

impl Switches {
    /// What to do with the request that just arrived: `Some(None)` close it unanswered,
    /// `Some(Some(503))` answer 503, `None` go on.
    fn fault(&self) -> Option<Option<u16>> {
        if self.down.load(Ordering::SeqCst) {
            self.while_down.fetch_add(1, Ordering::SeqCst);
            return Some(None);
        }
        let every = self.status_503_every.load(Ordering::SeqCst);
        if every > 0 && (self.counted.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(every) {
            self.answered_503.fetch_add(1, Ordering::SeqCst);
            return Some(Some(503));
        }
        None
    }
}

#[derive(Debug)]
pub struct Sequencer {
    pub http_url: String,
    pub ws_url: String,
    pub send_requests: Arc<AtomicUsize>,
    pub failed_requests: Arc<AtomicUsize>,
}

pub async fn sequencer(upstream: String, faults: Faults) -> Sequencer {
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let seq = Sequencer {
        http_url: format!("http://{}", http.local_addr().unwrap()),
        ws_url: format!("ws://{}", ws.local_addr().unwrap()),
        send_requests: Arc::default(),
        failed_requests: Arc::default(),
    };
    let (events, _) = broadcast::channel::<String>(65_536);
    let accepted = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let (sends, failed) = (
        Arc::clone(&seq.send_requests),
        Arc::clone(&seq.failed_requests),
    );
    let feed = events.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = http.accept().await {
            let conn = Connection {
                upstream: upstream.clone(),
                client: client.clone(),
                faults,
                sends: Arc::clone(&sends),
                failed: Arc::clone(&failed),
                accepted: Arc::clone(&accepted),
                events: feed.clone(),
            };
            tokio::spawn(conn.serve(socket));
        }
    });
    tokio::spawn(async move {
        while let Ok((socket, _)) = ws.accept().await {
            let mut rx = events.subscribe();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(socket).await else {
                    return;
                };
                while let Ok(text) = rx.recv().await {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    seq
}

struct Connection {
    upstream: String,
    client: reqwest::Client,
    faults: Faults,
    sends: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    events: broadcast::Sender<String>,
}

impl Connection {
    async fn serve(self, mut socket: TcpStream) {
        let mut buf = Vec::new();
        loop {
            let Some(body) = read_request(&mut socket, &mut buf).await else {
                return;
            };
            let is_send = body.contains("\"eth_sendRawTransaction\"");
            let mut fail = None;
            match self.faults.switches.and_then(Switches::fault) {
                Some(None) => return,
                Some(Some(status)) => {
                    let head = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    continue;
                }
                None => {}
            }
            let mut lose = false;
            if is_send {
                let n = self.sends.fetch_add(1, Ordering::SeqCst) + 1;
                let every = |e: Option<usize>| e.is_some_and(|e| n.is_multiple_of(e));
                if let Some(every) = self.faults.fail_every
                    && n.is_multiple_of(every)
                {
                    fail = Some(if (n / every) % 2 == 1 { 503 } else { 502 });
                } else if every(self.faults.refuse_every) {
                    fail = Some(503);
                } else if every(self.faults.lose_every) {
                    lose = true;
                }
                if fail.is_some() || lose {
                    self.failed.fetch_add(1, Ordering::SeqCst);
                }
            }
            let response = if fail == Some(503) {
                None
            } else if is_send && self.faults.swallow_sends {
                Some(swallowed(&body))
            } else {
                match self
                    .client
                    .post(&self.upstream)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                {
                    Ok(r) => r.text().await.ok(),
                    Err(_) => None,
                }
            };
            if lose {
                // The node took it; its answer never arrives.
                return;
            }
            let (status, json) = match (fail, response) {
                (Some(code), _) => (code, String::new()),
                (None, None) => (502, String::new()),
                (None, Some(json)) => {
                    if is_send {
                        self.announce(&json);
                    }
                    (200, json)
                }
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                json.len()
            );
            if socket.write_all(head.as_bytes()).await.is_err()
                || socket.write_all(json.as_bytes()).await.is_err()
            {
                return;
            }
        }
    }

    /// One event per transaction hash in the answer (a single answer or a batch).
    fn announce(&self, json: &str) {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
            return;
        };
        let answers = match value {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        for answer in answers {
            let Some(hash) = answer.get("result").and_then(|r| r.as_str()) else {
                continue;
            };
            let n = self.accepted.fetch_add(1, Ordering::SeqCst) + 1;
            let status = match self.faults.revoke_every {
                Some(every) if n.is_multiple_of(every) => "revoked",
                _ => "preconfirmed",
            };
            let _ = self
                .events
                .send(format!(r#"{{"hash":"{hash}","status":"{status}"}}"#));
        }
    }
}

/// The answer of a node that takes every transaction of `body` (one request or a batch):
/// each gets its hash.
fn swallowed(body: &str) -> String {
    let answer = |request: &serde_json::Value| {
        let raw = request["params"][0].as_str().unwrap_or_default();
        let bytes = alloy::hex::decode(raw).unwrap_or_default();
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": request["id"],
            "result": alloy::primitives::keccak256(bytes),
        })
    };
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(requests)) => {
            serde_json::Value::Array(requests.iter().map(answer).collect()).to_string()
        }
        Ok(request) => answer(&request).to_string(),
        Err(_) => String::new(),
    }
}

/// Reads one HTTP request; returns its body.
async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 16 * 1024];
    let body_start = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..body_start]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    while buf.len() < body_start + len {
        let n = socket.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[body_start..body_start + len]).into_owned();
    buf.drain(..body_start + len);
    Some(body)
}
