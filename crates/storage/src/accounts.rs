use regen_domain::{Role, Timestamp};
use sqlx::Row;
use uuid::Uuid;

use crate::error::StorageError;
use crate::{now, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the session secret carried by the cookie.
    pub id_hash: String,
    pub user_id: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

const USER_COLUMNS: &str = "u.id, u.username, u.role, u.password_hash";

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<UserRecord, StorageError> {
    let role: String = row.try_get("role")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role.parse().map_err(StorageError::corrupt)?,
        password_hash: row.try_get("password_hash")?,
    })
}

fn timestamp(row: &sqlx::any::AnyRow, column: &str) -> Result<Timestamp, StorageError> {
    let value: String = row.try_get(column)?;
    value.parse().map_err(StorageError::corrupt)
}

impl Store {
    pub async fn create_user(
        &self,
        username: &str,
        role: Role,
        password_hash: &str,
    ) -> Result<UserRecord, StorageError> {
        let user = UserRecord {
            id: Uuid::now_v7().to_string(),
            username: username.to_owned(),
            role,
            password_hash: password_hash.to_owned(),
        };
        sqlx::query(
            "INSERT INTO users (id, username, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(role.as_str())
        .bind(&user.password_hash)
        .bind(now().to_string())
        .execute(&self.pool)
        .await?;
        Ok(user)
    }

    pub async fn find_user_by_name(
        &self,
        username: &str,
    ) -> Result<Option<UserRecord>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn create_api_token(
        &self,
        user_id: &str,
        token_hash: &str,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, token_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(user_id)
        .bind(token_hash)
        .bind(now().to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The token's owner, recording the use. The last-used time is kept to
    /// the minute: writing it on every request would turn each read into a
    /// write and serialise all API traffic on SQLite.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<UserRecord>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let at = now();
        let last_used: Option<String> = row.try_get("last_used_at")?;
        let stale = match last_used.as_deref().map(str::parse::<Timestamp>) {
            Some(Ok(last)) => at.millis() - last.millis() > 60_000,
            _ => true,
        };
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
                .bind(at.to_string())
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
        }
        user_from_row(&row).map(Some)
    }

    pub async fn create_session(&self, session: &NewSession) -> Result<(), StorageError> {
        let at = now().to_string();
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(&session.id_hash)
        .bind(&session.user_id)
        .bind(at)
        .bind(session.expires_at.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session with its user, if it exists, has not reached its absolute
    /// expiry, and was seen after `idle_since`. A live session's last-seen
    /// time is moved to now.
    pub async fn touch_session(
        &self,
        id_hash: &str,
        idle_since: Timestamp,
    ) -> Result<Option<SessionRecord>, StorageError> {
        let at = now();
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.created_at, s.last_seen_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3"
        ))
        .bind(id_hash)
        .bind(at.to_string())
        .bind(idle_since.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = SessionRecord {
            user: user_from_row(&row)?,
            created_at: timestamp(&row, "created_at")?,
            last_seen_at: timestamp(&row, "last_seen_at")?,
            expires_at: timestamp(&row, "expires_at")?,
        };
        // Only write when it matters, so that reads stay reads.
        if at.millis() - record.last_seen_at.millis() > 10_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(at.to_string())
                .bind(id_hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(record))
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
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
