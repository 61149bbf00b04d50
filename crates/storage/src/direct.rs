//! Reads on the request's own thread (SQLite only).
//!
//! Every sqlx statement on SQLite is a message to the connection's worker
//! thread and a message back: two thread wake-ups, about 50 µs of a
//! one-connection request's latency on two cores, several times what SQLite
//! itself spends on a token lookup (bench/NOTES.md). The statements every
//! API request makes (its token, its listing page) run here instead, on
//! connections whose handle is taken out of sqlx's worker thread once, when
//! the store opens (`lock_handle`), and driven through SQLite's C API by the
//! calling thread.
//!
//! What keeps this safe:
//! * read-only: the connections run with `PRAGMA query_only`, and a
//!   statement that SQLite does not call read-only is refused before it runs;
//! * never waits: the busy timeout is zero, and a read that SQLite would
//!   make wait (rare in WAL mode) goes back to the sqlx path, as does a
//!   request that finds every direct connection in use;
//! * bounded: only statements with bounded work run here (a lookup by a
//!   unique key, a listing page under its scan budget), because they occupy
//!   the async worker thread while they run;
//! * fresh: each statement is its own read transaction, so it sees every
//!   commit made before it started, by any connection or instance;
//! * one user at a time: a connection is taken out of the list for the
//!   duration of one call, with no `.await` in between.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use libsqlite3_sys as ffi;
use sqlx::sqlite::{LockedSqliteHandle, SqliteConnectOptions, SqliteConnection};
use sqlx::Connection;

use crate::StorageError;

/// Direct connections per store: one per async worker thread of a
/// two-core server is enough, since a call never awaits while holding one.
pub(crate) const DIRECT_CONNECTIONS: usize = 2;

/// A bound value.
pub(crate) enum Param<'a> {
    Text(&'a str),
    Int(i64),
}

/// One result row: each column as text, `None` for NULL.
pub(crate) type DirectRow = Vec<Option<String>>;

/// Why a direct read did not answer.
#[derive(Debug)]
pub(crate) enum DirectError {
    /// SQLite would have made the read wait: run it on the sqlx path.
    WouldWait,
    /// The statement failed (or is not read-only).
    Failed(String),
}

struct Statement(NonNull<ffi::sqlite3_stmt>);

pub(crate) struct DirectConnection {
    statements: HashMap<String, Statement>,
    /// Borrows `*connection`; released in `Drop` before the connection is.
    handle: Option<LockedSqliteHandle<'static>>,
    connection: NonNull<SqliteConnection>,
}

// SAFETY: SQLite runs in multi-thread mode (sqlx opens with NOMUTEX): a
// connection and its statements may move between threads as long as one
// thread uses them at a time, which `DirectReads` ensures by handing each
// connection to one caller at a time.
unsafe impl Send for DirectConnection {}

impl DirectConnection {
    async fn open(options: &SqliteConnectOptions) -> Result<DirectConnection, StorageError> {
        let connection = Box::new(SqliteConnection::connect_with(options).await?);
        let connection = NonNull::from(Box::leak(connection));
        // SAFETY: `connection` stays allocated until `Drop`, which releases
        // the handle first; nothing else touches the connection meanwhile.
        let locked = unsafe { &mut *connection.as_ptr() }.lock_handle().await;
        let handle = match locked {
            // SAFETY: as above: the borrow outlives no use of the connection.
            Ok(handle) => unsafe {
                std::mem::transmute::<LockedSqliteHandle<'_>, LockedSqliteHandle<'static>>(handle)
            },
            Err(error) => {
                // SAFETY: no handle was taken; the box is ours again.
                drop(unsafe { Box::from_raw(connection.as_ptr()) });
                return Err(error.into());
            }
        };
        Ok(DirectConnection {
            statements: HashMap::new(),
            handle: Some(handle),
            connection,
        })
    }

    fn db(&mut self) -> *mut ffi::sqlite3 {
        self.handle
            .as_mut()
            .expect("held until dropped")
            .as_raw_handle()
            .as_ptr()
    }

    fn error(&mut self, code: c_int) -> DirectError {
        if matches!(code & 0xff, ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED) {
            return DirectError::WouldWait;
        }
        // SAFETY: the handle is open; the message is copied before any other call.
        let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db())) };
        DirectError::Failed(format!(
            "sqlite error {code}: {}",
            message.to_string_lossy()
        ))
    }

    fn prepared(&mut self, sql: &str) -> Result<*mut ffi::sqlite3_stmt, DirectError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.0.as_ptr());
        }
        let db = self.db();
        let mut statement = std::ptr::null_mut();
        // SAFETY: `sql` is valid for `len` bytes; SQLite copies what it keeps.
        let code = unsafe {
            ffi::sqlite3_prepare_v3(
                db,
                sql.as_ptr() as *const c_char,
                c_int::try_from(sql.len())
                    .map_err(|_| DirectError::Failed("statement too long".into()))?,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut statement,
                std::ptr::null_mut(),
            )
        };
        if code != ffi::SQLITE_OK {
            return Err(self.error(code));
        }
        let statement =
            NonNull::new(statement).ok_or_else(|| DirectError::Failed("empty statement".into()))?;
        // SAFETY: a statement just prepared on this connection.
        if unsafe { ffi::sqlite3_stmt_readonly(statement.as_ptr()) } == 0 {
            // SAFETY: not cached, finalised once.
            unsafe { ffi::sqlite3_finalize(statement.as_ptr()) };
            return Err(DirectError::Failed(format!(
                "not a read-only statement: {sql}"
            )));
        }
        self.statements.insert(sql.to_owned(), Statement(statement));
        Ok(statement.as_ptr())
    }

    /// Runs one read-only statement with `params` bound to `$1…` in order,
    /// returning up to `max_rows` rows of `columns` columns each.
    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        columns: usize,
    ) -> Result<Vec<DirectRow>, DirectError> {
        let statement = self.prepared(sql)?;
        let result = self.run(statement, params, columns);
        // SAFETY: the statement belongs to this connection; resetting ends
        // its read transaction, whatever happened above.
        unsafe {
            ffi::sqlite3_reset(statement);
            ffi::sqlite3_clear_bindings(statement);
        }
        result
    }

    fn run(
        &mut self,
        statement: *mut ffi::sqlite3_stmt,
        params: &[Param<'_>],
        columns: usize,
    ) -> Result<Vec<DirectRow>, DirectError> {
        // SQLite numbers `$n` parameters in the order they first appear in
        // the text, so each is bound by the number in its name (as sqlx
        // does), not by its position.
        // SAFETY: a prepared statement of this connection.
        let count = unsafe { ffi::sqlite3_bind_parameter_count(statement) };
        for position in 1..=count {
            // SAFETY: `position` is within the statement's parameters; the
            // name lives as long as the statement.
            let name = unsafe { ffi::sqlite3_bind_parameter_name(statement, position) };
            let number = (!name.is_null())
                .then(|| unsafe { CStr::from_ptr(name) }.to_str().ok())
                .flatten()
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|number| number.parse::<usize>().ok())
                .ok_or_else(|| DirectError::Failed(format!("parameter {position} is not $n")))?;
            let param = number
                .checked_sub(1)
                .and_then(|index| params.get(index))
                .ok_or_else(|| DirectError::Failed(format!("no value for ${number}")))?;
            // SAFETY: SQLITE_TRANSIENT makes SQLite copy the text before
            // returning, so `text` need not outlive the call.
            let code = unsafe {
                match param {
                    Param::Text(text) => ffi::sqlite3_bind_text(
                        statement,
                        position,
                        text.as_ptr() as *const c_char,
                        c_int::try_from(text.len())
                            .map_err(|_| DirectError::Failed("value too long".into()))?,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                    Param::Int(value) => ffi::sqlite3_bind_int64(statement, position, *value),
                }
            };
            if code != ffi::SQLITE_OK {
                return Err(self.error(code));
            }
        }
        let mut rows = Vec::new();
        loop {
            // SAFETY: a prepared statement of this connection, values bound.
            match unsafe { ffi::sqlite3_step(statement) } {
                ffi::SQLITE_ROW => rows.push(read_row(statement, columns)?),
                ffi::SQLITE_DONE => return Ok(rows),
                code => return Err(self.error(code)),
            }
        }
    }
}

fn read_row(statement: *mut ffi::sqlite3_stmt, columns: usize) -> Result<DirectRow, DirectError> {
    (0..columns as c_int)
        .map(|column| {
            // SAFETY: the statement is on a row; the text pointer is valid
            // until the next step or reset, and is copied right away.
            unsafe {
                if ffi::sqlite3_column_type(statement, column) == ffi::SQLITE_NULL {
                    return Ok(None);
                }
                let text = ffi::sqlite3_column_text(statement, column);
                let len = ffi::sqlite3_column_bytes(statement, column) as usize;
                let bytes = if text.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(text, len)
                };
                std::str::from_utf8(bytes)
                    .map(|text| Some(text.to_owned()))
                    .map_err(|e| DirectError::Failed(format!("column {column} is not UTF-8: {e}")))
            }
        })
        .collect()
}

impl Drop for DirectConnection {
    fn drop(&mut self) {
        for (_, statement) in self.statements.drain() {
            // SAFETY: each statement is finalised once, before its connection closes.
            unsafe { ffi::sqlite3_finalize(statement.0.as_ptr()) };
        }
        // Give the handle back to sqlx's worker thread, then close the
        // connection through sqlx as usual.
        drop(self.handle.take());
        // SAFETY: leaked in `open`, no borrow of it is left.
        drop(unsafe { Box::from_raw(self.connection.as_ptr()) });
    }
}

/// The direct connections of one store.
#[derive(Default)]
pub(crate) struct DirectReads {
    idle: Mutex<Vec<DirectConnection>>,
    open: AtomicU32,
    closed: AtomicBool,
    /// Reads answered here, for tests that prove this path is taken.
    served: AtomicU64,
}

impl DirectReads {
    /// Opens the connections: read-only, never waiting for a lock, and with
    /// the page cache of `cache_kib`.
    pub(crate) async fn open(url: &str, cache_kib: u32) -> Result<DirectReads, StorageError> {
        let options: SqliteConnectOptions = url
            .parse::<SqliteConnectOptions>()
            .map_err(|e| StorageError::InvalidUrl(format!("invalid DATABASE_URL: {e}")))?
            .busy_timeout(Duration::ZERO)
            .pragma("query_only", "ON")
            .pragma("cache_size", format!("-{cache_kib}"));
        let mut idle = Vec::with_capacity(DIRECT_CONNECTIONS);
        for _ in 0..DIRECT_CONNECTIONS {
            idle.push(DirectConnection::open(&options).await?);
        }
        Ok(DirectReads {
            idle: Mutex::new(idle),
            open: AtomicU32::new(DIRECT_CONNECTIONS as u32),
            closed: AtomicBool::new(false),
            served: AtomicU64::new(0),
        })
    }

    /// Runs `read` on a free direct connection. `None` when every one is in
    /// use, SQLite would have made the read wait, or the read failed: the
    /// caller then runs the same read through sqlx, which classifies any
    /// error the way every other statement's errors are.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&mut DirectConnection) -> Result<T, DirectError>,
    ) -> Option<T> {
        let mut connection = self.idle.lock().ok()?.pop()?;
        let result = read(&mut connection);
        match self.idle.lock() {
            // Checked under the lock `close` takes after setting it.
            Ok(mut idle) if !self.closed.load(Ordering::SeqCst) => idle.push(connection),
            _ => {
                self.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
        match result {
            Ok(found) => {
                self.served.fetch_add(1, Ordering::Relaxed);
                Some(found)
            }
            Err(DirectError::WouldWait) => None,
            Err(DirectError::Failed(message)) => {
                tracing::warn!(error = %message, "direct read failed; running it through the pool");
                None
            }
        }
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut idle) = self.idle.lock() {
            self.open.fetch_sub(idle.len() as u32, Ordering::Relaxed);
            idle.clear();
        }
    }

    /// Open connections, and those of them not in use.
    pub(crate) fn counts(&self) -> (u32, u32) {
        let idle = self.idle.lock().map(|idle| idle.len() as u32).unwrap_or(0);
        (self.open.load(Ordering::Relaxed), idle)
    }

    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{Backend, Store, StoreOptions};

    async fn store() -> (TestDatabase, Store) {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let store = Store::connect(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        (db, store)
    }

    #[tokio::test]
    async fn parameters_are_bound_by_their_number_and_statements_are_reused() {
        let (_db, store) = store().await;
        for _ in 0..3 {
            let rows = store
                .direct
                .read(|c| c.query("SELECT $2, $1, NULL", &[Param::Text("a"), Param::Int(7)], 3))
                .unwrap();
            assert_eq!(rows, vec![vec![Some("7".into()), Some("a".into()), None]]);
        }
        assert_eq!(store.direct.served(), 3);
    }

    #[tokio::test]
    async fn writes_are_refused_and_leave_nothing_behind() {
        let (_db, store) = store().await;
        let insert = "INSERT INTO users (id, username, role, password_hash, created_at) \
                      VALUES ('u1', 'mallory', 'admin', 'x', '2026-01-01T00:00:00.000Z')";
        assert!(store.direct.read(|c| c.query(insert, &[], 0)).is_none());
        // The connection is read-only too, whatever the statement check says.
        let query_only = store
            .direct
            .read(|c| c.query("PRAGMA query_only", &[], 1))
            .unwrap();
        assert_eq!(query_only, vec![vec![Some("1".into())]]);
        let users: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(users.0, 0);
        assert_eq!(
            store.direct.counts(),
            (DIRECT_CONNECTIONS as u32, DIRECT_CONNECTIONS as u32)
        );
    }

    #[tokio::test]
    async fn a_closed_store_reads_nothing_here() {
        let (_db, store) = store().await;
        store.close().await;
        assert!(store.direct.read(|c| c.query("SELECT 1", &[], 1)).is_none());
        assert_eq!(store.direct.counts(), (0, 0));
    }
}
