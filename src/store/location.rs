//! Where a database lives: an SQLite file, or a PostgreSQL server named by a
//! `postgres://user:pass@host:port/db` URL. The URL's scheme picks the backend, as Atuin's
//! `sqlite:` / `postgres://` prefixes do; anything else is a file path. A URL is kept whole for
//! connecting and shown without its password, in messages and errors alike.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A database: a file, or a server.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PgUrl),
}

/// A PostgreSQL connection URL, checked when it was parsed. Its password never reaches
/// [`fmt::Display`] or [`fmt::Debug`].
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    url: String,
    shown: String,
    host: String,
}

impl Location {
    /// Reads `--db`, `ONELEAD_DB` or the config's `database:`: a `postgres://` or
    /// `postgresql://` URL, or a file path. A URL that does not parse is an error naming what
    /// is wrong with it, never its password.
    pub fn parse(text: &OsStr) -> Result<Location> {
        let Some(s) = text.to_str().filter(|s| is_url(s)) else {
            return Ok(Location::Sqlite(PathBuf::from(text)));
        };
        PgUrl::parse(s).map(Location::Postgres)
    }

    /// The SQLite file, if this is one.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// True for a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }
}

/// True when `s` names a PostgreSQL server rather than a file.
fn is_url(s: &str) -> bool {
    ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme))
}

impl PgUrl {
    fn parse(url: &str) -> Result<PgUrl> {
        // The scheme in lower case: the connection string parser knows no other.
        let colon = url.find(':').unwrap_or(0);
        let url = format!("{}{}", url[..colon].to_ascii_lowercase(), &url[colon..]);
        let url = url.as_str();
        let config: postgres::Config = url.parse().map_err(|e| Error::Database {
            db: redact(url),
            message: format!("not a valid PostgreSQL URL: {e}"),
        })?;
        let host = hosts(&config);
        let user = config
            .get_user()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let dbname = config
            .get_dbname()
            .map(|d| format!("/{d}"))
            .unwrap_or_default();
        Ok(PgUrl {
            url: url.to_string(),
            shown: format!("postgres://{user}{host}{dbname}"),
            host,
        })
    }

    /// The URL as given, password included, for connecting.
    pub fn secret(&self) -> &str {
        &self.url
    }

    /// `host:port` (several, comma-separated, when the URL names several), for messages.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// The hosts and ports of `config`, as `host:port[,host:port]`.
fn hosts(config: &postgres::Config) -> String {
    let ports = config.get_ports();
    let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    let names: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| match h {
            postgres::config::Host::Tcp(name) => format!("{name}:{}", port(i)),
            #[cfg(unix)]
            postgres::config::Host::Unix(dir) => format!("{}:{}", dir.display(), port(i)),
        })
        .collect();
    if names.is_empty() {
        format!("localhost:{}", port(0))
    } else {
        names.join(",")
    }
}

/// `url` with anything between `//` and `@` after the first `:` hidden: what can be shown of a
/// URL that did not parse.
fn redact(url: &str) -> String {
    let Some(start) = url.find("//").map(|i| i + 2) else {
        return url.to_string();
    };
    let rest = &url[start..];
    let Some(at) = rest.rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}:***{}", &url[..start], &rest[..colon], &rest[at..]),
        None => url.to_string(),
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(u) => write!(f, "{u}"),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({})", self.shown)
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::Sqlite(p.to_path_buf())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::Sqlite(p)
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Location {
        Location::Sqlite(p.clone())
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Location {
        l.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Location> {
        Location::parse(OsStr::new(s))
    }

    #[test]
    fn a_url_picks_postgres_and_hides_its_password() {
        let l = parse("postgres://ann:s3cret@db.example:6543/leads").unwrap();
        assert!(l.is_postgres());
        assert_eq!(l.to_string(), "postgres://ann@db.example:6543/leads");
        assert_eq!(
            format!("{l:?}"),
            "Location(postgres://ann@db.example:6543/leads)"
        );
        let Location::Postgres(u) = &l else { panic!() };
        assert_eq!(u.host(), "db.example:6543");
        assert!(u.secret().contains("s3cret"));
        let l = parse("PostgreSQL://localhost/x").unwrap();
        assert_eq!(l.to_string(), "postgres://localhost:5432/x");
    }

    #[test]
    fn anything_else_is_a_file() {
        for s in [
            "data/onelead.db",
            "postgres.db",
            "./postgres:/x",
            "sqlite://x",
        ] {
            assert_eq!(parse(s).unwrap(), Location::Sqlite(PathBuf::from(s)));
        }
    }

    #[test]
    fn a_bad_url_says_why_without_its_password() {
        let e = parse("postgres://ann:s3cret@host:notaport/db").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("not a valid PostgreSQL URL"), "{text}");
        assert!(
            text.contains("postgres://ann:***@host:notaport/db"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }
}
