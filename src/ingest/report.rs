//! The coercion report: what each ingest run read, per file and sheet, and which present values
//! had to become NULL. Filled in by the readers, serialised by `cmd` (JSON) or printed as a table.

use std::collections::BTreeMap;

use serde::Serialize;

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
}

/// What one file held.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileSummary {
    /// The file name (basename).
    pub file: String,
    /// One entry per sheet (one, unnamed, for a CSV file).
    pub sheets: Vec<SheetSummary>,
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
