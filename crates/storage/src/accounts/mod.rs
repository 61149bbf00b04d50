//! Users, API tokens, sessions and login attempts. Every credential lookup
//! joins its owner, so the owner's role and state are read with the
//! credential, in the one round trip each request already makes.

mod last_use;
mod login_attempts;
mod records;
mod sessions;
mod sso;
mod tokens;
mod users;

pub(crate) use last_use::LastUseWrites;
pub use records::{AccessTaken, NewApiToken, NewSession, Owner, SessionRecord, UserRecord};
pub use sso::{NewSignIn, PendingSignIn};
