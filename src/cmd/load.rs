//! `onelead load`.

use crate::error::{Error, Result};

/// Runs `onelead load`.
pub fn run(_args: &crate::cli::LoadArgs) -> Result<()> {
    Err(Error::Usage("`load` is not built yet".into()))
}
