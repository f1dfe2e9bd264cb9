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
        // server shutting down or starting, lock not available.
        matches!(
            code,
            "40001" | "40P01" | "53300" | "55P03" | "57P01" | "57P02" | "57P03"
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
