//! Issue 25, CRM files both ways: `export --to salesforce|hubspot` checked column by column
//! against the database, and `status --import` of what a CRM exports back — a round trip on the
//! real export, a re-import that records nothing, and a bad file that changes nothing.

use crate::util::{Workdir, real_run};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample");
const DB: &str = "s.db";
/// The sample's CRITICAL Hardware Refresh lead (see `lifecycle.rs`).
const HW: &str = "4W6PPVGE";
/// The Renewal lead of the same asset.
const RENEWAL: &str = "16F6A24F";

/// `None` (outside CI) when this binary's backend is missing: the test skips.
fn sample() -> Option<Workdir> {
    let w = Workdir::try_new()?;
    w.ok(&["run", "--data", SAMPLE, "--db", DB, "--as-of", "2025-10-29"]);
    Some(w)
}

/// A CSV file as its header and rows.
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

fn one(w: &Workdir, db: &str, query: &str) -> String {
    let rows = w.sql(db, query);
    assert_eq!(rows.len(), 1, "{query}: {rows:?}");
    rows.into_iter().next().unwrap()
}

/// The row of `id` in an export (its first column is the OneLead id).
fn row_of<'a>(rows: &'a [Vec<String>], id: &str) -> &'a Vec<String> {
    rows.iter().find(|r| r[0] == id).unwrap()
}

/// What the description must hold: the lead's title, action and every reason, from the
/// database.
fn check_description(w: &Workdir, id: &str, description: &str) {
    // The reasons column is a JSON array, which each backend opens its own way.
    let reasons = match crate::util::backend() {
        crate::util::Backend::Sqlite => "json_each(leads.reasons)",
        crate::util::Backend::Postgres => "json_array_elements_text(leads.reasons::json) value",
    };
    let facts = w.sql(
        DB,
        &format!(
            "SELECT title FROM leads WHERE lead_id = '{id}'
             UNION ALL SELECT recommended_action FROM leads WHERE lead_id = '{id}'
             UNION ALL SELECT value FROM leads, {reasons} WHERE lead_id = '{id}'"
        ),
    );
    assert!(facts.len() >= 3, "{facts:?}");
    for f in facts {
        assert!(
            description.contains(&f),
            "`{f}` missing from:\n{description}"
        );
    }
}

#[test]
fn issue_25_salesforce_file_maps_every_column() {
    let Some(w) = sample() else { return };
    w.ok(&["status", RENEWAL, "qualified", "--db", DB]);
    let (headers, rows) = read_csv(&w.ok(&["export", "--to", "salesforce", "--db", DB]));
    assert_eq!(
        headers,
        [
            "OneLead ID",
            "Last Name",
            "Company",
            "Lead Status",
            "Lead Source",
            "Rating",
            "Description"
        ]
    );
    let active: usize = one(&w, DB, "SELECT count(*) FROM leads WHERE active = 1")
        .parse()
        .unwrap();
    assert_eq!(rows.len(), active);
    let account = one(
        &w,
        DB,
        &format!(
            "SELECT a.name FROM leads l JOIN accounts a USING (account_id) WHERE l.lead_id = '{HW}'"
        ),
    );
    let hw = row_of(&rows, HW);
    assert_eq!(
        hw[1], "[not provided]",
        "Last Name: Salesforce's own placeholder"
    );
    assert_eq!(hw[2], account, "Company");
    assert_eq!(hw[3], "Open - Not Contacted", "Lead Status of a new lead");
    assert_eq!(hw[4], "OneLead", "Lead Source");
    assert_eq!(hw[5], "Hot", "Rating of a CRITICAL lead");
    check_description(&w, HW, &hw[6]);
    let renewal = row_of(&rows, RENEWAL);
    assert_eq!(
        renewal[3], "Working - Contacted",
        "qualified has no value of its own"
    );
    let priority = one(
        &w,
        DB,
        &format!("SELECT priority FROM leads WHERE lead_id = '{RENEWAL}'"),
    );
    let rating = match priority.as_str() {
        "CRITICAL" => "Hot",
        "HIGH" => "Warm",
        _ => "Cold",
    };
    assert_eq!(renewal[5], rating);
    // Every row has every required field filled.
    for r in &rows {
        assert!(!r[1].is_empty() && !r[2].is_empty(), "{r:?}");
    }

    // The placeholder policy is the config's.
    let cfg = crate::util::config_without_crm_and_mail(&w);
    w.write(
        "config/onelead.yaml",
        &format!(
            "{cfg}\ncrm:\n  last_name: \"IT {{serial}}\"\n  company: \"{{account}} ({{territory}})\"\n  lead_source: Other\n"
        ),
    );
    let (_, rows) = read_csv(&w.ok(&["export", "--to", "salesforce", "--db", DB]));
    let (serial, territory) = one(
        &w,
        DB,
        &format!("SELECT serial_number || '|' || territory_id FROM leads WHERE lead_id = '{HW}'"),
    )
    .split_once('|')
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .unwrap();
    let hw = row_of(&rows, HW);
    assert_eq!(hw[1], format!("IT {serial}"));
    assert_eq!(hw[2], format!("{account} ({territory})"));
    assert_eq!(hw[4], "Other");

    // A typo in a placeholder is a config error, not a file full of braces.
    w.write(
        "config/onelead.yaml",
        &format!("{cfg}\ncrm:\n  last_name: \"{{acount}}\"\n"),
    );
    let err = w.fails(&["export", "--to", "salesforce", "--db", DB], 1);
    assert!(err.contains("did you mean `{account}`"), "{err}");
}

#[test]
fn issue_25_hubspot_file_maps_every_column() {
    let Some(w) = sample() else { return };
    w.ok(&["status", RENEWAL, "contacted", "--db", DB]);
    w.ok(&[
        "export",
        "--to",
        "hubspot",
        "--db",
        DB,
        "--out",
        "hubspot.csv",
    ]);
    let text = std::fs::read_to_string(w.join("hubspot.csv")).unwrap();
    let (headers, rows) = read_csv(&text);
    assert_eq!(
        headers,
        [
            "OneLead ID",
            "Last Name",
            "Company Name",
            "Lead Status",
            "Lifecycle Stage",
            "Message"
        ]
    );
    let hw = row_of(&rows, HW);
    let account = one(
        &w,
        DB,
        &format!(
            "SELECT a.name FROM leads l JOIN accounts a USING (account_id) WHERE l.lead_id = '{HW}'"
        ),
    );
    assert_eq!(hw[1], "[not provided]");
    assert_eq!(hw[2], account);
    assert_eq!(hw[3], "New");
    assert_eq!(hw[4], "Lead");
    check_description(&w, HW, &hw[5]);
    assert_eq!(row_of(&rows, RENEWAL)[3], "Connected");
    // `--to` writes the CRM's CSV; asking for JSON too is a usage error.
    w.fails(
        &["export", "--to", "hubspot", "--format", "json", "--db", DB],
        2,
    );
}

/// Rewrites an export as Salesforce's own export of those leads would look: its record id
/// first, API names for headers, and the statuses a rep set (`edits`: OneLead id → value).
fn as_salesforce_export(export: &str, edits: &[(&str, &str)]) -> String {
    let (_, rows) = read_csv(export);
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "Id",
        "LastName",
        "Company",
        "Status",
        "LeadSource",
        "Rating",
        "OneLead_Id__c",
    ])
    .unwrap();
    for (i, r) in rows.iter().enumerate() {
        let status = edits
            .iter()
            .find(|(id, _)| *id == r[0])
            .map_or(r[3].as_str(), |(_, v)| v);
        let sf_id = format!("00Q5g00000{i:08}");
        out.write_record([&sf_id, &r[1], &r[2], status, &r[4], &r[5], &r[0]])
            .unwrap();
    }
    // A lead a rep created in Salesforce by hand has no OneLead id.
    out.write_record([
        "00Q5g0000099999999",
        "Smith",
        "Acme",
        "Working - Contacted",
        "Web",
        "",
        "",
    ])
    .unwrap();
    String::from_utf8(out.into_inner().unwrap()).unwrap()
}

#[test]
fn issue_25_round_trip_on_the_real_export() {
    let Some(w) = real_run() else { return };
    let db = "r.db";
    let export = w.ok(&["export", "--to", "salesforce", "--db", db]);
    let (_, rows) = read_csv(&export);
    // 77 leads: the design document's headline on DataExportAug29th.xlsx.
    assert_eq!(rows.len(), 77);
    let ids: Vec<&str> = rows.iter().take(3).map(|r| r[0].as_str()).collect();
    let edits = [
        (ids[0], "Closed - Converted"),
        (ids[1], "Working - Contacted"),
        (ids[2], "Closed - Not Converted"),
    ];
    w.write("sf.csv", &as_salesforce_export(&export, &edits));
    let events = |w: &Workdir| -> i64 {
        one(
            w,
            db,
            "SELECT count(*) FROM lead_events WHERE kind = 'status'",
        )
        .parse()
        .unwrap()
    };
    assert_eq!(events(&w), 0);
    let out = w.ok(&[
        "status", "--import", "sf.csv", "--db", db, "--by", "crm-sync",
    ]);
    assert!(
        out.contains("sf.csv: 3 changes recorded, 74 already so, 1 row skipped"),
        "{out}"
    );
    for ((id, value), to) in edits.iter().zip(["converted", "contacted", "rejected"]) {
        assert_eq!(
            w.sql(
                db,
                &format!(
                    "SELECT l.status, e.from_status, e.to_status, e.by, e.note FROM leads l
                     JOIN lead_events e USING (lead_id) WHERE l.lead_id = '{id}' AND e.kind = 'status'"
                ),
            ),
            [format!("{to}|new|{to}|crm-sync|imported from sf.csv row {} (`{value}`)",
                rows.iter().position(|r| r[0] == *id).unwrap() + 2)]
        );
    }
    assert_eq!(events(&w), 3);

    // The same file again records nothing: not an event, not a byte.
    let before = w.fingerprint(db);
    let out = w.ok(&["status", "--import", "sf.csv", "--db", db]);
    assert!(out.contains("0 changes recorded, 77 already so"), "{out}");
    assert_eq!(w.fingerprint(db), before);
    // Nor does a fresh export of the leads as they now are.
    let again = w.ok(&["export", "--to", "salesforce", "--db", db]);
    w.write("again.csv", &again);
    w.ok(&["status", "--import", "again.csv", "--db", db]);
    assert_eq!(w.fingerprint(db), before);
}

#[test]
fn issue_25_a_bad_crm_file_changes_nothing_and_says_where() {
    let Some(w) = sample() else { return };
    let export = w.ok(&["export", "--to", "hubspot", "--db", DB]);
    let (_, rows) = read_csv(&export);
    // HubSpot's internal names: `onelead_id`, `hs_lead_status`.
    let text = format!(
        "Record ID,onelead_id,hs_lead_status\n1,{},ATTEMPTED_TO_CONTACT\n\
         2,ZZZZ9999,CONNECTED\n3,{},Nurturing\n",
        rows[0][0], rows[1][0]
    );
    w.write("hs.csv", &text);
    let before = w.fingerprint(DB);
    let err = w.fails(&["status", "--import", "hs.csv", "--db", DB], 1);
    assert!(err.contains("hs.csv: nothing was changed"), "{err}");
    assert!(err.contains("row 3: `ZZZZ9999`"), "{err}");
    assert!(err.contains("row 4: `Nurturing`"), "{err}");
    assert!(err.contains("`crm.status_map`"), "{err}");
    assert_eq!(w.fingerprint(DB), before, "nothing half-applied");

    // Mapping the value in the config and dropping the unknown row makes the file good.
    let cfg = crate::util::config_without_crm_and_mail(&w);
    w.write(
        "config/onelead.yaml",
        &format!("{cfg}\ncrm:\n  status_map:\n    Nurturing: qualified\n"),
    );
    w.write("hs.csv", &text.replace("2,ZZZZ9999,CONNECTED\n", ""));
    let out = w.ok(&["status", "--import", "hs.csv", "--db", DB]);
    assert!(out.contains("2 changes recorded"), "{out}");
    assert_eq!(
        one(
            &w,
            DB,
            &format!("SELECT status FROM leads WHERE lead_id = '{}'", rows[0][0])
        ),
        "contacted"
    );
    assert_eq!(
        one(
            &w,
            DB,
            &format!("SELECT status FROM leads WHERE lead_id = '{}'", rows[1][0])
        ),
        "qualified"
    );

    // A file without the id column names what it found.
    w.write("plain.csv", "Email,Lead Status\na@b.c,New\n");
    let err = w.fails(&["status", "--import", "plain.csv", "--db", DB], 1);
    assert!(err.contains("no OneLead id column"), "{err}");
    assert!(err.contains("found `Email`, `Lead Status`"), "{err}");
}
