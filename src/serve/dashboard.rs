//! `GET /`: the dashboard — totals, leads by priority and type, the pipeline estimate and the
//! top 10 leads, from the same views as `onelead dashboard`.

use axum::extract::State;
use maud::{Markup, html};

use super::AppState;
use super::auth::Session;
use super::error::PageError;
use super::html::{self, Nav};
use crate::report::money;
use crate::store::journal;
use crate::views;

/// `GET /`.
pub async fn show(State(state): State<AppState>, s: Session) -> Result<Markup, PageError> {
    let (d, pending) = state
        .db(|r, desk| {
            // The journal first: see `journal::pending`.
            let pending = journal::overlay(desk, r)?;
            let mut d = views::dashboard(r)?;
            for l in &mut d.top {
                pending.apply(l);
            }
            Ok((d, pending))
        })
        .await?;
    let p = &d.by_priority;
    let pipeline = d.pipeline.estimated_value.map_or_else(
        || ("—".to_string(), "no lead carries an estimate".to_string()),
        |v| {
            (
                money(v),
                format!("from {} leads", d.pipeline.leads_with_estimate),
            )
        },
    );
    let by_type = &d.by_type;
    let body = html! {
        @if p.total() == 0 {
            p.notice { "No leads yet: run " code { "onelead run" } " first." }
        }
        div.kpis {
            div.kpi { span.n { (p.total()) } span.t { "active leads" } }
            div.kpi.hot {
                span.n { (p.critical + p.high) } span.t { "critical / high" }
                span.s {
                    a href="/leads?priority=critical" { (p.critical) " critical" } " · "
                    a href="/leads?priority=high" { (p.high) " high" } " · "
                    a href="/leads?priority=medium" { (p.medium) " medium" } " · "
                    a href="/leads?priority=low" { (p.low) " low" }
                }
            }
            div.kpi { span.n { (pipeline.0) } span.t { "pipeline estimate" } span.s { (pipeline.1) } }
        }
        section {
            h3 { "Leads by type" }
            table.grid {
                thead { tr { th { "type" } th.num { "critical" } th.num { "high" } th.num { "medium" } th.num { "low" } th.num { "total" } } }
                tbody {
                    @for t in by_type {
                        @let href = format!("/leads?type={}", form_urlencoded::byte_serialize(t.lead_type.as_bytes()).collect::<String>());
                        tr {
                            td { a href=(href) { (t.lead_type) } }
                            td.num { (t.by_priority.critical) } td.num { (t.by_priority.high) }
                            td.num { (t.by_priority.medium) } td.num { (t.by_priority.low) }
                            td.num { (t.total) }
                        }
                    }
                }
            }
        }
        section {
            h3 { "Top 10 leads" }
            (html::lead_table(&d.top, &pending))
            p { a href="/leads" { "The whole queue →" } }
        }
    };
    Ok(html::page("Dashboard", &s, Nav::Dashboard, &body))
}
