//! Ingest: export files (xlsx workbooks, CSV) in, typed [`Record`]s out, streamed to a sink in
//! file order, plus an [`IngestReport`] of what was read and which values had to be dropped.
//!
//! Sheets are recognised by their headers, not their names ([`detect`]); values are cleaned by
//! [`clean`]; the product/SKU pivot has its own parser ([`sku`]). `config.ingest` ([`settings`])
//! can force a sheet to a table, name columns detection cannot guess, and fix a CSV file's
//! encoding ([`encoding`]) or the day/month order of its ambiguous dates ([`dates`]).

pub mod clean;
pub mod csv;
pub mod dates;
pub mod detect;
pub mod encoding;
pub mod fields;
mod records;
pub mod report;
pub mod rows;
pub mod settings;
pub mod sku;
mod stream;
pub mod xlsx;

#[cfg(test)]
mod reader_db_tests;
#[cfg(test)]
mod real_tests;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use report::{
    Coercion, CoercionExample, DateOrderNote, FileSummary, FlagColumn, IngestReport, SheetSummary,
    Warning,
};

use crate::config::IngestConfig;
use crate::error::{Error, Result};
use crate::model::{Record, SheetKind};
use detect::OverrideError;

/// Extensions taken from a folder. Explicitly named files may also be `.xlsm`/`.xls`.
const FOLDER_EXTENSIONS: &[&str] = &["xlsx", "csv"];
const WORKBOOK_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xls", "xlsb", "ods"];

fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Expands files/folders (a folder = every .xlsx/.csv in it, sorted, non-recursive; skip `~$`
/// lock files and hidden files). Missing path → `Error::Io` naming it. No inputs found →
/// `Error::BadInput`.
pub fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(p).map_err(|e| Error::io(p, e))? {
            let path = entry.map_err(|e| Error::io(p, e))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // Excel leaves `~$name.xlsx` lock files next to open workbooks; they are not data.
            let skip = name.starts_with("~$") || name.starts_with('.') || path.is_dir();
            if !skip && FOLDER_EXTENSIONS.contains(&extension(&path).as_str()) {
                found.push(path);
            }
        }
        found.sort();
        out.extend(found);
    }
    if out.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        return Err(Error::BadInput {
            location: if shown.is_empty() {
                "input".into()
            } else {
                shown.join(", ")
            },
            message: "no .xlsx or .csv files found".into(),
        });
    }
    Ok(out)
}

/// Where reading has got to: a sheet (or CSV file) starts, with the row count its workbook
/// declares (0 when unknown, as for CSV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetProgress {
    /// File name.
    pub file: String,
    /// Sheet name; empty for CSV.
    pub sheet: String,
    /// Declared rows (the sheet's dimension, header and blank rows included); 0 if unknown.
    pub rows: u64,
}

impl SheetProgress {
    /// A sheet of `rows` declared rows starts.
    pub fn new(file: &str, sheet: &str, rows: u64) -> SheetProgress {
        SheetProgress {
            file: file.to_string(),
            sheet: sheet.to_string(),
            rows,
        }
    }

    /// `file [sheet]`, or `file` for CSV.
    pub fn label(&self) -> String {
        if self.sheet.is_empty() {
            self.file.clone()
        } else {
            format!("{} [{}]", self.file, self.sheet)
        }
    }
}

/// Reads one file, recognises its sheets, cleans every row and hands each record to `sink` in
/// file order. `report` accumulates counts and coercions (and gets one [`FileSummary`]).
/// CSV files and xlsx sheets are streamed; other workbooks are read one sheet at a time.
pub fn ingest_file(
    path: &Path,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<()> {
    ingest_file_with(path, cfg, report, sink, &mut |_| {})
}

/// [`ingest_file`], telling `progress` where each sheet starts.
pub fn ingest_file_with(
    path: &Path,
    cfg: &IngestConfig,
    report: &mut IngestReport,
    sink: &mut dyn FnMut(Record) -> Result<()>,
    progress: &mut dyn FnMut(SheetProgress),
) -> Result<()> {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let ext = extension(path);
    let summary = if ext == "csv" {
        progress(SheetProgress::new(&file, "", 0));
        csv::read_csv(path, &file, cfg, report, sink)?
    } else if WORKBOOK_EXTENSIONS.contains(&ext.as_str()) {
        xlsx::read_workbook(path, &file, cfg, report, sink, progress)?
    } else {
        return Err(Error::BadInput {
            location: file,
            message: format!("unsupported file type `.{ext}`; expected .xlsx or .csv"),
        });
    };
    report.files.push(summary);
    Ok(())
}

/// One step of reading several files, in file order.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // nearly every item is a record: boxing would allocate each
pub enum Item {
    /// The records that follow come from this file.
    File(PathBuf),
    /// The records that follow come from this sheet (for progress).
    Sheet(SheetProgress),
    /// One record.
    Record(Record),
}

/// Records handed from the reading thread to the writer in one go, and how many such batches
/// may wait: enough to keep both threads busy, a few MiB at most.
const BATCH: usize = 1024;
const BATCHES_WAITING: usize = 8;

/// The reading thread's end of the channels: collects items into batches, and takes back the
/// batches the writer is done with, so the records are freed by the thread that allocated them
/// (freeing another thread's allocations contends for its allocator arena) and the batch
/// vectors are reused.
struct Batcher {
    tx: std::sync::mpsc::SyncSender<Vec<Item>>,
    done: std::sync::mpsc::Receiver<Vec<Item>>,
    batch: Vec<Item>,
}

impl Batcher {
    fn push(&mut self, item: Item) -> Result<()> {
        self.batch.push(item);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let mut next = None;
        while let Ok(mut used) = self.done.try_recv() {
            used.clear();
            next = Some(used);
        }
        let next = next.unwrap_or_else(|| Vec::with_capacity(BATCH));
        let batch = std::mem::replace(&mut self.batch, next);
        // The writer hung up because it failed; its error is the one reported.
        self.tx.send(batch).map_err(|_| Error::BadInput {
            location: "input".into(),
            message: "the writer stopped".into(),
        })
    }
}

/// Reads `files` in order, like [`ingest_file`] on each, and hands every item to `sink`, which
/// runs on the calling thread while the files are read and cleaned on another, so the two
/// overlap. `observe` sees each record on the reading thread before it is sent. Items arrive
/// in file order, each file's records after its [`Item::File`]. The first error stops
/// everything and is returned: a reading error, or the sink's, whichever comes first in file
/// order (the sink never sees records past a reading error).
pub fn ingest_files(
    files: &[PathBuf],
    cfg: &IngestConfig,
    observe: &mut (dyn FnMut(&Record) + Send),
    sink: &mut dyn FnMut(&Item) -> Result<()>,
) -> Result<IngestReport> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(BATCHES_WAITING);
        let (done_tx, done) = std::sync::mpsc::channel();
        let reader = scope.spawn(move || -> Result<IngestReport> {
            let mut out = Batcher {
                tx,
                done,
                batch: Vec::with_capacity(BATCH),
            };
            let mut report = IngestReport::default();
            let mut read = || -> Result<()> {
                for path in files {
                    out.push(Item::File(path.clone()))?;
                    // A sheet is announced with its first record (or the next sheet's).
                    let sheets = std::cell::RefCell::new(Vec::new());
                    let mut record = |rec| {
                        for s in sheets.borrow_mut().drain(..) {
                            out.push(Item::Sheet(s))?;
                        }
                        observe(&rec);
                        out.push(Item::Record(rec))
                    };
                    ingest_file_with(path, cfg, &mut report, &mut record, &mut |s| {
                        sheets.borrow_mut().push(s);
                    })?;
                }
                Ok(())
            };
            let read = read();
            // What was read before an error is delivered too, as a single thread would have.
            out.flush()?;
            read.map(|()| report)
        });
        let mut failed = None;
        for batch in &rx {
            if let Some(e) = batch.iter().find_map(|item| sink(item).err()) {
                failed = Some(e);
                break;
            }
            // Back to the reader to be dropped there; gone if it has finished.
            let _ = done_tx.send(batch);
        }
        drop(rx);
        let read = match reader.join() {
            Ok(read) => read,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match failed {
            Some(e) => Err(e),
            None => read,
        }
    })
}

/// `cfg.sheets` as (sheet name, kind); an unknown table key is a config error.
fn forced_kinds(cfg: &IngestConfig) -> Result<Vec<(String, SheetKind)>> {
    cfg.sheets
        .iter()
        .map(|(table, sheet)| {
            detect::kind_for_key(table)
                .map(|k| (sheet.clone(), k))
                .ok_or_else(|| Error::Config(unknown_table(table, "sheets")))
        })
        .collect()
}

fn unknown_table(table: &str, section: &str) -> String {
    let keys: Vec<&str> = SheetKind::ALL.iter().map(|k| k.key()).collect();
    let mut msg = format!(
        "error: `ingest.{section}.{table}` is not a table; expected one of {}",
        keys.join(", ")
    );
    if let Some(best) = crate::config::did_you_mean(table, &keys) {
        let _ = write!(msg, "\nhelp: did you mean `{best}`?");
    }
    msg
}

/// The first few headers of a row, for messages.
fn headers_preview(row: &[String]) -> String {
    const SHOWN: usize = 8;
    let named: Vec<String> = row
        .iter()
        .filter(|h| !h.is_empty())
        .map(|h| format!("`{h}`"))
        .collect();
    let mut out = named
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if named.len() > SHOWN {
        let _ = write!(out, ", … ({} columns)", named.len());
    }
    if out.is_empty() {
        "no headers".into()
    } else {
        out
    }
}

/// Finds the header row among `texts` (the first non-empty rows of a sheet, as text): the row
/// of the kind the config forces, or the best detected one. `None` when nothing is recognised;
/// an error when the config's columns do not fit or the kind's signature is incomplete.
fn recognise_header(
    texts: &[Vec<String>],
    force: Option<SheetKind>,
    cfg: &IngestConfig,
    location: &str,
) -> Result<Option<(usize, detect::ColumnMap)>> {
    let (index, spec) = if let Some(spec) = force.and_then(detect::spec) {
        (detect::best_row_for(spec, texts).unwrap_or(0), spec)
    } else if let Some(d) = detect::detect(texts, &cfg.columns) {
        (d.header_index, d.map.spec)
    } else {
        return Ok(None);
    };
    // Detection tolerates a bad override; now that the kind is known, report it.
    let map = detect::map_columns(spec, &texts[index], cfg.columns.get(spec.kind.key()))
        .map_err(|e| override_error(location, spec.kind, &e))?;
    let missing = map.missing();
    if !missing.is_empty() {
        return Err(header_error(
            location,
            map.spec.kind,
            &missing,
            &texts[index],
        ));
    }
    Ok(Some((index, map)))
}

/// For a header nothing recognised: which kind it is closest to and what it lacks, as a
/// sentence to append to a message (empty when it resembles nothing).
fn unrecognised_hint(rows: &[Vec<String>]) -> String {
    let Some((i, map)) = detect::closest(rows) else {
        return String::new();
    };
    let matched: Vec<String> = map
        .spec
        .fields
        .iter()
        .zip(&map.cols)
        .filter_map(|(f, c)| c.map(|c| format!("`{}` as `{}`", rows[i][c], f.name)))
        .collect();
    let key = map.spec.kind.key();
    format!(
        " It looks most like `{key}` ({}) but has no {} column; name yours under \
         `ingest.columns.{key}`",
        matched.join(", "),
        map.missing().join(", ")
    )
}

fn header_error(location: &str, kind: SheetKind, missing: &[String], headers: &[String]) -> Error {
    Error::BadInput {
        location: location.to_string(),
        message: format!(
            "missing column {} needed for `{}`; headers found: {}",
            missing.join(", "),
            kind.key(),
            headers_preview(headers)
        ),
    }
}

fn override_error(location: &str, kind: SheetKind, e: &OverrideError) -> Error {
    match e {
        OverrideError::UnknownField(field) => {
            let names: Vec<&str> = detect::spec(kind)
                .map(|s| s.fields.iter().map(|f| f.name).collect())
                .unwrap_or_default();
            let mut msg = format!(
                "error: `ingest.columns.{}.{field}` is not a column of `{}`",
                kind.key(),
                kind.key()
            );
            if let Some(best) = crate::config::did_you_mean(field, &names) {
                let _ = write!(msg, "\nhelp: did you mean `{best}`?");
            }
            Error::Config(msg)
        }
        OverrideError::HeaderNotFound { field, header } => Error::BadInput {
            location: location.to_string(),
            message: format!(
                "column `{header}` (configured as `ingest.columns.{}.{field}`) is not in the header row",
                kind.key()
            ),
        },
    }
}

#[cfg(test)]
mod tests;
