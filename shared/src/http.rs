//! The HTTP edge shared by every function: one error type that owns every status code,
//! a JSON extractor whose rejections are JSON too, and the JSON 404/405 fallbacks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest request body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    Invalid(String),
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the request conflicted with a concurrent update; retry it")]
    Conflict,
    /// A change made on a version someone else has since replaced.
    #[error("{0}")]
    VersionConflict(String),
    /// A dependency failed; details are logged, never returned.
    #[error("service temporarily unavailable; retry shortly")]
    Unavailable(String),
    /// A webhook signature that did not verify; which part was wrong is never said.
    #[error("{SIGNATURE_MESSAGE}")]
    InvalidSignature,
    /// The caller is who it says, but may not do this (`code` names why).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// The resource's state does not allow the change; `current` is that state as the
    /// caller may see it.
    #[error("{message}")]
    InvalidTransition {
        current: &'static str,
        message: String,
    },
    /// A time limit passed (a return window).
    #[error("{message}")]
    Expired { code: &'static str, message: String },
    #[error("too many requests from this caller; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A body that is not declared JSON (`content-type` absent or another type).
    #[error("send the body as JSON with content-type: application/json")]
    UnsupportedMediaType,
    /// A sales-team route without the sales team's credentials.
    #[error("the sales team's routes need their credentials: Authorization: Bearer <token>")]
    Unauthorized,
}

/// What a caller whose webhook signature failed is told.
pub const SIGNATURE_MESSAGE: &str = "webhook signature could not be verified: sign \
    \"{webhook-id}.{webhook-timestamp}.{body}\" with your whsec_ secret and send webhook-id, \
    webhook-timestamp, webhook-signature and aurum-buyer-id";

/// The body of every 4xx and 5xx response.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail<'a> {
    /// Stable, machine-readable: `malformed_json`, `invalid_request`, `payload_too_large`,
    /// `not_found`, `method_not_allowed`, `conflict`, `version_conflict`, `unavailable`, `invalid_signature`,
    /// `not_your_lead`, `buyer_mismatch`, `invalid_transition`, `return_window_closed`,
    /// `session_forbidden`, `unauthorized`, `unsupported_media_type` or `rate_limited`.
    #[schema(examples("invalid_request"))]
    code: &'a str,
    /// For people; its wording may change.
    #[schema(examples("conversation_context.zip_code must be exactly 5 digits"))]
    message: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict | ApiError::VersionConflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InvalidSignature => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::InvalidTransition { .. } => StatusCode::CONFLICT,
            ApiError::Expired { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::Invalid(_) => "invalid_request",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict => "conflict",
            ApiError::VersionConflict(_) => "version_conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::InvalidSignature => "invalid_signature",
            ApiError::Forbidden { code, .. } | ApiError::Expired { code, .. } => code,
            ApiError::InvalidTransition { .. } => "invalid_transition",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unauthorized => "unauthorized",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Unavailable(detail) = &self {
            tracing::error!(error = %detail, "dependency failure");
        }
        let mut error = serde_json::json!({"code": self.code(), "message": self.to_string()});
        if let ApiError::InvalidTransition { current, .. } = &self {
            error["current_status"] = serde_json::Value::from(*current);
        }
        let mut response =
            (self.status(), Json(serde_json::json!({ "error": error }))).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}

impl From<crate::usecases::conversation::TurnError> for ApiError {
    fn from(e: crate::usecases::conversation::TurnError) -> Self {
        use crate::usecases::conversation::TurnError;
        match e {
            TurnError::Forbidden => ApiError::Forbidden {
                code: "session_forbidden",
                message: TurnError::Forbidden.to_string(),
            },
            TurnError::Store(e) => e.into(),
        }
    }
}

impl From<crate::ports::StoreError> for ApiError {
    fn from(e: crate::ports::StoreError) -> Self {
        match e {
            crate::ports::StoreError::Conflict => ApiError::Conflict,
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

/// `Json<T>` with this API's error body on every rejection.
pub struct ValidJson<T>(pub T);

impl<T, S> FromRequest<S> for ValidJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|mime| {
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::MalformedJson(e.body_text())
                }
            })?;
        parse_json(&bytes).map(ValidJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::Invalid(e.to_string()),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::MalformedJson(format!("request body is not valid JSON: {e}"))
            }
        }
    })
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Every router gets the body limit, JSON fallbacks and a panic guard.
pub fn harden<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
}

/// Last line of defence: a bug that panics still answers JSON (and is logged), and the
/// process keeps serving.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    let body = ErrorBody {
        error: ErrorDetail {
            code: "internal",
            message: "internal error".to_owned(),
        },
    };
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// Who makes a sales-team change, for the audit: the subject of the sales team's JWT (in
/// AWS, from the API Gateway authorizer's claims); `local` on `aurum serve`, whose sales
/// routes have one shared token at most. Kept to 128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Operator {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        #[cfg(feature = "aws")]
        if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
            parts
                .extensions
                .get::<lambda_http::request::RequestContext>()
            && let Some(sub) = ctx
                .authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .and_then(|jwt| jwt.claims.get("sub"))
        {
            let clean: String = sub
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(128)
                .collect();
            if !clean.is_empty() {
                return Ok(Operator(clean));
            }
        }
        #[cfg(not(feature = "aws"))]
        let _ = parts;
        Ok(Operator("local".to_owned()))
    }
}
