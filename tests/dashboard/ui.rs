//! Driving the dashboard in the browser: clicks, form filling, waiting for a view, reading
//! the error under a field, checking labels, screenshots.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::browser::Page;
use crate::common::{ADMIN_EMAIL, TestServer};

pub const WAIT: Duration = Duration::from_secs(15);

pub fn artifact(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-artifacts/dashboard")
        .join(name)
}

/// Runs blocking browser work on the blocking pool, re-raising its panic here.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Clicks the first element matching `selector` (no navigation expected).
pub fn click(page: &Page, selector: &str) {
    let sel = json!(selector);
    page.eval(&format!(
        "(() => {{ const el = document.querySelector({sel}); if (!el) throw new Error('no ' + {sel}); el.click(); }})()"
    ));
}

/// Focuses and activates `selector`, as pressing Enter on it would.
pub fn press(page: &Page, selector: &str) {
    let sel = json!(selector);
    page.eval(&format!(
        "(() => {{ const el = document.querySelector({sel}); if (!el) throw new Error('no ' + {sel}); el.focus(); el.click(); }})()"
    ));
}

/// Puts `path` into a file input (DevTools' DOM.setFileInputFiles).
pub fn set_file(page: &Page, selector: &str, path: &Path) {
    let root = page.call("DOM.getDocument", json!({}));
    let node = page.call(
        "DOM.querySelector",
        json!({"nodeId": root["root"]["nodeId"], "selector": selector}),
    );
    page.call(
        "DOM.setFileInputFiles",
        json!({"nodeId": node["nodeId"], "files": [path.to_string_lossy()]}),
    );
}

/// Sets a checkbox as a click would.
pub fn check(page: &Page, selector: &str, on: bool) {
    let sel = json!(selector);
    page.eval(&format!(
        "(() => {{ const el = document.querySelector({sel}); if (!el) throw new Error('no ' + {sel}); if (el.checked !== {on}) el.click(); }})()"
    ));
}

pub fn wait_for_selector(page: &Page, selector: &str) {
    page.wait_for(
        &format!("document.querySelector({})", json!(selector)),
        WAIT,
    );
}

/// Goes to `hash` inside the app (a same-document navigation) and waits until the new
/// view has replaced the old one and `ready` matches.
pub fn route(page: &Page, hash: &str, ready: &str) {
    page.eval(&format!(
        "document.querySelector('main').dataset.stale = '1';
         if (location.hash === {hash}) window.dispatchEvent(new HashChangeEvent('hashchange'));
         else location.hash = {hash};",
        hash = json!(hash)
    ));
    page.wait_for(
        &format!(
            "document.querySelector('main:not([data-stale])') && document.querySelector({})",
            json!(ready)
        ),
        WAIT,
    );
}

pub fn wait_for_toast(page: &Page, text: &str) {
    page.wait_for(
        &format!(
            "[...document.querySelectorAll('.toast')].some(t => t.textContent === {})",
            json!(text)
        ),
        WAIT,
    );
}

pub fn wait_for_hash(page: &Page, prefix: &str) {
    page.wait_for(
        &format!(
            "location.hash.startsWith({}) && document.querySelector('main h1')",
            json!(prefix)
        ),
        WAIT,
    );
}

/// The text of the error shown under the field whose API path is `path`.
pub fn field_error(page: &Page, path: &str) -> String {
    let selector = format!("[data-path=\"{path}\"] > .error:not([hidden])");
    wait_for_selector(page, &selector);
    page.text(&selector)
}

/// Every visible form control on the page has an accessible name.
pub fn assert_labelled(page: &Page, screen: &str) {
    let unlabelled = page.eval(
        "[...document.querySelectorAll('input, select, textarea')]
           .filter(el => el.type !== 'hidden' && !el.closest('[hidden]'))
           .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
           .map(el => el.outerHTML)",
    );
    assert_eq!(unlabelled, json!([]), "unlabelled controls on {screen}");
}

/// Saves a screenshot of the viewport, with `selector` (if any) scrolled into view and
/// without the toasts of earlier steps.
pub fn shot(page: &Page, name: &str, selector: Option<&str>) {
    if let Some(selector) = selector {
        page.eval(&format!(
            "document.querySelector({}).scrollIntoView({{block: 'start'}})",
            json!(selector)
        ));
    }
    page.eval("document.getElementById('toasts').replaceChildren()");
    page.screenshot(&artifact(name));
}

/// A GET with the browser's own superuser session (a login of our own would rotate
/// nothing, but could mail a login alert to the sink).
pub fn api_get(
    page: &Page,
    handle: &tokio::runtime::Handle,
    server: &TestServer,
    path: &str,
) -> Value {
    let token = page.eval("JSON.parse(localStorage.getItem('satchel_superuser_auth')).token");
    let token = token
        .as_str()
        .expect("the browser's session token")
        .to_string();
    handle.block_on(async {
        let res = server.get(path, Some(&token)).await;
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        res.json()
    })
}

/// Signs the browser in with a superuser token made over HTTP (for tests that start past
/// the installer).
pub fn sign_in_with_token(page: &Page, server: &TestServer, token: &str) {
    page.goto(&server.url("/_/#/login"));
    page.eval(&format!(
        "localStorage.setItem('satchel_superuser_auth', JSON.stringify({}))",
        json!({"token": token, "record": {"email": ADMIN_EMAIL}})
    ));
}
