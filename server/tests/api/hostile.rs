//! Requests an attacker would send, on the real HTTP stack: each one is
//! refused with a clear answer, and none of them changes the database.

use regen_domain::JobStatus;
use regen_service::Operator;
use regen_storage::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{client, spawn_app, spawn_app_with, Options, PASSWORD};

both_backends!(
    hostile_requests_are_refused_and_change_nothing,
    failures_from_one_address_do_not_lock_the_user_out_from_another,
    formulas_planted_in_target_ids_are_defused_in_csv_exports,
);

/// What a raw HTTP/1.1 exchange answered: no client library in between to
/// normalise the path or fix up the headers.
struct RawResponse {
    status: u16,
    head: String,
    body: String,
}

async fn raw(address: &str, request: &[u8]) -> RawResponse {
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    RawResponse {
        status,
        head: head.to_lowercase(),
        body: body.to_owned(),
    }
}

fn request(method: &str, path: &str, headers: &[String], body: &[u8]) -> Vec<u8> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    if !body.is_empty() {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn chunked(method: &str, path: &str, headers: &[String], size: usize) -> Vec<u8> {
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    );
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    let chunk = vec![b' '; 8192];
    let mut sent = 0;
    while sent < size {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(&chunk);
        bytes.extend_from_slice(b"\r\n");
        sent += chunk.len();
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

async fn hostile_requests_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let job = app.insert_job(JobStatus::Pending).await;
    let bearer = format!("Authorization: Bearer {}", app.admin_token);
    let cookie = format!("Cookie: {}", app.session_cookie().await);
    let json = "Content-Type: application/json".to_owned();
    let trigger_body = format!(r#"{{"job_id":"{job}"}}"#);
    let detail = format!("/admin/regeneration-jobs/{job}");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        // The default-deny guard must not be bypassed through /pkg/.
        (
            "raw ..",
            request("GET", &format!("/pkg/..{detail}"), &[], b""),
            400,
        ),
        (
            "%2e%2e",
            request("GET", &format!("/pkg/%2e%2e{detail}"), &[], b""),
            400,
        ),
        (
            "%2E%2E",
            request("GET", &format!("/pkg/%2E%2E{detail}"), &[], b""),
            400,
        ),
        (
            "..%2f",
            request("GET", &format!("/pkg/..%2f{}", &detail[1..]), &[], b""),
            400,
        ),
        (
            ".%2e",
            request("GET", &format!("/pkg/.%2e{detail}"), &[], b""),
            400,
        ),
        (
            "%252e",
            request("GET", &format!("/pkg/%252e%252e{detail}"), &[], b""),
            400,
        ),
        ("dot", request("GET", &format!("/.{detail}"), &[], b""), 400),
        (
            "trigger via ..",
            request(
                "POST",
                &format!("/pkg/..{detail}/trigger"),
                std::slice::from_ref(&cookie),
                b"",
            ),
            400,
        ),
        // /pkg is a file service: a missing file is a 404, never a page.
        (
            "missing asset",
            request("GET", "/pkg/nope.css", &[], b""),
            404,
        ),
        (
            "asset write",
            request("POST", "/pkg/regen-admin.css", &[], b""),
            405,
        ),
        // Server functions take JSON, bounded, well-formed, and never redirect.
        (
            "rpc text/plain",
            request(
                "POST",
                "/rpc/trigger_job",
                &[bearer.clone(), "Content-Type: text/plain".into()],
                trigger_body.as_bytes(),
            ),
            415,
        ),
        (
            "rpc form",
            request(
                "POST",
                "/rpc/trigger_job",
                &[
                    bearer.clone(),
                    "Content-Type: application/x-www-form-urlencoded".into(),
                ],
                format!("job_id={job}").as_bytes(),
            ),
            415,
        ),
        (
            "rpc no type",
            request(
                "POST",
                "/rpc/trigger_job",
                std::slice::from_ref(&bearer),
                trigger_body.as_bytes(),
            ),
            415,
        ),
        (
            "rpc malformed",
            request(
                "POST",
                "/rpc/trigger_job",
                &[bearer.clone(), json.clone()],
                br#"{"job_id":"#,
            ),
            400,
        ),
        (
            "rpc wrong shape",
            request(
                "POST",
                "/rpc/trigger_job",
                &[bearer.clone(), json.clone()],
                br#"{"id":1}"#,
            ),
            400,
        ),
        (
            "rpc oversized",
            chunked(
                "POST",
                "/rpc/trigger_job",
                &[bearer.clone(), json.clone()],
                70 * 1024,
            ),
            413,
        ),
        (
            "rpc GET",
            request(
                "GET",
                &format!("/rpc/trigger_job?job_id={job}"),
                std::slice::from_ref(&bearer),
                b"",
            ),
            405,
        ),
        (
            "rpc unknown",
            request(
                "POST",
                "/rpc/drop_tables",
                &[bearer.clone(), json.clone()],
                b"{}",
            ),
            404,
        ),
        // CSRF: a forged Host does not make a foreign Origin ours.
        (
            "forged host",
            request(
                "POST",
                &format!("{detail}/trigger"),
                &[cookie.clone(), "Origin: http://evil.example:3000".into()],
                b"",
            ),
            403,
        ),
        (
            "foreign origin",
            request(
                "POST",
                &format!("{detail}/trigger"),
                &[cookie.clone(), "Origin: http://evil.example".into()],
                b"",
            ),
            403,
        ),
    ];
    let before = app.snapshot().await;

    for (name, bytes, expected) in cases {
        let mut bytes = bytes;
        if name == "forged host" {
            let text = String::from_utf8(bytes).unwrap();
            bytes = text
                .replace("Host: 127.0.0.1", "Host: evil.example:3000")
                .into_bytes();
        }
        let response = raw(&app.address, &bytes).await;

        assert_eq!(
            response.status, expected,
            "{name}: {} {}",
            response.head, response.body
        );
        assert!(
            !response.body.contains("<html"),
            "{name} must not render a page"
        );
        if expected != 404 || name != "missing asset" {
            assert!(
                response
                    .head
                    .contains("content-type: application/problem+json"),
                "{name}: {}",
                response.head
            );
        }
        for leak in ["EOF", "expected", "serde", "line 1", "length limit"] {
            assert!(
                !response.body.contains(leak),
                "{name} leaks {leak}: {}",
                response.body
            );
        }
    }

    assert_eq!(app.snapshot().await, before, "nothing changed");
    assert_eq!(app.detail(&job).await["status"], "PENDING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_function_never_redirects_to_the_referer() {
    let app = spawn_app(Backend::Sqlite).await;
    let unknown = "01934b6e-0000-7000-8000-000000000000";

    let response = client()
        .post(app.url("/rpc/trigger_job"))
        .bearer_auth(&app.admin_token)
        .header("accept", "text/html")
        .header("referer", "http://evil.example/phish")
        .header("content-type", "application/json")
        .body(format!(r#"{{"job_id":"{unknown}"}}"#))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert!(response.headers().get("location").is_none());
    assert_eq!(response.text().await.unwrap(), r#""notfound""#);
}

/// Ten wrong passwords from one address must not lock the real user out
/// from theirs; they slow that address down, and a storm from many
/// addresses against one account shows in the metrics.
async fn failures_from_one_address_do_not_lock_the_user_out_from_another(backend: Backend) {
    let options = Options {
        client_ip_header: Some("x-forwarded-for".into()),
        metrics: true,
        ..Options::default()
    };
    let app = spawn_app_with(backend, options).await;
    let attempt = |from: String, password: &'static str| {
        client()
            .post(app.url("/login"))
            .header("x-forwarded-for", from)
            .form(&[("username", "ada"), ("password", password)])
            .send()
    };
    let mut from_attacker = Vec::new();
    for _ in 0..10 {
        from_attacker.push(
            attempt("203.0.113.7".into(), "wrong password")
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    let attacker_with_the_password = attempt("203.0.113.7".into(), PASSWORD).await.unwrap();
    for n in 0..20 {
        attempt(format!("198.18.0.{n}"), "wrong password")
            .await
            .unwrap();
    }

    let from_the_user = attempt("198.51.100.1".into(), PASSWORD).await.unwrap();
    let metrics = app.private_metrics().await;

    assert_eq!(from_the_user.status(), 303, "the real user gets in");
    assert_eq!(
        &from_attacker[..3],
        &[401, 401, 401],
        "a few honest typos are allowed"
    );
    assert!(
        from_attacker[3..].iter().all(|s| *s == 429),
        "{from_attacker:?}"
    );
    assert_eq!(
        attacker_with_the_password.status(),
        429,
        "the attacker's address is slowed down, even with the right password"
    );
    assert!(
        metrics.contains("regen_login_failure_storms_total 1"),
        "{metrics}"
    );
}

/// Cells a spreadsheet would run if a CSV export passed them through:
/// formulas after spaces (ASCII, NBSP, ideographic), after a line break,
/// and in fullwidth characters.
const FORMULA_CELLS: [&str; 8] = [
    " =2+2",
    "  +10",
    "\u{A0}=9+9",
    "\n=7+7",
    "＝8+8",
    "\u{3000}－1",
    "＠SUM(A1)",
    "\t =1+1",
];

async fn formulas_planted_in_target_ids_are_defused_in_csv_exports(backend: Backend) {
    let app = spawn_app(backend).await;
    for cell in FORMULA_CELLS {
        let mut job = crate::helpers::new_job(JobStatus::Pending);
        job.target_id = cell.into();
        app.service
            .create_job(&Operator::command_line(), job)
            .await
            .unwrap();
    }

    let csv = app
        .get(
            "/api/admin/regeneration-jobs/export?format=csv",
            Some(&app.admin_token),
        )
        .await
        .text()
        .await
        .unwrap();

    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let target_ids: Vec<String> = reader
        .records()
        .map(|row| row.unwrap()[3].to_owned())
        .collect();
    assert_eq!(target_ids.len(), FORMULA_CELLS.len());
    for cell in FORMULA_CELLS {
        assert!(
            target_ids.contains(&format!("'{cell}")),
            "{cell:?} must be exported with a leading apostrophe: {target_ids:?}"
        );
    }
}
