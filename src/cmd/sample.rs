//! `onelead sample`.

use crate::error::{Error, Result};

/// Runs `onelead sample`.
pub fn run(_args: &crate::cli::SampleArgs) -> Result<()> {
    Err(Error::Usage("`sample` is not built yet".into()))
}
