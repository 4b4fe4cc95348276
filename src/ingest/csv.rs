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
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                index.pending.push_back(start + i as u64);
            } else if *b == b'"' {
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
    let mut next = |first: bool| -> Result<Option<(u32, Vec<Data>)>> {
        match rdr.read_byte_record(&mut rec) {
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
                Ok(Some((line, cells(&rec, first))))
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
        let Some((line, row)) = next(first)? else {
            break;
        };
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
    while let Some((line, row)) = next(false)? {
        reader.read_row(line, &row, report, sink)?;
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
