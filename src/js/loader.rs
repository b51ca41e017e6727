//! Loading `pb_hooks` (§9.1): every `*.pb.js` file is evaluated once, non-strict, in sorted
//! file order, in a throwaway runtime whose registration globals (`routerAdd`, `routerUse`,
//! `cronAdd`, the `on*` binders) record what the file registered, with each handler's
//! source text. Workers then compile every handler as its own program, so top-level
//! variables of a hook file are not visible inside handlers, exactly as in PocketBase.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rquickjs::{Context, Function, Runtime};
use serde::Deserialize;
use serde_json::Value;

use crate::js::host::{self, Host};

/// One middleware of a route or of `routerUse`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Middleware {
    /// A `$apis.*()` middleware, rebuilt in each worker from its name and arguments.
    Builtin { builtin: String, args: Vec<Value> },
    /// A JS function (or `new Middleware(fn, priority, id)`).
    Handler {
        source: String,
        #[serde(default)]
        priority: i64,
    },
}

/// What one hook file registered, in registration order.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Registration {
    Hook {
        name: String,
        source: String,
        tags: Vec<String>,
    },
    Route {
        method: String,
        path: String,
        source: String,
        middlewares: Vec<Middleware>,
    },
    Use {
        middlewares: Vec<Middleware>,
    },
    Cron {
        id: String,
        expr: String,
        source: String,
    },
    CronRemove {
        id: String,
    },
}

/// The hook files of `dir` (top level only), sorted by name. PocketBase's order is random
/// (§9.1); sorted is the documented intent and makes loading reproducible.
pub fn hook_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".pb.js"))
        })
        .collect();
    files.sort();
    files
}

/// Evaluates `files` and returns what they registered. A file that throws fails the load
/// with its name and error.
/// With `pages`, the pages runtime is installed first (so `require('pocketpages')` answers
/// it) and `+config.js` is read; its answer comes back for the scan.
pub fn load(
    host: &Arc<Host>,
    files: &[PathBuf],
    pages: Option<&Arc<crate::pages::Shared>>,
) -> Result<(Vec<Registration>, Option<crate::pages::Config>), String> {
    let runtime = Runtime::new().map_err(|e| e.to_string())?;
    runtime.set_memory_limit(256 << 20);
    let context = Context::full(&runtime).map_err(|e| e.to_string())?;
    context.with(|ctx| {
        let setup = || -> rquickjs::Result<()> {
            host::install(&ctx, host)?;
            ctx.eval::<(), _>(super::PRELUDE)?;
            ctx.eval::<(), _>(registration_source())
        };
        setup().map_err(|e| format!("the JS prelude failed: {}", describe(&ctx, e)))?;
        let config = match pages {
            Some(pages) => Some(
                crate::pages::install(&ctx, pages)
                    .map_err(|e| format!("the pages failed to load: {}", describe(&ctx, e)))?,
            ),
            None => None,
        };
        for file in files {
            let source = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let mut options = rquickjs::context::EvalOptions::default();
            options.strict = false;
            options.filename = Some(file.to_string_lossy().to_string());
            ctx.eval_with_options::<(), _>(source, options)
                .map_err(|e| format!("{}: {}", file.display(), describe(&ctx, e)))?;
        }
        let registered = || -> rquickjs::Result<String> {
            let take: Function = ctx.globals().get("__registrations")?;
            take.call(())
        };
        let text = registered().map_err(|e| describe(&ctx, e))?;
        let registrations =
            serde_json::from_str(&text).map_err(|e| format!("bad registration data: {e}"))?;
        Ok((registrations, config))
    })
}

/// A JS error's text with its stack, for load failures.
pub fn describe(ctx: &rquickjs::Ctx<'_>, err: rquickjs::Error) -> String {
    if !matches!(err, rquickjs::Error::Exception) {
        return err.to_string();
    }
    let thrown = ctx.catch();
    match thrown.as_exception() {
        Some(ex) => format!(
            "{}\n{}",
            ex.message().unwrap_or_default(),
            ex.stack().unwrap_or_default()
        ),
        None => format!("{thrown:?}"),
    }
}

/// Every binder PocketBase 0.40.6 exposes (§9.2); the ones Satchel has no event for yet
/// load with a warning and never fire.
pub const BINDERS: &[&str] = &[
    "onBootstrap",
    "onSettingsReload",
    "onBackupCreate",
    "onBackupRestore",
    "onTerminate",
    "onMailerSend",
    "onMailerRecordAuthAlertSend",
    "onMailerRecordPasswordResetSend",
    "onMailerRecordVerificationSend",
    "onMailerRecordEmailChangeSend",
    "onMailerRecordOTPSend",
    "onRealtimeConnectRequest",
    "onRealtimeSubscribeRequest",
    "onRealtimeMessageSend",
    "onModelValidate",
    "onModelCreate",
    "onModelCreateExecute",
    "onModelAfterCreateSuccess",
    "onModelAfterCreateError",
    "onModelUpdate",
    "onModelUpdateExecute",
    "onModelAfterUpdateSuccess",
    "onModelAfterUpdateError",
    "onModelDelete",
    "onModelDeleteExecute",
    "onModelAfterDeleteSuccess",
    "onModelAfterDeleteError",
    "onRecordEnrich",
    "onRecordValidate",
    "onRecordCreate",
    "onRecordCreateExecute",
    "onRecordAfterCreateSuccess",
    "onRecordAfterCreateError",
    "onRecordUpdate",
    "onRecordUpdateExecute",
    "onRecordAfterUpdateSuccess",
    "onRecordAfterUpdateError",
    "onRecordDelete",
    "onRecordDeleteExecute",
    "onRecordAfterDeleteSuccess",
    "onRecordAfterDeleteError",
    "onCollectionValidate",
    "onCollectionCreate",
    "onCollectionCreateExecute",
    "onCollectionAfterCreateSuccess",
    "onCollectionAfterCreateError",
    "onCollectionUpdate",
    "onCollectionUpdateExecute",
    "onCollectionAfterUpdateSuccess",
    "onCollectionAfterUpdateError",
    "onCollectionDelete",
    "onCollectionDeleteExecute",
    "onCollectionAfterDeleteSuccess",
    "onCollectionAfterDeleteError",
    "onRecordsListRequest",
    "onRecordViewRequest",
    "onRecordCreateRequest",
    "onRecordUpdateRequest",
    "onRecordDeleteRequest",
    "onRecordAuthRequest",
    "onRecordAuthRefreshRequest",
    "onRecordAuthWithPasswordRequest",
    "onRecordAuthWithOAuth2Request",
    "onRecordRequestOTPRequest",
    "onRecordAuthWithOTPRequest",
    "onRecordRequestPasswordResetRequest",
    "onRecordConfirmPasswordResetRequest",
    "onRecordRequestVerificationRequest",
    "onRecordConfirmVerificationRequest",
    "onRecordRequestEmailChangeRequest",
    "onRecordConfirmEmailChangeRequest",
    "onCollectionsListRequest",
    "onCollectionViewRequest",
    "onCollectionCreateRequest",
    "onCollectionUpdateRequest",
    "onCollectionDeleteRequest",
    "onCollectionsImportRequest",
    "onSettingsListRequest",
    "onSettingsUpdateRequest",
    "onFileDownloadRequest",
    "onFileTokenRequest",
    "onBatchRequest",
];

/// The loader-only globals. A handler's source must compile on its own (method shorthand,
/// bound and native functions do not survive `String(fn)`; they are refused here, at load).
const REGISTRATION: &str = r#"
(function (globalThis, binders) {
  const regs = [];
  const source = (fn, what) => {
    if (typeof fn !== "function") throw new TypeError(what + " must be a function");
    const text = String(fn);
    if (text.includes("[native code]")) throw new TypeError(what + ": bound or native functions cannot be hook handlers");
    try { (0, eval)("(" + text + ")"); } catch (err) {
      throw new TypeError(what + ": the handler must be a function or arrow expression (" + err.message + ")");
    }
    return text;
  };
  const middleware = (m) => {
    if (typeof m === "function") return { source: source(m, "middleware"), priority: 0 };
    if (m && m.__builtin) return { builtin: m.__builtin, args: m.args };
    if (m && typeof m.func === "function") return { source: source(m.func, "middleware"), priority: m.priority || 0 };
    throw new TypeError("invalid middleware");
  };
  const apis = {};
  for (const name of Object.keys($apis)) apis[name] = (...args) => ({ __builtin: name, args });
  globalThis.$apis = apis;
  globalThis.routerAdd = (method, path, handler, ...mws) => {
    regs.push({ kind: "route", method: String(method).toUpperCase(), path: String(path),
      source: source(handler, "routerAdd handler"), middlewares: mws.map(middleware) });
  };
  globalThis.routerUse = (...mws) => { regs.push({ kind: "use", middlewares: mws.map(middleware) }); };
  globalThis.cronAdd = (id, expr, fn) => {
    regs.push({ kind: "cron", id: String(id), expr: String(expr), source: source(fn, "cronAdd handler") });
  };
  globalThis.cronRemove = (id) => { regs.push({ kind: "cronRemove", id: String(id) }); };
  for (const name of binders) {
    globalThis[name] = (fn, ...tags) => {
      regs.push({ kind: "hook", name, source: source(fn, name + " handler"), tags: tags.map(String) });
    };
  }
  globalThis.__registrations = () => JSON.stringify(regs);
})(globalThis, BINDERS_JSON);
"#;

/// The registration prelude with the binder list filled in.
pub fn registration_source() -> String {
    let binders = serde_json::to_string(BINDERS).unwrap_or_else(|_| "[]".into());
    REGISTRATION.replace("BINDERS_JSON", &binders)
}
