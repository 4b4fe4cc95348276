//! `GET /leads/{id}`: one lead — score breakdown, reasons, services and SKUs, history, and the
//! status form; `POST /leads/{id}/status` records a status change with a note, under the
//! signed-in user's name (reps and above).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Session, require};
use super::error::{Fields, PageError};
use super::html::{self, Nav};
use super::{AppError, AppState};
use crate::auth::Role;
use crate::lifecycle::{Status, StatusChange, now_utc};
use crate::report::explain::{Explanation, explain};
use crate::store::journal::{self, Change, Pending};
use crate::views::{self, LeadLookup};

/// A lead with what its page shows.
pub struct LeadPage {
    /// Breakdown, trigger, services, history.
    pub e: Explanation,
    /// Changes recorded but not yet in the lead database.
    pub pending: Vec<Pending>,
}

/// Reads a lead's page data; 404 with "did you mean" ids when there is no such lead.
pub async fn read(state: &AppState, id: String) -> Result<LeadPage, AppError> {
    state
        .db(move |r, desk| {
            // The journal first: see `journal::pending`.
            let canonical = id.trim().to_uppercase();
            let mut pending = journal::pending(desk, r, &canonical)?;
            let LeadLookup::Found(lead, events) = views::lead(r, &id)? else {
                let near = r.similar_ids(&id)?;
                let hint = if near.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean {}?", crate::lifecycle::backticked(&near))
                };
                return Err(crate::error::Error::NotFound(format!(
                    "no lead `{canonical}`{hint}"
                )));
            };
            pending.retain(|p| p.lead_id == lead.lead_id);
            Ok(LeadPage {
                e: explain(*lead, events),
                pending,
            })
        })
        .await
}

/// Query flags of the lead page.
#[derive(Debug, Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /leads/{id}`.
pub async fn show(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    shown: Result<Query<Shown>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(shown) = shown.map_err(|e| AppError::bad("query", e.body_text()))?;
    let page = read(&state, id).await?;
    let notice = shown.saved.map(|_| {
        if page.pending.is_empty() {
            "saved".to_string()
        } else {
            "saved; a run is writing the leads, so the change is applied as soon as it ends \
             (it is kept meanwhile)"
                .to_string()
        }
    });
    Ok(render(&page, &s, notice.as_deref(), None))
}

fn render(page: &LeadPage, s: &Session, notice: Option<&str>, error: Option<&str>) -> Markup {
    let e = &page.e;
    let status = page
        .pending
        .iter()
        .rev()
        .find_map(|p| p.change.status())
        .unwrap_or(e.status.as_str());
    let body = html! {
        @if let Some(n) = notice { p.ok { (n) } }
        @if let Some(m) = error { p.error { (m) } }
        p {
            (html::priority(&e.priority)) " score " strong { (html::score(e.score)) }
            " · status " strong #status { (status) }
            " · owner " strong #owner { (e_owner(page)) }
            @if !page.pending.is_empty() { " " span.notice { "pending" } }
            @if !e.active { " · " em { "closed: its trigger no longer fires" } }
        }
        div.cols {
            (history(page))
            @if s.user.role.allows(Role::Rep) {
                div {
                    (status_form(e, s, status))
                    @if s.user.role.allows(Role::Manager) {
                        div.panel { h3 { "Owner" } (super::owner::lead_form(&e.lead_id, e.owner.as_deref(), s)) }
                    }
                }
            }
        }
        div.cols {
            div.panel {
                h3 { (e.trigger.title) }
                p { (e.trigger.description) }
                p { strong { "Next step: " } (e.trigger.recommended_action) }
                ul.reasons { @for r in &e.trigger.reasons { li { (r) } } }
            }
            div.panel {
                h3 { "Asset and account" }
                dl.facts {
                    dt { "account" } dd { (html::account_link(e.account_id.as_deref(), e.account_name.as_deref())) }
                    dt { "territory" } dd { (e.territory_id.as_deref().unwrap_or("—")) }
                    dt { "serial" } dd { (e.serial_number.as_deref().unwrap_or("—")) }
                    dt { "product" } dd { (e.product_name.as_deref().unwrap_or("—")) }
                    dt { "family" } dd { (e.product_family.as_deref().unwrap_or("—")) }
                    dt { "days past EOL" } dd { (e.days_since_eol.map_or("—".into(), |d| d.to_string())) }
                    dt { "lead type" } dd { (e.trigger.lead_type) " (" (e.trigger.rule) ")" }
                }
            }
        }
        (breakdown(e))
        (services(e))
    };
    html::page(&format!("Lead {}", e.lead_id), s, Nav::Leads, &body)
}

/// The owner to show: a pending change of owner wins.
fn e_owner(page: &LeadPage) -> String {
    let pending = page.pending.iter().rev().find_map(|p| match &p.change {
        Change::Owner { owner, .. } => Some(owner.clone()),
        Change::Status { .. } => None,
    });
    pending
        .unwrap_or_else(|| page.e.owner.clone())
        .unwrap_or_else(|| "nobody".into())
}

fn breakdown(e: &Explanation) -> Markup {
    html! {
        div.panel {
            h3 { "Score breakdown" }
            table.mini {
                thead { tr { th { "factor" } th.num { "value" } th.num { "weight" } th.num { "contribution" } th { "reasons" } } }
                tbody {
                    @for f in &e.factors {
                        tr {
                            td { (f.factor) } td.num { (html::score(f.value)) } td.num { (f.weight) }
                            td.num { (html::score(f.contribution)) }
                            td { ul.reasons { @for r in &f.reasons { li { (r) } } } }
                        }
                    }
                    tr.total { td { "total" } td {} td {} td.num { (html::score(e.factor_total)) } td {} }
                }
            }
        }
    }
}

fn services(e: &Explanation) -> Markup {
    html! {
        div.panel {
            h3 { "Recommended services" }
            @if e.recommended_services.is_empty() {
                p { "No service of the SKU sheet applies to this product family." }
            } @else {
                table.mini {
                    thead { tr { th { "service" } th { "product" } th.num { "priority" } th { "SKUs" } } }
                    tbody {
                        @for r in &e.recommended_services {
                            tr {
                                td { (r.service) } td { (r.product) }
                                td.num { (r.priority) " (" (r.base) " + " (r.boost) ")" }
                                td { (r.skus.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn history(page: &LeadPage) -> Markup {
    html! {
        div.panel {
            h3 { "History" }
            ol.history #history {
                @for ev in &page.e.events {
                    li {
                        time { (ev.at) } " · " (ev.kind)
                        @if ev.kind == "owner" {
                            " " (ev.from_status.as_deref().unwrap_or("nobody")) " → " (ev.to_status.as_deref().unwrap_or("nobody"))
                        } @else if let (Some(f), Some(t)) = (&ev.from_status, &ev.to_status) { " " (f) " → " (t) }
                        @if let Some(by) = &ev.by { " by " strong { (by) } }
                        @if let Some(n) = &ev.note { ": " q { (n) } }
                    }
                }
                @for p in &page.pending {
                    li.pending {
                        time { (p.at) }
                        @match &p.change {
                            Change::Status { status, note, .. } => {
                                " · status " (p.from_status.as_deref().unwrap_or("?")) " → " (status)
                                " by " strong { (p.by) }
                                @if let Some(n) = note { ": " q { (n) } }
                            }
                            Change::Owner { owner, note } => {
                                " · owner " (p.from_status.as_deref().unwrap_or("nobody")) " → " (owner.as_deref().unwrap_or("nobody"))
                                " by " strong { (p.by) }
                                @if let Some(n) = note { ": " q { (n) } }
                            }
                        }
                        " (pending: applied when the run in progress ends)"
                    }
                }
            }
        }
    }
}

fn status_form(e: &Explanation, s: &Session, current: &str) -> Markup {
    let from = Status::parse(current);
    html! {
        div.panel {
            h3 { "Change status" }
            form.change method="post" action={ "/leads/" (e.lead_id) "/status" } {
                (html::csrf_field(s))
                label { "status "
                    select name="status" {
                        @for st in Status::ALL {
                            @let allowed = from.is_none_or(|f| f.can_move_to(st));
                            option value=(st.as_str()) selected[st.as_str() == current] disabled[!allowed] { (st.as_str()) }
                        }
                    }
                }
                label { "note" textarea name="note" maxlength="2000" placeholder="what happened (kept in the history)" {} }
                button.primary type="submit" { "Save" }
            }
        }
    }
}

/// The status form's fields (the CSRF token is checked by the session layer).
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

/// The longest note kept.
pub const MAX_NOTE: usize = 2000;

/// Checks a status change as a form or the API gave it.
pub fn parse_change(
    status: &str,
    note: Option<&str>,
) -> Result<(Status, Option<String>), AppError> {
    let st = Status::parse(status).ok_or_else(|| {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        AppError::bad(
            "status",
            format!("`{status}` is not one of {}", names.join(", ")),
        )
    })?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(AppError::bad(
            "note",
            format!("longer than {MAX_NOTE} characters"),
        ));
    }
    Ok((st, note.map(str::to_string)))
}

/// Records a status change on one lead under `by`, then asks the applier to apply it.
/// Returns whether it is in the lead database already.
pub async fn record(
    state: &AppState,
    id: String,
    status: Status,
    note: Option<String>,
    by: String,
) -> Result<(crate::lifecycle::Applied, bool), AppError> {
    let applied = state
        .db(move |r, desk| {
            let change = StatusChange {
                status,
                note: note.as_deref(),
                by: Some(&by),
                opportunity: None,
                force: false,
            };
            journal::record_status(desk, r, &[id], &change, &now_utc())
        })
        .await
        .map_err(|e| match e {
            AppError::BadRequest { message, .. } => AppError::BadRequest {
                field: "status".into(),
                message,
            },
            other => other,
        })?;
    let done = state.apply_now().await;
    let one = applied
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("a status change recorded nothing".into()))?;
    Ok((one, done))
}

/// `POST /leads/{id}/status`.
pub async fn set_status(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Fields(f): Fields<StatusForm>,
) -> Result<Response, PageError> {
    require(&s.user, Role::Rep, "change a lead's status")?;
    let checked = parse_change(&f.status, Some(&f.note));
    let outcome = match checked {
        Ok((status, note)) => record(&state, id.clone(), status, note, s.user.name.clone()).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok((a, _)) => Ok(Redirect::to(&format!("/leads/{}?saved=1", a.lead_id)).into_response()),
        Err(AppError::BadRequest { message, .. }) => {
            let page = read(&state, id).await?;
            Ok((
                StatusCode::BAD_REQUEST,
                render(&page, &s, None, Some(&message)),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}
