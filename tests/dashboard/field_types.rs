//! Every field type through the collection editor and the record form, and the deletes
//! (record, field, collection) with their confirmations.

use serde_json::json;

use crate::common::TestServer;
use crate::common::browser::Browser;
use crate::ui::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_type_goes_through_the_collection_editor_and_the_record_form() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let token = server.superuser_token().await;
    let user = server
        .create_user(&token, "bob@example.com", "password123", true)
        .await;
    let handle = tokio::runtime::Handle::current();
    blocking(move || {
        let browser = Browser::launch();
        let page = browser.new_page();
        sign_in_with_token(&page, &server, &token);
        route(&page, "#/collections/new", "[data-path=\"name\"] input");
        page.fill("[data-path=\"name\"] input", "posts");
        let fields = [
            ("text", "title"),
            ("select", "tags"),
            ("relation", "owner"),
            ("json", "data"),
            ("date", "due"),
            ("number", "score"),
            ("bool", "done"),
            ("geoPoint", "place"),
            ("editor", "body"),
        ];
        for (kind, name) in fields {
            page.eval(&format!(
                "document.querySelector('.add-field select').value = {}",
                json!(kind)
            ));
            page.fill(".add-field input", name);
            click(&page, ".add-field button");
        }
        page.fill("[data-path=\"fields.2.values\"] input", "red, green, blue");
        page.fill("[data-path=\"fields.2.maxSelect\"] input", "2");
        page.eval(
            "(() => { const s = document.querySelector('[data-path=\"fields.3.collectionId\"] select');
               s.value = '_pb_users_auth_'; s.dispatchEvent(new Event('change')); })()",
        );
        click(&page, "#tab-rules");
        check(&page, "[data-path=\"listRule\"] input[type=checkbox]", false);
        click(&page, ".collection-form button[type=submit]");
        wait_for_hash(&page, "#/collections/posts/edit");
        assert_labelled(&page, "collection editor");

        route(&page, "#/collections/posts/records/new", "[data-path=\"title\"] input");
        assert_labelled(&page, "record form with every type");
        page.fill("[data-path=\"title\"] input", "Hello");
        for value in ["red", "blue"] {
            check(&page, &format!("[data-path=\"tags\"] input[value={value}]"), true);
        }
        page.wait_for(
            &format!("document.querySelector('[data-path=\"owner\"] option[value=\"{user}\"]')"),
            WAIT,
        );
        page.eval(&format!(
            "document.querySelector('[data-path=\"owner\"] select').value = {}",
            json!(user)
        ));
        page.fill("[data-path=\"data\"] textarea", "{\"a\": [1, 2");
        page.fill("[data-path=\"due\"] input", "2030-01-02T03:04:05");
        page.fill("[data-path=\"score\"] input", "4.5");
        check(&page, "[data-path=\"done\"] input", true);
        page.fill("[data-path=\"place\"] input[max=\"180\"]", "13.4");
        page.fill("[data-path=\"place\"] input[max=\"90\"]", "52.5");
        page.fill("[data-path=\"body\"] textarea", "<p>Hi</p>");
        click(&page, ".record-form button[type=submit]");
        let error = field_error(&page, "data");
        assert!(error.starts_with("Invalid JSON"), "{error}");
        page.fill("[data-path=\"data\"] textarea", "{\"a\": [1, 2]}");
        click(&page, ".record-form button[type=submit]");
        wait_for_toast(&page, "Record created.");
        let list = api_get(&page, &handle, &server, "/api/collections/posts/records");
        let post = &list["items"][0];
        assert_eq!(post["title"], "Hello");
        assert_eq!(post["tags"], json!(["red", "blue"]));
        assert_eq!(post["owner"], json!(user));
        assert_eq!(post["data"], json!({"a": [1, 2]}));
        assert_eq!(post["due"], "2030-01-02 03:04:05.000Z");
        assert_eq!(post["score"], json!(4.5));
        assert_eq!(post["done"], true);
        assert_eq!(post["place"], json!({"lon": 13.4, "lat": 52.5}));
        assert_eq!(post["body"], "<p>Hi</p>");

        // The edit form shows what was stored; deleting asks first.
        page.wait_for("document.querySelector('main h1')?.textContent === 'Edit posts record'", WAIT);
        assert_eq!(
            page.eval("document.querySelector('[data-path=\"due\"] input').value"),
            json!("2030-01-02T03:04:05")
        );
        click(&page, ".record-form button[data-action=delete]");
        wait_for_selector(&page, "dialog[open] button[value=yes]");
        click(&page, "dialog[open] button[value=yes]");
        wait_for_toast(&page, "Record deleted.");
        let list = api_get(&page, &handle, &server, "/api/collections/posts/records");
        assert_eq!(list["totalItems"], 0);

        // Removing a field asks before saving; then the collection goes.
        route(&page, "#/collections/posts/edit", "[aria-label='Remove field score']");
        click(&page, "[aria-label='Remove field score']");
        click(&page, ".collection-form button[type=submit]");
        wait_for_selector(&page, "dialog[open] button[value=yes]");
        assert!(page.text("dialog[open]").contains("score"));
        click(&page, "dialog[open] button[value=yes]");
        wait_for_toast(&page, "Collection posts saved.");
        let posts = api_get(&page, &handle, &server, "/api/collections/posts");
        let names: Vec<&str> = posts["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert!(!names.contains(&"score"), "{names:?}");
        // Saving re-renders the editor; wait for the new one.
        wait_for_selector(&page, ".collection-form button[data-action=delete]");
        click(&page, ".collection-form button[data-action=delete]");
        wait_for_selector(&page, "dialog[open] button[value=yes]");
        click(&page, "dialog[open] button[value=yes]");
        wait_for_toast(&page, "Collection posts deleted.");
        let gone = handle.block_on(server.get("/api/collections/posts", Some(&token)));
        assert_eq!(gone.status, 404);
    })
    .await;
}
