//! JSON output: pretty-printed, stable field order (struct order), one document per command.

use std::io::Write;

/// Prints the items `items` makes as a pretty JSON array, each as it comes: the same text as
/// [`write`] of them all, without holding them.
pub fn stream<T: serde::Serialize>(
    w: &mut dyn Write,
    items: impl FnOnce(&mut dyn FnMut(&T) -> crate::error::Result<()>) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    use serde::ser::{SerializeSeq, Serializer};
    let mut ser = serde_json::Serializer::pretty(&mut *w);
    let mut seq = ser.serialize_seq(None).map_err(std::io::Error::from)?;
    items(&mut |item| Ok(seq.serialize_element(item).map_err(std::io::Error::from)?))?;
    seq.end().map_err(std::io::Error::from)?;
    Ok(writeln!(w)?)
}

/// Prints `value` as pretty JSON followed by a newline.
pub fn write<T: serde::Serialize>(w: &mut dyn Write, value: &T) -> std::io::Result<()> {
    // `io::Error::from` keeps the kind of an underlying write error, so a closed pipe is still
    // recognised as one and exits quietly.
    serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::from)?;
    writeln!(w)
}
