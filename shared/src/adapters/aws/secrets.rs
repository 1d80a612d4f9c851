//! Reading one Secrets Manager secret at start-up (the contact-hash key, the cache's
//! credentials): a `GetSecretValue` call signed with the SDK's own SigV4 signer and sent
//! over the HTTPS stack every function already links. The Secrets Manager SDK client would
//! add its whole operation set and endpoint rules to every zip for this one call.

use aws_sdk_dynamodb::config::ProvideCredentials;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, SystemTime};

/// The whole call, connection and retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// A secret's value is at most 64 KiB; an answer past that is not Secrets Manager's.
const MAX_ANSWER_BYTES: usize = 128 * 1024;

/// A secret's string: never printed.
pub struct SecretText(String);

impl SecretText {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(…)")
    }
}

/// Why a secret could not be read; never carries the secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no region configured (AWS_REGION)")]
    NoRegion,
    #[error("no credentials configured: {0}")]
    NoCredentials(String),
    #[error("request could not be built or signed: {0}")]
    Request(String),
    #[error("Secrets Manager not reachable: {0}")]
    Unreachable(String),
    #[error("Secrets Manager refused: HTTP {status} {kind}")]
    Refused { status: u16, kind: String },
    #[error("the secret has no string value")]
    NotAString,
}

#[derive(serde::Deserialize)]
struct Answer {
    #[serde(rename = "SecretString")]
    secret_string: Option<String>,
}

#[derive(serde::Deserialize)]
struct Failure {
    #[serde(rename = "__type", default)]
    kind: String,
}

/// The string value of the secret `secret_id` (a name or an ARN), from the endpoint of
/// `sdk` (`AWS_ENDPOINT_URL`, moto locally) or the region's Secrets Manager endpoint.
pub async fn secret_string(
    sdk: &aws_config::SdkConfig,
    secret_id: &str,
) -> Result<SecretText, SecretError> {
    tokio::time::timeout(CALL_TIMEOUT, call(sdk, secret_id))
        .await
        .map_err(|_| {
            SecretError::Unreachable(format!("no answer within {} s", CALL_TIMEOUT.as_secs()))
        })?
}

async fn call(sdk: &aws_config::SdkConfig, secret_id: &str) -> Result<SecretText, SecretError> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let region = sdk.region().ok_or(SecretError::NoRegion)?.to_string();
    let endpoint = match sdk.endpoint_url() {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("https://secretsmanager.{region}.amazonaws.com"),
    };
    let credentials = sdk
        .credentials_provider()
        .ok_or_else(|| SecretError::NoCredentials("no credentials provider".into()))?
        .provide_credentials()
        .await
        .map_err(|e| SecretError::NoCredentials(super::error_chain(&e)))?;
    let body = serde_json::to_vec(&serde_json::json!({ "SecretId": secret_id }))
        .map_err(|e| SecretError::Request(e.to_string()))?;
    let mut request = hyper::Request::post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "secretsmanager.GetSecretValue")
        .body(Full::new(Bytes::from(body.clone())))
        .map_err(|e| SecretError::Request(e.to_string()))?;
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| SecretError::Request("the endpoint has no host".into()))?;
    request.headers_mut().insert(
        "host",
        host.parse().map_err(|_| {
            SecretError::Request("the endpoint's host is not a header value".into())
        })?,
    );
    let identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("secretsmanager")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SecretError::Request(e.to_string()))?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let uri = request.uri().to_string();
    let signable =
        SignableRequest::new("POST", uri, headers.into_iter(), SignableBody::Bytes(&body))
            .map_err(|e| SecretError::Request(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| SecretError::Request(e.to_string()))?
        .into_parts();
    instructions.apply_to_request_http1x(&mut request);

    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| SecretError::Request(format!("root certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let response = client
        .request(request)
        .await
        .map_err(|e| SecretError::Unreachable(super::error_chain(&e)))?;
    let status = response.status();
    let bytes = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| SecretError::Unreachable(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        // The error's type only: its message may quote the request.
        let kind = serde_json::from_slice::<Failure>(&bytes)
            .map(|f| f.kind.rsplit('#').next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        return Err(SecretError::Refused {
            status: status.as_u16(),
            kind,
        });
    }
    serde_json::from_slice::<Answer>(&bytes)
        .ok()
        .and_then(|a| a.secret_string)
        .map(SecretText)
        .ok_or(SecretError::NotAString)
}
