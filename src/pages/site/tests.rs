//! Routing tables and path lookups of `site.rs`: the resolveRoute cases of the spec with
//! Satchel's three fixes, `include` (§3.4) and `resolve` (§5.2) lookups, statics.

use super::*;

const TREE: &[&str] = &[
    "index.ejs",
    "about.ejs",
    "+layout.ejs",
    "+middleware.js",
    "+load.js",
    "t/json.ejs",
    "t/+load.js",
    "t/+get.js",
    "t/app.css",
    "t/deep/page.ejs",
    "products/index.ejs",
    "products/[id].ejs",
    "products/new.ejs",
    "p/[id].ejs",
    "(g)/x.ejs",
    "(g)/+layout.ejs",
    "(g)/+middleware.js",
    "_private/header.ejs",
    "_private/lib.js",
    "_hidden/page.ejs",
    "-draft.ejs",
    "static/app.css",
    "my file.css",
    "LICENSE",
    ".git/x.ejs",
    "node_modules/x.ejs",
];

/// URL, the file serving it (relative to the root), its params.
type Case<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);

/// A pages root holding `files`, each containing its own relative path.
fn site(files: &[&str], exts: &[&str]) -> (tempfile::TempDir, Result<Site, String>) {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let path = dir.path().join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, file).unwrap();
    }
    let site = Site::scan(dir.path(), exts);
    (dir, site)
}

fn sha(content: &str) -> String {
    hex(&Sha256::digest(content.as_bytes()))
}

fn relative(site: &Site, path: &Path) -> String {
    path.strip_prefix(site.root())
        .unwrap()
        .display()
        .to_string()
}

fn route<'s>(site: &'s Site, file: &str) -> &'s Route {
    site.routes()
        .iter()
        .find(|r| r.file == site.root().join(file))
        .unwrap()
}

#[test]
fn resolves_urls() {
    let (_dir, site) = site(TREE, &[".ejs"]);
    let site = site.unwrap();
    let fingerprinted = format!("/t/app.{}.css", sha("t/app.css"));
    let wrong = format!("/t/app.{}.css", sha("nope"));
    let license = format!("/LICENSE.{}", sha("LICENSE"));
    let cases: &[Case] = &[
        ("/", Some("index.ejs"), &[]),
        ("/index", Some("index.ejs"), &[]),
        ("/about", Some("about.ejs"), &[]),
        ("/about/", Some("about.ejs"), &[]),
        ("/about.ejs", None, &[]),
        ("/About", None, &[]),
        ("/t/json", Some("t/json.ejs"), &[]),
        ("/t/json/extra", None, &[]),
        ("/products", Some("products/index.ejs"), &[]),
        ("/products/", Some("products/index.ejs"), &[]),
        ("/products/new", Some("products/new.ejs"), &[]),
        ("/products/123", Some("products/[id].ejs"), &[("id", "123")]),
        ("/products/123/extra", None, &[]),
        ("/p", None, &[]),
        (
            "/p/caf%C3%A9%20x",
            Some("p/[id].ejs"),
            &[("id", "caf%C3%A9%20x")],
        ),
        ("/x", Some("(g)/x.ejs"), &[]),
        ("/(g)/x", None, &[]),
        ("/_private/header", None, &[]),
        ("/_hidden/page", None, &[]),
        ("/hidden/page", None, &[]),
        ("/-draft", None, &[]),
        ("/+layout", None, &[]),
        ("/+middleware.js", None, &[]),
        ("/x.ejs", None, &[]),
        ("/.git/x", None, &[]),
        ("/node_modules/x", None, &[]),
        ("/t/app.css", Some("t/app.css"), &[]),
        (&fingerprinted, Some("t/app.css"), &[]),
        (&wrong, None, &[]),
        ("/t/app", None, &[]),
        ("/my%20file.css", Some("my file.css"), &[]),
        ("/LICENSE", Some("LICENSE"), &[]),
        (&license, Some("LICENSE"), &[]),
    ];
    for (url, file, params) in cases {
        let found = site.resolve(url);
        let got = found.as_ref().map(|m| relative(&site, &m.route.file));
        assert_eq!(got.as_deref(), *file, "{url}");
        if let Some(found) = found {
            let expected: Vec<_> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(found.params, expected, "{url}");
            assert!(std::ptr::eq(&site.routes()[found.index], found.route));
        }
    }
}

/// PocketPages' `resolveRoute.test.ts` (§10), with our exact-length matching.
#[test]
fn pocketpages_resolve_route_cases() {
    let files = [
        "index.ejs",
        "about",
        "[id].ejs",
        "products/new.ejs",
        "products/[id].ejs",
    ];
    let (_dir, site) = site(&files, &[".ejs"]);
    let site = site.unwrap();
    let about = format!("/about.{}", sha("about"));
    let cases = [
        ("/", "index.ejs", None),
        ("/about", "about", None),
        ("/123", "[id].ejs", Some("123")),
        (&about, "about", None),
        ("/bar", "[id].ejs", Some("bar")),
        ("/products/new", "products/new.ejs", None),
        ("/products/123", "products/[id].ejs", Some("123")),
    ];
    for (url, file, id) in cases {
        let found = site.resolve(url).unwrap();
        assert_eq!(relative(&site, &found.route.file), file, "{url}");
        assert_eq!(found.params.first().map(|(_, v)| v.as_str()), id, "{url}");
    }
}

#[test]
fn never_shadows_the_api_or_admin() {
    let (_dir, site) = site(&["[slug].ejs", "api/x.ejs"], &[".ejs"]);
    let site = site.unwrap();
    for url in [
        "/api",
        "/api/health",
        "/api/x",
        "/_",
        "/_/",
        "/_/x",
        "/%61pi/health",
    ] {
        assert!(site.resolve(url).is_none(), "{url}");
    }
    assert_eq!(
        site.resolve("/hello").unwrap().params,
        [("slug".into(), "hello".into())]
    );
    // The appended `index` of `/` is not a URL segment a param could capture.
    assert!(site.resolve("/").is_none());
}

#[test]
fn collects_layouts_middlewares_and_loaders() {
    let (_dir, site) = site(TREE, &[".ejs"]);
    let site = site.unwrap();
    let names = |paths: &[PathBuf]| paths.iter().map(|p| relative(&site, p)).collect::<Vec<_>>();
    let grouped = route(&site, "(g)/x.ejs");
    assert_eq!(grouped.segments, [Segment::Static("x".into())]);
    assert_eq!(names(&grouped.layouts), ["(g)/+layout.ejs", "+layout.ejs"]);
    assert_eq!(
        names(&grouped.middlewares),
        ["+middleware.js", "(g)/+middleware.js"]
    );
    assert_eq!(grouped.asset_prefix, "");
    let json = route(&site, "t/json.ejs");
    let loaders: Vec<_> = json
        .loaders
        .iter()
        .map(|(k, p)| (k.as_str(), relative(&site, p)))
        .collect();
    assert_eq!(
        loaders,
        [("load", "t/+load.js".into()), ("get", "t/+get.js".into())]
    );
    assert_eq!(json.asset_prefix, "t");
    assert!(route(&site, "t/deep/page.ejs").loaders.is_empty());
    assert_eq!(route(&site, "index.ejs").loaders.len(), 1);
    let css = route(&site, "t/app.css");
    assert!(css.is_static && css.layouts.is_empty() && css.middlewares.is_empty());
    assert_eq!(css.fingerprint, sha("t/app.css"));
    assert!(
        site.routes()
            .iter()
            .all(|r| !r.file.to_string_lossy().contains("_private"))
    );
}

#[test]
fn refuses_two_layouts_in_one_dir() {
    let (dir, site) = site(&["+layout.ejs", "+layout.md", "a.ejs"], &[".ejs", ".md"]);
    let file = dir.path().canonicalize().unwrap().join("a.ejs");
    assert_eq!(
        site.unwrap_err(),
        format!("Multiple layouts found for {}", file.display())
    );
}

#[test]
fn fingerprints_assets() {
    let (_dir, site) = site(TREE, &[".ejs"]);
    let site = site.unwrap();
    let (app, t_app) = (sha("static/app.css"), sha("t/app.css"));
    let cases = [
        (
            "index.ejs",
            "/static/app.css",
            format!("/static/app.{app}.css"),
        ),
        (
            "index.ejs",
            "/static/app.css?v=1#x",
            format!("/static/app.{app}.css?v=1#x"),
        ),
        (
            "index.ejs",
            "static/app.css",
            format!("/static/app.{app}.css"),
        ),
        ("index.ejs", "/missing.png", "/missing.png".into()),
        ("index.ejs", "missing.png", "missing.png".into()),
        ("index.ejs", "/about", "/about".into()),
        ("t/json.ejs", "app.css", format!("/t/app.{t_app}.css")),
        ("t/deep/page.ejs", "app.css", "deep/app.css".into()),
        (
            "t/deep/page.ejs",
            "../app.css",
            format!("/t/app.{t_app}.css"),
        ),
        (
            "t/deep/page.ejs",
            "../../../x.css",
            "deep/../../../x.css".into(),
        ),
        (
            "index.ejs",
            "/my%20file.css",
            format!("/my%20file.{}.css", sha("my file.css")),
        ),
    ];
    for (page, path, expected) in cases {
        assert_eq!(
            site.asset(route(&site, page), path),
            expected,
            "{page}: {path}"
        );
    }
    let once = site.asset(route(&site, "index.ejs"), "/static/app.css");
    assert_eq!(site.asset(route(&site, "index.ejs"), &once), once);
}

#[test]
fn finds_partials() {
    let (_dir, site) = site(TREE, &[".ejs"]);
    let site = site.unwrap();
    let root = site.root().to_path_buf();
    let deep = root.join("t/deep/page.ejs");
    let header = root.join("_private/header.ejs");
    assert_eq!(
        site.find_partial(&deep, "header", &[".ejs"]),
        Ok(header.clone())
    );
    assert_eq!(
        site.find_partial(&deep, "./header.ejs", &[".ejs"]),
        Ok(header)
    );
    let index = root.join("index.ejs");
    assert_eq!(
        site.find_partial(&index, "../about.ejs", &[".ejs"]),
        Ok(root.join("about.ejs"))
    );
    assert_eq!(
        site.find_partial(&deep, "/t/json.ejs", &[".ejs"]),
        Ok(root.join("t/json.ejs"))
    );

    let tried = [
        "t/_private/nope",
        "t/_private/nope.ejs",
        "_private/nope",
        "_private/nope.ejs",
    ];
    let tried: Vec<_> = tried
        .iter()
        .map(|p| root.join(p).display().to_string())
        .collect();
    let expected = format!(
        "No partial 'nope' found in any _private directory. Tried: {}",
        tried.join(", ")
    );
    assert_eq!(
        site.find_partial(&root.join("t/json.ejs"), "nope", &[".ejs"]),
        Err(expected)
    );
    let expected = format!(
        "No partial '/nope' found in any _private directory. Tried: {}",
        root.join("nope").display()
    );
    assert_eq!(site.find_partial(&index, "/nope", &[".ejs"]), Err(expected));
    assert!(
        site.find_partial(&index, "../../etc/passwd", &[".ejs"])
            .is_err()
    );
    assert!(
        site.find_partial(&index, "/../../etc/passwd", &[".ejs"])
            .is_err()
    );
}

#[test]
fn finds_modules() {
    let (_dir, site) = site(TREE, &[".ejs"]);
    let site = site.unwrap();
    let root = site.root().to_path_buf();
    let deep = root.join("t/deep/page.ejs");
    let lib = root.join("_private/lib.js");
    assert_eq!(site.find_module(&deep, "lib"), Ok(lib.clone()));
    assert_eq!(site.find_module(&deep, "/lib.js"), Ok(lib));
    let expected = format!(
        "No module 'nope' found in _private directories from {} up to {}",
        root.join("t/deep").display(),
        root.display()
    );
    assert_eq!(site.find_module(&deep, "nope"), Err(expected));
    assert!(site.find_module(&deep, "../../../../etc/passwd").is_err());
    assert!(site.find_module(Path::new("/etc/passwd"), "lib").is_err());
}

#[test]
fn symlinks_stay_inside_the_root() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.css"), "secret").unwrap();
    let (dir, _) = site(&["a.css"], &[".ejs"]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.css"),
        dir.path().join("leak.css"),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path().join("a.css"), dir.path().join("b.css")).unwrap();
    let site = Site::scan(dir.path(), &[".ejs"]).unwrap();
    assert!(site.resolve("/leak.css").is_none());
    assert_eq!(
        site.resolve("/b.css").unwrap().route.fingerprint,
        sha("a.css")
    );
}
