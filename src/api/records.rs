//! `/api/collections/{c}/records` (§2): list, view, create, update, delete, with API rules
//! (§2.4), `filter`/`sort`/pagination, `expand` and `fields`. The writes themselves are
//! `core::records`; this file decides who may do what and shapes the answers.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::api::expand;
use crate::api::extract::{Auth, AuthRecord, Path, Query};
use crate::api::fields::Picker;
use crate::api::list::ListParams;
use crate::api::record_body::RecordBody;
use crate::api::rules::{self, Access};
use crate::app::App;
use crate::core::collection::Collection;
use crate::core::files::Uploads;
use crate::core::record::{self, Visibility};
use crate::core::records::{self, Actor, RecordError};
use crate::error::ApiError;
use crate::filter::sql::SqlExpr;
use crate::hooks::{
    Action, BoxFuture, HookResult, RecordEnrichEvent, RecordRequestEvent, RecordsListRequestEvent,
    Written,
};
use crate::store::{self, Db};

/// Everything a records handler needs about the request.
pub struct Ctx<'a> {
    pub collection: Arc<Collection>,
    pub access: Access,
    pub query: Query,
    /// Where writes (and the reads that must see them) go: a batch's transaction, or the
    /// shared connections.
    pub db: Db<'a>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        app: &'a App,
        id_or_name: &str,
        auth: Auth,
        query: Query,
        method: Method,
        headers: &HeaderMap,
    ) -> Result<Self, ApiError> {
        let collection = app
            .collection(id_or_name)
            .ok_or_else(|| ApiError::not_found("Missing collection context."))?;
        let access = Access::new(auth.0, &query, method, headers);
        Ok(Ctx {
            collection,
            access,
            query,
            db: Db::Shared(app.store()),
        })
    }

    /// What this requester may see of `data`; `manager` = satisfies the `manageRule`.
    fn visibility(&self, manager: bool, data: &Map<String, Value>) -> Visibility {
        let superuser = self.access.superuser;
        let own = is_own(self.access.auth.as_ref(), &self.collection, data);
        Visibility {
            hidden: superuser,
            email: superuser || manager || own,
        }
    }

    /// The visibility when no `manageRule` applies (see `needs_shaping`), and the id of the
    /// requesting auth record, which sees its own email.
    fn plain_visibility(&self) -> (Visibility, Option<&str>) {
        let viewer = self
            .access
            .auth
            .as_ref()
            .and_then(|a| a.record.get("id"))
            .and_then(Value::as_str);
        (self.visibility(false, &Map::new()), viewer)
    }

    /// Serializes records with the visibility rules, then expands relations if asked.
    async fn render(&self, app: &App, rows: &[Map<String, Value>]) -> Result<Vec<Value>, ApiError> {
        let mut items: Vec<Value> = Vec::with_capacity(rows.len());
        let enrich = &app.hooks().on_record_enrich;
        for row in rows {
            let enriched;
            let (row, hidden, custom): (&Map<String, Value>, &[(String, bool)], bool) =
                if enrich.has_handlers() {
                    let mut event = RecordEnrichEvent {
                        app: app.clone(),
                        collection: (*self.collection).clone(),
                        record: row.clone(),
                        request: self.access.request.clone(),
                        hidden: Vec::new(),
                        custom_data: false,
                    };
                    enrich.trigger(&mut event, &enriched_action).await?;
                    enriched = (event.record, event.hidden, event.custom_data);
                    (&enriched.0, enriched.1.as_slice(), enriched.2)
                } else {
                    (row, &[][..], false)
                };
            let manager = self.collection.is_auth()
                && !self.access.superuser
                && rules::is_manager(app, &self.collection, &self.access, row).await?;
            let mut item = record::api_json(&self.collection, row, self.visibility(manager, row));
            apply_hidden(&self.collection, row, hidden, custom, &mut item);
            items.push(item);
        }
        if let Some(spec) = self.query.get("expand").filter(|s| !s.trim().is_empty()) {
            expand::expand(app, &self.collection, &mut items, spec, &self.access).await?;
        }
        Ok(items)
    }

    /// Whether records must be shaped in Rust (expand, `fields`, or an email visibility that
    /// depends on the `manageRule`) rather than serialized by SQLite.
    fn needs_shaping(&self, app: &App) -> bool {
        let hooks = app.hooks();
        let manage_rule = self
            .collection
            .auth
            .as_ref()
            .and_then(|a| a.manage_rule.as_deref());
        self.query
            .get("expand")
            .is_some_and(|e| !e.trim().is_empty())
            || self
                .query
                .get("fields")
                .is_some_and(|f| !f.trim().is_empty())
            || (self.collection.is_auth()
                && !self.access.superuser
                && self.access.auth.is_some()
                && manage_rule.is_some_and(|r| !r.trim().is_empty()))
            || hooks.on_records_list_request.has_handlers()
            || hooks.on_record_enrich.has_handlers()
    }

    /// The record `id` if `rule` (already resolved by `Access::rule`) lets this requester
    /// reach it; PocketBase answers 404 either way (§2.4).
    async fn find_allowed(
        &self,
        app: &App,
        rule: Option<&str>,
        id: &str,
    ) -> Result<Map<String, Value>, ApiError> {
        let filter = rules::compile(app, &self.collection, &self.access, rule, None)?;
        store::records::find_matching(self.db, &self.collection, id, &filter)
            .await?
            .ok_or_else(ApiError::not_found_default)
    }

    /// One record as the response body: serialized, expanded and `fields`-picked.
    async fn respond(&self, app: &App, row: Map<String, Value>) -> Result<Answer, ApiError> {
        let mut items = self.render(app, &[row]).await?;
        Ok(Answer::Record(self.pick(items.pop().unwrap_or_default())))
    }

    /// The stored version of a record just written (read where it was written).
    async fn reload(
        &self,
        id: &str,
        fallback: Map<String, Value>,
    ) -> Result<Map<String, Value>, ApiError> {
        Ok(
            store::records::find_matching(self.db, &self.collection, id, &SqlExpr::always())
                .await?
                .unwrap_or(fallback),
        )
    }

    /// The request event for `record` (see `hooks::RecordRequestEvent`).
    fn request_event(&self, app: &App, record: Map<String, Value>) -> RecordRequestEvent {
        RecordRequestEvent {
            app: app.clone(),
            db: self.db.handle(),
            collection: (*self.collection).clone(),
            id: text_id(&record),
            record,
            request: self.access.request.clone(),
            original: None,
            done: false,
            written: None,
        }
    }

    fn pick(&self, value: Value) -> Value {
        match self.query.get("fields").and_then(Picker::parse) {
            Some(picker) => picker.apply(&value),
            None => value,
        }
    }
}

/// `row` as the records API would show it to `access` with `query` (`expand`, `fields`):
/// realtime messages use it.
pub async fn shape(
    app: &App,
    collection: &Collection,
    access: Access,
    query: Query,
    row: Map<String, Value>,
) -> Result<Value, ApiError> {
    let ctx = Ctx {
        collection: Arc::new(collection.clone()),
        access,
        query,
        db: Db::Shared(app.store()),
    };
    let mut items = ctx.render(app, &[row]).await?;
    Ok(ctx.pick(items.pop().unwrap_or_default()))
}

/// What a record endpoint answers: the record, 204 for a delete, or, when a request hook
/// stopped the chain, its own response or an empty 200 (§9.3).
pub enum Answer {
    Record(Value),
    /// A record already serialized by SQLite.
    Serialized(String),
    Deleted,
    Nothing,
    Written(Written),
}

impl Answer {
    /// The answer of a chain a handler stopped or answered itself, if it did.
    fn stopped(event: &mut RecordRequestEvent) -> Option<Answer> {
        match event.written.take() {
            Some(written) => Some(Answer::Written(written)),
            None if !event.done => Some(Answer::Nothing),
            None => None,
        }
    }

    /// The answer as a batch item's body (`null` when there is none).
    pub fn into_json(self) -> Value {
        match self {
            Answer::Record(value) => value,
            Answer::Serialized(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
            Answer::Deleted | Answer::Nothing => Value::Null,
            Answer::Written(w) => serde_json::from_str(&w.body).unwrap_or(Value::String(w.body)),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self {
            Answer::Record(value) => Json(value).into_response(),
            Answer::Serialized(text) => {
                ([(header::CONTENT_TYPE, "application/json")], text).into_response()
            }
            Answer::Deleted => StatusCode::NO_CONTENT.into_response(),
            Answer::Nothing => StatusCode::OK.into_response(),
            Answer::Written(w) => {
                let status = StatusCode::from_u16(w.status).unwrap_or(StatusCode::OK);
                let mut response = (status, w.body).into_response();
                for (name, value) in w.headers {
                    if let (Ok(name), Ok(value)) = (
                        header::HeaderName::from_bytes(name.as_bytes()),
                        header::HeaderValue::from_str(&value),
                    ) {
                        response.headers_mut().append(name, value);
                    }
                }
                response
            }
        }
    }
}

pub async fn list(
    State(app): State<App>,
    Path(collection): Path<String>,
    auth: Auth,
    query: Query,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(&app, &collection, auth, query, Method::GET, &headers)?;
    let rule = ctx.access.rule(&ctx.collection.list_rule)?;
    let params = ListParams::from_query(&ctx.query)?;
    let filter_text = ctx.query.get("filter").unwrap_or_default().to_string();
    let sort_text = ctx.query.get("sort").unwrap_or_default().to_string();
    ctx.access.check_client_expression(&filter_text)?;
    ctx.access.check_client_expression(&sort_text)?;
    let filter = rules::compile(
        &app,
        &ctx.collection,
        &ctx.access,
        rule.as_deref(),
        Some(&filter_text),
    )?;
    let order = rules::order(&app, &ctx.collection, &ctx.access, &sort_text)?;
    let window = (
        params.per_page as i64,
        ((params.page - 1) * params.per_page) as i64,
    );
    let reader = &*app.store().read;
    let (items, total) = if ctx.needs_shaping(&app) {
        let (rows, total) = store::records::page(
            reader,
            &ctx.collection,
            &filter,
            &order,
            window.0,
            window.1,
            !params.skip_total,
        )
        .await?;
        let hook = &app.hooks().on_records_list_request;
        let rows = if hook.has_handlers() {
            let mut event = RecordsListRequestEvent {
                app: app.clone(),
                collection: (*ctx.collection).clone(),
                records: rows,
                request: ctx.access.request.clone(),
                done: false,
                written: None,
            };
            hook.trigger(&mut event, &list_action).await?;
            if let Some(written) = event.written {
                return Ok(Answer::Written(written).into_response());
            }
            if !event.done {
                return Ok(Answer::Nothing.into_response());
            }
            event.records
        } else {
            rows
        };
        let items = ctx.pick(Value::Array(ctx.render(&app, &rows).await?));
        (items.to_string(), total)
    } else {
        // Fast path: SQLite writes the records' JSON; nothing to decode or re-encode here.
        let (visibility, viewer) = ctx.plain_visibility();
        store::records::page_api_json(
            reader,
            &ctx.collection,
            visibility,
            viewer,
            &filter,
            &order,
            window,
            !params.skip_total,
        )
        .await?
    };
    let (total_items, total_pages) = match total {
        Some(total) => (total, (total as f64 / params.per_page as f64).ceil() as i64),
        None => (-1, -1),
    };
    let body = format!(
        r#"{{"items":{items},"page":{},"perPage":{},"totalItems":{total_items},"totalPages":{total_pages}}}"#,
        params.page, params.per_page
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn view(
    State(app): State<App>,
    Path((collection, id)): Path<(String, String)>,
    auth: Auth,
    query: Query,
    headers: HeaderMap,
) -> Result<Answer, ApiError> {
    let ctx = Ctx::new(&app, &collection, auth, query, Method::GET, &headers)?;
    let rule = ctx.access.rule(&ctx.collection.view_rule)?;
    let hook = &app.hooks().on_record_view_request;
    if !hook.has_handlers() && !ctx.needs_shaping(&app) {
        // Fast path: SQLite writes the record's JSON (see `list`).
        let filter = rules::compile(&app, &ctx.collection, &ctx.access, rule.as_deref(), None)?;
        let (visibility, viewer) = ctx.plain_visibility();
        let store = app.store();
        return store::records::find_api_json(
            &store.read,
            &ctx.collection,
            visibility,
            viewer,
            &id,
            &filter,
        )?
        .map(Answer::Serialized)
        .ok_or_else(ApiError::not_found_default);
    }
    let row = ctx.find_allowed(&app, rule.as_deref(), &id).await?;
    if !hook.has_handlers() {
        return ctx.respond(&app, row).await;
    }
    let mut event = ctx.request_event(&app, row);
    hook.trigger(&mut event, &view_action).await?;
    if let Some(answer) = Answer::stopped(&mut event) {
        return Ok(answer);
    }
    ctx.respond(&app, event.record).await
}

pub async fn create(
    State(app): State<App>,
    Path(collection): Path<String>,
    auth: Auth,
    query: Query,
    headers: HeaderMap,
    body: Result<RecordBody, ApiError>,
) -> Result<Answer, ApiError> {
    let RecordBody { body, uploads } = body?;
    let ctx = Ctx::new(&app, &collection, auth, query, Method::POST, &headers)?;
    create_in(&app, ctx, body, uploads).await
}

/// Creates a record as `POST …/records` does, in `ctx.db`; `uploads` are the files whose
/// stored names `body` holds.
pub async fn create_in(
    app: &App,
    mut ctx: Ctx<'_>,
    body: Map<String, Value>,
    uploads: Uploads,
) -> Result<Answer, ApiError> {
    ctx.access.request.body = body.clone();
    let rule = ctx.access.rule(&ctx.collection.create_rule)?;
    let failed = || ApiError::bad_request("Failed to create record.");
    let actor = Actor {
        superuser: ctx.access.superuser,
        manager: ctx.access.superuser,
    };
    let record =
        records::prepare_create_with_files(app, ctx.db, &ctx.collection, &body, &uploads, actor)
            .await
            .map_err(|e| record_error(e, failed()))?;
    if let Some(rule) = rule.as_deref().filter(|r| !r.trim().is_empty()) {
        let filter = rules::compile(app, &ctx.collection, &ctx.access, Some(rule), None)?;
        if !store::records::would_match(ctx.db, &ctx.collection, &record, &filter).await? {
            return Err(failed());
        }
    }
    let mut event = ctx.request_event(app, record);
    let action: Action<'_, RecordRequestEvent> = &move |e| create_action(e, uploads.clone());
    app.hooks()
        .on_record_create_request
        .trigger(&mut event, action)
        .await?;
    if let Some(answer) = Answer::stopped(&mut event) {
        return Ok(answer);
    }
    let id = text_id(&event.record);
    let stored = ctx.reload(&id, event.record).await?;
    ctx.respond(app, stored).await
}

fn create_action(e: &mut RecordRequestEvent, uploads: Uploads) -> BoxFuture<'_, HookResult> {
    Box::pin(async move {
        let db = e.db.db(e.app.store());
        records::insert_with_files(&e.app, db, &e.collection, &e.record, &uploads)
            .await
            .map_err(|err| record_error(err, ApiError::bad_request("Failed to create record.")))?;
        e.done = true;
        Ok(())
    })
}

fn update_action(e: &mut RecordRequestEvent, uploads: Uploads) -> BoxFuture<'_, HookResult> {
    Box::pin(async move {
        let db = e.db.db(e.app.store());
        records::save_with_files(&e.app, db, &e.collection, &e.id, &e.record, &uploads)
            .await
            .map_err(|err| record_error(err, ApiError::bad_request("Failed to update record.")))?;
        e.done = true;
        Ok(())
    })
}

fn delete_action(e: &mut RecordRequestEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(async move {
        let db = e.db.db(e.app.store());
        records::delete(&e.app, db, &e.collection, &e.id)
            .await
            .map_err(|err| record_error(err, ApiError::bad_request_default()))?;
        e.done = true;
        Ok(())
    })
}

fn list_action(e: &mut RecordsListRequestEvent) -> BoxFuture<'_, HookResult> {
    e.done = true;
    Box::pin(std::future::ready(Ok(())))
}

/// An enrich handler's `hide`/`unhide`: hidden fields leave the answer; an unhidden field is
/// shown even if hidden (never a password or token key); with custom data on, values that
/// are not fields are shown too.
fn apply_hidden(
    collection: &Collection,
    row: &Map<String, Value>,
    hidden: &[(String, bool)],
    custom: bool,
    item: &mut Value,
) {
    let Value::Object(item) = item else {
        return;
    };
    if custom {
        for (name, value) in row {
            if collection.field(name).is_none() && !item.contains_key(name) {
                item.insert(name.clone(), value.clone());
            }
        }
    }
    for (name, hide) in hidden {
        if *hide {
            item.remove(name);
        } else if let Some(field) = collection.field(name)
            && !record::never_shown(collection, field)
        {
            item.insert(name.clone(), row.get(name).cloned().unwrap_or(Value::Null));
        }
    }
}

fn enriched_action(_: &mut RecordEnrichEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(std::future::ready(Ok(())))
}

fn view_action(e: &mut RecordRequestEvent) -> BoxFuture<'_, HookResult> {
    e.done = true;
    Box::pin(std::future::ready(Ok(())))
}

fn text_id(record: &Map<String, Value>) -> String {
    record
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

pub async fn update(
    State(app): State<App>,
    Path((collection, id)): Path<(String, String)>,
    auth: Auth,
    query: Query,
    headers: HeaderMap,
    body: Result<RecordBody, ApiError>,
) -> Result<Answer, ApiError> {
    let RecordBody { body, uploads } = body?;
    let ctx = Ctx::new(&app, &collection, auth, query, Method::PATCH, &headers)?;
    update_in(&app, ctx, &id, body, uploads).await
}

/// Updates a record as `PATCH …/records/{id}` does, in `ctx.db`; `uploads` are the files
/// whose stored names `body` holds.
pub async fn update_in(
    app: &App,
    mut ctx: Ctx<'_>,
    id: &str,
    body: Map<String, Value>,
    uploads: Uploads,
) -> Result<Answer, ApiError> {
    ctx.access.request.body = body.clone();
    let rule = ctx.access.rule(&ctx.collection.update_rule)?;
    let existing = ctx.find_allowed(app, rule.as_deref(), id).await?;
    let manager = ctx.access.superuser
        || rules::is_manager(app, &ctx.collection, &ctx.access, &existing).await?;
    let actor = Actor {
        superuser: ctx.access.superuser,
        manager,
    };
    let failed = || ApiError::bad_request("Failed to update record.");
    let record = records::prepare_update_with_files(
        app,
        ctx.db,
        &ctx.collection,
        &existing,
        &body,
        &uploads,
        actor,
    )
    .await
    .map_err(|e| record_error(e, failed()))?;
    let mut event = ctx.request_event(app, record);
    event.original = Some(existing);
    let action: Action<'_, RecordRequestEvent> = &move |e| update_action(e, uploads.clone());
    app.hooks()
        .on_record_update_request
        .trigger(&mut event, action)
        .await?;
    if let Some(answer) = Answer::stopped(&mut event) {
        return Ok(answer);
    }
    let stored = ctx.reload(id, event.record).await?;
    ctx.respond(app, stored).await
}

pub async fn delete(
    State(app): State<App>,
    Path((collection, id)): Path<(String, String)>,
    auth: Auth,
    query: Query,
    headers: HeaderMap,
) -> Result<Answer, ApiError> {
    let ctx = Ctx::new(&app, &collection, auth, query, Method::DELETE, &headers)?;
    delete_in(&app, ctx, &id).await
}

/// Deletes a record as `DELETE …/records/{id}` does, in `ctx.db`.
pub async fn delete_in(app: &App, ctx: Ctx<'_>, id: &str) -> Result<Answer, ApiError> {
    let rule = ctx.access.rule(&ctx.collection.delete_rule)?;
    let existing = ctx.find_allowed(app, rule.as_deref(), id).await?;
    let mut event = ctx.request_event(app, existing);
    app.hooks()
        .on_record_delete_request
        .trigger(&mut event, &delete_action)
        .await?;
    if let Some(answer) = Answer::stopped(&mut event) {
        return Ok(answer);
    }
    Ok(Answer::Deleted)
}

/// Maps an engine error: field errors under the operation's message, refusals verbatim.
fn record_error(err: RecordError, failed: ApiError) -> ApiError {
    match err {
        RecordError::Invalid(errors) => failed.with_data(errors),
        RecordError::Refused(message) => ApiError::bad_request(message),
        RecordError::Db(cause) => ApiError::internal(cause),
        RecordError::Hook(err) => err,
    }
}

/// Whether `auth` is the record `data` of `collection` (for email visibility).
pub fn is_own(
    auth: Option<&AuthRecord>,
    collection: &Collection,
    data: &Map<String, Value>,
) -> bool {
    auth.is_some_and(|a| a.collection.id == collection.id && a.record.get("id") == data.get("id"))
}
