use std::fmt;

/// Storage failures, classified for the layers above. The underlying sqlx
/// error is kept for logs only; callers decide from the kind.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database is unreachable, overloaded or a lock timed out: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A guard trigger refused the statement (jobs and audit are insert-only).
    #[error("refused by a database guard: {0}")]
    Guard(String),
    /// A uniqueness constraint was violated.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// A row failed a CHECK or foreign-key constraint.
    #[error("rejected by the database: {0}")]
    Rejected(String),
    /// The DATABASE_URL names no database this storage can open.
    #[error("{0}")]
    InvalidUrl(String),
    /// A migration could not be applied (or the applied ones are not the
    /// ones this binary knows).
    #[error("migration failed: {0}")]
    Migration(String),
    /// Anything else, including rows that do not decode.
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
    /// A stored row does not decode into the domain's types.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StorageError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StorageError::Unavailable(_))
    }

    pub(crate) fn corrupt(what: impl fmt::Display) -> Self {
        StorageError::Corrupt(what.to_string())
    }
}

pub(crate) const GUARD_MARKER: &str = "regen_guard:";

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StorageError::Unavailable(error),
            sqlx::Error::Database(db) => {
                let message = db.message().to_owned();
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                if message.contains(GUARD_MARKER) || code == "RG001" {
                    StorageError::Guard(message)
                } else if is_transient(
                    &code,
                    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                        .is_some(),
                ) {
                    StorageError::Unavailable(error)
                } else if db.is_unique_violation() {
                    StorageError::Duplicate(message)
                } else if db.is_check_violation() || db.is_foreign_key_violation() {
                    StorageError::Rejected(message)
                } else {
                    StorageError::Other(error)
                }
            }
            _ => StorageError::Other(error),
        }
    }
}

/// Error codes that mean "try again later" rather than "this is wrong".
fn is_transient(code: &str, postgres: bool) -> bool {
    if !postgres {
        // SQLite reports (extended) result codes as numbers: BUSY = 5, LOCKED = 6.
        return code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
    }
    // PostgreSQL SQLSTATEs: lock/statement timeouts, shutdown, too many
    // connections, serialization failures and deadlocks.
    matches!(
        code,
        "55P03" | "57014" | "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
            // The database refuses connections or is gone: unreachable, as far
            // as a request is concerned.
            | "55000" | "3D000"
    ) || code.starts_with("08")
}
