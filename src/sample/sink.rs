//! Where generated rows go: one CSV file per sheet, or one sheet each in a workbook.
//!
//! In: a sheet name, its headers, then rows of [`Cell`]s, one at a time. Out: files on disk.
//! The CSV sink streams through a `BufWriter`, so memory stays flat however many rows are asked
//! for; the xlsx sink keeps the workbook in memory until [`Sink::finish`] (see `mod.rs` for why).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use crate::error::{Error, Result};

/// One cell value, typed the way the real export types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Fixed text.
    Str(&'static str),
    /// Generated text.
    Text(String),
    /// A whole number (stored as a number in xlsx).
    Int(i64),
    /// A real date: an Excel date serial with a date format in xlsx, `YYYY-MM-DD` in CSV.
    Date(NaiveDate),
    /// A date written as text `YYYY-MM-DD 00:00:00`, as some exports of the same system do.
    DateText(NaiveDate),
    /// An empty cell.
    Blank,
}

/// Excel's serial day 0 (1899-12-30, which absorbs the 1900 leap-year bug for dates after March 1900).
pub fn excel_serial(d: NaiveDate) -> f64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    (d - epoch).num_days() as f64
}

/// Receives sheets and rows.
pub trait Sink {
    /// Starts a new sheet (xlsx) or file (CSV) and writes its header row.
    fn begin(&mut self, sheet: &str, headers: &[&str]) -> Result<()>;
    /// Writes one data row of the current sheet.
    fn row(&mut self, cells: &[Cell]) -> Result<()>;
    /// Flushes everything and returns the files written.
    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>>;
}

/// The CSV file names, one per sheet, in sheet order.
pub fn csv_file_name(sheet: &str) -> &'static str {
    match sheet {
        "Install Base" => "install_base.csv",
        "Opportunity" => "opportunities.csv",
        "A&PS Project sample" => "projects.csv",
        "Services" => "services.csv",
        _ => "service_credits.csv",
    }
}

/// One CSV per sheet, streamed.
pub struct CsvSink {
    dir: PathBuf,
    current: Option<(PathBuf, csv::Writer<BufWriter<File>>)>,
    files: Vec<PathBuf>,
    buf: String,
}

impl CsvSink {
    /// A sink writing into `dir` (which must exist).
    pub fn new(dir: &Path) -> Self {
        CsvSink {
            dir: dir.to_path_buf(),
            current: None,
            files: Vec::new(),
            buf: String::new(),
        }
    }

    fn close(&mut self) -> Result<()> {
        if let Some((path, mut w)) = self.current.take() {
            w.flush().map_err(|e| Error::io(&path, e))?;
            self.files.push(path);
        }
        Ok(())
    }
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    if e.is_io_error() {
        if let csv::ErrorKind::Io(io) = e.into_kind() {
            return Error::io(path, io);
        }
        return Error::BadFile {
            path: path.to_path_buf(),
            message: "write failed".into(),
        };
    }
    Error::BadFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl Sink for CsvSink {
    fn begin(&mut self, sheet: &str, headers: &[&str]) -> Result<()> {
        self.close()?;
        let path = self.dir.join(csv_file_name(sheet));
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
        w.write_record(headers).map_err(|e| csv_err(&path, e))?;
        self.current = Some((path, w));
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<()> {
        use std::fmt::Write as _;
        let Some((path, w)) = self.current.as_mut() else {
            return Ok(());
        };
        for cell in cells {
            self.buf.clear();
            let field: &str = match cell {
                Cell::Str(s) => s,
                Cell::Text(s) => s,
                Cell::Blank => "",
                Cell::Int(i) => {
                    let _ = write!(self.buf, "{i}");
                    &self.buf
                }
                Cell::Date(d) => {
                    let _ = write!(self.buf, "{}", d.format("%Y-%m-%d"));
                    &self.buf
                }
                Cell::DateText(d) => {
                    let _ = write!(self.buf, "{} 00:00:00", d.format("%Y-%m-%d"));
                    &self.buf
                }
            };
            w.write_field(field).map_err(|e| csv_err(path, e))?;
        }
        w.write_record(None::<&[u8]>)
            .map_err(|e| csv_err(path, e))?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<PathBuf>> {
        self.close()?;
        Ok(self.files)
    }
}

/// All sheets in one workbook.
pub struct XlsxSink {
    path: PathBuf,
    workbook: Workbook,
    current: Option<Worksheet>,
    /// Large workbooks: sheets are written to temporary files as their rows come (their text
    /// still in one shared-strings table, as Excel writes it), and this is the index of the
    /// one being written.
    streamed: Option<usize>,
    low_memory: bool,
    sheets: usize,
    row: u32,
    date: Format,
    header: Format,
}

/// Maps a writer error to [`Error::BadFile`] naming the workbook.
pub fn xlsx_err(path: &Path, e: &XlsxError) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Workbook properties with a fixed creation date: without it the file embeds "now" and two
/// runs with the same seed would differ.
pub fn fixed_properties() -> Result<DocProperties> {
    let created = ExcelDateTime::from_ymd(2025, 1, 1).map_err(|e| Error::BadFile {
        path: PathBuf::new(),
        message: e.to_string(),
    })?;
    Ok(DocProperties::new()
        .set_author("onelead sample")
        .set_creation_datetime(&created))
}

impl XlsxSink {
    /// A sink that will save to `path` on finish; with `low_memory` (for large samples)
    /// each sheet's rows go to disk as they are written instead of being held until the save
    /// (`rust_xlsxwriter`'s low-memory mode: only the shared strings stay in memory).
    pub fn new(path: &Path, low_memory: bool) -> Result<Self> {
        let mut workbook = Workbook::new();
        workbook.set_properties(&fixed_properties()?);
        Ok(XlsxSink {
            path: path.to_path_buf(),
            workbook,
            current: None,
            streamed: None,
            low_memory,
            sheets: 0,
            row: 0,
            // The real export uses Excel's built-in short date format (id 14).
            date: Format::new().set_num_format_index(14),
            header: Format::new().set_bold(),
        })
    }

    fn close(&mut self) {
        if let Some(ws) = self.current.take() {
            self.workbook.push_worksheet(ws);
        }
    }
}

impl Sink for XlsxSink {
    fn begin(&mut self, sheet: &str, headers: &[&str]) -> Result<()> {
        self.close();
        let path = &self.path;
        let ws = if self.low_memory {
            self.streamed = Some(self.sheets);
            self.workbook
                .add_worksheet_with_low_memory()
                .map_err(|e| xlsx_err(path, &e))?
        } else {
            self.current.insert(Worksheet::new())
        };
        self.sheets += 1;
        ws.set_name(sheet).map_err(|e| xlsx_err(path, &e))?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &self.header)
                .map_err(|e| xlsx_err(path, &e))?;
        }
        self.row = 0;
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<()> {
        let ws = match (self.current.as_mut(), self.streamed) {
            (Some(ws), _) => ws,
            (None, Some(i)) => self
                .workbook
                .worksheet_from_index(i)
                .map_err(|e| xlsx_err(&self.path, &e))?,
            (None, None) => return Ok(()),
        };
        self.row += 1;
        let r = self.row;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            let res = match cell {
                Cell::Str(s) => ws.write_string(r, c, *s).map(|_| ()),
                Cell::Text(s) => ws.write_string(r, c, s).map(|_| ()),
                Cell::Int(i) => ws.write_number(r, c, *i as f64).map(|_| ()),
                Cell::Date(d) => ws
                    .write_number_with_format(r, c, excel_serial(*d), &self.date)
                    .map(|_| ()),
                Cell::DateText(d) => ws
                    .write_string(r, c, format!("{} 00:00:00", d.format("%Y-%m-%d")))
                    .map(|_| ()),
                Cell::Blank => Ok(()),
            };
            res.map_err(|e| xlsx_err(&self.path, &e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<PathBuf>> {
        self.close();
        self.workbook
            .save(&self.path)
            .map_err(|e| xlsx_err(&self.path, &e))?;
        Ok(vec![self.path])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serials_match_excel() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert!((excel_serial(d(1900, 3, 1)) - 61.0).abs() < f64::EPSILON);
        assert!((excel_serial(d(2099, 12, 31)) - 73_050.0).abs() < f64::EPSILON);
    }
}
