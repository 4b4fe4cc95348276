//! Issue 6, the lead lifecycle: statuses and history survive reruns, untriggered leads close and
//! come back, the funnel counts, the digest, the CRM export and the status command's errors.
//! Everything runs on the bundled sample as of 2025-10-29.

use std::collections::BTreeMap;

use crate::util::Workdir;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample");
const DB: &str = "s.db";

/// The CRITICAL Hardware Refresh lead of serial `SGHJQT019O`, the sample's best lead.
const HW: &str = "4W6PPVGE";
/// The Renewal lead of the same asset.
const RENEWAL: &str = "16F6A24F";
const HW_SERIAL: &str = "SGHJQT019O";

fn run(w: &Workdir) {
    w.ok(&["run", "--data", SAMPLE, "--db", DB, "--as-of", "2025-10-29"]);
}

fn one(w: &Workdir, query: &str) -> String {
    let rows = w.sql(DB, query);
    assert_eq!(rows.len(), 1, "{query}: {rows:?}");
    rows.into_iter().next().unwrap()
}

fn count(w: &Workdir, query: &str) -> i64 {
    one(w, query).parse().unwrap()
}

const TRIGGER: &str = "rules/triggers/hardware_refresh.rhai";
const TRIGGER_START: &str = "fn trigger(item, account, cfg) {\n";

/// Makes the Hardware Refresh trigger skip one serial; returns the original text.
fn skip_serial(w: &Workdir, serial: &str) -> String {
    let original = std::fs::read_to_string(w.join(TRIGGER)).unwrap();
    assert!(original.contains(TRIGGER_START));
    let edited = original.replacen(
        TRIGGER_START,
        &format!("{TRIGGER_START}    if item.serial_number == \"{serial}\" {{ return; }}\n"),
        1,
    );
    w.write(TRIGGER, &edited);
    original
}

fn history(w: &Workdir, id: &str) -> Vec<String> {
    w.sql(
        DB,
        &format!(
            "SELECT kind, coalesce(from_status, ''), coalesce(to_status, ''), coalesce(note, ''),
               coalesce(by, '') FROM lead_events WHERE lead_id = '{id}' ORDER BY id"
        ),
    )
}

fn lead_state(w: &Workdir, id: &str) -> String {
    one(
        w,
        &format!(
            "SELECT status, active, coalesce(closed_reason, '') FROM leads WHERE lead_id = '{id}'"
        ),
    )
}

#[test]
fn issue_6_statuses_and_history_survive_reruns_and_untriggered_leads_come_back() {
    let Some(w) = Workdir::try_new() else { return };
    run(&w);
    let leads = count(&w, "SELECT count(*) FROM leads");
    assert_eq!(count(&w, "SELECT count(*) FROM lead_events"), leads);
    // Lead ids are case-insensitive.
    let out = w.ok(&[
        "status",
        &HW.to_lowercase(),
        RENEWAL,
        "qualified",
        "--note",
        "budget confirmed",
        "--by",
        "ann",
        "--db",
        DB,
    ]);
    assert_eq!(
        out,
        format!("{HW}: new → qualified\n{RENEWAL}: new → qualified\n")
    );
    let qualified = [
        "created||||".to_string(),
        "status|new|qualified|budget confirmed|ann".to_string(),
    ];
    let updated_before = one(
        &w,
        &format!("SELECT updated_at FROM leads WHERE lead_id = '{HW}'"),
    );

    // Same data: nothing changes but the scores' run id.
    run(&w);
    for id in [HW, RENEWAL] {
        assert_eq!(lead_state(&w, id), "qualified|1|");
        assert_eq!(history(&w, id), qualified);
    }
    assert_eq!(
        one(
            &w,
            &format!("SELECT updated_at FROM leads WHERE lead_id = '{HW}'")
        ),
        updated_before
    );

    // The trigger stops firing for the asset: its Hardware Refresh lead closes, kept.
    let hw_leads_of_asset = count(
        &w,
        &format!(
            "SELECT count(*) FROM leads WHERE serial_number = '{HW_SERIAL}' AND rule = 'hardware_refresh'"
        ),
    );
    assert_eq!(hw_leads_of_asset, 1);
    let original = skip_serial(&w, HW_SERIAL);
    run(&w);
    assert_eq!(
        lead_state(&w, HW),
        "qualified|0|closed: no longer triggered"
    );
    assert_eq!(lead_state(&w, RENEWAL), "qualified|1|");
    let mut closed = qualified.to_vec();
    closed.push("closed|||no longer triggered|".into());
    assert_eq!(history(&w, HW), closed);
    // An inactive lead leaves the queue but not the database.
    let queue = w.json(&["leads", "--db", DB]);
    assert!(queue.as_array().unwrap().iter().all(|l| l["lead_id"] != HW));

    // The original rule again: the lead is back with its status and history.
    w.write(TRIGGER, &original);
    run(&w);
    assert_eq!(lead_state(&w, HW), "qualified|1|");
    let mut reopened = closed.clone();
    reopened.push("reopened||||".into());
    assert_eq!(history(&w, HW), reopened);

    // Ten more reruns lose nothing and add nothing.
    for _ in 0..10 {
        run(&w);
    }
    assert_eq!(lead_state(&w, HW), "qualified|1|");
    assert_eq!(history(&w, HW), reopened);
    assert_eq!(history(&w, RENEWAL), qualified);
    // created per lead + 2 status changes + 1 closed + 1 reopened.
    assert_eq!(
        count(&w, "SELECT count(*) FROM lead_events"),
        leads + 2 + 1 + 1
    );
    assert_eq!(count(&w, "SELECT count(*) FROM leads"), leads);
    assert_eq!(
        count(
            &w,
            "SELECT count(*) FROM lead_events WHERE kind = 'priority'"
        ),
        0
    );
}

/// Replaces `YYYY-MM-DDTHH:MM:SSZ` timestamps, which change on every run, with `[TIME]`.
fn redact_times(text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let fits = bytes.len() - i >= shape.len()
            && shape.iter().zip(&bytes[i..]).all(|(s, b)| {
                if *s == b'd' {
                    b.is_ascii_digit()
                } else {
                    s == b
                }
            });
        if fits {
            out.push_str("[TIME]");
            i += shape.len();
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[test]
fn issue_6_digest_lists_exactly_the_new_critical_lead() {
    let Some(w) = Workdir::try_new() else { return };
    let original = skip_serial(&w, HW_SERIAL);
    run(&w);
    assert_eq!(
        count(
            &w,
            &format!("SELECT count(*) FROM leads WHERE lead_id = '{HW}'")
        ),
        0
    );
    w.write(TRIGGER, &original);
    run(&w);
    assert_eq!(
        one(
            &w,
            &format!("SELECT priority FROM leads WHERE lead_id = '{HW}'")
        ),
        "CRITICAL"
    );
    let v = w.json(&["digest", "--db", DB]);
    let territories = v["territories"].as_array().unwrap();
    let new: Vec<&str> = territories
        .iter()
        .flat_map(|t| t["new_leads"].as_array().unwrap())
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    assert_eq!(new, [HW]);
    assert_eq!(v["since_run"], 2);
    let markdown = w.ok(&["digest", "--db", DB]);
    insta::assert_snapshot!("digest_new_critical_lead", redact_times(&markdown));
    // A date before every run reports every new CRITICAL/HIGH lead.
    let all = w.json(&["digest", "--db", DB, "--since", "2000-01-01"]);
    let n: usize = all["territories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["new_leads"].as_array().unwrap().len())
        .sum();
    let expected = count(
        &w,
        "SELECT count(*) FROM leads WHERE active = 1 AND priority IN ('CRITICAL', 'HIGH')",
    );
    assert_eq!(n as i64, expected);
}

#[test]
fn issue_6_digest_reports_priority_changes_from_the_last_run() {
    let Some(w) = Workdir::try_new() else { return };
    run(&w);
    // Raising the CRITICAL cut-off turns every lead scoring 75–90 into HIGH.
    let moved = count(
        &w,
        "SELECT count(*) FROM leads WHERE score >= 75 AND score < 90",
    );
    assert!(moved > 0);
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml")).unwrap();
    w.write(
        "config/onelead.yaml",
        &cfg.replacen("critical: 75", "critical: 90", 1),
    );
    run(&w);
    assert_eq!(
        count(
            &w,
            "SELECT count(*) FROM lead_events WHERE kind = 'priority'
             AND from_status = 'CRITICAL' AND to_status = 'HIGH'"
        ),
        moved
    );
    let v = w.json(&["digest", "--db", DB]);
    let changes: Vec<(String, String)> = v["territories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["priority_changes"].as_array().unwrap())
        .map(|c| {
            (
                c["from"].as_str().unwrap().to_string(),
                c["to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(changes.len() as i64, moved);
    assert!(changes.iter().all(|(f, t)| f == "CRITICAL" && t == "HIGH"));
    // Nothing is new in the second run.
    assert!(
        v["territories"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["new_leads"].as_array().unwrap().is_empty())
    );
}

fn ids_of(w: &Workdir, rule: &str, n: usize) -> Vec<String> {
    w.sql(
        DB,
        &format!("SELECT lead_id FROM leads WHERE rule = '{rule}' ORDER BY lead_id LIMIT {n}"),
    )
}

fn status(w: &Workdir, ids: &[&str], to: &str) {
    let mut args = vec!["status"];
    args.extend(ids);
    args.extend([to, "--db", DB]);
    w.ok(&args);
}

/// serde_json's default float parsing may be one ulp off the value that was printed.
fn close_to(got: f64, expected: f64, what: &str) {
    assert!(
        (got - expected).abs() < 1e-12,
        "{what}: {got} != {expected}"
    );
}

#[test]
fn issue_6_funnel_matches_a_hand_count() {
    let Some(w) = Workdir::try_new() else { return };
    run(&w);
    let hw = ids_of(&w, "hardware_refresh", 3);
    let ren = ids_of(&w, "renewal", 2);
    let attach = ids_of(&w, "service_attach", 1);
    // Hardware Refresh: 2 converted, 1 rejected. Renewal: 1 converted, 1 qualified.
    // Service Attach: 1 contacted.
    status(&w, &[&hw[0], &hw[1]], "qualified");
    status(&w, &[&hw[0], &hw[1]], "converted");
    status(&w, &[&hw[2]], "rejected");
    status(&w, &[&ren[0]], "contacted");
    status(&w, &[&ren[0]], "converted");
    status(&w, &[&ren[1]], "qualified");
    status(&w, &[&attach[0]], "contacted");
    let total = |rule: &str| {
        count(
            &w,
            &format!("SELECT count(*) FROM leads WHERE rule = '{rule}'"),
        )
    };
    let (t_hw, t_ren, t_att) = (
        total("hardware_refresh"),
        total("renewal"),
        total("service_attach"),
    );
    let all = t_hw + t_ren + t_att;
    let v = w.json(&["funnel", "--db", DB]);
    let rows: BTreeMap<(String, String), &serde_json::Value> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r["dimension"].as_str().unwrap().to_string(),
                    r["group"].as_str().unwrap().to_string(),
                ),
                r,
            )
        })
        .collect();
    let check = |dim: &str, group: &str, total: i64, counts: [i64; 5]| {
        let r = rows[&(dim.to_string(), group.to_string())];
        assert_eq!(r["total"], total, "{dim} {group}");
        let got: Vec<i64> = ["new", "contacted", "qualified", "converted", "rejected"]
            .iter()
            .map(|s| r["by_status"][s].as_i64().unwrap())
            .collect();
        assert_eq!(got, counts, "{dim} {group}");
        let rate = counts[3] as f64 / total as f64;
        close_to(
            r["conversion_rate"].as_f64().unwrap(),
            rate,
            &format!("{dim} {group}"),
        );
    };
    check("all", "all", all, [all - 6, 1, 1, 3, 1]);
    check(
        "lead_type",
        "Hardware Refresh - EOL Equipment",
        t_hw,
        [t_hw - 3, 0, 0, 2, 1],
    );
    check(
        "lead_type",
        "Renewal - Expired Support",
        t_ren,
        [t_ren - 2, 0, 1, 1, 0],
    );
    check(
        "lead_type",
        "Service Attach - Coverage Gap",
        t_att,
        [t_att - 1, 1, 0, 0, 0],
    );
    // By priority and territory: the converted leads' groups, counted independently.
    let converted = [&hw[0], &hw[1], &ren[0]];
    for (dim, column) in [("priority", "priority"), ("territory", "territory_id")] {
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        for id in converted {
            let g = one(
                &w,
                &format!("SELECT {column} FROM leads WHERE lead_id = '{id}'"),
            );
            *expected.entry(g).or_insert(0) += 1;
        }
        for (group, n) in expected {
            let r = rows[&(dim.to_string(), group.clone())];
            let size = count(
                &w,
                &format!("SELECT count(*) FROM leads WHERE {column} = '{group}'"),
            );
            assert_eq!(r["by_status"]["converted"], n, "{dim} {group}");
            assert_eq!(
                r["conversion_rate"].as_f64().unwrap(),
                n as f64 / size as f64
            );
        }
    }
}

#[test]
fn issue_6_unknown_ids_change_nothing_and_odd_moves_need_force() {
    let Some(w) = Workdir::try_new() else { return };
    run(&w);
    let before = w.fingerprint(DB);
    let err = w.fails(
        &["status", HW, "nope1", "NOPE2", "qualified", "--db", DB],
        1,
    );
    assert_eq!(
        err,
        "error: unknown lead ids `NOPE1`, `NOPE2`; nothing was changed \
         (`onelead leads` lists the ids)\n"
    );
    assert_eq!(before, w.fingerprint(DB), "the database changed");

    status(&w, &[HW], "qualified");
    status(&w, &[HW], "converted");
    let before = w.fingerprint(DB);
    let err = w.fails(&["status", HW, "new", "--db", DB], 1);
    assert!(err.contains(&format!("`{HW}` (converted → new)")), "{err}");
    assert!(err.contains("`--force` records it anyway"), "{err}");
    assert_eq!(before, w.fingerprint(DB), "the database changed");
    // Rejected → converted is refused the same way.
    status(&w, &[RENEWAL], "rejected");
    w.fails(&["status", RENEWAL, "converted", "--db", DB], 1);

    w.ok(&[
        "status",
        HW,
        "new",
        "--force",
        "--note",
        "reopened by hand",
        "--db",
        DB,
    ]);
    assert_eq!(lead_state(&w, HW), "new|1|");
    assert_eq!(
        w.sql(
            DB,
            &format!(
                "SELECT from_status, to_status FROM lead_events
                 WHERE lead_id = '{HW}' AND kind = 'status' ORDER BY id"
            )
        ),
        ["new|qualified", "qualified|converted", "converted|new"]
    );
}

fn set_updated(w: &Workdir, id: &str, at: &str) {
    w.execute(
        DB,
        &format!("UPDATE leads SET updated_at = '{at}' WHERE lead_id = '{id}'"),
    );
}

#[test]
fn issue_6_leads_filters_by_status_and_age_and_flags_aging_leads() {
    let Some(w) = Workdir::try_new() else { return };
    run(&w);
    status(&w, &[RENEWAL], "contacted");
    // Untouched since long ago, and recently touched by an old date that is not yet aging.
    set_updated(&w, HW, "2000-01-01T00:00:00Z");
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| l["lead_id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = w.json(&["leads", "--db", DB]);
    let aging: Vec<&serde_json::Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["aging"] == true)
        .collect();
    assert_eq!(aging.len(), 1);
    assert_eq!(aging[0]["lead_id"], HW);
    // The Lead fields are still all there.
    assert_eq!(aging[0]["status"], "new");
    assert!(aging[0]["factors"].is_object());

    assert_eq!(
        ids(&w.json(&["leads", "--db", DB, "--older-than", "30"])),
        [HW]
    );
    assert_eq!(
        ids(&w.json(&["leads", "--db", DB, "--status", "contacted"])),
        [RENEWAL]
    );
    assert!(ids(&w.json(&["leads", "--db", DB, "--new-since", "2999-01-01"])).is_empty());
    assert_eq!(
        ids(&w.json(&["leads", "--db", DB, "--new-since", "2000-01-01"])).len(),
        all.as_array().unwrap().len()
    );

    let table = w.ok(&["leads", "--db", DB, "--limit", "1"]);
    assert!(table.lines().nth(1).unwrap().contains("aging"), "{table}");
    assert!(table.contains(&format!("{HW} ")), "{table}");
    let csv = w.ok(&["leads", "--db", DB, "--format", "csv", "--older-than", "30"]);
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",aging"), "{csv}");
    assert!(lines.next().unwrap().ends_with(",true"), "{csv}");

    // The digest lists it as aging without action.
    let digest = w.json(&["digest", "--db", DB]);
    let aging: Vec<&str> = digest["territories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["aging"].as_array().unwrap())
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    assert_eq!(aging, [HW]);
}

#[test]
fn issue_6_export_flattens_skus_and_services_for_a_crm() {
    let Some(w) = Workdir::try_new() else { return };
    run(&w);
    status(&w, &[RENEWAL], "qualified");
    w.ok(&[
        "export",
        "--db",
        DB,
        "--status",
        "qualified",
        "--out",
        "crm.csv",
    ]);
    let text = std::fs::read_to_string(w.join("crm.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(&r[col("lead_id")], RENEWAL);
    assert_eq!(&r[col("status")], "qualified");
    assert_eq!(&r[col("sku_1")], "HL442A1");
    assert_eq!(&r[col("sku_2")], "");
    let lead = w.json(&["explain", RENEWAL, "--db", DB]);
    let services: Vec<String> = lead["recommended_services"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|s| s["service"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(services.len(), 3);
    for (i, s) in services.iter().enumerate() {
        assert_eq!(&r[col(&format!("service_{}", i + 1))], s.as_str());
    }

    let json = w.ok(&["export", "--db", DB, "--format", "json", "--limit", "5"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 5);
    assert!(v[0]["sku_1"].is_string() || v[0]["sku_1"].is_null());
    assert_eq!(v[0]["status"], "new");

    let err = w.fails(&["export", "--db", DB, "--out", "missing/dir/crm.csv"], 1);
    assert!(err.contains("`missing/dir/crm.csv`"), "{err}");
}

/// The weekly summary's `status_changes` of `territory`.
fn weekly_status_changes(w: &Workdir, territory: &str) -> serde_json::Value {
    let out = w.ok(&["digest", "--kind", "weekly", "--json", "--db", DB]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let t = v["territories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["territory_id"] == territory)
        .unwrap_or_else(|| panic!("territory {territory} in {out}"));
    t["status_changes"].clone()
}

#[test]
fn weekly_summary_counts_the_status_changes_people_made_in_the_week() {
    let Some(w) = Workdir::try_new() else { return };
    run(&w);
    let territory = one(
        &w,
        &format!("SELECT territory_id FROM leads WHERE lead_id = '{HW}'"),
    );
    assert_eq!(weekly_status_changes(&w, &territory), serde_json::json!({}));
    status(&w, &[HW, RENEWAL], "contacted");
    status(&w, &[RENEWAL], "qualified");
    let both = serde_json::json!({"contacted": 2, "qualified": 1});
    assert_eq!(weekly_status_changes(&w, &territory), both);
    let table = w.ok(&["digest", "--kind", "weekly", "--format", "csv", "--db", DB]);
    assert!(table.contains("2 contacted, 1 qualified"), "{table}");

    // A run closing a lead whose trigger stops firing is not somebody's work.
    let original = skip_serial(&w, HW_SERIAL);
    run(&w);
    assert_eq!(
        lead_state(&w, HW),
        "contacted|0|closed: no longer triggered"
    );
    assert_eq!(weekly_status_changes(&w, &territory), both);
    w.write(TRIGGER, &original);

    // A change older than the week is out of it.
    w.execute(
        DB,
        &format!(
            "UPDATE lead_events SET at = '2000-01-01T00:00:00Z'
             WHERE lead_id = '{RENEWAL}' AND to_status = 'qualified'"
        ),
    );
    assert_eq!(
        weekly_status_changes(&w, &territory),
        serde_json::json!({"contacted": 2})
    );
}
