//! Open work first, and every command that prints data in every format: the queue, the
//! dashboard, the report and the digest list new, contacted and qualified leads unless asked;
//! `--status` takes lists; `run`, `whatif`, `digest` and `export` print what `--format` says.
// See: issue 20 ("Open work first" and "Also seen by a new user").

use crate::util::Workdir;

const IB: &str = "Serial_Number_Id,Product_Id,Product_Name,Account_Sales_Territory_Id,\
                  Product_End_of_Life_Date,Final_Service_End_Date,Support_Status\n\
                  SN1,P1,ProLiant DL380 Gen9,100,2015-07-01,2020-01-31,Warranty Expired - Uncovered Box\n\
                  SN2,P1,ProLiant DL380 Gen9,100,2015-07-01,2020-01-31,Warranty Expired - Uncovered Box\n\
                  SN3,P2,ProLiant DL360 Gen8,200,2015-07-01,2020-01-31,Warranty Expired - Uncovered Box\n\
                  SN4,P2,ProLiant DL360 Gen8,200,2015-07-01,2020-01-31,Warranty Expired - Uncovered Box\n";

/// A database of 12 leads (4 assets × 3 types) with three of them worked: the best rejected,
/// the second converted, the third contacted. Returns the three ids in that order.
fn worked(w: &Workdir) -> [String; 3] {
    w.write("in/ib.csv", IB);
    w.ok(&[
        "run",
        "--data",
        "in",
        "--db",
        "q.db",
        "--as-of",
        "2025-10-29",
    ]);
    let all = w.json(&["leads", "--db", "q.db"]);
    let id = |i: usize| all[i]["lead_id"].as_str().unwrap().to_string();
    let ids = [id(0), id(1), id(2)];
    for (lead, status) in ids.iter().zip(["rejected", "contacted", "contacted"]) {
        w.ok(&["status", lead, status, "--db", "q.db"]);
    }
    w.ok(&["status", &ids[1], "converted", "--db", "q.db"]);
    ids
}

fn ids_of(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn issue_20_the_queue_dashboard_report_and_digest_show_open_work_unless_asked() {
    let Some(w) = Workdir::try_new() else { return };
    let [rejected, converted, contacted] = worked(&w);
    let open = ids_of(&w.json(&["leads", "--db", "q.db"]));
    assert_eq!(open.len(), 10);
    assert!(!open.contains(&rejected) && !open.contains(&converted));
    assert_eq!(open[0], contacted, "open work, best first");
    assert_eq!(
        ids_of(&w.json(&["leads", "--db", "q.db", "--status", "open"])),
        open
    );
    assert_eq!(
        ids_of(&w.json(&["leads", "--db", "q.db", "--status", "all"])).len(),
        12
    );
    // Comma lists and repeats, in any case.
    let closed = ids_of(&w.json(&["leads", "--db", "q.db", "--status", "Rejected,converted"]));
    assert_eq!(closed, [rejected.clone(), converted.clone()]);
    let repeated = ids_of(&w.json(&[
        "leads",
        "--db",
        "q.db",
        "--status",
        "rejected",
        "--status",
        "converted",
    ]));
    assert_eq!(repeated, closed);
    let two = ids_of(&w.json(&["leads", "--db", "q.db", "--status", "contacted,rejected"]));
    assert_eq!(two, [rejected.clone(), contacted.clone()]);
    // The table shows the status.
    let table = w.ok(&["leads", "--db", "q.db", "--limit", "1"]);
    assert!(
        table.contains("│ status ") && table.contains("│ contacted │"),
        "{table}"
    );

    let top = ids_of(&w.json(&["dashboard", "--db", "q.db"])["top"]);
    assert_eq!(top, open[..10]);
    let report = w.ok(&["report", "--db", "q.db", "--out", "r.html"]);
    assert!(
        report.contains("(10 of 10 matching leads in the queue, 2 account pages)"),
        "{report}"
    );
    let html = std::fs::read_to_string(w.join("r.html")).unwrap();
    assert!(html.contains(&format!("id=\"lead-{contacted}\"")));
    assert!(!html.contains(&format!("id=\"lead-{rejected}\"")));
    let digest = w.json(&["digest", "--db", "q.db", "--since", "2000-01-01"]);
    let listed: Vec<String> = digest["territories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| ids_of(&t["new_leads"]))
        .collect();
    assert!(listed.contains(&contacted));
    assert!(!listed.contains(&rejected) && !listed.contains(&converted));
}

#[test]
fn issue_20_every_command_that_prints_data_takes_the_formats() {
    let Some(w) = Workdir::try_new() else { return };
    w.write("in/ib.csv", IB);
    let csv = w.ok(&[
        "run",
        "--data",
        "in",
        "--db",
        "q.db",
        "--as-of",
        "2025-10-29",
        "--format",
        "csv",
    ]);
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rdr.headers().unwrap().get(0), Some("lead_id"));
    assert_eq!(
        rdr.records().count(),
        10,
        "the top 10, as `dashboard` prints them"
    );

    w.write(
        "other/config/onelead.yaml",
        "scoring_weights: {urgency: 0.25, value: 0.25, propensity: 0.25, strategic_fit: 0.25}\n",
    );
    let what = w.ok(&[
        "whatif",
        "--db",
        "q.db",
        "--rules",
        "rules",
        "--config",
        "other/config/onelead.yaml",
        "--format",
        "csv",
    ]);
    let mut rdr = csv::Reader::from_reader(what.as_bytes());
    assert_eq!(rdr.headers().unwrap().get(0), Some("change"));
    let kinds: Vec<String> = rdr.records().map(|r| r.unwrap()[0].to_string()).collect();
    assert!(!kinds.is_empty() && kinds.iter().all(|k| k == "reprioritised" || k == "score"));

    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["digest", "--db", "q.db", "--json"])).unwrap();
    assert_eq!(json, w.json(&["digest", "--db", "q.db"]));
    let digest_csv = w.ok(&["digest", "--db", "q.db", "--format", "csv"]);
    assert!(
        digest_csv.starts_with("territory,section,lead_id,"),
        "{digest_csv}"
    );

    let said = w.ok(&["export", "--db", "q.db", "--out", "crm.csv"]);
    assert_eq!(said, "wrote 12 leads to crm.csv\n");
    let exported: serde_json::Value =
        serde_json::from_str(&w.ok(&["export", "--db", "q.db", "--json"])).unwrap();
    assert_eq!(exported.as_array().unwrap().len(), 12);
}

#[test]
fn issue_20_a_missing_rules_folder_says_where_its_path_came_from() {
    // Database files named relative to another folder: a path's story, not a backend's.
    if crate::util::backend() == crate::util::Backend::Postgres {
        return;
    }
    let Some(w) = Workdir::try_new() else { return };
    std::fs::create_dir_all(w.join("elsewhere/other/dir")).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_onelead"))
            .args(args)
            .current_dir(w.join("elsewhere"))
            .env("NO_COLOR", "1")
            .env_remove("ONELEAD_DB")
            .output()
            .unwrap()
    };
    let out = run(&["run", "--db", "x.db"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let here = w.join("elsewhere").canonicalize().unwrap();
    assert!(
        err.starts_with("error: rules folder `rules` does not exist\n"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "no config file `config/onelead.yaml` was found in `{}` (the current folder)",
            here.display()
        )),
        "{err}"
    );
    // `whatif` against a database that exists, with a config whose folder has no rules.
    w.write("in/ib.csv", IB);
    w.ok(&[
        "run",
        "--data",
        "in",
        "--db",
        "elsewhere/x.db",
        "--as-of",
        "2025-10-29",
    ]);
    std::fs::write(w.join("elsewhere/other/dir/x.yaml"), "aging_days: 20\n").unwrap();
    let out = run(&["whatif", "--config", "other/dir/x.yaml", "--db", "x.db"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(
            "rules folder `other/dir/rules` does not exist\n  = note: `rules_dir: rules` in \
             `other/dir/x.yaml` is resolved against `other/dir`"
        ),
        "{err}"
    );
}

// See: issue 20 ("1 account pages", "1 opportunities"): a count of one reads in the singular,
// in what a command prints and in a rule's reasons.
#[test]
fn issue_20_a_count_of_one_reads_in_the_singular() {
    let Some(w) = Workdir::try_new() else { return };
    w.write(
        "in/ib.csv",
        IB.lines().take(2).collect::<Vec<_>>().join("\n").as_str(),
    );
    w.write(
        "in/opportunities.csv",
        "HPE Opportunity ID,Opportunity NAme,Account ST ID,Account Name,Product Line\n\
         O1,Deal,100,Acme,Servers\n",
    );
    let run = w.ok(&[
        "run",
        "--data",
        "in",
        "--db",
        "s.db",
        "--as-of",
        "2025-10-29",
    ]);
    assert!(run.contains("3 leads from 1 item as of"), "{run}");
    let said = w.ok(&["report", "--db", "s.db", "--out", "r.html"]);
    assert_eq!(
        said,
        "wrote r.html (3 of 3 matching leads in the queue, 1 account page)\n"
    );
    let one = w.ok(&[
        "report", "--db", "s.db", "--type", "renewal", "--out", "r1.html",
    ]);
    assert_eq!(
        one,
        "wrote r1.html (1 of 1 matching lead in the queue, 1 account page)\n"
    );
    let leads = w.json(&["leads", "--db", "s.db"]);
    for l in leads.as_array().unwrap() {
        let reasons = &l["factors"]["propensity"]["reasons"];
        assert!(
            reasons
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "1 opportunity (+10)"),
            "{reasons}"
        );
    }
}
