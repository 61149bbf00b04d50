//! Users, API tokens and sessions. Every credential lookup joins its owner,
//! so the owner's role and state are read with the credential, in the one
//! round trip each request already makes.

use regen_domain::{Role, Scope, SessionSummary, Timestamp, TokenSummary, UserSummary};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::direct::{DirectRow, Param};
use crate::error::StorageError;
use crate::{now, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// The public id: listed, and used to end this one session.
    pub id: String,
    /// SHA-256 of the session secret carried by the cookie.
    pub id_hash: String,
    pub user_id: String,
    pub expires_at: Timestamp,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

/// A live session and the user it stands for.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub user: UserRecord,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: String,
    pub token_hash: String,
    pub scope: Scope,
    pub label: Option<String>,
    pub expires_at: Option<Timestamp>,
}

/// Whose sessions or tokens a list or a revocation may touch.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Anyone,
    User(&'a str),
}

impl Owner<'_> {
    fn user_id(&self) -> Option<&str> {
        match self {
            Owner::Anyone => None,
            Owner::User(id) => Some(id),
        }
    }
}

const USER_COLUMNS: &str = "u.id, u.username, u.role, u.password_hash, u.disabled_at";
const SESSION_SUMMARY_COLUMNS: &str = "s.id, s.user_id, u.username, s.created_at, s.last_seen_at, \
     s.expires_at, s.client_address, s.user_agent";
const TOKEN_SUMMARY_COLUMNS: &str = "t.id, t.user_id, u.username, t.label, t.scope, t.created_at, \
     t.last_used_at, t.expires_at, t.revoked_at";

fn user_from_row(row: &AnyRow) -> Result<UserRecord, StorageError> {
    let role: String = row.try_get("role")?;
    let disabled_at: Option<String> = row.try_get("disabled_at")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role.parse().map_err(StorageError::corrupt)?,
        password_hash: row.try_get("password_hash")?,
        disabled: disabled_at.is_some(),
    })
}

/// A usable token's owner, scope and last use, as `use_api_token` reads them.
type TokenUse = (UserRecord, Scope, Option<String>);

fn token_use_from_row(row: &AnyRow) -> Result<TokenUse, StorageError> {
    let scope: String = row.try_get("scope")?;
    Ok((
        user_from_row(row)?,
        scope.parse().map_err(StorageError::corrupt)?,
        row.try_get("last_used_at")?,
    ))
}

/// The same columns, read by `direct.rs`: USER_COLUMNS, scope, last_used_at.
fn token_use_from_direct(row: DirectRow) -> Result<TokenUse, StorageError> {
    let [id, username, role, password_hash, disabled_at, scope, last_used]: [Option<String>; 7] =
        row.try_into()
            .map_err(|_| StorageError::corrupt("token row: wrong width"))?;
    let required =
        |value: Option<String>| value.ok_or_else(|| StorageError::corrupt("token row: NULL"));
    Ok((
        UserRecord {
            id: required(id)?,
            username: required(username)?,
            role: required(role)?.parse().map_err(StorageError::corrupt)?,
            password_hash: required(password_hash)?,
            disabled: disabled_at.is_some(),
        },
        required(scope)?.parse().map_err(StorageError::corrupt)?,
        last_used,
    ))
}

fn timestamp(row: &AnyRow, column: &str) -> Result<Timestamp, StorageError> {
    let value: String = row.try_get(column)?;
    value.parse().map_err(StorageError::corrupt)
}

fn optional_timestamp(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StorageError> {
    let value: Option<String> = row.try_get(column)?;
    value
        .map(|v| v.parse().map_err(StorageError::corrupt))
        .transpose()
}

fn session_summary(row: &AnyRow) -> Result<SessionSummary, StorageError> {
    Ok(SessionSummary {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        created_at: timestamp(row, "created_at")?,
        last_seen_at: timestamp(row, "last_seen_at")?,
        expires_at: timestamp(row, "expires_at")?,
        client_address: row.try_get("client_address")?,
        user_agent: row.try_get("user_agent")?,
    })
}

fn token_summary(row: &AnyRow) -> Result<TokenSummary, StorageError> {
    let scope: String = row.try_get("scope")?;
    Ok(TokenSummary {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        label: row.try_get("label")?,
        scope: scope.parse().map_err(StorageError::corrupt)?,
        created_at: timestamp(row, "created_at")?,
        last_used_at: optional_timestamp(row, "last_used_at")?,
        expires_at: optional_timestamp(row, "expires_at")?,
        revoked_at: optional_timestamp(row, "revoked_at")?,
    })
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
            disabled: false,
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

    pub async fn find_user_by_id(&self, user_id: &str) -> Result<Option<UserRecord>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserSummary>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, username, role, disabled_at, created_at, last_login_at \
             FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(UserSummary {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                    role: role.parse().map_err(StorageError::corrupt)?,
                    disabled_at: optional_timestamp(row, "disabled_at")?,
                    created_at: timestamp(row, "created_at")?,
                    last_login_at: optional_timestamp(row, "last_login_at")?,
                })
            })
            .collect()
    }

    pub async fn record_login(&self, user_id: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now().to_string())
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets the role; with `end_sessions`, ends every session of the user in
    /// the same transaction, so no request can see the new role with an old
    /// session. Returns the number of sessions ended.
    pub async fn set_role(
        &self,
        user_id: &str,
        role: Role,
        end_sessions: bool,
    ) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = if end_sessions {
            delete_sessions(&mut tx, user_id, None).await?
        } else {
            0
        };
        tx.commit().await?;
        Ok(ended)
    }

    /// Disables (ending every session in the same transaction; tokens stop
    /// working because every lookup checks the owner) or enables a user.
    /// Returns the number of sessions ended.
    pub async fn set_disabled(&self, user_id: &str, disabled: bool) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        let ended = if disabled {
            sqlx::query("UPDATE users SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2")
                .bind(now().to_string())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            delete_sessions(&mut tx, user_id, None).await?
        } else {
            sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            0
        };
        tx.commit().await?;
        Ok(ended)
    }

    /// Replaces the password hash and ends the user's sessions, except
    /// `keep_session` (the one that changed it), in one transaction.
    pub async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep_session: Option<&str>,
    ) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = delete_sessions(&mut tx, user_id, keep_session).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Stores a token's hash and returns the token's id.
    pub async fn create_api_token(&self, token: &NewApiToken) -> Result<String, StorageError> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, token_hash, created_at, scope, label, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&token.user_id)
        .bind(&token.token_hash)
        .bind(now().to_string())
        .bind(token.scope.as_str())
        .bind(token.label.as_deref())
        .bind(token.expires_at.map(|t| t.to_string()))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Tokens, oldest first, revoked and expired ones included.
    pub async fn list_api_tokens(
        &self,
        owner: Owner<'_>,
    ) -> Result<Vec<TokenSummary>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_SUMMARY_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE ($1 IS NULL OR t.user_id = $1) ORDER BY t.created_at, t.id"
        ))
        .bind(owner.user_id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_summary).collect()
    }

    /// Marks a token revoked (keeping the first revocation time). `None`
    /// when no token of that owner has this id.
    pub async fn revoke_api_token(
        &self,
        id: &str,
        owner: Owner<'_>,
    ) -> Result<Option<TokenSummary>, StorageError> {
        let result = sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE id = $2 AND ($3 IS NULL OR user_id = $3)",
        )
        .bind(now().to_string())
        .bind(id)
        .bind(owner.user_id())
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_SUMMARY_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        token_summary(&row).map(Some)
    }

    /// The owner and scope of a usable token (not revoked, not expired,
    /// owner not disabled), recording the use. The last-used time is kept to
    /// the minute: writing it on every request would turn each read into a
    /// write and serialise all API traffic on SQLite.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(UserRecord, Scope)>, StorageError> {
        let at = now();
        let at_text = at.to_string();
        let sql = format!(
            "SELECT {USER_COLUMNS}, t.scope, t.last_used_at FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
               AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL"
        );
        let params = [Param::Text(token_hash), Param::Text(&at_text)];
        let found = match self.direct.read(|c| c.query(&sql, &params, 7)) {
            Some(rows) => rows.into_iter().next().map(token_use_from_direct),
            None => {
                let mut conn = self.statement_connection().await?;
                let row = sqlx::query(&sql)
                    .bind(token_hash)
                    .bind(&at_text)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(|row| token_use_from_row(&row))
            }
        };
        let Some((user, scope, last_used)) = found.transpose()? else {
            return Ok(None);
        };
        let stale = match last_used.as_deref().map(str::parse::<Timestamp>) {
            Some(Ok(last)) => at.millis() - last.millis() > 60_000,
            _ => true,
        };
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
                .bind(at_text)
                .bind(token_hash)
                .execute(&mut *self.statement_connection().await?)
                .await?;
        }
        Ok(Some((user, scope)))
    }

    pub async fn create_session(&self, session: &NewSession) -> Result<(), StorageError> {
        let at = now().to_string();
        sqlx::query(
            "INSERT INTO sessions (id_hash, id, user_id, created_at, last_seen_at, expires_at, \
             client_address, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
        )
        .bind(&session.id_hash)
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(at)
        .bind(session.expires_at.to_string())
        .bind(session.client_address.as_deref())
        .bind(session.user_agent.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session with its user, if it exists, has not reached its absolute
    /// expiry, was seen after `idle_since`, and its user is not disabled. A
    /// live session's last-seen time is moved to now.
    pub async fn touch_session(
        &self,
        id_hash: &str,
        idle_since: Timestamp,
    ) -> Result<Option<SessionRecord>, StorageError> {
        let at = now();
        let mut conn = self.statement_connection().await?;
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
            created_at: timestamp(&row, "created_at")?,
            last_seen_at: timestamp(&row, "last_seen_at")?,
            expires_at: timestamp(&row, "expires_at")?,
        };
        // Only write when it matters, so that reads stay reads.
        if at.millis() - record.last_seen_at.millis() > 10_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(at.to_string())
                .bind(id_hash)
                .execute(&mut *conn)
                .await?;
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

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
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
        rows.iter()
            .map(|row| timestamp(row, "attempted_at"))
            .collect()
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

async fn delete_sessions(
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
