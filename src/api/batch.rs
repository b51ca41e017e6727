//! `POST /api/batch` (§11): several record writes in one transaction. Each item runs the
//! same code as its own endpoint (rules, validation, answer shape) against the batch's
//! transaction, so later items see earlier ones; the first failure rolls everything back
//! and is reported under its index. Allowed: `POST|PUT …/records` (PUT = upsert by
//! `body.id`), `PATCH|DELETE …/records/{id}`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::api::extract::{Auth, Query};
use crate::api::record_body::BatchBody;
use crate::api::records::{self, Answer, Ctx};
use crate::app::App;
use crate::core::files::Uploads;
use crate::core::records as core_records;
use crate::error::{ApiError, FieldErrors, field_error, field_error_with};
use crate::filter::sql::SqlExpr;
use crate::store::{self, Db, Tx};

pub async fn batch(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<BatchBody, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let settings = app.settings();
    let setting = |key: &str| settings.0.pointer(&format!("/batch/{key}")).cloned();
    let max = setting("maxRequests").and_then(|v| v.as_i64()).unwrap_or(0);
    if !setting("enabled")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
        || max <= 0
    {
        return Err(ApiError::forbidden("Batch requests are not allowed."));
    }
    let timeout = match setting("timeout").and_then(|v| v.as_i64()).unwrap_or(0) {
        t if t > 0 => t as u64,
        _ => 3,
    };
    let mut body =
        body.map_err(|_| ApiError::bad_request("Failed to read the submitted batch data."))?;
    let requests = match body.body.get("requests") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            return Err(ApiError::bad_request(
                "Failed to read the submitted batch data.",
            ));
        }
    };
    let mut errors = FieldErrors::new();
    if requests.is_empty() {
        errors.insert(
            "requests".into(),
            field_error("validation_required", "Cannot be blank."),
        );
    } else if requests.len() as i64 > max {
        errors.insert(
            "requests".into(),
            field_error_with(
                "validation_length_too_long",
                "The length must be no more than {{.max}}.",
                json!({"max": max, "min": 0}),
            ),
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request("Invalid batch request data.").with_data(errors));
    }
    let tx = Tx::begin(app.store()).await?;
    let run = async {
        let mut results = Vec::with_capacity(requests.len());
        for (index, item) in requests.iter().enumerate() {
            match run_item(&app, &tx, &auth, &headers, item, (&mut body, index)).await {
                Ok(result) => results.push(result),
                Err(err) => return Err(failed_item(index, err)),
            }
        }
        Ok(results)
    };
    let results = tokio::time::timeout(Duration::from_secs(timeout), run)
        .await
        .map_err(|_| ApiError::bad_request("Batch transaction failed."))??;
    // Every item is done with the transaction; the "after success" hooks run once it commits.
    for change in Tx::commit(tx).await? {
        core_records::committed(&app, change).await;
    }
    Ok(Json(Value::Array(results)))
}

/// 400 `Batch transaction failed.` naming the item that failed and its own error.
fn failed_item(index: usize, err: ApiError) -> ApiError {
    let mut requests = Map::new();
    requests.insert(
        index.to_string(),
        json!({"code": "batch_request_failed", "message": "Batch request failed.", "response": err.to_json()}),
    );
    let mut data = FieldErrors::new();
    data.insert("requests".into(), Value::Object(requests));
    ApiError::bad_request("Batch transaction failed.").with_data(data)
}

/// One item: `{method, url, headers?, body?}` → `{status, body}`.
async fn run_item(
    app: &App,
    tx: &Arc<Tx>,
    auth: &Auth,
    base_headers: &HeaderMap,
    item: &Value,
    (files, index): (&mut BatchBody, usize),
) -> Result<Value, ApiError> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
    let method = text("method").to_ascii_uppercase();
    let url = text("url");
    let mut body = item
        .get("body")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let query = Query(serde_urlencoded::from_str(query).unwrap_or_default());
    let mut headers = base_headers.clone();
    if let Some(extra) = item.get("headers").and_then(Value::as_object) {
        for (name, value) in extra {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let (collection, id) = match segments.as_slice() {
        ["", "api", "collections", c, "records"] => (*c, None),
        ["", "api", "collections", c, "records", id] => (*c, Some(*id)),
        _ => return Err(ApiError::bad_request_default()),
    };
    // The item's files (`requests.<index>.<field>` parts), their names merged into its body.
    let uploads: Uploads =
        files.uploads_for(index, app.collection(collection).as_deref(), &mut body);
    let ctx = |method: Method| {
        let mut ctx = Ctx::new(
            app,
            collection,
            Auth(auth.0.clone()),
            query.clone(),
            method,
            &headers,
        )?;
        ctx.db = Db::Tx(tx);
        ctx.access.request.context = "batch".into();
        Ok::<_, ApiError>(ctx)
    };
    // A batch item's status and body; a delete answers 204 with no body.
    let answer = |result: Answer| {
        let status = match &result {
            Answer::Deleted => StatusCode::NO_CONTENT,
            Answer::Written(w) => StatusCode::from_u16(w.status).unwrap_or(StatusCode::OK),
            Answer::Record(_) | Answer::Serialized(_) | Answer::Nothing => StatusCode::OK,
        };
        json!({"body": result.into_json(), "status": status.as_u16()})
    };
    match (method.as_str(), id) {
        ("POST", None) => Ok(answer(
            records::create_in(app, ctx(Method::POST)?, body, uploads).await?,
        )),
        ("PUT", None) => {
            // Upsert: an update when `body.id` names an existing record, else a create.
            let target = body
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let exists = match app.collection(collection) {
                Some(c) if !target.is_empty() => {
                    store::records::find_matching(Db::Tx(tx), &c, &target, &SqlExpr::always())
                        .await?
                        .is_some()
                }
                _ => false,
            };
            let result = if exists {
                records::update_in(app, ctx(Method::PATCH)?, &target, body, uploads).await?
            } else {
                records::create_in(app, ctx(Method::POST)?, body, uploads).await?
            };
            Ok(answer(result))
        }
        ("PATCH", Some(id)) => Ok(answer(
            records::update_in(app, ctx(Method::PATCH)?, id, body, uploads).await?,
        )),
        ("DELETE", Some(id)) => Ok(answer(
            records::delete_in(app, ctx(Method::DELETE)?, id).await?,
        )),
        _ => Err(ApiError::bad_request_default()),
    }
}
