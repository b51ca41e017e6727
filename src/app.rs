//! `App`: the one shared handle every face uses: the store, the collection cache and the
//! settings. Cloning is cheap (an `Arc`); the reloadable parts sit behind `RwLock<Arc<_>>`
//! so readers take a snapshot and never hold a lock across an await.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::core::collection::Collection;
use crate::core::metrics::Metrics;
use crate::core::settings::Settings;
use crate::core::system;
use crate::core::windows::Windows;
use crate::cron::Crons;
use crate::hooks::{self, AppEvent, Hooks};
use crate::mail::{self, Delivery, MailError, Message, Transport};
use crate::ratelimit::{Limiter, SystemClock};
use crate::store::{self, Store};

/// Where the app keeps its data and how it runs (the `serve` flags the engine cares about).
#[derive(Debug, Clone)]
pub struct Config {
    /// The data dir (`--dir`), holding `data.db`.
    pub data_dir: PathBuf,
    /// `--dev`: verbose logs and error details.
    pub dev: bool,
}

#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Store,
    collections: RwLock<Arc<Vec<Arc<Collection>>>>,
    /// Bumped whenever the collection cache is reloaded (lets JS workers cache collections).
    collections_version: std::sync::atomic::AtomicU64,
    settings: RwLock<Arc<Settings>>,
    windows: Windows,
    metrics: Metrics,
    crons: Arc<Crons>,
    hooks: Hooks,
    /// Rebuilt (all counters reset) whenever the settings are saved.
    limiter: RwLock<Arc<Limiter>>,
    realtime: crate::realtime::Broker,
}

/// Why the app could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl From<sqlx::Error> for StartError {
    fn from(err: sqlx::Error) -> Self {
        StartError(format!("database: {err}"))
    }
}

impl App {
    /// Opens the data dir: migrates the system tables, creates the system collections and
    /// the default `users` collection on first start, loads the settings.
    pub async fn open(config: Config) -> Result<App, StartError> {
        let store = Store::open(&config.data_dir).await?;
        system::bootstrap(&store).await?;
        let collections = store::collections::load_all(&store.reader).await?;
        let settings = load_settings(&store).await?;
        let settings_json = settings.0.clone();
        let app = App {
            inner: Arc::new(Inner {
                config,
                store,
                collections: RwLock::new(Arc::new(collections)),
                collections_version: std::sync::atomic::AtomicU64::new(1),
                settings: RwLock::new(Arc::new(settings)),
                windows: Windows::default(),
                metrics: Metrics::default(),
                crons: Arc::new(Crons::new()),
                hooks: Hooks::default(),
                limiter: RwLock::new(Arc::new(Limiter::from_settings(
                    &settings_json,
                    Arc::new(SystemClock),
                ))),
                realtime: crate::realtime::Broker::default(),
            }),
        };
        crate::jobs::register(&app);
        Ok(app)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The realtime clients (`$app.subscriptionsBroker()`).
    pub fn realtime(&self) -> &crate::realtime::Broker {
        &self.inner.realtime
    }

    /// A snapshot of every collection.
    pub fn collections(&self) -> Arc<Vec<Arc<Collection>>> {
        self.inner
            .collections
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Changes whenever any collection changes.
    pub fn collections_version(&self) -> u64 {
        self.inner
            .collections_version
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The collection with this id or, failing that, this name (PocketBase's lookup order).
    pub fn collection(&self, id_or_name: &str) -> Option<Arc<Collection>> {
        let all = self.collections();
        all.iter()
            .find(|c| c.id == id_or_name)
            .or_else(|| all.iter().find(|c| c.name.eq_ignore_ascii_case(id_or_name)))
            .cloned()
    }

    /// Re-reads the collection cache after a committed change.
    pub async fn reload_collections(&self) -> Result<(), sqlx::Error> {
        let fresh = store::collections::load_all(&self.inner.store.reader).await?;
        match self.inner.collections.write() {
            Ok(mut slot) => *slot = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        self.inner
            .collections_version
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.inner
            .settings
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Stores validated settings and swaps them in.
    pub async fn save_settings(&self, settings: Settings) -> Result<(), sqlx::Error> {
        store::params::set(
            &mut *self.inner.store.writer.turn().await?,
            SETTINGS_KEY,
            &settings.0,
        )
        .await?;
        let limiter = Arc::new(Limiter::from_settings(&settings.0, Arc::new(SystemClock)));
        match self.inner.limiter.write() {
            Ok(mut slot) => *slot = limiter,
            Err(poisoned) => *poisoned.into_inner() = limiter,
        }
        match self.inner.settings.write() {
            Ok(mut slot) => *slot = Arc::new(settings),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(settings),
        }
        let mut event = AppEvent { app: self.clone() };
        if let Err(err) = self
            .hooks()
            .on_settings_reload
            .trigger(&mut event, &hooks::proceed)
            .await
        {
            tracing::error!("onSettingsReload failed: {err}");
        }
        Ok(())
    }

    /// Short-lived keyed counters (mail resend throttles, OTP attempts).
    pub fn windows(&self) -> &Windows {
        &self.inner.windows
    }

    /// The cron jobs (the engine's own, registered by `jobs::register`).
    pub fn crons(&self) -> &Arc<Crons> {
        &self.inner.crons
    }

    /// The hook chains every operation runs through.
    pub fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }

    /// The rate limiter for the current settings.
    pub fn limiter(&self) -> Arc<Limiter> {
        self.inner
            .limiter
            .read()
            .map(|l| Arc::clone(&l))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Where mail goes now: SMTP when `settings.smtp.enabled`, else the dev outbox
    /// `DIR/outbox/`.
    pub fn mail_transport(&self) -> Transport {
        match mail::SmtpConfig::from_settings(&self.settings().0) {
            Some(smtp) => Transport::Smtp(smtp),
            None => Transport::Outbox(self.inner.config.data_dir.join("outbox")),
        }
    }

    /// Sends `message` now and logs the outcome (one line; an outbox write says where).
    pub async fn send_mail(&self, message: &Message) -> Result<Delivery, MailError> {
        let to = message
            .to
            .first()
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let result = mail::send(&self.mail_transport(), message).await;
        match &result {
            Ok(Delivery::Written(path)) => {
                tracing::info!("mail to {to} written to {}", path.display())
            }
            Ok(Delivery::Sent) => tracing::debug!("mail sent to {to}"),
            Err(err) => tracing::error!("failed to send mail to {to}: {err}"),
        }
        result
    }

    /// Closes the database cleanly (WAL checkpointed).
    pub async fn close(&self) {
        self.inner.store.close().await;
    }
}

const SETTINGS_KEY: &str = "settings";

/// The stored settings over the defaults; a fresh data dir gets the defaults written.
async fn load_settings(store: &Store) -> Result<Settings, sqlx::Error> {
    match store::params::get(&store.reader, SETTINGS_KEY).await? {
        Some(value) => Ok(Settings::from_stored(&value)),
        None => {
            let settings = Settings::default();
            store::params::set(&mut *store.writer.turn().await?, SETTINGS_KEY, &settings.0).await?;
            Ok(settings)
        }
    }
}
