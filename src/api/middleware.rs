//! Cross-cutting HTTP layers: `edge` (CORS (§11), request logging, PocketBase's security
//! headers (§1.6)) and `guard` (superuser IPs, the rate limiter), and the 404/405/panic
//! answers in PocketBase's envelope.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use std::net::IpAddr;

use axum::extract::State;

use crate::api::extract::{AuthRecord, authenticate, client_ip};
use crate::app::App;
use crate::error::ApiError;

/// Marks a response that may be framed: it gets no `X-Frame-Options` (served record files,
/// as PocketBase's file download removes it).
#[derive(Debug, Clone, Copy)]
pub struct AllowFraming;

/// The outermost layer: CORS (an `OPTIONS` request is answered here, as PocketBase's CORS
/// middleware does), the request log, and PocketBase's security headers (§1.6) on every
/// response. One layer instead of three: each `from_fn` layer boxes its inner service and
/// future for every request.
pub async fn edge(State(cors): State<Cors>, req: Request, next: Next) -> Response {
    let allowed = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|origin| cors.allow_origin(origin));
    let mut res = if req.method() == Method::OPTIONS {
        Cors::preflight(&req, allowed)
    } else {
        let mut res = logged(req, next).await;
        let headers = res.headers_mut();
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(allowed) = allowed {
            insert(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allowed);
        }
        res
    };
    security_headers(&mut res);
    res
}

/// Adds the headers PocketBase sets on every response.
fn security_headers(res: &mut Response) {
    let deny_framing = res.extensions().get::<AllowFraming>().is_none();
    let headers = res.headers_mut();
    for (name, value) in [
        ("x-xss-protection", "1; mode=block"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "SAMEORIGIN"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        if name == "x-frame-options" && !deny_framing {
            continue;
        }
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
}

/// The allowed CORS origins (`--origins`, default `*`).
#[derive(Clone, Debug)]
pub struct Cors {
    origins: Arc<Vec<String>>,
}

impl Cors {
    pub fn new(origins: Vec<String>) -> Self {
        Cors {
            origins: Arc::new(origins),
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request origin, if it is allowed.
    fn allow_origin(&self, origin: &str) -> Option<String> {
        if self.origins.iter().any(|o| o == "*") {
            Some("*".into())
        } else {
            self.origins
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin))
                .then(|| origin.to_string())
        }
    }

    /// The 204 answer to every `OPTIONS` request, with the CORS headers when an allowed
    /// `Origin` asks.
    fn preflight(req: &Request, allowed: Option<String>) -> Response {
        let mut res = StatusCode::NO_CONTENT.into_response();
        let requested = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        let headers = res.headers_mut();
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(allowed) = allowed {
            headers.append(
                header::VARY,
                HeaderValue::from_static("Access-Control-Request-Method"),
            );
            headers.append(
                header::VARY,
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
            insert(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allowed);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
            );
            if let Some(requested) = requested {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
            }
        }
        res
    }
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// One log line per request: method, path, status, duration. Like PocketBase, the console
/// shows them only in `--dev` (debug level); server errors are always logged.
async fn logged(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let path = uri.path();
    if status >= 500 {
        tracing::error!(%method, %path, status, elapsed_ms, "request");
    } else {
        tracing::debug!(%method, %path, status, elapsed_ms, "request");
    }
    res
}

/// Unknown routes (and known paths with another method, as PocketBase has no 405).
pub async fn not_found() -> ApiError {
    ApiError::not_found_default()
}

/// A panic in a handler: logged, answered with the generic 500 (never the panic text).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::internal(format!("handler panicked: {detail}")).into_response()
}

/// The layer inside the panic catcher: `settings.superuserIPs`, then the rate limiter; one
/// layer for both, as `edge` is.
pub async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let req = match superuser_ips(&app, req).await {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    match crate::api::ratelimit::admit(&app, req).await {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    }
}

/// `settings.superuserIPs` (§4.7): when set, a request carrying a superuser token, or one to
/// the `_superusers` auth endpoints, from any other address (the real IP, honouring
/// `trustedProxy`) is refused with PocketBase's default 403. The resolved auth is cached for
/// the `Auth` extractor.
async fn superuser_ips(app: &App, req: Request) -> Result<Request, Response> {
    let allowed = app.settings().superuser_ips();
    if allowed.is_empty() {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let client: Option<IpAddr> = client_ip(app, &parts).parse().ok();
    let mut req = Request::from_parts(parts, body);
    if client.is_some_and(|ip| allowed.iter().any(|rule| ip_matches(rule, ip))) {
        return Ok(req);
    }
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let auth = authenticate(app, &header).await;
    let path = req.uri().path();
    let superuser_route = [
        "/api/collections/_superusers/",
        "/api/collections/pbc_3142635823/",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix));
    if superuser_route || auth.as_ref().is_some_and(AuthRecord::is_superuser) {
        return Err(
            ApiError::forbidden("You are not allowed to perform this request.").into_response(),
        );
    }
    req.extensions_mut().insert(auth);
    Ok(req)
}

/// Whether `ip` is `rule` (an address) or inside it (a CIDR block).
pub fn ip_matches(rule: &str, ip: IpAddr) -> bool {
    let (base, bits) = match rule.split_once('/') {
        Some((base, bits)) => (base, bits.parse::<u32>().ok()),
        None => (rule, None),
    };
    let Ok(base) = base.trim().parse::<IpAddr>() else {
        return false;
    };
    match (base, ip) {
        (IpAddr::V4(b), IpAddr::V4(i)) => prefix_eq(
            u32::from(b).into(),
            u32::from(i).into(),
            bits.unwrap_or(32),
            32,
        ),
        (IpAddr::V6(b), IpAddr::V6(i)) => {
            prefix_eq(u128::from(b), u128::from(i), bits.unwrap_or(128), 128)
        }
        _ => false,
    }
}

fn prefix_eq(a: u128, b: u128, bits: u32, width: u32) -> bool {
    if bits == 0 {
        return true;
    }
    let bits = bits.min(width);
    let shift = width - bits;
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_rules() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert!(ip_matches("10.0.0.1", ip("10.0.0.1")));
        assert!(!ip_matches("10.0.0.1", ip("10.0.0.2")));
        assert!(ip_matches("192.168.0.0/16", ip("192.168.4.5")));
        assert!(!ip_matches("192.168.0.0/16", ip("192.169.0.1")));
        assert!(ip_matches("::1", ip("::1")));
        assert!(ip_matches("fd00::/8", ip("fd12::1")));
        assert!(!ip_matches("bad-ip", ip("127.0.0.1")));
        assert!(!ip_matches("127.0.0.1", ip("::1")));
    }

    #[tokio::test]
    async fn a_panic_is_a_generic_500_envelope() {
        let res = panic_response(Box::new("secret detail".to_string()));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(
            std::str::from_utf8(&body).expect("utf8"),
            r#"{"data":{},"message":"Something went wrong while processing your request.","status":500}"#
        );
    }
}
