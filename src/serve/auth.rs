//! Who is asking, checked in two layers that wrap whole routers, so no route can forget them.
//!
//! Pages ([`pages`]): a session cookie (HttpOnly, SameSite=Strict) names a session in the desk
//! database; every request that is not a GET or HEAD must also carry the session's CSRF token
//! as the `csrf` form field (or `X-CSRF-Token` header), else 403 — a cookie alone changes
//! nothing. The API ([`api`]): `Authorization: Bearer TOKEN` only; cookies are ignored there,
//! so no cross-site request can ride on a browser's session, and no CSRF token is needed.
//! Handlers then check the role their action needs with [`require`].

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::PageError;
use super::{AppError, AppState};
use crate::auth::{self, Role};
use crate::store::users::User;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "onelead_session";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;
/// The largest form body read (forms here are a few fields).
const FORM_LIMIT: usize = 1 << 20;

/// A signed-in browser user and the CSRF token of their session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user: User,
    /// What every form of this session must send back.
    pub csrf: String,
}

/// A user authenticated by API token.
#[derive(Debug, Clone)]
pub struct ApiUser(pub User);

/// 403 unless `user`'s role may do what `needed` may.
pub fn require(user: &User, needed: Role, action: &str) -> Result<(), AppError> {
    if user.role.allows(needed) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "`{}` is a {} and may not {action} (it takes a {} or above)",
            user.name,
            user.role.as_str(),
            needed.as_str()
        )))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, whole site.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}")
}

/// The session layer of the pages.
pub async fn pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match check_page(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn check_page(state: &AppState, mut req: Request) -> Result<Request, PageError> {
    let session = match cookie(req.headers(), SESSION_COOKIE) {
        Some(id) => {
            let id_hash = auth::digest(&id);
            let now = crate::lifecycle::now_utc();
            state
                .db(move |_, desk| desk.session(&id_hash, &now))
                .await?
                .map(|(user, csrf)| Session { user, csrf })
        }
        None => None,
    };
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        if let Some(s) = session {
            req.extensions_mut().insert(s);
        }
        return Ok(req);
    }
    let Some(session) = session else {
        return Err(
            AppError::Unauthorized("sign in first (your session may have ended)".into()).into(),
        );
    };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::bad("body", "the form is too large or was cut off"))?;
    let sent = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| form_field(&bytes, "csrf"));
    if !sent.is_some_and(|t| auth::same_secret(&t, &session.csrf)) {
        return Err(AppError::Forbidden(
            "the form came without this session's CSRF token; reload the page and try again".into(),
        )
        .into());
    }
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(session);
    Ok(req)
}

/// The value of `name` in a URL-encoded form body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The bearer layer of the API.
pub async fn api(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_string()));
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return AppError::Unauthorized(
            "missing credentials: send `Authorization: Bearer TOKEN` (`onelead user add` \
             prints one)"
                .into(),
        )
        .into_response();
    };
    let digest = auth::digest(&token);
    match state.db(move |_, desk| desk.user_by_token(&digest)).await {
        Ok(Some(user)) => {
            req.extensions_mut().insert(ApiUser(user));
            next.run(req).await
        }
        Ok(None) => AppError::Unauthorized(
            "unknown or revoked token (`onelead user rotate-token` issues a new one)".into(),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Where an unsigned request for a page goes: the login form, then back.
pub struct SignIn(String);

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        let next: String = form_urlencoded::byte_serialize(self.0.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Session, Response> {
        if let Some(s) = parts.extensions.get::<Session>() {
            return Ok(s.clone());
        }
        // Only a GET reaches a handler without a session (the layer refuses the rest).
        let target = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), ToString::to_string);
        Err(SignIn(target).into_response())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ApiUser, Response> {
        parts
            .extensions
            .get::<ApiUser>()
            .cloned()
            .ok_or_else(|| (StatusCode::UNAUTHORIZED, "missing credentials").into_response())
    }
}
