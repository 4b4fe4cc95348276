//! Install-base rows made up for the dry run, the cases real exports hold now and then and a
//! small sample may not: blank, future and placeholder dates, a support status no rule knows,
//! blank text, no account. Each is a real row (or a made-up server) with one thing changed.

use chrono::{Days, NaiveDate};
use rhai::ImmutableString;

use crate::model::item::{DATE_FIELDS, ItemRow, TEXT_FIELDS};

/// One generated row and what it stands for.
pub struct EdgeRow {
    /// What was changed, for the diagnostic's context line.
    pub label: &'static str,
    /// The row.
    pub row: ItemRow,
}

/// What each edge row changes.
const VARIANTS: [&str; 9] = [
    "blank dates",
    "dates in the future",
    "placeholder dates (2099-12-31)",
    "dates on the as-of day",
    "dates in 1970",
    "a support status no rule knows",
    "a blank support status",
    "blank product fields",
    "no account",
];

/// The edge rows made from `template` as of `as_of`.
pub fn rows(template: &ItemRow, as_of: NaiveDate) -> Vec<EdgeRow> {
    VARIANTS
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let mut row = template.clone();
            row.id = -(i as i64 + 1);
            row.source_row = i as i64 + 1;
            change(&mut row, i, as_of);
            EdgeRow { label, row }
        })
        .collect()
}

/// Makes `row` the edge case [`VARIANTS`]`[i]`.
fn change(row: &mut ItemRow, i: usize, as_of: NaiveDate) {
    let day =
        |d: Option<NaiveDate>| d.map(|d| ImmutableString::from(d.format("%Y-%m-%d").to_string()));
    let later = |n: u64| day(as_of.checked_add_days(Days::new(n)));
    let earlier = |n: u64| day(as_of.checked_sub_days(Days::new(n)));
    let all = |d: Option<ImmutableString>| vec![d.clone(), d.clone(), d.clone(), d];
    match i {
        0 => row.dates = vec![None; DATE_FIELDS.len()],
        1 => row.dates = vec![later(400), later(800), earlier(30), later(200)],
        2 => {
            let p = day(NaiveDate::from_ymd_opt(2099, 12, 31));
            row.dates = vec![p.clone(), p.clone(), None, p];
        }
        3 => row.dates = all(day(Some(as_of))),
        4 => row.dates = all(day(NaiveDate::from_ymd_opt(1970, 1, 1))),
        5 => text(row, "support_status", Some("Status Nobody Uses")),
        6 => text(row, "support_status", None),
        7 => {
            for f in [
                "product_id",
                "product_name",
                "product_line",
                "platform",
                "business_area",
            ] {
                text(row, f, None);
            }
        }
        _ => row.account_id = None,
    }
}

fn text(row: &mut ItemRow, field: &str, value: Option<&str>) {
    if let Some(i) = TEXT_FIELDS.iter().position(|f| *f == field) {
        row.text[i] = value.map(ImmutableString::from);
    }
}

/// A server past its end of life with expired support, for an empty install base.
pub fn made_up() -> ItemRow {
    let mut row = ItemRow {
        text: vec![None; TEXT_FIELDS.len()],
        dates: vec![None; DATE_FIELDS.len()],
        ..ItemRow::default()
    };
    for (f, v) in [
        ("serial_number", "EDGE000001"),
        ("product_id", "654081-B21"),
        ("product_name", "HP DL360p Gen8 8-SFF CTO Server"),
        ("platform", "Compute"),
        ("support_status", "Expired Support"),
    ] {
        text(&mut row, f, Some(v));
    }
    row.dates[0] = Some("2015-07-01".into());
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_edge_row_changes_one_thing_of_the_template() {
        let as_of = NaiveDate::from_ymd_opt(2025, 10, 29).unwrap();
        let rows = rows(&made_up(), as_of);
        assert_eq!(rows.len(), 9);
        let future = &rows[1].row;
        assert_eq!(future.dates[0].as_deref(), Some("2026-12-03"));
        assert_eq!(rows[2].row.dates[0].as_deref(), Some("2099-12-31"));
        assert_eq!(
            rows[5].row.text("support_status"),
            Some("Status Nobody Uses")
        );
        assert_eq!(rows[6].row.text("support_status"), None);
        assert_eq!(rows[8].row.account_id, None);
        // Everything else is the template's; ids never collide with real rows.
        assert_eq!(
            rows[5].row.text("product_name"),
            Some("HP DL360p Gen8 8-SFF CTO Server")
        );
        assert!(rows.iter().all(|r| r.row.id < 0));
    }
}
