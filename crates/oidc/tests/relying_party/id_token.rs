//! Each way the provider can be made to send a bad ID token, refused with its reason; the clock
//! skew allowed both ways; keys rotated at the provider, fetched again once.

use std::time::Duration;

use regen_oidc::OidcError;

use crate::helpers::Rig;

/// A login as alice whose ID token the provider alters `how`.
async fn tampered_login(rig: &Rig, how: &str) -> Result<regen_oidc::VerifiedLogin, OidcError> {
    let (start, callback) = rig.sign_in("alice").await;
    rig.provider.tamper_next_id_token(how).await;
    rig.client
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
}

async fn assert_refused(how: &str, reason: &str) {
    let rig = Rig::start().await;

    let result = tampered_login(&rig, how).await;

    match result {
        Err(OidcError::InvalidIdToken(found)) => assert_eq!(found, reason, "tampering {how}"),
        other => panic!("tampering {how}: expected InvalidIdToken({reason}), got {other:?}"),
    }
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused_for_its_audience() {
    assert_refused("audience", "audience").await;
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused_for_its_nonce() {
    assert_refused("nonce", "nonce").await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused_as_expired() {
    assert_refused("expired", "expired").await;
}

#[tokio::test]
async fn an_id_token_issued_in_the_future_is_refused_as_issued_in_future() {
    assert_refused("issued-in-future", "issued_in_future").await;
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_refused_for_its_issuer() {
    assert_refused("issuer", "issuer").await;
}

#[tokio::test]
async fn an_id_token_signed_by_a_key_outside_the_jwks_is_refused_for_its_signature() {
    assert_refused("signature", "signature").await;
}

#[tokio::test]
async fn an_id_token_authorized_for_another_party_is_refused_for_azp() {
    assert_refused("azp", "azp").await;
}

#[tokio::test]
async fn an_id_token_expired_less_than_the_allowed_skew_ago_is_accepted() {
    // The provider's "expired" token ran out 300 s ago.
    let rig = Rig::start_with(|settings| settings.max_clock_skew = Duration::from_secs(400)).await;

    let result = tampered_login(&rig, "expired").await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn an_id_token_issued_less_than_the_allowed_skew_ahead_is_accepted() {
    // The provider's "issued-in-future" token is issued 600 s from now.
    let rig = Rig::start_with(|settings| settings.max_clock_skew = Duration::from_secs(700)).await;

    let result = tampered_login(&rig, "issued-in-future").await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_key_rotated_at_the_provider_is_fetched_again_and_the_login_succeeds() {
    let rig = Rig::start().await;
    rig.provider.rotate_keys().await;

    let login = rig
        .log_in("alice")
        .await
        .expect("the login after the rotation");

    assert_eq!(login.subject, "sub-alice-0001");
}

#[tokio::test]
async fn keys_fetched_again_are_kept_for_later_logins() {
    let rig = Rig::start().await;
    rig.provider.rotate_keys().await;
    rig.log_in("alice")
        .await
        .expect("the login that fetches the new keys");

    // Within the refetch interval another fetch would be refused, so this login can only pass
    // with the keys kept from the one before.
    let login = rig.log_in("bob").await.expect("the next login");

    assert_eq!(login.subject, "sub-bob-0002");
}

#[tokio::test]
async fn keys_are_not_fetched_again_twice_within_ten_seconds() {
    let rig = Rig::start().await;
    rig.provider.rotate_keys().await;
    rig.log_in("alice")
        .await
        .expect("the login that fetches the new keys");
    rig.provider.rotate_keys().await;

    let result = rig.log_in("alice").await;

    assert!(
        matches!(result, Err(OidcError::InvalidIdToken("signature"))),
        "{result:?}"
    );
}
