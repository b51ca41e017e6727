//! Plain-Rust implementation of PocketBase's `$filepath` JS namespace: Go's
//! `path/filepath` with its Unix semantics (separator `/`, list separator `:`).
//!
//! PocketBase (`plugins/jsvm/binds.go`, `filepathBinds`) exposes exactly these members:
//!
//! | JS member                     | Rust function here |
//! |-------------------------------|--------------------|
//! | `base(path)`                  | [`base`] |
//! | `clean(path)`                 | [`clean`] |
//! | `dir(path)`                   | [`dir`] |
//! | `ext(path)`                   | [`ext`] |
//! | `fromSlash(path)`             | [`from_slash`] |
//! | `glob(pattern)`               | [`glob`] |
//! | `isAbs(path)`                 | [`is_abs`] |
//! | `join(...elem)`               | [`join`] |
//! | `match(pattern, name)`        | [`match_`] |
//! | `rel(basepath, targpath)`     | [`rel`] |
//! | `split(path)`                 | [`split`] (Go returns `[dir, file]`) |
//! | `splitList(path)`             | [`split_list`] |
//! | `toSlash(path)`               | [`to_slash`] |
//! | `walk(root, fn)`              | [`walk`] |
//! | `walkDir(root, fn)`           | [`walk_dir`] |
//!
//! There is no `volumeName`, `abs`, `evalSymlinks` or `localize` in the JS API.
//!
//! Errors use Go's texts: `syntax error in pattern` (`filepath.ErrBadPattern`) and
//! `Rel: can't make <targ> relative to <base>`. All functions are byte-oriented like Go
//! except where Go decodes UTF-8 (`?` and `[...]` in patterns).

use serde_json::Value;

/// Go's `filepath.ErrBadPattern` text.
pub const ERR_BAD_PATTERN: &str = "syntax error in pattern";

const SEP: u8 = b'/';

/// `filepath.Clean`: the shortest lexically equivalent path.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let p = path.as_bytes();
    let n = p.len();
    let rooted = p[0] == SEP;
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0usize, 0usize);
    if rooted {
        out.push(SEP);
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == SEP || (p[r] == b'.' && (r + 1 == n || p[r + 1] == SEP)) {
            // empty element or "."
            r += 1;
        } else if p[r] == b'.' && p[r + 1] == b'.' && (r + 2 == n || p[r + 2] == SEP) {
            r += 2;
            if out.len() > dotdot {
                out.pop();
                while out.len() > dotdot && *out.last().unwrap() != SEP {
                    out.pop();
                }
                // drop the separator that preceded the removed element
                if out.len() > dotdot && *out.last().unwrap() == SEP {
                    out.pop();
                }
            } else if !rooted {
                if !out.is_empty() {
                    out.push(SEP);
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(SEP);
            }
            while r < n && p[r] != SEP {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        out.push(b'.');
    }
    // Only whole UTF-8 sequences were copied, so this cannot fail.
    String::from_utf8(out).expect("clean keeps UTF-8 boundaries")
}

/// `filepath.Base`: the last element; `""` → `"."`, all-slashes → `"/"`.
pub fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// `filepath.Dir`: all but the last element, cleaned.
pub fn dir(path: &str) -> String {
    let i = path.rfind('/').map_or(0, |i| i + 1);
    clean(&path[..i])
}

/// `filepath.Ext`: the suffix from the last `.` of the last element (or `""`).
pub fn ext(path: &str) -> String {
    for (i, b) in path.bytes().enumerate().rev() {
        if b == SEP {
            break;
        }
        if b == b'.' {
            return path[i..].to_string();
        }
    }
    String::new()
}

/// `filepath.FromSlash` (identity on Unix).
pub fn from_slash(path: &str) -> String {
    path.to_string()
}

/// `filepath.ToSlash` (identity on Unix).
pub fn to_slash(path: &str) -> String {
    path.to_string()
}

/// `filepath.IsAbs`.
pub fn is_abs(path: &str) -> bool {
    path.starts_with('/')
}

/// `filepath.Join`: joins the non-empty elements with `/` and cleans the result;
/// all-empty (or no) elements → `""`.
pub fn join<S: AsRef<str>>(elems: &[S]) -> String {
    match elems.iter().position(|e| !e.as_ref().is_empty()) {
        Some(i) => clean(
            &elems[i..]
                .iter()
                .map(AsRef::as_ref)
                .collect::<Vec<&str>>()
                .join("/"),
        ),
        None => String::new(),
    }
}

/// `filepath.Split`: `(dir, file)` split after the last `/`.
pub fn split(path: &str) -> (String, String) {
    let i = path.rfind('/').map_or(0, |i| i + 1);
    (path[..i].to_string(), path[i..].to_string())
}

/// `filepath.SplitList`: splits a `$PATH`-style list on `:`; `""` → `[]`.
pub fn split_list(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    path.split(':').map(str::to_string).collect()
}

/// `filepath.Rel`: a relative path that is lexically equivalent to `targpath` when
/// joined to `basepath`.
pub fn rel(basepath: &str, targpath: &str) -> Result<String, String> {
    let base_c = clean(basepath);
    let targ_c = clean(targpath);
    if targ_c == base_c {
        return Ok(".".to_string());
    }
    let base = if base_c == "." { "" } else { base_c.as_str() };
    let targ = targ_c.as_str();
    let err = || format!("Rel: can't make {targpath} relative to {basepath}");

    let base_slashed = base.starts_with('/');
    let targ_slashed = targ.starts_with('/');
    if base_slashed != targ_slashed {
        return Err(err());
    }
    let (b, t) = (base.as_bytes(), targ.as_bytes());
    let (bl, tl) = (b.len(), t.len());
    let (mut b0, mut bi, mut t0, mut ti) = (0usize, 0usize, 0usize, 0usize);
    loop {
        while bi < bl && b[bi] != SEP {
            bi += 1;
        }
        while ti < tl && t[ti] != SEP {
            ti += 1;
        }
        if targ[t0..ti] != base[b0..bi] {
            break;
        }
        if bi < bl {
            bi += 1;
        }
        if ti < tl {
            ti += 1;
        }
        b0 = bi;
        t0 = ti;
    }
    if &base[b0..bi] == ".." {
        return Err(err());
    }
    if b0 != bl {
        let seps = base[b0..bl].bytes().filter(|&c| c == SEP).count();
        let mut out = String::from("..");
        for _ in 0..seps {
            out.push_str("/..");
        }
        if t0 != tl {
            out.push('/');
            out.push_str(&targ[t0..]);
        }
        return Ok(out);
    }
    Ok(targ[t0..].to_string())
}

// ---------------------------------------------------------------------------
// Match / Glob
// ---------------------------------------------------------------------------

fn decode_rune(s: &[u8]) -> (Option<char>, usize) {
    // Go's utf8.DecodeRune: invalid input decodes to RuneError with width 1.
    let max = s.len().min(4);
    for w in 1..=max {
        if let Ok(st) = std::str::from_utf8(&s[..w]) {
            return (st.chars().next(), w);
        }
    }
    (None, 1)
}

fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut p = pattern;
    let mut star = false;
    while let [b'*', rest @ ..] = p {
        p = rest;
        star = true;
    }
    let mut inrange = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' if i + 1 < p.len() => i += 1,
            b'[' => inrange = true,
            b']' => inrange = false,
            b'*' if !inrange => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

/// `getEsc`: a possibly-escaped character of a class; `None` rune = RuneError.
fn get_esc(chunk: &[u8]) -> Result<(u32, &[u8]), ()> {
    if chunk.is_empty() || chunk[0] == b'-' || chunk[0] == b']' {
        return Err(());
    }
    let mut c = chunk;
    if c[0] == b'\\' {
        c = &c[1..];
        if c.is_empty() {
            return Err(());
        }
    }
    let (r, n) = decode_rune(c);
    let Some(r) = r else {
        return Err(());
    };
    let rest = &c[n..];
    if rest.is_empty() {
        return Err(());
    }
    Ok((r as u32, rest))
}

/// `matchChunk` (Go ≥ 1.16: keeps validating the chunk after a mismatch).
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<Option<&'a [u8]>, ()> {
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            b'[' => {
                let mut r: u32 = 0;
                if !failed {
                    let (c, n) = decode_rune(s);
                    r = c.map_or(0xFFFD, |c| c as u32);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if let [b'^', rest @ ..] = chunk {
                    negated = true;
                    chunk = rest;
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if let [b']', rest @ ..] = chunk
                        && nrange > 0
                    {
                        chunk = rest;
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == b'-' {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == SEP {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            c => {
                let mut lit = c;
                if c == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(());
                    }
                    lit = chunk[0];
                }
                if !failed {
                    if lit != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed { Ok(None) } else { Ok(Some(s)) }
}

/// `filepath.Match`: whether `name` matches the shell pattern (`*`, `?`, `[...]`,
/// `\` escapes). The only error is [`ERR_BAD_PATTERN`]; since Go 1.16 the whole pattern
/// is validated even when the match fails early.
pub fn match_(pattern: &str, name: &str) -> Result<bool, String> {
    let bad = || ERR_BAD_PATTERN.to_string();
    let mut pattern = pattern.as_bytes();
    let mut name = name.as_bytes();
    'outer: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&SEP));
        }
        let res = match_chunk(chunk, name);
        if let Ok(Some(t)) = res
            && (t.is_empty() || !pattern.is_empty())
        {
            name = t;
            continue;
        }
        if res.is_err() {
            return Err(bad());
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != SEP {
                match match_chunk(chunk, &name[i + 1..]) {
                    Ok(Some(t)) => {
                        if pattern.is_empty() && !t.is_empty() {
                            i += 1;
                            continue;
                        }
                        name = t;
                        continue 'outer;
                    }
                    Ok(None) => {}
                    Err(()) => return Err(bad()),
                }
                i += 1;
            }
        }
        // Before returning false with no error, check the remainder of the pattern.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            if match_chunk(chunk, b"").is_err() {
                return Err(bad());
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn has_meta(path: &str) -> bool {
    path.contains(['*', '?', '[', '\\'])
}

fn clean_glob_path(path: &str) -> String {
    match path {
        "" => ".".to_string(),
        "/" => path.to_string(),
        _ => path[..path.len() - 1].to_string(),
    }
}

fn glob_in_dir(dir: &str, pattern: &str, matches: &mut Vec<String>) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        _ => return Ok(()), // ignore I/O errors
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut names: Vec<String> = rd
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        if match_(pattern, &n)? {
            matches.push(join(&[dir, n.as_str()]));
        }
    }
    Ok(())
}

const PATH_SEPARATORS_LIMIT: usize = 10000;

fn glob_with_limit(pattern: &str, depth: usize) -> Result<Vec<String>, String> {
    if depth == PATH_SEPARATORS_LIMIT {
        return Err(ERR_BAD_PATTERN.to_string());
    }
    // Check pattern is well-formed.
    match_(pattern, "")?;
    if !has_meta(pattern) {
        if std::fs::symlink_metadata(pattern).is_err() {
            return Ok(Vec::new());
        }
        return Ok(vec![pattern.to_string()]);
    }
    let (d, file) = split(pattern);
    let d = clean_glob_path(&d);
    let mut matches = Vec::new();
    if !has_meta(&d) {
        glob_in_dir(&d, &file, &mut matches)?;
        return Ok(matches);
    }
    // Prevent infinite recursion.
    if d == pattern {
        return Err(ERR_BAD_PATTERN.to_string());
    }
    for parent in glob_with_limit(&d, depth + 1)? {
        glob_in_dir(&parent, &file, &mut matches)?;
    }
    Ok(matches)
}

/// `filepath.Glob`: the sorted-per-directory list of existing paths matching `pattern`
/// (I/O errors are ignored; Go returns `nil` — here an empty vec — when nothing matches).
pub fn glob(pattern: &str) -> Result<Vec<String>, String> {
    glob_with_limit(pattern, 0)
}

// ---------------------------------------------------------------------------
// Walk / WalkDir
// ---------------------------------------------------------------------------

/// What a walk callback returns (Go's `nil`, `filepath.SkipDir`, `filepath.SkipAll` or
/// any other error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkAction {
    /// `return nil`
    Continue,
    /// `return filepath.SkipDir`
    SkipDir,
    /// `return filepath.SkipAll`
    SkipAll,
    /// `return err` — stops the walk; the walk returns this error.
    Error(String),
}

enum Stop {
    SkipDir,
    SkipAll,
    Error(String),
}

fn action_to_stop(a: WalkAction) -> Option<Stop> {
    match a {
        WalkAction::Continue => None,
        WalkAction::SkipDir => Some(Stop::SkipDir),
        WalkAction::SkipAll => Some(Stop::SkipAll),
        WalkAction::Error(e) => Some(Stop::Error(e)),
    }
}

fn finish(res: Option<Stop>) -> Result<(), String> {
    match res {
        None | Some(Stop::SkipDir) | Some(Stop::SkipAll) => Ok(()),
        Some(Stop::Error(e)) => Err(e),
    }
}

fn sorted_names(path: &str, op: &str) -> Result<Vec<String>, String> {
    let rd = std::fs::read_dir(path).map_err(|e| super::os::path_error(op, path, &e))?;
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| super::os::path_error("readdirent", path, &e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// `filepath.Walk(root, fn)`: calls `f(path, info, err)` for `root` and everything below
/// it in lexical order, without following symlinks. `info` is the `lstat` FileInfo
/// (shape: [`super::os::file_info`]); `err` is the `lstat`/`open` error text (then `info`
/// may be `None`). Returns the first callback error (SkipDir/SkipAll are not errors).
pub fn walk<F>(root: &str, mut f: F) -> Result<(), String>
where
    F: FnMut(&str, Option<&Value>, Option<&str>) -> WalkAction,
{
    let res = match super::os::lstat(root) {
        Err(e) => action_to_stop(f(root, None, Some(&e))),
        Ok(info) => walk_inner(root, &info, &mut f),
    };
    finish(res)
}

fn walk_inner<F>(path: &str, info: &Value, f: &mut F) -> Option<Stop>
where
    F: FnMut(&str, Option<&Value>, Option<&str>) -> WalkAction,
{
    let is_dir = info.get("isDir").and_then(Value::as_bool).unwrap_or(false);
    if !is_dir {
        return action_to_stop(f(path, Some(info), None));
    }
    let names = sorted_names(path, "open");
    let err1 = action_to_stop(f(
        path,
        Some(info),
        names.as_ref().err().map(String::as_str),
    ));
    let names = match names {
        Err(_) => return err1,
        Ok(n) => n,
    };
    if err1.is_some() {
        return err1;
    }
    for name in names {
        let filename = join(&[path, name.as_str()]);
        match super::os::lstat(&filename) {
            Err(e) => match action_to_stop(f(&filename, None, Some(&e))) {
                None | Some(Stop::SkipDir) => {}
                other => return other,
            },
            Ok(child) => {
                if let Some(stop) = walk_inner(&filename, &child, f) {
                    let child_is_dir = child.get("isDir").and_then(Value::as_bool).unwrap_or(false);
                    if !child_is_dir || !matches!(stop, Stop::SkipDir) {
                        return Some(stop);
                    }
                }
            }
        }
    }
    None
}

/// `filepath.WalkDir(root, fn)`: like [`walk`] but the callback gets a DirEntry
/// (shape: [`super::os::dir_entry`]) and is called a second time with the error if a
/// directory cannot be read.
pub fn walk_dir<F>(root: &str, mut f: F) -> Result<(), String>
where
    F: FnMut(&str, Option<&Value>, Option<&str>) -> WalkAction,
{
    let res = match super::os::lstat(root) {
        Err(e) => action_to_stop(f(root, None, Some(&e))),
        Ok(info) => {
            let entry = super::os::dir_entry_from_info(&info);
            walk_dir_inner(root, &entry, &mut f)
        }
    };
    finish(res)
}

fn walk_dir_inner<F>(path: &str, d: &Value, f: &mut F) -> Option<Stop>
where
    F: FnMut(&str, Option<&Value>, Option<&str>) -> WalkAction,
{
    let is_dir = d.get("isDir").and_then(Value::as_bool).unwrap_or(false);
    let first = action_to_stop(f(path, Some(d), None));
    if first.is_some() || !is_dir {
        return match first {
            Some(Stop::SkipDir) if is_dir => None,
            other => other,
        };
    }
    let entries = match super::os::read_dir(path) {
        Ok(e) => e,
        Err(e) => {
            let second = action_to_stop(f(path, Some(d), Some(&e)));
            return match second {
                Some(Stop::SkipDir) => None,
                other => other,
            };
        }
    };
    for entry in entries {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let child = join(&[path, name]);
        match walk_dir_inner(&child, &entry, f) {
            None => {}
            Some(Stop::SkipDir) => break,
            other => return other,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_examples() {
        // from Go's path/filepath tests
        let cases = [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("/abc/", "/abc"),
            ("//abc", "/abc"),
            ("///abc", "/abc"),
            ("//abc//", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("/../abc", "/abc"),
            ("a/../b:/../../c", "../c"),
            ("abc/./../def", "def"),
            ("abc//./../def", "def"),
            ("abc/../../././../def", "../../def"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "clean({input:?})");
            assert_eq!(clean(want), want, "clean is idempotent for {want:?}");
        }
    }

    #[test]
    fn base_dir_ext_examples() {
        // Go's documented ExampleBase / ExampleDir / ExampleExt output
        for (input, b, d) in [
            ("/foo/bar/baz.js", "baz.js", "/foo/bar"),
            ("/foo/bar/baz", "baz", "/foo/bar"),
            ("/foo/bar/baz/", "baz", "/foo/bar/baz"),
            ("dev.txt", "dev.txt", "."),
            ("../todo.txt", "todo.txt", ".."),
            ("..", "..", "."),
            (".", ".", "."),
            ("/", "/", "/"),
            ("", ".", "."),
        ] {
            assert_eq!(base(input), b, "base({input:?})");
            assert_eq!(dir(input), d, "dir({input:?})");
        }
        assert_eq!(dir("/dirty//path///"), "/dirty/path");
        assert_eq!(base("//"), "/");
        assert_eq!(ext("index"), "");
        assert_eq!(ext("index.js"), ".js");
        assert_eq!(ext("main.test.js"), ".js");
        assert_eq!(ext("a.b/c"), "");
        assert_eq!(ext("/a/.hidden"), ".hidden");
    }

    #[test]
    fn is_abs_join_split() {
        assert!(is_abs("/home/gopher"));
        assert!(!is_abs(".bashrc"));
        assert!(!is_abs(".."));
        assert!(!is_abs("."));
        assert!(is_abs("/"));
        assert!(!is_abs(""));

        assert_eq!(join(&["a", "b", "c"]), "a/b/c");
        assert_eq!(join(&["a", "b/c"]), "a/b/c");
        assert_eq!(join(&["a/b", "c"]), "a/b/c");
        assert_eq!(join(&["a/b", "/c"]), "a/b/c");
        assert_eq!(join(&["a/b", "../../../xyz"]), "../xyz");
        assert_eq!(join(&["", ""]), "");
        assert_eq!(join::<&str>(&[]), "");
        assert_eq!(join(&["", "a"]), "a");
        assert_eq!(join(&["/", "a"]), "/a");

        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            split("/home/arnie/amelia.jpg"),
            s("/home/arnie/", "amelia.jpg")
        );
        assert_eq!(split("/mnt/photos/"), s("/mnt/photos/", ""));
        assert_eq!(split("rabbit.jpg"), s("", "rabbit.jpg"));
        assert_eq!(split("/usr/local//go"), s("/usr/local//", "go"));

        assert_eq!(split_list("/a/b/c:/usr/bin"), vec!["/a/b/c", "/usr/bin"]);
        assert!(split_list("").is_empty());
        assert_eq!(split_list(":"), vec!["", ""]);
        assert_eq!(to_slash("a/b"), "a/b");
        assert_eq!(from_slash("a/b"), "a/b");
    }

    #[test]
    fn rel_examples() {
        assert_eq!(rel("/a", "/a/b/c").unwrap(), "b/c");
        assert_eq!(rel("/a", "/b/c").unwrap(), "../b/c");
        assert_eq!(
            rel("/a", "./b/c").unwrap_err(),
            "Rel: can't make ./b/c relative to /a"
        );
        // more from Go's reltests
        let ok = [
            ("a/b", "a/b", "."),
            ("a/b/.", "a/b", "."),
            ("a/b", "a/b/.", "."),
            ("./a/b", "a/b", "."),
            ("a/b", "./a/b", "."),
            ("ab/cd", "ab/cde", "../cde"),
            ("ab/cd", "ab/c", "../c"),
            ("a/b", "a/b/c/d", "c/d"),
            ("a/b", "a/b/../c", "../c"),
            ("a/b/../c", "a/b", "../b"),
            ("a/b/c", "a/c/d", "../../c/d"),
            ("a/b", "c/d", "../../c/d"),
            ("a/b/c/d", "a/b", "../.."),
            ("a/b/c/d", "a/b/", "../.."),
            ("a/b/c/d/", "a/b", "../.."),
            ("a/b/c/d/", "a/b/", "../.."),
            ("../../a/b", "../../a/b/c/d", "c/d"),
            ("/a/b", "/a/b", "."),
            ("/a/b/.", "/a/b", "."),
            ("/ab/cd", "/ab/cde", "../cde"),
            ("/a/b", "/a/b/c/d", "c/d"),
            ("/../../a/b", "/a/b/c/d", "c/d"),
            (".", "a/b", "a/b"),
            (".", "..", ".."),
        ];
        for (b, t, want) in ok {
            assert_eq!(rel(b, t).unwrap(), want, "rel({b:?}, {t:?})");
        }
        for (b, t) in [
            ("..", "."),
            ("..", "a"),
            ("../..", ".."),
            ("a", "/a"),
            ("/a", "a"),
        ] {
            assert_eq!(
                rel(b, t).unwrap_err(),
                format!("Rel: can't make {t} relative to {b}")
            );
        }
    }

    #[test]
    fn match_go_tests() {
        // (pattern, name, match, bad pattern) from Go's path/filepath matchTests
        let cases: &[(&str, &str, bool, bool)] = &[
            ("abc", "abc", true, false),
            ("*", "abc", true, false),
            ("*c", "abc", true, false),
            ("a*", "a", true, false),
            ("a*", "abc", true, false),
            ("a*", "ab/c", false, false),
            ("a*/b", "abc/b", true, false),
            ("a*/b", "a/c/b", false, false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true, false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true, false),
            ("a*b?c*x", "abxbbxdbxebxczzy", false, false),
            ("ab[c]", "abc", true, false),
            ("ab[b-d]", "abc", true, false),
            ("ab[e-g]", "abc", false, false),
            ("ab[^c]", "abc", false, false),
            ("ab[^b-d]", "abc", false, false),
            ("ab[^e-g]", "abc", true, false),
            ("a\\*b", "a*b", true, false),
            ("a\\*b", "ab", false, false),
            ("a?b", "a☺b", true, false),
            ("a[^a]b", "a☺b", true, false),
            ("a???b", "a☺b", false, false),
            ("a[^a][^a][^a]b", "a☺b", false, false),
            ("[a-ζ]*", "α", true, false),
            ("*[a-ζ]", "A", false, false),
            ("a?b", "a/b", false, false),
            ("a*b", "a/b", false, false),
            ("[\\]a]", "]", true, false),
            ("[\\-]", "-", true, false),
            ("[x\\-]", "x", true, false),
            ("[x\\-]", "-", true, false),
            ("[x\\-]", "z", false, false),
            ("[\\-x]", "x", true, false),
            ("[\\-x]", "-", true, false),
            ("[\\-x]", "a", false, false),
            ("[]a]", "]", false, true),
            ("[-]", "-", false, true),
            ("[x-]", "x", false, true),
            ("[x-]", "-", false, true),
            ("[x-]", "z", false, true),
            ("[-x]", "x", false, true),
            ("[-x]", "-", false, true),
            ("[-x]", "a", false, true),
            ("\\", "a", false, true),
            ("[a-b-c]", "a", false, true),
            ("[", "a", false, true),
            ("[^", "a", false, true),
            ("[^bc", "a", false, true),
            ("a[", "a", false, true),
            ("a[", "ab", false, true),
            ("a[", "x", false, true),
            ("a/b[", "x", false, true),
            ("*x", "xxx", true, false),
        ];
        for &(p, n, want, bad) in cases {
            let res = match_(p, n);
            if bad {
                assert_eq!(res, Err(ERR_BAD_PATTERN.to_string()), "match({p:?}, {n:?})");
            } else {
                assert_eq!(res, Ok(want), "match({p:?}, {n:?})");
            }
        }
        // Go's documented ExampleMatch
        assert_eq!(match_("/home/catch/*", "/home/catch/foo"), Ok(true));
        assert_eq!(match_("/home/catch/*", "/home/catch/foo/bar"), Ok(false));
        assert_eq!(match_("/home/?opher", "/home/gopher"), Ok(true));
        assert_eq!(match_("/home/\\*", "/home/*"), Ok(true));
    }

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "natives-filepath-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn glob_and_walk() {
        let root = tmpdir("glob");
        let r = root.to_str().unwrap();
        for p in ["a/x.txt", "a/y.md", "b/z.txt", "c.txt"] {
            let full = root.join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, "x").unwrap();
        }
        assert_eq!(
            glob(&format!("{r}/*/*.txt")).unwrap(),
            vec![format!("{r}/a/x.txt"), format!("{r}/b/z.txt")]
        );
        assert_eq!(
            glob(&format!("{r}/*.txt")).unwrap(),
            vec![format!("{r}/c.txt")]
        );
        assert_eq!(
            glob(&format!("{r}/c.txt")).unwrap(),
            vec![format!("{r}/c.txt")]
        );
        assert!(glob(&format!("{r}/nope")).unwrap().is_empty());
        assert_eq!(glob(&format!("{r}/[")).unwrap_err(), ERR_BAD_PATTERN);

        let mut seen = Vec::new();
        walk(r, |p, info, err| {
            assert!(err.is_none());
            let info = info.unwrap();
            seen.push((rel(r, p).unwrap(), info["isDir"].as_bool().unwrap()));
            WalkAction::Continue
        })
        .unwrap();
        let want: Vec<(String, bool)> = [
            (".", true),
            ("a", true),
            ("a/x.txt", false),
            ("a/y.md", false),
            ("b", true),
            ("b/z.txt", false),
            ("c.txt", false),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), *b))
        .collect();
        assert_eq!(seen, want);

        // SkipDir on a directory skips its content; on a file skips the remaining siblings
        let mut seen = Vec::new();
        walk(r, |p, _, _| {
            let rp = rel(r, p).unwrap();
            seen.push(rp.clone());
            if rp == "a" || rp == "b/z.txt" {
                WalkAction::SkipDir
            } else {
                WalkAction::Continue
            }
        })
        .unwrap();
        assert_eq!(seen, vec![".", "a", "b", "b/z.txt", "c.txt"]);

        // WalkDir: SkipDir on a file skips the rest of its directory
        let mut seen = Vec::new();
        walk_dir(r, |p, d, _| {
            let rp = rel(r, p).unwrap();
            assert_eq!(d.unwrap()["name"], base(p));
            seen.push(rp.clone());
            if rp == "a/x.txt" {
                WalkAction::SkipDir
            } else {
                WalkAction::Continue
            }
        })
        .unwrap();
        assert_eq!(seen, vec![".", "a", "a/x.txt", "b", "b/z.txt", "c.txt"]);

        // errors stop the walk and are returned; SkipAll stops silently
        let res = walk_dir(r, |p, _, _| {
            if p.ends_with("b") {
                WalkAction::Error("boom".into())
            } else {
                WalkAction::Continue
            }
        });
        assert_eq!(res, Err("boom".to_string()));
        let mut count = 0;
        walk(r, |_, _, _| {
            count += 1;
            if count == 2 {
                WalkAction::SkipAll
            } else {
                WalkAction::Continue
            }
        })
        .unwrap();
        assert_eq!(count, 2);

        // a missing root reports the lstat error to the callback
        let missing = format!("{r}/missing");
        let mut got = None;
        walk(&missing, |_, info, err| {
            assert!(info.is_none());
            got = err.map(str::to_string);
            WalkAction::Continue
        })
        .unwrap();
        assert_eq!(
            got.unwrap(),
            format!("lstat {missing}: no such file or directory")
        );
        assert!(std::path::Path::new(r).symlink_metadata().is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
