//! Secrets the server keeps for itself (`server_secrets`), shared by every
//! instance on the database.

use sqlx::Row;

use crate::error::StorageError;
use crate::Store;

impl Store {
    /// The secret kept for `purpose`. The first caller's `candidate` becomes
    /// it; everyone after, on any instance, gets that same one back.
    pub async fn server_secret(
        &self,
        purpose: &str,
        candidate: &str,
    ) -> Result<String, StorageError> {
        sqlx::query(
            "INSERT INTO server_secrets (purpose, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (purpose) DO NOTHING",
        )
        .bind(purpose)
        .bind(candidate)
        .bind(crate::now().to_string())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT secret FROM server_secrets WHERE purpose = $1")
            .bind(purpose)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("secret")?)
    }
}
