//! The auth flows that go through a mailed token (§5.2): verification, password reset and
//! email change. Requests always answer the same way whether or not the address exists
//! (anti-enumeration); mail goes out in the background; re-sending to the same record is
//! throttled for 2 minutes.

use std::sync::Arc;

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::api::auth::{auth_collection, invalid, read_body, required, same_collection_auth, text};
use crate::api::extract::{Auth, Body, Path};
use crate::app::App;
use crate::auth::record_tokens::{self, Kind};
use crate::auth::{mails, password, superusers, token};
use crate::core::collection::Collection;
use crate::core::field::FieldOptions;
use crate::core::records;
use crate::core::validate::is_email;
use crate::error::{ApiError, FieldErrors, field_error, field_error_with};
use crate::hooks::{FlowHook, flow_gate, flow_gate_record};
use crate::store;

/// How long a record's verification or reset mail blocks the next one.
const RESEND_AFTER: Duration = Duration::from_secs(120);

/// `email`: required, ≤ 255, an email address.
fn email_errors(key: &str, email: &str, errors: &mut FieldErrors) {
    if email.is_empty() {
        errors.insert(key.into(), required());
    } else if email.chars().count() > 255 {
        errors.insert(
            key.into(),
            field_error_with(
                "validation_length_out_of_range",
                "The length must be between {{.min}} and {{.max}}.",
                json!({"min": 1, "max": 255}),
            ),
        );
    } else if !is_email(email) {
        errors.insert(
            key.into(),
            field_error("validation_is_email", "Must be a valid email address."),
        );
    }
}

async fn find_by_email(
    app: &App,
    collection: &Collection,
    email: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    Ok(store::records::find_by_field(&app.store().read, collection, "email", email).await?)
}

fn record_id(record: &Map<String, Value>) -> &str {
    record.get("id").and_then(Value::as_str).unwrap_or_default()
}

fn is_verified(record: &Map<String, Value>) -> bool {
    record.get("verified") == Some(&Value::Bool(true))
}

fn resend_key(kind: &str, collection: &Collection, record: &Map<String, Value>) -> String {
    format!("@limit{kind}Email_{}{}", collection.id, record_id(record))
}

const EMAIL_DIRECTLY: &str = "All superusers can change their emails directly.";

/// The auth collection `{c}`, which must not be `_superusers` (400 `refusal`).
fn not_superusers(app: &App, id_or_name: &str, refusal: &str) -> Result<Arc<Collection>, ApiError> {
    let collection = auth_collection(app, id_or_name)?;
    if collection.name == superusers::COLLECTION {
        return Err(ApiError::bad_request(refusal));
    }
    Ok(collection)
}

/// The record a `{"email"}` request names, after PocketBase's email checks; `None` for an
/// unknown address (the caller still answers 204).
async fn requested_record(
    app: &App,
    collection: &Collection,
    body: Result<Body, ApiError>,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let body = read_body(body)?;
    let email = text(&body, "email");
    let mut errors = FieldErrors::new();
    email_errors("email", &email, &mut errors);
    invalid(errors)?;
    find_by_email(app, collection, &email).await
}

/// `POST /api/collections/{c}/request-verification`: 204 whatever the address.
pub async fn request_verification(
    State(app): State<App>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<StatusCode, ApiError> {
    let collection = not_superusers(&app, &collection, "All superusers are verified by default.")?;
    let Some(record) = requested_record(&app, &collection, body).await? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let hook: FlowHook = |h| &h.on_record_request_verification_request;
    let Some(record) = flow_gate_record(&app, hook, &collection, record, &Map::new()).await? else {
        return Ok(StatusCode::OK);
    };
    let key = resend_key("Verification", &collection, &record);
    if is_verified(&record) || app.windows().active(&key) {
        return Ok(StatusCode::NO_CONTENT);
    }
    let message = mails::verification(&app, &collection, &record);
    app.windows().mark(&key, RESEND_AFTER);
    let hook: mails::MailerHook = |h| &h.on_mailer_record_verification_send;
    mails::send_later(&app, hook, &collection, &record, message, |_, _| async {});
    Ok(StatusCode::NO_CONTENT)
}

/// A token's checks shared by the confirm endpoints: valid for this kind, and issued for a
/// record of this collection.
async fn token_record(
    app: &App,
    collection: &Collection,
    raw: &str,
    kind: Kind,
) -> Result<(Map<String, Value>, Map<String, Value>), Value> {
    let (owner, record, claims) = record_tokens::find_record(app, raw, kind)
        .await
        .ok_or_else(|| field_error("validation_invalid_token", "Invalid or expired token."))?;
    if owner.id != collection.id {
        return Err(field_error(
            "validation_token_collection_mismatch",
            "The provided token is for different auth collection.",
        ));
    }
    Ok((record, claims))
}

/// `POST /api/collections/{c}/confirm-verification`: marks the record verified (204, also
/// when it already was).
pub async fn confirm_verification(
    State(app): State<App>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<StatusCode, ApiError> {
    let collection = not_superusers(&app, &collection, "All superusers are verified by default.")?;
    let body = read_body(body)?;
    let raw = text(&body, "token");
    let mut errors = FieldErrors::new();
    let mut found = None;
    if raw.is_empty() {
        errors.insert("token".into(), required());
    } else {
        let claimed = token::unverified_claims(&raw)
            .and_then(|c| c.get("email").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        if claimed.is_empty() {
            errors.insert(
                "token".into(),
                field_error(
                    "validation_invalid_token_claims",
                    "Missing email token claim.",
                ),
            );
        } else {
            match token_record(&app, &collection, &raw, Kind::Verification).await {
                Err(error) => {
                    errors.insert("token".into(), error);
                }
                Ok((record, _))
                    if record.get("email").and_then(Value::as_str) != Some(&claimed) =>
                {
                    errors.insert(
                        "token".into(),
                        field_error(
                            "validation_token_email_mismatch",
                            "The record email doesn't match with the requested token claims.",
                        ),
                    );
                }
                Ok((record, _)) => found = Some(record),
            }
        }
    }
    invalid(errors)?;
    let Some(record) = found else {
        return Err(ApiError::bad_request(
            "Invalid or expired verification token.",
        ));
    };
    let hook: FlowHook = |h| &h.on_record_confirm_verification_request;
    let Some(record) = flow_gate_record(&app, hook, &collection, record, &body).await? else {
        return Ok(StatusCode::OK);
    };
    if !is_verified(&record) {
        let mut changes = Map::new();
        changes.insert("verified".into(), json!(true));
        // As PocketBase: without password auth, a verified record gets a random password
        // (guards against pre-hijacking if password auth is enabled later).
        if !collection
            .auth
            .as_ref()
            .is_some_and(|a| a.password_auth.enabled)
        {
            changes.insert("password".into(), json!(crate::core::ids::secret()));
        }
        records::update_auth(&app, &collection, &record, changes)
            .await
            .map_err(|_| {
                ApiError::bad_request("An error occurred while saving the verified state.")
            })?;
    }
    app.windows()
        .clear(&resend_key("Verification", &collection, &record));
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/collections/{c}/request-password-reset`: 204 whatever the address.
pub async fn request_password_reset(
    State(app): State<App>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<StatusCode, ApiError> {
    let collection = auth_collection(&app, &collection)?;
    let options = collection.auth.clone().unwrap_or_default();
    if !options.password_auth.enabled {
        return Err(ApiError::bad_request(
            "The collection is not configured to allow password authentication.",
        ));
    }
    let Some(record) = requested_record(&app, &collection, body).await? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let hook: FlowHook = |h| &h.on_record_request_password_reset_request;
    let Some(record) = flow_gate_record(&app, hook, &collection, record, &Map::new()).await? else {
        return Ok(StatusCode::OK);
    };
    let key = resend_key("PasswordReset", &collection, &record);
    if app.windows().active(&key) {
        return Ok(StatusCode::NO_CONTENT);
    }
    let message = mails::password_reset(&app, &collection, &record);
    // As PocketBase: only a successful send starts the resend throttle.
    let hook: mails::MailerHook = |h| &h.on_mailer_record_password_reset_send;
    mails::send_later(
        &app,
        hook,
        &collection,
        &record,
        message,
        move |app, result| async move {
            if result.is_ok() {
                app.windows().mark(&key, RESEND_AFTER);
            }
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/collections/{c}/confirm-password-reset`: sets the password (rotating
/// `tokenKey`, so the token works once) and verifies the record if the token's email is
/// still its email.
pub async fn confirm_password_reset(
    State(app): State<App>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<StatusCode, ApiError> {
    let collection = auth_collection(&app, &collection)?;
    let body = read_body(body)?;
    let (raw, pass, confirm) = (
        text(&body, "token"),
        text(&body, "password"),
        text(&body, "passwordConfirm"),
    );
    let mut errors = FieldErrors::new();
    let mut found = None;
    if raw.is_empty() {
        errors.insert("token".into(), required());
    } else {
        match token_record(&app, &collection, &raw, Kind::PasswordReset).await {
            Ok(pair) => found = Some(pair),
            Err(error) => {
                errors.insert("token".into(), error);
            }
        }
    }
    let min = match collection.field("password").map(|f| &f.options) {
        Some(FieldOptions::Password { min, .. }) if *min > 0 => *min,
        _ => 1,
    };
    let length = pass.chars().count() as i64;
    if pass.is_empty() {
        errors.insert("password".into(), required());
    } else if length < min || length > 255 {
        errors.insert(
            "password".into(),
            field_error_with(
                "validation_length_out_of_range",
                "The length must be between {{.min}} and {{.max}}.",
                json!({"min": min, "max": 255}),
            ),
        );
    }
    if confirm.is_empty() {
        errors.insert("passwordConfirm".into(), required());
    } else if confirm != pass {
        errors.insert(
            "passwordConfirm".into(),
            field_error("validation_values_mismatch", "Values don't match."),
        );
    }
    invalid(errors)?;
    let Some((record, claims)) = found else {
        return Err(ApiError::bad_request(
            "Invalid or expired password reset token.",
        ));
    };
    let hook: FlowHook = |h| &h.on_record_confirm_password_reset_request;
    let Some(record) = flow_gate_record(&app, hook, &collection, record, &body).await? else {
        return Ok(StatusCode::OK);
    };
    let mut changes = Map::new();
    changes.insert("password".into(), json!(pass));
    if !is_verified(&record) && claims.get("email") == record.get("email") {
        changes.insert("verified".into(), json!(true));
    }
    records::update_auth(&app, &collection, &record, changes)
        .await
        .map_err(|err| match err {
            records::RecordError::Invalid(errors) => {
                ApiError::bad_request("Failed to set new password.").with_data(errors)
            }
            _ => ApiError::bad_request("Failed to set new password."),
        })?;
    app.windows()
        .clear(&resend_key("PasswordReset", &collection, &record));
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/collections/{c}/request-email-change` (the record itself): mails a
/// confirmation link to the new address.
pub async fn request_email_change(
    State(app): State<App>,
    Path(collection): Path<String>,
    auth: Auth,
    body: Result<Body, ApiError>,
) -> Result<StatusCode, ApiError> {
    let record = same_collection_auth(auth, &collection)?.record;
    let collection = not_superusers(&app, &collection, EMAIL_DIRECTLY)?;
    let body = read_body(body)?;
    let new_email = text(&body, "newEmail");
    let mut errors = FieldErrors::new();
    email_errors("newEmail", &new_email, &mut errors);
    if errors.is_empty() {
        if record.get("email").and_then(Value::as_str) == Some(&new_email) {
            errors.insert(
                "newEmail".into(),
                field_error("validation_not_in_invalid", "Must not be in list."),
            );
        } else if find_by_email(&app, &collection, &new_email)
            .await?
            .is_some_and(|other| record_id(&other) != record_id(&record))
        {
            errors.insert(
                "newEmail".into(),
                field_error("validation_invalid_new_email", "Invalid new email address."),
            );
        }
    }
    invalid(errors)?;
    let hook: FlowHook = |h| &h.on_record_request_email_change_request;
    let extra = Map::from_iter([("newEmail".to_string(), json!(new_email))]);
    let Some(event) = flow_gate(&app, hook, &collection, Some(record), extra, &body).await? else {
        return Ok(StatusCode::OK);
    };
    let new_email = text(&event.extra, "newEmail");
    let record = event.record.unwrap_or_default();
    // As PocketBase, this one mail is sent before answering, and a failure is reported.
    let message = mails::email_change(&app, &collection, &record, &new_email);
    let hook: mails::MailerHook = |h| &h.on_mailer_record_email_change_send;
    mails::send(&app, hook, &collection, &record, message)
        .await
        .map_err(|_| ApiError::bad_request("Failed to request email change."))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/collections/{c}/confirm-email-change`: with the token and the current
/// password, sets the new email, marks it verified and rotates `tokenKey`.
pub async fn confirm_email_change(
    State(app): State<App>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<StatusCode, ApiError> {
    let collection = not_superusers(&app, &collection, EMAIL_DIRECTLY)?;
    let body = read_body(body)?;
    let (raw, pass) = (text(&body, "token"), text(&body, "password"));
    let mut errors = FieldErrors::new();
    let mut found: Option<(Map<String, Value>, String)> = None;
    if raw.is_empty() {
        errors.insert("token".into(), required());
    } else {
        match email_change_token(&app, &collection, &raw).await {
            Ok(pair) => found = Some(pair),
            Err(error) => {
                errors.insert("token".into(), error);
            }
        }
    }
    if pass.is_empty() {
        errors.insert("password".into(), required());
    } else {
        let hash = found
            .as_ref()
            .and_then(|(r, _)| r.get("password").and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        if pass.chars().count() > 100 || !password::verify(pass.clone(), hash).await {
            errors.insert(
                "password".into(),
                field_error(
                    "validation_invalid_password",
                    "Missing or invalid auth record password.",
                ),
            );
        }
    }
    invalid(errors)?;
    let Some((record, new_email)) = found else {
        return Err(ApiError::bad_request("Invalid or expired token."));
    };
    let hook: FlowHook = |h| &h.on_record_confirm_email_change_request;
    let extra = Map::from_iter([("newEmail".to_string(), json!(new_email))]);
    let Some(event) = flow_gate(&app, hook, &collection, Some(record), extra, &body).await? else {
        return Ok(StatusCode::OK);
    };
    let (record, new_email) = (
        event.record.unwrap_or_default(),
        text(&event.extra, "newEmail"),
    );
    let mut changes = Map::new();
    changes.insert("email".into(), json!(new_email));
    changes.insert("verified".into(), json!(true));
    records::update_auth(&app, &collection, &record, changes)
        .await
        .map_err(|_| ApiError::bad_request("Failed to confirm email change."))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The record and new email of an email-change token, or the field error.
async fn email_change_token(
    app: &App,
    collection: &Collection,
    raw: &str,
) -> Result<(Map<String, Value>, String), Value> {
    let new_email = token::unverified_claims(raw)
        .and_then(|c| {
            c.get("newEmail")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    if new_email.is_empty() {
        return Err(field_error(
            "validation_invalid_token_payload",
            "Invalid token payload - newEmail must be set.",
        ));
    }
    let (record, _) = token_record(app, collection, raw, Kind::EmailChange).await?;
    if find_by_email(app, collection, &new_email)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        return Err(field_error(
            "validation_invalid_token_email",
            "The new email address is invalid.",
        ));
    }
    Ok((record, new_email))
}
