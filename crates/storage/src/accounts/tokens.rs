//! API tokens: stored as hashes, listed, revoked, and looked up with their
//! owner on every request that carries one.

use regen_domain::{Scope, Timestamp, TokenSummary};
use uuid::Uuid;

use super::records::{
    token_summary, token_use_from_row, NewApiToken, Owner, UserRecord, TOKEN_SUMMARY_COLUMNS,
    USER_COLUMNS,
};
use crate::error::StorageError;
use crate::{now, Store};

impl Store {
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

    /// How stale a token's last-used time may get before a use writes it.
    const LAST_USED_PRECISION_MS: i64 = 60_000;

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
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .bind(&at_text)
            .fetch_optional(&self.pool)
            .await?;
        let Some((user, scope, last_used)) = row.as_ref().map(token_use_from_row).transpose()?
        else {
            return Ok(None);
        };
        let stale_before =
            Timestamp::from_millis(at.millis() - Self::LAST_USED_PRECISION_MS).unwrap_or(at);
        if last_used.is_none_or(|last| last < stale_before) {
            // Conditional: of the requests that find the time stale at
            // once, the first writes and the others change nothing.
            let update = sqlx::query(
                "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 \
                 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(at_text)
            .bind(token_hash)
            .bind(stale_before.to_string());
            self.last_use_writes
                .record("token", token_hash, &self.pool, update)
                .await;
        }
        Ok(Some((user, scope)))
    }
}

/// Revokes a user's live tokens (only those of `scope`, when given) inside
/// the caller's transaction. Returns how many.
pub(super) async fn revoke_tokens(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    scope: Option<Scope>,
) -> Result<u64, StorageError> {
    let result = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 \
         WHERE user_id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR scope = $3)",
    )
    .bind(now().to_string())
    .bind(user_id)
    .bind(scope.map(Scope::as_str))
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}
