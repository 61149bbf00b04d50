//! The redaction budget: a 5 MB payload redacts in at most 50 ms (issue
//! 31). Measures the whole path a payload takes on its way out (scan,
//! key and pattern checks, splice) with the issue's example configuration,
//! on a document where many values are hidden and on one where none is.
//!
//! Run: `cargo bench -p regen-redact --bench redaction`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use regen_domain::JsonText;
use regen_redact::Redaction;

const TARGET_BYTES: usize = 5 * 1024 * 1024;

/// About 5 MB of job-like records: nested objects, arrays of objects, long
/// and escaped strings, exact numbers; with secrets in some when `secrets`.
fn payload(secrets: bool) -> JsonText {
    let mut text = String::from("{\"records\":[");
    let mut index = 0u64;
    while text.len() < TARGET_BYTES {
        if index > 0 {
            text.push(',');
        }
        let (password, key) = if secrets {
            ("\"password\": \"hunter2\"", format!("sk_live_{index:024}"))
        } else {
            (
                "\"passphrase_hint\": \"none\"",
                format!("pk_test_{index:024}"),
            )
        };
        text.push_str(&format!(
            r#"{{"id": {index}, "user": {{"name": "user {index}", "mail": "u{index}@example.com", {password}, "apiKeyRef": "{key}"}},
 "steps": [{{"prompt": "rewrite the caf\u00e9 paragraph \"{index}\" with care", "tokens": 12345678901234567890.125}},
           {{"prompt": "summarise", "tokens": 7, "done": true, "meta": null}}],
 "note": "{}"}}"#,
            "lorem ipsum dolor sit amet ".repeat(4)
        ));
        index += 1;
    }
    text.push_str("]}");
    JsonText::parse(text).expect("valid JSON")
}

fn redaction(c: &mut Criterion) {
    let rule = Redaction::new(
        "password,apiKey,token,secret,authorization,email"
            .parse()
            .expect("keys"),
        r"^sk_live_,^ghp_[A-Za-z0-9]{36}$"
            .parse()
            .expect("patterns"),
    );
    let mut group = c.benchmark_group("redaction");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (name, secrets) in [("5MB_with_secrets", true), ("5MB_without_secrets", false)] {
        let doc = payload(secrets);
        let hidden = rule.apply(doc.clone()).hidden.len();
        eprintln!("{name}: {} bytes, {hidden} values hidden", doc.len());
        group.throughput(Throughput::Bytes(doc.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || doc.clone(),
                |doc| black_box(rule.apply(doc)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, redaction);
criterion_main!(benches);
