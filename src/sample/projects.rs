//! The `A&PS Project sample` sheet: 44 columns of services projects, most of them filler.
//!
//! In: the [`World`], the opportunity ids, the project-only customers, a count and a [`Rng`].
//! Out: rows streamed into a [`Sink`]. The columns the loader uses (Siebel id with its
//! placeholders, customer and id, both status columns, size, dates, Account ST Name, the Yes/No
//! cost flags, mixed-type business area) carry realistic values; the rest hold `-` or `#`.

use super::rng::Rng;
use super::sink::{Cell, Sink};
use super::world::{self, COUNTRIES, World};
use super::{date, random_date};
use crate::error::Result;

/// The sheet name.
pub const SHEET: &str = "A&PS Project sample";

/// Headers, spelled as in the real export (note: no `ST ID` column).
pub const HEADERS: [&str; 44] = [
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
];

const SIZES: &[((&str, i64), u32)] = &[
    (("<$50k", 1), 740),
    (("$50k-$500k", 2), 215),
    (("-", 0), 30),
    (("$500k-$1M", 3), 8),
    (("$1M - $5M", 4), 5),
    ((">$5M", 5), 2),
];

const DESCRIPTIONS: &[&str] = &[
    "Storage Health Check",
    "DL380 Gen11 Install & Startup",
    "Primera data Migration",
    "WLAN site survey and rollout",
    "Backup platform Upgrade",
    "Presales activity",
    "Product resale",
    "Synergy firmware Upgrade",
    "Array Rebalance after expansion",
    "SD activity",
    "Performance analysis",
];

/// Business areas: mostly codes as text, some plain integers (the export mixes both).
fn business_area(rng: &mut Rng) -> Cell {
    match rng.weighted(&[50, 17, 15, 8, 4, 3, 3]) {
        0 => Cell::Str("G700"),
        1 => Cell::Int(6000),
        2 => Cell::Str("1Y00"),
        3 => Cell::Str("5W00"),
        4 => Cell::Str("6D00"),
        5 => Cell::Int(7100),
        _ => Cell::Str("GE00"),
    }
}

fn yes_no(rng: &mut Rng, yes: f64) -> Cell {
    if rng.chance(0.008) {
        Cell::Str("NULL")
    } else if rng.chance(yes) {
        Cell::Str("Yes")
    } else {
        Cell::Str("No")
    }
}

/// A project's customer: (name, customer id, country, Account ST Name). About 45% belong to
/// install-base customers (named in the canonical, upper-case or a messy spelling); the rest to
/// `others`.
fn customer(
    world: &World,
    others: &[(String, i64)],
    rng: &mut Rng,
) -> (String, i64, &'static str, Option<String>) {
    let linked = others.is_empty() || rng.chance(0.45);
    if linked {
        let a = world.pick_account(rng);
        let name = match rng.weighted(&[40, 30, 30]) {
            0 => a.canonical(),
            1 => a.upper(),
            _ => a.spelling(rng),
        };
        let st = rng
            .chance(0.25)
            .then(|| format!("{} - {}", a.stem.to_uppercase(), a.country));
        (name, a.customer_id, a.country, st)
    } else {
        let (name, id) = rng.pick_ref(others);
        (name.clone(), *id, "JP", None)
    }
}

/// The `PRJ Siebel ID` cell: mostly placeholders (with the real export's misspellings) or an
/// opportunity's id.
fn siebel_id(opportunity_ids: &[u64], rng: &mut Rng) -> Cell {
    match rng.weighted(&[410, 80, 3, 1, 1, 470]) {
        0 => Cell::Str("NOT AVAILABLE"),
        1 => Cell::Str("#"),
        2 => Cell::Str("NOT AUAILABLE"),
        3 => Cell::Str("NOT AVALIABLE"),
        4 => Cell::Int(11_000_000 + rng.range(0, 999_999)),
        _ if opportunity_ids.is_empty() => Cell::Str("NOT AVAILABLE"),
        _ => Cell::Text(format!("OPE-{:010}", rng.pick(opportunity_ids))),
    }
}

/// Streams `n` project rows. About 45% belong to install-base customers (named in the canonical,
/// upper-case or a messy spelling); the rest to `others`.
pub fn write(
    world: &World,
    opportunity_ids: &[u64],
    others: &[(String, i64)],
    n: usize,
    rng: &mut Rng,
    sink: &mut dyn Sink,
) -> Result<()> {
    sink.begin(SHEET, &HEADERS)?;
    let imports = [date(2025, 5, 12), date(2025, 9, 3)];
    let mut cells: Vec<Cell> = Vec::with_capacity(HEADERS.len());
    let mut project_no = 1000 + rng.range(0, 500);
    for _ in 0..n {
        project_no += rng.range(1, 3);
        let (customer, customer_id, country, st_name) = customer(world, others, rng);
        let country_name = COUNTRIES
            .iter()
            .find(|(c, _)| *c == country)
            .map_or("Unknown", |(_, n)| n);
        let siebel = siebel_id(opportunity_ids, rng);
        let start = random_date(rng, date(2012, 2, 1), date(2025, 8, 31));
        let days = match rng.weighted(&[60, 30, 10]) {
            0 => rng.range(55, 130),
            1 => rng.range(131, 700),
            _ => rng.range(701, 3600),
        };
        let end = start + chrono::Days::new(days as u64);
        let (length, length_sort) = match days {
            d if d < 365 => ("< 1 yr", 1),
            d if d <= 730 => ("1 - 2 yrs", 2),
            _ => ("> 2yrs", 3),
        };
        let (size, size_sort) = rng.pick_weighted(SIZES);
        let status = rng.pick_weighted(&[("CLSD", 890), ("REL", 108), ("CRTD", 1), ("PREL", 1)]);
        let profit_center = Cell::Text(format!("P{}", 1500 + (customer_id % 90)));
        let resp_id = 200_000 + (rng.below(20_000_000) as i64);
        cells.clear();
        cells.extend([
            Cell::Date(rng.pick(&imports)),
            Cell::Date(rng.pick(&imports)),
            Cell::Str("-"),
            Cell::Str("Advisory & Professional Services"),
            profit_center.clone(),
            Cell::Str(country),
            Cell::Str(country_name),
            Cell::Str(rng.pick_weighted(&[
                ("CLD & PLT", 71),
                ("NTWK & CYB", 16),
                ("AI & D", 12),
                ("Other", 1),
            ])),
            Cell::Str("-"),
            business_area(rng),
            Cell::Str("-"),
            profit_center,
            Cell::Str(country_name),
            Cell::Str(country_name),
            Cell::Text(format!("{country}3-K{project_no}")),
            Cell::Str(if rng.chance(0.002) { "Red" } else { "NULL" }),
            Cell::Text(format!(
                "FY{} {}",
                rng.range(16, 25),
                rng.pick(DESCRIPTIONS)
            )),
            siebel,
            Cell::Text(customer),
            Cell::Int(customer_id),
            Cell::Text(world::person(rng)),
            Cell::Int(resp_id),
            Cell::Str(rng.pick_weighted(&[("#", 96), ("OTH", 3), ("FSI", 1)])),
            Cell::Text(format!(
                "89{:08X}",
                rng.below(0x20) * 0x0101_0101 + 0x00C1_0002
            )),
            Cell::Str(rng.pick_weighted(&[
                ("#", 90),
                ("Penalty(ZERO%)", 5),
                ("New UB", 3),
                ("FY16Q3 UB", 2),
            ])),
            Cell::Text(world::person(rng)),
            Cell::Str(status),
            Cell::Str("FP"),
            Cell::Str(rng.pick_weighted(&[("PP", 97), ("PD", 1), ("CC", 1), ("#", 1)])),
            Cell::Date(start),
            Cell::Date(end),
            Cell::Str(size),
            if size_sort == 0 {
                Cell::Str("-")
            } else {
                Cell::Int(size_sort)
            },
            Cell::Str(length),
            Cell::Int(length_sort),
            Cell::Int(days),
            Cell::Str(rng.pick_weighted(&[("G", 92), ("NULL", 3), ("R", 3), ("Y", 2)])),
            Cell::Str(rng.pick_weighted(&[("C", 86), ("S", 7), ("LOST", 3), ("OC", 3), ("I", 1)])),
            Cell::Str(rng.pick(&["B", "C"])),
            Cell::Str("No"),
            st_name.map_or(Cell::Str("NULL"), Cell::Text),
            yes_no(rng, 0.36),
            yes_no(rng, 0.035),
            yes_no(rng, 0.998),
        ]);
        sink.row(&cells)?;
    }
    Ok(())
}
