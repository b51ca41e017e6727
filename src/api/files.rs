//! `/api/files` (§11, `apis/file.go`): serving record files and issuing file tokens.
//!
//! `GET /api/files/{collection}/{recordId}/{filename}` serves a name the record's file fields
//! hold, with Go's `ServeContent` (ranges, conditional requests) and PocketBase's headers:
//! the stored content type (`.svg`/`.css`/`.js` forced by extension), `Content-Disposition`
//! `inline` for media and PDFs or `attachment` otherwise and with `?download=1`, a sandboxing
//! CSP, a 30-day `Cache-Control`, and no `X-Frame-Options` (files may be embedded).
//! `?thumb=WxH` serves an image thumb for the sizes the field lists and `100x100`, made on
//! first request; anything else (or a failed thumb) serves the original. A protected
//! field's files need `?token=` (a file token) whose record passes the collection's
//! `viewRule`; every failure is the same 404 as a missing file.

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::api::extract::{Auth, AuthRecord, Path, Query};
use crate::api::middleware::AllowFraming;
use crate::api::rules::{self, Access};
use crate::api::serve_content::serve_content;
use crate::app::App;
use crate::auth::record_tokens::{self, Kind};
use crate::core::collection::Collection;
use crate::core::field::{Field, FieldOptions};
use crate::core::files::storage::{self, Storage, is_plain_name};
use crate::core::files::thumbs::{self, Size};
use crate::core::record::input::to_strings;
use crate::error::ApiError;
use crate::store;

/// Types served `inline`; everything else is an attachment.
const INLINE_TYPES: [&str; 25] = [
    "image/png",
    "image/jpg",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/x-icon",
    "image/bmp",
    "video/webm",
    "video/mp4",
    "video/3gpp",
    "video/quicktime",
    "video/x-ms-wmv",
    "audio/basic",
    "audio/aiff",
    "audio/mpeg",
    "audio/midi",
    "audio/mp3",
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-mpeg",
    "audio/x-m4a",
    "audio/aac",
    "application/pdf",
    "application/x-pdf",
];

const CSP: &str = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox";
const CACHE: &str = "max-age=2592000, stale-while-revalidate=86400";

/// `POST /api/files/token`: a short-lived file token for the requester (guests: 401).
pub async fn token(Auth(auth): Auth) -> Result<Json<Value>, ApiError> {
    let auth = auth.ok_or_else(|| {
        ApiError::unauthorized("The request requires valid record authorization token.")
    })?;
    let token = record_tokens::issue(&auth.collection, &auth.record, Kind::File, None, &[]);
    Ok(Json(json!({ "token": token })))
}

/// `GET /api/files/{collection}/{recordId}/{filename}`.
pub async fn download(
    State(app): State<App>,
    Path((collection, record_id, filename)): Path<(String, String, String)>,
    query: Query,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let collection = app
        .collection(&collection)
        .ok_or_else(|| ApiError::not_found("Missing or invalid collection context."))?;
    // View records hold names of files stored under their source records.
    if collection.is_view() || !is_plain_name(&filename) {
        return Err(ApiError::not_found_default());
    }
    let record = store::records::find_by_id(&app.store().read, &collection, &record_id)
        .await?
        .ok_or_else(ApiError::not_found_default)?;
    let field = file_field_holding(&collection, &record, &filename)
        .ok_or_else(ApiError::not_found_default)?;
    if protected(field) && !may_view(&app, &collection, &record, &query, &method, &headers).await? {
        return Err(ApiError::not_found_default());
    }
    let dir = Storage::of(&app)
        .record_dir(&collection.id, &record_id)
        .ok_or_else(ApiError::not_found_default)?;
    let original = dir.join(&filename);
    let (path, name) = match query.get("thumb").filter(|t| offers_thumb(field, t)) {
        Some(size) => thumb(&original, &dir, &filename, size).await?,
        None => (original, filename),
    };
    let content_type = storage::content_type(&path).await;
    let base = file_headers(&content_type, &name, query.get("download"));
    let head = method == Method::HEAD;
    let mut response = serve_content(&path, &content_type, &headers, head, base)
        .await
        .map_err(|_| ApiError::not_found_default())?;
    response.extensions_mut().insert(AllowFraming);
    Ok(response)
}

/// The file field whose value holds `filename`.
fn file_field_holding<'c>(
    collection: &'c Collection,
    record: &Map<String, Value>,
    filename: &str,
) -> Option<&'c Field> {
    collection.fields.iter().find(|f| {
        matches!(f.options, FieldOptions::File { .. })
            && to_strings(record.get(&f.name).unwrap_or(&Value::Null))
                .iter()
                .any(|n| n == filename)
    })
}

fn protected(field: &Field) -> bool {
    matches!(
        field.options,
        FieldOptions::File {
            protected: true,
            ..
        }
    )
}

/// Whether the record of `?token=` (a file token; anything else is a guest) passes the
/// collection's `viewRule` for this record, in the `protectedFile` request context.
async fn may_view(
    app: &App,
    collection: &Collection,
    record: &Map<String, Value>,
    query: &Query,
    method: &Method,
    headers: &HeaderMap,
) -> Result<bool, ApiError> {
    let token = query.get("token").unwrap_or_default().trim();
    let auth = match token {
        "" => None,
        token => record_tokens::find_record(app, token, Kind::File)
            .await
            .map(|(collection, record, _)| AuthRecord { collection, record }),
    };
    let mut access = Access::new(auth, query, method.clone(), headers);
    access.request.context = "protectedFile".into();
    let Ok(rule) = access.rule(&collection.view_rule) else {
        return Ok(false);
    };
    let filter = rules::compile(app, collection, &access, rule.as_deref(), None)?;
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    let db = store::Db::Shared(app.store());
    Ok(store::records::find_matching(db, collection, id, &filter)
        .await?
        .is_some())
}

/// `100x100` and the sizes the field lists.
fn offers_thumb(field: &Field, size: &str) -> bool {
    let FieldOptions::File { thumbs, .. } = &field.options else {
        return false;
    };
    thumbs::DEFAULT_SIZES.contains(&size) || thumbs.iter().any(|t| t == size)
}

/// The thumb to serve for an image (made now if missing), else the original.
async fn thumb(
    original: &std::path::Path,
    dir: &std::path::Path,
    filename: &str,
    size: &str,
) -> Result<(std::path::PathBuf, String), ApiError> {
    let whole = (original.to_path_buf(), filename.to_string());
    if !tokio::fs::metadata(original)
        .await
        .is_ok_and(|m| m.is_file())
    {
        return Err(ApiError::not_found_default());
    }
    let original_type = storage::content_type(original).await;
    if !thumbs::IMAGE_TYPES.contains(&original_type.as_str()) {
        return Ok(whole);
    }
    let name = format!("{size}_{filename}");
    let path = dir.join(format!("thumbs_{filename}")).join(&name);
    if tokio::fs::metadata(&path).await.is_ok() {
        return Ok((path, name));
    }
    let made = match Size::parse(size) {
        Some(parsed) => thumbs::create(original, &path, parsed).await,
        None => Err(format!("invalid thumb size {size:?}")),
    };
    match made {
        Ok(()) => Ok((path, name)),
        Err(err) => {
            tracing::warn!("fallback to original - failed to create thumb {name}: {err}");
            Ok(whole)
        }
    }
}

/// The headers PocketBase sets before `ServeContent`.
fn file_headers(content_type: &str, name: &str, download: Option<&str>) -> HeaderMap {
    // Go's `strconv.ParseBool`; anything else is false.
    let attachment = matches!(download, Some("1" | "t" | "T" | "TRUE" | "true" | "True"));
    let inline = !attachment && INLINE_TYPES.contains(&content_type);
    let disposition = if inline { "inline" } else { "attachment" };
    let extension = name.rfind('.').map(|i| &name[i..]).unwrap_or_default();
    let served_type = match extension {
        ".svg" => "image/svg+xml",
        ".css" => "text/css",
        ".js" | ".mjs" => "text/javascript",
        _ => content_type,
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(
        CONTENT_DISPOSITION,
        &format!("{disposition}; filename=\"{name}\""),
    );
    set(CONTENT_TYPE, served_type);
    set(HeaderName::from_static("content-security-policy"), CSP);
    set(CACHE_CONTROL, CACHE);
    headers
}
