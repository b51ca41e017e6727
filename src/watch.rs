//! Watching `pb_hooks` for changes (`--hooksWatch`): a debounced file watcher that reloads
//! the hooks runtime, building a new generation beside the running one (`Js::reload`). A
//! generation that fails to load is logged and the old one keeps serving. Dot directories
//! and `node_modules` are ignored, as PocketBase does.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use crate::js::Js;

/// Keeps watching while alive.
pub struct Watcher {
    _debouncer: Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
}

/// Every file under `dir` (dot dirs and `node_modules` skipped) with its size and mtime.
fn fingerprint(dir: &Path) -> Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name == "node_modules" {
                continue;
            }
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                out.push((entry.path(), meta.len(), meta.modified().ok()));
            }
        }
    }
    out.sort();
    out
}

const DEBOUNCE: Duration = Duration::from_millis(150);

/// Reloads `js` whenever a file under `dir` changes.
pub fn watch_hooks(dir: &Path, js: Arc<Js>) -> Result<Watcher, String> {
    let handle = tokio::runtime::Handle::try_current().map_err(|e| e.to_string())?;
    let root = dir.to_path_buf();
    let mut last = fingerprint(&root);
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
        let Ok(events) = result else {
            return;
        };
        let relevant = events.iter().any(|e| {
            e.path
                .strip_prefix(&root)
                .map(|rel| {
                    !rel.components().any(|c| {
                        let name = c.as_os_str().to_string_lossy();
                        name.starts_with('.') || name == "node_modules"
                    })
                })
                .unwrap_or(false)
        });
        // Reading a file is an event too (the loader's own reads among them): reload only
        // when what is on disk changed.
        let now = fingerprint(&root);
        if !relevant || now == last {
            return;
        }
        last = now;
        let _entered = handle.enter();
        match js.reload() {
            Ok(()) => tracing::info!("pb_hooks changed: hooks reloaded"),
            Err(err) => tracing::error!(
                "pb_hooks changed but failed to load, keeping the running hooks: {err}"
            ),
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    debouncer
        .watcher()
        .watch(dir, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    Ok(Watcher {
        _debouncer: debouncer,
    })
}
