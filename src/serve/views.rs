//! `POST /views` and `POST /views/delete`: a user's saved queue views, each a name for a
//! query string of the queue's filters (checked as the queue checks it).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::Session;
use super::error::{Fields, PageError};
use super::{AppError, AppState, filter};

/// The longest view name.
const MAX_NAME: usize = 60;

/// `POST /views` fields.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

/// `POST /views`: saves (or replaces) a view, then shows it.
pub async fn save(
    State(state): State<AppState>,
    s: Session,
    Fields(f): Fields<SaveForm>,
) -> Result<Response, PageError> {
    let name = f.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AppError::bad(
            "name",
            format!("give the view a name of 1–{MAX_NAME} characters"),
        )
        .into());
    }
    // Stored as the queue would write it back: only filters it understands.
    let q = filter::parse(Some(&f.query), None)?;
    let query = filter::query_string(&q, None);
    let (id, stored) = (s.user.id, query.clone());
    state
        .db(move |_, desk| desk.save_view(id, &name, &stored))
        .await?;
    Ok(Redirect::to(&format!("/leads?{query}")).into_response())
}

/// `POST /views/delete` fields.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    name: String,
}

/// `POST /views/delete`.
pub async fn delete(
    State(state): State<AppState>,
    s: Session,
    Fields(f): Fields<DeleteForm>,
) -> Result<Response, PageError> {
    let (id, name) = (s.user.id, f.name.clone());
    let gone = state.db(move |_, desk| desk.delete_view(id, &name)).await?;
    if !gone {
        return Err(AppError::NotFound(format!("no saved view `{}`", f.name)).into());
    }
    Ok(Redirect::to("/leads").into_response())
}
