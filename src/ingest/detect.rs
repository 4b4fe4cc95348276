//! Sheet recognition by content: header names in, (kind, header row, field → column) out.
//! Headers are compared after [`normalize_header`], against per-field synonym lists, so
//! `Serial_Number_Id`, `serial number id` and `SERIAL-NUMBER-ID` all name the same field, and
//! so do CRM API names: `Account_ST_ID__c`, `Account__r.Name`, `opportunity_account_name`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::model::SheetKind;

/// How many non-empty rows from the top may hold the header row.
pub const HEADER_SCAN_ROWS: usize = 20;

pub use super::fields::{FieldSpec, KINDS, KindSpec};

/// Lowercase with everything but letters and digits removed, after [`api_label`].
pub fn normalize_header(h: &str) -> String {
    api_label(h)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Salesforce API names as the words they stand for. A custom field ends in `__c` (`__pc` on
/// person accounts), a custom relationship in `__r`, a managed package's fields start with its
/// namespace and `__` (`npe01__Payment_Amount__c`), and a report or SOQL export names a parent's
/// field by path (`Account.Name`, `Owner__r.Name`) — Salesforce's "Relationship Fields in a
/// Header Row" and field reference. A path whose field repeats its parent's name
/// (`Account.Account_ST_ID__c`) reads as the field alone.
pub fn api_label(h: &str) -> Cow<'_, str> {
    if !h.contains("__") && !h.contains('.') {
        return Cow::Borrowed(h);
    }
    let mut words: Vec<&str> = Vec::new();
    for seg in h.split('.') {
        let seg = seg.trim();
        let lower = seg.to_ascii_lowercase();
        let seg = ["__c", "__pc", "__r"]
            .iter()
            .find(|s| lower.ends_with(*s))
            .map_or(seg, |s| &seg[..seg.len() - s.len()]);
        let seg = seg.split_once("__").map_or(seg, |(_, rest)| rest);
        let repeats = |prev: &&str| {
            let (p, s) = (normalize_plain(prev), normalize_plain(seg));
            !p.is_empty() && s.starts_with(&p)
        };
        if words.last().is_some_and(repeats) {
            words.pop();
        }
        words.push(seg);
    }
    Cow::Owned(words.join(" "))
}

fn normalize_plain(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The spec of a tabular kind.
pub fn spec(kind: SheetKind) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// The kind whose config key is `key`.
pub fn kind_for_key(key: &str) -> Option<SheetKind> {
    SheetKind::ALL.into_iter().find(|k| k.key() == key)
}

/// Field → column index for one sheet.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// The kind these columns are for.
    pub spec: &'static KindSpec,
    /// Parallel to `spec.fields`.
    pub cols: Vec<Option<usize>>,
}

impl ColumnMap {
    /// The column index of a field, if the sheet has it.
    pub fn col(&self, field: &str) -> Option<usize> {
        self.spec
            .fields
            .iter()
            .position(|f| f.name == field)
            .and_then(|i| self.cols[i])
    }

    /// How many fields were found.
    pub fn matched(&self) -> usize {
        self.cols.iter().flatten().count()
    }

    /// The signature groups with no field present, as `` `a` or `b` `` texts.
    pub fn missing(&self) -> Vec<String> {
        self.spec
            .required
            .iter()
            .filter(|group| group.iter().all(|f| self.col(f).is_none()))
            .map(|group| {
                group
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .collect()
    }
}

/// A problem with a configured column override.
#[derive(Debug, Clone, PartialEq)]
pub enum OverrideError {
    /// The field is not a column of the table.
    UnknownField(String),
    /// The configured header is not in the header row.
    HeaderNotFound {
        /// The field.
        field: String,
        /// The header as configured.
        header: String,
    },
}

/// Matches a header row to a kind's fields. Overrides (`field → header as written`) win; among
/// duplicate headers the first one wins.
pub fn map_columns(
    spec: &'static KindSpec,
    headers: &[String],
    overrides: Option<&BTreeMap<String, String>>,
) -> Result<ColumnMap, OverrideError> {
    let norm: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let mut cols = by_synonyms(spec, &norm);
    for (field, header) in overrides.into_iter().flatten() {
        let Some(i) = spec.fields.iter().position(|f| f.name == field) else {
            return Err(OverrideError::UnknownField(field.clone()));
        };
        let want = header.trim();
        let found = headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(want))
            .or_else(|| norm.iter().position(|h| *h == normalize_header(want)));
        match found {
            Some(c) => cols[i] = Some(c),
            None => {
                return Err(OverrideError::HeaderNotFound {
                    field: field.clone(),
                    header: header.clone(),
                });
            }
        }
    }
    // A column claimed by an override must not also feed another field through a synonym.
    if let Some(ov) = overrides {
        let taken: Vec<usize> = spec
            .fields
            .iter()
            .zip(&cols)
            .filter(|(f, _)| ov.contains_key(f.name))
            .filter_map(|(_, c)| *c)
            .collect();
        for (f, c) in spec.fields.iter().zip(cols.iter_mut()) {
            if !ov.contains_key(f.name) && c.is_some_and(|c| taken.contains(&c)) {
                *c = None;
            }
        }
    }
    Ok(ColumnMap { spec, cols })
}

/// Each field's column by its synonyms (`norm`: the normalised headers), then a bare record
/// id where the header shows the kind's markers.
fn by_synonyms(spec: &KindSpec, norm: &[String]) -> Vec<Option<usize>> {
    let bare: Vec<Option<&str>> = norm.iter().map(|h| strip_prefix(spec, h)).collect();
    let mut cols: Vec<Option<usize>> = spec
        .fields
        .iter()
        .map(|f| {
            let own = normalize_header(f.name);
            // Synonyms are tried in order so the most specific spelling wins over a generic one,
            // and headers as written before headers without their object prefix.
            let syns = || {
                f.synonyms
                    .iter()
                    .copied()
                    .chain(std::iter::once(own.as_str()))
            };
            syns()
                .find_map(|syn| norm.iter().position(|h| h == syn))
                .or_else(|| syns().find_map(|syn| bare.iter().position(|h| *h == Some(syn))))
        })
        .collect();
    if let Some(g) = &spec.generic_id
        && let Some(i) = spec.fields.iter().position(|f| f.name == g.field)
        && cols[i].is_none()
        && norm.iter().zip(&bare).any(|(h, b)| {
            g.markers.contains(&h.as_str()) || b.is_some_and(|b| g.markers.contains(&b))
        })
    {
        cols[i] = norm.iter().position(|h| g.headers.contains(&h.as_str()));
    }
    cols
}

/// `h` without one of the kind's object prefixes, when something is left.
fn strip_prefix<'a>(spec: &KindSpec, h: &'a str) -> Option<&'a str> {
    spec.prefixes
        .iter()
        .find_map(|p| h.strip_prefix(p).filter(|rest| !rest.is_empty()))
}

/// A recognised header row.
#[derive(Debug, Clone)]
pub struct Detected {
    /// Index of the header row among the candidate rows given.
    pub header_index: usize,
    /// The columns.
    pub map: ColumnMap,
}

/// Finds the best (kind, header row) among `rows` (the first non-empty rows, as text). Only kinds
/// whose signature is complete qualify; the most matched fields win, earlier rows and kinds break
/// ties. Column overrides from the config count, but an invalid override does not fail detection
/// (it is reported once the kind is known).
pub fn detect(
    rows: &[Vec<String>],
    columns: &BTreeMap<String, BTreeMap<String, String>>,
) -> Option<Detected> {
    let mut best: Option<Detected> = None;
    for (i, row) in rows.iter().enumerate().take(HEADER_SCAN_ROWS) {
        for spec in KINDS {
            // Only the overrides that fit this row count here; bad ones are reported later.
            let usable: BTreeMap<String, String> = columns
                .get(spec.kind.key())
                .into_iter()
                .flatten()
                .filter(|(f, h)| {
                    let one = BTreeMap::from([((*f).clone(), (*h).clone())]);
                    map_columns(spec, row, Some(&one)).is_ok()
                })
                .map(|(f, h)| (f.clone(), h.clone()))
                .collect();
            let Ok(map) = map_columns(spec, row, Some(&usable)) else {
                continue;
            };
            if !map.missing().is_empty() {
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|b| map.matched() > b.map.matched())
            {
                best = Some(Detected {
                    header_index: i,
                    map,
                });
            }
        }
    }
    best
}

/// For a sheet nothing recognised: the kind whose fields its header matches best (at least
/// two), with the candidate row, for "looks like" hints.
pub fn closest(rows: &[Vec<String>]) -> Option<(usize, ColumnMap)> {
    let mut best: Option<(usize, ColumnMap)> = None;
    for (i, row) in rows.iter().enumerate().take(HEADER_SCAN_ROWS) {
        for spec in KINDS {
            let Ok(map) = map_columns(spec, row, None) else {
                continue;
            };
            if map.matched() >= 2
                && best
                    .as_ref()
                    .is_none_or(|(_, b)| map.matched() > b.matched())
            {
                best = Some((i, map));
            }
        }
    }
    best
}

/// For a sheet forced to `spec` by the config: the candidate row matching most of its fields.
pub fn best_row_for(spec: &'static KindSpec, rows: &[Vec<String>]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, row) in rows.iter().enumerate().take(HEADER_SCAN_ROWS) {
        if let Ok(map) = map_columns(spec, row, None)
            && best.is_none_or(|(_, n)| map.matched() > n)
        {
            best = Some((i, map.matched()));
        }
    }
    best.map(|(i, _)| i)
}

/// What a kind's header must contain, for "no known header" messages.
pub fn signatures_text() -> String {
    KINDS
        .iter()
        .map(|k| {
            let groups: Vec<String> = k.required.iter().map(|g| g.join("|")).collect();
            format!("{} needs {}", k.kind.key(), groups.join(" + "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn header_normalisation_ignores_case_and_punctuation() {
        for h in [
            "Serial_Number_Id",
            "serial number id",
            "SERIAL-NUMBER-ID",
            " Serial Number ID ",
        ] {
            assert_eq!(normalize_header(h), "serialnumberid");
        }
        assert_eq!(normalize_header("3rd Party Svc Cost"), "3rdpartysvccost");
    }

    #[test]
    fn aug29_headers_are_recognised() {
        let cases: [(&[&str], SheetKind); 5] = [
            (
                &[
                    "Serial_Number_Id",
                    "Product_Id",
                    "Product_Name",
                    "Support_Status",
                ],
                SheetKind::InstallBase,
            ),
            (
                &[
                    "HPE Opportunity ID",
                    "Opportunity NAme",
                    "Account ST ID",
                    "Account Name",
                    "Product Line",
                ],
                SheetKind::Opportunity,
            ),
            (
                &[
                    "Project",
                    "PRJ Siebel ID",
                    "PRJ Customer",
                    "PRJ Customer ID",
                    "PRJ System Status",
                    "PRJ Size",
                ],
                SheetKind::Project,
            ),
            (
                &["Practice", "Sub-Practice", "Services"],
                SheetKind::Service,
            ),
            (
                &[
                    "ProjectID",
                    "ProjectName",
                    "PracticeName",
                    "PurchasedCredits",
                    "ActiveCredits",
                ],
                SheetKind::ServiceCredit,
            ),
        ];
        for (headers, kind) in cases {
            let d = detect(&[row(headers)], &BTreeMap::new()).unwrap();
            assert_eq!(d.map.spec.kind, kind, "{headers:?}");
        }
    }

    #[test]
    fn customer_id_does_not_steal_customer() {
        let d = detect(
            &[row(&[
                "PRJ Customer ID",
                "PRJ Customer",
                "Project",
                "PRJ Size",
            ])],
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(d.map.col("customer"), Some(1));
        assert_eq!(d.map.col("customer_id"), Some(0));
    }

    #[test]
    fn header_row_found_below_a_title() {
        let rows = [
            row(&["Export of 2024-05-01"]),
            row(&[]),
            row(&["serial_number", "product_name", "support_status"]),
        ];
        let d = detect(&rows, &BTreeMap::new()).unwrap();
        assert_eq!(d.header_index, 2);
    }

    #[test]
    fn duplicate_headers_first_wins() {
        let d = detect(
            &[row(&["Practice", "Services", "Services"])],
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(d.map.col("service"), Some(1));
    }

    #[test]
    fn unrelated_headers_are_not_recognised() {
        assert!(detect(&[row(&["Name", "Age", "City"])], &BTreeMap::new()).is_none());
    }

    #[test]
    fn overrides_map_odd_headers_and_report_bad_ones() {
        let ib = spec(SheetKind::InstallBase).unwrap();
        let headers = row(&["Box", "Model", "Coverage"]);
        let ov = BTreeMap::from([
            ("serial_number".to_string(), "Box".to_string()),
            ("product_name".to_string(), "model".to_string()),
            ("support_status".to_string(), "Coverage".to_string()),
        ]);
        let m = map_columns(ib, &headers, Some(&ov)).unwrap();
        assert!(m.missing().is_empty());
        assert_eq!(m.col("product_name"), Some(1));
        let bad = BTreeMap::from([("serial".to_string(), "Box".to_string())]);
        assert_eq!(
            map_columns(ib, &headers, Some(&bad)).unwrap_err(),
            OverrideError::UnknownField("serial".into())
        );
        let cols = BTreeMap::from([("install_base".to_string(), ov)]);
        assert_eq!(
            detect(&[headers], &cols).unwrap().map.spec.kind,
            SheetKind::InstallBase
        );
    }

    #[test]
    fn api_names_read_as_their_words() {
        for (h, want) in [
            ("Account_ST_ID__c", "accountstid"),
            ("Owner__r.Name", "ownername"),
            ("Account.Name", "accountname"),
            ("ACCOUNT.NAME", "accountname"),
            ("npe01__Payment_Amount__c", "paymentamount"),
            ("Account__r.Account_ST_ID__c", "accountstid"),
            ("Territory__r.Territory_ID__c", "territoryid"),
            ("Opp. Name", "oppname"),
            ("HPE Opportunity ID", "hpeopportunityid"),
        ] {
            assert_eq!(normalize_header(h), want, "{h}");
        }
    }

    /// Field → header, for the fields a map found.
    fn mapped(d: &Detected, headers: &[String]) -> Vec<(&'static str, String)> {
        d.map
            .spec
            .fields
            .iter()
            .zip(&d.map.cols)
            .filter_map(|(f, c)| c.map(|c| (f.name, headers[c].clone())))
            .collect()
    }

    #[test]
    fn crm_api_exports_of_opportunities_are_recognised() {
        // See: issue 20 — an opportunity sheet named by API names loaded as nothing.
        // Salesforce names fields by API name in Data Loader and Bulk API CSVs: `Id` (labelled
        // "Opportunity ID"), `Name`, custom fields ending in `__c`, parents' fields by path
        // (`Account.Name`, `Owner__r.Name`) — developer.salesforce.com field reference for
        // Opportunity and "Relationship Fields in a Header Row".
        let sf = row(&[
            "Id",
            "Name",
            "Account.Name",
            "Account_ST_ID__c",
            "Product_Line__c",
            "StageName",
            "CloseDate",
            "Owner__r.Name",
        ]);
        let d = detect(std::slice::from_ref(&sf), &BTreeMap::new()).unwrap();
        assert_eq!(d.map.spec.kind, SheetKind::Opportunity);
        assert_eq!(
            mapped(&d, &sf),
            [
                ("opportunity_id", "Id".to_string()),
                ("name", "Name".into()),
                ("territory_id", "Account_ST_ID__c".into()),
                ("account_name", "Account.Name".into()),
                ("product_line", "Product_Line__c".into())
            ]
        );
        // Warehouse copies prefix each column with its object (Conga's and dbt's
        // `Opportunity_Account_Name`).
        let snake = row(&[
            "opportunity_id",
            "opportunity_name",
            "opportunity_account_name",
            "opportunity_account_st_id",
            "opportunity_product_line",
        ]);
        let d = detect(std::slice::from_ref(&snake), &BTreeMap::new()).unwrap();
        assert_eq!(d.map.spec.kind, SheetKind::Opportunity);
        assert_eq!(mapped(&d, &snake).len(), 5, "{:?}", mapped(&d, &snake));
        // HubSpot's deal exports use property labels: `Record ID`, `Deal Name`, `Deal Stage`,
        // `Close Date`, `Associated Company`.
        let hubspot = row(&[
            "Record ID",
            "Deal Name",
            "Associated Company",
            "Deal Stage",
            "Close Date",
            "Amount",
        ]);
        let d = detect(std::slice::from_ref(&hubspot), &BTreeMap::new()).unwrap();
        assert_eq!(
            mapped(&d, &hubspot),
            [
                ("opportunity_id", "Record ID".to_string()),
                ("name", "Deal Name".into()),
                ("account_name", "Associated Company".into())
            ]
        );
    }

    #[test]
    fn a_bare_id_is_not_an_opportunity_without_an_opportunity_column() {
        // A Salesforce contact export has `Id` and `Account.Name` too.
        let contacts = row(&["Id", "FirstName", "LastName", "Account.Name", "Email"]);
        assert!(detect(std::slice::from_ref(&contacts), &BTreeMap::new()).is_none());
        assert!(
            closest(&[contacts]).is_none(),
            "one shared column is no likeness"
        );
        let no_id = row(&["Opportunity Name", "Account Name", "Amount"]);
        let (i, near) = closest(&[row(&["Title"]), no_id]).unwrap();
        assert_eq!((i, near.spec.kind), (1, SheetKind::Opportunity));
        assert_eq!(near.missing(), ["`opportunity_id`"]);
    }

    #[test]
    fn missing_lists_unmet_groups() {
        let ib = spec(SheetKind::InstallBase).unwrap();
        let m = map_columns(ib, &row(&["Serial_Number_Id"]), None).unwrap();
        assert_eq!(
            m.missing(),
            ["`product_name` or `product_id`", "`support_status`"]
        );
    }
}
