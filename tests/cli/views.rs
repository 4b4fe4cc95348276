//! The views on the real exports: exact content in JSON, and table snapshots (NO_COLOR).

use crate::util::{Workdir, real_run};

fn view(w: &Workdir, args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.extend(["--db", "r.db"]);
    // Timestamps are the only thing that differs between runs.
    redact_timestamps(&w.ok(&a))
}

/// Replaces RFC 3339 timestamps (`2026-11-24T18:51:32Z`) with `[TIME]`.
fn redact_timestamps(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let is_ts = i + 20 <= b.len()
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 19] == b'Z';
        if is_ts {
            out.push_str("[TIME]");
            i += 20;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[test]
fn leads_view_filters_and_top_lead() {
    let Some(w) = real_run() else { return };
    let all = w.json(&["leads", "--db", "r.db"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 77);
    let top = &all[0];
    assert_eq!(top["score"], 73.5);
    assert_eq!(top["lead_type"], "Hardware Refresh - EOL Equipment");
    assert_eq!(top["account_name"], "Apple Inc.");
    for field in [
        "lead_id",
        "lead_type",
        "priority",
        "score",
        "factors",
        "reasons",
        "account_name",
        "territory_id",
        "serial_number",
        "product_name",
        "product_family",
        "recommended_services",
        "recommended_skus",
        "status",
        "created_at",
    ] {
        assert!(top.get(field).is_some(), "lead JSON lacks `{field}`");
    }
    let n = |args: &[&str]| {
        let mut a = vec!["leads", "--db", "r.db"];
        a.extend(args);
        w.json(&a).as_array().unwrap().len()
    };
    assert_eq!(n(&["--priority", "medium"]), 4);
    assert_eq!(n(&["--type", "renewal"]), 30);
    assert_eq!(n(&["--territory", "56166"]), 21);
    assert_eq!(n(&["--account", "APPLE COMPUTER"]), 39);
    assert_eq!(n(&["--family", "compute", "--type", "refresh"]), 8);
    assert_eq!(n(&["--min-score", "70"]), 18);
    assert_eq!(n(&["--priority", "critical"]), 0);
    let none = w.ok(&["leads", "--db", "r.db", "--priority", "critical"]);
    assert!(none.contains("no leads match"), "{none}");
}

#[test]
fn leads_csv_round_trips_to_the_json() {
    let Some(w) = real_run() else { return };
    let json = w.json(&["leads", "--db", "r.db"]);
    let json = json.as_array().unwrap();
    let csv_text = w.ok(&["leads", "--db", "r.db", "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), json.len());
    let keys: Vec<&String> = json[0].as_object().unwrap().keys().collect();
    let mut sorted_headers = headers.clone();
    sorted_headers.sort();
    let mut sorted_keys: Vec<String> = keys.iter().map(|k| (*k).clone()).collect();
    sorted_keys.sort();
    assert_eq!(sorted_headers, sorted_keys);
    for (row, lead) in rows.iter().zip(json) {
        for (h, cell) in headers.iter().zip(row.iter()) {
            let v = &lead[h.as_str()];
            // Text columns hold the text; nested values hold their compact JSON.
            let back = match v {
                serde_json::Value::Null => serde_json::Value::Null,
                serde_json::Value::String(_) => serde_json::Value::String(cell.to_string()),
                serde_json::Value::Array(_) if h == "recommended_skus" => cell
                    .split_whitespace()
                    .map(|s| serde_json::Value::String(s.to_string()))
                    .collect(),
                _ => serde_json::from_str(cell).unwrap(),
            };
            if let (Some(a), Some(b)) = (back.as_f64(), v.as_f64()) {
                assert_eq!(a, b, "column `{h}` of lead {}", lead["lead_id"]);
                continue;
            }
            if v.is_null() {
                assert_eq!(cell, "", "column `{h}` of lead {}", lead["lead_id"]);
                continue;
            }
            assert_eq!(&back, v, "column `{h}` of lead {}", lead["lead_id"]);
        }
    }
}

#[test]
fn dashboard_account_territories_analytics_and_explain_content() {
    let Some(w) = real_run() else { return };
    let d = w.json(&["dashboard", "--db", "r.db"]);
    assert_eq!(d["total_leads"], 77);
    assert_eq!(d["by_priority"]["high"], 73);
    assert_eq!(d["top"].as_array().unwrap().len(), 10);

    let a = w.json(&["account", "apple", "--db", "r.db"]);
    assert_eq!(a["account"]["account_id"], "ST-56088");
    assert_eq!(a["install_base"].as_array().unwrap().len(), 15);
    assert_eq!(a["leads"].as_array().unwrap().len(), 39);
    // Jebi, filed under the same territory, is an account of its own.
    assert_eq!(a["opportunities"].as_array().unwrap().len(), 51);
    let missing = w.fails(&["account", "Aple Inc", "--db", "r.db"], 1);
    assert!(missing.contains("did you mean"), "{missing}");
    assert!(missing.contains("Apple Inc."), "{missing}");

    let t = w.json(&["territories", "--db", "r.db"]);
    let t56166 = t
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["territory_id"] == "56166")
        .unwrap();
    assert_eq!(t56166["leads"], 21);
    assert_eq!(t56166["install_base"], 7);

    let an = w.json(&["analytics", "--db", "r.db"]);
    let hist: i64 = an["score_histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["leads"].as_i64().unwrap())
        .sum();
    assert_eq!(hist, 77);

    let top_id = d["top"][0]["lead_id"].as_str().unwrap().to_string();
    let e = w.json(&["explain", &top_id.to_lowercase(), "--db", "r.db"]);
    assert_eq!(e["lead_id"], top_id.as_str());
    let sum: f64 = e["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["contribution"].as_f64().unwrap())
        .sum();
    assert!((sum - e["score"].as_f64().unwrap()).abs() < 1e-9);
    let unknown = w.fails(&["explain", "ZZZZZZZZ", "--db", "r.db"], 1);
    assert!(unknown.contains("ZZZZZZZZ"), "{unknown}");
}

#[test]
fn table_output_snapshots() {
    let Some(w) = real_run() else { return };
    let top = w.json(&["leads", "--db", "r.db", "--limit", "1"]);
    let id = top[0]["lead_id"].as_str().unwrap().to_string();
    insta::assert_snapshot!("leads_top5", view(&w, &["leads", "--limit", "5"]));
    insta::assert_snapshot!("dashboard", view(&w, &["dashboard"]));
    // Baltimore's main account; the territory's other customers are accounts of their own.
    insta::assert_snapshot!("account_baltimore", view(&w, &["account", "ST-56769"]));
    insta::assert_snapshot!("territories", view(&w, &["territories"]));
    insta::assert_snapshot!("analytics", view(&w, &["analytics"]));
    insta::assert_snapshot!("explain_top", view(&w, &["explain", &id]));
}

// A sample's largest account has more leads and assets than the table shows: the table pages
// them and says how many more there are; `--all` and the JSON give every row.
#[test]
fn account_pages_a_large_account_in_the_table_but_not_in_json() {
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&["sample", "--out", "in", "--rows", "1000", "--format", "csv"]);
    w.ok(&[
        "run",
        "--data",
        "in",
        "--db",
        "s.db",
        "--as-of",
        "2025-09-01",
    ]);
    let top = w.sql(
        "s.db",
        "SELECT account_id, count(*) FROM leads WHERE active = 1
         GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    );
    let (id, leads) = top[0].split_once('|').unwrap();
    let leads: usize = leads.parse().unwrap();
    let assets: usize = w.sql(
        "s.db",
        &format!("SELECT count(*) FROM install_base WHERE account_id = '{id}'"),
    )[0]
    .parse()
    .unwrap();
    assert!(leads > 60 && assets > 60, "{leads} leads, {assets} assets");

    let table = w.ok(&["account", id, "--db", "s.db"]);
    assert!(table.contains(&format!("\nleads: {leads}\n")), "{table}");
    assert!(
        table.contains(&format!("install base: {assets} assets")),
        "{table}"
    );
    assert!(
        table.contains(&format!("… and {} more", leads - 50)),
        "{table}"
    );
    assert!(
        table.contains(&format!("… and {} more", assets - 50)),
        "{table}"
    );

    let ten = w.ok(&["account", id, "--limit", "10", "--db", "s.db"]);
    assert!(ten.contains(&format!("… and {} more", leads - 10)), "{ten}");

    let all = w.ok(&["account", id, "--all", "--db", "s.db"]);
    assert!(!all.contains("more (`--all`"), "{all}");
    assert!(all.len() > table.len());

    let json = w.json(&["account", id, "--db", "s.db"]);
    assert_eq!(json["leads"].as_array().unwrap().len(), leads);
    assert_eq!(json["install_base"].as_array().unwrap().len(), assets);
    let five = w.json(&["account", id, "--limit", "5", "--db", "s.db"]);
    assert_eq!(five["leads"].as_array().unwrap().len(), 5);
    assert_eq!(five["leads"][0], json["leads"][0]);
    assert_eq!(five["install_base"].as_array().unwrap().len(), 5);

    let csv = w.ok(&["account", id, "--format", "csv", "--db", "s.db"]);
    assert_eq!(
        csv::Reader::from_reader(csv.as_bytes()).records().count(),
        leads
    );
}

#[test]
fn views_on_a_missing_or_empty_database() {
    let Some(w) = Workdir::try_new() else { return };
    let err = w.fails(&["leads", "--db", "nothing.db"], 1);
    assert!(err.contains("run `onelead run` first"), "{err}");
    assert!(
        w.untouched("nothing.db"),
        "a view must not create a database"
    );
    // An empty database (loaded, never evaluated) says so and exits 0.
    w.ok(&[
        "load",
        "--data",
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample"),
        "--db",
        "e.db",
    ]);
    for v in ["leads", "dashboard", "territories", "analytics"] {
        let out = w.ok(&[v, "--db", "e.db"]);
        assert!(out.contains("no leads"), "{v}: {out}");
    }
}
