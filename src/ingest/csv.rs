//! CSV files: one "sheet" (unnamed), streamed record by record so a large export is never held in
//! memory. Only the first few non-empty records are buffered, to find the header row. Bytes that
//! are not UTF-8 are decoded lossily rather than failing the file; a leading BOM is dropped.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

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
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (line.iter().filter(|b| *b == d).count(), *d == b','))
        .unwrap_or(b',')
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
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(&head))
        .from_reader(BufReader::new(f));

    let mut rec = ::csv::ByteRecord::new();
    let mut next = |first: bool| -> Result<Option<(u32, Vec<Data>)>> {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = rec.position().map_or(0, |p| u32::try_from(p.line()).unwrap_or(u32::MAX));
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
        .map(|(_, r)| r.iter().map(|c| clean::raw_text(c).trim().to_string()).collect())
        .collect();

    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
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
        (i, detect::map_columns(spec, &texts[i], cfg.columns.get(spec.kind.key()))
            .map_err(|e| override_error(file, spec.kind, &e))?)
    } else if let Some(d) = detect::detect(&texts, &cfg.columns) {
        let spec = d.map.spec;
        let map = detect::map_columns(spec, &texts[d.header_index], cfg.columns.get(spec.kind.key()))
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
    fn bom_is_stripped_and_bad_bytes_decoded() {
        let rec = ::csv::ByteRecord::from(vec![&b"\xEF\xBB\xBFserial"[..], &b"caf\xE9"[..], b""]);
        let c = cells(&rec, true);
        assert_eq!(c[0], Data::String("serial".into()));
        assert_eq!(c[1], Data::String("caf\u{FFFD}".into()));
        assert_eq!(c[2], Data::Empty);
    }
}
