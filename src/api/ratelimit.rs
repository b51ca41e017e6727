//! The rate limiter at the HTTP edge (§7): after routing (so the route's collection and
//! tags are known), before the handler. Superusers are never limited. A refused request
//! gets PocketBase's 429 envelope; the OTP routes also count it in the metrics.

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::extract::{client_ip, request_auth};
use crate::api::public::percent_decode;
use crate::app::App;
use crate::error::ApiError;
use crate::ratelimit::{self, Audience};

/// The tags PocketBase gives a route (`apis/record_*.go`), by method and route pattern.
fn tags(method: &str, route: &str) -> &'static [&'static str] {
    let Some(tail) = route.strip_prefix("/api/collections/{collection}/") else {
        return &[];
    };
    match (method, tail) {
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
        _ => &[],
    }
}

pub async fn limit(State(app): State<App>, req: Request, next: Next) -> Response {
    let limiter = app.limiter();
    if !limiter.is_active() {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let auth = request_auth(&app, &mut parts).await;
    if auth.as_ref().is_some_and(|a| a.is_superuser()) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    // A collection route names its collection; an unknown one is the handler's 404 first.
    let collection = if route.starts_with("/api/collections/{collection}/") {
        let segment = parts.uri.path().split('/').nth(3).unwrap_or_default();
        match app.collection(&decode(segment)) {
            Some(c) => Some(c.name),
            None => return next.run(Request::from_parts(parts, body)).await,
        }
    } else {
        None
    };
    let tags = tags(parts.method.as_str(), &route);
    let ip = client_ip(&app, &parts);
    let path = decode(parts.uri.path());
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
        return ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests.").into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Go's `URL.Path`: the percent-decoded path (kept as is when it does not decode).
fn decode(path: &str) -> String {
    percent_decode(path).unwrap_or_else(|| path.to_string())
}
