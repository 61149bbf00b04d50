//! regen-admin's OpenID Connect relying party, over the `openidconnect` crate.
//!
//! This crate owns the conversation with the identity provider: discovery at start-up and its
//! retry on a later request (never by a background task), the authorization URL (code flow,
//! PKCE S256, state, nonce), the code exchange, every check of the ID token (signature through a
//! JWKS fetched again once when a key is unknown, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`),
//! userinfo, the RP-initiated logout URL, and the admin rule's claim match (`claim_matches`).
//!
//! It keeps nothing per login: the state, nonce and PKCE verifier of a login in progress are the
//! service's to store and bind to the browser. Errors say what failed in fixed words, for logs;
//! no token or secret is ever part of one.

#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
compile_error!(
    "regen-oidc is the server's relying party; the browser's code must not depend on it."
);

mod claims;
mod provider;
#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

pub use claims::{claim, claim_matches};
use provider::{Provider, Refusal};

/// After a key is not found (or fails) and the JWKS is fetched again, the next such refetch waits
/// this long: a stream of forged tokens must not become a stream of requests to the provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct OidcSettings {
    /// As configured, e.g. "http://127.0.0.1:3900"; the ID token's `iss` must equal it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// "openid" is always asked, even if absent here.
    pub scopes: Vec<String>,
    /// e.g. "http://127.0.0.1:3000/auth/oidc/callback".
    pub redirect_url: String,
    /// A failed discovery is tried again at most this often.
    pub retry_interval: Duration,
    /// Each HTTP call to the provider.
    pub http_timeout: Duration,
    /// 60 s in production.
    pub max_clock_skew: Duration,
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<hidden>"),
            )
            .field("scopes", &self.scopes)
            .field("redirect_url", &self.redirect_url)
            .field("retry_interval", &self.retry_interval)
            .field("http_timeout", &self.http_timeout)
            .field("max_clock_skew", &self.max_clock_skew)
            .finish()
    }
}

/// The start of a login: where to send the browser, and the three secrets the callback needs
/// back (kept server-side, bound to the browser by the caller).
pub struct AuthorizationStart {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl fmt::Debug for AuthorizationStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationStart")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A login whose ID token passed every check.
pub struct VerifiedLogin {
    pub issuer: String,
    pub subject: String,
    /// Every claim of the verified ID token (a JSON object), plus userinfo's claims that it lacks.
    pub claims: serde_json::Value,
    /// The raw JWT, kept server-side for logout's `id_token_hint`.
    pub id_token: String,
}

impl fmt::Debug for VerifiedLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedLogin")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Discovery has not succeeded (provider unreachable or its metadata invalid).
    #[error("the OpenID provider is unavailable: its discovery has not succeeded")]
    Unavailable,
    /// The provider sent the browser back with an error (`error=access_denied`…): its code only.
    #[error("the OpenID provider refused the sign-in: {0}")]
    ProviderRefused(String),
    /// The token endpoint (or userinfo) failed or answered something unusable.
    #[error("the OpenID code exchange or userinfo request failed")]
    Exchange,
    /// The ID token failed a check; the reason is a fixed word for logs: "signature", "issuer",
    /// "audience", "azp", "expired", "issued_in_future", "nonce", "missing", "malformed".
    #[error("the ID token failed its {0} check")]
    InvalidIdToken(&'static str),
}

/// The relying party for one configured provider. Cheap to clone: every clone shares the
/// discovery, its retry and the keys.
#[derive(Clone)]
pub struct OidcClient {
    inner: Arc<Inner>,
}

struct Inner {
    settings: OidcSettings,
    discovery: RwLock<Discovery>,
    /// Held by the one request that retries discovery; the others answer Unavailable meanwhile
    /// rather than pile onto a provider that is down.
    retrying: tokio::sync::Mutex<()>,
    /// When the JWKS was last fetched again because of an unknown or failing key.
    keys_refetched_at: tokio::sync::Mutex<Option<Instant>>,
}

enum Discovery {
    Ready(Arc<Provider>),
    Failed { at: Instant },
}

impl OidcClient {
    /// Tries discovery once (and fetches the JWKS). A failure is logged (tracing::warn, no
    /// secrets) and remembered with its time. Never fails.
    pub async fn start(settings: OidcSettings) -> OidcClient {
        let discovery = discover(&settings).await;
        OidcClient {
            inner: Arc::new(Inner {
                settings,
                discovery: RwLock::new(discovery),
                retrying: tokio::sync::Mutex::new(()),
                keys_refetched_at: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Discovery has succeeded (no I/O).
    pub fn is_ready(&self) -> bool {
        self.ready().is_some()
    }

    /// As configured.
    pub fn issuer(&self) -> &str {
        &self.inner.settings.issuer
    }

    /// Starts a login: the authorization URL (code flow, PKCE S256, state, nonce, the scopes).
    /// If discovery has not succeeded yet, it is tried again here when the last try is older than
    /// `retry_interval`; while one request tries, the others answer `Unavailable`.
    pub async fn begin(&self) -> Result<AuthorizationStart, OidcError> {
        let provider = self.provider().await?;
        Ok(provider.authorization(&self.inner.settings.scopes))
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token; a key unknown to
    /// (or failing with) the cached JWKS makes one refetch and one more try. Then userinfo's
    /// claims that the ID token lacks are added (its `sub` must be the ID token's).
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedLogin, OidcError> {
        let settings = &self.inner.settings;
        let provider = self.provider().await?;
        let tokens = provider.exchange(code, pkce_verifier).await?;
        let (provider, id_token) = match provider.verify(&tokens, nonce, settings) {
            Ok(id_token) => (provider, id_token),
            Err(Refusal::Failed(error)) => return Err(error),
            Err(Refusal::StaleKeys) => {
                let fresh = self
                    .with_fresh_keys(&provider)
                    .await
                    .ok_or_else(bad_signature)?;
                match fresh.verify(&tokens, nonce, settings) {
                    Ok(id_token) => (fresh, id_token),
                    Err(Refusal::Failed(error)) => return Err(error),
                    Err(Refusal::StaleKeys) => return Err(bad_signature()),
                }
            }
        };
        provider.login(id_token, &tokens, &settings.issuer).await
    }

    /// RP-Initiated Logout: `end_session_endpoint?id_token_hint=..&post_logout_redirect_uri=..
    /// &client_id=..`. None when discovery has not succeeded or the provider has no
    /// end_session_endpoint.
    pub fn end_session_url(&self, id_token: &str, post_logout_redirect: &str) -> Option<String> {
        self.ready()?.end_session_url(
            id_token,
            post_logout_redirect,
            &self.inner.settings.client_id,
        )
    }

    fn ready(&self) -> Option<Arc<Provider>> {
        match &*self
            .inner
            .discovery
            .read()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Discovery::Ready(provider) => Some(Arc::clone(provider)),
            Discovery::Failed { .. } => None,
        }
    }

    /// The discovered provider, or — when discovery failed longer than `retry_interval` ago —
    /// one more try, by this request alone.
    async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
        if let Some(decided) = self.provider_without_trying() {
            return decided;
        }
        let Ok(_retrying) = self.inner.retrying.try_lock() else {
            return Err(OidcError::Unavailable);
        };
        // Another request may have tried between the look above and the lock.
        if let Some(decided) = self.provider_without_trying() {
            return decided;
        }
        let discovery = discover(&self.inner.settings).await;
        let outcome = match &discovery {
            Discovery::Ready(provider) => Ok(Arc::clone(provider)),
            Discovery::Failed { .. } => Err(OidcError::Unavailable),
        };
        self.set_discovery(discovery);
        outcome
    }

    /// The answer when it needs no try: the provider, or Unavailable while the last failure is
    /// recent. None when a try is due.
    fn provider_without_trying(&self) -> Option<Result<Arc<Provider>, OidcError>> {
        match &*self
            .inner
            .discovery
            .read()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Discovery::Ready(provider) => Some(Ok(Arc::clone(provider))),
            Discovery::Failed { at } if at.elapsed() < self.inner.settings.retry_interval => {
                Some(Err(OidcError::Unavailable))
            }
            Discovery::Failed { .. } => None,
        }
    }

    fn set_discovery(&self, discovery: Discovery) {
        *self
            .inner
            .discovery
            .write()
            .unwrap_or_else(PoisonError::into_inner) = discovery;
    }

    /// The provider with its JWKS fetched again, and kept for every later login. None when a
    /// refetch happened less than `JWKS_REFETCH_INTERVAL` ago, or failed.
    async fn with_fresh_keys(&self, stale: &Arc<Provider>) -> Option<Arc<Provider>> {
        let mut refetched_at = self.inner.keys_refetched_at.lock().await;
        // A request that waited for the lock may find keys already fetched by the one before it.
        if let Some(current) = self.ready() {
            if !Arc::ptr_eq(&current, stale) {
                return Some(current);
            }
        }
        if refetched_at.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            tracing::warn!(
                "the OpenID provider's keys were fetched again moments ago; not again yet"
            );
            return None;
        }
        *refetched_at = Some(Instant::now());
        match stale.with_fresh_keys(&self.inner.settings).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                self.set_discovery(Discovery::Ready(Arc::clone(&fresh)));
                Some(fresh)
            }
            Err(cause) => {
                tracing::warn!(%cause, "fetching the OpenID provider's keys again failed");
                None
            }
        }
    }
}

async fn discover(settings: &OidcSettings) -> Discovery {
    match Provider::discover(settings).await {
        Ok(provider) => {
            tracing::info!(issuer = %settings.issuer, "OpenID provider discovered");
            Discovery::Ready(Arc::new(provider))
        }
        Err(cause) => {
            tracing::warn!(
                issuer = %settings.issuer,
                %cause,
                "OpenID Connect discovery failed; sign-in with the provider is unavailable until it succeeds"
            );
            Discovery::Failed { at: Instant::now() }
        }
    }
}

fn bad_signature() -> OidcError {
    tracing::warn!("the ID token's signature does not verify with the provider's keys");
    OidcError::InvalidIdToken("signature")
}
