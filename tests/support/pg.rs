//! A throwaway PostgreSQL server for the tests, started once per test binary and shared by its
//! tests, each of which gets a fresh database.
//!
//! The server is the machine's own PostgreSQL (14 or later; nothing is downloaded): `initdb`
//! makes a cluster in a temporary folder (as the `postgres` user when the tests run as root,
//! which `initdb` refuses to be), and `pg_ctl` starts it on a free port of 127.0.0.1, with a
//! Unix socket in that folder and durability off (a test database is thrown away). It stops
//! when the test binary ends, however it ends: a watchdog process started with it polls the
//! binary's process id every half second and then stops the server and deletes the folder, so
//! a panicking or killed test run leaves no server behind.
//!
//! Without PostgreSQL the tests that need it say they skip, except under `CI=true`, where that
//! is a failure (`.ci/run` installs it).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server of this test binary.
pub struct Server {
    port: u16,
    dir: PathBuf,
    /// The role the server was made for, which owns everything (`postgres` or the user).
    superuser: String,
    /// Never waited for: it outlives this process on purpose (see the module docs).
    _watchdog: std::process::Child,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The server, started on first use; `None` (outside CI) when PostgreSQL is not installed.
///
/// # Panics
/// Under `CI=true` without PostgreSQL, and when the server does not start.
pub fn server() -> Option<&'static Server> {
    SERVER.get_or_init(start).as_ref()
}

impl Server {
    /// A fresh, empty database; returns its URL.
    pub fn database(&self) -> String {
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{n}");
        let mut admin = self.connect("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        self.url(&name)
    }

    /// The URL of database `name`, as the superuser (no password: the server trusts it).
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{name}",
            self.superuser, self.port
        )
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection to database `name` as the superuser.
    pub fn connect(&self, name: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(name), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test server: {e}"))
    }
}

/// PostgreSQL's programs, from `pg_config`, else the newest of Debian's.
fn bindir() -> Option<PathBuf> {
    let from_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let debian = || {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .collect();
        versions.sort();
        versions.pop()
    };
    from_config
        .filter(|d| d.join("initdb").is_file())
        .or_else(debian)
        .filter(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn start() -> Option<Server> {
    let Some(bin) = bindir() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but PostgreSQL is not installed (no initdb): `.ci/run` installs it"
        );
        eprintln!("skipping: PostgreSQL is not installed (not in CI)");
        return None;
    };
    let dir = std::env::temp_dir().join(format!(
        "onelead-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("create the server folder");
    let root = is_root();
    let superuser = if root {
        chown_to_postgres(&dir);
        "postgres".to_string()
    } else {
        std::env::var("USER").unwrap_or_else(|_| "postgres".into())
    };
    let data = dir.join("data");
    run(
        root,
        Command::new(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", &superuser, "--auth=trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync"),
        "initdb",
    );
    // The superuser is trusted; every other role must give its password, as a team's would.
    std::fs::write(
        data.join("pg_hba.conf"),
        format!(
            "local all all trust\nhost all {superuser} 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n"
        ),
    )
    .expect("write pg_hba.conf");
    if root {
        chown_to_postgres(&data.join("pg_hba.conf"));
    }
    let port = free_port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300",
        dir.display()
    );
    run(
        root,
        Command::new(bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-o", &options, "-w", "-t", "60", "start"]),
        "pg_ctl start",
    );
    let watchdog = watchdog(&bin, &dir, root);
    Some(Server {
        port,
        dir,
        superuser,
        _watchdog: watchdog,
    })
}

/// Stops the server and deletes its folder once this process is gone.
fn watchdog(bin: &Path, dir: &Path, root: bool) -> std::process::Child {
    let stop = format!(
        "{} -D {} -m immediate -w -t 30 stop",
        bin.join("pg_ctl").display(),
        dir.join("data").display()
    );
    let stop = if root {
        format!("runuser -u postgres -- {stop}")
    } else {
        stop
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server's watchdog")
}

/// Runs `cmd` (as `postgres` when `root`), panicking with its output when it fails.
fn run(root: bool, cmd: &mut Command, what: &str) {
    let mut full = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd.get_program());
        c.args(cmd.get_args());
        c
    } else {
        std::mem::replace(cmd, Command::new("true"))
    };
    let out = full
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn chown_to_postgres(path: &Path) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id postgres");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("the postgres user (Debian's postgresql package makes it)")
    };
    std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g"))).expect("chown to postgres");
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
