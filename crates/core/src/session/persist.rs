//! Persisting a run through spam-store, for both engines: the run row at the start, records
//! through a buffered writer during the run (never awaited on the hot path), and at the end
//! the run row again with its end, the records lost, and what a rebuilt report needs.

use std::sync::Arc;

use crate::report::{Report, RunInfo, StoreStats, StoredRows};
use spam_store::{Batch, RunId, RunRecord, RunStatus, Store, Writer, WriterConfig, WriterHandle};

pub(crate) struct Persist {
    store: Arc<dyn Store>,
    writer: Writer,
    run: RunRecord,
}

impl Persist {
    /// Starts the writer and queues the run row.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        id: Option<RunId>,
        info: &RunInfo,
        started_at_us: u64,
    ) -> Self {
        let writer = Writer::spawn(Arc::clone(&store), WriterConfig::default());
        let mut run = RunRecord::new(
            id.unwrap_or_else(RunId::generate),
            started_at_us,
            info.chain_id,
        );
        run.config = serde_json::json!({ "settings": info.config });
        run.client_version = info.client_version.clone();
        run.tool_version = concat!("spam-core ", env!("CARGO_PKG_VERSION")).into();
        run.seed = info.seed;
        run.workers = info.workers;
        writer.handle().write(run.clone());
        Self { store, writer, run }
    }

    pub(crate) fn run_id(&self) -> RunId {
        self.run.id
    }

    pub(crate) fn handle(&self) -> WriterHandle {
        self.writer.handle()
    }

    /// Flushes everything, then writes the run row with its end, `status`, the records lost
    /// and the report's figures that rows cannot give back; sets `report.store`.
    pub(crate) async fn finish(self, report: &mut Report, ended_at_us: u64, status: RunStatus) {
        let stats = self.writer.shutdown().await;
        let mut run = self.run;
        run.ended_at_us = Some(ended_at_us);
        run.status = Some(status);
        run.records_dropped = stats.lost();
        run.config = report.saved_config();
        let mut batch = Batch::default();
        batch.push(run.clone());
        let final_write = self.store.write(&batch).await;
        if let Err(err) = &final_write {
            tracing::warn!(target: "spam::store", %err, run = run.id.get(), "writing the run's end failed");
        }
        // Read back: the report says what the database holds, not only what the writes said.
        let rows = match self.store.row_counts(run.id).await {
            Ok(rows) => Some(StoredRows {
                tasks: rows.tasks,
                txs: rows.txs,
                blocks: rows.blocks,
            }),
            Err(err) => {
                tracing::warn!(target: "spam::store", %err, "reading the run's rows back failed");
                None
            }
        };
        report.store = Some(StoreStats {
            run_id: run.id.get(),
            written: stats.written,
            dropped: stats.lost() + u64::from(final_write.is_err()),
            rows,
        });
    }
}
