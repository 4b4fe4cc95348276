//! `GET /users` and the admin's forms: add a user (the API token is shown once), remove one,
//! issue a new token. Admins only; the same operations as `onelead user`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Session, require};
use super::error::{Fields, PageError};
use super::html::{self, Nav};
use super::{AppError, AppState};
use crate::auth::{self, Role};
use crate::lifecycle::now_utc;
use crate::store::users::{NewUser, User};

/// `GET /users`.
pub async fn show(State(state): State<AppState>, s: Session) -> Result<Markup, PageError> {
    require(&s.user, Role::Admin, "manage users")?;
    let users = state.db(|_, desk| desk.users()).await?;
    Ok(page(&s, &users, None))
}

fn page(s: &Session, users: &[User], token: Option<(&str, &str)>) -> Markup {
    let body = html! {
        @if let Some((name, token)) = token {
            div.ok {
                p { "API token for " strong { (name) } " — shown this once; send it as "
                    code { "Authorization: Bearer TOKEN" } ":" }
                p.token { (token) }
            }
        }
        table.grid {
            thead { tr { th { "name" } th { "role" } th { "added" } th { "token issued" } th {} } }
            tbody { @for u in users {
                tr {
                    td { (u.name) } td { (u.role.as_str()) } td { (u.created_at) } td { (u.token_at) }
                    td {
                        form method="post" action={ "/users/" (enc(&u.name)) "/rotate-token" } {
                            (html::csrf_field(s)) button type="submit" { "new token" }
                        }
                        @if u.id != s.user.id {
                            form method="post" action={ "/users/" (enc(&u.name)) "/remove" } {
                                (html::csrf_field(s)) button type="submit" { "remove" }
                            }
                        }
                    }
                }
            } }
        }
        div.panel {
            h3 { "Add a user" }
            form.change method="post" action="/users" {
                (html::csrf_field(s))
                label { "name" input type="text" name="name" required maxlength="64"; }
                label { "role"
                    select name="role" { @for r in Role::ALL { option value=(r.as_str()) { (r.as_str()) } } }
                }
                label { "browser password" input type="password" name="password" required minlength="8" autocomplete="new-password"; }
                button.primary type="submit" { "Add" }
            }
        }
    };
    html::page("Users", s, Nav::Users, &body)
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `POST /users` fields.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// `POST /users`: adds a user and shows their API token once.
pub async fn add(
    State(state): State<AppState>,
    s: Session,
    Fields(f): Fields<AddForm>,
) -> Result<Markup, PageError> {
    require(&s.user, Role::Admin, "manage users")?;
    let name = f.name.trim().to_string();
    auth::check_name(&name).map_err(|e| AppError::bad("name", e.to_string()))?;
    let role = Role::parse(&f.role).ok_or_else(|| {
        AppError::bad(
            "role",
            format!("`{}` is not one of viewer, rep, manager, admin", f.role),
        )
    })?;
    if f.password.chars().count() < 8 {
        return Err(AppError::bad("password", "at least 8 characters").into());
    }
    let (token, password, who) = (auth::new_secret()?, f.password, name.clone());
    let digest = auth::digest(&token);
    let users = state
        .db(move |_, desk| {
            desk.add_user(&NewUser {
                name: &who,
                role,
                password_hash: &auth::hash_password(&password)?,
                token_hash: &digest,
                now: &now_utc(),
            })?;
            desk.users()
        })
        .await?;
    Ok(page(&s, &users, Some((&name, &token))))
}

/// `POST /users/{name}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    s: Session,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    require(&s.user, Role::Admin, "manage users")?;
    if name.eq_ignore_ascii_case(&s.user.name) {
        return Err(AppError::bad("name", "you cannot remove yourself (another admin can)").into());
    }
    let who = name.clone();
    let gone = state.db(move |_, desk| desk.remove_user(&who)).await?;
    if !gone {
        return Err(AppError::NotFound(format!("no user `{name}`")).into());
    }
    Ok(Redirect::to("/users").into_response())
}

/// `POST /users/{name}/rotate-token`: a new token, shown once.
pub async fn rotate_token(
    State(state): State<AppState>,
    s: Session,
    Path(name): Path<String>,
) -> Result<Markup, PageError> {
    require(&s.user, Role::Admin, "manage users")?;
    let token = auth::new_secret()?;
    let (digest, who) = (auth::digest(&token), name.clone());
    let (found, users) = state
        .db(move |_, desk| Ok((desk.set_token(&who, &digest, &now_utc())?, desk.users()?)))
        .await?;
    if !found {
        return Err(AppError::NotFound(format!("no user `{name}`")).into());
    }
    Ok(page(&s, &users, Some((&name, &token))))
}
