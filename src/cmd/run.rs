//! `onelead run`.

use crate::error::{Error, Result};

/// Runs `onelead run`.
pub fn run(_args: &crate::cli::RunArgs) -> Result<()> {
    Err(Error::Usage("`run` is not built yet".into()))
}
