//! Idempotency keys: which request runs under a (credential owner, key),
//! and the answer it gave, for as long as the key is kept.
//!
//! The row is inserted before the request runs, so the primary key decides
//! the one winner across instances. A request that changes jobs records its
//! answer inside the transaction of its transitions (`record_answer`, used
//! by `trigger.rs`); any other answer is recorded after the fact
//! ([`Store::finish_idempotency_key`]) or the claim is given back
//! ([`Store::release_idempotency_key`]) when nothing was done.

use std::time::Duration;

use sqlx::AnyConnection;

use crate::error::StorageError;
use crate::{now, Store};

const IN_PROGRESS: &str = "IN_PROGRESS";
const DONE: &str = "DONE";
/// Expired keys deleted by one claim: bounded, so no claim pays for a
/// backlog; every claim deletes some, so the table cannot grow for long.
const PRUNE_BATCH: i64 = 100;

/// How long keys live and how long a running request holds its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// A key is kept (and answers replays) this long after its request began.
    pub keep: Duration,
    /// A request still IN_PROGRESS after this long is taken to have died
    /// with its instance: a retry may take the key over and run again.
    pub lease: Duration,
}

/// The right to run one request under a key, from one claim until its
/// answer is recorded. `started_at` tells this claim from a later takeover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    owner: String,
    key: String,
    started_at: String,
}

/// An answer kept for replay: its HTTP status and body, exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// This request runs under the key.
    Claimed(IdempotencyClaim),
    /// The key's request is done: its answer, to send again.
    Replay(StoredAnswer),
    /// The key's request is still running (within its lease).
    InProgress,
    /// The key was used for another request (method, path or body).
    Mismatch,
}

type KeyRow = (String, String, Option<i64>, Option<String>, String);

impl Store {
    /// Claims `key` for `owner`'s request whose fingerprint is
    /// `request_hash`, after deleting a batch of expired keys.
    pub async fn claim_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        request_hash: &str,
        policy: KeyPolicy,
    ) -> Result<KeyClaim, StorageError> {
        let _turn = self.sqlite_write_turn(self.write_deadline()).await?;
        let started = now();
        let at = |age: Duration| {
            regen_domain::Timestamp::from_millis(started.millis() - age.as_millis() as i64)
                .unwrap_or(started)
                .to_string()
        };
        let (expired, stale) = (at(policy.keep), at(policy.lease));
        let started_at = started.to_string();
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE (owner, idempotency_key) IN \
             (SELECT owner, idempotency_key FROM idempotency_keys WHERE created_at < $1 \
              ORDER BY created_at LIMIT $2)",
        )
        .bind(&expired)
        .bind(PRUNE_BATCH)
        .execute(&self.pool)
        .await?;
        let claim = IdempotencyClaim {
            owner: owner.to_owned(),
            key: key.to_owned(),
            started_at,
        };
        // A row deleted or taken over between our statements sends us
        // round once more; a third change in that instant is a request
        // still running, as far as this one is concerned.
        for _ in 0..2 {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys \
                 (owner, idempotency_key, request_hash, state, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner, idempotency_key) DO NOTHING",
            )
            .bind(owner)
            .bind(key)
            .bind(request_hash)
            .bind(IN_PROGRESS)
            .bind(&claim.started_at)
            .execute(&self.pool)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(KeyClaim::Claimed(claim));
            }
            let row: Option<KeyRow> = sqlx::query_as(
                "SELECT request_hash, state, response_status, response_body, created_at \
                 FROM idempotency_keys WHERE owner = $1 AND idempotency_key = $2",
            )
            .bind(owner)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            let Some((hash, state, status, body, created_at)) = row else {
                continue;
            };
            let expired = created_at < expired;
            if !expired && hash != request_hash {
                return Ok(KeyClaim::Mismatch);
            }
            if !expired && state == DONE {
                let status = status
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| StorageError::corrupt("a done key without its status"))?;
                return Ok(KeyClaim::Replay(StoredAnswer {
                    status,
                    body: body.unwrap_or_default(),
                }));
            }
            if !expired && created_at >= stale {
                return Ok(KeyClaim::InProgress);
            }
            // Expired, or a request whose lease ran out: take the key over,
            // if nobody else did since we read it.
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET request_hash = $1, state = $2, \
                 response_status = NULL, response_body = NULL, created_at = $3 \
                 WHERE owner = $4 AND idempotency_key = $5 AND created_at = $6 AND state = $7",
            )
            .bind(request_hash)
            .bind(IN_PROGRESS)
            .bind(&claim.started_at)
            .bind(owner)
            .bind(key)
            .bind(&created_at)
            .bind(&state)
            .execute(&self.pool)
            .await?;
            if taken.rows_affected() == 1 {
                return Ok(KeyClaim::Claimed(claim));
            }
        }
        Ok(KeyClaim::InProgress)
    }

    /// Records the answer of a request that changed nothing. Returns false
    /// when the claim was taken over meanwhile (the other request's answer
    /// stands).
    pub async fn finish_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        answer: &StoredAnswer,
    ) -> Result<bool, StorageError> {
        let _turn = self.sqlite_write_turn(self.write_deadline()).await?;
        let mut conn = self.pool.acquire().await?;
        Ok(record_answer(&mut conn, claim, answer).await?)
    }

    /// Gives a claim back when its request did nothing and has no answer to
    /// keep (the database failed): a retry runs afresh.
    pub async fn release_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<(), StorageError> {
        let _turn = self.sqlite_write_turn(self.write_deadline()).await?;
        sqlx::query(
            "DELETE FROM idempotency_keys \
             WHERE owner = $1 AND idempotency_key = $2 AND created_at = $3 AND state = $4",
        )
        .bind(&claim.owner)
        .bind(&claim.key)
        .bind(&claim.started_at)
        .bind(IN_PROGRESS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Marks the claim's key DONE with `answer`, on `conn` (inside the
/// transaction of the request's transitions, when it made any). False when
/// the claim no longer holds the key: its lease ran out and a retry took it.
pub(crate) async fn record_answer(
    conn: &mut AnyConnection,
    claim: &IdempotencyClaim,
    answer: &StoredAnswer,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET state = $1, response_status = $2, response_body = $3 \
         WHERE owner = $4 AND idempotency_key = $5 AND created_at = $6 AND state = $7",
    )
    .bind(DONE)
    .bind(i64::from(answer.status))
    .bind(&answer.body)
    .bind(&claim.owner)
    .bind(&claim.key)
    .bind(&claim.started_at)
    .bind(IN_PROGRESS)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
