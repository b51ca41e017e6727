//! The admin dashboard at `/_/`: plain HTML, CSS and JS modules from `dashboard/`, embedded
//! in the binary at compile time (no build step, no network at run time). The app routes
//! in the URL hash (`/_/#/collections/posts`), as PocketBase's dashboard does; any other
//! extensionless path under `/_/` gets the app shell too, so a reload never 404s. What the
//! app does is documented in `docs/dashboard.md`; it talks only to the public REST API.
//!
//! Every answer carries a strict Content-Security-Policy (scripts, styles and requests from
//! this origin only; no inline code, no framing) and an `ETag`, with `no-cache` so a new
//! binary's assets are picked up at once while unchanged ones answer 304.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// One embedded file: its path under `dashboard/` and its bytes.
type Asset = (&'static str, &'static [u8]);

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/dashboard/", $path)))),*]
    };
}

/// Every file of `dashboard/` (a test checks that none is missing from this list).
pub const ASSETS: &[Asset] = assets![
    "index.html",
    "style.css",
    "favicon.svg",
    "js/api.js",
    "js/app.js",
    "js/collection-edit.js",
    "js/collection-fields.js",
    "js/collection-options.js",
    "js/collections.js",
    "js/dom.js",
    "js/forms.js",
    "js/install.js",
    "js/login.js",
    "js/metrics.js",
    "js/record-form.js",
    "js/record-inputs.js",
    "js/records.js",
    "js/router.js",
    "js/settings.js",
    "js/settings-mail.js",
];

const SHELL: &str = "index.html";

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// `GET /_`: PocketBase answers 307 to `/_/`.
pub async fn redirect() -> Redirect {
    Redirect::temporary("/_/")
}

/// `GET /_/`: the app shell.
pub async fn index(headers: HeaderMap) -> Response {
    serve(SHELL, &headers)
}

/// `GET /_/{*path}`: an embedded file; an unknown path with no file extension gets the
/// shell, an unknown file 404.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if find(&path).is_some() {
        return serve(&path, &headers);
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return ApiError::not_found_default().into_response();
    }
    serve(SHELL, &headers)
}

fn find(path: &str) -> Option<(usize, &'static [u8])> {
    ASSETS
        .iter()
        .position(|(name, _)| *name == path)
        .map(|i| (i, ASSETS[i].1))
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some((index, bytes)) = find(path) else {
        return ApiError::not_found_default().into_response();
    };
    let etag = etag(index);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// A strong validator per file, computed once: the first 16 bytes of its SHA-256.
fn etag(index: usize) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, bytes)| {
                let digest = Sha256::digest(bytes);
                let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    });
    tags.get(index).map(String::as_str).unwrap_or_default()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("js/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("style.css"), "text/css; charset=utf-8");
    }

    #[test]
    fn every_asset_has_a_distinct_etag() {
        let tags: std::collections::HashSet<&str> = (0..ASSETS.len()).map(etag).collect();
        assert_eq!(tags.len(), ASSETS.len());
    }
}
