//! `explain SERIAL`: for an asset, what each trigger decides and why, including the triggers
//! that do not fire.
// See: issue 21 ("`explain` for an asset").

use crate::util::{Workdir, real_run};

// See: issue 21 ("`explain CNCHHN70G0` on the real export (an asset with no lead) says what
// each of the three triggers decided").
#[test]
fn an_asset_with_no_lead_says_what_each_trigger_decided() {
    let Some(w) = real_run() else { return };
    let out = w.ok(&["explain", "CNCHHN70G0", "--db", "r.db"]);
    assert_eq!(
        out,
        "asset CNCHHN70G0 — Aruba AP-325 Dual 4x4:4 802.11ac AP (install_base row 27)\n\
         account: Baltimore City Public School Systems (inc) (ST-56769); as of 2025-10-29\n\
         seen by the triggers: support_status \"Active Warranty\", eol_date (), eol_placeholder true, \
         days_since_eol (), service_end \"2042-02-21\", days_since_expiry -5959, \
         product_family \"NETWORK\", risk_level \"MEDIUM\"\n\n\
         no lead  Hardware Refresh - EOL Equipment  (triggers/hardware_refresh)\n         \
         no end-of-life date (missing, or a placeholder such as 2099-12-31)\n\
         no lead  Renewal - Expired Support  (triggers/renewal)\n         \
         support status \"Active Warranty\" does not say expired\n\
         no lead  Service Attach - Coverage Gap  (triggers/service_attach)\n         \
         support status \"Active Warranty\" does not say uncovered\n"
    );
}

#[test]
fn an_asset_with_leads_names_them_as_stored_and_json_lists_every_decision() {
    let Some(w) = Workdir::try_new() else { return };
    w.run_sample("s.db");
    let row = w.sql(
        "s.db",
        "SELECT serial_number, lead_id, lead_type FROM leads WHERE active = 1 ORDER BY lead_id LIMIT 1",
    );
    let [serial, lead_id, lead_type]: [&str; 3] =
        row[0].split('|').collect::<Vec<_>>().try_into().unwrap();
    // Any case finds it, and the lead it shows is the stored one.
    let out = w.ok(&["explain", &serial.to_lowercase(), "--db", "s.db"]);
    assert!(out.starts_with(&format!("asset {serial} — ")), "{out}");
    assert!(
        out.contains(&format!("lead     {lead_type}  (triggers/")),
        "{out}"
    );
    assert!(
        out.contains(&format!("stored as lead {lead_id}: active, new, score ")),
        "{out}"
    );
    let v = w.json(&["explain", serial, "--db", "s.db"]);
    let triggers = v[0]["triggers"].as_array().unwrap();
    assert_eq!(triggers.len(), 3, "{v}");
    let fired: Vec<&serde_json::Value> = triggers.iter().filter(|t| t["fired"] == true).collect();
    assert!(fired.iter().any(|t| t["lead_id"] == lead_id), "{v}");
    for t in triggers {
        // Every shipped trigger says why, fired or not.
        assert!(!t["reasons"].as_array().unwrap().is_empty(), "{t}");
    }
    assert_eq!(v[0]["as_of"], "2025-10-29");
}

#[test]
fn a_trigger_that_gives_no_reason_is_shown_as_such() {
    let Some(w) = Workdir::try_new() else { return };
    w.write(
        "rules/triggers/quiet.rhai",
        "fn lead_type() { \"Quiet\" }\nfn trigger(item, account, cfg) { () }\n",
    );
    w.run_sample("s.db");
    let serial = &w.sql(
        "s.db",
        "SELECT serial_number FROM install_base ORDER BY id LIMIT 1",
    )[0];
    let out = w.ok(&["explain", serial, "--db", "s.db"]);
    assert!(
        out.contains(
            "no lead  Quiet  (triggers/quiet)\n         (the rule gives no reason; it can with `no_lead(\"…\")`)\n"
        ),
        "{out}"
    );
}

#[test]
fn neither_a_lead_nor_an_asset_is_an_error() {
    let Some(w) = Workdir::try_new() else { return };
    w.run_sample("s.db");
    let err = w.fails(&["explain", "NO-SUCH-THING", "--db", "s.db"], 1);
    assert_eq!(err, "error: no lead or asset `NO-SUCH-THING`\n");
}
