//! `--run-id ID --shard I/N`: one run over several processes (shards) that share a
//! PostgreSQL `--db`; under a Kubernetes Indexed Job the shard comes from
//! `JOB_COMPLETION_INDEX` and `SPAM_SHARD_COUNT`.

use std::{sync::Arc, time::Duration};

use alloy::transports::http::reqwest::Url;
use spam_core::{Shard, ShardError, ShardSpec, Wallet};
use spam_store::Store;

use crate::{
    input::{self, bad_input},
    output::DbArgs,
};

/// Which run and shard this process is: flattened into `run` and `loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ShardArgs {
    /// Name of a run shared by several processes (shards): 1–63 letters, digits, `-` and
    /// `_` (a Kubernetes Job's name works). `spammer report --run ID` merges the shards.
    #[arg(long, env = "SPAM_RUN_ID", value_name = "ID")]
    run_id: Option<String>,
    /// This process's shard of the run, `I/N` (0-based). Default under a Kubernetes Indexed
    /// Job: `$JOB_COMPLETION_INDEX/$SPAM_SHARD_COUNT`; with --run-id alone: 0/1.
    #[arg(long, env = "SPAM_SHARD", value_name = "I/N", requires = "run_id")]
    shard: Option<String>,
    /// How long shards wait for each other at the start (and for their turn to fund and
    /// deploy); then the shards that are ready start.
    #[arg(long, value_name = "DUR", default_value = "2m", value_parser = input::positive_duration,
          allow_hyphen_values = true)]
    barrier_timeout: Duration,
}

impl ShardArgs {
    /// The shard this process is, `None` without `--run-id`; checked before anything starts.
    ///
    /// # Errors
    /// [`BadInput`](input::BadInput) naming the flag.
    pub(crate) fn spec(&self) -> anyhow::Result<Option<ShardSpec>> {
        let Some(name) = &self.run_id else {
            return Ok(None);
        };
        let shard = match &self.shard {
            Some(shard) => shard.clone(),
            None => match (
                std::env::var("JOB_COMPLETION_INDEX"),
                std::env::var("SPAM_SHARD_COUNT"),
            ) {
                (Ok(index), Ok(count)) => format!("{index}/{count}"),
                (Ok(_), Err(_)) => {
                    return Err(bad_input(
                        "JOB_COMPLETION_INDEX is set but SPAM_SHARD_COUNT is not: set it to the \
                         Job's completions (or pass --shard I/N)",
                    ));
                }
                _ => "0/1".into(),
            },
        };
        let spec = ShardSpec::parse(name, &shard).map_err(|err| match err {
            ShardError::Spec(why) => bad_input(format!("--run-id/--shard: {why}")),
            other => other.into(),
        })?;
        Ok(Some(spec.with_barrier_timeout(self.barrier_timeout)))
    }
}

/// What a sharded run needs before anything starts: a shared node and a shared store.
///
/// # Errors
/// [`BadInput`](input::BadInput).
pub(crate) fn check(spec: &ShardSpec, rpc_url: Option<&Url>, no_db: bool) -> anyhow::Result<()> {
    if no_db {
        return Err(bad_input(format!(
            "--run-id {}: shards meet in the store; drop --no-db and give --db postgres://…",
            spec.name()
        )));
    }
    if rpc_url.is_none() && spec.count() > 1 {
        return Err(bad_input(format!(
            "--shard {}/{}: the shards must load one node; give --rpc-url",
            spec.index(),
            spec.count()
        )));
    }
    Ok(())
}

/// This shard's senders: its contiguous part of `wallets`.
///
/// # Errors
/// [`BadInput`](input::BadInput) when there are fewer senders than shards.
pub(crate) fn senders(spec: &ShardSpec, wallets: Vec<Wallet>) -> anyhow::Result<Vec<Wallet>> {
    let range = spec.slice(wallets.len());
    if range.is_empty() {
        return Err(bad_input(format!(
            "{} senders cannot be shared by {} shards: raise --senders",
            wallets.len(),
            spec.count()
        )));
    }
    Ok(wallets
        .into_iter()
        .skip(range.start)
        .take(range.len())
        .collect())
}

/// Registers this shard with the run's `settings`, then waits for its turn to prepare.
///
/// # Errors
/// [`BadInput`](input::BadInput) when another shard registered the run with other settings.
pub(crate) async fn join(
    spec: ShardSpec,
    store: Arc<dyn Store>,
    settings: serde_json::Value,
) -> anyhow::Result<Shard> {
    let what = spec.to_string();
    let shard = Shard::join(store, spec, settings)
        .await
        .map_err(|err| match err {
            ShardError::Mismatch { .. } | ShardError::Spec(_) | ShardError::Finished(_) => {
                bad_input(err.to_string())
            }
            other => anyhow::Error::new(other).context(format!("joining {what}")),
        })?;
    eprintln!("{what}: joined; waiting for the shards before it to prepare");
    shard.wait_turn().await?;
    Ok(shard)
}

/// A digest of a file the run reads (a scenario), for the settings every shard must share.
pub(crate) fn file_digest(path: &std::path::Path) -> String {
    std::fs::read(path).map_or_else(
        |_| "unreadable".into(),
        |bytes| alloy::primitives::keccak256(bytes).to_string(),
    )
}

/// `result`, after marking `shard` failed when it is an error (its heartbeat ends on
/// purpose instead of going silent).
pub(crate) async fn failed<T>(
    shard: Option<&Shard>,
    result: anyhow::Result<T>,
) -> anyhow::Result<T> {
    if result.is_err()
        && let Some(shard) = shard
        && let Err(err) = shard.fail().await
    {
        tracing::warn!(target: "spammer", %err, "could not mark the shard failed");
    }
    result
}

/// Where the merged report of the run is, for the end of a shard's output.
pub(crate) fn merged_note(shard: &Shard, db: &DbArgs) -> String {
    let spec = shard.spec();
    let shown = db.shown();
    let db = if shown.contains(['/', '.']) {
        format!("--db {shown}")
    } else {
        "and this --db".to_owned()
    };
    format!(
        "{spec} done; the merged report of every shard: spammer report --run {} {db}",
        spec.name()
    )
}
