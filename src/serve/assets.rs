//! The static files, compiled into the binary: the desk works on a closed network and nothing
//! is fetched from a CDN. htmx 2.0.11 is vendored from its npm package (`static/htmx-LICENSE`,
//! Zero-Clause BSD); the stylesheet is the HTML report's plus the desk's own few rules.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppError;

/// URL of the vendored htmx (the version is in the name, so it can be cached for good).
pub const HTMX: &str = "/static/htmx-2.0.11.min.js";
/// URL of the report's stylesheet.
pub const REPORT_CSS: &str = "/static/report.css";
/// URL of the desk's stylesheet.
pub const APP_CSS: &str = "/static/app.css";

const FILES: &[(&str, &str, &str)] = &[
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_str!("static/htmx-2.0.11.min.js"),
    ),
    (
        "report.css",
        "text/css; charset=utf-8",
        include_str!("../report/html/report.css"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("static/app.css"),
    ),
];

/// `GET /static/{file}`.
pub async fn file(Path(name): Path<String>) -> Result<Response, AppError> {
    let Some((_, kind, body)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return Err(AppError::NotFound(format!("no static file `{name}`")));
    };
    let mut resp = (*body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // The script's name carries its version; the stylesheets change with the binary.
    let cache = if name.starts_with("htmx-") {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(resp)
}
