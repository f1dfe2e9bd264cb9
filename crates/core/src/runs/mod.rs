//! [`RunRegistry`]: the runs a long-lived process starts and watches (a daemon, a test
//! harness): each with its id, senders, status, a live progress feed and, at its end, its
//! report. Runs whose senders overlap cannot go at once (their nonces would collide).
//!
//! The registry does not build engines: the caller's closure does, with the
//! [`RunControl`] it is handed (cancel token, progress hook, run id), so both engines and any
//! settings work the same.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    sync::Arc,
};

use alloy::primitives::Address;
use parking_lot::Mutex;
use spam_store::{RunId, RunRecord, RunStatus, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{Progress, Report, StartError};

/// A run's senders overlap those of a run still going.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} sender(s) are in use by run {run}, e.g. {}", .senders.len(), .senders[0])]
#[non_exhaustive]
pub struct SendersInUse {
    /// The run that has them.
    pub run: RunId,
    /// The senders both runs would use.
    pub senders: Vec<Address>,
}

/// What the closure that builds a run gets: wire it into the engine's builder.
#[derive(Debug)]
pub struct RunControl {
    id: RunId,
    cancel: CancellationToken,
    feed: Arc<watch::Sender<Option<Progress>>>,
}

impl RunControl {
    /// The run's id: give it to the builder's `.store(store, Some(id))`.
    pub const fn id(&self) -> RunId {
        self.id
    }

    /// The token [`RunRegistry::stop`] cancels: give it to the builder's `.cancel_on(..)`.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The hook that feeds [`RunRegistry::progress`]: give it to the builder's
    /// `.on_progress(every, ..)`.
    pub fn progress_hook(&self) -> impl Fn(&Progress) + Send + Sync + 'static {
        let feed = Arc::clone(&self.feed);
        move |p| {
            feed.send_replace(Some(p.clone()));
        }
    }
}

/// Where a run stands, as [`RunRegistry::runs`] and [`RunRegistry::run`] show it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunState {
    /// The run.
    pub id: RunId,
    /// `Running`, then `Done`, `Stopped` or `Failed`.
    pub status: RunStatus,
    /// Its senders.
    pub senders: usize,
    /// The latest progress snapshot, `None` before the first.
    pub progress: Option<Progress>,
    /// The report, once it ended (not after a failure).
    pub report: Option<Arc<Report>>,
    /// Why it failed.
    pub error: Option<String>,
}

struct Slot {
    senders: BTreeSet<Address>,
    status: RunStatus,
    cancel: CancellationToken,
    feed: watch::Receiver<Option<Progress>>,
    report: Option<Arc<Report>>,
    error: Option<String>,
    ended: watch::Receiver<bool>,
}

/// The runs a process started; cheap to clone (shared).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
///
/// use spam_core::{LoadGen, Rate, RunRegistry, Wallet};
///
/// # async fn demo(wallets: Vec<Wallet>, tx: impl spam_core::TxBuilder + 'static) -> Result<(), Box<dyn std::error::Error>> {
/// let registry = RunRegistry::new(None);
/// let senders: Vec<_> = wallets.iter().map(Wallet::address).collect();
/// let id = registry.start(senders, move |control| {
///     LoadGen::builder()
///         .rpc_url("http://127.0.0.1:8545".parse().unwrap())
///         .wallets(wallets)
///         .tx(tx)
///         .rate(Rate::constant(100.0))
///         .duration(Duration::from_secs(60))
///         .cancel_on(control.cancel_token())
///         .on_progress(Duration::from_millis(500), control.progress_hook())
///         .run()
/// })?;
/// registry.stop(id); // drains, settles and reports
/// let state = registry.wait(id).await.unwrap();
/// assert!(state.report.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct RunRegistry {
    store: Option<Arc<dyn Store>>,
    runs: Arc<Mutex<BTreeMap<RunId, Slot>>>,
}

impl std::fmt::Debug for RunRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunRegistry")
            .field("store", &self.store.is_some())
            .field("runs", &self.runs.lock().len())
            .finish()
    }
}

impl RunRegistry {
    /// A registry that records each run's status in `store` (the store the runs persist to,
    /// if any).
    pub fn new(store: Option<Arc<dyn Store>>) -> Self {
        Self {
            store,
            runs: Arc::default(),
        }
    }

    /// Marks the runs the store still has `running` as `interrupted` (this process, or its
    /// predecessor, died while they ran), and returns them. Call it once, at start.
    ///
    /// # Errors
    /// The store's.
    ///
    /// # Cancel safety
    /// As [`Store::interrupt_running`]: one transaction, so a dropped call marks nothing.
    pub async fn recover(&self) -> Result<Vec<RunId>, spam_store::Error> {
        match &self.store {
            Some(store) => store.interrupt_running().await,
            None => Ok(Vec::new()),
        }
    }

    /// Starts a run over `senders`: `run` builds the engine with the [`RunControl`] it gets
    /// and returns its `run()` future, which the registry spawns. With a store, the run row
    /// is written at once with the status `running`.
    ///
    /// # Errors
    /// [`SendersInUse`] when a running run has one of `senders`; nothing starts.
    ///
    /// # Panics
    /// Outside a Tokio runtime (the run is spawned on it).
    pub fn start<F, Fut>(
        &self,
        senders: impl IntoIterator<Item = Address>,
        run: F,
    ) -> Result<RunId, SendersInUse>
    where
        F: FnOnce(RunControl) -> Fut,
        Fut: Future<Output = Result<Report, StartError>> + Send + 'static,
    {
        let senders: BTreeSet<Address> = senders.into_iter().collect();
        let id = RunId::generate();
        let (feed, watching) = watch::channel(None);
        let (ended_tx, ended) = watch::channel(false);
        let cancel = CancellationToken::new();
        {
            let mut runs = self.runs.lock();
            for (other, slot) in runs.iter() {
                if slot.status != RunStatus::Running {
                    continue;
                }
                let shared: Vec<Address> = slot.senders.intersection(&senders).copied().collect();
                if !shared.is_empty() {
                    return Err(SendersInUse {
                        run: *other,
                        senders: shared,
                    });
                }
            }
            runs.insert(
                id,
                Slot {
                    senders,
                    status: RunStatus::Running,
                    cancel: cancel.clone(),
                    feed: watching,
                    report: None,
                    error: None,
                    ended,
                },
            );
        }
        let control = RunControl {
            id,
            cancel: cancel.clone(),
            feed: Arc::new(feed),
        };
        let future = run(control);
        let (runs, store) = (Arc::clone(&self.runs), self.store.clone());
        tokio::spawn(async move {
            if let Some(store) = &store {
                let mut row = RunRecord::new(id, spam_store::now_micros(), 0);
                row.status = Some(RunStatus::Running);
                if let Err(err) = store.write(&std::iter::once(row).collect()).await {
                    tracing::warn!(target: "spam::runs", %err, run = id.get(), "writing the run's status failed");
                }
            }
            let outcome = future.await;
            let status = match &outcome {
                Ok(_) if cancel.is_cancelled() => RunStatus::Stopped,
                Ok(_) => RunStatus::Done,
                Err(_) => RunStatus::Failed,
            };
            if let Some(store) = &store
                && let Err(err) = store.set_run_status(id, status).await
            {
                tracing::warn!(target: "spam::runs", %err, run = id.get(), "writing the run's status failed");
            }
            if let Some(slot) = runs.lock().get_mut(&id) {
                slot.status = status;
                match outcome {
                    Ok(report) => slot.report = Some(Arc::new(report)),
                    Err(err) => slot.error = Some(err.to_string()),
                }
            }
            ended_tx.send_replace(true);
        });
        Ok(id)
    }

    /// Asks run `id` to stop: no new sends, then it drains, settles and reports as at its
    /// planned end, with the status `stopped`. `false` for an unknown or finished run.
    pub fn stop(&self, id: RunId) -> bool {
        let runs = self.runs.lock();
        match runs.get(&id) {
            Some(slot) if slot.status == RunStatus::Running => {
                slot.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// Run `id` as it stands.
    pub fn run(&self, id: RunId) -> Option<RunState> {
        self.runs.lock().get(&id).map(|slot| state(id, slot))
    }

    /// Every run this registry started, oldest first.
    pub fn runs(&self) -> Vec<RunState> {
        self.runs
            .lock()
            .iter()
            .map(|(id, slot)| state(*id, slot))
            .collect()
    }

    /// Run `id`'s progress feed: the latest snapshot, and a change each time a new one comes
    /// (for a server-sent event stream).
    pub fn progress(&self, id: RunId) -> Option<watch::Receiver<Option<Progress>>> {
        self.runs.lock().get(&id).map(|slot| slot.feed.clone())
    }

    /// Waits until run `id` has ended; its final state, `None` for an unknown run.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping it only stops the waiting; the run goes on.
    pub async fn wait(&self, id: RunId) -> Option<RunState> {
        let mut ended = self.runs.lock().get(&id)?.ended.clone();
        let _ = ended.wait_for(|done| *done).await;
        self.run(id)
    }
}

fn state(id: RunId, slot: &Slot) -> RunState {
    RunState {
        id,
        status: slot.status,
        senders: slot.senders.len(),
        progress: slot.feed.borrow().clone(),
        report: slot.report.clone(),
        error: slot.error.clone(),
    }
}
