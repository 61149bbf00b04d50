//! The real test provider (end2end/oidc/provider.mjs, run by node), one per test, and a
//! redirect-by-redirect "browser" that brings a code back from it without any HTML.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use regen_oidc::testing::{unused_port, TestProvider, CLIENT_ID, CLIENT_SECRET};
use regen_oidc::{AuthorizationStart, OidcClient, OidcError, OidcSettings, VerifiedLogin};
use tokio::net::TcpListener;
use url::Url;

/// The settings of the tests: the test client, a callback on a port nobody listens on, 1 s
/// between discovery tries, 60 s of clock skew.
pub fn settings(issuer: &str) -> OidcSettings {
    OidcSettings {
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Some(CLIENT_SECRET.to_owned()),
        scopes: ["openid", "profile", "email"].map(String::from).to_vec(),
        redirect_url: format!("http://127.0.0.1:{}/auth/oidc/callback", unused_port()),
        retry_interval: Duration::from_secs(1),
        http_timeout: Duration::from_secs(5),
        max_clock_skew: Duration::from_secs(60),
    }
}

/// A test provider and a relying party that discovered it.
pub struct Rig {
    pub provider: TestProvider,
    pub client: OidcClient,
    pub redirect_url: String,
}

impl Rig {
    pub async fn start() -> Rig {
        Rig::start_with(|_| {}).await
    }

    /// With the test settings changed by `adjust` first.
    pub async fn start_with(adjust: impl FnOnce(&mut OidcSettings)) -> Rig {
        let provider = TestProvider::spawn().await;
        let mut settings = settings(&provider.issuer);
        adjust(&mut settings);
        let redirect_url = settings.redirect_url.clone();
        let client = OidcClient::start(settings).await;
        assert!(
            client.is_ready(),
            "discovery against the test provider failed"
        );
        Rig {
            provider,
            client,
            redirect_url,
        }
    }

    /// A login as `user` up to the callback: the start and what came back.
    pub async fn sign_in(&self, user: &str) -> (AuthorizationStart, Callback) {
        self.provider.auto_login(user).await;
        let start = self.client.begin().await.expect("begin");
        let callback = authorize(&start, &self.redirect_url).await;
        (start, callback)
    }

    /// A whole login as `user`, finished with what `begin` gave.
    pub async fn log_in(&self, user: &str) -> Result<VerifiedLogin, OidcError> {
        let (start, callback) = self.sign_in(user).await;
        self.client
            .finish(&callback.code, &start.pkce_verifier, &start.nonce)
            .await
    }
}

/// The query parameter `name` of `url`, decoded.
pub fn query(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// What the provider sent back to the callback URL.
pub struct Callback {
    pub code: String,
    pub state: String,
}

/// Follows the provider's redirects from the authorization URL, keeping its cookies, until one
/// points at `redirect_url`; what a browser does when auto-login spares it the form.
pub async fn authorize(start: &AuthorizationStart, redirect_url: &str) -> Callback {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let callback = Url::parse(redirect_url).unwrap();
    let mut at = Url::parse(&start.url).unwrap();
    for _ in 0..20 {
        if at.origin() == callback.origin() && at.path() == callback.path() {
            let parameter = |name: &str| {
                query(at.as_str(), name)
                    .unwrap_or_else(|| panic!("the callback {at} has no {name}"))
            };
            return Callback {
                code: parameter("code"),
                state: parameter("state"),
            };
        }
        let response = browser.get(at.clone()).send().await.unwrap();
        let status = response.status();
        let Some(location) = response.headers().get("location") else {
            panic!(
                "{at} answered {status} without a redirect: {}",
                response.text().await.unwrap()
            );
        };
        at = at.join(location.to_str().unwrap()).unwrap();
    }
    panic!("the provider never redirected to {redirect_url}");
}

/// A TCP listener that counts connections and closes each after `hold` without a word: a
/// provider that is "down" but lets the tests see every discovery try.
pub struct CountingListener {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingListener {
    pub async fn start(hold: Duration) -> CountingListener {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    tokio::time::sleep(hold).await;
                    drop(socket);
                });
            }
        });
        CountingListener {
            port,
            connections,
            task,
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CountingListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
