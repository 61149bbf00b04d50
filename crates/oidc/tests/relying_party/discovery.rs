//! Discovery at start-up, and its retry on a request: at most once per retry interval, by one
//! request at a time.

use std::time::{Duration, Instant};

use regen_oidc::{OidcClient, OidcError};

use crate::helpers::{authorize, settings, unused_port, CountingListener, TestProvider};

const RETRY: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_provider_down_at_start_up_is_used_once_it_is_up_and_the_retry_interval_passed() {
    let port = unused_port();
    let settings = settings(&format!("http://127.0.0.1:{port}"));
    let redirect_url = settings.redirect_url.clone();
    let started = Instant::now();
    let client = OidcClient::start(settings).await;
    assert!(!client.is_ready());
    assert!(matches!(client.begin().await, Err(OidcError::Unavailable)));
    assert_eq!(
        client.end_session_url("a.b.c", "http://127.0.0.1:1/login"),
        None
    );

    let provider = TestProvider::spawn_on(port).await;
    tokio::time::sleep(
        (started + RETRY + Duration::from_millis(100)).saturating_duration_since(Instant::now()),
    )
    .await;
    let start = client.begin().await.expect("begin once the provider is up");

    assert!(client.is_ready());
    provider.auto_login("alice").await;
    let callback = authorize(&start, &redirect_url).await;
    let login = client
        .finish(&callback.code, &start.pkce_verifier, &start.nonce)
        .await
        .expect("a login through the late discovery");
    assert_eq!(login.subject, "sub-alice-0001");
}

#[tokio::test]
async fn a_failed_discovery_is_not_tried_again_before_the_retry_interval() {
    let down = CountingListener::start(Duration::ZERO).await;
    let client = OidcClient::start(settings(&format!("http://127.0.0.1:{}", down.port))).await;
    assert!(!client.is_ready());
    assert_eq!(down.connections(), 1, "start-up tries once");

    for _ in 0..3 {
        assert!(matches!(client.begin().await, Err(OidcError::Unavailable)));
    }
    assert_eq!(down.connections(), 1, "no try before the interval");

    tokio::time::sleep(RETRY + Duration::from_millis(100)).await;
    assert!(matches!(client.begin().await, Err(OidcError::Unavailable)));
    assert_eq!(down.connections(), 2, "one try once the interval passed");
    assert!(matches!(client.begin().await, Err(OidcError::Unavailable)));
    assert_eq!(down.connections(), 2, "and the interval starts again");
}

#[tokio::test]
async fn concurrent_requests_do_not_retry_discovery_together() {
    // Each connection is held a while, so the first try is still under way when the others come.
    let down = CountingListener::start(Duration::from_millis(500)).await;
    let client = OidcClient::start(settings(&format!("http://127.0.0.1:{}", down.port))).await;
    tokio::time::sleep(RETRY + Duration::from_millis(100)).await;
    let connections_before = down.connections();

    let begins = (0..5).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.begin().await })
    });
    for begin in begins.collect::<Vec<_>>() {
        assert!(matches!(begin.await.unwrap(), Err(OidcError::Unavailable)));
    }

    assert_eq!(down.connections() - connections_before, 1);
}

#[tokio::test]
async fn a_provider_whose_metadata_names_another_issuer_is_not_used() {
    let provider = TestProvider::spawn().await;
    // The same server, named otherwise: its metadata says 127.0.0.1.
    let issuer = provider.issuer.replace("127.0.0.1", "localhost");

    let client = OidcClient::start(settings(&issuer)).await;

    assert!(!client.is_ready());
    assert!(matches!(client.begin().await, Err(OidcError::Unavailable)));
}
