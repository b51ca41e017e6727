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
use std::sync::Mutex;

use rusqlite::Connection;

use crate::filter::sql::Param;
use crate::store::sync;

/// Idle read-only connections to `data.db`, opened on demand.
#[derive(Debug)]
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub fn new(path: PathBuf) -> Readers {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on an idle connection (opening one if none is idle) and returns it to the pool.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, sqlx::Error> {
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
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
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
