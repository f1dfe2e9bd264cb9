//! Replay safety of `send_raw_transaction` against an in-process JSON-RPC endpoint that injects
//! faults a real node cannot produce on demand: a dropped connection after the request
//! arrived, a 429, then a chosen answer. The fake counts what it received.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::keccak256,
    providers::{ProviderBuilder, RootProvider},
};
use spam_core::{ErrorClass, RetryPolicy, send_raw_transaction};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

#[derive(Debug, Clone, Copy)]
enum Reply {
    /// Read the request, then close without answering.
    Drop,
    /// HTTP 429.
    TooMany,
    /// A JSON-RPC error object.
    Error(&'static str),
    /// The transaction hash.
    Hash,
}

/// Serves `script` one reply per request (the last one repeats); returns the URL and a counter.
async fn fake_node(script: Vec<Reply>) -> (String, Arc<AtomicUsize>) {
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
                    let (status, json) = match reply {
                        Reply::Drop => return,
                        Reply::TooMany => ("429 Too Many Requests", "{}".to_string()),
                        Reply::Error(m) => (
                            "200 OK",
                            format!(
                                r#"{{"jsonrpc":"2.0","id":0,"error":{{"code":-32000,"message":"{m}"}}}}"#
                            ),
                        ),
                        Reply::Hash => (
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

fn provider(url: &str) -> RootProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url.parse().unwrap())
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_delays(Duration::from_millis(1), Duration::from_millis(5))
        .with_jitter(false)
}

const RAW: &[u8] = &[0x02, 0xf8, 0x6b, 0x01];

#[tokio::test]
async fn lost_answer_then_already_known_counts_as_sent() {
    let (url, served) = fake_node(vec![Reply::Drop, Reply::Error("already known")]).await;
    let hash = send_raw_transaction(&provider(&url), RAW, &fast_policy())
        .await
        .unwrap();
    assert_eq!(hash, keccak256(RAW));
    assert_eq!(
        served.load(Ordering::SeqCst),
        2,
        "the same bytes were sent twice, no more"
    );
}

#[tokio::test]
async fn rate_limit_is_retried_until_accepted() {
    let (url, served) = fake_node(vec![Reply::TooMany, Reply::TooMany, Reply::Hash]).await;
    let hash = send_raw_transaction(&provider(&url), RAW, &fast_policy())
        .await
        .unwrap();
    assert_eq!(hash, keccak256(RAW));
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn refusals_are_not_retried() {
    let (url, served) = fake_node(vec![Reply::Error(
        "nonce too low: next nonce 9, tx nonce 3",
    )])
    .await;
    let err = send_raw_transaction(&provider(&url), RAW, &fast_policy())
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::NonceTooLow { next: Some(9) });
    assert_eq!((err.attempts, served.load(Ordering::SeqCst)), (1, 1));
    assert_eq!(err.hash, keccak256(RAW));
}

#[tokio::test]
async fn attempts_are_bounded() {
    let (url, served) = fake_node(vec![Reply::Drop]).await;
    let policy = fast_policy().with_attempts(std::num::NonZeroU32::new(3).unwrap());
    let err = send_raw_transaction(&provider(&url), RAW, &policy)
        .await
        .unwrap_err();
    assert!(err.class.outcome_unknown(), "{}", err.class);
    assert_eq!((err.attempts, served.load(Ordering::SeqCst)), (3, 3));
}
