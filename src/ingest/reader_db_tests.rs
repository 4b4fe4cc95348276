//! The streamed xlsx reader against the whole-sheet one (calamine's `worksheet_range`), all the
//! way into the database: the same workbooks run through both into two databases must leave
//! every table the same, row for row (issue 26).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::pipeline::{self, Mode, RunReport, Settings};
use crate::store::{Store, testdb};

/// Columns that differ between two runs of the same input whatever reads it: the clock time
/// a run started and ended, a snapshot was taken, a lead was written or its event logged.
/// Nothing else may differ (`runs.inputs` names the same files both ways).
const RUN_METADATA: &[(&str, &str)] = &[
    ("runs", "started_at"),
    ("runs", "finished_at"),
    ("snapshots", "taken_at"),
    ("lead_rows", "created_at"),
    ("lead_rows", "updated_at"),
    ("lead_events", "at"),
];

/// Runs `onelead run` on `data` (files or folders) into a new database at `db`, reading xlsx
/// sheets whole when `whole_sheets`.
fn run(data: &[PathBuf], db: &Path, whole_sheets: bool) -> (Store, RunReport) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::resolve(
        &root.join("config/onelead.yaml"),
        Some(db),
        data,
        Some(&root.join("rules")),
        NaiveDate::from_ymd_opt(2025, 9, 1),
    )
    .unwrap();
    settings.cfg.ingest.whole_sheets = whole_sheets;
    let rules = pipeline::load_rules(&settings).unwrap();
    let mut store = Store::open(db).unwrap();
    let mode = Mode {
        command: "run",
        ingest: true,
        make_leads: true,
        commit: true,
        changes: crate::score::diff::Changes::Off,
        indexes_later: false,
    };
    let report = pipeline::execute(&mut store, &settings, &rules, mode, &|_, _| {}, None).unwrap();
    (store, report)
}

/// Loads `data` both ways and compares every table the store lists, but [`RUN_METADATA`].
/// Returns how many rows were compared per table.
fn compare(data: &[PathBuf]) -> Vec<(String, usize)> {
    let dir = tempfile::tempdir().unwrap();
    let (streamed, report) = run(data, &dir.path().join("streamed.db"), false);
    let (whole, reference) = run(data, &dir.path().join("whole.db"), true);
    assert_eq!(report.ingest, reference.ingest, "load reports");
    let tables = testdb::tables(&streamed);
    assert_eq!(tables, testdb::tables(&whole));
    let mut compared = Vec::new();
    for table in tables {
        let except: Vec<&str> = RUN_METADATA
            .iter()
            .filter(|(t, _)| *t == table)
            .map(|(_, c)| *c)
            .collect();
        let (columns, a) = testdb::table(&streamed, &table, &except);
        let (_, b) = testdb::table(&whole, &table, &except);
        assert_eq!(a.len(), b.len(), "rows of `{table}`");
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x, y, "`{table}` row {i} of {columns:?}");
        }
        compared.push((table, a.len()));
    }
    // The comparison sees a difference of one value.
    testdb::execute(
        &whole,
        "UPDATE install_base SET serial_number = serial_number || 'x' WHERE id = (SELECT max(id) FROM install_base)",
    );
    assert_ne!(
        testdb::table(&streamed, "install_base", &[]),
        testdb::table(&whole, "install_base", &[])
    );
    compared
}

fn rows_of(compared: &[(String, usize)], table: &str) -> usize {
    compared
        .iter()
        .find(|(t, _)| t == table)
        .map_or(0, |(_, n)| *n)
}

#[test]
fn streamed_and_whole_sheet_reads_fill_every_table_alike() {
    // See: issue 26 — "a test loads a workbook through both paths and compares every table".
    // The sample workbook (five sheets found by their headers, and the SKU pivot workbook)
    // and a workbook of awkward sheets: a header under a title, blank and blank-looking rows,
    // text dates whose day/month order one row reveals, a sheet nothing matches.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    crate::sample::write_sample(&data, 400, 26, crate::cli::SampleFormat::Xlsx).unwrap();
    super::stream::tests::awkward_workbook(&data.join("awkward.xlsx"));
    let compared = compare(&[data]);
    // 400 sample assets and the awkward sheet's 5 (its rows 6, 8, 10, 12, 16).
    assert_eq!(rows_of(&compared, "install_base"), 405);
    for table in [
        "opportunities",
        "projects",
        "services",
        "lead_rows",
        "accounts",
    ] {
        assert!(rows_of(&compared, table) > 0, "{table}: {compared:?}");
    }
}

#[test]
fn the_real_exports_fill_every_table_alike_both_ways() {
    // The vendor's two workbooks, read both ways: 63 assets and the 77 leads the design
    // document counts on DataExportAug29th.xlsx (30 + 27 + 20).
    let (Some(export), Some(sku)) = (
        super::real_tests::data_file("DataExportAug29th.xlsx"),
        super::real_tests::data_file("LS_SKU_for_Onelead.xlsx"),
    ) else {
        return;
    };
    let compared = compare(&[export, sku]);
    assert_eq!(rows_of(&compared, "install_base"), 63);
    assert_eq!(rows_of(&compared, "lead_rows"), 77);
}
