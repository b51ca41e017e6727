//! The rate limiter at the HTTP edge (§7), before the handler: the route's collection and
//! tags come from the path, as PocketBase's routes would bind them. Superusers are never limited. A refused request
//! gets PocketBase's 429 envelope; the OTP routes also count it in the metrics.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::extract::{client_ip, request_auth};
use crate::api::public::percent_decode;
use crate::app::App;
use crate::error::ApiError;
use crate::ratelimit::{self, Audience};

/// The collection segment and tags PocketBase gives a collection route
/// (`apis/record_*.go`), from the method and the decoded path; `None` for other routes.
fn collection_route<'p>(method: &str, path: &'p str) -> Option<(&'p str, &'static [&'static str])> {
    if let Some(rest) = path.strip_prefix("/api/files/") {
        // `GET /api/files/{collection}/{recordId}/{filename}` (`apis/file.go`).
        let mut segments = rest.splitn(3, '/');
        return match (method, segments.next(), segments.next(), segments.next()) {
            ("GET" | "HEAD", Some(c), Some(_), Some(_)) => Some((c, &["file"])),
            _ => None,
        };
    }
    let rest = path.strip_prefix("/api/collections/")?;
    let (collection, tail) = rest.split_once('/')?;
    let tail = match tail.split_once('/') {
        Some(("records", id)) if !id.is_empty() && !id.contains('/') => "records/{id}",
        _ => tail,
    };
    let tags: &'static [&'static str] = match (method, tail) {
        ("GET", "records") => &["list"],
        ("POST", "records") => &["create"],
        ("GET", "records/{id}") => &["view"],
        ("PATCH", "records/{id}") => &["update"],
        ("DELETE", "records/{id}") => &["delete"],
        ("GET", "auth-methods") => &["listAuthMethods"],
        ("POST", "auth-refresh") => &["authRefresh"],
        ("POST", "auth-with-password") => &["authWithPassword", "auth"],
        ("POST", "request-otp") => &["requestOTP"],
        ("POST", "auth-with-otp") => &["authWithOTP", "auth"],
        ("POST", "request-password-reset") => &["requestPasswordReset"],
        ("POST", "confirm-password-reset") => &["confirmPasswordReset"],
        ("POST", "request-verification") => &["requestVerification"],
        ("POST", "confirm-verification") => &["confirmVerification"],
        ("POST", "request-email-change") => &["requestEmailChange"],
        ("POST", "confirm-email-change") => &["confirmEmailChange"],
        ("POST", t) if t.starts_with("impersonate/") => &[],
        ("DELETE", "truncate") => &[],
        _ => return None,
    };
    Some((collection, tags))
}

/// Lets `req` through, or refuses it with the 429 envelope.
pub async fn admit(app: &App, req: Request) -> Result<Request, Response> {
    let limiter = app.limiter();
    if !limiter.is_active() {
        return Ok(req);
    }
    let (mut parts, body) = req.into_parts();
    let auth = request_auth(app, &mut parts).await;
    if auth.as_ref().is_some_and(|a| a.is_superuser()) {
        return Ok(Request::from_parts(parts, body));
    }
    let path = decode(parts.uri.path());
    // A collection route names its collection; an unknown one is the handler's 404 first.
    let (collection, tags) = match collection_route(parts.method.as_str(), &path) {
        Some((name, tags)) => match app.collection(name) {
            Some(c) => (Some(c.name.clone()), tags),
            None => return Ok(Request::from_parts(parts, body)),
        },
        None => (None, &[][..]),
    };
    let ip = client_ip(app, &parts);
    let request = ratelimit::Request {
        method: parts.method.as_str(),
        path: &path,
        collection: collection.as_deref(),
        tags,
        audience: if auth.is_some() {
            Audience::Auth
        } else {
            Audience::Guest
        },
        ip: &ip,
    };
    if limiter.check(&request).is_err() {
        if let Some(name) = &collection
            && tags
                .iter()
                .any(|t| *t == "requestOTP" || *t == "authWithOTP")
        {
            app.metrics().inc("satchel_otp_rate_limited_total", name);
        }
        return Err(
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests.").into_response(),
        );
    }
    Ok(Request::from_parts(parts, body))
}

/// Go's `URL.Path`: the percent-decoded path (kept as is when it does not decode).
fn decode(path: &str) -> String {
    percent_decode(path).unwrap_or_else(|| path.to_string())
}
