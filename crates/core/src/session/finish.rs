//! The run's life on a [`Session`]: [`begin`](Session::begin) (run row, clock),
//! [`settle`](Session::settle) (no sender keeps a nonce gap) and [`finish`](Session::finish)
//! (report, run row closed).

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::primitives::Address;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::{
    Session,
    clock::{UnixClock, unix_ms},
    settle::{Settle, handed_out, settle},
};
use crate::{
    metrics::Recorder,
    report::{Report, RunInfo},
};

/// A run under way on a session: when it starts, what it is, where its records go.
pub(crate) struct Running {
    /// The run start: second 0 of the report.
    pub(crate) start: Instant,
    /// The start's Unix time, and the instants after it.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) clock: UnixClock,
    info: RunInfo,
    #[cfg(feature = "store")]
    persist: Option<super::persist::Persist>,
    /// The background top-up, when the run has a funder.
    top_up: Option<super::top_up::TopUpTask>,
}

impl Running {
    /// Where the run's records go, when it is persisted: the writer and the run id.
    #[cfg(feature = "store")]
    pub(crate) fn writer(&self) -> Option<(spam_store::WriterHandle, spam_store::RunId)> {
        self.persist.as_ref().map(|p| (p.handle(), p.run_id()))
    }
}

impl Session {
    /// What the session adds to the snapshots of `running`, the blocks seen from `blocks`.
    pub(crate) fn feed(
        &self,
        running: &Running,
        blocks: Arc<Mutex<super::BlockBook>>,
    ) -> super::Feed {
        #[cfg(not(feature = "store"))]
        let _ = running;
        super::Feed {
            router: Arc::clone(&self.router),
            senders: self.wallets.len(),
            blocks,
            #[cfg(feature = "store")]
            writer: running.writer().map(|(handle, _)| handle),
        }
    }

    /// Starts the run at `start` (now or a little later): its clock, and its run row when
    /// a store is set. `workers` and `config` are what the report's run info records.
    pub(crate) fn begin(&self, start: Instant, workers: u32, config: serde_json::Value) -> Running {
        let clock = UnixClock::new(start);
        let info = RunInfo {
            chain_id: self.chain_id,
            client_version: self.client_version.clone(),
            started_at_unix_ms: clock.start_us() / 1_000,
            seed: self.config.seed,
            workers,
            config,
            ..RunInfo::default()
        };
        let top_up = self.config.top_up.clone().map(|config| {
            super::top_up::TopUpTask::spawn(super::top_up::TopUpWith {
                config,
                provider: self.sender.clone(),
                nonces: self.nonces.clone(),
                fees: self.fees.clone(),
                chain_id: self.chain_id,
                senders: self.wallets.iter().map(|w| w.address()).collect(),
                parking: std::sync::Arc::clone(&self.parking),
                pool: self.pool.clone(),
            })
        });
        Running {
            start,
            clock,
            top_up,
            #[cfg(feature = "store")]
            persist: self.config.store.clone().map(|(store, id)| {
                let persist = super::persist::Persist::start(store, id, &info, clock.start_us());
                for asset in &self.config.assets {
                    persist.handle().write(spam_store::AssetRecord::new(
                        persist.run_id(),
                        self.chain_id,
                        asset.creator.0.0,
                        asset.address.0.0,
                        asset.kind.clone(),
                    ));
                }
                persist
            }),
            info,
        }
    }

    /// The end of the load, for every sender: fills each nonce gap below what was handed out
    /// (or `sent`, when an engine tracks more) with a zero-value self-transfer, then waits up
    /// to `within` until the chain has mined everything sent. Returns the gaps filled; the
    /// nonce manager is left resynced to the chain.
    pub(crate) async fn settle(
        &self,
        sent: &HashMap<Address, u64>,
        poll: Duration,
        within: Duration,
    ) -> u64 {
        let targets: Vec<_> = self
            .wallets
            .iter()
            .filter_map(|w| {
                let high = sent
                    .get(&w.address())
                    .copied()
                    .max(handed_out(&self.nonces, w))?;
                Some((std::sync::Arc::clone(w), high))
            })
            .collect();
        let s = Settle {
            provider: &self.sender,
            nonces: &self.nonces,
            fees: &self.fees,
            chain_id: self.chain_id,
            retry: &self.retry,
            counters: &self.counters,
            poll,
        };
        settle(&s, &targets, within).await
    }

    /// The report of `running`: built from `recorder` over `elapsed`, completed by the
    /// engine's `extend` (open-loop figures, proxies), then the run row closed when persisted.
    pub(crate) async fn finish(
        &self,
        running: Running,
        recorder: &Recorder,
        elapsed: Duration,
        extend: impl FnOnce(&mut Report),
    ) -> Report {
        let info = RunInfo {
            ended_at_unix_ms: unix_ms(),
            ..running.info
        };
        let top_ups = match running.top_up {
            Some(task) => Some(task.stop().await),
            None => None,
        };
        let mut report = Report::build(info, recorder, self.counters.stats(), elapsed);
        report.funding = self.config.funding.clone();
        let parkings = self.parking.parkings();
        if top_ups.is_some() || parkings > 0 {
            let funding = report.funding.get_or_insert_with(Default::default);
            funding.parkings = parkings;
            if let Some(top_ups) = top_ups {
                funding.top_ups = top_ups.transfers;
                funding.top_up_value_wei = top_ups.value.to_string();
                funding.top_up_failed_rounds = top_ups.failed_rounds;
            }
        }
        extend(&mut report);
        #[cfg(feature = "store")]
        if let Some(persist) = running.persist {
            // Cancelled (Ctrl-C, a stop request) before its planned end: stopped.
            let status = if self.config.cancel.is_cancelled() {
                spam_store::RunStatus::Stopped
            } else {
                spam_store::RunStatus::Done
            };
            persist
                .finish(&mut report, super::clock::unix_us(), status)
                .await;
        }
        report
    }
}
