//! The monthly cycle on the real exports: next month's export, named by its date, replaces
//! this month's; assets that leave close their leads (kept, with their status), and come back.
// See: issue 20, "The monthly cycle: each export replaces the last".

use std::path::Path;

use crate::util::{Workdir, shared_data};

/// Writes a copy of workbook `from` to `to` without the rows of sheet `sheet` whose first
/// column is in `drop`. Dates stay dates (a number with a date format, as Excel writes them).
pub fn copy_without(from: &Path, to: &Path, sheet: &str, drop: &[String]) {
    use calamine::{Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(from).unwrap();
    let mut out = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let names: Vec<String> = wb.sheet_names().clone();
    for name in &names {
        let range = wb.worksheet_range(name).unwrap();
        let ws = out.add_worksheet();
        ws.set_name(name).unwrap();
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut r = r0;
        for row in range.rows() {
            let first = row.first().map(ToString::to_string).unwrap_or_default();
            if name == sheet && drop.contains(&first) {
                continue;
            }
            for (c, cell) in row.iter().enumerate() {
                crate::util::write_cell(ws, (r, (c0 + c as u32) as u16), cell, &date);
            }
            r += 1;
        }
    }
    out.save(to).unwrap();
}

fn run(w: &Workdir, data: &str) -> serde_json::Value {
    w.json(&[
        "run",
        "--data",
        data,
        "--db",
        "m.db",
        "--as-of",
        "2025-10-29",
    ])
}

/// `(lead_id, serial, type, status, active)` of every lead, by id.
fn leads(w: &Workdir) -> Vec<(String, String, String, String, bool)> {
    w.sql(
        "m.db",
        "SELECT lead_id, serial_number, lead_type, status, active FROM leads ORDER BY lead_id",
    )
    .iter()
    .map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        (
            f[0].into(),
            f[1].into(),
            f[2].into(),
            f[3].into(),
            f[4] == "1",
        )
    })
    .collect()
}

/// The 77 lead ids of DataExportAug29th.xlsx as `main` gave them (at 851d2cf) before files
/// became snapshots: a lead's id hashes its serial and lead type, so the first month's ids, and
/// every later month's, are these.
const AUG29_LEAD_IDS: [&str; 77] = [
    "0777NVVS", "0DZSCKMB", "0HX38SJF", "1H80KKZ3", "1JDSFAYN", "1YD6RXER", "24FKJ4NE", "2N08HKEC",
    "2Y4AKB2V", "3E58S2NQ", "3NMER7EE", "40322ZEQ", "4BZK7XFP", "4HQX62JA", "5N6J3X4Q", "6BDTKESF",
    "6M2VCZE9", "73VKE6MT", "7E5G8K14", "7P5R8QGP", "8FTK8888", "8WQZBAQ2", "95W6BF26", "9P3BG20B",
    "A3K51CSX", "AXR6J2CK", "B4445KEX", "BHTD1QPE", "CCVYAEKG", "CKK0J8XJ", "CPGGHSD3", "D2513645",
    "D9CR3ED6", "DF881JPK", "E525XY2H", "E89HM7GQ", "ESRJWFXQ", "F5KWEDBT", "FT4KXFCR", "G2F5SEBC",
    "H0WJ5W7H", "H106QDD1", "HMBZGA37", "HVMSST5V", "JJD3BG4K", "KKW2AC52", "KNJHSVM0", "M8ASFT08",
    "MXMSMK7X", "NGQ2MJZ0", "NHETGYCS", "PZPCZFAA", "Q4SG2G7A", "Q5B4D2AH", "QH9DQV91", "QNKZM8E4",
    "QWDKEJ4N", "RGZA4SCE", "STNX9N9W", "SY0ERGJB", "T344MNSZ", "TGY2XRTR", "TS69DSZG", "TV0C3SSP",
    "VSAZYBH1", "VT9RBTA3", "WG0XAAV6", "WHHKM3RG", "X42VJYWW", "X5JKYMG3", "XB23BGQN", "XH6SW4EM",
    "Y0JG76NN", "Y4EENQS5", "Z717Y77X", "ZCC7XQ79", "ZHMJ6TM1",
];

#[test]
fn issue_20_next_months_export_replaces_this_months_and_closes_the_leads_of_assets_that_left() {
    let Some(data) = shared_data() else { return };
    let Some(w) = Workdir::try_new() else { return };
    for dir in ["aug", "sep"] {
        std::fs::create_dir_all(w.join(dir)).unwrap();
        std::fs::copy(
            data.join("LS_SKU_for_Onelead.xlsx"),
            w.join(&format!("{dir}/LS_SKU_for_Onelead.xlsx")),
        )
        .unwrap();
    }
    std::fs::copy(
        data.join("DataExportAug29th.xlsx"),
        w.join("aug/DataExportAug29th.xlsx"),
    )
    .unwrap();
    let first = run(&w, "aug");
    assert_eq!(first["run"]["evaluation"]["leads"], 77);
    assert!(first["run"]["changes"].is_null(), "the first install base");
    let month1 = leads(&w);
    let ids: Vec<&str> = month1.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(
        ids, AUG29_LEAD_IDS,
        "the ids of the same assets' leads changed"
    );

    // Five assets with leads leave; one of their leads and one of another asset are worked
    // in between.
    let mut serials: Vec<String> = month1.iter().map(|l| l.1.clone()).collect();
    serials.sort();
    serials.dedup();
    let gone: Vec<String> = serials.iter().step_by(6).take(5).cloned().collect();
    assert_eq!(gone.len(), 5);
    let worked_gone = month1.iter().find(|l| l.1 == gone[0]).unwrap().0.clone();
    let worked_kept = month1
        .iter()
        .find(|l| !gone.contains(&l.1))
        .unwrap()
        .0
        .clone();
    w.ok(&["status", &worked_gone, "qualified", "--db", "m.db"]);
    w.ok(&["status", &worked_kept, "contacted", "--db", "m.db"]);

    copy_without(
        &data.join("DataExportAug29th.xlsx"),
        &w.join("sep/DataExportSep30th.xlsx"),
        "Install Base",
        &gone,
    );
    let second = run(&w, "sep");
    let month2 = leads(&w);
    let expected: Vec<&String> = month1
        .iter()
        .filter(|l| !gone.contains(&l.1))
        .map(|l| &l.0)
        .collect();
    let active: Vec<&String> = month2.iter().filter(|l| l.4).map(|l| &l.0).collect();
    assert_eq!(
        active, expected,
        "the first month's leads less the five assets'"
    );
    assert_eq!(w.sql("m.db", "SELECT count(*) FROM install_base"), ["58"]);
    assert!(
        w.sql(
            "m.db",
            "SELECT serial_number, lead_type FROM leads GROUP BY 1, 2 HAVING count(*) > 1"
        )
        .is_empty(),
        "a (serial, type) doubled"
    );
    // The removed assets' leads are closed, not deleted, with the reason and their status.
    let closed = w.sql(
        "m.db",
        "SELECT DISTINCT closed_reason FROM leads WHERE active = 0",
    );
    assert_eq!(closed, ["closed: no longer in the install base"]);
    assert_eq!(month2.len(), 77);
    let state = |id: &str| month2.iter().find(|l| l.0 == id).unwrap().clone();
    assert_eq!(
        (state(&worked_gone).3, state(&worked_gone).4),
        ("qualified".into(), false)
    );
    assert_eq!(
        (state(&worked_kept).3, state(&worked_kept).4),
        ("contacted".into(), true)
    );
    let changes = &second["run"]["changes"];
    assert_eq!(changes["left"], 5);
    assert_eq!(changes["arrived"], 0);
    assert_eq!(changes["support_status"], 0);
    let snapshot = &second["run"]["snapshots"][0];
    assert_eq!(snapshot["kind"], "install_base");
    assert_eq!(snapshot["files"][0], "DataExportSep30th.xlsx");
    assert_eq!(
        (snapshot["rows"].as_u64(), snapshot["replaced"].as_u64()),
        (Some(58), Some(63))
    );

    // The assets come back: their leads reopen with their history and status.
    let third = run(&w, "aug");
    assert_eq!(third["run"]["changes"]["arrived"], 5);
    assert_eq!(third["run"]["evaluation"]["reopened"], 77 - expected.len());
    let month3 = leads(&w);
    assert!(month3.iter().all(|l| l.4), "every lead active again");
    let back = month3.iter().find(|l| l.0 == worked_gone).unwrap();
    assert_eq!(back.3, "qualified");
    let events = w.sql(
        "m.db",
        &format!("SELECT kind, note FROM lead_events WHERE lead_id = '{worked_gone}' ORDER BY id"),
    );
    assert_eq!(
        events,
        [
            "created|NULL",
            "status|NULL",
            "closed|no longer in the install base",
            "reopened|NULL"
        ]
    );
}

/// The README's flow: `onelead run` on the bundled sample first, then on your own exports. The
/// sample's assets are not in your install base, so their leads close; the queue holds exactly
/// the 77 real leads (30 + 27 + 20, the design document's headline on DataExportAug29th.xlsx).
#[test]
fn issue_20_the_readme_flow_of_sample_then_your_exports_leaves_only_your_leads() {
    // The README's flow names no database: the default file, whatever the backend under test.
    if crate::util::backend() == crate::util::Backend::Postgres {
        return;
    }
    let Some(data) = shared_data() else { return };
    let Some(w) = Workdir::try_new() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate::util::copy_dir(&root.join("data/sample"), &w.join("data/sample"));
    w.ok(&["run"]);
    let sample = w
        .json(&["leads", "--status", "all"])
        .as_array()
        .unwrap()
        .len();
    assert!(sample > 77, "the sample made {sample} leads");
    crate::util::copy_dir(&data, &w.join("exports"));
    let second = w.json(&["run", "--data", "exports/"]);
    assert!(second["run"]["changes"]["left"].as_u64().unwrap() >= 200);
    assert_eq!(second["run"]["changes"]["arrived"], 63);
    let leads = w.json(&["leads"]);
    let leads = leads.as_array().unwrap();
    assert_eq!(leads.len(), 77);
    let mut by_type = std::collections::BTreeMap::new();
    for l in leads {
        *by_type.entry(l["lead_type"].as_str().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        by_type.into_values().collect::<Vec<_>>(),
        [27, 30, 20],
        "Hardware Refresh, Renewal, Service Attach"
    );
    let real: Vec<String> = w.sql("data/onelead.db", "SELECT serial_number FROM install_base");
    assert!(
        leads
            .iter()
            .all(|l| real.iter().any(|s| l["serial_number"] == s.as_str()))
    );
    // The sample's leads are kept, closed, with the reason.
    assert_eq!(
        w.sql(
            "data/onelead.db",
            "SELECT DISTINCT closed_reason FROM leads WHERE active = 0"
        ),
        ["closed: no longer in the install base"]
    );
}
