//! CSV files: one "sheet" (unnamed), streamed record by record so a large export is never held in
//! memory. Only the first few non-empty records are buffered, to find the header row. The bytes
//! are decoded as [`super::encoding`] decides (a byte-order mark, UTF-8, else Windows-1252, or
//! `ingest.encoding`); a field that does not decode is stored with U+FFFD and reported.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;

use calamine::Data;

use super::clean;
use super::detect::{self, HEADER_SCAN_ROWS};
use super::encoding::{self, FieldDecoder, Plan, Utf16Reader};
use super::report::{FileSummary, IngestReport, SheetSummary, Warning};
use super::rows::TableReader;
use super::settings::FileOptions;
use super::{forced_kinds, headers_preview, recognise_header, unrecognised_hint};
use crate::config::IngestConfig;
use crate::error::{Error, Result};
use crate::model::{Record, SheetKind};

/// Picks `,`, `;` or tab, whichever the first line uses most (European exports use `;`).
#[allow(clippy::naive_bytecount)] // one short line: not worth the `bytecount` dependency
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (line.iter().filter(|b| *b == d).count(), *d == b','))
        .unwrap_or(b',')
}

/// Byte offsets of the newlines read ahead of the parser, so a record's byte position can be
/// turned into the line number an editor shows. The csv crate's own line count skips blank
/// lines; this stays exact and holds only the newlines still in the read-ahead buffer.
#[derive(Debug, Default)]
struct LineIndex {
    read: u64,
    pending: VecDeque<u64>,
    before: u64,
    /// `"` bytes seen: an odd count at the end means a quote was never closed.
    quotes: u64,
}

impl LineIndex {
    /// The 1-based line on which byte `offset` lies. Offsets must be asked in increasing order.
    fn line_of(&mut self, offset: u64) -> u64 {
        while self.pending.front().is_some_and(|nl| *nl < offset) {
            self.pending.pop_front();
            self.before += 1;
        }
        self.before + 1
    }
}

/// A reader that records where the newlines are as bytes pass through it.
struct LineCounting<R> {
    inner: R,
    index: Rc<RefCell<LineIndex>>,
}

impl<R: Read> Read for LineCounting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut index = self.index.borrow_mut();
        let start = index.read;
        for i in memchr::memchr2_iter(b'\n', b'"', &buf[..n]) {
            if buf[i] == b'\n' {
                index.pending.push_back(start + i as u64);
            } else {
                index.quotes += 1;
            }
        }
        index.read += n as u64;
        Ok(n)
    }
}

/// Fields whose bytes did not decode: how many, and the first (line, column).
#[derive(Debug, Default)]
struct Malformed {
    count: u64,
    first: Option<(u32, usize)>,
}

impl Malformed {
    fn add(&mut self, line: u32, col: usize) {
        self.count += 1;
        self.first.get_or_insert((line, col));
    }
}

/// A whole row as cells (header candidates), every field decoded.
fn cells(
    rec: &::csv::ByteRecord,
    dec: &mut FieldDecoder,
    line: u32,
    bad: &mut Malformed,
) -> Vec<Data> {
    rec.iter()
        .enumerate()
        .map(|(i, field)| {
            let d = dec.decode(field);
            if d.malformed {
                bad.add(line, i);
            }
            if d.text.is_empty() {
                Data::Empty
            } else {
                Data::String(d.text.into_owned())
            }
        })
        .collect()
}

/// True when a field reads as blank: what [`clean::is_blank`] says of its [`cells`] value.
fn blank_field(field: &[u8], dec: &mut FieldDecoder) -> bool {
    dec.decode(field).text.trim().is_empty()
}

/// A data row as [`cells`] would give it, except that columns not in `used` are left empty
/// (nothing reads them) and the text of the others is written into the strings `row` already
/// holds instead of new ones.
fn fill_cells(
    rec: &::csv::ByteRecord,
    used: &[bool],
    row: &mut Vec<Data>,
    dec: &mut FieldDecoder,
    line: u32,
    bad: &mut Malformed,
) {
    row.truncate(rec.len());
    row.resize(rec.len(), Data::Empty);
    for (i, ((field, used), cell)) in rec
        .iter()
        .zip(used.iter().chain(std::iter::repeat(&false)))
        .zip(row.iter_mut())
        .enumerate()
    {
        if !used || field.is_empty() {
            *cell = Data::Empty;
            continue;
        }
        let d = dec.decode(field);
        if d.malformed {
            bad.add(line, i);
        }
        match cell {
            Data::String(s) => {
                s.clear();
                s.push_str(&d.text);
            }
            other => *other = Data::String(d.text.into_owned()),
        }
    }
}

/// One CSV file opened for reading: decoded to text where it must be (UTF-16), split on its
/// delimiter, each record numbered with the line it starts on as an editor shows it.
struct CsvSource<'a> {
    rdr: ::csv::Reader<LineCounting<Box<dyn Read>>>,
    index: Rc<RefCell<LineIndex>>,
    /// Where the last record started, whether a value in it spans lines, and whether it ends in
    /// a newline (an unclosed quote runs to the end of the file, final newline included, which
    /// the line arithmetic counts once too often).
    last: (u32, bool, bool),
    /// Records read so far.
    records: u64,
    path: &'a Path,
    file: &'a str,
}

impl<'a> CsvSource<'a> {
    fn open(path: &'a Path, file: &'a str, plan: &Plan, delimiter: u8) -> Result<CsvSource<'a>> {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        f.seek(SeekFrom::Start(plan.skip as u64))
            .map_err(|e| Error::io(path, e))?;
        let inner: Box<dyn Read> = match plan.utf16 {
            Some(enc) => Box::new(Utf16Reader::new(BufReader::new(f), enc)),
            None => Box::new(BufReader::new(f)),
        };
        let index = Rc::new(RefCell::new(LineIndex::default()));
        let rdr = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(LineCounting {
                inner,
                index: Rc::clone(&index),
            });
        Ok(CsvSource {
            rdr,
            index,
            last: (0, false, false),
            records: 0,
            path,
            file,
        })
    }

    /// Reads the next record into `rec`; returns its line.
    fn next(&mut self, rec: &mut ::csv::ByteRecord) -> Result<Option<u32>> {
        match self.rdr.read_byte_record(rec) {
            // A quote opened and never closed swallows the rest of the file into one value; the
            // csv crate accepts that silently, which would lose every row after it.
            Ok(false) if self.last.1 && self.index.borrow().quotes % 2 == 1 => {
                Err(Error::BadInput {
                    location: format!(
                        "{} line {}",
                        self.file,
                        self.last.0 + u32::from(self.last.2)
                    ),
                    message: "a quoted value starting on this line is never closed, so the rest \
                              of the file would be read as one value; close or remove the `\"`"
                        .into(),
                })
            }
            Ok(false) => Ok(None),
            Ok(true) => {
                // The record's own start position may point at skipped blank lines before it,
                // so count back from its end: the last byte read, less the newlines it contains.
                let end = self.rdr.position().byte().saturating_sub(1);
                let inside = rec.iter().flatten().filter(|b| **b == b'\n').count() as u64;
                let line = self.index.borrow_mut().line_of(end).saturating_sub(inside);
                let line = u32::try_from(line).unwrap_or(u32::MAX);
                let ends_nl = rec
                    .iter()
                    .next_back()
                    .is_some_and(|f| f.last() == Some(&b'\n'));
                self.last = (line, inside > 0, ends_nl);
                self.records += 1;
                Ok(Some(line))
            }
            Err(e) => Err(match e.into_kind() {
                ::csv::ErrorKind::Io(io) => Error::io(self.path, io),
                other => Error::BadInput {
                    location: self.file.to_string(),
                    message: format!("unreadable CSV: {other:?}"),
                },
            }),
        }
    }
}

/// How to open a file: its encoding plan (from the first bytes and the config) and delimiter.
fn open_plan(path: &Path, file: &str, opts: &FileOptions) -> Result<(Plan, u8)> {
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(8192).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let plan = encoding::plan(&head, opts.encoding).map_err(|m| Error::BadInput {
        location: file.to_string(),
        message: format!("{m} (`{}`)", opts.encoding_key.path("encoding")),
    })?;
    let body = &head[plan.skip.min(head.len())..];
    let delimiter = match plan.utf16 {
        Some(enc) => sniff_delimiter(enc.decode_without_bom_handling(body).0.as_bytes()),
        None => sniff_delimiter(body),
    };
    Ok((plan, delimiter))
}

/// The first non-empty records, where the header row is: (line, record number, cells).
type HeadRows = Vec<(u32, u64, Vec<Data>)>;

fn read_head(src: &mut CsvSource, dec: &mut FieldDecoder, bad: &mut Malformed) -> Result<HeadRows> {
    let mut rec = ::csv::ByteRecord::new();
    let mut buffered = Vec::new();
    while buffered.len() < HEADER_SCAN_ROWS {
        let Some(line) = src.next(&mut rec)? else {
            break;
        };
        let row = cells(&rec, dec, line, bad);
        if !row.iter().all(clean::is_blank) {
            buffered.push((line, src.records, row));
        }
    }
    if buffered.is_empty() {
        return Err(Error::BadInput {
            location: src.file.to_string(),
            message: "the file is empty".into(),
        });
    }
    Ok(buffered)
}

/// Finds the header row among `texts` (or the one for a kind the config forces on this file).
fn recognise(
    path: &Path,
    file: &str,
    cfg: &IngestConfig,
    texts: &[Vec<String>],
) -> Result<(usize, detect::ColumnMap)> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let force = forced_kinds(cfg)?
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(file) || name.eq_ignore_ascii_case(&stem))
        .map(|(_, k)| k);
    if force == Some(SheetKind::SkuMatrix) {
        return Err(Error::BadInput {
            location: file.to_string(),
            message: "the SKU matrix can only be read from a workbook".into(),
        });
    }
    recognise_header(texts, force, cfg, file)?.ok_or_else(|| Error::BadInput {
        location: file.to_string(),
        message: format!(
            "no known header; found: {}. {}{}",
            headers_preview(&texts[0]),
            detect::signatures_text(),
            unrecognised_hint(texts)
        ),
    })
}

/// The streamed part of a file: every record after the buffered head.
struct Streamed<'a> {
    reader: &'a mut TableReader,
    dec: &'a mut FieldDecoder,
    bad: &'a mut Malformed,
}

impl Streamed<'_> {
    /// Only the columns the table reads are decoded, into buffers reused from row to row.
    fn stream(
        &mut self,
        src: &mut CsvSource,
        report: &mut IngestReport,
        sink: &mut dyn FnMut(Record) -> Result<()>,
        rescan: &mut super::rows::Rescan,
    ) -> Result<()> {
        let used = self.reader.columns_used();
        let mut rec = ::csv::ByteRecord::new();
        let mut row: Vec<Data> = Vec::new();
        while let Some(line) = src.next(&mut rec)? {
            if rec.iter().all(|f| blank_field(f, self.dec)) {
                continue; // as `read_row` skips a blank row
            }
            fill_cells(&rec, &used, &mut row, self.dec, line, self.bad);
            self.reader
                .read_cells(line, &row, report, sink, Some(&mut *rescan))?;
        }
        Ok(())
    }
}

/// Feeds the date columns of every data row (records after the header's, number `after`) to
/// `f`, for [`super::dates::DateColumns::scan`].
fn rescan_dates(
    src: &mut CsvSource,
    after: u64,
    cols: &[usize],
    plan: Plan,
    f: &mut dyn FnMut(u32, &[Data]),
) -> Result<()> {
    let mut used = vec![false; cols.iter().max().map_or(0, |m| m + 1)];
    for c in cols {
        used[*c] = true;
    }
    // Nothing read here is stored: its decoding problems are the main pass's to report.
    let (mut dec, mut bad) = (FieldDecoder::new(plan), Malformed::default());
    let mut rec = ::csv::ByteRecord::new();
    let mut row = Vec::new();
    while let Some(line) = src.next(&mut rec)? {
        if src.records > after {
            fill_cells(&rec, &used, &mut row, &mut dec, line, &mut bad);
            f(line, &row);
        }
    }
    Ok(())
}

/// Warns when fields did not decode in the file's encoding.
fn report_malformed(
    bad: &Malformed,
    headers: &[String],
    file: &str,
    dec: &FieldDecoder,
    opts: &FileOptions,
    report: &mut IngestReport,
) {
    let Some((line, col)) = bad.first else {
        return;
    };
    let column = headers.get(col).cloned().unwrap_or_default();
    let enc = dec.detected().encoding.name();
    report.warn(Warning {
        file: file.to_string(),
        sheet: String::new(),
        column: column.clone(),
        row: Some(line),
        kind: "encoding".into(),
        message: format!(
            "{} value{} did not decode as {enc} (the first on row {line}, column `{column}`) and \
             {} stored with U+FFFD (\u{FFFD}) for the bad bytes; if the file is in another \
             encoding, set `{}`",
            bad.count,
            if bad.count == 1 { "" } else { "s" },
            if bad.count == 1 { "was" } else { "were" },
            opts.encoding_key.path("encoding"),
        ),
    });
}

/// Reads one CSV file; see [`super::ingest_file`].
pub fn read_csv(
    path: &Path,
    file: &str,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<FileSummary> {
    let opts = cfg.for_file(file);
    let (plan, delimiter) = open_plan(path, file, &opts)?;
    let mut src = CsvSource::open(path, file, &plan, delimiter)?;
    let mut dec = FieldDecoder::new(plan);
    let mut bad = Malformed::default();
    let head = read_head(&mut src, &mut dec, &mut bad)?;
    let texts: Vec<Vec<String>> = head
        .iter()
        .map(|(_, _, r)| {
            r.iter()
                .map(|c| clean::raw_text(c).trim().to_string())
                .collect()
        })
        .collect();
    let (index, map) = recognise(path, file, cfg, &texts)?;
    let mut reader = TableReader::for_sheet(map, &texts[index], file, "", &opts);
    let (header_record, date_cols) = (head[index].1, reader.date_columns());
    let mut rescan = |f: &mut dyn FnMut(u32, &[Data])| -> Result<()> {
        let mut again = CsvSource::open(path, file, &plan, delimiter)?;
        rescan_dates(&mut again, header_record, &date_cols, plan, f)
    };
    for (line, _, row) in head.into_iter().skip(index + 1) {
        reader.read_row(line, &row, report, sink, Some(&mut rescan))?;
    }
    let mut rows = Streamed {
        reader: &mut reader,
        dec: &mut dec,
        bad: &mut bad,
    };
    rows.stream(&mut src, report, sink, &mut rescan)?;
    reader.finish(report);
    report_malformed(&bad, &texts[index], file, &dec, &opts, report);
    Ok(FileSummary {
        file: file.to_string(),
        sheets: vec![SheetSummary {
            sheet: String::new(),
            kind: reader.kind().key().to_string(),
            rows: reader.rows,
            notes: 0,
        }],
        encoding: Some(dec.detected().describe(&opts.encoding_key.path("encoding"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_rows_read_as_whole_rows_do() {
        let headers: Vec<String> = [
            "Import_Date",
            "PRJ Siebel ID",
            "PRJ Customer",
            "Unused",
            "PRJ Start Date",
            "PRJ Size",
            "Labor Cost",
            "Account ST Name",
            "PRJ System Status",
        ]
        .iter()
        .map(|h| (*h).to_string())
        .collect();
        let map =
            detect::map_columns(detect::spec(SheetKind::Project).unwrap(), &headers, None).unwrap();
        let text: &[u8] = b"x,OPE-1,Acme,u,2024-01-02,$1M - $5M,12,ST,CLSD\n\
            ,,,only unused,,,,,\n\
            , ,\t, ,,,,,\n\
            ,,,,,,,,\n\
            y,NOT AVAILABLE, Caf\xE9 ,u, soon ,-,Yes,(null),x\n\
            short,OPE-2\n\
            a,OPE-3,C,u,2024-01-02,s,1,ST,S,extra,more\n\
            \xEF\xBB\xBF,\xE2\x80\x83,,,,,,,\n";
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        let (mut whole, mut streamed) = (
            TableReader::new(map.clone(), "f.csv", ""),
            TableReader::new(map, "f.csv", ""),
        );
        let used = streamed.columns_used();
        let (mut a, mut b) = (IngestReport::default(), IngestReport::default());
        let (mut ra, mut rb) = (Vec::new(), Vec::new());
        let mut rec = ::csv::ByteRecord::new();
        let mut row = Vec::new();
        let mut line = 1;
        let plan = encoding::plan(b"", super::super::settings::EncodingChoice::Auto).unwrap();
        let (mut da, mut db) = (FieldDecoder::new(plan), FieldDecoder::new(plan));
        let (mut bad_a, mut bad_b) = (Malformed::default(), Malformed::default());
        while rdr.read_byte_record(&mut rec).unwrap() {
            line += 1;
            let sink = &mut |r| {
                ra.push(r);
                Ok(())
            };
            let whole_row = cells(&rec, &mut da, line, &mut bad_a);
            whole
                .read_row(line, &whole_row, &mut a, sink, None)
                .unwrap();
            if !rec.iter().all(|f| blank_field(f, &mut db)) {
                fill_cells(&rec, &used, &mut row, &mut db, line, &mut bad_b);
                let sink = &mut |r| {
                    rb.push(r);
                    Ok(())
                };
                streamed.read_cells(line, &row, &mut b, sink, None).unwrap();
            }
        }
        assert_eq!(ra.len(), 6, "{ra:#?}");
        assert_eq!(ra, rb);
        assert_eq!(a, b);
        assert_eq!(da.detected(), db.detected());
        assert_eq!(da.detected().encoding, encoding_rs::WINDOWS_1252);
    }

    #[test]
    fn delimiter_is_sniffed_from_the_first_line() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1;2"), b',');
        assert_eq!(sniff_delimiter(b"a;b;c\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
    }

    #[test]
    fn line_index_counts_newlines_before_an_offset() {
        let mut idx = LineIndex::default();
        let text = b"a\n\nb\n\"x\ny\"\nc";
        let mut r = LineCounting {
            inner: &text[..],
            index: Rc::new(RefCell::new(LineIndex::default())),
        };
        let mut sink = Vec::new();
        r.read_to_end(&mut sink).unwrap();
        std::mem::swap(&mut idx, &mut r.index.borrow_mut());
        assert_eq!(
            [
                idx.line_of(0),
                idx.line_of(3),
                idx.line_of(5),
                idx.line_of(11)
            ],
            [1, 3, 4, 6]
        );
    }

    #[test]
    fn fields_decode_once_the_file_shows_its_encoding() {
        let rec = ::csv::ByteRecord::from(vec![&b"serial"[..], &b"caf\xE9"[..], b""]);
        let plan = encoding::plan(b"serial", super::super::settings::EncodingChoice::Auto).unwrap();
        let mut bad = Malformed::default();
        let c = cells(&rec, &mut FieldDecoder::new(plan), 2, &mut bad);
        assert_eq!(c[0], Data::String("serial".into()));
        assert_eq!(c[1], Data::String("café".into()));
        assert_eq!(c[2], Data::Empty);
        assert_eq!(bad.count, 0);
    }
}
