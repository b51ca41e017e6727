//! `/api/settings` (§8): read, deep-merge patch with validation, and the test email.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::api::extract::{Auth, Body};
use crate::app::App;
use crate::auth::{mails, superusers};
use crate::core::record::input;
use crate::core::validate::is_email;
use crate::core::{datetime, ids};
use crate::error::{ApiError, FieldErrors, field_error};

pub async fn list(State(app): State<App>, auth: Auth) -> Result<Json<Value>, ApiError> {
    auth.require_superuser()?;
    Ok(Json(app.settings().api_json()))
}

pub async fn update(
    State(app): State<App>,
    auth: Auth,
    body: Result<Body, ApiError>,
) -> Result<Json<Value>, ApiError> {
    auth.require_superuser()?;
    let Body(patch) = body.map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let next = app.settings().merged(&Value::Object(patch));
    if let Err(errors) = next.validate() {
        return Err(
            ApiError::bad_request("An error occurred while saving the new settings.")
                .with_data(errors),
        );
    }
    app.save_settings(next).await?;
    Ok(Json(app.settings().api_json()))
}

/// The mail templates `test/email` accepts.
const TEMPLATES: [&str; 5] = [
    "verification",
    "password-reset",
    "email-change",
    "otp",
    "login-alert",
];

/// `POST /api/settings/test/email` `{email, template, collection?}`: sends the template of
/// an auth collection (default `_superusers`) about a sample record, now, and says whether
/// it went out.
pub async fn test_email(
    State(app): State<App>,
    auth: Auth,
    body: Result<Body, ApiError>,
) -> Result<StatusCode, ApiError> {
    auth.require_superuser()?;
    let Body(body) = body.map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (email, template, collection) = (text("email"), text("template"), text("collection"));
    let mut errors = FieldErrors::new();
    let target = app
        .collection(if collection.is_empty() {
            superusers::COLLECTION
        } else {
            &collection
        })
        .filter(|c| c.is_auth());
    if target.is_none() {
        errors.insert(
            "collection".into(),
            field_error(
                "validation_invalid_auth_collection",
                "Must be a valid auth collection id or name.",
            ),
        );
    }
    if email.is_empty() {
        errors.insert(
            "email".into(),
            field_error("validation_required", "Cannot be blank."),
        );
    } else if !is_email(&email) {
        errors.insert(
            "email".into(),
            field_error("validation_is_email", "Must be a valid email address."),
        );
    }
    if template.is_empty() {
        errors.insert(
            "template".into(),
            field_error("validation_required", "Cannot be blank."),
        );
    } else if !TEMPLATES.contains(&template.as_str()) {
        errors.insert(
            "template".into(),
            field_error("validation_in_invalid", "Must be a valid value."),
        );
    }
    let (Some(collection), true) = (target, errors.is_empty()) else {
        return Err(ApiError::bad_request("Failed to send the test email.").with_data(errors));
    };
    // PocketBase's sample record: every visible field `__pb_test_<name>__`, the given email.
    let mut record = input::zero_record(&collection);
    for field in collection.fields.iter().filter(|f| !f.hidden) {
        record.insert(
            field.name.clone(),
            json!(format!("__pb_test_{}__", field.name)),
        );
    }
    record.insert("tokenKey".into(), json!(ids::secret()));
    record.insert("email".into(), json!(email));
    let message = match template.as_str() {
        "verification" => mails::verification(&app, &collection, &record),
        "password-reset" => mails::password_reset(&app, &collection, &record),
        "email-change" => mails::email_change(&app, &collection, &record, &email),
        "otp" => mails::otp(&app, &collection, &record, "_PB_TEST_OTP_ID_", "123456", ""),
        _ => {
            let info = format!("{} - 127.0.0.1 TEST_USER_AGENT", datetime::now());
            mails::auth_alert(&app, &collection, &record, &info)
        }
    };
    app.send_mail(&message).await.map_err(|err| {
        ApiError::bad_request(format!("Failed to send the test email. Raw error: {err}"))
    })?;
    Ok(StatusCode::NO_CONTENT)
}
