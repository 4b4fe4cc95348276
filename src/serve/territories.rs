//! `GET /territories`: the territory rollup of `onelead territories` (its sorts by the same
//! names), a page of rows at a time: a million-lead database has tens of thousands.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Session;
use super::error::PageError;
use super::html::{self, Nav};
use super::{AppError, AppState};
use crate::report::money;
use crate::views::{Territory, TerritorySort};

/// The sorts by their names (those of `onelead territories --sort`).
const SORTS: [(&str, TerritorySort); 4] = [
    ("territory", TerritorySort::Territory),
    ("leads", TerritorySort::Leads),
    ("score", TerritorySort::Score),
    ("pipeline", TerritorySort::Pipeline),
];

fn territory_sort(name: &str) -> Option<TerritorySort> {
    SORTS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, s)| *s)
}

/// Rows per page.
const ROWS: usize = 100;

/// The page's query.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TerritoryQuery {
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// `GET /territories`.
pub async fn show(
    State(state): State<AppState>,
    s: Session,
    q: Result<Query<TerritoryQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(q) = q.map_err(|e| AppError::bad("query", e.body_text()))?;
    let sort = match q.sort.as_deref().filter(|v| !v.is_empty()) {
        None => TerritorySort::Leads,
        Some(v) => territory_sort(v).ok_or_else(|| {
            AppError::bad(
                "sort",
                format!("`{v}` is not one of territory, leads, score, pipeline"),
            )
        })?,
    };
    let page = q.page.unwrap_or(1).max(1);
    let all = state.db(move |r, _| r.territories(sort)).await?;
    let pages = all.len().div_ceil(ROWS).max(1);
    let rows: Vec<&Territory> = all.iter().skip((page - 1) * ROWS).take(ROWS).collect();
    let sort_name = SORTS
        .iter()
        .find(|(_, s)| *s == sort)
        .map_or("leads", |(n, _)| n);
    let body = html! {
        p {
            (all.len()) " territories · sort by "
            @for (label, key) in [("territory", "territory"), ("leads", "leads"), ("score", "score"), ("pipeline", "pipeline")] {
                a href={ "/territories?sort=" (key) } aria-current=[(key == sort_name).then_some("true")] { (label) } " "
            }
        }
        div.scroll { table.grid {
            thead { tr {
                th { "territory" } th { "name" } th.num { "accounts" } th.num { "install base" } th.num { "leads" }
                th.num { "critical" } th.num { "high" } th.num { "medium" } th.num { "low" } th.num { "avg score" } th.num { "pipeline" }
            } }
            tbody { @for t in &rows {
                tr {
                    td { @if let Some(id) = &t.territory_id {
                        a href={ "/leads?territory=" (form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()) } { (id) }
                    } @else { "(none)" } }
                    td { (t.territory_name.as_deref().unwrap_or("")) }
                    td.num { (t.accounts) } td.num { (t.install_base) } td.num { (t.leads) }
                    td.num { (t.by_priority.critical) } td.num { (t.by_priority.high) }
                    td.num { (t.by_priority.medium) } td.num { (t.by_priority.low) }
                    td.num { (t.avg_score.map_or("—".into(), html::score)) }
                    td.num { (t.pipeline.map_or("—".into(), money)) }
                }
            } }
        } }
        div.paging {
            @if page > 1 { a href={ "/territories?sort=" (sort_name) "&page=" (page - 1) } { "← previous" } }
            span { "page " (page) " of " (pages) }
            @if page < pages { a href={ "/territories?sort=" (sort_name) "&page=" (page + 1) } rel="next" { "next →" } }
        }
    };
    Ok(html::page("Territories", &s, Nav::Territories, &body))
}
