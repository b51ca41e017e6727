//! The pages route table (reference/pocketpages-surface.md §1.4, §2): one scan of the pages
//! root into a [`Site`], and every path lookup a request makes against it — the URL
//! ([`Site::resolve`]), `asset()` ([`Site::asset`]), EJS `include` ([`Site::find_partial`],
//! §3.4) and `resolve()` ([`Site::find_module`], §5.2).
//!
//! Routing is PocketPages' `resolveRoute` (§2.1) with three deliberate fixes of what the spec
//! flags as bugs: a route matches only a URL with exactly as many segments (no prefix
//! matching); a param segment captures only a present, non-empty URL segment (never the
//! `index` the router appends, so `/` and `/products` are not `[slug]`/`products/[id]` with
//! the value `"index"`); and `/api…` and `/_…` never resolve, so pages never shadow
//! PocketBase's API or admin UI. Static segments compare against the percent-decoded URL
//! segment; param values stay raw, as in PocketPages.
//!
//! Every lookup stays inside the (canonical) root: lexical `..` is resolved before checking,
//! and symlinks are only followed when their target is inside the root too.

use std::cmp::Reverse;
use std::fs;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::api::public::percent_decode;

/// The loader files of a page's own directory, in the order they run (§4 step 9).
const LOADERS: [(&str, &str); 6] = [
    ("load", "+load.js"),
    ("get", "+get.js"),
    ("post", "+post.js"),
    ("put", "+put.js"),
    ("patch", "+patch.js"),
    ("delete", "+delete.js"),
];

/// The scanned pages root: its routes, most specific first.
#[derive(Debug)]
pub struct Site {
    root: PathBuf,
    routes: Vec<Route>,
}

/// One routable file. Layouts, middlewares and loaders are only collected for templates:
/// PocketPages serves a static route before any of them would run (§4 step 6).
#[derive(Debug, Clone)]
pub struct Route {
    pub file: PathBuf,
    pub segments: Vec<Segment>,
    pub is_static: bool,
    pub fingerprint: String,
    pub asset_prefix: String,
    pub layouts: Vec<PathBuf>,
    pub middlewares: Vec<PathBuf>,
    pub loaders: Vec<(String, PathBuf)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Static(String),
    Param(String),
}

/// A resolved URL: the route, its index in [`Site::routes`], and the raw param values.
#[derive(Debug)]
pub struct Match<'a> {
    pub route: &'a Route,
    pub index: usize,
    pub params: Vec<(String, String)>,
}

impl Segment {
    fn parse(part: &str) -> Segment {
        match part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            Some(name) => Segment::Param(name.to_string()),
            None => Segment::Static(part.to_string()),
        }
    }

    fn specificity(&self) -> u32 {
        match self {
            Segment::Static(_) => 10,
            Segment::Param(_) => 1,
        }
    }

    /// The segment as URL text; a param keeps its `[name]` form.
    fn url_text(&self) -> String {
        match self {
            Segment::Static(name) => name.clone(),
            Segment::Param(name) => format!("[{name}]"),
        }
    }
}

impl Route {
    /// PocketPages' per-route test, made exact-length; `decoded` is `raw` percent-decoded.
    /// When `raw` ends with the `index` the router appended, no param may capture that
    /// `index`: it is not a segment of the URL.
    fn matches(
        &self,
        raw: &[&str],
        decoded: &[String],
        appended_index: bool,
    ) -> Option<Vec<(String, String)>> {
        if raw.len() != self.segments.len() {
            return None;
        }
        let last = raw.len() - 1;
        let mut params = Vec::new();
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Param(_) if appended_index && i == last => return None,
                Segment::Param(name) => params.push((name.clone(), raw[i].to_string())),
                Segment::Static(name) => {
                    let alias = i == last
                        && self.is_static
                        && fingerprinted(name, &self.fingerprint) == decoded[i];
                    if *name != decoded[i] && !alias {
                        return None;
                    }
                }
            }
        }
        Some(params)
    }

    fn specificity(&self) -> u32 {
        self.segments.iter().map(Segment::specificity).sum()
    }
}

impl Site {
    /// Walks `root` (lexical order) into routes; `template_exts` are like `".ejs"`.
    pub fn scan(root: &Path, template_exts: &[&str]) -> Result<Site, String> {
        let root = root
            .canonicalize()
            .ok()
            .filter(|r| r.is_dir())
            .ok_or_else(|| format!("{} must exist", root.display()))?;
        let mut files = Vec::new();
        walk(&root, &root, &mut files)?;
        let mut routes = files
            .iter()
            .map(|file| build_route(&root, file, template_exts))
            .collect::<Result<Vec<_>, _>>()?;
        routes.sort_by_key(|route| Reverse(route.specificity()));
        Ok(Site { root, routes })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route serving `url_path` (a URL path, without query string), if any.
    pub fn resolve(&self, url_path: &str) -> Option<Match<'_>> {
        // Checked before anything is allocated: every API request passes here.
        if url_path
            .split('/')
            .find(|p| !p.is_empty())
            .is_some_and(is_reserved)
        {
            return None;
        }
        let parts: Vec<&str> = url_path.split('/').filter(|p| !p.is_empty()).collect();
        // Candidates: the path itself (or "index" for "/"), then `<path>/index`; the flag
        // says whether the last part is an appended "index".
        let candidates = if parts.is_empty() {
            vec![(vec!["index"], true)]
        } else {
            let with_index = parts.iter().copied().chain(["index"]).collect();
            vec![(parts, false), (with_index, true)]
        };
        candidates.iter().find_map(|(raw, appended_index)| {
            let decoded: Vec<String> = raw.iter().map(|p| decode(p)).collect();
            self.routes.iter().enumerate().find_map(|(index, route)| {
                let params = route.matches(raw, &decoded, *appended_index)?;
                Some(Match {
                    route,
                    index,
                    params,
                })
            })
        })
    }

    /// `asset(path)` as seen from `route`: static files get their fingerprinted URL, whether
    /// `path` is absolute or relative to the page's URL directory; a relative path that is no
    /// static file gets PocketPages' `<asset_prefix>/<path>`. `?query`/`#hash` are kept.
    pub fn asset(&self, route: &Route, path: &str) -> String {
        let (target, suffix) = path.split_at(path.find(['?', '#']).unwrap_or(path.len()));
        if target.starts_with('/') {
            return match self.fingerprinted_url(target) {
                Some(url) => url + suffix,
                None => path.to_string(),
            };
        }
        let base = route.segments.split_last().map_or(&[][..], |(_, dir)| dir);
        let absolute = join_url(base.iter().map(Segment::url_text).collect(), target);
        if let Some(url) = absolute.and_then(|a| self.fingerprinted_url(&a)) {
            return url + suffix;
        }
        if route.asset_prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", route.asset_prefix)
        }
    }

    /// EJS `include` resolution (§3.4): `_private/<path>` (then with each template extension)
    /// from the including file's directory up to the root; `/a/b` is `<root>/a/b` as is.
    pub fn find_partial(
        &self,
        including_file: &Path,
        path: &str,
        template_exts: &[&str],
    ) -> Result<PathBuf, String> {
        let outside = || format!("Partial '{path}' is outside the pages root");
        let mut tried = Vec::new();
        if let Some(relative) = path.strip_prefix('/') {
            let candidate = self
                .contain(&self.root.join(relative))
                .ok_or_else(outside)?;
            if self.is_file_inside(&candidate) {
                return Ok(candidate);
            }
            tried.push(candidate);
        } else {
            for dir in self.dirs_up_from(including_file)? {
                let base = self
                    .contain(&dir.join("_private").join(path))
                    .ok_or_else(outside)?;
                let exts = template_exts.iter().map(|ext| with_suffix(&base, ext));
                for candidate in std::iter::once(base.clone()).chain(exts) {
                    if self.is_file_inside(&candidate) {
                        return Ok(candidate);
                    }
                    tried.push(candidate);
                }
            }
        }
        let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
        Err(format!(
            "No partial '{path}' found in any _private directory. Tried: {}",
            tried.join(", ")
        ))
    }

    /// `resolve()` (§5.2): `_private/<path>` with suffixes `""`, `.js`, `.json`, from the
    /// PAGE's directory up to the root; `/x` is `<root>/_private/x`.
    pub fn find_module(&self, page_file: &Path, path: &str) -> Result<PathBuf, String> {
        let outside = || format!("Module '{path}' is outside the pages root");
        let page_dirs = self.dirs_up_from(page_file)?;
        let dirs = match path.strip_prefix('/') {
            Some(_) => std::slice::from_ref(&self.root),
            None => page_dirs.as_slice(),
        };
        for dir in dirs {
            let base = dir.join("_private").join(path.trim_start_matches('/'));
            let base = self.contain(&base).ok_or_else(outside)?;
            for suffix in ["", ".js", ".json"] {
                let candidate = with_suffix(&base, suffix);
                if self.is_file_inside(&candidate) {
                    return Ok(candidate);
                }
            }
        }
        Err(format!(
            "No module '{path}' found in _private directories from {} up to {}",
            page_dirs[0].display(),
            self.root.display()
        ))
    }

    /// `url` with the fingerprint inserted in its last segment, when it names a static file
    /// by its plain name.
    fn fingerprinted_url(&self, url: &str) -> Option<String> {
        let found = self.resolve(url)?;
        let (dir, tail) = url.rsplit_once('/')?;
        match found.route.segments.last()? {
            Segment::Static(name) if found.route.is_static && decode(tail) == *name => Some(
                format!("{dir}/{}", fingerprinted(tail, &found.route.fingerprint)),
            ),
            _ => None,
        }
    }

    /// The directories from `file`'s up to the root, nearest first.
    fn dirs_up_from(&self, file: &Path) -> Result<Vec<PathBuf>, String> {
        let dir = normalize(file.parent().unwrap_or(file));
        if !dir.starts_with(&self.root) {
            return Err(format!("{} is outside the pages root", file.display()));
        }
        Ok(dir
            .ancestors()
            .take_while(|d| d.starts_with(&self.root))
            .map(Path::to_path_buf)
            .collect())
    }

    /// `path` with `.`/`..` resolved, if it stays inside the root.
    fn contain(&self, path: &Path) -> Option<PathBuf> {
        Some(normalize(path)).filter(|p| p.starts_with(&self.root))
    }

    fn is_file_inside(&self, path: &Path) -> bool {
        is_file_inside(&self.root, path)
    }
}

/// Collects the routable files under `dir`: names starting with `.`, `+`, `_` or `-` and
/// `node_modules` are skipped (dirs included, since nothing below them can route).
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let read_error = |e: std::io::Error| format!("Cannot read {}: {e}", dir.display());
    let mut entries = fs::read_dir(dir)
        .map_err(read_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(['.', '+', '_', '-']) || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(read_error)?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() || (kind.is_symlink() && is_file_inside(root, &path)) {
            // Symlinked directories are not followed: they could loop or leave the root.
            out.push(path);
        }
    }
    Ok(())
}

fn build_route(root: &Path, file: &Path, template_exts: &[&str]) -> Result<Route, String> {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
    let (name, dirs) = parts
        .split_last()
        .ok_or_else(|| format!("{} is not a file", file.display()))?;
    let template_ext = template_exts
        .iter()
        .find(|ext| name.len() > ext.len() && name.ends_with(**ext));
    let url_dirs: Vec<&str> = dirs
        .iter()
        .copied()
        .filter(|d| !d.starts_with('('))
        .collect();
    let last = match template_ext {
        Some(ext) => &name[..name.len() - ext.len()],
        None => name,
    };
    let content = fs::read(file).map_err(|e| format!("Cannot read {}: {e}", file.display()))?;
    let mut route = Route {
        file: file.to_path_buf(),
        segments: url_dirs
            .iter()
            .chain([&last])
            .map(|p| Segment::parse(p))
            .collect(),
        is_static: template_ext.is_none(),
        fingerprint: hex(&Sha256::digest(&content)),
        asset_prefix: url_dirs.last().copied().unwrap_or_default().to_string(),
        layouts: Vec::new(),
        middlewares: Vec::new(),
        loaders: Vec::new(),
    };
    if !route.is_static {
        collect_specials(root, &mut route, template_exts)?;
    }
    Ok(route)
}

/// Layouts (nearest first), middlewares (root first) and own-directory loaders of a template.
fn collect_specials(root: &Path, route: &mut Route, template_exts: &[&str]) -> Result<(), String> {
    let dir = route.file.parent().unwrap_or(root);
    let dirs: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| d.starts_with(root))
        .collect();
    let existing = |path: PathBuf| is_file_inside(root, &path).then_some(path);
    for dir in &dirs {
        let mut found = template_exts
            .iter()
            .filter_map(|ext| existing(dir.join(format!("+layout{ext}"))));
        if let Some(layout) = found.next() {
            if found.next().is_some() {
                return Err(format!(
                    "Multiple layouts found for {}",
                    route.file.display()
                ));
            }
            route.layouts.push(layout);
        }
    }
    route.middlewares = (dirs.iter().rev())
        .filter_map(|dir| existing(dir.join("+middleware.js")))
        .collect();
    route.loaders = LOADERS
        .iter()
        .filter_map(|(name, file)| Some((name.to_string(), existing(dir.join(file))?)))
        .collect();
    Ok(())
}

/// An existing file whose real location is inside `root` (symlinks may not escape).
fn is_file_inside(root: &Path, path: &Path) -> bool {
    path.is_file() && path.canonicalize().is_ok_and(|real| real.starts_with(root))
}

/// `/api…` and `/_…` belong to PocketBase, whatever the pages define.
fn is_reserved(first_segment: &str) -> bool {
    let reserved = |s: &str| s == "api" || s == "_";
    reserved(first_segment) || (first_segment.contains('%') && reserved(&decode(first_segment)))
}

/// The percent-decoded segment; a malformed escape is compared as written.
fn decode(segment: &str) -> String {
    percent_decode(segment).unwrap_or_else(|| segment.to_string())
}

/// The fingerprinted alias of a file name: `app.css` -> `app.<hex>.css`, `name` -> `name.<hex>`.
fn fingerprinted(name: &str, fingerprint: &str) -> String {
    match name.rsplit_once('.') {
        Some((base, ext)) => format!("{base}.{fingerprint}.{ext}"),
        None => format!("{name}.{fingerprint}"),
    }
}

/// `relative` (with `.`/`..`) joined to the URL directory `base`, as an absolute URL path;
/// `None` when it climbs above `/`.
fn join_url(mut base: Vec<String>, relative: &str) -> Option<String> {
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                base.pop()?;
            }
            _ => base.push(part.to_string()),
        }
    }
    Some(format!("/{}", base.join("/")))
}

/// Lexical `.`/`..` resolution (`..` at `/` stays at `/`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut text = path.as_os_str().to_owned();
    text.push(suffix);
    PathBuf::from(text)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
