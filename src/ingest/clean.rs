//! Value cleaners: one raw cell (a calamine [`Data`]; CSV fields arrive as `Data::String`) in, one
//! typed value out. Each cleaner tells "missing" (an explicit placeholder such as `(null)`) apart
//! from "coerced" (a present value that cannot be read as the column's type), because only the
//! latter is reported to the user as data loss.

use calamine::{Data, ExcelDateTime};
use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::dates::{self, Form, Verdict};
use super::settings::DateOrder;

/// The outcome of cleaning one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cleaned<T> {
    /// A usable value.
    Value(T),
    /// Empty or an explicit missing marker: NULL, not worth reporting.
    Missing,
    /// Present but unreadable: NULL, reported with the raw text.
    Coerced(String),
}

impl<T> Cleaned<T> {
    /// The value, if any.
    pub fn ok(self) -> Option<T> {
        match self {
            Cleaned::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Placeholders the exports use for "no value". Compared after trimming, case-insensitively.
const MISSING_MARKERS: &[&str] = &["", "(null)", "null", "nan", "n/a", "#", "-"];

/// True for blank text and the exports' explicit "no value" placeholders.
pub fn is_missing_marker(s: &str) -> bool {
    let t = s.trim();
    MISSING_MARKERS.iter().any(|m| t.eq_ignore_ascii_case(m))
}

/// True when a cell holds nothing at all (used to skip blank rows).
pub fn is_blank(d: &Data) -> bool {
    match d {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// The cell as the user would read it, for messages and coercion examples.
pub fn raw_text(d: &Data) -> String {
    match d {
        Data::Float(f) => float_text(*f),
        Data::DateTime(dt) => {
            excel_datetime(dt).map_or_else(|| float_text(dt.as_f64()), |x| x.to_string())
        }
        other => other.to_string(),
    }
}

/// Integral floats print without `.0`: ids stored as numbers (56088.0) must read `56088`.
fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// A date-formatted cell as a date-time. calamine's own `as_datetime` needs its `chrono`
/// feature; its calendar split (which also handles the 1904 system) does not.
fn excel_datetime(dt: &ExcelDateTime) -> Option<NaiveDateTime> {
    let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
    NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))?.and_hms_opt(
        u32::from(h),
        u32::from(mi),
        u32::from(s),
    )
}

/// Trimmed text. Numbers become their text (integral floats without `.0`), dates `YYYY-MM-DD`.
pub fn clean_text(d: &Data) -> Cleaned<String> {
    match d {
        Data::Empty => Cleaned::Missing,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            if is_missing_marker(s) {
                Cleaned::Missing
            } else {
                Cleaned::Value(s.trim().to_string())
            }
        }
        Data::Int(i) => Cleaned::Value(i.to_string()),
        Data::Float(f) => Cleaned::Value(float_text(*f)),
        Data::Bool(b) => Cleaned::Value(b.to_string()),
        Data::DateTime(dt) => match excel_datetime(dt) {
            Some(x) if x.time() == chrono::NaiveTime::MIN => {
                Cleaned::Value(x.date().format("%Y-%m-%d").to_string())
            }
            Some(x) => Cleaned::Value(x.to_string()),
            None => Cleaned::Value(float_text(dt.as_f64())),
        },
        Data::Error(e) => Cleaned::Coerced(e.to_string()),
    }
}

/// An identifier as text: like [`clean_text`], and numeric text such as `56088.0` loses its `.0`.
pub fn clean_id(d: &Data) -> Cleaned<String> {
    match clean_text(d) {
        Cleaned::Value(s) => match s.strip_suffix(".0") {
            Some(head) if !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit()) => {
                Cleaned::Value(head.to_string())
            }
            _ => Cleaned::Value(s),
        },
        other => other,
    }
}

/// Excel serials outside 1901-01-01 ..= 2199-12-31 are almost surely not dates (ids, amounts).
const SERIAL_MIN: f64 = 367.0;
const SERIAL_MAX: f64 = 109_573.0;

/// An Excel 1900-system serial day number as a date, when it is in a plausible range.
pub fn excel_serial_to_date(serial: f64) -> Option<NaiveDate> {
    if !(SERIAL_MIN..=SERIAL_MAX).contains(&serial) {
        return None;
    }
    // Day 0 is 1899-12-30 for every serial after Excel's fictitious 1900-02-29 (serial 60).
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    epoch.checked_add_signed(Duration::days(serial.floor() as i64))
}

/// Date formats accepted in text cells besides `a/b/yyyy` ([`dates::parse_slash`]), ISO first;
/// `DD.MM.YYYY` is day-first wherever it is written.
const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%d-%b-%Y", "%d.%m.%Y"];
const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
];

/// The two shapes exports write nearly every date in, `YYYY-MM-DD` and `YYYY-MM-DD hh:mm:ss`,
/// read directly: trying each format in turn with chrono's format-string parser cost more than
/// the rest of a row. Anything else, or anything out of range, goes the general way, which
/// gives the same date for these shapes.
fn parse_common_date(t: &[u8]) -> Option<NaiveDate> {
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        t[r].iter().try_fold(0_u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let sep = |i: usize, c: u8| t[i] == c;
    if t.len() != 10 && t.len() != 19 {
        return None;
    }
    if !(sep(4, b'-') && sep(7, b'-')) {
        return None;
    }
    if t.len() == 19 {
        let time_ok = sep(10, b' ')
            && sep(13, b':')
            && sep(16, b':')
            && num(11..13)? <= 23
            && num(14..16)? <= 59
            && num(17..19)? <= 59;
        if !time_ok {
            return None;
        }
    }
    NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)
}

/// A date written as text in one of the accepted formats (or an Excel serial as text); an
/// ambiguous `a/b/yyyy` reads month first, as the vendor's US exports write it.
pub fn parse_date_str(s: &str) -> Option<NaiveDate> {
    parse_date_str_in(s, Verdict::Order(DateOrder::Mdy))
}

/// [`parse_date_str`], with ambiguous `a/b/yyyy` dates read as `verdict` says (its column's).
pub fn parse_date_str_in(s: &str, verdict: Verdict) -> Option<NaiveDate> {
    let t = s.trim();
    if let Some(d) = parse_common_date(t.as_bytes()) {
        return Some(d);
    }
    if let Some(slash) = dates::parse_slash(t) {
        return match (slash.form(), verdict) {
            (Form::Ambiguous, Verdict::Order(order)) => slash.date(order),
            (Form::Ambiguous, Verdict::Refuse) => None,
            _ => slash
                .date(DateOrder::Mdy)
                .or_else(|| slash.date(DateOrder::Dmy)),
        };
    }
    // chrono's `%Y` takes any number of digits: `05/06/15` would read as the year 5.
    let year_first = t.len() >= 4 && t.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    let fits = |f: &&&str| year_first || !f.starts_with("%Y");
    for f in DATE_FORMATS.iter().filter(fits) {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return Some(d);
        }
    }
    for f in DATETIME_FORMATS.iter().filter(fits) {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d.date());
        }
    }
    // `2024-05-01T00:00:00Z` and other RFC 3339 forms from API exports.
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.date_naive());
    }
    t.parse::<f64>().ok().and_then(excel_serial_to_date)
}

/// A date from a date-typed cell, an Excel serial number, or text (ambiguous `a/b/yyyy` month
/// first).
pub fn clean_date(d: &Data) -> Cleaned<NaiveDate> {
    clean_date_in(d, Verdict::Order(DateOrder::Mdy))
}

/// [`clean_date`] with ambiguous text dates read as `verdict` says.
pub fn clean_date_in(d: &Data, verdict: Verdict) -> Cleaned<NaiveDate> {
    let got = match d {
        Data::Empty => return Cleaned::Missing,
        Data::String(s) if is_missing_marker(s) => return Cleaned::Missing,
        Data::String(s) | Data::DateTimeIso(s) => parse_date_str_in(s, verdict),
        Data::DateTime(dt) if dt.is_datetime() => excel_datetime(dt).map(|x| x.date()),
        Data::Float(f) => excel_serial_to_date(*f),
        Data::Int(i) => excel_serial_to_date(*i as f64),
        _ => None,
    };
    got.map_or_else(|| Cleaned::Coerced(raw_text(d)), Cleaned::Value)
}

/// A number from a numeric cell or numeric text (`1,234`, ` 12 `, `$5`); words are coerced.
pub fn clean_float(d: &Data) -> Cleaned<f64> {
    match d {
        Data::Empty => Cleaned::Missing,
        Data::Int(i) => Cleaned::Value(*i as f64),
        Data::Float(f) if f.is_finite() => Cleaned::Value(*f),
        Data::String(s) if is_missing_marker(s) => Cleaned::Missing,
        Data::String(s) => parse_number_str(s)
            .map_or_else(|| Cleaned::Coerced(s.trim().to_string()), Cleaned::Value),
        other => Cleaned::Coerced(raw_text(other)),
    }
}

/// A Yes/No (Y/N, True/False, or a boolean cell) value: a flag, where a number column holds
/// flags instead of amounts.
pub fn flag_value(d: &Data) -> Option<bool> {
    match d {
        Data::Bool(b) => Some(*b),
        Data::String(s) => {
            let t = s.trim();
            let is = |words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
            if is(&["yes", "y", "true"]) {
                Some(true)
            } else if is(&["no", "n", "false"]) {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Numeric text with thousands separators, spaces and a leading currency sign allowed.
pub fn parse_number_str(s: &str) -> Option<f64> {
    let t: String = s
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if t.is_empty() || !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A whole number; a fractional value is coerced rather than silently rounded.
pub fn clean_int(d: &Data) -> Cleaned<i64> {
    match clean_float(d) {
        Cleaned::Value(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Cleaned::Value(f as i64),
        Cleaned::Value(_) => Cleaned::Coerced(raw_text(d)),
        Cleaned::Missing => Cleaned::Missing,
        Cleaned::Coerced(s) => Cleaned::Coerced(s),
    }
}

/// `$1M - $5M` → `$1M-$5M`: the same size band must compare equal however it was typed.
pub fn normalize_size(s: &str) -> String {
    let parts: Vec<&str> = s.split('-').map(str::trim).collect();
    parts.join("-")
}

/// True when a `PRJ Siebel ID` is a real id rather than a placeholder (`#`, `NOT AVAILABLE` and
/// its misspellings, anything shorter than 3 characters).
pub fn is_valid_project_id(s: &str) -> bool {
    let t = s.trim();
    if t.chars().count() < 3 || is_missing_marker(t) {
        return false;
    }
    let collapsed = t
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    // Typists misspell the placeholder ('NOT AUAILABLE', 'NOT AVALIABLE'); fuzzy-match it.
    strsim::normalized_levenshtein(&collapsed, "NOT AVAILABLE") < 0.75
}

/// `Practice-<num>-<CC>-<customer>` → (`CC`, customer). The customer may itself contain `-`;
/// anything that does not fit gives `None`.
pub fn split_credit_project_name(s: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = s.split('-').collect();
    // The practice may contain '-', so look for the first `<digits>-<2 letters>-` pair.
    (1..parts.len().saturating_sub(2)).find_map(|i| {
        let num = parts[i].trim();
        let cc = parts[i + 1].trim();
        let customer = parts[i + 2..].join("-").trim().to_string();
        let fits = !num.is_empty()
            && num.bytes().all(|b| b.is_ascii_digit())
            && cc.len() == 2
            && cc.bytes().all(|b| b.is_ascii_alphabetic())
            && !customer.is_empty();
        fits.then(|| (cc.to_ascii_uppercase(), customer))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTimeType};

    fn s(x: &str) -> Data {
        Data::String(x.into())
    }
    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn missing_markers_are_missing_not_coerced() {
        for m in [
            "", "  ", "(null)", "NULL", "null", "nan", "NaN", "n/a", "#", "-",
        ] {
            assert_eq!(clean_text(&s(m)), Cleaned::Missing, "{m:?}");
            assert_eq!(clean_date(&s(m)), Cleaned::Missing, "{m:?}");
            assert_eq!(clean_float(&s(m)), Cleaned::Missing, "{m:?}");
        }
        assert_eq!(clean_text(&Data::Empty), Cleaned::Missing);
    }

    #[test]
    fn text_is_trimmed_and_numbers_lose_dot_zero() {
        assert_eq!(clean_text(&s("  Aruba ")).ok().unwrap(), "Aruba");
        assert_eq!(clean_id(&Data::Float(56088.0)).ok().unwrap(), "56088");
        assert_eq!(clean_id(&Data::Int(11_572_981)).ok().unwrap(), "11572981");
        assert_eq!(clean_id(&s("56088.0")).ok().unwrap(), "56088");
        assert_eq!(clean_id(&s("V1.0")).ok().unwrap(), "V1.0");
        assert_eq!(clean_text(&Data::Float(1.5)).ok().unwrap(), "1.5");
    }

    #[test]
    fn error_cells_are_coerced() {
        let e = Data::Error(CellErrorType::Div0);
        assert_eq!(clean_text(&e), Cleaned::Coerced("#DIV/0!".into()));
        assert_eq!(clean_float(&e), Cleaned::Coerced("#DIV/0!".into()));
        assert_eq!(clean_date(&e), Cleaned::Coerced("#DIV/0!".into()));
    }

    #[test]
    fn dates_from_cells_serials_and_text() {
        let dt = Data::DateTime(ExcelDateTime::new(
            42186.0,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(clean_date(&dt).ok(), Some(date(2015, 7, 1)));
        assert_eq!(
            clean_date(&Data::Float(42186.0)).ok(),
            Some(date(2015, 7, 1))
        );
        assert_eq!(clean_date(&Data::Int(73415)).ok(), Some(date(2100, 12, 31)));
        assert_eq!(
            clean_date(&Data::DateTimeIso("2024-05-01T10:00:00".into())).ok(),
            Some(date(2024, 5, 1))
        );
        for (txt, want) in [
            ("2024-05-01", date(2024, 5, 1)),
            ("2024-05-01 00:00:00", date(2024, 5, 1)),
            ("2024/05/01", date(2024, 5, 1)),
            ("05/01/2024", date(2024, 5, 1)),
            ("01-May-2024", date(2024, 5, 1)),
            ("01.05.2024", date(2024, 5, 1)),
            (" 2099-12-31 ", date(2099, 12, 31)),
        ] {
            assert_eq!(clean_date(&s(txt)).ok(), Some(want), "{txt}");
        }
    }

    /// The general path: every format in turn, as before the shortcut for the common shapes.
    fn parse_date_slow(s: &str) -> Option<NaiveDate> {
        let t = s.trim();
        let year_first = t.len() >= 4 && t.as_bytes()[..4].iter().all(u8::is_ascii_digit);
        let fits = |f: &&&str| year_first || !f.starts_with("%Y");
        DATE_FORMATS
            .iter()
            .filter(fits)
            .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
            .or_else(|| {
                DATETIME_FORMATS
                    .iter()
                    .filter(fits)
                    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok().map(|d| d.date()))
            })
            .or_else(|| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .ok()
                    .map(|d| d.date_naive())
            })
            .or_else(|| t.parse::<f64>().ok().and_then(excel_serial_to_date))
    }

    #[test]
    fn common_date_shapes_read_as_the_general_path_reads_them() {
        for s in [
            "2024-05-01",
            " 2024-05-01 ",
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "0000-01-01",
            "9999-12-31",
            "2024-5-01",
            "2024-05-1",
            "2024/05/01",
            "2021-11-01 00:00:00",
            "2021-11-01 23:59:59",
            "2021-11-01 24:00:00",
            "2021-11-01 23:60:00",
            "2021-11-01 23:59:60",
            "2021-11-01T00:00:00",
            "2021-11-01 00:00:00.5",
            "2021-11-01 0:00:00",
            "+202-11-01",
            "2021-1１-01",
            "2021-11-01 00:00:0x",
            "12345",
            "",
        ] {
            assert_eq!(parse_date_str(s), parse_date_slow(s), "{s:?}");
        }
    }

    #[test]
    fn slash_dates_read_by_their_column_verdict() {
        // See: issue 20 — `31/12/2015` was NULL while `05/06/2015` silently read as 6 May.
        assert_eq!(clean_date(&s("31/12/2015")).ok(), Some(date(2015, 12, 31)));
        assert_eq!(clean_date(&s("12/31/2015")).ok(), Some(date(2015, 12, 31)));
        let dmy = Verdict::Order(DateOrder::Dmy);
        assert_eq!(
            clean_date_in(&s("05/06/2015"), dmy).ok(),
            Some(date(2015, 6, 5))
        );
        assert_eq!(clean_date(&s("05/06/2015")).ok(), Some(date(2015, 5, 6)));
        assert_eq!(
            clean_date_in(&s("05/06/2015"), Verdict::Refuse),
            Cleaned::Coerced("05/06/2015".into())
        );
        // Unambiguous values read even where the column refuses its ambiguous ones.
        assert_eq!(
            clean_date_in(&s("13/01/2015 10:00"), Verdict::Refuse).ok(),
            Some(date(2015, 1, 13))
        );
        assert_eq!(
            clean_date_in(&s("31/02/2015"), dmy),
            Cleaned::Coerced("31/02/2015".into())
        );
    }

    #[test]
    fn flags_are_yes_no_words_and_booleans() {
        for (v, want) in [
            (s("Yes"), Some(true)),
            (s(" no "), Some(false)),
            (s("Y"), Some(true)),
            (s("FALSE"), Some(false)),
            (Data::Bool(true), Some(true)),
            (s("Maybe"), None),
            (s("1"), None),
            (Data::Float(1.0), None),
        ] {
            assert_eq!(flag_value(&v), want, "{v:?}");
        }
    }

    #[test]
    fn implausible_dates_are_coerced() {
        assert_eq!(clean_date(&s("soon")), Cleaned::Coerced("soon".into()));
        assert_eq!(
            clean_date(&s("05/06/15")),
            Cleaned::Coerced("05/06/15".into())
        );
        assert_eq!(clean_date(&Data::Int(12)), Cleaned::Coerced("12".into()));
        assert_eq!(
            clean_date(&Data::Float(1e9)),
            Cleaned::Coerced("1000000000".into())
        );
        assert_eq!(
            clean_date(&Data::Bool(true)),
            Cleaned::Coerced("true".into())
        );
    }

    #[test]
    fn numbers_accept_numeric_text_and_reject_words() {
        assert_eq!(clean_float(&s("1,234")).ok(), Some(1234.0));
        assert_eq!(clean_float(&s(" 12 ")).ok(), Some(12.0));
        assert_eq!(clean_float(&s("$5.5")).ok(), Some(5.5));
        assert_eq!(clean_float(&Data::Int(3)).ok(), Some(3.0));
        assert_eq!(clean_float(&s("Yes")), Cleaned::Coerced("Yes".into()));
        assert_eq!(clean_float(&s("No")), Cleaned::Coerced("No".into()));
        assert_eq!(clean_int(&Data::Float(30.0)).ok(), Some(30));
        assert_eq!(clean_int(&s("7")).ok(), Some(7));
        assert_eq!(clean_int(&Data::Float(2.5)), Cleaned::Coerced("2.5".into()));
    }

    #[test]
    fn size_bands_lose_spaces_around_dash() {
        assert_eq!(normalize_size("$1M - $5M"), "$1M-$5M");
        assert_eq!(normalize_size("$50k-$500k"), "$50k-$500k");
        assert_eq!(normalize_size("<$50k"), "<$50k");
    }

    #[test]
    fn project_id_placeholders_are_invalid() {
        for bad in [
            "#",
            "NOT AVAILABLE",
            "not  available",
            "NOT AUAILABLE",
            "NOT AVALIABLE",
            "ab",
            "",
        ] {
            assert!(!is_valid_project_id(bad), "{bad}");
        }
        for good in ["OPE-0016694761", "11572981", "NOT"] {
            assert!(is_valid_project_id(good), "{good}");
        }
    }

    #[test]
    fn credit_project_names_split_into_country_and_customer() {
        assert_eq!(
            split_credit_project_name("Technical Services-2137367048-SE-NET4MOBILITY AB"),
            Some(("SE".into(), "NET4MOBILITY AB".into()))
        );
        assert_eq!(
            split_credit_project_name("TS-21-PH-GLOBE - TELECOM, INC."),
            Some(("PH".into(), "GLOBE - TELECOM, INC.".into()))
        );
        assert_eq!(
            split_credit_project_name("Hybrid-Cloud-1-JP-ACME"),
            Some(("JP".into(), "ACME".into()))
        );
        assert_eq!(split_credit_project_name("no pattern here"), None);
        assert_eq!(split_credit_project_name("TS-12-JPN-ACME"), None);
        assert_eq!(split_credit_project_name("TS-12-JP-"), None);
    }
}
