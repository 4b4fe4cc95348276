//! Issue 25, the digests by e-mail: a tiny SMTP server on 127.0.0.1, started by each test and
//! stopping by itself, receives what `digest --send` sends; the messages are parsed
//! (mail-parser) and their subject, recipients, both parts and lead ids checked. A retry sends
//! only what did not go; an unreachable server is a clear error.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mail_parser::MessageParser;

use crate::util::Workdir;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample");
const DB: &str = "s.db";

/// One message as the server received it: the envelope and the raw message.
#[derive(Debug, Clone)]
struct Received {
    rcpt: Vec<String>,
    data: Vec<u8>,
}

/// A minimal SMTP server: answers EHLO, MAIL, RCPT (refusing addresses that contain
/// `bounce`), DATA and QUIT. It accepts connections for at most 60 s, then stops.
struct SmtpServer {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&got);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = session(stream, &store);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        SmtpServer { port, got }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn session(stream: TcpStream, store: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 test ESMTP\r\n")?;
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
            out.write_all(b"250-test\r\n250 8BITMIME\r\n")?;
        } else if cmd.starts_with("MAIL FROM") {
            rcpt.clear();
            out.write_all(b"250 ok\r\n")?;
        } else if cmd.starts_with("RCPT TO") {
            if cmd.contains("BOUNCE") {
                out.write_all(b"550 no such mailbox\r\n")?;
            } else {
                rcpt.push(
                    line.trim_end()[8..]
                        .trim()
                        .trim_matches(['<', '>'])
                        .to_string(),
                );
                out.write_all(b"250 ok\r\n")?;
            }
        } else if cmd == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            let mut data = Vec::new();
            loop {
                line.clear();
                lines.read_line(&mut line)?;
                if line == ".\r\n" || line.is_empty() {
                    break;
                }
                data.extend_from_slice(line.strip_prefix('.').unwrap_or(&line).as_bytes());
            }
            store.lock().unwrap().push(Received {
                rcpt: std::mem::take(&mut rcpt),
                data,
            });
            out.write_all(b"250 queued\r\n")?;
        } else if cmd == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"250 ok\r\n")?;
        }
    }
}

/// The sample, run, with a sender and a plain connection to the test server in the config.
/// `None` (outside CI) when this binary's backend is missing: the test skips.
fn sample(extra: &str) -> Option<Workdir> {
    let w = Workdir::try_new()?;
    let cfg = crate::util::config_without_crm_and_mail(&w);
    w.write(
        "config/onelead.yaml",
        &format!(
            "{cfg}\nmail:\n  from: \"OneLead <onelead@example.com>\"\n  smtp:\n    tls: none\n    timeout_secs: 5\n{extra}"
        ),
    );
    w.ok(&["run", "--data", SAMPLE, "--db", DB, "--as-of", "2025-10-29"]);
    Some(w)
}

/// The lead ids the digest lists, from its JSON.
fn digest_ids(w: &Workdir, territory: Option<&str>) -> Vec<String> {
    let v = w.json(&["digest", "--db", DB, "--since", "2000-01-01"]);
    let mut ids = Vec::new();
    for t in v["territories"].as_array().unwrap() {
        if territory.is_some_and(|id| t["territory_id"] != id) {
            continue;
        }
        for section in ["new_leads", "priority_changes", "aging"] {
            for l in t[section].as_array().unwrap() {
                let id = l["lead_id"].as_str().unwrap().to_string();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    ids
}

/// Every 8-character lead id in a text, in order, once each.
fn ids_in(text: &str, known: &[String]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = known
        .iter()
        .filter_map(|id| text.find(id.as_str()).map(|at| (at, id.clone())))
        .collect();
    found.sort();
    found.into_iter().map(|(_, id)| id).collect()
}

/// The one `.eml` file `--dry-run` wrote into `dir`.
fn only_eml(w: &Workdir, dir: &str) -> Vec<u8> {
    let files: Vec<_> = std::fs::read_dir(w.join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read(&files[0]).unwrap()
}

/// `digest --send` of everything since 2000 to `to` through `smtp`.
fn send_args(to: &str, smtp: &str) -> Vec<String> {
    [
        "digest",
        "--since",
        "2000-01-01",
        "--send",
        "--to",
        to,
        "--smtp",
        smtp,
        "--db",
        DB,
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn issue_25_the_digest_arrives_as_a_real_message_with_both_parts() {
    let Some(w) = sample("") else { return };
    let server = SmtpServer::start();
    let args = send_args("kim@example.com,lee@example.com", &server.addr());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.ok(&args);
    assert!(out.contains("sent to kim@example.com"), "{out}");
    let got = server.received();
    assert_eq!(got.len(), 2, "one message per recipient");
    let expected = digest_ids(&w, None);
    assert!(expected.len() > 3, "{expected:?}");
    let all: Vec<String> = w.sql(DB, "SELECT lead_id FROM leads");
    for (r, to) in got.iter().zip(["kim@example.com", "lee@example.com"]) {
        assert_eq!(r.rcpt, [to]);
        let m = MessageParser::default().parse(&r.data).unwrap();
        let subject = m.subject().unwrap();
        assert!(subject.starts_with("OneLead daily digest: "), "{subject}");
        assert!(subject.contains("new CRITICAL/HIGH"), "{subject}");
        let header_to = m.to().unwrap().first().unwrap().address().unwrap();
        assert_eq!(header_to, to);
        assert_eq!(
            m.from().unwrap().first().unwrap().address().unwrap(),
            "onelead@example.com"
        );
        assert_eq!(m.text_body_count(), 1);
        assert_eq!(m.html_body_count(), 1);
        let text = m.body_text(0).unwrap();
        let html = m.body_html(0).unwrap();
        assert!(html.contains("<h1>"), "{html}");
        // Both parts list exactly the digest's leads, in the same order.
        assert_eq!(ids_in(&text, &all), ids_in(&html, &all));
        let mut listed = ids_in(&text, &all);
        listed.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(listed, want);
    }
    // Recorded: a second run sends nothing.
    let again = w.ok(&args);
    assert!(again.contains("already sent to kim@example.com"), "{again}");
    assert_eq!(server.received().len(), 2);
    let sent = w.sql(
        DB,
        "SELECT key, recipient FROM mail_sent ORDER BY recipient",
    );
    assert_eq!(
        sent,
        [
            "daily:since-2000-01-01:all|kim@example.com",
            "daily:since-2000-01-01:all|lee@example.com"
        ]
    );
}

#[test]
fn issue_25_a_failed_send_names_server_and_recipient_and_a_retry_sends_only_the_rest() {
    let Some(w) = sample("") else { return };
    let server = SmtpServer::start();
    let a = send_args(
        "kim@example.com,bounce@example.com,lee@example.com",
        &server.addr(),
    );
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let err = w.fails(&a, 1);
    assert!(err.contains("`bounce@example.com`"), "{err}");
    assert!(err.contains(&format!("`{}`", server.addr())), "{err}");
    assert!(err.contains("1 sent before it are recorded"), "{err}");
    assert_eq!(server.received().len(), 1);

    // The retry without the bad address sends lee's only.
    let a = send_args("kim@example.com,lee@example.com", &server.addr());
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    w.ok(&a);
    let got = server.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].rcpt, ["lee@example.com"]);

    // An unreachable server: a clear error, exit 1, nothing recorded for the address.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().to_string();
    drop(closed);
    let a = send_args("new@example.com", &dead);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let err = w.fails(&a, 1);
    assert!(
        err.starts_with(&format!(
            "error: cannot send to `new@example.com` through `{dead}`"
        )),
        "{err}"
    );
    assert!(
        w.sql(
            DB,
            "SELECT 1 FROM mail_sent WHERE recipient = 'new@example.com'"
        )
        .is_empty()
    );
}

#[test]
fn issue_25_territories_get_their_part_and_dry_run_writes_eml_files() {
    let territory = {
        let Some(w) = sample("") else { return };
        w.sql(
            DB,
            "SELECT territory_id FROM leads WHERE active = 1 AND priority IN ('CRITICAL', 'HIGH')
             GROUP BY territory_id ORDER BY count(*) DESC LIMIT 1",
        )
        .remove(0)
    };
    let Some(w) = sample(&format!(
        "  territories:\n    \"{territory}\": [\"Kim <kim@example.com>\"]\n  to: [boss@example.com]\n"
    )) else {
        return;
    };
    let out = w.ok(&[
        "digest",
        "--since",
        "2000-01-01",
        "--send",
        "--dry-run",
        "--out",
        "outbox",
        "--db",
        DB,
    ]);
    assert!(out.contains("wrote outbox/"), "{out}");
    let mut files: Vec<_> = std::fs::read_dir(w.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let all: Vec<String> = w.sql(DB, "SELECT lead_id FROM leads");
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        let m = MessageParser::default().parse(&raw).unwrap();
        let to = m
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_string();
        let mut listed = ids_in(&m.body_text(0).unwrap(), &all);
        listed.sort();
        let mut want = if to == "kim@example.com" {
            assert!(
                m.subject()
                    .unwrap()
                    .contains(&format!("territory {territory}"))
            );
            digest_ids(&w, Some(&territory))
        } else {
            assert_eq!(to, "boss@example.com");
            digest_ids(&w, None)
        };
        want.sort();
        assert_eq!(listed, want, "{to}");
        assert_eq!(m.html_body_count(), 1);
    }
    assert!(
        w.sql(DB, "SELECT * FROM mail_sent").is_empty(),
        "a dry run records nothing"
    );

    // The weekly summary and the aging alerts are messages of their own.
    w.ok(&[
        "digest",
        "--kind",
        "weekly",
        "--send",
        "--dry-run",
        "--out",
        "weekly",
        "--to",
        "boss@example.com",
        "--db",
        DB,
    ]);
    let raw = only_eml(&w, "weekly");
    let m = MessageParser::default().parse(&raw).unwrap();
    assert!(
        m.subject().unwrap().starts_with("OneLead weekly summary "),
        "{:?}",
        m.subject()
    );
    assert!(
        m.body_text(0)
            .unwrap()
            .contains(&format!("Territory {territory}"))
    );
    // Nothing has aged yet in a database written just now: nothing to send.
    let aging = [
        "digest",
        "--kind",
        "aging",
        "--send",
        "--dry-run",
        "--out",
        "aging",
        "--to",
        "boss@example.com",
        "--db",
        DB,
    ];
    let out = w.ok(&aging);
    assert!(
        out.contains("not sent to boss@example.com: nothing to report"),
        "{out}"
    );
    // One lead untouched since January is the whole alert.
    let old = w
        .sql(
            DB,
            "SELECT lead_id FROM leads WHERE active = 1 ORDER BY lead_id LIMIT 1",
        )
        .remove(0);
    w.execute(
        DB,
        &format!("UPDATE leads SET updated_at = '2025-01-01T00:00:00Z' WHERE lead_id = '{old}'"),
    );
    w.ok(&aging);
    let raw = only_eml(&w, "aging");
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(m.subject().unwrap(), "OneLead aging alert: 1 aging lead");
    assert_eq!(
        ids_in(&m.body_text(0).unwrap(), &all),
        std::slice::from_ref(&old)
    );
    assert_eq!(ids_in(&m.body_html(0).unwrap(), &all), [old]);
}
