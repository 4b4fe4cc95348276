//! Issue 20, "real files read right": CSV encodings, the day/month order of text dates, CRM
//! API-style headers, Yes/No flag columns, and what `load` prints about them — on the small
//! synthetic exports in `tests/fixtures/ingest/` (see its README for how each was made).
//! See: issue 20.

use std::path::PathBuf;

use crate::util::{Workdir, shared_data};

fn fixture(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/ingest", name]
        .iter()
        .collect();
    p.to_str().unwrap().to_string()
}

/// `load --format json` of one fixture into `db`; returns the run report's `ingest`.
fn load(w: &Workdir, db: &str, name: &str) -> serde_json::Value {
    let f = fixture(name);
    w.json(&["load", "--data", &f, "--db", db, "--as-of", "2025-10-29"])["ingest"].clone()
}

/// Loads these fixtures in one run, as one snapshot of each kind (a later load of a kind
/// replaces the earlier one's rows); returns the ingest report.
fn load_all(w: &Workdir, db: &str, names: &[&str]) -> serde_json::Value {
    let files: Vec<String> = names.iter().map(|n| fixture(n)).collect();
    let mut args = vec!["load", "--db", db, "--as-of", "2025-10-29"];
    for f in &files {
        args.extend(["--data", f.as_str()]);
    }
    w.json(&args)["ingest"].clone()
}

#[test]
fn excel_windows_1252_csv_stores_exactly_what_was_written() {
    let Some(w) = Workdir::try_new() else { return };
    let r = load(&w, "e.db", "excel_windows1252.csv");
    assert_eq!(r["files"][0]["encoding"], "windows-1252");
    assert_eq!(r["warnings"], serde_json::json!([]));
    assert_eq!(
        w.sql(
            "e.db",
            "SELECT account_name, product_name FROM install_base ORDER BY serial_number"
        ),
        [
            "Société Générale|ProLiant DL360 Gen9",
            "Müller GmbH|Aruba AP-325 – “indoor”"
        ]
    );
}

#[test]
fn utf16_and_utf8_with_a_byte_order_mark() {
    let Some(w) = Workdir::try_new() else { return };
    // Excel's "Unicode Text": UTF-16LE with a BOM, tab-separated.
    let r = load_all(&w, "u.db", &["utf16le_bom.csv", "utf8_bom.csv"]);
    assert_eq!(r["files"][0]["encoding"], "utf-16le with BOM");
    assert_eq!(r["files"][1]["encoding"], "utf-8 with BOM");
    assert_eq!(
        w.sql(
            "u.db",
            "SELECT serial_number, account_name, product_name, service_end FROM install_base \
             ORDER BY serial_number"
        ),
        [
            "SN-B1|Société Générale|ProLiant DL360 Gen9|2024-01-01",
            "SN-U1|Société Générale|ProLiant DL380 Gen10|2025-01-01",
            "SN-U2|株式会社日立製作所|Cisco 株式会社|NULL",
        ]
    );
}

#[test]
fn a_byte_that_does_not_decode_is_reported_with_file_row_and_column() {
    let Some(w) = Workdir::try_new() else { return };
    let r = load(&w, "m.db", "utf8_stray_byte.csv");
    let warn = &r["warnings"][0];
    assert_eq!(warn["kind"], "encoding");
    assert_eq!(warn["file"], "utf8_stray_byte.csv");
    assert_eq!(warn["row"], 5);
    assert_eq!(warn["column"], "Account_Name");
    // The earlier rows decided the file is UTF-8; they keep their accents.
    assert_eq!(
        w.sql(
            "m.db",
            "SELECT count(*) FROM install_base WHERE account_name = 'Société Générale'"
        ),
        ["3"]
    );
    assert_eq!(
        w.sql(
            "m.db",
            "SELECT account_name FROM install_base WHERE serial_number = 'SN-M4'"
        ),
        ["Caf\u{FFFD}"]
    );
    // The table output says so too.
    let f = fixture("utf8_stray_byte.csv");
    let out = w.ok(&["load", "--data", &f, "--db", "m.db"]);
    assert!(
        out.contains("utf8_stray_byte.csv: 1 value did not decode as UTF-8 (the first on row 5, column `Account_Name`)"),
        "{out}"
    );
}

#[test]
fn a_configured_encoding_is_used_and_a_contradicting_bom_refused() {
    let Some(w) = Workdir::try_new() else { return };
    w.write(
        "config/onelead.yaml",
        "ingest:\n  files:\n    - match: 'utf8_*.csv'\n      encoding: windows-1252\n",
    );
    let r = load(&w, "c.db", "utf8_stray_byte.csv");
    assert_eq!(
        r["files"][0]["encoding"],
        "windows-1252 from `ingest.files[0].encoding`"
    );
    assert_eq!(
        w.sql(
            "c.db",
            "SELECT account_name FROM install_base WHERE serial_number = 'SN-M4'"
        ),
        ["Café"]
    );
    let f = fixture("utf16le_bom.csv");
    w.write("config/onelead.yaml", "ingest:\n  encoding: windows-1252\n");
    let err = w.fails(&["load", "--data", &f, "--db", "c.db"], 1);
    assert!(
        err.contains("utf16le_bom.csv: the file starts with a UTF-16LE byte-order mark, but the config says it is windows-1252 (`ingest.encoding`)"),
        "{err}"
    );
    w.write("config/onelead.yaml", "ingest:\n  encoding: klingon\n");
    let err = w.fails(&["load", "--data", &f, "--db", "c.db"], 1);
    assert!(err.contains("unknown encoding `klingon`"), "{err}");
    assert!(err.contains("config/onelead.yaml:2:"), "{err}");
}

#[test]
fn a_dd_mm_export_is_read_day_first_from_its_own_unambiguous_dates() {
    // Before issue 20, `05/06/2015` read as 6 May and `31/12/2015` became NULL.
    let Some(w) = Workdir::try_new() else { return };
    let r = load(&w, "d.db", "ddmm_dates.csv");
    assert_eq!(
        w.sql(
            "d.db",
            "SELECT serial_number, eol_date, service_end FROM install_base ORDER BY serial_number"
        ),
        [
            "SN-D1|2015-06-05|2024-02-01",
            "SN-D2|2016-08-07|NULL",
            "SN-D3|2017-03-04|NULL",
            "SN-D4|2015-12-31|2025-02-28",
        ]
    );
    let cols = r["date_columns"].as_array().unwrap();
    assert_eq!(cols.len(), 2);
    assert_eq!(cols[0]["column"], "Product_End_of_Life_Date");
    assert_eq!(
        (cols[0]["order"].as_str(), cols[0]["basis"].as_str()),
        (Some("dmy"), Some("inferred"))
    );
    assert_eq!(cols[0]["day_first"]["row"], 5);
    assert_eq!(r["warnings"], serde_json::json!([]));
    assert_eq!(r["coerced"], serde_json::json!([]));
}

#[test]
fn ambiguous_only_dates_follow_the_configured_order_and_say_so() {
    let Some(w) = Workdir::try_new() else { return };
    let r = load(&w, "a.db", "ambiguous_dates.csv");
    assert_eq!(
        w.sql(
            "a.db",
            "SELECT eol_date FROM install_base ORDER BY serial_number"
        ),
        ["2015-05-06", "2016-01-02"],
        "month first by default"
    );
    let warn = &r["warnings"][0];
    assert_eq!(
        (
            warn["kind"].as_str(),
            warn["file"].as_str(),
            warn["column"].as_str()
        ),
        (
            Some("date_order_assumed"),
            Some("ambiguous_dates.csv"),
            Some("Product_End_of_Life_Date")
        )
    );
    w.write("config/onelead.yaml", "ingest:\n  date_order: dmy\n");
    let r = load(&w, "a.db", "ambiguous_dates.csv");
    assert_eq!(
        w.sql(
            "a.db",
            "SELECT eol_date FROM install_base ORDER BY serial_number"
        ),
        ["2015-06-05", "2016-02-01"]
    );
    let msg = r["warnings"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("were read day/month (`ingest.date_order: dmy`)"),
        "{msg}"
    );
}

#[test]
fn a_column_with_both_orders_is_reported_not_guessed() {
    let Some(w) = Workdir::try_new() else { return };
    let r = load(&w, "x.db", "contradictory_dates.csv");
    assert_eq!(
        w.sql(
            "x.db",
            "SELECT serial_number, eol_date FROM install_base ORDER BY serial_number"
        ),
        ["SN-X1|2015-01-13", "SN-X2|NULL", "SN-X3|2015-01-13"]
    );
    let warn = &r["warnings"][0];
    assert_eq!(warn["kind"], "date_order_contradiction");
    assert_eq!(warn["row"], 3);
    assert_eq!(r["coerced"][0]["column"], "eol_date");
    assert_eq!(r["coerced"][0]["examples"][0]["raw"], "05/06/2015");
}

#[test]
fn crm_exports_named_by_api_name_load_their_opportunities() {
    // Salesforce API names (`Id`, `Account.Name`, `Account_ST_ID__c`, `Owner__r.Name`), HubSpot
    // labels (`Record ID`, `Deal Name`, `Associated Company`) and object-prefixed snake_case.
    let Some(w) = Workdir::try_new() else { return };
    let files = [
        "salesforce_opportunities.csv",
        "hubspot_deals.csv",
        "warehouse_opportunities.csv",
    ];
    let r = load_all(&w, "o.db", &files);
    for (i, f) in files.iter().enumerate() {
        assert_eq!(r["files"][i]["sheets"][0]["kind"], "opportunities", "{f}");
    }
    assert_eq!(
        w.sql(
            "o.db",
            "SELECT opportunity_id, name, account_name, territory_id, product_line \
             FROM opportunities ORDER BY opportunity_id"
        ),
        [
            "006A1|Renewal 2026|Acme Corp|307|Servers",
            "006A2|Storage refresh|Acme Corp|307|Storage",
            "9001|Acme expansion|Acme Corp|NULL|NULL",
            "OPP-1|Acme renewal|Acme Corp|307|Servers",
        ]
    );
}

#[test]
fn a_workbook_sheet_nothing_matches_is_a_warning_not_silence() {
    let Some(w) = Workdir::try_new() else { return };
    let path = w.join("crm.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ib = wb.add_worksheet();
    ib.set_name("Install Base").unwrap();
    for (c, h) in ["Serial", "Product_Name", "Support_Status"]
        .iter()
        .enumerate()
    {
        ib.write_string(0, c as u16, *h).unwrap();
        ib.write_string(1, c as u16, "x").unwrap();
    }
    // Opportunities without any id column: nothing to key them by.
    let opp = wb.add_worksheet();
    opp.set_name("Opps").unwrap();
    for (c, h) in ["Opportunity_Name__c", "Account.Name", "Amount"]
        .iter()
        .enumerate()
    {
        opp.write_string(0, c as u16, *h).unwrap();
        opp.write_string(1, c as u16, "y").unwrap();
    }
    wb.save(&path).unwrap();
    let r = w.json(&["load", "--data", path.to_str().unwrap(), "--db", "w.db"])["ingest"].clone();
    let warn = &r["warnings"][0];
    assert_eq!(
        (warn["kind"].as_str(), warn["sheet"].as_str()),
        (Some("sheet_not_loaded"), Some("Opps"))
    );
    let msg = warn["message"].as_str().unwrap();
    assert!(
        msg.contains("It looks most like `opportunities` (`Opportunity_Name__c` as `name`, `Account.Name` as `account_name`) but has no `opportunity_id` column"),
        "{msg}"
    );
}

#[test]
fn yes_no_cost_columns_are_flag_columns() {
    let Some(w) = Workdir::try_new() else { return };
    let r = load(&w, "f.db", "project_flags.csv");
    assert_eq!(r["coerced"], serde_json::json!([]));
    assert_eq!(
        r["flags"],
        serde_json::json!([
            {"table": "projects", "column": "third_party_svc_cost", "yes": 1, "no": 1},
            {"table": "projects", "column": "labor_cost", "yes": 2, "no": 1}
        ])
    );
    assert_eq!(
        w.sql(
            "f.db",
            "SELECT project_id, third_party_svc_cost, labor_cost FROM projects ORDER BY project_id"
        ),
        ["OPE-1|0|1", "OPE-2|1|1", "OPE-3|NULL|0"]
    );
}

#[test]
fn load_honours_format_and_says_that_run_evaluates() {
    let Some(w) = Workdir::try_new() else { return };
    let f = fixture("project_flags.csv");
    let out = w.run(&["load", "--data", &f, "--db", "l.db", "--format", "csv"]);
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "kind,file,sheet,table,column,count,row,detail");
    assert!(
        lines.contains(&"sheet,project_flags.csv,,projects,,3,,utf-8"),
        "{csv}"
    );
    assert!(lines.contains(&"rows,,,projects,,3,,"), "{csv}");
    assert!(
        lines.contains(&"flags,,,projects,labor_cost,3,,\"yes 2, no 1\""),
        "{csv}"
    );
    assert!(!csv.contains('│'), "no box drawing in CSV: {csv}");
    // See: issue 20 — `load` alone left the leads stale and said nothing.
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "`onelead run --data {f}` loads and evaluates in one go"
        )),
        "{err}"
    );
    let table = w.ok(&["load", "--data", &f, "--db", "l.db"]);
    // The database as given: the file, or on PostgreSQL its URL.
    let into = format!("loaded project_flags.csv into {}\n", w.db("l.db"));
    assert!(table.starts_with(&into), "{table}");
    assert!(
        table.contains(
            "Yes/No columns, stored as 1 and 0:\n  projects.third_party_svc_cost: 1 yes, 1 no\n"
        ),
        "{table}"
    );
}

#[test]
fn the_real_export_loads_with_no_unreadable_values_and_its_flags_named() {
    let Some(data) = shared_data() else { return };
    let Some(w) = Workdir::try_new() else { return };
    let out = w.ok(&["load", "--data", data.to_str().unwrap(), "--db", "r.db"]);
    // The 2,375 Yes/No values per cost column used to fill a 200-column table of "could not
    // be read"; now one line names the three flag columns and nothing is unreadable.
    // (Counted from the sheet's XML: `src/ingest/real_tests.rs`.)
    assert!(
        out.contains(
            "Yes/No columns, stored as 1 and 0:\n  \
             projects.third_party_svc_cost: 851 yes, 1524 no\n  \
             projects.third_party_mat_cost: 82 yes, 2293 no\n  \
             projects.labor_cost: 2372 yes, 3 no\n"
        ),
        "{out}"
    );
    assert!(!out.contains("could not be read"), "{out}");
    // Off a terminal nothing is wrapped; even so no line is wider than a terminal (but the
    // one that names the database, as long as its path or URL).
    let db = w.db("r.db");
    assert!(
        out.lines()
            .all(|l| l.contains(&db) || l.chars().count() <= 80),
        "{out}"
    );
}
