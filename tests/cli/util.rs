//! The shared test workdir: a temp folder holding copies of the project's rules and config, and
//! a runner for the real `onelead` binary with colour off and no inherited database override.
//!
//! The same tests run on both backends: each test binary names its own (`crate::BACKEND`).
//! Tests name databases as files (`--db r.db`); on PostgreSQL the workdir gives each name a
//! database of its own on the test server (`tests/support/pg.rs`) and passes its URL instead,
//! and its SQL helpers run on that database.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The bundled synthetic sample, for tests that must run without the real exports.
pub fn sample() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample").to_string()
}

/// `onelead run` of the bundled sample into `db`, as of the original's run date (2025-10-29),
/// as arguments.
pub fn sample_run(db: &str) -> [&str; 7] {
    [
        "run",
        "--data",
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample"),
        "--db",
        db,
        "--as-of",
        "2025-10-29",
    ]
}

/// The database a test binary runs its tests against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Files, as the tests name them.
    Sqlite,
    /// A database of the test server per name.
    Postgres,
}

/// This test binary's backend.
pub fn backend() -> Backend {
    crate::BACKEND
}

/// Where the real exports live, or `None` (outside CI) when they are absent.
/// Under `CI=true` a missing folder fails the test instead of skipping it.
pub fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let present = dir.join("DataExportAug29th.xlsx").is_file();
    if present {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the real exports are missing from {}",
        dir.display()
    );
    eprintln!("skipping: {} is missing (not in CI)", dir.display());
    None
}

/// A workdir whose `r.db` holds the real exports evaluated as of the original's run date
/// (2025-10-29), or `None` (outside CI) when the exports are absent.
pub fn real_run() -> Option<Workdir> {
    let data = shared_data()?;
    let w = Workdir::try_new()?;
    w.ok(&[
        "run",
        "--data",
        data.to_str().unwrap(),
        "--db",
        "r.db",
        "--as-of",
        "2025-10-29",
    ]);
    Some(w)
}

/// A temporary project folder.
pub struct Workdir {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
    /// On PostgreSQL: the URL of each database name the test used.
    dbs: RefCell<HashMap<String, String>>,
}

impl Workdir {
    /// A workdir for this binary's backend, or `None` (outside CI) when the backend is
    /// PostgreSQL and it is not installed: the test then skips.
    pub fn try_new() -> Option<Workdir> {
        if backend() == Backend::Postgres {
            crate::pg::server()?;
        }
        Some(Workdir::new())
    }

    /// A fresh folder with `rules/` and `config/onelead.yaml` copied from the project.
    pub fn new() -> Workdir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&root.join("rules"), &dir.path().join("rules"));
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::copy(
            root.join("config/onelead.yaml"),
            dir.path().join("config/onelead.yaml"),
        )
        .unwrap();
        Workdir {
            dir,
            dbs: RefCell::default(),
        }
    }

    /// What `--db name` means on this backend: the file itself on SQLite; on PostgreSQL, the
    /// URL of a database made for this workdir and name. A URL, or an absolute path (a file
    /// a test names on purpose), is itself on both.
    pub fn db(&self, name: &str) -> String {
        if backend() == Backend::Sqlite
            || name.starts_with("postgres")
            || Path::new(name).is_absolute()
        {
            return name.to_string();
        }
        let server = crate::pg::server().expect("PostgreSQL");
        self.dbs
            .borrow_mut()
            .entry(name.to_string())
            .or_insert_with(|| server.database())
            .clone()
    }

    /// The SQLite file of database `name`, or `None` on PostgreSQL.
    pub fn sqlite(&self, name: &str) -> Option<PathBuf> {
        (backend() == Backend::Sqlite || Path::new(name).is_absolute()).then(|| self.join(name))
    }

    /// Database `name` as onelead names it in messages (the test server's URLs carry no
    /// password, so they are shown as they are).
    pub fn shown(&self, name: &str) -> String {
        self.db(name)
    }

    /// True when nothing made database `name`: no file on SQLite, no table on PostgreSQL.
    pub fn untouched(&self, name: &str) -> bool {
        match self.sqlite(name) {
            Some(path) => !path.exists(),
            None => {
                self.sql(
                    name,
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                ) == ["0"]
            }
        }
    }

    /// `args` with each `--db NAME` as this backend means it (see [`Workdir::db`]).
    pub fn args(&self, args: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(args.len());
        for a in args {
            let value = if out.last().is_some_and(|prev| prev == "--db") {
                self.db(a)
            } else {
                (*a).to_string()
            };
            out.push(value);
        }
        out
    }

    /// The `onelead` command for `args` in this folder, as [`Workdir::run`] runs it.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_onelead"));
        cmd.args(self.args(args))
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("ONELEAD_DB")
            .env_remove("ONELEAD_NO_MEMO")
            .env_remove("ONELEAD_NO_FAST");
        cmd
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the folder.
    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Writes a file (creating folders).
    pub fn write(&self, p: &str, text: &str) {
        let path = self.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Replaces the first `from` in the file `p` by `to` (which must be there).
    pub fn edit(&self, p: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.join(p)).unwrap();
        assert!(text.contains(from), "{from:?} not in {p}");
        self.write(p, &text.replacen(from, to, 1));
    }

    /// `onelead run` of the bundled sample into `db`, as of the original's run date.
    pub fn run_sample(&self, db: &str) -> String {
        self.ok(&sample_run(db))
    }

    /// Runs `onelead args…` in the folder.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(&[], args)
    }

    /// Runs `onelead args…` in the folder with extra environment variables.
    pub fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        self.command(args)
            .envs(env.iter().copied())
            .output()
            .expect("run onelead")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_env(&[], args)
    }

    /// [`Workdir::ok`] with extra environment variables.
    pub fn ok_env(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let out = self.run_env(env, args);
        assert!(
            out.status.success(),
            "onelead {args:?} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and asserts failure with `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "onelead {args:?}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }

    /// Runs with `--format json` appended and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let text = self.ok(&a);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad json ({e}):\n{text}"))
    }

    /// Result of a SQL query on the workdir database, one row per line, `|`-separated
    /// (`NULL` for NULL, numbers as Rust prints them).
    pub fn sql(&self, db: &str, query: &str) -> Vec<String> {
        match self.sqlite(db) {
            Some(path) => sqlite_rows(&path, query),
            None => pg_rows(&self.db(db), query),
        }
    }

    /// [`Workdir::sql`], or `None` when the query fails (on PostgreSQL).
    pub fn try_sql(&self, db: &str, query: &str) -> Option<Vec<String>> {
        match self.sqlite(db) {
            Some(_) => Some(self.sql(db, query)),
            None => try_pg_rows(&self.db(db), query).ok(),
        }
    }

    /// Runs statements on the workdir database, as a user's own SQL would.
    pub fn execute(&self, db: &str, sql: &str) {
        match self.sqlite(db) {
            Some(path) => rusqlite::Connection::open(path)
                .expect("open db")
                .execute_batch(sql)
                .expect("execute"),
            None => postgres::Client::connect(&self.db(db), postgres::NoTls)
                .expect("connect")
                .batch_execute(sql)
                .expect("execute"),
        }
    }

    /// The names of the lead table's indexes.
    pub fn lead_indexes(&self, db: &str) -> Vec<String> {
        let query = match backend() {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master
                 WHERE type = 'index' AND tbl_name = 'lead_rows' AND sql IS NOT NULL ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT indexname FROM pg_indexes
                 WHERE tablename = 'lead_rows' AND indexname <> 'lead_rows_pkey' ORDER BY 1"
            }
        };
        self.sql(db, query)
    }

    /// A database fingerprint: every table's row count and a checksum of its contents.
    pub fn fingerprint(&self, db: &str) -> Vec<String> {
        let tables = match backend() {
            Backend::Sqlite => self.sql(
                db,
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            ),
            // The desk's tables (`store::desk`) share a PostgreSQL database; beside an SQLite
            // one they are a file of their own, which this does not read either.
            Backend::Postgres => self.sql(
                db,
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename
                 NOT IN ('users', 'sessions', 'saved_views', 'journal', 'journal_leads',
                         'desk_meta')
                 ORDER BY 1",
            ),
        };
        tables
            .iter()
            .map(|t| {
                // Every column orders the rows: ties in the first would come in any order.
                let columns = self.sql(db, &format!("SELECT * FROM {t} LIMIT 1"));
                let n = columns.first().map_or(1, |r| r.split('|').count());
                let order: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
                let rows = self.sql(
                    db,
                    &format!("SELECT * FROM {t} ORDER BY {}", order.join(", ")),
                );
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for b in rows.join("\n").bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
                format!("{t}: {} rows, {h:016x}", rows.len())
            })
            .collect()
    }
}

/// The workdir's config without its `crm:` and `mail:` sections (the file's last), for a test
/// to append its own.
pub fn config_without_crm_and_mail(w: &Workdir) -> String {
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml")).unwrap();
    let marker = "\n# CRM import files";
    assert!(
        cfg.contains(marker),
        "config/onelead.yaml lost its CRM section's comment"
    );
    cfg.split(marker).next().unwrap().to_string()
}

fn sqlite_rows(path: &Path, query: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("open db");
    let mut stmt = conn.prepare(query).expect("prepare");
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        let mut cols = Vec::with_capacity(n);
        for i in 0..n {
            let v: rusqlite::types::Value = r.get(i)?;
            cols.push(match v {
                rusqlite::types::Value::Null => "NULL".to_string(),
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Real(f) => f.to_string(),
                rusqlite::types::Value::Text(s) => s,
                rusqlite::types::Value::Blob(_) => "<blob>".to_string(),
            });
        }
        Ok(cols.join("|"))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// [`Workdir::sql`] on PostgreSQL: the server turns every value into text (JSON, so its type
/// does not matter), and numbers are printed as Rust prints them, as on SQLite.
fn pg_rows(url: &str, query: &str) -> Vec<String> {
    try_pg_rows(url, query).unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn try_pg_rows(url: &str, query: &str) -> Result<Vec<String>, postgres::Error> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    let wrapped = format!(
        "SELECT (SELECT json_agg(value ORDER BY n)::text
                 FROM json_each(row_to_json(q)) WITH ORDINALITY AS e(key, value, n))
         FROM ({query}) q"
    );
    let rows = client
        .query(&wrapped, &[])?
        .iter()
        .map(|r| {
            let values: Vec<serde_json::Value> =
                serde_json::from_str(r.get::<_, &str>(0)).expect("json");
            values
                .iter()
                .map(|v| match v {
                    serde_json::Value::Null => "NULL".to_string(),
                    serde_json::Value::Number(n) => n
                        .as_i64()
                        .map(|i| i.to_string())
                        .or_else(|| n.as_f64().map(|f| f.to_string()))
                        .unwrap_or_else(|| n.to_string()),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    Ok(rows)
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Writes a cell calamine read to `ws` at (`r`, `c`) as Excel held it: dates stay dates (a
/// number with the `date` format), errors and empty cells are left empty.
pub fn write_cell(
    ws: &mut rust_xlsxwriter::Worksheet,
    (r, c): (u32, u16),
    cell: &calamine::Data,
    date: &rust_xlsxwriter::Format,
) {
    use calamine::Data;
    match cell {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            ws.write_string(r, c, s).map(|_| ())
        }
        Data::Float(f) => ws.write_number(r, c, *f).map(|_| ()),
        Data::Int(n) => ws.write_number(r, c, *n as f64).map(|_| ()),
        Data::Bool(b) => ws.write_boolean(r, c, *b).map(|_| ()),
        Data::DateTime(d) => ws
            .write_number_with_format(r, c, d.as_f64(), date)
            .map(|_| ()),
        Data::Error(_) | Data::Empty => Ok(()),
    }
    .unwrap();
}
