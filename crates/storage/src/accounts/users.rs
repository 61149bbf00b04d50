//! Users: creation, look-ups, role, disabled state and password. Every
//! change that takes access away ends the user's sessions in the same
//! transaction.

use regen_domain::{Preferences, Role, Scope, UserSummary};
use sqlx::Row;
use uuid::Uuid;

use super::records::AccessTaken;
use super::records::{user_from_row, UserRecord, USER_COLUMNS};
use super::sessions::delete_sessions;
use super::tokens::revoke_tokens;
use crate::error::StorageError;
use crate::rows::{optional_parse, parse};
use crate::{now, Store};

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
            preferences: Preferences::default(),
            oidc_issuer: None,
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
            "SELECT id, username, role, disabled_at, created_at, last_login_at, oidc_issuer \
             FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UserSummary {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                    role: parse(row, "role")?,
                    disabled_at: optional_parse(row, "disabled_at")?,
                    created_at: parse(row, "created_at")?,
                    last_login_at: optional_parse(row, "last_login_at")?,
                    oidc_issuer: row.try_get("oidc_issuer")?,
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

    /// Sets the role. A demotion (`demotion`) ends every session of the
    /// user and revokes their admin-scope tokens in the same transaction, so
    /// no request can see the new role with an old credential, and a later
    /// promotion brings neither back.
    pub async fn set_role(
        &self,
        user_id: &str,
        role: Role,
        demotion: bool,
    ) -> Result<AccessTaken, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let taken = if demotion {
            AccessTaken {
                sessions_ended: delete_sessions(&mut tx, user_id, None).await?,
                tokens_revoked: revoke_tokens(&mut tx, user_id, Some(Scope::Admin)).await?,
            }
        } else {
            AccessTaken::default()
        };
        tx.commit().await?;
        Ok(taken)
    }

    /// Disables a user, ending every session and revoking every token in
    /// the same transaction (enabling them again brings neither back), or
    /// enables them.
    pub async fn set_disabled(
        &self,
        user_id: &str,
        disabled: bool,
    ) -> Result<AccessTaken, StorageError> {
        let mut tx = self.pool.begin().await?;
        let taken = if disabled {
            sqlx::query("UPDATE users SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2")
                .bind(now().to_string())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            AccessTaken {
                sessions_ended: delete_sessions(&mut tx, user_id, None).await?,
                tokens_revoked: revoke_tokens(&mut tx, user_id, None).await?,
            }
        } else {
            sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            AccessTaken::default()
        };
        tx.commit().await?;
        Ok(taken)
    }

    /// Replaces the password hash and ends the user's sessions, except
    /// `keep_session` (the one that changed it), and with `revoke_all_tokens`
    /// revokes every token of the user, in one transaction.
    pub async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep_session: Option<&str>,
        revoke_all_tokens: bool,
    ) -> Result<AccessTaken, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let taken = AccessTaken {
            sessions_ended: delete_sessions(&mut tx, user_id, keep_session).await?,
            tokens_revoked: if revoke_all_tokens {
                revoke_tokens(&mut tx, user_id, None).await?
            } else {
                0
            },
        };
        tx.commit().await?;
        Ok(taken)
    }

    /// Stores a user's display preferences; `false` when there is no such
    /// user.
    pub async fn set_preferences(
        &self,
        user_id: &str,
        preferences: Preferences,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE users SET time_display = $1, keyboard_shortcuts = $2 WHERE id = $3",
        )
        .bind(preferences.time_display.as_str())
        .bind(preferences.shortcuts_str())
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
