//! SQLite: triggers that arrive together commit together, written by one
//! task on a connection of its own.
//!
//! SQLite has one writer at a time, and a commit costs nearly the same
//! whether it carries one trigger or twenty: a WAL frame for every page it
//! changed (the counters' rows and the newest pages of the audit indexes are
//! the same pages for every trigger) and an fsync. Each trigger taking the
//! write lock for itself also waited for it in SQLite's busy handler, which
//! sleeps a millisecond or more before it looks again, and lost its page
//! cache to the other connections' writes. Here triggers queue instead: the
//! committer takes everything queued (up to [`MOST_PER_COMMIT`]), runs each
//! trigger's own statements and commits once. Its connection is the only
//! one that writes triggers, so its cache stays valid from one commit to
//! the next (bench/NOTES.md, round 2, ninth session).
//!
//! Every trigger is still its own conditional UPDATE and audit INSERT; only
//! the commit is shared, and no trigger is answered before it. If any
//! statement of a batch fails, the whole batch is rolled back and each of
//! its triggers is tried again on its own, on the path that keeps a failing
//! audit row from holding its transition back (`jobs.rs`): one job's failure
//! never becomes another's. A requester that stops waiting does not stop
//! its trigger; the batch commits it, as a server that committed and then
//! lost the connection to its client would.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use regen_domain::AuditEvent;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::jobs::sqlite_trigger_statements;

/// The most triggers one commit carries: enough for every request a busy
/// server has in flight, few enough that other writers (sign-ins, inserts)
/// wait for the write lock no longer than a few milliseconds.
pub(crate) const MOST_PER_COMMIT: usize = 64;

/// What became of a queued trigger.
pub(crate) enum Outcome {
    /// Committed: the job's row as it now is, or `None` when no PENDING job
    /// had the id.
    Committed(Option<AnyRow>),
    /// Not committed (its batch failed, or there is no committer): the
    /// caller triggers on its own.
    TryAlone,
}

struct Queued {
    event: AuditEvent,
    answer: oneshot::Sender<Outcome>,
}

/// The queue in front of the committing task, and the connection it writes
/// on (kept here so that closing the store can close it).
pub(crate) struct Committer {
    queue: mpsc::Sender<Queued>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// The committer's connection while it waits for work.
    idle: Mutex<Option<AnyConnection>>,
    /// 1 while the committer has a connection, idle or in use.
    owned: AtomicU32,
    closed: AtomicBool,
    /// Batches run, committed or not, and the triggers they held.
    batches: AtomicU64,
    batched: AtomicU64,
}

impl Committer {
    /// Starts the committing task; it ends when the store is dropped.
    pub(crate) fn start(pool: AnyPool) -> Committer {
        let (queue, waiting) = mpsc::channel(MOST_PER_COMMIT * 4);
        let shared = Arc::new(Shared::default());
        tokio::spawn(commit_queued(pool, waiting, shared.clone()));
        Committer { queue, shared }
    }

    pub(crate) async fn trigger(&self, event: AuditEvent) -> Outcome {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Outcome::TryAlone;
        }
        let (answer, answered) = oneshot::channel();
        if self.queue.send(Queued { event, answer }).await.is_err() {
            return Outcome::TryAlone;
        }
        // No answer means the task is gone (its runtime ended) and the
        // batch with it, uncommitted.
        answered.await.unwrap_or(Outcome::TryAlone)
    }

    /// Connections held: 0 or 1.
    pub(crate) fn owned(&self) -> u32 {
        self.shared.owned.load(Ordering::Relaxed)
    }

    pub(crate) fn idle(&self) -> u32 {
        self.shared
            .idle
            .lock()
            .map(|idle| idle.is_some() as u32)
            .unwrap_or(0)
    }

    /// Closes the connection; later triggers go their own way (and meet the
    /// closed pool).
    pub(crate) fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Ok(mut idle) = self.shared.idle.lock() {
            if idle.take().is_some() {
                self.shared.owned.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Batches run, committed or not, and the triggers they held, for tests.
    #[cfg(feature = "testing")]
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.shared.batches.load(Ordering::Relaxed),
            self.shared.batched.load(Ordering::Relaxed),
        )
    }
}

async fn commit_queued(pool: AnyPool, mut waiting: mpsc::Receiver<Queued>, shared: Arc<Shared>) {
    let mut batch = Vec::with_capacity(MOST_PER_COMMIT);
    while waiting.recv_many(&mut batch, MOST_PER_COMMIT).await > 0 {
        shared.batches.fetch_add(1, Ordering::Relaxed);
        shared
            .batched
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let taken = shared.idle.lock().ok().and_then(|mut idle| idle.take());
        let connection = match taken {
            Some(connection) => Some(connection),
            None if shared.closed.load(Ordering::SeqCst) => None,
            None => match pool.acquire().await {
                Ok(connection) => {
                    shared.owned.store(1, Ordering::Relaxed);
                    Some(connection.detach())
                }
                Err(_) => None,
            },
        };
        let committed = match connection {
            Some(mut connection) => {
                let committed = commit_together(&mut connection, &batch).await;
                // A connection whose batch failed may be mid-transaction:
                // it is closed, and the next batch opens another.
                if committed.is_ok() && !shared.closed.load(Ordering::SeqCst) {
                    if let Ok(mut idle) = shared.idle.lock() {
                        *idle = Some(connection);
                    }
                } else {
                    shared.owned.store(0, Ordering::Relaxed);
                }
                committed.ok()
            }
            None => None,
        };
        match committed {
            Some(rows) => {
                for (queued, row) in batch.drain(..).zip(rows) {
                    let _ = queued.answer.send(Outcome::Committed(row));
                }
            }
            None => {
                for queued in batch.drain(..) {
                    let _ = queued.answer.send(Outcome::TryAlone);
                }
            }
        }
    }
}

/// Each trigger's statements, then one commit; on the first error
/// everything is rolled back.
async fn commit_together(
    connection: &mut AnyConnection,
    batch: &[Queued],
) -> Result<Vec<Option<AnyRow>>, sqlx::Error> {
    let mut tx = connection.begin().await?;
    let mut rows = Vec::with_capacity(batch.len());
    for queued in batch {
        match sqlite_trigger_statements(&queued.event)
            .fetch_all(&mut *tx)
            .await
        {
            Ok(returned) => rows.push(returned.into_iter().next()),
            Err(error) => {
                let _ = tx.rollback().await;
                return Err(error);
            }
        }
    }
    tx.commit().await?;
    Ok(rows)
}
