//! Extractors whose every rejection is PocketBase's envelope: the JSON body, the query
//! string, and the request's auth record (a bad token means guest, never an error, §1.5).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde_json::{Map, Value};

use crate::app::App;
use crate::auth::record_tokens::{self, Kind};
use crate::core::collection::Collection;
use crate::error::ApiError;

/// A request body as a JSON object. Empty = `{}`; JSON or urlencoded forms are accepted.
pub struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(rejection.status(), "Request entity too large.")
            } else {
                ApiError::bad_request_default()
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        if is_form {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                .map_err(|_| ApiError::bad_request_default())?;
            return Ok(Body(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            _ => Err(ApiError::bad_request_default()),
        }
    }
}

/// PocketBase's `inferValue` for form values: `true`/`false`, and numbers whose shortest
/// form is the text itself (so `007` and `1e3` stay strings).
pub fn infer_form_value(raw: &str) -> Value {
    match raw {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    let numeric = raw
        .bytes()
        .next()
        .is_some_and(|b| b == b'-' || b == b'.' || b.is_ascii_digit());
    if numeric && let Ok(n) = raw.parse::<f64>() {
        let shortest = if n.fract() == 0.0 && n.abs() < 1e21 {
            format!("{}", n as i64)
        } else {
            format!("{n}")
        };
        if shortest == raw && n.is_finite() {
            return serde_json::json!(n);
        }
    }
    Value::String(raw.to_string())
}

/// The query string as ordered key/value pairs (last value wins on lookup).
#[derive(Clone, Debug, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(|_| ApiError::bad_request_default())
    }
}

/// The authenticated record of a request, if its token is valid.
#[derive(Clone, Debug)]
pub struct AuthRecord {
    pub collection: Arc<Collection>,
    pub record: Map<String, Value>,
}

impl AuthRecord {
    pub fn is_superuser(&self) -> bool {
        self.collection.name == crate::auth::superusers::COLLECTION
    }
}

/// `Option<AuthRecord>` as an extractor: `Auth(None)` for guests and for bad tokens.
pub struct Auth(pub Option<AuthRecord>);

impl Auth {
    /// PocketBase's guard for superuser-only endpoints (§4.6).
    pub fn require_superuser(&self) -> Result<&AuthRecord, ApiError> {
        match &self.0 {
            None => Err(ApiError::unauthorized(
                "The request requires valid record authorization token.",
            )),
            Some(auth) if !auth.is_superuser() => Err(ApiError::forbidden(
                "The authorized record is not allowed to perform this action.",
            )),
            Some(auth) => Ok(auth),
        }
    }
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(Auth(request_auth(app, parts).await))
    }
}

/// The token of an `Authorization` value: bare, or after a case-insensitive `Bearer `.
pub fn bearer_token(header: &str) -> &str {
    let header = header.trim();
    match header.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => header[7..].trim(),
        _ => header,
    }
}

/// Resolves an `Authorization` value (bare token or `Bearer <token>`) to its auth record.
pub async fn authenticate(app: &App, header: &str) -> Option<AuthRecord> {
    let raw = bearer_token(header);
    if raw.is_empty() {
        return None;
    }
    let (collection, record, _) = record_tokens::find_record(app, raw, Kind::Auth).await?;
    Some(AuthRecord { collection, record })
}

/// Path parameters; one that does not decode (invalid UTF-8 after percent-decoding) names
/// nothing, so it is PocketBase's 404 envelope.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|_| ApiError::not_found_default())
    }
}

/// The client's real IP (PocketBase's `RealIP`): the first valid address in the
/// `settings.trustedProxy.headers`, else the socket's peer.
pub struct ClientIp(pub String);

impl FromRequestParts<App> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(app, parts)))
    }
}

/// See [`ClientIp`].
pub fn client_ip(app: &App, parts: &Parts) -> String {
    let remote = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(addr)| addr.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let header = |name: &str| {
        parts
            .headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    crate::ratelimit::real_ip(remote, &app.settings().0, &header)
}

/// The auth record of a request (cached in the request's extensions for the `Auth`
/// extractor, so the token is resolved once).
pub async fn request_auth(app: &App, parts: &mut Parts) -> Option<AuthRecord> {
    if let Some(cached) = parts.extensions.get::<Option<AuthRecord>>() {
        return cached.clone();
    }
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let auth = authenticate(app, header).await;
    parts.extensions.insert(auth.clone());
    auth
}
