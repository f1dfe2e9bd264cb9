//! [`SqlOptions`]: where a [`SqlStore`](crate::SqlStore) connects and how.

use std::{num::NonZeroU32, path::Path, time::Duration};

use crate::Error;

/// The database behind a [`SqlStore`](crate::SqlStore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (feature `sqlite`, on by default).
    Sqlite,
    /// PostgreSQL (feature `postgres`).
    Postgres,
}

/// How to open a [`SqlStore`](crate::SqlStore).
///
/// URLs: `sqlite::memory:`, `sqlite://path/to/file.db` (created if missing), `sqlite:file.db`,
/// `postgres://user:pass@host:port/db`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use spam_store::SqlOptions;
///
/// let options = SqlOptions::new("postgres://postgres@127.0.0.1:5432/test")
///     .with_schema("run_42")
///     .with_busy_timeout(Duration::from_millis(250));
/// assert_eq!(options.schema(), Some("run_42"));
/// ```
#[derive(Debug, Clone)]
pub struct SqlOptions {
    pub(crate) url: String,
    pub(crate) max_connections: NonZeroU32,
    pub(crate) busy_timeout: Duration,
    pub(crate) acquire_timeout: Duration,
    pub(crate) schema: Option<String>,
    pub(crate) statement_timeout: Duration,
    pub(crate) max_pages: Option<u32>,
}

impl SqlOptions {
    /// Options for `url`, with defaults: 4 connections (1 for an in-memory SQLite database,
    /// which lives in its connection), 1 s SQLite busy timeout, 10 s to get a connection,
    /// 30 s PostgreSQL statement timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: NonZeroU32::new(4).expect("4 is not zero"),
            busy_timeout: Duration::from_secs(1),
            acquire_timeout: Duration::from_secs(10),
            schema: None,
            statement_timeout: Duration::from_secs(30),
            max_pages: None,
        }
    }

    /// Options for the SQLite file at `path` (created if missing).
    pub fn sqlite(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_string_lossy();
        let mut url = String::from("sqlite://");
        for c in path.chars() {
            // The path is percent-decoded by the driver: escape what a URL would cut at.
            match c {
                '%' | '?' | '#' | ' ' => url.push_str(&format!("%{:02X}", c as u32)),
                c => url.push(c),
            }
        }
        url.push_str("?mode=rwc");
        Self::new(url)
    }

    /// Options for a private in-memory SQLite database.
    pub fn sqlite_memory() -> Self {
        Self::new("sqlite::memory:")
    }

    /// At most `n` pooled connections (ignored for in-memory SQLite).
    pub fn with_max_connections(mut self, n: NonZeroU32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long SQLite waits on a lock before a write fails as busy (retryable; the
    /// [`Writer`](crate::Writer) retries with backoff).
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How long to wait for a free pooled connection.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// PostgreSQL only: how long one statement may run before the server cancels it. A
    /// stalled server (a lock held elsewhere, a full disk) then fails the batch cleanly —
    /// nothing of it lands, and the [`Writer`](crate::Writer) retries it — instead of holding
    /// the run's end forever. Zero turns it off.
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// SQLite only: the file may grow to at most `pages` pages (`PRAGMA max_page_count`; a
    /// page is 4 KiB); writes beyond fail as "database or disk is full". Bounds the disk a
    /// long run uses, and makes a full disk on demand in tests.
    pub fn with_sqlite_max_pages(mut self, pages: u32) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// PostgreSQL only: keep the tables in `schema` (created if missing; letters, digits and
    /// `_`), so several stores share one database without seeing each other.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The PostgreSQL schema, if set.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The backend the URL names.
    ///
    /// Whether this build can open it depends on sqlx's drivers: feature `sqlite` (default) or
    /// `postgres` of this crate, or of sqlx enabled by another crate. Without the driver,
    /// opening fails with sqlx's "no driver found for URL scheme".
    ///
    /// # Errors
    /// [`Error::Config`] for another scheme, or a schema name on SQLite or with characters
    /// other than letters, digits and `_`.
    pub fn backend(&self) -> Result<Backend, Error> {
        let scheme = self.url.split(':').next().unwrap_or_default();
        let backend = match scheme {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            other => {
                return Err(Error::Config {
                    reason: format!(
                        "unknown url scheme `{other}`: use `sqlite:…` or `postgres://…`"
                    ),
                });
            }
        };
        if let Some(schema) = &self.schema {
            let valid = !schema.is_empty()
                && schema.len() <= 63
                && schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !schema.starts_with(|c: char| c.is_ascii_digit());
            if backend != Backend::Postgres || !valid {
                return Err(Error::Config {
                    reason: format!(
                        "schema `{schema}`: only for PostgreSQL, and only letters, digits and `_`"
                    ),
                });
            }
        }
        Ok(backend)
    }

    /// Whether this is an in-memory SQLite database (one per connection).
    pub(crate) fn is_memory(&self) -> bool {
        self.url.contains(":memory:") || self.url.contains("mode=memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_by_scheme() {
        assert_eq!(
            SqlOptions::sqlite_memory().backend().unwrap(),
            Backend::Sqlite
        );
        assert!(SqlOptions::sqlite_memory().is_memory());
        assert!(!SqlOptions::sqlite("/tmp/a.db").is_memory());
        assert!(matches!(
            SqlOptions::new("mysql://x").backend(),
            Err(Error::Config { .. })
        ));
        assert_eq!(
            SqlOptions::new("postgres://u:secret@h/db")
                .backend()
                .unwrap(),
            Backend::Postgres
        );
    }

    #[test]
    fn schema_names_are_checked() {
        for bad in ["", "a-b", "a;drop", "1abc", "x\"y"] {
            let options = SqlOptions::new("postgres://h/db").with_schema(bad);
            assert!(options.backend().is_err(), "{bad}");
        }
        assert!(
            SqlOptions::sqlite_memory()
                .with_schema("s")
                .backend()
                .is_err()
        );
    }

    #[test]
    fn sqlite_paths_are_escaped() {
        assert_eq!(
            SqlOptions::sqlite("/tmp/a b?.db").url,
            "sqlite:///tmp/a%20b%3F.db?mode=rwc"
        );
    }
}
