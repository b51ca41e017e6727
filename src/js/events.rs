//! Engine events as JS sees them: each event kind says what it shows a handler (`export`,
//! JSON the prelude's `wrapEvent` turns into `e.record`, `e.collection`, …) and what it takes
//! back (`import`). [`call_handler`] runs one compiled handler with the event, `e.next()`
//! running the rest of the chain inline on this worker.

use rquickjs::{Ctx, Function, Object, Persistent};
use serde_json::{Map, Value, json};
use std::cell::RefCell;

use crate::core::collection::Collection;
use crate::error::ApiError;
use crate::filter::sql::RequestInfo;
use crate::hooks::{
    AppEvent, CollectionEvent, Event, HookResult, MailerRecordEvent, Next, RealtimeConnectEvent,
    RealtimeMessageEvent, RealtimeSubscribeEvent, RecordAuthEvent, RecordAuthWithOtpEvent,
    RecordEnrichEvent, RecordEvent, RecordFlowEvent, RecordOtpRequestEvent, RecordRequestEvent,
    RecordsListRequestEvent, Written,
};
use crate::js::bridge::{self, Continuation};
use crate::js::{errors, host, pool};
use crate::mail::{Address, Message};
use crate::store::DbHandle;

/// An engine event a JS handler can take.
pub trait JsEvent: Event {
    /// What the handler sees (the prelude's `wrapEvent` input).
    fn export(&self) -> Map<String, Value>;
    /// What the handler changed (the prelude's `exportEvent` output).
    fn import(&mut self, changed: Map<String, Value>);
    /// The transaction `e.app` is bound to.
    fn db(&self) -> DbHandle {
        DbHandle::Shared
    }
}

thread_local! {
    /// This worker's compiled handlers, by registration index.
    static HANDLERS: RefCell<Vec<Persistent<Function<'static>>>> = const { RefCell::new(Vec::new()) };
}

/// Keeps the compiled handlers of this worker (see `pool::on_teardown`).
pub fn set_handlers(handlers: Vec<Persistent<Function<'static>>>) {
    HANDLERS.set(handlers);
    pool::on_teardown(|| HANDLERS.set(Vec::new()));
}

pub fn handler<'js>(ctx: &Ctx<'js>, index: usize) -> rquickjs::Result<Function<'js>> {
    let saved = HANDLERS.with_borrow(|h| h.get(index).cloned());
    match saved {
        Some(f) => f.restore(ctx),
        None => Err(rquickjs::Exception::throw_internal(
            ctx,
            "unknown JS handler",
        )),
    }
}

/// Runs handler `index` with `event`; must be called on a worker (the chain hopped there).
pub fn call_handler<E: JsEvent>(index: usize, event: &mut E, next: Next<'_, E>) -> HookResult {
    let tx = host::register_db(&event.db());
    let result = Continuation::scope(event, next, |cont| {
        bridge::with_ctx(|ctx| run(&ctx, index, tx, cont))
            .unwrap_or_else(|| Err(ApiError::internal("a JS handler ran off its worker")))
    });
    host::unregister_db(tx);
    result
}

fn run<'js, E: JsEvent>(
    ctx: &Ctx<'js>,
    index: usize,
    tx: u64,
    cont: Continuation<E>,
) -> HookResult {
    let mut data = cont
        .with_event(|e| e.export())
        .ok_or_else(|| ApiError::internal("event unavailable"))?;
    data.insert("tx".into(), json!(tx));
    let outcome = (|| -> rquickjs::Result<Result<Map<String, Value>, ApiError>> {
        let satchel: Object = ctx.globals().get("__satchel")?;
        let wrap: Function = satchel.get("wrapEvent")?;
        let next = next_function(ctx, cont.clone())?;
        let data = ctx.json_parse(Value::Object(data).to_string())?;
        let event: Object = wrap.call((data, next))?;
        let f = handler(ctx, index)?;
        let called = errors::call_with_app(ctx, &event, || {
            f.call::<_, rquickjs::Value>((event.clone(),))
        });
        if let Err(err) = called {
            return Ok(Err(errors::from_js(ctx, err)));
        }
        let export: Function = satchel.get("exportEvent")?;
        let changed: rquickjs::Value = export.call((event,))?;
        let text = ctx
            .json_stringify(changed)?
            .map(|s| s.to_string())
            .transpose()?
            .unwrap_or_default();
        Ok(Ok(serde_json::from_str(&text).unwrap_or_default()))
    })();
    let changed = match outcome {
        Ok(Ok(changed)) => changed,
        Ok(Err(err)) => return Err(err),
        Err(err) => return Err(errors::from_js(ctx, err)),
    };
    if pool::interrupted() {
        return Err(errors::timeout());
    }
    cont.with_event(|e| e.import(changed));
    Ok(())
}

/// `e.next()` for JS: takes the handler's changes, runs the rest of the chain, and answers
/// the event as it is afterwards (or throws the chain's error).
fn next_function<'js, E: JsEvent>(
    ctx: &Ctx<'js>,
    cont: Continuation<E>,
) -> rquickjs::Result<Function<'js>> {
    Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, changed: String| -> rquickjs::Result<String> {
            let changed: Map<String, Value> = serde_json::from_str(&changed).unwrap_or_default();
            let gone = || {
                rquickjs::Exception::throw_internal(
                    &ctx,
                    "e.next() is only valid inside its handler",
                )
            };
            cont.with_event(|e| e.import(changed)).ok_or_else(gone)?;
            match cont.run_next().ok_or_else(gone)? {
                Ok(()) => {
                    let fresh = cont.with_event(|e| e.export()).ok_or_else(gone)?;
                    Ok(Value::Object(fresh).to_string())
                }
                Err(err) => Err(errors::throw(&ctx, &err)),
            }
        },
    )
}

/// What every record event shows: its collection (by id) and record.
fn base(collection: &Collection, record: Value) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("collection".into(), json!(collection.id));
    out.insert("record".into(), record);
    out
}

fn request_json(info: &RequestInfo) -> Value {
    json!({
        "auth": info.auth.as_ref().map(|a| json!({"collection": a.collection.id, "record": a.record})),
        "body": info.body,
        "query": info.query,
        "headers": info.headers.map(),
        "method": info.method,
        "context": info.context,
    })
}

fn take_record(changed: &mut Map<String, Value>, into: &mut Map<String, Value>) {
    if let Some(Value::Object(record)) = changed.remove("record") {
        *into = record;
    }
}

impl JsEvent for RecordEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = base(&self.collection, Value::Object(self.record.clone()));
        if let Some(original) = &self.original {
            out.insert("original".into(), Value::Object(original.clone()));
        }
        if let Some(error) = &self.error {
            out.insert("error".into(), json!(error));
        }
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        take_record(&mut changed, &mut self.record);
    }
    fn db(&self) -> DbHandle {
        self.db.clone()
    }
}

/// A response a request hook wrote (`e.json(...)`), from the prelude's `__written`.
fn take_written(changed: &mut Map<String, Value>) -> Option<Written> {
    let Some(Value::Object(w)) = changed.remove("written") else {
        return None;
    };
    let headers = w
        .get("headers")
        .and_then(Value::as_array)
        .map(|pairs| {
            pairs
                .iter()
                .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Some(Written {
        status: w.get("status").and_then(Value::as_u64).unwrap_or(200) as u16,
        headers,
        body: w
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    })
}

impl JsEvent for RecordRequestEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = base(&self.collection, Value::Object(self.record.clone()));
        out.insert("kind".into(), json!("request"));
        if let Some(original) = &self.original {
            out.insert("original".into(), Value::Object(original.clone()));
        }
        out.insert("requestInfo".into(), request_json(&self.request));
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        take_record(&mut changed, &mut self.record);
        if let Some(written) = take_written(&mut changed) {
            self.written = Some(written);
        }
    }
    fn db(&self) -> DbHandle {
        self.db.clone()
    }
}

impl JsEvent for RecordsListRequestEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("kind".into(), json!("request"));
        out.insert("collection".into(), json!(self.collection.id));
        out.insert(
            "records".into(),
            Value::Array(self.records.iter().cloned().map(Value::Object).collect()),
        );
        out.insert("requestInfo".into(), request_json(&self.request));
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        if let Some(written) = take_written(&mut changed) {
            self.written = Some(written);
        }
        if let Some(Value::Array(items)) = changed.remove("records") {
            self.records = items
                .into_iter()
                .filter_map(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .collect();
        }
    }
}

impl JsEvent for RecordEnrichEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = base(&self.collection, Value::Object(self.record.clone()));
        out.insert("kind".into(), json!("enrich"));
        out.insert("requestInfo".into(), request_json(&self.request));
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        take_record(&mut changed, &mut self.record);
        self.custom_data = changed.remove("custom") == Some(Value::Bool(true));
        if let Some(Value::Object(hidden)) = changed.remove("hidden") {
            self.hidden = hidden
                .into_iter()
                .map(|(name, hide)| (name, hide == Value::Bool(true)))
                .collect();
        }
    }
}

impl JsEvent for RecordOtpRequestEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = base(
            &self.collection,
            self.record.clone().map_or(Value::Null, Value::Object),
        );
        out.insert("password".into(), json!(self.password));
        out.insert("requestInfo".into(), request_json(&self.request));
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        if let Some(Value::String(code)) = changed.remove("password") {
            self.password = code;
        }
        if let Some(record) = self.record.as_mut() {
            take_record(&mut changed, record);
        }
    }
}

impl JsEvent for RecordAuthWithOtpEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = base(&self.collection, Value::Object(self.record.clone()));
        let otp = &self.otp;
        out.insert(
            "otp".into(),
            json!({"collection": "_otps", "record": {
                "id": otp.id, "collectionRef": otp.collection_ref, "recordRef": otp.record_ref,
                "sentTo": otp.sent_to, "created": otp.created, "updated": otp.created,
            }}),
        );
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        take_record(&mut changed, &mut self.record);
    }
}

impl JsEvent for MailerRecordEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = base(&self.collection, Value::Object(self.record.clone()));
        let address = |a: &Address| json!({"address": a.email, "name": a.name});
        let m = &self.message;
        out.insert(
            "message".into(),
            json!({
                "from": address(&m.from),
                "to": m.to.iter().map(address).collect::<Vec<_>>(),
                "cc": [], "bcc": [], "headers": {},
                "subject": m.subject, "html": m.html, "text": m.text,
            }),
        );
        out.insert("meta".into(), Value::Object(self.meta.clone()));
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        take_record(&mut changed, &mut self.record);
        if let Some(Value::Object(m)) = changed.remove("message") {
            self.message = message_from(&m, &self.message);
        }
    }
}

/// A JS `MailerMessage` back into ours (unknown or malformed parts keep their old value).
fn message_from(m: &Map<String, Value>, old: &Message) -> Message {
    let text = |key: &str, old: &str| {
        m.get(key)
            .and_then(Value::as_str)
            .unwrap_or(old)
            .to_string()
    };
    let address = |v: &Value| Address {
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        email: v
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    };
    Message {
        from: m.get("from").map_or_else(|| old.from.clone(), address),
        to: match m.get("to") {
            Some(Value::Array(items)) => items.iter().map(address).collect(),
            _ => old.to.clone(),
        },
        subject: text("subject", &old.subject),
        html: text("html", &old.html),
        text: text("text", &old.text),
    }
}

impl JsEvent for RecordAuthEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = base(&self.collection, Value::Object(self.record.clone()));
        out.insert("token".into(), json!(self.token));
        out.insert("authMethod".into(), json!(self.auth_method));
        out.insert("meta".into(), json!({}));
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        take_record(&mut changed, &mut self.record);
        if let Some(Value::String(token)) = changed.remove("token") {
            self.token = token;
        }
    }
}

impl JsEvent for RealtimeConnectEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("realtimeClient".into(), json!(self.client));
        out.insert("requestInfo".into(), request_json(&self.request));
        out
    }
    fn import(&mut self, _: Map<String, Value>) {}
}

impl JsEvent for RealtimeSubscribeEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("realtimeClient".into(), json!(self.client));
        out.insert("requestInfo".into(), request_json(&self.request));
        out.insert(
            "extra".into(),
            json!({ "subscriptions": self.subscriptions }),
        );
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        let subscriptions = changed
            .remove("extra")
            .and_then(|mut extra| extra.get_mut("subscriptions").map(Value::take));
        if let Some(Value::Array(items)) = subscriptions {
            self.subscriptions = items
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
        }
    }
}

impl JsEvent for RealtimeMessageEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("realtimeClient".into(), json!(self.client));
        out.insert(
            "realtimeMessage".into(),
            json!({ "name": self.message.name, "data": self.message.data }),
        );
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        if let Some(Value::Object(m)) = changed.remove("message") {
            if let Some(name) = m.get("name").and_then(Value::as_str) {
                self.message.name = name.to_string();
            }
            match m.get("data") {
                Some(Value::String(data)) => self.message.data = data.clone(),
                Some(Value::Null) | None => {}
                Some(other) => self.message.data = other.to_string(),
            }
        }
    }
}

impl JsEvent for AppEvent {
    fn export(&self) -> Map<String, Value> {
        Map::new()
    }
    fn import(&mut self, _: Map<String, Value>) {}
}

impl JsEvent for CollectionEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("kind".into(), json!("collection"));
        out.insert("collection".into(), self.collection.api_json());
        if let Some(original) = &self.original {
            out.insert("original".into(), original.api_json());
        }
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        if let Some(value) = changed.remove("collection")
            && let Ok(collection) = Collection::from_json(&value)
        {
            self.collection = collection;
        }
    }
}

impl JsEvent for RecordFlowEvent {
    fn export(&self) -> Map<String, Value> {
        let mut out = base(
            &self.collection,
            self.record.clone().map_or(Value::Null, Value::Object),
        );
        out.insert("requestInfo".into(), request_json(&self.request));
        out.insert("extra".into(), Value::Object(self.extra.clone()));
        out
    }
    fn import(&mut self, mut changed: Map<String, Value>) {
        if let Some(record) = self.record.as_mut() {
            take_record(&mut changed, record);
        }
        if let Some(Value::Object(extra)) = changed.remove("extra") {
            for (key, value) in extra {
                if self.extra.contains_key(&key) {
                    self.extra.insert(key, value);
                }
            }
        }
    }
}
