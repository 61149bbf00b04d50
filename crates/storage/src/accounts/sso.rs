//! Accounts that sign in through an OpenID provider, keyed by the provider's
//! (issuer, subject), and the sign-ins under way to it: single use, short
//! lived, kept here so that any instance can finish what another began.

use regen_domain::{Preferences, Role, Timestamp};
use sqlx::Row;
use uuid::Uuid;

use super::records::{user_from_row, AccessTaken, UserRecord, USER_COLUMNS};
use super::sessions::delete_sessions;
use super::tokens::revoke_tokens;
use crate::error::StorageError;
use crate::rows::parse;
use crate::{now, Store};

/// A sign-in about to leave for the provider.
#[derive(Debug, Clone)]
pub struct NewSignIn {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: String,
    /// SHA-256 of the browser's sign-in cookie: only that browser may finish.
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go once signed in (an on-site path).
    pub next_path: String,
    pub expires_at: Timestamp,
}

/// A sign-in taken back when the browser returns.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_path: String,
    pub expires_at: Timestamp,
}

/// How many names an SSO account tries before its sign-in is refused:
/// the claim's name, then `-sso`, `-sso-2` … `-sso-9` after it.
const NAME_CANDIDATES: usize = 10;

/// A user name's longest form, as the `users` table's CHECK allows.
const MAX_NAME: usize = 64;

/// The names an SSO account may take, in order: its own (made of the
/// characters local names allow), then with a suffix, so that it never
/// takes over, nor is mistaken for, a local account of the same name.
fn name_candidates(wanted: &str) -> Vec<String> {
    let cleaned: String = wanted
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME - "-sso-9".len())
        .collect();
    let base = if cleaned.is_empty() {
        "sso-user".to_owned()
    } else {
        cleaned
    };
    let mut names = vec![base.clone(), format!("{base}-sso")];
    names.extend((2..NAME_CANDIDATES).map(|n| format!("{base}-sso-{n}")));
    names
}

impl Store {
    /// Records a sign-in, first forgetting the expired ones. `false` (and
    /// nothing recorded) when `max_pending` sign-ins are already under way:
    /// anyone may start one, so their number is bounded.
    pub async fn begin_sign_in(
        &self,
        sign_in: &NewSignIn,
        max_pending: i64,
    ) -> Result<bool, StorageError> {
        let at = now().to_string();
        sqlx::query("DELETE FROM oidc_sign_ins WHERE expires_at <= $1")
            .bind(&at)
            .execute(&self.pool)
            .await?;
        let pending: i64 = sqlx::query("SELECT COUNT(*) AS pending FROM oidc_sign_ins")
            .fetch_one(&self.pool)
            .await?
            .try_get("pending")?;
        if pending >= max_pending {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO oidc_sign_ins (state_hash, browser_hash, nonce, pkce_verifier, \
             next_path, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&sign_in.state_hash)
        .bind(&sign_in.browser_hash)
        .bind(&sign_in.nonce)
        .bind(&sign_in.pkce_verifier)
        .bind(&sign_in.next_path)
        .bind(&at)
        .bind(sign_in.expires_at.to_string())
        .execute(&self.pool)
        .await?;
        Ok(true)
    }

    /// Takes the sign-in with this state away for good (one statement, so
    /// two returns of one state cannot both have it), if it has not expired.
    pub async fn take_sign_in(
        &self,
        state_hash: &str,
    ) -> Result<Option<PendingSignIn>, StorageError> {
        let row = sqlx::query(
            "DELETE FROM oidc_sign_ins WHERE state_hash = $1 \
             RETURNING browser_hash, nonce, pkce_verifier, next_path, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sign_in = PendingSignIn {
            browser_hash: row.try_get("browser_hash")?,
            nonce: row.try_get("nonce")?,
            pkce_verifier: row.try_get("pkce_verifier")?,
            next_path: row.try_get("next_path")?,
            expires_at: parse(&row, "expires_at")?,
        };
        Ok((sign_in.expires_at > now()).then_some(sign_in))
    }

    pub async fn find_sso_user(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UserRecord>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.oidc_issuer = $1 AND u.oidc_subject = $2"
        ))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The account of (issuer, subject), created with `role` on its first
    /// sign-in under the first free name of `wanted`'s candidates. Two
    /// first sign-ins at once create one account: the loser of the unique
    /// index reads the winner's.
    pub async fn provision_sso_user(
        &self,
        issuer: &str,
        subject: &str,
        wanted: &str,
        role: Role,
    ) -> Result<UserRecord, StorageError> {
        for username in name_candidates(wanted) {
            let user = UserRecord {
                id: Uuid::now_v7().to_string(),
                username,
                role,
                // No password verifies against an empty hash.
                password_hash: String::new(),
                disabled: false,
                preferences: Preferences::default(),
                oidc_issuer: Some(issuer.to_owned()),
            };
            let inserted = sqlx::query(
                "INSERT INTO users (id, username, role, password_hash, created_at, \
                 oidc_issuer, oidc_subject) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&user.id)
            .bind(&user.username)
            .bind(role.as_str())
            .bind(&user.password_hash)
            .bind(now().to_string())
            .bind(issuer)
            .bind(subject)
            .execute(&self.pool)
            .await;
            match inserted.map_err(StorageError::from) {
                Ok(_) => return Ok(user),
                Err(StorageError::Duplicate(message)) => {
                    if let Some(existing) = self.find_sso_user(issuer, subject).await? {
                        return Ok(existing);
                    }
                    tracing::debug!(name = %user.username, %message, "SSO user name taken, trying the next");
                }
                Err(error) => return Err(error),
            }
        }
        Err(StorageError::Duplicate(format!(
            "every candidate name for {wanted:?} is taken"
        )))
    }

    /// Makes an SSO account a member because its provider no longer says it
    /// is an admin: every session ends and every token is revoked, in the
    /// same transaction, so nothing it held still works.
    pub async fn demote_sso_user(&self, user_id: &str) -> Result<AccessTaken, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(Role::Member.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let taken = AccessTaken {
            sessions_ended: delete_sessions(&mut tx, user_id, None).await?,
            tokens_revoked: revoke_tokens(&mut tx, user_id, None).await?,
        };
        tx.commit().await?;
        Ok(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::name_candidates;

    #[test]
    fn a_name_keeps_the_characters_local_names_allow_and_then_takes_a_suffix() {
        let names = name_candidates("Ann Lee+ops@example.com");
        assert_eq!(names[0], "Ann_Lee_ops@example.com");
        assert_eq!(names[1], "Ann_Lee_ops@example.com-sso");
        assert_eq!(names[2], "Ann_Lee_ops@example.com-sso-2");
        assert_eq!(names.len(), 10);
        assert_eq!(name_candidates("  ")[0], "sso-user");
        assert!(name_candidates(&"x".repeat(500))
            .iter()
            .all(|name| name.len() <= 64));
    }
}
