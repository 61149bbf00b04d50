use regen_domain::{JobStatus, PasswordRule};
use regen_storage::StorageError;

/// What went wrong, in terms a caller can act on. Internal causes are kept
/// for the log and never shown.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("admin role required")]
    Forbidden,
    /// An admin's read-scope token asked to change something.
    #[error("this credential may only read")]
    InsufficientScope,
    #[error("regeneration job not found")]
    NotFound,
    #[error("the job is {current}, only PENDING jobs can be triggered")]
    Conflict { current: JobStatus },
    #[error("{0}")]
    InvalidInput(String),
    /// A bulk trigger names or selects more jobs than one may trigger.
    #[error("a bulk trigger takes at most {max} jobs")]
    TooManyJobs { max: usize },
    /// A bulk trigger's filter selects another number of PENDING jobs than
    /// the caller expected (and confirmed): nothing was triggered.
    #[error("the filter now selects {current_count} PENDING jobs")]
    CountChanged { current_count: u64 },
    /// A request under the same idempotency key is still running.
    #[error("a request with this idempotency key is still running")]
    KeyInProgress,
    /// The idempotency key was used for another request.
    #[error("this idempotency key was used for another request")]
    KeyReused,
    /// One named parameter has a bad value; pages show the message next to
    /// that field.
    #[error("{message}")]
    InvalidParameter {
        parameter: &'static str,
        message: String,
    },
    /// A new password breaks one of the password rules.
    #[error("{}", .0.message())]
    WeakPassword(PasswordRule),
    #[error("too many attempts, try again later")]
    RateLimited { retry_after_secs: u64 },
    #[error("the database is unavailable")]
    Unavailable(#[source] StorageError),
    #[error("internal error")]
    Internal(#[source] StorageError),
    /// The database could not be opened or migrated at start-up.
    #[error("{0}")]
    Setup(#[source] StorageError),
}

impl From<StorageError> for ServiceError {
    fn from(error: StorageError) -> Self {
        if error.is_unavailable() {
            ServiceError::Unavailable(error)
        } else {
            ServiceError::Internal(error)
        }
    }
}
