//! [`Error`]: what can go wrong opening, writing or reading a store.

/// Errors of a [`Store`](crate::Store).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database refused or failed an operation; [`Error::is_retryable`] tells whether
    /// trying again later can succeed (locked, busy, connection lost).
    #[error("database error while {op}")]
    Database {
        /// What the store was doing, e.g. `"writing a batch"`.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database could not be reached or refused the connection: `target` names it
    /// (`host:port/database` or the SQLite file, never a password), `reason` says why
    /// (refused, timed out, authentication failed, no such database …).
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// What was connected to.
        target: String,
        /// Why it failed, in words (the driver's message included).
        reason: String,
        /// The driver's error (not a `source`: `reason` already says it).
        driver: sqlx::Error,
    },
    /// The database was written by a newer version of spam-store; upgrade to read it, or use
    /// another file or schema.
    #[error(
        "database schema version {found} is newer than this spam-store supports ({supported}): \
         upgrade spam-store or use another database"
    )]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Latest version this build knows.
        supported: i64,
    },
    /// The options cannot work: a URL of an unknown scheme or of a backend this build does not
    /// include (see the crate's features), or an invalid schema name.
    #[error("invalid store configuration: {reason}")]
    Config {
        /// What is wrong (never contains a password).
        reason: String,
    },
    /// A stored value could not be read back into a record.
    #[error("invalid value in column `{column}`: {reason}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Database { op, source }
    }

    /// A failed connect to `url`, with the target and the cause in words.
    pub(crate) fn connect(
        url: &str,
        timeout: std::time::Duration,
    ) -> impl FnOnce(sqlx::Error) -> Self {
        let target = target_of(url);
        move |source| {
            let reason = connect_reason(&source, timeout);
            Self::Connect {
                target,
                reason,
                driver: source,
            }
        }
    }

    /// Whether trying again later can succeed: the database was busy or locked, a connection
    /// was lost or the pool had none free. Constraint violations, bad SQL, corrupt data and
    /// version mismatches are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database { source, .. } => is_transient(source),
            _ => false,
        }
    }
}

/// `scheme host:port/database` of a URL, without user or password; the path of a SQLite URL.
fn target_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.split('?').next().unwrap_or(url).to_owned();
    };
    if scheme == "sqlite" {
        return rest.split('?').next().unwrap_or(rest).to_owned();
    }
    let rest = rest.split('?').next().unwrap_or(rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let (host, database) = rest.split_once('/').unwrap_or((rest, ""));
    let host = if host.is_empty() { "localhost" } else { host };
    let host = if host.contains(':') && !host.ends_with(']') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    match database {
        "" => format!("{scheme} at {host}"),
        db => format!("{scheme} at {host}, database `{db}`"),
    }
}

/// Why a connect failed, in words a user can act on.
fn connect_reason(error: &sqlx::Error, timeout: std::time::Duration) -> String {
    match error {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is the server running and listening there?)".into()
            }
            std::io::ErrorKind::TimedOut => "timed out".into(),
            _ => io.to_string(),
        },
        sqlx::Error::PoolTimedOut => format!(
            "no connection within {}s (server unreachable or too slow)",
            timeout.as_secs_f64()
        ),
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.as_ref() {
                "3D000" => format!("no such database ({})", db.message()),
                "28P01" | "28000" => format!("authentication failed ({})", db.message()),
                "14" => format!("cannot open the file ({})", db.message()),
                _ => db.message().to_owned(),
            }
        }
        other => other.to_string(),
    }
}

/// The one classifier of driver errors.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_transient_code(&code)),
        _ => false,
    }
}

/// Whether a database error code means "try again". PostgreSQL codes are 5-character
/// SQLSTATEs; SQLite codes are (extended) result codes printed as integers, whose low byte is
/// the primary code.
fn is_transient_code(code: &str) -> bool {
    if code.len() == 5 {
        // Serialization failure, deadlock, connection exceptions, too many connections,
        // server shutting down or starting, lock not available, statement timeout (a stalled
        // server cancelled the batch: nothing of it landed).
        matches!(
            code,
            "40001" | "40P01" | "53300" | "55P03" | "57014" | "57P01" | "57P02" | "57P03"
        ) || code.starts_with("08")
    } else {
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
        code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_codes() {
        let table = [
            ("5", true),     // SQLITE_BUSY
            ("261", true),   // SQLITE_BUSY_RECOVERY
            ("517", true),   // SQLITE_BUSY_SNAPSHOT
            ("773", true),   // SQLITE_BUSY_TIMEOUT
            ("6", true),     // SQLITE_LOCKED
            ("262", true),   // SQLITE_LOCKED_SHAREDCACHE
            ("19", false),   // SQLITE_CONSTRAINT
            ("2067", false), // SQLITE_CONSTRAINT_UNIQUE
            ("1", false),    // SQLITE_ERROR
            ("40001", true),
            ("40P01", true),
            ("08006", true),
            ("57P01", true),
            ("53300", true),
            ("57014", true),  // statement timeout
            ("23505", false), // unique violation
            ("42P01", false), // undefined table
            ("", false),
            ("busy", false),
        ];
        for (code, transient) in table {
            assert_eq!(is_transient_code(code), transient, "{code}");
        }
    }

    #[test]
    fn connect_targets_hide_passwords() {
        assert_eq!(
            target_of("postgres://u:secret@db.example:6543/load?sslmode=disable"),
            "postgres at db.example:6543, database `load`"
        );
        assert_eq!(
            target_of("postgres://127.0.0.1/x"),
            "postgres at 127.0.0.1:5432, database `x`"
        );
        assert_eq!(target_of("sqlite:///tmp/a.db?mode=rwc"), "/tmp/a.db");
        let refused = sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into());
        let err = Error::connect(
            "postgres://u:pw@127.0.0.1:1/test",
            std::time::Duration::from_secs(10),
        )(refused);
        let text = err.to_string();
        assert!(
            text.contains("127.0.0.1:1") && text.contains("refused"),
            "{text}"
        );
        assert!(!text.contains("pw"));
    }

    #[test]
    fn pool_timeouts_retry_config_errors_do_not() {
        assert!(Error::db("x")(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!Error::db("x")(sqlx::Error::RowNotFound).is_retryable());
        assert!(
            !Error::SchemaTooNew {
                found: 2,
                supported: 1
            }
            .is_retryable()
        );
    }
}
