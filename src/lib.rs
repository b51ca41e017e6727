//! Satchel: a drop-in replacement for PocketBase (same REST API, same `pb_data`), in one
//! Rust binary.
//!
//! The crate is one engine with faces on top (see `../shared/DESIGN.md`):
//!
//! - engine: [`core`] (collections, fields, records, settings), [`auth`] (passwords,
//!   tokens, superusers), [`filter`] (PocketBase's filter language), [`store`] (SQLite:
//!   the only place that writes SQL);
//! - faces: [`api`] (the REST API on axum), [`js`] (`pb_hooks` on QuickJS), [`cli`] (the
//!   command line);
//! - glue: [`app`] (the shared handle), [`server`] (serving with graceful shutdown),
//!   [`error`] (the one error type that crosses the HTTP boundary).
//!
//! Errors: engine modules return typed errors; [`error::ApiError`] is made at the HTTP edge;
//! the CLI reports plain messages, worded as PocketBase's.

// `unsafe` lives only in the JS bridge (`js::bridge`), where rquickjs needs it.
#![deny(unsafe_code)]

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod core;
pub mod cron;
pub mod error;
pub mod filter;
pub mod hooks;
pub mod jobs;
pub mod js;
pub mod mail;
pub mod pages;
pub mod ratelimit;
pub mod realtime;
pub mod server;
pub mod store;
pub mod watch;

use cli::{Cli, Command, MigrateAction, SuperuserAction};

/// Runs a parsed command line; `Ok` carries the success line to print (may be empty).
pub async fn run(cli: Cli) -> Result<String, String> {
    init_tracing(cli.global.dev);
    match &cli.command {
        Command::Serve(args) => server::serve(&cli.global, args)
            .await
            .map(|()| String::new()),
        Command::Superuser { action } => superuser(&cli.global, action).await,
        Command::Migrate { action } => migrate(&cli.global, action).await,
    }
}

async fn migrate(global: &cli::GlobalArgs, action: &MigrateAction) -> Result<String, String> {
    let dir = global.migrations_dir();
    let config = app::Config {
        data_dir: global.dir.clone(),
        dev: global.dev,
    };
    let app = app::App::open(config).await.map_err(|e| e.to_string())?;
    let outcome = match action {
        MigrateAction::Up => js::migrations::up(&app, &dir).await.map(|applied| {
            if applied.is_empty() {
                "No new migrations to apply.".to_string()
            } else {
                applied
                    .iter()
                    .map(|f| format!("Applied {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }),
        MigrateAction::Down { n } => js::migrations::down(&app, &dir, *n).await.map(|reverted| {
            if reverted.is_empty() {
                "No migrations to revert.".to_string()
            } else {
                reverted
                    .iter()
                    .map(|f| format!("Reverted {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }),
        MigrateAction::Create { name } => match name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => js::migrations::create(
                &dir,
                name,
                ("  // add up queries...", "  // add down queries..."),
            )
            .map(|p| format!("Successfully created file {:?}", p.display().to_string())),
            None => Err("Missing migration file name".into()),
        },
        MigrateAction::Collections => js::migrations::snapshot(&app, &dir)
            .map(|p| format!("Successfully created file {:?}", p.display().to_string())),
    };
    app.close().await;
    outcome
}

async fn superuser(global: &cli::GlobalArgs, action: &SuperuserAction) -> Result<String, String> {
    use auth::superusers::{self, Outcome};
    let (email, password) = match action {
        SuperuserAction::Upsert { email, password }
        | SuperuserAction::Create { email, password }
        | SuperuserAction::Update { email, password } => (email.clone(), password.clone()),
        SuperuserAction::Delete { email } => (email.clone(), Some(String::new())),
    };
    let (Some(email), Some(password)) = (email.filter(|e| !e.is_empty()), password) else {
        let missing = if matches!(action, SuperuserAction::Delete { .. }) {
            "missing email argument"
        } else {
            "missing email and password arguments"
        };
        return Err(missing.to_string());
    };
    let config = app::Config {
        data_dir: global.dir.clone(),
        dev: global.dev,
    };
    let app = app::App::open(config).await.map_err(|e| e.to_string())?;
    let outcome = match action {
        SuperuserAction::Upsert { .. } => superusers::upsert(&app, &email, &password).await,
        SuperuserAction::Create { .. } => superusers::create(&app, &email, &password).await,
        SuperuserAction::Update { .. } => superusers::update(&app, &email, &password).await,
        SuperuserAction::Delete { .. } => superusers::delete(&app, &email).await,
    };
    app.close().await;
    Ok(match outcome? {
        Outcome::Created => format!("Successfully created new superuser {email:?}!"),
        Outcome::Saved => format!("Successfully saved superuser {email:?}!"),
        Outcome::PasswordChanged => format!("Successfully changed superuser {email:?} password!"),
        Outcome::Deleted => format!("Successfully deleted superuser {email:?}!"),
        Outcome::Missing => format!("superuser {email:?} is missing or already deleted"),
    })
}

/// Logs to stderr; `RUST_LOG` overrides, `--dev` turns on debug output.
fn init_tracing(dev: bool) {
    let default = if dev { "satchel=debug,info" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal, so redirected logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
