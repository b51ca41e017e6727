//! Running the HTTP server: open the app, bind, print the banner, serve until SIGINT or
//! SIGTERM, let in-flight requests finish, then close the database cleanly.

use std::future::Future;

use tokio::net::TcpListener;

use crate::api::{self, HttpConfig, Public};
use crate::app::{App, Config};
use crate::auth::installer;
use crate::cli::{GlobalArgs, ServeArgs};
use crate::hooks::{self, AppEvent};
use crate::js::pool::Limits;
use crate::js::{Js, JsConfig};
use std::sync::Arc;

/// `satchel serve`.
pub async fn serve(global: &GlobalArgs, args: &ServeArgs) -> Result<(), String> {
    let app = App::open(Config {
        data_dir: global.dir.clone(),
        dev: global.dev,
    })
    .await
    .map_err(|e| e.to_string())?;
    let applied = crate::js::migrations::up(&app, &global.migrations_dir()).await?;
    for file in applied {
        tracing::info!("applied migration {file}");
    }
    let js = start_js(&app, global)?;
    let _watcher = match (&js, global.hooks_watch) {
        (Some(js), true) => {
            let config = js.config();
            let mut dirs = vec![config.hooks_dir.clone()];
            dirs.extend(config.pages_dir.clone());
            Some(crate::watch::watch(&dirs, Arc::clone(js))?)
        }
        _ => None,
    };
    bootstrap(&app).await?;
    let listener = TcpListener::bind(&args.http)
        .await
        .map_err(|e| format!("failed to listen on {}: {e}", args.http))?;
    let http = HttpConfig {
        public: Public {
            dir: global
                .public_dir
                .is_dir()
                .then(|| global.public_dir.clone()),
            index_fallback: global.index_fallback,
        },
        origins: args.origins.clone(),
        js,
    };
    let shutdown = shutdown_signal();
    print_banner(&app, &listener).await;
    run(listener, app.clone(), http, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    terminate(&app).await;
    app.close().await;
    tracing::info!("server stopped, database closed");
    Ok(())
}

/// Serves `app` on `listener` until `shutdown` resolves; tests call this with port 0.
pub async fn run(
    listener: TcpListener,
    app: App,
    http: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ticker = app.crons().start();
    let router =
        api::router(app, http).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    ticker.abort();
    served
}

/// Runs `onBootstrap` (the app is open; a failing handler stops the start).
pub async fn bootstrap(app: &App) -> Result<(), String> {
    let mut event = AppEvent { app: app.clone() };
    app.hooks()
        .on_bootstrap
        .trigger(&mut event, &hooks::proceed)
        .await
        .map_err(|e| format!("onBootstrap failed: {}", e.message))
}

/// Runs `onTerminate` before the database closes.
pub async fn terminate(app: &App) {
    let mut event = AppEvent { app: app.clone() };
    if let Err(err) = app
        .hooks()
        .on_terminate
        .trigger(&mut event, &hooks::proceed)
        .await
    {
        tracing::error!("onTerminate failed: {err}");
    }
}

/// Loads `pb_hooks` (default `<dir>/../pb_hooks`) and the pages (`--pagesDir`, else
/// `<hooksDir>/pages`) when either exists.
fn start_js(app: &App, global: &GlobalArgs) -> Result<Option<Arc<Js>>, String> {
    let hooks_dir = global
        .hooks_dir
        .clone()
        .unwrap_or_else(|| global.dir.join("..").join("pb_hooks"));
    let pages_dir = crate::pages::root(&global.pages_dir, &hooks_dir);
    if !hooks_dir.is_dir() && pages_dir.is_none() {
        return Ok(None);
    }
    let hooks_dir = hooks_dir.canonicalize().unwrap_or(hooks_dir);
    let mut limits = Limits::default();
    if let Some(workers) = global.hooks_pool {
        limits.workers = workers.max(1);
    }
    limits.timeout = std::time::Duration::from_secs(global.hooks_timeout.max(1));
    Js::start(
        app,
        JsConfig {
            hooks_dir,
            pages_dir,
            limits,
        },
    )
    .map(Some)
}

async fn print_banner(app: &App, listener: &TcpListener) {
    let base = listener
        .local_addr()
        .map(|a| format!("http://{a}"))
        .unwrap_or_default();
    let now = chrono::Local::now().format("%Y/%m/%d %H:%M:%S");
    println!("{now} Server started at {base}");
    println!("├─ REST API:  {base}/api/");
    println!("└─ Dashboard: {base}/_/");
    // PocketBase's wording; the link's token only creates the first superuser (auth::installer).
    if let Some(token) = installer::token_if_needed(app).await {
        println!();
        println!("(!) Launch the URL below in the browser to create your first superuser account:");
        println!("{}", installer::link(&base, &token));
        println!(
            "(you can also create your first superuser by running: satchel superuser upsert EMAIL PASS)"
        );
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled, so a signal sent right after the banner is never
/// lost to the default action (which would skip the graceful shutdown).
fn shutdown_signal() -> impl Future<Output = ()> + Send {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    async move {
        let wait = |s: &mut Option<tokio::signal::unix::Signal>| {
            let s = s.take();
            async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
        };
        tokio::select! {
            () = wait(&mut interrupt) => {}
            () = wait(&mut terminate) => {}
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
