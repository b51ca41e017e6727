//! The JS face: `pb_hooks/*.pb.js` on an embedded QuickJS, with PocketBase's JSVM API
//! (pocketbase-surface.md §9; the design in `docs/hooks-internals.md`).
//!
//! A *generation* is one load of the hooks dir: the files are evaluated once by the
//! [`loader`], which records what they registered; a [`pool`] of workers compiles every
//! handler; hook handlers are bound into the engine's chains (`App::hooks`), routes go into
//! a table the HTTP layer consults, crons into the app's scheduler. Reloading builds a new
//! generation and swaps it in; requests in flight finish on the old one.
//!
//! - [`bridge`]: the unsafe seam (nest-tolerant `block_on`, live context, scoped jobs)
//! - [`pool`]: workers, limits, deadlines
//! - [`loader`]: evaluating hook files, registration globals
//! - [`events`]: engine events as JS objects, `e.next()`
//! - [`routes`]: `routerAdd` routes
//! - [`host`] and [`app_api`]: the host functions behind the prelude and `$app`
//! - [`errors`]: errors across the boundary
//! - [`migrations`]: `pb_migrations/*.js` and `satchel migrate`
//! - [`template`]: `$template`, Go's html/template language
//! - [`natives`]: `$security`, `$filepath`, `$os`, `$http` in Rust, with Go's semantics
//! - `prelude.js`: the JSVM globals written in JS

mod app_api;
pub(crate) mod bridge;
mod errors;
mod events;
mod host;
mod loader;
pub mod migrations;
mod natives;
pub mod pool;
pub mod routes;
mod template;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use rquickjs::{Ctx, Function, Persistent};
use serde_json::{Map, Value};

use crate::app::App;
use crate::hooks::{HandlerFn, Hook, Hooks};
use events::JsEvent;
use host::Host;
use loader::{Middleware, Registration};
use pool::{Limits, Pool, WeakPool};
use routes::{Routes, Step};

pub(crate) const PRELUDE: &str = include_str!("prelude.js");

/// The editor types of the globals, written to `pb_data/types.d.ts` (as PocketBase does).
const TYPES: &str = include_str!("types.d.ts");

/// Where the hooks are and how they run.
#[derive(Debug, Clone)]
pub struct JsConfig {
    pub hooks_dir: PathBuf,
    /// The pages root (`pb_pages`, or `pb_hooks/pages`), when there is one.
    pub pages_dir: Option<PathBuf>,
    pub limits: Limits,
}

/// The hooks runtime of an app: the current generation, swappable.
pub struct Js {
    app: App,
    config: JsConfig,
    /// `$app.store()`, kept across generations.
    store: Arc<Mutex<Map<String, Value>>>,
    current: RwLock<Option<Arc<Generation>>>,
    /// The whole HTTP app, for the pages' in-process `pb()` requests. (The app holds the
    /// runtime and the runtime the app: both live as long as the server.)
    router: Arc<OnceLock<axum::Router>>,
}

/// One load of the hooks dir.
pub struct Generation {
    pool: Pool,
    routes: Routes,
    pages: Option<Arc<crate::pages::Shared>>,
    /// Undoes this generation's hook bindings and crons.
    unbind: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl Js {
    /// Loads the hooks dir (no files: no workers at all).
    pub fn start(app: &App, config: JsConfig) -> Result<Arc<Js>, String> {
        let js = Arc::new(Js {
            app: app.clone(),
            config,
            store: Arc::new(Mutex::new(Map::new())),
            current: RwLock::new(None),
            router: Arc::new(OnceLock::new()),
        });
        let types = app.config().data_dir.join("types.d.ts");
        if let Err(err) = std::fs::write(&types, TYPES) {
            tracing::warn!("cannot write {}: {err}", types.display());
        }
        js.reload()?;
        Ok(js)
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn config(&self) -> &JsConfig {
        &self.config
    }

    /// Gives the pages' `pb()` the HTTP app to dispatch to (set once).
    pub fn set_router(&self, router: axum::Router) {
        let _ = self.router.set(router);
    }

    /// The current generation, if any hook file is loaded.
    pub fn generation(&self) -> Option<Arc<Generation>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Loads the hooks dir again and swaps the new generation in: its hooks are bound
    /// before the old ones are unbound (a chain snapshots its handlers when it starts, so no
    /// event runs without hooks), and requests in flight finish on the old workers. On
    /// failure the current generation stays.
    pub fn reload(&self) -> Result<(), String> {
        let files = loader::hook_files(&self.config.hooks_dir);
        let fresh = if files.is_empty() && self.config.pages_dir.is_none() {
            None
        } else {
            Some(self.build(&files)?)
        };
        if let Some(fresh) = &fresh {
            fresh.activate(&self.app);
        }
        let old = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(|p| p.into_inner()),
            fresh.map(|built| built.generation),
        );
        if let Some(old) = old {
            old.retire();
        }
        Ok(())
    }

    fn build(&self, files: &[PathBuf]) -> Result<Built, String> {
        let pool_slot: Arc<OnceLock<WeakPool>> = Arc::new(OnceLock::new());
        let host = Arc::new(Host {
            app: self.app.clone(),
            hooks_dir: self.config.hooks_dir.clone(),
            store: Arc::clone(&self.store),
            crons: runtime_crons(self.app.clone(), Arc::clone(&pool_slot)),
        });
        let pages = self.config.pages_dir.as_ref().map(|root| {
            crate::pages::Shared::new(root.clone(), &self.app, Arc::clone(&self.router))
        });
        let (registrations, config) = loader::load(&host, files, pages.as_ref())?;
        if let (Some(pages), Some(config)) = (&pages, &config) {
            pages.scan(config)?;
        }
        let plan = Plan::from(registrations);
        let sources = plan.sources.clone();
        let setup_host = Arc::clone(&host);
        let setup_pages = pages.clone();
        let setup: pool::Setup = Arc::new(move |ctx: &Ctx<'_>| {
            setup_worker(ctx, &setup_host, &sources, setup_pages.as_ref())
        });
        let pool = Pool::start(&self.config.limits, setup)?;
        let _ = pool_slot.set(pool.downgrade());
        let mut routes = Routes::default();
        for (method, path, steps) in &plan.routes {
            routes.add(method, path, steps.clone())?;
        }
        routes.set_global(plan.uses.iter().map(|(_, s)| s.clone()).collect());
        Ok(Built {
            generation: Arc::new(Generation {
                pool,
                routes,
                pages,
                unbind: Mutex::new(Vec::new()),
            }),
            plan,
        })
    }
}

struct Built {
    generation: Arc<Generation>,
    plan: Plan,
}

impl Built {
    /// Binds the hooks and crons of a freshly built generation.
    fn activate(&self, app: &App) {
        let pool = &self.generation.pool;
        let mut unbind = self
            .generation
            .unbind
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (name, index, tags) in &self.plan.hooks {
            match bind_hook(app, name, pool, *index, tags) {
                Some(undo) => unbind.push(undo),
                None => tracing::warn!(
                    "{name} is not supported by Satchel yet: its handler is loaded but never runs"
                ),
            }
        }
        for (id, expr, index) in &self.plan.crons {
            match add_cron(app, pool.clone(), id, expr, *index) {
                Ok(()) => {
                    let (app, id) = (app.clone(), id.clone());
                    unbind.push(Box::new(move || app.crons().remove(&id)));
                }
                Err(err) => tracing::error!("cronAdd {id:?}: {err}"),
            }
        }
        for id in &self.plan.cron_removals {
            app.crons().remove(id);
        }
    }
}

impl Generation {
    fn retire(&self) {
        let undo: Vec<_> =
            std::mem::take(&mut *self.unbind.lock().unwrap_or_else(|p| p.into_inner()));
        for f in undo {
            f();
        }
    }
}

/// What a load registered, with every handler given an index into `sources`.
#[derive(Default)]
struct Plan {
    sources: Vec<String>,
    hooks: Vec<(String, usize, Vec<String>)>,
    routes: Vec<(String, String, Vec<Step>)>,
    uses: Vec<(i64, Step)>,
    crons: Vec<(String, String, usize)>,
    cron_removals: Vec<String>,
}

impl Plan {
    fn from(registrations: Vec<Registration>) -> Plan {
        let mut plan = Plan::default();
        let mut pending_routes = Vec::new();
        for registration in registrations {
            match registration {
                Registration::Hook { name, source, tags } => {
                    let index = plan.source(source);
                    plan.hooks.push((name, index, tags));
                }
                Registration::Route {
                    method,
                    path,
                    source,
                    middlewares,
                } => {
                    let handler = plan.source(source);
                    let steps = plan.middlewares(middlewares);
                    pending_routes.push((method, path, handler, steps));
                }
                Registration::Use { middlewares } => {
                    let steps = plan.middlewares(middlewares);
                    plan.uses.extend(steps);
                }
                Registration::Cron { id, expr, source } => {
                    let index = plan.source(source);
                    plan.crons.push((id, expr, index));
                }
                Registration::CronRemove { id } => plan.cron_removals.push(id),
            }
        }
        for (method, path, handler, steps) in pending_routes {
            plan.routes
                .push((method, path, routes::chain(steps, handler)));
        }
        // `routerUse` middlewares run before every request, in priority order.
        plan.uses.sort_by_key(|(priority, _)| *priority);
        plan
    }

    fn source(&mut self, source: String) -> usize {
        self.sources.push(source);
        self.sources.len() - 1
    }

    fn middlewares(&mut self, middlewares: Vec<Middleware>) -> Vec<(i64, Step)> {
        middlewares
            .into_iter()
            .map(|m| match m {
                Middleware::Builtin { builtin, args } => (0, Step::Builtin(builtin, args)),
                Middleware::Handler { source, priority } => {
                    (priority, Step::Handler(self.source(source)))
                }
            })
            .collect()
    }
}

/// A worker's context: the host functions, the prelude, and every handler compiled as its
/// own strict program (PocketBase compiles its handler wrapper in strict mode).
fn setup_worker(
    ctx: &Ctx<'_>,
    host: &Arc<Host>,
    sources: &[String],
    pages: Option<&Arc<crate::pages::Shared>>,
) -> Result<(), String> {
    let prepared = (|| -> rquickjs::Result<()> {
        host::install(ctx, host)?;
        ctx.eval::<(), _>(PRELUDE)?;
        if let Some(pages) = pages {
            crate::pages::install(ctx, pages)?;
        }
        Ok(())
    })();
    prepared.map_err(|e| format!("the JS prelude failed: {}", loader::describe(ctx, e)))?;
    let mut handlers = Vec::with_capacity(sources.len());
    for (index, source) in sources.iter().enumerate() {
        let mut options = rquickjs::context::EvalOptions::default();
        options.strict = true;
        options.filename = Some(format!("handler-{index}.js"));
        let f: Function = ctx
            .eval_with_options(format!("({source})"), options)
            .map_err(|e| format!("a handler failed to compile: {}", loader::describe(ctx, e)))?;
        handlers.push(Persistent::save(ctx, f));
    }
    events::set_handlers(handlers);
    Ok(())
}

/// `cronAdd` called inside a handler: the job's source is compiled when it runs.
fn runtime_crons(app: App, pool: Arc<OnceLock<WeakPool>>) -> host::AddCron {
    Box::new(move |id, expr, source| {
        let pool = pool
            .get()
            .cloned()
            .ok_or("cronAdd is not available while loading")?;
        let source = source.to_string();
        let job = crate::cron::job_fn(move || {
            let (pool, source) = (pool.clone(), source.clone());
            async move {
                // A cron outliving its generation does nothing.
                let Some(pool) = pool.upgrade() else {
                    return;
                };
                pool.spawn(move || {
                    bridge::with_ctx(|ctx| {
                        let mut options = rquickjs::context::EvalOptions::default();
                        options.strict = true;
                        let ran = ctx
                            .eval_with_options::<Function, _>(format!("({source})"), options)
                            .and_then(|f| f.call::<_, ()>(()));
                        if let Err(err) = ran {
                            tracing::error!("cron job failed: {}", loader::describe(&ctx, err));
                        }
                    });
                });
            }
        });
        app.crons().add(id, expr, job)
    })
}

/// A `cronAdd` of a hook file: runs handler `index` on a worker.
fn add_cron(app: &App, pool: Pool, id: &str, expr: &str, index: usize) -> Result<(), String> {
    let label = id.to_string();
    let job = crate::cron::job_fn(move || {
        let (pool, label) = (pool.clone(), label.clone());
        async move {
            pool.spawn(move || {
                bridge::with_ctx(|ctx| {
                    let ran = events::handler(&ctx, index).and_then(|f| f.call::<_, ()>(()));
                    if let Err(err) = ran {
                        tracing::error!("cron {label:?} failed: {}", loader::describe(&ctx, err));
                    }
                });
            });
        }
    });
    app.crons().add(id, expr, job)
}

fn bind_one<E: JsEvent>(
    app: &App,
    select: fn(&Hooks) -> &Hook<E>,
    pool: &Pool,
    index: usize,
    tags: &[String],
) -> Box<dyn FnOnce() + Send> {
    let handler: HandlerFn<E> =
        Arc::new(move |e, next| Box::pin(async move { events::call_handler(index, e, next) }));
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    let executor: Arc<dyn crate::hooks::Executor> = Arc::new(pool.clone());
    let id = select(app.hooks()).bind_on(Some(executor), 0, &tags, handler);
    let app = app.clone();
    Box::new(move || select(app.hooks()).unbind(id))
}

/// Binds JS handler `index` to the engine hook PocketBase calls `name`.
fn bind_hook(
    app: &App,
    name: &str,
    pool: &Pool,
    index: usize,
    tags: &[String],
) -> Option<Box<dyn FnOnce() + Send>> {
    macro_rules! binders {
        ($($binder:literal => $field:ident),* $(,)?) => {
            match name {
                $($binder => Some(bind_one(app, |h| &h.$field, pool, index, tags)),)*
                _ => None,
            }
        };
    }
    binders! {
        "onRecordRequestOTPRequest" => on_record_request_otp_request,
        "onRecordAuthWithOTPRequest" => on_record_auth_with_otp_request,
        "onMailerRecordOTPSend" => on_mailer_record_otp_send,
        "onMailerRecordVerificationSend" => on_mailer_record_verification_send,
        "onMailerRecordPasswordResetSend" => on_mailer_record_password_reset_send,
        "onMailerRecordEmailChangeSend" => on_mailer_record_email_change_send,
        "onMailerRecordAuthAlertSend" => on_mailer_record_auth_alert_send,
        "onCollectionCreate" => on_collection_create,
        "onCollectionUpdate" => on_collection_update,
        "onCollectionDelete" => on_collection_delete,
        "onCollectionAfterCreateSuccess" => on_collection_after_create_success,
        "onCollectionAfterUpdateSuccess" => on_collection_after_update_success,
        "onCollectionAfterDeleteSuccess" => on_collection_after_delete_success,
        "onBootstrap" => on_bootstrap,
        "onTerminate" => on_terminate,
        "onSettingsReload" => on_settings_reload,
        "onRecordAuthRequest" => on_record_auth_request,
        "onRecordsListRequest" => on_records_list_request,
        "onRecordAuthWithPasswordRequest" => on_record_auth_with_password_request,
        "onRecordAuthRefreshRequest" => on_record_auth_refresh_request,
        "onRecordRequestVerificationRequest" => on_record_request_verification_request,
        "onRecordConfirmVerificationRequest" => on_record_confirm_verification_request,
        "onRecordRequestPasswordResetRequest" => on_record_request_password_reset_request,
        "onRecordConfirmPasswordResetRequest" => on_record_confirm_password_reset_request,
        "onRecordRequestEmailChangeRequest" => on_record_request_email_change_request,
        "onRecordConfirmEmailChangeRequest" => on_record_confirm_email_change_request,
        "onRecordEnrich" => on_record_enrich,
        "onRecordViewRequest" => on_record_view_request,
        "onRecordCreateRequest" => on_record_create_request,
        "onRecordUpdateRequest" => on_record_update_request,
        "onRecordDeleteRequest" => on_record_delete_request,
        "onRecordValidate" => on_record_validate,
        "onRecordCreate" => on_record_create,
        "onRecordUpdate" => on_record_update,
        "onRecordDelete" => on_record_delete,
        "onRecordAfterCreateSuccess" => on_record_after_create_success,
        "onRecordAfterUpdateSuccess" => on_record_after_update_success,
        "onRecordAfterDeleteSuccess" => on_record_after_delete_success,
        "onRecordAfterCreateError" => on_record_after_create_error,
        "onRecordAfterUpdateError" => on_record_after_update_error,
        "onRecordAfterDeleteError" => on_record_after_delete_error,
        "onRealtimeConnectRequest" => on_realtime_connect_request,
        "onRealtimeSubscribeRequest" => on_realtime_subscribe_request,
        "onRealtimeMessageSend" => on_realtime_message_send,
    }
}
