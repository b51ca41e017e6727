//! Go's `http.ServeContent` for a file on disk, as PocketBase answers with it (page
//! statics through `e.fileFS`, record files through `fsys.Serve`), without an ETag:
//! `Accept-Ranges: bytes`, `Last-Modified`, `If-Modified-Since` -> 304, `If-Unmodified-Since`
//! -> 412, one byte range -> 206 (honouring `If-Range`), unsatisfiable -> 416 with Go's text,
//! and no `Cache-Control` of its own. A request for several ranges is answered with the
//! whole file (200), which HTTP allows. Headers the caller set beforehand stay, except where
//! Go drops them (304 drops the content headers; 416 drops `Cache-Control` and
//! `Last-Modified`).

use std::io::SeekFrom;
use std::path::Path;
use std::time::SystemTime;

use axum::body::Body;
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Answers with `file` (typed `content_type` unless `base` already has a type), starting
/// from the headers in `base`; `head` drops the body. An I/O error (a missing file) is the
/// caller's to answer.
pub async fn serve_content(
    file: &Path,
    content_type: &str,
    request: &HeaderMap,
    head: bool,
    base: HeaderMap,
) -> std::io::Result<Response> {
    let mut handle = tokio::fs::File::open(file).await?;
    let meta = handle.metadata().await?;
    if !meta.is_file() {
        return Err(std::io::ErrorKind::NotFound.into());
    }
    let len = meta.len();
    let modified = meta.modified().ok().map(unix_seconds);
    let header = |name| {
        request
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };

    let mut response = Response::new(Body::empty());
    *response.headers_mut() = base;
    if let Some(seconds) = modified {
        insert(&mut response, LAST_MODIFIED, &http_date(seconds));
    }
    if let Some(status) = precondition(
        modified,
        header(IF_NONE_MATCH),
        header(IF_MODIFIED_SINCE),
        header(IF_UNMODIFIED_SINCE),
    ) {
        if status == StatusCode::NOT_MODIFIED {
            response.headers_mut().remove(CONTENT_TYPE);
            response.headers_mut().remove(CONTENT_LENGTH);
        }
        *response.status_mut() = status;
        return Ok(response);
    }

    let range = match header(RANGE) {
        Some(range) if if_range_holds(modified, header(IF_RANGE)) => parse_range(range, len),
        _ => Ranged::Whole,
    };
    let (start, count) = match range {
        Ranged::Whole => (0, len),
        Ranged::Part { start, end } => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            insert(
                &mut response,
                CONTENT_RANGE,
                &format!("bytes {start}-{end}/{len}"),
            );
            (start, end - start + 1)
        }
        Ranged::Unsatisfiable(message) => return Ok(unsatisfiable(response, message, len)),
    };
    if !response.headers().contains_key(CONTENT_TYPE) {
        insert(&mut response, CONTENT_TYPE, content_type);
    }
    insert(&mut response, ACCEPT_RANGES, "bytes");
    insert(&mut response, CONTENT_LENGTH, &count.to_string());
    if !head {
        let mut body = Vec::with_capacity(usize::try_from(count).unwrap_or_default());
        handle.seek(SeekFrom::Start(start)).await?;
        handle.take(count).read_to_end(&mut body).await?;
        *response.body_mut() = Body::from(body);
    }
    Ok(response)
}

/// Go's `checkPreconditions` without an ETag: `If-Unmodified-Since` first, then
/// `If-None-Match` (only `*` matches, and its presence disables `If-Modified-Since`).
fn precondition(
    modified: Option<i64>,
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    if_unmodified_since: Option<&str>,
) -> Option<StatusCode> {
    let modified = modified.filter(|m| *m > 0);
    if let (Some(m), Some(since)) = (modified, if_unmodified_since.and_then(parse_http_date))
        && m > since
    {
        return Some(StatusCode::PRECONDITION_FAILED);
    }
    if let Some(tags) = if_none_match {
        let any = tags.split(',').any(|tag| tag.trim() == "*");
        return any.then_some(StatusCode::NOT_MODIFIED);
    }
    let since = if_modified_since.and_then(parse_http_date)?;
    (modified? <= since).then_some(StatusCode::NOT_MODIFIED)
}

/// `If-Range` with a date must equal `Last-Modified`; an entity tag never matches (no ETag).
fn if_range_holds(modified: Option<i64>, if_range: Option<&str>) -> bool {
    match if_range {
        None => true,
        Some(value) => modified.is_some() && parse_http_date(value) == modified,
    }
}

/// Go's `serveError`: the caching headers go, the message is plain text.
fn unsatisfiable(mut response: Response, message: &str, len: u64) -> Response {
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    response.headers_mut().remove(CACHE_CONTROL);
    response.headers_mut().remove(LAST_MODIFIED);
    insert(&mut response, CONTENT_RANGE, &format!("bytes */{len}"));
    insert(&mut response, CONTENT_TYPE, "text/plain; charset=utf-8");
    *response.body_mut() = Body::from(format!("{message}\n"));
    response
}

#[derive(Debug, PartialEq, Eq)]
enum Ranged {
    Whole,
    /// One satisfiable range, `end` inclusive.
    Part {
        start: u64,
        end: u64,
    },
    /// 416, with Go's error text.
    Unsatisfiable(&'static str),
}

/// Go's `parseRange` for a file of `len` bytes: malformed -> "invalid range"; only ranges
/// starting past the end -> "failed to overlap"; zero valid ranges -> whole; several -> whole.
/// One departure: a zero-length suffix (`-0`) does not overlap (Go sends an empty 206).
fn parse_range(header: &str, len: u64) -> Ranged {
    const INVALID: Ranged = Ranged::Unsatisfiable("invalid range");
    let Some(specs) = header.strip_prefix("bytes=") else {
        return INVALID;
    };
    let mut ranges = Vec::new();
    let mut no_overlap = false;
    for spec in specs.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((first, last)) = spec.split_once('-') else {
            return INVALID;
        };
        let (first, last) = (first.trim(), last.trim());
        if first.is_empty() {
            let Ok(suffix) = last.parse::<u64>() else {
                return INVALID;
            };
            if suffix == 0 || len == 0 {
                no_overlap = true;
                continue;
            }
            ranges.push((len - suffix.min(len), len - 1));
            continue;
        }
        let Ok(start) = first.parse::<u64>() else {
            return INVALID;
        };
        if start >= len {
            no_overlap = true;
            continue;
        }
        let end = match last {
            "" => len - 1,
            _ => match last.parse::<u64>() {
                Ok(end) if end >= start => end.min(len - 1),
                _ => return INVALID,
            },
        };
        ranges.push((start, end));
    }
    match ranges.as_slice() {
        [] if no_overlap => Ranged::Unsatisfiable("invalid range: failed to overlap"),
        [(start, end)] => Ranged::Part {
            start: *start,
            end: *end,
        },
        _ => Ranged::Whole,
    }
}

fn unix_seconds(time: SystemTime) -> i64 {
    DateTime::<Utc>::from(time).timestamp()
}

/// An HTTP date (IMF-fixdate, always GMT), as Go's `http.TimeFormat`.
fn http_date(unix_seconds: i64) -> String {
    DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// The three date formats HTTP accepts (IMF-fixdate, RFC 850, asctime), as unix seconds.
fn parse_http_date(text: &str) -> Option<i64> {
    const FORMATS: [&str; 3] = [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ];
    let text = text.trim();
    FORMATS.iter().find_map(|format| {
        let parsed = NaiveDateTime::parse_from_str(text, format).ok()?;
        Some(parsed.and_utc().timestamp())
    })
}

fn insert(response: &mut Response, name: axum::http::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_like_go() {
        let cases: &[(&str, u64, Ranged)] = &[
            ("bytes=0-4", 10, Ranged::Part { start: 0, end: 4 }),
            ("bytes=5-", 10, Ranged::Part { start: 5, end: 9 }),
            ("bytes=-3", 10, Ranged::Part { start: 7, end: 9 }),
            ("bytes=-30", 10, Ranged::Part { start: 0, end: 9 }),
            ("bytes=2-100", 10, Ranged::Part { start: 2, end: 9 }),
            ("bytes= 1 - 2 ", 10, Ranged::Part { start: 1, end: 2 }),
            ("bytes=0-1,4-5", 10, Ranged::Whole),
            ("bytes=", 10, Ranged::Whole),
            (
                "bytes=10-",
                10,
                Ranged::Unsatisfiable("invalid range: failed to overlap"),
            ),
            (
                "bytes=20-30,40-",
                10,
                Ranged::Unsatisfiable("invalid range: failed to overlap"),
            ),
            ("bytes=20-30,1-2", 10, Ranged::Part { start: 1, end: 2 }),
            (
                "bytes=-0",
                10,
                Ranged::Unsatisfiable("invalid range: failed to overlap"),
            ),
            (
                "bytes=0-",
                0,
                Ranged::Unsatisfiable("invalid range: failed to overlap"),
            ),
            ("bytes=5-2", 10, Ranged::Unsatisfiable("invalid range")),
            ("bytes=a-2", 10, Ranged::Unsatisfiable("invalid range")),
            ("bytes=--2", 10, Ranged::Unsatisfiable("invalid range")),
            ("bytes=3", 10, Ranged::Unsatisfiable("invalid range")),
            ("items=0-1", 10, Ranged::Unsatisfiable("invalid range")),
        ];
        for (header, len, expected) in cases {
            assert_eq!(parse_range(header, *len), *expected, "{header} of {len}");
        }
    }

    #[test]
    fn formats_and_parses_http_dates() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(text), Some(784111777), "{text}");
        }
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn conditional_requests() {
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let t = Some(784111777);
        let not_modified = Some(StatusCode::NOT_MODIFIED);
        assert_eq!(precondition(t, None, Some(date), None), not_modified);
        assert_eq!(precondition(t.map(|s| s + 1), None, Some(date), None), None);
        assert_eq!(precondition(t, Some("\"x\""), Some(date), None), None);
        assert_eq!(precondition(t, Some("*"), None, None), not_modified);
        assert_eq!(
            precondition(t.map(|s| s + 1), None, None, Some(date)),
            Some(StatusCode::PRECONDITION_FAILED)
        );
        assert!(if_range_holds(t, Some(date)));
        assert!(!if_range_holds(t, Some("\"etag\"")));
    }
}
