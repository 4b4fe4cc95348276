//! The product → service → SKU pivot (`LS_SKU_for_Onelead.xlsx`): a sheet range in, one
//! [`CatalogRecord`] per offering out. The layout, not fixed names, drives the parse: a `Product`
//! cell with `Services Offered` to its right starts block 1; a label row with no offerings that is
//! followed by product rows is a category header; a `Fixed SKU | Flex SKU | ...` row ends block 1
//! and starts the SKU tables, whose rows apply to whole categories.

use std::sync::Arc;

use calamine::{Data, Range};

use super::clean::{self, raw_text};
use super::detect::{HEADER_SCAN_ROWS, normalize_header};
use super::xlsx::column_letter;
use crate::error::Result;
use crate::model::{CatalogRecord, Record, SourceRef};

/// Category given to records from the SKU tables below the matrix.
const SKU_TABLE: &str = "SKU table";

/// Counts from one parsed pivot sheet.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SkuStats {
    /// Records emitted.
    pub records: u64,
    /// Free-text note rows seen in the SKU tables and not loaded.
    pub notes: u64,
}

/// True for a code such as `HM002A1`, `H9Q53AC` or `HA124A1#5XA`: upper-case letters and digits
/// (both present), optionally with a `#` option suffix.
pub fn is_sku(token: &str) -> bool {
    let mut parts = token.splitn(2, '#');
    let base = parts.next().unwrap_or_default();
    let suffix_ok = parts.next().is_none_or(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    base.len() >= 4
        && base
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && base.bytes().any(|b| b.is_ascii_digit())
        && base.bytes().any(|b| b.is_ascii_uppercase())
        && suffix_ok
}

/// `OS upgrade (HM002A1/HM002AE/HM002AC)` → (`OS upgrade`, [HM002A1, HM002AE, HM002AC]). A
/// parenthesised part that is not a SKU list (`(for Simplivity)`) stays in the name.
pub fn parse_offering(text: &str) -> (String, Vec<String>) {
    let mut service = String::new();
    let mut skus = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else {
            break;
        };
        let inner = &rest[open + 1..close];
        let tokens: Vec<&str> = inner.split(['/', ',']).map(str::trim).collect();
        if tokens.iter().all(|t| is_sku(t)) {
            service.push_str(&rest[..open]);
            skus.extend(tokens.into_iter().map(str::to_string));
        } else {
            service.push_str(&rest[..=close]);
        }
        rest = &rest[close + 1..];
    }
    service.push_str(rest);
    let service = service.split_whitespace().collect::<Vec<_>>().join(" ");
    (service, skus)
}

/// Normalised headers of the SKU tables (`Fixed SKU`, `Service name`, ...).
const TABLE_HEADERS: &[&str] = &[
    "fixedsku",
    "flexsku",
    "contractualsku",
    "servicecredits",
    "servicename",
];

fn is_table_header(cells: &[Data]) -> bool {
    cells
        .iter()
        .filter(|c| TABLE_HEADERS.contains(&normalize_header(&raw_text(c)).as_str()))
        .count()
        >= 2
}

/// Where the matrix header is: (row index in the range, product column index in the range).
pub fn find_matrix_header(range: &Range<Data>) -> Option<(usize, usize)> {
    range
        .rows()
        .enumerate()
        .filter(|(_, r)| !r.iter().all(clean::is_blank))
        .take(HEADER_SCAN_ROWS)
        .find_map(|(i, r)| matrix_header_col(r).map(|p| (i, p)))
}

/// The product column of a row that heads the matrix (`Product` with `Services Offered` to
/// its right), if it does.
pub fn matrix_header_col(row: &[Data]) -> Option<usize> {
    let norm: Vec<String> = row.iter().map(|c| normalize_header(&raw_text(c))).collect();
    let p = norm.iter().position(|h| h == "product")?;
    norm[p + 1..]
        .iter()
        .any(|h| h == "servicesoffered")
        .then_some(p)
}

fn text(d: &Data) -> Option<String> {
    clean::clean_text(d).ok()
}

/// One row of block 1.
struct MatrixRow {
    row: u32,
    label: Option<String>,
    offerings: Vec<(usize, String)>,
}

/// Parses the pivot. `header` is what [`find_matrix_header`] found; without one (a sheet forced
/// to the catalog by config) the first non-empty row is data and its first used column the label.
pub fn read_sku_sheet(
    range: &Range<Data>,
    header: Option<(usize, usize)>,
    file: &str,
    sheet: &str,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<SkuStats> {
    let (top, col0) = range.start().unwrap_or((0, 0));
    let (first, pcol) = header.map_or((0, 0), |(r, c)| (r + 1, c));
    let rows: Vec<(u32, &[Data])> = range
        .rows()
        .enumerate()
        .skip(first)
        .map(|(i, r)| (top + i as u32 + 1, r))
        .collect();
    let (file, sheet): (Arc<str>, Arc<str>) = (file.into(), sheet.into());
    let src = |row: u32| SourceRef {
        file: Arc::clone(&file),
        sheet: Arc::clone(&sheet),
        row,
    };
    let letter = |c: usize| column_letter(col0 + c as u32);
    let mut stats = SkuStats::default();

    let split = rows
        .iter()
        .position(|(_, r)| is_table_header(r))
        .unwrap_or(rows.len());
    let matrix: Vec<MatrixRow> = rows[..split]
        .iter()
        .filter(|(_, r)| !r.iter().all(clean::is_blank))
        .map(|(row, r)| MatrixRow {
            row: *row,
            label: r.get(pcol).and_then(text),
            offerings: r
                .iter()
                .enumerate()
                .skip(pcol + 1)
                .filter_map(|(c, d)| text(d).map(|t| (c, t)))
                .collect(),
        })
        .collect();

    let (mut category, mut product): (Option<String>, Option<String>) = (None, None);
    for (i, m) in matrix.iter().enumerate() {
        if m.offerings.is_empty() {
            // A label without offerings heads a category when product rows follow it.
            if matrix.get(i + 1).is_some_and(|n| !n.offerings.is_empty()) {
                category.clone_from(&m.label);
                product = None;
            } else {
                product.clone_from(&m.label);
            }
            continue;
        }
        if m.label.is_some() {
            product.clone_from(&m.label);
        }
        for (c, cell) in &m.offerings {
            let (service, skus) = parse_offering(cell);
            stats.records += 1;
            sink(Record::Catalog(CatalogRecord {
                src: src(m.row),
                column: letter(*c),
                product_family: product.clone(),
                category: category.clone(),
                service,
                skus,
            }))?;
        }
    }

    read_sku_tables(
        &rows[split..],
        &mut |row, c, service, skus| {
            stats.records += 1;
            sink(Record::Catalog(CatalogRecord {
                src: src(row),
                column: letter(c),
                product_family: None,
                category: Some(SKU_TABLE.to_string()),
                service,
                skus,
            }))
        },
        &mut stats.notes,
    )?;
    Ok(stats)
}

/// The SKU tables: a header row names the columns; a row with a service name is one record (its
/// SKUs from the SKU columns, or from the row above when those cells are merged down); a row with
/// a SKU and a description is one record; any other non-blank row is a note.
fn read_sku_tables(
    rows: &[(u32, &[Data])],
    emit: &mut dyn FnMut(u32, usize, String, Vec<String>) -> Result<()>,
    notes: &mut u64,
) -> Result<()> {
    let mut name_col: Option<usize> = None;
    let mut last: Option<(u32, Vec<String>)> = None;
    for (row, cells) in rows {
        if cells.iter().all(clean::is_blank) {
            continue;
        }
        if is_table_header(cells) {
            name_col = cells
                .iter()
                .position(|c| normalize_header(&raw_text(c)) == "servicename");
            last = None;
            continue;
        }
        let texts: Vec<(usize, String)> = cells
            .iter()
            .enumerate()
            .filter_map(|(c, d)| text(d).map(|t| (c, t)))
            .collect();
        let skus: Vec<String> = texts
            .iter()
            .filter(|(_, t)| is_sku(t))
            .map(|(_, t)| t.clone())
            .collect();
        // A code under `Service name` (loose rows below the tables) is a SKU, not a name.
        let name = name_col
            .and_then(|c| cells.get(c).and_then(text).map(|t| (c, t)))
            .filter(|(_, t)| !is_sku(t));
        if let Some((c, service)) = name {
            // Merged SKU cells (D55:D56 ...) read as blank below their first row.
            let skus = match &last {
                Some((prev, prev_skus)) if skus.is_empty() && *prev + 1 == *row => {
                    prev_skus.clone()
                }
                _ => skus,
            };
            last = Some((*row, skus.clone()));
            emit(*row, c, service, skus)?;
        } else if let (false, Some((c, desc))) =
            (skus.is_empty(), texts.iter().find(|(_, t)| !is_sku(t)))
        {
            last = None;
            emit(*row, *c, desc.clone(), skus)?;
        } else {
            last = None;
            *notes += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offerings_split_into_service_and_skus() {
        let cases: [(&str, &str, &[&str]); 7] = [
            (
                "OS upgrade (HM002A1/HM002AE/HM002AC)",
                "OS upgrade",
                &["HM002A1", "HM002AE", "HM002AC"],
            ),
            (
                "HW upgrade (HA124A1#5Q3 / HA124A1#5Q4 / HA124A1#5PJ)",
                "HW upgrade",
                &["HA124A1#5Q3", "HA124A1#5Q4", "HA124A1#5PJ"],
            ),
            (
                "Health Check (H4F36A1/ H4F36AE/ H4F36AC)",
                "Health Check",
                &["H4F36A1", "H4F36AE", "H4F36AC"],
            ),
            (
                "Data Optimization services (HA124A1#5XA)",
                "Data Optimization services",
                &["HA124A1#5XA"],
            ),
            ("HW upgrade ", "HW upgrade", &[]),
            (
                "Service (for Simplivity and StoreOnce)",
                "Service (for Simplivity and StoreOnce)",
                &[],
            ),
            ("Cluster (SG, SUSE, RHEL)", "Cluster (SG, SUSE, RHEL)", &[]),
        ];
        for (cell, service, skus) in cases {
            let (s, k) = parse_offering(cell);
            assert_eq!(
                (s.as_str(), k.iter().map(String::as_str).collect::<Vec<_>>()),
                (service, skus.to_vec()),
                "{cell}"
            );
        }
    }

    #[test]
    fn sku_tokens() {
        for ok in ["H9Q53AC", "HA124A1#5XA", "HL997A1", "H44NKE"] {
            assert!(is_sku(ok), "{ok}");
        }
        for bad in ["SUSE", "30 credits", "Health", "HA124A1#", "h9q53ac", "30"] {
            assert!(!is_sku(bad), "{bad}");
        }
    }

    fn sheet(cells: &[((u32, u32), &str)]) -> Range<Data> {
        let mut r = Range::new((4, 3), (12, 6));
        for (pos, v) in cells {
            r.set_value(*pos, Data::String((*v).to_string()));
        }
        r
    }

    #[test]
    fn layout_drives_categories_products_and_tables() {
        let r = sheet(&[
            ((4, 3), "Product"),
            ((4, 4), "Services Offered"),
            ((5, 3), "Disks"),
            ((6, 3), "Box A"),
            ((6, 4), "Install (HX001A1)"),
            ((6, 5), "Tune"),
            ((8, 3), "Fixed SKU"),
            ((8, 4), "Flex SKU"),
            ((8, 5), "Service name"),
            ((9, 3), "H44NKE"),
            ((9, 5), "Remote Service"),
            ((10, 5), "Remote Service (small)"),
            ((11, 4), "Some note"),
            ((12, 4), "Peer Persistence"),
            ((12, 5), "HA124A1#5Y8"),
        ]);
        let header = find_matrix_header(&r);
        assert_eq!(header, Some((0, 0)));
        let mut out = Vec::new();
        let stats = read_sku_sheet(&r, header, "f.xlsx", "S", &mut |rec| {
            out.push(rec);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            stats,
            SkuStats {
                records: 5,
                notes: 1
            }
        );
        let cat: Vec<CatalogRecord> = out
            .into_iter()
            .map(|r| match r {
                Record::Catalog(c) => c,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(cat[0].src.row, 7);
        assert_eq!(cat[0].column, "E");
        assert_eq!(cat[0].category.as_deref(), Some("Disks"));
        assert_eq!(cat[0].product_family.as_deref(), Some("Box A"));
        assert_eq!(cat[0].skus, ["HX001A1"]);
        assert_eq!(cat[2].skus, ["H44NKE"]);
        assert_eq!(cat[3].skus, ["H44NKE"], "merged SKU cells carry down");
        assert_eq!(
            (cat[4].service.as_str(), cat[4].skus.as_slice()),
            ("Peer Persistence", ["HA124A1#5Y8".to_string()].as_slice())
        );
        assert_eq!(cat[4].category.as_deref(), Some(SKU_TABLE));
    }
}
