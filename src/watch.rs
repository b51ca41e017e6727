//! Watching `pb_hooks` and the pages root for changes (`--hooksWatch`): a debounced file watcher that reloads
//! the hooks runtime, building a new generation beside the running one (`Js::reload`). A
//! generation that fails to load is logged and the old one keeps serving. Dot directories
//! and `node_modules` are ignored, as PocketBase does.

use std::path::{Path, PathBuf};
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

/// Reloads `js` whenever a file under one of `dirs` (the hooks dir, the pages root)
/// changes; a dir inside another is watched once.
pub fn watch(dirs: &[PathBuf], js: Arc<Js>) -> Result<Watcher, String> {
    let handle = tokio::runtime::Handle::try_current().map_err(|e| e.to_string())?;
    let roots: Vec<PathBuf> = dirs
        .iter()
        .filter(|d| d.is_dir())
        .filter(|d| !dirs.iter().any(|other| other != *d && d.starts_with(other)))
        .cloned()
        .collect();
    let snapshot = |roots: &[PathBuf]| roots.iter().map(|r| fingerprint(r)).collect::<Vec<_>>();
    let mut last = snapshot(&roots);
    let watched = roots.clone();
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
        let Ok(events) = result else {
            return;
        };
        let relevant = events.iter().any(|e| {
            watched.iter().any(|root| {
                e.path.strip_prefix(root).is_ok_and(|rel| {
                    !rel.components().any(|c| {
                        let name = c.as_os_str().to_string_lossy();
                        name.starts_with('.') || name == "node_modules"
                    })
                })
            })
        });
        // Reading a file is an event too (the loader's own reads among them): reload only
        // when what is on disk changed.
        let now = snapshot(&watched);
        if !relevant || now == last {
            return;
        }
        last = now;
        let _entered = handle.enter();
        match js.reload() {
            Ok(()) => tracing::info!("hooks or pages changed: reloaded"),
            Err(err) => tracing::error!(
                "hooks or pages changed but failed to load, keeping the running ones: {err}"
            ),
        }
    })
    .map_err(|e| format!("cannot watch: {e}"))?;
    for root in &roots {
        debouncer
            .watcher()
            .watch(root, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
    }
    Ok(Watcher {
        _debouncer: debouncer,
    })
}
