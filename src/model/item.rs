//! An install-base item as evaluation reads it: the row's text and date columns as Rhai's own
//! shared strings (the rules' `item` map shares them instead of copying), its account and the
//! derived columns as stored. The store reads these; `score` turns them into `item` maps.

use rhai::ImmutableString;

/// One install-base row as read for evaluation.
#[derive(Debug, Clone, Default)]
pub struct ItemRow {
    /// Row id.
    pub id: i64,
    /// The asset's key across snapshots: its serial number, or `serial|product id` where one
    /// serial belongs to several products (`None` without a serial number).
    pub asset_key: Option<String>,
    /// Text columns, in [`TEXT_FIELDS`] order. Rhai's own string type: the item map shares
    /// them instead of copying each one.
    pub text: Vec<Option<ImmutableString>>,
    /// Date columns, in [`DATE_FIELDS`] order, as stored (`YYYY-MM-DD`).
    pub dates: Vec<Option<ImmutableString>>,
    /// Unified account.
    pub account_id: Option<String>,
    /// Where the row came from, for runtime diagnostics.
    pub source_row: i64,
    /// The derived columns as stored (days since end of life, since expiry, risk, family), so
    /// an unchanged row is not rewritten.
    pub stored: StoredDerived,
}

/// The derived columns of an install-base row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDerived {
    /// Days since end of life.
    pub days_since_eol: Option<i64>,
    /// Days since support expiry.
    pub days_since_expiry: Option<i64>,
    /// Risk level.
    pub risk_level: Option<String>,
    /// Product family.
    pub product_family: Option<String>,
}

/// One item as a worker process evaluated it (`onelead worker`): what a run merges as if it
/// had evaluated the item itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemOutcome {
    /// Row id.
    pub id: i64,
    /// The derived fields the classify rules gave.
    pub derived: StoredDerived,
    /// They differ from the stored ones.
    pub changed: bool,
    /// The item's leads, fresh from evaluation (the trigger's own reasons only), each with its
    /// fingerprint.
    pub leads: Vec<(crate::model::lead::Lead, i64)>,
    /// The rule error the item hit instead, as rendered.
    pub error: Option<String>,
    /// The asset's identity its leads' ids are made from (`score::item::asset_key`).
    pub asset: String,
}

/// Text fields of an item, named as scripts see them (= the column names).
pub const TEXT_FIELDS: &[&str] = &[
    "serial_number",
    "product_id",
    "product_name",
    "product_line",
    "platform",
    "business_area",
    "business_unit",
    "territory_id",
    "support_status",
    "service_source",
    "service_agreement_id",
];

/// Date fields of an item.
pub const DATE_FIELDS: &[&str] = &["eol_date", "eosl_date", "service_start", "service_end"];

impl ItemRow {
    /// A field by name, for messages.
    pub fn text(&self, field: &str) -> Option<&str> {
        let i = TEXT_FIELDS.iter().position(|f| *f == field)?;
        self.text[i].as_deref()
    }
}

/// Shares repeated cell values between rows: most columns hold a few dozen distinct values, so
/// one string per value replaces one allocated (and freed, on another thread) per cell. A
/// column whose values turn out mostly distinct (serial numbers) stops being interned.
#[derive(Default)]
pub struct Interner {
    cols: Vec<Column>,
}

#[derive(Default)]
struct Column {
    values: crate::fxhash::FastSet<ImmutableString>,
    lookups: u32,
    hits: u32,
    off: bool,
}

/// Lookups before a column's hit rate is judged, and the share of hits that keeps it on.
const INTERN_SAMPLE: u32 = 4096;
/// Most values kept per column.
const INTERN_MAX: usize = 1 << 16;

impl Interner {
    /// `s` as a shared string, the same one as before if column `col` held it already.
    pub fn get(&mut self, col: usize, s: &str) -> ImmutableString {
        if self.cols.len() <= col {
            self.cols.resize_with(col + 1, Column::default);
        }
        let Some(c) = self.cols.get_mut(col).filter(|c| !c.off) else {
            return s.into();
        };
        c.lookups += 1;
        if let Some(v) = c.values.get(s) {
            c.hits += 1;
            return v.clone();
        }
        let v = ImmutableString::from(s);
        if (c.lookups >= INTERN_SAMPLE && c.hits * 2 < c.lookups) || c.values.len() >= INTERN_MAX {
            *c = Column {
                off: true,
                ..Column::default()
            };
        } else {
            c.values.insert(v.clone());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interner_shares_repeats_and_gives_up_on_a_column_of_distinct_values() {
        let mut strings = Interner::default();
        let a = strings.get(3, "ProLiant");
        let b = strings.get(3, "ProLiant");
        assert!(a.ptr_eq(&b), "a repeated value is one string");
        // Another column keeps its own values.
        assert!(!strings.get(4, "ProLiant").ptr_eq(&a));
        // Serial-number-like: every value new. Past the sample it stops interning, and every
        // value still comes back exactly.
        for i in 0..2 * INTERN_SAMPLE {
            assert_eq!(strings.get(0, &format!("SN{i}")), format!("SN{i}"));
        }
        assert!(strings.cols[0].off && strings.cols[0].values.is_empty());
        assert!(!strings.get(0, "SN1").ptr_eq(&strings.get(0, "SN1")));
        assert!(!strings.cols[3].off);
    }
}
