//! Errors as HTTP answers. [`AppError`] answers in JSON (`{"error": …, "field": …}`) for the
//! API; [`PageError`] wraps it for pages and answers with an HTML page saying the same. A bad
//! request names the query or form field at fault; internal errors are logged on stderr and
//! answered without detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::Error;

/// Why a request failed.
#[derive(Debug)]
pub enum AppError {
    /// 400: a query or form field is wrong.
    BadRequest {
        /// The field, as the client spelled it (`min-score`, `status`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// 401: no credentials, or ones that are not (or no longer) valid.
    Unauthorized(String),
    /// 403: the user's role may not do this, or a form came without its CSRF token.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 500: logged; the client learns only that it failed.
    Internal(String),
}

impl AppError {
    /// A 400 naming `field`.
    pub fn bad(field: &str, message: impl Into<String>) -> AppError {
        AppError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            AppError::BadRequest { field, message } => format!("`{field}`: {message}"),
            AppError::Unauthorized(m) | AppError::Forbidden(m) | AppError::NotFound(m) => m.clone(),
            AppError::Internal(_) => "internal error; the server log has the details".into(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AppError::BadRequest { field, .. } => Some(field),
            _ => None,
        }
    }

    fn log(&self) {
        if let AppError::Internal(m) = self {
            eprintln!("error: {m}");
        }
    }
}

impl From<Error> for AppError {
    fn from(e: Error) -> AppError {
        match e {
            Error::NotFound(m) => AppError::NotFound(m),
            Error::BadInput { location, message } => AppError::BadRequest {
                field: location,
                message,
            },
            Error::Usage(m) => AppError::bad("request", m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let body = serde_json::json!({
            "error": self.message(),
            "field": self.field(),
        });
        let mut resp = (self.status(), axum::Json(body)).into_response();
        if matches!(self, AppError::Unauthorized(_)) {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// An [`AppError`] answered as an HTML page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> PageError {
        PageError(e)
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> PageError {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        let page = super::html::error_page(status, &self.0.message());
        (status, page).into_response()
    }
}

/// `Form<T>` whose rejection (a missing field, a wrong content type) is a 400 page naming the
/// form, like every other bad request.
pub struct Fields<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for Fields<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = PageError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, PageError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(t)| Fields(t))
            .map_err(|e| PageError(AppError::bad("form", e.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_become_the_right_status() {
        let e: AppError = Error::NotFound("no lead `X`".into()).into();
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        let e: AppError = Error::BadInput {
            location: "status".into(),
            message: "not an allowed move".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.message(), "`status`: not an allowed move");
        let e: AppError = Error::Database {
            db: "/secret/path.db".into(),
            message: "disk I/O error".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message().contains("secret"));
    }
}
