//! Storage: `pb_data/data.db` with PocketBase's pragmas. One writer, taken in turn (every
//! write is serialized in-process), with a sqlx connection and a synchronous one for the
//! single-statement record writes; a sqlx pool of read-only readers, and synchronous
//! read-only connections for the hot read paths (`read`, `sync`).
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
pub mod sync;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_intrusive::sync::{SharedSemaphore, SharedSemaphoreReleaser};
use serde_json::{Map, Value};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqliteConnection};
use tokio::sync::Mutex;

use crate::core::collection::Collection;

/// The open database: `writer` for every statement that changes data, `reader` for the rest.
#[derive(Clone, Debug)]
pub struct Store {
    pub writer: Writer,
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

/// How long a write waits for its turn before failing (sqlx's pool default, kept).
const WRITE_WAIT: Duration = Duration::from_secs(30);

/// The writer: every write takes its turn, as from a pool of one, but without the
/// liveness ping sqlx's pool sends on every release (a second round trip to the
/// connection's thread on each write, while every other writer waited). The gate is not
/// fair: a writer that is already running takes a free turn before a queued one is woken,
/// which keeps the writer busy (a fair hand-over measured ~10% fewer writes).
///
/// A turn holds two connections to the database, used one at a time: sqlx's (on its own
/// thread; transactions, DDL, everything async) and a synchronous rusqlite one for the
/// single-statement record writes, which then cost no thread hop (see `sync`).
#[derive(Clone, Debug)]
pub struct Writer {
    gate: SharedSemaphore,
    slot: Arc<std::sync::Mutex<Option<Conns>>>,
    /// Told when a turn begins and ends (see `read::Readers::writing`).
    readers: Arc<read::Readers>,
}

#[derive(Debug)]
struct Conns {
    sqlx: SqliteConnection,
    sync: rusqlite::Connection,
}

/// A write turn: the writer's connections, for as long as this is held.
pub struct WriteTurn {
    conns: Option<Conns>,
    slot: Arc<std::sync::Mutex<Option<Conns>>>,
    readers: Arc<read::Readers>,
    /// Released after `Drop` has put the connections back.
    permit: Option<SharedSemaphoreReleaser>,
}

impl Writer {
    fn new(
        sqlx: SqliteConnection,
        sync: rusqlite::Connection,
        readers: Arc<read::Readers>,
    ) -> Writer {
        Writer {
            gate: SharedSemaphore::new(false, 1),
            slot: Arc::new(std::sync::Mutex::new(Some(Conns { sqlx, sync }))),
            readers,
        }
    }

    /// Waits for the connection (at most `WRITE_WAIT`, then `PoolTimedOut`).
    pub async fn turn(&self) -> Result<WriteTurn, sqlx::Error> {
        let permit = match self.gate.try_acquire(1) {
            Some(permit) => permit,
            None => tokio::time::timeout(WRITE_WAIT, self.gate.acquire(1))
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?,
        };
        let conns = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        match conns {
            Some(conns) => {
                self.readers.writing();
                Ok(WriteTurn {
                    conns: Some(conns),
                    slot: Arc::clone(&self.slot),
                    readers: Arc::clone(&self.readers),
                    permit: Some(permit),
                })
            }
            None => Err(sqlx::Error::PoolClosed),
        }
    }

    /// Closes the connection once the writes before finish; later turns fail.
    async fn close(&self) {
        if let Ok(mut turn) = self.turn().await
            && let Some(Conns { sqlx, sync }) = turn.conns.take()
        {
            drop(sync);
            let _ = sqlx.close().await;
        }
    }
}

impl WriteTurn {
    /// The synchronous connection (no statement may be pending on the sqlx one).
    pub fn sync(&self) -> &rusqlite::Connection {
        &self.conns().sync
    }

    fn conns(&self) -> &Conns {
        self.conns
            .as_ref()
            .expect("a turn holds the connections until dropped")
    }

    /// Moves the turn out (for a rollback elsewhere), leaving an empty one behind.
    fn take(&mut self) -> WriteTurn {
        WriteTurn {
            conns: self.conns.take(),
            slot: Arc::clone(&self.slot),
            readers: Arc::clone(&self.readers),
            permit: self.permit.take(),
        }
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        if let Some(conns) = self.conns.take() {
            *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(conns);
            self.readers.written();
        }
    }
}

impl Deref for WriteTurn {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conns().sqlx
    }
}

impl DerefMut for WriteTurn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self
            .conns
            .as_mut()
            .expect("a turn holds the connections until dropped")
            .sqlx
    }
}

/// A write transaction held across several operations. It keeps the writer's turn until it
/// is committed or dropped (dropping rolls back before the next writer gets its turn).
pub struct Tx {
    conn: Mutex<WriteTurn>,
    finished: bool,
    /// Where a dropped transaction's rollback runs (a drop may happen on a JS worker).
    runtime: tokio::runtime::Handle,
    committed: std::sync::Mutex<Vec<Committed>>,
    /// Files outside the database that follow the transaction's fate.
    files: crate::core::files::storage::Pending,
}

impl Tx {
    pub async fn begin(store: &Store) -> Result<Arc<Tx>, sqlx::Error> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| sqlx::Error::Protocol(format!("no runtime for a transaction: {e}")))?;
        let mut turn = store.writer.turn().await?;
        sqlx::query("BEGIN").execute(&mut *turn).await?;
        Ok(Arc::new(Tx {
            conn: Mutex::new(turn),
            finished: false,
            runtime,
            committed: std::sync::Mutex::new(Vec::new()),
            files: Default::default(),
        }))
    }

    /// The transaction's connection, for one operation at a time.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, WriteTurn> {
        self.conn.lock().await
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
        let mut tx = Arc::try_unwrap(tx)
            .map_err(|_| sqlx::Error::Protocol("transaction still in use".into()))?;
        sqlx::query("COMMIT")
            .execute(&mut **tx.conn.get_mut())
            .await?;
        tx.finished = true;
        std::mem::take(&mut tx.files).committed();
        let committed = tx.committed.get_mut().unwrap_or_else(|p| p.into_inner());
        Ok(std::mem::take(committed))
    }
}

impl Drop for Tx {
    /// Rolls back an unfinished transaction; the turn passes on only after the rollback.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut turn = self.conn.get_mut().take();
        if turn.conns.is_some() {
            self.runtime.spawn(async move {
                if let Err(err) = sqlx::query("ROLLBACK").execute(&mut *turn).await {
                    tracing::error!("rolling back a dropped transaction: {err}");
                }
            });
        }
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
        let mut writer = SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!()
            .run(&mut writer)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        let sync_writer = sync::open(&dir.join("data.db"), false).map_err(sync::to_sqlx)?;
        let readers =
            std::thread::available_parallelism().map_or(4, |n| (n.get() * 2).max(4)) as u32;
        // No liveness ping before each use: a local SQLite connection does not drop (the pool
        // still pings on release; the hot reads use `read` instead).
        let reader = SqlitePoolOptions::new()
            .max_connections(readers)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        let read = std::sync::Arc::new(read::Readers::new(dir.join("data.db")));
        read::Readers::refresh_every_second(&read);
        let store = Store {
            writer: Writer::new(writer, sync_writer, Arc::clone(&read)),
            reader,
            read,
        };
        store.record_pocketbase_history().await?;
        Ok(store)
    }

    async fn record_pocketbase_history(&self) -> Result<(), sqlx::Error> {
        let applied = chrono::Utc::now().timestamp_micros();
        let mut turn = self.writer.turn().await?;
        for file in POCKETBASE_MIGRATIONS {
            sqlx::query("INSERT OR IGNORE INTO `_migrations` (file, applied) VALUES (?, ?)")
                .bind(file)
                .bind(applied)
                .execute(&mut *turn)
                .await?;
        }
        Ok(())
    }

    /// Closes every connection, checkpointing the WAL.
    pub async fn close(&self) {
        self.read.close();
        self.reader.close().await;
        self.writer.close().await;
    }
}
