//! Throw-away databases for tests: a fresh SQLite file or a fresh PostgreSQL
//! database per test, never a mock.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, Executor};

use crate::{Backend, Store, StoreOptions};

/// Where the PostgreSQL test suite connects to create its databases.
pub fn postgres_admin_url() -> String {
    std::env::var("REGEN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that lives as long as this value (SQLite) or until a later
/// test run sweeps it (PostgreSQL).
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("regen.db").display());
                TestDatabase {
                    url,
                    backend,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let url = create_postgres_database().await;
                TestDatabase {
                    url,
                    backend,
                    _dir: None,
                }
            }
        }
    }

    /// A raw pool on this database, for proving database-level guarantees
    /// with hand-written SQL, past every layer of the application.
    pub async fn raw_pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.url))
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, &StoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.url));
        store.migrate().await.expect("migrations apply");
        store
    }
}

/// Creates `regen_test_<seconds>_<random>` and drops databases of this kind
/// older than an hour, left behind by earlier runs. Never skips: a missing
/// PostgreSQL fails the test with a message saying how to get one.
async fn create_postgres_database() -> String {
    sqlx::any::install_default_drivers();
    let admin_url = postgres_admin_url();
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
            "PostgreSQL is required for this test suite and is not reachable at {admin_url}: {e}. \
             Start it (see README) or set REGEN_TEST_POSTGRES_URL."
        )
        });
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let stale: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'regen_test_%'")
            .fetch_all(&mut admin)
            .await
            .expect("list databases");
    for (name,) in stale {
        let created: Option<u64> = name.split('_').nth(2).and_then(|s| s.parse().ok());
        if created.is_some_and(|c| c + 3600 < seconds) {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await;
        }
    }
    let name = format!("regen_test_{seconds}_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create test database");
    match admin_url.rfind('/') {
        Some(slash) => format!("{}/{name}", &admin_url[..slash]),
        None => panic!("REGEN_TEST_POSTGRES_URL must end with a database name"),
    }
}

/// Makes the audit table refuse every insert, the way a broken audit store
/// would, so tests can prove that audit failures never block a transition.
pub async fn break_audit_inserts(db: &TestDatabase) {
    break_writes(db, "audit_events", "INSERT").await;
}

/// Undoes [`break_audit_inserts`].
pub async fn repair_audit_inserts(db: &TestDatabase) {
    repair_writes(db, "audit_events").await;
}

/// Makes the audit table refuse the REGEN_JOB_TRIGGERED row of one job
/// only, so tests can prove that one job's failure stays its own.
pub async fn break_trigger_audit_of(db: &TestDatabase, job: regen_domain::JobId) {
    let sql = match db.backend {
        Backend::Sqlite => format!(
            "CREATE TRIGGER test_break_audit_of BEFORE INSERT ON audit_events \
             WHEN NEW.job_id = '{job}' AND NEW.event_type = 'REGEN_JOB_TRIGGERED' \
             BEGIN SELECT RAISE(ABORT, 'this job''s audit is broken'); END;"
        ),
        Backend::Postgres => format!(
            "CREATE OR REPLACE FUNCTION test_break_audit_of() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN IF NEW.job_id = '{job}' AND NEW.event_type = 'REGEN_JOB_TRIGGERED' \
             THEN RAISE EXCEPTION 'this job''s audit is broken'; END IF; RETURN NEW; END; $$; \
             CREATE TRIGGER test_break_audit_of BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION test_break_audit_of();"
        ),
    };
    db.raw_pool()
        .await
        .execute(sqlx::raw_sql(&sql))
        .await
        .unwrap();
}

/// Makes `table` refuse every `operation` (`INSERT` or `UPDATE`) with a
/// database error, from a trigger of the test's own.
pub async fn break_writes(db: &TestDatabase, table: &str, operation: &str) {
    let sql = match db.backend {
        Backend::Sqlite => format!(
            "CREATE TRIGGER test_break_{table} BEFORE {operation} ON {table} \
             BEGIN SELECT RAISE(ABORT, '{table} is broken'); END;"
        ),
        Backend::Postgres => format!(
            "CREATE OR REPLACE FUNCTION test_break_{table}() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION '{table} is broken'; END; $$; \
             CREATE TRIGGER test_break_{table} BEFORE {operation} ON {table} \
             FOR EACH ROW EXECUTE FUNCTION test_break_{table}();"
        ),
    };
    db.raw_pool()
        .await
        .execute(sqlx::raw_sql(&sql))
        .await
        .unwrap();
}

/// Undoes [`break_writes`].
pub async fn repair_writes(db: &TestDatabase, table: &str) {
    let sql = match db.backend {
        Backend::Sqlite => format!("DROP TRIGGER test_break_{table}"),
        Backend::Postgres => format!("DROP TRIGGER test_break_{table} ON {table}"),
    };
    db.raw_pool().await.execute(sql.as_str()).await.unwrap();
}

/// Every filter combination the list API documents, by shape (the values
/// match the demo and benchmark data): what the plan test checks on every
/// run and what `examples/explain_listings.rs` explains at scale.
pub fn documented_filter_shapes() -> Vec<(&'static str, crate::JobFilter)> {
    use regen_domain::{JobStatus, Timestamp};
    let day_ago = Timestamp::from_millis(chrono::Utc::now().timestamp_millis() - 86_400_000);
    let hour_ago = Timestamp::from_millis(chrono::Utc::now().timestamp_millis() - 3_600_000);
    let filter = crate::JobFilter::default;
    let target_type = || Some("article".to_owned());
    let created_by = || Some("editor-bot".to_owned());
    let target_id = || Some("art-0000042".to_owned());
    vec![
        ("no filter", filter()),
        (
            "status",
            crate::JobFilter {
                statuses: vec![JobStatus::Failed],
                ..filter()
            },
        ),
        (
            "two statuses (bounded scan)",
            crate::JobFilter {
                statuses: vec![JobStatus::Failed, JobStatus::Running],
                ..filter()
            },
        ),
        (
            "targetType",
            crate::JobFilter {
                target_type: target_type(),
                ..filter()
            },
        ),
        (
            "targetType + status",
            crate::JobFilter {
                target_type: target_type(),
                statuses: vec![JobStatus::Pending],
                ..filter()
            },
        ),
        (
            "targetType + two statuses (bounded scan)",
            crate::JobFilter {
                target_type: target_type(),
                statuses: vec![JobStatus::Failed, JobStatus::Running],
                ..filter()
            },
        ),
        (
            "targetId",
            crate::JobFilter {
                target_id: target_id(),
                ..filter()
            },
        ),
        (
            "targetId + status (bounded scan)",
            crate::JobFilter {
                target_id: target_id(),
                statuses: vec![JobStatus::Pending],
                ..filter()
            },
        ),
        (
            "createdBy",
            crate::JobFilter {
                created_by: created_by(),
                ..filter()
            },
        ),
        (
            "createdFrom/createdTo (last hour)",
            crate::JobFilter {
                created_from: hour_ago,
                created_to: None,
                ..filter()
            },
        ),
        (
            "createdBy + last 24 h",
            crate::JobFilter {
                created_by: created_by(),
                created_from: day_ago,
                ..filter()
            },
        ),
        (
            "status + last 24 h",
            crate::JobFilter {
                statuses: vec![JobStatus::Pending],
                created_from: day_ago,
                ..filter()
            },
        ),
        (
            "targetType + createdBy (bounded scan)",
            crate::JobFilter {
                target_type: target_type(),
                created_by: Some("insight-service".to_owned()),
                ..filter()
            },
        ),
        (
            "every filter",
            crate::JobFilter {
                statuses: vec![JobStatus::Pending],
                target_type: target_type(),
                target_id: target_id(),
                created_by: created_by(),
                created_from: day_ago,
                created_to: hour_ago,
            },
        ),
    ]
}
