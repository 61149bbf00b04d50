//! One integration-test binary: the real server on a real port, over a
//! fresh SQLite file or PostgreSQL database per test. Most tests run on
//! both backends, as `sqlite::name` and `postgres::name`.

mod helpers;

/// Runs each listed async test body once per backend.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(regen_storage::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(regen_storage::Backend::Postgres).await })*
        }
    };
}

mod accounts;
mod activity;
mod api;
mod assets;
mod audit;
mod auth;
mod bulk;
mod bulk_pages;
mod cli;
mod cli_accounts;
mod export_limits;
mod filters;
mod hostile;
mod idempotency;
mod ops;
mod pages;
mod progress;
mod redaction;
mod sso;
mod stats;
mod ux;
