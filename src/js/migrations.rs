//! JS migrations (§9.1): `pb_migrations/*.js` files calling `migrate(up, down)`, applied in
//! file-name order and recorded in `_migrations` (the table PocketBase uses), at `serve` and
//! by `satchel migrate up|down|create|collections`. Each file runs in a one-worker runtime
//! with the hooks' globals; `up(app)` / `down(app)` get `$app`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rquickjs::{Function, Object};
use serde_json::Map;

use crate::app::App;
use crate::js::host::{self, Host};
use crate::js::pool::{Limits, Pool};
use crate::js::{PRELUDE, bridge, loader};

const MIGRATE: &str =
    "globalThis.migrate = (up, down) => { globalThis.__migration = { up, down }; };";

/// The migration files of `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "js"))
        .collect();
    files.sort();
    files
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

async fn applied(app: &App) -> Result<Vec<String>, String> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT file FROM `_migrations` ORDER BY applied DESC, file DESC")
            .fetch_all(&mut *app.store().writer.turn().await.map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())?;
    Ok(rows.into_iter().map(|(f,)| f).collect())
}

fn runner(app: &App, dir: &Path) -> Result<Pool, String> {
    let host = Arc::new(Host {
        app: app.clone(),
        hooks_dir: dir.to_path_buf(),
        store: Arc::new(Mutex::new(Map::new())),
        crons: Box::new(|_, _, _| Err("cronAdd is not available in migrations".into())),
    });
    let limits = Limits {
        workers: 1,
        ..Limits::default()
    };
    Pool::start(
        &limits,
        Arc::new(move |ctx| {
            let setup = (|| -> rquickjs::Result<()> {
                host::install(ctx, &host)?;
                ctx.eval::<(), _>(PRELUDE)?;
                ctx.eval::<(), _>(MIGRATE)
            })();
            setup.map_err(|e| loader::describe(ctx, e))
        }),
    )
}

/// Runs `up` (or `down`) of the migration in `path`.
async fn run(pool: &Pool, path: &Path, up: bool) -> Result<(), String> {
    let source = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = path.to_string_lossy().to_string();
    pool.run(move || {
        bridge::with_ctx(|ctx| {
            let run = || -> rquickjs::Result<()> {
                let mut options = rquickjs::context::EvalOptions::default();
                options.strict = false;
                options.filename = Some(file.clone());
                ctx.eval_with_options::<(), _>(source.clone(), options)?;
                let globals = ctx.globals();
                let migration: Object = globals.get("__migration")?;
                globals.remove("__migration")?;
                let step: Option<Function> = migration.get(if up { "up" } else { "down" })?;
                if let Some(step) = step {
                    let app: rquickjs::Value = globals.get("$app")?;
                    step.call::<_, rquickjs::Value>((app,))?;
                }
                Ok(())
            };
            run().map_err(|e| format!("{file}: {}", loader::describe(&ctx, e)))
        })
        .unwrap_or_else(|| Err("migration ran off its worker".into()))
    })
    .await
    .map_err(|e| format!("{e:?}"))?
}

/// Applies every migration of `dir` not yet recorded; returns the applied file names.
pub async fn up(app: &App, dir: &Path) -> Result<Vec<String>, String> {
    let done = applied(app).await?;
    let pending: Vec<PathBuf> = files(dir)
        .into_iter()
        .filter(|p| !done.contains(&name_of(p)))
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let pool = runner(app, dir)?;
    let mut names = Vec::new();
    for path in pending {
        run(&pool, &path, true).await?;
        let name = name_of(&path);
        sqlx::query("INSERT INTO `_migrations` (file, applied) VALUES (?, ?)")
            .bind(&name)
            .bind(chrono::Utc::now().timestamp_micros())
            .execute(&mut *app.store().writer.turn().await.map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())?;
        names.push(name);
    }
    Ok(names)
}

/// Reverts the last `count` applied migrations of `dir`; returns their file names.
pub async fn down(app: &App, dir: &Path, count: usize) -> Result<Vec<String>, String> {
    let available = files(dir);
    let targets: Vec<PathBuf> = applied(app)
        .await?
        .into_iter()
        .filter_map(|name| available.iter().find(|p| name_of(p) == name).cloned())
        .take(count)
        .collect();
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let pool = runner(app, dir)?;
    let mut names = Vec::new();
    for path in targets {
        run(&pool, &path, false).await?;
        let name = name_of(&path);
        sqlx::query("DELETE FROM `_migrations` WHERE file = ?")
            .bind(&name)
            .execute(&mut *app.store().writer.turn().await.map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())?;
        names.push(name);
    }
    Ok(names)
}

/// `migrate create <name>`: a blank migration file named `<unix time>_<name>.js`.
pub fn create(dir: &Path, name: &str, body: (&str, &str)) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{}_{slug}.js", chrono::Utc::now().timestamp()));
    let (up, down) = body;
    let text = format!(
        "/// <reference path=\"../pb_data/types.d.ts\" />\nmigrate((app) => {{\n{up}\n}}, (app) => {{\n{down}\n}})\n"
    );
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// `migrate collections`: a migration importing a snapshot of every non-system collection.
pub fn snapshot(app: &App, dir: &Path) -> Result<PathBuf, String> {
    let all: Vec<serde_json::Value> = app
        .collections()
        .iter()
        .filter(|c| !c.system)
        .map(|c| c.api_json())
        .collect();
    let json = serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?;
    let up =
        format!("  const snapshot = {json};\n\n  return app.importCollections(snapshot, false);");
    create(dir, "collections_snapshot", (&up, "  return null;"))
}
