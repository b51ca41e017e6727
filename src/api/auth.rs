//! `POST /api/collections/{c}/auth-with-password` (§5.1–§5.2) for every auth collection.
//! The auth-flows issue adds the remaining auth endpoints beside it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use serde_json::{Map, Value, json};

use crate::api::extract::{Auth, Body, Path, Query};
use crate::api::rules::{self, Access};
use crate::app::App;
use crate::auth::{password, token};
use crate::core::collection::Collection;
use crate::core::record;
use crate::error::{ApiError, FieldErrors, field_error};
use crate::store;

pub async fn auth_with_password(
    State(app): State<App>,
    Path(collection): Path<String>,
    query: Query,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let collection = auth_collection(&app, &collection)?;
    let options = collection.auth.clone().unwrap_or_default();
    if !options.password_auth.enabled {
        return Err(ApiError::forbidden(
            "The collection is not configured to allow password authentication.",
        ));
    }
    let Body(body) = body.map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (identity, pass, identity_field) =
        (text("identity"), text("password"), text("identityField"));
    let mut errors = FieldErrors::new();
    if identity.is_empty() {
        errors.insert(
            "identity".into(),
            field_error("validation_required", "Cannot be blank."),
        );
    } else if identity.chars().count() > 255 {
        errors.insert(
            "identity".into(),
            field_error(
                "validation_length_too_long",
                "The length must be no more than 255.",
            ),
        );
    }
    if pass.is_empty() {
        errors.insert(
            "password".into(),
            field_error("validation_required", "Cannot be blank."),
        );
    }
    if !identity_field.is_empty()
        && !options
            .password_auth
            .identity_fields
            .contains(&identity_field)
    {
        errors.insert(
            "identityField".into(),
            field_error("validation_in_invalid", "Must be a valid value."),
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request(
            "An error occurred while validating the submitted data.",
        )
        .with_data(errors));
    }
    let fields: Vec<String> = if identity_field.is_empty() {
        options.password_auth.identity_fields.clone()
    } else {
        vec![identity_field]
    };
    let found = find_by_identity(&app, &collection, &fields, &identity).await?;
    let failed = || ApiError::bad_request("Failed to authenticate.");
    let Some(record) = found else {
        password::dummy_verify(pass).await;
        return Err(failed());
    };
    let hash = record
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !password::verify(pass, hash).await {
        return Err(failed());
    }
    let mut access = Access::new(None, &query, Method::POST, &headers);
    access.request.body = body.clone();
    access.request.context = "password".into();
    check_auth_rule(&app, &collection, &record, &access).await?;
    Ok(Json(auth_response(&collection, &record)))
}

/// The auth collection `{c}` names (by id or name), or PocketBase's 404.
pub fn auth_collection(app: &App, id_or_name: &str) -> Result<Collection, ApiError> {
    app.collection(id_or_name)
        .filter(Collection::is_auth)
        .ok_or_else(|| ApiError::not_found("Missing or invalid auth collection context."))
}

/// Tries each identity field in order; `email` only when the identity looks like one (§5.2).
async fn find_by_identity(
    app: &App,
    collection: &Collection,
    fields: &[String],
    identity: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    for field in fields {
        if field == "email" && !identity.contains('@') {
            continue;
        }
        if let Some(record) =
            store::records::find_by_field(&app.store().read, collection, field, identity).await?
        {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

/// `authRule`: null refuses everyone, "" admits everyone, an expression must match the
/// authenticating record (evaluated in SQL like every rule, with this request's info).
async fn check_auth_rule(
    app: &App,
    collection: &Collection,
    record: &Map<String, Value>,
    access: &Access,
) -> Result<(), ApiError> {
    let refused = || {
        ApiError::forbidden(
            "The request doesn't satisfy the collection requirements to authenticate.",
        )
    };
    let rule = collection
        .auth
        .as_ref()
        .and_then(|a| a.auth_rule.clone())
        .ok_or_else(refused)?;
    if rule.trim().is_empty() {
        return Ok(());
    }
    let filter =
        rules::compile(app, collection, access, Some(&rule), None).map_err(|_| refused())?;
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    match store::records::find_matching(&app.store().read, collection, id, &filter).await? {
        Some(_) => Ok(()),
        None => Err(refused()),
    }
}

/// `{record, token}` with a fresh refreshable auth token; the record always shows its email.
pub fn auth_response(collection: &Collection, record: &Map<String, Value>) -> Value {
    let options = collection.auth.clone().unwrap_or_default();
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    let token_key = record
        .get("tokenKey")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let claims = token::auth_claims(&collection.id, id, options.auth_token.duration, true);
    let signed = token::sign(
        &claims,
        &format!("{token_key}{}", options.auth_token.secret),
    );
    let visibility = record::Visibility {
        hidden: false,
        email: true,
    };
    json!({"record": record::api_json(collection, record, visibility), "token": signed})
}

/// `POST /api/collections/{c}/auth-refresh` (§5.2): a new token for the requester's own
/// record, which must belong to this collection.
pub async fn auth_refresh(
    State(app): State<App>,
    Path(collection): Path<String>,
    auth: Auth,
    query: Query,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let collection = auth_collection(&app, &collection)?;
    let Some(current) = auth.0 else {
        return Err(ApiError::unauthorized(
            "The request requires valid record authorization token.",
        ));
    };
    if current.collection.id != collection.id {
        return Err(ApiError::forbidden(format!(
            "The request requires auth record from {} collection.",
            collection.name
        )));
    }
    let access = Access::new(Some(current.clone()), &query, Method::POST, &headers);
    check_auth_rule(&app, &collection, &current.record, &access).await?;
    Ok(Json(auth_response(&collection, &current.record)))
}
