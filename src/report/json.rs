//! JSON output: pretty-printed, stable field order (struct order), one document per command.

use std::io::Write;

/// Prints `value` as pretty JSON followed by a newline.
pub fn write<T: serde::Serialize>(w: &mut dyn Write, value: &T) -> std::io::Result<()> {
    // `From` keeps an I/O error's kind, so a closed pipe stays `BrokenPipe` (exit 0, no message).
    serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::from)?;
    writeln!(w)
}
