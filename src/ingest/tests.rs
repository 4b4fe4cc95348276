//! `ingest_file` / `collect_inputs` on small synthetic files written into a temp dir.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;

use super::{IngestReport, Item, collect_inputs, ingest_file, ingest_files};
use crate::config::IngestConfig;
use crate::error::Error;
use crate::model::Record;

fn load(path: &Path, cfg: &IngestConfig) -> Result<(Vec<Record>, IngestReport), Error> {
    let mut report = IngestReport::default();
    let mut out = Vec::new();
    ingest_file(path, cfg, &mut report, &mut |r| {
        out.push(r);
        Ok(())
    })?;
    Ok((out, report))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A workbook with an empty sheet, an odd-named install-base sheet whose header is on row 3
/// (below a title) in `snake_case`, and a sheet nobody knows.
fn sample_workbook(path: &Path) {
    let mut wb = Workbook::new();
    wb.add_worksheet().set_name("Empty").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("ib export (2)").unwrap();
    ws.write_string(0, 1, "Install base as of May").unwrap();
    for (c, h) in [
        "serial_number",
        "product_name",
        "support_status",
        "account_sales_territory_id",
        "eol_date",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(2, c as u16 + 1, *h).unwrap();
    }
    ws.write_string(3, 1, "SN1").unwrap();
    ws.write_string(3, 2, "DL380 Gen9").unwrap();
    ws.write_string(3, 3, "Expired Flex Support").unwrap();
    ws.write_number(3, 4, 56088.0).unwrap();
    ws.write_number(3, 5, 42186.0).unwrap();
    ws.write_string(5, 1, "SN2").unwrap();
    ws.write_string(5, 5, "someday").unwrap();
    let other = wb.add_worksheet();
    other.set_name("Notes").unwrap();
    other.write_string(0, 0, "Name").unwrap();
    other.write_string(0, 1, "Age").unwrap();
    wb.save(path).unwrap();
}

#[test]
fn xlsx_with_snake_case_headers_and_odd_sheet_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.xlsx");
    sample_workbook(&path);
    let (records, report) = load(&path, &IngestConfig::default()).unwrap();
    assert_eq!(records.len(), 2);
    let Record::InstallBase(a) = &records[0] else {
        panic!("{:?}", records[0])
    };
    assert_eq!(a.serial_number.as_deref(), Some("SN1"));
    assert_eq!(a.territory_id.as_deref(), Some("56088"));
    assert_eq!(a.eol_date, chrono::NaiveDate::from_ymd_opt(2015, 7, 1));
    assert_eq!(
        (&*a.src.file, &*a.src.sheet, a.src.row),
        ("odd.xlsx", "ib export (2)", 4)
    );
    let Record::InstallBase(b) = &records[1] else {
        panic!()
    };
    assert_eq!(
        (b.src.row, b.eol_date),
        (6, None),
        "blank row 5 skipped, rows stay Excel rows"
    );
    let kinds: Vec<(&str, &str, u64)> = report.files[0]
        .sheets
        .iter()
        .map(|s| (s.sheet.as_str(), s.kind.as_str(), s.rows))
        .collect();
    assert_eq!(kinds[0], ("Empty", "skipped: empty sheet", 0));
    assert_eq!(kinds[1], ("ib export (2)", "install_base", 2));
    assert!(
        kinds[2]
            .1
            .starts_with("skipped: no known header (found: `Name`, `Age`"),
        "{kinds:?}"
    );
    let c = report.coercion("install_base", "eol_date").unwrap();
    assert_eq!(
        (c.count, c.examples[0].row, c.examples[0].raw.as_str()),
        (1, 6, "someday")
    );
    assert_eq!(c.examples[0].sheet, "ib export (2)");
}

#[test]
fn config_forces_a_sheet_and_names_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Weird").unwrap();
    for (c, h) in ["Box", "Model", "Coverage"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "SN9").unwrap();
    wb.save(&path).unwrap();

    let mut cfg = IngestConfig::default();
    cfg.sheets.insert("install_base".into(), "weird".into());
    let err = load(&path, &cfg).unwrap_err().to_string();
    assert!(
        err.starts_with("f.xlsx [Weird]: missing column `serial_number`"),
        "{err}"
    );
    assert!(err.contains("`support_status`"), "{err}");

    cfg.columns.insert(
        "install_base".into(),
        BTreeMap::from([
            ("serial_number".to_string(), "Box".to_string()),
            ("product_name".to_string(), "Model".to_string()),
            ("support_status".to_string(), "Coverage".to_string()),
        ]),
    );
    let (records, _) = load(&path, &cfg).unwrap();
    let Record::InstallBase(a) = &records[0] else {
        panic!()
    };
    assert_eq!(a.serial_number.as_deref(), Some("SN9"));

    // Column overrides alone are enough for detection, without forcing the sheet.
    cfg.sheets.clear();
    assert_eq!(load(&path, &cfg).unwrap().0.len(), 1);

    cfg.columns
        .get_mut("install_base")
        .unwrap()
        .insert("platform".into(), "Nope".into());
    let err = load(&path, &cfg).unwrap_err().to_string();
    assert!(
        err.contains("column `Nope` (configured as `ingest.columns.install_base.platform`)"),
        "{err}"
    );

    let mut bad = IngestConfig::default();
    bad.sheets.insert("install_bas".into(), "Weird".into());
    let err = load(&path, &bad).unwrap_err().to_string();
    assert!(err.contains("did you mean `install_base`?"), "{err}");
}

#[test]
fn workbook_with_nothing_recognised_lists_its_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Name").unwrap();
    ws.write_string(0, 1, "City").unwrap();
    wb.save(&path).unwrap();
    let err = load(&path, &IngestConfig::default()).unwrap_err();
    assert!(matches!(err, Error::BadInput { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "x.xlsx: no sheet is recognised; sheets found: `Sheet1` (headers: `Name`, `City`)"
        ),
        "{msg}"
    );
    assert!(msg.contains("install_base needs serial_number"), "{msg}");

    let empty = dir.path().join("empty.xlsx");
    Workbook::new().save(&empty).unwrap();
    let msg = load(&empty, &IngestConfig::default())
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "empty.xlsx: the workbook has no data");
}

#[test]
fn not_a_zip_is_a_bad_file_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "broken.xlsx", b"this is not a zip");
    let err = load(&path, &IngestConfig::default()).unwrap_err();
    let Error::BadFile { path: p, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(p, &path);
    assert!(err.to_string().contains("broken.xlsx"));
    let missing = load(&dir.path().join("gone.xlsx"), &IngestConfig::default()).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
}

#[test]
fn csv_with_bom_semicolons_and_bad_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"\xEF\xBB\xBFPractice;Sub-Practice;Services;Services\r\n".to_vec();
    bytes.extend_from_slice(b"Caf\xE9;Sub;Svc A;ignored\n;;Svc B\n\n;;\"Svc;\nC\"\n;;D");
    let path = write(dir.path(), "services.csv", &bytes);
    let (records, report) = load(&path, &IngestConfig::default()).unwrap();
    let got: Vec<(String, String, u32)> = records
        .into_iter()
        .map(|r| match r {
            Record::Service(s) => (s.practice.unwrap(), s.service.unwrap(), s.src.row),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Caf\u{FFFD}".to_string(), "Svc A".to_string(), 2),
            ("Caf\u{FFFD}".to_string(), "Svc B".to_string(), 3),
            ("Caf\u{FFFD}".to_string(), "Svc;\nC".to_string(), 5),
            ("Caf\u{FFFD}".to_string(), "D".to_string(), 7),
        ]
    );
    assert_eq!(report.files[0].sheets[0].sheet, "");
    assert_eq!(report.rows["services"], 4);
    assert!(report.coerced.is_empty());
    // The BOM says UTF-8, so the stray byte is not silently replaced: the load says where.
    assert_eq!(report.files[0].encoding.as_deref(), Some("utf-8 with BOM"));
    let w = &report.warnings[0];
    assert_eq!(
        (w.kind.as_str(), w.row, w.column.as_str()),
        ("encoding", Some(2), "Practice")
    );
}

fn eol_dates(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| match r {
            Record::InstallBase(x) => x.eol_date.map(|d| d.to_string()).unwrap_or_default(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn utf16_csv_rescans_for_its_date_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Serial\tProduct_Name\tSupport_Status\tEOL\r\n\
                SN1\tDL380\tActive\t05/06/2015\r\n\
                SN2\tDL380\tActive\t\r\n\
                SN3\tDL380\tActive\t31/12/2015\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let path = write(dir.path(), "ib.csv", &bytes);
    let (records, report) = load(&path, &IngestConfig::default()).unwrap();
    assert_eq!(eol_dates(&records), ["2015-06-05", "", "2015-12-31"]);
    assert_eq!(report.date_columns[0].basis, "inferred");
    assert_eq!(report.date_columns[0].day_first.as_ref().unwrap().row, 4);
}

#[test]
fn xlsx_text_dates_follow_their_column_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dmy.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["Serial", "Product_Name", "Support_Status", "EOL"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, d) in ["05/06/2015", "2016-02-03", "13/01/2015"]
        .iter()
        .enumerate()
    {
        let r = r as u32 + 1;
        ws.write_string(r, 0, format!("SN{r}")).unwrap();
        ws.write_string(r, 1, "DL380").unwrap();
        ws.write_string(r, 2, "Active").unwrap();
        ws.write_string(r, 3, *d).unwrap();
    }
    wb.save(&path).unwrap();
    let (records, _) = load(&path, &IngestConfig::default()).unwrap();
    assert_eq!(
        eol_dates(&records),
        ["2015-06-05", "2016-02-03", "2015-01-13"]
    );
    let cfg: IngestConfig = serde_yaml::from_str("date_order: dmy").unwrap();
    let (records, report) = load(&path, &cfg).unwrap();
    assert_eq!(eol_dates(&records)[0], "2015-06-05");
    assert!(report.warnings.is_empty(), "inferred, not assumed");
}

#[test]
fn csv_with_wrong_or_no_columns_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "people.csv", b"name,age\nann,3\n");
    let err = load(&path, &IngestConfig::default()).unwrap_err();
    assert!(matches!(err, Error::BadInput { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with("people.csv: no known header; found: `name`, `age`."),
        "{msg}"
    );
    assert!(msg.contains("opportunities needs opportunity_id"), "{msg}");

    let empty = write(dir.path(), "empty.csv", b"");
    assert_eq!(
        load(&empty, &IngestConfig::default())
            .unwrap_err()
            .to_string(),
        "empty.csv: the file is empty"
    );
}

#[test]
fn large_csv_streams_with_line_numbers_and_coercions() {
    let dir = tempfile::tempdir().unwrap();
    let mut text =
        String::from("title line\nProjectID,ProjectName,ActiveCredits,ContractEndDate\n");
    for i in 0..5000 {
        let _ = writeln!(
            text,
            "PR-{i},TS-{i}-JP-ACME,{},2026-07-31",
            if i == 7 { "lots" } else { "5" }
        );
    }
    let path = write(dir.path(), "credits.csv", text.as_bytes());
    let mut report = IngestReport::default();
    let mut n = 0u32;
    let mut last_row = 0;
    ingest_file(&path, &IngestConfig::default(), &mut report, &mut |r| {
        let Record::ServiceCredit(c) = r else {
            panic!()
        };
        n += 1;
        last_row = c.src.row;
        Ok(())
    })
    .unwrap();
    assert_eq!((n, last_row), (5000, 5002));
    let c = report.coercion("service_credits", "active").unwrap();
    assert_eq!(
        (c.count, c.examples[0].row, c.examples[0].raw.as_str()),
        (1, 10, "lots")
    );
}

#[test]
fn sink_errors_stop_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "s.csv", b"Practice,Services\nP,a\nP,b\n");
    let mut calls = 0;
    let err = ingest_file(
        &path,
        &IngestConfig::default(),
        &mut IngestReport::default(),
        &mut |_| {
            calls += 1;
            Err(Error::NotFound("stop".into()))
        },
    );
    assert!(err.is_err());
    assert_eq!(calls, 1);
}

/// Services rows `P,0` .. `P,n-1` under a header.
fn services_csv(n: usize) -> Vec<u8> {
    let mut text = String::from("Practice,Services\n");
    for i in 0..n {
        let _ = writeln!(text, "P,{i}");
    }
    text.into_bytes()
}

#[test]
fn files_read_on_another_thread_arrive_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // More rows than one batch, so the reader runs ahead of the writer.
    let a = write(dir.path(), "a.csv", &services_csv(3000));
    let b = write(dir.path(), "b.csv", &services_csv(2));
    let mut seen = Vec::new();
    let mut observed = 0;
    let report = ingest_files(
        &[a.clone(), b.clone()],
        &IngestConfig::default(),
        &mut |_| observed += 1,
        &mut |item| {
            seen.push(match item {
                Item::File(p) => format!("file {}", p.display()),
                Item::Sheet(s) => format!("sheet {} {}", s.label(), s.rows),
                Item::Record(Record::Service(r)) => format!("{} {}", r.src.file, r.src.row),
                Item::Record(other) => format!("{other:?}"),
            });
            Ok(())
        },
    )
    .unwrap();
    let mut want = vec![format!("file {}", a.display()), "sheet a.csv 0".into()];
    want.extend((2..3002).map(|row| format!("a.csv {row}")));
    want.extend([format!("file {}", b.display()), "sheet b.csv 0".into()]);
    want.extend(["b.csv 2".to_string(), "b.csv 3".to_string()]);
    assert_eq!(seen, want);
    assert_eq!(observed, 3002);
    assert_eq!(report.files.len(), 2);
    assert_eq!(report.rows["services"], 3002);
}

#[test]
fn the_first_error_in_file_order_wins_and_stops_both_threads() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.csv", &services_csv(5000));
    let bad = write(dir.path(), "bad.csv", b"name,age\nann,3\n");
    // The writer fails first: its error is returned and the reader stops.
    let mut calls = 0;
    let err = ingest_files(
        &[good.clone(), bad.clone()],
        &IngestConfig::default(),
        &mut |_| {},
        &mut |_| {
            calls += 1;
            if calls == 10 {
                return Err(Error::NotFound("stop".into()));
            }
            Ok(())
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    assert_eq!(calls, 10);
    // A reading error before the writer fails: the reading error, after every earlier item.
    let mut items = 0;
    let err = ingest_files(
        &[good, bad],
        &IngestConfig::default(),
        &mut |_| {},
        &mut |_| {
            items += 1;
            Ok(())
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("bad.csv"), "{err}");
    // good.csv: its file, its sheet and its rows; bad.csv: its file (it fails before a row).
    assert_eq!(items, 1 + 1 + 5000 + 1);
}

#[test]
fn collect_inputs_expands_folders() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "b.csv",
        "a.xlsx",
        "~$a.xlsx",
        ".hidden.csv",
        "notes.txt",
        "C.CSV",
    ] {
        write(dir.path(), name, b"x");
    }
    std::fs::create_dir(dir.path().join("sub.csv")).unwrap();
    let got = collect_inputs(&[dir.path().to_path_buf()]).unwrap();
    let names: Vec<String> = got
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["C.CSV", "a.xlsx", "b.csv"]);

    let missing = dir.path().join("nope");
    let err = collect_inputs(std::slice::from_ref(&missing)).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if *path == missing),
        "{err:?}"
    );

    let empty = tempfile::tempdir().unwrap();
    let err = collect_inputs(&[empty.path().to_path_buf()]).unwrap_err();
    assert!(matches!(err, Error::BadInput { .. }), "{err:?}");
}

#[test]
fn unsupported_extension_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "notes.txt", b"x");
    let err = load(&path, &IngestConfig::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "notes.txt: unsupported file type `.txt`; expected .xlsx or .csv"
    );
}
