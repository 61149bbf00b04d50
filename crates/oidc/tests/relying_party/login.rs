//! The happy path and the flow's own guards: PKCE, state and nonce in the URL, single-use codes.

use regen_oidc::{claim_matches, OidcError};
use serde_json::json;

use crate::helpers::{query, Rig, CLIENT_ID};

fn admins() -> Vec<String> {
    vec!["regen-admins".to_owned()]
}

#[tokio::test]
async fn an_admin_signs_in_with_her_subject_issuer_claims_and_id_token() {
    let rig = Rig::start().await;
    let (start, callback) = rig.sign_in("alice").await;
    assert_eq!(
        callback.state, start.state,
        "the provider sends the state back"
    );

    let login = rig
        .client
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
        .expect("alice's login");

    assert_eq!(login.subject, "sub-alice-0001");
    assert_eq!(login.issuer, rig.provider.issuer);
    assert_eq!(login.claims["preferred_username"], json!("alice"));
    assert_eq!(login.claims["email"], json!("alice@example.test"));
    assert_eq!(login.claims["groups"], json!(["regen-admins", "staff"]));
    assert_eq!(
        login.claims["realm_access"]["roles"],
        json!(["regen-admins"])
    );
    assert_eq!(login.claims["nonce"], json!(start.nonce));
    assert!(claim_matches(&login.claims, "groups", &admins()));
    assert!(claim_matches(
        &login.claims,
        "realm_access.roles",
        &admins()
    ));
    assert_eq!(login.id_token.split('.').count(), 3, "the raw JWT is kept");
}

#[tokio::test]
async fn a_user_outside_the_admin_group_signs_in_but_does_not_match_the_admin_rule() {
    let rig = Rig::start().await;

    let login = rig.log_in("bob").await.expect("bob's login");

    assert_eq!(login.subject, "sub-bob-0002");
    assert_eq!(login.claims["groups"], json!(["staff"]));
    assert!(!claim_matches(&login.claims, "groups", &admins()));
    assert!(!claim_matches(
        &login.claims,
        "realm_access.roles",
        &admins()
    ));
}

#[tokio::test]
async fn a_group_removed_at_the_provider_is_gone_from_the_next_login() {
    let rig = Rig::start().await;
    rig.log_in("alice").await.expect("the first login");
    rig.provider.set_groups("alice", &["staff"]).await;

    let login = rig.log_in("alice").await.expect("the second login");

    assert_eq!(login.claims["groups"], json!(["staff"]));
    assert!(!claim_matches(&login.claims, "groups", &admins()));
}

#[tokio::test]
async fn the_authorization_url_asks_for_the_code_flow_with_pkce_s256_state_nonce_and_scopes() {
    let rig = Rig::start().await;

    let start = rig.client.begin().await.unwrap();

    assert!(start.url.starts_with(&format!("{}/", rig.provider.issuer)));
    let url = start.url.as_str();
    assert_eq!(query(url, "response_type").as_deref(), Some("code"));
    assert_eq!(query(url, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(query(url, "redirect_uri"), Some(rig.redirect_url.clone()));
    assert_eq!(query(url, "code_challenge_method").as_deref(), Some("S256"));
    let challenge = query(url, "code_challenge").expect("a code challenge");
    assert_eq!(challenge.len(), 43, "a base64url SHA-256");
    assert_ne!(
        challenge, start.pkce_verifier,
        "the verifier itself never leaves"
    );
    assert_eq!(query(url, "state"), Some(start.state.clone()));
    assert_eq!(query(url, "nonce"), Some(start.nonce.clone()));
    assert_eq!(query(url, "scope").as_deref(), Some("openid profile email"));
}

#[tokio::test]
async fn openid_is_asked_even_when_the_scopes_leave_it_out() {
    let rig = Rig::start_with(|settings| settings.scopes = vec!["email".to_owned()]).await;

    let start = rig.client.begin().await.unwrap();

    assert_eq!(query(&start.url, "scope").as_deref(), Some("openid email"));
}

#[tokio::test]
async fn every_login_gets_its_own_state_nonce_and_verifier() {
    let rig = Rig::start().await;

    let first = rig.client.begin().await.unwrap();
    let second = rig.client.begin().await.unwrap();

    assert_ne!(first.state, second.state);
    assert_ne!(first.nonce, second.nonce);
    assert_ne!(first.pkce_verifier, second.pkce_verifier);
}

#[tokio::test]
async fn a_code_used_twice_is_refused_the_second_time() {
    let rig = Rig::start().await;
    let (start, callback) = rig.sign_in("alice").await;
    rig.client
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
        .expect("the first use");

    let again = rig
        .client
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await;

    assert!(matches!(again, Err(OidcError::Exchange)), "{again:?}");
}

#[tokio::test]
async fn a_code_exchanged_with_another_logins_pkce_verifier_is_refused() {
    let rig = Rig::start().await;
    let (start, callback) = rig.sign_in("alice").await;
    let other = rig.client.begin().await.unwrap();

    let result = rig
        .client
        .finish(&callback.code, &other.pkce_verifier, &start.nonce)
        .await;

    assert!(matches!(result, Err(OidcError::Exchange)), "{result:?}");
}

#[tokio::test]
async fn a_wrong_nonce_passed_to_finish_is_refused_for_its_nonce() {
    let rig = Rig::start().await;
    let (start, callback) = rig.sign_in("alice").await;
    let other = rig.client.begin().await.unwrap();

    let result = rig
        .client
        .finish(&callback.code, &start.pkce_verifier, &other.nonce)
        .await;

    assert!(
        matches!(result, Err(OidcError::InvalidIdToken("nonce"))),
        "{result:?}"
    );
}
