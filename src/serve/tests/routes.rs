//! Every route with every role, and every error class: 401, 403, 404, 400 naming the field.

use axum::http::{StatusCode, header};

use super::{Browser, harness};
use crate::auth::Role;

#[tokio::test]
async fn health_and_static_files_need_no_credentials() {
    let h = harness();
    let a = h.get("/healthz", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, r#"{"last_run":null,"status":"ok"}"#);
    let js = h.get(crate::serve::assets::HTMX, None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.body.starts_with("var htmx=function()"),
        "{}",
        &js.body[..40]
    );
    assert_eq!(
        js.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(h.get("/static/app.css", None).await.status, StatusCode::OK);
    assert_eq!(
        h.get("/static/secrets.txt", None).await.status,
        StatusCode::NOT_FOUND
    );
    let a = h.get("/no/such/page", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.contains("no such page"));
    // Every answer carries the security headers.
    assert!(
        a.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(a.headers[header::X_FRAME_OPTIONS], "DENY");
}

const PAGES: &[&str] = &[
    "/",
    "/leads",
    "/leads?priority=high,critical&sort=priority",
    "/leads?group=account",
    "/leads?group=asset",
    "/leads/AAAA0001",
    "/leads/aaaa0002",
    "/accounts/ACC1",
    "/accounts/acme",
    "/territories",
    "/territories?sort=pipeline&page=1",
    "/analytics",
];

#[tokio::test]
async fn pages_send_a_stranger_to_the_login_and_show_every_role_the_page() {
    let h = harness();
    for page in PAGES {
        let a = h.get(page, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{page}");
        let to = a.headers[header::LOCATION].to_str().unwrap();
        assert!(to.starts_with("/login?next=%2F"), "{page} → {to}");
    }
    for role in Role::ALL {
        let b = h.login(role).await;
        for page in PAGES {
            let a = h.get(page, Some(&b)).await;
            assert_eq!(a.status, StatusCode::OK, "{page} as {role:?}: {}", a.body);
            assert!(
                a.body
                    .contains(&format!("{} · {}", role.as_str(), role.as_str()))
            );
        }
        let users = h.get("/users", Some(&b)).await;
        let expect = if role == Role::Admin {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(users.status, expect, "{role:?}");
    }
}

#[tokio::test]
async fn pages_show_what_the_views_hold() {
    let h = harness();
    let b = h.login(Role::Viewer).await;
    let q = h.get("/leads?territory=T1", Some(&b)).await.body;
    // The three active T1 leads, best first; T2's not at all.
    let at = |id: &str| {
        q.find(&format!("href=\"/leads/{id}\""))
            .unwrap_or(usize::MAX)
    };
    assert!(
        at("AAAA0001") < at("AAAA0002") && at("AAAA0002") < at("BBBB0003"),
        "{q}"
    );
    assert_eq!(at("CCCC0004"), usize::MAX);
    assert!(q.contains("3 leads match"));
    let lead = h.get("/leads/AAAA0002", Some(&b)).await.body;
    for part in [
        "Renewal - Expired Support",
        "called Bob",
        "Refresh Assessment",
        "SKU1",
        "Acme Corporation",
        "contacted",
    ] {
        assert!(lead.contains(part), "{part} missing");
    }
    // A viewer gets no status form; a rep does.
    assert!(!lead.contains("Change status"));
    let rep = h.login(Role::Rep).await;
    assert!(
        h.get("/leads/AAAA0002", Some(&rep))
            .await
            .body
            .contains("Change status")
    );
    let account = h.get("/accounts/ACC1", Some(&b)).await.body;
    assert!(
        account.contains("ACME CORP.") && account.contains("OPP1") && account.contains("Credits A")
    );
    let analytics = h.get("/analytics", Some(&b)).await.body;
    assert!(analytics.contains("<svg"), "no chart");
    let t = h.get("/territories", Some(&b)).await.body;
    assert!(t.contains("href=\"/leads?territory=T1\""));
}

#[tokio::test]
async fn missing_things_are_404_with_a_hint() {
    let h = harness();
    let b = h.login(Role::Viewer).await;
    let a = h.get("/leads/AAAA0009", Some(&b)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.contains("did you mean"), "{}", a.body);
    let a = h.get("/accounts/Nonexistent%20Corp", Some(&b)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = h
        .api("GET", "/api/leads/ZZZZ0000", Some(Role::Viewer), None)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.contains("no lead `ZZZZ0000`"));
    let a = h.api("GET", "/api/nothing", Some(Role::Viewer), None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.starts_with("{\"error\""));
}

#[tokio::test]
async fn bad_filters_are_400_naming_the_field() {
    let h = harness();
    let b = h.login(Role::Viewer).await;
    for (query, field) in [
        ("min-score=abc", "min-score"),
        ("priority=urgent", "priority"),
        ("status=won", "status"),
        ("sort=random", "sort"),
        ("limit=-1", "limit"),
        ("new-since=2025-13-01", "new-since"),
        ("older-than=soon", "older-than"),
        ("after=%5B1%5D", "after"),
        ("familly=x", "familly"),
    ] {
        let page = h.get(&format!("/leads?{query}"), Some(&b)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            page.body.contains(&format!("<code>{field}</code>"))
                || page.body.contains(&format!("`{field}`")),
            "{query}: {}",
            page.body
        );
        let api = h
            .api(
                "GET",
                &format!("/api/leads?{query}"),
                Some(Role::Viewer),
                None,
            )
            .await;
        assert_eq!(api.status, StatusCode::BAD_REQUEST, "{query}");
        let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        assert_eq!(v["field"], field, "{query}");
    }
    let a = h.get("/territories?sort=size", Some(&b)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = h.get("/territories?color=red", Some(&b)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = h
        .api("GET", "/api/leads?group=asset", Some(Role::Viewer), None)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

async fn events(h: &super::Harness, id: &str) -> Vec<(String, String, String)> {
    let e = h
        .api("GET", &format!("/api/leads/{id}"), Some(Role::Viewer), None)
        .await;
    let v: serde_json::Value = serde_json::from_str(&e.body).unwrap();
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| {
            (
                e["to_status"].as_str().unwrap_or("").to_string(),
                e["by"].as_str().unwrap_or("").to_string(),
                e["note"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_status_change_needs_a_rep_and_is_recorded_under_their_name() {
    let h = harness();
    let viewer = h.login(Role::Viewer).await;
    let a = h
        .post(
            "/leads/BBBB0003/status",
            Some(&viewer),
            "status=contacted&note=hi",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("may not change a lead"));
    let rep = h.login(Role::Rep).await;
    let a = h
        .post(
            "/leads/bbbb0003/status",
            Some(&rep),
            "status=contacted&note=rang+them",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.headers[header::LOCATION], "/leads/BBBB0003?saved=1");
    let page = h.get("/leads/BBBB0003?saved=1", Some(&rep)).await.body;
    assert!(page.contains("<p class=\"ok\">saved</p>"), "{page}");
    assert_eq!(
        events(&h, "BBBB0003").await,
        [("contacted".into(), "rep".into(), "rang them".into())]
    );
    // Not a status, a move the table forbids, an over-long note: 400, the page says why.
    let a = h
        .post("/leads/BBBB0003/status", Some(&rep), "status=won", true)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("`won` is not one of"), "{}", a.body);
    let a = h
        .post(
            "/leads/CCCC0004/status",
            Some(&rep),
            "status=converted",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("(new → converted)"), "{}", a.body);
    let long = "x".repeat(2001);
    let a = h
        .post(
            "/leads/CCCC0004/status",
            Some(&rep),
            &format!("status=contacted&note={long}"),
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = h
        .post(
            "/leads/NOPE0000/status",
            Some(&rep),
            "status=contacted",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(events(&h, "CCCC0004").await, []);
}

#[tokio::test]
async fn the_api_answers_tokens_only_and_checks_roles() {
    let h = harness();
    let a = h.api("GET", "/api/leads", None, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
    assert!(a.body.contains("missing credentials"));
    let bad = h
        .send(
            axum::http::Request::get("/api/leads")
                .header(header::AUTHORIZATION, "Bearer 0000")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    // A browser session is no credential for the API.
    let b = h.login(Role::Admin).await;
    assert_eq!(
        h.get("/api/leads", Some(&b)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let a = h.api("GET", "/api/leads", Some(Role::Viewer), None).await;
    assert_eq!(a.status, StatusCode::OK);
    let v: Vec<serde_json::Value> = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v.len(), 4);
    let a = h
        .api(
            "POST",
            "/api/leads/CCCC0004/status",
            Some(Role::Viewer),
            Some(r#"{"status":"contacted"}"#),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = h
        .api(
            "POST",
            "/api/leads/CCCC0004/status",
            Some(Role::Rep),
            Some(r#"{"status":"contacted","note":"by api"}"#),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"lead_id": "CCCC0004", "from": "new", "to": "contacted", "by": "rep", "applied": true})
    );
    assert_eq!(
        events(&h, "CCCC0004").await,
        [("contacted".into(), "rep".into(), "by api".into())]
    );
    for (body, field) in [
        ("not json", "body"),
        (r#"{"status":"contacted","colour":"red"}"#, "colour"),
        (r#"{"note":"x"}"#, "status"),
        (r#"{"status":"won"}"#, "status"),
    ] {
        let a = h
            .api(
                "POST",
                "/api/leads/CCCC0004/status",
                Some(Role::Rep),
                Some(body),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(v["field"], field, "{body}: {}", a.body);
    }
}

#[tokio::test]
async fn api_leads_is_the_cli_json_and_pages_walk_it_all() {
    let h = harness();
    let mut reader = crate::store::Reader::open(&h.db).unwrap();
    let cfg = crate::config::Config::default();
    for (query, filter) in [
        ("", crate::views::LeadFilter::default()),
        (
            "priority=high,critical&sort=account",
            crate::views::LeadFilter {
                priorities: vec!["CRITICAL".into(), "HIGH".into()],
                sort: crate::views::LeadSort::Account,
                ..Default::default()
            },
        ),
    ] {
        let mut cli = Vec::new();
        crate::lifecycle::queue_json(
            &mut cli,
            &mut reader,
            &filter,
            chrono::Utc::now(),
            cfg.aging_days,
        )
        .unwrap();
        let a = h
            .api(
                "GET",
                &format!("/api/leads?{query}"),
                Some(Role::Viewer),
                None,
            )
            .await;
        assert_eq!(a.body, String::from_utf8(cli).unwrap(), "{query}");
    }
    // One lead a page, following `Link: rel="next"`, visits every lead once, in order.
    let whole: Vec<serde_json::Value> = serde_json::from_str(
        &h.api(
            "GET",
            "/api/leads?sort=days-past-eol",
            Some(Role::Viewer),
            None,
        )
        .await
        .body,
    )
    .unwrap();
    let mut next = Some("/api/leads?sort=days-past-eol&limit=1".to_string());
    let mut walked = Vec::new();
    while let Some(url) = next.take() {
        let a = h.api("GET", &url, Some(Role::Viewer), None).await;
        let page: Vec<serde_json::Value> = serde_json::from_str(&a.body).unwrap();
        walked.extend(page);
        next = a.headers.get(header::LINK).map(|l| {
            let l = l.to_str().unwrap();
            l[1..l.find('>').unwrap()].to_string()
        });
        assert!(walked.len() <= whole.len());
    }
    assert_eq!(walked, whole);
}

#[tokio::test]
async fn saved_views_belong_to_their_user() {
    let h = harness();
    let b = h.login(Role::Viewer).await;
    let a = h
        .post(
            "/views",
            Some(&b),
            "name=North+critical&query=territory%3DT1%26priority%3Dcritical",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = h.get("/leads", Some(&b)).await.body;
    assert!(page.contains("North critical"), "{page}");
    assert!(
        page.contains("href=\"/leads?priority=critical&amp;territory=T1\""),
        "{page}"
    );
    let other = h.login(Role::Rep).await;
    assert!(
        !h.get("/leads", Some(&other))
            .await
            .body
            .contains("North critical")
    );
    let a = h
        .post("/views", Some(&b), "name=bad&query=min-score%3Dx", true)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = h.post("/views", Some(&b), "name=&query=", true).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = h
        .post("/views/delete", Some(&b), "name=North+critical", true)
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(
        !h.get("/leads", Some(&b))
            .await
            .body
            .contains("North critical")
    );
    let a = h
        .post("/views/delete", Some(&b), "name=North+critical", true)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_manage_users_and_a_new_token_works_once_shown() {
    let h = harness();
    let rep = h.login(Role::Rep).await;
    let a = h
        .post(
            "/users",
            Some(&rep),
            "name=eve&role=admin&password=longenough",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let admin = h.login(Role::Admin).await;
    let a = h
        .post(
            "/users",
            Some(&admin),
            "name=sam&role=rep&password=longenough",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let token = a
        .body
        .split("<p class=\"token\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 64);
    let ok = h
        .send(
            axum::http::Request::get("/api/leads?limit=1")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    for (form, field) in [
        ("name=sam&role=rep&password=longenough", "user `sam`"),
        ("name=a%0Ab&role=rep&password=longenough", "name"),
        ("name=tom&role=boss&password=longenough", "role"),
        ("name=tom&role=rep&password=short", "password"),
    ] {
        let a = h.post("/users", Some(&admin), form, true).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{form}");
        assert!(a.body.contains(field), "{form}: {}", a.body);
    }
    let a = h
        .post("/users/sam/rotate-token", Some(&admin), "", true)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let old = h
        .send(
            axum::http::Request::get("/api/leads?limit=1")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.post("/users/admin/remove", Some(&admin), "", true)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.post("/users/sam/remove", Some(&admin), "", true)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        h.post("/users/sam/remove", Some(&admin), "", true)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.post("/users/sam/rotate-token", Some(&admin), "", true)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn sign_in_and_out() {
    let h = harness();
    let form = h.get("/login?next=%2Fleads", None).await;
    assert_eq!(form.status, StatusCode::OK);
    let guard = super::cookie_value(&form.headers, "onelead_login").unwrap();
    let post = |body: String, cookie: String| {
        axum::http::Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let wrong = h
        .send(post(
            format!("name=rep&password=nope&csrf={guard}"),
            format!("onelead_login={guard}"),
        ))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("wrong name or password"));
    let nobody = h
        .send(post(
            format!("name=ghost&password=pass-rep&csrf={guard}"),
            format!("onelead_login={guard}"),
        ))
        .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    // The login form's own CSRF guard: the field must match the cookie.
    let forged = h
        .send(post(
            "name=rep&password=pass-rep&csrf=abc".into(),
            "onelead_login=abc2".into(),
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = h
        .send(post("name=rep&password=pass-rep".into(), String::new()))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    // Back to where the login was asked for, never to another site.
    let ok = h
        .send(post(
            format!("name=REP&password=pass-rep&csrf={guard}&next=%2F%2Fevil.example"),
            format!("onelead_login={guard}"),
        ))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.headers[header::LOCATION], "/");
    let set = ok
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    let session = set
        .iter()
        .find(|c| c.starts_with("onelead_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let b = h.login(Role::Rep).await;
    let out = h.post("/logout", Some(&b), "", true).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(h.get("/", Some(&b)).await.status, StatusCode::SEE_OTHER);
    let again = Browser {
        cookie: b.cookie.clone(),
        csrf: b.csrf.clone(),
    };
    assert_eq!(
        h.post(
            "/leads/CCCC0004/status",
            Some(&again),
            "status=contacted",
            true
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn a_non_loopback_address_needs_a_user() {
    let (_d, store) = crate::store::testdb::build_store();
    let opts = crate::serve::Options {
        listen: "0.0.0.0:0".parse().unwrap(),
        db: store.location().clone(),
        cfg: crate::config::Config::default(),
    };
    let e = crate::serve::run(&opts).unwrap_err();
    assert!(
        e.to_string()
            .contains("refusing to listen on `0.0.0.0:0` with no users"),
        "{e}"
    );
}

#[tokio::test]
async fn managers_assign_owners_one_lead_or_every_lead_of_a_filter() {
    let h = harness();
    let rep = h.login(Role::Rep).await;
    let a = h
        .post("/leads/AAAA0001/owner", Some(&rep), "owner=rep", true)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = h
        .post(
            "/leads/reassign",
            Some(&rep),
            "query=territory%3DT1&owner=rep",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let boss = h.login(Role::Manager).await;
    let a = h
        .post(
            "/leads/AAAA0001/owner",
            Some(&boss),
            "owner=nobody-here",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("no user `nobody-here`"), "{}", a.body);
    let a = h
        .post(
            "/leads/CCCC0004/owner",
            Some(&boss),
            "owner=REP&note=yours",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = h.get("/leads/CCCC0004", Some(&boss)).await.body;
    assert!(page.contains("<strong id=\"owner\">rep</strong>"), "{page}");
    assert!(
        page.contains("owner nobody → rep by <strong>manager</strong>"),
        "{page}"
    );
    // Every lead of territory T1, in one go.
    let a = h
        .post(
            "/leads/reassign",
            Some(&boss),
            "query=territory%3DT1&owner=rep",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.body.contains("3 leads assigned to <strong>rep</strong>"),
        "{}",
        a.body
    );
    let mine = h.get("/leads?mine=1", Some(&rep)).await.body;
    assert!(mine.contains("4 leads match"), "{mine}");
    let api = h
        .api("GET", "/api/leads?mine=1", Some(Role::Rep), None)
        .await;
    let v: Vec<serde_json::Value> = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v.len(), 4);
    assert!(v.iter().all(|l| l["owner"] == "rep"));
    let none = h
        .api("GET", "/api/leads?mine=1", Some(Role::Viewer), None)
        .await;
    assert_eq!(none.body, "[]\n");
    // The API: managers only; null is nobody.
    let a = h
        .api(
            "POST",
            "/api/leads/CCCC0004/owner",
            Some(Role::Rep),
            Some(r#"{"owner":"rep"}"#),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = h
        .api(
            "POST",
            "/api/leads/CCCC0004/owner",
            Some(Role::Manager),
            Some(r#"{"owner":null}"#),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"lead_id": "CCCC0004", "owner": null, "by": "manager", "applied": true})
    );
    let a = h
        .api(
            "POST",
            "/api/leads/CCCC0004/owner",
            Some(Role::Manager),
            Some(r#"{"owner":"ghost"}"#),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let e = h
        .api("GET", "/api/leads/CCCC0004", Some(Role::Viewer), None)
        .await;
    let v: serde_json::Value = serde_json::from_str(&e.body).unwrap();
    assert_eq!(v["owner"], serde_json::Value::Null);
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "owner").count(), 2);
}
