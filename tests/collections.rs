//! The collections API (§4) against the real server: every field type round-trips, schema
//! changes keep existing rows, bad input is refused with PocketBase's errors and changes
//! nothing, delete/truncate/import/scaffolds/list behave as the reference.

mod common;

use common::TestServer;
use serde_json::{Value, json};

/// A base collection using every field type.
fn every_field_type(name: &str) -> Value {
    json!({
        "name": name, "type": "base", "listRule": "", "viewRule": "", "createRule": null,
        "fields": [
            {"name": "title", "type": "text", "required": true, "max": 100, "pattern": "^[a-z ]+$"},
            {"name": "views", "type": "number", "min": 0, "onlyInt": true},
            {"name": "published", "type": "bool"},
            {"name": "contact", "type": "email", "onlyDomains": ["example.com"]},
            {"name": "site", "type": "url", "exceptDomains": ["bad.test"]},
            {"name": "body", "type": "editor", "convertURLs": true, "maxSize": 1000},
            {"name": "when", "type": "date", "min": "2024-01-01 00:00:00.000Z"},
            {"name": "created", "type": "autodate", "onCreate": true},
            {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
            {"name": "status", "type": "select", "values": ["draft", "live"], "maxSelect": 1},
            {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
            {"name": "doc", "type": "file", "maxSelect": 1, "mimeTypes": ["application/pdf"], "protected": true},
            {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
            {"name": "meta", "type": "json", "maxSize": 2000},
            {"name": "secret", "type": "password", "min": 10, "hidden": true},
            {"name": "loc", "type": "geoPoint", "presentable": true, "help": "where"}
        ],
        "indexes": ["CREATE INDEX `idx_title` ON `posts` (`title`)"]
    })
}

#[tokio::test]
async fn every_field_type_round_trips() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let res = server
        .post(
            "/api/collections",
            Some(&token),
            &every_field_type("posts").to_string(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let created = res.json();
    assert_eq!(created["id"], "pbc_1125843985");
    let keys: Vec<&str> = created
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "listRule",
            "viewRule",
            "createRule",
            "updateRule",
            "deleteRule",
            "name",
            "type",
            "fields",
            "indexes",
            "created",
            "updated",
            "system"
        ]
    );
    let fields = created["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 17);
    assert_eq!(
        fields[0],
        json!({"autogeneratePattern": "[a-z0-9]{15}", "help": "", "hidden": false,
        "id": "text3208210256", "max": 15, "min": 15, "name": "id", "pattern": "^[a-z0-9]+$", "presentable": false,
        "primaryKey": true, "required": true, "system": true, "type": "text"})
    );
    assert_eq!(
        fields[1],
        json!({"autogeneratePattern": "", "help": "", "hidden": false, "id": "text724990059",
        "max": 100, "min": 0, "name": "title", "pattern": "^[a-z ]+$", "presentable": false, "primaryKey": false,
        "required": true, "system": false, "type": "text"})
    );
    assert_eq!(
        fields[2],
        json!({"help": "", "hidden": false, "id": "number300981383", "max": null, "min": 0,
        "name": "views", "onlyInt": true, "presentable": false, "required": false, "system": false, "type": "number"})
    );
    assert_eq!(fields[8]["type"], "autodate");
    assert!(fields[8].get("required").is_none() && fields[8].get("help").is_none());
    assert_eq!(fields[16]["help"], "where");
    assert_eq!(
        created["indexes"],
        json!(["CREATE INDEX `idx_title` ON `posts` (`title`)"])
    );

    for path in [
        "/api/collections/posts",
        "/api/collections/pbc_1125843985",
        "/api/collections/POSTS",
    ] {
        let res = server.get(path, Some(&token)).await;
        assert_eq!(res.json(), created, "{path}");
    }

    // The table has one column per field, typed as PocketBase types them.
    let columns: Vec<(String, String)> =
        sqlx::query_as("SELECT name, type FROM pragma_table_info('posts') ORDER BY name")
            .fetch_all(&server.app.store().reader)
            .await
            .expect("columns");
    let expect = [
        ("author", "TEXT"),
        ("body", "TEXT"),
        ("contact", "TEXT"),
        ("created", "TEXT"),
        ("doc", "TEXT"),
        ("id", "TEXT"),
        ("loc", "JSON"),
        ("meta", "JSON"),
        ("published", "BOOLEAN"),
        ("secret", "TEXT"),
        ("site", "TEXT"),
        ("status", "TEXT"),
        ("tags", "JSON"),
        ("title", "TEXT"),
        ("updated", "TEXT"),
        ("views", "NUMERIC"),
        ("when", "TEXT"),
    ];
    let got: Vec<(&str, &str)> = columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    assert_eq!(got, expect);
}

async fn insert_row(server: &TestServer, collection: &str, row: Value) {
    let collection = server.app.collection(collection).expect("collection");
    let mut conn = server.app.store().writer.turn().await.expect("conn");
    satchel::store::records::insert(&mut conn, &collection, row.as_object().expect("object"))
        .await
        .expect("insert");
}

async fn rows(server: &TestServer, sql: &'static str) -> Vec<Value> {
    let texts: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(&server.app.store().reader)
        .await
        .expect("query");
    texts
        .iter()
        .map(|t| serde_json::from_str(t).expect("json"))
        .collect()
}

#[tokio::test]
async fn schema_changes_keep_existing_rows() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let body = json!({"name": "notes", "fields": [
        {"name": "title", "type": "text"}, {"name": "n", "type": "number"},
        {"name": "gone", "type": "text"}, {"name": "tag", "type": "select", "values": ["a", "b"]}]});
    let created = server
        .post("/api/collections", Some(&token), &body.to_string())
        .await
        .json();
    insert_row(
        &server,
        "notes",
        json!({"id": "aaaaaaaaaaaaaaa", "title": "hello", "n": 5, "gone": "x", "tag": "a"}),
    )
    .await;

    // Rename `title` (same id), drop `gone`, make `tag` multiple, add `extra`.
    let mut fields: Vec<Value> = created["fields"].as_array().expect("fields").clone();
    fields[1]["name"] = json!("headline");
    fields.retain(|f| f["name"] != "gone");
    fields[3]["maxSelect"] = json!(2);
    fields.push(json!({"name": "extra", "type": "bool"}));
    let patch = json!({"fields": fields, "listRule": ""});
    let res = server
        .patch("/api/collections/notes", Some(&token), &patch.to_string())
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let updated = res.json();
    let names: Vec<&str> = updated["fields"]
        .as_array()
        .expect("f")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["id", "headline", "n", "tag", "extra"]);
    assert_eq!(updated["fields"][1]["id"], created["fields"][1]["id"]);
    assert_eq!(updated["created"], created["created"]);
    assert_eq!(updated["listRule"], "");

    let got = rows(
        &server,
        "SELECT json_object('id', id, 'headline', headline, 'n', n, 'tag', json(tag), \
        'extra', extra) FROM notes",
    )
    .await;
    assert_eq!(
        got,
        [json!({"id": "aaaaaaaaaaaaaaa", "headline": "hello", "n": 5, "tag": ["a"], "extra": 0})]
    );

    // Rename the collection: the table follows, rows stay.
    let res = server
        .patch(
            "/api/collections/notes",
            Some(&token),
            r#"{"name":"memos"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let got = rows(
        &server,
        "SELECT json_object('headline', headline) FROM memos",
    )
    .await;
    assert_eq!(got, [json!({"headline": "hello"})]);
}

#[tokio::test]
async fn a_failing_change_rolls_back_whole() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let body = json!({"name": "items", "fields": [{"name": "code", "type": "text"}]});
    let created = server
        .post("/api/collections", Some(&token), &body.to_string())
        .await
        .json();
    insert_row(
        &server,
        "items",
        json!({"id": "aaaaaaaaaaaaaaa", "code": "same"}),
    )
    .await;
    insert_row(
        &server,
        "items",
        json!({"id": "bbbbbbbbbbbbbbb", "code": "same"}),
    )
    .await;

    // Renaming `code` succeeds in SQL, then the unique index fails on duplicate data: the
    // rename must be undone with it.
    let mut fields = created["fields"].as_array().expect("fields").clone();
    fields[1]["name"] = json!("sku");
    let patch =
        json!({"fields": fields, "indexes": ["CREATE UNIQUE INDEX idx_sku ON items (sku)"]});
    let res = server
        .patch("/api/collections/items", Some(&token), &patch.to_string())
        .await;
    assert_eq!(
        (res.status, res.body.as_str()),
        (
            400,
            r#"{"data":{},"message":"Failed to update collection.","status":400}"#
        )
    );
    assert_eq!(
        server
            .get("/api/collections/items", Some(&token))
            .await
            .json(),
        created
    );
    let got = rows(&server, "SELECT json_object('code', code) FROM items").await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], json!({"code": "same"}));
}

/// (body, expected envelope): PocketBase 0.40.6's answers, captured from the reference.
fn create_errors() -> Vec<(Value, Value)> {
    let invalid = |data: Value| json!({"data": data, "message": "Failed to create collection.", "status": 400});
    let code = |code: &str, message: &str| json!({"code": code, "message": message});
    vec![
        (
            json!({}),
            invalid(json!({"name": code("validation_required", "Cannot be blank.")})),
        ),
        (
            json!({"name": "users"}),
            invalid(json!({"name": code("validation_collection_name_exists",
            "Collection name must be unique (case insensitive).")})),
        ),
        (
            json!({"name": "USERS"}),
            invalid(json!({"name": code("validation_collection_name_exists",
            "Collection name must be unique (case insensitive).")})),
        ),
        (
            json!({"name": "bad name!"}),
            invalid(json!({"name": code("validation_match_invalid",
            "Must be in a valid format.")})),
        ),
        (
            json!({"name": "x1", "type": "nope"}),
            invalid(json!({"type": code("validation_in_invalid",
            "Must be a valid value.")})),
        ),
        (
            json!({"name": "x2", "fields": [{"name": "f", "type": "nope"}]}),
            json!({"data": {},
            "message": "Failed to load the submitted data due to invalid formatting.", "status": 400}),
        ),
        (
            json!({"name": "x4", "listRule": "bad syntax((("}),
            invalid(json!({"listRule": code("validation_invalid_rule",
            "Invalid rule. Raw error: unsupported argument character '(' in function \"syntax\".")})),
        ),
        (
            json!({"name": "x5", "listRule": "nope = 1"}),
            invalid(json!({"listRule": code("validation_invalid_rule",
            "Invalid rule. Raw error: invalid left operand \"nope\" - unknown field \"nope\".")})),
        ),
        (
            json!({"name": "x6", "fields": [{"name": "t", "type": "text", "min": 10, "max": 5}]}),
            invalid(
                json!({"fields": {"1": {"max": {"code": "validation_min_greater_equal_than_required",
            "message": "Must be no less than 10.", "params": {"threshold": 10}}}}}),
            ),
        ),
        (
            json!({"name": "x7", "fields": [{"name": "r", "type": "relation", "collectionId": "nope", "maxSelect": 1}]}),
            invalid(
                json!({"fields": {"1": {"collectionId": code("validation_field_relation_missing_collection",
            "The relation collection doesn't exist.")}}}),
            ),
        ),
        (
            json!({"name": "x13", "fields": [{"name": "id", "type": "number"}]}),
            invalid(
                json!({"fields": {"1": {"name": {"code": "validation_duplicated_field_name",
            "message": "Duplicated or invalid field name id.", "params": {"fieldName": "id"}}}}}),
            ),
        ),
        (
            json!({"name": "x15", "fields": [{"name": "collectionId", "type": "text"}, {"name": "expand", "type": "text"}]}),
            invalid(
                json!({"fields": {"1": {"name": code("validation_not_in_invalid", "Must not be in list.")},
            "2": {"name": code("validation_not_in_invalid", "Must not be in list.")}}}),
            ),
        ),
        (
            json!({"name": "x16", "fields": [{"name": "bad name!", "type": "text"}]}),
            invalid(
                json!({"fields": {"1": {"name": code("validation_match_invalid", "Must be in a valid format.")}}}),
            ),
        ),
        (
            json!({"name": "v3", "type": "view"}),
            invalid(
                json!({"fields": code("validation_required", "Cannot be blank."),
            "viewQuery": code("validation_required", "Cannot be blank.")}),
            ),
        ),
        (
            json!({"name": "x10", "indexes": ["CREATE INDEX bad"]}),
            invalid(json!({"indexes": {"0":
            code("validation_invalid_index_expression", "Invalid CREATE INDEX expression.")}})),
        ),
        (
            json!({"name": "x11", "fields": [{"name": "s", "type": "select"}]}),
            invalid(
                json!({"fields": {"1": {"values": code("validation_required", "Cannot be blank.")}}}),
            ),
        ),
        (
            json!({"name": "x12", "fields": [{"type": "text"}]}),
            invalid(
                json!({"fields": {"1": {"name": code("validation_required", "Cannot be blank.")}}}),
            ),
        ),
        (
            json!({"name": "bad name!", "listRule": "nope = 1", "fields": [{"name": "t", "type": "text", "min": 10,
            "max": 5}, {"name": "s", "type": "select"}]}),
            invalid(json!({
            "fields": {"1": {"max": {"code": "validation_min_greater_equal_than_required",
                "message": "Must be no less than 10.", "params": {"threshold": 10}}},
                "2": {"values": code("validation_required", "Cannot be blank.")}},
            "listRule": code("validation_invalid_rule",
                "Invalid rule. Raw error: invalid left operand \"nope\" - unknown field \"nope\"."),
            "name": code("validation_match_invalid", "Must be in a valid format.")})),
        ),
    ]
}

#[tokio::test]
async fn bad_collections_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let before = server
        .get("/api/collections?perPage=500", Some(&token))
        .await
        .json();
    for (body, expected) in create_errors() {
        let res = server
            .post("/api/collections", Some(&token), &body.to_string())
            .await;
        assert_eq!(res.json(), expected, "{body}");
        assert_eq!(res.status, 400);
    }
    assert_eq!(
        server
            .get("/api/collections?perPage=500", Some(&token))
            .await
            .json(),
        before
    );
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'x%' OR name = 'v3'",
    )
    .fetch_one(&server.app.store().reader)
    .await
    .expect("count");
    assert_eq!(tables, 0);
}

#[tokio::test]
async fn superuser_only_with_pocketbase_messages() {
    let server = TestServer::start().await;
    let routes = [
        ("GET", "/api/collections"),
        ("POST", "/api/collections"),
        ("GET", "/api/collections/users"),
        ("PATCH", "/api/collections/users"),
        ("DELETE", "/api/collections/users"),
        ("DELETE", "/api/collections/users/truncate"),
        ("PUT", "/api/collections/import"),
        ("GET", "/api/collections/meta/scaffolds"),
    ];
    for (method, path) in routes {
        let res = server.request(method, path, None, Some("{}")).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (
                401,
                r#"{"data":{},"message":"The request requires valid record authorization token.","status":401}"#
            ),
            "{method} {path}"
        );
    }
    assert_eq!(
        server
            .get(
                "/api/collections/users",
                Some(&server.superuser_token().await)
            )
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn delete_and_truncate() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let refused = |message: &str| json!({"data": {}, "message": message, "status": 400});
    let cases = [
        (
            "/api/collections/_superusers",
            refused("Failed to delete collection."),
        ),
        ("/api/collections/users/truncate", Value::Null),
        (
            "/api/collections/_superusers/truncate",
            refused(
                "Failed to truncate collection (most likely due to required cascade delete record references).",
            ),
        ),
        (
            "/api/collections/nope",
            json!({"data": {}, "message": "The requested resource wasn't found.", "status": 404}),
        ),
    ];
    for (path, expected) in cases {
        let res = server.delete(path, Some(&token)).await;
        if expected.is_null() {
            assert_eq!((res.status, res.body.as_str()), (204, ""), "{path}");
        } else {
            assert_eq!(res.json(), expected, "{path}");
        }
    }

    let body = json!({"name": "posts", "fields": [{"name": "author", "type": "relation",
        "collectionId": "_pb_users_auth_", "maxSelect": 1}, {"name": "title", "type": "text"}]});
    assert_eq!(
        server
            .post("/api/collections", Some(&token), &body.to_string())
            .await
            .status,
        200
    );
    let res = server.delete("/api/collections/users", Some(&token)).await;
    assert_eq!(
        res.json(),
        refused("Failed to delete collection probably due to existing reference in posts.")
    );

    let view =
        json!({"name": "titles", "type": "view", "viewQuery": "SELECT id, title FROM posts"});
    let res = server
        .post("/api/collections", Some(&token), &view.to_string())
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let fields = res.json()["fields"].clone();
    assert_eq!(fields[0]["name"], "id");
    assert_eq!(fields[1]["name"], "title");
    assert!(fields[1]["id"].as_str().expect("id").starts_with("_clone_"));
    let res = server
        .delete("/api/collections/titles/truncate", Some(&token))
        .await;
    assert_eq!(
        res.json(),
        refused("View collections cannot be truncated since they don't store their own records.")
    );
    assert_eq!(
        server
            .delete("/api/collections/posts", Some(&token))
            .await
            .json(),
        refused("Failed to delete collection.")
    );

    insert_row(
        &server,
        "posts",
        json!({"id": "aaaaaaaaaaaaaaa", "title": "x"}),
    )
    .await;
    assert_eq!(
        server
            .delete("/api/collections/posts/truncate", Some(&token))
            .await
            .status,
        204
    );
    assert_eq!(
        rows(&server, "SELECT json_object('id', id) FROM posts")
            .await
            .len(),
        0
    );

    assert_eq!(
        server
            .delete("/api/collections/titles", Some(&token))
            .await
            .status,
        204
    );
    assert_eq!(
        server
            .delete("/api/collections/posts", Some(&token))
            .await
            .status,
        204
    );
    assert_eq!(
        server
            .get("/api/collections/posts", Some(&token))
            .await
            .status,
        404
    );
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('posts', 'titles')")
            .fetch_one(&server.app.store().reader)
            .await
            .expect("count");
    assert_eq!(tables, 0);
}

#[tokio::test]
async fn import_creates_updates_and_deletes_missing() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    server
        .post("/api/collections", Some(&token), r#"{"name":"old_one"}"#)
        .await;
    let all = server
        .get("/api/collections?perPage=500", Some(&token))
        .await
        .json();
    let mut items: Vec<Value> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|c| c["name"] != "old_one")
        .cloned()
        .collect();
    items.push(json!({"name": "fresh", "fields": [{"name": "title", "type": "text"}]}));
    let body = json!({"collections": items, "deleteMissing": true});
    let res = server
        .put("/api/collections/import", Some(&token), &body.to_string())
        .await;
    assert_eq!((res.status, res.body.as_str()), (204, ""));
    assert_eq!(
        server
            .get("/api/collections/fresh", Some(&token))
            .await
            .status,
        200
    );
    assert_eq!(
        server
            .get("/api/collections/old_one", Some(&token))
            .await
            .status,
        404
    );

    let bad =
        json!({"collections": [{"name": "broken", "fields": [{"name": "s", "type": "select"}]}]});
    let res = server
        .put("/api/collections/import", Some(&token), &bad.to_string())
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["message"], "Failed to import collections.");
    assert_eq!(
        res.json()["data"]["collections"]["0"]["fields"]["1"]["values"]["code"],
        "validation_required"
    );
    assert_eq!(
        server
            .get("/api/collections/broken", Some(&token))
            .await
            .status,
        404
    );

    let res = server
        .put(
            "/api/collections/import",
            Some(&token),
            r#"{"collections":[]}"#,
        )
        .await;
    assert_eq!(
        res.json()["data"]["collections"]["code"],
        "validation_required"
    );
}

#[tokio::test]
async fn list_paginates_filters_and_sorts_meta_fields() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let res = server
        .get(
            "/api/collections?perPage=2&sort=-name&filter=system%3Dtrue",
            Some(&token),
        )
        .await;
    let json = res.json();
    let names: Vec<&str> = json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["_superusers", "_otps"]);
    assert_eq!(
        (
            json["page"].clone(),
            json["perPage"].clone(),
            json["totalItems"].clone(),
            json["totalPages"].clone()
        ),
        (json!(1), json!(2), json!(5), json!(3))
    );

    let res = server
        .get(
            "/api/collections?filter=type%3D'auth'%26%26name!%3D'_superusers'&skipTotal=1",
            Some(&token),
        )
        .await;
    let json = res.json();
    assert_eq!(json["items"].as_array().expect("items").len(), 1);
    assert_eq!(json["items"][0]["name"], "users");
    assert_eq!(
        (json["totalItems"].clone(), json["totalPages"].clone()),
        (json!(-1), json!(-1))
    );

    let res = server
        .get("/api/collections?page=3&perPage=5000", Some(&token))
        .await
        .json();
    assert_eq!(
        (
            res["page"].clone(),
            res["perPage"].clone(),
            res["items"].clone()
        ),
        (json!(3), json!(1000), json!([]))
    );
}

#[tokio::test]
async fn scaffolds_are_blank_collections() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let json = server
        .get("/api/collections/meta/scaffolds", Some(&token))
        .await
        .json();
    let kinds: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(kinds, ["base", "auth", "view"]);
    assert_eq!(json["base"]["id"], "");
    assert_eq!(json["base"]["fields"].as_array().expect("fields").len(), 1);
    let auth_fields: Vec<&str> = json["auth"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(
        auth_fields,
        [
            "id",
            "password",
            "tokenKey",
            "email",
            "emailVisibility",
            "verified"
        ]
    );
    assert_eq!(json["auth"]["authToken"], json!({"duration": 432000}));
    assert_eq!(json["view"]["fields"], json!([]));
    assert_eq!(json["view"]["viewQuery"], "");
}
