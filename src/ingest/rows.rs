//! Tabular rows → records: one recognised sheet (or CSV file) is read row by row through a
//! [`TableReader`], which cleans each mapped cell, reports coercions and emits one [`Record`].
//! It also keeps what a column's values say about the column as a whole: the day/month order
//! of its text dates ([`DateColumns`]) and whether a number column holds Yes/No flags.

use std::sync::Arc;

use calamine::Data;

use super::clean::{self, Cleaned};
use super::dates::DateColumns;
use super::detect::ColumnMap;
use super::records::{install_base, opportunity, project, service, service_credit};
use super::report::{CoercionExample, IngestReport, Warning};
use super::settings::{FileOptions, IngestConfig};
use crate::error::Result;
use crate::model::{Record, SheetKind, SourceRef};

pub use super::dates::Rescan;

/// Reads the data rows of one recognised tabular sheet.
#[derive(Debug)]
pub struct TableReader {
    map: ColumnMap,
    headers: Vec<String>,
    file: Arc<str>,
    sheet: Arc<str>,
    /// Services sheet: the practice / sub-practice of the current group, filled down.
    fill: (Option<String>, Option<String>),
    dates: DateColumns,
    /// The config key of the date order, for messages.
    date_key: String,
    /// Per field of the kind: flags and amounts seen in number columns.
    numbers: Vec<NumberColumn>,
    /// Records emitted so far.
    pub rows: u64,
}

/// What a number column held: amounts, Yes/No flags, or both.
#[derive(Debug, Clone, Default)]
struct NumberColumn {
    yes: u64,
    no: u64,
    first_flag: Option<(u32, String)>,
    amounts: u64,
    first_amount: Option<(u32, String)>,
}

/// One row being cleaned: looks cells up by field and reports what it had to drop.
pub(super) struct RowCtx<'a> {
    cells: &'a [Data],
    map: &'a ColumnMap,
    report: &'a mut IngestReport,
    dates: &'a DateColumns,
    numbers: &'a mut [NumberColumn],
    pub(super) src: SourceRef,
}

impl RowCtx<'_> {
    pub(super) fn cell(&self, field: &str) -> &Data {
        self.map
            .col(field)
            .and_then(|c| self.cells.get(c))
            .unwrap_or(&Data::Empty)
    }

    fn keep<T>(&mut self, field: &str, v: Cleaned<T>) -> Option<T> {
        match v {
            Cleaned::Value(v) => Some(v),
            Cleaned::Missing => None,
            Cleaned::Coerced(raw) => {
                let example = CoercionExample {
                    file: self.src.file.to_string(),
                    sheet: self.src.sheet.to_string(),
                    row: self.src.row,
                    raw,
                };
                self.report
                    .record_coercion(self.map.spec.kind.key(), field, example);
                None
            }
        }
    }

    pub(super) fn text(&mut self, field: &str) -> Option<String> {
        let v = clean::clean_text(self.cell(field));
        self.keep(field, v)
    }
    pub(super) fn id(&mut self, field: &str) -> Option<String> {
        let v = clean::clean_id(self.cell(field));
        self.keep(field, v)
    }
    pub(super) fn date(&mut self, field: &str) -> Option<chrono::NaiveDate> {
        let v = clean::clean_date_in(self.cell(field), self.dates.verdict(field));
        self.keep(field, v)
    }
    /// A number; in a column of Yes/No flags, 1 for yes and 0 for no.
    pub(super) fn float(&mut self, field: &str) -> Option<f64> {
        let (cells, map) = (self.cells, self.map);
        let cell = map
            .col(field)
            .and_then(|c| cells.get(c))
            .unwrap_or(&Data::Empty);
        let i = map.spec.fields.iter().position(|f| f.name == field);
        let slot = i.and_then(|i| self.numbers.get_mut(i));
        if let Some(flag) = clean::flag_value(cell) {
            if let Some(n) = slot {
                *if flag { &mut n.yes } else { &mut n.no } += 1;
                n.first_flag
                    .get_or_insert_with(|| (self.src.row, clean::raw_text(cell)));
            }
            return Some(if flag { 1.0 } else { 0.0 });
        }
        let v = clean::clean_float(cell);
        if let (Cleaned::Value(_), Some(n)) = (&v, slot) {
            n.amounts += 1;
            n.first_amount
                .get_or_insert_with(|| (self.src.row, clean::raw_text(cell)));
        }
        self.keep(field, v)
    }
    pub(super) fn int(&mut self, field: &str) -> Option<i64> {
        let v = clean::clean_int(self.cell(field));
        self.keep(field, v)
    }
}

impl TableReader {
    /// A reader for rows laid out as `map` says, with the config's defaults.
    pub fn new(map: ColumnMap, file: &str, sheet: &str) -> Self {
        let opts = IngestConfig::default().for_file(file);
        TableReader::for_sheet(map, &[], file, sheet, &opts)
    }

    /// A reader for one sheet: `headers` is its header row as written (for messages), `opts`
    /// the file's options (the order of ambiguous dates).
    pub fn for_sheet(
        map: ColumnMap,
        headers: &[String],
        file: &str,
        sheet: &str,
        opts: &FileOptions,
    ) -> Self {
        let header = |field: &str, col: usize| {
            headers
                .get(col)
                .filter(|h| !h.trim().is_empty())
                .map_or_else(|| field.to_string(), |h| h.trim().to_string())
        };
        let date_cols = map
            .spec
            .dates
            .iter()
            .filter_map(|f| map.col(f).map(|c| (*f, c, header(f, c))))
            .collect();
        TableReader {
            numbers: vec![NumberColumn::default(); map.spec.fields.len()],
            headers: headers.to_vec(),
            map,
            file: file.into(),
            sheet: sheet.into(),
            fill: (None, None),
            dates: DateColumns::new(date_cols, opts.date_order),
            date_key: opts.date_order_key.path("date_order"),
            rows: 0,
        }
    }

    /// The kind being read.
    pub fn kind(&self) -> SheetKind {
        self.map.spec.kind
    }

    /// Which columns the table reads, by column index.
    pub fn columns_used(&self) -> Vec<bool> {
        let mut used = Vec::new();
        for c in self.map.cols.iter().flatten() {
            if used.len() <= *c {
                used.resize(c + 1, false);
            }
            used[*c] = true;
        }
        used
    }

    /// The columns whose day/month order a [`Rescan`] must read.
    pub fn date_columns(&self) -> Vec<usize> {
        self.dates.columns()
    }

    /// Cleans one data row (`row` = 1-based row number as the user sees it) and emits its record.
    /// Blank rows are skipped. An ambiguous date before its column's order is known reads the
    /// sheet again through `rescan` first; without one (a reader that cannot read its input
    /// twice) the rows seen so far decide.
    pub fn read_row(
        &mut self,
        row: u32,
        cells: &[Data],
        report: &mut IngestReport,
        sink: &mut dyn FnMut(Record) -> Result<()>,
        rescan: Option<&mut Rescan>,
    ) -> Result<()> {
        if cells.iter().all(clean::is_blank) {
            return Ok(());
        }
        self.read_cells(row, cells, report, sink, rescan)
    }

    /// [`TableReader::read_row`] for a row already known not to be blank; only the columns of
    /// [`TableReader::columns_used`] are read.
    pub fn read_cells(
        &mut self,
        row: u32,
        cells: &[Data],
        report: &mut IngestReport,
        sink: &mut dyn FnMut(Record) -> Result<()>,
        rescan: Option<&mut Rescan>,
    ) -> Result<()> {
        if self.dates.needs_scan(row, cells)
            && let Some(rescan) = rescan
        {
            self.dates.scan(rescan)?;
        }
        let mut cx = RowCtx {
            cells,
            map: &self.map,
            report,
            dates: &self.dates,
            numbers: &mut self.numbers,
            src: SourceRef {
                file: Arc::clone(&self.file),
                sheet: Arc::clone(&self.sheet),
                row,
            },
        };
        let record = match self.map.spec.kind {
            SheetKind::InstallBase => Record::InstallBase(install_base(&mut cx)),
            SheetKind::Opportunity => Record::Opportunity(opportunity(&mut cx)),
            SheetKind::Project => Record::Project(project(&mut cx)),
            SheetKind::Service => Record::Service(service(&mut cx, &mut self.fill)),
            SheetKind::ServiceCredit => Record::ServiceCredit(service_credit(&mut cx)),
            // The pivot never reaches the tabular reader; emit nothing rather than panic.
            SheetKind::SkuMatrix => return Ok(()),
        };
        cx.report.add_rows(self.map.spec.kind.key(), 1);
        self.rows += 1;
        sink(record)
    }

    /// After the last row: what the columns as a whole said (flag columns, date orders).
    pub fn finish(&self, report: &mut IngestReport) {
        let table = self.map.spec.kind.key();
        for (f, n) in self.map.spec.fields.iter().zip(&self.numbers) {
            if n.yes + n.no == 0 {
                continue;
            }
            report.record_flags(table, f.name, n.yes, n.no);
            if let (Some((frow, flag)), Some((arow, amount))) = (&n.first_flag, &n.first_amount) {
                let header = self.header_of(f.name);
                report.warn(Warning {
                    file: self.file.to_string(),
                    sheet: self.sheet.to_string(),
                    column: header.clone(),
                    row: Some(*frow),
                    kind: "flags_and_amounts".into(),
                    message: format!(
                        "column `{header}` mixes amounts (row {arow}: `{amount}`) with Yes/No \
                         flags (row {frow}: `{flag}`), which were stored as 1 and 0"
                    ),
                });
            }
        }
        for (c, verdict) in self.dates.decided() {
            report.record_date_order(&self.file, &self.sheet, table, c, verdict, &self.date_key);
        }
    }

    fn header_of(&self, field: &str) -> String {
        self.map
            .col(field)
            .and_then(|c| self.headers.get(c))
            .filter(|h| !h.trim().is_empty())
            .map_or_else(|| field.to_string(), |h| h.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::super::detect::{map_columns, spec};
    use super::*;

    fn reader(kind: SheetKind, headers: &[&str]) -> TableReader {
        let h: Vec<String> = headers.iter().map(|s| (*s).to_string()).collect();
        let map = map_columns(spec(kind).unwrap(), &h, None).unwrap();
        let opts = IngestConfig::default().for_file("f.xlsx");
        TableReader::for_sheet(map, &h, "f.xlsx", "S", &opts)
    }

    fn run(r: &mut TableReader, rows: &[Vec<Data>]) -> (Vec<Record>, IngestReport) {
        let mut report = IngestReport::default();
        let mut out = Vec::new();
        let mut rescan = |f: &mut dyn FnMut(u32, &[Data])| {
            for (i, cells) in rows.iter().enumerate() {
                f(i as u32 + 2, cells);
            }
            Ok(())
        };
        for (i, cells) in rows.iter().enumerate() {
            let sink = &mut |rec| {
                out.push(rec);
                Ok(())
            };
            r.read_row(i as u32 + 2, cells, &mut report, sink, Some(&mut rescan))
                .unwrap();
        }
        r.finish(&mut report);
        (out, report)
    }

    fn s(x: &str) -> Data {
        Data::String(x.into())
    }

    #[test]
    fn services_fill_down_and_reset_sub_practice() {
        let mut r = reader(
            SheetKind::Service,
            &["Practice", "Sub-Practice", "Services"],
        );
        let rows = vec![
            vec![s("P1"), s("S1"), s("a")],
            vec![Data::Empty, Data::Empty, s("b")],
            vec![Data::Empty, Data::Empty, Data::Empty],
            vec![Data::Empty, s("S2"), s("c")],
            vec![s("P2"), Data::Empty, s("d")],
        ];
        let (out, _) = run(&mut r, &rows);
        let got: Vec<(Option<String>, Option<String>, u32)> = out
            .into_iter()
            .map(|rec| match rec {
                Record::Service(x) => (x.practice, x.sub_practice, x.src.row),
                other => panic!("{other:?}"),
            })
            .collect();
        let p = |a: &str| Some(a.to_string());
        assert_eq!(
            got,
            [
                (p("P1"), p("S1"), 2),
                (p("P1"), p("S1"), 3),
                (p("P1"), p("S2"), 5),
                (p("P2"), None, 6)
            ]
        );
    }

    #[test]
    fn project_ids_placeholders_and_coerced_costs() {
        let mut r = reader(
            SheetKind::Project,
            &["PRJ Siebel ID", "PRJ Customer", "PRJ Size", "Labor Cost"],
        );
        let rows = vec![
            vec![s("NOT AUAILABLE"), s("c"), s("$1M - $5M"), s("Maybe")],
            vec![Data::Int(11_572_981), s("c"), s("-"), s("NULL")],
        ];
        let (out, report) = run(&mut r, &rows);
        let Record::Project(a) = &out[0] else {
            panic!()
        };
        assert_eq!(a.project_id, "UNKNOWN_PRJ_2");
        assert_eq!(a.raw_project_id.as_deref(), Some("NOT AUAILABLE"));
        assert_eq!(a.size_category.as_deref(), Some("$1M-$5M"));
        let Record::Project(b) = &out[1] else {
            panic!()
        };
        assert_eq!(b.project_id, "11572981");
        assert_eq!(b.size_category, None);
        let c = report.coercion("projects", "labor_cost").unwrap();
        assert_eq!(
            (c.count, c.examples[0].row, c.examples[0].raw.as_str()),
            (1, 2, "Maybe")
        );
        assert_eq!(report.rows["projects"], 2);
    }

    fn labor(out: &[Record]) -> Vec<Option<f64>> {
        out.iter()
            .map(|r| match r {
                Record::Project(p) => p.labor_cost,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn yes_no_columns_are_flags_stored_as_one_and_zero() {
        // See: issue 20 — 2,375 Yes/No cost flags were reported as unreadable amounts.
        let mut r = reader(
            SheetKind::Project,
            &["PRJ Siebel ID", "PRJ Customer", "Labor Cost"],
        );
        let rows = vec![
            vec![s("OPE-1"), s("c"), s("Yes")],
            vec![s("OPE-2"), s("c"), s(" no")],
            vec![s("OPE-3"), s("c"), Data::Empty],
            vec![s("OPE-4"), s("c"), Data::Bool(true)],
        ];
        let (out, report) = run(&mut r, &rows);
        assert_eq!(labor(&out), [Some(1.0), Some(0.0), None, Some(1.0)]);
        assert!(report.coerced.is_empty(), "{:?}", report.coerced);
        let f = &report.flags[0];
        assert_eq!(
            (f.table.as_str(), f.column.as_str(), f.yes, f.no),
            ("projects", "labor_cost", 2, 1)
        );
        assert!(report.warnings.is_empty());

        let mut r = reader(
            SheetKind::Project,
            &["PRJ Siebel ID", "PRJ Customer", "Labor Cost"],
        );
        let rows = vec![
            vec![s("OPE-1"), s("c"), s("Yes")],
            vec![s("OPE-2"), s("c"), s("12.5")],
        ];
        let (out, report) = run(&mut r, &rows);
        assert_eq!(labor(&out), [Some(1.0), Some(12.5)]);
        let w = &report.warnings[0];
        assert_eq!(
            (w.kind.as_str(), w.column.as_str(), w.row),
            ("flags_and_amounts", "Labor Cost", Some(2))
        );
        assert!(w.message.contains("row 3: `12.5`"), "{}", w.message);
    }

    fn eol(out: &[Record]) -> Vec<Option<chrono::NaiveDate>> {
        out.iter()
            .map(|r| match r {
                Record::InstallBase(x) => x.eol_date,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn ib_rows(dates: &[&str]) -> Vec<Vec<Data>> {
        dates
            .iter()
            .enumerate()
            .map(|(i, d)| vec![s(&format!("SN{i}")), s("P"), s("Active"), s(d)])
            .collect()
    }

    const IB: [&str; 4] = ["Serial", "Product_Name", "Support_Status", "EOL Date"];

    #[test]
    fn a_later_unambiguous_date_decides_how_earlier_ambiguous_ones_read() {
        // See: issue 20 — `05/06/2015` read as 6 May in a dd/mm export.
        let mut r = reader(SheetKind::InstallBase, &IB);
        let (out, report) = run(
            &mut r,
            &ib_rows(&["05/06/2015", "2016-01-01", "31/12/2015"]),
        );
        let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(eol(&out), [d(2015, 6, 5), d(2016, 1, 1), d(2015, 12, 31)]);
        let note = &report.date_columns[0];
        assert_eq!(
            (
                note.column.as_str(),
                note.order.as_deref(),
                note.basis.as_str(),
                note.ambiguous
            ),
            ("EOL Date", Some("dmy"), "inferred", 1)
        );
        assert!(report.warnings.is_empty());
    }

    #[test]
    fn ambiguous_only_columns_use_the_configured_order_and_say_so() {
        let mut r = reader(SheetKind::InstallBase, &IB);
        let (out, report) = run(&mut r, &ib_rows(&["05/06/2015", "01/02/2016"]));
        let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(eol(&out), [d(2015, 5, 6), d(2016, 1, 2)]);
        let w = &report.warnings[0];
        assert_eq!(
            (
                w.kind.as_str(),
                w.file.as_str(),
                w.sheet.as_str(),
                w.column.as_str()
            ),
            ("date_order_assumed", "f.xlsx", "S", "EOL Date")
        );
        assert!(
            w.message
                .contains("were read month/day (`ingest.date_order: mdy`)"),
            "{}",
            w.message
        );
    }

    #[test]
    fn a_self_contradicting_date_column_is_reported_not_guessed() {
        let mut r = reader(SheetKind::InstallBase, &IB);
        let (out, report) = run(
            &mut r,
            &ib_rows(&["13/01/2015", "05/06/2015", "01/13/2015"]),
        );
        let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(eol(&out), [d(2015, 1, 13), None, d(2015, 1, 13)]);
        let w = &report.warnings[0];
        assert_eq!(
            (w.kind.as_str(), w.row),
            ("date_order_contradiction", Some(3))
        );
        assert!(
            w.message.contains("`13/01/2015`") && w.message.contains("`01/13/2015`"),
            "{}",
            w.message
        );
        let c = report.coercion("install_base", "eol_date").unwrap();
        assert_eq!((c.count, c.examples[0].raw.as_str()), (1, "05/06/2015"));
    }

    #[test]
    fn credit_names_are_split() {
        let mut r = reader(
            SheetKind::ServiceCredit,
            &["ProjectID", "ProjectName", "ActiveCredits"],
        );
        let rows = vec![vec![s("PR-1"), s("TS-2137-SE-NET4 AB"), Data::Float(3.0)]];
        let (out, _) = run(&mut r, &rows);
        let Record::ServiceCredit(c) = &out[0] else {
            panic!()
        };
        assert_eq!(
            (c.country_code.as_deref(), c.customer.as_deref(), c.active),
            (Some("SE"), Some("NET4 AB"), Some(3))
        );
    }
}
