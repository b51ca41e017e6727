//! `POST /api/batch` (§11) against PocketBase 0.40.6's recorded answers: settings gate,
//! validation, one transaction (a failing item rolls back the others), upsert, later items
//! seeing earlier ones, and each item's own rules and errors.

mod common;

use common::TestServer;
use serde_json::{Value, json};

async fn setup() -> (TestServer, String) {
    let server = TestServer::start().await;
    let admin = server.superuser_token().await;
    let posts = json!({"name": "posts", "createRule": "", "updateRule": "", "deleteRule": "", "listRule": "",
        "viewRule": "", "fields": [{"name": "title", "type": "text", "required": true}]});
    assert_eq!(
        server
            .post("/api/collections", Some(&admin), &posts.to_string())
            .await
            .status,
        200
    );
    let notes = json!({"name": "notes", "createRule": "", "listRule": "", "fields": [
        {"name": "post", "type": "relation", "collectionId": "pbc_1125843985", "maxSelect": 1}]});
    let res = server
        .post("/api/collections", Some(&admin), &notes.to_string())
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    (server, admin)
}

async fn enable(server: &TestServer, admin: &str) {
    let body = r#"{"batch":{"enabled":true,"maxRequests":2}}"#;
    assert_eq!(
        server
            .patch("/api/settings", Some(admin), body)
            .await
            .status,
        200
    );
}

async fn batch(server: &TestServer, body: Value) -> common::Response {
    server.post("/api/batch", None, &body.to_string()).await
}

async fn titles(server: &TestServer) -> Vec<String> {
    let list = server
        .get("/api/collections/posts/records?sort=title", None)
        .await
        .json();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn disabled_empty_and_too_long_batches_are_refused() {
    let (server, admin) = setup().await;
    let res = batch(&server, json!({"requests": []})).await;
    assert_eq!(
        res.body,
        r#"{"data":{},"message":"Batch requests are not allowed.","status":403}"#
    );
    enable(&server, &admin).await;
    for body in [json!({"requests": []}), json!({})] {
        assert_eq!(
            batch(&server, body).await.body,
            r#"{"data":{"requests":{"code":"validation_required","message":"Cannot be blank."}},"message":"Invalid batch request data.","status":400}"#
        );
    }
    assert_eq!(
        batch(&server, json!({"requests": [{}, {}, {}]})).await.body,
        r#"{"data":{"requests":{"code":"validation_length_too_long","message":"The length must be no more than 2.","params":{"max":2,"min":0}}},"message":"Invalid batch request data.","status":400}"#
    );
    let res = server.post("/api/batch", None, "nope").await;
    assert_eq!(
        res.body,
        r#"{"data":{},"message":"Failed to read the submitted batch data.","status":400}"#
    );
}

#[tokio::test]
async fn a_failing_item_rolls_back_the_batch() {
    let (server, admin) = setup().await;
    enable(&server, &admin).await;
    let res = batch(
        &server,
        json!({"requests": [
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "a"}},
            {"method": "POST", "url": "/api/collections/posts/records", "body": {}}]}),
    )
    .await;
    assert_eq!(
        res.body,
        r#"{"data":{"requests":{"1":{"code":"batch_request_failed","message":"Batch request failed.","response":{"data":{"title":{"code":"validation_required","message":"Cannot be blank."}},"message":"Failed to create record.","status":400}}}},"message":"Batch transaction failed.","status":400}"#
    );
    assert!(
        titles(&server).await.is_empty(),
        "the first create was rolled back"
    );
    let res = batch(
        &server,
        json!({"requests": [{"method": "GET", "url": "/api/collections/posts/records"}]}),
    )
    .await;
    assert_eq!(
        res.json()["data"]["requests"]["0"]["response"],
        json!({"data": {}, "message": "Something went wrong while processing your request.", "status": 400})
    );
    let res = batch(
        &server,
        json!({"requests": [{"method": "POST", "url": "/api/collections/nope/records", "body": {"title": "x"}}]}),
    )
    .await;
    assert_eq!(
        res.json()["data"]["requests"]["0"]["response"],
        json!({"data": {}, "message": "Missing collection context.", "status": 404})
    );
}

#[tokio::test]
async fn upsert_update_delete_and_later_items_see_earlier_ones() {
    let (server, admin) = setup().await;
    enable(&server, &admin).await;
    let res = batch(
        &server,
        json!({"requests": [
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"id": "aaaaaaaaaaaaaaa", "title": "a"}},
            {"method": "PUT", "url": "/api/collections/posts/records", "body": {"id": "aaaaaaaaaaaaaaa", "title": "b"}}]}),
    )
    .await;
    assert_eq!(
        res.body,
        r#"[{"body":{"collectionId":"pbc_1125843985","collectionName":"posts","id":"aaaaaaaaaaaaaaa","title":"a"},"status":200},{"body":{"collectionId":"pbc_1125843985","collectionName":"posts","id":"aaaaaaaaaaaaaaa","title":"b"},"status":200}]"#
    );
    // A relation to a record created earlier in the same batch passes the existence check.
    let res = batch(
        &server,
        json!({"requests": [
            {"method": "PUT", "url": "/api/collections/posts/records", "body": {"id": "bbbbbbbbbbbbbbb", "title": "c"}},
            {"method": "POST", "url": "/api/collections/notes/records", "body": {"post": "bbbbbbbbbbbbbbb"}}]}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()[1]["body"]["post"], "bbbbbbbbbbbbbbb");
    let res = batch(
        &server,
        json!({"requests": [
            {"method": "PATCH", "url": "/api/collections/posts/records/aaaaaaaaaaaaaaa?fields=title", "body": {"title": "d"}},
            {"method": "DELETE", "url": "/api/collections/posts/records/aaaaaaaaaaaaaaa"}]}),
    )
    .await;
    assert_eq!(
        res.body,
        r#"[{"body":{"title":"d"},"status":200},{"body":null,"status":204}]"#
    );
    assert_eq!(titles(&server).await, ["c"]);
}

#[tokio::test]
async fn items_obey_their_collections_rules() {
    let (server, admin) = setup().await;
    enable(&server, &admin).await;
    server
        .patch_collection(&admin, "posts", json!({"createRule": null}))
        .await;
    let item = json!({"requests": [{"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "x"}}]});
    let res = batch(&server, item.clone()).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["data"]["requests"]["0"]["response"]["status"],
        403
    );
    let res = server
        .post("/api/batch", Some(&admin), &item.to_string())
        .await;
    assert_eq!(res.status, 200, "superusers bypass the rule: {}", res.body);
}
