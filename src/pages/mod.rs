//! The pages face: PocketPages-compatible EJS pages (`pb_pages`, or a PocketPages project's
//! `pb_hooks/pages`), DESIGN.md "Pages", pocketpages-surface.md; user docs in `docs/pages.md`.
//!
//! A pages site is part of a hooks generation (`crate::js`): it shares the JS workers, and a
//! change under the pages root builds a new generation like a hook change does.
//! - [`site`]: the scan into a route table, route matching, `asset`/`include`/`resolve` paths
//! - [`statics`]: static files, served from Rust without touching JS
//! - [`ejs`]: the EJS compiler (a template becomes one JS function, compiled once per worker)
//! - `host.rs`: the host functions of `runtime.js`, including `pb()`'s in-process requests
//! - `runtime.js`: the request pipeline and context API; `util.js`: url/cookie/merge helpers;
//!   `sdk.js`: the synchronous PocketBase SDK behind `pb()` and the auth helpers
//!
//! Per request, Rust matches the route, serves statics, checks the `pb_auth` cookie and
//! parses the body; a matched template runs as the last step of the JS route chain (after
//! `routerUse` middlewares), on a worker.

pub mod ejs;
mod host;
pub mod site;
pub mod statics;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use rquickjs::{Ctx, Function, Object};
use serde::Deserialize;
use serde_json::Value;

use crate::app::App;
use site::Site;

const UTIL: &str = include_str!("util.js");
const SDK: &str = include_str!("sdk.js");
const RUNTIME: &str = include_str!("runtime.js");

/// The site of one generation, shared by its workers' host functions.
pub struct Shared {
    root: PathBuf,
    app: App,
    /// The whole HTTP app, for `pb()` (set once the server is built).
    router: Arc<OnceLock<Router>>,
    scanned: OnceLock<Scanned>,
    /// Compiled template sources by file (a generation sees one version of each file).
    templates: Mutex<HashMap<PathBuf, Arc<String>>>,
}

struct Scanned {
    site: Site,
    extensions: Vec<String>,
}

/// What `+config.js` said that Rust needs.
#[derive(Deserialize)]
pub struct Config {
    /// Template extensions (the EJS plugin's `extensions`; none without the plugin).
    extensions: Vec<String>,
}

impl Shared {
    pub fn new(root: PathBuf, app: &App, router: Arc<OnceLock<Router>>) -> Arc<Shared> {
        Arc::new(Shared {
            root,
            app: app.clone(),
            router,
            scanned: OnceLock::new(),
            templates: Mutex::new(HashMap::new()),
        })
    }

    /// Scans the root with the configured template extensions.
    pub fn scan(&self, config: &Config) -> Result<(), String> {
        let exts: Vec<&str> = config.extensions.iter().map(String::as_str).collect();
        let site = Site::scan(&self.root, &exts)?;
        let _ = self.scanned.set(Scanned {
            site,
            extensions: config.extensions.clone(),
        });
        Ok(())
    }

    /// The scanned site (scanning happens before any worker serves a request).
    pub fn site(&self) -> &Site {
        &self.scanned.get().expect("the pages site is scanned").site
    }

    fn extensions(&self) -> &[String] {
        self.scanned.get().map_or(&[], |s| &s.extensions)
    }

    /// `path` if it is inside the pages root.
    fn inside(&self, path: &Path) -> Option<PathBuf> {
        let real = path.canonicalize().ok()?;
        real.starts_with(&self.root).then_some(real)
    }

    /// The compiled JS source of template `path`.
    fn template(&self, path: &Path) -> Result<Arc<String>, String> {
        let mut cache = self.templates.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(path) {
            return Ok(Arc::clone(found));
        }
        let file = self
            .inside(path)
            .ok_or_else(|| format!("no template {}", path.display()))?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let source =
            Arc::new(ejs::compile(&text, &path.to_string_lossy()).map_err(|e| e.to_string())?);
        cache.insert(path.to_path_buf(), Arc::clone(&source));
        Ok(source)
    }
}

/// Installs the pages runtime in a JS context (after the prelude) and reads `+config.js`
/// there. The runtime is `__pages`; `require('pocketpages')` answers its module.
pub fn install(ctx: &Ctx<'_>, shared: &Arc<Shared>) -> rquickjs::Result<Config> {
    let h = host::object(ctx, shared)?;
    let util: Function = ctx.eval(UTIL)?;
    let util: Object = util.call(())?;
    let sdk: Function = ctx.eval(SDK)?;
    let runtime: Function = ctx.eval(RUNTIME)?;
    let pages: Object = runtime.call((h, util, sdk))?;
    let satchel: Object = ctx.globals().get("__satchel")?;
    let builtins: Object = satchel.get("builtinModules")?;
    let set: Function = builtins.get("set")?;
    set.call::<_, ()>((
        rquickjs::function::This(builtins.clone()),
        "pocketpages",
        pages.get::<_, Object>("moduleExports")?,
    ))?;
    let load: Function = pages.get("loadConfig")?;
    let root = shared.root.to_string_lossy().to_string();
    let text: String = load.call((root, env_debug()))?;
    ctx.globals().set("__pages", pages)?;
    serde_json::from_str(&text)
        .map_err(|e| rquickjs::Exception::throw_message(ctx, &format!("bad pages config: {e}")))
}

/// `DEBUG` ∈ {true, 1, yes, on, enabled} makes the default `debug` `'verbose'` (§9).
fn env_debug() -> bool {
    std::env::var("DEBUG").is_ok_and(|v| {
        ["true", "1", "yes", "on", "enabled"].contains(&v.to_ascii_lowercase().as_str())
    })
}

/// What the `pb_auth` cookie holds (§6.1).
pub enum AuthCookie {
    /// No cookie, an empty one, or one without a token: nothing to do.
    Absent,
    Token(String),
    /// Not JSON: the cookie is cleared.
    Garbage,
}

/// Reads the `pb_auth` cookie of a request.
pub fn auth_cookie(headers: &HeaderMap) -> AuthCookie {
    let Some(raw) = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("pb_auth="))
    else {
        return AuthCookie::Absent;
    };
    if raw.is_empty() {
        return AuthCookie::Absent;
    }
    let decoded = crate::api::public::percent_decode(raw);
    match decoded.and_then(|d| serde_json::from_str::<Value>(&d).ok()) {
        Some(Value::Object(map)) => match map.get("token").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => AuthCookie::Token(token.to_string()),
            _ => AuthCookie::Absent,
        },
        _ => AuthCookie::Garbage,
    }
}

/// Where the pages are: `--pagesDir` when it exists, else PocketPages' own
/// `<hooksDir>/pages`, else none.
pub fn root(pages_dir: &Path, hooks_dir: &Path) -> Option<PathBuf> {
    [pages_dir.to_path_buf(), hooks_dir.join("pages")]
        .into_iter()
        .find(|d| d.is_dir())
        .and_then(|d| d.canonicalize().ok())
}
