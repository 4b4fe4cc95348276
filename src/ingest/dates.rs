//! Day/month order per date column. `31/12/2015` can only be day/month and `12/31/2015` only
//! month/day; `05/06/2015` could be either. A column's unambiguous text dates decide how its
//! ambiguous ones read; a column with none uses `ingest.date_order`; a column with both forms
//! contradicts itself, and its ambiguous dates are stored as NULL rather than guessed.
//!
//! Evidence must cover the whole column before the first ambiguous date is read, so the first
//! ambiguous date of a sheet asks its reader for a scan of every date column ([`DateColumns::
//! needs_scan`]); sheets without ambiguous dates (ISO text, Excel date cells) never scan.

use calamine::Data;
use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;

use super::settings::DateOrder;

/// Reads a sheet again for [`DateColumns::scan`]: calls its argument with (row, cells) for
/// every data row.
pub type Rescan<'a> = dyn FnMut(&mut dyn FnMut(u32, &[Data])) -> crate::error::Result<()> + 'a;

/// A date written `a/b/yyyy` or `a-b-yyyy`, optionally followed by a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlashDate {
    a: u32,
    b: u32,
    year: i32,
}

/// What a slash date says about its column's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Only day/month reads as a date (`31/12/2015`).
    DayFirst,
    /// Only month/day reads as a date (`12/31/2015`).
    MonthFirst,
    /// Both read, as different dates (`05/06/2015`).
    Ambiguous,
    /// Both read as the same date (`05/05/2015`), or neither does.
    Neutral,
}

impl SlashDate {
    /// The date read in `order`, if it is one.
    pub fn date(self, order: DateOrder) -> Option<NaiveDate> {
        let (m, d) = match order {
            DateOrder::Mdy => (self.a, self.b),
            DateOrder::Dmy => (self.b, self.a),
        };
        NaiveDate::from_ymd_opt(self.year, m, d)
    }

    /// How the two readings compare.
    pub fn form(self) -> Form {
        match (self.date(DateOrder::Dmy), self.date(DateOrder::Mdy)) {
            (Some(x), Some(y)) if x != y => Form::Ambiguous,
            (Some(_), None) => Form::DayFirst,
            (None, Some(_)) => Form::MonthFirst,
            _ => Form::Neutral,
        }
    }
}

/// Times accepted after a slash date (Excel's US and European CSV datetimes).
const TIME_FORMATS: &[&str] = &["%H:%M:%S%.f", "%H:%M", "%I:%M:%S %p", "%I:%M %p"];

/// Reads `a/b/yyyy` or `a-b-yyyy` (one- or two-digit parts, the same separator twice), with an
/// optional time after a space or `T`. Two-digit years are not dates here: `05/06/15` could be
/// any of three orders.
pub fn parse_slash(t: &str) -> Option<SlashDate> {
    let t = t.trim();
    let (date, time) = match t.find([' ', 'T']) {
        Some(i) => (&t[..i], Some(t[i + 1..].trim())),
        None => (t, None),
    };
    let sep = if date.contains('/') { '/' } else { '-' };
    let mut parts = date.split(sep);
    let (a, b, y) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit())
    };
    if parts.next().is_some() || !digits(a, 1, 2) || !digits(b, 1, 2) || !digits(y, 4, 4) {
        return None;
    }
    if let Some(time) = time
        && !TIME_FORMATS
            .iter()
            .any(|f| NaiveTime::parse_from_str(time, f).is_ok())
    {
        return None;
    }
    Some(SlashDate {
        a: a.parse().ok()?,
        b: b.parse().ok()?,
        year: y.parse().ok()?,
    })
}

/// The text of a cell that may hold a slash date. Date-typed cells and numbers never do.
pub fn slash_text(d: &Data) -> Option<&str> {
    match d {
        // The quick test keeps ISO dates (`2015-07-01`, the common case) off the slow path.
        Data::String(s)
            if s.trim_start().as_bytes().get(1..3).is_some_and(|b| {
                b.iter().any(|c| *c == b'/' || *c == b'-') && !b.iter().all(u8::is_ascii_digit)
            }) =>
        {
            Some(s)
        }
        _ => None,
    }
}

/// The first value of a kind seen in a column, and how many there were.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Seen {
    /// How many values.
    pub count: u64,
    /// The first one's row.
    pub row: u32,
    /// The first one as written.
    pub value: String,
}

impl Seen {
    fn add(&mut self, row: u32, text: &str) {
        if self.count == 0 {
            self.row = row;
            self.value = text.trim().to_string();
        }
        self.count += 1;
    }
}

/// How a column's ambiguous dates read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// In this order.
    Order(DateOrder),
    /// Not at all: the column has both forms.
    Refuse,
}

/// One date column's evidence.
#[derive(Debug, Clone)]
pub struct DateColumn {
    /// The model field.
    pub field: &'static str,
    /// The column index.
    pub col: usize,
    /// The header as written.
    pub header: String,
    /// `31/12/2015` forms.
    pub day_first: Seen,
    /// `12/31/2015` forms.
    pub month_first: Seen,
    /// `05/06/2015` forms.
    pub ambiguous: Seen,
}

impl DateColumn {
    fn observe(&mut self, row: u32, text: &str, date: SlashDate) -> Form {
        let form = date.form();
        match form {
            Form::DayFirst => self.day_first.add(row, text),
            Form::MonthFirst => self.month_first.add(row, text),
            Form::Ambiguous => self.ambiguous.add(row, text),
            Form::Neutral => {}
        }
        form
    }

    fn verdict(&self, configured: DateOrder) -> Verdict {
        match (self.day_first.count > 0, self.month_first.count > 0) {
            (true, true) => Verdict::Refuse,
            (true, false) => Verdict::Order(DateOrder::Dmy),
            (false, true) => Verdict::Order(DateOrder::Mdy),
            (false, false) => Verdict::Order(configured),
        }
    }
}

/// The date columns of one sheet and what their values say.
#[derive(Debug, Clone)]
pub struct DateColumns {
    cols: Vec<DateColumn>,
    /// Evidence covers every row (a scan ran), so nothing more is collected.
    complete: bool,
    configured: DateOrder,
}

impl DateColumns {
    /// `cols`: (field, column index, header) of each date column the sheet has.
    pub fn new(cols: Vec<(&'static str, usize, String)>, configured: DateOrder) -> DateColumns {
        DateColumns {
            cols: cols
                .into_iter()
                .map(|(field, col, header)| DateColumn {
                    field,
                    col,
                    header,
                    day_first: Seen::default(),
                    month_first: Seen::default(),
                    ambiguous: Seen::default(),
                })
                .collect(),
            complete: false,
            configured,
        }
    }

    /// Takes note of a data row's dates before it is cleaned. True when it holds an ambiguous
    /// date and the evidence does not yet cover the whole column: the caller must then
    /// [`DateColumns::scan`] the sheet before cleaning this row.
    pub fn needs_scan(&mut self, row: u32, cells: &[Data]) -> bool {
        if self.complete {
            return false;
        }
        let mut ambiguous = false;
        for c in &mut self.cols {
            let Some(text) = cells.get(c.col).and_then(slash_text) else {
                continue;
            };
            if let Some(date) = parse_slash(text) {
                ambiguous |= c.observe(row, text, date) == Form::Ambiguous;
            }
        }
        ambiguous
    }

    /// The column indices a scan must read.
    pub fn columns(&self) -> Vec<usize> {
        self.cols.iter().map(|c| c.col).collect()
    }

    /// Collects the evidence of every data row anew; `rows` yields (row, cells) for the whole
    /// sheet. Afterwards the evidence is final.
    pub fn scan(&mut self, rows: &mut Rescan) -> crate::error::Result<()> {
        for c in &mut self.cols {
            c.day_first = Seen::default();
            c.month_first = Seen::default();
            c.ambiguous = Seen::default();
        }
        let cols = &mut self.cols;
        rows(&mut |row, cells| {
            for c in cols.iter_mut() {
                if let Some(text) = cells.get(c.col).and_then(slash_text)
                    && let Some(date) = parse_slash(text)
                {
                    c.observe(row, text, date);
                }
            }
        })?;
        self.complete = true;
        Ok(())
    }

    /// How `field`'s ambiguous dates read.
    pub fn verdict(&self, field: &str) -> Verdict {
        self.cols
            .iter()
            .find(|c| c.field == field)
            .map_or(Verdict::Order(self.configured), |c| {
                c.verdict(self.configured)
            })
    }

    /// The columns that held ambiguous dates or contradict themselves, with their verdicts.
    pub fn decided(&self) -> impl Iterator<Item = (&DateColumn, Verdict)> {
        self.cols
            .iter()
            .filter(|c| c.ambiguous.count > 0 || (c.day_first.count > 0 && c.month_first.count > 0))
            .map(|c| (c, c.verdict(self.configured)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Data {
        Data::String(x.into())
    }

    #[test]
    fn slash_dates_and_their_forms() {
        let form = |t: &str| parse_slash(t).map(SlashDate::form);
        assert_eq!(form("31/12/2015"), Some(Form::DayFirst));
        assert_eq!(form("12/31/2015"), Some(Form::MonthFirst));
        assert_eq!(form("05/06/2015"), Some(Form::Ambiguous));
        assert_eq!(form("5-6-2015"), Some(Form::Ambiguous));
        assert_eq!(form("06/06/2015"), Some(Form::Neutral));
        assert_eq!(form("31/31/2015"), Some(Form::Neutral));
        assert_eq!(
            form("31/02/2015"),
            Some(Form::Neutral),
            "no such day either way"
        );
        assert_eq!(form("05/06/2015 13:45"), Some(Form::Ambiguous));
        assert_eq!(form("5/6/2015 1:45:00 PM"), Some(Form::Ambiguous));
        for not in [
            "05/06/15",
            "2015/06/05",
            "05/06-2015",
            "05/06/2015 soon",
            "a/b/2015",
            "05/06/2015/1",
        ] {
            assert_eq!(parse_slash(not), None, "{not}");
        }
        let d = parse_slash("05/06/2015").unwrap();
        assert_eq!(d.date(DateOrder::Mdy), NaiveDate::from_ymd_opt(2015, 5, 6));
        assert_eq!(d.date(DateOrder::Dmy), NaiveDate::from_ymd_opt(2015, 6, 5));
    }

    #[test]
    fn iso_dates_and_date_cells_are_never_slash_text() {
        assert_eq!(slash_text(&s("2015-07-01")), None);
        assert_eq!(slash_text(&s("2015-07-01 00:00:00")), None);
        assert_eq!(slash_text(&Data::Float(42186.0)), None);
        assert_eq!(slash_text(&s(" 5/6/2015")), Some(" 5/6/2015"));
        assert_eq!(slash_text(&s("05-06-2015")), Some("05-06-2015"));
    }

    fn columns() -> DateColumns {
        DateColumns::new(vec![("eol_date", 1, "EOL".into())], DateOrder::Mdy)
    }

    #[test]
    fn unambiguous_values_decide_and_only_ambiguous_ones_ask_for_a_scan() {
        let mut d = columns();
        assert!(!d.needs_scan(2, &[s("x"), s("31/12/2015")]));
        assert_eq!(d.verdict("eol_date"), Verdict::Order(DateOrder::Dmy));
        assert!(d.needs_scan(3, &[s("x"), s("05/06/2015")]));
        let rows = [s("31/12/2015"), s("05/06/2015"), s("01/13/2016")];
        d.scan(&mut |f| {
            for (i, c) in rows.iter().enumerate() {
                f(i as u32 + 2, &[Data::Empty, c.clone()]);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(d.verdict("eol_date"), Verdict::Refuse);
        assert!(
            !d.needs_scan(9, &[s("x"), s("07/08/2015")]),
            "evidence is final"
        );
        let (c, v) = d.decided().next().unwrap();
        assert_eq!(v, Verdict::Refuse);
        assert_eq!(
            (
                c.day_first.row,
                c.month_first.value.as_str(),
                c.ambiguous.count
            ),
            (2, "01/13/2016", 1)
        );
    }

    #[test]
    fn a_column_of_ambiguous_dates_uses_the_configured_order() {
        let mut d = DateColumns::new(vec![("eol_date", 0, "EOL".into())], DateOrder::Dmy);
        d.scan(&mut |f| {
            f(2, &[s("05/06/2015")]);
            Ok(())
        })
        .unwrap();
        assert_eq!(d.verdict("eol_date"), Verdict::Order(DateOrder::Dmy));
        assert_eq!(
            d.verdict("not_a_date_column"),
            Verdict::Order(DateOrder::Dmy)
        );
        assert_eq!(d.decided().count(), 1);
    }
}
