//! Login attempts, kept in the database so every instance and every restart
//! sees the same throttle.

use regen_domain::Timestamp;

use crate::error::StorageError;
use crate::rows::parse;
use crate::Store;

impl Store {
    /// Records one login attempt against each of its throttle keys.
    pub async fn record_login_attempt(
        &self,
        attempt_id: &str,
        keys: &[String],
        at: Timestamp,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        for key in keys {
            sqlx::query(
                "INSERT INTO login_attempts (throttle_key, attempted_at, attempt_id) \
                 VALUES ($1, $2, $3)",
            )
            .bind(key)
            .bind(at.to_string())
            .bind(attempt_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Attempts at or after `since` against `key`, other than `except`,
    /// oldest first.
    pub async fn login_attempts_since(
        &self,
        key: &str,
        since: Timestamp,
        except: &str,
    ) -> Result<Vec<Timestamp>, StorageError> {
        let rows = sqlx::query(
            "SELECT attempted_at FROM login_attempts \
             WHERE throttle_key = $1 AND attempted_at >= $2 AND attempt_id <> $3 \
             ORDER BY attempted_at",
        )
        .bind(key)
        .bind(since.to_string())
        .bind(except)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| parse(row, "attempted_at")).collect()
    }

    /// Forgets an attempt (it succeeded, or it was refused before it ran).
    pub async fn forget_login_attempt(
        &self,
        attempt_id: &str,
        keys: &[String],
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        for key in keys {
            sqlx::query("DELETE FROM login_attempts WHERE throttle_key = $1 AND attempt_id = $2")
                .bind(key)
                .bind(attempt_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn purge_login_attempts(&self, before: Timestamp) -> Result<u64, StorageError> {
        let result = sqlx::query("DELETE FROM login_attempts WHERE attempted_at < $1")
            .bind(before.to_string())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}
