//! Connections for the statements every request makes (its credential, the
//! page it reads), handed back without sqlx's release ping.
//!
//! sqlx returns a pooled connection by spawning a task that pings it first
//! (`sqlx-core` 0.8, `PoolConnection::drop`): on SQLite that is a new task
//! and two more hand-offs to the connection's worker thread for every
//! statement: without it an API list request on one connection makes 7.8
//! thread switches instead of 12.8 (bench/NOTES.md). The ping exists for
//! connections a cancelled query may have left mid-protocol. A SQLite
//! connection cannot be left that way: its worker thread runs every command
//! to the end and resets the statement, whether or not anyone still waits
//! for the rows, and it cannot go stale like a socket. So on SQLite a few
//! connections are kept aside, detached from the pool, and returned by a
//! push onto a list. PostgreSQL keeps the release ping, since a socket may
//! have been left mid-reply, and a connection idle for a second is pinged
//! again before use (`connect.rs`), since a socket may have died.
//!
//! Only single statements outside transactions run here; anything that
//! begins a transaction uses the pool.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};

use crate::{Backend, StorageError, Store};

/// How many SQLite connections are kept aside. Requests beyond that use the
/// pool as before; two cores are busy long before four requests are.
pub(crate) const QUICK_CONNECTIONS: u32 = 4;

#[derive(Default)]
pub(crate) struct QuickConnections {
    idle: Mutex<Vec<AnyConnection>>,
    /// Connections detached for this list, idle or in use.
    owned: AtomicU32,
    closed: AtomicBool,
}

impl QuickConnections {
    pub(crate) fn idle(&self) -> u32 {
        self.idle.lock().map(|idle| idle.len() as u32).unwrap_or(0)
    }

    pub(crate) fn owned(&self) -> u32 {
        self.owned.load(Ordering::Relaxed)
    }

    /// Drops the idle connections; those in use are dropped when they come
    /// back.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut idle) = self.idle.lock() {
            let closing = idle.len() as u32;
            idle.clear();
            self.owned.fetch_sub(closing, Ordering::Relaxed);
        }
    }

    fn take_idle(&self) -> Option<AnyConnection> {
        self.idle.lock().ok()?.pop()
    }

    /// Counts one more owned connection, unless the list is full. The count
    /// is given back if the connection never arrives, even when the request
    /// waiting for it is dropped.
    fn reserve(&self) -> Option<Reservation<'_>> {
        self.owned
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |owned| {
                (owned < QUICK_CONNECTIONS).then_some(owned + 1)
            })
            .ok()
            .map(|_| Reservation {
                from: self,
                filled: false,
            })
    }

    fn give_back(&self, conn: AnyConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            // Checked under the lock that `close` takes after setting it, so
            // nothing is pushed after `close` has emptied the list.
            if !self.closed.load(Ordering::SeqCst) {
                idle.push(conn);
                return;
            }
        }
        self.owned.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Reservation<'s> {
    from: &'s QuickConnections,
    filled: bool,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.filled {
            self.from.owned.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A connection for one statement (or a few, one after another), from the
/// quick list on SQLite when one is free, from the pool otherwise.
pub(crate) enum StatementConnection<'s> {
    Quick {
        conn: Option<AnyConnection>,
        from: &'s QuickConnections,
    },
    Pooled(PoolConnection<Any>),
}

impl Store {
    /// A connection for statements that need no transaction.
    pub(crate) async fn statement_connection(
        &self,
    ) -> Result<StatementConnection<'_>, StorageError> {
        if self.backend() == Backend::Sqlite {
            let quick = &self.quick;
            if let Some(conn) = quick.take_idle() {
                return Ok(StatementConnection::Quick {
                    conn: Some(conn),
                    from: quick,
                });
            }
            if let Some(mut reservation) = quick.reserve() {
                let conn = detach_one(&self.pool).await?;
                reservation.filled = true;
                return Ok(StatementConnection::Quick {
                    conn: Some(conn),
                    from: quick,
                });
            }
        }
        Ok(StatementConnection::Pooled(self.pool.acquire().await?))
    }
}

/// A connection opened by the pool (so with its settings applied), no
/// longer counted by it.
async fn detach_one(pool: &AnyPool) -> Result<AnyConnection, StorageError> {
    Ok(pool.acquire().await?.detach())
}

impl Deref for StatementConnection<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            StatementConnection::Quick { conn, .. } => {
                conn.as_ref().expect("present until dropped")
            }
            StatementConnection::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for StatementConnection<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            StatementConnection::Quick { conn, .. } => {
                conn.as_mut().expect("present until dropped")
            }
            StatementConnection::Pooled(conn) => conn,
        }
    }
}

impl Drop for StatementConnection<'_> {
    fn drop(&mut self) {
        if let StatementConnection::Quick { conn, from } = self {
            if let Some(conn) = conn.take() {
                from.give_back(conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::TestDatabase;
    use crate::StoreOptions;

    #[tokio::test]
    async fn set_aside_connections_are_reused_and_a_dropped_checkout_gives_its_place_back() {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let options = StoreOptions {
            max_connections: 1,
            ..StoreOptions::default()
        };
        let store = Store::connect(&db.url, &options).await.unwrap();
        store.migrate().await.unwrap();

        // The pool's one connection is busy, so a checkout that must open a
        // set-aside connection waits; it is dropped while waiting.
        let busy = store.pool.acquire().await.unwrap();
        let waiting = store.statement_connection();
        assert!(tokio::time::timeout(Duration::from_millis(50), waiting)
            .await
            .is_err());
        assert_eq!(
            store.quick.owned(),
            0,
            "the dropped checkout's place is free"
        );
        drop(busy);

        let mut held = Vec::new();
        for _ in 0..QUICK_CONNECTIONS {
            let conn = store.statement_connection().await.unwrap();
            assert!(matches!(conn, StatementConnection::Quick { .. }));
            held.push(conn);
        }
        let overflow = store.statement_connection().await.unwrap();
        assert!(matches!(overflow, StatementConnection::Pooled(_)));
        drop(overflow);
        drop(held);
        assert_eq!(store.quick.idle(), QUICK_CONNECTIONS);
        assert_eq!(store.quick.owned(), QUICK_CONNECTIONS);

        store.close().await;
        assert_eq!((store.quick.idle(), store.quick.owned()), (0, 0));
    }
}
