//! Hostile spreadsheets through the real binary (issue 8): every file in `tests/fixtures/hostile/`
//! loads or fails with exit 1 and a message naming the file, and a failure leaves an existing
//! database exactly as it was. The CSV fixtures are committed as written; the xlsx ones are
//! built here byte for byte (a hand-written minimal workbook, so error cells, formulas, merged
//! cells and the 1904 date system are exactly what we say) and checked against the committed
//! copies; `ONELEAD_BLESS=1 cargo test hostile` rewrites them.

// The workbook builder formats small XML strings once per test: clarity over allocations.
#![allow(clippy::format_push_string)]

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util::Workdir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile")
}

/// One cell of a hand-built sheet.
enum C<'a> {
    /// Inline text.
    S(&'a str),
    /// A plain number.
    N(f64),
    /// A number styled as a date (numFmt 14).
    D(f64),
    /// An error cell (`#DIV/0!`).
    E(&'a str),
    /// A formula with its cached error result.
    F(&'a str, &'a str),
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn col(i: usize) -> String {
    let mut n = i + 1;
    let mut out = Vec::new();
    while n > 0 {
        out.push(char::from(b'A' + ((n - 1) % 26) as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// The XML of one sheet: rows of cells, then extra elements (e.g. `<mergeCells>`).
fn sheet_xml(rows: &[Vec<C>], extra: &str) -> String {
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in rows.iter().enumerate() {
        x.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{}", col(c), r + 1);
            x.push_str(&match cell {
                C::S(s) => format!(
                    r#"<c r="{at}" t="inlineStr"><is><t>{}</t></is></c>"#,
                    esc(s)
                ),
                C::N(n) => format!(r#"<c r="{at}"><v>{n}</v></c>"#),
                C::D(n) => format!(r#"<c r="{at}" s="1"><v>{n}</v></c>"#),
                C::E(e) => format!(r#"<c r="{at}" t="e"><v>{}</v></c>"#, esc(e)),
                C::F(f, v) => format!(
                    r#"<c r="{at}" t="e"><f>{}</f><v>{}</v></c>"#,
                    esc(f),
                    esc(v)
                ),
            });
        }
        x.push_str("</row>");
    }
    x.push_str("</sheetData>");
    x.push_str(extra);
    x.push_str("</worksheet>");
    x
}

/// A minimal, valid xlsx with the given sheets (name, sheet XML).
fn workbook(sheets: &[(&str, String)], date1904: bool) -> Vec<u8> {
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    const PKG: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
    );
    let mut wb = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">"#
    );
    if date1904 {
        wb.push_str(r#"<workbookPr date1904="1"/>"#);
    }
    wb.push_str("<sheets>");
    let mut rels =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">"#);
    for (i, (name, _)) in sheets.iter().enumerate() {
        let n = i + 1;
        types.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
        wb.push_str(&format!(
            r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
            esc(name)
        ));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="{REL}/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
    }
    types.push_str("</Types>");
    wb.push_str("</sheets></workbook>");
    rels.push_str(&format!(
        r#"<Relationship Id="rIdS" Type="{REL}/styles" Target="styles.xml"/></Relationships>"#
    ));
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#
    );
    let root = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    let mut parts = vec![
        ("[Content_Types].xml".to_string(), types),
        ("_rels/.rels".to_string(), root),
        ("xl/workbook.xml".to_string(), wb),
        ("xl/_rels/workbook.xml.rels".to_string(), rels),
        ("xl/styles.xml".to_string(), styles),
    ];
    for (i, (_, xml)) in sheets.iter().enumerate() {
        parts.push((format!("xl/worksheets/sheet{}.xml", i + 1), xml.clone()));
    }
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // A fixed timestamp keeps the bytes reproducible, so the committed copies can be checked.
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, text) in parts {
        z.start_file(name, opts).unwrap();
        z.write_all(text.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

const IB_HEADER: [&str; 7] = [
    "Serial_Number_Id",
    "Product_Name",
    "Account_Name",
    "Account_Sales_Territory_Id",
    "Product_End_of_Life_Date",
    "Final_Service_End_Date",
    "Support_Status",
];

fn header() -> Vec<C<'static>> {
    IB_HEADER.iter().map(|h| C::S(h)).collect()
}

/// The xlsx fixtures, by file name.
fn xlsx_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let ib = |rows: Vec<Vec<C>>, extra: &str| sheet_xml(&rows, extra);
    let errors = ib(
        vec![
            header(),
            vec![
                C::S("SN-ERR-1"),
                C::S("ProLiant DL360 Gen9"),
                C::S("Acme"),
                C::N(100.0),
                C::E("#DIV/0!"),
                C::F("1/0", "#DIV/0!"),
                C::S("Expired"),
            ],
            vec![
                C::S("SN-ERR-2"),
                C::E("#N/A"),
                C::E("#REF!"),
                C::E("#VALUE!"),
                C::D(43_831.0),
                C::E("#NUM!"),
                C::S("Expired"),
            ],
        ],
        "",
    );
    // Day 40000 is 2013-07-07 in the 1904 system (2009-07-06 in the 1900 one).
    let d1904 = ib(
        vec![
            header(),
            vec![
                C::S("SN-1904-1"),
                C::S("ProLiant DL380 Gen9"),
                C::S("Acme"),
                C::N(100.0),
                C::D(40_000.0),
                C::D(0.0),
                C::S("Expired"),
            ],
        ],
        "",
    );
    // Merged header cells and a value merged down three rows: only the top-left cell has it.
    let merged = ib(
        vec![
            vec![C::S("Install base export (merged title)")],
            header(),
            vec![
                C::S("SN-M-1"),
                C::S("ProLiant DL360 Gen10"),
                C::S("Acme"),
                C::N(100.0),
                C::D(43_831.0),
                C::D(45_000.0),
                C::S("Expired"),
            ],
            vec![C::S("SN-M-2"), C::S("ProLiant DL360 Gen10")],
            vec![C::S("SN-M-3"), C::S("ProLiant DL360 Gen10")],
        ],
        r#"<mergeCells count="2"><mergeCell ref="A1:G1"/><mergeCell ref="C3:C5"/></mergeCells>"#,
    );
    let japanese = ib(
        vec![
            header(),
            vec![
                C::S("SN-JPX-1"),
                C::S("ProLiant DL360 Gen10"),
                C::S("株式会社日立製作所"),
                C::N(300.0),
                C::D(43_831.0),
                C::D(45_000.0),
                C::S("Expired"),
            ],
            vec![
                C::S("SN-JPX-2"),
                C::S("ProLiant DL380 Gen10"),
                C::S("Société Générale Ñandú"),
                C::N(301.0),
                C::D(43_831.0),
                C::D(45_000.0),
                C::S("Expired"),
            ],
        ],
        "",
    );
    let empty = sheet_xml(&[], "");
    let missing = ib(
        vec![
            vec![
                C::S("Serial_Number_Id"),
                C::S("Product_Name"),
                C::S("Account_Name"),
            ],
            vec![C::S("SN-X-1"), C::S("ProLiant"), C::S("Acme")],
        ],
        "",
    );
    let good = workbook(&[("IB", japanese.clone())], false);
    vec![
        (
            "error_cells.xlsx",
            workbook(&[("Install Base", errors)], false),
        ),
        ("date1904.xlsx", workbook(&[("IB", d1904)], true)),
        ("merged.xlsx", workbook(&[("IB", merged)], false)),
        ("japanese.xlsx", good.clone()),
        (
            "empty_workbook.xlsx",
            workbook(&[("Sheet1", empty.clone()), ("Sheet2", empty)], false),
        ),
        (
            "no_known_sheet.xlsx",
            workbook(&[("Install Base", missing)], false),
        ),
        ("truncated.xlsx", good[..good.len() / 2].to_vec()),
        // An encrypted workbook is an OLE compound file, not a zip: its magic and nothing else.
        ("encrypted.xlsx", {
            let mut b = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
            b.resize(1024, 0);
            b
        }),
    ]
}

#[test]
fn xlsx_fixtures_match_their_generator() {
    let bless = std::env::var_os("ONELEAD_BLESS").is_some();
    for (name, bytes) in xlsx_fixtures() {
        let path = fixtures().join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{name} differs from its generator; rerun with ONELEAD_BLESS=1"
        );
    }
}

/// What loading a fixture must do.
enum Expect {
    /// Exit 0 with this many install-base rows, and these texts in the JSON report.
    Loads(i64, &'static [&'static str]),
    /// Exit 1 with these texts on stderr (the first is the file name).
    Fails(&'static [&'static str]),
}

fn expectations() -> Vec<(&'static str, Expect)> {
    use Expect::{Fails, Loads};
    vec![
        ("bom.csv", Loads(2, &[])),
        ("latin1.csv", Loads(2, &[])),
        ("duplicate_headers.csv", Loads(1, &[])),
        (
            "div0.csv",
            Loads(2, &["\"raw\": \"#DIV/0!\"", "\"raw\": \"=NOW()\""]),
        ),
        ("japanese.csv", Loads(3, &[])),
        (
            "wrong_types.csv",
            Loads(3, &["\"column\": \"eol_date\"", "\"raw\": \"yesterday\""]),
        ),
        ("huge_cell.csv", Loads(2, &[])),
        (
            "wrong_columns.csv",
            Fails(&["wrong_columns.csv", "no known header", "`Customer`"]),
        ),
        ("empty.csv", Fails(&["empty.csv", "the file is empty"])),
        (
            "blank_lines.csv",
            Fails(&["blank_lines.csv", "the file is empty"]),
        ),
        (
            "error_cells.xlsx",
            Loads(2, &["\"raw\": \"#DIV/0!\"", "\"column\": \"service_end\""]),
        ),
        ("date1904.xlsx", Loads(1, &[])),
        ("merged.xlsx", Loads(3, &[])),
        ("japanese.xlsx", Loads(2, &[])),
        (
            "empty_workbook.xlsx",
            Fails(&["empty_workbook.xlsx", "the workbook has no data"]),
        ),
        (
            "no_known_sheet.xlsx",
            Fails(&[
                "no_known_sheet.xlsx",
                "no sheet is recognised",
                "`Install Base`",
            ]),
        ),
        ("truncated.xlsx", Fails(&["truncated.xlsx", "cannot open"])),
        ("encrypted.xlsx", Fails(&["encrypted.xlsx", "cannot open"])),
    ]
}

const AS_OF: &str = "2025-10-29";

/// Loads `file` into a database that already holds `japanese.csv`; returns the workdir.
fn load_onto_existing(file: &Path, expect: &Expect) -> Option<Workdir> {
    let w = Workdir::try_new()?;
    let base = fixtures().join("japanese.csv");
    w.ok(&[
        "load",
        "--data",
        base.to_str().unwrap(),
        "--db",
        "h.db",
        "--as-of",
        AS_OF,
    ]);
    let before = w.fingerprint("h.db");
    let args = [
        "load",
        "--data",
        file.to_str().unwrap(),
        "--db",
        "h.db",
        "--as-of",
        AS_OF,
        "--format",
        "json",
    ];
    let name = file.file_name().unwrap().to_str().unwrap();
    match expect {
        Expect::Loads(rows, texts) => {
            let out = w.ok(&args);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["ingest"]["rows"]["install_base"], *rows, "{name}: {out}");
            for t in *texts {
                assert!(out.contains(t), "{name}: expected {t:?} in\n{out}");
            }
        }
        Expect::Fails(texts) => {
            let err = w.fails(&args, 1);
            assert!(err.starts_with("error: "), "{name}: {err}");
            for t in *texts {
                assert!(err.contains(t), "{name}: expected {t:?} in\n{err}");
            }
            assert!(!err.contains("panicked"), "{err}");
            assert_eq!(
                before,
                w.fingerprint("h.db"),
                "{name}: the database changed"
            );
        }
    }
    Some(w)
}

#[test]
fn every_hostile_fixture_loads_or_fails_cleanly_naming_the_file() {
    let table = expectations();
    // A fixture added to the folder without an expectation would go untested.
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = table.iter().map(|(n, _)| (*n).to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "fixtures and expectations differ");
    for (name, expect) in &table {
        load_onto_existing(&fixtures().join(name), expect);
    }
}

/// Loads these fixtures in one run into `db`.
fn load_together(w: &Workdir, db: &str, files: &[&str]) {
    let paths: Vec<String> = files
        .iter()
        .map(|f| fixtures().join(f).to_str().unwrap().to_string())
        .collect();
    let mut args = vec!["load", "--db", db, "--as-of", AS_OF];
    for p in &paths {
        args.extend(["--data", p.as_str()]);
    }
    w.ok(&args);
}

#[test]
fn hostile_values_land_as_written() {
    let w = Workdir::new();
    // One load: the files of one run form one install-base snapshot together.
    load_together(
        &w,
        "v.db",
        &[
            "japanese.csv",
            "japanese.xlsx",
            "latin1.csv",
            "duplicate_headers.csv",
            "bom.csv",
        ],
    );
    let names = w.sql("v.db", "SELECT account_name FROM install_base WHERE serial_number LIKE 'SN-J%' OR serial_number LIKE 'SN-FR%' ORDER BY serial_number");
    assert_eq!(
        names,
        [
            "Société Générale Ñandú Čeština",
            "株式会社日立製作所",
            "トヨタ自動車株式会社",
            "株式会社日立製作所",
            "Société Générale Ñandú",
        ]
    );
    // A file that is not UTF-8 is read as Windows-1252 (of which Latin-1 text is a part), not
    // stored with replacement characters. See: issue 20.
    assert_eq!(
        w.sql(
            "v.db",
            "SELECT account_name, product_name FROM install_base WHERE serial_number LIKE 'SN-L1-%' \
             ORDER BY serial_number"
        ),
        ["Société Générale|ProLiant DL360 Gen9", "Müller GmbH|Café ÿþ"]
    );
    // Among duplicate headers the first column wins.
    assert_eq!(
        w.sql("v.db", "SELECT serial_number, product_name, support_status FROM install_base WHERE serial_number LIKE 'SN-DUP%' OR product_name = 'Wrong'"),
        ["SN-DUP-1|ProLiant DL360 Gen9|Active Warranty"]
    );
    // The BOM does not hide the first header.
    assert_eq!(
        w.sql(
            "v.db",
            "SELECT count(*) FROM install_base WHERE serial_number LIKE 'SN-BOM-%'"
        ),
        ["2"]
    );
}

#[test]
fn the_1904_date_system_and_merged_cells_read_as_excel_shows_them() {
    let w = Workdir::new();
    load_together(
        &w,
        "d.db",
        &["date1904.xlsx", "merged.xlsx", "error_cells.xlsx"],
    );
    assert_eq!(
        w.sql(
            "d.db",
            "SELECT eol_date, service_end FROM install_base WHERE serial_number = 'SN-1904-1'"
        ),
        ["2013-07-07|1904-01-01"]
    );
    // Rows under a merged cell keep their own (empty) values; the header under a merged title is found.
    assert_eq!(
        w.sql("d.db", "SELECT serial_number, coalesce(account_name, '-'), source_row FROM install_base WHERE serial_number LIKE 'SN-M-%' ORDER BY 1"),
        ["SN-M-1|Acme|3", "SN-M-2|-|4", "SN-M-3|-|5"]
    );
    // Error cells become NULL (reported as coercions), never text like `#DIV/0!` in a date.
    assert_eq!(
        w.sql("d.db", "SELECT coalesce(eol_date, 'NULL'), coalesce(service_end, 'NULL'), coalesce(product_name, 'NULL') FROM install_base WHERE serial_number LIKE 'SN-ERR-%' ORDER BY serial_number"),
        ["NULL|NULL|ProLiant DL360 Gen9", "2020-01-01|NULL|NULL"]
    );
}

#[test]
fn huge_cells_are_kept_whole() {
    let Some(w) = Workdir::try_new() else { return };
    let p = fixtures().join("huge_cell.csv");
    w.ok(&[
        "load",
        "--data",
        p.to_str().unwrap(),
        "--db",
        "u.db",
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(
        w.sql(
            "u.db",
            "SELECT serial_number, length(product_name) FROM install_base ORDER BY 1"
        ),
        ["SN-HUGE-1|100000", "SN-HUGE-2|21999"]
    );
}
