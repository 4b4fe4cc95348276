//! `onelead_sku.xlsx`: a pivot-like product → services → SKU sheet laid out like the vendor's.
//!
//! In: a path. Out: one workbook with sheet `Sheet2`: the header on row 5 (`Product` in D5,
//! `Services Offered` merged over E5:L5), category header rows in column D followed by product
//! rows with 2–8 offerings in E..L written `Service name (SKU1/SKU2)`, blank separators, then a
//! SKU table block and a note. The content is fixed (independent of the seed): the catalogue is
//! reference data, not sampled data. Every SKU code is invented.

use std::path::Path;

use rust_xlsxwriter::{Format, FormatAlign, Workbook};

use super::sink::{fixed_properties, xlsx_err};
use crate::error::Result;

/// The sheet name, as in the real workbook.
pub const SHEET: &str = "Sheet2";

/// One product and its offerings.
type ProductRow = (&'static str, &'static [&'static str]);

/// `(category, [(product, [offerings])])`. Service names cover the recommendation boost
/// keywords: Health Check, Upgrade, Performance, Migration, Install & Startup, Rebalance.
const MATRIX: &[(&str, &[ProductRow])] = &[
    (
        "Storage SW",
        &[
            (
                "3PAR",
                &[
                    "OS upgrade (HN310A1/HN310AE/HN310AC)",
                    "Health Check (H7R41AC)",
                    "Performance Analysis (HQ5P2A1#002)",
                    "Remote Copy setup (HB217A1#6QK/HB217A1#6R2)",
                    "File services configuration",
                    "Data reduction services (HB217A1#6ZD)",
                ],
            ),
            (
                "Primera",
                &[
                    "OS upgrade (HN310A1/HN310AE/HN310AC)",
                    "Health Check (H7R41AC)",
                    "Performance Analysis (HQ5P2A1#002)",
                    "Migration",
                ],
            ),
            (
                "Alletra",
                &[
                    "OS upgrade (HN310A1/HN310AE/HN310AC)",
                    "Health Check (H7R41AC)",
                    "Performance Analysis (HQ5P2A1#002)",
                    "Remote Copy setup (HB217A1#6QK/HB217A1#6R2)",
                    "Migration",
                ],
            ),
            ("Nimble", &["OS upgrade", "Health Check"]),
            ("MSA", &["Firmware upgrade", "Health Check", "Gap Analysis"]),
            (
                "StoreOnce",
                &[
                    "OS upgrade",
                    "Health check (HN418A1/HN418AE)",
                    "Replication setup (HB217A1#6MA)",
                    "Migration",
                    "Catalyst deployment (HB217A1#6TB)",
                ],
            ),
            ("MSL", &["Firmware upgrade", "Health Check"]),
        ],
    ),
    (
        "Storage HW",
        &[
            (
                "3PAR",
                &[
                    "Install & Startup",
                    "HW upgrade",
                    "Rebalance Services (HB217A1#6SW/HB217A1#6WD)",
                ],
            ),
            (
                "Primera",
                &[
                    "Install & Startup",
                    "HW upgrade (HB217A1#6Q5 / HB217A1#6Q6)",
                    "Rebalance Services (HB217A1#6SW/HB217A1#6WD)",
                ],
            ),
            (
                "Alletra",
                &[
                    "Install & Startup",
                    "HW upgrade",
                    "Rebalance Services (HB217A1#6SW/HB217A1#6WD)",
                ],
            ),
            ("Nimble", &["Install & Startup", "HW upgrade"]),
            ("MSA", &["Install & Startup (HB116A1#6J1)", "HW upgrade"]),
            (
                "StoreOnce",
                &["Install & Startup", "HW upgrade (HB217A1#6VH)"],
            ),
        ],
    ),
    (
        "Compute",
        &[
            (
                "Servers",
                &[
                    "Install & Startup",
                    "OS deployment",
                    "Health Check",
                    "Firmware upgrade (HL442A1)",
                    "OneView configuration (H8M21A1)",
                ],
            ),
            (
                "Synergy",
                &[
                    "Install & Startup",
                    "Firmware upgrade (HF7Y3A1)",
                    "Health Check (HU9C4A1 / HU9C4AE)",
                    "Firmware Update Analysis (HF7Y4A1)",
                    "HW upgrade",
                    "OneView configuration (H8M21A1)",
                ],
            ),
            (
                "C7000",
                &[
                    "Install & Startup",
                    "Firmware upgrade",
                    "Health Check (H5G18A1/ H5G18AE/ H5G18AC)",
                    "Migration",
                ],
            ),
        ],
    ),
    (
        "Switches",
        &[
            (
                "Networking",
                &[
                    "Install & Startup",
                    "Firmware upgrade",
                    "Migration",
                    "Health check",
                ],
            ),
            (
                "SAN",
                &["Install & Startup", "Firmware upgrade", "Health check"],
            ),
        ],
    ),
    (
        "Converged Systems",
        &[
            (
                "Linux (All Flavour)",
                &[
                    "Install & Startup",
                    "OS Upgrade",
                    "OS Patch",
                    "Health Check",
                    "Bare Metal Recovery",
                ],
            ),
            (
                "SAP HANA",
                &[
                    "Install & Startup",
                    "DB upgrade",
                    "DR Drill",
                    "Health Check",
                ],
            ),
        ],
    ),
    (
        "HCI",
        &[
            (
                "SimpliVity",
                &[
                    "Install & Startup",
                    "Firmware upgrade",
                    "Health Check",
                    "Rapid DR Installation",
                    "StoreOnce Integration",
                    "Cluster Expansion",
                    "Resiliency Test",
                    "Workload Migration ",
                ],
            ),
            (
                "Nimble dHCI",
                &[
                    "Greenfield Install & Startup",
                    "Firmware upgrade",
                    "Health Check",
                    "Brownfield Install & Startup",
                    "Performance tuning",
                ],
            ),
            (
                "Azure HCI",
                &["Install & Startup", "Firmware upgrade", "Health Check"],
            ),
        ],
    ),
];

const SKU_HEADERS: [&str; 6] = [
    "Fixed SKU",
    "Flex SKU",
    "Contractual SKU",
    "Service Credits",
    "Service name",
    "Short description",
];

/// Writes the SKU workbook and returns the number of product rows.
pub fn write(path: &Path) -> Result<usize> {
    let err = |e: rust_xlsxwriter::XlsxError| xlsx_err(path, &e);
    let mut workbook = Workbook::new();
    workbook.set_properties(&fixed_properties()?);
    let ws = workbook.add_worksheet();
    ws.set_name(SHEET).map_err(err)?;
    let bold = Format::new().set_bold();
    let centered = Format::new().set_bold().set_align(FormatAlign::Center);
    ws.set_column_width(3, 24).map_err(err)?;
    ws.write_string_with_format(4, 3, "Product", &bold)
        .map_err(err)?;
    ws.merge_range(4, 4, 4, 11, "Services Offered", &centered)
        .map_err(err)?;

    let mut row: u32 = 5;
    let mut products = 0;
    for (i, (category, items)) in MATRIX.iter().enumerate() {
        if i > 0 {
            row += 1; // blank separator row
        }
        ws.write_string_with_format(row, 3, *category, &bold)
            .map_err(err)?;
        row += 1;
        for (product, offerings) in *items {
            ws.write_string(row, 3, *product).map_err(err)?;
            for (c, offering) in offerings.iter().enumerate() {
                ws.write_string(row, 4 + c as u16, *offering).map_err(err)?;
            }
            products += 1;
            row += 1;
        }
    }

    // SKU table block after a gap, as in the real sheet.
    row += 8;
    for (c, h) in SKU_HEADERS.iter().enumerate() {
        ws.write_string_with_format(row, 3 + c as u16, *h, &bold)
            .map_err(err)?;
    }
    row += 1;
    for (c, v) in [
        "H52PQE",
        "H52PQA1",
        "H52PQAC",
        "30 credits",
        "Storage Firmware Remote Service",
        "Storage Firmware Remote SVC",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(row, 3 + c as u16, *v).map_err(err)?;
    }
    row += 2;
    ws.write_string(
        row,
        4,
        "Note: covers 3PAR, Primera, Alletra, Nimble, MSA and StoreOnce arrays under contract",
    )
    .map_err(err)?;
    row += 1;
    ws.write_string(row, 4, "Array Peer Persistence startup")
        .map_err(err)?;
    ws.write_string(row, 5, "HB217A1#6Y9").map_err(err)?;

    workbook.save(path).map_err(err)?;
    Ok(products)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Dimensions, Reader, Xlsx, open_workbook};

    #[test]
    fn layout_matches_the_real_sku_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sku.xlsx");
        let products = write(&path).unwrap();
        let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(wb.sheet_names(), vec![SHEET.to_string()]);
        let merges = wb.merge_cells_by_sheet_name(SHEET).unwrap();
        assert!(merges.contains(&Dimensions {
            start: (4, 4),
            end: (4, 11)
        }));
        let range = wb.worksheet_range(SHEET).unwrap();
        let text = |r: u32, c: u32| match range.get_value((r, c)) {
            Some(Data::String(s)) => s.clone(),
            _ => String::new(),
        };
        assert_eq!(text(4, 3), "Product");
        assert_eq!(text(4, 4), "Services Offered");
        assert_eq!(text(5, 3), "Storage SW");
        // Every category header appears in column D, with no offerings beside it.
        let col_d: Vec<(u32, String)> = (5..80).map(|r| (r, text(r, 3))).collect();
        for cat in [
            "Storage SW",
            "Storage HW",
            "Compute",
            "Switches",
            "Converged Systems",
            "HCI",
        ] {
            let (r, _) = col_d.iter().find(|(_, v)| v == cat).unwrap();
            assert!(text(*r, 4).is_empty(), "{cat} has offerings");
        }
        assert!(col_d.iter().any(|(_, v)| v == "Fixed SKU"));
        // Product rows carry 2..=8 offerings; all boost keywords are covered.
        let mut all = String::new();
        let mut counted = 0;
        for (r, _) in col_d
            .iter()
            .filter(|(r, v)| !v.is_empty() && !text(*r, 4).is_empty())
        {
            if text(*r, 3) == "Fixed SKU" {
                break;
            }
            let n = (4..12).filter(|&c| !text(*r, c).is_empty()).count();
            assert!((2..=8).contains(&n), "row {r}: {n}");
            counted += 1;
            for c in 4..12 {
                all.push_str(&text(*r, c).to_lowercase());
                all.push('|');
            }
        }
        assert_eq!(counted, products);
        for kw in [
            "health check",
            "upgrade",
            "performance",
            "migration",
            "install & startup",
            "rebalance",
        ] {
            assert!(all.contains(kw), "{kw}");
        }
        assert!(all.contains("(hn310a1/hn310ae/hn310ac)"));
        assert!(all.contains("#6"));
    }
}
