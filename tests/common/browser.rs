//! A tiny Chrome DevTools Protocol client for browser tests: it starts headless Chromium with
//! `--remote-debugging-pipe` (commands go in on the browser's fd 3, replies and events come out
//! on fd 4, each message JSON terminated by a NUL byte) and drives pages through it. No extra
//! dependencies and no node. Every call blocks its thread: from async tests, run browser work
//! on the blocking pool (`tokio::task::spawn_blocking`), never on the server's runtime.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one protocol command may take before the test fails.
const ANSWER: Duration = Duration::from_secs(30);
/// How long a navigation may take to produce a loaded document.
pub const LOAD: Duration = Duration::from_secs(15);

/// A headless Chromium; dropping it closes the browser (and kills it if it lingers).
pub struct Browser {
    conn: Arc<Conn>,
    child: Child,
    _profile: tempfile::TempDir,
}

/// One tab, attached through its own flat session.
#[derive(Clone)]
pub struct Page {
    conn: Arc<Conn>,
    session: String,
}

type Reply = Result<Value, String>;

/// The pipe to the browser: a writer and the callers waiting for replies by message id.
struct Conn {
    input: Mutex<ChildStdin>,
    waiting: Mutex<HashMap<u64, mpsc::Sender<Reply>>>,
    next_id: AtomicU64,
    stderr_log: PathBuf,
}

impl Conn {
    /// Sends one command and waits for its reply: `Err` carries a protocol error message; a
    /// browser that dies or stays silent fails the test.
    fn call(&self, method: &str, params: Value, session: Option<&str>) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = mpsc::channel();
        lock(&self.waiting).insert(id, tx);
        self.post(id, method, params, session);
        match rx.recv_timeout(ANSWER) {
            Ok(reply) => reply,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("chromium: no reply to {method}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                "chromium went away during {method}; its stderr ends with:\n{}",
                self.stderr_tail()
            ),
        }
    }

    fn post(&self, id: u64, method: &str, params: Value, session: Option<&str>) {
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        let mut input = lock(&self.input);
        // A write error surfaces as a disconnected reply channel once the reader sees EOF.
        let _ = input.write_all(&bytes).and_then(|()| input.flush());
    }

    fn stderr_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.stderr_log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// A JS expression for the first element matching `selector`, throwing when there is none.
fn element(selector: &str) -> String {
    let sel = json!(selector);
    format!(
        "(document.querySelector({sel}) ?? (() => {{ throw new Error(`no element matches ${{{sel}}} on ${{location.href}}`); }})())"
    )
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Browser {
    /// Starts headless Chromium with a fresh profile.
    pub fn launch() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
        );
        let profile = tempfile::tempdir().expect("chromium profile dir");
        let stderr_log = profile.path().join("stderr.log");
        let script = format!(
            "exec {CHROMIUM} --headless --no-sandbox --disable-gpu --no-first-run \
             --disable-background-networking --disable-component-update --disable-sync \
             --disable-quic --window-size=1024,768 --remote-debugging-pipe \
             --user-data-dir=\"$1\" about:blank 3<&0 4>&1 0</dev/null 1>/dev/null"
        );
        let mut child = Command::new("bash")
            .args(["-c", &script, "chromium"])
            .arg(profile.path().join("profile"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).expect("chromium stderr log"))
            .spawn()
            .expect("start chromium");
        let conn = Arc::new(Conn {
            input: Mutex::new(child.stdin.take().expect("chromium stdin")),
            waiting: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            stderr_log,
        });
        let output = BufReader::new(child.stdout.take().expect("chromium stdout"));
        let reader = Arc::clone(&conn);
        std::thread::spawn(move || read_replies(output, &reader));
        let browser = Browser {
            conn,
            child,
            _profile: profile,
        };
        browser.call("Browser.getVersion", json!({}));
        browser
    }

    /// Opens a new tab on `about:blank`.
    pub fn new_page(&self) -> Page {
        let target = self.call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        Page {
            conn: Arc::clone(&self.conn),
            session,
        }
    }

    fn call(&self, method: &str, params: Value) -> Value {
        self.conn
            .call(method, params, None)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.conn.post(0, "Browser.close", json!({}), None);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Hands each reply to its caller; events are ignored. At EOF every caller is released.
fn read_replies(mut output: impl BufRead, conn: &Conn) {
    let mut buf = Vec::new();
    while matches!(output.read_until(0, &mut buf), Ok(n) if n > 0) {
        if buf.last() == Some(&0) {
            buf.pop();
        }
        let message: Value = serde_json::from_slice(&buf).unwrap_or(Value::Null);
        buf.clear();
        let Some(id) = message["id"].as_u64() else {
            continue;
        };
        if let Some(caller) = lock(&conn.waiting).remove(&id) {
            let reply = match message.get("error") {
                Some(error) => Err(error["message"].as_str().unwrap_or("error").to_string()),
                None => Ok(message["result"].clone()),
            };
            let _ = caller.send(reply);
        }
    }
    lock(&conn.waiting).clear();
}

impl Page {
    /// Sends a command to this page's session.
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.conn
            .call(method, params, Some(&self.session))
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Opens `url` and waits until the new document has loaded.
    pub fn goto(&self, url: &str) {
        self.navigate_by(|| {
            let result = self.call("Page.navigate", json!({"url": url}));
            if let Some(error) = result["errorText"].as_str() {
                panic!("navigating to {url}: {error}");
            }
        });
    }

    /// Runs `action` (which should make the page navigate, e.g. submit a form) and waits until
    /// a new document has replaced the current one and finished loading.
    pub fn navigate_by(&self, action: impl FnOnce()) {
        self.eval("window.__satchelOldDocument = true");
        action();
        self.wait_for(
            "!window.__satchelOldDocument && document.readyState === 'complete'",
            LOAD,
        );
    }

    /// Clicks `selector` and waits for the navigation it causes (a form's submit button). The
    /// click runs after the evaluation returns, so the reply never races the old document away.
    pub fn click_and_wait(&self, selector: &str) {
        let el = element(selector);
        self.navigate_by(|| {
            self.eval(&format!(
                "(() => {{ const el = {el}; setTimeout(() => el.click()); }})()"
            ));
        });
    }

    /// Sets an input's value as typing would (with `input` and `change` events).
    pub fn fill(&self, selector: &str, value: &str) {
        let (el, value) = (element(selector), json!(value));
        self.eval(&format!(
            "(() => {{ const el = {el}; el.focus(); el.value = {value};
               el.dispatchEvent(new Event('input', {{bubbles: true}}));
               el.dispatchEvent(new Event('change', {{bubbles: true}})); }})()"
        ));
    }

    /// The text of the first element matching `selector`, whitespace collapsed and trimmed.
    pub fn text(&self, selector: &str) -> String {
        let js = format!(
            "{}.textContent.replace(/\\s+/g, ' ').trim()",
            element(selector)
        );
        self.eval(&js).as_str().unwrap_or_default().to_string()
    }

    /// Evaluates `js` in the page (awaiting a promise) and returns its value as JSON; a thrown
    /// exception fails the test with its text.
    pub fn eval(&self, js: &str) -> Value {
        self.try_eval(js)
            .unwrap_or_else(|e| panic!("evaluating `{js}` threw: {e}"))
    }

    /// Like [`Page::eval`], with the exception (or protocol error) as `Err`.
    pub fn try_eval(&self, js: &str) -> Result<Value, String> {
        let params = json!({"expression": js, "returnByValue": true, "awaitPromise": true});
        let result = self
            .conn
            .call("Runtime.evaluate", params, Some(&self.session))?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("exception");
            return Err(text.to_string());
        }
        Ok(result["result"]["value"].clone())
    }

    /// Polls until `condition` (a JS expression) is truthy; fails after `timeout`.
    pub fn wait_for(&self, condition: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.try_eval(&format!("!!({condition})")) {
                Ok(Value::Bool(true)) => return,
                Ok(value) => last = value.to_string(),
                // Mid-navigation there may be no document to evaluate in yet.
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let at = self.try_eval("location.href").unwrap_or_default();
        panic!("timed out after {timeout:?} waiting for `{condition}` (last: {last}) at {at}");
    }

    /// Saves a PNG of the viewport to `path` (creating its directory).
    pub fn screenshot(&self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}
