//! Static files: hashed names cached forever, build-time compressed
//! variants, no per-request compression, no credentials looked at.

use regen_domain::JobStatus;
use regen_storage::Backend;

use crate::helpers::{client, spawn_app_with, Options, TestApp};

const CSS: &[u8] =
    b"main { display: block } /* a stylesheet of some length to be worth compressing */";

async fn with_site() -> TestApp {
    spawn_app_with(
        Backend::Sqlite,
        Options {
            site_files: vec![
                ("pkg/regen-admin.css", CSS.to_vec()),
                ("pkg/regen-admin.css.br", b"BROTLI-BYTES".to_vec()),
                ("pkg/regen-admin.css.gz", b"GZIP-BYTES!".to_vec()),
                (
                    "pkg/regen-admin.js",
                    b"export default function(){}".repeat(50),
                ),
                ("pkg/regen-admin.wasm", b"\0asm fake wasm".to_vec()),
            ],
            ..Options::default()
        },
    )
    .await
}

fn stylesheet_href(html: &str) -> String {
    let at = html
        .find("rel=\"stylesheet\" href=\"")
        .expect("a stylesheet link")
        + 23;
    html[at..].split('"').next().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, encoding: Option<&str>) -> reqwest::Response {
    let mut request = client().get(app.url(path));
    if let Some(encoding) = encoding {
        request = request.header("accept-encoding", encoding);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_name_assets_by_content_hash_and_those_are_cached_forever() {
    let app = with_site().await;
    let login = app.get("/login", None).await.text().await.unwrap();
    let href = stylesheet_href(&login);
    assert!(
        href.starts_with("/pkg/regen-admin.") && href.ends_with(".css") && href.len() == 37,
        "{href}"
    );

    let hashed = get(&app, &href, None).await;
    assert_eq!(hashed.status(), 200);
    assert_eq!(
        hashed.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(hashed.headers()["vary"], "accept-encoding");
    assert_eq!(hashed.bytes().await.unwrap().as_ref(), CSS);

    let plain = get(&app, "/pkg/regen-admin.css", None).await;
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    let stale = get(&app, "/pkg/regen-admin.0123456789abcdef.css", None).await;
    assert_eq!(stale.status(), 404, "an old hash is not today's file");

    // The detail page's scripts are hashed too, and served.
    let id = app.insert_job(JobStatus::Pending).await;
    let browser = app.browser_login("ada").await;
    let detail = browser
        .get(app.url(&format!("/admin/regeneration-jobs/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let script = detail
        .split('"')
        .find(|s| s.starts_with("/pkg/regen-admin.") && s.ends_with(".js"))
        .expect("a hashed module preload");
    assert_ne!(script, "/pkg/regen-admin.js");
    let js = get(&app, script, None).await;
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let wasm = detail
        .split('"')
        .find(|s| s.starts_with("/pkg/regen-admin.") && s.ends_with(".wasm"))
        .expect("a hashed wasm preload");
    assert_eq!(get(&app, wasm, None).await.status(), 200);
    // Pages themselves are never cached.
    let page = browser
        .get(app.url("/admin/regeneration-jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_best_precompressed_variant_is_served_and_nothing_is_compressed_per_request() {
    let app = with_site().await;
    let login = app.get("/login", None).await.text().await.unwrap();
    let href = stylesheet_href(&login);
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), Some("br"), &b"BROTLI-BYTES"[..]),
        (Some("gzip"), Some("gzip"), &b"GZIP-BYTES!"[..]),
        (None, None, CSS),
        (Some("identity"), None, CSS),
    ] {
        let response = get(&app, &href, accept).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        assert_eq!(
            response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept:?}"
        );
        assert_eq!(
            response.headers()["content-length"],
            body.len().to_string().as_str(),
            "{accept:?}"
        );
        assert_eq!(response.bytes().await.unwrap().as_ref(), body, "{accept:?}");
    }
    // The JS has no compressed variant here: served as it is, not gzipped now.
    let js = get(&app, "/pkg/regen-admin.js", Some("gzip")).await;
    assert!(js.headers().get("content-encoding").is_none());
    assert_eq!(js.bytes().await.unwrap().len(), 27 * 50);
    // Pages are still compressed.
    let page = get(&app, "/login", Some("gzip")).await;
    assert_eq!(page.headers()["content-encoding"], "gzip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_built_files_the_pages_keep_plain_names() {
    let app = spawn_app_with(Backend::Sqlite, Options::default()).await;
    let login = app.get("/login", None).await.text().await.unwrap();
    assert_eq!(stylesheet_href(&login), "/pkg/regen-admin.css");
}
