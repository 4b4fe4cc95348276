//! `onelead serve`: the lead desk in the browser and the JSON API (`crate::serve`).

use crate::cli::ServeArgs;
use crate::error::Result;
use crate::pipeline::Settings;

/// Runs `onelead serve` until interrupted.
pub fn run(args: &ServeArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    crate::serve::run(&crate::serve::Options {
        listen: args.listen,
        db: settings.db,
        cfg: settings.cfg,
    })
}
