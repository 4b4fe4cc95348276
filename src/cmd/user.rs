//! `onelead user add|list|remove|rotate-token`: the people who may use `onelead serve`. Users
//! live in the desk database beside the lead database (`store::desk`), so managing them never
//! waits for a run.

use std::io::{BufRead, IsTerminal, Write};

use crate::auth;
use crate::cli::{DbArgs, UserAddArgs, UserListArgs, UserNameArgs};
use crate::error::{Error, Result};
use crate::lifecycle::now_utc;
use crate::pipeline::Settings;
use crate::report::Format;
use crate::report::{self, Style, Table};
use crate::store::desk::Desk;
use crate::store::users::NewUser;

/// The shortest browser password accepted.
const MIN_PASSWORD: usize = 8;

fn open_desk(db: &DbArgs) -> Result<Desk> {
    let settings = Settings::resolve(&db.config, db.db.as_deref(), &[], None, None)?;
    Desk::open(&settings.db)
}

/// Runs `onelead user add`.
pub fn add(args: &UserAddArgs) -> Result<()> {
    auth::check_name(&args.name)?;
    let desk = open_desk(&args.db)?;
    if let Some(u) = desk.user(&args.name)? {
        return Err(crate::store::users::exists(&u.name));
    }
    let role = crate::auth::Role::from(args.role);
    let password = read_password(&args.name)?;
    let token = auth::new_secret()?;
    desk.add_user(&NewUser {
        name: &args.name,
        role,
        password_hash: &auth::hash_password(&password)?,
        token_hash: &auth::digest(&token),
        now: &now_utc(),
    })?;
    print_token(
        &format!("added user `{}` ({})", args.name, role.as_str()),
        &args.name,
        &token,
    )
}

/// The password from a prompt (asked twice, not echoed), or the first line of stdin when it is
/// not a terminal (scripts and tests).
fn read_password(name: &str) -> Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("browser password for {name}: "))?;
        let again = rpassword::prompt_password("again: ")?;
        if first != again {
            return Err(Error::Usage(
                "the two passwords differ; nothing was changed".into(),
            ));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::Usage(format!(
            "the password must have at least {MIN_PASSWORD} characters; nothing was changed"
        )));
    }
    Ok(password)
}

/// Prints what was done, then the token alone on the last line (scripts take `tail -1`).
fn print_token(done: &str, name: &str, token: &str) -> Result<()> {
    let out = &mut std::io::stdout().lock();
    writeln!(out, "{done}")?;
    writeln!(
        out,
        "API token (shown once; send it as `Authorization: Bearer TOKEN`; \
         `onelead user rotate-token {name}` replaces it):"
    )?;
    writeln!(out, "{token}")?;
    Ok(())
}

/// Runs `onelead user list`.
pub fn list(args: &UserListArgs) -> Result<()> {
    let desk = open_desk(&args.db)?;
    let users = desk.users()?;
    let format = args.format.get();
    if users.is_empty() && format == Format::Table {
        writeln!(
            std::io::stdout().lock(),
            "no users yet; add one with `onelead user add NAME --role admin`"
        )?;
        return Ok(());
    }
    let mut table = Table::new(&["name", "role", "added", "token issued"]);
    for u in &users {
        table.push(vec![
            u.name.clone(),
            u.role.as_str().into(),
            u.created_at.clone(),
            u.token_at.clone(),
        ]);
    }
    super::print(|out| report::emit(out, format, &table, &users, Style::detect()))
}

/// Runs `onelead user remove`.
pub fn remove(args: &UserNameArgs) -> Result<()> {
    let desk = open_desk(&args.db)?;
    let user = found(&desk, &args.name)?;
    desk.remove_user(&user.name)?;
    writeln!(
        std::io::stdout().lock(),
        "removed user `{}` ({}); their sessions ended and their token stopped working",
        user.name,
        user.role.as_str()
    )?;
    Ok(())
}

/// Runs `onelead user rotate-token`.
pub fn rotate_token(args: &UserNameArgs) -> Result<()> {
    let desk = open_desk(&args.db)?;
    let user = found(&desk, &args.name)?;
    let token = auth::new_secret()?;
    desk.set_token(&user.name, &auth::digest(&token), &now_utc())?;
    print_token(
        &format!(
            "new API token for `{}`; the old one no longer works",
            user.name
        ),
        &user.name,
        &token,
    )
}

fn found(desk: &Desk, name: &str) -> Result<crate::store::users::User> {
    desk.user(name)?.ok_or_else(|| {
        let names: Vec<String> = desk
            .users()
            .map(|us| us.into_iter().map(|u| u.name).collect())
            .unwrap_or_default();
        let hint = names
            .iter()
            .map(|n| {
                (
                    strsim::jaro_winkler(&n.to_lowercase(), &name.to_lowercase()),
                    n,
                )
            })
            .filter(|(s, _)| *s > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, n)| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        Error::NotFound(format!("no user `{name}`{hint} (`onelead user list`)"))
    })
}
