//! `GET /analytics`: score histogram, type × priority, territory leaderboard, family mix and
//! support coverage, drawn as SVG on the server by the HTML report's own chart code.

use axum::extract::State;
use maud::{Markup, html};

use super::AppState;
use super::auth::Session;
use super::error::PageError;
use super::html::{self, Nav};
use crate::report::html::analytics;
use crate::views::{self, Report};

/// `GET /analytics`.
pub async fn show(State(state): State<AppState>, s: Session) -> Result<Markup, PageError> {
    let a = state.db(|r, _| views::analytics(r)).await?;
    let r = Report {
        histogram: a.score_histogram,
        by_type: a.by_type_priority,
        territories: a.territory_leaderboard,
        families: a.product_families,
        coverage: a.coverage,
        ..Report::default()
    };
    let body = html! { (html::svg(|out| analytics(out, &r))) };
    Ok(html::page("Analytics", &s, Nav::Analytics, &body))
}
