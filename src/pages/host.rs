//! The host functions of the pages runtime (`runtime.js`'s `H`): template compilation,
//! HTML escaping, path resolution inside the pages root, and `pb()`'s in-process requests.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request};
use rquickjs::{Ctx, Exception, Function, Object};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::Shared;
use crate::js::bridge::block_on;

/// Headers of the page request that an in-process request does not inherit: the SDK call
/// brings its own auth and body.
const NOT_FORWARDED: [&str; 6] = [
    "authorization",
    "cookie",
    "content-type",
    "content-length",
    "transfer-encoding",
    "accept-encoding",
];

/// Builds the `H` object for `runtime.js`.
pub fn object<'js>(ctx: &Ctx<'js>, shared: &Arc<Shared>) -> rquickjs::Result<Object<'js>> {
    let h = Object::new(ctx.clone())?;
    let root = shared.root.to_string_lossy().to_string();
    h.set("root", Function::new(ctx.clone(), move || root.clone())?)?;
    let dev = shared.app.config().dev;
    h.set("dev", Function::new(ctx.clone(), move || dev)?)?;
    h.set(
        "log",
        Function::new(ctx.clone(), |level: String, message: String| {
            match level.as_str() {
                "error" => tracing::error!("{message}"),
                "warn" => tracing::warn!("{message}"),
                "debug" => tracing::debug!("{message}"),
                _ => tracing::info!("{message}"),
            }
        })?,
    )?;
    let s = Arc::clone(shared);
    h.set(
        "exists",
        Function::new(ctx.clone(), move |path: String| {
            s.inside(Path::new(&path)).is_some_and(|p| p.is_file())
        })?,
    )?;
    h.set(
        "escape",
        Function::new(ctx.clone(), |text: String| crate::mail::escape_html(&text))?,
    )?;
    let s = Arc::clone(shared);
    h.set(
        "compile",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, path: String| -> rquickjs::Result<Function<'js>> {
                let source = s.template(Path::new(&path)).map_err(|e| throw(&ctx, &e))?;
                let mut options = rquickjs::context::EvalOptions::default();
                options.strict = false;
                options.filename = Some(path.clone());
                ctx.eval_with_options(source.as_str(), options)
                    .map_err(|err| syntax_error(&ctx, err, &path, &source))
            },
        )?,
    )?;
    let s = Arc::clone(shared);
    h.set(
        "partial",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, from: String, name: String| -> rquickjs::Result<String> {
                let site = s.site();
                let exts: Vec<&str> = s.extensions().iter().map(String::as_str).collect();
                site.find_partial(Path::new(&from), &name, &exts)
                    .map(|p| p.to_string_lossy().to_string())
                    .map_err(|e| throw(&ctx, &e))
            },
        )?,
    )?;
    let s = Arc::clone(shared);
    h.set(
        "module",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, page: String, name: String| -> rquickjs::Result<String> {
                s.site()
                    .find_module(Path::new(&page), &name)
                    .map(|p| p.to_string_lossy().to_string())
                    .map_err(|e| throw(&ctx, &e))
            },
        )?,
    )?;
    let s = Arc::clone(shared);
    h.set(
        "read",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, path: String| -> rquickjs::Result<String> {
                s.inside(Path::new(&path))
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .ok_or_else(|| throw(&ctx, &format!("cannot read {path}")))
            },
        )?,
    )?;
    h.set(
        "file",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, path: String| -> rquickjs::Result<String> {
                let text = std::fs::read(&path)
                    .map_err(|e| throw(&ctx, &format!("cannot read {path}: {e}")))?;
                Ok(json!({
                    "type": crate::api::public::content_type(Path::new(&path)),
                    "body": String::from_utf8_lossy(&text),
                })
                .to_string())
            },
        )?,
    )?;
    let s = Arc::clone(shared);
    h.set(
        "route",
        Function::new(ctx.clone(), move |index: usize| -> String {
            let site = s.site();
            let Some(route) = site.routes().get(index) else {
                return "null".into();
            };
            let path = |p: &PathBuf| p.to_string_lossy().to_string();
            json!({
                "file": path(&route.file),
                "layouts": route.layouts.iter().map(path).collect::<Vec<_>>(),
                "middlewares": route.middlewares.iter().map(path).collect::<Vec<_>>(),
                "loaders": route.loaders.iter().map(|(k, p)| json!([k, path(p)])).collect::<Vec<_>>(),
            })
            .to_string()
        })?,
    )?;
    let s = Arc::clone(shared);
    h.set(
        "asset",
        Function::new(ctx.clone(), move |index: usize, path: String| -> String {
            let site = s.site();
            match site.routes().get(index) {
                Some(route) => site.asset(route, &path),
                None => path,
            }
        })?,
    )?;
    let s = Arc::clone(shared);
    h.set(
        "send",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, request: String| -> rquickjs::Result<String> {
                send(&s, &request).map_err(|e| throw(&ctx, &e))
            },
        )?,
    )?;
    Ok(h)
}

/// A template whose code does not compile: the error names the template line where the
/// offending tag starts, with the lines around it, as runtime errors do (§3.6).
fn syntax_error(ctx: &Ctx<'_>, err: rquickjs::Error, path: &str, source: &str) -> rquickjs::Error {
    if !matches!(err, rquickjs::Error::Exception) {
        return err;
    }
    let thrown = ctx.catch();
    let Some(exception) = thrown.as_exception() else {
        return ctx.throw(thrown);
    };
    let message = exception.message().unwrap_or_default();
    let stack = exception.stack().unwrap_or_default();
    // QuickJS reports `at <file>:<line>:<column>` in the generated code.
    let generated = stack
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("at ")?
                .strip_prefix(path)?
                .split(':')
                .nth(1)
        })
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1);
    let line = template_line(source, generated);
    let text = std::fs::read_to_string(path).unwrap_or_default();
    throw(
        ctx,
        &format!("{path}:{line}\n{}\n\n{message}", context(&text, line)),
    )
}

/// The template line of generated line `generated`: the last `; __line = N` before it.
fn template_line(source: &str, generated: usize) -> usize {
    source
        .lines()
        .take(generated.saturating_sub(1))
        .filter_map(|l| l.trim().strip_prefix("; __line = ")?.parse().ok())
        .last()
        .unwrap_or(1)
}

/// ejs's error context: up to 30 lines before and 3 after, ` >> ` marking `line`.
fn context(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let start = line.saturating_sub(30);
    let end = lines.len().min(line + 3);
    (start..end)
        .map(|i| {
            let mark = if i + 1 == line { " >> " } else { "    " };
            format!("{mark}{}| {}", i + 1, lines[i])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn throw(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    Exception::throw_message(ctx, message)
}

/// One `pb()` request, dispatched to our own router in-process (no socket): the page
/// request's client address and forwarded headers come along, so rate limits and
/// `realIP()` see the browser, not the server.
fn send(shared: &Shared, request: &str) -> Result<String, String> {
    let request: Value = serde_json::from_str(request).map_err(|e| e.to_string())?;
    let router = shared
        .router
        .get()
        .cloned()
        .ok_or("pb() is not available before the server starts")?;
    let text = |key: &str| request[key].as_str().unwrap_or_default().to_string();
    let mut builder = Request::builder()
        .method(text("method").as_str())
        .uri(text("path"));
    if let Value::Object(forwarded) = &request["forwarded"] {
        for (name, values) in forwarded {
            if NOT_FORWARDED.contains(&name.as_str()) {
                continue;
            }
            for value in values.as_array().into_iter().flatten() {
                if let Some(value) = value.as_str() {
                    builder = builder.header(name.as_str(), value);
                }
            }
        }
    }
    let mut http = builder
        .body(Body::from(text("body")))
        .map_err(|e| e.to_string())?;
    if let Value::Object(headers) = &request["headers"] {
        for (name, value) in headers {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                http.headers_mut().insert(name, value);
            }
        }
    }
    let ip: IpAddr = text("remoteIP")
        .parse()
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    http.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 0)));
    let Ok(response) = block_on(router.oneshot(http));
    let status = response.status().as_u16();
    let body = block_on(axum::body::to_bytes(
        response.into_body(),
        crate::api::BODY_LIMIT,
    ))
    .map_err(|e| e.to_string())?;
    Ok(json!({ "status": status, "body": String::from_utf8_lossy(&body) }).to_string())
}

#[cfg(test)]
mod tests {

    #[test]
    fn maps_generated_lines_to_template_lines() {
        let source = super::super::ejs::compile("<p>\n<% if ( %>\nx", "t.ejs").expect("compiles");
        let generated = source
            .lines()
            .collect::<Vec<_>>()
            .iter()
            .rposition(|l| l.contains("if ("))
            .expect("the tag's code")
            + 1;
        assert_eq!(super::template_line(&source, generated), 2);
        assert_eq!(super::context("a\nb\nc", 2), "    1| a\n >> 2| b\n    3| c");
    }
}
