//! The built site files under `/pkg`: served under content-hashed names
//! (`regen-admin.3f9c….css`) that browsers may keep forever, as the
//! brotli or gzip variant made at build time when the client accepts one,
//! and never compressed per request, authenticated or looked up in the
//! database.
//!
//! The hashes are taken at start-up from the files this instance serves, so
//! a page can never name a file the instance does not have, whichever way
//! the site was built or copied.

use std::path::Path;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

/// The output name cargo-leptos gives the site's files.
pub const OUTPUT_NAME: &str = "regen-admin";
/// Every file the pages name, by extension.
const EXTENSIONS: [&str; 3] = ["js", "wasm", "css"];

/// `Cache-Control` of a hashed name: its bytes can never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a plain name: ask again (a 304 costs no body).
pub const REVALIDATE: &str = "no-cache";

/// The hash of each site file this instance found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetManifest {
    /// (extension, hash) for each file present.
    hashes: Vec<(&'static str, String)>,
    /// Files whose `.br` or `.gz` is older than they are: a build ran
    /// without `.ci/precompress`, so those variants hold old bytes and are
    /// never served.
    stale_variants: Vec<String>,
}

/// Marks a response as a static file, so the compression layer leaves it
/// alone (its compressed variants were made at build time).
#[derive(Debug, Clone, Copy)]
pub struct StaticFile;

fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl AssetManifest {
    /// Hashes `regen-admin.{js,wasm,css}` in `pkg`; missing files are left
    /// out and keep their plain names.
    pub fn read(pkg: &Path) -> AssetManifest {
        let hashes = EXTENSIONS
            .iter()
            .filter_map(|ext| {
                let bytes = std::fs::read(pkg.join(format!("{OUTPUT_NAME}.{ext}"))).ok()?;
                Some((*ext, short_hash(&bytes)))
            })
            .collect();
        let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let stale_variants = EXTENSIONS
            .iter()
            .map(|ext| format!("{OUTPUT_NAME}.{ext}"))
            .filter(|file| {
                let built = modified(&pkg.join(file));
                ["br", "gz"].iter().any(|variant| {
                    let made = modified(&pkg.join(format!("{file}.{variant}")));
                    // Tools that copy the file's time onto the variant
                    // may round it down to the second.
                    matches!((built, made), (Some(built), Some(made))
                        if made + std::time::Duration::from_secs(1) < built)
                })
            })
            .inspect(|file| {
                tracing::warn!(file, "precompressed variants are older than the file; serving it uncompressed (run .ci/precompress)");
            })
            .collect();
        AssetManifest {
            hashes,
            stale_variants,
        }
    }

    fn hash(&self, ext: &str) -> Option<&str> {
        self.hashes
            .iter()
            .find(|(e, _)| *e == ext)
            .map(|(_, h)| h.as_str())
    }

    /// The URL of a site file (`css`, `js` or `wasm`): hashed when the file
    /// is there, the plain name otherwise.
    pub fn href(&self, ext: &str) -> String {
        match self.hash(ext) {
            Some(hash) => format!("/pkg/{OUTPUT_NAME}.{hash}.{ext}"),
            None => format!("/pkg/{OUTPUT_NAME}.{ext}"),
        }
    }

    /// `regen-admin.<hash>.css` → `regen-admin.css` when the hash is this
    /// file's; `None` for any other name.
    fn plain_name(&self, file: &str) -> Option<String> {
        let rest = file.strip_prefix(OUTPUT_NAME)?.strip_prefix('.')?;
        let (hash, ext) = rest.split_once('.')?;
        (self.hash(ext) == Some(hash)).then(|| format!("{OUTPUT_NAME}.{ext}"))
    }
}

/// In front of the `/pkg` file service: a hashed name is served from its
/// plain file and may be cached forever; a plain name must be revalidated.
/// A hash that is not the current one is a 404 (the service finds no such
/// file), never yesterday's bytes under today's name.
pub async fn hashed_names(
    manifest: Arc<AssetManifest>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let file = path.rsplit('/').next().unwrap_or_default();
    let plain = manifest.plain_name(file);
    let served = plain.clone().unwrap_or_else(|| file.to_owned());
    if manifest.stale_variants.contains(&served) {
        request.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    if let Some(plain) = &plain {
        let rewritten = format!("{}{plain}", &path[..path.len() - file.len()]);
        if let Ok(uri) = rewritten.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    if status.is_success() || status.as_u16() == 304 {
        let cache = if plain.is_some() {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response.extensions_mut().insert(StaticFile);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_map_to_plain_files_only_with_the_current_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("regen-admin.css"), "main {}").unwrap();
        let manifest = AssetManifest::read(dir.path());
        let href = manifest.href("css");
        let file = href.rsplit('/').next().unwrap();
        assert_eq!(file.len(), "regen-admin..css".len() + 16);
        assert_eq!(
            manifest.plain_name(file).as_deref(),
            Some("regen-admin.css")
        );
        assert_eq!(
            manifest.plain_name("regen-admin.0000000000000000.css"),
            None
        );
        assert_eq!(manifest.plain_name("regen-admin.css"), None);
        assert_eq!(
            manifest.href("wasm"),
            "/pkg/regen-admin.wasm",
            "no WASM here"
        );
    }

    #[test]
    fn variants_older_than_their_file_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("regen-admin.css.gz"), "old").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(dir.path().join("regen-admin.css"), "new").unwrap();
        std::fs::write(dir.path().join("regen-admin.js"), "js").unwrap();
        std::fs::write(dir.path().join("regen-admin.js.gz"), "js.gz").unwrap();
        let manifest = AssetManifest::read(dir.path());
        assert_eq!(manifest.stale_variants, vec!["regen-admin.css".to_owned()]);
    }

    #[test]
    fn the_hash_follows_the_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("regen-admin.css"), "a").unwrap();
        let first = AssetManifest::read(dir.path()).href("css");
        std::fs::write(dir.path().join("regen-admin.css"), "b").unwrap();
        assert_ne!(AssetManifest::read(dir.path()).href("css"), first);
    }
}
