//! `/api/collections` (§4.6): superuser-only list, view, create, update, delete, truncate,
//! import and scaffolds. The work is in `core::collections`; this file maps HTTP to it
//! and its errors to PocketBase's messages.

use std::cmp::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::api::extract::{Auth, Body, Path, Query};
use crate::api::list::{ListParams, paginate};
use crate::app::App;
use crate::core::collection::{Collection, CollectionType};
use crate::core::collections::{self, CollectionError};
use crate::core::ids;
use crate::error::ApiError;
use crate::filter::{self, SortDirection};

/// The meta fields the list endpoint filters and sorts on.
const LIST_FIELDS: [&str; 6] = ["id", "created", "updated", "name", "system", "type"];

pub async fn list(
    State(app): State<App>,
    auth: Auth,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    auth.require_superuser()?;
    let params = ListParams::from_query(&query)?;
    let all = app.collections();
    let meta = |c: &Collection, name: &str| -> Option<Value> {
        Some(match name {
            "id" => json!(c.id),
            "created" => json!(c.created),
            "updated" => json!(c.updated),
            "name" => json!(c.name),
            "system" => json!(c.system),
            "type" => json!(c.kind.as_str()),
            _ => return None,
        })
    };
    let groups = match query.get("filter").filter(|f| !f.trim().is_empty()) {
        Some(text) => Some(filter::parse(text).map_err(|_| ApiError::bad_request_default())?),
        None => None,
    };
    let mut items: Vec<&Collection> = Vec::new();
    for collection in all.iter() {
        let keep = match &groups {
            Some(groups) => filter::eval::eval(groups, &|name| meta(collection, name))
                .map_err(|_| ApiError::bad_request_default())?,
            None => true,
        };
        if keep {
            items.push(collection);
        }
    }
    let sort = filter::parse_sort(query.get("sort").unwrap_or_default())
        .map_err(|_| ApiError::bad_request_default())?;
    if sort
        .iter()
        .any(|s| !s.is_random() && !s.is_rowid() && !LIST_FIELDS.contains(&s.name.as_str()))
    {
        return Err(ApiError::bad_request_default());
    }
    items.sort_by(|a, b| {
        sort.iter()
            .filter(|s| !s.is_random() && !s.is_rowid())
            .map(|s| {
                let order = compare_values(&meta(a, &s.name), &meta(b, &s.name));
                if s.direction == SortDirection::Desc {
                    order.reverse()
                } else {
                    order
                }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    let json_items: Vec<Value> = items.iter().map(|c| c.api_json()).collect();
    Ok(Json(paginate(json_items, &params)))
}

fn compare_values(a: &Option<Value>, b: &Option<Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

pub async fn view(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    auth.require_superuser()?;
    let collection = app
        .collection(&id)
        .ok_or_else(ApiError::not_found_default)?;
    Ok(Json(collection.api_json()))
}

pub async fn create(
    State(app): State<App>,
    auth: Auth,
    body: Result<Body, ApiError>,
) -> Result<Json<Value>, ApiError> {
    auth.require_superuser()?;
    let Body(body) = body.map_err(|_| {
        ApiError::bad_request("Failed to load the collection type data due to invalid formatting.")
    })?;
    let created = collections::create(&app, &body)
        .await
        .map_err(|e| edge_error(e, "Failed to create collection."))?;
    Ok(Json(created.api_json()))
}

pub async fn update(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<Json<Value>, ApiError> {
    auth.require_superuser()?;
    let existing = app
        .collection(&id)
        .ok_or_else(ApiError::not_found_default)?;
    let Body(body) = body.map_err(|_| {
        ApiError::bad_request("Failed to load the submitted data due to invalid formatting.")
    })?;
    let updated = collections::update(&app, &existing, &body)
        .await
        .map_err(|e| edge_error(e, "Failed to update collection."))?;
    Ok(Json(updated.api_json()))
}

pub async fn delete(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require_superuser()?;
    let existing = app
        .collection(&id)
        .ok_or_else(ApiError::not_found_default)?;
    collections::delete(&app, &existing)
        .await
        .map_err(|e| edge_error(e, "Failed to delete collection."))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn truncate(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require_superuser()?;
    let existing = app
        .collection(&id)
        .ok_or_else(ApiError::not_found_default)?;
    collections::truncate(&app, &existing)
        .await
        .map_err(|e| edge_error(e, "Failed to truncate collection."))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn import(
    State(app): State<App>,
    auth: Auth,
    body: Result<Body, ApiError>,
) -> Result<StatusCode, ApiError> {
    auth.require_superuser()?;
    let Body(body) = body.map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let Some(items) = body
        .get("collections")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
    else {
        let mut errors = crate::error::FieldErrors::new();
        errors.insert(
            "collections".into(),
            crate::error::field_error("validation_required", "Cannot be blank."),
        );
        return Err(ApiError::bad_request("Failed to import collections.").with_data(errors));
    };
    let delete_missing = body
        .get("deleteMissing")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    collections::import(&app, items, delete_missing)
        .await
        .map_err(|e| edge_error(e, "Failed to import collections."))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/collections/meta/scaffolds`: a blank collection of each type.
pub async fn scaffolds(auth: Auth) -> Result<Json<Value>, ApiError> {
    auth.require_superuser()?;
    let mut out = serde_json::Map::new();
    for kind in [
        CollectionType::Base,
        CollectionType::Auth,
        CollectionType::View,
    ] {
        let mut value = Collection::default_json(kind);
        if let Some(m) = value.as_object_mut() {
            m.insert("id".into(), json!("scaffold"));
        }
        let mut scaffold =
            Collection::from_json(&value).map_err(|_| ApiError::internal("scaffold"))?;
        scaffold.id = String::new();
        scaffold.indexes.clear();
        let mut json = scaffold.api_json();
        if kind == CollectionType::Auth {
            // PocketBase pre-fills the auth indexes with a random suffix and no table name.
            let suffix = ids::random_string(10, ids::LOWER_ALNUM);
            json["indexes"] = json!([
                format!("CREATE UNIQUE INDEX `idx_tokenKey_{suffix}` ON `` (`tokenKey`)"),
                format!(
                    "CREATE UNIQUE INDEX `idx_email_{suffix}` ON `` (`email`) WHERE `email` != ''"
                ),
            ]);
        }
        out.insert(kind.as_str().into(), json);
    }
    Ok(Json(Value::Object(out)))
}

/// Maps an engine error to the envelope with the operation's message.
fn edge_error(err: CollectionError, message: &str) -> ApiError {
    match err {
        CollectionError::Malformed => {
            ApiError::bad_request("Failed to load the submitted data due to invalid formatting.")
        }
        CollectionError::Invalid(errors) => ApiError::bad_request(message).with_data(errors),
        CollectionError::Refused(reason) => ApiError::bad_request(reason),
        CollectionError::Db(cause) => {
            // DDL refused by SQLite (e.g. a bad index or view query): the input was at fault.
            tracing::warn!(%cause, "collection change rolled back");
            ApiError::bad_request(message)
        }
        CollectionError::Hook(err) => err,
    }
}
