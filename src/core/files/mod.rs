//! File fields (pocketbase-surface.md §2.3, §4.4): uploads, their stored names, checks and
//! storage. A record's file field holds stored names only; the bytes of new uploads travel
//! beside the record as [`Uploads`] until the write, which stores them (`write_new`) before
//! the row and undoes that if the row fails. Files a write drops (replaced, removed, or the
//! whole record) are removed once it is durable (`core::records`).
//!
//! - `name`: PocketBase's stored-name scheme;
//! - `sniff`: the content type from the bytes (mimetype's answers);
//! - `validate`: count, size and type checks with PocketBase's codes;
//! - `storage`: the on-disk layout and `.attrs` sidecars, and removals;
//! - `thumbs`: image thumbnails for `?thumb=WxH`.

pub mod name;
pub mod sniff;
pub mod storage;
pub mod thumbs;
pub mod validate;

use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::core::collection::Collection;
use crate::core::field::FieldOptions;
use crate::core::record::input::to_strings;
use crate::store::Db;
use sniff::Mime;
use storage::{Removal, Storage};

/// One uploaded file, named and sniffed, not stored yet.
#[derive(Debug)]
pub struct Upload {
    /// The body key it came under: `field`, `field+` or `+field`.
    pub key: String,
    /// The stored name (`<base>_<random>.<ext>`).
    pub name: String,
    /// The client's file name.
    pub original_name: String,
    pub data: Bytes,
    pub mime: Mime,
}

impl Upload {
    pub fn new(key: &str, original_name: &str, data: Bytes) -> Upload {
        let mime = sniff::detect(&data);
        Upload {
            key: key.to_string(),
            name: name::stored_name(original_name, mime.extension),
            original_name: original_name.to_string(),
            data,
            mime,
        }
    }
}

/// The uploads of one write, found by stored name. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Uploads(Arc<Vec<Upload>>);

impl Uploads {
    pub fn new(uploads: Vec<Upload>) -> Uploads {
        Uploads(Arc::new(uploads))
    }

    pub fn get(&self, name: &str) -> Option<&Upload> {
        self.0.iter().find(|u| u.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Upload> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The file names a record's file fields hold.
pub fn names(collection: &Collection, record: &Map<String, Value>) -> Vec<String> {
    collection
        .fields
        .iter()
        .filter(|f| matches!(f.options, FieldOptions::File { .. }))
        .flat_map(|f| to_strings(record.get(&f.name).unwrap_or(&Value::Null)))
        .collect()
}

/// Stores the uploads `record` references (an upload it dropped, such as all but the last
/// for a single-file field, is not stored). Returns how to undo it, if anything was written.
pub async fn write_new(
    app: &App,
    collection: &Collection,
    record: &Map<String, Value>,
    uploads: &Uploads,
) -> std::io::Result<Option<Removal>> {
    if uploads.is_empty() {
        return Ok(None);
    }
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    let dir = Storage::of(app)
        .record_dir(&collection.id, id)
        .ok_or_else(|| std::io::Error::other(format!("no storage dir for record id {id:?}")))?;
    let mut written = Vec::new();
    for name in names(collection, record) {
        let Some(upload) = uploads.get(&name) else {
            continue;
        };
        let mut metadata = Map::new();
        metadata.insert(
            "original-filename".into(),
            json!(truncate(&upload.original_name, 255)),
        );
        let stored = storage::write(&dir, &name, &upload.data, upload.mime.name, metadata).await;
        if let Err(err) = stored {
            Removal::Files {
                dir,
                names: written,
            }
            .run();
            return Err(err);
        }
        written.push(name);
    }
    Ok((!written.is_empty()).then_some(Removal::Files {
        dir,
        names: written,
    }))
}

/// New files stay once their row is durable; they go now if it failed, or later if its
/// batch's transaction rolls back.
pub fn settle(db: Db<'_>, written: Option<Removal>, saved: bool) {
    let Some(written) = written else {
        return;
    };
    match (db, saved) {
        (_, false) => written.run(),
        (Db::Tx(tx), true) => tx.files().wrote(written),
        (Db::Shared(_), true) => {}
    }
}

/// Removes files a write dropped: now, or once the batch's transaction commits.
pub fn remove_when_durable(db: Db<'_>, removal: Removal) {
    match db {
        Db::Tx(tx) => tx.files().stale(removal),
        Db::Shared(_) => removal.run(),
    }
}

/// The names `old` held that `new` no longer does (to remove once the update is durable).
pub fn dropped(
    app: &App,
    collection: &Collection,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Option<Removal> {
    let kept = names(collection, new);
    let gone: Vec<String> = names(collection, old)
        .into_iter()
        .filter(|name| !kept.contains(name))
        .collect();
    let id = old.get("id").and_then(Value::as_str).unwrap_or_default();
    let dir = Storage::of(app).record_dir(&collection.id, id)?;
    (!gone.is_empty()).then_some(Removal::Files { dir, names: gone })
}

/// Whether the collection has any file field.
pub fn has_file_fields(collection: &Collection) -> bool {
    collection
        .fields
        .iter()
        .any(|f| matches!(f.options, FieldOptions::File { .. }))
}

/// At most `max` bytes of `text`, cut on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
