//! File fields over HTTP (§2.3, §4.4): multipart uploads on create and update with the
//! `+`/`-` modifiers and `@jsonPayload`, the size/type/count checks (a refused write leaves
//! nothing behind), stored names in hooks, batches that commit or roll back their files,
//! files removed with their records, and malformed bodies. Serving them is
//! `tests/files_serve.rs`. Every expectation was checked against PocketBase 0.40.6.

mod common;

use serde_json::{Value, json};

use common::files::{
    BAD_REQUEST, BOUNDARY, Form, HELLO, assert_stored_name, files_under, names, png, setup,
    setup_on, storage,
};
use common::{TestServer, expect};

#[tokio::test]
async fn uploads_on_create_and_update() {
    let (server, _, collection_id) = setup().await;
    let res = Form::new()
        .text("title", "hi")
        .file("one", "Hello World.txt", HELLO)
        .file("many", "a.png", &png())
        .file("many", "ÄbcDéf.TXT", HELLO)
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let record = res.json();
    let id = record["id"].as_str().unwrap().to_string();
    assert_stored_name(
        record["one"].as_str().unwrap(),
        r"^hello_world_[a-z0-9]{10}\.txt$",
    );
    let many = names(&record["many"]);
    assert_stored_name(&many[0], r"^a[a-z0-9]{10}_[a-z0-9]{10}\.png$");
    assert_stored_name(&many[1], r"^bc_d_f_[a-z0-9]{10}\.TXT$");
    let dir = storage(&server).join(&collection_id).join(&id);
    let attrs: Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{}.attrs", many[0]))).unwrap())
            .unwrap();
    assert_eq!(attrs["user.content_type"], "image/png");
    assert_eq!(
        attrs["user.metadata"],
        json!({"original-filename": "a.png"})
    );
    assert_eq!(std::fs::read(dir.join(&many[1])).unwrap(), HELLO);

    let path = format!("/api/collections/docs/records/{id}");
    // Append, then one too many (nothing changes), remove, prepend, keep-one-and-upload.
    let res = Form::new()
        .file("many+", "third.txt", HELLO)
        .send(&server, "PATCH", &path)
        .await;
    let appended = names(&res.json()["many"]);
    assert_eq!(appended.len(), 3);
    assert_eq!(appended[..2], many[..]);
    let res = Form::new()
        .file("many+", "fourth.txt", HELLO)
        .send(&server, "PATCH", &path)
        .await;
    expect(
        &res,
        400,
        r#"{"data":{"many":{"code":"validation_too_many_files","message":"The maximum allowed files is 3.","params":{"maxSelect":3}}},"message":"Failed to update record.","status":400}"#,
    );
    let res = Form::new()
        .text("many-", &appended[0])
        .send(&server, "PATCH", &path)
        .await;
    assert_eq!(names(&res.json()["many"]), appended[1..]);
    assert!(
        !dir.join(&appended[0]).exists(),
        "removed file left on disk"
    );
    let res = Form::new()
        .file("+many", "first.png", &png())
        .send(&server, "PATCH", &path)
        .await;
    let prepended = names(&res.json()["many"]);
    assert_stored_name(&prepended[0], r"^first_[a-z0-9]{10}\.png$");
    let res = Form::new()
        .text("many", &prepended[0])
        .file("many", "zz.txt", HELLO)
        .send(&server, "PATCH", &path)
        .await;
    let kept = names(&res.json()["many"]);
    assert_eq!(kept[0], prepended[0]);
    assert_stored_name(&kept[1], r"^zz[a-z0-9]{10}_[a-z0-9]{10}\.txt$");
    // A JSON body removes by name too; a new single file replaces the old one on disk.
    let res = server
        .patch(&path, None, &json!({"many-": [kept[0]]}).to_string())
        .await;
    assert_eq!(names(&res.json()["many"]), kept[1..]);
    let old_one = record["one"].as_str().unwrap();
    let res = Form::new()
        .file("one", "new.txt", HELLO)
        .send(&server, "PATCH", &path)
        .await;
    let new_one = res.json()["one"].as_str().unwrap().to_string();
    let mut expected = vec![
        kept[1].clone(),
        format!("{}.attrs", kept[1]),
        new_one.clone(),
        format!("{new_one}.attrs"),
    ];
    expected.sort();
    assert_eq!(files_under(&dir), expected, "old {old_one} should be gone");
}

#[tokio::test]
async fn form_values_and_json_payload() {
    let (server, _, _) = setup().await;
    // Form values are inferred and cast as PocketBase does; `@jsonPayload` wins over them.
    let res = Form::new()
        .text("@jsonPayload", r#"{"title":"from json","tags":[1,2]}"#)
        .text("title", "from form")
        .file("one", "a.txt", HELLO)
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    let record = res.json();
    assert_eq!(
        (&record["title"], &record["tags"]),
        (&json!("from json"), &json!([1, 2]))
    );
    let res = Form::new()
        .text("title", "007")
        .text("tags", r#"{"x":1}"#)
        .file("title", "ignored.txt", HELLO)
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    let record = res.json();
    assert_eq!(
        (&record["title"], &record["tags"]),
        (&json!("007"), &json!({"x": 1}))
    );
    // A single file field keeps the last of several uploads.
    let res = Form::new()
        .file("one", "first.txt", HELLO)
        .file("one", "second.txt", HELLO)
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    assert_stored_name(
        res.json()["one"].as_str().unwrap(),
        r"^second_[a-z0-9]{10}\.txt$",
    );
}

#[tokio::test]
async fn hooks_see_stored_names() {
    let hook = r#"
        onRecordCreateRequest((e) => {
            e.record.set("title", "request saw " + e.record.get("one"));
            e.next();
        }, "docs");
        onRecordAfterCreateSuccess((e) => {
            $app.store().set("created", e.record.get("one"));
            e.next();
        }, "docs");
        routerAdd("GET", "/created", (e) => e.string(200, $app.store().get("created")));
    "#;
    let (server, _, _) = setup_on(TestServer::start_hooks(&[("files.pb.js", hook)]).await).await;
    let res = Form::new()
        .file("one", "a b.txt", HELLO)
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    let record = res.json();
    let name = record["one"].as_str().unwrap();
    assert_stored_name(name, r"^a_b_[a-z0-9]{10}\.txt$");
    assert_eq!(record["title"], format!("request saw {name}"));
    assert_eq!(server.get("/created", None).await.body, name);
}

#[tokio::test]
async fn refused_uploads_write_nothing() {
    let (server, _, collection_id) = setup().await;
    let cases: Vec<(Form, &str)> = vec![
        (
            Form::new().file("one", "big.txt", &[b'0'; 200]),
            r#"{"one":{"code":"validation_file_size_limit","message":"Failed to upload big.txt - the maximum allowed file size is 100 bytes.","params":{"file":"big.txt","maxSize":100}}}"#,
        ),
        (
            Form::new()
                .file("many", "four.png", &png())
                .file("many", "four.png", &png())
                .file("many", "four.png", &png())
                .file("many", "four.png", &png()),
            r#"{"many":{"code":"validation_too_many_files","message":"The maximum allowed files is 3.","params":{"maxSelect":3}}}"#,
        ),
        (
            Form::new().text("many", "nope.png"),
            r#"{"many":{"code":"validation_invalid_file","message":"Invalid new files: [nope.png].","params":{"invalidFiles":["nope.png"]}}}"#,
        ),
        (
            // Sniffed from the bytes: a GIF named .png is still a GIF.
            Form::new().file("many", "fake.png", b"GIF89a\x01\x00\x01\x00"),
            r#"{"many":{"code":"validation_invalid_mime_type","message":"\"fake_*.png\" mime type must be one of: image/png, text/plain."}}"#,
        ),
    ];
    for (form, data) in cases {
        let res = form
            .send(&server, "POST", "/api/collections/docs/records")
            .await;
        assert_eq!(res.status, 400, "{}", res.body);
        let got = res.json();
        assert_eq!(got["message"], "Failed to create record.");
        let pattern = regex::escape(data).replace(r"\*", "[a-z0-9]{10}");
        let got_data = got["data"].to_string();
        assert!(
            regex::Regex::new(&format!("^{pattern}$"))
                .unwrap()
                .is_match(&got_data),
            "{got_data}\n!= {data}"
        );
    }
    // Also on update: the record keeps its files and nothing new lands on disk.
    let res = Form::new()
        .file("one", "ok.txt", HELLO)
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    let id = res.json()["id"].as_str().unwrap().to_string();
    let before = files_under(&storage(&server));
    let res = Form::new()
        .file("one", "big.txt", &[b'0'; 200])
        .file("many", "fine.txt", HELLO)
        .send(
            &server,
            "PATCH",
            &format!("/api/collections/docs/records/{id}"),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(files_under(&storage(&server)), before);
    let list = server.get("/api/collections/docs/records", None).await;
    assert_eq!(list.json()["totalItems"], 1);
    assert_eq!(files_under(&storage(&server).join(&collection_id)).len(), 2);
}

#[tokio::test]
async fn deletes_remove_files_with_records() {
    let (server, su, docs_id) = setup().await;
    let body = json!({
        "name": "kids", "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [
            {"name": "parent", "type": "relation", "collectionId": docs_id, "cascadeDelete": true},
            {"name": "f", "type": "file"},
        ],
    });
    let res = server
        .post("/api/collections", Some(&su), &body.to_string())
        .await;
    let kids_id = res.json()["id"].as_str().unwrap().to_string();
    let create = |collection: &'static str, form: Form| {
        let server = &server;
        async move {
            let res = form
                .send(
                    server,
                    "POST",
                    &format!("/api/collections/{collection}/records"),
                )
                .await;
            assert_eq!(res.status, 200, "{}", res.body);
            res.json()["id"].as_str().unwrap().to_string()
        }
    };
    let parent = create("docs", Form::new().file("one", "p.txt", HELLO)).await;
    let kid = create(
        "kids",
        Form::new()
            .text("parent", &parent)
            .file("f", "k.txt", HELLO),
    )
    .await;
    let root = storage(&server);
    assert!(root.join(&docs_id).join(&parent).is_dir());
    assert!(root.join(&kids_id).join(&kid).is_dir());
    let res = server
        .delete(&format!("/api/collections/docs/records/{parent}"), None)
        .await;
    assert_eq!(res.status, 204);
    assert!(!root.join(&docs_id).join(&parent).exists());
    assert!(
        !root.join(&kids_id).join(&kid).exists(),
        "cascade left files"
    );

    create("docs", Form::new().file("one", "t.txt", HELLO)).await;
    let res = server
        .delete("/api/collections/docs/truncate", Some(&su))
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(files_under(&root.join(&docs_id)), Vec::<String>::new());
    create("kids", Form::new().file("f", "k.txt", HELLO)).await;
    let res = server.delete("/api/collections/kids", Some(&su)).await;
    assert_eq!(res.status, 204);
    assert!(!root.join(&kids_id).exists());
}

#[tokio::test]
async fn malformed_multipart_is_the_envelope() {
    let (server, _, _) = setup().await;
    let path = "/api/collections/docs/records";
    let truncated =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello");
    let boundary = format!("multipart/form-data; boundary={BOUNDARY}");
    let cases: [(&str, &[u8]); 4] = [
        ("multipart/form-data", b"abc"),
        (&boundary, b"garbage"),
        (&boundary, truncated.as_bytes()),
        (&boundary, b"--satchel-test-boundary\r\nContent-Disposition: form-data; name=\"@jsonPayload\"\r\n\r\n{bad\r\n--satchel-test-boundary--\r\n"),
    ];
    for (content_type, body) in cases {
        let res = common::send(
            server.addr,
            "POST",
            path,
            &[("Content-Type", content_type)],
            body,
        )
        .await;
        expect(&res, 400, BAD_REQUEST);
    }
    // Past 32 MiB plus what the fields may hold (here 100 B + 3 × 5 MiB + 5 MiB + 1 MiB).
    let res = Form::new()
        .file("secret", "big.bin", &vec![0; 54 << 20])
        .send(&server, "POST", path)
        .await;
    expect(
        &res,
        413,
        r#"{"data":{},"message":"Request entity too large.","status":413}"#,
    );
    assert_eq!(server.get(path, None).await.json()["totalItems"], 0);
    assert_eq!(files_under(&storage(&server)), Vec::<String>::new());
}

#[tokio::test]
async fn batch_uploads_commit_or_roll_back_together() {
    let (server, su, collection_id) = setup().await;
    let res = server
        .patch(
            "/api/settings",
            Some(&su),
            r#"{"batch":{"enabled":true,"maxRequests":10}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
    let create = |title: &str, extra: Value| {
        let mut body = json!({"title": title});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"method": "POST", "url": "/api/collections/docs/records", "body": body})
    };
    let payload = json!({"requests": [create("b1", json!({})), create("b2", json!({}))]});
    let res = Form::new()
        .text("@jsonPayload", &payload.to_string())
        .file("requests.0.one", "a.txt", HELLO)
        .file("requests.1.many", "b.txt", HELLO)
        .file("requests.1.many", "c.png", &png())
        .send(&server, "POST", "/api/batch")
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let results = res.json();
    assert_stored_name(
        results[0]["body"]["one"].as_str().unwrap(),
        r"^a[a-z0-9]{10}_[a-z0-9]{10}\.txt$",
    );
    assert_eq!(names(&results[1]["body"]["many"]).len(), 2);
    let stored = files_under(&storage(&server).join(&collection_id));
    assert_eq!(stored.len(), 6);

    // The second item fails: the first one's file goes with the rolled-back transaction.
    let payload =
        json!({"requests": [create("b3", json!({})), create("b4", json!({"one": "nope.txt"}))]});
    let res = Form::new()
        .text("@jsonPayload", &payload.to_string())
        .file("requests.0.one", "d.txt", HELLO)
        .send(&server, "POST", "/api/batch")
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(
        res.json()["data"]["requests"]["1"]["response"]["data"]["one"]["code"],
        "validation_invalid_file"
    );
    assert_eq!(files_under(&storage(&server).join(&collection_id)), stored);
}
