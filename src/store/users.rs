//! Users, their API tokens, browser sessions and saved views, in the desk database. Callers
//! hand in digests and PHC strings (`crate::auth`); no secret is stored or returned.

use super::desk::{Desk, DeskValue};
use crate::auth::Role;
use crate::error::{Error, Result};

/// A user as the server and `onelead user list` see one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// Login and the name the history records.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// When the user was added (UTC).
    pub created_at: String,
    /// When the API token was issued (UTC).
    pub token_at: String,
}

/// A user to add; secrets already hashed.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Login name.
    pub name: &'a str,
    /// Role.
    pub role: Role,
    /// argon2 PHC string of the browser password.
    pub password_hash: &'a str,
    /// Digest of the API token.
    pub token_hash: &'a str,
    /// Now (UTC).
    pub now: &'a str,
}

/// The error for a name that is taken (in any case).
pub fn exists(name: &str) -> Error {
    Error::BadInput {
        location: format!("user `{name}`"),
        message: "exists already (`onelead user rotate-token` issues a new token)".into(),
    }
}

const USER_COLUMNS: &str = "u.user_id, u.name, u.role, u.created_at, u.token_at";

fn user_from_row(r: &[DeskValue]) -> User {
    let get = |i: usize| r.get(i).unwrap_or(&DeskValue::Null);
    User {
        id: get(0).int(),
        name: get(1).text(),
        // The CHECK constraint admits only the four names.
        role: Role::parse(&get(2).text()).unwrap_or(Role::Viewer),
        created_at: get(3).text(),
        token_at: get(4).text(),
    }
}

/// A user and the text after the user's columns (a password hash, a CSRF token).
fn user_and_text(r: &[DeskValue]) -> (User, String) {
    (
        user_from_row(r),
        r.get(5).map(DeskValue::text).unwrap_or_default(),
    )
}

impl Desk {
    /// Adds a user; a name taken already (in any case) is an error.
    pub fn add_user(&self, u: &NewUser<'_>) -> Result<()> {
        if let Some(taken) = self.user(u.name)? {
            return Err(exists(&taken.name));
        }
        self.sql.execute(
            "INSERT INTO users (name, role, password_hash, token_hash, created_at, token_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
            &[
                u.name.into(),
                u.role.as_str().into(),
                u.password_hash.into(),
                u.token_hash.into(),
                u.now.into(),
            ],
        )?;
        Ok(())
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        Ok(self
            .sql
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users u ORDER BY lower(u.name), u.name"),
                &[],
            )?
            .iter()
            .map(|r| user_from_row(r))
            .collect())
    }

    /// How many users there are.
    pub fn user_count(&self) -> Result<i64> {
        let rows = self.sql.query("SELECT count(*) FROM users", &[])?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .map_or(0, DeskValue::int))
    }

    /// The user called `name` (any case).
    pub fn user(&self, name: &str) -> Result<Option<User>> {
        Ok(self
            .sql
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE lower(u.name) = lower($1)"),
                &[name.into()],
            )?
            .first()
            .map(|r| user_from_row(r)))
    }

    /// Removes a user, their sessions and saved views; false when there is no such user.
    pub fn remove_user(&self, name: &str) -> Result<bool> {
        Ok(self.sql.execute(
            "DELETE FROM users WHERE lower(name) = lower($1)",
            &[name.into()],
        )? > 0)
    }

    /// Replaces a user's API token (the old one stops working at once); false when there is
    /// no such user.
    pub fn set_token(&self, name: &str, token_hash: &str, now: &str) -> Result<bool> {
        Ok(self.sql.execute(
            "UPDATE users SET token_hash = $1, token_at = $2 WHERE lower(name) = lower($3)",
            &[token_hash.into(), now.into(), name.into()],
        )? > 0)
    }

    /// The user whose API token has this digest.
    pub fn user_by_token(&self, token_hash: &str) -> Result<Option<User>> {
        Ok(self
            .sql
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.token_hash = $1"),
                &[token_hash.into()],
            )?
            .first()
            .map(|r| user_from_row(r)))
    }

    /// A user and their password hash, for a login.
    pub fn login(&self, name: &str) -> Result<Option<(User, String)>> {
        Ok(self
            .sql
            .query(
                &format!(
                    "SELECT {USER_COLUMNS}, u.password_hash FROM users u
                     WHERE lower(u.name) = lower($1)"
                ),
                &[name.into()],
            )?
            .first()
            .map(|r| user_and_text(r)))
    }

    /// Starts a session (and forgets expired ones, so the table does not grow).
    pub fn start_session(
        &self,
        user_id: i64,
        id_hash: &str,
        csrf: &str,
        now: &str,
        expires: &str,
    ) -> Result<()> {
        self.sql
            .execute("DELETE FROM sessions WHERE expires_at <= $1", &[now.into()])?;
        self.sql.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                id_hash.into(),
                user_id.into(),
                csrf.into(),
                now.into(),
                expires.into(),
            ],
        )?;
        Ok(())
    }

    /// The user of an unexpired session and its CSRF token.
    pub fn session(&self, id_hash: &str, now: &str) -> Result<Option<(User, String)>> {
        Ok(self
            .sql
            .query(
                &format!(
                    "SELECT {USER_COLUMNS}, s.csrf FROM sessions s
                     JOIN users u ON u.user_id = s.user_id
                     WHERE s.id_hash = $1 AND s.expires_at > $2"
                ),
                &[id_hash.into(), now.into()],
            )?
            .first()
            .map(|r| user_and_text(r)))
    }

    /// Ends a session (logout).
    pub fn end_session(&self, id_hash: &str) -> Result<()> {
        self.sql
            .execute("DELETE FROM sessions WHERE id_hash = $1", &[id_hash.into()])?;
        Ok(())
    }

    /// Saves (or replaces) a named queue view: the query string of its filters.
    pub fn save_view(&self, user_id: i64, name: &str, query: &str) -> Result<()> {
        self.sql.execute(
            "INSERT INTO saved_views (user_id, name, query) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query",
            &[user_id.into(), name.into(), query.into()],
        )?;
        Ok(())
    }

    /// A user's saved views, by name: `(name, query)`.
    pub fn saved_views(&self, user_id: i64) -> Result<Vec<(String, String)>> {
        Ok(self
            .sql
            .query(
                "SELECT name, query FROM saved_views WHERE user_id = $1
                 ORDER BY lower(name), name",
                &[user_id.into()],
            )?
            .iter()
            .map(|r| (r[0].text(), r[1].text()))
            .collect())
    }

    /// Deletes a saved view; false when there was none of that name.
    pub fn delete_view(&self, user_id: i64, name: &str) -> Result<bool> {
        Ok(self.sql.execute(
            "DELETE FROM saved_views WHERE user_id = $1 AND name = $2",
            &[user_id.into(), name.into()],
        )? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new desk on every backend this machine has (PostgreSQL when its test server runs).
    fn desks() -> Vec<(Option<tempfile::TempDir>, Desk)> {
        let dir = tempfile::tempdir().unwrap();
        let desk = Desk::open(&dir.path().join("t.db").into()).unwrap();
        let mut all = vec![(Some(dir), desk)];
        if let Some(server) = crate::store::postgres::testdb::server() {
            let at = crate::store::Location::parse(server.database().as_ref()).unwrap();
            all.push((None, Desk::open(&at).unwrap()));
        }
        all
    }

    fn add(desk: &Desk, name: &str, role: Role, token: &str) {
        desk.add_user(&NewUser {
            name,
            role,
            password_hash: "phc",
            token_hash: token,
            now: "2025-01-01T00:00:00Z",
        })
        .unwrap();
    }

    #[test]
    fn users_are_unique_by_name_in_any_case() {
        for (_d, desk) in desks() {
            add(&desk, "Kim", Role::Rep, "t1");
            let e = desk
                .add_user(&NewUser {
                    name: "kim",
                    role: Role::Admin,
                    password_hash: "x",
                    token_hash: "t2",
                    now: "n",
                })
                .unwrap_err();
            assert!(e.to_string().contains("user `Kim`: exists already"), "{e}");
            assert_eq!(desk.user_count().unwrap(), 1);
            assert_eq!(desk.user("KIM").unwrap().unwrap().role, Role::Rep);
        }
    }

    #[test]
    fn a_rotated_token_replaces_the_old_one() {
        for (_d, desk) in desks() {
            add(&desk, "kim", Role::Rep, "old");
            assert_eq!(desk.user_by_token("old").unwrap().unwrap().name, "kim");
            assert!(
                desk.set_token("kim", "new", "2025-02-01T00:00:00Z")
                    .unwrap()
            );
            assert!(desk.user_by_token("old").unwrap().is_none());
            assert_eq!(
                desk.user_by_token("new").unwrap().unwrap().token_at,
                "2025-02-01T00:00:00Z"
            );
            assert!(!desk.set_token("nobody", "x", "n").unwrap());
        }
    }

    #[test]
    fn sessions_expire_and_die_with_their_user() {
        for (_d, desk) in desks() {
            add(&desk, "kim", Role::Viewer, "t");
            let kim = desk.user("kim").unwrap().unwrap();
            desk.start_session(
                kim.id,
                "s1",
                "c1",
                "2025-01-01T00:00:00Z",
                "2025-01-01T12:00:00Z",
            )
            .unwrap();
            let (u, csrf) = desk.session("s1", "2025-01-01T11:59:59Z").unwrap().unwrap();
            assert_eq!((u.name.as_str(), csrf.as_str()), ("kim", "c1"));
            assert!(
                desk.session("s1", "2025-01-01T12:00:00Z")
                    .unwrap()
                    .is_none()
            );
            assert!(
                desk.session("s2", "2025-01-01T00:00:00Z")
                    .unwrap()
                    .is_none()
            );
            desk.start_session(
                kim.id,
                "s3",
                "c3",
                "2025-01-02T00:00:00Z",
                "2025-01-03T00:00:00Z",
            )
            .unwrap();
            desk.save_view(kim.id, "mine", "priority=high").unwrap();
            assert!(desk.remove_user("kim").unwrap());
            assert!(
                desk.session("s3", "2025-01-02T00:00:01Z")
                    .unwrap()
                    .is_none()
            );
            assert!(desk.saved_views(kim.id).unwrap().is_empty());
            assert!(!desk.remove_user("kim").unwrap());
        }
    }

    #[test]
    fn saved_views_replace_by_name() {
        for (_d, desk) in desks() {
            add(&desk, "kim", Role::Viewer, "t");
            let id = desk.user("kim").unwrap().unwrap().id;
            desk.save_view(id, "north", "territory=1").unwrap();
            desk.save_view(id, "north", "territory=2").unwrap();
            desk.save_view(id, "Crit", "priority=critical").unwrap();
            assert_eq!(
                desk.saved_views(id).unwrap(),
                [
                    ("Crit".to_string(), "priority=critical".to_string()),
                    ("north".to_string(), "territory=2".to_string())
                ]
            );
            assert!(desk.delete_view(id, "north").unwrap());
            assert!(!desk.delete_view(id, "north").unwrap());
        }
    }
}
