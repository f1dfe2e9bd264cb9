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

use crate::input::{self, bad_input, causes};

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
    /// Exit 0 even when records of the run could not be stored (by default a run whose
    /// store lost records fails with exit code 1).
    #[arg(long)]
    pub(crate) allow_store_loss: bool,
}

impl DbArgs {
    /// The `--db` as it may be shown (no password).
    pub(crate) fn shown(&self) -> String {
        shown(&self.db)
    }

    /// Whether `--no-db` was given.
    pub(crate) const fn is_off(&self) -> bool {
        self.no_db
    }

    /// The store to write the run to, `None` with `--no-db`.
    ///
    /// # Errors
    /// [`BadInput`](input::BadInput) when it cannot be opened.
    pub(crate) async fn open(&self) -> anyhow::Result<Option<RunStore>> {
        if self.no_db {
            return Ok(None);
        }
        // What this open creates, found before it creates it: the topmost missing folder, or
        // the file and its -wal/-shm/-journal companions that were not there.
        let created = sqlite_path(&self.db)
            .map(|path| {
                let folder = path
                    .ancestors()
                    .skip(1)
                    .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
                    .last();
                match folder {
                    Some(folder) => vec![folder.to_path_buf()],
                    None => ["", "-wal", "-shm", "-journal"]
                        .iter()
                        .map(|suffix| {
                            let mut file = path.clone().into_os_string();
                            file.push(suffix);
                            PathBuf::from(file)
                        })
                        .filter(|file| !file.exists())
                        .collect(),
                }
            })
            .unwrap_or_default();
        let store = RunStore {
            store: open_store(&self.db, true).await?,
            created,
        };
        // A store that cannot take a write now would lose every record of the run.
        if let Err(err) = store.store.probe().await {
            store.close(false).await;
            return Err(bad_input(format!(
                "--db {}: cannot write to it: {}",
                shown(&self.db),
                causes(&err)
            )));
        }
        Ok(Some(store))
    }
}

/// The store a run writes to, and what opening it created on disk.
#[derive(Debug)]
pub(crate) struct RunStore {
    store: Arc<dyn Store>,
    /// What did not exist before the open: the topmost folder made for the SQLite file, or
    /// the file and its companions.
    created: Vec<PathBuf>,
}

impl RunStore {
    /// The store, for the engine's builder.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Closes the store (SQLite checkpoints its WAL: no `-wal`/`-shm` files stay). When the run
    /// never started, nothing of it was written: what this open created (the database, its
    /// `-wal`/`-shm` files, a folder made for it) is removed, so a refused run leaves nothing.
    pub(crate) async fn close(self, started: bool) {
        self.store.close().await;
        if started {
            return;
        }
        for path in self.created {
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

/// The file of a SQLite `--db` (a path, `sqlite:PATH` or `sqlite://PATH?…`); `None` for
/// in-memory SQLite and other databases.
fn sqlite_path(spec: &str) -> Option<PathBuf> {
    let path = match spec.strip_prefix("sqlite:") {
        Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
        None if spec.contains("://") => return None,
        None => spec,
    };
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// `result`, after closing `store` as never started when `result` is an error: a run refused
/// before it started leaves nothing behind.
pub(crate) async fn unless_refused<T>(
    store: &mut Option<RunStore>,
    result: anyhow::Result<T>,
) -> anyhow::Result<T> {
    if result.is_err()
        && let Some(store) = store.take()
    {
        store.close(false).await;
    }
    result
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
    let store =
        opened.map_err(|err| bad_input(format!("--db {}: {}", shown(spec), causes(&err))))?;
    Ok(Arc::new(store))
}

/// `--db` as it may be printed: a SQLite file by its path; a URL's password is never shown, so
/// other URLs are named by their kind only (their errors name the host and database).
fn shown(spec: &str) -> String {
    match sqlite_path(spec) {
        Some(path) => path.display().to_string(),
        None => spec.split("://").next().unwrap_or("database").to_owned(),
    }
}

/// `--report-dir` and the thresholds of `run` and `loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OutputArgs {
    /// Write `report.json` (the full report) and `report.html` (the same with charts) into this
    /// folder, created if missing.
    #[arg(long, env = "SPAM_REPORT_DIR", value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Fail (exit 1) when the p99 of inclusion latency is above this, e.g. 2s.
    #[arg(long, value_name = "DUR", value_parser = input::duration, allow_hyphen_values = true)]
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
    #[arg(long, value_name = "N", value_parser = input::whole, allow_hyphen_values = true)]
    max_errors: Option<u64>,
}

impl OutputArgs {
    /// Refuses a `--report-dir` that cannot become a writable folder, before anything runs:
    /// the folder (or the nearest existing one above it) must be a folder and take a file.
    /// Nothing is left behind: the probe file is removed and no folder is created.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        let Some(dir) = &self.report_dir else {
            return Ok(());
        };
        let refuse = |why: String| bad_input(format!("--report-dir {}: {why}", dir.display()));
        // The folder itself, or the nearest ancestor that exists (what creating it would
        // write into).
        let existing = dir
            .ancestors()
            .find(|p| p.as_os_str().is_empty() || p.exists())
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."));
        if !existing.is_dir() {
            return Err(refuse(if existing == dir.as_path() {
                "exists and is not a folder".into()
            } else {
                format!("{} is a file, not a folder", existing.display())
            }));
        }
        let probe = existing.join(format!(".spammer-probe-{}", std::process::id()));
        std::fs::File::create_new(&probe)
            .map_err(|err| refuse(format!("cannot write in {}: {err}", existing.display())))?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
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
    /// code 1 when one failed or the store lost records (unless `allow_store_loss`), 130 after
    /// a Ctrl-C, else 0.
    ///
    /// # Errors
    /// The report folder cannot be written.
    pub(crate) fn finish(
        &self,
        report: &Report,
        interrupted: bool,
        allow_store_loss: bool,
    ) -> anyhow::Result<ExitCode> {
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
        let lost = report.store.map_or(0, |s| s.dropped);
        let stored = lost == 0 || allow_store_loss;
        if !stored {
            eprintln!(
                "error: {lost} records of the run were not stored (see the store line above); \
                 pass --allow-store-loss to accept an incomplete stored run"
            );
        }
        Ok(if !passed || !stored {
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
