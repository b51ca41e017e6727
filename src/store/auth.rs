//! Queries on the auth system tables: `_otps` (one-time passwords), `_mfas` (pending MFA
//! sessions) and `_authOrigins` (login fingerprints), in PocketBase's layout so a `pb_data`
//! moves between the two. Timestamps are PocketBase's text format, which sorts as time.

use sqlx::{Row, SqliteConnection, SqliteExecutor};

use crate::core::collection::Collection;
use crate::core::datetime;
use crate::store::sql::{Sql, quote};

/// An `_otps` row.
#[derive(Debug, Clone)]
pub struct Otp {
    pub id: String,
    pub collection_ref: String,
    pub record_ref: String,
    /// The bcrypt hash of the code.
    pub password: String,
    /// The address the code was mailed to ("" until the send succeeded).
    pub sent_to: String,
    pub created: String,
}

pub async fn otp_insert(
    db: impl SqliteExecutor<'_>,
    id: &str,
    collection_id: &str,
    record_id: &str,
    hash: &str,
) -> Result<(), sqlx::Error> {
    let now = datetime::now();
    sqlx::query(
        "INSERT INTO `_otps` (`id`, `collectionRef`, `recordRef`, `password`, `sentTo`, `created`, `updated`) \
         VALUES (?, ?, ?, ?, '', ?, ?)",
    )
    .bind(id)
    .bind(collection_id)
    .bind(record_id)
    .bind(hash)
    .bind(&now)
    .bind(&now)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn otp_find(db: impl SqliteExecutor<'_>, id: &str) -> Result<Option<Otp>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT `id`, `collectionRef`, `recordRef`, `password`, `sentTo`, `created` FROM `_otps` WHERE `id` = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(Otp {
            id: r.try_get(0)?,
            collection_ref: r.try_get(1)?,
            record_ref: r.try_get(2)?,
            password: r.try_get(3)?,
            sent_to: r.try_get(4)?,
            created: r.try_get(5)?,
        })
    })
    .transpose()
}

pub async fn otp_set_sent_to(
    db: impl SqliteExecutor<'_>,
    id: &str,
    email: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE `_otps` SET `sentTo` = ?, `updated` = ? WHERE `id` = ?")
        .bind(email)
        .bind(datetime::now())
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Deletes one OTP; the number of rows deleted (0 when another request consumed it first).
pub async fn otp_delete(db: impl SqliteExecutor<'_>, id: &str) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM `_otps` WHERE `id` = ?")
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// The record's OTPs created at or after `since`, newest first: (id, sentTo).
pub async fn otps_live(
    db: impl SqliteExecutor<'_>,
    collection_id: &str,
    record_id: &str,
    since: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT `id`, `sentTo` FROM `_otps` WHERE `collectionRef` = ? AND `recordRef` = ? AND `created` >= ? \
         ORDER BY `created` DESC, `rowid` DESC",
    )
    .bind(collection_id)
    .bind(record_id)
    .bind(since)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Deletes the OTPs of one record except `keep` (a new code invalidating older ones).
pub async fn otps_delete_for_record(
    db: impl SqliteExecutor<'_>,
    collection_id: &str,
    record_id: &str,
    keep: &str,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM `_otps` WHERE `collectionRef` = ? AND `recordRef` = ? AND `id` != ?")
        .bind(collection_id)
        .bind(record_id)
        .bind(keep)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// Deletes a collection's rows of `table` (`_otps` or `_mfas`) created before `before`.
pub async fn delete_expired(
    db: impl SqliteExecutor<'_>,
    table: AuthTable,
    collection_id: &str,
    before: &str,
) -> Result<u64, sqlx::Error> {
    let sql = Sql::trusted(format!(
        "DELETE FROM {} WHERE `collectionRef` = ? AND `created` < ?",
        quote(table.name())
    ));
    sqlx::query(sql.into_query())
        .bind(collection_id)
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// The system tables that hang off an auth record.
#[derive(Debug, Clone, Copy)]
pub enum AuthTable {
    Otps,
    Mfas,
    AuthOrigins,
    ExternalAuths,
}

impl AuthTable {
    fn name(self) -> &'static str {
        match self {
            AuthTable::Otps => "_otps",
            AuthTable::Mfas => "_mfas",
            AuthTable::AuthOrigins => "_authOrigins",
            AuthTable::ExternalAuths => "_externalAuths",
        }
    }
}

/// Deletes everything hanging off a deleted auth record.
pub async fn delete_for_record(
    conn: &mut SqliteConnection,
    collection_id: &str,
    record_id: &str,
) -> Result<(), sqlx::Error> {
    for table in [
        AuthTable::Otps,
        AuthTable::Mfas,
        AuthTable::AuthOrigins,
        AuthTable::ExternalAuths,
    ] {
        let sql = Sql::trusted(format!(
            "DELETE FROM {} WHERE `collectionRef` = ? AND `recordRef` = ?",
            quote(table.name())
        ));
        sqlx::query(sql.into_query())
            .bind(collection_id)
            .bind(record_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Before an update that rotates the record's `tokenKey`, its OTPs go (PocketBase deletes
/// them when the key changes): one statement comparing the stored key with the new one.
pub async fn delete_otps_if_key_changes(
    conn: &mut SqliteConnection,
    collection: &Collection,
    record_id: &str,
    new_key: &str,
) -> Result<(), sqlx::Error> {
    let sql = Sql::trusted(format!(
        "DELETE FROM `_otps` WHERE `collectionRef` = ?1 AND `recordRef` = ?2 \
         AND (SELECT `tokenKey` FROM {} WHERE `id` = ?2) != ?3",
        quote(&collection.name)
    ));
    sqlx::query(sql.into_query())
        .bind(&collection.id)
        .bind(record_id)
        .bind(new_key)
        .execute(conn)
        .await
        .map(|_| ())
}

/// An `_mfas` row: (collectionRef, recordRef, method, created).
#[derive(Debug, Clone)]
pub struct Mfa {
    pub id: String,
    pub collection_ref: String,
    pub record_ref: String,
    pub method: String,
    pub created: String,
}

pub async fn mfa_insert(
    db: impl SqliteExecutor<'_>,
    id: &str,
    collection_id: &str,
    record_id: &str,
    method: &str,
) -> Result<(), sqlx::Error> {
    let now = datetime::now();
    sqlx::query(
        "INSERT INTO `_mfas` (`id`, `collectionRef`, `recordRef`, `method`, `created`, `updated`) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(collection_id)
    .bind(record_id)
    .bind(method)
    .bind(&now)
    .bind(&now)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn mfa_find(db: impl SqliteExecutor<'_>, id: &str) -> Result<Option<Mfa>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT `id`, `collectionRef`, `recordRef`, `method`, `created` FROM `_mfas` WHERE `id` = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(Mfa {
            id: r.try_get(0)?,
            collection_ref: r.try_get(1)?,
            record_ref: r.try_get(2)?,
            method: r.try_get(3)?,
            created: r.try_get(4)?,
        })
    })
    .transpose()
}

pub async fn mfa_delete(db: impl SqliteExecutor<'_>, id: &str) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM `_mfas` WHERE `id` = ?")
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// The record's login fingerprints, most recently used first: (id, fingerprint).
pub async fn origins(
    db: impl SqliteExecutor<'_>,
    collection_id: &str,
    record_id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT `id`, `fingerprint` FROM `_authOrigins` WHERE `collectionRef` = ? AND `recordRef` = ? \
         ORDER BY `updated` DESC, `rowid` DESC",
    )
    .bind(collection_id)
    .bind(record_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Inserts a fingerprint, or marks an existing one as just used.
pub async fn origin_upsert(
    db: impl SqliteExecutor<'_>,
    id: &str,
    collection_id: &str,
    record_id: &str,
    fingerprint: &str,
) -> Result<(), sqlx::Error> {
    let now = datetime::now();
    sqlx::query(
        "INSERT INTO `_authOrigins` (`id`, `collectionRef`, `recordRef`, `fingerprint`, `created`, `updated`) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (`collectionRef`, `recordRef`, `fingerprint`) DO UPDATE SET `updated` = excluded.`updated`",
    )
    .bind(id)
    .bind(collection_id)
    .bind(record_id)
    .bind(fingerprint)
    .bind(&now)
    .bind(&now)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn origin_delete(db: impl SqliteExecutor<'_>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM `_authOrigins` WHERE `id` = ?")
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}
