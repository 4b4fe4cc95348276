//! The `Install Base` sheet: one row per serial-numbered item, with the export's mess.
//!
//! In: the [`World`], a row count, a [`Rng`]. Out: rows streamed into a [`Sink`]. Support status
//! and end-of-life are drawn together so the default rules find all three lead types: most
//! expired or uncovered items are long past EOL (Renewal, Hardware Refresh, Service Attach), and
//! current products carry the 2099-12-31 "no EOL" sentinel.

use chrono::{Datelike, NaiveDate};

use super::catalog::{self, Kind, PRODUCTS, Product};
use super::rng::Rng;
use super::sink::{Cell, Sink};
use super::world::World;
use super::{date, random_date};
use crate::error::Result;

/// The sheet name.
pub const SHEET: &str = "Install Base";

/// Headers, spelled as in the real export.
pub const HEADERS: [&str; 15] = [
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
];

const NULL: Cell = Cell::Str("(null)");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Uncovered,
    Flex,
    Fixed,
}

impl Status {
    fn text(self) -> &'static str {
        match self {
            Status::Active => "Active Warranty",
            Status::Uncovered => "Warranty Expired - Uncovered Box",
            Status::Flex => "Expired Flex Support",
            Status::Fixed => "Expired Fixed Support",
        }
    }
}

const BASE36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const SPACE: u64 = 78_364_164_096; // 36^7

/// A serial that is unique per row index: a 3-character plant prefix and 7 base-36 characters
/// from a bijection of the index (multiplier coprime with 36^7), so no set of seen serials is
/// needed however many rows are written.
fn serial(index: u64, kind: Kind, rng: &mut Rng) -> String {
    let prefixes: &[&str] = match kind {
        Kind::Storage => &["7CE", "SGA", "CZ3"],
        Kind::Network => &["CNH", "CNK", "TWN"],
        Kind::Option => &["RAK", "KZW", "PWR"],
        Kind::Server | Kind::Enclosure => &["CZJ", "MXQ", "SGH", "USE", "2M2"],
    };
    let mut body =
        ((u128::from(index % SPACE) * 2_654_435_761 + 0x2545_F491) % u128::from(SPACE)) as u64;
    let mut s = String::with_capacity(14);
    s.push_str(rng.pick(prefixes));
    let mut chars = [0u8; 7];
    for c in chars.iter_mut().rev() {
        *c = BASE36[(body % 36) as usize];
        body /= 36;
    }
    s.extend(chars.iter().map(|&b| char::from(b)));
    if kind == Kind::Option {
        // Option serials in the export are longer (14 characters).
        for _ in 0..4 {
            s.push(char::from(rng.pick(BASE36)));
        }
    }
    s
}

/// Writes a date cell, as text now and then like other exports of the same system.
fn date_cell(d: NaiveDate, rng: &mut Rng) -> Cell {
    if rng.chance(0.15) {
        Cell::DateText(d)
    } else {
        Cell::Date(d)
    }
}

fn pick_product(rng: &mut Rng, weights: &[u32]) -> &'static Product {
    &PRODUCTS[rng.weighted(weights)]
}

fn eol_date(product: &Product, rng: &mut Rng) -> NaiveDate {
    let (from, to) = product.eol.unwrap_or((2099, 2099));
    let year = rng.range(i64::from(from), i64::from(to)) as i32;
    let month = rng.range(1, 12) as u32;
    // EOL dates sit on the first or the last day of a month.
    if rng.chance(0.6) {
        date(year, month, 1)
    } else {
        date(year, month, 1)
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .unwrap_or_else(|| date(year, month, 28))
    }
}

/// Streams `rows` install-base rows.
pub fn write(world: &World, rows: usize, rng: &mut Rng, sink: &mut dyn Sink) -> Result<()> {
    sink.begin(SHEET, &HEADERS)?;
    let weights: Vec<u32> = PRODUCTS.iter().map(|p| p.weight).collect();
    let sentinel = date(2099, 12, 31);
    let mut cells: Vec<Cell> = Vec::with_capacity(HEADERS.len());
    for index in 0..rows as u64 {
        let product = pick_product(rng, &weights);
        let account = world.pick_account(rng);
        let legacy = product.eol.is_some();
        let status = rng.pick_weighted(if legacy {
            &[
                (Status::Active, 10),
                (Status::Uncovered, 58),
                (Status::Flex, 22),
                (Status::Fixed, 10),
            ]
        } else {
            &[
                (Status::Active, 86),
                (Status::Uncovered, 2),
                (Status::Flex, 2),
                (Status::Fixed, 10),
            ]
        });
        // A few legacy items still carry the sentinel: the export is not consistent.
        let eol = if legacy && rng.chance(0.93) {
            eol_date(product, rng)
        } else {
            sentinel
        };
        let end_of_service = if legacy && eol != sentinel && rng.chance(0.12) {
            date_cell(date(eol.year() + 5, eol.month(), 1), rng)
        } else {
            NULL
        };
        let (start, end, source) = service_window(status, rng);
        let agreement = match status {
            Status::Flex | Status::Fixed if rng.chance(0.8) => {
                Cell::Text(format!("1041{:08}", rng.below(100_000_000)))
            }
            _ if rng.chance(0.03) => Cell::Text(format!("1039{:08}", rng.below(100_000_000))),
            _ => NULL,
        };
        let platform = if rng.chance(0.06) {
            NULL
        } else {
            Cell::Str(catalog::platform_of(product.kind))
        };
        cells.clear();
        cells.extend([
            Cell::Text(serial(index, product.kind, rng)),
            Cell::Str(product.id),
            product.line.map_or(NULL, Cell::Str),
            platform,
            Cell::Str(catalog::business_area_of(product)),
            Cell::Str(product.name),
            Cell::Int(account.territory),
            Cell::Str(catalog::business_unit_of(product.kind)),
            date_cell(eol, rng),
            end_of_service,
            start.map_or(NULL, |d| date_cell(d, rng)),
            end.map_or(NULL, |d| date_cell(d, rng)),
            source.map_or(NULL, Cell::Str),
            Cell::Str(status.text()),
            agreement,
        ]);
        sink.row(&cells)?;
    }
    Ok(())
}

/// Service start, end and source for a status. Active warranties run into the future; some
/// "Expired Fixed Support" rows also end in the future, a contradiction the real export has too.
fn service_window(
    status: Status,
    rng: &mut Rng,
) -> (Option<NaiveDate>, Option<NaiveDate>, Option<&'static str>) {
    match status {
        Status::Active => {
            let start = random_date(rng, date(2019, 1, 1), date(2025, 6, 30));
            let end = if rng.chance(0.15) {
                random_date(rng, date(2041, 1, 1), date(2045, 12, 31))
            } else {
                date(
                    start.year() + rng.range(3, 5) as i32,
                    start.month(),
                    start.day().min(28),
                )
            };
            (Some(start), Some(end), Some("Warranty"))
        }
        Status::Uncovered if rng.chance(0.25) => {
            let start = random_date(rng, date(2012, 1, 1), date(2019, 12, 31));
            (
                Some(start),
                Some(date(start.year() + 3, start.month(), 1)),
                Some("Warranty"),
            )
        }
        Status::Flex | Status::Fixed if rng.chance(0.5) => {
            let start = random_date(rng, date(2014, 1, 1), date(2021, 12, 31));
            let years = if status == Status::Fixed && rng.chance(0.3) {
                22
            } else {
                3
            };
            (
                Some(start),
                Some(date(start.year() + years, start.month(), 1)),
                Some("Contract"),
            )
        }
        _ => (None, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::sink::excel_serial;
    use crate::sample::{SAMPLE_WORKBOOK, SampleFormat, write_sample};
    use calamine::{Data, Reader, Xlsx, open_workbook};
    use std::collections::HashSet;

    #[test]
    fn xlsx_cells_carry_the_real_types_and_mess() {
        let dir = tempfile::tempdir().unwrap();
        write_sample(dir.path(), 400, 3, SampleFormat::Xlsx).unwrap();
        let mut wb: Xlsx<_> = open_workbook(dir.path().join(SAMPLE_WORKBOOK)).unwrap();
        let range = wb.worksheet_range(SHEET).unwrap();
        let rows: Vec<&[Data]> = range.rows().skip(1).collect();
        assert_eq!(rows.len(), 400);
        let (mut real_dates, mut text_dates, mut sentinel, mut refresh) = (0, 0, 0, 0);
        let mut statuses = HashSet::new();
        for row in &rows {
            assert!(matches!(row[6], Data::Float(_)), "territory is a number");
            match &row[8] {
                Data::DateTime(d) => {
                    real_dates += 1;
                    let serial = d.as_f64();
                    if serial >= excel_serial(date(2099, 1, 1)) {
                        sentinel += 1;
                    } else if excel_serial(date(2025, 10, 29)) - serial > 1825.0 {
                        refresh += 1;
                    }
                }
                Data::String(s) if s.ends_with(" 00:00:00") => text_dates += 1,
                other => panic!("unexpected EOL cell {other:?}"),
            }
            if let Data::String(s) = &row[13] {
                statuses.insert(s.clone());
            }
        }
        assert!(
            text_dates > 20 && real_dates > 300,
            "{text_dates} / {real_dates}"
        );
        assert!(
            (120..=280).contains(&sentinel),
            "2099 on {sentinel} of ~340 real dates"
        );
        assert!(refresh > 40, "{refresh}");
        assert_eq!(statuses.len(), 4, "{statuses:?}");
        assert!(rows.iter().any(|r| r[9] == Data::String("(null)".into())));
    }

    #[test]
    fn serials_are_unique() {
        let mut rng = Rng::new(1);
        let set: HashSet<String> = (0..200_000)
            .map(|i| serial(i, Kind::Server, &mut rng)[3..10].to_string())
            .collect();
        assert_eq!(set.len(), 200_000);
    }

    #[test]
    fn about_half_the_catalogue_weight_is_legacy() {
        let total: u32 = PRODUCTS.iter().map(|p| p.weight).sum();
        let legacy: u32 = PRODUCTS
            .iter()
            .filter(|p| p.eol.is_some())
            .map(|p| p.weight)
            .sum();
        let share = f64::from(legacy) / f64::from(total);
        assert!((0.35..0.6).contains(&share), "{share}");
    }
}
