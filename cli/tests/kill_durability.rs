//! Durability of the embedded store's group commit: `aurum serve` (the release or debug
//! binary, as a process) killed with SIGKILL in the middle of a load keeps every turn it
//! answered.

use aurum::adapters::embedded::EmbeddedStore;
use aurum::domain::conversation::SessionId;
use aurum::ports::ConversationStore;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const MESSAGES: [&str; 4] = [
    "Hi, I own a two-family house in Astoria and I'm looking at solar.",
    "Our bill is about $240 a month, zip 11105.",
    "How long does installation take?",
    "We'd like to do it within six months.",
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_server_under_load_when_it_is_killed_with_sigkill_then_every_answered_turn_is_stored()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_aurum"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .env("RUST_LOG", "error")
        .env("AURUM_BACKEND", "embedded")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aurum serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let ready = Instant::now();
    loop {
        let probe = client
            .get(format!("{base}/openapi.json").parse().expect("uri"))
            .await;
        if probe.is_ok() {
            break;
        }
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "the server never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // WHEN eight chats post turns as fast as they are answered, and the server is killed.
    let stop = Arc::new(AtomicBool::new(false));
    let mut chats = Vec::new();
    for c in 0..8 {
        let (client, base, stop) = (client.clone(), base.clone(), Arc::clone(&stop));
        chats.push(tokio::spawn(async move {
            // (session, turns answered with 200)
            let mut answered: Vec<(String, u32)> = Vec::new();
            'chats: for n in 0.. {
                let session = format!("durable_{c}_{n}");
                let mut turns = 0;
                // The token the first reply gives, sent back with every later turn.
                let mut token = serde_json::Value::Null;
                for message in MESSAGES {
                    if stop.load(Ordering::Relaxed) {
                        answered.push((session, turns));
                        break 'chats;
                    }
                    let body = serde_json::json!({"session_id": session, "message": message, "session_token": token});
                    let request = hyper::Request::post(format!(
                        "{base}/api/v1/conversation/revenue-optimized"
                    ))
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.to_string())))
                    .expect("request");
                    let Ok(response) = client.request(request).await else {
                        answered.push((session, turns));
                        break 'chats;
                    };
                    let ok = response.status() == 200;
                    let Ok(bytes) = response.into_body().collect().await else {
                        answered.push((session, turns));
                        break 'chats;
                    };
                    if !ok {
                        answered.push((session, turns));
                        break 'chats;
                    }
                    if token.is_null() {
                        let reply: serde_json::Value =
                            serde_json::from_slice(&bytes.to_bytes()).unwrap_or_default();
                        token = reply["session_token"].clone();
                    }
                    turns += 1;
                }
                answered.push((session, turns));
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    server.kill().expect("SIGKILL");
    let _ = server.wait();
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    for chat in chats {
        answered.extend(chat.await.expect("chat task"));
    }

    // THEN the store, reopened, holds every answered turn.
    let total: u32 = answered.iter().map(|(_, t)| t).sum();
    assert!(total > 20, "the load ran before the kill: {total} turns");
    let store = EmbeddedStore::open(dir.path()).expect("the store reopens after SIGKILL");
    for (session, turns) in answered.iter().filter(|(_, t)| *t > 0) {
        let stored = store
            .load_conversation(&SessionId::parse(session).expect("id"))
            .await
            .expect("read")
            .map_or(0, |c| c.turns);
        assert!(
            stored >= *turns,
            "{session}: {turns} turns answered, {stored} stored"
        );
    }
}
