//! SQLite: triggers that arrive together commit together.
//!
//! SQLite has one writer at a time, and a commit costs nearly the same
//! whether it carries one trigger or twenty: a WAL frame for every page it
//! changed (the counters' rows and the newest pages of the audit indexes are
//! the same pages for every trigger) and an fsync. Each trigger taking the
//! write lock for itself also waited for it in SQLite's busy handler, which
//! sleeps a millisecond or more before it looks again, and found its page
//! cache dropped by the other connections' writes (bench/NOTES.md, round 2,
//! ninth session).
//!
//! So a trigger joins a queue, then waits for the committer's connection.
//! Whoever gets the connection leads: it takes what is queued (at most
//! [`MOST_PER_COMMIT`]), runs each trigger's own UPDATE and audit INSERT and
//! commits once, answers every trigger of the batch, and hands the
//! connection on; a trigger that finds its answer waiting returns it. There
//! is no task of its own: every batch runs inside the request of one of its
//! triggers, and a trigger whose request has gone before its batch began is
//! left out. The connection is the only one that writes triggers, so its
//! page cache stays valid from one commit to the next.
//!
//! Every trigger is still its own conditional UPDATE and audit INSERT; only
//! the commit is shared, and no trigger is answered before it. If any
//! statement of a batch fails, the whole batch is rolled back and each of
//! its triggers is tried again on its own, on the path that keeps a failing
//! audit row from holding its transition back (`jobs.rs`): one job's failure
//! never becomes another's.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use regen_domain::AuditEvent;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::oneshot::{self, error::TryRecvError};

use crate::jobs::{commit_sqlite_triggers, JOB_COLUMNS};

/// The most triggers one commit carries: more than a busy server has in
/// flight, few enough that other writers (sign-ins, inserts) wait for the
/// write lock no more than a few milliseconds.
pub(crate) const MOST_PER_COMMIT: usize = 64;

/// What became of a trigger.
pub(crate) enum Outcome {
    /// Committed: the job's row as it now is, or `None` when no PENDING job
    /// had the id.
    Committed(Option<AnyRow>),
    /// Not committed (its batch failed, or the store is closed): the caller
    /// triggers on its own.
    TryAlone,
}

struct Queued {
    event: AuditEvent,
    answer: oneshot::Sender<Outcome>,
}

pub(crate) struct Committer {
    pool: AnyPool,
    queue: Mutex<Vec<Queued>>,
    /// Held by the trigger that leads the current batch.
    connection: tokio::sync::Mutex<Option<AnyConnection>>,
    /// 1 while the committer has a connection, idle or in use.
    owned: AtomicU32,
    closed: AtomicBool,
    /// Batches run, committed or not, and the triggers they held.
    batches: AtomicU64,
    batched: AtomicU64,
}

impl Committer {
    pub(crate) fn new(pool: AnyPool) -> Committer {
        Committer {
            pool,
            queue: Mutex::default(),
            connection: tokio::sync::Mutex::new(None),
            owned: AtomicU32::new(0),
            closed: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            batched: AtomicU64::new(0),
        }
    }

    pub(crate) async fn trigger(&self, event: &AuditEvent) -> Outcome {
        if self.closed.load(Ordering::SeqCst) {
            return Outcome::TryAlone;
        }
        let (answer, mut answered) = oneshot::channel();
        self.queued().push(Queued {
            event: event.clone(),
            answer,
        });
        // Waiters get the connection in the order they asked for it; one
        // whose batch has been committed meanwhile stops waiting at once.
        let mut connection = tokio::select! {
            biased;
            answer = &mut answered => match answer {
                Ok(outcome) => return outcome,
                Err(_) => self.connection.lock().await,
            },
            connection = self.connection.lock() => connection,
        };
        loop {
            match answered.try_recv() {
                Ok(outcome) => return outcome,
                // Taken by a batch whose leader's request went away half-way:
                // ask the connection, which has finished that batch's
                // statements (committed or rolled back) by now.
                Err(TryRecvError::Closed) => {
                    return match connection.as_mut() {
                        Some(connection) => committed_before(connection, event).await,
                        None => Outcome::TryAlone,
                    }
                }
                // Still queued: this trigger leads the next batch.
                Err(TryRecvError::Empty) => self.commit_next_batch(&mut connection).await,
            }
        }
    }

    /// The queue. Nothing that holds it can panic, so a poisoned lock still
    /// guards a whole list.
    fn queued(&self) -> std::sync::MutexGuard<'_, Vec<Queued>> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs the queue's first triggers (those whose requests still wait) as
    /// one transaction and answers each.
    async fn commit_next_batch(&self, connection: &mut Option<AnyConnection>) {
        let batch: Vec<Queued> = {
            let mut queue = self.queued();
            let taken = queue.len().min(MOST_PER_COMMIT);
            queue.drain(..taken).collect()
        };
        let batch: Vec<Queued> = batch
            .into_iter()
            .filter(|q| !q.answer.is_closed())
            .collect();
        if batch.is_empty() {
            return;
        }
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        if connection.is_none() && !self.closed.load(Ordering::SeqCst) {
            if let Ok(pooled) = self.pool.acquire().await {
                *connection = Some(pooled.detach());
                self.owned.store(1, Ordering::Relaxed);
            }
        }
        let committed = match connection.as_mut() {
            Some(open) => commit_sqlite_triggers(open, &events(&batch)).await.ok(),
            None => None,
        };
        // A connection whose batch failed may be mid-transaction: it is
        // closed, and the next batch opens another.
        if (committed.is_none() || self.closed.load(Ordering::SeqCst))
            && connection.take().is_some()
        {
            self.owned.store(0, Ordering::Relaxed);
        }
        match committed {
            Some(rows) => {
                for (queued, row) in batch.into_iter().zip(rows) {
                    let _ = queued.answer.send(Outcome::Committed(row));
                }
            }
            None => {
                for queued in batch {
                    let _ = queued.answer.send(Outcome::TryAlone);
                }
            }
        }
    }

    /// Connections held: 0 or 1.
    pub(crate) fn owned(&self) -> u32 {
        self.owned.load(Ordering::Relaxed)
    }

    /// 1 when the connection is held and no batch runs on it.
    pub(crate) fn idle(&self) -> u32 {
        match self.connection.try_lock() {
            Ok(connection) => connection.is_some() as u32,
            Err(_) => 0,
        }
    }

    /// Closes the connection (now, or when the batch on it ends); later
    /// triggers go their own way and meet the closed pool.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut connection) = self.connection.try_lock() {
            if connection.take().is_some() {
                self.owned.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Batches run, committed or not, and the triggers they held, for tests.
    #[cfg(feature = "testing")]
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.batched.load(Ordering::Relaxed),
        )
    }
}

fn events(batch: &[Queued]) -> Vec<&AuditEvent> {
    batch.iter().map(|queued| &queued.event).collect()
}

/// Whether a batch that lost its leader committed this trigger: its audit
/// row exists only if it did.
async fn committed_before(connection: &mut AnyConnection, event: &AuditEvent) -> Outcome {
    let job = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM regeneration_jobs \
         WHERE id = $1 AND EXISTS (SELECT 1 FROM audit_events WHERE id = $2)"
    ))
    .bind(event.job_id.to_string())
    .bind(event.id.to_string())
    .fetch_optional(connection)
    .await;
    match job {
        Ok(Some(row)) => Outcome::Committed(Some(row)),
        _ => Outcome::TryAlone,
    }
}

/// The paths no race in the contract tests reaches on purpose: a trigger
/// abandoned while it waited, and a batch whose leader went away after
/// taking it. The test plays the leader by holding the connection.
#[cfg(test)]
mod tests {
    use regen_domain::{AuditEventType, JobId, JobStatus, JsonText, NewJob};

    use super::*;
    use crate::testing::TestDatabase;
    use crate::{now, Backend, Store};

    async fn pending_job(store: &Store) -> JobId {
        let job = NewJob {
            status: JobStatus::Pending,
            target_type: "insight".into(),
            target_id: "i-1".into(),
            instruction_json: JsonText::parse(r#"{"prompt":"rewrite"}"#).unwrap(),
            output_ref: None,
            error_json: None,
            created_by: "insight-service".into(),
        };
        store.insert_job(job).await.unwrap().id
    }

    fn event(job: JobId) -> AuditEvent {
        AuditEvent {
            id: uuid::Uuid::now_v7(),
            event_type: AuditEventType::Triggered,
            job_id: job,
            actor: "admin-id".into(),
            occurred_at: now(),
            request_id: None,
            details: None,
        }
    }

    type Waiting<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + 'a>>;

    /// A trigger polled once: it has queued and waits for the connection
    /// the test holds (on this task: the product spawns nothing, and its
    /// tests here neither, see the ops test).
    async fn queued_trigger<'a>(committer: &'a Committer, event: &'a AuditEvent) -> Waiting<'a> {
        let mut waiting: Waiting<'a> = Box::pin(committer.trigger(event));
        tokio::select! {
            biased;
            _ = &mut waiting => panic!("the test holds the connection"),
            _ = std::future::ready(()) => {}
        }
        waiting
    }

    /// A SQLite store with two PENDING jobs, and a committer of its own.
    async fn two_pending_jobs() -> (TestDatabase, Store, Committer, JobId, JobId) {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let store = db.store().await;
        let (first, second) = (pending_job(&store).await, pending_job(&store).await);
        let committer = Committer::new(store.pool.clone());
        (db, store, committer, first, second)
    }

    async fn status_and_events(store: &Store, job: JobId) -> (JobStatus, usize) {
        let status = store.get_job(job).await.unwrap().unwrap().status;
        (status, store.audit_events(job).await.unwrap().len())
    }

    #[tokio::test]
    async fn a_trigger_abandoned_while_it_waited_is_left_out_of_the_batch() {
        let (_db, store, committer, abandoned_job, next_job) = two_pending_jobs().await;
        let leader = committer.connection.lock().await;

        let abandoned_event = event(abandoned_job);
        let abandoned = queued_trigger(&committer, &abandoned_event).await;
        assert_eq!(committer.queued().len(), 1);
        drop(abandoned); // the request went away
        drop(leader);
        let outcome = committer.trigger(&event(next_job)).await;

        assert!(matches!(outcome, Outcome::Committed(Some(_))));
        assert_eq!(committer.counts(), (1, 1), "one batch, one trigger");
        assert_eq!(
            status_and_events(&store, abandoned_job).await,
            (JobStatus::Pending, 1)
        );
        assert_eq!(
            status_and_events(&store, next_job).await,
            (JobStatus::Running, 2)
        );
    }

    #[tokio::test]
    async fn a_batch_that_lost_its_leader_is_settled_by_its_audit_rows() {
        let (_db, store, committer, committed_job, lost_job) = two_pending_jobs().await;
        let mut leader = committer.connection.lock().await;
        let mut connection = store.pool.acquire().await.unwrap().detach();

        // This leader commits its batch, then goes before answering.
        let committed_event = event(committed_job);
        let waiting = queued_trigger(&committer, &committed_event).await;
        let batch: Vec<Queued> = committer.queued().drain(..).collect();
        commit_sqlite_triggers(&mut connection, &events(&batch))
            .await
            .unwrap();
        drop(batch);
        *leader = Some(connection);
        drop(leader);
        let Outcome::Committed(Some(row)) = waiting.await else {
            panic!("a committed trigger must be answered as committed")
        };
        assert_eq!(
            crate::jobs::job_from_row(&row).unwrap().status,
            JobStatus::Running
        );

        // This one goes before its batch commits: nothing was kept, and the
        // trigger is tried on its own.
        let leader = committer.connection.lock().await;
        let lost_event = event(lost_job);
        let waiting = queued_trigger(&committer, &lost_event).await;
        drop(committer.queued().drain(..).collect::<Vec<_>>());
        drop(leader);
        assert!(matches!(waiting.await, Outcome::TryAlone));
        assert_eq!(
            status_and_events(&store, lost_job).await,
            (JobStatus::Pending, 1)
        );
    }
}
