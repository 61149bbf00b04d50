//! The pages' own script (`app::PAGE_SCRIPT`: time display and keyboard
//! shortcuts), which the binary carries: served like the site files under
//! a content-hashed name (`/pkg/regen-admin-page.<hash>.js`) that browsers
//! keep forever, gzipped once at start-up rather than per request, with no
//! credentials looked at. Carried by the binary, so a page can never name
//! a script this instance does not have, however the site was built.

use std::io::Write as _;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::assets::{StaticFile, IMMUTABLE};

/// The script's bytes, its gzip and the name it is served under.
#[derive(Debug)]
pub struct PageScript {
    /// `/pkg/regen-admin-page.<hash>.js`
    pub href: String,
    gzip: Bytes,
}

impl PageScript {
    pub fn new() -> PageScript {
        let bytes = app::PAGE_SCRIPT.as_bytes();
        let hash: String = Sha256::digest(bytes)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let stem = app::PAGE_SCRIPT_NAME.trim_end_matches(".js");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(bytes);
        PageScript {
            href: format!("/pkg/{stem}.{hash}.js"),
            gzip: Bytes::from(encoder.finish().unwrap_or_default()),
        }
    }
}

impl Default for PageScript {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the client takes gzip (`Accept-Encoding`, a zero q-value refusing).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// `GET /pkg/regen-admin-page.<hash>.js`.
pub async fn serve(script: Arc<PageScript>, headers: HeaderMap) -> Response {
    let gzip = accepts_gzip(&headers);
    let body = if gzip {
        Body::from(script.gzip.clone())
    } else {
        Body::from(app::PAGE_SCRIPT)
    };
    let length = if gzip {
        script.gzip.len()
    } else {
        app::PAGE_SCRIPT.len()
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response.extensions_mut().insert(StaticFile);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        headers
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        assert!(accepts_gzip(&headers("gzip, deflate, br")));
        assert!(accepts_gzip(&headers("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&headers("*")));
        assert!(!accepts_gzip(&headers("gzip;q=0, br")));
        assert!(!accepts_gzip(&headers("br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_name_follows_the_content_and_the_gzip_holds_it() {
        let script = PageScript::new();
        assert!(
            script.href.starts_with("/pkg/regen-admin-page.") && script.href.ends_with(".js"),
            "{}",
            script.href
        );
        assert_eq!(script.href.len(), "/pkg/regen-admin-page..js".len() + 16);
        let mut decoded = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&script.gzip[..]),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, app::PAGE_SCRIPT);
    }
}
