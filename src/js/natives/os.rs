//! Plain-Rust implementation of the non-trivial parts of PocketBase's `$os` JS namespace.
//!
//! Every `$os` member PocketBase exposes (`plugins/jsvm/binds.go`, `osBinds`; `stat` since
//! v0.26, `openRoot`/`openInRoot` since v0.30), with its Go function and what to use here:
//!
//! | JS member                         | Go                 | Here |
//! |-----------------------------------|--------------------|------|
//! | `args` (property, `string[]`)     | `os.Args`          | [`args`] |
//! | `exec(name, ...args)` (deprecated)| `exec.Command`     | [`Cmd::new`] (same as `cmd`) |
//! | `cmd(name, ...args)`              | `exec.Command`     | [`Cmd::new`]; JS then calls `.output()`, `.combinedOutput()`, `.run()` |
//! | `exit(code)`                      | `os.Exit`          | `std::process::exit(code)` (trivial) |
//! | `getenv(key)`                     | `os.Getenv`        | [`getenv`] (`""` when unset) |
//! | `dirFS(dir)`                      | `os.DirFS`         | returns a Go `fs.FS`; no plain equivalent (binder-specific) |
//! | `stat(name)`                      | `os.Stat`          | [`stat`] → FileInfo JSON |
//! | `readFile(name)`                  | `os.ReadFile`      | [`read_file`] (bytes) |
//! | `writeFile(name, data, perm)`     | `os.WriteFile`     | [`write_file`] |
//! | `readDir(name)`                   | `os.ReadDir`       | [`read_dir`] → DirEntry JSON list, sorted by name |
//! | `tempDir()`                       | `os.TempDir`       | [`temp_dir`] (`$TMPDIR` or `/tmp`) |
//! | `truncate(name, size)`            | `os.Truncate`      | [`truncate`] |
//! | `getwd()`                         | `os.Getwd`         | [`getwd`] (honours `$PWD` like Go) |
//! | `mkdir(name, perm)`               | `os.Mkdir`         | [`mkdir`] |
//! | `mkdirAll(path, perm)`            | `os.MkdirAll`      | [`mkdir_all`] |
//! | `rename(old, new)`                | `os.Rename`        | [`rename`] |
//! | `remove(name)`                    | `os.Remove`        | [`remove`] (file or empty dir) |
//! | `removeAll(path)`                 | `os.RemoveAll`     | [`remove_all`] (missing path is not an error) |
//! | `openRoot(dir)`                   | `os.OpenRoot`      | returns a Go `*os.Root`; binder-specific |
//! | `openInRoot(dir, name)`           | `os.OpenInRoot`    | returns a Go `*os.File`; binder-specific |
//!
//! Errors are Go's `*PathError` texts: `<op> <path>: <errno text>`, e.g.
//! `open /nope: no such file or directory` ([`path_error`]).
//!
//! ## JSON shapes
//!
//! Go hands JS interface values whose methods JS calls (`info.isDir()`, `info.size()`...).
//! The binder should expose these fields as methods of the same name:
//!
//! * **FileInfo** ([`stat`], [`lstat`], [`file_info`]):
//!   `{ name, size, mode, modeString, modTime, modTimeUnixMilli, isDir }` where `name` is
//!   `filepath.Base(path)`, `mode` is Go's `fs.FileMode` as a number (permission bits plus
//!   Go's type bits, e.g. `ModeDir = 1<<31`), `modeString` is `FileMode.String()` (e.g.
//!   `"drwxr-xr-x"`), `modTime` is RFC 3339 with nanoseconds in UTC (Go's JSON form of
//!   `time.Time`, trailing zeros trimmed) and `modTimeUnixMilli` the same instant in ms.
//! * **DirEntry** ([`read_dir`], [`dir_entry`]): `{ name, isDir, type, typeString, info }`
//!   where `type` is `FileMode & ModeType` (`DirEntry.Type()`), and `info` is the `lstat`
//!   FileInfo (Go's `DirEntry.Info()`) or `null` if the file vanished.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Go-style errors
// ---------------------------------------------------------------------------

/// The text Go's `syscall.Errno.Error()` gives for an I/O error (`"no such file or
/// directory"`, `"permission denied"`, ...), falling back to Rust's message.
pub fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let s = io::Error::from_raw_os_error(code).to_string();
            let s = match s.rfind(" (os error ") {
                Some(i) => s[..i].to_string(),
                None => s,
            };
            let mut chars = s.chars();
            match chars.next() {
                // glibc capitalizes, Go's table doesn't (except acronyms like "I/O").
                Some(c)
                    if chars
                        .clone()
                        .next()
                        .is_some_and(|n| n.is_lowercase() || n == ' ') =>
                {
                    c.to_lowercase().chain(chars).collect()
                }
                _ => s,
            }
        }
        None => e.to_string(),
    }
}

/// Go's `*PathError` text: `"<op> <path>: <errno text>"`.
pub fn path_error(op: &str, path: &str, e: &io::Error) -> String {
    format!("{op} {path}: {}", errno_text(e))
}

fn link_error(op: &str, old: &str, new: &str, err: &str) -> String {
    format!("{op} {old} {new}: {err}")
}

/// Converts a Go `fs.FileMode` permission argument to Unix mode bits
/// (Go's `syscallMode`: perm bits plus setuid/setgid/sticky).
pub fn go_perm_to_unix(perm: u32) -> u32 {
    let mut m = perm & 0o777;
    if perm & MODE_SETUID != 0 {
        m |= 0o4000;
    }
    if perm & MODE_SETGID != 0 {
        m |= 0o2000;
    }
    if perm & MODE_STICKY != 0 {
        m |= 0o1000;
    }
    m
}

// ---------------------------------------------------------------------------
// FileMode / FileInfo / DirEntry
// ---------------------------------------------------------------------------

/// Go `fs.ModeDir`.
pub const MODE_DIR: u32 = 1 << 31;
/// Go `fs.ModeAppend`.
#[allow(dead_code)] // part of Go's FileMode bit layout
pub const MODE_APPEND: u32 = 1 << 30;
/// Go `fs.ModeExclusive`.
#[allow(dead_code)] // part of Go's FileMode bit layout
pub const MODE_EXCLUSIVE: u32 = 1 << 29;
/// Go `fs.ModeTemporary`.
#[allow(dead_code)] // part of Go's FileMode bit layout
pub const MODE_TEMPORARY: u32 = 1 << 28;
/// Go `fs.ModeSymlink`.
pub const MODE_SYMLINK: u32 = 1 << 27;
/// Go `fs.ModeDevice`.
pub const MODE_DEVICE: u32 = 1 << 26;
/// Go `fs.ModeNamedPipe`.
pub const MODE_NAMED_PIPE: u32 = 1 << 25;
/// Go `fs.ModeSocket`.
pub const MODE_SOCKET: u32 = 1 << 24;
/// Go `fs.ModeSetuid`.
pub const MODE_SETUID: u32 = 1 << 23;
/// Go `fs.ModeSetgid`.
pub const MODE_SETGID: u32 = 1 << 22;
/// Go `fs.ModeCharDevice`.
pub const MODE_CHAR_DEVICE: u32 = 1 << 21;
/// Go `fs.ModeSticky`.
pub const MODE_STICKY: u32 = 1 << 20;
/// Go `fs.ModeIrregular`.
pub const MODE_IRREGULAR: u32 = 1 << 19;
/// Go `fs.ModeType`.
pub const MODE_TYPE: u32 = MODE_DIR
    | MODE_SYMLINK
    | MODE_NAMED_PIPE
    | MODE_SOCKET
    | MODE_DEVICE
    | MODE_CHAR_DEVICE
    | MODE_IRREGULAR;

/// Go's `fs.FileMode` for a Unix `st_mode` (`fillFileStatFromSys`).
pub fn go_file_mode(st_mode: u32) -> u32 {
    let mut mode = st_mode & 0o777;
    match st_mode & 0o170000 {
        0o060000 => mode |= MODE_DEVICE,
        0o020000 => mode |= MODE_DEVICE | MODE_CHAR_DEVICE,
        0o040000 => mode |= MODE_DIR,
        0o010000 => mode |= MODE_NAMED_PIPE,
        0o120000 => mode |= MODE_SYMLINK,
        0o140000 => mode |= MODE_SOCKET,
        _ => {}
    }
    if st_mode & 0o2000 != 0 {
        mode |= MODE_SETGID;
    }
    if st_mode & 0o4000 != 0 {
        mode |= MODE_SETUID;
    }
    if st_mode & 0o1000 != 0 {
        mode |= MODE_STICKY;
    }
    mode
}

/// Go's `FileMode.String()`, e.g. `"drwxr-xr-x"`, `"-rw-r--r--"`, `"Lrwxrwxrwx"`.
pub fn file_mode_string(mode: u32) -> String {
    const STR: &[u8] = b"dalTLDpSugct?";
    let mut out = String::new();
    for (i, c) in STR.iter().enumerate() {
        if mode & (1 << (31 - i)) != 0 {
            out.push(*c as char);
        }
    }
    if out.is_empty() {
        out.push('-');
    }
    const RWX: &[u8] = b"rwxrwxrwx";
    for (i, c) in RWX.iter().enumerate() {
        if mode & (1 << (8 - i)) != 0 {
            out.push(*c as char);
        } else {
            out.push('-');
        }
    }
    out
}

/// RFC 3339 with nanoseconds (trailing zeros trimmed) in UTC, like Go's
/// `time.Time.MarshalJSON` for a UTC time.
pub fn rfc3339_nano_utc(secs: i64, nanos: u32) -> String {
    let dt = chrono::DateTime::from_timestamp(secs, nanos).unwrap_or_default();
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// FileInfo JSON (see the module docs) for metadata of the file named `name`.
pub fn file_info(name: &str, md: &fs::Metadata) -> Value {
    let mode = go_file_mode(md.mode());
    let (secs, nanos) = (md.mtime(), md.mtime_nsec().clamp(0, 999_999_999) as u32);
    json!({
        "name": name,
        "size": md.size(),
        "mode": mode,
        "modeString": file_mode_string(mode),
        "modTime": rfc3339_nano_utc(secs, nanos),
        "modTimeUnixMilli": secs.saturating_mul(1000).saturating_add(i64::from(nanos / 1_000_000)),
        "isDir": mode & MODE_DIR != 0,
    })
}

/// `os.Stat(name)` (follows symlinks) as FileInfo JSON; error `stat <name>: ...`.
pub fn stat(name: &str) -> Result<Value, String> {
    let md = fs::metadata(name).map_err(|e| path_error("stat", name, &e))?;
    Ok(file_info(&super::filepath::base(name), &md))
}

/// `os.Lstat(name)` (does not follow symlinks) as FileInfo JSON; error `lstat <name>: ...`.
pub fn lstat(name: &str) -> Result<Value, String> {
    let md = fs::symlink_metadata(name).map_err(|e| path_error("lstat", name, &e))?;
    Ok(file_info(&super::filepath::base(name), &md))
}

/// DirEntry JSON built from an entry name, its type bits and optional FileInfo.
pub fn dir_entry(name: &str, type_bits: u32, info: Option<Value>) -> Value {
    let t = type_bits & MODE_TYPE;
    json!({
        "name": name,
        "isDir": t & MODE_DIR != 0,
        "type": t,
        "typeString": file_mode_string(t),
        "info": info.unwrap_or(Value::Null),
    })
}

/// Go's `fs.FileInfoToDirEntry` for a FileInfo JSON value.
pub fn dir_entry_from_info(info: &Value) -> Value {
    let name = info.get("name").and_then(Value::as_str).unwrap_or_default();
    let mode = info.get("mode").and_then(Value::as_u64).unwrap_or(0) as u32;
    dir_entry(name, mode, Some(info.clone()))
}

/// `os.ReadDir(name)`: the directory's entries sorted by file name. Errors:
/// `open <name>: ...` (missing / not permitted) or `readdirent <name>: not a directory`.
pub fn read_dir(name: &str) -> Result<Vec<Value>, String> {
    let rd = match fs::read_dir(name) {
        Ok(rd) => rd,
        Err(e) if e.raw_os_error() == Some(20) => {
            // ENOTDIR: Go opens the file fine and fails in getdents.
            return Err(path_error("readdirent", name, &e));
        }
        Err(e) => return Err(path_error("open", name, &e)),
    };
    let mut entries = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| path_error("readdirent", name, &e))?;
        let fname = entry.file_name().to_string_lossy().into_owned();
        let md = entry.metadata().ok();
        let type_bits = match entry.file_type() {
            Ok(ft) => {
                use std::os::unix::fs::FileTypeExt;
                if ft.is_dir() {
                    MODE_DIR
                } else if ft.is_symlink() {
                    MODE_SYMLINK
                } else if ft.is_fifo() {
                    MODE_NAMED_PIPE
                } else if ft.is_socket() {
                    MODE_SOCKET
                } else if ft.is_char_device() {
                    MODE_DEVICE | MODE_CHAR_DEVICE
                } else if ft.is_block_device() {
                    MODE_DEVICE
                } else {
                    0
                }
            }
            Err(_) => 0,
        };
        let info = md.map(|md| file_info(&fname, &md));
        entries.push((fname, type_bits, info));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries
        .into_iter()
        .map(|(n, t, i)| dir_entry(&n, t, i))
        .collect())
}

// ---------------------------------------------------------------------------
// file helpers
// ---------------------------------------------------------------------------

/// `os.ReadFile(name)`: errors `open <name>: ...` / `read <name>: is a directory`.
pub fn read_file(name: &str) -> Result<Vec<u8>, String> {
    let mut f = fs::File::open(name).map_err(|e| path_error("open", name, &e))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)
        .map_err(|e| path_error("read", name, &e))?;
    Ok(buf)
}

/// `os.WriteFile(name, data, perm)`: create/truncate with `perm` (before umask).
pub fn write_file(name: &str, data: &[u8], perm: u32) -> Result<(), String> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(go_perm_to_unix(perm))
        .open(name)
        .map_err(|e| path_error("open", name, &e))?;
    f.write_all(data).map_err(|e| path_error("write", name, &e))
}

/// `os.Mkdir(name, perm)`.
pub fn mkdir(name: &str, perm: u32) -> Result<(), String> {
    let mut b = fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut b, go_perm_to_unix(perm));
    b.create(name).map_err(|e| path_error("mkdir", name, &e))?;
    if perm & MODE_STICKY != 0 {
        // Go chmods afterwards because mkdir(2) ignores the sticky bit on some systems.
        let _ = fs::set_permissions(name, fs::Permissions::from_mode(go_perm_to_unix(perm)));
    }
    Ok(())
}

/// `os.MkdirAll(path, perm)`: like `mkdir -p`; an existing non-directory fails with
/// `mkdir <path>: not a directory`.
pub fn mkdir_all(path: &str, perm: u32) -> Result<(), String> {
    if let Ok(md) = fs::metadata(path) {
        if md.is_dir() {
            return Ok(());
        }
        return Err(format!("mkdir {path}: not a directory"));
    }
    let b = path.as_bytes();
    let mut i = b.len() as isize - 1;
    while i >= 0 && b[i as usize] == b'/' {
        i -= 1;
    }
    while i >= 0 && b[i as usize] != b'/' {
        i -= 1;
    }
    let i = i.max(0) as usize;
    let parent = &path[..i];
    if !parent.is_empty() {
        mkdir_all(parent, perm)?;
    }
    if let Err(e) = mkdir(path, perm) {
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

/// `os.Remove(name)`: removes a file or an empty directory.
pub fn remove(name: &str) -> Result<(), String> {
    let e = match fs::remove_file(name) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let e1 = match fs::remove_dir(name) {
        Ok(()) => return Ok(()),
        Err(e1) => e1,
    };
    // Both failed: rmdir(file) gives ENOTDIR, in which case unlink's error is the real one.
    let chosen = if e1.raw_os_error() != Some(20) { e1 } else { e };
    Err(path_error("remove", name, &chosen))
}

/// `os.RemoveAll(path)`: removes everything; a missing path is not an error, a path
/// ending in `.` fails with `RemoveAll <path>: invalid argument` like Go.
pub fn remove_all(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Ok(());
    }
    if path == "." || path.ends_with("/.") {
        return Err(format!("RemoveAll {path}: invalid argument"));
    }
    let md = match fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(path_error("lstat", path, &e)),
    };
    let res = if md.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match res {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(path_error("unlinkat", path, &e)),
    }
}

/// `os.Rename(old, new)`: errors are Go `*LinkError`s (`rename <old> <new>: ...`);
/// renaming onto an existing directory fails with `file exists` like Go.
pub fn rename(old: &str, new: &str) -> Result<(), String> {
    if let Ok(nfi) = fs::symlink_metadata(new)
        && nfi.is_dir()
    {
        match fs::symlink_metadata(old) {
            Err(e) => return Err(link_error("rename", old, new, &errno_text(&e))),
            Ok(ofi) => {
                let same = ofi.dev() == nfi.dev() && ofi.ino() == nfi.ino();
                if new == old || !same {
                    return Err(link_error("rename", old, new, "file exists"));
                }
            }
        }
    }
    fs::rename(old, new).map_err(|e| link_error("rename", old, new, &errno_text(&e)))
}

/// `os.Truncate(name, size)`; error `truncate <name>: ...`.
pub fn truncate(name: &str, size: i64) -> Result<(), String> {
    if size < 0 {
        return Err(format!("truncate {name}: invalid argument"));
    }
    let f = fs::OpenOptions::new()
        .write(true)
        .open(name)
        .map_err(|e| path_error("truncate", name, &e))?;
    f.set_len(size as u64)
        .map_err(|e| path_error("truncate", name, &e))
}

/// `os.Getwd()`: `$PWD` when it is absolute and names the current directory, else the
/// kernel's answer; error `getwd: ...`.
pub fn getwd() -> Result<String, String> {
    if let Ok(pwd) = std::env::var("PWD")
        && pwd.starts_with('/')
        && let (Ok(dot), Ok(d)) = (fs::metadata("."), fs::metadata(&pwd))
        && dot.dev() == d.dev()
        && dot.ino() == d.ino()
    {
        return Ok(pwd);
    }
    std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| format!("getwd: {}", errno_text(&e)))
}

/// `os.TempDir()`: `$TMPDIR` if non-empty, else `/tmp`.
pub fn temp_dir() -> String {
    match std::env::var("TMPDIR") {
        Ok(d) if !d.is_empty() => d,
        _ => "/tmp".to_string(),
    }
}

/// `os.Getenv(key)`: the value or `""` when unset.
pub fn getenv(key: &str) -> String {
    std::env::var_os(key)
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `os.Args`.
pub fn args() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

// ---------------------------------------------------------------------------
// exec.Cmd
// ---------------------------------------------------------------------------

/// What JS gets from `$os.cmd(name, ...args)` (Go's `*exec.Cmd`), minus the streaming
/// fields. Set `dir`/`env`/`stdin` before calling [`Cmd::output`], [`Cmd::combined_output`]
/// or [`Cmd::run`].
///
/// * `env: None` inherits the parent environment (Go's nil `Cmd.Env`; then, as in Go,
///   `PWD` is set to the absolute `dir` when `dir` is set); `Some(vars)` is the complete
///   environment (later duplicates win).
/// * `stdin: None` is `/dev/null`.
/// * The program is looked up in the parent's `$PATH` when `name` has no `/`
///   (Go's `exec.LookPath`), and `argv[0]` stays `name`.
///
/// Go's `exec.Command` has no timeout; the `timeout` argument is Satchel's safety net:
/// when it passes the child is SIGKILLed and the call fails with
/// `signal: killed (command timed out after <d>)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cmd {
    /// Program name or path (Go's first `exec.Command` argument).
    pub name: String,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Working directory (Go's `Cmd.Dir`).
    pub dir: Option<PathBuf>,
    /// Environment (Go's `Cmd.Env`); `None` inherits.
    pub env: Option<Vec<(String, String)>>,
    /// Bytes fed to stdin (Go's `Cmd.Stdin`); `None` is `/dev/null`.
    pub stdin: Option<Vec<u8>>,
}

enum OutMode {
    Discard,
    Stdout,
    Combined,
}

const SIGNAL_NAMES: [&str; 31] = [
    "hangup",
    "interrupt",
    "quit",
    "illegal instruction",
    "trace/breakpoint trap",
    "aborted",
    "bus error",
    "floating point exception",
    "killed",
    "user defined signal 1",
    "segmentation fault",
    "user defined signal 2",
    "broken pipe",
    "alarm clock",
    "terminated",
    "stack fault",
    "child exited",
    "continued",
    "stopped (signal)",
    "stopped",
    "stopped (tty input)",
    "stopped (tty output)",
    "urgent I/O condition",
    "CPU time limit exceeded",
    "file size limit exceeded",
    "virtual timer expired",
    "profiling timer expired",
    "window changed",
    "I/O possible",
    "power failure",
    "bad system call",
];

/// Go's `ProcessState.String()` for a failed status (`exit status 2`, `signal: killed`).
fn exit_status_text(status: &ExitStatus) -> Option<String> {
    if let Some(code) = status.code() {
        return (code != 0).then(|| format!("exit status {code}"));
    }
    let sig = status.signal()?;
    let name = usize::try_from(sig)
        .ok()
        .and_then(|s| SIGNAL_NAMES.get(s.wrapping_sub(1)))
        .map_or_else(|| format!("signal {sig}"), |n| (*n).to_string());
    let core = if status.core_dumped() {
        " (core dumped)"
    } else {
        ""
    };
    Some(format!("signal: {name}{core}"))
}

fn is_executable_file(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| !m.is_dir() && m.permissions().mode() & 0o111 != 0)
}

impl Cmd {
    /// `exec.Command(name, args...)`.
    pub fn new(name: impl Into<String>, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Cmd {
            name: name.into(),
            args: args.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// Go's `Cmd.String()`: the resolved path followed by the arguments.
    #[cfg(test)]
    pub fn string(&self) -> String {
        let path = self
            .look_path()
            .map_or_else(|_| self.name.clone(), |p| p.to_string_lossy().into_owned());
        std::iter::once(path)
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Go's `exec.LookPath` against the parent's `$PATH`.
    fn look_path(&self) -> Result<PathBuf, String> {
        if self.name.contains('/') {
            return Ok(PathBuf::from(&self.name));
        }
        let not_found = || format!("exec: {:?}: executable file not found in $PATH", self.name);
        if self.name.is_empty() {
            return Err(not_found());
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        for d in std::env::split_paths(&path) {
            let d = if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d
            };
            let candidate = d.join(&self.name);
            if is_executable_file(&candidate) {
                return Ok(candidate);
            }
        }
        Err(not_found())
    }

    fn build(&self, program: &Path) -> Result<Command, String> {
        let mut c = Command::new(program);
        c.arg0(&self.name);
        c.args(&self.args);
        if let Some(dir) = &self.dir {
            // os.StartProcess double-checks the directory for a clearer error.
            let ds = dir.to_string_lossy();
            fs::metadata(dir).map_err(|e| path_error("chdir", &ds, &e))?;
            c.current_dir(dir);
        }
        match &self.env {
            Some(vars) => {
                c.env_clear();
                for (k, v) in vars {
                    c.env(k, v);
                }
            }
            None => {
                if let Some(dir) = &self.dir {
                    let abs = if dir.is_absolute() {
                        dir.clone()
                    } else {
                        std::env::current_dir().unwrap_or_default().join(dir)
                    };
                    let abs = super::filepath::clean(&abs.to_string_lossy());
                    c.env("PWD", OsString::from(abs));
                }
            }
        }
        c.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        Ok(c)
    }

    fn exec(&self, mode: OutMode, timeout: Option<Duration>) -> Result<Vec<u8>, String> {
        let program = self.look_path()?;
        let mut c = self.build(&program)?;
        let pipe_reader = match mode {
            OutMode::Discard => {
                c.stdout(Stdio::null()).stderr(Stdio::null());
                None
            }
            OutMode::Stdout => {
                c.stdout(Stdio::piped()).stderr(Stdio::piped());
                None
            }
            OutMode::Combined => {
                // One pipe for both streams, like Go when Stdout == Stderr.
                let (reader, writer) = io::pipe().map_err(|e| e.to_string())?;
                let writer2 = writer.try_clone().map_err(|e| e.to_string())?;
                c.stdout(writer).stderr(writer2);
                Some(reader)
            }
        };
        let spawned = c.spawn();
        drop(c); // closes the parent's copies of the pipe writers
        let mut child =
            spawned.map_err(|e| path_error("fork/exec", &program.to_string_lossy(), &e))?;

        let deadline = timeout.map(|t| Instant::now() + t);
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let mut readers = 0;
        if let Some(mut r) = pipe_reader {
            let tx = tx.clone();
            readers += 1;
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                let _ = tx.send(buf);
            });
        }
        if let Some(mut out) = child.stdout.take() {
            let tx = tx.clone();
            readers += 1;
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = out.read_to_end(&mut buf);
                let _ = tx.send(buf);
            });
        }
        if let Some(mut err) = child.stderr.take() {
            // drained (Go keeps it for ExitError.Stderr, which JS never sees)
            std::thread::spawn(move || {
                let _ = io::copy(&mut err, &mut io::sink());
            });
        }
        drop(tx);
        if let (Some(mut input), Some(data)) = (child.stdin.take(), self.stdin.clone()) {
            std::thread::spawn(move || {
                let _ = input.write_all(&data);
            });
        }

        let timed_out = |child: &mut Child| {
            let _ = child.kill();
            let _ = child.wait();
            format!(
                "signal: killed (command timed out after {:?})",
                timeout.unwrap_or_default()
            )
        };

        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => return Err(format!("wait: {}", errno_text(&e))),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(timed_out(&mut child));
            }
            std::thread::sleep(Duration::from_millis(5));
        };

        // Like Go's Wait, also wait for the output pipes to close (within the deadline).
        let mut output = Vec::new();
        for _ in 0..readers {
            let chunk = match deadline {
                None => rx.recv().ok(),
                Some(d) => match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                    Ok(c) => Some(c),
                    Err(mpsc::RecvTimeoutError::Timeout) => return Err(timed_out(&mut child)),
                    Err(mpsc::RecvTimeoutError::Disconnected) => None,
                },
            };
            if let Some(c) = chunk {
                output.extend_from_slice(&c);
            }
        }

        match exit_status_text(&status) {
            Some(err) => Err(err),
            None => Ok(output),
        }
    }

    /// `cmd.output()`: runs the command and returns its stdout; a non-zero exit is an
    /// error `exit status N` (or `signal: <name>`).
    pub fn output(&self, timeout: Option<Duration>) -> Result<Vec<u8>, String> {
        self.exec(OutMode::Stdout, timeout)
    }

    /// `cmd.combinedOutput()`: stdout and stderr interleaved through one pipe.
    pub fn combined_output(&self, timeout: Option<Duration>) -> Result<Vec<u8>, String> {
        self.exec(OutMode::Combined, timeout)
    }

    /// `cmd.run()`: runs the command with stdout/stderr discarded (Go's nil writers).
    pub fn run(&self, timeout: Option<Duration>) -> Result<(), String> {
        self.exec(OutMode::Discard, timeout).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "natives-os-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn cmd_output_and_errors() {
        let c = Cmd::new("echo", ["hello", "world"]);
        assert_eq!(c.output(None).unwrap(), b"hello world\n");
        assert!(c.string().ends_with("echo hello world"));

        let c = Cmd::new("sh", ["-c", "echo out; echo err >&2; exit 3"]);
        assert_eq!(c.output(None).unwrap_err(), "exit status 3");
        assert_eq!(c.run(None).unwrap_err(), "exit status 3");

        let c = Cmd::new("sh", ["-c", "echo out; echo err >&2"]);
        assert_eq!(c.output(None).unwrap(), b"out\n");
        assert_eq!(c.combined_output(None).unwrap(), b"out\nerr\n");
        c.run(None).unwrap();

        assert_eq!(
            Cmd::new("definitely-not-a-command-xyz", Vec::<String>::new())
                .run(None)
                .unwrap_err(),
            "exec: \"definitely-not-a-command-xyz\": executable file not found in $PATH"
        );
        assert_eq!(
            Cmd::new("./nope/bin", Vec::<String>::new())
                .run(None)
                .unwrap_err(),
            "fork/exec ./nope/bin: no such file or directory"
        );

        let c = Cmd::new("sh", ["-c", "kill -TERM $$"]);
        assert_eq!(c.run(None).unwrap_err(), "signal: terminated");
    }

    #[test]
    fn cmd_dir_env_stdin() {
        let d = tmpdir("cmd");
        let mut c = Cmd::new("pwd", Vec::<String>::new());
        c.dir = Some(d.clone());
        let out = String::from_utf8(c.output(None).unwrap()).unwrap();
        assert_eq!(
            out.trim_end(),
            fs::canonicalize(&d).unwrap().to_string_lossy()
        );

        let mut c = Cmd::new("sh", ["-c", "echo \"$PWD|$FOO|${HOME:-unset}\""]);
        c.dir = Some(d.clone());
        let out = String::from_utf8(c.output(None).unwrap()).unwrap();
        assert!(
            out.starts_with(&format!("{}|", d.to_string_lossy())),
            "{out}"
        );

        c.env = Some(vec![
            ("FOO".into(), "bar".into()),
            ("FOO".into(), "baz".into()),
        ]);
        let out = String::from_utf8(c.output(None).unwrap()).unwrap();
        assert!(out.ends_with("|baz|unset\n"), "{out}");

        let mut c = Cmd::new("cat", Vec::<String>::new());
        c.stdin = Some(b"piped input".to_vec());
        assert_eq!(c.output(None).unwrap(), b"piped input");
        c.stdin = None;
        assert_eq!(c.output(None).unwrap(), b"");

        let mut c = Cmd::new("true", Vec::<String>::new());
        c.dir = Some(d.join("missing"));
        assert_eq!(
            c.run(None).unwrap_err(),
            format!(
                "chdir {}: no such file or directory",
                d.join("missing").display()
            )
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn cmd_timeout_kills() {
        let start = Instant::now();
        let c = Cmd::new("sleep", ["5"]);
        let err = c.output(Some(Duration::from_millis(200))).unwrap_err();
        assert_eq!(err, "signal: killed (command timed out after 200ms)");
        assert!(start.elapsed() < Duration::from_secs(3));

        // a grandchild keeping the pipe open cannot hang us past the deadline either
        let start = Instant::now();
        let c = Cmd::new("sh", ["-c", "sleep 5 & echo started"]);
        let err = c
            .combined_output(Some(Duration::from_millis(300)))
            .unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(3));

        // fast commands are unaffected by a timeout
        assert_eq!(
            Cmd::new("echo", ["hi"])
                .output(Some(Duration::from_secs(10)))
                .unwrap(),
            b"hi\n"
        );
    }

    #[test]
    fn file_helpers() {
        let d = tmpdir("files");
        let ds = d.to_str().unwrap();
        let f = format!("{ds}/a.txt");
        write_file(&f, b"hello", 0o640).unwrap();
        assert_eq!(read_file(&f).unwrap(), b"hello");
        let info = stat(&f).unwrap();
        assert_eq!(info["name"], "a.txt");
        assert_eq!(info["size"], 5);
        assert_eq!(info["isDir"], false);
        assert_eq!(info["mode"].as_u64().unwrap() as u32 & 0o777 & !0o640, 0);
        assert!(info["modTime"].as_str().unwrap().ends_with('Z'));
        assert!(info["modTimeUnixMilli"].as_i64().unwrap() > 1_600_000_000_000);

        let dinfo = stat(&format!("{ds}/")).unwrap();
        assert_eq!(dinfo["isDir"], true);
        assert_eq!(dinfo["name"], base_name(ds));
        assert!(dinfo["modeString"].as_str().unwrap().starts_with('d'));
        assert_eq!(dinfo["mode"].as_u64().unwrap() as u32 & MODE_DIR, MODE_DIR);

        assert_eq!(
            stat(&format!("{ds}/nope")).unwrap_err(),
            format!("stat {ds}/nope: no such file or directory")
        );
        assert_eq!(
            read_file(&format!("{ds}/nope")).unwrap_err(),
            format!("open {ds}/nope: no such file or directory")
        );
        assert_eq!(
            read_file(ds).unwrap_err(),
            format!("read {ds}: is a directory")
        );

        truncate(&f, 2).unwrap();
        assert_eq!(read_file(&f).unwrap(), b"he");

        mkdir_all(&format!("{ds}/x/y/z/"), 0o755).unwrap();
        mkdir_all(&format!("{ds}/x/y/z"), 0o755).unwrap();
        assert_eq!(
            mkdir_all(&f, 0o755).unwrap_err(),
            format!("mkdir {f}: not a directory")
        );
        assert_eq!(
            mkdir(&format!("{ds}/x"), 0o755).unwrap_err(),
            format!("mkdir {ds}/x: file exists")
        );
        mkdir(&format!("{ds}/e"), 0o700).unwrap();

        let entries = read_dir(ds).unwrap();
        let names: Vec<&str> = entries
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["a.txt", "e", "x"]);
        assert_eq!(entries[0]["isDir"], false);
        assert_eq!(entries[0]["type"], 0);
        assert_eq!(entries[0]["info"]["size"], 2);
        assert_eq!(entries[1]["isDir"], true);
        assert_eq!(entries[1]["typeString"], "d---------");
        assert_eq!(
            read_dir(&f).unwrap_err(),
            format!("readdirent {f}: not a directory")
        );
        assert_eq!(
            read_dir(&format!("{ds}/nope")).unwrap_err(),
            format!("open {ds}/nope: no such file or directory")
        );

        // rename onto an existing dir fails like Go
        assert_eq!(
            rename(&f, &format!("{ds}/e")).unwrap_err(),
            format!("rename {f} {ds}/e: file exists")
        );
        rename(&f, &format!("{ds}/b.txt")).unwrap();
        assert_eq!(
            rename(&f, &format!("{ds}/c.txt")).unwrap_err(),
            format!("rename {f} {ds}/c.txt: no such file or directory")
        );

        remove(&format!("{ds}/b.txt")).unwrap();
        remove(&format!("{ds}/e")).unwrap();
        assert_eq!(
            remove(&format!("{ds}/x")).unwrap_err(),
            format!("remove {ds}/x: directory not empty")
        );
        assert_eq!(
            remove(&format!("{ds}/nope")).unwrap_err(),
            format!("remove {ds}/nope: no such file or directory")
        );
        remove_all(&format!("{ds}/x")).unwrap();
        remove_all(&format!("{ds}/x")).unwrap(); // missing is fine
        assert_eq!(
            remove_all("foo/.").unwrap_err(),
            "RemoveAll foo/.: invalid argument"
        );
        remove_all(ds).unwrap();
        assert!(fs::metadata(ds).is_err());
    }

    fn base_name(p: &str) -> String {
        super::super::filepath::base(p)
    }

    #[test]
    fn misc_helpers() {
        assert_eq!(file_mode_string(0o644), "-rw-r--r--");
        assert_eq!(file_mode_string(MODE_DIR | 0o755), "drwxr-xr-x");
        assert_eq!(file_mode_string(MODE_SYMLINK | 0o777), "Lrwxrwxrwx");
        assert_eq!(go_file_mode(0o100644), 0o644);
        assert_eq!(go_file_mode(0o041777), MODE_DIR | MODE_STICKY | 0o777);
        assert_eq!(go_perm_to_unix(MODE_SETUID | 0o755), 0o4755);
        assert_eq!(rfc3339_nano_utc(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nano_utc(1, 500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(getenv("NATIVES_SURELY_UNSET_VAR"), "");
        assert!(!temp_dir().is_empty());
        assert!(getwd().unwrap().starts_with('/'));
        assert!(!args().is_empty());
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(errno_text(&e), "no such file or directory");
        assert_eq!(
            errno_text(&io::Error::from_raw_os_error(5)),
            "input/output error"
        );
        assert_eq!(exit_status_text(&ExitStatus::from_raw(0)), None);
        assert_eq!(
            exit_status_text(&ExitStatus::from_raw(2 << 8)).unwrap(),
            "exit status 2"
        );
        assert_eq!(
            exit_status_text(&ExitStatus::from_raw(9)).unwrap(),
            "signal: killed"
        );
    }
}
