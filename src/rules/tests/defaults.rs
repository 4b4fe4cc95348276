//! The default rules in `rules/` on rows shaped like `DataExportAug29th`: they must reproduce the
//! original system's formulas (README §2–§5) with the documented improvements.

use rhai::{Dynamic, Map};

use super::*;

fn int(n: i64) -> Dynamic {
    Dynamic::from_int(n)
}

/// `HP DL360p Gen8`, EOL 2015-07-01, Expired Flex Support, no service dates; as of 2025-10-29.
fn dl360p(platform: &str) -> Map {
    item(&[
        ("serial_number", s("USE3267F8N")),
        ("product_name", s("HP DL360p Gen8 8-SFF CTO Server")),
        ("platform", s(platform)),
        ("business_area", s("x86 Premium and Scale-up Rack")),
        ("support_status", s("Expired Flex Support")),
        ("eol_date", s("2015-07-01")),
        ("days_since_eol", int(3773)),
    ])
}

fn classified(set: &RuleSet, mut it: Map) -> Map {
    set.classify(&mut it, &CTX).unwrap();
    it
}

fn field(m: &Map, k: &str) -> String {
    m.get(k).map(ToString::to_string).unwrap_or_default()
}

#[test]
fn default_rules_load_and_expose_their_shape() {
    let set = defaults();
    assert_eq!(
        set.factor_names(),
        ["propensity", "strategic_fit", "urgency", "value"]
    );
    let types: Vec<_> = set
        .rules()
        .iter()
        .filter_map(|r| r.lead_type.clone())
        .collect();
    assert_eq!(
        types,
        [
            "Hardware Refresh - EOL Equipment",
            "Renewal - Expired Support",
            "Service Attach - Coverage Gap"
        ]
    );
    assert_eq!(
        set.cfg_map()["critical_days_past_eol"].as_int().unwrap(),
        1825
    );
    assert_eq!(field(set.cfg_map(), "as_of"), "2025-10-29");
}

#[test]
fn family_matches_whole_words() {
    let set = defaults();
    let fam = |name: &str, platform: &str| {
        field(
            &classified(
                &set,
                item(&[("product_name", s(name)), ("platform", s(platform))]),
            ),
            "product_family",
        )
    };
    assert_eq!(fam("HP DL360p Gen8 8-SFF CTO Server", "Compute"), "COMPUTE");
    assert_eq!(
        fam("HPE DL380 Gen9 E5-2630Lv3 FIO Kit", "Compute"),
        "COMPUTE"
    );
    assert_eq!(fam("HP BL460c G7 E5649 Kit", "Compute"), "COMPUTE");
    assert_eq!(
        fam("HP 500GB 3G SATA 7.2K 2.5in MDL HDD", "(null)"),
        "OPTION"
    );
    assert_eq!(
        fam("HPE BLc Encl Single Fan Option", "Infrastructure"),
        "BLADE"
    );
    assert_eq!(fam("HP 8GB 2Rx4 PC3-10600R-9 Kit", "Compute"), "OPTION");
    assert_eq!(
        fam("Aruba AP-325 Dual 4x4:4 802.11ac AP", "Network"),
        "NETWORK"
    );
    assert_eq!(fam("HPE StoreOnce 3640", "Storage"), "STOREONCE");
    assert_eq!(fam("HPE MSA 2060", "Storage"), "MSA");
    assert_eq!(fam("Something else", ""), "OTHER");
}

#[test]
fn risk_levels_match_the_original() {
    let set = defaults();
    let risk = |status: &str, days: Dynamic| {
        field(
            &classified(
                &set,
                item(&[("support_status", s(status)), ("days_since_eol", days)]),
            ),
            "risk_level",
        )
    };
    assert_eq!(risk("Expired Flex Support", int(3773)), "CRITICAL");
    assert_eq!(
        risk("Warranty Expired - Uncovered Box", int(1826)),
        "CRITICAL"
    );
    assert_eq!(risk("Expired Fixed Support", Dynamic::UNIT), "HIGH");
    assert_eq!(risk("Expired Fixed Support", int(1825)), "HIGH");
    assert_eq!(risk("", int(3773)), "UNKNOWN");
    assert_eq!(risk("Active Warranty", int(3773)), "MEDIUM");
}

#[test]
fn dl360p_gen8_scores_like_readme_section_4() {
    let set = defaults();
    let it = classified(&set, dl360p(""));
    assert_eq!(field(&it, "risk_level"), "CRITICAL");
    let acct = account(&[
        ("install_base_count", int(15)),
        ("opportunity_count", int(52)),
    ]);
    let hits = set.triggers(&it, &acct, &CTX).unwrap();
    let types: Vec<&str> = hits.iter().map(|h| h.lead_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "Hardware Refresh - EOL Equipment",
            "Renewal - Expired Support"
        ]
    );

    let hw = &hits[0];
    assert_eq!(hw.rule, "hardware_refresh");
    assert_eq!(
        hw.description,
        "HP DL360p Gen8 8-SFF CTO Server (S/N: USE3267F8N) reached end of life on 2015-07-01, 3,773 days ago."
    );
    assert!(
        hw.action.contains("Consider HPE ProLiant Gen12."),
        "{}",
        hw.action
    );
    let want = [
        ("propensity", 70.0),
        ("strategic_fit", 85.0),
        ("urgency", 80.0),
        ("value", 55.0),
    ];
    let got = scores(&set, &it, &acct, &hw.lead_type);
    assert_eq!(got, want.map(|(n, v)| (n.to_string(), v)));
    let urgency = set
        .score(&it, &acct, &lead(&hw.lead_type), &CTX)
        .unwrap()
        .remove(2);
    assert_eq!(*urgency.reasons, ["base 50", "EOL 3,773 days ago (+30)"]);

    // The platform now counts for the compute bonus (the original read only the business area).
    let it = classified(&set, dl360p("Compute"));
    assert_eq!(
        scores(&set, &it, &acct, &hw.lead_type)[1],
        ("strategic_fit".to_string(), 100.0)
    );
    assert_eq!(
        scores(&set, &it, &acct, "Renewal - Expired Support")[1],
        ("strategic_fit".to_string(), 95.0)
    );

    let renewal = &hits[1];
    assert_eq!(
        renewal.title,
        "Support Renewal: HP DL360p Gen8 8-SFF CTO Server"
    );
    assert!(
        renewal
            .description
            .ends_with("Status: Expired Flex Support. End of life: 2015-07-01."),
        "{}",
        renewal.description
    );
    assert!(
        renewal.action.contains("no service end date"),
        "{}",
        renewal.action
    );
    assert!(!renewal.action.contains("0 days"), "{}", renewal.action);
}

#[test]
fn active_aruba_ap_with_placeholder_eol_gives_no_lead() {
    let set = defaults();
    let it = classified(
        &set,
        item(&[
            ("product_name", s("Aruba AP-325 Dual 4x4:4 802.11ac AP")),
            ("platform", s("Network")),
            ("support_status", s("Active Warranty")),
            ("eol_placeholder", Dynamic::TRUE),
            ("service_end", s("2042-04-05")),
            ("days_since_expiry", int(-6002)),
        ]),
    );
    assert_eq!(field(&it, "product_family"), "NETWORK");
    assert_eq!(field(&it, "risk_level"), "MEDIUM");
    assert!(set.triggers(&it, &account(&[]), &CTX).unwrap().is_empty());
}

#[test]
fn uncovered_box_gives_three_leads_and_future_service_end_is_told_honestly() {
    let set = defaults();
    let it = classified(
        &set,
        item(&[
            ("product_name", s("HPE 600GB SAS 10K SFF ST HDD")),
            ("support_status", s("Warranty Expired - Uncovered Box")),
            ("eol_date", s("2012-01-01")),
            ("days_since_eol", int(5050)),
        ]),
    );
    let hits = set.triggers(&it, &account(&[]), &CTX).unwrap();
    assert_eq!(hits.len(), 3);
    assert!(
        !hits[0].action.contains("Consider"),
        "no server suggestion for a drive: {}",
        hits[0].action
    );

    // Expired Fixed Support with service to 2042 and the 2099 EOL sentinel.
    let it = classified(
        &set,
        item(&[
            ("product_name", s("Aruba AP-315")),
            ("support_status", s("Expired Fixed Support")),
            ("eol_placeholder", Dynamic::TRUE),
            ("service_end", s("2042-04-05")),
            ("days_since_expiry", int(-6002)),
        ]),
    );
    let hits = set.triggers(&it, &account(&[]), &CTX).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(
        !hits[0].description.contains("2099") && !hits[0].description.contains("End of life"),
        "{}",
        hits[0].description
    );
    assert!(
        hits[0]
            .action
            .contains("still lists service until 2042-04-05, 6,002 days from now"),
        "{}",
        hits[0].action
    );
    let got = scores(
        &set,
        &it,
        &account(&[("install_base_count", int(30))]),
        &hits[0].lead_type,
    );
    assert_eq!(
        got,
        [
            ("propensity", 40.0),
            ("strategic_fit", 55.0),
            ("urgency", 50.0),
            ("value", 60.0)
        ]
        .map(|(n, v)| (n.to_string(), v))
    );
}

#[test]
fn value_propensity_and_caps() {
    let set = defaults();
    let it = classified(&set, dl360p(""));
    let acct = account(&[
        ("install_base_count", int(60)),
        ("project_count", int(11)),
        ("closed_project_count", int(6)),
        ("opportunity_count", int(3)),
        ("active_credits", int(51)),
        ("project_size_category", s("$1M - $5M")),
    ]);
    let got = scores(&set, &it, &acct, "Service Attach - Coverage Gap");
    // value 90 + 20 + 15 + 10 capped at 100; propensity 30 + 20 + 20 + 10.
    assert_eq!(got[0], ("propensity".to_string(), 80.0));
    assert_eq!(got[3], ("value".to_string(), 100.0));
    let expired = classified(
        &set,
        item(&[
            ("days_since_expiry", int(400)),
            ("days_since_eol", int(1900)),
        ]),
    );
    assert_eq!(
        scores(&set, &expired, &acct, "x")[2],
        ("urgency".to_string(), 100.0)
    );
}

#[test]
fn service_boosts_follow_the_first_matching_keyword() {
    let set = defaults();
    let boost = |kind: &str, name: &str| {
        let mut svc = Map::new();
        svc.insert("service".into(), s(name));
        svc.insert("category".into(), s(""));
        svc.insert("product_family".into(), s("3PAR"));
        svc.insert("skus".into(), Dynamic::from_array(vec![]));
        set.boost(&lead(kind), &svc, &CTX).unwrap()
    };
    assert_eq!(boost("Renewal - Expired Support", "3PAR Health Check"), 10);
    assert_eq!(boost("Renewal - Expired Support", "Performance Upgrade"), 8);
    assert_eq!(boost("Renewal - Expired Support", "Performance tuning"), 6);
    assert_eq!(
        boost("Hardware Refresh - EOL Equipment", "Data Migration"),
        10
    );
    assert_eq!(
        boost(
            "Hardware Refresh - EOL Equipment",
            "Installation and Startup"
        ),
        9
    );
    assert_eq!(boost("Hardware Refresh - EOL Equipment", "Rebalance"), 7);
    assert_eq!(
        boost("Service Attach - Coverage Gap", "Firmware upgrade"),
        7
    );
    assert_eq!(boost("Service Attach - Coverage Gap", "Migration"), 0);
}
