//! Runaway and malicious rules, config and usage errors, exit codes and a closed stdout (issue 8).
//! Every failure ends quickly with exit 1 (2 for usage), a message naming the file (and line),
//! and the database exactly as it was. The loop, misspelt-field, syntax and runtime-type cases
//! live in `rules.rs`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::Workdir;

const AS_OF: &str = "2025-10-29";

fn sample() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample").to_string()
}

/// A workdir with one completed run on the bundled sample in `s.db`.
fn with_run() -> Option<Workdir> {
    let w = Workdir::try_new()?;
    w.ok(&["run", "--data", &sample(), "--db", "s.db", "--as-of", AS_OF]);
    Some(w)
}

/// Writes `file` (under the workdir) and checks the next run fails with exit 1 within a bound,
/// naming `expected`, leaving the database unchanged.
fn rejects_rule(file: &str, script: &str, expected: &[&str]) {
    let Some(w) = with_run() else { return };
    let before = w.fingerprint("s.db");
    w.write(file, script);
    let started = Instant::now();
    let err = w.fails(
        &["run", "--data", &sample(), "--db", "s.db", "--as-of", AS_OF],
        1,
    );
    // "A couple of seconds" in release; debug on a loaded 2-core CI machine gets headroom.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{file} took {:?}",
        started.elapsed()
    );
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(before, w.fingerprint("s.db"), "the database changed");
}

fn trigger(body: &str) -> String {
    format!("fn lead_type() {{ \"Hostile\" }}\nfn trigger(item, account, cfg) {{\n{body}\n}}\n")
}

fn factor(body: &str) -> String {
    format!("fn score(item, account, lead, cfg) {{\n{body}\n}}\n")
}

#[test]
fn deep_recursion_hits_the_call_level_limit() {
    rejects_rule(
        "rules/triggers/deep.rhai",
        "fn lead_type() { \"Deep\" }\nfn down(n) { down(n + 1) }\nfn trigger(item, account, cfg) {\n    down(0)\n}\n",
        &[
            "rules/triggers/deep.rhai:",
            "nested calls",
            "limits.max_call_levels",
        ],
    );
}

#[test]
fn a_gigabyte_string_hits_the_string_size_limit() {
    rejects_rule(
        "rules/triggers/big_string.rhai",
        &trigger("    let s = \"x\";\n    loop { s += s; }"),
        &["rules/triggers/big_string.rhai:", "limits.max_string_size"],
    );
}

#[test]
fn a_gigabyte_array_hits_the_array_size_limit() {
    rejects_rule(
        "rules/triggers/big_array.rhai",
        &trigger("    let a = [1, 2, 3, 4];\n    loop { a += a; }"),
        &["rules/triggers/big_array.rhai:", "limits.max_array_size"],
    );
}

#[test]
fn imports_outside_the_rules_folder_are_refused() {
    for (path, script) in [
        (
            "rules/triggers/escape.rhai",
            format!(
                "import \"../../config/onelead\" as c;\n{}",
                trigger("    ()")
            ),
        ),
        (
            "rules/triggers/absolute.rhai",
            trigger("    import \"/etc/hostname\" as h;\n    ()"),
        ),
    ] {
        rejects_rule(
            path,
            &script,
            &[path, "cannot import", "inside the rules folder"],
        );
    }
}

#[test]
fn an_import_through_a_symlink_out_of_the_folder_is_refused() {
    let Some(w) = with_run() else { return };
    let before = w.fingerprint("s.db");
    w.write("outside/secret.rhai", "fn f() { 1 }\n");
    std::fs::create_dir_all(w.join("rules/lib")).unwrap();
    std::os::unix::fs::symlink(w.join("outside/secret.rhai"), w.join("rules/lib/link.rhai"))
        .unwrap();
    w.write(
        "rules/triggers/via_link.rhai",
        &format!("import \"lib/link\" as l;\n{}", trigger("    ()")),
    );
    let err = w.fails(
        &["run", "--data", &sample(), "--db", "s.db", "--as-of", AS_OF],
        1,
    );
    assert!(err.contains("rules/triggers/via_link.rhai:1:"), "{err}");
    assert!(err.contains("outside the rules folder"), "{err}");
    assert_eq!(before, w.fingerprint("s.db"));
}

#[test]
fn eval_is_disabled() {
    rejects_rule(
        "rules/triggers/evil.rhai",
        &trigger("    eval(\"1 + 1\")"),
        &["rules/triggers/evil.rhai:3:5", "`eval` is disabled"],
    );
}

#[test]
fn a_rule_that_throws_names_its_line_and_the_row() {
    rejects_rule(
        "rules/triggers/thrower.rhai",
        &trigger("    throw \"boom from a rule\";"),
        &[
            "rules/triggers/thrower.rhai:3:5",
            "boom from a rule",
            "while evaluating install_base row",
        ],
    );
}

#[test]
fn a_trigger_returning_the_wrong_type_is_rejected() {
    rejects_rule(
        "rules/triggers/wrong_type.rhai",
        &trigger("    42"),
        &[
            "rules/triggers/wrong_type.rhai:",
            "returned `i64`",
            "`trigger` must return",
        ],
    );
}

#[test]
fn a_factor_returning_text_is_rejected() {
    rejects_rule(
        "rules/scoring/urgency.rhai",
        &factor("    \"high\""),
        &["rules/scoring/urgency.rhai:", "returned `string`"],
    );
}

/// The engine rejects any factor outside 0..=100, whether returned bare or in a map.
#[test]
fn factors_outside_0_to_100_are_rejected_consistently() {
    for (value, shown) in [
        ("parse_float(\"NaN\")", "NaN"),
        ("1e9", "1000000000"),
        ("-0.5", "-0.5"),
        ("100.000001", "100.000001"),
    ] {
        for body in [
            format!("    {value}"),
            format!("    #{{ value: {value}, reasons: [\"odd\"] }}"),
        ] {
            rejects_rule(
                "rules/scoring/urgency.rhai",
                &factor(&body),
                &[
                    "rules/scoring/urgency.rhai:",
                    &format!("factor `urgency` returned {shown}"),
                    "between 0 and 100",
                ],
            );
        }
    }
}

#[test]
fn factors_at_the_bounds_are_accepted() {
    let Some(w) = Workdir::try_new() else { return };
    for v in ["0", "100", "0.0", "100.0"] {
        w.write("rules/scoring/urgency.rhai", &factor(&format!("    {v}")));
        w.ok(&["run", "--data", &sample(), "--db", "b.db", "--as-of", AS_OF]);
        let mut urgency: Vec<String> = w
            .json(&["leads", "--db", "b.db"])
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["factors"]["urgency"]["value"].to_string())
            .collect();
        urgency.sort();
        urgency.dedup();
        assert_eq!(urgency.len(), 1, "{v}: {urgency:?}");
        assert_eq!(
            urgency[0].parse::<f64>().unwrap(),
            v.parse::<f64>().unwrap()
        );
    }
}

#[test]
fn a_yaml_syntax_error_shows_file_line_and_column() {
    let Some(w) = with_run() else { return };
    let before = w.fingerprint("s.db");
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml")).unwrap();
    w.write(
        "config/onelead.yaml",
        &cfg.replacen("top_services: 3", "top_services: [3", 1),
    );
    let line = cfg
        .lines()
        .position(|l| l.starts_with("top_services:"))
        .unwrap()
        + 1;
    let err = w.fails(
        &["run", "--data", &sample(), "--db", "s.db", "--as-of", AS_OF],
        1,
    );
    assert!(err.starts_with("error: "), "{err}");
    // The location is where the parser noticed: at or just after the broken line.
    let at = err
        .split("config/onelead.yaml:")
        .nth(1)
        .unwrap_or_else(|| panic!("no file:line:col in {err}"));
    let mut parts = at
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty());
    let (l, c): (usize, usize) = (
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap().parse().unwrap(),
    );
    assert!((line..=line + 3).contains(&l) && c >= 1, "{err}");
    assert_eq!(before, w.fingerprint("s.db"));
}

#[test]
fn usage_errors_exit_2_and_change_nothing() {
    let Some(w) = with_run() else { return };
    let before = w.fingerprint("s.db");
    for (args, expected) in [
        (vec!["run", "--no-such-flag"], "--no-such-flag"),
        (vec!["frobnicate"], "frobnicate"),
        (
            vec!["run", "--as-of", "2025-13-45", "--db", "s.db"],
            "2025-13-45",
        ),
        (
            vec!["run", "--as-of", "yesterday", "--db", "s.db"],
            "yesterday",
        ),
        (vec!["leads", "--limit", "many", "--db", "s.db"], "many"),
        (vec!["leads", "--format", "xml", "--db", "s.db"], "xml"),
        (vec![], "Usage"),
    ] {
        let err = w.fails(&args, 2);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert_eq!(before, w.fingerprint("s.db"));
    // Help and version are not errors.
    assert!(w.ok(&["--help"]).contains("Usage"));
    assert!(w.ok(&["--version"]).starts_with("onelead "));
}

#[test]
fn data_errors_exit_1_naming_the_input_and_change_nothing() {
    let Some(w) = with_run() else { return };
    let before = w.fingerprint("s.db");
    std::fs::create_dir_all(w.join("nothing_here")).unwrap();
    w.write("nothing_here/notes.txt", "not an export");
    for (data, expected) in [
        ("missing/export.xlsx", "missing/export.xlsx"),
        ("nothing_here", "no .xlsx or .csv files found"),
    ] {
        let err = w.fails(
            &["run", "--data", data, "--db", "s.db", "--as-of", AS_OF],
            1,
        );
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(expected), "{data}: {err}");
        assert!(err.contains(data), "{data}: {err}");
        assert_eq!(before, w.fingerprint("s.db"), "{data}");
    }
    // A failed first run leaves no database behind (nor SQLite's side files): it was not there.
    for data in ["missing/export.xlsx", "nothing_here"] {
        w.fails(
            &["run", "--data", data, "--db", "new.db", "--as-of", AS_OF],
            1,
        );
        let left: Vec<_> = std::fs::read_dir(w.path())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("new.db"))
            .collect();
        assert!(left.is_empty(), "{data}: {left:?}");
    }
    // A view on a database that does not exist (a PostgreSQL database without onelead's
    // tables) is a data error too, names it, and creates nothing.
    let err = w.fails(&["leads", "--db", "absent.db"], 1);
    assert!(err.contains(&w.shown("absent.db")), "{err}");
    assert!(w.untouched("absent.db"));
}

/// `onelead leads | head -1`: exit 0, nothing on stderr. The JSON printer used to wrap the
/// closed pipe in another I/O error kind, so it printed "cannot write output" and exited 1.
#[test]
fn a_closed_stdout_exits_quietly_with_status_0() {
    let Some(w) = with_run() else { return };
    for format in ["json", "csv"] {
        let mut child = w
            .command(&["leads", "--db", "s.db", "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // Dropping the read end closes the pipe, as `head -1` does when it exits.
        let out = child.wait_with_output().unwrap();
        assert!(!first.is_empty(), "{format}");
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).as_ref()
            ),
            (Some(0), ""),
            "{format}"
        );
        // The output is far larger than a pipe buffer, so the writes really hit a closed pipe.
        let full = w.ok(&["leads", "--db", "s.db", "--format", format]);
        assert!(full.len() > 256 * 1024, "{format}: {} bytes", full.len());
    }
}
