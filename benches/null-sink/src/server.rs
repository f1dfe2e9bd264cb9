//! The HTTP/1.1 server, the block timer and the ways the sink stops.

use crate::chain::Chain;
use crate::cli::Config;
use crate::rpc::Rpc;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior};

/// The largest request body read (a batch of 100 000 transfers is ~30 MB).
const MAX_BODY: usize = 256 << 20;

/// Serves until stdin closes (when watched), SIGINT or SIGTERM; then prints the totals.
///
/// # Errors
///
/// When the port cannot be bound or the ready line cannot be written.
pub(crate) async fn run(config: Config) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
    let port = listener.local_addr()?.port();
    let chain = Arc::new(Chain::new(unix_now()));
    let rpc = Arc::new(Rpc::new(Arc::clone(&chain), config.chain_id));
    let miner = tokio::spawn(mine(Arc::clone(&chain), config.block_time));
    let stop = stopped(config.watch_stdin);
    tokio::pin!(stop);

    // The parent reads this line for the port: write it only once the socket listens.
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on http://127.0.0.1:{port}")?;
    stdout.flush()?;
    drop(stdout);

    let reason = loop {
        tokio::select! {
            reason = &mut stop => break reason,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream, Arc::clone(&rpc)));
                }
                Err(e) => {
                    // Out of file descriptors, most likely: let connections close.
                    eprintln!("null-sink: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    };
    miner.abort();
    let totals = chain.totals();
    let (bodies, calls) = rpc.counts();
    eprintln!(
        "null-sink: stopped ({reason}): {} transactions, {} blocks, {bodies} requests ({calls} calls)",
        totals.txs, totals.blocks
    );
    Ok(())
}

/// Mines a block every `every`, the first one `every` after the start.
async fn mine(chain: Arc<Chain>, every: Duration) {
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    // After a stall, go on at the same pace rather than mining a burst of empty blocks.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        chain.mine(unix_now());
    }
}

/// One keep-alive connection: requests answered in order until the client closes.
async fn serve(stream: TcpStream, rpc: Arc<Rpc>) {
    // Answers are written whole; waiting to coalesce them only adds latency.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| answer(Arc::clone(&rpc), request));
    // A client that resets or sends garbage ends its own connection, nothing else.
    let _ = http1::Builder::new()
        .auto_date_header(false)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// The answer to one HTTP request: POSTs only, bodies up to [`MAX_BODY`].
async fn answer(
    rpc: Arc<Rpc>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::POST {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(status(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    let mut response = Response::new(Full::new(Bytes::from(rpc.handle(&body))));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// An empty answer with `code`.
fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

/// Resolves with the reason to stop.
async fn stopped(watch_stdin: bool) -> &'static str {
    let stdin = async {
        match watch_stdin.then(stdin_closed).flatten() {
            // An error is a watcher that ended without sending: stdin failed, as good as closed.
            Some(closed) => {
                let _ = closed.await;
                "stdin closed"
            }
            None => std::future::pending().await,
        }
    };
    let terminate = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut sigterm) => {
                    sigterm.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    };
    tokio::select! {
        reason = stdin => reason,
        // A handler that cannot be installed disables its branch rather than stopping.
        Ok(()) = tokio::signal::ctrl_c() => "interrupted",
        () = terminate => "terminated",
    }
}

/// Resolves when stdin reaches end of file (or fails); `None` if it cannot be watched. A plain
/// thread reads it: tokio's stdin runs on the blocking pool, which would hold up the runtime's
/// shutdown.
fn stdin_closed() -> Option<oneshot::Receiver<()>> {
    let (tx, rx) = oneshot::channel();
    let watcher = std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            let mut buf = [0u8; 512];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
    match watcher {
        Ok(_) => Some(rx),
        Err(e) => {
            eprintln!("null-sink: cannot watch stdin, so it will not stop the sink: {e}");
            None
        }
    }
}

/// Unix seconds now (0 if the clock is before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
