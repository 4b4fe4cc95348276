//! `onelead sample`: writes a synthetic export and prints what it wrote.

use std::io::Write as _;

use crate::error::Result;
use crate::sample::{Overrides, write_sample_sized};

/// Runs `onelead sample`.
pub fn run(args: &crate::cli::SampleArgs) -> Result<()> {
    let overrides = Overrides {
        opportunities: args.opportunities,
        projects: args.projects,
    };
    let summary = write_sample_sized(&args.out, args.rows, overrides, args.seed, args.format)?;
    let mut out = std::io::stdout().lock();
    for file in &summary.files {
        writeln!(out, "wrote {}", file.display())?;
    }
    for (sheet, rows) in &summary.sheets {
        writeln!(out, "  {sheet:<22} {rows:>9} rows")?;
    }
    Ok(())
}
