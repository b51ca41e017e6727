//! `POST /api/installer` (Satchel): the one action an installer token allows, creating the
//! first superuser (`auth::installer` explains the token). Body `{token, email, password,
//! passwordConfirm}`; the answer is the auth answer of the new superuser (`{record, token}`),
//! so the dashboard is signed in at once.
//!
//! Refusals: a bad or expired token → 401; a superuser exists already → 403 (checked after
//! the token, so a stranger learns nothing); a client outside `settings.superuserIPs`, when
//! that list is set → 403; field errors → 400 `Failed to create the first superuser.`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::api::extract::{Body, ClientIp};
use crate::api::middleware::ip_matches;
use crate::app::App;
use crate::auth::installer::{self, InstallError};
use crate::auth::record_tokens;
use crate::core::record::{self, Visibility};
use crate::core::records::RecordError;
use crate::error::ApiError;

pub async fn install(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    body: Result<Body, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let Body(body) = body.map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let allowed = app.settings().superuser_ips();
    if !allowed.is_empty() {
        let ip = ip.parse().ok();
        if !ip.is_some_and(|ip| allowed.iter().any(|rule| ip_matches(rule, ip))) {
            return Err(ApiError::forbidden(
                "You are not allowed to perform this request.",
            ));
        }
    }
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (collection, created) = installer::create_first_superuser(&app, token, &body)
        .await
        .map_err(install_error)?;
    let visibility = Visibility {
        hidden: true,
        email: true,
    };
    Ok(Json(json!({
        "record": record::api_json(&collection, &created, visibility),
        "token": record_tokens::auth(&collection, &created),
    })))
}

fn install_error(err: InstallError) -> ApiError {
    match err {
        InstallError::BadToken => {
            ApiError::unauthorized("The installer link is invalid or has expired.")
        }
        InstallError::Closed => ApiError::forbidden(
            "A superuser already exists: sign in instead of using the installer.",
        ),
        InstallError::Invalid(errors) | InstallError::Record(RecordError::Invalid(errors)) => {
            ApiError::bad_request("Failed to create the first superuser.").with_data(errors)
        }
        InstallError::Record(RecordError::Refused(message)) => ApiError::bad_request(message),
        InstallError::Record(RecordError::Db(cause)) => ApiError::internal(cause),
        InstallError::Record(RecordError::Hook(err)) => err,
    }
}
