//! CSV output: what a spreadsheet imports (RFC 4180 quoting via the csv crate).

use std::io::Write;

use super::Table;

/// Prints `t` as CSV with a header row.
pub fn write(w: &mut dyn Write, t: &Table) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(&t.headers).map_err(into_io)?;
    for r in &t.rows {
        out.write_record(r).map_err(into_io)?;
    }
    out.flush()
}

/// Writes `headers`, then each row as `rows` makes it: nothing is held, however many there are.
pub fn stream(
    w: &mut dyn Write,
    headers: &[&str],
    rows: impl FnOnce(&mut dyn FnMut(&[String]) -> crate::error::Result<()>) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(headers).map_err(into_io)?;
    rows(&mut |r| Ok(out.write_record(r).map_err(into_io)?))?;
    Ok(out.flush()?)
}

fn into_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_commas_and_quotes() {
        let mut t = Table::new(&["a", "b"]);
        t.push(vec!["x,y".into(), "say \"hi\"".into()]);
        let mut out = Vec::new();
        write(&mut out, &t).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n"
        );
    }
}
