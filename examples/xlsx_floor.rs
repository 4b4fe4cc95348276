//! The floor for reading an xlsx workbook: calamine's streaming cell reader over every cell of
//! every sheet, doing nothing with them. `benches/xlsx.sh` measures `onelead run` against it
//! (issue 26: run ≤ 1.3 × this).
//!
//! Usage: `cargo run --release --example xlsx_floor -- FILE.xlsx...`

use calamine::{Reader, Xlsx, open_workbook};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        return Err("usage: xlsx_floor FILE.xlsx...".into());
    }
    let mut cells = 0_u64;
    for file in &files {
        let mut wb: Xlsx<_> = open_workbook(file)?;
        for name in wb.sheet_names() {
            let mut reader = wb.worksheet_cells_reader(&name)?;
            while let Some(cell) = reader.next_cell()? {
                std::hint::black_box(cell.get_value());
                cells += 1;
            }
        }
    }
    println!("{cells} cells");
    Ok(())
}
