//! The role table, route by route: nobody signed in is sent to the login (pages) or gets 401
//! (forms, the API); every role below the one a route needs gets 403 and changes nothing; the
//! role it needs gets through. A route added to the router without a line here fails
//! `every_route_is_in_the_table`.

use axum::http::{StatusCode, header};

use super::{Browser, Harness, harness};
use crate::auth::Role;

/// How a route is reached: a page (session cookie, CSRF field on posts) or the API (token).
#[derive(Clone, Copy, PartialEq)]
enum Via {
    Page,
    Api,
}

/// `(via, method, path, body, the least role that may)`. Bodies would succeed for that role;
/// `/logout` is last since it ends the session the other rows use.
const ROUTES: &[(Via, &str, &str, &str, Role)] = &[
    (Via::Page, "GET", "/", "", Role::Viewer),
    (Via::Page, "GET", "/leads", "", Role::Viewer),
    (Via::Page, "GET", "/leads/AAAA0001", "", Role::Viewer),
    (Via::Page, "GET", "/accounts/ACC1", "", Role::Viewer),
    (Via::Page, "GET", "/territories", "", Role::Viewer),
    (Via::Page, "GET", "/analytics", "", Role::Viewer),
    (Via::Page, "GET", "/users", "", Role::Admin),
    (
        Via::Page,
        "POST",
        "/views",
        "name=mine&query=territory%3DT1",
        Role::Viewer,
    ),
    (
        Via::Page,
        "POST",
        "/views/delete",
        "name=mine",
        Role::Viewer,
    ),
    (
        Via::Page,
        "POST",
        "/leads/CCCC0004/status",
        "status=contacted&note=n",
        Role::Rep,
    ),
    (
        Via::Page,
        "POST",
        "/leads/CCCC0004/owner",
        "owner=rep",
        Role::Manager,
    ),
    (
        Via::Page,
        "POST",
        "/leads/reassign",
        "query=territory%3DT1&owner=rep",
        Role::Manager,
    ),
    (
        Via::Page,
        "POST",
        "/users",
        "name=newbie&role=viewer&password=longenough",
        Role::Admin,
    ),
    (
        Via::Page,
        "POST",
        "/users/newbie/rotate-token",
        "",
        Role::Admin,
    ),
    (Via::Page, "POST", "/users/newbie/remove", "", Role::Admin),
    (Via::Api, "GET", "/api/leads", "", Role::Viewer),
    (Via::Api, "GET", "/api/leads/AAAA0001", "", Role::Viewer),
    (
        Via::Api,
        "POST",
        "/api/leads/AAAA0001/status",
        r#"{"status":"contacted"}"#,
        Role::Rep,
    ),
    (
        Via::Api,
        "POST",
        "/api/leads/AAAA0001/owner",
        r#"{"owner":"rep"}"#,
        Role::Manager,
    ),
    (Via::Page, "POST", "/logout", "", Role::Viewer),
];

async fn call(
    h: &Harness,
    route: (Via, &str, &str, &str),
    who: Option<(Role, &Browser)>,
) -> super::Answer {
    let (via, method, path, body) = route;
    match (via, method) {
        (Via::Api, _) => {
            let json = (!body.is_empty()).then_some(body);
            h.api(method, path, who.map(|w| w.0), json).await
        }
        (Via::Page, "GET") => h.get(path, who.map(|w| w.1)).await,
        (Via::Page, _) => h.post(path, who.map(|w| w.1), body, true).await,
    }
}

/// What the lead database and the desk hold, to see a refused request changed nothing.
fn state(h: &Harness) -> (String, String) {
    let conn = rusqlite::Connection::open(h.db.as_path().unwrap()).unwrap();
    let leads: String = conn
        .query_row(
            "SELECT group_concat(lead_id || ':' || status || ':' || coalesce(owner, ''), ',')
             FROM lead_rows",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let desk = crate::store::desk::Desk::open(&h.db).unwrap();
    let users = desk
        .users()
        .unwrap()
        .iter()
        .map(|u| u.name.clone())
        .collect::<Vec<_>>()
        .join(",");
    (leads, users)
}

#[tokio::test]
async fn every_route_checks_the_signed_in_user_and_the_role() {
    let h = harness();
    let mut browsers = Vec::new();
    for role in Role::ALL {
        browsers.push((role, h.login(role).await));
    }
    for &(via, method, path, body, least) in ROUTES {
        let route = (via, method, path, body);
        let a = call(&h, route, None).await;
        let expect = if via == Via::Page && method == "GET" {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(a.status, expect, "{method} {path} signed out");
        if expect == StatusCode::SEE_OTHER {
            assert!(
                a.headers[header::LOCATION]
                    .to_str()
                    .unwrap()
                    .starts_with("/login?next=")
            );
        }
        for (role, b) in &browsers {
            if role.allows(least) {
                continue;
            }
            let before = state(&h);
            let a = call(&h, route, Some((*role, b))).await;
            assert_eq!(
                a.status,
                StatusCode::FORBIDDEN,
                "{method} {path} as {role:?}: {}",
                a.body
            );
            assert!(a.body.contains("may not"), "{method} {path}: {}", a.body);
            assert_eq!(
                before,
                state(&h),
                "{method} {path} as {role:?} changed something"
            );
        }
        let b = &browsers.iter().find(|(r, _)| *r == least).unwrap().1;
        let a = call(&h, route, Some((least, b))).await;
        assert!(
            a.status.is_success() || a.status.is_redirection(),
            "{method} {path} as {least:?}: {} {}",
            a.status,
            a.body
        );
    }
    // What the rows above did, through their own routes.
    let (leads, users) = state(&h);
    assert!(leads.contains("CCCC0004:contacted:rep"), "{leads}");
    assert!(leads.contains("AAAA0001:contacted:rep"), "{leads}");
    assert!(!users.contains("newbie"), "{users}");
}

/// The table above names every route of the router (pages and API have some paths in common;
/// each router's needs its own line).
#[test]
fn every_route_is_in_the_table() {
    let source = include_str!("../mod.rs");
    let mut patterns: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix(".route(\""))
        .filter_map(|l| l.split('"').next())
        .filter(|p| !["/login", "/healthz", "/static/{file}"].contains(p))
        .collect();
    assert!(patterns.len() >= 19, "{patterns:?}");
    patterns.sort_unstable();
    for r in &patterns {
        let routers = patterns.iter().filter(|p| *p == r).count();
        let mut vias: Vec<bool> = ROUTES
            .iter()
            .filter(|&&(via, _, path, _, _)| {
                let path = if via == Via::Api {
                    path.trim_start_matches("/api")
                } else {
                    path
                };
                matches(r, path)
            })
            .map(|&(via, ..)| via == Via::Api)
            .collect();
        vias.sort_unstable();
        vias.dedup();
        assert!(
            vias.len() >= routers,
            "route `{r}` has no line in the role table"
        );
    }
}

/// True when `pattern` (`/leads/{id}/status`) matches the concrete `path`.
fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let q: Vec<&str> = path.split('/').collect();
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| a.starts_with('{') || a == b)
}
