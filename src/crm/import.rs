//! Statuses back from a CRM: a CRM's export (CSV or xlsx) read into the status changes it asks
//! for. In: the file, the status map and each lead's current status; out: a [`Plan`] of
//! changes, or every problem at once (unknown ids, unmapped values, contradicting rows), so
//! that nothing is half-applied. Recording the plan is the caller's (one transaction).
//!
//! A CRM keeps only the latest status, so any move the transition table allows in one or more
//! steps is taken (`new` → `converted` is `new` → `contacted` → `converted` done in the CRM).
//! The one move no chain of steps allows is leaving `converted`; it needs `--force`.

use std::collections::HashMap;
use std::path::Path;

use calamine::{Data, Reader as _, open_workbook_auto};

use super::{Crm, CrmConfig, StatusMap, normalise};
use crate::error::{Error, Result};
use crate::lifecycle::Status;

/// Headers the OneLead id column goes by, normalised: the export's `OneLead ID`, HubSpot's
/// internal name `onelead_id`, and Salesforce's API name `OneLead_Id__c`.
const ID_HEADERS: &[&str] = &["oneleadid", "oneleadidc"];

/// Headers the status column goes by, normalised, most specific first: the `Lead Status` label
/// of both CRMs, Salesforce's API name `Status`, HubSpot's `hs_lead_status`.
const STATUS_HEADERS: &[&str] = &["leadstatus", "hsleadstatus", "status"];

/// How many problems of each kind an error lists before counting the rest.
const SHOWN: usize = 20;

/// A table read from a CRM file: its headers and its rows with their row numbers as a
/// spreadsheet shows them (the header is row 1).
#[derive(Debug, Default)]
pub struct Table {
    /// The header row.
    pub headers: Vec<String>,
    /// `(row number, cells)`.
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads a CSV (comma or semicolon separated, with or without a byte-order mark) or the first
/// sheet of a workbook.
pub fn read_table(path: &Path) -> Result<Table> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "xlsb" | "ods") {
        read_workbook(path)
    } else {
        read_csv(path)
    }
}

fn read_csv(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = decode(&bytes);
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut table = Table::default();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::BadFile {
            path: path.to_path_buf(),
            message: format!("row {}: {e}", i + 1),
        })?;
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if i == 0 {
            table.headers = cells;
        } else {
            table.rows.push((i + 1, cells));
        }
    }
    Ok(table)
}

/// A file's text by the rule ingest reads exports with (`ingest::encoding`): a byte-order mark
/// names the encoding; without one, valid UTF-8 is UTF-8 and anything else Windows-1252 (what
/// Excel writes for "CSV" on a Western Windows, as a CRM export re-saved in Excel is).
fn decode(bytes: &[u8]) -> String {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling(&bytes[bom..])
            .0
            .into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

fn read_workbook(path: &Path) -> Result<Table> {
    let bad = |message: String| Error::BadFile {
        path: path.to_path_buf(),
        message,
    };
    let mut wb = open_workbook_auto(path).map_err(|e| bad(e.to_string()))?;
    let Some(range) = wb.worksheet_range_at(0) else {
        return Err(bad("the workbook has no sheet".into()));
    };
    let range = range.map_err(|e| bad(e.to_string()))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let mut table = Table::default();
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if i == 0 {
            table.headers = cells;
        } else {
            table.rows.push((first_row + i + 1, cells));
        }
    }
    Ok(table)
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One status change a CRM file asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// The row it came from.
    pub row: usize,
    /// The lead, as stored.
    pub lead_id: String,
    /// Its status now.
    pub from: String,
    /// The status the CRM says.
    pub to: Status,
    /// The CRM's value.
    pub value: String,
}

/// What a CRM file asks for.
#[derive(Debug, Default)]
pub struct Plan {
    /// The changes, in file order, one per lead.
    pub changes: Vec<RowChange>,
    /// Rows whose lead already has the status they say.
    pub unchanged: usize,
    /// Rows without a OneLead id (records created in the CRM) or without a status.
    pub skipped: usize,
}

/// What went wrong in a file, by kind, each with its rows.
#[derive(Debug, Default)]
struct Problems {
    unknown: Vec<(usize, String)>,
    unmapped: Vec<(usize, String)>,
    contradicting: Vec<(usize, String, usize)>,
    leaving_converted: Vec<(usize, String, Status)>,
}

impl Problems {
    fn is_empty(&self) -> bool {
        self.unknown.is_empty()
            && self.unmapped.is_empty()
            && self.contradicting.is_empty()
            && self.leaving_converted.is_empty()
    }

    /// The lines of the error, grouped by kind.
    fn render(&self, status_header: &str) -> String {
        let mut out = Vec::new();
        section(
            &mut out,
            &self.unknown,
            "unknown OneLead ids",
            |(row, id)| format!("row {row}: `{id}`"),
        );
        section(
            &mut out,
            &self.unmapped,
            &format!(
                "`{status_header}` values with no OneLead status (map them under `crm.status_map` in the config, e.g. `\"Nurturing\": contacted`)"
            ),
            |(row, v)| format!("row {row}: `{v}`"),
        );
        section(
            &mut out,
            &self.contradicting,
            "leads given two different statuses",
            |(row, id, first)| format!("row {row}: `{id}` (also row {first})"),
        );
        section(
            &mut out,
            &self.leaving_converted,
            "converted leads moved back (converted is final; `--force` records it anyway)",
            |(row, id, to)| format!("row {row}: `{id}` converted → {}", to.as_str()),
        );
        out.join("\n")
    }
}

fn section<T>(out: &mut Vec<String>, items: &[T], title: &str, line: impl Fn(&T) -> String) {
    if items.is_empty() {
        return;
    }
    out.push(format!("{} {title}:", items.len()));
    out.extend(items.iter().take(SHOWN).map(|i| format!("  {}", line(i))));
    if items.len() > SHOWN {
        out.push(format!("  … and {} more", items.len() - SHOWN));
    }
}

/// Finds a column by its header: the configured one (`crm.<key>`), else the first of `known`
/// present; or an error naming what was looked for (`usual`) and what was found.
fn column(
    table: &Table,
    path: &Path,
    (what, key, usual): (&str, &str, &str),
    configured: Option<&str>,
    known: &[&str],
) -> Result<usize> {
    let headers: Vec<String> = table.headers.iter().map(|h| normalise(h)).collect();
    let found = match configured {
        Some(name) => headers.iter().position(|h| *h == normalise(name)),
        None => known
            .iter()
            .find_map(|k| headers.iter().position(|h| h == k)),
    };
    found.ok_or_else(|| {
        let wanted = configured.map_or_else(
            || format!("{usual} (set `crm.{key}` for another)"),
            |c| format!("`{c}` (`crm.{key}`)"),
        );
        let seen = if table.headers.is_empty() {
            "no header row".to_string()
        } else {
            let quoted: Vec<String> = table.headers.iter().map(|h| format!("`{h}`")).collect();
            quoted.join(", ")
        };
        Error::BadInput {
            location: path.display().to_string(),
            message: format!("no {what} column: looked for {wanted}, found {seen}"),
        }
    })
}

/// The id and status columns.
fn columns(table: &Table, cfg: &CrmConfig, path: &Path) -> Result<(usize, usize)> {
    let id = column(
        table,
        path,
        (
            "OneLead id",
            "id_column",
            "`OneLead ID`, `OneLead_Id__c` or `onelead_id`",
        ),
        cfg.id_column.as_deref(),
        ID_HEADERS,
    )?;
    let status = column(
        table,
        path,
        (
            "status",
            "status_column",
            "`Lead Status`, `Status` or `hs_lead_status`",
        ),
        cfg.status_column.as_deref(),
        STATUS_HEADERS,
    )?;
    Ok((id, status))
}

/// True when `value` is what OneLead writes to a CRM for `current`: the CRM could not say
/// more (Salesforce's defaults have no "qualified"), so it is no change.
fn same_as_exported(value: &str, current: Status) -> bool {
    let v = normalise(value);
    [Crm::Salesforce, Crm::Hubspot]
        .into_iter()
        .any(|crm| normalise(crm.status_value(current)) == v)
}

/// Finds a lead by id (any case): its stored id and status.
pub type Lookup<'a> = dyn FnMut(&str) -> Result<Option<(String, String)>> + 'a;

/// Every OneLead id `table` names, for a caller that reads their statuses at once.
pub fn ids(table: &Table, cfg: &CrmConfig, path: &Path) -> Result<Vec<String>> {
    let (id_col, _) = columns(table, cfg, path)?;
    Ok(table
        .rows
        .iter()
        .filter_map(|(_, cells)| cells.get(id_col).map(|c| c.trim()))
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect())
}

/// Decides every change `table` (read from `path`) asks for, or fails listing every problem.
/// `lookup` gives a lead's stored id and status by id (any case); `force` allows leaving
/// `converted`.
pub fn plan(
    table: &Table,
    path: &Path,
    cfg: &CrmConfig,
    force: bool,
    lookup: &mut Lookup<'_>,
) -> Result<Plan> {
    let (id_col, status_col) = columns(table, cfg, path)?;
    let map: StatusMap = cfg.status_map();
    let mut plan = Plan::default();
    let mut problems = Problems::default();
    // Lead → (row, status) of its first row, to catch a lead given two statuses.
    let mut seen: HashMap<String, (usize, Status)> = HashMap::new();
    for (row, cells) in &table.rows {
        let cell = |i: usize| cells.get(i).map_or("", |c| c.trim());
        let (id, value) = (cell(id_col), cell(status_col));
        if id.is_empty() || value.is_empty() {
            plan.skipped += 1;
            continue;
        }
        let Some(to) = map.get(value) else {
            problems.unmapped.push((*row, value.to_string()));
            continue;
        };
        let Some((lead_id, from)) = lookup(id)? else {
            problems.unknown.push((*row, id.to_uppercase()));
            continue;
        };
        if let Some((first, earlier)) = seen.get(&lead_id) {
            if *earlier != to {
                problems.contradicting.push((*row, lead_id, *first));
            }
            continue;
        }
        seen.insert(lead_id.clone(), (*row, to));
        let current = Status::parse(&from);
        if current == Some(to) || current.is_some_and(|c| same_as_exported(value, c)) {
            plan.unchanged += 1;
            continue;
        }
        if current == Some(Status::Converted) && !force {
            problems.leaving_converted.push((*row, lead_id, to));
            continue;
        }
        plan.changes.push(RowChange {
            row: *row,
            lead_id,
            from,
            to,
            value: value.to_string(),
        });
    }
    if !problems.is_empty() {
        let header = table
            .headers
            .get(status_col)
            .map_or("status", String::as_str);
        return Err(Error::BadInput {
            location: path.display().to_string(),
            message: format!("nothing was changed:\n{}", problems.render(header.trim())),
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leads() -> HashMap<String, String> {
        [
            ("AAAA0001", "new"),
            ("AAAA0002", "qualified"),
            ("AAAA0003", "converted"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }

    fn plan_of(csv: &str, force: bool) -> Result<Plan> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.csv");
        std::fs::write(&path, csv).unwrap();
        let leads = leads();
        let table = read_table(&path)?;
        plan(&table, &path, &CrmConfig::default(), force, &mut |id| {
            let id = id.to_uppercase();
            Ok(leads.get(&id).map(|s| (id.clone(), s.clone())))
        })
    }

    #[test]
    fn changes_come_from_mapped_values_and_same_statuses_are_no_change() {
        let p = plan_of(
            "\u{feff}Lead ID,OneLead_Id__c,Status\n00Q1,aaaa0001,Closed - Converted\n\
             00Q2,AAAA0002,Working - Contacted\n00Q3,,Open - Not Contacted\n",
            false,
        )
        .unwrap();
        assert_eq!(
            p.changes,
            vec![RowChange {
                row: 2,
                lead_id: "AAAA0001".into(),
                from: "new".into(),
                to: Status::Converted,
                value: "Closed - Converted".into(),
            }]
        );
        // Qualified exports as Working - Contacted: reading it back is no change.
        assert_eq!((p.unchanged, p.skipped), (1, 1));
    }

    #[test]
    fn every_problem_is_listed_with_its_row_and_nothing_is_planned() {
        let err = plan_of(
            "OneLead ID;Lead Status\nAAAA0001;Nurturing\nZZZZ9999;New\n\
             AAAA0002;Unqualified\nAAAA0002;Closed - Converted\nAAAA0003;Open\n",
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(err.contains("row 2: `Nurturing`"), "{err}");
        assert!(err.contains("`crm.status_map`"), "{err}");
        assert!(err.contains("row 3: `ZZZZ9999`"), "{err}");
        assert!(err.contains("row 5: `AAAA0002` (also row 4)"), "{err}");
        assert!(err.contains("row 6: `AAAA0003` converted → new"), "{err}");
    }

    #[test]
    fn utf16_and_windows_1252_files_read_like_utf8() {
        assert_eq!(decode(b"\xef\xbb\xbfLead Status"), "Lead Status");
        assert_eq!(decode(b"Qualifi\xe9"), "Qualifié");
        assert_eq!(decode("Qualifié".as_bytes()), "Qualifié");
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("Société".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16), "Société");
    }

    #[test]
    fn force_lets_a_converted_lead_move_back() {
        let p = plan_of("OneLead ID,Lead Status\nAAAA0003,Open\n", true).unwrap();
        assert_eq!(p.changes[0].to, Status::New);
    }

    #[test]
    fn a_file_without_the_id_column_says_what_it_found() {
        let err = plan_of("Lead ID,Status\n00Q1,New\n", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no OneLead id column"), "{err}");
        assert!(err.contains("found `Lead ID`, `Status`"), "{err}");
    }
}
