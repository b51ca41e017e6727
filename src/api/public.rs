//! `pb_public` static files (§11): the catch-all `GET` route. Directories serve their
//! `index.html`, `…/index.html` redirects to the directory, a directory without a trailing
//! slash gets one, and a missing file falls back to the root `index.html` (SPA routing)
//! unless `--indexFallback=false`. Everything else is 404 `File not found.`.

use std::path::{Component, Path, PathBuf};

use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::Public;
use crate::error::ApiError;

pub async fn serve(public: Public, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return ApiError::not_found_default().into_response();
    }
    let path = req.uri().path().to_string();
    match resolve(&public, &path).await {
        Some(Resolved::Redirect(to)) => redirect(&to),
        Some(Resolved::File(file)) => file_response(&file).await,
        None => ApiError::not_found("File not found.").into_response(),
    }
}

enum Resolved {
    Redirect(String),
    File(PathBuf),
}

async fn resolve(public: &Public, url_path: &str) -> Option<Resolved> {
    let root = public.dir.as_ref()?;
    let relative = safe_relative(url_path)?;
    let target = root.join(&relative);
    if url_path.ends_with("/index.html") {
        return Some(Resolved::Redirect(
            url_path.trim_end_matches("index.html").to_string(),
        ));
    }
    match tokio::fs::metadata(&target).await {
        Ok(meta) if meta.is_dir() => {
            if !url_path.ends_with('/') {
                return Some(Resolved::Redirect(format!("{url_path}/")));
            }
            let index = target.join("index.html");
            if tokio::fs::metadata(&index).await.is_ok_and(|m| m.is_file()) {
                return Some(Resolved::File(index));
            }
        }
        Ok(meta) if meta.is_file() => return Some(Resolved::File(target)),
        _ => {}
    }
    let fallback = root.join("index.html");
    (public.index_fallback
        && tokio::fs::metadata(&fallback)
            .await
            .is_ok_and(|m| m.is_file()))
    .then_some(Resolved::File(fallback))
}

/// The URL path as a relative file path, refusing anything that would leave the root.
fn safe_relative(url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut out = PathBuf::new();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// `%XX` decoding; `None` for a malformed escape or invalid UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn redirect(to: &str) -> Response {
    let mut res = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, value);
    }
    res
}

async fn file_response(file: &Path) -> Response {
    match tokio::fs::read(file).await {
        Ok(bytes) => {
            let mut res = bytes.into_response();
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type(file)));
            res
        }
        Err(_) => ApiError::not_found("File not found.").into_response(),
    }
}

/// The content type for a file extension (the common web types; others are binary).
pub fn content_type(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        "xml" => "text/xml; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_traversal() {
        assert_eq!(safe_relative("/a/b.txt"), Some(PathBuf::from("a/b.txt")));
        assert_eq!(safe_relative("/../etc/passwd"), None);
        assert_eq!(safe_relative("/a/%2e%2e/%2e%2e/x"), None);
    }
}
