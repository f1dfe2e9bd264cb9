//! The binary end to end: spawned with a piped stdin, driven over one keep-alive connection
//! with plain HTTP/1.1 written by hand, stopped by closing its stdin.

use alloy::consensus::{SignableTransaction, TxEip1559};
use alloy::eips::Encodable2718;
use alloy::primitives::{Address, B256, Signature, TxKind, U256, hex, keccak256};
use alloy::rpc::types::{Block, TransactionReceipt};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Every wait in this test gives up after this long.
const PATIENCE: Duration = Duration::from_secs(5);

/// The spawned sink; killed on drop if it is still running (a failed assertion).
struct Sink {
    child: Child,
    port: u16,
    _stdout: BufReader<ChildStdout>,
}

impl Sink {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_null-sink"))
            .args(["--block-time-ms", "50", "--chain-id", "1337"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn null-sink");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the ready line");
        let port = line
            .trim_end()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected ready line: {line:?}"));
        Self {
            child,
            port,
            _stdout: stdout,
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Http {
    reader: BufReader<TcpStream>,
}

impl Http {
    fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    fn post(&mut self, body: &Value) -> Value {
        let body = body.to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();

        let mut status = String::new();
        self.reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "status: {status:?}");
        let mut length = None;
        loop {
            let mut header = String::new();
            self.reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse::<usize>().unwrap());
            }
        }
        let mut answer = vec![0; length.expect("a content-length")];
        self.reader.read_exact(&mut answer).unwrap();
        serde_json::from_slice(&answer).unwrap()
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let answer = self.post(&json!({"jsonrpc":"2.0","id":1,"method":method,"params":params}));
        assert_eq!(answer["id"], 1);
        answer
    }

    fn result(&mut self, method: &str, params: Value) -> Value {
        let answer = self.call(method, params);
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }
}

/// A signed-looking EIP-1559 transfer (the signature is a constant: the sink checks none).
fn tx(nonce: u64) -> Vec<u8> {
    TxEip1559 {
        chain_id: 1337,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x42)),
        value: U256::from(nonce),
        ..Default::default()
    }
    .into_signed(Signature::test_signature())
    .encoded_2718()
}

fn hash(answer: &Value) -> B256 {
    answer
        .as_str()
        .expect("a hash")
        .parse()
        .expect("a 32-byte hash")
}

fn quantity(answer: &Value) -> u64 {
    let s = answer.as_str().expect("a quantity");
    u64::from_str_radix(s.strip_prefix("0x").unwrap(), 16).unwrap()
}

/// Sends `nonces` (the first alone, the rest as one batch) and checks the answered hashes.
fn send(http: &mut Http, nonces: &[u64]) -> Vec<B256> {
    let raws: Vec<Vec<u8>> = nonces.iter().copied().map(tx).collect();
    let expected: Vec<B256> = raws.iter().map(keccak256).collect();
    let single = http.result(
        "eth_sendRawTransaction",
        json!([hex::encode_prefixed(&raws[0])]),
    );
    assert_eq!(hash(&single), expected[0]);
    let batch: Vec<Value> = raws[1..]
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            json!({"jsonrpc":"2.0","id":i + 10,"method":"eth_sendRawTransaction",
                   "params":[hex::encode_prefixed(raw)]})
        })
        .collect();
    let answers = http.post(&Value::Array(batch));
    let answers = answers.as_array().expect("a batch answer");
    assert_eq!(answers.len(), raws.len() - 1);
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer["id"], i + 10, "answers keep the batch order");
        assert_eq!(hash(&answer["result"]), expected[i + 1]);
    }
    expected
}

/// Reads every block after `from` until `count` transactions have been listed; returns their
/// hashes in block order, each checked against its block's receipts. `None` when a block was
/// already forgotten when read (the test stalled for 16 block times): the caller sends again.
fn follow(http: &mut Http, from: u64, count: usize) -> Option<Vec<B256>> {
    let deadline = Instant::now() + PATIENCE;
    let mut mined = Vec::new();
    let mut next = from + 1;
    while mined.len() < count {
        assert!(Instant::now() < deadline, "only {mined:?} mined in time");
        let head = quantity(&http.result("eth_blockNumber", json!([])));
        for number in next..=head {
            // One batch is answered between two blocks: the block and its receipts agree.
            let n = format!("{number:#x}");
            let answers = http.post(&json!([
                {"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":[n, false]},
                {"jsonrpc":"2.0","id":2,"method":"eth_getBlockReceipts","params":[n]},
            ]));
            if answers[1]["result"].is_null() {
                return None;
            }
            let block: Block =
                serde_json::from_value(answers[0]["result"].clone()).expect("an alloy block");
            let receipts: Vec<TransactionReceipt> =
                serde_json::from_value(answers[1]["result"].clone()).expect("alloy receipts");
            assert_eq!(block.header.number, number);
            let listed: Vec<B256> = block.transactions.hashes().collect();
            let receipted: Vec<B256> = receipts.iter().map(|r| r.transaction_hash).collect();
            assert_eq!(
                listed, receipted,
                "block {number}: receipts follow the block"
            );
            assert!(
                receipts
                    .iter()
                    .all(|r| r.status() && r.block_number == Some(number))
            );
            mined.extend(listed);
        }
        next = head + 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(mined)
}

#[test]
fn takes_transactions_mines_them_and_exits_with_its_stdin() {
    let mut sink = Sink::start();
    let mut http = Http::connect(sink.port);

    assert_eq!(http.result("eth_chainId", json!([])), "0x539");
    assert_eq!(
        http.result("eth_getTransactionCount", json!([Address::ZERO, "latest"])),
        "0x0"
    );

    // Blocks come every 50 ms and only 16 are kept: a test stalled for 800 ms could find the
    // one holding its transactions already forgotten. That is seen, not guessed (the receipts
    // are gone), and the test sends again with higher nonces.
    let mut sent = 0;
    let mut highest = 0;
    for attempt in 0..3 {
        let head = quantity(&http.result("eth_blockNumber", json!([])));
        // The highest nonce is in the middle of the batch.
        let nonces: Vec<u64> = [3, 0, 1, 7, 2].map(|n| 10 * attempt + n).to_vec();
        let expected = send(&mut http, &nonces);
        sent += nonces.len();
        highest = 10 * attempt + 7;
        if let Some(mined) = follow(&mut http, head, expected.len()) {
            assert_eq!(mined, expected, "mined once each, in arrival order");
            break;
        }
        assert!(
            attempt < 2,
            "the sink forgot blocks before they were read, three times"
        );
    }

    let head = quantity(&http.result("eth_blockNumber", json!([])));
    let above = http.result(
        "eth_getBlockByNumber",
        json!([format!("{:#x}", head + 1000), false]),
    );
    assert_eq!(above, Value::Null);
    assert_eq!(
        http.result("eth_getTransactionCount", json!([Address::ZERO, "pending"])),
        format!("{:#x}", highest + 1)
    );

    let unknown = http.call("eth_nope", json!([]));
    assert_eq!(unknown["error"]["code"], -32601);
    assert_eq!(unknown["error"]["message"], "method not found: eth_nope");

    // Closing stdin stops it; it says what it saw.
    drop(sink.child.stdin.take());
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = sink.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "null-sink still running after stdin closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    sink.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let summary = format!("stopped (stdin closed): {sent} transactions");
    assert!(stderr.contains(&summary), "{stderr}");
}
