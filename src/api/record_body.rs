//! The body of a record create or update (§1.4, §2.3): JSON as every other endpoint reads
//! it, or a urlencoded or `multipart/form-data` form, read as PocketBase's record form does:
//!
//! - form values are inferred (numbers, booleans) and a repeated key is an array;
//! - `@jsonPayload` parts hold JSON objects merged over the form values;
//! - file parts count under a file field's name, `field+` or `+field` (others are ignored);
//!   under the plain name they join the names sent as values (so keeping old files and
//!   adding one is one request), under a modifier they are the modifier's value;
//! - the body may be as large as 32 MiB plus each file field's `maxSize × maxSelect` and
//!   each editor and JSON field's `maxSize` (413 beyond).
//!
//! Uploads get their stored names here; the body then holds those names like any other
//! file names, so the record operations, rules and hooks only ever see names.

use axum::RequestExt;
use axum::body::Bytes;
use axum::extract::{FromRequest, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::api::BODY_LIMIT;
use crate::api::extract::{Body, infer_form_value};
use crate::app::App;
use crate::core::collection::Collection;
use crate::core::field::FieldOptions;
use crate::core::files::{Upload, Uploads, validate::DEFAULT_MAX_SIZE};
use crate::error::ApiError;

/// PocketBase's defaults for editor and JSON fields that set no `maxSize`.
const DEFAULT_EDITOR_MAX: u64 = 5 << 20;
const DEFAULT_JSON_MAX: u64 = 1 << 20;

/// A record write's body and the files uploaded with it.
pub struct RecordBody {
    pub body: Map<String, Value>,
    pub uploads: Uploads,
}

impl FromRequest<App> for RecordBody {
    type Rejection = ApiError;

    async fn from_request(mut req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            return read_urlencoded(req, app).await;
        }
        if !content_type.starts_with("multipart/form-data") {
            let Body(body) = Body::from_request(req, app).await?;
            return Ok(RecordBody {
                body,
                uploads: Uploads::default(),
            });
        }
        let collection = req
            .extract_parts::<RawPathParams>()
            .await
            .ok()
            .and_then(|params| {
                let (_, name) = params.iter().find(|(key, _)| *key == "collection")?;
                app.collection(name)
            });
        let limit = collection.as_deref().map_or(BODY_LIMIT as u64, body_limit);
        let keep = |key: &str| collection.as_ref().is_some_and(|c| is_file_key(c, key));
        let (mut body, uploads) = read_form(req, &content_type, limit, keep).await?;
        merge_uploads(&mut body, &uploads);
        Ok(RecordBody {
            body,
            uploads: Uploads::new(uploads),
        })
    }
}

/// A `POST /api/batch` body: JSON, or multipart with the requests in `@jsonPayload` and
/// each request's files as `requests.<index>.<field>` (up to `batch.maxBodySize`, default
/// 128 MiB).
pub struct BatchBody {
    pub body: Map<String, Value>,
    uploads: Vec<Upload>,
}

impl FromRequest<App> for BatchBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !content_type.starts_with("multipart/form-data") {
            let Body(body) = Body::from_request(req, app).await?;
            return Ok(BatchBody {
                body,
                uploads: Vec::new(),
            });
        }
        let limit = match app
            .settings()
            .0
            .pointer("/batch/maxBodySize")
            .and_then(Value::as_u64)
        {
            Some(limit) if limit > 0 => limit,
            _ => 128 << 20,
        };
        let keep = |key: &str| key.starts_with("requests.");
        let (body, uploads) = read_form(req, &content_type, limit, keep).await?;
        Ok(BatchBody { body, uploads })
    }
}

impl BatchBody {
    /// The files of request `index` for its collection, their names merged into `body`.
    pub fn uploads_for(
        &mut self,
        index: usize,
        collection: Option<&Collection>,
        body: &mut Map<String, Value>,
    ) -> Uploads {
        let prefix = format!("requests.{index}.");
        let mut mine = Vec::new();
        for mut upload in std::mem::take(&mut self.uploads) {
            match upload.key.strip_prefix(&prefix).map(str::to_string) {
                Some(key) if collection.is_some_and(|c| is_file_key(c, &key)) => {
                    upload.key = key;
                    mine.push(upload);
                }
                Some(_) => {}
                None => self.uploads.push(upload),
            }
        }
        merge_uploads(body, &mine);
        Uploads::new(mine)
    }
}

/// A urlencoded form: values inferred, repeated keys as arrays, as in a multipart body.
async fn read_urlencoded(req: Request, app: &App) -> Result<RecordBody, ApiError> {
    let bytes =
        Bytes::from_request(req, app)
            .await
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large.")
                }
                _ => ApiError::bad_request_default(),
            })?;
    let body = urlencoded_values(&bytes).map_err(|_| ApiError::bad_request_default())?;
    Ok(RecordBody {
        body,
        uploads: Uploads::default(),
    })
}

/// 32 MiB plus what the collection's file, editor and JSON fields may hold.
fn body_limit(collection: &Collection) -> u64 {
    let extra: u64 = collection
        .fields
        .iter()
        .map(|field| match &field.options {
            FieldOptions::File {
                max_size,
                max_select,
                ..
            } => {
                let size = if *max_size <= 0 {
                    DEFAULT_MAX_SIZE
                } else {
                    *max_size
                };
                size as u64 * (*max_select).max(1) as u64
            }
            FieldOptions::Editor { max_size, .. } if *max_size > 0 => *max_size as u64,
            FieldOptions::Editor { .. } => DEFAULT_EDITOR_MAX,
            FieldOptions::Json { max_size } if *max_size > 0 => *max_size as u64,
            FieldOptions::Json { .. } => DEFAULT_JSON_MAX,
            _ => 0,
        })
        .sum();
    BODY_LIMIT as u64 + extra
}

/// Reads a multipart body: its values (with `@jsonPayload` merged over them) and the files
/// under the keys `keep` accepts. A malformed body is the generic 400, too much is 413.
async fn read_form(
    req: Request,
    content_type: &str,
    limit: u64,
    keep: impl Fn(&str) -> bool,
) -> Result<(Map<String, Value>, Vec<Upload>), ApiError> {
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| ApiError::bad_request_default())?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let stream = req.into_body().into_data_stream();
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut values: Map<String, Value> = Map::new();
    let mut payloads = Vec::new();
    let mut uploads: Vec<Upload> = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let key = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().filter(|n| !n.is_empty()).map(base_name);
        match file_name {
            Some(file_name) => {
                let data = field.bytes().await.map_err(multipart_error)?;
                if keep(&key) {
                    uploads.push(Upload::new(&key, &file_name, data));
                }
            }
            None => {
                let text = field.text().await.map_err(multipart_error)?;
                if key == "@jsonPayload" {
                    payloads.push(text);
                } else {
                    push_value(&mut values, key, infer_form_value(&text));
                }
            }
        }
    }
    for payload in payloads {
        match serde_json::from_str::<Value>(&payload) {
            Ok(Value::Object(fields)) => values.extend(fields),
            _ => return Err(ApiError::bad_request_default()),
        }
    }
    Ok((values, uploads))
}

/// A urlencoded body's values, inferred as PocketBase's form binding does (a repeated key is
/// an array), or why it does not decode.
pub fn urlencoded_values(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(bytes).map_err(|e| e.to_string())?;
    let mut values = Map::new();
    for (key, value) in pairs {
        push_value(&mut values, key, infer_form_value(&value));
    }
    Ok(values)
}

/// A multipart body's values with their files left out (`e.requestInfo().body` of hooks and
/// pages, as PocketBase's `BindBody` shows it).
pub async fn form_values(content_type: &str, body: Bytes) -> Result<Map<String, Value>, ApiError> {
    let req = Request::new(axum::body::Body::from(body));
    let (values, _) = read_form(req, content_type, BODY_LIMIT as u64, |_| false).await?;
    Ok(values)
}

/// A repeated key becomes an array of its values, in order.
fn push_value(values: &mut Map<String, Value>, key: String, value: Value) {
    match values.get_mut(&key) {
        Some(Value::Array(list)) => list.push(value),
        Some(first) => *first = Value::Array(vec![first.take(), value]),
        None => {
            values.insert(key, value);
        }
    }
}

/// Puts each upload's stored name under its key: after the names sent for the plain field
/// name, alone for a modifier (PocketBase's `recordDataFromRequest`).
fn merge_uploads(values: &mut Map<String, Value>, uploads: &[Upload]) {
    let mut keys: Vec<&str> = Vec::new();
    for upload in uploads {
        if !keys.contains(&upload.key.as_str()) {
            keys.push(&upload.key);
        }
    }
    for key in keys {
        let mut names: Vec<Value> = Vec::new();
        if !key.starts_with('+') && !key.ends_with('+') {
            let sent = values.get(key).map(crate::core::record::input::to_strings);
            names.extend(sent.unwrap_or_default().into_iter().map(Value::String));
        }
        names.extend(
            uploads
                .iter()
                .filter(|u| u.key == key)
                .map(|u| Value::String(u.name.clone())),
        );
        values.insert(key.to_string(), Value::Array(names));
    }
}

/// `field`, `field+` or `+field` of one of the collection's file fields.
fn is_file_key(collection: &Collection, key: &str) -> bool {
    let name = key
        .strip_prefix('+')
        .or_else(|| key.strip_suffix('+'))
        .unwrap_or(key);
    collection
        .field(name)
        .is_some_and(|f| matches!(f.options, FieldOptions::File { .. }))
}

/// The last path segment of a client's file name (Go's multipart reader keeps only that).
fn base_name(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

fn multipart_error(err: multer::Error) -> ApiError {
    match err {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large.")
        }
        _ => ApiError::bad_request_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use serde_json::json;

    #[test]
    fn uploads_join_the_plain_key_and_replace_modifiers() {
        let upload = |key: &str| Upload::new(key, "a.txt", Bytes::from_static(b"hi"));
        let uploads = vec![upload("docs"), upload("docs"), upload("docs+")];
        let mut values = Map::new();
        values.insert("docs".into(), json!("old.txt"));
        values.insert("docs+".into(), json!("ignored.txt"));
        merge_uploads(&mut values, &uploads);
        assert_eq!(
            values["docs"],
            json!(["old.txt", uploads[0].name, uploads[1].name])
        );
        assert_eq!(values["docs+"], json!([uploads[2].name]));
    }

    #[test]
    fn repeated_keys_are_arrays() {
        let mut values = Map::new();
        for (k, v) in [
            ("a", json!(1)),
            ("b", json!("x")),
            ("a", json!(2)),
            ("a", json!(3)),
        ] {
            push_value(&mut values, k.into(), v);
        }
        assert_eq!(Value::Object(values), json!({"a": [1, 2, 3], "b": "x"}));
    }
}
