//! Hostile input never panics (issue 8): property tests over the ingest path's pure functions
//! (value cleaners, header detection, the SKU pivot parser) with `proptest`, and a seeded
//! mutation loop over whole CSV and xlsx files fed to `ingest::ingest_file` in-process. Every
//! case must end in records or an error naming the file: never a panic, never a hang.
//!
//! Case counts are bounded (256 per property, 300 mutated files) so the whole binary stays well
//! under a minute in a debug build.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use calamine::{Cell, CellErrorType, Data, ExcelDateTime, ExcelDateTimeType, Range};
use onelead::config::IngestConfig;
use onelead::ingest::{self, IngestReport, clean, detect, sku};
use onelead::model::Record;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Text a hostile export may hold: anything, plus the shapes the cleaners special-case.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[ 0-9,.$eE+-]{0,24}",
        2 => "[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}( [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?",
        1 => Just("(null)".to_string()),
        1 => Just("#DIV/0!".to_string()),
        1 => Just("NOT AVAILABLE".to_string()),
        1 => Just("株式会社サンプル".to_string()),
        1 => Just("Société Générale Ñandú".to_string()),
        1 => Just("Practice-123-US-Acme-Corp".to_string()),
        1 => "[A-Za-z]{0,8}-[0-9]{0,4}-[A-Z]{0,3}-.{0,10}",
        1 => Just("\u{FEFF}serial".to_string()),
        // Excel caps a cell at 32,767 characters; go past it.
        1 => (0_usize..40_000).prop_map(|n| "x".repeat(n)),
    ]
}

fn error_type() -> impl Strategy<Value = CellErrorType> {
    prop_oneof![
        Just(CellErrorType::Div0),
        Just(CellErrorType::NA),
        Just(CellErrorType::Name),
        Just(CellErrorType::Null),
        Just(CellErrorType::Num),
        Just(CellErrorType::Ref),
        Just(CellErrorType::Value),
        Just(CellErrorType::GettingData),
    ]
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        2 => -1.0e6_f64..3.0e6,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(60.0),
        1 => Just(f64::MAX),
    ]
}

/// Any cell calamine can hand us, including both date systems and error cells.
fn hostile_cell() -> impl Strategy<Value = Data> {
    prop_oneof![
        Just(Data::Empty),
        hostile_text().prop_map(Data::String),
        any::<i64>().prop_map(Data::Int),
        any_f64().prop_map(Data::Float),
        any::<bool>().prop_map(Data::Bool),
        (any_f64(), any::<bool>(), any::<bool>()).prop_map(|(v, dt, is_1904)| {
            let ty = if dt {
                ExcelDateTimeType::DateTime
            } else {
                ExcelDateTimeType::TimeDelta
            };
            Data::DateTime(ExcelDateTime::new(v, ty, is_1904))
        }),
        hostile_text().prop_map(Data::DateTimeIso),
        hostile_text().prop_map(Data::DurationIso),
        error_type().prop_map(Data::Error),
    ]
}

/// Every header spelling detection knows, plus junk: rows that look almost like real headers.
fn header_word() -> impl Strategy<Value = String> {
    let mut known: Vec<String> = Vec::new();
    for spec in detect::KINDS {
        for f in spec.fields {
            known.push(f.name.to_string());
            known.extend(f.synonyms.iter().map(|s| (*s).to_string()));
        }
    }
    known.extend(
        [
            "Product",
            "Services Offered",
            "Fixed SKU",
            "Flex SKU",
            "Service name",
        ]
        .map(String::from),
    );
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => any::<String>(),
        1 => Just(String::new()),
        1 => Just("é".repeat(500)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn cleaners_never_panic_and_keep_their_promises(d in hostile_cell()) {
        let _ = clean::raw_text(&d);
        let _ = clean::is_blank(&d);
        if let clean::Cleaned::Value(t) = clean::clean_text(&d) {
            prop_assert_eq!(t.trim(), t.as_str());
            prop_assert!(!clean::is_missing_marker(&t) || !matches!(d, Data::String(_)));
        }
        let _ = clean::clean_id(&d);
        if let clean::Cleaned::Value(f) = clean::clean_float(&d) {
            prop_assert!(f.is_finite());
        }
        if let clean::Cleaned::Value(i) = clean::clean_int(&d) {
            prop_assert!(i.unsigned_abs() < 9_000_000_000_000_000);
        }
        if let (clean::Cleaned::Value(date), Data::Float(_) | Data::Int(_)) = (clean::clean_date(&d), &d) {
            // Numbers are only dates inside the plausible serial window.
            prop_assert!((1901..=2200).contains(&chrono::Datelike::year(&date)), "{date}");
        }
    }

    #[test]
    fn text_parsers_never_panic(s in hostile_text()) {
        let _ = clean::parse_date_str(&s);
        if let Some(f) = clean::parse_number_str(&s) {
            prop_assert!(f.is_finite());
        }
        let n = clean::normalize_size(&s);
        prop_assert_eq!(clean::normalize_size(&n), n.clone());
        let _ = clean::is_valid_project_id(&s);
        if let Some((cc, customer)) = clean::split_credit_project_name(&s) {
            prop_assert_eq!(cc.len(), 2);
            prop_assert!(cc.bytes().all(|b| b.is_ascii_uppercase()));
            prop_assert!(!customer.is_empty());
        }
        let _ = clean::excel_serial_to_date(s.len() as f64);
    }

    #[test]
    fn serials_never_panic(f in any_f64()) {
        if let Some(d) = clean::excel_serial_to_date(f) {
            prop_assert!((1901..=2200).contains(&chrono::Datelike::year(&d)));
        }
    }

    #[test]
    fn header_normalisation_is_idempotent(s in hostile_text()) {
        let n = detect::normalize_header(&s);
        prop_assert_eq!(detect::normalize_header(&n), n.clone());
        prop_assert!(n.chars().all(char::is_alphanumeric));
    }

    #[test]
    fn detection_never_panics_and_indexes_inside_the_rows(
        rows in proptest::collection::vec(proptest::collection::vec(header_word(), 0..24), 0..22),
    ) {
        let columns = std::collections::BTreeMap::new();
        if let Some(d) = detect::detect(&rows, &columns) {
            prop_assert!(d.header_index < rows.len());
            prop_assert!(d.map.missing().is_empty());
            let width = rows[d.header_index].len();
            prop_assert!(d.map.cols.iter().flatten().all(|c| *c < width));
        }
        for spec in detect::KINDS {
            if let Some(i) = detect::best_row_for(spec, &rows) {
                prop_assert!(i < rows.len());
            }
        }
    }

    #[test]
    fn a_full_header_is_found_in_any_order_with_junk_and_duplicates(
        kind in 0..detect::KINDS.len(),
        junk in proptest::collection::vec(hostile_text(), 0..6),
        seed in any::<u64>(),
    ) {
        let spec = &detect::KINDS[kind];
        let mut row: Vec<String> = spec.fields.iter().map(|f| f.name.to_uppercase()).collect();
        // A duplicated header must not confuse detection (the first one wins).
        row.push(spec.fields[0].name.to_string());
        row.extend(junk.into_iter().map(|j| format!("zz {j}")));
        let mut rng = seed | 1;
        for i in (1..row.len()).rev() {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            row.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        let d = detect::detect(std::slice::from_ref(&row), &std::collections::BTreeMap::new());
        prop_assert!(d.is_some(), "{row:?}");
        let d = d.unwrap();
        prop_assert!(d.map.missing().is_empty());
    }

    #[test]
    fn sku_tokens_and_offerings_never_panic(s in hostile_text()) {
        let _ = sku::is_sku(&s);
        let (service, skus) = sku::parse_offering(&s);
        prop_assert!(skus.iter().all(|k| sku::is_sku(k)), "{skus:?}");
        prop_assert_eq!(service.trim(), service.as_str());
    }

    #[test]
    fn the_sku_pivot_parser_survives_any_sheet(
        cells in proptest::collection::vec(
            (0_u32..30, 0_u32..8, prop_oneof![3 => header_word().prop_map(Data::String), 2 => hostile_cell()]),
            0..120,
        ),
        start_row in 0_u32..5,
        start_col in 0_u32..5,
    ) {
        let cells: Vec<Cell<Data>> = cells
            .into_iter()
            .map(|(r, c, v)| Cell::new((r + start_row, c + start_col), v))
            .collect();
        let range = Range::from_sparse(cells);
        let header = sku::find_matrix_header(&range);
        for h in [header, None] {
            let mut emitted = 0_u64;
            let stats = sku::read_sku_sheet(&range, h, "f.xlsx", "Sheet1", &mut |r| {
                assert!(matches!(r, Record::Catalog(_)));
                emitted += 1;
                Ok(())
            });
            prop_assert_eq!(stats.unwrap().records, emitted);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Whole files: a seeded mutation loop over a small sample export
// ---------------------------------------------------------------------------------------------

/// xorshift64*: deterministic, so a failing case number always names the same file.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments spliced into files: CSV syntax, encodings, Excel error and formula text, XML
/// fragments that change a cell's type or a sheet's dimension.
const TOKENS: &[&[u8]] = &[
    b",",
    b";",
    b"\"",
    b"\n",
    b"\r\n",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE\x00",
    b"caf\xE9",
    b"#DIV/0!",
    b"=1/0",
    "株式会社".as_bytes(),
    b"(null)",
    b"1e308",
    b"-0",
    b"99999999999999999999",
    b" t=\"e\"",
    b" t=\"s\"",
    b" t=\"b\"",
    b" t=\"str\"",
    b" s=\"1\"",
    b"<v>#N/A</v>",
    b"<v>1e400</v>",
    b"<v>-5</v>",
    b"<f>SUM(A1:A2)</f>",
    b"<mergeCell ref=\"A1:XFD1048576\"/>",
    b"<dimension ref=\"A1:XFD1048576\"/>",
    b"r=\"XFD1048576\"",
    b"r=\"A0\"",
    b"&amp;",
    b"&#0;",
    b"<![CDATA[",
    b"date1904=\"1\"",
];

fn mutate(rng: &mut Prng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..=rng.below(4) {
        if bytes.is_empty() {
            bytes.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
            continue;
        }
        let at = rng.below(bytes.len());
        match rng.below(6) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes.truncate(at),
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, t.iter().copied());
            }
            3 => {
                let len = rng.below(64).min(bytes.len() - at);
                bytes.drain(at..at + len);
            }
            4 => {
                let len = rng.below(256).min(bytes.len() - at);
                let chunk = bytes[at..at + len].to_vec();
                let to = rng.below(bytes.len());
                bytes.splice(to..to, chunk);
            }
            _ => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let end = (at + t.len()).min(bytes.len());
                bytes.splice(at..end, t.iter().copied());
            }
        }
    }
    bytes
}

/// A zip's entries (name, bytes).
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("sample is a zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            (f.name().unwrap().to_string(), out)
        })
        .collect()
}

fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// One mutated file: the seed base, how it was changed, and its bytes.
struct Case {
    name: String,
    bytes: Vec<u8>,
}

fn cases(dir: &Path, count: usize) -> Vec<Case> {
    let csv = std::fs::read(dir.join("install_base.csv")).unwrap();
    // The first lines hold the header; keep the file small so 300 cases run fast.
    let csv: Vec<u8> = {
        let text = String::from_utf8_lossy(&csv);
        text.lines()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    };
    let xlsx = std::fs::read(dir.join("x/onelead_sample.xlsx")).unwrap();
    let sku_xlsx = std::fs::read(dir.join("x/onelead_sku.xlsx")).unwrap();
    let (xlsx_entries, sku_entries) = (unzip(&xlsx), unzip(&sku_xlsx));
    let mut rng = Prng(0x0e1e_ad08_5eed_u64);
    (0..count)
        .map(|i| match i % 5 {
            0 | 1 => Case {
                name: format!("case{i:03}.csv"),
                bytes: mutate(&mut rng, csv.clone()),
            },
            // Raw bytes of the zip: truncations and flips mostly test the zip layer.
            2 => Case {
                name: format!("case{i:03}.xlsx"),
                bytes: mutate(&mut rng, xlsx.clone()),
            },
            // Mutate the XML inside and re-zip: reaches calamine's parsers and ours.
            _ => {
                let base = if i % 10 == 3 {
                    &sku_entries
                } else {
                    &xlsx_entries
                };
                let mut entries = base.clone();
                let k = rng.below(entries.len());
                let prefer_sheet = entries.iter().position(|(n, _)| {
                    n.contains("worksheets/sheet") || n.contains("sharedStrings")
                });
                let k = if rng.below(3) > 0 {
                    prefer_sheet.unwrap_or(k)
                } else {
                    k
                };
                entries[k].1 = mutate(&mut rng, std::mem::take(&mut entries[k].1));
                Case {
                    name: format!("case{i:03}.xlsx"),
                    bytes: rezip(&entries),
                }
            }
        })
        .collect()
}

/// What one case did: `Ok(rows)` or the error text; a panic message is the failure.
fn ingest_case(path: &Path) -> Result<Result<u64, String>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        let mut report = IngestReport::default();
        let mut rows = 0_u64;
        ingest::ingest_file(path, &IngestConfig::default(), &mut report, &mut |_| {
            rows += 1;
            Ok(())
        })
        .map(|()| rows)
        .map_err(|e| e.to_string())
    }))
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "non-string panic".into())
    })
}

#[test]
fn mutated_files_end_in_records_or_an_error_naming_the_file() {
    const CASES: usize = 300;
    // Generous per-case bound: a case is a few KB, so anything near this is a hang.
    const PER_CASE: Duration = Duration::from_secs(20);

    let tmp = tempfile::tempdir().unwrap();
    onelead::sample::write_sample(tmp.path(), 40, 7, onelead::sample::SampleFormat::Csv).unwrap();
    onelead::sample::write_sample(
        &tmp.path().join("x"),
        40,
        7,
        onelead::sample::SampleFormat::Xlsx,
    )
    .unwrap();
    let cases = cases(tmp.path(), CASES);
    let dir: PathBuf = tmp.path().join("cases");
    std::fs::create_dir_all(&dir).unwrap();

    // Quiet the default hook: caught panics are reported below, with the case that caused them.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (tx, rx) = mpsc::channel();
    let worker_dir = dir.clone();
    let worker = std::thread::spawn(move || {
        for case in cases {
            let path = worker_dir.join(&case.name);
            std::fs::write(&path, &case.bytes).unwrap();
            let outcome = ingest_case(&path);
            if tx.send((case.name, outcome)).is_err() {
                return;
            }
        }
    });
    let mut failures = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    for _ in 0..CASES {
        let Ok((name, outcome)) = rx.recv_timeout(PER_CASE) else {
            failures.push(format!(
                "a case after {} did not finish within {PER_CASE:?} (hang)",
                ok + errors + failures.len()
            ));
            break;
        };
        match outcome {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(msg)) if msg.contains(&name) => errors += 1,
            Ok(Err(msg)) => failures.push(format!("{name}: error does not name the file: {msg}")),
            Err(panic) => failures.push(format!("{name}: panicked: {panic}")),
        }
    }
    std::panic::set_hook(hook);
    if failures.is_empty() {
        worker.join().unwrap();
    } else {
        // Keep the offending files for a fixture.
        let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-failures");
        std::fs::create_dir_all(&keep).unwrap();
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), keep.join(e.file_name())).unwrap();
        }
        panic!(
            "{} of {CASES} cases failed (files kept in {}):\n{}",
            failures.len(),
            keep.display(),
            failures.join("\n")
        );
    }
    // Both outcomes must occur, or the mutations are too timid (or too destructive) to test much.
    assert!(ok > 0 && errors > 0, "ok {ok}, errors {errors}");
    eprintln!("{CASES} mutated files: {ok} loaded, {errors} rejected with a clear error");
}
