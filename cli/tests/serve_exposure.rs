//! `aurum serve` as an operator starts it: on a loopback address by default, on any other
//! only with `--public`, which mounts no sandbox route, seeds nothing and puts the sales
//! team's routes behind a bearer token.

use aurum::adapters::embedded::EmbeddedStore;
use aurum::ports::BuyerStore;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "a sales team token of the tests, 32+ characters long";

fn aurum() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aurum"));
    c.env("AURUM_BACKEND", "embedded")
        .env_remove("AURUM_SALES_TOKEN")
        .stdin(Stdio::null());
    c
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

async fn call(
    client: &Client<HttpConnector, Full<Bytes>>,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    let response = client.request(request).await.expect("the server answers");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[test]
fn given_a_non_loopback_address_without_public_then_serve_refuses_to_start() {
    // WHEN `aurum serve --addr 0.0.0.0:…` is started without --public
    let dir = tempfile::tempdir().expect("tempdir");
    let out = aurum()
        .args(["serve", "--addr", &format!("0.0.0.0:{}", free_port())])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("aurum runs");
    // THEN it exits with the reason, and created no store
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("not a loopback address") && said.contains("--public"),
        "{said}"
    );
    assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none());
    // AND --public without the sales team's token refuses too
    let out = aurum()
        .args([
            "serve",
            "--public",
            "--addr",
            &format!("0.0.0.0:{}", free_port()),
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("aurum runs");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("AURUM_SALES_TOKEN"), "{said}");
}

#[tokio::test]
async fn given_public_serve_then_sandbox_routes_are_gone_sales_routes_need_the_token_and_nothing_is_seeded()
 {
    // GIVEN `aurum serve --public` with the sales team's token
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let server = Server(
        aurum()
            .env("AURUM_SALES_TOKEN", TOKEN)
            .args(["serve", "--public", "--addr", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path().join("db"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aurum serve starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::builder(TokioExecutor::new()).build_http();
    let started = Instant::now();
    loop {
        let request = hyper::Request::get(format!("{base}/openapi.json"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        if client.request(request).await.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dashboard = format!("{base}/api/v1/revenue/dashboard");

    // WHEN a sales-team route is called without the token, or with another one
    for token in [None, Some("not the token")] {
        let (status, body) = call(&client, "GET", &dashboard, token, "").await;
        // THEN it is refused
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    // AND with the token it answers
    let (status, body) = call(&client, "GET", &dashboard, Some(TOKEN), "").await;
    assert_eq!(status, 200, "{body}");
    // AND the sandbox routes do not exist: no clock to move, no buyer inbox
    for (method, path) in [
        ("GET", "/sandbox/clock"),
        ("PUT", "/sandbox/clock"),
        ("POST", "/sandbox/buyers/solarreviews/leads"),
    ] {
        let (status, _) = call(&client, method, &format!("{base}{path}"), Some(TOKEN), "{}").await;
        assert_eq!(status, 404, "{method} {path}");
    }
    // AND the public routes stay public: the chat and the dashboard page
    let (status, body) = call(
        &client,
        "POST",
        &format!("{base}/api/v1/conversation/revenue-optimized"),
        None,
        r#"{"session_id": "chat_public", "message": "hi, I own my home in 11215"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    drop(server);
    // AND no example buyer (whose secrets are in the repository) was written
    let store = EmbeddedStore::open(&dir.path().join("db")).expect("open");
    assert!(store.buyers().await.expect("buyers").is_empty());
}
