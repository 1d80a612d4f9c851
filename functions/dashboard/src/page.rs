//! The dashboard page, `GET /dashboard`: one HTML page, its stylesheet and script, and the
//! vendored charting library (uPlot, MIT, `assets/vendor/uplot/`), all compiled into the
//! function. The page is public (it holds no data); it reads the sales team's API on the
//! same origin, so the Content-Security-Policy allows nothing but this origin: no CDN, no
//! inline script or style, no frames.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

pub const PAGE_ROUTE: &str = "/dashboard";
/// The sales console: buyers, their secrets and the audit.
pub const CONSOLE_ROUTE: &str = "/console";
pub const ASSET_ROUTE: &str = "/dashboard/assets/{file}";

/// Nothing but this origin; scripts and styles only from files (uPlot positions its
/// elements through the CSSOM, which `style-src` does not restrict).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = include_str!("../assets/dashboard.html");
const CONSOLE: &str = include_str!("../assets/console.html");

/// Every asset the page loads: (file name, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/dashboard.css"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/dashboard.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/console.js"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/uplot/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/vendor/uplot/uPlot.min.css"),
    ),
    (
        "uPlot.LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/vendor/uplot/LICENSE"),
    ),
];

/// The page's routes (merged into the dashboard function's router).
pub fn router() -> Router {
    Router::new()
        .route(PAGE_ROUTE, get(page))
        .route(CONSOLE_ROUTE, get(console))
        .route(ASSET_ROUTE, get(asset))
}

fn secured(mut response: Response, cache: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The revenue dashboard
///
/// An HTML page for the sales team: KPI tiles, revenue trend, revenue by hour and weekday,
/// tier distribution, top buyers, the forecast with its interval, alerts, the buyer table
/// and each recent sale's routing trace. It loads only its own assets and reads the API
/// above on the same origin (with the sales team's token), refreshing every 15 seconds.
#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "dashboard",
    operation_id = "dashboard_page",
    responses((status = 200, description = "The page", content_type = "text/html", body = String))
)]
async fn page() -> Response {
    secured(
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response(),
        "no-cache",
    )
}

/// The sales console
///
/// An HTML page for the sales team: every buyer with its terms, standing and delivery
/// health; create and edit buyers; pause (with a reason), resume, deactivate; rotate a
/// secret (shown once); send a signed test message; and the audit of every change. It
/// loads only its own assets and calls the console API on the same origin.
#[utoipa::path(
    get,
    path = "/console",
    tag = "dashboard",
    operation_id = "console_page",
    responses((status = 200, description = "The page", content_type = "text/html", body = String))
)]
async fn console() -> Response {
    secured(
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            CONSOLE,
        )
            .into_response(),
        "no-cache",
    )
}

/// One of the dashboard page's files
///
/// Its stylesheet, script and the vendored charting library (uPlot, MIT licence, served
/// beside it as `uPlot.LICENSE.txt`).
#[utoipa::path(
    get,
    path = "/dashboard/assets/{file}",
    tag = "dashboard",
    operation_id = "dashboard_asset",
    params(("file" = String, Path, description = "The file name", example = "dashboard.js")),
    responses(
        (status = 200, description = "The file, with its content type", content(
            (String = "text/javascript"),
            (String = "text/css"),
            (String = "text/plain")
        )),
        (status = 404, description = "`not_found`: no such file", body = aurum::http::ErrorBody)
    )
)]
async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => secured(
            ([(header::CONTENT_TYPE, *content_type)], *bytes).into_response(),
            "public, max-age=300",
        ),
        None => {
            let body = serde_json::json!({"error": {"code": "not_found", "message": "no such dashboard file"}});
            (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(page, console, asset),
    tags((name = "dashboard", description = "The sales team's page"))
)]
pub struct PageApi;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let response = router()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    #[tokio::test]
    async fn given_the_page_then_it_is_html_with_a_strict_policy() {
        let (status, headers, body) = get("/dashboard").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let csp = headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(csp.starts_with("default-src 'none'"));
        assert!(!csp.contains("http") && !csp.contains("unsafe") && !csp.contains('*'));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let html = String::from_utf8(body).expect("utf-8");
        assert!(html.contains("<title>Aurum"));
    }

    #[tokio::test]
    async fn given_the_page_then_everything_it_loads_is_served_here_with_its_type() {
        let html = PAGE;
        // No absolute URL, no inline script or style, no style attribute.
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
        assert!(!html.contains("<style") && !html.contains(" style="));
        for tag in html.split("<script").skip(1) {
            assert!(tag.trim_start().starts_with("src="), "inline script: {tag}");
        }
        let referenced: Vec<&str> = html
            .split("/dashboard/assets/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(referenced.len() >= 4, "{referenced:?}");
        for file in referenced {
            let (status, headers, body) = get(&format!("/dashboard/assets/{file}")).await;
            assert_eq!(status, StatusCode::OK, "{file}");
            let ct = headers[header::CONTENT_TYPE].to_str().expect("ascii");
            let want = match file.rsplit('.').next() {
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                _ => "text/plain",
            };
            assert!(ct.starts_with(want), "{file}: {ct}");
            assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
            assert!(!body.is_empty());
        }
        let script = String::from_utf8_lossy(include_bytes!("../assets/dashboard.js"));
        assert!(!script.contains("http://") && !script.contains("https://"));
    }

    #[tokio::test]
    async fn given_an_unknown_or_traversing_file_then_404_json() {
        for path in [
            "/dashboard/assets/nope.js",
            "/dashboard/assets/..%2FCargo.toml",
            "/dashboard/assets/dashboard.JS",
        ] {
            let (status, headers, body) = get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(
                headers[header::CONTENT_TYPE]
                    .to_str()
                    .is_ok_and(|c| c.starts_with("application/json"))
            );
            let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(json["error"]["code"], "not_found");
        }
    }

    #[tokio::test]
    async fn given_the_vendored_library_then_its_licence_is_served_beside_it() {
        let (status, _, body) = get("/dashboard/assets/uPlot.LICENSE.txt").await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&body).contains("MIT License"));
    }
}
