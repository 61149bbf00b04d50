//! What the operator CLI may do: insert jobs the way producers do, seed and
//! import, manage accounts, and repair the audit trail from the journal.

use regen_domain::{
    AuditEvent, Caller, JobId, JobStatus, NewJob, RegenerationJob, Role, Scope, Timestamp,
};
use regen_storage::StorageError;

use crate::auth::caller_of;
use crate::passwords::{hash_password, validate_new_user};
use crate::{AdminService, ReplayReport, ServiceError};

/// The person at the server's command line. Whoever can run the binary with
/// the `DATABASE_URL` already holds the database; this type names that
/// authority, so the methods that need it cannot be reached from a request
/// (the HTTP layer never makes one).
#[derive(Debug)]
pub struct Operator {
    _only_through_command_line: (),
}

impl Operator {
    pub fn command_line() -> Operator {
        Operator {
            _only_through_command_line: (),
        }
    }
}

impl AdminService {
    /// Inserts one job with its REGEN_JOB_CREATED event, as a producer would.
    pub async fn create_job(
        &self,
        _operator: &Operator,
        job: NewJob,
    ) -> Result<RegenerationJob, ServiceError> {
        Ok(self.store().insert_job(job).await?)
    }

    /// Inserts jobs with the creation times their producer recorded, each
    /// with its REGEN_JOB_CREATED event, in one transaction (seeding, imports).
    pub async fn import_jobs(
        &self,
        _operator: &Operator,
        jobs: Vec<(NewJob, Timestamp)>,
    ) -> Result<Vec<JobId>, ServiceError> {
        Ok(self.store().insert_jobs(jobs).await?)
    }

    /// Leaves the database as fast after a bulk import as it will be once
    /// its upkeep has run: past hours' activity shards folded, counter
    /// tables vacuumed, the planner's statistics up to date.
    pub async fn refresh_statistics(&self, _operator: &Operator) -> Result<(), ServiceError> {
        self.fold_activity_shards().await?;
        Ok(self.store().refresh_statistics().await?)
    }

    /// Inserts audit events recorded elsewhere (an importer's history).
    pub async fn import_audit_events(
        &self,
        _operator: &Operator,
        events: &[AuditEvent],
    ) -> Result<(), ServiceError> {
        Ok(self.store().insert_audit_events(events).await?)
    }

    /// Inserts journaled events missing from the audit table. Idempotent.
    pub async fn replay_audit_journal(
        &self,
        _operator: &Operator,
    ) -> Result<ReplayReport, ServiceError> {
        self.journal().replay(self.store()).await
    }

    pub fn audit_journal_path(&self, _operator: &Operator) -> &std::path::Path {
        self.journal().path()
    }

    /// Jobs whose status is not backed by the audit event that produced it.
    pub async fn jobs_missing_audit(
        &self,
        _operator: &Operator,
    ) -> Result<Vec<(JobId, JobStatus)>, ServiceError> {
        Ok(self.store().jobs_missing_audit().await?)
    }

    /// The account with this name, if there is one.
    pub async fn find_user(
        &self,
        _operator: &Operator,
        username: &str,
    ) -> Result<Option<Caller>, ServiceError> {
        let user = self.store().find_user_by_name(username).await?;
        Ok(user.map(|u| caller_of(u, Scope::Admin)))
    }

    pub async fn create_user(
        &self,
        _operator: &Operator,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<Caller, ServiceError> {
        let username = validate_new_user(username, password)?;
        let hash = hash_password(password.to_owned()).await;
        match self.store().create_user(username, role, &hash).await {
            Ok(user) => Ok(caller_of(user, Scope::Admin)),
            Err(StorageError::Duplicate(_)) => Err(ServiceError::InvalidInput(format!(
                "user {username:?} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }
}
