//! Browser sessions: stored as hashes, touched on every request, ended one
//! by one, by user or by expiry.

use regen_domain::{SessionSummary, Timestamp};

use super::records::{
    session_summary, user_from_row, NewSession, Owner, SessionRecord, SESSION_SUMMARY_COLUMNS,
    USER_COLUMNS,
};
use crate::error::StorageError;
use crate::rows::parse;
use crate::{now, Store};
use sqlx::Row;

impl Store {
    pub async fn create_session(&self, session: &NewSession) -> Result<(), StorageError> {
        let at = now().to_string();
        sqlx::query(
            "INSERT INTO sessions (id_hash, id, user_id, created_at, last_seen_at, expires_at, \
             client_address, user_agent, id_token) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
        )
        .bind(&session.id_hash)
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(at)
        .bind(session.expires_at.to_string())
        .bind(session.client_address.as_deref())
        .bind(session.user_agent.as_deref())
        .bind(session.id_token.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How stale a session's last-seen time may get before a request
    /// writes it.
    const LAST_SEEN_PRECISION_MS: i64 = 10_000;

    /// The session with its user, if it exists, has not reached its absolute
    /// expiry, was seen after `idle_since`, and its user is not disabled. A
    /// live session's last-seen time is moved to now.
    pub async fn touch_session(
        &self,
        id_hash: &str,
        idle_since: Timestamp,
    ) -> Result<Option<SessionRecord>, StorageError> {
        let at = now();
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.id AS session_id, s.created_at, s.last_seen_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 \
               AND u.disabled_at IS NULL"
        ))
        .bind(id_hash)
        .bind(at.to_string())
        .bind(idle_since.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = SessionRecord {
            id: row.try_get("session_id")?,
            user: user_from_row(&row)?,
            created_at: parse(&row, "created_at")?,
            last_seen_at: parse(&row, "last_seen_at")?,
            expires_at: parse(&row, "expires_at")?,
        };
        // Only write when it matters, so that reads stay reads; and only
        // once when many requests of one session find it stale together.
        let stale_before =
            Timestamp::from_millis(at.millis() - Self::LAST_SEEN_PRECISION_MS).unwrap_or(at);
        if record.last_seen_at < stale_before {
            let update = sqlx::query(
                "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $3",
            )
            .bind(at.to_string())
            .bind(id_hash)
            .bind(stale_before.to_string());
            self.last_use_writes
                .record("session", id_hash, &mut *conn, update)
                .await;
        }
        Ok(Some(record))
    }

    /// Live sessions (not expired, not idle since `idle_since`), newest first.
    pub async fn list_sessions(
        &self,
        owner: Owner<'_>,
        idle_since: Timestamp,
    ) -> Result<Vec<SessionSummary>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_SUMMARY_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE ($1 IS NULL OR s.user_id = $1) AND s.expires_at > $2 AND s.last_seen_at > $3 \
             ORDER BY s.created_at DESC, s.id DESC"
        ))
        .bind(owner.user_id())
        .bind(now().to_string())
        .bind(idle_since.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_summary).collect()
    }

    /// Ends a session; the provider's ID token it was opened with, if it
    /// came from SSO (logout hands it back to the provider).
    pub async fn delete_session(&self, id_hash: &str) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("DELETE FROM sessions WHERE id_hash = $1 RETURNING id_token")
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("id_token")?,
            None => None,
        })
    }

    /// Ends one session by its public id; `None` when that owner has none.
    pub async fn delete_session_by_id(
        &self,
        id: &str,
        owner: Owner<'_>,
    ) -> Result<Option<SessionSummary>, StorageError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {SESSION_SUMMARY_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND ($2 IS NULL OR s.user_id = $2)"
        ))
        .bind(id)
        .bind(owner.user_id())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        session_summary(&row).map(Some)
    }

    /// Ends every session of a user except `except` (a public id).
    pub async fn delete_sessions_of(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        let ended = delete_sessions(&mut tx, user_id, except).await?;
        tx.commit().await?;
        Ok(ended)
    }

    pub async fn delete_expired_sessions(
        &self,
        idle_since: Timestamp,
    ) -> Result<u64, StorageError> {
        let result =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now().to_string())
                .bind(idle_since.to_string())
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected())
    }
}

/// Ends a user's sessions (all but `except`) inside the caller's transaction.
pub(super) async fn delete_sessions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    except: Option<&str>,
) -> Result<u64, StorageError> {
    let result =
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)")
            .bind(user_id)
            .bind(except)
            .execute(&mut **tx)
            .await?;
    Ok(result.rows_affected())
}
