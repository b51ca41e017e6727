//! The data dir: a fresh one gets PocketBase's system tables and collections, reopening
//! changes nothing, and a `pb_data` made by PocketBase 0.40.6 (fixture: its `.dump`) opens
//! and serves its collections, settings and accounts.

mod common;

use common::{TestServer, data_dir};
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteConnectOptions;

async fn snapshot(server: &TestServer) -> Vec<(String, String)> {
    sqlx::query_as("SELECT name, COALESCE(sql, '') FROM sqlite_master ORDER BY name")
        .fetch_all(&server.app.store().reader)
        .await
        .expect("schema")
}

#[tokio::test]
async fn fresh_dir_has_pocketbase_layout_and_reopens_unchanged() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM `_collections` ORDER BY rowid")
        .fetch_all(&server.app.store().reader)
        .await
        .expect("names");
    assert_eq!(
        names,
        [
            "_mfas",
            "_otps",
            "_externalAuths",
            "_authOrigins",
            "_superusers",
            "users"
        ]
    );
    let migrations: Vec<String> =
        sqlx::query_scalar("SELECT file FROM `_migrations` ORDER BY file")
            .fetch_all(&server.app.store().reader)
            .await
            .expect("migrations");
    assert_eq!(migrations.len(), 8);
    assert_eq!(
        migrations.last().map(String::as_str),
        Some("1778828400_normalize_indexes.go")
    );
    let users = server
        .get("/api/collections/users", Some(&token))
        .await
        .json();
    assert_eq!(users["id"], "_pb_users_auth_");
    assert_eq!(users["listRule"], "id = @request.auth.id");
    assert_eq!(users["createRule"], "");
    assert_eq!(
        users["oauth2"]["mappedFields"],
        json!({"id": "", "name": "name", "username": "", "avatarURL": "avatar"})
    );

    let before = snapshot(&server).await;
    let collections_before = server
        .get("/api/collections?perPage=100", Some(&token))
        .await
        .json();
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, None).await;
    assert_eq!(snapshot(&server).await, before);
    let token = server.superuser_token().await;
    assert_eq!(
        server
            .get("/api/collections?perPage=100", Some(&token))
            .await
            .json(),
        collections_before
    );
}

#[tokio::test]
async fn a_pocketbase_data_dir_opens_and_serves() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(data_dir(dir.path())).expect("pb_data");
    let options = SqliteConnectOptions::new()
        .filename(data_dir(dir.path()).join("data.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("connect");
    let dump = include_str!("fixtures/pocketbase-0.40.6.sql");
    sqlx::raw_sql(AssertSqlSafe(dump))
        .execute(&pool)
        .await
        .expect("load dump");
    pool.close().await;

    let server = TestServer::start_in(dir, None).await;
    let login = server
        .post(
            "/api/collections/_superusers/auth-with-password",
            None,
            r#"{"identity":"admin@example.com","password":"pass-123456"}"#,
        )
        .await;
    assert_eq!(
        login.status, 200,
        "a PocketBase password hash verifies: {}",
        login.body
    );
    let token = login.json()["token"].as_str().expect("token").to_string();

    let posts = server
        .get("/api/collections/posts", Some(&token))
        .await
        .json();
    assert_eq!(posts["id"], "pbc_1125843985");
    let names: Vec<&str> = posts["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["id", "title", "views", "tags", "author", "created"]);
    assert_eq!(
        posts["indexes"],
        json!(["CREATE INDEX idx_posts_title ON posts (title)"])
    );

    let settings = server.get("/api/settings", Some(&token)).await.json();
    assert_eq!(settings["meta"]["appName"], "FromPocketBase");

    let user = server
        .post(
            "/api/collections/users/auth-with-password",
            None,
            r#"{"identity":"user1@example.com","password":"user-pass-1"}"#,
        )
        .await;
    assert_eq!(user.status, 200, "{}", user.body);
    assert_eq!(user.json()["record"]["name"], "User One");

    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM `_collections`")
        .fetch_one(&server.app.store().reader)
        .await
        .expect("count");
    assert_eq!(count, 7, "nothing added to PocketBase's collections");

    // Satchel changes to that dir keep PocketBase's table layout (sorted columns, backticks).
    let res = server
        .patch(
            "/api/collections/posts",
            Some(&token),
            r#"{"fields":[{"name":"title","type":"text"}]}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'posts'")
        .fetch_one(&server.app.store().reader)
        .await
        .expect("sql");
    assert!(
        sql.contains("`id` TEXT PRIMARY KEY") && sql.contains("`title` TEXT DEFAULT '' NOT NULL"),
        "{sql}"
    );
    assert!(!sql.contains("`views`"), "{sql}");
}
