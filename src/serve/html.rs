//! The page frame and the small pieces every page uses. maud escapes every value it splices
//! into the markup, so text from the spreadsheets (account names, titles) cannot become markup;
//! `PreEscaped` is used only for the SVG the chart module draws (which escapes its labels).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::auth::Session;
use crate::auth::Role;
use crate::views::Overlay;

/// The Content-Security-Policy of every answer: the page's own files only, no inline script or
/// style, no framing, forms posted only back here.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// htmx settings: no `eval` (the CSP forbids it anyway), no injected indicator `<style>`, and
/// error pages swapped in like any other (so a 403 is shown, not silently dropped).
const HTMX_CONFIG: &str = r#"{"allowEval":false,"includeIndicatorStyles":false,"historyCacheSize":0,"responseHandling":[{"code":"204","swap":false},{"code":"...","swap":true}]}"#;

/// Adds the security headers to every answer.
pub async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Dashboard.
    Dashboard,
    /// Lead queue (and lead pages).
    Leads,
    /// The signed-in user's leads.
    Mine,
    /// Territories (and accounts).
    Territories,
    /// Analytics.
    Analytics,
    /// Users.
    Users,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=(HTMX_CONFIG);
            title { (title) " · OneLead" }
            link rel="stylesheet" href=(super::assets::REPORT_CSS);
            link rel="stylesheet" href=(super::assets::APP_CSS);
            script src=(super::assets::HTMX) defer {}
        }
    }
}

/// A whole page for a signed-in user: header with navigation and sign-out, then `body`.
pub fn page(title: &str, s: &Session, nav: Nav, body: &Markup) -> Markup {
    let item = |n: Nav, href: &str, label: &str| {
        html! { a href=(href) aria-current=[(nav == n).then_some("page")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-boost="true" {
                header {
                    h1 { "OneLead" }
                    nav {
                        (item(Nav::Dashboard, "/", "Dashboard"))
                        (item(Nav::Leads, "/leads", "Leads"))
                        (item(Nav::Mine, "/leads?mine=1", "My leads"))
                        (item(Nav::Territories, "/territories", "Territories"))
                        (item(Nav::Analytics, "/analytics", "Analytics"))
                        @if s.user.role.allows(Role::Admin) {
                            (item(Nav::Users, "/users", "Users"))
                        }
                        form.signout method="post" action="/logout" {
                            (csrf_field(s))
                            span.who { (s.user.name) " · " (s.user.role.as_str()) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { h2 { (title) } (body) }
            }
        }
    }
}

/// A page for someone not signed in (the login form, errors before login).
pub fn bare_page(title: &str, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header { h1 { "OneLead" } }
                main { h2 { (title) } (body) }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// An error page (no navigation: it may be shown before sign-in).
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    bare_page(
        title,
        &html! {
            p.error { (message) }
            p { a href="/" { "Back to the dashboard" } }
        },
    )
}

/// 404 for any path no route knows.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        error_page(StatusCode::NOT_FOUND, "no such page"),
    )
        .into_response()
}

/// A priority badge coloured like the report's.
pub fn priority(p: &str) -> Markup {
    let class = match p {
        "CRITICAL" => "badge p0",
        "HIGH" => "badge p1",
        "MEDIUM" => "badge p2",
        _ => "badge p3",
    };
    html! { span class=(class) { (p) } }
}

/// A score with two decimals.
pub fn score(s: f64) -> String {
    crate::report::score(s)
}

/// Embeds SVG drawn by `report::html::svg` (which escapes every label itself).
pub fn svg(draw: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Markup {
    let mut out = Vec::new();
    if draw(&mut out).is_ok() {
        PreEscaped(String::from_utf8_lossy(&out).into_owned())
    } else {
        html! { p { "(chart unavailable)" } }
    }
}

/// A link to a lead's page.
pub fn lead_link(id: &str) -> Markup {
    html! { a href={ "/leads/" (id) } { (id) } }
}

/// A link to an account's page, by id, showing its name.
pub fn account_link(id: Option<&str>, name: Option<&str>) -> Markup {
    match (id, name) {
        (Some(id), name) => html! {
            a href={ "/accounts/" (form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()) } {
                (name.unwrap_or(id))
            }
        },
        (None, Some(name)) => html! { (name) },
        (None, None) => html! { "—" },
    }
}

/// The queue's table of leads, each with the changes still in the journal (`pending`) laid
/// over it already; those are marked.
pub fn lead_table(leads: &[crate::model::lead::Lead], pending: &Overlay) -> Markup {
    html! {
        div.scroll {
            table.grid #queue {
                thead { tr {
                    th { "lead" } th.num { "score" } th { "priority" } th { "type" } th { "title" }
                    th { "account" } th { "territory" } th { "family" } th { "status" } th { "owner" }
                } }
                tbody {
                    @for l in leads {
                        (lead_row(l, pending))
                    }
                }
            }
        }
    }
}

/// One row of [`lead_table`].
pub fn lead_row(l: &crate::model::lead::Lead, pending: &Overlay) -> Markup {
    let p = pending.get(&l.lead_id);
    let marked = |pending: bool| {
        html! { @if pending { " " span.notice title="saved; applied when the run in progress ends" { "pending" } } }
    };
    html! {
        tr {
            td.id { (lead_link(&l.lead_id)) }
            td.num { (score(l.score)) }
            td { (priority(&l.priority)) }
            td { (l.lead_type) }
            td { (l.title) }
            td { (account_link(l.account_id.as_deref(), l.account_name.as_deref())) }
            td { (l.territory_id.as_deref().unwrap_or("—")) }
            td { (l.product_family.as_deref().unwrap_or("—")) }
            td { (l.status) (marked(p.is_some_and(|p| p.status.is_some()))) }
            td { (l.owner.as_deref().unwrap_or("—")) (marked(p.is_some_and(|p| p.owner.is_some()))) }
        }
    }
}
