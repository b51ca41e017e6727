//! `ApiError`: the one error type that crosses the HTTP boundary.
//!
//! It always serializes as PocketBase's envelope `{"data":{},"message":"…","status":N}`
//! (pocketbase-surface.md §1.1). Engine modules keep their own typed errors and convert
//! at the edge; anything unexpected becomes a generic 400/500 whose cause is logged,
//! never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A PocketBase-shaped API error.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Field errors (`{"field": {"code": …, "message": …}}`), empty when there are none.
    pub data: Map<String, Value>,
}

/// Field errors keyed by field name, in the shape of the envelope's `data`.
pub type FieldErrors = Map<String, Value>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: sentenize(&message.into()),
            data: Map::new(),
        }
    }

    pub fn with_data(mut self, data: FieldErrors) -> Self {
        self.data = data;
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 with PocketBase's default message, used for every parse/filter/sort failure.
    pub fn bad_request_default() -> Self {
        Self::bad_request("Something went wrong while processing your request.")
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn not_found_default() -> Self {
        Self::not_found("The requested resource wasn't found.")
    }

    /// An unexpected failure: logged with its cause, answered with the generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong while processing your request.",
        )
    }

    /// The envelope. Field errors come out with sorted keys at every level, as PocketBase's
    /// (Go map) validation errors do.
    pub fn to_json(&self) -> Value {
        json!({"data": sorted(Value::Object(self.data.clone())), "message": self.message, "status": self.status.as_u16()})
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.to_json())).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Self::not_found_default(),
            other => Self::internal(other),
        }
    }
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        other => other,
    }
}

/// One field error entry: `{"code": …, "message": …}` (plus `params` when given).
pub fn field_error(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message})
}

/// A field error that carries validator params (e.g. `{"max": 50}`); `{{.name}}` in the
/// message is replaced by that param, as ozzo-validation renders its templates.
pub fn field_error_with(code: &str, message: &str, params: Value) -> Value {
    let mut text = message.to_string();
    if let Some(map) = params.as_object() {
        for (name, value) in map {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            text = text.replace(&format!("{{{{.{name}}}}}"), &shown);
        }
    }
    json!({"code": code, "message": text, "params": params})
}

/// PocketBase "sentenizes" messages: trimmed, first letter upper-cased, a final `.` added
/// unless the text already ends in `.`, `?` or `!` (pocketbase-surface.md §1.1).
pub fn sentenize(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '?', '!']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentenize_matches_pocketbase() {
        assert_eq!(sentenize("  blocked email "), "Blocked email.");
        assert_eq!(sentenize("Done!"), "Done!");
        assert_eq!(sentenize("why?"), "Why?");
        assert_eq!(sentenize(""), "");
    }

    #[test]
    fn field_errors_are_sorted() {
        let mut data = FieldErrors::new();
        data.insert("smtp".into(), field_error("b", "B"));
        data.insert("meta".into(), field_error("a", "A"));
        let text = ApiError::bad_request("x")
            .with_data(data)
            .to_json()
            .to_string();
        assert!(text.find("meta").expect("meta") < text.find("smtp").expect("smtp"));
    }

    #[test]
    fn envelope_keys_and_shape() {
        let err = ApiError::not_found_default();
        assert_eq!(
            err.to_json().to_string(),
            r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#
        );
    }
}
