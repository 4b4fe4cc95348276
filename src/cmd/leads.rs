//! `onelead leads`.

use crate::error::{Error, Result};

/// Runs `onelead leads`.
pub fn run(_args: &crate::cli::LeadsArgs) -> Result<()> {
    Err(Error::Usage("`leads` is not built yet".into()))
}
