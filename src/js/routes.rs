//! `routerAdd` routes (§9.4): a layer in front of the REST routes matches the current
//! generation's JS routes (Go-style `{name}` and `{name...}` patterns) and runs the matched
//! route's middlewares and handler on a JS worker; anything else passes through untouched.
//! The request body is read first (within the API's body limit), so the worker never waits
//! on the client.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rquickjs::{Array, Ctx, Function, Object};
use serde_json::{Map, Value, json};

use crate::api::{extract, record_body};
use crate::error::ApiError;
use crate::js::{Js, bridge, errors, events, pool};

/// The JS routes of one generation.
#[derive(Default)]
pub struct Routes {
    by_method: HashMap<String, matchit::Router<usize>>,
    chains: Vec<Vec<Step>>,
    /// `routerUse` middlewares: they run before every request, JS route or not.
    global: Vec<Step>,
}

/// One step of a route's chain, in run order (middlewares by priority, the handler last).
#[derive(Clone)]
pub enum Step {
    Builtin(String, Vec<Value>),
    Handler(usize),
    /// The pages pipeline for the matched page (`src/pages/runtime.js`).
    Page,
}

impl Routes {
    /// Adds `method path` (PocketBase's pattern syntax) with its chain.
    pub fn add(&mut self, method: &str, path: &str, chain: Vec<Step>) -> Result<(), String> {
        let pattern = matchit_pattern(path);
        let index = self.chains.len();
        self.by_method
            .entry(method.to_string())
            .or_default()
            .insert(pattern, index)
            .map_err(|e| format!("routerAdd {method} {path}: {e}"))?;
        self.chains.push(chain);
        Ok(())
    }

    pub fn set_global(&mut self, steps: Vec<Step>) {
        self.global = steps;
    }

    fn find(&self, method: &str, path: &str) -> Option<(usize, Map<String, Value>)> {
        let router = self.by_method.get(method)?;
        let matched = router.at(path).ok()?;
        let params = matched
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        Some((*matched.value, params))
    }
}

/// Go's `{name...}` (rest of the path) is matchit's `{*name}`; `{$}` (exact end) is implied.
fn matchit_pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for part in path.split_inclusive('/') {
        let (segment, slash) = match part.strip_suffix('/') {
            Some(s) => (s, "/"),
            None => (part, ""),
        };
        match segment
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix("...}"))
        {
            Some(name) => out.push_str(&format!("{{*{name}}}")),
            None if segment == "{$}" => {}
            None => out.push_str(segment),
        }
        out.push_str(slash);
    }
    out
}

/// Orders a route's middlewares by priority (stable), then the handler.
pub fn chain(mut middlewares: Vec<(i64, Step)>, handler: usize) -> Vec<Step> {
    middlewares.sort_by_key(|(priority, _)| *priority);
    let mut steps: Vec<Step> = middlewares.into_iter().map(|(_, s)| s).collect();
    steps.push(Step::Handler(handler));
    steps
}

/// The layer: runs a matching JS route, else the rest of the stack.
pub async fn dispatch(
    State(js): State<Arc<Js>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(generation) = js.generation() else {
        return next.run(request).await;
    };
    let method = request.method().as_str().to_string();
    let routes = &generation.routes;
    // A page wins over JS routes, as PocketPages' global middleware does; its static files
    // are served here, without JS.
    let page = match &generation.pages {
        Some(pages) => match pages.site().resolve(request.uri().path()) {
            Some(m) if m.route.is_static => {
                let head = request.method() == axum::http::Method::HEAD;
                return crate::pages::statics::serve(&m.route.file, request.headers(), head).await;
            }
            Some(m) => Some((m.index, m.params)),
            None => None,
        },
        None => None,
    };
    let found = match page {
        Some(_) => None,
        None => routes.find(&method, request.uri().path()),
    };
    if found.is_none() && page.is_none() && routes.global.is_empty() {
        return next.run(request).await;
    }
    let matched = found.is_some() || page.is_some();
    let (route, params) = found.unwrap_or_default();
    let (mut parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, crate::api::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large")
                .into_response();
        }
    };
    let app = js.app();
    let mut auth = extract::request_auth(app, &mut parts).await;
    let parsed = parse_body(&parts, &body).await;
    let mut steps = routes.global.clone();
    let is_page = page.is_some();
    let data = match page {
        Some((index, params)) => {
            let mut extras = Map::new();
            // The `pb_auth` cookie counts when no Authorization header did (§6.1).
            if auth.is_none() {
                match crate::pages::auth_cookie(&parts.headers) {
                    crate::pages::AuthCookie::Absent => {}
                    crate::pages::AuthCookie::Token(token) => {
                        match extract::authenticate(app, &token).await {
                            Some(found) => {
                                auth = Some(found);
                                extras.insert("authToken".into(), json!(token));
                            }
                            None => {
                                extras.insert("clearAuthCookie".into(), json!(true));
                            }
                        }
                    }
                    crate::pages::AuthCookie::Garbage => {
                        extras.insert("clearAuthCookie".into(), json!(true));
                    }
                }
            }
            let params = params.into_iter().map(|(k, v)| (k, json!(v))).collect();
            let mut data = route_data(app, &parts, &body, params, auth, parsed);
            extras.insert("page".into(), json!(index));
            let https = parts.uri.scheme_str() == Some("https")
                || parts
                    .headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    == Some("https");
            extras.insert("secure".into(), json!(https));
            if let Value::Object(map) = &mut data {
                map.extend(extras);
            }
            data
        }
        None => route_data(app, &parts, &body, params, auth, parsed),
    };
    // Past the global middlewares: the page, the JS route, or the rest of the stack.
    let rest = if is_page {
        steps.push(Step::Page);
        None
    } else if matched {
        steps.extend(routes.chains[route].iter().cloned());
        None
    } else {
        Some((next, Request::from_parts(parts, Body::from(body))))
    };
    let ran = generation
        .pool
        .run(move || run_route(&steps, data, rest))
        .await;
    match ran {
        Ok(Ok(answer)) => answer,
        Ok(Err(err)) => err.into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// What `routeEvent` in the prelude needs of the request.
fn route_data(
    app: &crate::app::App,
    parts: &axum::http::request::Parts,
    body: &Bytes,
    params: Map<String, Value>,
    auth: Option<extract::AuthRecord>,
    parsed: Result<Value, String>,
) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut header_info: Map<String, Value> = Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).to_string();
        let key = name.as_str().to_ascii_lowercase();
        header_info
            .entry(key.replace('-', "_"))
            .or_insert_with(|| json!(value));
        if let Value::Array(list) = headers.entry(key).or_insert_with(|| json!([])) {
            list.push(json!(value));
        }
    }
    let query: Map<String, Value> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(parts.uri.query().unwrap_or(""))
            .unwrap_or_default()
            .into_iter()
            .rev()
            .map(|(k, v)| (k, json!(v)))
            .collect();
    let remote = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    json!({
        "method": parts.method.as_str(),
        "url": parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        "host": parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or(""),
        "headers": headers,
        "headerInfo": header_info,
        "query": query,
        "body": String::from_utf8_lossy(body),
        "parsedBody": parsed.as_ref().cloned().unwrap_or_else(|_| json!({})),
        "bodyError": parsed.err(),
        "pathParams": params,
        "auth": auth.map(|a| json!({"collection": a.collection.id, "record": a.record})),
        "realIP": extract::client_ip(app, parts),
        "remoteIP": remote,
    })
}

/// The body as `e.requestInfo().body` shows it (PocketBase's `BindBody`): JSON, or form
/// fields with their values inferred (numbers, booleans) and repeated keys as arrays. An
/// empty body is `{}`; a body of another type is refused.
async fn parse_body(parts: &axum::http::request::Parts, body: &Bytes) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    let kind = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind.starts_with("application/x-www-form-urlencoded") {
        return record_body::urlencoded_values(body).map(Value::Object);
    }
    if kind.starts_with("multipart/form-data") {
        return record_body::form_values(kind, body.clone())
            .await
            .map(Value::Object)
            .map_err(|e| e.message);
    }
    if kind.starts_with("application/json") {
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Value::Object(map)),
            Ok(_) => Ok(json!({})),
            Err(e) => Err(e.to_string()),
        };
    }
    Err("Unsupported Content-Type.".into())
}

/// The rest of the HTTP stack, for a chain of global middlewares with no JS route.
type Rest = (axum::middleware::Next, Request);

/// Runs the chain on this worker; a chain that writes nothing answers an empty 200 (§9.3).
/// With `rest`, the chain ends in the rest of the stack, whose answer wins once reached.
fn run_route(steps: &[Step], data: Value, rest: Option<Rest>) -> Result<Response, ApiError> {
    bridge::with_ctx(|ctx| {
        let answered: Rc<RefCell<Option<Response>>> = Rc::default();
        let outcome = call_route(&ctx, steps, &data, rest, &answered);
        if pool::interrupted() {
            return Err(errors::timeout());
        }
        match outcome {
            // Headers the middlewares set also go on the rest of the stack's answer.
            Ok(written) => Ok(match answered.take() {
                Some(mut reached) => {
                    let own = response(written);
                    for (name, value) in own.headers() {
                        if name != CONTENT_TYPE {
                            reached.headers_mut().append(name, value.clone());
                        }
                    }
                    reached
                }
                None => response(written),
            }),
            Err(err) => Err(errors::from_js(&ctx, err)),
        }
    })
    .unwrap_or_else(|| Err(ApiError::internal("a JS route ran off its worker")))
}

/// The chain's last step when no JS route matched: runs the rest of the stack (once).
fn proceed<'js>(
    ctx: &Ctx<'js>,
    rest: Rest,
    answered: &Rc<RefCell<Option<Response>>>,
) -> rquickjs::Result<Function<'js>> {
    let rest = RefCell::new(Some(rest));
    let answered = Rc::clone(answered);
    Function::new(ctx.clone(), move || {
        if let Some((next, request)) = rest.borrow_mut().take() {
            let response = bridge::block_on(next.run(request));
            *answered.borrow_mut() = Some(response);
        }
    })
}

fn call_route<'js>(
    ctx: &Ctx<'js>,
    steps: &[Step],
    data: &Value,
    rest: Option<Rest>,
    answered: &Rc<RefCell<Option<Response>>>,
) -> rquickjs::Result<Written> {
    let globals = ctx.globals();
    let satchel: Object = globals.get("__satchel")?;
    let apis: Object = globals.get("$apis")?;
    let fns = Array::new(ctx.clone())?;
    for (i, step) in steps.iter().enumerate() {
        let f: Function = match step {
            Step::Handler(index) => events::handler(ctx, *index)?,
            Step::Page => {
                let pages: Object = globals.get("__pages")?;
                pages.get("handle")?
            }
            Step::Builtin(name, args) => {
                let make: Function = apis.get(name.as_str())?;
                let args = ctx.json_parse(Value::Array(args.clone()).to_string())?;
                let apply: Function = ctx.eval("(f, args) => f(...args)")?;
                apply.call((make, args))?
            }
        };
        fns.set(i, f)?;
    }
    if let Some(rest) = rest {
        fns.set(steps.len(), proceed(ctx, rest, answered)?)?;
    }
    let run: Function = satchel.get("runRoute")?;
    let data = ctx.json_parse(data.to_string())?;
    let answer: Object = run.call((fns, data))?;
    let mut headers = Vec::new();
    let pairs: Array = answer.get("headers")?;
    for pair in pairs.iter::<Array>() {
        let pair = pair?;
        headers.push((pair.get::<String>(0)?, pair.get::<String>(1)?));
    }
    Ok(Written {
        status: answer.get("status")?,
        written: answer.get("written")?,
        body: answer.get("body")?,
        headers,
    })
}

/// What a route chain wrote (the prelude's `e.__r`).
struct Written {
    status: i32,
    written: bool,
    body: String,
    headers: Vec<(String, String)>,
}

/// What a chain wrote as an HTTP response (an empty 200 when it wrote nothing).
fn response(written: Written) -> Response {
    let status = u16::try_from(written.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|_| written.written)
        .unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(written.body));
    *response.status_mut() = status;
    for (name, value) in written.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_patterns_become_matchit_patterns() {
        assert_eq!(matchit_pattern("/hello/{name}"), "/hello/{name}");
        assert_eq!(matchit_pattern("/files/{path...}"), "/files/{*path}");
        assert_eq!(matchit_pattern("/exact/{$}"), "/exact/");
        assert_eq!(matchit_pattern("/plain"), "/plain");
    }
}
