//! [`Watch`]: what follows an open-loop run from its start to its report — the ledger, the
//! block scan, the stuck-sender repair, the receipts worker, the preconfirmation listener and
//! the progress hook.

use std::{sync::Arc, time::Duration};

use parking_lot::Mutex;
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    LoadGenBuilder,
    background::{self, Control, PreconfListener},
    ledger::Ledger,
    limit::SendLimit,
    receipts::{Unread, receipts},
    repair::Repair,
    report::Ending,
    sink::Sink,
    tracker::Tracker,
};
use crate::session::BlockBook;
use crate::{
    node::Capabilities,
    session::{Feed, Running, Session, spawn_progress},
};

/// The run's ledger and the tasks that feed it or read it.
pub(super) struct Watch {
    pub(super) ledger: Arc<Ledger>,
    /// The adaptive cap on unanswered sends (its low point goes to the report).
    pub(super) limit: Arc<SendLimit>,
    blocks: Arc<Mutex<BlockBook>>,
    tracker_stop: CancellationToken,
    tracker: JoinHandle<()>,
    repair_stop: CancellationToken,
    repair: JoinHandle<()>,
    receipts: Option<JoinHandle<Unread>>,
    preconf: Option<PreconfListener>,
    progress: Option<JoinHandle<()>>,
    start: Instant,
    feed: Arc<Feed>,
}

impl Watch {
    /// The ledger of `running` (with its store sink), and the block scan from `from_block`
    /// on; receipts, preconfirmations and progress as `s` asks.
    pub(super) fn start(
        s: &LoadGenBuilder,
        session: &Session,
        running: &Running,
        control: &Control,
        caps: Capabilities,
        from_block: u64,
        background: &CancellationToken,
    ) -> Self {
        let start = running.start;
        let tx = s.tx.as_ref().expect("checked in build");
        let ledger = Arc::new(
            Ledger::new(tx.name().to_owned(), start, s.late_after, sink(running, s))
                .with_kinds(tx.kinds().to_vec()),
        );
        let blocks = Arc::new(Mutex::new(BlockBook::new(start)));
        let (receipt_tx, receipts) = if s.receipts {
            let (tx, rx) = mpsc::channel(4_096);
            let client = session.read_client.clone();
            (
                Some(tx),
                Some(tokio::spawn(receipts(client, Arc::clone(&ledger), rx))),
            )
        } else {
            (None, None)
        };
        let tracker_stop = CancellationToken::new();
        let tracker = Tracker {
            client: session.read_client.clone(),
            ledger: Arc::clone(&ledger),
            fees: session.fees.clone(),
            blocks: Arc::clone(&blocks),
            receipts: receipt_tx,
            poll: s.poll,
            ws_url: s.ws_url.clone().filter(|_| caps.ws_new_heads),
        };
        let preconf = s.preconf.clone().map(|source| {
            let breaker = control.breaker.clone();
            background::preconf(source, Arc::clone(&ledger), breaker, background.clone())
        });
        let repair_stop = CancellationToken::new();
        let repair = Repair {
            ledger: Arc::clone(&ledger),
            reconciler: session.reconciler(session.config.http_timeout.min(Duration::from_secs(5))),
            blocks: Arc::clone(&blocks),
            gate: Arc::clone(&control.gate),
            counters: Arc::clone(&session.counters),
            every: s
                .poll
                .clamp(Duration::from_millis(250), Duration::from_millis(500)),
            router: Arc::clone(&session.router),
        };
        let repair = tokio::spawn(repair.run(repair_stop.clone()));
        let feed = Arc::new(session.feed(running, Arc::clone(&blocks)));
        let progress = s.session.progress.clone().map(|(every, hook)| {
            let (ledger, breaker) = (Arc::clone(&ledger), control.breaker.clone());
            let feed = Arc::clone(&feed);
            let snapshot = move || {
                let mut p = background::snapshot(&ledger, start, breaker.state());
                feed.fill(&mut p);
                p
            };
            spawn_progress(every, hook, start, snapshot, background.clone())
        });
        Self {
            limit: Arc::clone(&control.limit),
            tracker: tokio::spawn(tracker.run(from_block, tracker_stop.clone())),
            ledger,
            blocks,
            tracker_stop,
            repair_stop,
            repair,
            receipts,
            preconf,
            progress,
            start,
            feed,
        }
    }

    /// Waits until every accepted transaction is seen in a block, or `until`.
    pub(super) async fn await_inclusions(&self, until: Instant, poll: Duration) {
        while self.ledger.awaiting_inclusion() > 0 && Instant::now() < until {
            tokio::time::sleep(poll).await;
        }
    }

    /// Stops reconciling stuck senders (before the session settles what is left).
    pub(super) async fn stop_repair(&mut self) {
        self.repair_stop.cancel();
        let _ = (&mut self.repair).await;
    }

    /// Stops the block scan (after one last pass up to the head), then the `background`
    /// tasks; the progress hook sees the final snapshot. Receipts still queued get up to
    /// `grace` (at least 5 s).
    pub(super) async fn stop(
        self,
        s: &LoadGenBuilder,
        control: Control,
        grace: Duration,
        background: CancellationToken,
    ) -> Ending {
        self.tracker_stop.cancel();
        let _ = self.tracker.await;
        background.cancel();
        let breaker_state = control.breaker.state();
        let breaker = control.events(self.start);
        if let Some(task) = self.progress {
            let _ = task.await;
        }
        if let Some((_, hook)) = &s.session.progress {
            let mut p = background::snapshot(&self.ledger, self.start, breaker_state);
            self.feed.fill(&mut p);
            hook(&p);
        }
        let preconf = match self.preconf {
            Some(listener) => Some(listener.finish().await),
            None => None,
        };
        let unread = match self.receipts {
            Some(task) => match tokio::time::timeout(grace.max(Duration::from_secs(5)), task).await
            {
                Ok(Ok(unread)) => unread,
                _ => Unread::default(),
            },
            None => Unread::default(),
        };
        let blocks = self.blocks.lock();
        Ending {
            ledger: self.ledger,
            start: self.start,
            in_flight_cap_low: self.limit.lowest() as u64,
            blocks: blocks.summary(),
            blocks_via: blocks.via.clone(),
            receipts_missing: unread.missing + blocks.receipts_skipped,
            receipts_sampled_blocks: unread.sampled_blocks,
            breaker,
            preconf,
        }
    }
}

/// Where the ledger's records go, when the run is persisted.
fn sink(running: &Running, s: &LoadGenBuilder) -> Option<Sink> {
    #[cfg(feature = "store")]
    return running.writer().map(|(handle, id)| {
        let tx = s.tx.as_ref().expect("checked in build");
        let names = (tx.name().to_owned(), tx.kinds().to_vec());
        Sink::new(handle, id, names, running.clock)
    });
    #[cfg(not(feature = "store"))]
    {
        let _ = (running, s);
        None
    }
}
