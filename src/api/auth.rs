//! The auth endpoints of every auth collection (§5): `auth-methods`, `auth-with-password`,
//! `auth-refresh`, `impersonate/{id}`, and the one way every successful authentication
//! finishes (`Login::finish`): the collection's `authRule`, MFA (§5.4), the login alert, and
//! the `{record, token}` answer with `expand`/`fields`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use crate::api::expand;
use crate::api::extract::{Auth, AuthRecord, Body, ClientIp, Path, Query, bearer_token};
use crate::api::fields::Picker;
use crate::api::rules::{self, Access};
use crate::app::App;
use crate::auth::record_tokens::{self, Kind};
use crate::auth::{mails, password};
use crate::core::collection::Collection;
use crate::core::{datetime, ids, record};
use crate::error::{ApiError, FieldErrors, field_error};
use crate::hooks::{BoxFuture, HookResult, RecordAuthEvent};
use crate::hooks::{FlowHook, flow_gate, flow_gate_record};
use crate::store;

/// The auth collection `{c}` names (by id or name), or PocketBase's 404.
pub fn auth_collection(app: &App, id_or_name: &str) -> Result<Arc<Collection>, ApiError> {
    app.collection(id_or_name)
        .filter(|c| c.is_auth())
        .ok_or_else(|| ApiError::not_found("Missing or invalid auth collection context."))
}

/// The body, or PocketBase's 400 for one that does not parse.
pub fn read_body(body: Result<Body, ApiError>) -> Result<Map<String, Value>, ApiError> {
    body.map(|Body(b)| b)
        .map_err(|_| ApiError::bad_request("An error occurred while loading the submitted data."))
}

/// A body field as text ("" when missing).
pub fn text(body: &Map<String, Value>, key: &str) -> String {
    match body.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// 400 `An error occurred while validating the submitted data.` with `errors`, if any.
pub fn invalid(errors: FieldErrors) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(
        ApiError::bad_request("An error occurred while validating the submitted data.")
            .with_data(errors),
    )
}

pub fn required() -> Value {
    field_error("validation_required", "Cannot be blank.")
}

/// `GET /api/collections/{c}/auth-methods` (§5.2), legacy keys included.
pub async fn auth_methods(
    State(app): State<App>,
    Path(collection): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let collection = auth_collection(&app, &collection)?;
    let options = collection.auth.clone().unwrap_or_default();
    let password = &options.password_auth;
    let identity_fields = if password.enabled {
        password.identity_fields.clone()
    } else {
        Vec::new()
    };
    let has = |f: &str| password.enabled && identity_fields.iter().any(|i| i == f);
    let answer = json!({
        "password": {"identityFields": identity_fields, "enabled": password.enabled},
        "oauth2": {"providers": [], "enabled": false},
        "mfa": {"enabled": options.mfa.enabled, "duration": if options.mfa.enabled { options.mfa.duration } else { 0 }},
        "otp": {"enabled": options.otp.enabled, "duration": if options.otp.enabled { options.otp.duration } else { 0 }},
        "authProviders": [],
        "usernamePassword": has("username"),
        "emailPassword": has("email"),
    });
    Ok(Json(match query.get("fields").and_then(Picker::parse) {
        Some(picker) => picker.apply(&answer),
        None => answer,
    }))
}

/// `POST /api/collections/{c}/auth-with-password` (§5.2).
pub async fn auth_with_password(
    State(app): State<App>,
    Path(collection): Path<String>,
    ClientIp(ip): ClientIp,
    query: Query,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let collection = auth_collection(&app, &collection)?;
    let options = collection.auth.clone().unwrap_or_default();
    if !options.password_auth.enabled {
        return Err(ApiError::forbidden(
            "The collection is not configured to allow password authentication.",
        ));
    }
    let body = read_body(body)?;
    let (identity, pass, identity_field) = (
        text(&body, "identity"),
        text(&body, "password"),
        text(&body, "identityField"),
    );
    let mut errors = FieldErrors::new();
    if identity.is_empty() {
        errors.insert("identity".into(), required());
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
        errors.insert("password".into(), required());
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
    invalid(errors)?;
    let fields: Vec<String> = if identity_field.is_empty() {
        options.password_auth.identity_fields.clone()
    } else {
        vec![identity_field]
    };
    let found = find_by_identity(&app, &collection, &fields, &identity).await?;
    let hook: FlowHook = |h| &h.on_record_auth_with_password_request;
    let extra = Map::from_iter([
        ("identity".to_string(), json!(identity)),
        (
            "identityField".to_string(),
            json!(text(&body, "identityField")),
        ),
        ("password".to_string(), json!(pass)),
    ]);
    let Some(event) = flow_gate(&app, hook, &collection, found, extra, &body).await? else {
        return Ok(StatusCode::OK.into_response());
    };
    let (found, pass) = (event.record, text(&event.extra, "password"));
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
    Login::first_factor(collection, record, "password", &query, &headers, &body, ip)
        .finish(&app)
        .await
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

/// PocketBase's `RequireSameCollectionContextAuth`: a token of the collection `{c}` names
/// (401 without one; 403 naming the token's own collection otherwise).
pub fn same_collection_auth(auth: Auth, id_or_name: &str) -> Result<AuthRecord, ApiError> {
    let Some(current) = auth.0 else {
        return Err(ApiError::unauthorized(
            "The request requires valid record authorization token.",
        ));
    };
    let collection = &current.collection;
    if collection.id != id_or_name && !collection.name.eq_ignore_ascii_case(id_or_name) {
        return Err(ApiError::forbidden(format!(
            "The request requires auth record from {} collection.",
            collection.name
        )));
    }
    Ok(current)
}

/// `POST /api/collections/{c}/auth-refresh` (§5.2): a new token for the requester's own
/// record, which must belong to this collection; never triggers MFA.
pub async fn auth_refresh(
    State(app): State<App>,
    Path(collection): Path<String>,
    ClientIp(ip): ClientIp,
    auth: Auth,
    query: Query,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let current = same_collection_auth(auth, &collection)?;
    let collection = auth_collection(&app, &collection)?;
    let record = current.record.clone();
    // A non-refreshable token (impersonation) is echoed, not renewed (§5.2).
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| bearer_token(v).to_string())
        .unwrap_or_default();
    let refreshable = crate::auth::token::unverified_claims(&raw)
        .and_then(|c| c.get("refreshable").and_then(Value::as_bool))
        .unwrap_or(false);
    let hook: FlowHook = |h| &h.on_record_auth_refresh_request;
    let Some(record) = flow_gate_record(&app, hook, &collection, record, &Map::new()).await? else {
        return Ok(StatusCode::OK.into_response());
    };
    let access = Access::new(Some(current), &query, Method::POST, &headers);
    Login {
        collection,
        record,
        method: "",
        token: (!refreshable).then_some(raw),
        access,
        query: &query,
        headers: &headers,
        body: &Map::new(),
        ip,
    }
    .finish(&app)
    .await
}

/// `POST /api/collections/{c}/impersonate/{id}` (superusers): a non-refreshable token for
/// any record, for `duration` seconds (0 = the collection's).
pub async fn impersonate(
    State(app): State<App>,
    Path((collection, id)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    auth: Auth,
    query: Query,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    auth.require_superuser()?;
    let collection = auth_collection(&app, &collection)?;
    let record = store::records::find_by_id(&app.store().read, &collection, &id)
        .await?
        .ok_or_else(ApiError::not_found_default)?;
    let body = read_body(body)?;
    let duration = match body.get("duration") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| {
                ApiError::bad_request("An error occurred while loading the submitted data.")
            })?,
    };
    if duration < 0 {
        let mut errors = FieldErrors::new();
        errors.insert(
            "duration".into(),
            crate::error::field_error_with(
                "validation_min_greater_equal_than_required",
                "Must be no less than {{.threshold}}.",
                json!({"threshold": 0}),
            ),
        );
        invalid(errors)?;
    }
    let token = record_tokens::issue(
        &collection,
        &record,
        Kind::Auth,
        (duration > 0).then_some(duration),
        &[("refreshable", json!(false))],
    );
    let access = Access::new(auth.0, &query, Method::POST, &headers);
    Login {
        collection,
        record,
        method: "",
        token: Some(token),
        access,
        query: &query,
        headers: &headers,
        body: &body,
        ip,
    }
    .finish(&app)
    .await
}

/// A successful first factor, about to become an auth answer.
pub struct Login<'a> {
    pub collection: Arc<Collection>,
    pub record: Map<String, Value>,
    /// `password`, `otp`, ...; "" skips MFA and the login alert (refresh, impersonate).
    pub method: &'static str,
    /// A token made by the caller (impersonation); otherwise a fresh refreshable one.
    pub token: Option<String>,
    /// The requester as rules see it (for `authRule` and `mfa.rule`).
    pub access: Access,
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
    pub body: &'a Map<String, Value>,
    pub ip: String,
}

impl<'a> Login<'a> {
    /// A guest's successful `method` (the request-info context of rules is the method).
    pub fn first_factor(
        collection: Arc<Collection>,
        record: Map<String, Value>,
        method: &'static str,
        query: &'a Query,
        headers: &'a HeaderMap,
        body: &'a Map<String, Value>,
        ip: String,
    ) -> Login<'a> {
        let mut access = Access::new(None, query, Method::POST, headers);
        access.request.body = body.clone();
        access.request.context = method.to_string();
        Login {
            collection,
            record,
            method,
            token: None,
            access,
            query,
            headers,
            body,
            ip,
        }
    }

    /// `authRule`, then MFA (a 401 `{mfaId}` when a second factor is due), then the login
    /// alert, then 200 `{record, token}` (PocketBase's `recordAuthResponse`).
    pub async fn finish(mut self, app: &App) -> Result<Response, ApiError> {
        self.check_auth_rule(app).await?;
        let token = self
            .token
            .take()
            .unwrap_or_else(|| record_tokens::auth(&self.collection, &self.record));
        let mut event = RecordAuthEvent {
            app: app.clone(),
            collection: (*self.collection).clone(),
            record: std::mem::take(&mut self.record),
            token,
            auth_method: self.method.to_string(),
            proceed: false,
        };
        app.hooks()
            .on_record_auth_request
            .trigger(&mut event, &proceed)
            .await?;
        if !event.proceed {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        self.record = event.record;
        self.respond(app, event.token).await
    }

    /// MFA, the login alert and the answer, once the auth hooks let the login proceed.
    async fn respond(self, app: &App, token: String) -> Result<Response, ApiError> {
        if let Some(mfa_id) = self.check_mfa(app).await? {
            return Ok((StatusCode::UNAUTHORIZED, Json(json!({ "mfaId": mfa_id }))).into_response());
        }
        let options = self.collection.auth.clone().unwrap_or_default();
        if !self.method.is_empty()
            && options.auth_alert.enabled
            && let Err(err) = self.auth_alert(app).await
        {
            tracing::warn!("failed to record the login origin: {err:?}");
        }
        let superuser = self.collection.name == crate::auth::superusers::COLLECTION;
        let visibility = record::Visibility {
            hidden: superuser,
            email: true,
        };
        let mut items = vec![record::api_json(&self.collection, &self.record, visibility)];
        if let Some(spec) = self.query.get("expand").filter(|s| !s.trim().is_empty()) {
            // Relations are expanded as the authenticated record would see them.
            let own = AuthRecord {
                collection: self.collection.clone(),
                record: self.record.clone(),
            };
            let access = Access::new(Some(own), self.query, Method::POST, self.headers);
            expand::expand(app, &self.collection, &mut items, spec, &access).await?;
        }
        let mut answer = json!({"record": items.pop().unwrap_or_default(), "token": token});
        if let Some(picker) = self.query.get("fields").and_then(Picker::parse) {
            answer = picker.apply(&answer);
        }
        Ok(Json(answer).into_response())
    }

    /// `authRule`: null refuses everyone, "" admits everyone, an expression must match the
    /// authenticating record (evaluated in SQL with this request's info).
    async fn check_auth_rule(&self, app: &App) -> Result<(), ApiError> {
        // Superusers pass every rule (PocketBase's `CanAccessRecord`), e.g. when impersonating.
        if self.access.superuser {
            return Ok(());
        }
        let refused = || {
            ApiError::forbidden(
                "The request doesn't satisfy the collection requirements to authenticate.",
            )
        };
        let rule = self
            .collection
            .auth
            .as_ref()
            .and_then(|a| a.auth_rule.clone())
            .ok_or_else(refused)?;
        if rule.trim().is_empty() || self.matches(app, &rule).await.map_err(|_| refused())? {
            return Ok(());
        }
        Err(refused())
    }

    async fn matches(&self, app: &App, rule: &str) -> Result<bool, ApiError> {
        let filter = rules::compile(app, &self.collection, &self.access, Some(rule), None)?;
        let id = self
            .record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(store::records::find_matching(
            store::Db::Shared(app.store()),
            &self.collection,
            id,
            &filter,
        )
        .await?
        .is_some())
    }

    /// §5.4: the first factor opens an `_mfas` session (its id is the answer); the second,
    /// with `mfaId` in the query or body and a different method, closes it.
    async fn check_mfa(&self, app: &App) -> Result<Option<String>, ApiError> {
        let options = self.collection.auth.clone().unwrap_or_default();
        if !options.mfa.enabled || self.method.is_empty() {
            return Ok(None);
        }
        let rule = options.mfa.rule.trim();
        // A rule that fails to evaluate counts as "MFA wanted" (PocketBase's safer default).
        if !rule.is_empty()
            && !self
                .matches(app, rule)
                .await
                .map_err(|_| ApiError::bad_request("Failed to authenticate."))?
        {
            return Ok(None);
        }
        let record_id = self
            .record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mfa_id = self
            .query
            .get("mfaId")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| text(self.body, "mfaId"));
        let mut writer = app.store().writer.turn().await?;
        if mfa_id.is_empty() {
            let id = ids::record_id();
            store::auth::mfa_insert(
                &mut *writer,
                &id,
                &self.collection.id,
                record_id,
                self.method,
            )
            .await?;
            return Ok(Some(id));
        }
        let found = store::auth::mfa_find(&mut *writer, &mfa_id).await?;
        let expired_before =
            datetime::format(chrono::Utc::now() - chrono::Duration::seconds(options.mfa.duration));
        let Some(mfa) = found.filter(|m| m.created >= expired_before) else {
            store::auth::mfa_delete(&mut *writer, &mfa_id).await?;
            return Err(ApiError::bad_request("Invalid or expired MFA session."));
        };
        if mfa.record_ref != record_id || mfa.collection_ref != self.collection.id {
            return Err(ApiError::bad_request("Invalid MFA session."));
        }
        if mfa.method == self.method {
            return Err(ApiError::bad_request(
                "A different authentication method is required.",
            ));
        }
        store::auth::mfa_delete(&mut *writer, &mfa.id).await?;
        Ok(None)
    }

    /// Remembers where this login came from (IP + user agent, up to 5 origins per record)
    /// and mails a "new location" alert for a new origin, except on the very first login.
    async fn auth_alert(&self, app: &App) -> Result<(), sqlx::Error> {
        let agent: String = self
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        let fingerprint = format!("{:x}", Md5::digest(format!("{}{agent}", self.ip)));
        let record_id = self
            .record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut writer = app.store().writer.turn().await?;
        let origins = store::auth::origins(&mut *writer, &self.collection.id, record_id).await?;
        let known = origins.iter().any(|(_, f)| *f == fingerprint);
        let email = self
            .record
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !origins.is_empty() && !known && !email.is_empty() {
            let info = format!("{} - {} {agent}", datetime::now(), self.ip);
            let message = mails::auth_alert(app, &self.collection, &self.record, &info);
            let hook: mails::MailerHook = |h| &h.on_mailer_record_auth_alert_send;
            mails::send_later(
                app,
                hook,
                &self.collection,
                &self.record,
                message,
                |_, _| async {},
            );
        }
        if !known && origins.len() >= MAX_ORIGINS {
            for (id, _) in &origins[MAX_ORIGINS - 1..] {
                store::auth::origin_delete(&mut *writer, id).await?;
            }
        }
        store::auth::origin_upsert(
            &mut *writer,
            &ids::record_id(),
            &self.collection.id,
            record_id,
            &fingerprint,
        )
        .await
    }
}

fn proceed(e: &mut RecordAuthEvent) -> BoxFuture<'_, HookResult> {
    e.proceed = true;
    Box::pin(std::future::ready(Ok(())))
}

/// Origins kept per record (PocketBase's `maxAuthOrigins`).
const MAX_ORIGINS: usize = 5;
