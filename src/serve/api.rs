//! The JSON API: `GET /api/leads` (the filters of `onelead leads`, by the same names, and
//! exactly its `--format json` output), `GET /api/leads/{id}` (the JSON of `onelead explain`),
//! `POST /api/leads/{id}/status` (`{"status": …, "note": …}`), and `GET /healthz`. Requests
//! authenticate with `Authorization: Bearer TOKEN` (see `auth::api`). Like the CLI, both reads
//! show a change of status or owner from the moment it is accepted (`LeadFilter::overlay`).
//!
//! A `limit` pages the list: when more leads follow, the `Link` header names the next page
//! (`rel="next"`, a keyset cursor in `after=`), read in the same snapshot as the page.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{ApiUser, require};
use super::{AppError, AppState, filter, stream};
use crate::auth::Role;
use crate::lifecycle;
use crate::report::explain::explain;
use crate::store::journal;
use crate::store::keyset::Cursor;
use crate::views::{self, LeadFilter, LeadLookup, Reader};

/// `GET /api/leads`.
pub async fn leads(
    State(state): State<AppState>,
    user: ApiUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let q = filter::parse_for(raw.as_deref(), None, &user.0.name)?;
    if q.group != filter::Group::None {
        return Err(AppError::bad(
            "group",
            "grouping is for the pages; the API lists leads",
        ));
    }
    let (mut writer, body) = stream::channel();
    let (head_tx, head_rx) = tokio::sync::oneshot::channel::<Result<Option<Cursor>, String>>();
    let aging_days = state.cfg().aging_days;
    let f = q.filter.clone();
    state
        .spawn_db(move |r, desk| {
            // The journal first (see `journal::pending`), then, in one snapshot, the next-page
            // cursor and the page itself.
            let mut f = f;
            let next = journal::overlay(desk, r).and_then(|o| {
                f.overlay = o;
                next_cursor(r, &f)
            });
            let next = match next {
                Ok(n) => n,
                Err(e) => {
                    let _ = head_tx.send(Err(e.to_string()));
                    return Err(e);
                }
            };
            if head_tx.send(Ok(next)).is_err() {
                return Ok(());
            }
            let now = chrono::Utc::now();
            let written = lifecycle::queue_json(&mut writer, r, &f, now, aging_days)
                .and_then(|()| Ok(std::io::Write::flush(&mut writer)?));
            if let Err(e) = written {
                if !e.is_broken_pipe() {
                    writer.fail(e.to_string());
                }
                return Err(e);
            }
            Ok(())
        })
        .await?;
    let next = head_rx
        .await
        .map_err(|_| AppError::Internal("the lead reader stopped".into()))?
        .map_err(AppError::Internal)?;
    let mut resp = Response::new(Body::new(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(c) = next {
        let link = format!(
            "</api/leads?{}>; rel=\"next\"",
            filter::query_string(&q, Some(&c))
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.insert(header::LINK, v);
        }
    }
    Ok(resp)
}

/// With a limit: the cursor after the page's last lead, when another lead follows it.
fn next_cursor(r: &mut Reader, f: &LeadFilter) -> crate::Result<Option<Cursor>> {
    let Some(limit) = f.limit else {
        return Ok(None);
    };
    // The page's last lead and the one after it, if any, read by walking the same order.
    let probe = LeadFilter {
        limit: Some(limit + 1),
        ..f.clone()
    };
    let mut seen = 0_usize;
    let mut last: Option<Cursor> = None;
    let mut more = false;
    r.each_lead(&probe, &mut |lead| {
        seen += 1;
        if seen == limit {
            last = Some(Cursor::after(&lead, f.sort));
        } else if seen > limit {
            more = true;
        }
        Ok(())
    })?;
    Ok(last.filter(|_| more))
}

/// `GET /api/leads/{id}`: the lead as `onelead explain --format json` prints it.
pub async fn lead(
    State(state): State<AppState>,
    _user: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let e = state
        .db(move |r, desk| {
            let overlay = journal::overlay(desk, r)?;
            let LeadLookup::Found(mut lead, events) = views::lead(r, &id)? else {
                return Err(crate::Error::NotFound(format!(
                    "no lead `{}`",
                    id.trim().to_uppercase()
                )));
            };
            overlay.apply(&mut lead);
            Ok(explain(*lead, events))
        })
        .await?;
    let mut out = Vec::new();
    crate::report::json::write(&mut out, &e).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}

/// The body of `POST /api/leads/{id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
    #[serde(default)]
    note: Option<String>,
}

/// Reads a JSON body; a malformed one is a 400 naming what is wrong.
fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| {
        let field = e
            .to_string()
            .split('`')
            .nth(1)
            .map_or_else(|| "body".to_string(), str::to_string);
        AppError::bad(&field, format!("the JSON body is not as expected: {e}"))
    })
}

/// `POST /api/leads/{id}/status`: records the change under the token's user.
pub async fn set_status(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    require(&user, Role::Rep, "change a lead's status")?;
    let b: StatusBody = json_body(&body)?;
    let (status, note) = super::lead::parse_change(&b.status, b.note.as_deref())?;
    let (a, applied) = super::lead::record(&state, id, status, note, user.name.clone()).await?;
    let out = serde_json::json!({
        "lead_id": a.lead_id,
        "from": a.from,
        "to": a.to.as_str(),
        "by": user.name,
        "applied": applied,
    });
    Ok(axum::Json(out).into_response())
}

/// `POST /api/leads/{id}/owner` (`{"owner": "kim" | null, "note": …}`): managers and admins.
pub async fn set_owner(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    require(&user, Role::Manager, "assign owners")?;
    let b: super::owner::OwnerBody = json_body(&body)?;
    let lead_id = id.trim().to_uppercase();
    let (owner, applied) = super::owner::api_set(&state, id, b, user.name.clone()).await?;
    let out = serde_json::json!({
        "lead_id": lead_id,
        "owner": owner,
        "by": user.name,
        "applied": applied,
    });
    Ok(axum::Json(out).into_response())
}

/// Any other `/api` path.
pub async fn not_found() -> AppError {
    AppError::NotFound("no such API route (see docs/serve.md)".into())
}

/// `GET /healthz`: no credentials; 200 when the lead database answers.
pub async fn health(State(state): State<AppState>) -> Response {
    match state.db(|r, _| r.last_evaluation()).await {
        Ok(last) => axum::Json(serde_json::json!({"status": "ok", "last_run": last.map(|l| l.0)}))
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable", "error": e.message()})),
        )
            .into_response(),
    }
}
