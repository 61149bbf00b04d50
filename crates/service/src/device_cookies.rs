//! Device cookies, OWASP's answer to throttling by address: a browser that
//! logged in as a user keeps a signed cookie naming that user, and its later
//! logins as that user count against that cookie instead of its address and
//! the account. An address over its budget (everyone behind one proxy), or a
//! storm of guesses against the account, then slows strangers down without
//! locking out the browsers the user really uses.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secrets::random_secret;
use crate::{AdminService, ServiceError};

type HmacSha256 = Hmac<Sha256>;

/// What the signing key is kept under in `server_secrets`.
const KEY_PURPOSE: &str = "device-cookie-hmac-sha256";

/// Longest cookie value considered: a user id, a nonce and a tag are far
/// shorter.
const MAX_COOKIE: usize = 200;

/// The cookie a browser gets with every successful login: the user's id, a
/// random nonce naming the device, and an HMAC-SHA256 of both.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCookie(String);

impl DeviceCookie {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceCookie(***)")
    }
}

/// The key device cookies are signed with. It lives in the database, so
/// that a cookie from one instance is good on every other.
pub(crate) struct DeviceKey(String);

impl DeviceKey {
    fn tag(&self, user_id: &str, nonce: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.0.as_bytes()).expect("HMAC takes any key");
        mac.update(user_id.as_bytes());
        mac.update(b".");
        mac.update(nonce.as_bytes());
        mac
    }

    pub(crate) fn issue(&self, user_id: &str) -> DeviceCookie {
        let nonce = random_secret();
        let tag = URL_SAFE_NO_PAD.encode(self.tag(user_id, &nonce).finalize().into_bytes());
        DeviceCookie(format!("{user_id}.{nonce}.{tag}"))
    }

    /// The device a cookie names, if this key signed it for `user_id`: a
    /// cookie of another user, or altered in any way, names none.
    pub(crate) fn device<'c>(&self, cookie: &'c str, user_id: &str) -> Option<&'c str> {
        if cookie.len() > MAX_COOKIE {
            return None;
        }
        let mut parts = cookie.split('.');
        let (id, nonce, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || id != user_id {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.tag(id, nonce).verify_slice(&tag).ok()?;
        Some(nonce)
    }
}

impl AdminService {
    /// The signing key, read (or, by the first instance ever, generated)
    /// once per instance.
    pub(crate) async fn device_key(&self) -> Result<&DeviceKey, ServiceError> {
        self.inner
            .device_key
            .get_or_try_init(|| async {
                let secret = self
                    .store()
                    .server_secret(KEY_PURPOSE, &random_secret())
                    .await?;
                Ok(DeviceKey(secret))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DeviceKey {
        DeviceKey(random_secret())
    }

    #[test]
    fn a_cookie_names_its_device_for_its_own_user_only() {
        let key = key();
        let cookie = key.issue("user-a");

        let device = key.device(cookie.as_str(), "user-a");

        assert_eq!(device, cookie.as_str().split('.').nth(1));
        assert_eq!(key.device(cookie.as_str(), "user-b"), None);
    }

    #[test]
    fn an_altered_or_foreign_cookie_names_no_device() {
        let key = key();
        let cookie = key.issue("user-a").as_str().to_owned();
        let (head, tag) = cookie.rsplit_once('.').unwrap();
        let other_tag = if tag.starts_with('A') { "B" } else { "A" };
        let altered = format!("{head}.{other_tag}{}", &tag[1..]);
        let renamed = cookie.replacen("user-a", "user-b", 1);
        let other_nonce = format!("{head}x.{tag}");

        for forged in [
            altered,
            renamed,
            other_nonce,
            format!("{cookie}.x"),
            "".into(),
        ] {
            assert_eq!(key.device(&forged, "user-a"), None, "{forged}");
            assert_eq!(key.device(&forged, "user-b"), None, "{forged}");
        }
        assert_eq!(super::tests::key().device(&cookie, "user-a"), None);
    }
}
