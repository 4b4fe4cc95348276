//! Trying to get in where one must not: hostile names in the data, injection in every filter,
//! a session cookie without its CSRF token.

use axum::http::StatusCode;

use super::harness;
use crate::auth::Role;

const SCRIPT: &str = r#"<script>alert("owned")</script>"#;
const ATTR: &str = r#""><img src=x onerror=alert(1)>"#;

#[tokio::test]
async fn hostile_names_from_the_spreadsheets_are_escaped_everywhere() {
    let h = harness();
    {
        let conn = rusqlite::Connection::open(h.db.as_path().unwrap()).unwrap();
        conn.execute(
            "UPDATE accounts SET name = ?1 WHERE account_id = 'ACC2'",
            [SCRIPT],
        )
        .unwrap();
        conn.execute(
                "UPDATE leads SET title = ?1, lead_type = ?2, territory_id = ?1 WHERE lead_id = 'BBBB0003'",
                [ATTR, SCRIPT],
            )
            .unwrap();
    }
    let b = h.login(Role::Rep).await;
    for page in [
        "/",
        "/leads",
        "/leads?group=account",
        "/leads?group=asset",
        "/leads/BBBB0003",
        "/accounts/ACC2",
        "/territories",
        "/analytics",
    ] {
        let a = h.get(page, Some(&b)).await;
        assert_eq!(a.status, StatusCode::OK, "{page}");
        assert!(
            !a.body.contains(SCRIPT) && !a.body.contains(ATTR),
            "{page} shows raw markup"
        );
        assert!(!a.body.contains("<img"), "{page}");
    }
    let q = h.get("/leads", Some(&b)).await.body;
    assert!(
        q.contains("&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;"),
        "{q}"
    );
    // The account page found by its hostile name, typed into the URL.
    let by_name = h
        .get(
            &format!(
                "/accounts/{}",
                form_urlencoded::byte_serialize(SCRIPT.as_bytes()).collect::<String>()
            ),
            Some(&b),
        )
        .await;
    assert_eq!(by_name.status, StatusCode::OK);
    assert!(!by_name.body.contains(SCRIPT));
    // A hostile user name, shown in the history and the users page.
    let admin = h.login(Role::Admin).await;
    let a = h
        .post(
            "/users",
            Some(&admin),
            "name=%3Cb%3Ex%3C%2Fb%3E&role=rep&password=longenough",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.body.contains("<b>x</b>") && a.body.contains("&lt;b&gt;x&lt;/b&gt;"));
    // A hostile note and an error message that quotes hostile input.
    let a = h
        .post(
            "/leads/BBBB0003/status",
            Some(&b),
            &format!("status=contacted&note={}", enc(SCRIPT)),
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let page = h.get("/leads/BBBB0003", Some(&b)).await.body;
    assert!(!page.contains(SCRIPT) && page.contains("&lt;script&gt;"));
    let a = h
        .get(&format!("/leads?status={}", enc(SCRIPT)), Some(&b))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(!a.body.contains(SCRIPT));
    let a = h.get(&format!("/leads/{}", enc(SCRIPT)), Some(&b)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(!a.body.contains(SCRIPT));
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "x'); DROP TABLE lead_rows; --",
    "\" OR \"\"=\"",
    "%",
    "_",
    "*",
    "1 OR 1=1",
    "\\",
    "AAAA0001' --",
];

#[tokio::test]
async fn injection_in_every_filter_is_harmless() {
    let h = harness();
    let b = h.login(Role::Viewer).await;
    let text = ["type", "territory", "account", "family"];
    let typed = [
        "priority",
        "min-score",
        "status",
        "sort",
        "limit",
        "new-since",
        "older-than",
        "after",
        "group",
    ];
    for bad in INJECTIONS {
        for key in text {
            let url = format!("/api/leads?{key}={}", enc(bad));
            let a = h.api("GET", &url, Some(Role::Viewer), None).await;
            assert_eq!(a.status, StatusCode::OK, "{url}");
            // Text filters match text: no lead's fields contain these strings.
            assert_eq!(a.body, "[]\n", "{url}");
            let page = h.get(&format!("/leads?{key}={}", enc(bad)), Some(&b)).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.body.contains("0 leads match"), "{key}={bad}");
        }
        for key in typed {
            let url = format!("/leads?{key}={}", enc(bad));
            let a = h.get(&url, Some(&b)).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{url}");
        }
        // Paths and the account lookup too.
        let a = h.get(&format!("/accounts/{}", enc(bad)), Some(&b)).await;
        assert_ne!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{bad}");
        let a = h
            .api(
                "GET",
                &format!("/api/leads/{}", enc(bad)),
                Some(Role::Viewer),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{bad}");
    }
    // Everything is still there.
    let all = h.api("GET", "/api/leads", Some(Role::Viewer), None).await;
    let v: Vec<serde_json::Value> = serde_json::from_str(&all.body).unwrap();
    assert_eq!(v.len(), 4);
    let conn = rusqlite::Connection::open(h.db.as_path().unwrap()).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM lead_rows", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 5);
}

/// Every state-changing page route, with a form that would succeed with its token.
const POSTS: &[(&str, &str)] = &[
    ("/leads/CCCC0004/status", "status=contacted&note=forged"),
    ("/views", "name=forged&query=type%3Dx"),
    ("/views/delete", "name=forged"),
    ("/users", "name=mallory&role=admin&password=longenough"),
    ("/users/viewer/remove", ""),
    ("/users/viewer/rotate-token", ""),
    ("/leads/CCCC0004/owner", "owner=admin"),
    ("/leads/reassign", "query=&owner=admin"),
    ("/logout", ""),
];

#[tokio::test]
async fn a_session_cookie_without_its_csrf_token_changes_nothing() {
    let h = harness();
    let admin = h.login(Role::Admin).await;
    let other = h.login(Role::Admin).await;
    for (path, form) in POSTS {
        let a = h.post(path, Some(&admin), form, false).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path} without a token");
        assert!(a.body.contains("CSRF"), "{path}");
        let wrong = format!("{form}&csrf=0000");
        let a = h.post(path, Some(&admin), &wrong, false).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path} with a wrong token");
        // Another session's token is no better.
        let theirs = format!("{form}&csrf={}", other.csrf);
        let a = h.post(path, Some(&admin), &theirs, false).await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{path} with another session's token"
        );
        // And no cookie at all: 401.
        let a = h.post(path, None, form, false).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path} signed out");
    }
    // Nothing happened: no status change, no user added, the session still works.
    let e = h
        .api("GET", "/api/leads/CCCC0004", Some(Role::Viewer), None)
        .await;
    assert!(!e.body.contains("forged"));
    let users = h.get("/users", Some(&admin)).await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(!users.body.contains("mallory"));
    // With the token (as a form field or the header htmx can send), the same request works.
    let a = h
        .post(
            "/leads/CCCC0004/status",
            Some(&admin),
            "status=contacted&note=real",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let req = axum::http::Request::post("/views/delete")
        .header(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(axum::http::header::COOKIE, &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .body(axum::body::Body::from("name=none"))
        .unwrap();
    assert_eq!(h.send(req).await.status, StatusCode::NOT_FOUND);
}
