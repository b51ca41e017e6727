//! Reads on the request's own thread: a small pool of read-only rusqlite connections used
//! synchronously. sqlx runs each SQLite connection on a worker thread and wakes the task for
//! every result, which cost ~35% of the CPU of a list request; the hot read paths (record
//! list/view, auth lookups) use this pool instead and doubled the view throughput. Writes,
//! migrations and cold reads stay on sqlx (both drivers share one libsqlite3-sys).
//!
//! A query here holds its tokio worker for its duration, as a goroutine holds an OS thread
//! in PocketBase; the closure never awaits, so at most one connection per worker thread is
//! in use and the pool stays that small.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::filter::sql::Param;
use crate::store::sync;

/// Idle read-only connections to `data.db`, opened on demand.
#[derive(Debug)]
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    anchor: Mutex<Anchor>,
    /// Whether `anchor` holds its transaction (read without the lock on every read).
    anchored: AtomicBool,
}

/// A read transaction kept open between write turns on a connection that never runs a
/// query, for the WAL read lock it holds. SQLite's unix VFS counts the read locks of the
/// connections of one process and only calls `fcntl` when the first one takes a lock and
/// the last one lets go; with this transaction holding the read mark that the readers use
/// (nothing was written since it began), their locks stay in the process. The two `fcntl`
/// calls of every read were ~7% of a view's CPU.
///
/// Every write turn lets it go first (`Writer::turn`) and it is taken again only by a read
/// after the turn, so our checkpoints and WAL restarts never wait for it. It is also let go
/// every second, so another process's writes (the CLI's, a backup tool's) are checkpointed
/// fully soon after, idle server or not. It never changes what a read sees: each read still
/// runs its own transaction.
#[derive(Debug, Default)]
struct Anchor {
    conn: Option<Connection>,
    writing: bool,
}

impl Readers {
    pub fn new(path: PathBuf) -> Readers {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
            anchor: Mutex::new(Anchor::default()),
            anchored: AtomicBool::new(false),
        }
    }

    /// Runs `f` on an idle connection (opening one if none is idle) and returns it to the pool.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, sqlx::Error> {
        if !self.anchored.load(Ordering::Acquire) {
            self.anchor();
        }
        let idle = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().map_err(sync::to_sqlx)?,
        };
        let result = f(&conn).map_err(sync::to_sqlx);
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result
    }

    /// Closes every idle connection (before the sqlx pools close, so the last connection to
    /// close can checkpoint and remove the WAL).
    pub fn close(&self) {
        self.writing();
        self.anchor.lock().unwrap_or_else(|p| p.into_inner()).conn = None;
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// A write turn begins: the anchor lets its read lock go until `written`.
    pub fn writing(&self) {
        let mut anchor = self.anchor.lock().unwrap_or_else(|p| p.into_inner());
        anchor.writing = true;
        self.let_go(&mut anchor);
    }

    /// Lets the anchor go once a second for as long as `readers` lives (the next read takes
    /// a fresh one).
    pub fn refresh_every_second(readers: &Arc<Readers>) {
        let readers = Arc::downgrade(readers);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(readers) = readers.upgrade() else {
                    return;
                };
                let mut anchor = readers.anchor.lock().unwrap_or_else(|p| p.into_inner());
                readers.let_go(&mut anchor);
            }
        });
    }

    fn let_go(&self, anchor: &mut Anchor) {
        if self.anchored.swap(false, Ordering::AcqRel)
            && let Some(conn) = &anchor.conn
            && conn.execute_batch("COMMIT").is_err()
        {
            anchor.conn = None;
        }
    }

    /// The write turn is over: the next read takes the anchor's lock again.
    pub fn written(&self) {
        self.anchor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .writing = false;
    }

    /// Opens the anchor's transaction, unless a write turn is under way or a read just did.
    fn anchor(&self) {
        let Ok(mut anchor) = self.anchor.try_lock() else {
            return;
        };
        if anchor.writing || self.anchored.load(Ordering::Acquire) {
            return;
        }
        if anchor.conn.is_none() {
            anchor.conn = self.open().ok();
        }
        let Some(conn) = &anchor.conn else {
            return;
        };
        // BEGIN is deferred: the read starts the transaction and takes the read lock.
        let begun = conn.execute_batch("BEGIN").and_then(|()| {
            conn.prepare_cached("SELECT count(*) FROM sqlite_schema")?
                .query_row([], |row| row.get::<_, i64>(0))
        });
        match begun {
            Ok(_) => self.anchored.store(true, Ordering::Release),
            Err(_) => anchor.conn = None,
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        sync::open(&self.path, true)
    }
}

/// The `?` values of a filter, in rusqlite's form.
pub fn values(params: &[Param]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Param::Null => rusqlite::types::Value::Null,
            Param::Integer(i) => rusqlite::types::Value::Integer(*i),
            Param::Real(f) => rusqlite::types::Value::Real(*f),
            Param::Text(t) => rusqlite::types::Value::Text(t.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    fn one(store: &Store, sql: &str) -> i64 {
        store
            .read
            .with(|c| c.query_row(sql, [], |r| r.get(0)))
            .expect("read")
    }

    /// The anchor is taken by a read, let go for the whole of a write turn, taken again by
    /// the next read, and never hides a write: each read sees the latest commit.
    #[tokio::test]
    async fn the_anchor_is_let_go_while_writing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).await.expect("store");
        let anchored = |store: &Store| store.read.anchored.load(super::Ordering::Acquire);
        assert_eq!(one(&store, "SELECT 1"), 1);
        assert!(anchored(&store));
        let turn = store.writer.turn().await.expect("turn");
        assert!(!anchored(&store));
        turn.sync()
            .execute_batch("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (7);")
            .expect("write");
        // Reads during the turn do not take it again.
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM sqlite_schema WHERE name = 't'"
            ),
            1
        );
        assert!(!anchored(&store));
        drop(turn);
        assert_eq!(one(&store, "SELECT n FROM t"), 7);
        assert!(anchored(&store));
        let turn = store.writer.turn().await.expect("turn");
        turn.sync()
            .execute("UPDATE t SET n = 8", [])
            .expect("write");
        drop(turn);
        assert_eq!(one(&store, "SELECT n FROM t"), 8);
        store.close().await;
    }

    /// An idle anchor is let go within a second or so (another process's writes can then be
    /// checkpointed fully).
    #[tokio::test]
    async fn an_idle_anchor_is_let_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).await.expect("store");
        assert_eq!(one(&store, "SELECT 1"), 1);
        assert!(store.read.anchored.load(super::Ordering::Acquire));
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert!(!store.read.anchored.load(super::Ordering::Acquire));
        store.close().await;
    }
}
