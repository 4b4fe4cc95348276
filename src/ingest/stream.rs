//! Streamed xlsx: one thread decompresses and parses a workbook's sheets with calamine's cell
//! reader and hands rows over in small batches; the calling thread recognises, cleans and emits
//! them ([`super::xlsx::read_rows`]) meanwhile, so memory does not grow with the sheet and both
//! cores work. Once a sheet's header is known the parser converts only the columns the table
//! reads (every cell is still parsed: that is the XML), and it drops a sheet nobody reads.
//!
//! A row is sent only if it has a cell that is not blank, in any column: a row whose only
//! values are in unread columns still becomes a record, as it does when the sheet is read whole.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use calamine::{Data, DataRef, Reader, Xlsx, XlsxError, open_workbook};

use super::SheetProgress;
use super::report::{FileSummary, IngestReport};
use super::xlsx::{Sheet, SheetRead, SheetRows, WorkbookSummary, bad_file, read_pivot, read_rows};
use crate::config::IngestConfig;
use crate::error::{Error, Result};
use crate::model::Record;

type Book = Xlsx<std::io::BufReader<std::fs::File>>;

/// Rows per batch and batches in flight: a few MiB at most, enough to keep both threads busy.
const ROWS_PER_BATCH: usize = 256;
const BATCHES_AHEAD: usize = 8;

/// From the parser to the reading side, in sheet order.
enum Msg {
    /// A sheet starts; `rows` is the row count its dimension declares.
    Begin { name: String, rows: u64 },
    /// Rows of the current sheet: (row number as Excel shows it, cells from column A).
    Rows(Vec<(u32, Vec<Data>)>),
    /// The current sheet is done.
    End,
    /// Reading failed; nothing follows.
    Failed(Error),
}

/// What the reading side tells the parser about sheet number `sheet`.
#[derive(Debug, Default)]
struct Control {
    sheet: usize,
    used: Option<Arc<Vec<bool>>>,
    abandon: bool,
}

/// Builds rows from cells in stream order (row by row, left to right).
#[derive(Debug, Default)]
struct RowAssembler {
    row: Option<u32>,
    cells: Vec<Data>,
    nonblank: bool,
    /// The last row's width, to size the next one at once.
    width: usize,
}

fn blank(v: &DataRef) -> bool {
    let text = |s: &str| {
        // Most values start with a character that is not a space: no need to trim them.
        s.as_bytes().first().is_none_or(u8::is_ascii_whitespace) && s.trim().is_empty()
    };
    match v {
        DataRef::Empty => true,
        DataRef::String(s) => text(s),
        DataRef::SharedString(s) => text(s),
        _ => false,
    }
}

impl RowAssembler {
    /// Adds the cell at (row, column); returns the row it completes when it starts a new one.
    /// Only columns in `used` (all without one) are kept.
    fn push(
        &mut self,
        (row, col): (u32, u32),
        v: &DataRef,
        used: Option<&[bool]>,
    ) -> Option<(u32, Vec<Data>)> {
        let done = if self.row == Some(row) {
            None
        } else {
            let done = self.take();
            self.row = Some(row);
            done
        };
        if matches!(v, DataRef::Empty) {
            return done;
        }
        // A row counts once any cell has a value; after that no cell needs the test.
        if !self.nonblank && !blank(v) {
            self.nonblank = true;
        }
        let col = col as usize;
        // A blank text kept in a read column cleans to what an empty cell does.
        if used.is_none_or(|u| u.get(col).copied().unwrap_or(false)) {
            if self.cells.len() <= col {
                self.cells.resize(col + 1, Data::Empty);
            }
            self.cells[col] = Data::from(v.clone());
        }
        done
    }

    /// The row being built, if it has a value.
    fn take(&mut self) -> Option<(u32, Vec<Data>)> {
        let row = self.row.take()?;
        // A stray far cell must not make every row that wide.
        self.width = self.width.max(self.cells.len()).min(256);
        let cells = std::mem::replace(&mut self.cells, Vec::with_capacity(self.width));
        std::mem::take(&mut self.nonblank).then_some((row + 1, cells))
    }
}

/// The parser thread: every sheet in order, then it hangs up. Stops early when the reading
/// side hangs up.
fn parse(mut wb: Book, path: &Path, tx: &SyncSender<Msg>, control: &Mutex<Control>) {
    for (i, name) in wb.sheet_names().into_iter().enumerate() {
        match parse_sheet(&mut wb, path, i, &name, tx, control) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                let _ = tx.send(Msg::Failed(e));
                return;
            }
        }
    }
}

/// Streams one sheet; `Ok(false)` when the reading side is gone.
fn parse_sheet(
    wb: &mut Book,
    path: &Path,
    index: usize,
    name: &str,
    tx: &SyncSender<Msg>,
    control: &Mutex<Control>,
) -> Result<bool> {
    let mut cells = match wb.worksheet_cells_reader(name) {
        Ok(reader) => reader,
        // A chart sheet: an empty sheet, as `worksheet_range` has it.
        Err(XlsxError::NotAWorksheet(_)) => {
            let begin = Msg::Begin {
                name: name.to_string(),
                rows: 0,
            };
            return Ok(tx.send(begin).is_ok() && tx.send(Msg::End).is_ok());
        }
        Err(e) => return Err(bad_file(path, Some(name), &e)),
    };
    let dims = cells.dimensions();
    // A sheet without a `<dimension>` reads as A1:A1: its size is unknown, not one row.
    let rows = if dims.start == dims.end {
        0
    } else {
        u64::from(dims.end.0.saturating_sub(dims.start.0)) + 1
    };
    if tx
        .send(Msg::Begin {
            name: name.to_string(),
            rows,
        })
        .is_err()
    {
        return Ok(false);
    }
    let mut asm = RowAssembler::default();
    let mut batch = Vec::with_capacity(ROWS_PER_BATCH);
    let mut used: Option<Arc<Vec<bool>>> = None;
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| bad_file(path, Some(name), &e))?
    {
        let Some(row) = asm.push(
            cell.get_position(),
            cell.get_value(),
            used.as_deref().map(Vec::as_slice),
        ) else {
            continue;
        };
        batch.push(row);
        if batch.len() < ROWS_PER_BATCH {
            continue;
        }
        let full = std::mem::replace(&mut batch, Vec::with_capacity(ROWS_PER_BATCH));
        if tx.send(Msg::Rows(full)).is_err() {
            return Ok(false);
        }
        let c = control.lock().unwrap_or_else(PoisonError::into_inner);
        if c.sheet == index {
            if c.abandon {
                break;
            }
            used.clone_from(&c.used);
        }
    }
    batch.extend(asm.take());
    Ok(tx.send(Msg::Rows(batch)).is_ok() && tx.send(Msg::End).is_ok())
}

/// The reading side's view of the current sheet.
struct ChannelRows<'a> {
    rx: &'a Receiver<Msg>,
    control: &'a Mutex<Control>,
    sheet: usize,
    batch: Vec<(u32, Vec<Data>)>,
    pos: usize,
    ended: bool,
}

impl ChannelRows<'_> {
    fn set(&self, f: impl FnOnce(&mut Control)) {
        let mut c = self.control.lock().unwrap_or_else(PoisonError::into_inner);
        if c.sheet != self.sheet {
            *c = Control {
                sheet: self.sheet,
                ..Control::default()
            };
        }
        f(&mut c);
    }
}

impl SheetRows for ChannelRows<'_> {
    fn next_row(&mut self) -> Result<Option<(u32, &[Data])>> {
        while self.pos >= self.batch.len() {
            if self.ended {
                return Ok(None);
            }
            match self.rx.recv() {
                Ok(Msg::Rows(b)) => {
                    self.batch = b;
                    self.pos = 0;
                }
                Ok(Msg::End) => self.ended = true,
                Ok(Msg::Failed(e)) => return Err(e),
                // The parser sends End before the next Begin and hangs up only after an End or
                // a Failed; anything else means it stopped unexpectedly.
                Ok(Msg::Begin { .. }) | Err(_) => return Err(gone()),
            }
        }
        let (row, cells) = &self.batch[self.pos];
        self.pos += 1;
        Ok(Some((*row, cells)))
    }

    fn only_columns(&mut self, used: &[bool]) {
        let used = Arc::new(used.to_vec());
        self.set(|c| c.used = Some(used));
    }

    fn abandon(&mut self) -> Result<()> {
        self.set(|c| c.abandon = true);
        while self.next_row()?.is_some() {}
        Ok(())
    }
}

fn gone() -> Error {
    Error::BadInput {
        location: "input".into(),
        message: "the workbook reader stopped".into(),
    }
}

/// Reads every sheet of an xlsx workbook, streamed; see [`super::xlsx::read_workbook`].
pub fn read_workbook(
    path: &Path,
    file: &str,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
    progress: &mut dyn FnMut(SheetProgress),
) -> Result<FileSummary> {
    let wb: Book = open_workbook(path).map_err(|e: XlsxError| bad_file(path, None, &e))?;
    let control = Mutex::new(Control::default());
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(BATCHES_AHEAD);
        let ctl = &control;
        let parser = scope.spawn(move || parse(wb, path, &tx, ctl));
        let read = (|| {
            let mut out = WorkbookSummary::new(file, cfg)?;
            let mut index = 0;
            while let Some((name, rows)) = next_sheet(&rx)? {
                progress(SheetProgress::new(file, &name, rows));
                let mut sheet_rows = ChannelRows {
                    rx: &rx,
                    control: &control,
                    sheet: index,
                    batch: Vec::new(),
                    pos: 0,
                    ended: false,
                };
                let sheet = Sheet {
                    name: &name,
                    file,
                    force: out.force(&name),
                    cfg,
                };
                let rescan = |after: u32, f: &mut dyn FnMut(u32, &[Data])| {
                    rescan_sheet(path, &name, after, f)
                };
                match read_rows(&sheet, &mut sheet_rows, &rescan, report, sink)? {
                    SheetRead::Done(summary, preview) => out.push(summary, preview),
                    SheetRead::Pivot => {
                        let range = whole_sheet(path, &name)?;
                        out.push(read_pivot(&range, &sheet, report, sink)?, None);
                    }
                }
                index += 1;
            }
            out.finish()
        })();
        // A parser still sending finds nobody listening and stops.
        drop(rx);
        if let Err(panic) = parser.join() {
            std::panic::resume_unwind(panic);
        }
        read
    })
}

/// The next sheet's (name, declared rows), or `None` once the parser is done.
fn next_sheet(rx: &Receiver<Msg>) -> Result<Option<(String, u64)>> {
    match rx.recv() {
        Ok(Msg::Begin { name, rows }) => Ok(Some((name, rows))),
        Ok(Msg::Failed(e)) => Err(e),
        Ok(Msg::Rows(_) | Msg::End) => Err(gone()),
        Err(_) => Ok(None),
    }
}

/// A sheet as one range (the SKU pivot, which is small and read by layout).
fn whole_sheet(path: &Path, name: &str) -> Result<calamine::Range<Data>> {
    let mut wb: Book =
        open_workbook(path).map_err(|e: XlsxError| bad_file(path, Some(name), &e))?;
    wb.worksheet_range(name)
        .map_err(|e| bad_file(path, Some(name), &e))
}

/// Streams the sheet again and hands `f` its rows below row `after` (a date-order scan).
fn rescan_sheet(
    path: &Path,
    name: &str,
    after: u32,
    f: &mut dyn FnMut(u32, &[Data]),
) -> Result<()> {
    let mut wb: Book =
        open_workbook(path).map_err(|e: XlsxError| bad_file(path, Some(name), &e))?;
    let mut cells = wb
        .worksheet_cells_reader(name)
        .map_err(|e| bad_file(path, Some(name), &e))?;
    let mut asm = RowAssembler::default();
    let mut give = |row: Option<(u32, Vec<Data>)>| {
        if let Some((row, cells)) = row.filter(|(row, _)| *row > after) {
            f(row, &cells);
        }
    };
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| bad_file(path, Some(name), &e))?
    {
        give(asm.push(cell.get_position(), cell.get_value(), None));
    }
    give(asm.take());
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::ingest::xlsx::read_workbook_ranges;
    use rust_xlsxwriter::Workbook;

    /// Reads `path` both ways: (records, report) streamed and from whole ranges.
    type Read = (Vec<Record>, IngestReport);
    fn both(path: &Path, cfg: &IngestConfig) -> (Read, Read) {
        let file = path.file_name().unwrap().to_str().unwrap();
        let run = |streamed: bool| {
            let (mut records, mut report) = (Vec::new(), IngestReport::default());
            let sink = &mut |r| {
                records.push(r);
                Ok(())
            };
            let summary = if streamed {
                read_workbook(path, file, cfg, &mut report, sink, &mut |_| {})
            } else {
                read_workbook_ranges(path, file, cfg, &mut report, sink, &mut |_| {})
            }
            .unwrap();
            report.files.push(summary);
            (records, report)
        };
        (run(true), run(false))
    }

    /// Every awkward thing a sheet can do to a row reader, in one workbook.
    pub(in crate::ingest) fn awkward_workbook(path: &Path) {
        let mut wb = Workbook::new();
        wb.add_worksheet().set_name("Empty").unwrap();
        // An install base starting at D5 under a title, with blank rows, a row whose only value
        // is in a column nobody reads, text dates whose order row 12 reveals, and a far cell.
        let ib = wb.add_worksheet();
        ib.set_name("IB").unwrap();
        ib.write_string(1, 3, "Install base export").unwrap();
        let headers = [
            "Serial",
            "Product_Name",
            "Support_Status",
            "EOL",
            "Unread",
            "Notes",
        ];
        for (c, h) in headers.iter().enumerate() {
            ib.write_string(4, c as u16 + 3, *h).unwrap();
        }
        let rows: [[&str; 6]; 6] = [
            ["SN1", "DL380 Gen9", "Expired", "05/06/2015", "x", "a"],
            ["", "", "", "", "only unread", ""],
            ["SN2", "DL360", "  ", "07/08/2016", "", "b"],
            ["SN3", "MSA", "Active", "2017-01-02", "", "c"],
            ["  ", " ", "", "", "", ""],
            ["SN4", "AP-325", "Active", "31/12/2015", "", "d"],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ib.write_string(r as u32 * 2 + 5, c as u16 + 3, *v).unwrap();
                }
            }
        }
        ib.write_number(9, 12, 42.0).unwrap();
        // A sheet nothing matches, with data under its header.
        let other = wb.add_worksheet();
        other.set_name("Opps").unwrap();
        for (c, h) in ["Opportunity Name", "Account Name", "Amount"]
            .iter()
            .enumerate()
        {
            other.write_string(0, c as u16, *h).unwrap();
            other.write_string(1, c as u16, "v").unwrap();
        }
        wb.save(path).unwrap();
    }

    #[test]
    fn streamed_and_whole_sheet_reads_give_the_same_records_and_report() {
        // See: issue 26 — the stream must give the same rows, values and load report.
        let dir = tempfile::tempdir().unwrap();
        let awkward = dir.path().join("awkward.xlsx");
        awkward_workbook(&awkward);
        let sample =
            crate::sample::write_sample(dir.path(), 600, 11, crate::cli::SampleFormat::Xlsx)
                .unwrap();
        let cfg = IngestConfig::default();
        for path in sample.files.iter().chain([&awkward]) {
            let (streamed, whole) = both(path, &cfg);
            assert!(!streamed.0.is_empty(), "{}", path.display());
            assert_eq!(streamed.0.len(), whole.0.len(), "{}", path.display());
            for (a, b) in streamed.0.iter().zip(&whole.0) {
                assert_eq!(a, b, "{}", path.display());
            }
            assert_eq!(streamed.1, whole.1, "{}", path.display());
        }
        let (streamed, _) = both(&awkward, &cfg);
        let rows: Vec<u32> = streamed
            .0
            .iter()
            .map(|r| match r {
                Record::InstallBase(x) => x.src.row,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            rows,
            [6, 8, 10, 12, 16],
            "absolute rows; the blank row 14 is skipped"
        );
        let report = &streamed.1;
        assert_eq!(report.date_columns[0].order.as_deref(), Some("dmy"));
        assert_eq!(report.warnings[0].kind, "sheet_not_loaded");
    }

    #[test]
    fn rows_are_assembled_from_cells_and_blank_rows_dropped() {
        let mut asm = RowAssembler::default();
        let s = |x: &str| DataRef::String(x.to_string());
        let used = [false, true, false];
        let mut out = Vec::new();
        for (pos, v) in [
            ((0, 0), s("a")),
            ((0, 1), s("b")),
            ((2, 0), s("  ")),
            ((2, 2), DataRef::Empty),
            ((3, 0), s("only unused")),
            ((4, 1), DataRef::Float(1.5)),
            ((4, 3), s("far")),
        ] {
            out.extend(asm.push(pos, &v, Some(&used)));
        }
        out.extend(asm.take());
        assert_eq!(
            out,
            [
                (1, vec![Data::Empty, Data::String("b".into())]),
                (4, vec![]),
                (5, vec![Data::Empty, Data::Float(1.5)]),
            ]
        );
    }
}
