//! `spammer report`: list the runs of a store, or rebuild one run's report from it.

use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, UNIX_EPOCH},
};

use anyhow::Context as _;
use spam_core::{FromStoreError, Report};
use spam_store::{RunId, RunRecord};

use crate::{
    input::bad_input,
    output::{open_store, write_reports},
};

/// Options of `spammer report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// The store runs were persisted to: a SQLite file, or a `sqlite://…` or `postgres://…` URL.
    #[arg(
        long,
        env = "SPAM_DB",
        default_value = "spammer.db",
        value_name = "FILE|URL"
    )]
    db: String,
    /// The run to rebuild: its number, or the name a sharded run was given with --run-id
    /// (default: the latest).
    #[arg(long, value_name = "ID", conflicts_with = "list", value_parser = run_id)]
    run: Option<RunId>,
    /// List the runs: id, start, chain, workers, engine.
    #[arg(long)]
    list: bool,
    /// Print JSON instead of text: the runs of --list as an array, or the report (as
    /// report.json holds it).
    #[arg(long)]
    json: bool,
    /// Also write `report.json` and `report.html` into this folder, created if missing.
    #[arg(long, value_name = "DIR", conflicts_with = "list")]
    report_dir: Option<PathBuf>,
}

pub(crate) async fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&args.db, false).await?;
    let result = show(&args, store.as_ref()).await;
    store.close().await;
    result
}

/// Lists the runs, or prints (and writes) the report of one.
async fn show(args: &ReportArgs, store: &dyn spam_store::Store) -> anyhow::Result<ExitCode> {
    let runs = store.runs().await.context("reading the runs")?;
    if args.list {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&list_json(&runs))?);
        } else {
            print!("{}", table(&runs));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let id = match args.run {
        Some(id) => id,
        None => {
            runs.last()
                .ok_or_else(|| bad_input(format!("--db {}: holds no run", args.db)))?
                .id
        }
    };
    let report = Report::from_store(store, id)
        .await
        .map_err(|err| match err {
            FromStoreError::NotFound(id) => bad_input(format!("--run {id}: no such run")),
            err => anyhow::Error::new(err).context("rebuilding the report"),
        })?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{report}");
    }
    if let Some(dir) = &args.report_dir {
        write_reports(dir, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--run`: a run number, or a sharded run's name.
fn run_id(s: &str) -> Result<RunId, String> {
    RunId::from_name(s).map_err(|err| err.to_string())
}

/// Where a run stands: its recorded status; for a run that recorded none (written before
/// statuses), `ended` or `unfinished` (crashed, or still running elsewhere).
fn status(run: &RunRecord) -> &'static str {
    match (run.status, run.ended_at_us) {
        (Some(status), _) => status.as_str(),
        (None, Some(_)) => "ended",
        (None, None) => "unfinished",
    }
}

/// The runs as `--list --json` prints them: one object per run, oldest first.
fn list_json(runs: &[RunRecord]) -> serde_json::Value {
    runs.iter()
        .map(|run| {
            serde_json::json!({
                "id": run.id.get(),
                "started_at_unix_ms": run.started_at_us / 1_000,
                "ended_at_unix_ms": run.ended_at_us.map(|us| us / 1_000),
                "chain_id": run.chain_id,
                "workers": run.workers,
                "engine": engine(&run.config),
                "status": status(run),
                "records_dropped": run.records_dropped,
            })
        })
        .collect()
}

/// One line per run, oldest first, under a header.
fn table(runs: &[RunRecord]) -> String {
    let rows = runs.iter().map(|run| {
        let started = UNIX_EPOCH + Duration::from_micros(run.started_at_us);
        let length = run.ended_at_us.map_or_else(
            || "unfinished".to_owned(),
            |end| {
                let secs = end.saturating_sub(run.started_at_us) / 1_000_000;
                humantime::format_duration(Duration::from_secs(secs)).to_string()
            },
        );
        vec![
            run.id.get().to_string(),
            humantime::format_rfc3339_seconds(started)
                .to_string()
                .trim_end_matches('Z')
                .replace('T', " "),
            run.chain_id.to_string(),
            run.workers.to_string(),
            engine(&run.config).to_string(),
            status(run).to_owned(),
            length,
        ]
    });
    let header = [
        "id",
        "started (UTC)",
        "chain",
        "workers",
        "engine",
        "status",
        "length",
    ];
    let mut out = crate::table::render(&header, rows, &[2, 3]);
    if runs.is_empty() {
        out += "(no runs)\n";
    }
    out
}

/// The engine a run's config names: `{"settings": {"engine": …}}` once ended, `{"engine": …}`
/// while running. The closed-loop Spammer names none; its settings list `tasks`.
fn engine(config: &serde_json::Value) -> &str {
    let settings = config.get("settings").unwrap_or(config);
    match settings.get("engine").and_then(serde_json::Value::as_str) {
        Some(engine) => engine,
        None if settings.get("tasks").is_some() => "spammer",
        None => "-",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_run_and_its_engine() {
        let id = RunId::new(42).unwrap();
        let mut ended = RunRecord::new(id, 1_700_000_000_000_000, 31_337);
        ended.ended_at_us = Some(1_700_000_012_500_000);
        ended.workers = 8;
        ended.config = serde_json::json!({ "settings": { "engine": "loadgen" }, "saved": {} });
        ended.status = Some(spam_store::RunStatus::Stopped);
        let mut running = RunRecord::new(RunId::new(7).unwrap(), 1_700_000_100_000_000, 1);
        running.config = serde_json::json!({ "tasks": [["transfer_self", 1]] });

        let table = table(&[ended, running]);
        let rows: Vec<&str> = table.lines().collect();
        assert!(
            rows[0].starts_with("id ") && rows[0].contains("engine"),
            "{table}"
        );
        assert!(rows[1].starts_with("42 "), "{table}");
        assert!(rows[1].contains("2023-11-14 22:13:20"), "{table}");
        assert!(
            rows[1].contains(" 31337 ") && rows[1].contains(" loadgen "),
            "{table}"
        );
        assert!(
            rows[1].ends_with("12s") && rows[1].contains(" stopped "),
            "{table}"
        );
        assert!(
            rows[2].contains(" spammer ") && rows[2].ends_with("unfinished"),
            "{table}"
        );
        assert_eq!(super::table(&[]).lines().nth(1), Some("(no runs)"));
    }
}
