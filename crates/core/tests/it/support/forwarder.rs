//! A TCP forwarder: gives one anvil another URL, and can be killed (its port then refuses
//! connections, as a dead node's does).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// One forwarding port; dropping it kills it.
#[derive(Debug)]
pub struct Forwarder {
    pub url: String,
    kill: CancellationToken,
    connections: Arc<AtomicUsize>,
}

impl Forwarder {
    /// Forwards `127.0.0.1:<free port>` to `target` (`http://host:port`).
    pub async fn start(target: &str) -> Self {
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let kill = CancellationToken::new();
        let connections = Arc::new(AtomicUsize::new(0));
        let (stop, count) = (kill.clone(), Arc::clone(&connections));
        tokio::spawn(async move {
            loop {
                let (mut inbound, _) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(_) => continue,
                    },
                    () = stop.cancelled() => return, // drops the listener: refused from now
                };
                count.fetch_add(1, Ordering::SeqCst);
                let (stop, target) = (stop.clone(), target.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = stop.cancelled() => {} // drops both: open connections break
                    }
                });
            }
        });
        Self {
            url,
            kill,
            connections,
        }
    }

    /// Stops accepting and breaks every open connection.
    pub fn kill(&self) {
        self.kill.cancel();
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.kill.cancel();
    }
}
