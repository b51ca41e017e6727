//! Serving a static page route (reference/pocketpages-surface.md §2.2). PocketPages answers
//! with PocketBase's `e.fileFS`, i.e. Go's `http.ServeContent` without an ETag
//! (`api::serve_content`), typed by the file's extension.

use std::path::Path;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::api::public::content_type;
use crate::api::serve_content::serve_content;
use crate::error::ApiError;

/// The file at `file` as PocketBase's `e.fileFS` would answer; `head` drops the body.
pub async fn serve(file: &Path, request_headers: &HeaderMap, head: bool) -> Response {
    let typed = content_type(file);
    match serve_content(file, typed, request_headers, head, HeaderMap::new()).await {
        Ok(response) => response,
        Err(_) => ApiError::not_found("File not found.").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::{
        ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LAST_MODIFIED, RANGE,
    };
    use axum::http::{HeaderValue, StatusCode};

    #[tokio::test]
    async fn serves_whole_partial_head_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.css");
        std::fs::write(&file, "body{}0123").unwrap();
        let mut headers = HeaderMap::new();
        let whole = serve(&file, &headers, false).await;
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
        assert_eq!(whole.headers()[ACCEPT_RANGES], "bytes");
        assert!(whole.headers().contains_key(LAST_MODIFIED));
        assert!(!whole.headers().contains_key("cache-control"));
        assert_eq!(body(whole).await, "body{}0123");

        headers.insert(RANGE, HeaderValue::from_static("bytes=-4"));
        let part = serve(&file, &headers, false).await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.headers()[CONTENT_RANGE], "bytes 6-9/10");
        assert_eq!(body(part).await, "0123");

        headers.insert(RANGE, HeaderValue::from_static("bytes=50-"));
        let bad = serve(&file, &headers, false).await;
        assert_eq!(bad.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(bad.headers()[CONTENT_RANGE], "bytes */10");

        let head = serve(&file, &HeaderMap::new(), true).await;
        assert_eq!(head.headers()[CONTENT_LENGTH], "10");
        assert_eq!(body(head).await, "");

        let missing = serve(&dir.path().join("nope.css"), &HeaderMap::new(), false).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(body(missing).await.contains("File not found."));
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
