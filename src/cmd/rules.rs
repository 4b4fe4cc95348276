//! `onelead rules check`.

use crate::error::{Error, Result};

/// Runs `onelead rules check`.
pub fn check(_args: &crate::cli::RulesCheckArgs) -> Result<()> {
    Err(Error::Usage("`rules check` is not built yet".into()))
}
