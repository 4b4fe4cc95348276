//! The coercion report: what each ingest run read, per file and sheet, and which present values
//! had to become NULL. Filled in by the readers, serialised by `cmd` (JSON) or printed as a table.
//! It also says what the readers decided on the user's behalf: each CSV file's encoding, the
//! columns read as Yes/No flags, the day/month order of ambiguous dates, and warnings.

use std::collections::BTreeMap;

use serde::Serialize;

use super::dates::{DateColumn, Verdict};

/// Examples kept per (table, column): enough to find the bad cells, small enough to print.
const MAX_EXAMPLES: usize = 3;

/// Everything one ingest run saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestReport {
    /// One entry per file, in the order read.
    pub files: Vec<FileSummary>,
    /// Table key (`install_base`, ...) → rows emitted.
    pub rows: BTreeMap<String, u64>,
    /// Values present in the source that could not be read as their column's type.
    pub coerced: Vec<Coercion>,
    /// Number columns that held Yes/No flags (stored as 1 and 0), per (table, column).
    pub flags: Vec<FlagColumn>,
    /// Date columns whose ambiguous dates (`05/06/2015`) had to be given an order.
    pub date_columns: Vec<DateOrderNote>,
    /// What the user should look at: undecodable bytes, assumed or contradictory date orders,
    /// sheets not loaded.
    pub warnings: Vec<Warning>,
}

/// A number column read as Yes/No flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlagColumn {
    /// Table key.
    pub table: String,
    /// The model field name.
    pub column: String,
    /// Yes values (stored as 1).
    pub yes: u64,
    /// No values (stored as 0).
    pub no: u64,
}

/// How one date column's ambiguous dates were read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DateOrderNote {
    /// File name.
    pub file: String,
    /// Sheet name; empty for CSV.
    pub sheet: String,
    /// Table key.
    pub table: String,
    /// The header as written.
    pub column: String,
    /// The model field name.
    pub field: String,
    /// `dmy` or `mdy`; `null` when the column contradicts itself and they were not read.
    pub order: Option<String>,
    /// `inferred` (from the column's unambiguous dates), `configured` (none to go by) or
    /// `contradictory` (both forms present).
    pub basis: String,
    /// How many ambiguous dates there were.
    pub ambiguous: u64,
    /// The first ambiguous date and its row.
    pub example: Option<super::dates::Seen>,
    /// The first date that only reads day/month, if any.
    pub day_first: Option<super::dates::Seen>,
    /// The first date that only reads month/day, if any.
    pub month_first: Option<super::dates::Seen>,
}

/// Something the load did that the user should know about.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Warning {
    /// File name.
    pub file: String,
    /// Sheet name; empty for CSV.
    pub sheet: String,
    /// The column as written, if it concerns one.
    pub column: String,
    /// The first row concerned, if any.
    pub row: Option<u32>,
    /// A stable key: `encoding`, `date_order_assumed`, `date_order_contradiction`,
    /// `flags_and_amounts`, `sheet_not_loaded`.
    pub kind: String,
    /// The sentence to show.
    pub message: String,
}

/// What one file held.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileSummary {
    /// The file name (basename).
    pub file: String,
    /// One entry per sheet (one, unnamed, for a CSV file).
    pub sheets: Vec<SheetSummary>,
    /// How a CSV file's bytes were read (`utf-8`, `windows-1252`, `utf-16le (BOM)`, ...);
    /// `null` for workbooks.
    pub encoding: Option<String>,
}

/// What one sheet held and how it was read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SheetSummary {
    /// The sheet name; empty for CSV.
    pub sheet: String,
    /// The detected table key, or `skipped: <why>`.
    pub kind: String,
    /// Records emitted from this sheet.
    pub rows: u64,
    /// Free-text note rows seen but not loaded (SKU sheet only).
    pub notes: u64,
}

/// Present values of one (table, column) that became NULL.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coercion {
    /// Table key.
    pub table: String,
    /// The model field name (`labor_cost`), stable across export spellings.
    pub column: String,
    /// How many values were dropped.
    pub count: u64,
    /// The first few of them.
    pub examples: Vec<CoercionExample>,
}

/// One dropped value and where it was.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CoercionExample {
    /// File name.
    pub file: String,
    /// Sheet name; empty for CSV.
    pub sheet: String,
    /// 1-based row as the user sees it.
    pub row: u32,
    /// The value as read.
    pub raw: String,
}

impl IngestReport {
    /// Counts one dropped value for (table, column), keeping it as an example while there is room.
    pub fn record_coercion(&mut self, table: &str, column: &str, example: CoercionExample) {
        // A linear scan is fine: there are at most a few dozen (table, column) pairs.
        let pos = self
            .coerced
            .iter()
            .position(|c| c.table == table && c.column == column);
        let entry = if let Some(i) = pos {
            &mut self.coerced[i]
        } else {
            self.coerced.push(Coercion {
                table: table.to_string(),
                column: column.to_string(),
                count: 0,
                examples: Vec::new(),
            });
            let last = self.coerced.len() - 1;
            &mut self.coerced[last]
        };
        entry.count += 1;
        if entry.examples.len() < MAX_EXAMPLES {
            entry.examples.push(example);
        }
    }

    /// Counts Yes/No flags read in a number column.
    pub fn record_flags(&mut self, table: &str, column: &str, yes: u64, no: u64) {
        if let Some(f) = self
            .flags
            .iter_mut()
            .find(|f| f.table == table && f.column == column)
        {
            f.yes += yes;
            f.no += no;
        } else {
            self.flags.push(FlagColumn {
                table: table.to_string(),
                column: column.to_string(),
                yes,
                no,
            });
        }
    }

    /// Adds a warning.
    pub fn warn(&mut self, w: Warning) {
        self.warnings.push(w);
    }

    /// Notes how a date column's ambiguous dates read, and warns where the order was assumed
    /// (`key`: the config key it came from) or the column contradicts itself.
    pub fn record_date_order(
        &mut self,
        file: &str,
        sheet: &str,
        table: &str,
        c: &DateColumn,
        verdict: Verdict,
        key: &str,
    ) {
        let seen = |s: &super::dates::Seen| (s.count > 0).then(|| s.clone());
        let (order, basis) = match verdict {
            Verdict::Refuse => (None, "contradictory"),
            Verdict::Order(o) if c.day_first.count + c.month_first.count > 0 => {
                (Some(o), "inferred")
            }
            Verdict::Order(o) => (Some(o), "configured"),
        };
        if let Some((kind, message)) = date_order_warning(c, order, basis, key) {
            let row = if c.ambiguous.count > 0 {
                c.ambiguous.row
            } else {
                c.day_first.row.min(c.month_first.row)
            };
            self.warn(Warning {
                file: file.to_string(),
                sheet: sheet.to_string(),
                column: c.header.clone(),
                row: Some(row),
                kind: kind.into(),
                message,
            });
        }
        self.date_columns.push(DateOrderNote {
            file: file.to_string(),
            sheet: sheet.to_string(),
            table: table.to_string(),
            column: c.header.clone(),
            field: c.field.to_string(),
            order: order.map(|o| o.key().to_string()),
            basis: basis.to_string(),
            ambiguous: c.ambiguous.count,
            example: seen(&c.ambiguous),
            day_first: seen(&c.day_first),
            month_first: seen(&c.month_first),
        });
    }

    /// Adds `n` rows to a table's total.
    pub fn add_rows(&mut self, table: &str, n: u64) {
        *self.rows.entry(table.to_string()).or_default() += n;
    }

    /// The coercion entry of (table, column), if any value was dropped there.
    pub fn coercion(&self, table: &str, column: &str) -> Option<&Coercion> {
        self.coerced
            .iter()
            .find(|c| c.table == table && c.column == column)
    }
}

/// The warning (kind, message) for a date column whose order was assumed or that contradicts
/// itself; `None` where its own dates settled the order.
fn date_order_warning(
    c: &DateColumn,
    order: Option<super::settings::DateOrder>,
    basis: &str,
    key: &str,
) -> Option<(&'static str, String)> {
    let (ex, n) = (&c.ambiguous, c.ambiguous.count);
    let (what, were) = ambiguous_dates(n);
    match order {
        None => {
            let both = format!(
                "column `{}` has day/month dates (`{}`, row {}) and month/day dates (`{}`, row \
                 {})",
                c.header,
                c.day_first.value,
                c.day_first.row,
                c.month_first.value,
                c.month_first.row
            );
            let message = if n == 0 {
                format!("{both}; each was read the only way it can be")
            } else {
                format!(
                    "{both}; {what} (such as `{}`, row {}) {were} stored as NULL",
                    ex.value, ex.row
                )
            };
            Some(("date_order_contradiction", message))
        }
        Some(o) if basis == "configured" => Some((
            "date_order_assumed",
            format!(
                "column `{}`: none of its dates shows the day/month order, so {what} (such as \
                 `{}`, row {}) {were} read {} (`{key}: {}`)",
                c.header,
                ex.value,
                ex.row,
                o.words(),
                o.key()
            ),
        )),
        Some(_) => None,
    }
}

/// (`its ambiguous date`, `was`) or (`its 3 ambiguous dates`, `were`).
fn ambiguous_dates(n: u64) -> (String, &'static str) {
    if n == 1 {
        ("its ambiguous date".to_string(), "was")
    } else {
        (format!("its {n} ambiguous dates"), "were")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(row: u32) -> CoercionExample {
        CoercionExample {
            file: "f.csv".into(),
            sheet: String::new(),
            row,
            raw: "Yes".into(),
        }
    }

    #[test]
    fn coercions_count_all_but_keep_three_examples() {
        let mut r = IngestReport::default();
        for row in 2..8 {
            r.record_coercion("projects", "labor_cost", ex(row));
        }
        r.record_coercion("projects", "start_date", ex(9));
        let c = r.coercion("projects", "labor_cost").unwrap();
        assert_eq!(c.count, 6);
        assert_eq!(
            c.examples.iter().map(|e| e.row).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        assert_eq!(r.coerced.len(), 2);
    }

    #[test]
    fn rows_accumulate_per_table() {
        let mut r = IngestReport::default();
        r.add_rows("services", 2);
        r.add_rows("services", 3);
        assert_eq!(r.rows["services"], 5);
    }
}
