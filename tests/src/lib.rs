//! Helpers for the end-to-end tests: the real local system on a loopback port and a plain
//! HTTP client.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: std::sync::Arc<aurum::adapters::embedded::EmbeddedStore>,
    client: Client<HttpConnector, Full<Bytes>>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts `aurum serve`'s application on 127.0.0.1 with its database in `data_dir`.
pub async fn spawn_app(data_dir: &Path) -> TestApp {
    let store = aurum_cli::open_store(data_dir).expect("open embedded store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(aurum_cli::serve(
        listener,
        std::sync::Arc::clone(&store),
        async {
            let _ = rx.await;
        },
    ));
    TestApp {
        addr,
        store,
        client: Client::builder(TokioExecutor::new()).build_http(),
        stop: Some(tx),
        server: Some(server),
    }
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl TestApp {
    pub async fn request(&self, method: &str, path: &str, body: impl Into<Bytes>) -> Reply {
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("content-type", "application/json")
            .body(Full::new(body.into()))
            .expect("request");
        let response = self.client.request(request).await.expect("server answers");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!("{method} {path} -> {status}: body is not JSON ({e}): {bytes:?}")
        });
        Reply { status, body }
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path, body.to_string()).await
    }

    /// Stops the server and waits until it has released the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}
