//! The real test provider (end2end/oidc/provider.mjs, run by node), one per test, and a
//! redirect-by-redirect "browser" that brings a code back from it without any HTML.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use regen_oidc::{AuthorizationStart, OidcClient, OidcError, OidcSettings, VerifiedLogin};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use url::Url;

pub const CLIENT_ID: &str = "regen-admin";
const CLIENT_SECRET: &str = "regen-admin-secret";
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running test provider; killed when dropped.
pub struct TestProvider {
    pub issuer: String,
    control: reqwest::Client,
    _process: Child,
}

impl TestProvider {
    pub async fn spawn() -> TestProvider {
        TestProvider::spawn_on(0).await
    }

    /// On a given port (0: a free one). A missing node or module fails the test: CI must run it.
    pub async fn spawn_on(port: u16) -> TestProvider {
        let end2end = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../end2end");
        let script = end2end.join("oidc/provider.mjs");
        assert!(
            script.is_file(),
            "the test provider {} is missing",
            script.display()
        );
        assert!(
            end2end.join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is not installed: run `npm ci` in {}",
            end2end.display()
        );
        let mut process = Command::new("node")
            .arg(&script)
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("node could not be started ({error}): install Node.js"));
        let errors = drain(process.stderr.take().expect("stderr is piped"));
        let mut stdout = BufReader::new(process.stdout.take().expect("stdout is piped")).lines();
        let line = tokio::time::timeout(READY_TIMEOUT, stdout.next_line()).await;
        let issuer = match line {
            Ok(Ok(Some(line))) if line.starts_with("READY ") => line["READY ".len()..].to_owned(),
            other => panic!(
                "the test provider did not print its READY line ({other:?}); its stderr:\n{}",
                errors.lock().unwrap()
            ),
        };
        TestProvider {
            issuer,
            control: reqwest::Client::new(),
            _process: process,
        }
    }

    async fn post(&self, path: &str, body: Value) {
        let response = self
            .control
            .post(format!("{}/__test/{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "POST /__test/{path}: {status} {}",
            response.text().await.unwrap()
        );
    }

    pub async fn auto_login(&self, user: &str) {
        self.post("auto-login", json!({ "user": user })).await;
    }

    pub async fn set_groups(&self, user: &str, groups: &[&str]) {
        self.post(&format!("users/{user}"), json!({ "groups": groups }))
            .await;
    }

    pub async fn rotate_keys(&self) {
        self.post("rotate-keys", json!({})).await;
    }

    pub async fn tamper_next_id_token(&self, how: &str) {
        self.post("next-id-token", json!({ "tamper": how })).await;
    }

    pub async fn end_sessions(&self) -> Value {
        let url = format!("{}/__test/end-sessions", self.issuer);
        self.control
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Keeps reading a pipe so that the child never blocks on it; the text is kept for failures.
fn drain(mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    tokio::spawn(async move {
        let mut buffer = [0u8; 4096];
        while let Ok(read @ 1..) = pipe.read(&mut buffer).await {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
    });
    text
}

/// A port that nothing listens on (it was free a moment ago).
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
