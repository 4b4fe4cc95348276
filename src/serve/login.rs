//! `GET /login`, `POST /login`, `POST /logout`: browser sessions.
//!
//! The login form has its own CSRF guard (no session exists yet): a random value set both as a
//! short-lived cookie and as a hidden field, which must match (a cross-site form cannot read or
//! set the cookie). A successful login starts a session: its id goes to the browser once, as an
//! HttpOnly, SameSite=Strict cookie, and the desk keeps only its digest.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::auth::{SESSION_COOKIE, SESSION_HOURS, Session, cookie, set_cookie};
use super::error::{Fields, PageError};
use super::{AppError, AppState, html};
use crate::auth;
use crate::lifecycle::format_time;

const LOGIN_COOKIE: &str = "onelead_login";

/// Where to go after signing in.
#[derive(Debug, Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

/// A local path to return to; anything else (another site, `//host`) goes to the dashboard.
fn local(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

fn form_page(status: StatusCode, next: &str, message: Option<&str>) -> Result<Response, PageError> {
    let guard = auth::new_secret()?;
    let body = html! {
        div.login {
            @if let Some(m) = message { p.error { (m) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(guard);
                input type="hidden" name="next" value=(next);
                label { "Name" input type="text" name="name" autocomplete="username" required autofocus; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    let mut resp = (status, html::bare_page("Sign in", &body)).into_response();
    if let Ok(v) = set_cookie(LOGIN_COOKIE, &guard, 3600).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `GET /login`.
pub async fn form(q: Result<Query<Next>, QueryRejection>) -> Result<Response, PageError> {
    let Query(q) = q.map_err(|e| AppError::bad("query", e.body_text()))?;
    form_page(StatusCode::OK, &local(q.next.as_deref()), None)
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct Login {
    name: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login`.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Fields(f): Fields<Login>,
) -> Result<Response, PageError> {
    let next = local(f.next.as_deref());
    if !cookie(&headers, LOGIN_COOKIE).is_some_and(|c| auth::same_secret(&c, &f.csrf)) {
        return Err(AppError::Forbidden(
            "the sign-in form came without its CSRF token; reload the page and try again".into(),
        )
        .into());
    }
    let (name, password) = (f.name.trim().to_string(), f.password);
    let started = state
        .db(move |_, desk| {
            let found = desk.login(&name)?;
            // An unknown name costs the same argon2 work as a wrong password.
            let hash = found
                .as_ref()
                .map_or(auth::dummy_hash(), |(_, h)| h.as_str());
            let ok = auth::verify_password(&password, hash);
            let Some((user, _)) = found.filter(|_| ok) else {
                return Ok(None);
            };
            let (id, csrf) = (auth::new_secret()?, auth::new_secret()?);
            let now = chrono::Utc::now();
            let expires = format_time(now + chrono::Duration::hours(SESSION_HOURS));
            desk.start_session(
                user.id,
                &auth::digest(&id),
                &csrf,
                &format_time(now),
                &expires,
            )?;
            Ok(Some(id))
        })
        .await?;
    let Some(id) = started else {
        return form_page(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("wrong name or password"),
        );
    };
    let mut resp = Redirect::to(&next).into_response();
    let h = resp.headers_mut();
    for c in [
        set_cookie(SESSION_COOKIE, &id, SESSION_HOURS * 3600),
        set_cookie(LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = c.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// `POST /logout` (the session layer has checked the CSRF token).
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _s: Session,
) -> Result<Response, PageError> {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        let digest = auth::digest(&id);
        state.db(move |_, desk| desk.end_session(&digest)).await?;
    }
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = set_cookie(SESSION_COOKIE, "", 0).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}
