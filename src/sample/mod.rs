//! Synthetic sample exports: the same sheets, headers, types and mess as the vendor's real
//! install-base export and SKU workbook, with invented customers, serials and products.
//!
//! In: an output folder, an install-base row count, a seed and a format. Out: `onelead_sample.xlsx`
//! (all five sheets) or five CSV files, plus `onelead_sku.xlsx`, and a [`SampleSummary`].
//! Everything is drawn from a seeded [`rng::Rng`], one independent stream per sheet, and the
//! workbooks carry a fixed creation date, so the same seed and row count give byte-identical files.
//!
//! CSV output streams row by row, so memory stays flat at any size; only the accounts (rows / 6, fewer per row past 60k rows)
//! and the opportunity ids are held. The xlsx writer keeps a small workbook in memory until it
//! saves; a large one goes to disk row by row (`rust_xlsxwriter`'s low-memory mode, which keeps
//! a shared-strings table as Excel does).
//! [`Overrides`] set the opportunity and project counts by hand.

mod catalog;
mod install_base;
mod projects;
mod rng;
mod services;
mod sheets;
mod sink;
mod sku;
mod world;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

pub use crate::cli::SampleFormat;
use crate::error::{Error, Result};
use rng::Rng;
use sink::{CsvSink, Sink, XlsxSink};
use world::World;

/// Excel's last row is 1,048,576; one is the header.
pub const XLSX_MAX_ROWS: usize = 1_048_575;

/// The workbook name for `--format xlsx`.
pub const SAMPLE_WORKBOOK: &str = "onelead_sample.xlsx";

/// The SKU workbook name, written in both formats.
pub const SKU_WORKBOOK: &str = "onelead_sku.xlsx";

/// The date the sample pretends to have been exported on (drives the credit expiry buckets).
const EXPORT_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2025, 9, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// What [`write_sample`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSummary {
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
    /// Data rows per sheet (header excluded), in sheet order; the SKU sheet last.
    pub sheets: Vec<(&'static str, usize)>,
}

/// A date from parts that are valid by construction; falls back to 1970-01-01 rather than panic.
fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// A uniform date in `[from, to]`.
fn random_date(rng: &mut Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    from + chrono::Days::new(rng.range(0, span) as u64)
}

/// Sheet sizes derived from the install-base row count.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    accounts: usize,
    opportunities: usize,
    projects: usize,
    credits: usize,
}

impl Sizes {
    fn for_rows(rows: usize) -> Self {
        // One account per six items holds for a small install base; a large one is
        // concentrated in big customers, so past 60k rows accounts grow at one per 40 items
        // (about 33k accounts for a million rows, as large real exports have). The other sheets
        // stay in proportion to the rows, as they were below that size.
        let accounts = if rows <= 60_000 {
            (rows / 6).max(1)
        } else {
            10_000 + (rows - 60_000) / 40
        };
        let per_six = (rows / 6).max(1);
        Sizes {
            accounts,
            opportunities: per_six * 3 / 2,
            projects: per_six * 2,
            credits: rows / 2,
        }
    }
}

/// Sheet sizes set by hand instead of in proportion to the install base (to shape a workbook
/// like a particular export, as the xlsx benchmark does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Opportunity rows.
    pub opportunities: Option<usize>,
    /// Project rows.
    pub projects: Option<usize>,
}

/// Workbooks with more data rows than this are written row by row to disk (low memory:
/// strings in a shared table, as Excel writes them) instead of whole in memory; smaller ones
/// stay byte-identical to what earlier versions wrote.
const LOW_MEMORY_ROWS: usize = 200_000;

/// Writes a synthetic export of `rows` install-base rows into `out` (created if missing).
///
/// Fails with [`Error::Usage`] when `rows` exceeds what one xlsx sheet can hold, with
/// [`Error::Io`] or [`Error::BadFile`] naming the file when writing fails.
pub fn write_sample(
    out: &Path,
    rows: usize,
    seed: u64,
    format: SampleFormat,
) -> Result<SampleSummary> {
    write_sample_sized(out, rows, Overrides::default(), seed, format)
}

/// The sheet sizes for `rows` install-base rows and the overrides, if one sheet can hold them.
fn sized(rows: usize, overrides: Overrides, format: SampleFormat) -> Result<Sizes> {
    let mut sizes = Sizes::for_rows(rows);
    sizes.opportunities = overrides.opportunities.unwrap_or(sizes.opportunities);
    sizes.projects = overrides.projects.unwrap_or(sizes.projects);
    let largest = rows.max(sizes.opportunities).max(sizes.projects);
    if format == SampleFormat::Xlsx && largest > XLSX_MAX_ROWS {
        return Err(Error::Usage(format!(
            "an xlsx sheet holds at most {XLSX_MAX_ROWS} data rows, not {largest}; use `--format csv`"
        )));
    }
    Ok(sizes)
}

/// Customers that only services knows about (the real project sheet is dominated by a few),
/// with their customer ids.
fn other_customers(accounts: usize, rng: &mut Rng) -> Vec<(String, i64)> {
    let mut taken = std::collections::HashSet::new();
    (0..(accounts / 20).max(3))
        .map(|_| {
            let name = format!("{} K.K.", world::company_stem(rng, &mut taken));
            (name, 110_000_000 + rng.range(900_000, 999_999))
        })
        .collect()
}

/// [`write_sample`] with some sheet sizes set by hand.
pub fn write_sample_sized(
    out: &Path,
    rows: usize,
    overrides: Overrides,
    seed: u64,
    format: SampleFormat,
) -> Result<SampleSummary> {
    let sizes = sized(rows, overrides, format)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let total = rows + sizes.opportunities + sizes.projects + sizes.credits;
    let mut world_rng = Rng::stream(seed, "world");
    let world = World::generate(sizes.accounts, &mut world_rng);
    let others = other_customers(sizes.accounts, &mut world_rng);
    let other_names: Vec<String> = others.iter().map(|(n, _)| n.clone()).collect();

    let mut sink: Box<dyn Sink> = match format {
        SampleFormat::Xlsx => Box::new(XlsxSink::new(
            &out.join(SAMPLE_WORKBOOK),
            total > LOW_MEMORY_ROWS,
        )?),
        SampleFormat::Csv => Box::new(CsvSink::new(out)),
    };
    install_base::write(
        &world,
        rows,
        &mut Rng::stream(seed, "install_base"),
        sink.as_mut(),
    )?;
    let opportunity_ids = sheets::write_opportunities(
        &world,
        sizes.opportunities,
        &mut Rng::stream(seed, "opportunity"),
        sink.as_mut(),
    )?;
    projects::write(
        &world,
        &opportunity_ids,
        &others,
        sizes.projects,
        &mut Rng::stream(seed, "projects"),
        sink.as_mut(),
    )?;
    let services = services::write(sink.as_mut())?;
    sheets::write_credits(
        &world,
        &other_names,
        sizes.credits,
        &mut Rng::stream(seed, "credits"),
        sink.as_mut(),
    )?;
    let mut files = sink.finish()?;
    let sku_path = out.join(SKU_WORKBOOK);
    let sku_rows = sku::write(&sku_path)?;
    files.push(sku_path);

    Ok(SampleSummary {
        files,
        sheets: vec![
            (install_base::SHEET, rows),
            (sheets::OPPORTUNITY, sizes.opportunities),
            (projects::SHEET, sizes.projects),
            (services::SHEET, services),
            (sheets::CREDITS, sizes.credits),
            (sku::SHEET, sku_rows),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    #[test]
    fn same_seed_gives_identical_bytes_in_both_formats() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for format in [SampleFormat::Xlsx, SampleFormat::Csv] {
            let sa = write_sample(a.path(), 120, 7, format).unwrap();
            let sb = write_sample(b.path(), 120, 7, format).unwrap();
            assert_eq!(sa.sheets, sb.sheets);
            for (fa, fb) in sa.files.iter().zip(&sb.files) {
                assert_eq!(read(fa), read(fb), "{} differs", fa.display());
            }
        }
    }

    #[test]
    fn different_seed_gives_different_data() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_sample(a.path(), 60, 1, SampleFormat::Xlsx).unwrap();
        write_sample(b.path(), 60, 2, SampleFormat::Xlsx).unwrap();
        assert_ne!(
            read(&a.path().join(SAMPLE_WORKBOOK)),
            read(&b.path().join(SAMPLE_WORKBOOK))
        );
        write_sample(a.path(), 60, 1, SampleFormat::Csv).unwrap();
        write_sample(b.path(), 60, 2, SampleFormat::Csv).unwrap();
        assert_ne!(
            read(&a.path().join("install_base.csv")),
            read(&b.path().join("install_base.csv"))
        );
    }

    fn csv_rows(path: &Path) -> (Vec<String>, usize) {
        let mut r = csv::Reader::from_path(path).unwrap();
        let headers = r.headers().unwrap().iter().map(String::from).collect();
        let records: Vec<csv::StringRecord> = r.records().collect::<Result<_, _>>().unwrap();
        (headers, records.len())
    }

    #[test]
    fn csv_files_have_the_real_headers_and_row_counts() {
        let dir = tempfile::tempdir().unwrap();
        let summary = write_sample(dir.path(), 300, 42, SampleFormat::Csv).unwrap();
        assert_eq!(summary.files.len(), 6);
        let expected: [(&str, &[&str], usize); 5] = [
            (
                "install_base.csv",
                &[
                    "Serial_Number_Id",
                    "Product_Id",
                    "Line_Description_Name",
                    "Product_Platform_Description_Name",
                    "Business_Area_Description_Name",
                    "Product_Name",
                    "Account_Sales_Territory_Id",
                    "Legacy_Global_Business_Unit",
                    "Product_End_of_Life_Date",
                    "Product_End_of_Service_Life_Date",
                    "Final_Service_Start_Date",
                    "Final_Service_End_Date",
                    "Final_Service_Source",
                    "Support_Status",
                    "Service_Agreement_Id",
                ],
                300,
            ),
            (
                "opportunities.csv",
                &[
                    "HPE Opportunity ID",
                    "Opportunity NAme",
                    "Account ST ID",
                    "Account Name",
                    "Product Line",
                ],
                75,
            ),
            (
                "projects.csv",
                &[
                    "Import_Date",
                    "Last Refresh Date",
                    "PV302",
                    "PRJ L04 BA Name",
                    "Profit Center",
                    "Country ID",
                    "Country",
                    "PRJ Practice",
                    "PRJ Function",
                    "PRJ Business Area",
                    "PRJ Segment",
                    "PRJ Profit Center",
                    "PRJ Region",
                    "PRJ Geo",
                    "Project",
                    "Health",
                    "PRJ Description",
                    "PRJ Siebel ID",
                    "PRJ Customer",
                    "PRJ Customer ID",
                    "PRJ Resp Person",
                    "PRJ Resp Person ID",
                    "PRJ Industry Code",
                    "PRJ Resp Cost Center",
                    "PRJ Status Description",
                    "PRJ Admin",
                    "PRJ System Status",
                    "PRJ Contract Terms",
                    "PRJ Revenue Recognition",
                    "PRJ Start Date",
                    "PRJ End Date",
                    "PRJ Size",
                    "PRJ Size Sort",
                    "PRJ Length",
                    "PRJ Length Sort",
                    "PRJ Days",
                    "PRJ Financial Status",
                    "PRJ Stage Status",
                    "WBS Project Type",
                    "Packaged Services Flag",
                    "Account ST Name",
                    "3rd Party Svc Cost",
                    "3rd Party Mat Cost",
                    "Labor Cost",
                ],
                100,
            ),
            (
                "services.csv",
                &["Practice", "Sub-Practice", "Services"],
                summary.sheets[3].1,
            ),
            (
                "service_credits.csv",
                &[
                    "ProjectID",
                    "ProjectName",
                    "PracticeName",
                    "PurchasedCredits",
                    "ConvertedCredits",
                    "DeliveredCredits",
                    "ConvertedNotDeliveredCredits",
                    "ActiveCredits",
                    "ExpiryInDays",
                    "ContractEndDate",
                ],
                150,
            ),
        ];
        for (file, headers, rows) in expected {
            let (got_headers, got_rows) = csv_rows(&dir.path().join(file));
            assert_eq!(got_headers, headers, "{file}");
            assert_eq!(got_rows, rows, "{file}");
        }
        assert!((50..=70).contains(&summary.sheets[3].1));
    }

    #[test]
    fn xlsx_refuses_more_rows_than_a_sheet_holds() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_sample(dir.path(), XLSX_MAX_ROWS + 1, 1, SampleFormat::Xlsx).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        assert_eq!(err.exit_code(), 2);
        assert!(!dir.path().join(SAMPLE_WORKBOOK).exists());
    }

    #[test]
    fn an_unwritable_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = write_sample(&file, 10, 1, SampleFormat::Csv).unwrap_err();
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }
}
