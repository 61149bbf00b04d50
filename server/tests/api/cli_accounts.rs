//! `user`, `token` and `session` from the command line: what they print,
//! what they refuse, and that no secret reaches any log line.

use regen_storage::testing::TestDatabase;
use regen_storage::Backend;
use sqlx::Row;

use crate::cli::{run, text};

both_backends!(
    user_commands_list_change_role_disable_enable_and_set_passwords,
    token_commands_create_scoped_expiring_labelled_tokens_list_and_revoke,
    session_commands_list_and_end_sessions,
    bad_account_input_gets_one_line_on_stderr_and_changes_nothing,
    no_secret_appears_in_any_log_line,
);

const PW: &str = "a long password\n";

fn ok(url: &str, args: &[&str], stdin: &str) -> (String, String) {
    let output = run(url, args, stdin);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        text(&output.stderr)
    );
    (text(&output.stdout), text(&output.stderr))
}

fn json(url: &str, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(url, args, "").0).unwrap()
}

async fn user_commands_list_change_role_disable_enable_and_set_passwords(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    ok(&db.url, &["user", "add", "ada", "--role", "admin"], PW);
    ok(&db.url, &["user", "add", "mel", "--role", "member"], PW);

    let (list, _) = ok(&db.url, &["user", "list"], "");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "name\trole\tstate\torigin\tcreated\tlast_login");
    assert!(
        lines[1].starts_with("ada\tadmin\tactive\tlocal\t2"),
        "{list}"
    );
    assert!(lines[1].ends_with("\t-"), "never logged in: {list}");
    assert!(lines[2].starts_with("mel\tmember\tactive\tlocal\t"));
    assert_eq!(lines.len(), 3);

    let (out, err) = ok(&db.url, &["user", "set-role", "mel", "admin"], "");
    assert_eq!(
        out.trim(),
        "user mel: role member -> admin, 0 sessions ended, 0 tokens revoked"
    );
    assert!(
        err.contains("role_change"),
        "a security line on stderr: {err}"
    );
    let (out, _) = ok(&db.url, &["user", "set-role", "mel", "admin"], "");
    assert_eq!(out.trim(), "user mel already has role admin");

    let (out, err) = ok(&db.url, &["user", "disable", "mel"], "");
    assert_eq!(
        out.trim(),
        "user mel disabled: 0 sessions ended, 0 tokens revoked"
    );
    assert!(err.contains("user_disable"), "{err}");
    let users = json(&db.url, &["user", "list", "--json"]);
    let mel = &users.as_array().unwrap()[1];
    assert_eq!(mel["username"], "mel");
    assert_eq!(mel["role"], "admin");
    assert!(mel["disabledAt"].is_string());
    assert!(mel.get("passwordHash").is_none());
    ok(&db.url, &["user", "enable", "mel"], "");
    let users = json(&db.url, &["user", "list", "--json"]);
    assert!(users[1]["disabledAt"].is_null());

    let pool = db.raw_pool().await;
    let hash = |pool: sqlx::AnyPool| async move {
        sqlx::query("SELECT password_hash FROM users WHERE username = 'mel'")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get::<String, _>(0)
    };
    let before = hash(pool.clone()).await;
    let (out, _) = ok(
        &db.url,
        &["user", "password", "mel"],
        "another long password\n",
    );
    assert_eq!(
        out.trim(),
        "user mel: password changed, 0 sessions ended, 0 tokens revoked"
    );
    assert_ne!(hash(pool.clone()).await, before);

    // --revoke-tokens takes the user's tokens with the old password.
    let (token, _) = ok(&db.url, &["token", "create", "mel"], "");
    let (out, _) = ok(
        &db.url,
        &["user", "password", "mel", "--revoke-tokens"],
        "a third long password\n",
    );
    assert_eq!(
        out.trim(),
        "user mel: password changed, 0 sessions ended, 1 token revoked"
    );
    let live: i64 = sqlx::query(
        "SELECT COUNT(*) FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE u.username = 'mel' AND t.revoked_at IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(live, 0, "{token}");
}

async fn token_commands_create_scoped_expiring_labelled_tokens_list_and_revoke(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    ok(&db.url, &["user", "add", "ada", "--role", "admin"], PW);

    // The default: admin scope, no expiry, said on stderr; stdout is the token.
    let (token, err) = ok(&db.url, &["token", "create", "ada"], "");
    assert!(token.starts_with("rga_") && token.trim().lines().count() == 1);
    assert!(err.contains("scope admin, no expiry"), "{err}");
    assert!(!err.contains(token.trim()), "the secret only on stdout");

    let created = json(
        &db.url,
        &[
            "token",
            "create",
            "ada",
            "--scope",
            "read",
            "--expires-in",
            "2h",
            "--label",
            "grafana",
            "--json",
        ],
    );
    assert!(created["token"].as_str().unwrap().starts_with("rga_"));
    assert_eq!(created["scope"], "read");
    assert_eq!(created["label"], "grafana");
    assert_eq!(created["username"], "ada");
    let expires: regen_domain::Timestamp = created["expiresAt"].as_str().unwrap().parse().unwrap();
    let in_two_hours = regen_service::now().millis() + 2 * 3600 * 1000;
    assert!((expires.millis() - in_two_hours).abs() < 60_000);

    let (list, _) = ok(&db.url, &["token", "list", "ada"], "");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(
        lines[0],
        "id\towner\tlabel\tscope\tcreated\tlast_used\texpires\trevoked"
    );
    assert_eq!(lines.len(), 3);
    let grafana: Vec<&str> = lines[2].split('\t').collect();
    assert_eq!(grafana.len(), 8);
    assert_eq!(&grafana[1..4], ["ada", "grafana", "read"]);
    assert_eq!(grafana[7], "-");
    assert!(!list.contains("rga_"), "lists never show secrets");

    let id = created["id"].as_str().unwrap();
    let (out, err) = ok(&db.url, &["token", "revoke", id], "");
    assert!(
        out.starts_with(&format!("token {id} of ada revoked at 2")),
        "{out}"
    );
    assert!(err.contains("token_revoke"), "{err}");
    let tokens = json(&db.url, &["token", "list", "--json"]);
    let revoked = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    assert!(revoked["revokedAt"].is_string());
    assert!(revoked.get("tokenHash").is_none());
}

async fn session_commands_list_and_end_sessions(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    ok(&db.url, &["user", "add", "ada", "--role", "admin"], PW);
    let service = crate::helpers::service_on(&db, std::env::temp_dir().join("s.jsonl")).await;
    for address in ["10.0.0.1", "10.0.0.2"] {
        service
            .login(
                "ada",
                PW.trim(),
                regen_service::ClientInfo {
                    address,
                    user_agent: Some("Firefox\tfake\nline"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let (list, _) = ok(&db.url, &["session", "list"], "");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(
        lines[0],
        "id\tuser\tcreated\tlast_seen\texpires\tclient_address\tuser_agent"
    );
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        lines[1].ends_with("\t10.0.0.2\tFirefox fake line"),
        "{list}"
    );
    let sessions = json(&db.url, &["session", "list", "ada", "--json"]);
    let first = sessions[0]["id"].as_str().unwrap().to_owned();

    let (out, _) = ok(&db.url, &["session", "revoke", &first], "");
    assert_eq!(out.trim(), format!("session {first} of ada ended"));
    let (out, _) = ok(&db.url, &["session", "revoke", "--user", "ada"], "");
    assert_eq!(out.trim(), "user ada: 1 session ended");
    let (list, _) = ok(&db.url, &["session", "list"], "");
    assert_eq!(list.lines().count(), 1);
}

async fn bad_account_input_gets_one_line_on_stderr_and_changes_nothing(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    ok(&db.url, &["user", "add", "ada", "--role", "admin"], PW);
    let snapshot = || async {
        let pool = db.raw_pool().await;
        let mut rows = Vec::new();
        for sql in [
            "SELECT username || role || password_hash || COALESCE(disabled_at, '-') FROM users ORDER BY id",
            "SELECT id || scope || COALESCE(label, '-') || COALESCE(revoked_at, '-') FROM api_tokens ORDER BY id",
            "SELECT id FROM sessions ORDER BY id",
        ] {
            for row in sqlx::query(sql).fetch_all(&pool).await.unwrap() {
                rows.push(row.get::<String, _>(0));
            }
        }
        rows
    };
    let before = snapshot().await;
    let long_label = "x".repeat(101);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["user", "set-role", "nobody", "admin"], ""),
        (vec!["user", "set-role", "ada", "root"], ""),
        (vec!["user", "set-role", "ada"], ""),
        (vec!["user", "disable", "nobody"], ""),
        (vec!["user", "enable", "nobody"], ""),
        (vec!["user", "password", "ada"], ""),
        (vec!["user", "password", "ada"], "short\n"),
        (vec!["user", "password", "ada"], "        \n"),
        (vec!["user", "password", "ada"], "Password1\n"),
        (
            vec!["user", "add", "grace.hopper", "--role", "admin"],
            "Grace.Hopper\n",
        ),
        (vec!["user", "password", "nobody"], "long enough password\n"),
        (vec!["token", "create", "ada", "--scope", "write"], ""),
        (vec!["token", "create", "ada", "--expires-in", "10"], ""),
        (vec!["token", "create", "ada", "--expires-in", "1w"], ""),
        (vec!["token", "create", "ada", "--expires-in", "0d"], ""),
        (vec!["token", "create", "ada", "--label", &long_label], ""),
        (vec!["token", "create", "ada", "--label", "   "], ""),
        (vec!["token", "list", "nobody"], ""),
        (vec!["token", "revoke", "no-such-id"], ""),
        (vec!["session", "list", "nobody"], ""),
        (vec!["session", "revoke", "no-such-id"], ""),
        (vec!["session", "revoke", "--user", "nobody"], ""),
        (vec!["session", "revoke"], ""),
    ];
    for (args, stdin) in cases {
        let output = run(&db.url, &args, stdin);
        assert!(!output.status.success(), "{args:?}");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("regen-admin: "), "{args:?}: {stderr}");
        assert!(text(&output.stdout).is_empty(), "{args:?}");
    }
    let common = run(&db.url, &["user", "password", "ada"], "iloveyou1\n");
    assert!(!common.status.success());
    assert_eq!(
        text(&common.stderr),
        "regen-admin: The new password is one of the 10,000 most common passwords.\n"
    );
    assert_eq!(snapshot().await, before);
}

async fn no_secret_appears_in_any_log_line(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let password = "hunter2-correct-horse";
    let new_password = "second-secret-passphrase";
    let (_, cli_log) = ok(
        &db.url,
        &["user", "add", "ada", "--role", "admin"],
        &format!("{password}\n"),
    );
    let (token, token_log) = ok(&db.url, &["token", "create", "ada"], "");
    let token = token.trim().to_owned();
    let (_, password_log) = ok(
        &db.url,
        &["user", "password", "ada"],
        &format!("{password}\n"),
    );

    let server = crate::helpers::ServerProcess::start(
        &db.url,
        &[("REGEN_LOG_FORMAT", "json"), ("RUST_LOG", "debug")],
    );
    let base = server.base.clone();
    let browser = crate::helpers::client();
    let login = browser
        .post(format!("{base}/login"))
        .form(&[("username", "ada"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let wrong = crate::helpers::client()
        .post(format!("{base}/login"))
        .form(&[("username", "ada"), ("password", "a-wrong-guess-xyz")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let api = crate::helpers::client()
        .get(format!("{base}/api/admin/regeneration-jobs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    let changed = browser
        .post(format!("{base}/admin/account/password"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("currentPassword", password),
            ("newPassword", new_password),
            ("repeatPassword", new_password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.headers()["location"],
        "/admin/account?notice=password-changed"
    );
    browser
        .post(format!("{base}/logout"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    let server_log = server.stop();
    assert!(
        server_log.contains("\"event\":\"login_success\"")
            && server_log.contains("\"event\":\"login_failure\"")
            && server_log.contains("\"event\":\"password_change\"")
            && server_log.contains("\"event\":\"logout\""),
        "security events are logged: {server_log}"
    );
    for (name, log) in [
        ("server", &server_log),
        ("user add", &cli_log),
        ("token create", &token_log),
        ("user password", &password_log),
    ] {
        for secret in [password, new_password, "a-wrong-guess-xyz", &token, &cookie] {
            assert!(!log.contains(secret), "{name} log holds a secret: {log}");
        }
        let token_body = token.trim_start_matches("rga_");
        assert!(!log.contains(token_body), "{name}");
    }
}
