//! Requests an attacker would send, on the real HTTP stack: each one is
//! refused with a clear answer, and none of them changes the database.

use std::time::{Duration, Instant};

use regen_domain::JobStatus;
use regen_service::Operator;
use regen_storage::Backend;
use server::config::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{client, spawn_app, spawn_app_with, Options, TestApp, PASSWORD};

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

/// The header read timeout the hostile requests' app runs with: short, so
/// that the slow clients' cells take a fraction of a second each.
const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(300);

async fn hostile_requests_are_refused_and_change_nothing(backend: Backend) {
    let options = Options {
        metrics: true,
        connections: Some(ConnectionLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: 1024,
        }),
        ..Options::default()
    };
    let app = spawn_app_with(backend, options).await;
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

    slow_clients_are_cut_off(&app).await;

    assert_eq!(app.snapshot().await, before, "nothing changed");
    assert_eq!(app.detail(&job).await["status"], "PENDING");
}

/// What a connection received before the server closed it, and when it
/// closed (`None`: still open after 5 s).
struct Cutoff {
    received: String,
    closed_after: Option<Duration>,
}

/// Connects, sends `opening` and, when `dribble`, one more header line
/// every 50 ms, until the server closes the connection or 5 s pass.
async fn until_closed(host: &str, opening: &[u8], dribble: bool) -> Cutoff {
    let started = Instant::now();
    let mut stream = TcpStream::connect(host).await.unwrap();
    stream.write_all(opening).await.unwrap();
    let (mut reader, mut writer) = stream.split();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let give_up = tokio::time::sleep(Duration::from_secs(5));
    tokio::pin!(give_up);
    let closed_after = loop {
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break Some(started.elapsed()),
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            },
            _ = tick.tick(), if dribble => {
                // A write to a connection the server has just closed may
                // fail; the read above reports the close.
                let _ = writer.write_all(b"X-Dribble: a\r\n").await;
            }
            () = &mut give_up => break None,
        }
    };
    Cutoff {
        received: String::from_utf8_lossy(&received).into_owned(),
        closed_after,
    }
}

/// Clients that send their headers slowly, or nothing, or nothing more
/// after an answer: each connection is closed once the header read timeout
/// passes, on both listeners, and the unfinished ones get no answer.
async fn slow_clients_are_cut_off(app: &TestApp) {
    let site = app.address.trim_start_matches("http://");
    let metrics = app
        .metrics_address
        .as_deref()
        .expect("started with metrics")
        .trim_start_matches("http://");
    let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n".as_slice();
    let cells: [(&str, &str, &[u8], bool, &str); 5] = [
        ("silent", site, b"", false, ""),
        ("one header line, then silent", site, head, false, ""),
        ("headers dribbled, never finished", site, head, true, ""),
        (
            "idle after an answer",
            site,
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            false,
            "HTTP/1.1 200",
        ),
        ("silent on the metrics listener", metrics, b"", false, ""),
    ];
    for (name, host, opening, dribble, answer) in cells {
        let cutoff = until_closed(host, opening, dribble).await;

        let closed_after = cutoff
            .closed_after
            .unwrap_or_else(|| panic!("{name}: still open after 5 s"));
        assert!(
            closed_after >= HEADER_READ_TIMEOUT - Duration::from_millis(20),
            "{name}: closed after {closed_after:?}, before the timeout"
        );
        assert!(
            closed_after < HEADER_READ_TIMEOUT + Duration::from_secs(1),
            "{name}: closed after {closed_after:?}"
        );
        assert!(
            cutoff.received.starts_with(answer)
                && (answer.is_empty() == cutoff.received.is_empty()),
            "{name}: received {:?}",
            cutoff.received
        );
    }
}

/// 200 connections dribbling their headers, each within the header read
/// timeout, take nothing from anyone else: a health check and a list
/// request on new connections answer as fast as without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_slow_clients_do_not_delay_anyone_else() {
    let app = spawn_app(Backend::Sqlite).await;
    app.insert_job(JobStatus::Pending).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let list = "/api/admin/regeneration-jobs?limit=50";
    app.get(list, Some(&app.admin_token)).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(&host).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let dribbler = tokio::spawn(async move {
        // At most 5 s of dribbling, well within the 10 s timeout.
        for _ in 0..50 {
            for stream in &mut slow {
                // A connection the server closed shows in the count below.
                let _ = stream.write_all(b"X-Dribble: a\r\n").await;
            }
            if tokio::time::timeout(Duration::from_millis(100), stopped.changed())
                .await
                .is_ok()
            {
                break;
            }
        }
        slow
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut timings = Vec::new();
    for _ in 0..3 {
        for (path, token) in [("/healthz", None), (list, Some(app.admin_token.as_str()))] {
            let started = Instant::now();
            let response = app.get(path, token).await;
            let status = response.status();
            response.bytes().await.unwrap();
            timings.push((path, status, started.elapsed()));
        }
    }
    // The dribbler may have finished its rounds already.
    let _ = stop.send(true);
    let slow = dribbler.await.unwrap();

    for (path, status, elapsed) in &timings {
        assert_eq!(*status, 200, "{path}");
        assert!(
            *elapsed <= Duration::from_millis(100),
            "{path} took {elapsed:?} beside 200 slow clients: {timings:?}"
        );
    }
    let still_open = slow
        .iter()
        .filter(|stream| {
            matches!(stream.try_read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    assert_eq!(still_open, 200, "the slow clients were held all along");
}

/// Past `REGEN_MAX_CONNECTIONS`, a new connection is neither refused nor
/// dropped: it waits in the accept queue, and is answered as soon as one of
/// the open connections closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_new_connection_waits_and_is_then_served() {
    let options = Options {
        connections: Some(ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4,
        }),
        ..Options::default()
    };
    let app = spawn_app_with(Backend::Sqlite, options).await;
    let host = app.address.trim_start_matches("http://");
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(TcpStream::connect(host).await.unwrap());
    }
    let mut fifth = TcpStream::connect(host).await.unwrap();
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();

    let while_full =
        tokio::time::timeout(Duration::from_millis(500), fifth.read_to_end(&mut answer)).await;
    assert!(
        while_full.is_err() && answer.is_empty(),
        "answered past the cap: {while_full:?} {:?}",
        String::from_utf8_lossy(&answer)
    );
    drop(open.pop());
    let once_one_closed =
        tokio::time::timeout(Duration::from_secs(5), fifth.read_to_end(&mut answer)).await;

    assert!(
        once_one_closed.is_ok(),
        "still waiting after a connection closed"
    );
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
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
/// from theirs; they slow that address down. A storm from many addresses
/// against one account shows in the metrics and spaces that account's
/// attempts, except from a browser its user logged in with before.
async fn failures_from_one_address_do_not_lock_the_user_out_from_another(backend: Backend) {
    let options = Options {
        client_ip_header: Some("x-forwarded-for".into()),
        metrics: true,
        ..Options::default()
    };
    let app = spawn_app_with(backend, options).await;
    let attempt_in = |browser: &reqwest::Client, from: String, password: &'static str| {
        browser
            .post(app.url("/login"))
            .header("x-forwarded-for", from)
            .form(&[("username", "ada"), ("password", password)])
            .send()
    };
    let attempt = |from: String, password: &'static str| attempt_in(&client(), from, password);
    let users_browser = client();
    let earlier_login = attempt_in(&users_browser, "198.51.100.1".into(), PASSWORD)
        .await
        .unwrap();
    assert_eq!(earlier_login.status(), 303);
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

    let from_the_user = attempt_in(&users_browser, "198.51.100.1".into(), PASSWORD)
        .await
        .unwrap();
    let from_a_new_browser = attempt("198.51.100.1".into(), PASSWORD).await.unwrap();
    let retry_after: u64 = from_a_new_browser
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or_default();
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    let from_a_new_browser_later = attempt("198.51.100.1".into(), PASSWORD).await.unwrap();
    let metrics = app.private_metrics().await;

    assert_eq!(
        from_the_user.status(),
        303,
        "the real user's browser gets in"
    );
    assert_eq!(
        from_a_new_browser.status(),
        429,
        "during a storm, a browser without the user's device cookie waits its turn"
    );
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(
        from_a_new_browser_later.status(),
        303,
        "slowed down, not locked out"
    );
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
