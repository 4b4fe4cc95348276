//! Who may do what in `onelead serve`: roles, password hashing, API tokens and session ids.
//! In: a user's password or a random secret; out: what `store::users` keeps (an argon2 PHC
//! string, a SHA-256 digest). Secrets themselves are never stored: a stolen desk database
//! gives no working password, token or session.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What a user may do; each role may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every page and the API.
    Viewer,
    /// Also changes a lead's status and adds notes.
    Rep,
    /// Also assigns owners, one lead or every lead matching a filter.
    Manager,
    /// Also manages users.
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Rep, Role::Manager, Role::Admin];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// True when this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// Hashes a password with argon2id (a fresh random salt, the crate's recommended cost).
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Usage(format!("cannot hash the password: {e}")))
}

/// True when `password` matches the stored PHC string; a malformed hash matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash that no password matches, verified when a login names no user so that an unknown
/// name costs the same time as a wrong password (names cannot be probed by timing).
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let secret = new_secret().unwrap_or_else(|_| "no user has this password".into());
        hash_password(&secret).unwrap_or_default()
    })
}

/// A new random secret (256 bits) as 64 lowercase hex characters: API tokens, session ids and
/// CSRF tokens.
pub fn new_secret() -> Result<String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Usage(format!("the system random source failed: {e}")))?;
    Ok(hex(&bytes))
}

/// The digest a secret is stored and looked up by. Secrets are 256 random bits, so a fast hash
/// is enough: there is nothing to guess that a slow one would protect.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Checks a user name: what the history records and what a login types, so it must be
/// printable, short and free of surrounding space.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name.trim() == name
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "user name `{}` must be 1–64 printable characters without leading or trailing space",
            name.escape_debug()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_below() {
        assert!(Role::Admin.allows(Role::Manager));
        assert!(Role::Manager.allows(Role::Rep));
        assert!(Role::Rep.allows(Role::Viewer));
        assert!(!Role::Rep.allows(Role::Manager));
        assert!(!Role::Viewer.allows(Role::Rep));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(!verify_password("", dummy_hash()));
        // Two hashes of one password differ (fresh salt).
        assert_ne!(h, hash_password("correct horse").unwrap());
    }

    #[test]
    fn secrets_are_random_and_stored_as_digests() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[1..]));
    }

    #[test]
    fn user_names_are_printable_and_trimmed() {
        assert!(check_name("kim").is_ok());
        assert!(check_name("Kim Lee").is_ok());
        for bad in ["", " kim", "kim ", "a\nb", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
