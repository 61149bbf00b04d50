//! The test OpenID provider (`end2end/oidc/provider.mjs`, the certified
//! `oidc-provider` run by node) for this crate's tests and the server's:
//! started on loopback, driven through its `/__test/` control API, killed
//! when dropped. Behind the `testing` feature; never in a release build.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

pub const CLIENT_ID: &str = "regen-admin";
pub const CLIENT_SECRET: &str = "regen-admin-secret";
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running test provider; killed when dropped.
pub struct TestProvider {
    pub issuer: String,
    control: openidconnect::reqwest::Client,
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
            control: openidconnect::reqwest::Client::new(),
            _process: process,
        }
    }

    async fn post(&self, path: &str, body: Value) {
        let response = self
            .control
            .post(format!("{}/__test/{path}", self.issuer))
            .header("content-type", "application/json")
            .body(body.to_string())
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

    /// The end-session requests the provider received, each
    /// `{"id_token_hint": bool, "post_logout_redirect_uri": …}`.
    pub async fn end_sessions(&self) -> Value {
        let url = format!("{}/__test/end-sessions", self.issuer);
        let text = self
            .control
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
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
