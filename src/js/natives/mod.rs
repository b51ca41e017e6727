//! The Go helper namespaces PocketBase gives hooks (`$security`, `$filepath`, `$os`,
//! `$http`), implemented in plain Rust with Go's semantics and error texts, and the one
//! JSON dispatcher the prelude calls them through (`__host.native(name, ...args)`).
//! Bytes cross as arrays of numbers, as goja shows a Go `[]byte`.

pub mod filepath;
pub mod http;
pub mod os;
pub mod security;

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::js::host::{Answer, Failure};

/// Runs native `name` with `args` (JSON values as the prelude passed them).
pub fn call(name: &str, args: &[Value]) -> Answer {
    let text = |i: usize| args.get(i).map(as_text).unwrap_or_default();
    let number = |i: usize| args.get(i).and_then(Value::as_f64).unwrap_or(0.0);
    let (family, member) = name.split_once('.').unwrap_or(("", name));
    match family {
        "security" => security_call(member, args, &text, &number),
        "filepath" => filepath_call(member, args, &text),
        "os" => os_call(member, args, &text, &number),
        "http" => http_send(args.first().cloned().unwrap_or(Value::Null)),
        _ => Err(fail(format!("unknown native {name}"))),
    }
}

fn security_call(
    member: &str,
    args: &[Value],
    text: &dyn Fn(usize) -> String,
    number: &dyn Fn(usize) -> f64,
) -> Answer {
    let len = || number(0).max(0.0) as usize;
    Ok(match member {
        "md5" => json!(security::md5(&text(0))),
        "sha256" => json!(security::sha256(&text(0))),
        "sha512" => json!(security::sha512(&text(0))),
        "hs256" => json!(security::hs256(&text(0), &text(1))),
        "hs512" => json!(security::hs512(&text(0), &text(1))),
        "equal" => json!(security::equal(&text(0), &text(1))),
        "randomString" => json!(security::random_string(len())),
        "pseudorandomString" => json!(security::pseudorandom_string(len())),
        "randomStringWithAlphabet" => {
            json!(security::random_string_with_alphabet(len(), &text(1)).map_err(fail)?)
        }
        "pseudorandomStringWithAlphabet" => {
            json!(security::pseudorandom_string_with_alphabet(len(), &text(1)).map_err(fail)?)
        }
        "randomStringByRegex" => {
            let flags: Vec<u16> = args[1.min(args.len())..]
                .iter()
                .filter_map(Value::as_u64)
                .map(|f| f as u16)
                .collect();
            json!(security::random_string_by_regex(&text(0), &flags).map_err(fail)?)
        }
        "parseUnverifiedJWT" => {
            Value::Object(security::parse_unverified_jwt(&text(0)).map_err(fail)?)
        }
        "parseJWT" => Value::Object(security::parse_jwt(&text(0), &text(1)).map_err(fail)?),
        "createJWT" => {
            let payload: Map<String, Value> = args
                .first()
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            json!(security::create_jwt(payload, &text(1), number(2) as i64).map_err(fail)?)
        }
        "encrypt" => json!(security::encrypt(text(0), &text(1)).map_err(fail)?),
        "decrypt" => json!(security::decrypt(&text(0), &text(1)).map_err(fail)?),
        other => return Err(fail(format!("$security.{other} is not available"))),
    })
}

fn filepath_call(member: &str, args: &[Value], text: &dyn Fn(usize) -> String) -> Answer {
    Ok(match member {
        "base" => json!(filepath::base(&text(0))),
        "clean" => json!(filepath::clean(&text(0))),
        "dir" => json!(filepath::dir(&text(0))),
        "ext" => json!(filepath::ext(&text(0))),
        "fromSlash" => json!(filepath::from_slash(&text(0))),
        "toSlash" => json!(filepath::to_slash(&text(0))),
        "isAbs" => json!(filepath::is_abs(&text(0))),
        "join" => json!(filepath::join(
            &args.iter().map(as_text).collect::<Vec<_>>()
        )),
        "split" => {
            let (dir, file) = filepath::split(&text(0));
            json!([dir, file])
        }
        "splitList" => json!(filepath::split_list(&text(0))),
        "rel" => json!(filepath::rel(&text(0), &text(1)).map_err(fail)?),
        "match" => json!(filepath::match_(&text(0), &text(1)).map_err(fail)?),
        "glob" => json!(filepath::glob(&text(0)).map_err(fail)?),
        other => return Err(fail(format!("$filepath.{other} is not available"))),
    })
}

fn os_call(
    member: &str,
    args: &[Value],
    text: &dyn Fn(usize) -> String,
    number: &dyn Fn(usize) -> f64,
) -> Answer {
    let perm = |i: usize, default: u32| {
        args.get(i)
            .and_then(Value::as_u64)
            .map_or(default, |p| p as u32)
    };
    Ok(match member {
        "getenv" => json!(os::getenv(&text(0))),
        "args" => json!(os::args()),
        "getwd" => json!(os::getwd().map_err(fail)?),
        "tempDir" => json!(os::temp_dir()),
        "readFile" => json!(os::read_file(&text(0)).map_err(fail)?),
        "writeFile" => {
            let data = bytes(args.get(1));
            os::write_file(&text(0), &data, perm(2, 0o644)).map_err(fail)?;
            Value::Null
        }
        "readDir" => json!(os::read_dir(&text(0)).map_err(fail)?),
        "stat" => os::stat(&text(0)).map_err(fail)?,
        "lstat" => os::lstat(&text(0)).map_err(fail)?,
        "mkdir" => {
            os::mkdir(&text(0), perm(1, 0o755)).map_err(fail)?;
            Value::Null
        }
        "mkdirAll" => {
            os::mkdir_all(&text(0), perm(1, 0o755)).map_err(fail)?;
            Value::Null
        }
        "remove" => {
            os::remove(&text(0)).map_err(fail)?;
            Value::Null
        }
        "removeAll" => {
            os::remove_all(&text(0)).map_err(fail)?;
            Value::Null
        }
        "rename" => {
            os::rename(&text(0), &text(1)).map_err(fail)?;
            Value::Null
        }
        "truncate" => {
            os::truncate(&text(0), number(1) as i64).map_err(fail)?;
            Value::Null
        }
        "exec" => exec(args.first().cloned().unwrap_or(Value::Null))?,
        other => return Err(fail(format!("$os.{other} is not available"))),
    })
}

/// `$os.cmd(...)`'s `output()`, `combinedOutput()` and `run()`: `{name, args, dir, env,
/// stdin, mode, timeout (ms)}`. Satchel always bounds a command by a timeout (default 30 s).
fn exec(spec: Value) -> Answer {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|items| items.iter().map(as_text).collect())
            .unwrap_or_default()
    };
    let mut cmd = os::Cmd::new(as_text(&spec["name"]), strings(&spec["args"]));
    if let Some(dir) = spec["dir"].as_str().filter(|d| !d.is_empty()) {
        cmd.dir = Some(dir.into());
    }
    if spec["env"].is_array() {
        cmd.env = Some(
            strings(&spec["env"])
                .into_iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (kv, String::new()),
                })
                .collect(),
        );
    }
    if !spec["stdin"].is_null() {
        cmd.stdin = Some(bytes(Some(&spec["stdin"])));
    }
    let timeout = Duration::from_millis(spec["timeout"].as_u64().unwrap_or(30_000));
    Ok(match spec["mode"].as_str().unwrap_or("output") {
        "run" => {
            cmd.run(Some(timeout)).map_err(fail)?;
            Value::Null
        }
        "combinedOutput" => json!(cmd.combined_output(Some(timeout)).map_err(fail)?),
        _ => json!(cmd.output(Some(timeout)).map_err(fail)?),
    })
}

/// `$http.send({url, method, body, headers, timeout})` → `{statusCode, headers, cookies,
/// json, body, raw}`.
fn http_send(options: Value) -> Answer {
    let headers = options["headers"]
        .as_object()
        .map(|h| h.iter().map(|(k, v)| (k.clone(), as_text(v))).collect())
        .unwrap_or_default();
    let body = match &options["body"] {
        Value::Null => options["data"]
            .as_object()
            .and_then(http::legacy_data_body)
            .unwrap_or_default(),
        other => bytes(Some(other)),
    };
    let send = http::SendOptions {
        url: as_text(&options["url"]),
        method: as_text(&options["method"]),
        body,
        headers,
        timeout: http::timeout_from_secs(options["timeout"].as_i64().unwrap_or(0)),
    };
    let result = http::send(&send).map_err(fail)?;
    let raw = result.raw();
    Ok(json!({
        "statusCode": result.status_code,
        "headers": result.headers,
        "cookies": result.cookies,
        "json": result.json,
        "body": result.body,
        "raw": raw,
    }))
}

/// A Go error's text as a host failure (a plain 400 when uncaught, as PocketBase's).
fn fail(message: String) -> Failure {
    Failure::new(400, message)
}

/// A string's UTF-8 bytes, or an array of byte values.
pub fn bytes(value: Option<&Value>) -> Vec<u8> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|b| b.as_u64().unwrap_or(0) as u8)
            .collect(),
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => other.to_string().into_bytes(),
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
