//! `onelead sample`: writes a synthetic export and prints what it wrote.

use std::io::Write as _;

use crate::error::Result;
use crate::sample::write_sample;

/// Runs `onelead sample`.
pub fn run(args: &crate::cli::SampleArgs) -> Result<()> {
    let summary = write_sample(&args.out, args.rows, args.seed, args.format)?;
    let mut out = std::io::stdout().lock();
    for file in &summary.files {
        writeln!(out, "wrote {}", file.display())?;
    }
    for (sheet, rows) in &summary.sheets {
        writeln!(out, "  {sheet:<22} {rows:>9} rows")?;
    }
    Ok(())
}
