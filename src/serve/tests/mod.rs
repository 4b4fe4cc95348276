//! In-process HTTP tests: the real router on the synthetic test database (`store::testdb`),
//! driven with tower's `oneshot`; one user per role. `routes` covers every route, role and
//! error; `roles` is the role table route by route; `security` tries to get in where it must not.

mod pending;
mod roles;
mod routes;
mod security;

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{AppState, router};
use crate::auth::{self, Role};
use crate::config::Config;
use crate::store::desk::Desk;
use crate::store::users::NewUser;

/// A server on a fresh test database with a user of each role (`viewer`, `rep`, `manager`,
/// `admin`; password `pass-<role>`).
pub struct Harness {
    _dir: tempfile::TempDir,
    pub app: Router,
    pub db: crate::store::Location,
    pub tokens: HashMap<Role, String>,
}

/// An answer, its body read as text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

pub fn harness() -> Harness {
    let (dir, store) = crate::store::testdb::build_store();
    let db = store.location().clone();
    drop(store);
    let desk = Desk::open(&db).unwrap();
    let mut tokens = HashMap::new();
    for role in Role::ALL {
        let token = auth::new_secret().unwrap();
        desk.add_user(&NewUser {
            name: role.as_str(),
            role,
            password_hash: &auth::hash_password(&format!("pass-{}", role.as_str())).unwrap(),
            token_hash: &auth::digest(&token),
            now: "2025-01-01T00:00:00Z",
        })
        .unwrap();
        tokens.insert(role, token);
    }
    let state = AppState::open(&db, Config::default()).unwrap();
    Harness {
        _dir: dir,
        app: router(state),
        db,
        tokens,
    }
}

impl Harness {
    pub async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, browser: Option<&Browser>) -> Answer {
        let mut req = Request::get(path);
        if let Some(b) = browser {
            req = req.header(header::COOKIE, &b.cookie);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    /// A form post; `csrf` adds the browser's token as the `csrf` field.
    pub async fn post(
        &self,
        path: &str,
        browser: Option<&Browser>,
        form: &str,
        csrf: bool,
    ) -> Answer {
        let mut body = form.to_string();
        if let (Some(b), true) = (browser, csrf) {
            if !body.is_empty() {
                body.push('&');
            }
            body.push_str("csrf=");
            body.push_str(&b.csrf);
        }
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(b) = browser {
            req = req.header(header::COOKIE, &b.cookie);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    pub async fn api(
        &self,
        method: &str,
        path: &str,
        role: Option<Role>,
        json: Option<&str>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(r) = role {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", self.tokens[&r]));
        }
        if json.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let body = json.map_or_else(Body::empty, |j| Body::from(j.to_string()));
        self.send(req.body(body).unwrap()).await
    }

    /// Signs in as `role` through the login form, as a browser would.
    pub async fn login(&self, role: Role) -> Browser {
        let form = self.get("/login", None).await;
        let guard = cookie_value(&form.headers, "onelead_login").unwrap();
        let field = hidden(&form.body, "csrf").unwrap();
        assert_eq!(guard, field);
        let req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("onelead_login={guard}"))
            .body(Body::from(format!(
                "name={0}&password=pass-{0}&csrf={guard}&next=%2F",
                role.as_str()
            )))
            .unwrap();
        let done = self.send(req).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let cookie = format!(
            "onelead_session={}",
            cookie_value(&done.headers, "onelead_session").unwrap()
        );
        let home = self
            .get(
                "/",
                Some(&Browser {
                    cookie: cookie.clone(),
                    csrf: String::new(),
                }),
            )
            .await;
        assert_eq!(home.status, StatusCode::OK);
        let csrf = hidden(&home.body, "csrf").unwrap();
        Browser { cookie, csrf }
    }
}

/// The value a `Set-Cookie` header gives cookie `name`.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

/// The value of the first hidden input called `name` in a page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &page[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}
