//! The host functions behind the prelude (`__host`): logging, `sleep`, `require`'s module
//! loading, `$app.store()`, transactions, crons, and the JSON-in/JSON-out calls of
//! [`app_api`](super::app_api). A JSON call answers `{"ok": value}` or `{"err": failure}`,
//! which the prelude turns into a value or a thrown error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::error::ApiError;
use crate::js::bridge::block_on;
use crate::js::{app_api, natives, template};
use crate::store::{DbHandle, Tx};

/// What the host functions of one pool generation share.
pub struct Host {
    pub app: App,
    pub hooks_dir: PathBuf,
    /// `$app.store()`: shared by every handler of every worker (JSON values).
    pub store: Arc<Mutex<Map<String, Value>>>,
    /// Crons added by hooks (`cronAdd`), run on this pool.
    pub crons: AddCron,
}

/// `cronAdd(id, expression, handler source)` at run time.
pub type AddCron = Box<dyn Fn(&str, &str, &str) -> Result<(), String> + Send + Sync>;

/// A host call's failure, shaped for the prelude's `hostError`.
#[derive(Debug)]
pub struct Failure {
    pub status: u16,
    pub message: String,
    pub data: Value,
    /// Already an API error (thrown as its class, not as a Go-like error).
    pub api: bool,
}

impl Failure {
    pub fn new(status: u16, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            data: json!({}),
            api: false,
        }
    }

    /// What Go's `sql.ErrNoRows` says; PocketBase turns it into a 404 when uncaught.
    pub fn no_rows() -> Failure {
        Failure::new(404, "sql: no rows in result set")
    }
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Failure {
        Failure {
            status: err.status.as_u16(),
            message: err.message,
            data: Value::Object(err.data),
            api: true,
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Failure {
        match err {
            sqlx::Error::RowNotFound => Failure::no_rows(),
            other => Failure::new(400, other.to_string()),
        }
    }
}

pub type Answer = Result<Value, Failure>;

thread_local! {
    /// Transactions open on this worker, by the id JS knows them by (0 = none).
    static TXS: RefCell<HashMap<u64, Arc<Tx>>> = RefCell::new(HashMap::new());
    static NEXT_TX: RefCell<u64> = const { RefCell::new(1) };
}

/// Makes `db` reachable from JS as a transaction id for the duration of a call.
pub fn register_db(db: &DbHandle) -> u64 {
    match db {
        DbHandle::Shared => 0,
        DbHandle::Tx(tx) => {
            let id = NEXT_TX.with_borrow_mut(|n| {
                *n += 1;
                *n
            });
            TXS.with_borrow_mut(|t| t.insert(id, Arc::clone(tx)));
            id
        }
    }
}

pub fn unregister_db(id: u64) {
    if id != 0 {
        TXS.with_borrow_mut(|t| t.remove(&id));
    }
}

/// The database a JS transaction id stands for.
pub fn db_of(id: u64) -> Result<DbHandle, Failure> {
    if id == 0 {
        return Ok(DbHandle::Shared);
    }
    TXS.with_borrow(|t| t.get(&id).cloned())
        .map(DbHandle::Tx)
        .ok_or_else(|| Failure::new(400, "the transaction is already closed"))
}

/// Installs `__host` on the global object.
pub fn install<'js>(ctx: &Ctx<'js>, host: &Arc<Host>) -> rquickjs::Result<()> {
    let object = Object::new(ctx.clone())?;
    object.set("hooksDir", host.hooks_dir.to_string_lossy().to_string())?;
    object.set(
        "log",
        Function::new(ctx.clone(), |level: String, msg: String, attrs: String| {
            log(&level, &msg, &attrs)
        })?,
    )?;
    object.set(
        "sleep",
        Function::new(ctx.clone(), |ms: f64| {
            let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
            std::thread::sleep(Duration::from_millis(ms as u64));
        })?,
    )?;
    let versions = host.app.clone();
    object.set(
        "collectionsVersion",
        Function::new(ctx.clone(), move || versions.collections_version() as f64)?,
    )?;
    let dir = host.hooks_dir.clone();
    object.set(
        "compileModule",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, path: String| -> rquickjs::Result<Function<'js>> {
                compile_module(&ctx, &dir, &path)
            },
        )?,
    )?;
    let crons = Arc::clone(host);
    object.set(
        "cronAdd",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, id: String, expr: String, source: String| {
                (crons.crons)(&id, &expr, &source)
                    .map_err(|err| rquickjs::Exception::throw_message(&ctx, &err))
            },
        )?,
    )?;
    let removal = Arc::clone(host);
    object.set(
        "cronRemove",
        Function::new(ctx.clone(), move |id: String| {
            removal.app.crons().remove(&id);
        })?,
    )?;
    object.set(
        "walk",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, dirs: bool, root: String, f: Function<'js>| -> rquickjs::Result<()> {
                walk(&ctx, dirs, &root, &f)
            },
        )?,
    )?;
    for name in CALLS {
        let host = Arc::clone(host);
        let call = Function::new(ctx.clone(), move |args: Rest<String>| -> String {
            let args: Vec<Value> = args
                .0
                .iter()
                .map(|a| serde_json::from_str(a).unwrap_or(Value::Null))
                .collect();
            let answer = dispatch(&host, name, args);
            match answer {
                Ok(value) => json!({ "ok": value }).to_string(),
                Err(f) => json!({"err": {"status": f.status, "message": f.message, "data": f.data, "api": f.api}})
                    .to_string(),
            }
        })?;
        object.set(name, call)?;
    }
    ctx.globals().set("__host", object)
}

/// The JSON calls (see the prelude's `call`).
const CALLS: [&str; 24] = [
    "realtime",
    "template",
    "mail",
    "isDev",
    "dataDir",
    "native",
    "bytesToString",
    "app",
    "findCollection",
    "newRecord",
    "castRecord",
    "exportRecord",
    "validatePassword",
    "beginTx",
    "endTx",
    "settings",
    "sendMail",
    "storeGet",
    "storeSet",
    "storeHas",
    "storeRemove",
    "storeGetAll",
    "storeReset",
    "resolveModule",
];

fn dispatch(host: &Host, name: &str, args: Vec<Value>) -> Answer {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let text = |i: usize| match args.get(i) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let app = &host.app;
    match name {
        "app" => {
            let tx = arg(0).as_u64().unwrap_or(0);
            let method = text(1);
            let rest = match arg(2) {
                Value::Array(items) => items,
                _ => Vec::new(),
            };
            app_api::call(app, db_of(tx)?, &method, rest)
        }
        "findCollection" => app_api::collection_json(app, &text(0)),
        "newRecord" => app_api::new_record(app, &text(0)),
        "castRecord" => app_api::cast_record(app, &text(0), arg(1), arg(2)),
        "exportRecord" => app_api::export_record(app, &text(0), arg(1), arg(2)),
        "validatePassword" => app_api::validate_password(app, &text(0), arg(1), &text(2)),
        "beginTx" => {
            let tx = block_on(Tx::begin(app.store()))?;
            Ok(json!(register_db(&DbHandle::Tx(tx))))
        }
        "endTx" => {
            let id = arg(0).as_u64().unwrap_or(0);
            let DbHandle::Tx(tx) = db_of(id)? else {
                return Ok(Value::Null);
            };
            unregister_db(id);
            if arg(1) == Value::Bool(true) {
                let changes = block_on(Tx::commit(tx))?;
                for change in changes {
                    block_on(crate::core::records::committed(app, change));
                }
            }
            Ok(Value::Null)
        }
        "settings" => Ok(app.settings().0.clone()),
        "isDev" => Ok(json!(app.config().dev)),
        "dataDir" => Ok(json!(app.config().data_dir.to_string_lossy())),
        "sendMail" => app_api::send_mail(app, arg(0)),
        "template" => render_template(&text(0), arg(1), arg(2)),
        "mail" => app_api::send_record_mail(
            app,
            &text(0),
            &text(1),
            arg(2),
            args.get(3..).unwrap_or(&[]),
        ),
        "native" => {
            let rest = match arg(1) {
                Value::Array(items) => items,
                _ => Vec::new(),
            };
            natives::call(&text(0), &rest)
        }
        "bytesToString" => Ok(json!(String::from_utf8_lossy(&natives::bytes(
            args.first()
        )))),
        "resolveModule" => resolve_module(&host.hooks_dir, &text(0), &text(1)),
        "realtime" => realtime(app, &text(0), &text(1), &args),
        _ => store_call(&host.store, name, &text(0), arg(1)),
    }
}

/// `$template.loadFiles(...paths)` / `loadString(...texts)` then `.render(data)`: the
/// first source is the entry template, the others add their `{{define}}`s.
fn render_template(kind: &str, sources: Value, data: Value) -> Answer {
    let items: Vec<String> = match sources {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let mut named = Vec::with_capacity(items.len());
    for item in items {
        if kind == "files" {
            let text = std::fs::read_to_string(&item)
                .map_err(|e| Failure::new(400, format!("open {item}: {e}")))?;
            named.push((item, text));
        } else {
            named.push((String::new(), item));
        }
    }
    let templates = template::Templates::parse(&named).map_err(|e| Failure::new(400, e))?;
    templates
        .render(&data)
        .map(Value::String)
        .map_err(|e| Failure::new(400, e))
}

/// `$app.store()`: a process-wide map shared by every handler (values are copied as JSON).
fn store_call(store: &Mutex<Map<String, Value>>, name: &str, key: &str, value: Value) -> Answer {
    let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
    Ok(match name {
        "storeGet" => store.get(key).cloned().unwrap_or(Value::Null),
        "storeSet" => {
            store.insert(key.to_string(), value);
            Value::Null
        }
        "storeHas" => json!(store.contains_key(key)),
        "storeRemove" => {
            store.remove(key);
            Value::Null
        }
        "storeGetAll" => Value::Object(store.clone()),
        "storeReset" => {
            *store = value.as_object().cloned().unwrap_or_default();
            Value::Null
        }
        _ => return Err(Failure::new(400, format!("unknown host call {name}"))),
    })
}

/// `$filepath.walk(root, fn)` / `walkDir`: `fn(path, info, err)` returns nothing to go on,
/// `$filepath.skipDir` / `skipAll`, or an error to stop with; a throw stops and propagates.
fn walk<'js>(ctx: &Ctx<'js>, dirs: bool, root: &str, f: &Function<'js>) -> rquickjs::Result<()> {
    use crate::js::natives::filepath::{self, WalkAction};
    let mut thrown = None;
    let mut visit = |path: &str, info: Option<&Value>, err: Option<&str>| -> WalkAction {
        if thrown.is_some() {
            return WalkAction::SkipAll;
        }
        let info = info.map_or(Ok(rquickjs::Value::new_null(ctx.clone())), |i| {
            ctx.json_parse(i.to_string())
        });
        let called = info.and_then(|info| {
            f.call::<_, rquickjs::Value>((path.to_string(), info, err.map(str::to_string)))
        });
        match called {
            Err(e) => {
                thrown = Some(e);
                WalkAction::SkipAll
            }
            Ok(v) => match v.as_string().and_then(|s| s.to_string().ok()).as_deref() {
                Some("__satchel_skip_dir__") => WalkAction::SkipDir,
                Some("__satchel_skip_all__") => WalkAction::SkipAll,
                _ if v.is_null() || v.is_undefined() => WalkAction::Continue,
                _ => WalkAction::Error(
                    v.get::<rquickjs::Coerced<String>>()
                        .map(|c| c.0)
                        .unwrap_or_default(),
                ),
            },
        }
    };
    let walked = if dirs {
        filepath::walk_dir(root, &mut visit)
    } else {
        filepath::walk(root, &mut visit)
    };
    if let Some(err) = thrown {
        return Err(err);
    }
    walked.map_err(|e| rquickjs::Exception::throw_message(ctx, &e))
}

/// `$app.logger().info(msg, key, value, ...)` / `console.*`: attributes as `key=value`.
fn log(level: &str, msg: &str, attrs: &str) {
    let attrs: Vec<Value> = serde_json::from_str(attrs).unwrap_or_default();
    let mut line = msg.to_string();
    for pair in attrs.chunks(2) {
        let show = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match pair {
            [key, value] => line.push_str(&format!(" {}={}", show(key), show(value))),
            [extra] => line.push_str(&format!(" !BADKEY={}", show(extra))),
            _ => {}
        }
    }
    match level {
        "debug" => tracing::debug!(target: "satchel::js", "{line}"),
        "warn" => tracing::warn!(target: "satchel::js", "{line}"),
        "error" => tracing::error!(target: "satchel::js", "{line}"),
        _ => tracing::info!(target: "satchel::js", "{line}"),
    }
}

/// `require(name)` from `dir`: a relative or absolute path (with or without `.js`, or a
/// directory's `index.js`), else a package under the hooks dir's `node_modules`.
fn resolve_module(hooks_dir: &Path, dir: &str, name: &str) -> Answer {
    let base = if name.starts_with("./") || name.starts_with("../") {
        Path::new(dir).join(name)
    } else if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        hooks_dir.join("node_modules").join(name)
    };
    let candidates = [
        base.clone(),
        base.with_extension("js"),
        PathBuf::from(format!("{}.js", base.display())),
        base.join("index.js"),
    ];
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .and_then(|p| p.canonicalize().ok())
        .map(|p| json!(p.to_string_lossy()))
        .ok_or_else(|| Failure::new(400, format!("Invalid module: {name}")))
}

/// `$app.subscriptionsBroker()` (§10): the realtime clients, and sending them messages
/// (through `onRealtimeMessageSend`, never waiting for the client).
fn realtime(app: &App, op: &str, id: &str, args: &[Value]) -> Answer {
    let broker = app.realtime();
    if op == "clients" {
        let ids: Vec<String> = broker.clients().iter().map(|c| c.id.clone()).collect();
        return Ok(json!(ids));
    }
    if op == "total" {
        return Ok(json!(broker.total()));
    }
    let Some(client) = broker.client(id) else {
        return match op {
            "has" => Ok(json!(false)),
            _ => Err(Failure::new(
                400,
                format!("No client associated with connection ID \"{id}\""),
            )),
        };
    };
    let text = |i: usize| {
        args.get(i)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match op {
        "has" => Ok(json!(true)),
        "hasSubscription" => Ok(json!(client.has_subscription(&text(2)))),
        "subscriptions" => Ok(json!(
            client
                .subscriptions()
                .iter()
                .map(|s| s.topic.clone())
                .collect::<Vec<_>>()
        )),
        "auth" => Ok(client
            .auth()
            .map(|a| json!({"collection": a.collection.id, "record": a.record}))
            .unwrap_or(Value::Null)),
        "send" => {
            let message = crate::realtime::Message {
                name: text(2),
                data: text(3),
            };
            block_on(crate::api::realtime::deliver(app, &client, message));
            Ok(Value::Null)
        }
        "discard" => {
            broker.unregister(id);
            Ok(Value::Null)
        }
        other => Err(Failure::new(400, format!("unknown realtime call {other}"))),
    }
}

/// Compiles a CommonJS module as `function (module, exports, require, __filename,
/// __dirname)`, non-strict as Node's modules are.
fn compile_module<'js>(ctx: &Ctx<'js>, _dir: &Path, path: &str) -> rquickjs::Result<Function<'js>> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        rquickjs::Exception::throw_message(ctx, &format!("cannot read module {path}: {e}"))
    })?;
    let mut options = rquickjs::context::EvalOptions::default();
    options.strict = false;
    options.filename = Some(path.to_string());
    ctx.eval_with_options(
        format!("(function (module, exports, require, __filename, __dirname) {{{source}\n}})"),
        options,
    )
}
