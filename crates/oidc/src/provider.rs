//! One discovered provider: its metadata (end-session endpoint included), the openidconnect client
//! built from it, the HTTP client that talks to it, and what is done with its current keys (the
//! authorization URL, the code exchange, the ID-token checks, userinfo). A `Provider` never
//! changes: fresh keys make a new one, which `OidcClient` swaps in.

use std::error::Error;

use base64::prelude::{Engine, BASE64_URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdToken, CoreIdTokenClaims,
    CoreIdTokenVerifier, CoreJsonWebKey, CoreTokenResponse,
};
use openidconnect::{
    reqwest, AccessToken, AccessTokenHash, AdditionalClaims, AuthorizationCode,
    ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, DiscoveryError, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKey, JsonWebKeySet, JwsSigningAlgorithm,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, SubjectIdentifier, TokenResponse, UserInfoClaims, UserInfoError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{AuthorizationStart, OidcError, OidcSettings, VerifiedLogin};

/// The client as `from_provider_metadata` makes it: an authorization endpoint for sure, a token
/// and a userinfo endpoint when the metadata names them.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub(crate) struct Provider {
    metadata: ProviderMetadataWithLogout,
    client: DiscoveredClient,
    http: reqwest::Client,
}

/// Why a token response was refused: for good, or perhaps only because the keys at hand are
/// stale, in which case fresh keys deserve one more try.
pub(crate) enum Refusal {
    StaleKeys,
    Failed(OidcError),
}

/// An ID token that passed every check, with its claims read whole.
pub(crate) struct VerifiedIdToken {
    subject: SubjectIdentifier,
    claims: Map<String, Value>,
    raw: String,
}

impl Provider {
    /// Discovery, then the JWKS it names. The error is a description for the log: no secrets.
    pub(crate) async fn discover(settings: &OidcSettings) -> Result<Provider, String> {
        let http = reqwest::Client::builder()
            // openidconnect's docs: an HTTP client that follows redirects opens the relying party
            // to server-side request forgery.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.http_timeout)
            .build()
            .map_err(|error| format!("the HTTP client could not be built: {}", chain(&error)))?;
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|_| "the issuer is not a URL".to_owned())?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http)
            .await
            .map_err(|error| describe_discovery_error(&error))?;
        Provider::new(metadata, http, settings)
    }

    /// The same provider with its JWKS fetched again.
    pub(crate) async fn with_fresh_keys(
        &self,
        settings: &OidcSettings,
    ) -> Result<Provider, String> {
        let keys = JsonWebKeySet::fetch_async(self.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|error| describe_discovery_error(&error))?;
        Provider::new(
            self.metadata.clone().set_jwks(keys),
            self.http.clone(),
            settings,
        )
    }

    fn new(
        metadata: ProviderMetadataWithLogout,
        http: reqwest::Client,
        settings: &OidcSettings,
    ) -> Result<Provider, String> {
        let redirect = RedirectUrl::new(settings.redirect_url.clone())
            .map_err(|_| "the redirect URL is not a URL".to_owned())?;
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(settings.client_id.clone()),
            settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        Ok(Provider {
            metadata,
            client,
            http,
        })
    }

    /// The authorization URL: code flow, PKCE S256, a fresh state and nonce, and the scopes
    /// (openidconnect always adds `openid`, so it is not repeated).
    pub(crate) fn authorization(&self, scopes: &[String]) -> AuthorizationStart {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let request = scopes
            .iter()
            .filter(|scope| !scope.is_empty() && scope.as_str() != "openid")
            .fold(
                self.client.authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    CsrfToken::new_random,
                    Nonce::new_random,
                ),
                |request, scope| request.add_scope(Scope::new(scope.clone())),
            );
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        AuthorizationStart {
            url: url.into(),
            state: state.into_secret(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.into_secret(),
        }
    }

    /// The token endpoint's answer to the code and its PKCE verifier.
    pub(crate) async fn exchange(
        &self,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<CoreTokenResponse, OidcError> {
        let request = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| {
                tracing::warn!("the OpenID provider's metadata has no token endpoint");
                OidcError::Exchange
            })?;
        request
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|error| {
                tracing::warn!(cause = %describe_token_error(&error), "the OpenID code exchange failed");
                OidcError::Exchange
            })
    }

    /// Every check of the ID token against the keys this provider holds, and of the access token
    /// against the ID token's `at_hash`.
    pub(crate) fn verify(
        &self,
        tokens: &CoreTokenResponse,
        nonce: &str,
        settings: &OidcSettings,
    ) -> Result<VerifiedIdToken, Refusal> {
        let invalid = |reason| Refusal::Failed(OidcError::InvalidIdToken(reason));
        let id_token = tokens.id_token().ok_or(invalid("missing"))?;
        let verifier = self.verifier(settings.max_clock_skew);
        let verified = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|error| refusal(&error))?;
        check_issue_time(verified, settings.max_clock_skew).map_err(invalid)?;
        check_authorized_party(verified, &settings.client_id).map_err(invalid)?;
        if !access_token_matches(id_token, verified, tokens, &verifier, settings) {
            tracing::warn!("the access token does not match the ID token's at_hash");
            return Err(Refusal::Failed(OidcError::Exchange));
        }
        let raw = id_token.to_string();
        let claims = verified_payload(&raw).ok_or(invalid("malformed"))?;
        Ok(VerifiedIdToken {
            subject: verified.subject().clone(),
            claims,
            raw,
        })
    }

    /// The login: the verified ID token's claims, plus userinfo's claims that the ID token lacks
    /// (never overwriting one of its own, since only they are signed).
    pub(crate) async fn login(
        &self,
        id_token: VerifiedIdToken,
        tokens: &CoreTokenResponse,
        issuer: &str,
    ) -> Result<VerifiedLogin, OidcError> {
        let VerifiedIdToken {
            subject,
            mut claims,
            raw,
        } = id_token;
        if let Some(extras) = self.user_info(tokens.access_token(), &subject).await? {
            for (name, value) in extras {
                claims.entry(name).or_insert(value);
            }
        }
        Ok(VerifiedLogin {
            issuer: issuer.to_owned(),
            subject: subject.to_string(),
            claims: Value::Object(claims),
            id_token: raw,
        })
    }

    fn verifier(&self, max_clock_skew: std::time::Duration) -> CoreIdTokenVerifier<'_> {
        let skew = chrono_skew(max_clock_skew);
        self.client
            .id_token_verifier()
            // openidconnect compares `exp` with this clock; setting it back by the skew lets a
            // token live that much longer, and no more.
            .set_time_fn(move || earlier(Utc::now(), skew))
            // Extra audiences pass here so that the authorized party decides (see
            // `check_authorized_party`): aud must hold our client id, and azp must be it.
            .set_other_audience_verifier_fn(|_| true)
    }

    /// Userinfo's claims, when the provider has the endpoint.
    async fn user_info(
        &self,
        access_token: &AccessToken,
        subject: &SubjectIdentifier,
    ) -> Result<Option<Map<String, Value>>, OidcError> {
        // With the subject given, openidconnect refuses an answer about anyone else.
        let Ok(request) = self
            .client
            .user_info(access_token.clone(), Some(subject.clone()))
        else {
            return Ok(None);
        };
        let info: UserInfoClaims<OtherClaims, CoreGenderClaim> =
            request.request_async(&self.http).await.map_err(|error| {
                tracing::warn!(cause = %describe_user_info_error(&error), "the OpenID userinfo request failed");
                OidcError::Exchange
            })?;
        match serde_json::to_value(&info) {
            Ok(Value::Object(claims)) => Ok(Some(claims)),
            _ => {
                tracing::warn!("the OpenID userinfo answer is not a JSON object");
                Err(OidcError::Exchange)
            }
        }
    }

    pub(crate) fn end_session_url(
        &self,
        id_token: &str,
        post_logout_redirect: &str,
        client_id: &str,
    ) -> Option<String> {
        let endpoint = self
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let Ok(id_token) = id_token.parse::<CoreIdToken>() else {
            tracing::warn!("the stored ID token is not a JWT; logging out without the provider");
            return None;
        };
        let Ok(redirect) = PostLogoutRedirectUrl::new(post_logout_redirect.to_owned()) else {
            tracing::warn!(
                "the post-logout redirect is not a URL; logging out without the provider"
            );
            return None;
        };
        let url = LogoutRequest::from(endpoint)
            .set_id_token_hint(&id_token)
            .set_post_logout_redirect_uri(redirect)
            .set_client_id(ClientId::new(client_id.to_owned()))
            .http_get_url();
        Some(url.into())
    }
}

/// The `at_hash` check (when the token has one): the access token used for userinfo is the
/// one this ID token was issued with.
fn access_token_matches(
    id_token: &CoreIdToken,
    claims: &CoreIdTokenClaims,
    tokens: &CoreTokenResponse,
    verifier: &CoreIdTokenVerifier<'_>,
    settings: &OidcSettings,
) -> bool {
    let Some(expected) = claims.access_token_hash() else {
        return true;
    };
    let Ok(algorithm) = id_token.signing_alg() else {
        return false;
    };
    let computed = if algorithm.uses_shared_secret() {
        let Some(secret) = &settings.client_secret else {
            return false;
        };
        let key = CoreJsonWebKey::new_symmetric(secret.as_bytes().to_vec());
        AccessTokenHash::from_token(tokens.access_token(), algorithm, &key)
    } else {
        let Ok(key) = id_token.signing_key(verifier) else {
            return false;
        };
        AccessTokenHash::from_token(tokens.access_token(), algorithm, key)
    };
    computed.is_ok_and(|computed| computed == *expected)
}

/// Claims that openidconnect has no field for (`groups`, `realm_access`…), kept so that userinfo's
/// answer serializes back whole.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(transparent)]
struct OtherClaims(Map<String, Value>);

impl AdditionalClaims for OtherClaims {}

/// The verified token's payload as JSON. openidconnect has just checked the signature over
/// exactly these bytes, so reading them directly is safe; its typed claims would drop the
/// provider's own claims (`groups`, `realm_access`…).
fn verified_payload(raw: &str) -> Option<Map<String, Value>> {
    let payload = raw.split('.').nth(1)?;
    let bytes = BASE64_URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn refusal(error: &ClaimsVerificationError) -> Refusal {
    let reason = match error {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey | SignatureVerificationError::CryptoError(_),
        ) => return Refusal::StaleKeys,
        ClaimsVerificationError::SignatureVerification(_) => "signature",
        ClaimsVerificationError::Expired(_) => "expired",
        ClaimsVerificationError::InvalidAudience(_) => "audience",
        ClaimsVerificationError::InvalidIssuer(_) => "issuer",
        ClaimsVerificationError::InvalidNonce(_) => "nonce",
        _ => "malformed",
    };
    // The library's words name values (issuer, audience, times), never the token itself.
    tracing::warn!(reason, detail = %error, "the ID token was refused");
    Refusal::Failed(OidcError::InvalidIdToken(reason))
}

/// openidconnect accepts any `iat`; one further ahead than the allowed skew means a token minted
/// for later, or a provider whose clock cannot be trusted.
fn check_issue_time(
    claims: &CoreIdTokenClaims,
    max_clock_skew: std::time::Duration,
) -> Result<(), &'static str> {
    let latest = Utc::now().checked_add_signed(chrono_skew(max_clock_skew));
    match latest {
        Some(latest) if claims.issue_time() > latest => Err("issued_in_future"),
        _ => Ok(()),
    }
}

/// OpenID Connect Core 3.1.3.7: with several audiences an `azp` must be present, and when present
/// it must be our client id (openidconnect leaves this check out).
fn check_authorized_party(claims: &CoreIdTokenClaims, client_id: &str) -> Result<(), &'static str> {
    match claims.authorized_party() {
        Some(party) if party.as_str() != client_id => Err("azp"),
        None if claims.audiences().len() > 1 => Err("azp"),
        _ => Ok(()),
    }
}

/// A skew too large for chrono counts as none: the strict reading.
fn chrono_skew(max_clock_skew: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(max_clock_skew).unwrap_or_default()
}

fn earlier(now: DateTime<Utc>, skew: TimeDelta) -> DateTime<Utc> {
    now.checked_sub_signed(skew).unwrap_or(now)
}

/// An error and its causes, for the log: the HTTP client's words (the URL, "connection refused"),
/// never a request body.
fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

// The three descriptions below keep to what carries no token: a parse error's serde message can
// quote the body it failed on, so only its place in the document is logged.

fn describe_discovery_error<E: Error + 'static>(error: &DiscoveryError<E>) -> String {
    match error {
        DiscoveryError::Request(cause) => format!("request failed: {}", chain(cause)),
        DiscoveryError::Parse(cause) => format!("unreadable answer at `{}`", cause.path()),
        other => other.to_string(),
    }
}

fn describe_token_error<E: Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    error: &RequestTokenError<E, T>,
) -> String {
    match error {
        RequestTokenError::Request(cause) => format!("request failed: {}", chain(cause)),
        RequestTokenError::Parse(cause, _) => format!("unreadable answer at `{}`", cause.path()),
        other => other.to_string(),
    }
}

fn describe_user_info_error<E: Error + 'static>(error: &UserInfoError<E>) -> String {
    match error {
        UserInfoError::Request(cause) => format!("request failed: {}", chain(cause)),
        UserInfoError::Parse(cause) => format!("unreadable answer at `{}`", cause.path()),
        UserInfoError::ClaimsVerification(cause) => format!("claims refused: {cause}"),
        other => other.to_string(),
    }
}
