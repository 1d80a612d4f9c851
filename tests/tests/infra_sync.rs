//! Keeps `infra/template.yaml` in step with the code: every function crate is deployed,
//! every route a router serves is in the HTTP API, every variable the configuration reads
//! is set in Lambda (or deliberately not, for a stated reason), the tables use the code's
//! key attributes, each function writes only the partition keys its code writes, the cache
//! admits only the functions' user, and the lead queue keeps the guarantees routing relies
//! on.

use aurum::adapters::aws::dynamodb::attr;
use aurum::adapters::aws::dynamodb_keys::{KeyFamily, Table};
use aurum::adapters::aws::redis::CacheCredentials;
use aurum::config::{BackendKind, Config, VARIABLES};
use serde_norway::{Mapping, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Variables the configuration reads that Lambda deliberately does not get.
const NOT_SET_IN_LAMBDA: &[(&str, &str)] = &[
    (
        "AURUM_OUTBOUND",
        "a deployment always sends to public hosts only (the default on the aws backend)",
    ),
    (
        "AURUM_DATA_DIR",
        "directory of the embedded store; Lambda runs the aws backend",
    ),
    (
        "AURUM_LEAD_QUEUE_NAME",
        "the template gives AURUM_LEAD_QUEUE_URL, so no lookup by name",
    ),
    (
        "AURUM_LEAD_DLQ_NAME",
        "only `aurum setup` creates queues by name; the template owns the DLQ",
    ),
    (
        "AURUM_CONTACT_HASH_KEY",
        "the router reads the key from Secrets Manager (AURUM_CONTACT_HASH_KEY_SECRET) at start-up; a plain key is for local runs",
    ),
    (
        "AURUM_CACHE_ID",
        "REDIS_URL is set from the cache's endpoint, so there is nothing to discover",
    ),
];

/// Variables set in the template that the runtime, not `aurum::config`, reads.
const RUNTIME_VARIABLES: &[&str] = &["RUST_LOG"];

/// Variables only one function reads, set on it alone: (variable, function, why).
const ONLY_IN: &[(&str, &str, &str)] = &[
    (
        "AURUM_CHAT_FRONTEND_KEY_SHA256",
        "ConversationFunction",
        "only the conversation function answers the chat frontend",
    ),
    (
        "AURUM_CONTACT_HASH_KEY_SECRET",
        "RouterFunction",
        "only the router hashes contacts; it reads the key from the secret at start-up",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Access {
    /// Reachable without a sales-team token (the chat frontend, signed buyer feedback, the
    /// dashboard page, which holds no data).
    Public,
    /// Needs the sales team's JWT (the API's default authorizer).
    SalesTeam,
}

/// Routes anyone may call; every other route of the registry needs the sales team's JWT.
use aurum_cli::PUBLIC_ROUTES;

/// Every route of the function registry: (function crate directory, method, path, access).
fn served_routes() -> Vec<(&'static str, &'static str, &'static str, Access)> {
    aurum_cli::http_functions()
        .into_iter()
        .flat_map(|f| {
            f.routes.iter().map(move |(path, method)| {
                let access = if PUBLIC_ROUTES.contains(path) {
                    Access::Public
                } else {
                    Access::SalesTeam
                };
                (f.name, method.as_str(), *path, access)
            })
        })
        .collect()
}

/// Smallest factor between the lead queue's visibility timeout and its consumer's timeout.
const VISIBILITY_FACTOR: i64 = 6;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

struct Template {
    doc: Value,
}

/// `!Ref`, `!Sub`, `!GetAtt`… arrive as tagged values; the tag is only kept where a value
/// has to be resolved (`resolve`).
fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untag(&tagged.value),
        other => other,
    }
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    raw(value, key).map(untag)
}

/// Like `get`, keeping the value's tag, for `Template::resolve`.
fn raw<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    untag(value).as_mapping().and_then(|m| m.get(key))
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    get(value, key).and_then(Value::as_str)
}

fn mapping(value: &Value) -> Mapping {
    untag(value).as_mapping().cloned().unwrap_or_default()
}

impl Template {
    fn load() -> Template {
        let path = root().join("infra/template.yaml");
        let source = std::fs::read_to_string(&path).expect("read infra/template.yaml");
        Template {
            doc: serde_norway::from_str(&source).expect("infra/template.yaml is YAML"),
        }
    }

    fn resources(&self) -> Vec<(String, &Value)> {
        let resources = get(&self.doc, "Resources")
            .and_then(Value::as_mapping)
            .expect("Resources");
        resources
            .iter()
            .map(|(name, body)| (name.as_str().expect("resource name").to_owned(), body))
            .collect()
    }

    fn resource(&self, name: &str) -> &Value {
        get(&self.doc, "Resources")
            .and_then(|r| get(r, name))
            .unwrap_or_else(|| panic!("resource {name} is missing"))
    }

    fn of_type(&self, kind: &str) -> Vec<(String, &Value)> {
        self.resources()
            .into_iter()
            .filter(|(_, body)| text(body, "Type") == Some(kind))
            .collect()
    }

    fn functions(&self) -> Vec<(String, &Value)> {
        self.of_type("AWS::Serverless::Function")
    }

    fn global_function(&self) -> Option<&Value> {
        get(&self.doc, "Globals").and_then(|g| get(g, "Function"))
    }

    /// A function property (tag kept), falling back to `Globals.Function` like SAM does.
    fn property<'a>(&'a self, function: &'a Value, key: &str) -> Option<&'a Value> {
        get(function, "Properties")
            .and_then(|p| raw(p, key))
            .or_else(|| self.global_function().and_then(|g| raw(g, key)))
    }

    /// Globals' variables overlaid with the function's own.
    fn environment(&self, function: &Value) -> HashMap<String, Value> {
        let variables = |scope: Option<&Value>| {
            scope
                .and_then(|s| get(s, "Environment"))
                .and_then(|e| get(e, "Variables"))
                .map(mapping)
                .unwrap_or_default()
        };
        let mut env = HashMap::new();
        for (name, value) in variables(self.global_function())
            .into_iter()
            .chain(variables(get(function, "Properties")))
        {
            env.insert(name.as_str().expect("variable name").to_owned(), value);
        }
        env
    }

    /// A best-effort value for an intrinsic: a parameter's default, a mapping's value, a
    /// placeholder for what only exists once deployed.
    fn resolve(&self, value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                match tag.trim_start_matches('!') {
                    "Ref" => {
                        let name = tagged.value.as_str()?;
                        match get(&self.doc, "Parameters").and_then(|p| get(p, name)) {
                            Some(parameter) => {
                                get(parameter, "Default").and_then(|d| self.resolve(d))
                            }
                            None => Some(format!("{name}-deployed")),
                        }
                    }
                    // Every ${…} becomes a placeholder: enough to check a value's shape.
                    "Sub" => {
                        let mut out = String::new();
                        let mut rest = tagged.value.as_str()?;
                        while let Some(start) = rest.find("${") {
                            out.push_str(&rest[..start]);
                            let end = rest[start..].find('}')? + start;
                            out.push_str("placeholder");
                            rest = &rest[end + 1..];
                        }
                        out.push_str(rest);
                        Some(out)
                    }
                    "FindInMap" => {
                        let path = tagged.value.as_sequence()?;
                        let [map, top, second] = path.as_slice() else {
                            return None;
                        };
                        let table =
                            get(&self.doc, "Mappings").and_then(|m| get(m, map.as_str()?))?;
                        let row = get(table, &self.resolve(top)?)?;
                        self.resolve(get(row, &self.resolve(second)?)?)
                    }
                    _ => Some("placeholder".to_owned()),
                }
            }
            _ => None,
        }
    }

    fn number(&self, value: &Value) -> i64 {
        self.resolve(value)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{value:?} is not a number"))
    }
}

struct Crate {
    dir: PathBuf,
    bins: Vec<String>,
}

/// The binaries of a crate: its `[[bin]]` names, or the package name when it has none.
fn function_crates() -> Vec<Crate> {
    let mut crates = Vec::new();
    let entries = std::fs::read_dir(root().join("functions")).expect("functions/");
    for entry in entries {
        let dir = entry.expect("entry").path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let (mut section, mut package, mut bins) = (String::new(), None, Vec::new());
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
            } else if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim)
                .and_then(|l| l.strip_prefix('='))
            {
                let value = value.trim().trim_matches('"').to_owned();
                match section.as_str() {
                    "[package]" => package = Some(value),
                    "[[bin]]" => bins.push(value),
                    _ => {}
                }
            }
        }
        if bins.is_empty() {
            bins.extend(package);
        }
        crates.push(Crate {
            dir: dir.canonicalize().expect("crate dir"),
            bins,
        });
    }
    crates.sort_by(|a, b| a.dir.cmp(&b.dir));
    crates
}

/// The crate directory a function's `CodeUri` points at (relative to infra/).
fn code_dir(template: &Template, function: &Value) -> PathBuf {
    let uri = template
        .property(function, "CodeUri")
        .map(untag)
        .and_then(Value::as_str)
        .expect("every function has a local CodeUri");
    root()
        .join("infra")
        .join(uri)
        .canonicalize()
        .unwrap_or_else(|e| panic!("CodeUri {uri} does not exist: {e}"))
}

#[test]
fn every_function_crate_is_deployed_as_an_arm64_rust_function() {
    let template = Template::load();
    let crates = function_crates();
    assert!(!crates.is_empty(), "no crate under functions/");
    let functions = template.functions();

    for krate in &crates {
        let deployed: Vec<_> = functions
            .iter()
            .filter(|(_, f)| code_dir(&template, f) == krate.dir)
            .collect();
        assert!(
            !deployed.is_empty(),
            "{} has no AWS::Serverless::Function",
            krate.dir.display()
        );
        for (name, function) in deployed {
            let metadata =
                get(function, "Metadata").unwrap_or_else(|| panic!("{name}: no Metadata"));
            assert_eq!(
                text(metadata, "BuildMethod"),
                Some("rust-cargolambda"),
                "{name}"
            );
            let binary = get(metadata, "BuildProperties")
                .and_then(|p| text(p, "Binary"))
                .unwrap_or_else(|| panic!("{name}: no BuildProperties.Binary"));
            assert!(
                krate.bins.iter().any(|b| b == binary),
                "{name}: {binary} is not one of {:?}",
                krate.bins
            );
        }
    }

    for (name, function) in &functions {
        let dir = code_dir(&template, function);
        assert!(
            crates.iter().any(|c| c.dir == dir),
            "{name} deploys {}, not a function crate",
            dir.display()
        );
        let property = |key: &str| template.property(function, key).map(untag);
        assert_eq!(
            property("Runtime").and_then(Value::as_str),
            Some("provided.al2023"),
            "{name}"
        );
        assert_eq!(
            property("Handler").and_then(Value::as_str),
            Some("bootstrap"),
            "{name}"
        );
        let architectures: Vec<_> = property("Architectures")
            .and_then(Value::as_sequence)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(architectures, ["arm64"], "{name}");
        let log_format = property("LoggingConfig")
            .and_then(|l| text(l, "LogFormat"))
            .or_else(|| {
                template
                    .global_function()
                    .and_then(|g| get(g, "LoggingConfig"))
                    .and_then(|l| text(l, "LogFormat"))
            });
        assert_eq!(log_format, Some("JSON"), "{name}: logs must be JSON");
        let policies = get(function, "Properties").and_then(|p| get(p, "Policies"));
        assert!(
            policies.is_some(),
            "{name}: needs its own least-privilege policy"
        );
    }
}

/// (method, path, authorizer) of every HttpApi event, per function resource.
fn api_events(template: &Template) -> Vec<(String, PathBuf, String, String, Option<String>)> {
    let mut events = Vec::new();
    for (name, function) in template.functions() {
        let dir = code_dir(template, function);
        let all = get(function, "Properties")
            .and_then(|p| get(p, "Events"))
            .map(mapping)
            .unwrap_or_default();
        // HTTP API routes, and the REST API stage of the buyer feedback (behind its WAF).
        for event in all
            .values()
            .filter(|e| matches!(text(e, "Type"), Some("HttpApi" | "Api")))
        {
            let properties = get(event, "Properties").expect("API event properties");
            let method = text(properties, "Method")
                .expect("Method")
                .to_ascii_uppercase();
            let path = text(properties, "Path").expect("Path").to_owned();
            let authorizer = get(properties, "Auth")
                .and_then(|a| text(a, "Authorizer"))
                .map(str::to_owned);
            events.push((name.clone(), dir.clone(), method, path, authorizer));
        }
    }
    events
}

#[test]
fn every_served_route_is_in_the_http_api_with_its_access() {
    let template = Template::load();
    let events = api_events(&template);
    let functions = root().join("functions");

    for (krate, method, path, access) in served_routes() {
        let dir = functions
            .join(krate)
            .canonicalize()
            .expect("function crate");
        let event = events
            .iter()
            .find(|(_, d, m, p, _)| *d == dir && m == method && p == path)
            .unwrap_or_else(|| panic!("{method} {path} ({krate}) has no HttpApi event"));
        match access {
            Access::Public => assert_eq!(
                event.4.as_deref(),
                Some("NONE"),
                "{method} {path} must be public"
            ),
            Access::SalesTeam => assert_ne!(
                event.4.as_deref(),
                Some("NONE"),
                "{method} {path} must be protected"
            ),
        }
    }
    for (name, _, method, path, _) in &events {
        assert!(
            served_routes()
                .iter()
                .any(|(_, m, p, _)| m == method && p == path),
            "{name} declares {method} {path}, which no registered function serves (see docs/adding-a-function.md)"
        );
    }

    let (_, api) = template
        .of_type("AWS::Serverless::HttpApi")
        .into_iter()
        .next()
        .expect("an AWS::Serverless::HttpApi");
    let api = get(api, "Properties").expect("HttpApi properties");
    // The `$default` stage keeps paths unprefixed, as the axum routers expect.
    assert!(
        matches!(text(api, "StageName"), None | Some("$default")),
        "HttpApi must use the $default stage"
    );
    assert!(
        get(api, "Auth")
            .and_then(|a| text(a, "DefaultAuthorizer"))
            .is_some(),
        "routes must be protected unless marked public"
    );
    assert!(
        get(api, "DefaultRouteSettings")
            .and_then(|s| get(s, "ThrottlingRateLimit"))
            .is_some()
    );
    assert!(get(api, "CorsConfiguration").is_some());
}

/// GIVEN the template WHEN the public buyer-feedback route is deployed THEN it is on its
/// own REST API stage, and a WAF rate rule keyed by source address stands in front of
/// that stage: an unsigned flood from one address is blocked before it can use up the
/// stage's throttle, which every buyer shares.
#[test]
fn the_feedback_route_is_behind_a_per_source_address_rate_rule() {
    let template = Template::load();
    let (_, feedback) = template
        .functions()
        .into_iter()
        .find(|(name, _)| name == "FeedbackFunction")
        .expect("FeedbackFunction");
    let events = get(feedback, "Properties")
        .and_then(|p| get(p, "Events"))
        .map(mapping)
        .unwrap_or_default();
    let post = events
        .values()
        .find(|e| {
            get(e, "Properties").and_then(|p| text(p, "Path"))
                == Some("/api/v1/revenue/buyer-feedback")
        })
        .expect("the buyer-feedback event");
    assert_eq!(text(post, "Type"), Some("Api"), "a REST API event");
    let api = get(post, "Properties")
        .and_then(|p| get(p, "RestApiId"))
        .and_then(Value::as_str)
        .expect("RestApiId: !Ref <api>");
    let rest = template.resource(api);
    assert_eq!(text(rest, "Type"), Some("AWS::Serverless::Api"));
    let stage = get(rest, "Properties")
        .and_then(|p| text(p, "StageName"))
        .expect("StageName");

    let (acl_name, acl) = template
        .of_type("AWS::WAFv2::WebACL")
        .into_iter()
        .next()
        .expect("a WebACL");
    let acl_properties = get(acl, "Properties").expect("WebACL properties");
    assert_eq!(text(acl_properties, "Scope"), Some("REGIONAL"));
    let rules = get(acl_properties, "Rules")
        .and_then(Value::as_sequence)
        .expect("rules");
    let rate = rules
        .iter()
        .filter_map(|r| get(r, "Statement").and_then(|s| get(s, "RateBasedStatement")))
        .next()
        .expect("a rate-based rule");
    assert_eq!(text(rate, "AggregateKeyType"), Some("IP"));
    assert!(get(rate, "Limit").is_some());

    let associations = template.of_type("AWS::WAFv2::WebACLAssociation");
    let association = associations
        .iter()
        .map(|(_, a)| get(a, "Properties").expect("association properties"))
        .find(|p| {
            get(p, "WebACLArn")
                .and_then(Value::as_sequence)
                .and_then(|s| s.first())
                .and_then(Value::as_str)
                .or_else(|| get(p, "WebACLArn").and_then(Value::as_str))
                .is_some_and(|arn| arn.starts_with(&acl_name))
        })
        .expect("the WebACL is associated");
    let arn = text(association, "ResourceArn").expect("ResourceArn");
    assert!(
        arn.contains(&format!("/restapis/${{{api}}}/stages/{stage}")),
        "{arn}"
    );
}

/// GIVEN the template WHEN a queue-fed function's concurrency is reserved THEN the
/// reservation can never be below its event source's maximum concurrency (the queue would
/// drive the function into its own throttle).
#[test]
fn a_reserved_concurrency_never_throttles_an_event_source_below_its_maximum() {
    let template = Template::load();
    let mut checked = 0;
    for (name, function) in template.functions() {
        let Some(events) = template.property(function, "Events") else {
            continue;
        };
        let Value::Mapping(events) = untag(events) else {
            continue;
        };
        for event in events.values() {
            let Some(maximum) = get(event, "Properties")
                .and_then(|p| get(p, "ScalingConfig"))
                .and_then(|c| get(c, "MaximumConcurrency"))
            else {
                continue;
            };
            let maximum = template.number(maximum);
            let reserved = template
                .property(function, "ReservedConcurrentExecutions")
                .unwrap_or_else(|| panic!("{name}: no reserved concurrency setting"));
            // `!If [condition, !Ref Parameter, !Ref AWS::NoValue]`: the parameter's floor.
            let name_of = |v: &Value| untag(v).as_str().map(str::to_owned);
            let parameter_name = match untag(reserved) {
                Value::Sequence(branches) => branches.get(1).and_then(name_of),
                other => name_of(other),
            }
            .unwrap_or_else(|| panic!("{name}: reserved concurrency from no parameter"));
            let parameter = get(&template.doc, "Parameters")
                .and_then(|p| get(p, &parameter_name))
                .unwrap_or_else(|| panic!("{name}: no parameter {parameter_name}"));
            let floor = get(parameter, "MinValue").map_or(0, |m| template.number(m));
            assert!(
                floor >= maximum,
                "{name}: reserved concurrency may be {floor}, below its event source's {maximum}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "the router's lead queue is checked");
}

/// Every statement of a function's inline policies, as YAML text (tags kept).
fn statements(template: &Template, function: &Value) -> Vec<String> {
    let Some(Value::Sequence(policies)) = template.property(function, "Policies") else {
        return Vec::new();
    };
    policies
        .iter()
        .filter_map(|p| get(p, "Statement"))
        .filter_map(|s| match s {
            Value::Sequence(items) => Some(items.clone()),
            _ => None,
        })
        .flatten()
        .map(|s| serde_norway::to_string(&s).expect("yaml"))
        .collect()
}

/// GIVEN the template WHEN a function may write to the buyers table THEN either it is the
/// sales console (the dashboard function), whose writes are limited to the profiles and
/// the audit, or it is denied every write to a buyer's profile, where the webhook URL and
/// the signing secret live, and to the audit.
#[test]
fn only_the_console_may_write_a_buyers_profile() {
    let template = Template::load();
    let writes = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];
    let mut writers = Vec::new();
    for (name, function) in template.functions() {
        let all = statements(&template, function);
        let writes_buyers = all.iter().any(|s| {
            s.contains("Effect: Allow")
                && s.contains("BuyersTable")
                && writes.iter().any(|w| s.contains(&format!("dynamodb:{w}")))
        });
        if !writes_buyers {
            continue;
        }
        writers.push(name.clone());
        if name == "DashboardFunction" {
            let limited = all.iter().all(|s| {
                !(s.contains("Effect: Allow") && s.contains("BuyersTable") && s.contains("PutItem"))
                    || (s.contains("dynamodb:LeadingKeys")
                        && s.contains("profile")
                        && s.contains("audit")
                        && !s.contains("'*'"))
            });
            assert!(limited, "the console writes profiles and the audit only");
            continue;
        }
        let denied = all.iter().any(|s| {
            s.contains("Effect: Deny")
                && s.contains("BuyersTable")
                && s.contains("dynamodb:LeadingKeys")
                && s.contains("profile")
                && s.contains("audit")
                && writes.iter().all(|w| s.contains(&format!("dynamodb:{w}")))
                && s.contains("dynamodb:TransactWriteItems")
        });
        assert!(denied, "{name} may write buyer profiles or the audit");
    }
    assert!(
        writers.iter().any(|w| w == "RouterFunction"),
        "the router writes counters: {writers:?}"
    );
    assert!(
        writers.iter().any(|w| w == "DashboardFunction"),
        "the console writes profiles: {writers:?}"
    );
}

#[test]
fn every_configuration_variable_is_set_in_lambda_or_knowingly_not() {
    let template = Template::load();
    let known: BTreeSet<&str> = VARIABLES.iter().copied().collect();
    for (name, reason) in NOT_SET_IN_LAMBDA {
        assert!(
            known.contains(name),
            "{name} is exempted ({reason}) but the configuration no longer reads it"
        );
    }
    let exempt: BTreeSet<&str> = NOT_SET_IN_LAMBDA.iter().map(|(n, _)| *n).collect();

    for (function_name, function) in template.functions() {
        let env = template.environment(function);
        for variable in VARIABLES {
            if let Some((_, owner, why)) = ONLY_IN.iter().find(|(v, _, _)| v == variable) {
                assert_eq!(
                    env.contains_key(*variable),
                    function_name == *owner,
                    "{variable} is set on {owner} alone ({why}); {function_name} differs"
                );
            } else if exempt.contains(variable) {
                assert!(
                    !env.contains_key(*variable),
                    "{function_name} sets {variable}, listed as not set in Lambda"
                );
            } else {
                assert!(
                    env.contains_key(*variable),
                    "{function_name} does not set {variable}"
                );
            }
        }
        for variable in env.keys() {
            assert!(
                known.contains(variable.as_str()) || RUNTIME_VARIABLES.contains(&variable.as_str()),
                "{function_name} sets {variable}, which nothing reads"
            );
        }
        // With the parameters' defaults, the configuration must start, on the AWS backend.
        let resolved: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    template
                        .resolve(v)
                        .unwrap_or_else(|| panic!("{k}: cannot resolve {v:?}")),
                )
            })
            .collect();
        let config = Config::from_vars(&resolved, BackendKind::Embedded)
            .unwrap_or_else(|e| panic!("{function_name}: the template's values are rejected: {e}"));
        assert_eq!(
            config.backend,
            BackendKind::Aws,
            "{function_name} must run on the aws backend"
        );
    }
}

#[test]
fn tables_use_the_attribute_names_of_the_code() {
    let template = Template::load();
    let keys = |resource: &str| {
        let properties = get(template.resource(resource), "Properties").expect("table properties");
        let schema = get(properties, "KeySchema")
            .and_then(Value::as_sequence)
            .expect("KeySchema");
        let keys: Vec<(String, String)> = schema
            .iter()
            .map(|k| {
                let name = text(k, "AttributeName").expect("AttributeName").to_owned();
                (name, text(k, "KeyType").expect("KeyType").to_owned())
            })
            .collect();
        let ttl = get(properties, "TimeToLiveSpecification")
            .and_then(|t| text(t, "AttributeName"))
            .map(str::to_owned);
        assert_eq!(
            text(properties, "BillingMode"),
            Some("PAY_PER_REQUEST"),
            "{resource}"
        );
        let pitr = get(properties, "PointInTimeRecoverySpecification")
            .and_then(|p| get(p, "PointInTimeRecoveryEnabled"))
            .and_then(Value::as_bool);
        assert_eq!(pitr, Some(true), "{resource}: point-in-time recovery");
        let sse = get(properties, "SSESpecification")
            .and_then(|s| get(s, "SSEEnabled"))
            .and_then(Value::as_bool);
        assert_eq!(sse, Some(true), "{resource}: encryption");
        (keys, ttl)
    };
    let pair = |name: &str, kind: &str| (name.to_owned(), kind.to_owned());

    let (conversation_keys, conversation_ttl) = keys("ConversationsTable");
    assert_eq!(conversation_keys, [pair(attr::SESSION_ID, "HASH")]);
    assert_eq!(conversation_ttl.as_deref(), Some(attr::EXPIRES_AT));
    let (model_keys, _) = keys("ModelsTable");
    assert_eq!(
        model_keys,
        [pair(attr::MODEL_KIND, "HASH"), pair(attr::VERSION, "RANGE")]
    );
    let (lead_keys, lead_ttl) = keys("LeadsTable");
    assert_eq!(lead_keys, [pair(attr::LEAD_ID, "HASH")]);
    // Only contact claims carry the attribute; lead records never expire.
    assert_eq!(lead_ttl.as_deref(), Some(attr::EXPIRES_AT));
    let (buyer_keys, buyer_ttl) = keys("BuyersTable");
    assert_eq!(
        buyer_keys,
        [pair(attr::PK, "HASH"), pair(attr::SK, "RANGE")]
    );
    assert_eq!(buyer_ttl.as_deref(), Some(attr::EXPIRES_AT));
    let (ledger_keys, ledger_ttl) = keys("LedgerTable");
    assert_eq!(
        ledger_keys,
        [pair(attr::LEAD_ID, "HASH"), pair(attr::ENTRY_ID, "RANGE")]
    );
    assert_eq!(ledger_ttl, None, "the ledger is never expired");
    let (feedback_keys, feedback_ttl) = keys("FeedbackTable");
    assert_eq!(
        feedback_keys,
        [pair(attr::PK, "HASH"), pair(attr::SK, "RANGE")]
    );
    assert_eq!(
        feedback_ttl, None,
        "feedback carries credits: never expired"
    );
    // The buyer statements' index, with the attribute names the adapter writes.
    let ledger = get(template.resource("LedgerTable"), "Properties").expect("ledger");
    let indexes = get(ledger, "GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .expect("ledger indexes");
    let by_month = indexes
        .iter()
        .find(|i| {
            text(i, "IndexName") == Some(aurum::adapters::aws::dynamodb::LEDGER_BY_BUYER_MONTH)
        })
        .expect("the buyer-month index");
    let index_keys: Vec<(String, String)> = get(by_month, "KeySchema")
        .and_then(Value::as_sequence)
        .expect("index keys")
        .iter()
        .map(|k| {
            (
                text(k, "AttributeName").expect("name").to_owned(),
                text(k, "KeyType").expect("type").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        index_keys,
        [
            pair(attr::BUYER_MONTH, "HASH"),
            pair(attr::LINE_AT, "RANGE")
        ]
    );
}

#[test]
fn the_lead_queue_keeps_routing_safe() {
    let template = Template::load();
    let queue = get(template.resource("LeadQueue"), "Properties").expect("LeadQueue properties");
    let dlq = get(template.resource("LeadDeadLetterQueue"), "Properties").expect("DLQ properties");
    for (name, q) in [("LeadQueue", queue), ("LeadDeadLetterQueue", dlq)] {
        assert_eq!(
            get(q, "FifoQueue").and_then(Value::as_bool),
            Some(true),
            "{name} is FIFO"
        );
    }
    // The publisher deduplicates by lead id; content-based dedup would hide that contract.
    assert_eq!(
        get(queue, "ContentBasedDeduplication").and_then(Value::as_bool),
        Some(false)
    );
    let redrive = get(queue, "RedrivePolicy").expect("RedrivePolicy");
    assert_eq!(
        template.number(raw(redrive, "maxReceiveCount").expect("maxReceiveCount")),
        5
    );

    let visibility = template.number(raw(queue, "VisibilityTimeout").expect("VisibilityTimeout"));
    let settings = get(&template.doc, "Mappings")
        .and_then(|m| get(m, "LeadQueue"))
        .and_then(|m| get(m, "Settings"))
        .expect("Mappings.LeadQueue.Settings");
    let planned =
        template.number(raw(settings, "RouterTimeoutSeconds").expect("RouterTimeoutSeconds"));
    assert!(
        visibility >= VISIBILITY_FACTOR * planned,
        "visibility {visibility}s < 6 × router timeout {planned}s"
    );

    // Every consumer of the queue: timeout within the visibility budget, partial batch
    // failures reported, batch size and concurrency bounded.
    for (name, function) in template.functions() {
        let events = get(function, "Properties")
            .and_then(|p| get(p, "Events"))
            .map(mapping)
            .unwrap_or_default();
        for event in events.values().filter(|e| text(e, "Type") == Some("SQS")) {
            let properties = get(event, "Properties").expect("SQS event properties");
            let timeout = template.number(template.property(function, "Timeout").expect("Timeout"));
            assert!(
                visibility >= VISIBILITY_FACTOR * timeout,
                "{name}: timeout {timeout}s too long for the queue"
            );
            let responses: Vec<_> = get(properties, "FunctionResponseTypes")
                .and_then(Value::as_sequence)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert!(
                responses.contains(&"ReportBatchItemFailures"),
                "{name}: ReportBatchItemFailures"
            );
            assert!(get(properties, "BatchSize").is_some(), "{name}: BatchSize");
            let concurrency =
                get(properties, "ScalingConfig").and_then(|s| get(s, "MaximumConcurrency"));
            assert!(
                concurrency.is_some(),
                "{name}: ScalingConfig.MaximumConcurrency"
            );
        }
    }
}

#[test]
fn the_lambda_binaries_link_only_the_aws_backend() {
    // GIVEN the dependency graph of each function crate's own build (no dev-dependencies)
    for krate in function_crates() {
        let manifest = krate.dir.join("Cargo.toml");
        let out = std::process::Command::new(env!("CARGO"))
            .args([
                "tree",
                "--offline",
                "--locked",
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .output()
            .expect("cargo tree runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tree = String::from_utf8_lossy(&out.stdout);
        // THEN neither the embedded database, the cache lookup's ElastiCache client nor a
        // second crypto library is in it
        for local_only in ["redb ", "tempfile ", "aws-sdk-elasticache ", "aws-lc-rs "] {
            assert!(
                !tree.lines().any(|l| l.starts_with(local_only)),
                "{}: links {local_only}",
                manifest.display()
            );
        }
        assert!(tree.lines().any(|l| l.starts_with("aws-sdk-dynamodb ")));
    }
}

/// The kinds of item each function's code writes (the adapters' key builders give each
/// kind's keys: `KeyFamily::examples`). The buyers' profiles are written by `aurum import`
/// alone, never by a function.
const WRITES: &[(&str, &[KeyFamily])] = &[
    (
        "ConversationFunction",
        &[
            KeyFamily::Session,
            KeyFamily::LeadRecord,
            KeyFamily::CounterShard,
        ],
    ),
    (
        "RouterFunction",
        &[
            KeyFamily::LeadRecord,
            KeyFamily::ContactClaim,
            KeyFamily::BuyerCounters,
            KeyFamily::LedgerLine,
            KeyFamily::ArrivalRecord,
            KeyFamily::CounterShard,
        ],
    ),
    (
        "DashboardFunction",
        &[
            KeyFamily::SealedDay,
            KeyFamily::BuyerProfile,
            KeyFamily::AuditEntry,
            KeyFamily::LeadRecord,
            KeyFamily::ModelVersion,
            KeyFamily::ModelPointer,
            KeyFamily::ModelRecord,
            KeyFamily::ExperimentsRecord,
        ],
    ),
    (
        "FeedbackFunction",
        &[
            KeyFamily::LeadRecord,
            KeyFamily::LedgerLine,
            KeyFamily::FeedbackRecord,
            KeyFamily::FeedbackMessage,
            KeyFamily::FeedbackTally,
            KeyFamily::FeedbackMonth,
            KeyFamily::TrainingExamples,
            KeyFamily::CounterShard,
        ],
    ),
    (
        "JobsFunction",
        &[
            KeyFamily::JobClaim,
            KeyFamily::RunRecord,
            KeyFamily::ModelRecord,
            KeyFamily::KpiRecord,
            KeyFamily::RoutingRecord,
            KeyFamily::RulesRecord,
            KeyFamily::ExperimentsRecord,
            KeyFamily::ModelVersion,
            KeyFamily::ModelPointer,
            KeyFamily::LeadRecord,
            KeyFamily::ContactClaim,
            KeyFamily::BuyerCounters,
            KeyFamily::LedgerLine,
            KeyFamily::CounterShard,
            KeyFamily::SealedDay,
        ],
    ),
];

/// The template's resource of a table.
fn table_resource(table: Table) -> &'static str {
    match table {
        Table::Conversations => "ConversationsTable",
        Table::Models => "ModelsTable",
        Table::Leads => "LeadsTable",
        Table::Buyers => "BuyersTable",
        Table::Ledger => "LedgerTable",
        Table::Feedback => "FeedbackTable",
        Table::Metrics => "MetricsTable",
        Table::Jobs => "JobsTable",
    }
}

/// Every statement of a function's inline policies.
fn statement_values(template: &Template, function: &Value) -> Vec<Value> {
    let Some(Value::Sequence(policies)) = template.property(function, "Policies").map(untag) else {
        return Vec::new();
    };
    policies
        .iter()
        .filter_map(|p| get(p, "Statement").and_then(Value::as_sequence))
        .flatten()
        .cloned()
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value.map(untag) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| untag(i).as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// IAM's `StringLike`: `*` any run of characters, `?` any one.
fn string_like(pattern: &str, key: &str) -> bool {
    fn go(p: &[u8], k: &[u8]) -> bool {
        match (p.first(), k.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], k) || (!k.is_empty() && go(p, &k[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &k[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &k[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), key.as_bytes())
}

/// A statement's `dynamodb:LeadingKeys` condition: (operator, patterns).
fn leading_keys(statement: &Value) -> Option<(String, Vec<String>)> {
    let condition = get(statement, "Condition").map(mapping)?;
    condition.iter().find_map(|(operator, keys)| {
        let patterns = strings(get(keys, "dynamodb:LeadingKeys"));
        (!patterns.is_empty()).then(|| (operator.as_str().unwrap_or_default().to_owned(), patterns))
    })
}

/// Whether a condition's patterns take `key` under its operator.
fn names_key((operator, patterns): &(String, Vec<String>), key: &str) -> bool {
    let like = operator.ends_with("StringLike");
    patterns
        .iter()
        .any(|p| if like { string_like(p, key) } else { p == key })
}

const ITEM_WRITES: [&str; 5] = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
];

/// GIVEN the template WHEN a function may write a DynamoDB table THEN the statement names the
/// partition keys it may write (`dynamodb:LeadingKeys`), and of every kind of item the
/// tables hold, exactly those its code writes are writable.
#[test]
fn every_dynamodb_write_is_limited_to_the_keys_its_function_writes() {
    let template = Template::load();
    let declared: HashMap<&str, &[KeyFamily]> = WRITES.iter().copied().collect();
    let functions = template.functions();
    for (name, _) in WRITES {
        assert!(
            functions.iter().any(|(f, _)| f == name),
            "{name} is not in the template"
        );
    }
    for (name, function) in &functions {
        let mut allowed: Vec<(String, (String, Vec<String>))> = Vec::new();
        let mut denied: Vec<(String, (String, Vec<String>))> = Vec::new();
        for statement in statement_values(&template, function) {
            let sid = text(&statement, "Sid").unwrap_or("(no Sid)").to_owned();
            let actions = strings(get(&statement, "Action"));
            assert!(
                !actions
                    .iter()
                    .any(|a| a == "*" || a == "dynamodb:*" || a.starts_with("dynamodb:*")),
                "{name}/{sid}: DynamoDB actions by wildcard"
            );
            if !actions.iter().any(|a| ITEM_WRITES.contains(&a.as_str())) {
                continue;
            }
            let resources = strings(get(&statement, "Resource"));
            let [resource] = resources.as_slice() else {
                panic!("{name}/{sid}: a write statement names one table: {resources:?}");
            };
            let table = resource
                .strip_suffix(".Arn")
                .unwrap_or_else(|| panic!("{name}/{sid}: {resource} is not a table's ARN"))
                .to_owned();
            let condition = leading_keys(&statement).unwrap_or_else(|| {
                panic!("{name}/{sid} writes {table} without a dynamodb:LeadingKeys condition")
            });
            match text(&statement, "Effect") {
                Some("Allow") => {
                    assert!(
                        matches!(
                            condition.0.as_str(),
                            "ForAllValues:StringLike" | "ForAllValues:StringEquals"
                        ),
                        "{name}/{sid}: an allowed write holds for all its keys (ForAllValues), not {}",
                        condition.0
                    );
                    allowed.push((table, condition));
                }
                Some("Deny") => {
                    assert!(
                        condition.0.starts_with("ForAnyValue:"),
                        "{name}/{sid}: a denied write holds for any of its keys (ForAnyValue)"
                    );
                    denied.push((table, condition));
                }
                other => panic!("{name}/{sid}: effect {other:?}"),
            }
        }
        let writes = declared
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{name}: the kinds of item it writes are not declared"));
        for family in KeyFamily::ALL {
            let table = table_resource(family.table());
            for key in family.examples() {
                let may = allowed
                    .iter()
                    .any(|(t, c)| t == table && names_key(c, &key))
                    && !denied.iter().any(|(t, c)| t == table && names_key(c, &key));
                assert_eq!(
                    may,
                    writes.contains(&family),
                    "{name}: {family:?} items ({key}) of {table} are {} but the code {}",
                    if may { "writable" } else { "not writable" },
                    if writes.contains(&family) {
                        "writes them"
                    } else {
                        "never does"
                    }
                );
            }
        }
    }
    // AND every kind of item has a writer; the buyers' profiles only the console (and
    // `aurum buyers import`, outside the functions)
    for family in KeyFamily::ALL {
        let writers: Vec<&str> = WRITES
            .iter()
            .filter(|(_, w)| w.contains(&family))
            .map(|(name, _)| *name)
            .collect();
        assert!(!writers.is_empty(), "{family:?}: no function writes it");
        if family == KeyFamily::BuyerProfile {
            assert_eq!(
                writers,
                ["DashboardFunction"],
                "only the console writes profiles"
            );
        }
    }
}

/// GIVEN the template THEN the cache admits only the functions' user, whose password is
/// generated into a secret in the shape the code reads, over TLS; every function that is
/// given the cache gets that secret's id and may read it (and nothing else of the kind).
#[test]
fn the_cache_admits_only_the_functions_user_with_the_secrets_password() {
    let template = Template::load();
    let cache = get(template.resource("Cache"), "Properties").expect("Cache properties");
    let group_name = text(cache, "UserGroupId").expect("the cache has a user group");
    let group = template.resource(group_name);
    assert_eq!(text(group, "Type"), Some("AWS::ElastiCache::UserGroup"));
    let group = get(group, "Properties").expect("group properties");
    assert_eq!(text(group, "Engine"), text(cache, "Engine"));
    let mut enabled = Vec::new();
    for user_name in strings(get(group, "UserIds")) {
        let user = get(template.resource(&user_name), "Properties").expect("user properties");
        let access = text(user, "AccessString").expect("AccessString");
        if access.split_whitespace().next() == Some("off") {
            continue;
        }
        enabled.push((user_name, user));
    }
    let [(user_name, user)] = enabled.as_slice() else {
        panic!(
            "one user may connect: {:?}",
            enabled.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
    };
    let mode = get(user, "AuthenticationMode").expect("AuthenticationMode");
    assert_eq!(text(mode, "Type"), Some("password"), "{user_name}");
    let passwords = strings(get(mode, "Passwords"));
    let [password] = passwords.as_slice() else {
        panic!("{user_name}: one password");
    };
    let secret_name = password
        .strip_prefix("{{resolve:secretsmanager:${")
        .and_then(|rest| rest.strip_suffix("}:SecretString:password}}"))
        .unwrap_or_else(|| {
            panic!("{user_name}: the password is the secret's `password`: {password}")
        });
    let secret = template.resource(secret_name);
    assert_eq!(text(secret, "Type"), Some("AWS::SecretsManager::Secret"));
    let generated = get(secret, "Properties")
        .and_then(|p| get(p, "GenerateSecretString"))
        .expect("the password is generated");
    assert_eq!(text(generated, "GenerateStringKey"), Some("password"));
    // The secret's value, as the functions will read it, names the user.
    let shape: serde_json::Value = serde_json::from_str(
        text(generated, "SecretStringTemplate").expect("SecretStringTemplate"),
    )
    .expect("the secret's template is JSON");
    assert_eq!(
        shape.get("username").and_then(|u| u.as_str()),
        text(user, "UserName"),
        "the secret names the cache user"
    );
    let mut value = shape.clone();
    value["password"] = serde_json::Value::from("a-generated-password");
    let credentials = CacheCredentials::from_secret(&value.to_string())
        .expect("the code reads the secret's shape");
    assert_eq!(Some(credentials.username.as_str()), text(user, "UserName"));

    for (name, function) in template.functions() {
        let env = template.environment(function);
        let Some(url) = env.get("REDIS_URL") else {
            continue;
        };
        let url = template.resolve(url).expect("REDIS_URL");
        assert!(
            url.starts_with("rediss://"),
            "{name}: REDIS_URL over TLS: {url}"
        );
        assert_eq!(
            env.get("AURUM_CACHE_AUTH_SECRET")
                .map(untag)
                .and_then(Value::as_str),
            Some(secret_name),
            "{name}: AURUM_CACHE_AUTH_SECRET names the cache user's secret"
        );
        let reads = statement_values(&template, function).into_iter().any(|s| {
            text(&s, "Effect") == Some("Allow")
                && strings(get(&s, "Action")) == ["secretsmanager:GetSecretValue"]
                && strings(get(&s, "Resource")) == [secret_name]
        });
        assert!(reads, "{name} may not read the cache user's secret");
    }
}

/// GIVEN the template WHEN a route of the sales console is called THEN API Gateway asks the
/// sales team's JWT for the `aurum/read` scope to read and `aurum/admin` to change.
#[test]
fn the_console_reads_need_the_read_scope_and_its_changes_the_admin_scope() {
    let template = Template::load();
    let mut seen = 0;
    for (_, function) in template.functions() {
        let events = get(function, "Properties")
            .and_then(|p| get(p, "Events"))
            .map(mapping)
            .unwrap_or_default();
        for event in events.values() {
            let Some(properties) = get(event, "Properties") else {
                continue;
            };
            let path = text(properties, "Path").unwrap_or_default();
            if !path.starts_with("/api/v1/admin/") {
                continue;
            }
            seen += 1;
            let method = text(properties, "Method")
                .unwrap_or_default()
                .to_ascii_uppercase();
            let auth = get(properties, "Auth").expect("a console route names its authorizer");
            assert_eq!(
                text(auth, "Authorizer"),
                Some("SalesTeamJwt"),
                "{method} {path}"
            );
            let scopes = strings(get(auth, "AuthorizationScopes"));
            let want = if method == "GET" {
                "aurum/read"
            } else {
                "aurum/admin"
            };
            assert_eq!(scopes, [want], "{method} {path}");
        }
    }
    assert_eq!(
        seen,
        aurum_cli::routes()
            .iter()
            .filter(|(p, _)| p.starts_with("/api/v1/admin/"))
            .count(),
        "every console route has its event"
    );
}
