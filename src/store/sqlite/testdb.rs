//! A small synthetic database built with plain SQL, for the views' unit tests (no ingest, no rules).
//!
//! Two territories, three accounts (one with an alias merged by similarity), install base with every
//! coverage wording, five leads with factors that add up to their scores, events and project history.

use super::Db as Store;
pub use super::schema::SUMMARY_INDEX;

/// Opens a fresh database in a temp dir and fills it. Keep the `TempDir` alive while using the store.
///
/// # Panics
/// When the fixture SQL is wrong: a test bug.
pub fn build() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    store.conn.execute_batch(FIXTURE).unwrap();
    for (id, ty, rule, ib, acct, terr, fam, score, prio, dse, status, active, extra) in LEADS {
        let (factors, reasons) = factors(*score);
        store
            .conn
            .execute(
                "INSERT INTO leads (lead_id, lead_type, rule, install_base_id, serial_number,
                   product_name, product_family, account_id, territory_id, title, description,
                   recommended_action, score, priority, factors, reasons, recommended_services,
                   recommended_skus, days_since_eol, extra, status, active, created_at,
                   updated_at, run_id)
                 VALUES (?1, ?2, ?3, ?4, 'SN' || ?4, 'Product ' || ?4, ?5, ?6, ?7, 'Title ' || ?1,
                   'Description', 'Call them', ?8, ?9, ?10, ?11, ?12, 'SKU1,SKU2', ?13, ?14, ?15,
                   ?16, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 1)",
                rusqlite::params![
                    id, ty, rule, ib, fam, acct, terr, score, prio, factors, reasons, SERVICES,
                    dse, extra, status, active
                ],
            )
            .unwrap();
    }
    // The writer keeps a numeric `extra.estimated_value` in its own column; so does the fixture.
    store
        .conn
        .execute_batch(
            "UPDATE leads SET estimated_value = json_extract(extra, '$.estimated_value')
             WHERE json_type(extra, '$.estimated_value') IN ('integer', 'real')",
        )
        .unwrap();
    (dir, store)
}

type LeadRow = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    &'static str,
    &'static str,
    f64,
    &'static str,
    Option<i64>,
    &'static str,
    bool,
    &'static str,
);

/// id, type, rule, install_base_id, account, territory, family, score, priority, days past EOL,
/// status, active, extra.
pub const LEADS: &[LeadRow] = &[
    (
        "AAAA0001",
        "Hardware Refresh - EOL Equipment",
        "eol",
        1,
        "ACC1",
        "T1",
        "Servers",
        92.5,
        "CRITICAL",
        Some(900),
        "new",
        true,
        r#"{"estimated_value":10000}"#,
    ),
    (
        "AAAA0002",
        "Renewal - Expired Support",
        "renewal",
        2,
        "ACC1",
        "T1",
        "Storage",
        71.0,
        "HIGH",
        Some(100),
        "contacted",
        true,
        r#"{"estimated_value":2500.5}"#,
    ),
    (
        "BBBB0003",
        "Renewal - Expired Support",
        "renewal",
        3,
        "ACC2",
        "T1",
        "Servers",
        55.25,
        "MEDIUM",
        None,
        "new",
        true,
        "{}",
    ),
    (
        "CCCC0004",
        "Hardware Refresh - EOL Equipment",
        "eol",
        4,
        "ACC3",
        "T2",
        "Networking",
        30.0,
        "LOW",
        Some(400),
        "new",
        true,
        "{}",
    ),
    (
        "CCCC0005",
        "Hardware Refresh - EOL Equipment",
        "eol",
        5,
        "ACC3",
        "T2",
        "Servers",
        88.0,
        "CRITICAL",
        Some(50),
        "closed",
        false,
        r#"{"estimated_value":99999}"#,
    ),
];

/// Two recommendations: base priority 5, one boosted by 3.
pub const SERVICES: &str = r#"[{"service":"Refresh Assessment","skus":["SKU1"],"priority":8,"product":"Servers"},{"service":"Support Renewal","skus":["SKU2"],"priority":5,"product":"Servers"}]"#;

/// Factors whose contributions add up to `score` (60% age, 40% value), and the trigger's
/// reasons (the stored `reasons`; the factors' are appended when a lead is read).
pub fn factors(score: f64) -> (String, String) {
    let age = score * 0.6;
    let value = score - age;
    let f = serde_json::json!({
        "age": {"value": age / 0.5, "weight": 0.5, "contribution": age, "reasons": ["old"]},
        "value": {"value": value / 0.5, "weight": 0.5, "contribution": value, "reasons": ["big", "bigger"]},
    });
    let r = serde_json::json!(["trigger fired"]);
    (f.to_string(), r.to_string())
}

pub const FIXTURE: &str = r"
INSERT INTO accounts VALUES
  ('ACC1', 'Acme Corporation', 'acme', 'T1', 'North', 'install_base'),
  ('ACC2', 'Globex Inc', 'globex', 'T1', 'North', 'install_base'),
  ('ACC3', 'Initech', 'initech', 'T2', 'South', 'projects');
INSERT INTO account_aliases VALUES
  ('ACME CORP.', 'acme', 'ACC1', 'fuzzy', 91.0, 'projects', 3),
  ('Acme Corporation', 'acme', 'ACC1', 'exact', 100.0, 'install_base', 10),
  ('Initrode', 'initrode', 'ACC3', 'fuzzy', 88.0, 'opportunities', 1);
INSERT INTO install_base (id, serial_number, product_name, territory_id, account_id, eol_date,
    support_status, risk_level, product_family, source_file, source_sheet, source_row) VALUES
  (1, 'SN1', 'Product 1', 'T1', 'ACC1', '2020-01-01', 'Active Support', 'HIGH', 'Servers', 'f', 's', 1),
  (2, 'SN2', 'Product 2', 'T1', 'ACC1', '2023-01-01', 'Expired', 'CRITICAL', 'Storage', 'f', 's', 2),
  (3, 'SN3', 'Product 3', 'T1', 'ACC2', NULL, 'Warranty', 'LOW', 'Servers', 'f', 's', 3),
  (4, 'SN4', 'Product 4', 'T2', 'ACC3', '2022-06-01', 'Uncovered - expired', 'HIGH', 'Networking', 'f', 's', 4),
  (5, 'SN5', 'Product 5', 'T2', 'ACC3', '2024-06-01', NULL, 'MEDIUM', 'Servers', 'f', 's', 5),
  (6, 'SN6', 'Product 6', 'T2', 'ACC3', NULL, 'Active warranty', 'LOW', 'Servers', 'f', 's', 6),
  (7, 'SN7', 'Product 7', 'T2', 'ACC3', NULL, 'Support expired', 'HIGH', NULL, 'f', 's', 7),
  (8, 'SN8', 'Product 8', 'T2', 'ACC3', NULL, 'uncovered', 'LOW', NULL, 'f', 's', 8);
INSERT INTO opportunities (opportunity_id, name, territory_id, account_name, product_line,
    account_id, source_file, source_sheet, source_row) VALUES
  ('OPP1', 'Acme refresh', 'T1', 'Acme', 'Servers', 'ACC1', 'f', 's', 1),
  ('OPP2', 'Initech storage', 'T2', 'Initech', 'Storage', 'ACC3', 'f', 's', 2);
INSERT INTO projects (project_id, customer, territory_id, system_status, size_category, end_date,
    account_id, source_file, source_sheet, source_row) VALUES
  ('P1', 'Acme', 'T1', 'CLSD', 'Small', '2022-03-01', 'ACC1', 'f', 's', 1),
  ('P2', 'Acme', 'T1', 'REL', 'Medium', '2023-09-30', 'ACC1', 'f', 's', 2),
  ('P3', 'Acme', 'T1', 'CLSD', 'Small', '2021-01-15', 'ACC1', 'f', 's', 3);
INSERT INTO service_credits (project_id, project_name, customer, practice, purchased, active,
    expiry_bucket, contract_end, account_id, source_file, source_sheet, source_row) VALUES
  ('P1', 'Credits A', 'Acme', 'Storage', 100, 40, '0-45', '2024-02-01', 'ACC1', 'f', 's', 1),
  ('P2', 'Credits B', 'Acme', 'Servers', 50, 10, '46-90', '2024-03-20', 'ACC1', 'f', 's', 2),
  ('P3', 'Credits C', 'Acme', 'Servers', 30, 5, '180+', '2025-01-01', 'ACC1', 'f', 's', 3);
INSERT INTO lead_events (lead_id, at, kind, from_status, to_status, note, by) VALUES
  ('AAAA0002', '2024-01-02T00:00:00Z', 'status', 'new', 'contacted', 'called Bob', 'kim'),
  ('AAAA0001', '2024-01-01T00:00:00Z', 'created', NULL, 'new', NULL, NULL);
";

/// The connection of a store's SQLite backend.
///
/// # Panics
/// When the backend is not SQLite's.
pub fn conn(backend: &dyn std::any::Any) -> &rusqlite::Connection {
    &backend.downcast_ref::<Store>().unwrap().conn
}

/// The rows `sql` selects, every value cast to text (`None`: NULL).
///
/// # Panics
/// When the SQL is wrong: a test bug.
pub fn rows(conn: &rusqlite::Connection, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                    rusqlite::types::Value::Null => None,
                    rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                    rusqlite::types::Value::Real(f) => Some(f.to_string()),
                    rusqlite::types::Value::Text(s) => Some(s),
                    rusqlite::types::Value::Blob(b) => Some(format!("{b:?}")),
                })
            })
            .collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}
