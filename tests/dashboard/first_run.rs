//! The first-run story in the browser: from the installer link printed by `serve` to OTP
//! and SMTP set up for a new auth collection.

use serde_json::json;

use crate::common::browser::{Browser, Page};
use crate::common::smtp::SmtpSink;
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};
use crate::ui::*;
use satchel::auth::installer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_sets_up_otp_and_smtp_from_first_run_in_a_browser() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let sink = std::sync::Arc::new(SmtpSink::start().await);
    let token = installer::token_if_needed(&server.app)
        .await
        .expect("installer token");
    let link = installer::link(&server.url(""), &token);
    let handle = tokio::runtime::Handle::current();

    blocking(move || {
        let browser = Browser::launch();
        let page = browser.new_page();
        install_and_sign_in(&page, &link);
        create_auth_collection_with_otp(&page, &handle, &server);
        smtp_and_test_email(&page, &handle, &server, &sink);
        other_settings(&page, &handle, &server);
        records(&page, &handle, &server, &sink);
        superuser_otp_sign_in(&page, &handle, &server, &sink);
        phone_width(&page);
    })
    .await;
}

fn install_and_sign_in(page: &Page, link: &str) {
    page.goto(link);
    wait_for_selector(page, "form [data-path=\"passwordConfirm\"] input");
    assert_labelled(page, "installer");
    page.fill("[data-path=\"email\"] input", ADMIN_EMAIL);
    page.fill("[data-path=\"password\"] input", ADMIN_PASSWORD);
    page.fill("[data-path=\"passwordConfirm\"] input", "not-the-same");
    click(page, "form button[type=submit]");
    assert_eq!(field_error(page, "passwordConfirm"), "Values don't match.");
    page.fill("[data-path=\"passwordConfirm\"] input", ADMIN_PASSWORD);
    shot(page, "01-installer.png", None);
    click(page, "form button[type=submit]");
    wait_for_hash(page, "#/collections/");
    assert!(page.text(".account").contains(ADMIN_EMAIL));

    // Sign out, then in again with the password.
    click(page, ".account button");
    wait_for_hash(page, "#/login");
    wait_for_selector(page, "[data-path=\"identity\"] input");
    assert_labelled(page, "login");
    page.fill("[data-path=\"identity\"] input", ADMIN_EMAIL);
    page.fill("[data-path=\"password\"] input", "wrong-password");
    click(
        page,
        "form[aria-label='Sign in with password'] button[type=submit]",
    );
    page.wait_for("document.querySelector('.form-errors:not([hidden])')", WAIT);
    assert!(page.text(".form-errors").contains("Failed to authenticate"));
    page.fill("[data-path=\"password\"] input", ADMIN_PASSWORD);
    shot(page, "02-login.png", None);
    click(
        page,
        "form[aria-label='Sign in with password'] button[type=submit]",
    );
    wait_for_hash(page, "#/collections/");
}

fn create_auth_collection_with_otp(
    page: &Page,
    handle: &tokio::runtime::Handle,
    server: &TestServer,
) {
    route(
        page,
        "#/collections/new",
        "input[name=collection-type][value=auth]",
    );
    check(page, "input[name=collection-type][value=auth]", true);
    wait_for_selector(page, "#tab-options");
    page.fill("[data-path=\"name\"] input", "members");
    for (kind, name) in [("text", "nickname"), ("file", "avatar")] {
        page.eval(&format!(
            "document.querySelector('.add-field select').value = {}",
            json!(kind)
        ));
        page.fill(".add-field input", name);
        click(page, ".add-field button");
    }
    wait_for_selector(page, "[data-path=\"fields.7.name\"] input");
    assert_labelled(page, "new collection");
    shot(page, "03-collection-fields.png", Some(".tabbed"));

    // An invalid rule: the API's message appears under that rule's input.
    click(page, "#tab-rules");
    check(page, "[data-path=\"listRule\"] input[type=checkbox]", false);
    page.fill("[data-path=\"listRule\"] textarea", "nickname = ");
    click(page, "#tab-options");
    check(page, "[data-path=\"otp.enabled\"] input", true);
    page.fill("[data-path=\"otp.length\"] input", "6");
    click(page, ".collection-form button[type=submit]");
    let error = field_error(page, "listRule");
    assert!(error.starts_with("Invalid rule."), "{error}");
    assert_eq!(
        page.eval("document.querySelector('#tab-rules').getAttribute('aria-selected')"),
        json!("true"),
        "the tab holding the error is shown"
    );
    shot(page, "04-collection-rule-error.png", Some(".tabbed"));
    page.fill("[data-path=\"listRule\"] textarea", "id = @request.auth.id");
    click(page, "#tab-options");
    shot(
        page,
        "05-collection-otp-options.png",
        Some("[data-path=\"otp.enabled\"]"),
    );
    click(page, ".collection-form button[type=submit]");
    wait_for_hash(page, "#/collections/members/edit");
    let members = api_get(page, handle, server, "/api/collections/members");
    assert_eq!(members["otp"]["enabled"], true);
    assert_eq!(members["otp"]["length"], 6);
    assert_eq!(members["listRule"], "id = @request.auth.id");
    assert_eq!(members["fields"][6]["name"], "nickname");
    assert_eq!(members["fields"][7]["type"], "file");
}

fn smtp_and_test_email(
    page: &Page,
    handle: &tokio::runtime::Handle,
    server: &TestServer,
    sink: &SmtpSink,
) {
    route(page, "#/settings/mail", "[data-path=\"smtp.host\"] input");
    assert_labelled(page, "mail settings");
    check(page, "[data-path=\"smtp.enabled\"] input", true);
    page.fill("[data-path=\"smtp.host\"] input", "127.0.0.1");
    page.fill("[data-path=\"smtp.port\"] input", &sink.port.to_string());
    page.fill("[data-path=\"meta.senderAddress\"] input", "not an email");
    click(page, ".settings-form button[type=submit]");
    assert_eq!(
        field_error(page, "meta.senderAddress"),
        "Must be a valid email address."
    );
    page.fill(
        "[data-path=\"meta.senderAddress\"] input",
        "hello@example.com",
    );
    click(page, ".settings-form button[type=submit]");
    wait_for_toast(page, "Settings saved.");
    let settings = api_get(page, handle, server, "/api/settings");
    assert_eq!(settings["smtp"]["port"], json!(sink.port));
    assert_eq!(settings["smtp"]["enabled"], true);

    page.fill("[data-path=\"email\"] input", "dev@example.com");
    page.eval("document.querySelector('[data-path=\"collection\"] select').value = 'members'");
    click(page, "button[data-template=otp]");
    page.wait_for(
        "document.querySelector('[role=status].notice:not([hidden])')",
        WAIT,
    );
    let mail = handle
        .block_on(sink.next(WAIT))
        .expect("the test email reaches the sink");
    assert_eq!(mail.to, vec!["dev@example.com".to_string()]);
    assert_eq!(mail.subject, "OTP for Acme");
    assert!(mail.html.contains("123456"), "{}", mail.html);
    shot(
        page,
        "06-mail-settings.png",
        Some("[data-path=\"smtp.enabled\"]"),
    );
}

fn other_settings(page: &Page, handle: &tokio::runtime::Handle, server: &TestServer) {
    route(page, "#/settings", "[data-path=\"meta.appName\"] input");
    assert_labelled(page, "application settings");
    page.fill("[data-path=\"meta.appName\"] input", "Satchel Test");
    click(page, ".settings-form button[type=submit]");
    wait_for_toast(page, "Settings saved.");
    let settings = api_get(page, handle, server, "/api/settings");
    assert_eq!(settings["meta"]["appName"], "Satchel Test");

    route(
        page,
        "#/settings/rate-limits",
        "[data-path=\"rateLimits.rules.0.label\"] input",
    );
    assert_labelled(page, "rate limits");
    page.fill(
        "[data-path=\"rateLimits.rules.0.label\"] input",
        "not a label!",
    );
    click(page, ".settings-form button[type=submit]");
    let error = field_error(page, "rateLimits.rules.0.label");
    assert!(!error.is_empty());
    shot(page, "12-rate-limit-error.png", None);

    route(
        page,
        "#/settings/security",
        "[data-path=\"superuserIPs\"] input",
    );
    assert_labelled(page, "trusted proxy and IPs");
    page.wait_for(
        "document.querySelector('.notice')?.textContent.includes('127.0.0.1')",
        WAIT,
    );
    shot(page, "13-security-settings.png", None);
}

fn records(page: &Page, handle: &tokio::runtime::Handle, server: &TestServer, sink: &SmtpSink) {
    route(
        page,
        "#/collections/members/records/new",
        "[data-path=\"nickname\"] input",
    );
    assert_labelled(page, "new record");
    page.fill("[data-path=\"email\"] input", "not-an-email");
    page.fill("[data-path=\"password\"] input", "password123");
    page.fill("[data-path=\"passwordConfirm\"] input", "password123");
    page.fill("[data-path=\"nickname\"] input", "Ann");
    click(page, ".record-form button[type=submit]");
    assert_eq!(field_error(page, "email"), "Must be a valid email address.");
    assert_eq!(
        page.eval("document.activeElement.closest('[data-path]')?.dataset.path"),
        json!("email"),
        "focus moves to the first invalid field"
    );
    shot(page, "07-record-validation-error.png", None);
    page.fill("[data-path=\"email\"] input", "ann@example.com");
    let upload = tempfile::tempdir().expect("temp");
    let avatar = upload.path().join("avatar.txt");
    std::fs::write(&avatar, "a picture of Ann").expect("write");
    set_file(page, "[data-path=\"avatar\"] input[type=file]", &avatar);
    click(page, ".record-form button[type=submit]");
    wait_for_hash(page, "#/collections/members/records/");
    page.wait_for(
        "document.querySelector('main h1')?.textContent === 'Edit members record'",
        WAIT,
    );
    page.fill("[data-path=\"nickname\"] input", "Annie");
    click(page, ".record-form button[type=submit]");
    wait_for_toast(page, "Record saved.");
    let list = api_get(page, handle, server, "/api/collections/members/records");
    let ann = &list["items"][0];
    assert_eq!(ann["nickname"], "Annie");
    assert_eq!(ann["email"], "ann@example.com");
    let stored = ann["avatar"].as_str().expect("the uploaded file's name");
    assert!(
        stored.starts_with("avatar_") && stored.ends_with(".txt"),
        "{stored}"
    );
    let link = format!("[data-path=\"avatar\"] a[href$=\"/{stored}\"]");
    let href = page.eval(&format!("document.querySelector({}).href", json!(link)));
    let file = handle.block_on(
        server.get(
            href.as_str()
                .expect("a link to the file")
                .trim_start_matches(&server.url("")),
            None,
        ),
    );
    assert_eq!(file.body, "a picture of Ann");

    // A code for Ann moves the OTP counters on the collection's page.
    handle.block_on(async {
        let res = server
            .post(
                "/api/collections/members/request-otp",
                None,
                r#"{"email":"ann@example.com"}"#,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        sink.next(WAIT).await.expect("Ann's code is mailed");
    });
    route(page, "#/collections/members", "table.records");
    assert!(page.text("table.records").contains("Annie"));
    page.wait_for(
        "document.querySelector('[data-metric=satchel_otp_requested_total] dd')?.textContent === '1'",
        WAIT,
    );
    page.fill("#records-filter", "nickname = ");
    click(page, "form.filter button[type=submit]");
    page.wait_for(
        "document.querySelector('#records-filter-error:not([hidden])')",
        WAIT,
    );
    page.fill("#records-filter", "nickname ~ 'Ann'");
    click(page, "form.filter button[type=submit]");
    page.wait_for(
        "location.hash.includes('filter=') && document.querySelector('table.records')",
        WAIT,
    );
    press(page, "th button[data-focus-key=sort-email]");
    page.wait_for(
        "location.hash.includes('sort=email') && document.querySelector('table.records')",
        WAIT,
    );
    assert_eq!(
        page.eval("document.activeElement.dataset.focusKey"),
        json!("sort-email"),
        "sorting keeps focus on the column button"
    );
    assert_labelled(page, "records");
    shot(page, "08-records.png", None);
}

fn superuser_otp_sign_in(
    page: &Page,
    handle: &tokio::runtime::Handle,
    server: &TestServer,
    sink: &SmtpSink,
) {
    route(
        page,
        "#/collections/_superusers/edit?tab=options",
        "[data-path=\"otp.enabled\"] input",
    );
    check(page, "[data-path=\"otp.enabled\"] input", true);
    click(page, ".collection-form button[type=submit]");
    wait_for_toast(page, "Collection _superusers saved.");
    click(page, ".account button");
    wait_for_hash(page, "#/login");
    wait_for_selector(page, "form[aria-label='Sign in with a one-time code']");
    page.fill("[data-path=\"email\"] input", ADMIN_EMAIL);
    click(
        page,
        "form[aria-label='Sign in with a one-time code'] button[type=button]",
    );
    let mail = handle
        .block_on(sink.next(WAIT))
        .expect("the superuser's code");
    let code = mail.otp_code();
    page.wait_for(
        "!document.querySelector('[data-path=\"password\"] input[name=code]').closest('[hidden]')",
        WAIT,
    );
    page.fill("input[name=code]", &code);
    shot(
        page,
        "09-login-otp.png",
        Some("form[aria-label='Sign in with a one-time code']"),
    );
    click(
        page,
        "form[aria-label='Sign in with a one-time code'] button[type=submit]",
    );
    wait_for_hash(page, "#/collections/");
    assert_eq!(
        api_get(page, handle, server, "/api/collections/_superusers/records")["totalItems"],
        1
    );
}

fn phone_width(page: &Page) {
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}),
    );
    for (hash, name) in [
        ("#/collections/members", "10-phone-records.png"),
        (
            "#/collections/members/edit?tab=options",
            "11-phone-collection.png",
        ),
    ] {
        self::route(page, hash, "main h1");
        page.wait_for("!document.querySelector('[aria-busy=true]')", WAIT);
        // Only scroll containers (the records table) may be wider than the screen.
        let overflowing = page.eval(
            "[...document.querySelectorAll('body *')]
               .filter(el => !el.closest('.scroll-x, [hidden], .sr-only'))
               .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
               .map(el => el.tagName + '.' + el.className)",
        );
        assert_eq!(overflowing, json!([]), "{hash} overflows at phone width");
        shot(page, name, None);
    }
}
