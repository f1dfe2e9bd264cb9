//! What a run leaves behind: the store it writes to (`--db`), `report.json` and `report.html`
//! (`--report-dir`) and the thresholds that set the exit code.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use spam_core::{Report, Thresholds};
use spam_store::{SqlStore, Store};

use crate::input::{self, bad_input};

/// Where runs are persisted.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DbArgs {
    /// Where the run is persisted: a SQLite file (created if missing), or a `sqlite://…` or
    /// `postgres://…` URL. `spammer report` reads it back.
    #[arg(
        long,
        env = "SPAM_DB",
        default_value = "spammer.db",
        value_name = "FILE|URL"
    )]
    db: String,
    /// Persist nothing.
    #[arg(long)]
    no_db: bool,
}

impl DbArgs {
    /// The store to write the run to, `None` with `--no-db`.
    ///
    /// # Errors
    /// [`BadInput`](input::BadInput) when it cannot be opened.
    pub(crate) async fn open(&self) -> anyhow::Result<Option<RunStore>> {
        if self.no_db {
            return Ok(None);
        }
        // What this open creates, found before it creates it: the topmost missing folder, or
        // the file itself.
        let created = (!self.db.contains("://") && !self.db.starts_with("sqlite:"))
            .then(|| Path::new(&self.db))
            .and_then(|path| {
                path.ancestors()
                    .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
                    .last()
            })
            .map(Path::to_path_buf);
        let store = open_store(&self.db, true).await?;
        Ok(Some(RunStore { store, created }))
    }
}

/// The store a run writes to, and what opening it created on disk.
#[derive(Debug)]
pub(crate) struct RunStore {
    store: Arc<dyn Store>,
    /// The SQLite file (or the topmost folder above it) that did not exist before the open.
    created: Option<PathBuf>,
}

impl RunStore {
    /// The store, for the engine's builder.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Closes the store (SQLite checkpoints its WAL: no `-wal`/`-shm` files stay). When the run
    /// never started, nothing of it was written: a database this open created is removed with
    /// its `-wal`/`-shm` files and any folder made for it, so a refused run leaves nothing.
    pub(crate) async fn close(self, started: bool) {
        self.store.close().await;
        let Some(created) = self.created.filter(|_| !started) else {
            return;
        };
        let paths: Vec<PathBuf> = if created.is_dir() {
            vec![created]
        } else {
            ["", "-wal", "-shm", "-journal"]
                .iter()
                .map(|suffix| {
                    let mut path = created.clone().into_os_string();
                    path.push(suffix);
                    PathBuf::from(path)
                })
                .collect()
        };
        for path in paths {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(target: "spammer", path = %path.display(), %err, "could not remove the unused database");
                }
                _ => {}
            }
        }
    }
}

/// Opens `spec`: a URL with a scheme, else a SQLite file (created with its folder when
/// `create`).
pub(crate) async fn open_store(spec: &str, create: bool) -> anyhow::Result<Arc<dyn Store>> {
    let opened = if spec.contains("://") || spec.starts_with("sqlite:") {
        SqlStore::open(spec).await
    } else {
        let path = Path::new(spec);
        if !create && !path.is_file() {
            return Err(bad_input(format!("--db {spec}: no such file")));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && create
        {
            std::fs::create_dir_all(parent)
                .map_err(|err| bad_input(format!("--db {spec}: {err}")))?;
        }
        SqlStore::sqlite(path).await
    };
    // The display form of a URL may hold a password: name only the kind of store.
    let shown = if spec.contains("://") {
        spec.split("://").next().unwrap_or("database")
    } else {
        spec
    };
    let store = opened.map_err(|err| bad_input(format!("--db {shown}: {err}")))?;
    Ok(Arc::new(store))
}

/// `--report-dir` and the thresholds of `run` and `loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OutputArgs {
    /// Write `report.json` (the full report) and `report.html` (the same with charts) into this
    /// folder, created if missing.
    #[arg(long, env = "SPAM_REPORT_DIR", value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Fail (exit 1) when the p99 of inclusion latency is above this, e.g. 2s.
    #[arg(long, value_name = "DUR", value_parser = input::duration)]
    max_p99: Option<Duration>,
    /// Fail (exit 1) when fewer than this share of tasks (sends) succeeded, e.g. 0.99.
    #[arg(
        long,
        value_name = "RATE",
        allow_negative_numbers = true,
        value_parser = input::fraction
    )]
    min_success: Option<f64>,
    /// Fail (exit 1) when more than this share of offered transactions was dropped, e.g. 0.01.
    #[arg(
        long,
        value_name = "RATE",
        allow_negative_numbers = true,
        value_parser = input::fraction
    )]
    max_drop_rate: Option<f64>,
    /// Fail (exit 1) when more than this many tasks (sends) failed.
    #[arg(long, value_name = "N")]
    max_errors: Option<u64>,
}

impl OutputArgs {
    /// Refuses a `--report-dir` that cannot become a folder, before anything runs.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        match &self.report_dir {
            Some(dir) if dir.exists() && !dir.is_dir() => Err(bad_input(format!(
                "--report-dir {}: exists and is not a folder",
                dir.display()
            ))),
            _ => Ok(()),
        }
    }

    fn thresholds(&self) -> Option<Thresholds> {
        let mut t = Thresholds::default();
        let mut any = false;
        if let Some(limit) = self.max_p99 {
            t = t.with_max_p99_inclusion(limit);
            any = true;
        }
        if let Some(rate) = self.min_success {
            t = t.with_min_success_rate(rate);
            any = true;
        }
        if let Some(rate) = self.max_drop_rate {
            t = t.with_max_drop_rate(rate);
            any = true;
        }
        if let Some(count) = self.max_errors {
            t = t.with_max_error_count(count);
            any = true;
        }
        any.then_some(t)
    }

    /// Prints the report, writes `report.json` and `report.html`, checks the thresholds: exit
    /// code 1 when one failed, 130 after a Ctrl-C, else 0.
    ///
    /// # Errors
    /// The report folder cannot be written.
    pub(crate) fn finish(&self, report: &Report, interrupted: bool) -> anyhow::Result<ExitCode> {
        println!("{report}");
        if let Some(dir) = &self.report_dir {
            write_reports(dir, report)?;
        }
        let passed = match self.thresholds() {
            Some(thresholds) => {
                let verdict = report.check(&thresholds);
                println!("thresholds: {verdict}");
                verdict.passed
            }
            None => true,
        };
        Ok(if !passed {
            ExitCode::FAILURE
        } else if interrupted {
            ExitCode::from(130)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// Writes `dir/report.json` and `dir/report.html`.
pub(crate) fn write_reports(dir: &Path, report: &Report) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, content) in [
        ("report.json", report.to_json()),
        ("report.html", report.to_html()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
