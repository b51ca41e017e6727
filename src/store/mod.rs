//! Storage: `pb_data/data.db` through sqlx, with PocketBase's pragmas, one writer
//! connection (every write is serialized in-process) and a pool of read-only readers, plus
//! synchronous read-only connections for the hot read paths (`read`).
//!
//! This module tree is the only place that writes SQL text: `sql` audits every dynamic
//! string, `schema` turns collection changes into DDL, `collections` and `records` hold
//! the queries.

pub mod auth;
pub mod collections;
pub mod params;
pub mod read;
pub mod records;
pub mod schema;
pub mod sql;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::sync::Arc;

use serde_json::{Map, Value};
use sqlx::{Sqlite, Transaction};

use crate::core::collection::Collection;

/// The open database: `writer` for every statement that changes data, `reader` for the rest.
#[derive(Clone, Debug)]
pub struct Store {
    pub writer: SqlitePool,
    pub reader: SqlitePool,
    /// Synchronous read-only connections for the hot read paths (see `read`).
    pub read: std::sync::Arc<read::Readers>,
}

/// Where a record operation reads and writes: the shared connections, or one open
/// transaction (`/api/batch`), so later steps see earlier ones and all commit together.
#[derive(Clone, Copy)]
pub enum Db<'a> {
    Shared(&'a Store),
    Tx(&'a Arc<Tx>),
}

impl Db<'_> {
    /// A handle that can be kept (in a hook event) and turned back into a `Db`.
    pub fn handle(&self) -> DbHandle {
        match self {
            Db::Shared(_) => DbHandle::Shared,
            Db::Tx(tx) => DbHandle::Tx(Arc::clone(tx)),
        }
    }
}

/// An owned [`Db`]: the shared connections, or a transaction kept alive by its holders.
#[derive(Clone)]
pub enum DbHandle {
    Shared,
    Tx(Arc<Tx>),
}

impl DbHandle {
    pub fn db<'a>(&'a self, store: &'a Store) -> Db<'a> {
        match self {
            DbHandle::Shared => Db::Shared(store),
            DbHandle::Tx(tx) => Db::Tx(tx),
        }
    }
}

/// A record change whose "after success" hooks wait for the transaction to commit.
pub struct Committed {
    pub change: Change,
    pub collection: Collection,
    pub record: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Delete,
}

/// A write transaction held across several operations. It owns the (single) writer
/// connection until it is committed or dropped (dropping rolls back).
pub struct Tx {
    tx: tokio::sync::Mutex<Transaction<'static, Sqlite>>,
    committed: std::sync::Mutex<Vec<Committed>>,
    /// Files outside the database that follow the transaction's fate.
    files: crate::core::files::storage::Pending,
}

impl Tx {
    pub async fn begin(store: &Store) -> Result<Arc<Tx>, sqlx::Error> {
        Ok(Arc::new(Tx {
            tx: tokio::sync::Mutex::new(store.writer.begin().await?),
            committed: std::sync::Mutex::new(Vec::new()),
            files: Default::default(),
        }))
    }

    /// The transaction's connection, for one operation at a time.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, Transaction<'static, Sqlite>> {
        self.tx.lock().await
    }

    /// Remembers a change for after the commit.
    pub fn defer(&self, change: Committed) {
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(change);
    }

    /// The files written and dropped by this transaction's writes: the new ones are removed
    /// unless it commits, the dropped ones once it does.
    pub fn files(&self) -> &crate::core::files::storage::Pending {
        &self.files
    }

    /// Commits; the changes made, in order. Fails if a handle is still held elsewhere.
    pub async fn commit(tx: Arc<Tx>) -> Result<Vec<Committed>, sqlx::Error> {
        let tx = Arc::try_unwrap(tx)
            .map_err(|_| sqlx::Error::Protocol("transaction still in use".into()))?;
        tx.tx.into_inner().commit().await?;
        tx.files.committed();
        Ok(tx.committed.into_inner().unwrap_or_else(|p| p.into_inner()))
    }
}

/// PocketBase's migration history, recorded in `_migrations` so that PocketBase itself
/// treats a Satchel-made data dir as up to date (reference 0.40.6 `_migrations` rows).
const POCKETBASE_MIGRATIONS: [&str; 8] = [
    "1640988000_aux_init.go",
    "1640988000_init.go",
    "1717233556_v0.23_migrate.go",
    "1717233557_v0.23_migrate2.go",
    "1717233558_v0.23_migrate3.go",
    "1717233559_v0.23_migrate4.go",
    "1763020353_update_default_auth_alert_templates.go",
    "1778828400_normalize_indexes.go",
];

impl Store {
    /// Opens (creating if needed) `dir/data.db` and applies the system-table migrations.
    pub async fn open(dir: &Path) -> Result<Store, sqlx::Error> {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        let url = format!("sqlite://{}", dir.join("data.db").display());
        // PocketBase's DSN: busy_timeout(10000), WAL, journal_size_limit(200000000),
        // synchronous(NORMAL), foreign_keys(ON), temp_store(MEMORY), cache_size(-32000).
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "MEMORY")
            .pragma("cache_size", "-32000")
            .pragma("journal_size_limit", "200000000");
        // No liveness ping before each use: a local SQLite connection does not drop, and the
        // ping was a second round trip to sqlx's connection thread on every write.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!()
            .run(&writer)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        let readers =
            std::thread::available_parallelism().map_or(4, |n| (n.get() * 2).max(4)) as u32;
        let reader = SqlitePoolOptions::new()
            .max_connections(readers)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        let read = std::sync::Arc::new(read::Readers::new(dir.join("data.db")));
        let store = Store {
            writer,
            reader,
            read,
        };
        store.record_pocketbase_history().await?;
        Ok(store)
    }

    async fn record_pocketbase_history(&self) -> Result<(), sqlx::Error> {
        let applied = chrono::Utc::now().timestamp_micros();
        for file in POCKETBASE_MIGRATIONS {
            sqlx::query("INSERT OR IGNORE INTO `_migrations` (file, applied) VALUES (?, ?)")
                .bind(file)
                .bind(applied)
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.read.close();
        self.reader.close().await;
        self.writer.close().await;
    }
}
