//! JSON output: pretty-printed, stable field order (struct order), one document per command.

use std::io::Write;

/// Prints `value` as pretty JSON followed by a newline.
pub fn write<T: serde::Serialize>(w: &mut dyn Write, value: &T) -> std::io::Result<()> {
    // `io::Error::from` keeps the kind of an underlying write error, so a closed pipe is still
    // recognised as one and exits quietly.
    serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::from)?;
    writeln!(w)
}
