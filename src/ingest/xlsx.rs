//! Workbooks: every sheet is recognised by content, read through the tabular reader or the SKU
//! pivot parser, and summarised. xlsx/xlsm files are streamed row by row ([`super::stream`]);
//! the other formats calamine reads (xls, xlsb, ods) are read a sheet at a time as a range.
//! Both feed the same per-sheet logic ([`read_rows`]) through [`SheetRows`], so they give the
//! same records and the same report. Row numbers are absolute Excel rows, so a sheet starting
//! at D5 reports the rows the user sees.

use std::path::Path;

use calamine::{Data, Range, Reader, open_workbook_auto};

use super::clean::{self, raw_text};
use super::detect::{self, HEADER_SCAN_ROWS};
use super::report::{FileSummary, IngestReport, SheetSummary, Warning};
use super::rows::TableReader;
use super::sku;
use super::{SheetProgress, forced_kinds, headers_preview, recognise_header, unrecognised_hint};
use crate::config::IngestConfig;
use crate::error::{Error, Result};
use crate::model::{Record, SheetKind};

/// `0` → `A`, `25` → `Z`, `26` → `AA`.
pub fn column_letter(col: u32) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// The rows of one sheet, top to bottom. Column indices are the source's own (absolute for a
/// stream, from the used range's first column for a range); within a sheet they agree.
pub trait SheetRows {
    /// The next row that is not blank: (row number as Excel shows it, cells).
    fn next_row(&mut self) -> Result<Option<(u32, &[Data])>>;
    /// From now on only these columns are read; the others may arrive empty.
    fn only_columns(&mut self, _used: &[bool]) {}
    /// Nothing more of this sheet will be read.
    fn abandon(&mut self) -> Result<()> {
        while self.next_row()?.is_some() {}
        Ok(())
    }
}

/// Reads the sheet's rows again, those below row `after`, for a date-order scan.
pub type RescanFrom<'a> = dyn Fn(u32, &mut dyn FnMut(u32, &[Data])) -> Result<()> + 'a;

/// One sheet to read: its name, its file, the kind the config forces on it.
pub struct Sheet<'a> {
    /// The sheet name.
    pub name: &'a str,
    /// The file name.
    pub file: &'a str,
    /// `ingest.sheets` names this sheet for a table.
    pub force: Option<SheetKind>,
    /// The ingest config.
    pub cfg: &'a IngestConfig,
}

/// How a sheet was read.
pub enum SheetRead {
    /// Loaded (or skipped, with what its top looked like for messages).
    Done(SheetSummary, Option<String>),
    /// It is the SKU pivot: the caller reads it whole with [`read_pivot`].
    Pivot,
}

/// The per-sheet logic: find the header among the first non-blank rows, then clean every row
/// below it into records. A SKU pivot is left to the caller.
pub fn read_rows(
    sheet: &Sheet,
    rows: &mut dyn SheetRows,
    rescan: &RescanFrom,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<SheetRead> {
    let mut candidates: Vec<(u32, Vec<Data>)> = Vec::new();
    while candidates.len() < HEADER_SCAN_ROWS {
        match rows.next_row()? {
            Some((row, cells)) if !cells.iter().all(clean::is_blank) => {
                candidates.push((row, cells.to_vec()));
            }
            Some(_) => {}
            None => break,
        }
    }
    let mut summary = SheetSummary {
        sheet: sheet.name.to_string(),
        ..SheetSummary::default()
    };
    if candidates.is_empty() {
        summary.kind = SKIP_EMPTY.to_string();
        return Ok(SheetRead::Done(summary, Some("empty".into())));
    }
    let pivot = candidates
        .iter()
        .any(|(_, r)| sku::matrix_header_col(r).is_some());
    if sheet.force == Some(SheetKind::SkuMatrix) || (sheet.force.is_none() && pivot) {
        rows.abandon()?;
        return Ok(SheetRead::Pivot);
    }
    let texts: Vec<Vec<String>> = candidates
        .iter()
        .map(|(_, r)| r.iter().map(|c| raw_text(c).trim().to_string()).collect())
        .collect();
    let location = format!("{} [{}]", sheet.file, sheet.name);
    let Some((index, map)) = recognise_header(&texts, sheet.force, sheet.cfg, &location)? else {
        rows.abandon()?;
        let preview = headers_preview(&texts[0]);
        summary.kind = format!("skipped: no known header (found: {preview})");
        // A lone row is a title or an empty template; rows under a header are data lost.
        if texts.len() > 1 {
            report.warn(not_loaded(sheet, candidates[0].0, &texts));
        }
        return Ok(SheetRead::Done(
            summary,
            Some(format!("headers: {preview}")),
        ));
    };
    let opts = sheet.cfg.for_file(sheet.file);
    let mut reader = TableReader::for_sheet(map, &texts[index], sheet.file, sheet.name, &opts);
    rows.only_columns(&reader.columns_used());
    let header_row = candidates[index].0;
    let mut again = |f: &mut dyn FnMut(u32, &[Data])| rescan(header_row, f);
    for (row, cells) in &candidates[index + 1..] {
        reader.read_row(*row, cells, report, sink, Some(&mut again))?;
    }
    while let Some((row, cells)) = rows.next_row()? {
        reader.read_row(row, cells, report, sink, Some(&mut again))?;
    }
    reader.finish(report);
    summary.kind = reader.kind().key().to_string();
    summary.rows = reader.rows;
    Ok(SheetRead::Done(summary, None))
}

/// Reads the SKU pivot, which is small and laid out in blocks, from its whole range.
pub fn read_pivot(
    range: &Range<Data>,
    sheet: &Sheet,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<SheetSummary> {
    let matrix = sku::find_matrix_header(range);
    let stats = sku::read_sku_sheet(range, matrix, sheet.file, sheet.name, sink)?;
    let key = SheetKind::SkuMatrix.key();
    report.add_rows(key, stats.records);
    Ok(SheetSummary {
        sheet: sheet.name.to_string(),
        kind: key.to_string(),
        rows: stats.records,
        notes: stats.notes,
    })
}

/// Collects a workbook's sheets; at the end, a workbook with nothing recognised is an error
/// that lists what each sheet looked like.
pub struct WorkbookSummary {
    summary: FileSummary,
    seen: Vec<String>,
    forced: Vec<(String, SheetKind)>,
}

impl WorkbookSummary {
    /// For the workbook `file`.
    pub fn new(file: &str, cfg: &IngestConfig) -> Result<WorkbookSummary> {
        Ok(WorkbookSummary {
            summary: FileSummary {
                file: file.to_string(),
                sheets: Vec::new(),
                encoding: None,
            },
            seen: Vec::new(),
            forced: forced_kinds(cfg)?,
        })
    }

    /// The kind `ingest.sheets` forces on the sheet `name`.
    pub fn force(&self, name: &str) -> Option<SheetKind> {
        self.forced
            .iter()
            .find(|(sheet, _)| sheet.trim().eq_ignore_ascii_case(name.trim()))
            .map(|(_, k)| *k)
    }

    /// Adds a sheet; `preview` is what a skipped sheet's top looked like.
    pub fn push(&mut self, sheet: SheetSummary, preview: Option<String>) {
        if sheet.kind.starts_with("skipped") {
            let shown = preview.unwrap_or_else(|| "empty".into());
            self.seen.push(format!("`{}` ({shown})", sheet.sheet));
        }
        self.summary.sheets.push(sheet);
    }

    /// The file's summary, or the error for a workbook with nothing recognised.
    pub fn finish(self) -> Result<FileSummary> {
        let sheets = &self.summary.sheets;
        if !sheets.iter().all(|s| s.kind.starts_with("skipped")) {
            return Ok(self.summary);
        }
        let message = if sheets.iter().all(|s| s.kind == SKIP_EMPTY) {
            "the workbook has no data".to_string()
        } else {
            format!(
                "no sheet is recognised; sheets found: {}. {}",
                self.seen.join("; "),
                detect::signatures_text()
            )
        };
        Err(Error::BadInput {
            location: self.summary.file,
            message,
        })
    }
}

const SKIP_EMPTY: &str = "skipped: empty sheet";

/// The warning for a sheet with rows under a header nothing recognised (`row`: its first).
fn not_loaded(sheet: &Sheet, row: u32, texts: &[Vec<String>]) -> Warning {
    Warning {
        file: sheet.file.to_string(),
        sheet: sheet.name.to_string(),
        column: String::new(),
        row: Some(row),
        kind: "sheet_not_loaded".into(),
        message: format!(
            "sheet `{}` was not loaded: no known header (found: {}).{}",
            sheet.name,
            headers_preview(&texts[0]),
            unrecognised_hint(texts)
        ),
    }
}

/// A workbook calamine cannot read, or one of its sheets (`sheet`).
pub(super) fn bad_file(path: &Path, sheet: Option<&str>, e: &dyn std::fmt::Display) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        message: match sheet {
            Some(sheet) => format!("sheet `{sheet}`: {e}"),
            None => e.to_string(),
        },
    }
}

/// Reads every sheet of a workbook; see [`super::ingest_file`]. xlsx and xlsm are streamed.
pub fn read_workbook(
    path: &Path,
    file: &str,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
    progress: &mut dyn FnMut(SheetProgress),
) -> Result<FileSummary> {
    // Tell a missing/unreadable file (an I/O problem) apart from a corrupt one.
    std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let ext = super::extension(path);
    if (ext == "xlsx" || ext == "xlsm") && !whole_sheets(cfg) {
        super::stream::read_workbook(path, file, cfg, report, sink, progress)
    } else {
        read_workbook_ranges(path, file, cfg, report, sink, progress)
    }
}

/// True when a test asked for the whole-sheet reader where the stream would read.
#[cfg(test)]
fn whole_sheets(cfg: &IngestConfig) -> bool {
    cfg.whole_sheets
}

#[cfg(not(test))]
fn whole_sheets(_: &IngestConfig) -> bool {
    false
}

/// A range's rows: (absolute Excel row, cells from the range's first column).
struct RangeRows<'a> {
    rows: std::iter::Enumerate<calamine::Rows<'a, Data>>,
    row0: u32,
}

impl SheetRows for RangeRows<'_> {
    fn next_row(&mut self) -> Result<Option<(u32, &[Data])>> {
        Ok(self
            .rows
            .next()
            .map(|(i, cells)| (self.row0 + i as u32 + 1, cells)))
    }

    fn abandon(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Reads a workbook one whole sheet at a time, as calamine's `worksheet_range` gives it: the
/// path of the formats without a cell stream, and the reference the stream is tested against.
pub fn read_workbook_ranges(
    path: &Path,
    file: &str,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
    progress: &mut dyn FnMut(SheetProgress),
) -> Result<FileSummary> {
    let mut wb = open_workbook_auto(path).map_err(|e| bad_file(path, None, &e))?;
    let mut out = WorkbookSummary::new(file, cfg)?;
    for name in wb.sheet_names() {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| bad_file(path, Some(&name), &e))?;
        let sheet = Sheet {
            name: &name,
            file,
            force: out.force(&name),
            cfg,
        };
        progress(SheetProgress::new(file, &name, range.height() as u64));
        let top = range.start().map_or(0, |(r, _)| r);
        let mut rows = RangeRows {
            rows: range.rows().enumerate(),
            row0: top,
        };
        let rescan = |after: u32, f: &mut dyn FnMut(u32, &[Data])| {
            for (i, cells) in range.rows().enumerate() {
                let row = top + i as u32 + 1;
                if row > after {
                    f(row, cells);
                }
            }
            Ok(())
        };
        match read_rows(&sheet, &mut rows, &rescan, report, sink)? {
            SheetRead::Done(summary, preview) => out.push(summary, preview),
            SheetRead::Pivot => out.push(read_pivot(&range, &sheet, report, sink)?, None),
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(3), "D");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }
}
