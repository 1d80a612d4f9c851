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

/// The conversation function's route.
pub const CONVERSATION_ROUTE: &str = "/api/v1/conversation/revenue-optimized";

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: std::sync::Arc<aurum::adapters::embedded::EmbeddedStore>,
    client: Client<HttpConnector, Full<Bytes>>,
    /// The token each session's first reply gave, sent back with its later turns.
    tokens: SessionTokens,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts `aurum serve`'s application on 127.0.0.1 with its database in `data_dir`.
pub async fn spawn_app(data_dir: &Path) -> TestApp {
    let backend =
        aurum::adapters::embedded::EmbeddedBackend::open(data_dir).expect("open embedded store");
    let store = std::sync::Arc::clone(&backend.store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(aurum_cli::run(listener, backend, async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        store,
        client: Client::builder(TokioExecutor::new()).build_http(),
        tokens: SessionTokens::default(),
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
        self.request_as(method, path, Some("application/json"), body)
            .await
    }

    /// A request whose body is declared `content_type` (none: no header).
    pub async fn request_as(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        if let Some(t) = content_type {
            request = request.header("content-type", t);
        }
        let request = request.body(Full::new(body.into())).expect("request");
        let response = self.client.request(request).await.expect("server answers");
        let (status, body) = status_and_json(response, &format!("{method} {path}")).await;
        Reply { status, body }
    }

    /// Posts JSON. A conversation turn is sent as a chat frontend sends it: with the
    /// session's token once a reply gave one (unless the body names a token itself).
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        let session = (path == CONVERSATION_ROUTE)
            .then(|| body["session_id"].as_str().map(str::to_owned))
            .flatten();
        let mut body = body.clone();
        if let Some(s) = &session {
            self.tokens.attach(s, &mut body);
        }
        let reply = self.request("POST", path, body.to_string()).await;
        if let Some(s) = &session {
            self.tokens.keep(s, &reply.body);
        }
        reply
    }

    /// The token a session's first reply gave, if any.
    pub fn token(&self, session: &str) -> Option<String> {
        self.tokens.get(session)
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

pub mod analytics;
pub mod console;
pub mod contract;
pub mod faults;
pub mod feedback;
pub mod guide;
pub mod routing;

/// Local AWS (moto) and Redis servers, as started by `scripts/services.sh`.
pub mod local_aws {
    use aurum::config::{AwsResources, BackendKind, Config};
    use std::collections::HashMap;

    fn required(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run the tests with scripts/test.sh, which starts moto and Redis"
            )
        })
    }

    pub fn moto_url() -> String {
        required("AURUM_TEST_MOTO_URL")
    }

    pub fn redis_url() -> String {
        required("AURUM_TEST_REDIS_URL")
    }

    /// An SDK configuration aimed at moto with dummy credentials: never the real AWS,
    /// never the instance-metadata endpoint.
    pub async fn sdk() -> aws_config::SdkConfig {
        use aws_sdk_dynamodb::config::Credentials;
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(aurum::adapters::aws::sdk_http_client())
            .endpoint_url(moto_url())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "aurum-tests"))
            .load()
            .await
    }

    /// Table and queue names no other test uses.
    pub fn fresh_resources() -> AwsResources {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let id = &id[..12];
        AwsResources {
            conversations_table: format!("aurum-conversations-{id}"),
            models_table: format!("aurum-models-{id}"),
            leads_table: format!("aurum-leads-{id}"),
            buyers_table: format!("aurum-buyers-{id}"),
            ledger_table: format!("aurum-ledger-{id}"),
            feedback_table: format!("aurum-feedback-{id}"),
            metrics_table: format!("aurum-metrics-{id}"),
            jobs_table: format!("aurum-jobs-{id}"),
            lead_queue_url: None,
            lead_queue_name: format!("aurum-leads-{id}.fifo"),
            lead_dlq_name: format!("aurum-leads-dlq-{id}.fifo"),
        }
    }

    /// The AWS backend on fresh tables and queues on moto, with Redis, reading `clock`.
    pub async fn fresh_backend(clock: aurum::backend::Clock) -> aurum::adapters::aws::AwsBackend {
        let sdk = sdk().await;
        let resources = fresh_resources();
        aurum::adapters::setup::setup(&sdk, &resources)
            .await
            .expect("setup");
        let mut backend = aurum::adapters::aws::AwsBackend::connect_with(
            &sdk,
            &config(resources, Some(redis_url())),
        )
        .await
        .expect("connect");
        backend.clock = clock;
        backend
    }

    /// A configuration for the AWS backend over `resources`, with the given Redis URL.
    pub fn config(resources: AwsResources, redis_url: Option<String>) -> Config {
        use sha2::Digest;
        let frontend_key: String = sha2::Sha256::digest(crate::FRONTEND_KEY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let vars = HashMap::from([
            (
                "AURUM_CONTACT_HASH_KEY".to_owned(),
                "a test key of the contact hashes, 32+ chars".to_owned(),
            ),
            ("AURUM_CHAT_FRONTEND_KEY_SHA256".to_owned(), frontend_key),
        ]);
        let mut config = Config::from_vars(&vars, BackendKind::Aws).expect("defaults are valid");
        config.aws = resources;
        config.cache.redis_url = redis_url;
        config
    }
}

/// The business chat frontend's key in the tests' AWS configuration: `post_turn` sends
/// it, as the business's own server-side frontend does.
pub const FRONTEND_KEY: &str = "aurum-test-frontend-key";

/// A chat in which a homeowner qualifies, gives contact details and consents.
pub const QUALIFYING_CHAT: &[&str] = &[
    "Hi! I own a two-family house in Astoria and I'm thinking about solar.",
    "Our Con Ed bill is about $320 a month. ZIP is 11105.",
    "We'd like to get it done in the next few months. My wife and I decide together.",
    "How does net metering work, and do I need a battery?",
    "My name is Maria Lopez, you can reach me at (718) 555-0142.",
    "Yes, you can share my info with an installer and have them call me.",
    "Thanks, sounds great!",
];

/// GIVEN a chat whose lead was queued, WHEN the homeowner takes consent back, THEN the
/// reply says so, the API reports the lead withdrawn, and the lead record the router checks
/// before selling is withdrawn with the time and words. Runs on any backend.
pub async fn consent_withdrawal_after_queueing<B: aurum::backend::Backend>(
    backend: &B,
    session: &str,
) {
    use aurum::domain::lead::LeadState;
    use aurum::ports::LeadStore;
    let app = conversation_lambda(backend);
    let mut last = Value::Null;
    for message in QUALIFYING_CHAT {
        let (status, body) = post_turn(&app, session, message).await;
        assert_eq!(status, 200, "{body}");
        last = body;
    }
    let lead_id = last["lead_id"].as_str().expect("queued").to_owned();
    let leads = backend.leads();
    let record = leads.lead(&lead_id).await.expect("read").expect("recorded");
    assert_eq!(record.state, LeadState::Queued);

    let words = "Actually, please don't share my details with anyone.";
    let (status, body) = post_turn(&app, session, words).await;
    assert_eq!(status, 200, "{body}");
    let routing = &body["revenue_optimization"]["routing_decision"];
    assert_eq!(routing["status"], "withdrawn", "{body}");
    assert_eq!(routing["lead_id"], lead_id.as_str());
    assert!(
        body["content"]
            .as_str()
            .is_some_and(|c| c.contains("won't share your details")),
        "{body}"
    );
    assert_eq!(body["next_questions"], serde_json::json!([]));

    let record = leads.lead(&lead_id).await.expect("read").expect("recorded");
    assert_eq!(record.state, LeadState::Withdrawn);
    let withdrawal = record.withdrawal.expect("withdrawal kept");
    assert_eq!(withdrawal.words, words);
    assert_eq!(withdrawal.from, Some(LeadState::Queued));

    // The homeowner's contact details are erased from the conversation.
    use aurum::ports::ConversationStore;
    let stored = backend
        .conversations()
        .load_conversation(&aurum::domain::conversation::SessionId::parse(session).expect("id"))
        .await
        .expect("load")
        .expect("saved");
    assert_eq!(
        stored.facts.contact,
        Default::default(),
        "contact details erased"
    );
    // A later message neither re-queues the lead nor undoes the withdrawal.
    let (_, body) = post_turn(&app, session, "Yes, have an installer call me").await;
    assert_eq!(
        body["revenue_optimization"]["routing_decision"]["status"],
        "withdrawn"
    );
    let again = leads.lead(&lead_id).await.expect("read").expect("recorded");
    assert_eq!(again.state, LeadState::Withdrawn);
    assert_eq!(again.version, record.version, "recorded once");
}

/// GIVEN a homeowner who gave their name and phone, WHEN they ask in the chat for their
/// data to be deleted, before the lead was queued and (another chat) after, THEN their
/// contact details are gone from the stored conversation, the reply confirms it and asks
/// nothing more, no lead is queued before / the queued lead is withdrawn after, and the
/// erasure (when, on the homeowner's request, which details) is on the conversation, the
/// lead record and the sales team's lead view, with none of the erased values anywhere.
/// Runs on any backend.
pub async fn erasure_request_through_the_chat<B: aurum::backend::Backend>(
    backend: &B,
    session: &str,
) {
    use aurum::domain::conversation::SessionId;
    use aurum::domain::erasure::{ContactField, ErasureRequester};
    use aurum::domain::lead::LeadState;
    use aurum::ports::{ConversationStore, LeadStore};
    let app = conversation_lambda(backend);
    let leads = backend.leads();
    let stored = |id: String| async move {
        backend
            .conversations()
            .load_conversation(&SessionId::parse(&id).expect("id"))
            .await
            .expect("load")
            .expect("saved")
    };
    let no_trace = |what: &str, json: &str| {
        for value in ["Maria", "Lopez", "555-0142", "5550142"] {
            assert!(!json.contains(value), "{what} still holds {value}: {json}");
        }
    };

    // Before the lead is queued: the homeowner gave their name and phone, no consent yet.
    let before = format!("{session}_before");
    for message in &QUALIFYING_CHAT[..5] {
        let (status, body) = post_turn(&app, &before, message).await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(stored(before.clone()).await.facts.contact.phone.is_some());
    let (status, body) = post_turn(&app, &before, "Please delete my data").await;
    assert_eq!(status, 200, "{body}");
    let content = body["content"].as_str().expect("content");
    assert!(
        content.contains("erased your name and phone number"),
        "{body}"
    );
    assert!(content.ends_with('.'), "{content}");
    assert_eq!(body["next_questions"], serde_json::json!([]));
    assert_eq!(body["lead_id"], Value::Null, "nothing queued");
    assert_eq!(body["lead_profile"]["contact_provided"], false);
    let c = stored(before.clone()).await;
    assert_eq!(c.facts.contact, Default::default());
    let erasure = c.contact_erased.clone().expect("erasure recorded");
    assert_eq!(erasure.requested_by, ErasureRequester::Homeowner);
    assert_eq!(erasure.fields, [ContactField::Name, ContactField::Phone]);
    no_trace(
        "the conversation",
        &serde_json::to_string(&c).expect("json"),
    );
    let unqueued = aurum::contracts::lead_id_for(&c.session_id);
    assert!(leads.lead(&unqueued).await.expect("read").is_none());
    // The agent does not ask for a way to reach them, or for consent, again.
    let (_, body) = post_turn(&app, &before, "ok, thanks").await;
    let asked = body["next_questions"].to_string() + body["content"].as_str().unwrap_or("");
    assert!(
        !asked.contains("phone") && !asked.contains("reach you") && !asked.contains("May we"),
        "{body}"
    );
    assert_eq!(body["lead_id"], Value::Null);

    // After the lead is queued (in Spanish this time).
    let after = format!("{session}_after");
    let mut last = Value::Null;
    for message in QUALIFYING_CHAT {
        let (status, body) = post_turn(&app, &after, message).await;
        assert_eq!(status, 200, "{body}");
        last = body;
    }
    let lead_id = last["lead_id"].as_str().expect("queued").to_owned();
    let (status, body) = post_turn(&app, &after, "Por favor borra mis datos").await;
    assert_eq!(status, 200, "{body}");
    let routing = &body["revenue_optimization"]["routing_decision"];
    assert_eq!(routing["status"], "withdrawn", "{body}");
    assert!(
        body["content"]
            .as_str()
            .is_some_and(|c| c.contains("erased") && c.contains("withdrawn")),
        "{body}"
    );
    assert_eq!(body["next_questions"], serde_json::json!([]));
    let c = stored(after.clone()).await;
    assert_eq!(c.facts.contact, Default::default());
    let erasure = c.contact_erased.clone().expect("erasure recorded");
    assert!(
        erasure.consent.is_some(),
        "the consent evidence is kept as proof"
    );
    no_trace(
        "the conversation",
        &serde_json::to_string(&c).expect("json"),
    );

    let record = leads.lead(&lead_id).await.expect("read").expect("recorded");
    assert_eq!(record.state, LeadState::Withdrawn);
    assert_eq!(
        record.withdrawal.as_ref().map(|w| w.words.as_str()),
        Some("Por favor borra mis datos")
    );
    let noted = record.contact_erased.clone().expect("noted on the lead");
    assert_eq!(noted.at, erasure.at);
    assert_eq!(noted.requested_by, ErasureRequester::Homeowner);
    assert!(noted.consent.is_none());
    no_trace(
        "the lead record",
        &serde_json::to_string(&record).expect("json"),
    );

    // The sales team's lead view shows that, and when.
    let dashboard = analytics::dashboard_lambda(backend);
    let (status, view) = analytics::get(&dashboard, &format!("/api/v1/leads/{lead_id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "withdrawn");
    let shown = &view["contact_erased"];
    assert_eq!(shown["requested_by"], "homeowner", "{view}");
    assert_eq!(shown["fields"], serde_json::json!(["name", "phone"]));
    let at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(shown["erased_at"].clone()).expect("a time");
    assert_eq!(at, erasure.at);
    no_trace("the lead view", &view.to_string());

    // Asked again: noted again, withdrawn once.
    let (status, _) = post_turn(&app, &after, "delete my data").await;
    assert_eq!(status, 200);
    let again = leads.lead(&lead_id).await.expect("read").expect("recorded");
    assert_eq!(again.withdrawal, record.withdrawal, "withdrawn once");
    assert!(again.contact_erased.expect("noted").at > noted.at);
}

/// The conversation Lambda's router over `backend`, as a chat frontend holds it: with the
/// token each session's first reply gave.
pub fn conversation_lambda<B: aurum::backend::Backend>(backend: &B) -> ChatApp {
    ChatApp::new(aurum::function::lambda_router::<
        aurum_conversation::Conversation,
        _,
    >(backend))
}

/// The token each session's first reply gave, as a chat frontend keeps them. Cheap to
/// clone; clones share the tokens.
#[derive(Clone, Default)]
pub struct SessionTokens(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
);

impl SessionTokens {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get(&self, session: &str) -> Option<String> {
        self.map().get(session).cloned()
    }

    /// Adds the session's token to a turn's body, unless it names one itself.
    pub fn attach(&self, session: &str, body: &mut Value) {
        if body.get("session_token").is_none()
            && let Some(token) = self.get(session)
        {
            body["session_token"] = Value::String(token);
        }
    }

    /// Keeps the token a reply gave.
    pub fn keep(&self, session: &str, reply: &Value) {
        if let Some(token) = reply["session_token"].as_str() {
            self.map().insert(session.to_owned(), token.to_owned());
        }
    }
}

/// A conversation router and the session tokens its replies gave, as a chat frontend
/// keeps them: every later turn of a session sends its token back.
#[derive(Clone)]
pub struct ChatApp {
    router: axum::Router,
    tokens: SessionTokens,
}

impl ChatApp {
    pub fn new(router: axum::Router) -> ChatApp {
        ChatApp {
            router,
            tokens: SessionTokens::default(),
        }
    }

    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// The token a session's first reply gave, if any.
    pub fn token(&self, session: &str) -> Option<String> {
        self.tokens.get(session)
    }
}

/// Sends one conversation turn straight to a router (no socket) as the business's chat
/// frontend (its key, the session's token once a reply gave one) and returns status and
/// body.
pub async fn post_turn(app: &ChatApp, session: &str, message: &str) -> (u16, Value) {
    let mut body = serde_json::json!({"session_id": session, "message": message});
    app.tokens.attach(session, &mut body);
    let (status, reply) = turn_as(&app.router, Some(FRONTEND_KEY), &body).await;
    app.tokens.keep(session, &reply);
    (status, reply)
}

/// One conversation turn straight to a router as a caller with `key` in
/// `aurum-frontend-key` (none: a homeowner's browser): status and body.
pub async fn turn_as(app: &axum::Router, key: Option<&str>, body: &Value) -> (u16, Value) {
    use tower::ServiceExt;
    let mut request =
        hyper::Request::post(CONVERSATION_ROUTE).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header(aurum::config::ChatFrontend::HEADER, key);
    }
    let request = request
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("routers are infallible");
    status_and_json(response, "POST conversation").await
}

/// The status and JSON body of a response; every answer of the API is JSON (the dashboard
/// page and its files, declared `text/…`, come back as one JSON string).
async fn status_and_json<B>(response: hyper::Response<B>, what: &str) -> (u16, Value)
where
    B: hyper::body::Body,
    B::Error: std::fmt::Debug,
{
    let status = response.status().as_u16();
    let text = response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/"));
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    if text {
        return (
            status,
            Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        );
    }
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{what} -> {status}: body is not JSON ({e}): {bytes:?}"));
    (status, body)
}
