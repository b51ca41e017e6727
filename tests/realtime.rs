//! Realtime (§10) over raw HTTP: the SSE stream's exact bytes and headers, the subscribe
//! errors as PocketBase 0.40.6 answers them, the auth check, and writers that keep going
//! while a client never reads. (The SDK's view is in tests/sdk/realtime.test.mjs.)

mod common;

use std::time::Duration;

use common::{TestServer, send};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

/// An open SSE connection, read event by event (chunked transfer decoding included).
struct Events {
    reader: BufReader<TcpStream>,
    headers: String,
    pending: String,
}

impl Events {
    async fn open(server: &TestServer) -> Events {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let request = format!(
            "GET /api/realtime HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            server.addr
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut reader = BufReader::new(stream);
        let mut headers = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.expect("header line");
            if line == "\r\n" {
                break;
            }
            headers.push_str(&line.to_ascii_lowercase());
        }
        Events {
            reader,
            headers,
            pending: String::new(),
        }
    }

    /// The next event's raw text (up to and including its blank line).
    async fn next(&mut self) -> String {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(end) = self.pending.find("\n\n") {
                    let event = self.pending[..end + 2].to_string();
                    self.pending.drain(..end + 2);
                    return event;
                }
                let mut size = String::new();
                self.reader.read_line(&mut size).await.expect("chunk size");
                let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).await.expect("chunk");
                self.pending
                    .push_str(std::str::from_utf8(&chunk[..size]).expect("utf-8"));
            }
        })
        .await
        .expect("an event arrives")
    }

    /// The next event's `data` as JSON, with its name.
    async fn next_data(&mut self) -> (String, Value) {
        let event = self.next().await;
        let name = field(&event, "event:");
        let data = serde_json::from_str(&field(&event, "data:")).expect("JSON data");
        (name, data)
    }
}

fn field(event: &str, prefix: &str) -> String {
    event
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_default()
        .to_string()
}

async fn subscribe(server: &TestServer, token: Option<&str>, body: Value) -> common::Response {
    server.post("/api/realtime", token, &body.to_string()).await
}

async fn public_collection(server: &TestServer, admin: &str, name: &str) {
    let res = server
        .post(
            "/api/collections",
            Some(admin),
            &json!({"name": name, "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "title", "type": "text", "max": 10000}]})
            .to_string(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_starts_with_pb_connect() {
    let server = TestServer::start().await;
    let mut events = Events::open(&server).await;
    assert!(events.headers.starts_with("http/1.1 200 ok\r\n"));
    for header in [
        "content-type: text/event-stream\r\n",
        "cache-control: no-store\r\n",
        "x-accel-buffering: no\r\n",
    ] {
        assert!(events.headers.contains(header), "{}", events.headers);
    }
    let first = events.next().await;
    let id = field(&first, "id:");
    assert_eq!(id.len(), 40);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        first,
        format!("id:{id}\nevent:PB_CONNECT\ndata:{{\"clientId\":\"{id}\"}}\n\n")
    );
    assert!(server.app.realtime().client(&id).is_some());
    drop(events);
    // The client goes away with its connection.
    for _ in 0..100 {
        if server.app.realtime().client(&id).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the client outlived its connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_errors_are_pocketbases() {
    let server = TestServer::start().await;
    let mut events = Events::open(&server).await;
    let id = field(&events.next().await, "id:");

    let res = subscribe(&server, None, json!({})).await;
    common::expect(
        &res,
        400,
        r#"{"data":{"clientId":{"code":"validation_required","message":"Cannot be blank."}},"message":"Something went wrong while processing your request.","status":400}"#,
    );
    let res = subscribe(&server, None, json!({"clientId": "nope"})).await;
    common::expect(
        &res,
        404,
        r#"{"data":{},"message":"Missing or invalid client id.","status":404}"#,
    );
    let res = subscribe(
        &server,
        None,
        json!({"clientId": id, "subscriptions": ["x".repeat(2501)]}),
    )
    .await;
    common::expect(
        &res,
        400,
        r#"{"data":{"subscriptions":{"0":{"code":"validation_length_too_long","message":"The length must be no more than 2500.","params":{"max":2500,"min":0}}}},"message":"Something went wrong while processing your request.","status":400}"#,
    );
    let many = vec!["a"; 1001];
    let res = subscribe(
        &server,
        None,
        json!({"clientId": id, "subscriptions": many}),
    )
    .await;
    common::expect(
        &res,
        400,
        r#"{"data":{"subscriptions":{"code":"validation_length_too_long","message":"The length must be no more than 1000.","params":{"max":1000,"min":0}}},"message":"Something went wrong while processing your request.","status":400}"#,
    );
    let res = send(
        server.addr,
        "POST",
        "/api/realtime",
        &[("Content-Type", "application/json")],
        b"garbage",
    )
    .await;
    common::expect(
        &res,
        400,
        r#"{"data":{},"message":"Something went wrong while processing your request.","status":400}"#,
    );
    let res = subscribe(
        &server,
        None,
        json!({"clientId": id, "subscriptions": ["users/*"]}),
    )
    .await;
    assert_eq!((res.status, res.body.as_str()), (204, ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_keeps_the_auth_it_subscribed_with() {
    let server = TestServer::start().await;
    let admin = server.superuser_token().await;
    server
        .create_user(&admin, "ann@example.com", "pass-123456", true)
        .await;
    server
        .create_user(&admin, "bob@example.com", "pass-123456", true)
        .await;
    let ann = server.user_token("ann@example.com", "pass-123456").await;
    let bob = server.user_token("bob@example.com", "pass-123456").await;
    let mut events = Events::open(&server).await;
    let id = field(&events.next().await, "id:");
    let body = json!({"clientId": id, "subscriptions": ["users/*"]});
    // A guest may become ann; ann may not become bob (nor a guest).
    assert_eq!(subscribe(&server, None, body.clone()).await.status, 204);
    assert_eq!(
        subscribe(&server, Some(&ann), body.clone()).await.status,
        204
    );
    for other in [Some(bob.as_str()), None] {
        let res = subscribe(&server, other, body.clone()).await;
        common::expect(
            &res,
            403,
            r#"{"data":{},"message":"The current and the previous request authorization don't match.","status":403}"#,
        );
    }
    assert_eq!(subscribe(&server, Some(&ann), body).await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_go_on_while_a_client_never_reads() {
    let server = TestServer::start().await;
    let admin = server.superuser_token().await;
    public_collection(&server, &admin, "posts").await;

    // One client that never reads its stream, one that does.
    let mut stalled = Events::open(&server).await;
    let stalled_id = field(&stalled.next().await, "id:");
    let mut reader = Events::open(&server).await;
    let reader_id = field(&reader.next().await, "id:");
    for id in [&stalled_id, &reader_id] {
        let res = subscribe(
            &server,
            None,
            json!({"clientId": id, "subscriptions": ["posts/*"]}),
        )
        .await;
        assert_eq!(res.status, 204);
    }
    // Every write succeeds although one subscriber takes nothing (a writer that waited for
    // it would hang here once the socket buffers fill), and the reading client gets every
    // event, in order.
    let title = "x".repeat(8000);
    let total = 200;
    let mut ids = Vec::new();
    for n in 0..total {
        let body = json!({"title": format!("{n} {title}")}).to_string();
        let res = server
            .post("/api/collections/posts/records", None, &body)
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        ids.push(res.json()["id"].as_str().expect("id").to_string());
    }
    for (n, id) in ids.iter().enumerate() {
        let (name, data) = reader.next_data().await;
        assert_eq!(name, "posts/*");
        assert_eq!(data["action"], "create");
        assert_eq!(data["record"]["id"], id.as_str(), "event {n}");
    }
    drop(stalled);
}

const REALTIME_HOOKS: &str = r#"
onRealtimeConnectRequest((e) => {
  if (e.requestInfo().query.refuse) throw new BadRequestError("not now");
  e.next();
});
onRealtimeSubscribeRequest((e) => {
  // Everyone also hears about posts.
  e.subscriptions = e.subscriptions.concat(["posts/*"]);
  e.next();
});
onRealtimeMessageSend((e) => {
  if (e.message.name === "posts/*") {
    const data = JSON.parse(e.message.data);
    if (data.record.title === "secret") return; // dropped
    data.seenBy = e.client.id().length;
    e.message.data = JSON.stringify(data);
  }
  e.next();
});
routerAdd("POST", "/api/shout", (e) => {
  const text = e.requestInfo().body.text;
  let sent = 0;
  for (const client of Object.values($app.subscriptionsBroker().clients())) {
    if (!client.hasSubscription("shouts")) continue;
    client.send(new SubscriptionMessage({ name: "shouts", data: JSON.stringify({ text }) }));
    sent++;
  }
  return e.json(200, { sent, total: $app.subscriptionsBroker().totalClients() });
});
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_hooks_and_custom_messages() {
    let server = TestServer::start_hooks(&[("realtime.pb.js", REALTIME_HOOKS)]).await;
    let admin = server.superuser_token().await;
    public_collection(&server, &admin, "posts").await;

    let refused = server.get("/api/realtime?refuse=1", None).await;
    // PocketBase capitalizes the message and ends it with a period.
    common::expect(
        &refused,
        400,
        r#"{"data":{},"message":"Not now.","status":400}"#,
    );
    assert_eq!(server.app.realtime().total(), 0);

    let mut events = Events::open(&server).await;
    let id = field(&events.next().await, "id:");
    let res = subscribe(
        &server,
        None,
        json!({"clientId": id, "subscriptions": ["shouts"]}),
    )
    .await;
    assert_eq!(res.status, 204);
    let topics: Vec<String> = server
        .app
        .realtime()
        .client(&id)
        .expect("client")
        .subscriptions()
        .into_iter()
        .map(|s| s.topic)
        .collect();
    assert_eq!(topics, ["shouts", "posts/*"]);

    // The message hook drops one record event and edits the other.
    for title in ["secret", "public"] {
        let body = json!({"title": title}).to_string();
        let res = server
            .post("/api/collections/posts/records", None, &body)
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let (name, data) = events.next_data().await;
    assert_eq!(name, "posts/*");
    assert_eq!(data["record"]["title"], "public");
    assert_eq!(data["seenBy"], 40);

    // A route pushes a custom message to the clients subscribed to it.
    let res = server.post("/api/shout", None, r#"{"text":"hello"}"#).await;
    common::expect(&res, 200, r#"{"sent":1,"total":1}"#);
    let (name, data) = events.next_data().await;
    assert_eq!(name, "shouts");
    assert_eq!(data, json!({"text": "hello"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_send_with_the_realtime_plugin() {
    let page = "<% realtime.send('shouts', { text: params.text }) %>sent";
    let server = TestServer::start_pages(&[("shout.ejs", page)]).await;
    let mut events = Events::open(&server).await;
    let id = field(&events.next().await, "id:");
    let res = subscribe(
        &server,
        None,
        json!({"clientId": id, "subscriptions": ["shouts"]}),
    )
    .await;
    assert_eq!(res.status, 204);
    let res = server.get("/shout?text=hi", None).await;
    assert_eq!((res.status, res.body.as_str()), (200, "sent"));
    let (name, data) = events.next_data().await;
    assert_eq!(name, "shouts");
    assert_eq!(data, json!({"text": "hi"}));
}
