use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

use crate::StorageError;

/// A pooled PostgreSQL connection idle this long is pinged before use: long
/// enough that a busy pool never waits for it, short enough that a server
/// restart is noticed by the ping rather than by a request.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a request waits for a pooled connection (and, on SQLite, for
    /// the write lock) before the storage reports itself unavailable.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// SQLite keeps a page cache per connection (2 MiB each by default), and a
/// long read such as an export fills the cache of every pooled connection it
/// runs on: ten connections held 21 MB after one export of a million jobs.
/// The pool's caches together get this much instead, whatever its size; the
/// operating system's file cache still holds the rest of the database.
pub const SQLITE_POOL_CACHE_KIB: u32 = 8 * 1024;

/// Each connection's share of [`SQLITE_POOL_CACHE_KIB`], never below 256 KiB
/// (enough for the upper levels of every index).
fn sqlite_cache_kib(max_connections: u32) -> u32 {
    (SQLITE_POOL_CACHE_KIB / max_connections.max(1)).max(256)
}

/// A connection pool to the one database of this instance.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// SQLite: triggers take turns for the one write lock (`trigger.rs`).
    pub(crate) sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// The longest a statement waits for a connection or a lock.
    pub(crate) timeout: Duration,
    /// Credentials whose last use a request is writing (`accounts/last_use.rs`).
    pub(crate) last_use_writes: crate::accounts::LastUseWrites,
    backend: Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl Store {
    /// Connects to `url` (`sqlite:…` or `postgres://…`). A SQLite file and
    /// its directory are created when missing.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StorageError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let backend = Backend::from_url(url).ok_or_else(|| {
            StorageError::InvalidUrl(format!(
                "unsupported DATABASE_URL scheme in {:?}: use sqlite: or postgres://",
                redact(url)
            ))
        })?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let connect_options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StorageError::InvalidUrl(format!("invalid DATABASE_URL: {e}")))?
            .disable_statement_logging();
        let busy_ms = options.acquire_timeout.as_millis();
        let cache_kib = sqlite_cache_kib(options.max_connections);
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // sqlx pings a connection when it is handed back (which also
            // flushes a query dropped half-way) and, unless told otherwise,
            // again on every checkout. The second ping is worth a round trip
            // only for a PostgreSQL connection that sat idle long enough for
            // a restarted server or a network device to drop it; under load
            // it was one more round trip per checkout for both processes
            // (bench/NOTES.md, round 2, eighth session). A SQLite connection
            // lives inside this process and cannot go stale.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    match backend {
                        // WAL lets readers run beside the one writer; FULL
                        // makes every commit durable; the busy timeout turns
                        // lock contention into waiting instead of errors; the
                        // page cache is sized so the whole pool's stays
                        // within SQLITE_POOL_CACHE_KIB; statement journals
                        // stay in memory (past 64 KiB, which a trigger's
                        // UPDATE passes when an index page splits, SQLite
                        // would otherwise create, write and unlink a file).
                        Backend::Sqlite => {
                            conn.execute(sqlx::raw_sql(&format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms}; \
                                 PRAGMA cache_size = -{cache_kib}; PRAGMA temp_store = MEMORY;"
                            )))
                            .await?;
                        }
                        Backend::Postgres => {
                            conn.execute(sqlx::raw_sql(&format!(
                                "SET lock_timeout = {busy_ms}; SET statement_timeout = 30000;"
                            )))
                            .await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(connect_options)
            .await?;
        Ok(Store {
            pool,
            sqlite_writer: Arc::default(),
            timeout: options.acquire_timeout,
            last_use_writes: Default::default(),
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the backend's pending migrations. Safe to run from several
    /// instances at once: sqlx serialises them with a database lock.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        self.backend
            .migrator()
            .run(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(inner) => StorageError::from(inner),
                other => StorageError::Migration(other.to_string()),
            })
    }

    /// True when the database answers and every migration this binary knows
    /// has been applied successfully.
    pub async fn is_ready(&self) -> Result<bool, StorageError> {
        let applied: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success = $1")
                .bind(true)
                .fetch_all(&self.pool)
                .await?;
        let applied: Vec<i64> = applied.into_iter().map(|(v,)| v).collect();
        Ok(self
            .backend
            .migrator()
            .iter()
            .all(|m| applied.contains(&m.version)))
    }

    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The raw pool, for tests that must prove database-level guarantees with
    /// hand-written SQL. Not part of the production surface.
    #[cfg(feature = "testing")]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

fn prepare_sqlite_url(url: &str) -> Result<String, StorageError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(StorageError::InvalidUrl(
            "DATABASE_URL must name a SQLite file, e.g. sqlite://data/regen-admin.db".into(),
        ));
    }
    if let Some(dir) = Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StorageError::InvalidUrl(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// The URL without its password, for error messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn sqlite_urls_create_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.db");
        let url = prepare_sqlite_url(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("?mode=rwc"));
        assert!(path.parent().unwrap().is_dir());
    }
}
