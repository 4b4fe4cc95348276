//! Owners, for managers and admins: `POST /leads/{id}/owner` (one lead), `POST /leads/reassign`
//! (every lead matching the queue's filters, in one transaction), and the forms for them. The
//! new owner must be a user; the change goes through the journal like a status change and is
//! recorded in each lead's history under the manager's name.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Session, require};
use super::error::{Fields, PageError};
use super::filter::{self, QueueQuery};
use super::html::{self, Nav};
use super::{AppError, AppState};
use crate::auth::Role;
use crate::lifecycle::now_utc;
use crate::store::journal::{self, Change};
use crate::views::LeadFilter;

/// The longest note kept with a change of owner.
const MAX_NOTE: usize = super::lead::MAX_NOTE;

/// Checks the new owner and the note: the owner is a user's name (any case; stored as the
/// user spelt it) or empty for nobody.
async fn checked(state: &AppState, owner: &str, note: Option<&str>) -> Result<Change, AppError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(AppError::bad(
            "note",
            format!("longer than {MAX_NOTE} characters"),
        ));
    }
    let owner = owner.trim().to_string();
    let owner = if owner.is_empty() {
        None
    } else {
        let name = owner.clone();
        let user = state.db(move |_, desk| desk.user(&name)).await?;
        Some(
            user.ok_or_else(|| AppError::bad("owner", format!("no user `{owner}`")))?
                .name,
        )
    };
    Ok(Change::Owner {
        owner,
        note: note.map(str::to_string),
    })
}

/// Records `change` on `ids` (or on every lead matching `filter`) under `by`, then asks the
/// applier to apply it. Returns how many leads it names and whether it is applied already.
pub async fn record(
    state: &AppState,
    ids: Option<Vec<String>>,
    filter: Option<LeadFilter>,
    change: Change,
    by: String,
) -> Result<(usize, bool), AppError> {
    let n = state
        .db(move |r, desk| {
            let ids = match (ids, filter) {
                (Some(ids), _) => ids,
                (None, Some(f)) => r.lead_ids(&f)?,
                (None, None) => Vec::new(),
            };
            if ids.is_empty() {
                return Ok(0);
            }
            let found = journal::record_owner(desk, r, &ids, &change, &by, &now_utc())?;
            Ok(found.len())
        })
        .await?;
    let applied = n == 0 || state.apply_now().await;
    Ok((n, applied))
}

/// The owner form fields.
#[derive(Debug, Deserialize)]
pub struct OwnerForm {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    note: String,
}

/// `POST /leads/{id}/owner`.
pub async fn set(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Fields(f): Fields<OwnerForm>,
) -> Result<Response, PageError> {
    require(&s.user, Role::Manager, "assign owners")?;
    let change = checked(&state, &f.owner, Some(&f.note)).await?;
    let canonical = id.trim().to_uppercase();
    record(&state, Some(vec![id]), None, change, s.user.name.clone()).await?;
    Ok(Redirect::to(&format!("/leads/{canonical}?saved=1")).into_response())
}

/// The bulk form fields: the queue's query string and the new owner.
#[derive(Debug, Deserialize)]
pub struct ReassignForm {
    #[serde(default)]
    query: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    note: String,
}

/// `POST /leads/reassign`: every lead matching the filters, in one journal entry (one
/// transaction when applied).
pub async fn reassign(
    State(state): State<AppState>,
    s: Session,
    Fields(f): Fields<ReassignForm>,
) -> Result<Markup, PageError> {
    require(&s.user, Role::Manager, "assign owners")?;
    let q = filter::parse_for(Some(&f.query), None, &s.user.name)?;
    let change = checked(&state, &f.owner, Some(&f.note)).await?;
    let who = match &change {
        Change::Owner { owner, .. } => owner.clone().unwrap_or_else(|| "nobody".into()),
        Change::Status { .. } => String::new(),
    };
    let (n, applied) = record(
        &state,
        None,
        Some(q.filter.clone()),
        change,
        s.user.name.clone(),
    )
    .await?;
    let back = format!("/leads?{}", filter::query_string(&q, None));
    let body = html! {
        p.ok {
            (n) " leads assigned to " strong { (who) }
            @if !applied { " (a run is writing the leads: the change is kept and applied when it ends)" }
        }
        p { a href=(back) { "Back to the queue" } }
    };
    Ok(html::page("Reassigned", &s, Nav::Leads, &body))
}

/// The manager's form under the queue: assign every lead matching its filters.
pub fn reassign_form(q: &QueueQuery, count: usize, s: &Session) -> Markup {
    if !s.user.role.allows(Role::Manager) || count == 0 {
        return html! {};
    }
    html! {
        div.panel {
            h3 { "Assign every lead matching these filters" }
            form.change method="post" action="/leads/reassign" {
                (html::csrf_field(s))
                input type="hidden" name="query" value=(filter::query_string(q, None));
                label { "owner (a user's name; empty for nobody)" input type="text" name="owner" maxlength="64"; }
                label { "note" input type="text" name="note" maxlength="2000"; }
                button.primary type="submit" { "Assign" }
            }
        }
    }
}

/// The manager's form on a lead page.
pub fn lead_form(lead_id: &str, owner: Option<&str>, s: &Session) -> Markup {
    if !s.user.role.allows(Role::Manager) {
        return html! {};
    }
    html! {
        form.change method="post" action={ "/leads/" (lead_id) "/owner" } {
            (html::csrf_field(s))
            label { "owner (a user's name; empty for nobody)" input type="text" name="owner" value=[owner] maxlength="64"; }
            label { "note" input type="text" name="note" maxlength="2000"; }
            button.primary type="submit" { "Assign" }
        }
    }
}

/// The body of `POST /api/leads/{id}/owner`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerBody {
    /// The user, or `null` for nobody.
    pub owner: Option<String>,
    /// A note for the history.
    #[serde(default)]
    pub note: Option<String>,
}

/// The API's change of owner; returns `(owner before, change, applied)`.
pub async fn api_set(
    state: &AppState,
    id: String,
    body: OwnerBody,
    by: String,
) -> Result<(Option<String>, bool), AppError> {
    let change = checked(
        state,
        body.owner.as_deref().unwrap_or(""),
        body.note.as_deref(),
    )
    .await?;
    let owner = match &change {
        Change::Owner { owner, .. } => owner.clone(),
        Change::Status { .. } => None,
    };
    record(state, Some(vec![id]), None, change, by)
        .await
        .map(|(_, a)| (owner, a))
}
