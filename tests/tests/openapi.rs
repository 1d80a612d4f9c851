//! The OpenAPI document: the committed `docs/openapi.json` is the one the code generates,
//! it documents exactly the routes `aurum serve` answers, and its examples are real.

use aurum_tests::spawn_app;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const REGENERATE: &str = "cargo run --bin aurum -- openapi --out docs/openapi.json";
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn generated() -> Value {
    serde_json::from_str(&aurum_cli::openapi_json_pretty()).expect("the document is JSON")
}

/// Every (path, METHOD) the document describes.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .filter(|m| METHODS.contains(&m.as_str()))
                .map(move |m| (path.clone(), m))
        })
        .collect()
}

#[test]
fn committed_document_is_the_generated_one() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(aurum_cli::OPENAPI_FILE);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = aurum_cli::openapi_json_pretty();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()))
            + 1;
        panic!(
            "{} differs from the document the code generates (first at line {line}).\n\
             Regenerate it from the repository root with:\n\n    {REGENERATE}\n",
            path.display()
        );
    }
}

/// GIVEN each HTTP function's Lambda, which serves a compiled-in document, WHEN the code's
/// document of that function is generated, THEN the compiled-in one is the same.
#[test]
fn each_function_lambda_serves_the_document_its_code_generates() {
    for f in aurum_cli::http_functions() {
        let generated = (f.generated_openapi_json)();
        assert!(
            f.openapi_json == generated,
            "functions/{name}/openapi.json differs from the document the code generates.\n\
             Regenerate it from the repository root with:\n\n    \
             cargo run --bin aurum -- openapi --function {name} --out functions/{name}/openapi.json\n",
            name = f.name
        );
        let doc: Value = serde_json::from_str(f.openapi_json).expect("the document is JSON");
        let documented = documented_operations(&doc);
        for (path, method) in f.routes {
            assert!(
                documented.contains(&((*path).to_owned(), method.as_str().to_owned())),
                "{}: {method} {path} is served but not documented",
                f.name
            );
        }
    }
}

/// GIVEN the conversation function's Lambda router, WHEN `/openapi.json` is asked for,
/// THEN it answers the compiled-in document.
#[tokio::test]
async fn a_function_lambda_answers_its_compiled_in_document() {
    use aurum::function::HttpFunction;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let backend = aurum::adapters::memory::MemoryBackend::new();
    let app = aurum_tests::conversation_lambda(&backend).router();
    let request = hyper::Request::get("/openapi.json")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("routers are infallible");
    assert_eq!(response.status(), 200);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(
        std::str::from_utf8(&body).expect("utf-8"),
        aurum_conversation::Conversation::OPENAPI_JSON
    );
}

#[test]
fn document_describes_exactly_the_routes_served() {
    let documented = documented_operations(&generated());
    let served: BTreeSet<(String, String)> = aurum_cli::routes()
        .iter()
        .map(|(path, method)| ((*path).to_owned(), method.as_str().to_owned()))
        .collect();
    assert_eq!(
        documented, served,
        "the document and the routers disagree (left: documented, right: served)"
    );
}

#[tokio::test]
async fn every_documented_operation_is_answered_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let doc = generated();
    let documented = documented_operations(&doc);
    for (path, method) in &documented {
        let r = app.request(method, path, "{}").await;
        // A routed request may still be a 404 for an unknown resource (`/buyers/{buyer_id}`
        // with that literal id); only the router's own fallback means "not served".
        let unrouted =
            r.status == 405 || (r.status == 404 && r.body["error"]["message"] == "no such route");
        assert!(
            !unrouted,
            "{method} {path} is documented but answered {}: {}",
            r.status, r.body
        );
    }
    let paths: BTreeSet<&String> = documented.iter().map(|(p, _)| p).collect();
    for path in paths {
        for method in METHODS {
            if !documented.contains(&(path.clone(), method.to_owned())) {
                let r = app.request(method, path, "").await;
                assert_eq!(
                    r.status, 405,
                    "{method} {path} is not documented: {}",
                    r.body
                );
                assert_eq!(r.body["error"]["code"], "method_not_allowed");
            }
        }
    }
    let r = app.request("GET", "/api/v1/no-such-route", "").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "not_found");
    let served = app.request("GET", aurum_cli::OPENAPI_ROUTE, "").await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.body, doc,
        "aurum serve serves the generated document"
    );
    app.stop().await;
}

/// The paths of every key in a JSON value (`a.b`, `a.list[]`), to compare shapes.
fn shape(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = format!("{prefix}.{key}");
                out.insert(path.clone());
                shape(v, &path, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                shape(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn shape_of(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    shape(value, "", &mut out);
    out
}

#[tokio::test]
async fn documented_examples_are_what_the_server_accepts_and_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(dir.path()).await;
    let doc = generated();
    let route = aurum_conversation::ROUTE;
    let examples =
        doc["paths"][route]["post"]["requestBody"]["content"]["application/json"]["examples"]
            .as_object()
            .expect("request examples");
    assert!(examples.contains_key("guide_manhattan_coop"));
    let response_example = aurum_conversation::api::guide_response_example();
    let schema_examples = &doc["components"]["schemas"]["ConversationResponse"]["examples"];
    assert_eq!(schema_examples[0], response_example);
    // In document order, so the later turn continues the guide's session.
    for name in ["guide_manhattan_coop", "later_turn"] {
        let mut request = examples[name]["value"].clone();
        // The later turn's token stands for the one the first reply gave: the real one is
        // sent, and the documented one must at least have its shape.
        if let Some(documented) = request["session_token"].as_str() {
            assert!(
                documented.starts_with("st_") && documented.len() == 46,
                "{documented}"
            );
            let session = request["session_id"].as_str().unwrap_or_default();
            request["session_token"] = app
                .token(session)
                .expect("the first turn gave a token")
                .into();
        }
        let r = app.post_json(route, &request).await;
        assert_eq!(r.status, 200, "example {name}: {}", r.body);
        if name == "guide_manhattan_coop" {
            assert_eq!(
                shape_of(&r.body),
                shape_of(&response_example),
                "the response example no longer has the shape of a real response"
            );
        }
    }
    app.stop().await;
}
