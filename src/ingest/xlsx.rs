//! Workbooks (xlsx and the other formats calamine reads): every sheet is recognised by content,
//! read through the tabular reader or the SKU pivot parser, and summarised. Row numbers are
//! absolute Excel rows, taken from the used range's start, so a sheet starting at D5 reports
//! the rows the user sees.

use std::path::Path;

use calamine::{Data, Range, Reader, open_workbook_auto};

use super::clean::{self, raw_text};
use super::detect::{self, HEADER_SCAN_ROWS};
use super::report::{FileSummary, IngestReport, SheetSummary, Warning};
use super::rows::TableReader;
use super::sku;
use super::{forced_kinds, headers_preview, recognise_header, unrecognised_hint};
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

/// Reads every sheet of a workbook; see [`super::ingest_file`].
pub fn read_workbook(
    path: &Path,
    file: &str,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<FileSummary> {
    // Tell a missing/unreadable file (an I/O problem) apart from a corrupt one.
    std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut wb = open_workbook_auto(path).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let forced = forced_kinds(cfg)?;
    let mut summary = FileSummary {
        file: file.to_string(),
        sheets: Vec::new(),
        encoding: None,
    };
    // For the "nothing recognised" message: each skipped sheet and what its top looked like.
    let mut seen: Vec<String> = Vec::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).map_err(|e| Error::BadFile {
            path: path.to_path_buf(),
            message: format!("sheet `{name}`: {e}"),
        })?;
        let force = forced
            .iter()
            .find(|(sheet, _)| sheet.trim().eq_ignore_ascii_case(name.trim()))
            .map(|(_, k)| *k);
        let sheet = read_sheet(&range, &name, file, force, cfg, report, sink)?;
        if sheet.kind.starts_with("skipped") {
            seen.push(format!("`{name}` ({})", sheet_preview(&range)));
        }
        summary.sheets.push(sheet);
    }
    if summary.sheets.iter().all(|s| s.kind.starts_with("skipped")) {
        let message = if summary.sheets.iter().all(|s| s.kind == SKIP_EMPTY) {
            "the workbook has no data".to_string()
        } else {
            format!(
                "no sheet is recognised; sheets found: {}. {}",
                seen.join("; "),
                detect::signatures_text()
            )
        };
        return Err(Error::BadInput {
            location: file.to_string(),
            message,
        });
    }
    Ok(summary)
}

const SKIP_EMPTY: &str = "skipped: empty sheet";

fn sheet_preview(range: &Range<Data>) -> String {
    candidate_rows(range).first().map_or_else(
        || "empty".to_string(),
        |(_, r)| format!("headers: {}", headers_preview(r)),
    )
}

/// The first non-empty rows (index in the range, cell texts): where a header row may be.
fn candidate_rows(range: &Range<Data>) -> Vec<(usize, Vec<String>)> {
    range
        .rows()
        .enumerate()
        .filter(|(_, r)| !r.iter().all(clean::is_blank))
        .take(HEADER_SCAN_ROWS)
        .map(|(i, r)| {
            (
                i,
                r.iter().map(|c| raw_text(c).trim().to_string()).collect(),
            )
        })
        .collect()
}

fn read_sheet(
    range: &Range<Data>,
    name: &str,
    file: &str,
    force: Option<SheetKind>,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<SheetSummary> {
    let mut summary = SheetSummary {
        sheet: name.to_string(),
        ..SheetSummary::default()
    };
    let candidates = candidate_rows(range);
    if candidates.is_empty() {
        summary.kind = SKIP_EMPTY.to_string();
        return Ok(summary);
    }
    let location = format!("{file} [{name}]");
    let matrix = sku::find_matrix_header(range);
    if force == Some(SheetKind::SkuMatrix) || (force.is_none() && matrix.is_some()) {
        let stats = sku::read_sku_sheet(range, matrix, file, name, sink)?;
        let key = SheetKind::SkuMatrix.key();
        report.add_rows(key, stats.records);
        summary.kind = key.to_string();
        summary.rows = stats.records;
        summary.notes = stats.notes;
        return Ok(summary);
    }
    let texts: Vec<Vec<String>> = candidates.iter().map(|(_, r)| r.clone()).collect();
    let Some((index, map)) = recognise_header(&texts, force, cfg, &location)? else {
        summary.kind = format!(
            "skipped: no known header (found: {})",
            headers_preview(&texts[0])
        );
        // A lone row is a title or an empty template; rows under a header are data lost.
        if texts.len() > 1 {
            let row = candidates[0].0 as u32 + range.start().map_or(0, |s| s.0) + 1;
            report.warn(not_loaded(file, name, row, &texts));
        }
        return Ok(summary);
    };
    let (row0, _) = range.start().unwrap_or((0, 0));
    let header_row = candidates[index].0;
    let mut reader = TableReader::for_sheet(map, &texts[index], file, name, &cfg.for_file(file));
    let data = || {
        range
            .rows()
            .enumerate()
            .skip(header_row + 1)
            .map(move |(i, cells)| (row0 + i as u32 + 1, cells))
    };
    let mut rescan = |f: &mut dyn FnMut(u32, &[Data])| {
        data().for_each(|(row, cells)| f(row, cells));
        Ok(())
    };
    for (row, cells) in data() {
        reader.read_row(row, cells, report, sink, Some(&mut rescan))?;
    }
    reader.finish(report);
    summary.kind = reader.kind().key().to_string();
    summary.rows = reader.rows;
    Ok(summary)
}

/// The warning for a sheet with rows under a header nothing recognised (`row`: its first).
fn not_loaded(file: &str, sheet: &str, row: u32, texts: &[Vec<String>]) -> Warning {
    Warning {
        file: file.to_string(),
        sheet: sheet.to_string(),
        column: String::new(),
        row: Some(row),
        kind: "sheet_not_loaded".into(),
        message: format!(
            "sheet `{sheet}` was not loaded: no known header (found: {}).{}",
            headers_preview(&texts[0]),
            unrecognised_hint(texts)
        ),
    }
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
