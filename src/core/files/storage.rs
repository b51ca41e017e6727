//! The local file storage, laid out as PocketBase's: `DIR/storage/<collectionId>/<recordId>/
//! <name>`, each file with its `<name>.attrs` sidecar (the JSON gocloud's `fileblob` writes:
//! content type, original name, MD5), thumbs under `thumbs_<name>/`. So a data dir moves
//! between PocketBase and Satchel with its files.
//!
//! Writes go to a temporary file renamed into place, so a reader never sees half a file.
//! Removals are best effort (a failure is logged, never fails the request), as PocketBase's.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use crate::app::App;

/// The storage root of an app's data dir.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    pub fn of(app: &App) -> Storage {
        Storage {
            root: app.config().data_dir.join("storage"),
        }
    }

    /// `None` when an id is no plain name (it could point outside the storage).
    pub fn collection_dir(&self, collection_id: &str) -> Option<PathBuf> {
        is_plain_name(collection_id).then(|| self.root.join(collection_id))
    }

    pub fn record_dir(&self, collection_id: &str, record_id: &str) -> Option<PathBuf> {
        let dir = self.collection_dir(collection_id)?;
        is_plain_name(record_id).then(|| dir.join(record_id))
    }
}

/// Whether `name` can be a stored file's name (no path, no `.attrs` sidecar).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.ends_with(".attrs")
}

/// Writes `data` as `dir/name` with its sidecar (`metadata` as `user.metadata`).
pub async fn write(
    dir: &Path,
    name: &str,
    data: &[u8],
    content_type: &str,
    metadata: Map<String, Value>,
) -> io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let path = dir.join(name);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let temp = dir.join(format!("{name}.{nanos:x}.tmp"));
    let attrs = attrs_json(data, content_type, metadata);
    let written = async {
        tokio::fs::write(&temp, data).await?;
        tokio::fs::write(attrs_path(&path), attrs).await?;
        tokio::fs::rename(&temp, &path).await
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
        let _ = tokio::fs::remove_file(attrs_path(&path)).await;
    }
    written
}

/// The sidecar of an uploaded file: Go's `json.Marshal` of fileblob's `xattrs`.
fn attrs_json(data: &[u8], content_type: &str, metadata: Map<String, Value>) -> String {
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(data));
    let attrs = json!({
        "user.cache_control": "",
        "user.content_disposition": "",
        "user.content_encoding": "",
        "user.content_language": "",
        "user.content_type": content_type,
        "user.metadata": metadata,
        "md5": md5,
    });
    go_json_escape(&attrs.to_string())
}

/// Go's encoder escapes `<`, `>`, `&`, U+2028 and U+2029 (only ever inside strings here).
fn go_json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn attrs_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".attrs");
    PathBuf::from(name)
}

/// The stored content type of a file (`application/octet-stream` without a sidecar, as
/// fileblob answers).
pub async fn content_type(path: &Path) -> String {
    let stored = tokio::fs::read(attrs_path(path))
        .await
        .ok()
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        .and_then(|attrs| {
            attrs
                .get("user.content_type")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    stored
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "application/octet-stream".into())
}

/// Files to remove from disk once the change that dropped them is durable, or files just
/// written to undo when it is not.
#[derive(Debug, Clone)]
pub enum Removal {
    /// Named files of a record dir, each with its sidecar and thumbs.
    Files { dir: PathBuf, names: Vec<String> },
    /// A whole record or collection dir.
    Dir(PathBuf),
}

impl Removal {
    pub fn run(self) {
        match self {
            Removal::Files { dir, names } => {
                for name in names.iter().filter(|n| is_plain_name(n)) {
                    let path = dir.join(name);
                    for file in [path.clone(), attrs_path(&path)] {
                        log_failure(std::fs::remove_file(&file), &file);
                    }
                    let thumbs = dir.join(format!("thumbs_{name}"));
                    log_failure(std::fs::remove_dir_all(&thumbs), &thumbs);
                }
                // An emptied record dir goes too (fails harmlessly when not empty).
                let _ = std::fs::remove_dir(&dir);
            }
            Removal::Dir(dir) => log_failure(std::fs::remove_dir_all(&dir), &dir),
        }
    }
}

fn log_failure(result: io::Result<()>, path: &Path) {
    if let Err(err) = result
        && err.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!("failed to remove {}: {err}", path.display());
    }
}

/// The files of a transaction's writes: those written are removed if it never commits,
/// the stale ones (replaced or deleted) once it does.
#[derive(Debug, Default)]
pub struct Pending {
    written: Mutex<Vec<Removal>>,
    stale: Mutex<Vec<Removal>>,
}

impl Pending {
    pub fn wrote(&self, undo: Removal) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(undo);
    }

    pub fn stale(&self, removal: Removal) {
        self.stale
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(removal);
    }

    /// The transaction committed: keep what was written, remove what went stale.
    pub fn committed(self) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let stale = std::mem::take(&mut *self.stale.lock().unwrap_or_else(|p| p.into_inner()));
        stale.into_iter().for_each(Removal::run);
    }
}

impl Drop for Pending {
    /// Never committed (rolled back or failed): the new files go.
    fn drop(&mut self) {
        let written = std::mem::take(&mut *self.written.lock().unwrap_or_else(|p| p.into_inner()));
        written.into_iter().for_each(Removal::run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_is_fileblobs() {
        let mut metadata = Map::new();
        metadata.insert("original-filename".into(), json!("a<b>.png"));
        assert_eq!(
            attrs_json(b"hello world\n", "text/plain; charset=utf-8", metadata),
            r#"{"user.cache_control":"","user.content_disposition":"","user.content_encoding":"","user.content_language":"","user.content_type":"text/plain; charset=utf-8","user.metadata":{"original-filename":"a\u003cb\u003e.png"},"md5":"b1kCrCNwJL3QwXbLkwY9xA=="}"#
        );
    }

    #[test]
    fn plain_names_only() {
        assert!(is_plain_name("a_1234567890.png"));
        for bad in ["", ".", "..", "a/b", "a\\b", "x.png.attrs"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
