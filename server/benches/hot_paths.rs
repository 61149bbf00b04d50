//! Criterion micro-benchmarks of the in-process hot paths, so regressions
//! show without the full load run (`bench/run`):
//! - a page of the job list: query + JSON serialisation (SQLite, 10,000 jobs);
//! - the SSR list page: the whole request through the router, in process;
//! - the JSON viewer's tree for a 1 MB document.
//!
//! Run: `cargo bench -p server --bench hot_paths`

use axum::body::Body;
use axum::http::Request;
use criterion::{criterion_group, criterion_main, Criterion};
use regen_domain::JsonText;
use regen_service::{ListQuery, Operator};
use regen_storage::testing::TestDatabase;
use regen_storage::Backend;
use server::config::Config;
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn hot_paths(c: &mut Criterion) {
    let rt = runtime();
    let (db, service, token) = rt.block_on(async {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let config = Config::for_tests(
            &db.url,
            "target/site".into(),
            std::env::temp_dir().join("bench.jsonl"),
        );
        let service = server::build_service(&config).await.expect("service");
        let operator = Operator::command_line();
        server::demo::seed(
            &service,
            &operator,
            10_000,
            "bench password",
            &server::progress::Progress::new(None, "", server::progress::Verbosity::Quiet),
            &std::sync::atomic::AtomicBool::new(false),
        )
        .await
        .expect("seed");
        let token = service
            .create_api_token(&operator, "admin", Default::default())
            .await
            .expect("token")
            .token;
        (db, service, token)
    });
    let caller = rt
        .block_on(service.authenticate_token(&token))
        .expect("auth")
        .expect("admin");

    c.bench_function("list page of 50: query + JSON", |b| {
        b.to_async(&rt).iter(|| async {
            let page = service
                .list_jobs(Some(&caller), &ListQuery::default())
                .await
                .expect("page");
            serde_json::to_vec(&page.jobs).expect("json")
        })
    });

    let config = Config::for_tests(
        &db.url,
        "target/site".into(),
        std::env::temp_dir().join("bench.jsonl"),
    );
    let assets = std::sync::Arc::new(server::http::assets::AssetManifest::default());
    let state = server::http::AppState::new(service.clone(), config.clone(), assets.clone());
    let router =
        rt.block_on(async { server::http::router(state, server::leptos_options(&config)) });
    c.bench_function("SSR list page, in process", |b| {
        b.to_async(&rt).iter(|| async {
            let request = Request::get("/admin/regeneration-jobs")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request");
            let response = router.clone().oneshot(request).await.expect("response");
            assert_eq!(response.status(), 200);
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body")
        })
    });

    let item = r#"{"prompt":"Rewrite paragraph for a general audience; keep figures exact.","tokens":512,"ok":true}"#;
    let doc = format!(
        "{{\"steps\":[{}]}}",
        vec![item; 1024 * 1024 / (item.len() + 1)].join(",")
    );
    let doc = JsonText::parse(doc).expect("valid");
    c.bench_function("JSON viewer tree, 1 MB document", |b| {
        b.iter(|| {
            regen_domain::json_html::render_tree_html(&doc, "instructionJson", &[]).expect("tree")
        })
    });
    drop(db);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = hot_paths
}
criterion_main!(benches);
