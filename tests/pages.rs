//! PocketPages-compatible pages (reference/pocketpages-surface.md §13 items 1–25 and 30),
//! against the real server: routing, statics, EJS, layouts, includes, the request pipeline,
//! the context API, configuration and hot reload. Where Satchel deliberately differs from
//! PocketPages (no prefix matching, accumulated Set-Cookie headers, …) the tests check
//! Satchel's behaviour.

mod common;

use common::{Response, TestServer, expect, send};
use sha2::{Digest, Sha256};

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
/// PocketBase's 404 for a `GET` nothing answers (no `pb_public`).
const NOT_FOUND: &str = r#"{"data":{},"message":"File not found.","status":404}"#;
/// PocketPages' exact non-debug 500 page (§4.2).
const GENERIC_500: &str = "<html><body><h1>Internal Server Error</h1><p>Something went wrong. Please try again later.</p></body></html>";
const DEBUG_PREFIX: &str = "<html><body><h1>PocketPages Error</h1><pre><code>";
const DEBUG_SUFFIX: &str = "</code></pre></body></html>";

// ---- helpers ---------------------------------------------------------------------------

/// One request with extra headers and a raw body.
async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    send(server.addr, method, path, headers, body.as_bytes()).await
}

/// `GET path` answers `status` with exactly `body`, for every case.
async fn check_gets(server: &TestServer, cases: &[(&str, u16, &str)]) {
    for (path, status, body) in cases {
        let res = server.get(path, None).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (*status, *body),
            "GET {path}: {res:?}"
        );
    }
}

/// Serves each template of `cases` at `/<dir>/<i>` and checks that it renders, 200, to
/// exactly its expected text; returns the answers.
async fn check_renders(dir: &str, cases: &[(&str, &str)]) -> Vec<Response> {
    let files: Vec<(String, String)> = cases
        .iter()
        .enumerate()
        .map(|(i, (template, _))| (format!("{dir}/{i}.ejs"), template.to_string()))
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let server = TestServer::start_pages(&files).await;
    let mut answers = Vec::new();
    for (i, (template, expected)) in cases.iter().enumerate() {
        let res = server.get(&format!("/{dir}/{i}"), None).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (200, *expected),
            "template {template:?}: {res:?}"
        );
        answers.push(res);
    }
    answers
}

/// A 200 HTML page with exactly `body`.
#[track_caller]
fn expect_html(res: &Response, body: &str) {
    expect(res, 200, body);
    assert_eq!(res.header("content-type"), Some(HTML), "{res:?}");
}

/// A 200 JSON answer with exactly `body`.
#[track_caller]
fn expect_json(res: &Response, body: &str) {
    expect(res, 200, body);
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "{res:?}"
    );
}

/// PocketPages' debug 500 page around `escaped` (already HTML-escaped with `&apos;`/`&quot;`).
#[track_caller]
fn expect_debug_page(res: &Response, status: u16, escaped: &str) {
    assert_eq!(res.status, status, "{res:?}");
    assert_eq!(res.header("content-type"), Some(HTML), "{res:?}");
    assert!(res.body.starts_with(DEBUG_PREFIX), "{res:?}");
    assert!(res.body.ends_with(DEBUG_SUFFIX), "{res:?}");
    assert!(res.body.contains(escaped), "missing {escaped:?} in {res:?}");
}

/// The debug page's escaping (§4.2).
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

fn sha(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The canonical pages root, as error messages print it.
fn root_of(server: &TestServer) -> String {
    server
        .pages_dir()
        .canonicalize()
        .expect("pages root")
        .display()
        .to_string()
}

const DEBUG_CONFIG: (&str, &str) = ("+config.js", "module.exports = { debug: true }");

// ---- §13.1–3, 6, 7: routing ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_urls_to_pages() {
    let server = TestServer::start_pages(&[
        ("index.ejs", "home"),
        ("about.ejs", "about"),
        ("t/json.ejs", "json"),
        ("products/index.ejs", "list"),
        ("products/new.ejs", "new"),
        ("products/[id].ejs", "product <%= params.id %>"),
        ("p/[id].ejs", "<%- params.id %>"),
        ("method.ejs", "<%= request.method %>"),
    ])
    .await;
    check_gets(
        &server,
        &[
            ("/", 200, "home"),
            ("/index", 200, "home"),
            ("/about", 200, "about"),
            ("/about/", 200, "about"),
            ("/about.ejs", 404, NOT_FOUND),
            ("/About", 404, NOT_FOUND),
            ("/ABOUT/", 404, NOT_FOUND),
            ("/t/json", 200, "json"),
            ("/t/json/", 200, "json"),
            ("/T/JSON", 404, NOT_FOUND),
            // Satchel: no prefix matching, and a param never matches a missing segment.
            ("/t/json/extra", 404, NOT_FOUND),
            ("/products", 200, "list"),
            ("/products/", 200, "list"),
            ("/products/index", 200, "list"),
            ("/products/new", 200, "new"),
            ("/products/123", 200, "product 123"),
            ("/products/123/extra", 404, NOT_FOUND),
            ("/p", 404, NOT_FOUND),
            ("/p/caf%C3%A9%20x", 200, "caf%C3%A9%20x"),
            ("/p/1?x=2", 200, "1"),
            ("/nope", 404, NOT_FOUND),
        ],
    )
    .await;
    expect_html(&server.get("/", None).await, "home");

    // Every method reaches the same page; HEAD answers headers only.
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let res = call(&server, method, "/method", &[], "").await;
        expect_html(&res, method);
    }
    let res = call(&server, "HEAD", "/method", &[], "").await;
    expect(&res, 200, "");
    assert_eq!(res.header("content-type"), Some(HTML), "{res:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_serves_private_files() {
    let server = TestServer::start_pages(&[
        ("index.ejs", "home"),
        ("+layout.ejs", "<L><%- slot %></L>"),
        ("+middleware.js", "module.exports = () => ({})"),
        ("_private/part.ejs", "part"),
        ("_private/lib.js", "module.exports = 1"),
        ("_hidden/page.ejs", "hidden"),
        ("-draft.ejs", "draft"),
        ("sub/+load.js", "module.exports = () => ({})"),
        ("sub/_secret.css", "secret"),
        ("sub/-old.css", "old"),
        ("sub/page.ejs", "sub"),
    ])
    .await;
    let mut cases: Vec<(&str, u16, &str)> = [
        "/_private/part",
        "/_private/part.ejs",
        "/_private/lib.js",
        "/_hidden/page",
        "/hidden/page",
        "/-draft",
        "/-draft.ejs",
        "/draft",
        "/+layout",
        "/+layout.ejs",
        "/+middleware.js",
        "/sub/+load.js",
        "/sub/_secret.css",
        "/sub/-old.css",
    ]
    .iter()
    .map(|path| (*path, 404, NOT_FOUND))
    .collect();
    cases.push(("/", 200, "<L>home</L>"));
    cases.push(("/sub/page", 200, "<L>sub</L>"));
    check_gets(&server, &cases).await;
}

// ---- §13.4–5: static files -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_static_files() {
    let css = "body{color:red}";
    let server = TestServer::start_pages(&[
        ("index.ejs", "home"),
        ("t/app.css", css),
        ("robots.txt", "User-agent: *"),
        ("LICENSE", "MIT"),
        ("data.json", r#"{"a":1}"#),
        ("notes.md", "# Notes"),
        ("script.js", "console.log(1)"),
    ])
    .await;
    let fingerprinted = format!("/t/app.{}.css", sha(css));
    let license = format!("/LICENSE.{}", sha("MIT"));
    let cases: &[(&str, &str, &str)] = &[
        ("/t/app.css", "text/css; charset=utf-8", css),
        ("/t/app.css?v=1", "text/css; charset=utf-8", css),
        (&fingerprinted, "text/css; charset=utf-8", css),
        ("/robots.txt", TEXT, "User-agent: *"),
        ("/LICENSE", "application/octet-stream", "MIT"),
        (&license, "application/octet-stream", "MIT"),
        ("/data.json", "application/json", r#"{"a":1}"#),
        ("/notes.md", "text/markdown; charset=utf-8", "# Notes"),
        (
            "/script.js",
            "text/javascript; charset=utf-8",
            "console.log(1)",
        ),
    ];
    for (path, content_type, body) in cases {
        let res = server.get(path, None).await;
        expect(&res, 200, body);
        assert_eq!(res.header("content-type"), Some(*content_type), "{path}");
        assert_eq!(res.header("accept-ranges"), Some("bytes"), "{path}");
        assert_eq!(res.header("cache-control"), None, "{path}");
        assert!(res.header("last-modified").is_some(), "{path}");
    }

    // A wrong hash, or the alias of another file, falls through.
    let wrong = format!("/t/app.{}.css", sha("nope"));
    let other = format!("/t/app.{}.css", sha("MIT"));
    check_gets(
        &server,
        &[
            (&wrong, 404, NOT_FOUND),
            (&other, 404, NOT_FOUND),
            ("/t/app", 404, NOT_FOUND),
            ("/T/app.css", 404, NOT_FOUND),
        ],
    )
    .await;

    // One range -> 206; past the end -> 416; HEAD -> headers only.
    let res = call(&server, "GET", "/t/app.css", &[("Range", "bytes=0-3")], "").await;
    expect(&res, 206, "body");
    assert_eq!(res.header("content-range"), Some("bytes 0-3/15"));
    let res = call(&server, "GET", &fingerprinted, &[("Range", "bytes=-4")], "").await;
    expect(&res, 206, "red}");
    let res = call(&server, "GET", "/t/app.css", &[("Range", "bytes=99-")], "").await;
    assert_eq!(res.status, 416, "{res:?}");
    assert_eq!(res.header("content-range"), Some("bytes */15"));
    let res = call(&server, "HEAD", "/t/app.css", &[], "").await;
    expect(&res, 200, "");
    assert_eq!(res.header("content-length"), Some("15"));
}

// ---- §13.6, 15: params -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_merge_route_params_over_the_parsed_query() {
    let server = TestServer::start_pages(&[(
        "p/[id].ejs",
        "<%- JSON.stringify(params) %>|<%- JSON.stringify(request.url.query) %>|<%= params === request.url.query %>",
    )])
    .await;
    check_gets(
        &server,
        &[
            (
                "/p/abc?id=999&x=1",
                200,
                r#"{"id":"abc","x":1}|{"id":"abc","x":1}|true"#,
            ),
            ("/p/7", 200, r#"{"id":"7"}|{"id":"7"}|true"#),
            (
                "/p/a?s=a+b%20c&n=007&b=true&e=&r=1&r=2&arr%5B%5D=1&o=%7B%22k%22%3A1%7D",
                200,
                r#"{"s":"a b c","n":"007","b":true,"e":"","r":1,"arr[]":1,"o":{"k":1},"id":"a"}|{"s":"a b c","n":"007","b":true,"e":"","r":1,"arr[]":1,"o":{"k":1},"id":"a"}|true"#,
            ),
        ],
    )
    .await;
}

// ---- §13.8: route groups -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_groups_vanish_from_urls_but_keep_their_files() {
    let server = TestServer::start_pages(&[
        ("+layout.ejs", "<root><%- slot %></root>"),
        ("(admin)/+layout.ejs", "<admin><%- slot %></admin>"),
        (
            "(admin)/+middleware.js",
            "module.exports = () => ({ group: 'admin' })",
        ),
        ("(admin)/+load.js", "module.exports = () => ({ loaded: 1 })"),
        (
            "(admin)/dash.ejs",
            "dash <%= data.group %> <%= data.loaded %>",
        ),
        (
            "(admin)/users/[id].ejs",
            "user <%= params.id %> <%= data.group %>",
        ),
        ("(site)/index.ejs", "home <%= data.group %>"),
    ])
    .await;
    check_gets(
        &server,
        &[
            ("/dash", 200, "<root><admin>dash admin 1</admin></root>"),
            ("/users/7", 200, "<root><admin>user 7 admin</admin></root>"),
            ("/", 200, "<root>home</root>"),
            ("/(admin)/dash", 404, NOT_FOUND),
            ("/admin/dash", 404, NOT_FOUND),
        ],
    )
    .await;
}

// ---- §13.9: EJS tags ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_every_ejs_tag() {
    let cases: &[(&str, &str)] = &[
        (r#"<%= '<b>&"\'' %>"#, "&lt;b&gt;&amp;&#34;&#39;"),
        ("<%- '<b>bold</b>' %>", "<b>bold</b>"),
        (
            "a<%= null %>b<%= undefined %>c<%- null %>d<%- undefined %>e",
            "abcde",
        ),
        (
            "<%= {a: 1} %>|<%= [1, 2] %>|<%= 0 %>|<%= false %>",
            "[object Object]|1,2|0|false",
        ),
        ("a<%# a comment %>b", "ab"),
        ("<%% literal %%>", "<% literal %>"),
        ("<% if (true) { -%>\nyes\n<% } -%>\nend", "yes\nend"),
        (
            "  \t<%_ if (true) { _%>  \n  x\n  <%_ } _%>\nend",
            "  x\nend",
        ),
        ("<% const n = 2 // trailing comment %>n=<%= n %>", "n=2"),
        (
            "<% for (const i of [1, 2, 3]) { %><%= i %>,<% } %>",
            "1,2,3,",
        ),
        (
            "<%= locals.request.method %>|<%= api.request.method %>|<%= typeof include %>",
            "GET|GET|function",
        ),
        ("line1\n<% /* code */ %>\nline3", "line1\n\nline3"),
    ];
    let answers = check_renders("tags", cases).await;
    for ((template, _), res) in cases.iter().zip(&answers) {
        assert_eq!(res.header("content-type"), Some(HTML), "{template:?}");
    }
}

// ---- §13.10: <script server> -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_server_blocks_are_inline_code() {
    let cases: &[(&str, &str)] = &[
        (r#"<script server>const x = "S1"</script><%= x %>"#, "S1"),
        ("<script  server>const y = 2;</script>[<%= y %>]", "[2]"),
        (
            "<script server>let a = 1</script><script server>a += 1</script>a=<%= a %>",
            "a=2",
        ),
        (
            "before<script server>\nconst t = 'T'\n</script>after <%= t %>",
            "beforeafter T",
        ),
        (
            "<script server >const z = 1</script>",
            "<script server >const z = 1</script>",
        ),
        (
            r#"<script server="">var w = 1</script>"#,
            r#"<script server="">var w = 1</script>"#,
        ),
        ("<script>var c = 1</script>", "<script>var c = 1</script>"),
    ];
    check_renders("s", cases).await;
}

// ---- §13.11: JSON pages ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_skips_layouts() {
    let server = TestServer::start_pages(&[
        ("+layout.ejs", "<L><%- slot %></L>"),
        ("j/obj.ejs", "<% return {a: 1, b: [true, null]} %>ignored"),
        ("j/num.ejs", "42"),
        ("j/ws.ejs", "  \n[1, 2]\n"),
        ("j/str.ejs", r#""hi""#),
        ("j/ret-str.ejs", "<% return 'hi' %>"),
        ("j/undef.ejs", "<% return undefined %>"),
        ("j/html.ejs", "not json"),
    ])
    .await;
    expect_json(
        &server.get("/j/obj", None).await,
        r#"{"a":1,"b":[true,null]}"#,
    );
    expect_json(&server.get("/j/num", None).await, "42");
    expect_json(&server.get("/j/ws", None).await, "[1,2]");
    expect_json(&server.get("/j/str", None).await, r#""hi""#);
    // A returned string is the page's text, not JSON.
    expect_html(&server.get("/j/ret-str", None).await, "<L>hi</L>");
    expect_html(&server.get("/j/undef", None).await, "<L></L>");
    expect_html(&server.get("/j/html", None).await, "<L>not json</L>");
}

// ---- §13.12: layouts and slots -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layouts_wrap_nearest_first_with_slots() {
    let server = TestServer::start_pages(&[
        (
            "+layout.ejs",
            r#"<root title="<%= meta('title') %>"><%- slot %></root>"#,
        ),
        (
            "l/+layout.ejs",
            "<l><%- slot %>|<%= slots.head %>|<%= Object.keys(slots).join(',') %>|<%= data.from %></l>",
        ),
        ("l/+load.js", "module.exports = () => ({ from: 'loader' })"),
        (
            "l/page.ejs",
            "<% meta('title', 'T') %>intro<!-- slot:head -->HEAD<!-- slot:body -->BODY",
        ),
        ("l/def.ejs", "rest<!--slot:default-->DEF<!-- slot:empty -->"),
        ("l/trim.ejs", "\n   hi   \n"),
        ("top.ejs", "top"),
    ])
    .await;
    check_gets(
        &server,
        &[
            ("/top", 200, r#"<root title="">top</root>"#),
            (
                "/l/page",
                200,
                r#"<root title="T"><l>intro|HEAD|head,body|loader</l></root>"#,
            ),
            (
                "/l/def",
                200,
                r#"<root title=""><l>DEF||default|loader</l></root>"#,
            ),
            (
                "/l/trim",
                200,
                r#"<root title=""><l>hi|||loader</l></root>"#,
            ),
        ],
    )
    .await;
}

// ---- §13.13: include -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_searches_private_dirs_upward() {
    let server = TestServer::start_pages(&[
        (
            "_private/header.ejs",
            "root-header <%= title %> <%= request.method %> <%= params.q %>",
        ),
        ("_private/plain", "plain <%= 1 + 1 %>"),
        ("_private/outer.ejs", "outer[<%- include('inner') %>]"),
        ("_private/inner.ejs", "inner"),
        ("inc/_private/header.ejs", "inc-header <%= title %>"),
        ("inc/page.ejs", "<%- include('header', {title: 'A'}) %>"),
        ("inc/deep/page.ejs", "<%- include('header.ejs', {title: 'B'}) %>"),
        (
            "other/page.ejs",
            "<%- include('./header', {title: 'C'}) %>|<%- include('/inc/_private/header.ejs', {title: 'D'}) %>|<%- include('plain') %>",
        ),
        ("other/sibling.ejs", "sib <%= title %>"),
        ("other/rel.ejs", "<%- include('../sibling', {title: 'E'}) %>"),
        ("nested.ejs", "<%- include('outer') %>"),
        ("escaped.ejs", "<%= include('inner') %>|<%= include('outer') %>"),
    ])
    .await;
    check_gets(
        &server,
        &[
            ("/inc/page", 200, "inc-header A"),
            ("/inc/deep/page", 200, "inc-header B"),
            (
                "/other/page?q=zz",
                200,
                "root-header C GET zz|inc-header D|plain 2",
            ),
            ("/other/rel", 200, "sib E"),
            ("/nested", 200, "outer[inner]"),
            ("/escaped", 200, "inner|outer[inner]"),
        ],
    )
    .await;
}

// ---- §13.24: error pages (and the include/resolve miss messages, §13.13–14) ------------

/// Pages that fail in different ways.
const FAILING: &[(&str, &str)] = &[
    ("boom.ejs", r#"<% throw new Error('boom <x> & "q"') %>"#),
    ("bad.ejs", "<% throw new BadRequestError('bad input') %>"),
    ("unclosed.ejs", "<% if (true) {"),
    ("sub/miss.ejs", "<%- include('nope') %>"),
    ("status.ejs", "<% response.status(201) %>"),
    ("sub/resolve.ejs", "<%= resolve('nope') %>"),
    (
        "lines.ejs",
        "<p>one</p>\n<p>two</p>\n<% throw new Error('on three') %>\n<p>four</p>",
    ),
    ("syntax.ejs", "<p>one</p>\n<% if ( %>\n<p>three</p>"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_answer_the_generic_page_without_debug() {
    let server = TestServer::start_pages(FAILING).await;
    for path in ["/boom", "/unclosed", "/sub/miss", "/status", "/sub/resolve"] {
        let res = server.get(path, None).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (500, GENERIC_500),
            "{path}: {res:?}"
        );
        assert_eq!(res.header("content-type"), Some(HTML), "{path}");
    }
    let res = server.get("/bad", None).await;
    expect(&res, 400, "Bad Request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_answer_the_details_page_with_debug() {
    let mut files = FAILING.to_vec();
    files.push(DEBUG_CONFIG);
    let server = TestServer::start_pages(&files).await;
    let root = root_of(&server);

    let res = server.get("/boom", None).await;
    expect_debug_page(&res, 500, &esc(r#"boom <x> & "q""#));

    let res = server.get("/unclosed", None).await;
    expect_debug_page(
        &res,
        500,
        &esc(r#"Could not find matching close tag for "<%"."#),
    );

    let tried = [
        "sub/_private/nope",
        "sub/_private/nope.ejs",
        "_private/nope",
        "_private/nope.ejs",
    ]
    .map(|p| format!("{root}/{p}"))
    .join(", ");
    let res = server.get("/sub/miss", None).await;
    expect_debug_page(
        &res,
        500,
        &esc(&format!(
            "No partial 'nope' found in any _private directory. Tried: {tried}"
        )),
    );

    // Runtime and syntax errors name the template line, with the lines around it.
    let res = server.get("/lines", None).await;
    expect_debug_page(
        &res,
        500,
        &esc(&format!(
            "{root}/lines.ejs:3\n    1| <p>one</p>\n    2| <p>two</p>\n >> 3| <% throw new Error('on three') %>\n    4| <p>four</p>\n\non three"
        )),
    );
    let res = server.get("/syntax", None).await;
    expect_debug_page(
        &res,
        500,
        &esc(&format!(
            "{root}/syntax.ejs:2\n    1| <p>one</p>\n >> 2| <% if ( %>\n    3| <p>three</p>\n\n"
        )),
    );

    let res = server.get("/sub/resolve", None).await;
    expect_debug_page(
        &res,
        500,
        &esc(&format!(
            "No module 'nope' found in _private directories from {root}/sub up to {root}"
        )),
    );

    let res = server.get("/bad", None).await;
    assert_eq!(res.status, 400, "{res:?}");
    assert!(res.body.contains("bad input"), "{res:?}");
}

// ---- §13.14: resolve() -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_loads_private_modules() {
    let server = TestServer::start_pages(&[
        ("_private/lib.js", "module.exports = { v: 42 }"),
        ("_private/snippet.js", "module.exports.x = 1"),
        ("_private/site.css", "body{}"),
        ("_private/uses.ejs", "<%= resolve('lib').v %>"),
        ("r/_private/lib.js", "module.exports = { v: 'near' }"),
        (
            "r/page.ejs",
            "<%= resolve('lib').v %>|<%= resolve('/lib').v %>|<%= resolve('lib.js').v %>",
        ),
        ("r/deep/page.ejs", "<%= resolve('lib').v %>"),
        ("r/inc.ejs", "<%- include('uses') %>"),
        (
            "modes.ejs",
            "<%- resolve('site.css', {mode: 'raw'}) %>|<%- resolve('site.css', {mode: 'style'}) %>|<%- resolve('snippet', {mode: 'script'}) %>",
        ),
    ])
    .await;
    check_gets(
        &server,
        &[
            ("/r/page", 200, "near|42|near"),
            ("/r/deep/page", 200, "near"),
            // From a partial, the search still starts at the page's directory.
            ("/r/inc", 200, "near"),
            (
                "/modes",
                200,
                "body{}|<style>\nbody{}\n</style>|<script>\nif (typeof module === 'undefined') { module = { exports: {} } };\nmodule.exports.x = 1\n</script>",
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_requires_json_modules() {
    let server = TestServer::start_pages(&[
        ("_private/data.json", r#"{"k": "v"}"#),
        (
            "page.ejs",
            "<%= resolve('data').k %>|<%= resolve('data.json').k %>",
        ),
    ])
    .await;
    check_gets(&server, &[("/page", 200, "v|v")]).await;
}

// ---- §13.16: body() / formData() -----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_parses_forms_and_json() {
    let server = TestServer::start_pages(&[
        (
            "echo.ejs",
            "<%- JSON.stringify(body()) %>|<%- JSON.stringify(formData()) %>|<%= request.method %>",
        ),
        (
            "try.ejs",
            "<% try { body() %>parsed<% } catch (e) { %>threw<% } %>",
        ),
        ("raw.ejs", "<%- JSON.stringify(body()) %>"),
    ])
    .await;
    let form = "application/x-www-form-urlencoded";
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "POST",
            form,
            "a=1&a=2&b=x",
            r#"{"a":[1,2],"b":"x"}|{"a":[1,2],"b":"x"}|POST"#,
        ),
        (
            "PUT",
            form,
            "n=007&t=true&f=1.5&s=hello+world",
            r#"{"n":"007","t":true,"f":1.5,"s":"hello world"}|{"n":"007","t":true,"f":1.5,"s":"hello world"}|PUT"#,
        ),
        (
            "POST",
            "application/json",
            r#"{"j":[1,{"k":true}]}"#,
            r#"{"j":[1,{"k":true}]}|{"j":[1,{"k":true}]}|POST"#,
        ),
        ("GET", "", "", "{}|{}|GET"),
    ];
    for (method, content_type, body, expected) in cases {
        let headers: Vec<(&str, &str)> = if content_type.is_empty() {
            vec![]
        } else {
            vec![("Content-Type", content_type)]
        };
        let res = call(&server, method, "/echo", &headers, body).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (200, *expected),
            "{method} {content_type} {body}: {res:?}"
        );
    }

    // Multipart fields are inferred like urlencoded ones (files left out); text/plain is
    // refused: body() throws.
    let multipart = "multipart/form-data; boundary=XX";
    let parts = concat!(
        "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n",
        "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n",
        "--XX\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nx\r\n",
        "--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\n\r\nhi\r\n--XX--\r\n",
    );
    let res = call(
        &server,
        "POST",
        "/echo",
        &[("Content-Type", multipart)],
        parts,
    )
    .await;
    expect(&res, 200, r#"{"a":[1,2],"b":"x"}|{"a":[1,2],"b":"x"}|POST"#);
    let res = call(
        &server,
        "POST",
        "/try",
        &[("Content-Type", "text/plain")],
        "hello",
    )
    .await;
    expect(&res, 200, "threw");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_of_text_plain_is_an_error_page() {
    let server = TestServer::start_pages(&[("raw.ejs", "<%- JSON.stringify(body()) %>")]).await;
    let res = call(
        &server,
        "POST",
        "/raw",
        &[("Content-Type", "text/plain")],
        "hello",
    )
    .await;
    expect(&res, 500, GENERIC_500);
}

// ---- §13.17: request -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_exposes_cookies_headers_and_method() {
    let server = TestServer::start_pages(&[(
        "req.ejs",
        "<%- JSON.stringify(request.cookies()) %>|<%= request.cookies('c') %>|[<%= request.header('x-missing') %>]|<%= request.header('X-Test') %>|<%= request.method %>|<%= request.url.pathname %>",
    )])
    .await;
    let cookie = "a=%7B%22x%22%3A1%7D; c=123; d=hello%20world";
    let res = call(
        &server,
        "GET",
        "/req?z=1",
        &[("Cookie", cookie), ("X-Test", "yes")],
        "",
    )
    .await;
    expect_html(
        &res,
        r#"{"a":{"x":1},"c":123,"d":"hello world"}|123|[]|yes|GET|/req"#,
    );
    let res = call(&server, "DELETE", "/req", &[], "").await;
    expect_html(&res, "{}||[]||DELETE|/req");
}

// ---- §13.18: redirect ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_appends_the_flash_and_keeps_rendering() {
    let server = TestServer::start_pages(&[
        (
            "go.ejs",
            "<% redirect('/target', {message: 'Login successful'}) %>body-after-redirect",
        ),
        ("plain.ejs", "<% redirect('/') %>"),
        (
            "query.ejs",
            "<% redirect('/x?x=1', {status: 303, message: 'Saved!'}) %>",
        ),
        ("raw.ejs", "<% response.redirect('/raw', 301) %>"),
        ("flash.ejs", "[<%= params.__flash %>]"),
    ])
    .await;
    let cases: &[(&str, u16, &str, &str)] = &[
        (
            "/go",
            302,
            "/target?__flash=Login%20successful",
            "body-after-redirect",
        ),
        ("/plain", 302, "/?__flash=", ""),
        ("/query", 303, "/x?x=1&__flash=Saved!", ""),
        ("/raw", 301, "/raw", ""),
    ];
    for (path, status, location, body) in cases {
        let res = server.get(path, None).await;
        expect(&res, *status, body);
        assert_eq!(res.header("location"), Some(*location), "{path}");
    }
    let res = server.get("/go", None).await;
    assert_eq!(res.header("content-type"), Some(TEXT), "{res:?}");
    expect_html(
        &server.get("/flash?__flash=Login%20successful", None).await,
        "[Login successful]",
    );
}

// ---- §13.19, 26: response.cookie() and the pb_auth cookie --------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_cookies_accumulate() {
    let server = TestServer::start_pages(&[
        (
            "two.ejs",
            "<%= response.cookie('a', 'one') %>|<%= response.cookie('b', {x: 1}, {maxAge: 60, httpOnly: true}) %>",
        ),
        ("in.ejs", "<% signIn({token: 'tok', record: {id: 'r1'}}) %>in"),
        ("out.ejs", "<% signOut() %>out"),
    ])
    .await;
    let a = "a=one; Path=/";
    let b = "b=%7B%22x%22%3A1%7D; Max-Age=60; Path=/; HttpOnly";
    let res = server.get("/two", None).await;
    expect_html(&res, &format!("{a}|{b}"));
    assert_eq!(res.header_all("set-cookie"), [a, b]);

    let res = server.get("/in", None).await;
    expect_html(&res, "in");
    assert_eq!(
        res.header_all("set-cookie"),
        [
            "pb_auth=%7B%22token%22%3A%22tok%22%2C%22record%22%3A%7B%22id%22%3A%22r1%22%7D%7D; Path=/; HttpOnly; SameSite=Lax"
        ]
    );
    let cleared = "pb_auth=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax";
    let res = server.get("/out", None).await;
    expect_html(&res, "out");
    assert_eq!(res.header_all("set-cookie"), [cleared]);

    // A garbage pb_auth cookie is cleared before the page's own cookies.
    let res = call(&server, "GET", "/two", &[("Cookie", "pb_auth=garbage")], "").await;
    expect_html(&res, &format!("{a}|{b}"));
    assert_eq!(res.header_all("set-cookie"), [cleared, a, b]);
}

// ---- §13.20–21: response.header() and echo() -------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_headers_and_echo() {
    let server = TestServer::start_pages(&[
        ("+layout.ejs", "<L><%- slot %></L>"),
        (
            "set.ejs",
            "<% response.header('X-A', '1'); response.header('x-a', '2') %><%= response.header('X-A') %>|[<%= response.header('X-None') %>]",
        ),
        (
            "text.ejs",
            "<% response.header('Content-Type', 'text/plain') %>ignored",
        ),
        (
            "csv.ejs",
            "<% response.header('Content-Type', 'text/csv'); response.write('a,b') %>ignored",
        ),
        (
            "html.ejs",
            "<% response.header('Content-Type', 'text/html') %>kept",
        ),
        ("echo.ejs", "before<% echo('E1', {a: 1}) %>after"),
        ("echo2.ejs", "<%= echo('x', 2) %>"),
    ])
    .await;
    let res = server.get("/set", None).await;
    expect_html(&res, "<L>2|[]</L>");
    assert_eq!(res.header_all("x-a"), ["2"]);

    let res = server.get("/text", None).await;
    expect(&res, 200, "");
    assert_eq!(res.header("content-type"), Some("text/plain"));

    let res = server.get("/csv", None).await;
    expect(&res, 200, "a,b");
    assert_eq!(res.header("content-type"), Some("text/csv"));

    let res = server.get("/html", None).await;
    expect(&res, 200, "<L>kept</L>");
    assert_eq!(res.header("content-type"), Some("text/html"));

    let res = server.get("/echo", None).await;
    expect(&res, 200, r#"E1 {"a":1}<L>beforeafter</L>"#);
    assert_eq!(res.header("content-type"), Some(TEXT));

    let res = server.get("/echo2", None).await;
    expect(&res, 200, "x 2<L>x 2</L>");
}

// ---- §13.22–23: middleware and loaders ---------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_and_loaders_build_data() {
    let server = TestServer::start_pages(&[
        (
            "+middleware.js",
            "module.exports = () => ({ trace: 'root', list: ['root', 'r2'], obj: { a: 1 } })",
        ),
        ("index.ejs", "<%- data.trace %>"),
        (
            "m/+middleware.js",
            "module.exports = ({ data }) => ({ trace: data.trace + '>m', list: ['m'] })",
        ),
        (
            "m/+load.js",
            "module.exports = ({ data }) => ({ trace: data.trace + '>load', obj: { b: 2 } })",
        ),
        (
            "m/+get.js",
            "module.exports = ({ data }) => ({ trace: data.trace + '>get' })",
        ),
        (
            "m/+post.js",
            "module.exports = ({ data }) => ({ trace: data.trace + '>post' })",
        ),
        ("m/a.ejs", "a <%- JSON.stringify(data) %>"),
        ("m/b.ejs", "b <%- data.trace %>"),
        ("m/sub/c.ejs", "c <%- data.trace %>"),
        (
            "next/+middleware.js",
            "module.exports = (api, next) => { next({ viaNext: true }) }",
        ),
        ("next/page.ejs", "<%- data.trace %> <%= data.viaNext %>"),
        ("stop/+middleware.js", "module.exports = (api, next) => {}"),
        ("stop/page.ejs", "never"),
        (
            "deny/+middleware.js",
            "module.exports = ({ response }, next) => { response.html(403, 'denied') }",
        ),
        ("deny/page.ejs", "never"),
    ])
    .await;
    check_gets(
        &server,
        &[
            ("/", 200, "root"),
            (
                "/m/a",
                200,
                r#"a {"trace":"root>m>load>get","list":["m","r2"],"obj":{"a":1,"b":2}}"#,
            ),
            ("/m/b", 200, "b root>m>load>get"),
            ("/m/sub/c", 200, "c root>m"),
            ("/next/page", 200, "root true"),
            ("/deny/page", 403, "denied"),
        ],
    )
    .await;
    let res = call(&server, "POST", "/m/b", &[], "").await;
    expect_html(&res, "b root>m>load>post");
    let res = call(&server, "PUT", "/m/b", &[], "").await;
    expect_html(&res, "b root>m>load");

    // A middleware that never calls next(): nothing else runs, empty 200.
    let res = server.get("/stop/page", None).await;
    expect(&res, 200, "");
    assert_eq!(res.header("content-type"), None, "{res:?}");
}

// ---- §13.30: global helpers ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_helpers() {
    let server = TestServer::start_pages(&[
        ("env.ejs", "[<%= env('SATCHEL_PAGES_TEST_SURELY_UNSET') %>]"),
        (
            "store.ejs",
            "n=<%= store('hits', (store('hits') || 0) + 1) %>",
        ),
        (
            "meta.ejs",
            "[<%= meta('x') %>]<% meta('x', 'set') %>[<%= meta('x') %>][<%= meta('x', 'v2') %>]",
        ),
        ("static/app.css", "body{}"),
        ("t/app.css", "t{}"),
        (
            "index.ejs",
            "<%= asset('/static/app.css') %>|<%= asset('static/app.css') %>|<%= asset('/missing.png') %>|<%= asset('missing.png') %>|<%= asset('/static/app.css?v=1') %>",
        ),
        (
            "t/page.ejs",
            "<%= asset('app.css') %>|<%= asset('missing.css') %>|<%= asset('../static/app.css') %>",
        ),
        (
            "url.ejs",
            "<% const u = url('/a/b?x=1&y=two&x=3&e=&n=007&s=a+b%20c#h') %><%- JSON.stringify(u.query) %>|<%= u.pathname %>|<%= u.hash %>",
        ),
        (
            "stringify.ejs",
            "<% const o = {a: 1, list: [1]}; o.self = o %>s=<%- stringify(o) %>",
        ),
    ])
    .await;
    let app = format!("/static/app.{}.css", sha("body{}"));
    let t_app = format!("/t/app.{}.css", sha("t{}"));
    check_gets(
        &server,
        &[
            ("/env", 200, "[]"),
            ("/store", 200, "n=1"),
            ("/store", 200, "n=2"),
            ("/store", 200, "n=3"),
            ("/meta", 200, "[][set][v2]"),
            ("/meta", 200, "[][set][v2]"),
            (
                "/",
                200,
                &format!("{app}|{app}|/missing.png|missing.png|{app}?v=1"),
            ),
            ("/t/page", 200, &format!("{t_app}|t/missing.css|{app}")),
            (&app, 200, "body{}"),
            (&t_app, 200, "t{}"),
            (
                "/url",
                200,
                r#"{"x":1,"y":"two","e":"","n":"007","s":"a b c"}|/a/b|#h"#,
            ),
            (
                "/stringify",
                200,
                r#"s={"a":1,"list":[1],"self":"[Circular]"}"#,
            ),
        ],
    )
    .await;
}

// ---- hooks next to pages ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_routes_and_the_api_coexist_with_pages() {
    let server = TestServer::start_pages(&[
        (
            "pb_hooks/pocketpages.pb.js",
            r#"
require('pocketpages');
routerAdd('GET', '/hello/{name}', (e) => {
  const pp = require('pocketpages');
  return e.string(200, 'hi ' + e.request.pathValue('name') + ' ' + typeof pp.globalApi.url);
});
routerUse((e) => {
  if (e.request.url.path === '/blocked') return e.string(403, 'blocked by routerUse');
  e.response.header().set('X-Global', 'yes');
  return e.next();
});
"#,
        ),
        ("index.ejs", "home"),
        ("[slug].ejs", "slug <%= params.slug %>"),
        ("blocked.ejs", "never"),
    ])
    .await;
    check_gets(
        &server,
        &[
            ("/", 200, "home"),
            ("/anything", 200, "slug anything"),
            ("/blocked", 403, "blocked by routerUse"),
            ("/hello/bob", 200, "hi bob function"),
        ],
    )
    .await;
    for path in ["/", "/anything", "/hello/bob"] {
        let res = server.get(path, None).await;
        assert_eq!(res.header("x-global"), Some("yes"), "{path}: {res:?}");
    }

    // `/api/*` and `/_/*` are never served by pages, even with a root `[slug]`.
    let res = server.get("/api/health", None).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.json()["message"], "API is healthy.");
    for path in ["/api/nope", "/_/", "/_/x", "/api"] {
        let res = server.get(path, None).await;
        assert!(!res.body.starts_with("slug"), "{path}: {res:?}");
    }
    let res = server.get("/api/nope", None).await;
    assert_eq!(res.status, 404, "{res:?}");
}

/// Go's `e.Response.Header().Set()` before `e.Next()` lands on the shared ResponseWriter, so
/// PocketBase's own handlers answer with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_use_headers_reach_api_answers() {
    let server = TestServer::start_pages(&[
        (
            "pb_hooks/global.pb.js",
            "routerUse((e) => { e.response.header().set('X-Global', 'yes'); return e.next(); });",
        ),
        ("index.ejs", "home"),
    ])
    .await;
    let res = server.get("/api/health", None).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.header("x-global"), Some("yes"), "{res:?}");
}

// ---- §13.25: configuration -----------------------------------------------------------------

/// The names the built-in plugins add to the context.
const PLUGIN_NAMES: &str =
    "<%= typeof pb %>|<%= typeof forEach %>|<%= typeof signOut %>|<%= typeof requestOTP %>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_plugins() {
    // No +config.js: every built-in plugin is on.
    let server = TestServer::start_pages(&[("index.ejs", PLUGIN_NAMES)]).await;
    expect_html(
        &server.get("/", None).await,
        "function|function|function|function",
    );

    // `plugins` replaces the list.
    let server = TestServer::start_pages(&[
        ("index.ejs", PLUGIN_NAMES),
        (
            "+config.js",
            "module.exports = { plugins: ['pocketpages-plugin-ejs'] }",
        ),
    ])
    .await;
    expect_html(
        &server.get("/", None).await,
        "undefined|undefined|undefined|undefined",
    );

    // Without the EJS plugin, .ejs files are static text.
    let server = TestServer::start_pages(&[
        ("about.ejs", "<%= 1 %>"),
        ("+config.js", "module.exports = { plugins: [] }"),
    ])
    .await;
    check_gets(
        &server,
        &[("/about.ejs", 200, "<%= 1 %>"), ("/about", 404, NOT_FOUND)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_forms_and_load_errors() {
    // A function of the global API.
    let server = TestServer::start_pages(&[
        (
            "+config.js",
            "module.exports = (api) => ({ debug: typeof api.url === 'function' })",
        ),
        ("boom.ejs", "<% throw new Error('fn-config') %>"),
    ])
    .await;
    expect_debug_page(&server.get("/boom", None).await, 500, "fn-config");

    // A config that fails to load is logged; the defaults apply.
    let server = TestServer::start_pages(&[
        ("+config.js", "throw new Error('broken config')"),
        ("index.ejs", PLUGIN_NAMES),
        ("boom.ejs", "<% throw new Error('x') %>"),
    ])
    .await;
    expect_html(
        &server.get("/", None).await,
        "function|function|function|function",
    );
    expect(&server.get("/boom", None).await, 500, GENERIC_500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_config_key_aborts_startup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pages = dir.path().join("pb_pages");
    let hooks = dir.path().join("pb_hooks");
    std::fs::create_dir_all(&pages).expect("pages dir");
    std::fs::create_dir_all(&hooks).expect("hooks dir");
    std::fs::write(pages.join("index.ejs"), "home").expect("page");
    std::fs::write(
        pages.join("+config.js"),
        "module.exports = { debug: true, nope: 1 }",
    )
    .expect("config");
    let app = satchel::app::App::open(satchel::app::Config {
        data_dir: common::data_dir(dir.path()),
        dev: false,
    })
    .await
    .expect("app opens");
    let config = satchel::js::JsConfig {
        hooks_dir: hooks.clone(),
        pages_dir: satchel::pages::root(&pages, &hooks),
        limits: satchel::js::pool::Limits {
            workers: 1,
            ..Default::default()
        },
    };
    let err = match satchel::js::Js::start(&app, config) {
        Ok(_) => panic!("a config with an unknown key must not start"),
        Err(err) => err,
    };
    assert!(err.contains("Invalid config key: nope"), "{err}");
    app.close().await;
}

// ---- hot reload ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_picks_up_added_changed_and_removed_pages() {
    let server = TestServer::start_pages(&[("index.ejs", "v1"), ("old.ejs", "old")]).await;
    check_gets(
        &server,
        &[
            ("/", 200, "v1"),
            ("/old", 200, "old"),
            ("/new", 404, NOT_FOUND),
        ],
    )
    .await;

    let pages = server.pages_dir();
    std::fs::write(pages.join("index.ejs"), "v2").expect("change page");
    std::fs::write(pages.join("new.ejs"), "new").expect("add page");
    server.js.as_ref().expect("js").reload().expect("reload");
    check_gets(
        &server,
        &[("/", 200, "v2"), ("/new", 200, "new"), ("/old", 200, "old")],
    )
    .await;

    std::fs::remove_file(pages.join("old.ejs")).expect("remove page");
    server.js.as_ref().expect("js").reload().expect("reload");
    check_gets(
        &server,
        &[
            ("/", 200, "v2"),
            ("/new", 200, "new"),
            ("/old", 404, NOT_FOUND),
        ],
    )
    .await;
}
