//! Binary `COPY`: rows encoded by `postgres-types` into PostgreSQL's binary copy format (what
//! the `postgres` crate's `BinaryCopyInWriter` writes), buffered, and sent with one `COPY …
//! FROM STDIN` per flush.
//!
//! Buffered rather than streamed through a `BinaryCopyInWriter`: that writer holds the
//! connection for as long as it is open, and a load's records arrive one table after another
//! with deletes in between, a lead batch needs its new texts inserted before its rows, and an
//! update needs its rows staged before the `UPDATE`. A buffer per table lets each `COPY` open
//! and close at its flush, between the other statements.

use std::io::Write;

use bytes::{BufMut, BytesMut};
use postgres::GenericClient;
use postgres_types::{IsNull, ToSql, Type};

use crate::error::{Error, Result};

/// The binary copy header: signature, flags, extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Rows of one `COPY` statement, encoded.
pub struct CopyRows {
    /// `COPY table (columns) FROM STDIN (FORMAT binary)`.
    sql: String,
    types: Vec<Type>,
    buf: BytesMut,
    rows: usize,
}

impl CopyRows {
    /// Rows for `table (columns)`, whose columns have these types in this order.
    pub fn new(table: &str, columns: &[(&str, Type)]) -> CopyRows {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        CopyRows {
            sql: format!(
                "COPY {table} ({}) FROM STDIN (FORMAT binary)",
                names.join(", ")
            ),
            types: columns.iter().map(|(_, t)| t.clone()).collect(),
            buf: BytesMut::new(),
            rows: 0,
        }
    }

    /// Encodes one row: `values` in the column order given to [`CopyRows::new`].
    pub fn push(&mut self, values: &[&dyn ToSql]) -> Result<()> {
        if values.len() != self.types.len() {
            return Err(Error::Postgres(format!(
                "a row of {} values for {} columns ({})",
                values.len(),
                self.types.len(),
                self.sql
            )));
        }
        self.buf.put_i16(self.types.len() as i16);
        for (v, ty) in values.iter().zip(&self.types) {
            let at = self.buf.len();
            self.buf.put_i32(0);
            let len = match v.to_sql_checked(ty, &mut self.buf) {
                Ok(IsNull::Yes) => -1,
                Ok(IsNull::No) => i32::try_from(self.buf.len() - at - 4)
                    .map_err(|_| Error::Postgres("a value over 2 GiB".into()))?,
                Err(e) => return Err(Error::Postgres(format!("{e} ({})", self.sql))),
            };
            self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows encoded and not yet sent.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Bytes encoded and not yet sent.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Sends the rows encoded so far in one `COPY`; returns how many.
    pub fn flush(&mut self, client: &mut impl GenericClient) -> Result<usize> {
        if self.rows == 0 {
            return Ok(0);
        }
        let io = |e: std::io::Error| Error::Postgres(format!("{e} ({})", self.sql));
        let mut w = client.copy_in(self.sql.as_str())?;
        w.write_all(HEADER).map_err(io)?;
        w.write_all(&self.buf).map_err(io)?;
        w.write_all(&(-1_i16).to_be_bytes()).map_err(io)?;
        w.finish()?;
        self.buf.clear();
        Ok(std::mem::take(&mut self.rows))
    }
}

/// A text value written from bytes already at hand, a prefix and the rest (`ST-` and a
/// territory, or a date's buffer): no `String` per value.
pub struct Text<'a>(pub &'a [u8], pub &'a [u8]);

impl<'a> Text<'a> {
    /// `ST-<territory>`: the account a row with a sales territory is filed under.
    pub fn account(territory: Option<&'a str>) -> Option<Text<'a>> {
        territory.map(|t| Text(b"ST-", t.as_bytes()))
    }

    /// A date as stored.
    pub fn date(d: Option<&'a crate::store::dates::DateText>) -> Option<Text<'a>> {
        d.map(|d| Text(b"", d.as_bytes()))
    }
}

impl std::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all = [self.0, self.1].concat();
        write!(f, "{:?}", String::from_utf8_lossy(&all))
    }
}

impl ToSql for Text<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.put_slice(self.0);
        out.put_slice(self.1);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }

    postgres_types::to_sql_checked!();
}
