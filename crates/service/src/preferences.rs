//! An admin's own display preferences (time display, keyboard shortcuts).
//! They come with the caller (read with the credential); this is where
//! they change.

use regen_domain::{Caller, Preferences};

use crate::{require_acting, AdminService, ServiceError};

impl AdminService {
    /// Stores the caller's preferences; the next page shows them.
    pub async fn set_own_preferences(
        &self,
        caller: Option<&Caller>,
        preferences: Preferences,
    ) -> Result<(), ServiceError> {
        let caller = require_acting(caller)?;
        if self
            .store()
            .set_preferences(&caller.user_id, preferences)
            .await?
        {
            Ok(())
        } else {
            Err(ServiceError::Unauthenticated)
        }
    }
}
