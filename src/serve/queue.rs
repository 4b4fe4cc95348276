//! `GET /leads`: the lead queue — every filter of `onelead leads` (by the same names, in the
//! URL), its sorts, keyset paging, saved views, "my leads", and grouping by account or by asset
//! (one asset yields up to three leads, shown side by side).

use axum::extract::{RawQuery, State};
use maud::{Markup, html};

use super::AppState;
use super::auth::Session;
use super::error::PageError;
use super::filter::{self, Group, QueueQuery};
use super::html::{self, Nav};
use crate::model::lead::Lead;
use crate::store::journal;
use crate::store::keyset::Cursor;
use crate::views::{self, LeadSort, Overlay, Statuses};

/// Leads per page unless `limit` says otherwise, and the most a page shows.
const PAGE: usize = 50;
const MAX_PAGE: usize = 500;
/// Counts stop here ("1000+"): a count walks the matching leads, and ten thousand of them under
/// a filter no index serves (a type, a status) took a quarter of a second at a million leads.
const COUNT_CAP: usize = 1_000;

/// What the page shows.
struct QueuePage {
    leads: Vec<Lead>,
    next: Option<Cursor>,
    count: usize,
    /// The changes accepted but not yet in the lead database (already laid over `leads`).
    pending: Overlay,
    views: Vec<(String, String)>,
    /// Group by asset: every active lead of the page's assets.
    siblings: Vec<Lead>,
}

/// `GET /leads`.
pub async fn show(
    State(state): State<AppState>,
    s: Session,
    RawQuery(raw): RawQuery,
) -> Result<Markup, PageError> {
    let q = filter::parse_for(raw.as_deref(), Some(MAX_PAGE), &s.user.name)?;
    let page_size = q.filter.limit.unwrap_or(PAGE);
    let (f, group, user_id) = (q.filter.clone(), q.group, s.user.id);
    let page = state
        .db(move |r, desk| {
            let mut f = f;
            f.limit = Some(page_size + 1);
            // The journal first: see `journal::pending`.
            f.overlay = journal::overlay(desk, r)?;
            let mut leads = views::leads(r, &f)?;
            let more = leads.len() > page_size;
            leads.truncate(page_size);
            let next = more
                .then(|| leads.last().map(|l| Cursor::after(l, f.sort)))
                .flatten();
            let siblings = if group == Group::Asset {
                let assets: Vec<(Option<String>, i64)> = leads
                    .iter()
                    .map(|l| (l.account_id.clone(), l.install_base_id))
                    .collect();
                let mut siblings = r.leads_of_assets(&assets)?;
                for l in &mut siblings {
                    f.overlay.apply(l);
                }
                siblings
            } else {
                Vec::new()
            };
            Ok(QueuePage {
                count: r.count_capped(&f, COUNT_CAP + 1)?,
                pending: f.overlay.clone(),
                views: desk.saved_views(user_id)?,
                leads,
                next,
                siblings,
            })
        })
        .await?;
    let (title, nav) = if q.mine {
        ("My leads", Nav::Mine)
    } else {
        ("Leads", Nav::Leads)
    };
    Ok(html::page(title, &s, nav, &body(&q, &page, &s)))
}

fn body(q: &QueueQuery, page: &QueuePage, s: &Session) -> Markup {
    let count = if page.count > COUNT_CAP {
        format!("{COUNT_CAP}+")
    } else {
        page.count.to_string()
    };
    html! {
        (filters(q))
        (saved_views(q, page, s))
        p { (count) " leads match" @if q.filter.after.is_some() { " · a later page" } }
        @match q.group {
            Group::None => (html::lead_table(&page.leads, &page.pending)),
            Group::Account => (by_account(&page.leads, &page.pending)),
            Group::Asset => (by_asset(&page.leads, &page.siblings)),
        }
        div.paging {
            @if q.filter.after.is_some() {
                a href={ "/leads?" (filter::query_string(q, None)) } { "← first page" }
            }
            @if let Some(next) = &page.next {
                a href={ "/leads?" (filter::query_string(q, Some(next))) } rel="next" { "next page →" }
            }
        }
        (super::owner::reassign_form(q, page.count, s))
    }
}

fn filters(q: &QueueQuery) -> Markup {
    let f = &q.filter;
    let has = |p: &str| f.priorities.iter().any(|x| x == p);
    let sort_name = filter::sort_name;
    let sorts = [
        LeadSort::Score,
        LeadSort::Priority,
        LeadSort::Account,
        LeadSort::Type,
        LeadSort::DaysPastEol,
    ];
    html! {
        form.filters method="get" action="/leads" {
            label { "type" input type="search" name="type" value=[f.lead_type.as_deref()]; }
            fieldset {
                legend { "priority" }
                @for p in ["critical", "high", "medium", "low"] {
                    label { input type="checkbox" name="priority" value=(p) checked[has(&p.to_uppercase())]; (p) }
                }
            }
            label { "min score" input type="number" name="min-score" step="any" value=[f.min_score]; }
            label { "territory" input type="text" name="territory" value=[f.territory.as_deref()]; }
            label { "account" input type="search" name="account" value=[f.account.as_deref()]; }
            label { "family" input type="text" name="family" value=[f.family.as_deref()]; }
            label { "status"
                select name="status" {
                    option value="" selected[f.statuses == Statuses::Open] { "open" }
                    option value="all" selected[f.statuses == Statuses::Any] { "all" }
                    @for st in crate::lifecycle::Status::ALL {
                        option value=(st.as_str()) selected[f.statuses == Statuses::Only(vec![st.as_str().to_string()])] { (st.as_str()) }
                    }
                }
            }
            @if !q.mine {
                label { "owner" input type="text" name="owner" value=[f.owner.as_deref()]; }
            }
            label { "sort"
                select name="sort" {
                    @for st in sorts {
                        option value=(sort_name(st)) selected[f.sort == st] { (sort_name(st)) }
                    }
                }
            }
            label { "group"
                select name="group" {
                    option value="none" selected[q.group == Group::None] { "none" }
                    option value="account" selected[q.group == Group::Account] { "by account" }
                    option value="asset" selected[q.group == Group::Asset] { "by asset" }
                }
            }
            label { "per page" input type="number" name="limit" min="1" max=(MAX_PAGE) value=(f.limit.unwrap_or(PAGE)); }
            @if q.mine { input type="hidden" name="mine" value="1"; }
            button.primary type="submit" { "Filter" }
            a href={ "/leads" @if q.mine { "?mine=1" } } { "clear" }
        }
    }
}

fn saved_views(q: &QueueQuery, page: &QueuePage, s: &Session) -> Markup {
    html! {
        div.views {
            span { "saved views:" }
            @for (name, query) in &page.views {
                a.chip href={ "/leads?" (query) } { (name) }
                form method="post" action="/views/delete" {
                    (html::csrf_field(s))
                    input type="hidden" name="name" value=(name);
                    button type="submit" title={ "forget “" (name) "”" } { "×" }
                }
            }
            form method="post" action="/views" {
                (html::csrf_field(s))
                input type="hidden" name="query" value=(filter::query_string(q, None));
                input type="text" name="name" placeholder="name this view" required maxlength="60";
                button type="submit" { "save" }
            }
        }
    }
}

/// The page sorted by account, with a heading row per account.
fn by_account(leads: &[Lead], pending: &Overlay) -> Markup {
    let mut groups: Vec<(&Lead, Vec<&Lead>)> = Vec::new();
    for l in leads {
        match groups.last_mut() {
            Some((first, members)) if first.account_id == l.account_id => members.push(l),
            _ => groups.push((l, vec![l])),
        }
    }
    html! {
        div.scroll { table.grid #queue {
            thead { tr { th { "lead" } th.num { "score" } th { "priority" } th { "type" } th { "title" } th { "account" } th { "territory" } th { "family" } th { "status" } th { "owner" } } }
            tbody {
                @for (first, members) in &groups {
                    tr.group { th colspan="10" {
                        (html::account_link(first.account_id.as_deref(), first.account_name.as_deref()))
                        " · " (members.len()) " on this page"
                    } }
                    @for l in members { (html::lead_row(l, pending)) }
                }
            }
        } }
    }
}

/// One row per asset of the page, its active leads (from any page) side by side, each with its
/// pending changes laid over it.
fn by_asset(leads: &[Lead], siblings: &[Lead]) -> Markup {
    let mut order: Vec<i64> = Vec::new();
    for l in leads {
        if !order.contains(&l.install_base_id) {
            order.push(l.install_base_id);
        }
    }
    let of = |asset: i64| -> Vec<&Lead> {
        let mut v: Vec<&Lead> = siblings
            .iter()
            .chain(leads)
            .filter(|l| l.install_base_id == asset)
            .collect();
        v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.lead_id.cmp(&b.lead_id)));
        v.dedup_by(|a, b| a.lead_id == b.lead_id);
        v
    };
    html! {
        div.scroll { table.grid #queue {
            thead { tr { th { "asset" } th { "account" } th { "family" } th { "leads (best first)" } } }
            tbody {
                @for asset in &order {
                    @let ls = of(*asset);
                    @if let Some(first) = ls.first() {
                        tr {
                            td { (first.serial_number.as_deref().unwrap_or("—")) br; small { (first.product_name.as_deref().unwrap_or("")) } }
                            td { (html::account_link(first.account_id.as_deref(), first.account_name.as_deref())) }
                            td { (first.product_family.as_deref().unwrap_or("—")) }
                            td { div.side {
                                @for l in &ls {
                                    a href={ "/leads/" (l.lead_id) } {
                                        (html::priority(&l.priority)) " " (l.lead_type) " · " (html::score(l.score)) " · " (l.status)
                                    }
                                }
                            } }
                        }
                    }
                }
            }
        } }
    }
}
