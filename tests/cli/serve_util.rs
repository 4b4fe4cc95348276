//! Starting `onelead serve` for a test: on 127.0.0.1 with a port the system picks, read back
//! from its first line on stderr; stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::http::{self, Answer};
use super::util::Workdir;

/// A running server.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// Starts `onelead serve --db DB` in `w`.
    pub fn start(w: &Workdir, db: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_onelead"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db", &w.db(db)])
            .current_dir(w.path())
            .env("NO_COLOR", "1")
            .env_remove("ONELEAD_DB")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start onelead serve");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        let port = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        // Keep reading stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in err.lines() {});
        Server { child, port }
    }

    /// A request with a bearer token (if any) and a JSON body (if any).
    pub fn api(&self, method: &str, path: &str, token: Option<&str>, json: Option<&str>) -> Answer {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        if json.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http::request(self.port, method, path, &headers, json).expect("request")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Adds a user with `role` and returns their API token (the last line of the output).
pub fn add_user(w: &Workdir, db: &str, name: &str, role: &str, password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_onelead"))
        .args(["user", "add", name, "--role", role, "--db", &w.db(db)])
        .current_dir(w.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().last().unwrap().to_string()
}
