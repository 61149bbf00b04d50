//! RP-initiated logout: the URL, and the provider accepting it.

use crate::helpers::{query, unused_port, Rig, CLIENT_ID};

#[tokio::test]
async fn the_end_session_url_carries_the_id_token_hint_the_post_logout_redirect_and_the_client_id()
{
    let rig = Rig::start().await;
    let login = rig.log_in("alice").await.unwrap();
    let after = format!("http://127.0.0.1:{}/login", unused_port());

    let url = rig
        .client
        .end_session_url(&login.id_token, &after)
        .expect("the provider has an end_session_endpoint");

    let endpoint = format!("{}/session/end?", rig.provider.issuer);
    assert!(url.starts_with(&endpoint), "{url}");
    assert_eq!(query(&url, "id_token_hint"), Some(login.id_token));
    assert_eq!(query(&url, "post_logout_redirect_uri"), Some(after));
    assert_eq!(query(&url, "client_id").as_deref(), Some(CLIENT_ID));
}

#[tokio::test]
async fn the_provider_receives_the_end_session_request_with_its_hint_and_redirect() {
    let rig = Rig::start().await;
    let login = rig.log_in("alice").await.unwrap();
    let after = format!("http://127.0.0.1:{}/login", unused_port());
    let url = rig.client.end_session_url(&login.id_token, &after).unwrap();

    let response = reqwest::get(url).await.unwrap();

    assert!(response.status().is_success(), "{}", response.status());
    let received = rig.provider.end_sessions().await;
    assert_eq!(
        received,
        serde_json::json!([{ "id_token_hint": true, "post_logout_redirect_uri": after }])
    );
}
