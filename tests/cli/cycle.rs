//! The monthly cycle on small synthetic exports: each kind of sheet a run holds replaces its
//! snapshot, kinds absent stay, regional splits form one snapshot, assets are told apart and
//! compared, and `onelead changes` lists what changed.
// See: issue 20, "The monthly cycle: each export replaces the last".

use crate::util::Workdir;

const IB_HEADER: &str = "Serial_Number_Id,Product_Id,Product_Name,Account_Sales_Territory_Id,\
                         Product_End_of_Life_Date,Final_Service_End_Date,Support_Status";
const OPP_HEADER: &str =
    "HPE Opportunity ID,Opportunity NAme,Account ST ID,Account Name,Product Line";
const UNCOVERED: &str = "Warranty Expired - Uncovered Box";

/// One install-base row: serial, product id, territory, support status.
fn ib_row(serial: &str, product: &str, territory: &str, status: &str) -> String {
    format!("{serial},{product},ProLiant DL380 Gen9,{territory},2015-07-01,2020-01-31,{status}")
}

/// Writes `rows` under the install-base header to `path`.
fn ib(w: &Workdir, path: &str, rows: &[String]) {
    w.write(path, &format!("{IB_HEADER}\n{}\n", rows.join("\n")));
}

fn run(w: &Workdir, data: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", "--db", "c.db", "--as-of", "2025-10-29"];
    for d in data {
        args.extend(["--data", d]);
    }
    w.json(&args)["run"].clone()
}

fn serials(w: &Workdir) -> Vec<String> {
    w.sql(
        "c.db",
        "SELECT serial_number FROM install_base ORDER BY serial_number",
    )
}

#[test]
fn issue_20_each_kind_replaces_its_snapshot_kinds_absent_stay_and_splits_form_one() {
    let Some(w) = Workdir::try_new() else { return };
    ib(
        &w,
        "m1/install base.csv",
        &[
            ib_row("SN1", "P1", "100", UNCOVERED),
            ib_row("SN2", "P1", "100", "Active Warranty"),
            ib_row("SN3", "P1", "100", UNCOVERED),
        ],
    );
    w.write(
        "m1/opportunities.csv",
        &format!("{OPP_HEADER}\nO1,Deal,100,Acme,Servers\nO2,Deal 2,100,Acme,Servers\n"),
    );
    let first = run(&w, &["m1"]);
    assert!(
        first["changes"].is_null(),
        "nothing to compare the first with"
    );
    let kinds: Vec<&str> = first["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["install_base", "opportunities"]);

    // Next month the install base comes in two regional files, with no opportunity sheet.
    ib(
        &w,
        "m2/north.csv",
        &[
            ib_row("SN1", "P1", "100", UNCOVERED),
            ib_row("SN4", "P1", "100", UNCOVERED),
        ],
    );
    ib(&w, "m2/south.csv", &[ib_row("SN5", "P2", "200", UNCOVERED)]);
    let second = run(&w, &["m2"]);
    assert_eq!(serials(&w), ["SN1", "SN4", "SN5"]);
    assert_eq!(
        w.sql("c.db", "SELECT count(*) FROM opportunities"),
        ["2"],
        "a kind absent from the run stays"
    );
    let snapshot = &second["snapshots"][0];
    assert_eq!(second["snapshots"].as_array().unwrap().len(), 1);
    assert_eq!(snapshot["kind"], "install_base");
    assert_eq!(
        snapshot["files"],
        serde_json::json!(["north.csv", "south.csv"])
    );
    assert_eq!(
        (snapshot["rows"].as_u64(), snapshot["replaced"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        second["changes"],
        serde_json::json!({"arrived": 2, "left": 2, "support_status": 0, "coverage": 0})
    );
    // The snapshots are recorded with their files, run by run.
    assert_eq!(
        w.sql(
            "c.db",
            "SELECT run_id, kind, files, rows, replaced FROM snapshots ORDER BY snapshot_id"
        ),
        [
            r#"1|install_base|["install base.csv"]|3|0"#,
            r#"1|opportunities|["opportunities.csv"]|2|0"#,
            r#"2|install_base|["north.csv","south.csv"]|3|3"#,
        ]
    );
    // The leads of SN2 and SN3 closed as gone, the others stand.
    assert_eq!(
        w.sql(
            "c.db",
            "SELECT DISTINCT serial_number, closed_reason FROM leads WHERE active = 0
             ORDER BY 1"
        ),
        [
            "SN2|closed: no longer in the install base",
            "SN3|closed: no longer in the install base"
        ]
    );
    assert_eq!(
        w.sql(
            "c.db",
            "SELECT DISTINCT serial_number FROM leads WHERE active = 1 ORDER BY 1"
        ),
        ["SN1", "SN4", "SN5"]
    );
}

#[test]
fn issue_20_changes_lists_arrivals_departures_and_support_and_coverage_moves() {
    let Some(w) = Workdir::try_new() else { return };
    ib(
        &w,
        "a/ib.csv",
        &[
            ib_row("SN1", "P1", "100", "Active Warranty"),
            ib_row("SN2", "P1", "100", "Active Support"),
            ib_row("SN3", "P1", "100", UNCOVERED),
        ],
    );
    run(&w, &["a"]);
    // An empty-handed `changes` before a second snapshot: the first has nothing to compare.
    let none = w.json(&["changes", "--db", "c.db"]);
    assert!(none["previous"].is_null());
    assert_eq!(none["changes"], serde_json::json!([]));
    // SN1 loses its warranty (covered → uncovered), SN2 moves between two covered statuses,
    // SN3 leaves, SN4 arrives.
    ib(
        &w,
        "b/ib.csv",
        &[
            ib_row("SN1", "P1", "100", UNCOVERED),
            ib_row("SN2", "P1", "100", "Active Warranty"),
            ib_row("SN4", "P1", "100", "Active Warranty"),
        ],
    );
    let second = run(&w, &["b"]);
    assert_eq!(
        second["changes"],
        serde_json::json!({"arrived": 1, "left": 1, "support_status": 2, "coverage": 1})
    );
    let c = w.json(&["changes", "--db", "c.db"]);
    assert_eq!(c["snapshot"]["snapshot_id"], 2);
    assert_eq!(c["previous"]["snapshot_id"], 1);
    let got: Vec<String> = c["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{} {} {} → {}",
                x["change"].as_str().unwrap(),
                x["asset_key"].as_str().unwrap(),
                x["before"].as_str().unwrap_or("-"),
                x["after"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "arrived SN4 - → Active Warranty",
            "left SN3 Warranty Expired - Uncovered Box → -",
            "support_status SN1 Active Warranty → Warranty Expired - Uncovered Box",
            "support_status SN2 Active Support → Active Warranty",
            "coverage SN1 covered → uncovered",
        ]
    );
    // Filters, the table's heading and CSV.
    let only = w.json(&["changes", "--db", "c.db", "--change", "left,arrived"]);
    assert_eq!(only["changes"].as_array().unwrap().len(), 2);
    let table = w.ok(&["changes", "--db", "c.db"]);
    assert!(
        table.contains(
            "against snapshot 1: 1 arrived, 1 left, 2 changed support status, 1 changed coverage"
        ),
        "{table}"
    );
    let csv = w.ok(&["changes", "--db", "c.db", "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "change",
            "asset_key",
            "serial_number",
            "product_id",
            "product_name",
            "territory_id",
            "account_name",
            "before",
            "after"
        ]
    );
    assert_eq!(rdr.records().count(), 5);
    // The first snapshot can still be asked for; an unknown one is an error naming the known.
    let first = w.json(&["changes", "--db", "c.db", "--snapshot", "1"]);
    assert!(first["previous"].is_null());
    let err = w.fails(&["changes", "--db", "c.db", "--snapshot", "9"], 1);
    assert!(
        err.contains("no install-base snapshot `9`; the install-base snapshots are 2, 1"),
        "{err}"
    );
    // The digest says what the install base changed in its window.
    let d = w.json(&["digest", "--db", "c.db"]);
    assert_eq!(d["install_base"]["support_status"], 2);
    assert_eq!(d["snapshots_compared"], 1);
    let md = w.ok(&["digest", "--db", "c.db"]);
    assert!(md.contains("Install base: 1 arrived, 1 left"), "{md}");
}

#[test]
fn issue_20_a_serial_twice_is_reported_and_one_serial_of_two_products_is_two_assets() {
    let Some(w) = Workdir::try_new() else { return };
    ib(
        &w,
        "in/ib.csv",
        &[
            ib_row("SNX", "P1", "100", UNCOVERED),
            ib_row("SNX", "P2", "100", UNCOVERED),
            ib_row("SND", "P3", "100", UNCOVERED),
            ib_row("SND", "P3", "100", UNCOVERED),
            ib_row("SNT", "P4", "100", UNCOVERED),
            ib_row("SNT", "P4", "100", UNCOVERED),
            ib_row("SNT", "P4", "100", UNCOVERED),
        ],
    );
    let out = w.ok(&[
        "run",
        "--data",
        "in",
        "--db",
        "c.db",
        "--as-of",
        "2025-10-29",
    ]);
    assert!(
        out.contains("warning: 2 serial numbers are on more than one row"),
        "{out}"
    );
    assert!(out.contains("  `SND`: ib.csv row 4, ib.csv row 5"), "{out}");
    assert!(
        out.contains("  `SNT`: ib.csv row 6, ib.csv row 7, ib.csv row 8"),
        "{out}"
    );
    assert_eq!(
        w.sql(
            "c.db",
            "SELECT asset_key FROM install_base ORDER BY source_row"
        ),
        ["SNX|P1", "SNX|P2", "SND", "SND", "SNT", "SNT", "SNT"]
    );
    let r = w.json(&[
        "run",
        "--data",
        "in",
        "--db",
        "c.db",
        "--as-of",
        "2025-10-29",
    ]);
    let settled = &r["run"]["snapshots"][0]["install_base"];
    assert_eq!(settled["assets"], 4);
    assert_eq!(settled["colliding_serials"], 1);
    assert_eq!(settled["duplicates"], 2);
    assert_eq!(
        settled["duplicate_examples"][0],
        serde_json::json!({"asset_key": "SND", "rows": [
            {"file": "ib.csv", "sheet": "", "row": 4},
            {"file": "ib.csv", "sheet": "", "row": 5}
        ]})
    );
    // Not merged: every row has its leads (3 types each), under distinct ids; the second run
    // found the same leads.
    assert_eq!(
        w.sql(
            "c.db",
            "SELECT count(*), count(DISTINCT lead_id), sum(active) FROM leads"
        ),
        ["21|21|21"]
    );
    assert_eq!(r["run"]["evaluation"]["new_leads"], 0);
}
