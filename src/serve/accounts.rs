//! `GET /accounts/{id}`: the account 360° — aliases (and why merged), install base, leads,
//! opportunities, projects and credits — looked up as `onelead account` looks up (id, name,
//! alias or part of one). Each list shows its first rows; the leads link to the queue.

use axum::extract::{Path, State};
use maud::{Markup, html};

use super::auth::Session;
use super::error::PageError;
use super::html::{self, Nav};
use super::{AppError, AppState};
use crate::derive::account::normalize;
use crate::store::journal;
use crate::views::{Account360, Identity, Lookup, Overlay};

/// Rows shown per list.
const ROWS: usize = 50;

enum Found {
    /// The account, its leads with their pending changes laid over them.
    One(Box<Account360>, Overlay),
    Several(Vec<Identity>),
}

/// `GET /accounts/{id}`.
pub async fn show(
    State(state): State<AppState>,
    s: Session,
    Path(query): Path<String>,
) -> Result<Markup, PageError> {
    let normalized = normalize(&query, &state.cfg().accounts.legal_suffixes);
    let q = query.clone();
    let found = state
        .db(move |r, desk| {
            Ok(match r.find_account(&q, &normalized)? {
                Lookup::Found(a) => {
                    // The journal first: see `journal::pending`.
                    let pending = journal::overlay(desk, r)?;
                    let mut v = r.account_360(a, Some(ROWS))?;
                    for l in &mut v.leads {
                        pending.apply(l);
                    }
                    Ok(Found::One(Box::new(v), pending))
                }
                Lookup::Ambiguous(list) => Ok(Found::Several(list)),
                Lookup::Missing(names) => Err(names),
            })
        })
        .await?;
    let body = match found {
        Ok(Found::One(a, pending)) => one(&a, &pending),
        Ok(Found::Several(list)) => several(&query, &list),
        Err(names) => {
            let hint = if names.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", names.join(", "))
            };
            return Err(AppError::NotFound(format!("no account matches `{query}`{hint}")).into());
        }
    };
    Ok(html::page("Account", &s, Nav::Territories, &body))
}

fn several(query: &str, list: &[Identity]) -> Markup {
    html! {
        p { "“" (query) "” matches " (list.len()) " accounts:" }
        ul { @for a in list {
            li { (html::account_link(Some(&a.account_id), Some(&a.name))) " (" (a.account_id) ")" }
        } }
    }
}

fn more(shown: usize, total: usize) -> Markup {
    html! { @if total > shown { p { "and " (total - shown) " more" } } }
}

fn one(v: &Account360, pending: &Overlay) -> Markup {
    let a = &v.account;
    let leads_href = format!(
        "/leads?account={}",
        form_urlencoded::byte_serialize(a.account_id.as_bytes()).collect::<String>()
    );
    html! {
        div.panel {
            h3 { (a.name) " " small { (a.account_id) } }
            dl.facts {
                dt { "territory" } dd { (a.territory_id.as_deref().unwrap_or("—")) " " (a.territory_name.as_deref().unwrap_or("")) }
                dt { "name from" } dd { (a.name_source) }
                dt { "projects" } dd { (v.projects.count) " (" (v.projects.closed) " closed; typical size " (v.projects.typical_size.as_deref().unwrap_or("—")) ")" }
                dt { "active credits" } dd { (v.service_credits.active_total) }
            }
        }
        div.panel {
            h3 { "Leads" }
            (html::lead_table(&v.leads, pending))
            @if v.leads_total > v.leads.len() { p { a href=(leads_href) { "all " (v.leads_total) " leads in the queue →" } } }
        }
        div.cols {
            div.panel {
                h3 { "Install base" }
                p { @for c in &v.risk_levels { (c.value.as_deref().unwrap_or("(none)")) " " (c.count) " · " } }
                table.mini {
                    thead { tr { th { "serial" } th { "product" } th { "family" } th { "risk" } th { "EOL" } th { "support" } } }
                    tbody { @for x in &v.install_base {
                        tr {
                            td { (x.serial_number.as_deref().unwrap_or("")) } td { (x.product_name.as_deref().unwrap_or("")) }
                            td { (x.product_family.as_deref().unwrap_or("")) } td { (x.risk_level.as_deref().unwrap_or("")) }
                            td { (x.eol_date.as_deref().unwrap_or("")) } td { (x.support_status.as_deref().unwrap_or("")) }
                        }
                    } }
                }
                (more(v.install_base.len(), v.install_base_total))
            }
            div.panel {
                h3 { "Aliases" }
                table.mini {
                    thead { tr { th { "name" } th { "method" } th.num { "similarity" } th { "from" } th.num { "rows" } } }
                    tbody { @for x in &v.aliases {
                        tr { td { (x.alias) } td { (x.method) } td.num { (x.similarity) } td { (x.source_table) } td.num { (x.occurrences) } }
                    } }
                }
                h3 { "Opportunities" }
                ul { @for o in &v.opportunities {
                    li { (o.opportunity_id.as_deref().unwrap_or("")) " " (o.name.as_deref().unwrap_or("")) " " small { (o.product_line.as_deref().unwrap_or("")) } }
                } }
                (more(v.opportunities.len(), v.opportunities_total))
                h3 { "Credits expiring" }
                ul { @for c in &v.service_credits.expiring {
                    li { (c.project_name.as_deref().unwrap_or("")) ": " (c.active.unwrap_or(0)) " active, ends " (c.contract_end.as_deref().unwrap_or("?")) }
                } }
            }
        }
    }
}
