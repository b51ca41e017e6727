//! `/api/settings` (§8): read, deep-merge patch with validation, and the test email.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use crate::api::extract::{Auth, Body};
use crate::app::App;
use crate::core::validate::is_email;
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

/// `POST /api/settings/test/email`. Mail delivery arrives with the mail module; until then
/// a valid request is answered with a clear 400, as PocketBase does when it cannot send.
pub async fn test_email(auth: Auth, body: Result<Body, ApiError>) -> Result<StatusCode, ApiError> {
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
    let (email, template) = (text("email"), text("template"));
    let mut errors = FieldErrors::new();
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
    if !errors.is_empty() {
        return Err(ApiError::bad_request("Failed to send the test email.").with_data(errors));
    }
    Err(ApiError::bad_request(
        "Failed to send the test email. Raw error: mail delivery is not available yet.",
    ))
}
