//! CSV files: one "sheet" (unnamed), streamed record by record so a large export is never held in
//! memory. Only the first few non-empty records are buffered, to find the header row. Bytes that
//! are not UTF-8 are decoded lossily rather than failing the file; a leading BOM is dropped.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use calamine::Data;

use super::clean;
use super::detect::{self, HEADER_SCAN_ROWS};
use super::report::{FileSummary, IngestReport, SheetSummary};
use super::rows::TableReader;
use super::{forced_kinds, header_error, headers_preview, override_error};
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

fn cells(rec: &::csv::ByteRecord, first: bool) -> Vec<Data> {
    rec.iter()
        .enumerate()
        .map(|(i, field)| {
            let field = if first && i == 0 {
                field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
            } else {
                field
            };
            let s = String::from_utf8_lossy(field);
            if s.is_empty() {
                Data::Empty
            } else {
                Data::String(s.into_owned())
            }
        })
        .collect()
}

/// True when a field reads as blank: what [`clean::is_blank`] says of its [`cells`] value.
fn blank_field(field: &[u8]) -> bool {
    std::str::from_utf8(field).is_ok_and(|s| s.trim().is_empty())
}

/// A data row as [`cells`] would give it, except that columns not in `used` are left empty
/// (nothing reads them) and the text of the others is written into the strings `row` already
/// holds instead of new ones.
fn fill_cells(rec: &::csv::ByteRecord, used: &[bool], row: &mut Vec<Data>) {
    row.truncate(rec.len());
    row.resize(rec.len(), Data::Empty);
    for ((field, used), cell) in rec
        .iter()
        .zip(used.iter().chain(std::iter::repeat(&false)))
        .zip(row.iter_mut())
    {
        if !used || field.is_empty() {
            *cell = Data::Empty;
            continue;
        }
        let text = String::from_utf8_lossy(field);
        match cell {
            Data::String(s) => {
                s.clear();
                s.push_str(&text);
            }
            other => *other = Data::String(text.into_owned()),
        }
    }
}

/// Reads one CSV file; see [`super::ingest_file`].
pub fn read_csv(
    path: &Path,
    file: &str,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<FileSummary> {
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(8192).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let index = Rc::new(RefCell::new(LineIndex::default()));
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(&head))
        .from_reader(LineCounting {
            inner: BufReader::new(f),
            index: Rc::clone(&index),
        });

    let mut rec = ::csv::ByteRecord::new();
    // Where the last record started, whether a value in it spans lines, and whether it ends in
    // a newline (an unclosed quote runs to the end of the file, final newline included, which
    // the line arithmetic below counts once too often).
    let mut last = (0_u32, false, false);
    // Reads the next record into `rec`; returns its line.
    let mut next = |rec: &mut ::csv::ByteRecord| -> Result<Option<u32>> {
        match rdr.read_byte_record(rec) {
            // A quote opened and never closed swallows the rest of the file into one value; the
            // csv crate accepts that silently, which would lose every row after it.
            Ok(false) if last.1 && index.borrow().quotes % 2 == 1 => Err(Error::BadInput {
                location: format!("{file} line {}", last.0 + u32::from(last.2)),
                message: "a quoted value starting on this line is never closed, so the rest of \
                          the file would be read as one value; close or remove the `\"`"
                    .into(),
            }),
            Ok(false) => Ok(None),
            Ok(true) => {
                // The record's own start position may point at skipped blank lines before it,
                // so count back from its end: the last byte read, less the newlines it contains.
                let end = rdr.position().byte().saturating_sub(1);
                let inside = rec.iter().flatten().filter(|b| **b == b'\n').count() as u64;
                let line = index.borrow_mut().line_of(end).saturating_sub(inside);
                let line = u32::try_from(line).unwrap_or(u32::MAX);
                let ends_nl = rec
                    .iter()
                    .next_back()
                    .is_some_and(|f| f.last() == Some(&b'\n'));
                last = (line, inside > 0, ends_nl);
                Ok(Some(line))
            }
            Err(e) => Err(match e.into_kind() {
                ::csv::ErrorKind::Io(io) => Error::io(path, io),
                other => Error::BadInput {
                    location: file.to_string(),
                    message: format!("unreadable CSV: {other:?}"),
                },
            }),
        }
    };

    // Buffer up to HEADER_SCAN_ROWS non-empty records: the header row is among them.
    let mut buffered: Vec<(u32, Vec<Data>)> = Vec::new();
    let mut first = true;
    while buffered.len() < HEADER_SCAN_ROWS {
        let Some(line) = next(&mut rec)? else {
            break;
        };
        let row = cells(&rec, first);
        first = false;
        if !row.iter().all(clean::is_blank) {
            buffered.push((line, row));
        }
    }
    if buffered.is_empty() {
        return Err(Error::BadInput {
            location: file.to_string(),
            message: "the file is empty".into(),
        });
    }
    let texts: Vec<Vec<String>> = buffered
        .iter()
        .map(|(_, r)| {
            r.iter()
                .map(|c| clean::raw_text(c).trim().to_string())
                .collect()
        })
        .collect();

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
    let (index, map) = if let Some(spec) = force.and_then(detect::spec) {
        let i = detect::best_row_for(spec, &texts).unwrap_or(0);
        (
            i,
            detect::map_columns(spec, &texts[i], cfg.columns.get(spec.kind.key()))
                .map_err(|e| override_error(file, spec.kind, &e))?,
        )
    } else if let Some(d) = detect::detect(&texts, &cfg.columns) {
        let spec = d.map.spec;
        let map = detect::map_columns(
            spec,
            &texts[d.header_index],
            cfg.columns.get(spec.kind.key()),
        )
        .map_err(|e| override_error(file, spec.kind, &e))?;
        (d.header_index, map)
    } else {
        return Err(Error::BadInput {
            location: file.to_string(),
            message: format!(
                "no known header; found: {}. {}",
                headers_preview(&texts[0]),
                detect::signatures_text()
            ),
        });
    };
    let missing = map.missing();
    if !missing.is_empty() {
        return Err(header_error(file, map.spec.kind, &missing, &texts[index]));
    }

    let mut reader = TableReader::new(map, file, "");
    for (line, row) in buffered.drain(..).skip(index + 1) {
        reader.read_row(line, &row, report, sink)?;
    }
    // The rest is streamed: only the columns the table reads are decoded, into buffers reused
    // from row to row.
    let used = reader.columns_used();
    let mut row: Vec<Data> = Vec::new();
    while let Some(line) = next(&mut rec)? {
        if rec.iter().all(blank_field) {
            continue; // as `read_row` skips a blank row
        }
        fill_cells(&rec, &used, &mut row);
        reader.read_cells(line, &row, report, sink)?;
    }
    Ok(FileSummary {
        file: file.to_string(),
        sheets: vec![SheetSummary {
            sheet: String::new(),
            kind: reader.kind().key().to_string(),
            rows: reader.rows,
            notes: 0,
        }],
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
        while rdr.read_byte_record(&mut rec).unwrap() {
            line += 1;
            whole
                .read_row(line, &cells(&rec, false), &mut a, &mut |r| {
                    ra.push(r);
                    Ok(())
                })
                .unwrap();
            if !rec.iter().all(blank_field) {
                fill_cells(&rec, &used, &mut row);
                streamed
                    .read_cells(line, &row, &mut b, &mut |r| {
                        rb.push(r);
                        Ok(())
                    })
                    .unwrap();
            }
        }
        assert_eq!(ra.len(), 6, "{ra:#?}");
        assert_eq!(ra, rb);
        assert_eq!(a, b);
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
    fn bom_is_stripped_and_bad_bytes_decoded() {
        let rec = ::csv::ByteRecord::from(vec![&b"\xEF\xBB\xBFserial"[..], &b"caf\xE9"[..], b""]);
        let c = cells(&rec, true);
        assert_eq!(c[0], Data::String("serial".into()));
        assert_eq!(c[1], Data::String("caf\u{FFFD}".into()));
        assert_eq!(c[2], Data::Empty);
    }
}
