//! The synchronous side of the store: rusqlite connections used on the calling thread (the
//! read pool, and the writer's own connection for single-statement record writes), opened
//! with PocketBase's pragmas, and their errors in sqlx's form so that callers handle one
//! error type (`UNIQUE constraint failed: …` included).

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use sqlx::error::{DatabaseError, ErrorKind};

use crate::store::sql::Sql;

/// Opens `path` read-only (the read pool) or read-write (the writer's connection).
pub fn open(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    let flags = access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    // PocketBase's DSN, as `Store::open` sets it on the sqlx connections.
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "cache_size", -32000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if !read_only {
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "journal_size_limit", 200_000_000)?;
    }
    // The query planner stability guarantee: plans never depend on bound values. Without it
    // SQLite re-prepares a cached statement whenever a value it looked at while planning
    // changes (`LIMIT ?`, every `LIKE ?` pattern), which cost ~10% of a filtered list.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Runs one statement (cached) with `values`.
pub fn execute(
    conn: &Connection,
    sql: &Sql,
    values: impl IntoIterator<Item = rusqlite::types::Value>,
) -> Result<(), sqlx::Error> {
    conn.prepare_cached(sql.as_str())
        .and_then(|mut statement| statement.execute(rusqlite::params_from_iter(values)))
        .map(|_| ())
        .map_err(to_sqlx)
}

/// A rusqlite error as sqlx reports it: SQLite's failures as database errors with SQLite's
/// own message, anything else as a protocol error.
pub fn to_sqlx(err: rusqlite::Error) -> sqlx::Error {
    match err {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(Failure {
                message: message.unwrap_or_else(|| failure.to_string()),
                code: failure.extended_code,
            }))
        }
        other => sqlx::Error::Protocol(format!("sqlite: {other}")),
    }
}

/// A failed SQLite call on a rusqlite connection.
#[derive(Debug)]
struct Failure {
    message: String,
    /// SQLite's extended result code.
    code: i32,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Failure {}

impl DatabaseError for Failure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.code {
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            rusqlite::ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}
