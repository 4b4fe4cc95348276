//! Day counts against the as-of date. Far-future sentinel dates (the exports write 2099-12-31 for
//! "no end of life") are not dates: they yield no day count, so no rule can print them as one.

use chrono::{Datelike, NaiveDate};

/// Dates in or after this year are placeholders, not real dates.
pub const PLACEHOLDER_YEAR: i32 = 2099;

/// True when `d` is a "no date" sentinel such as 2099-12-31.
pub fn is_placeholder(d: NaiveDate) -> bool {
    d.year() >= PLACEHOLDER_YEAR
}

/// Parses a stored `YYYY-MM-DD`.
pub fn parse(s: &str) -> Option<NaiveDate> {
    canonical(s).or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// `YYYY-MM-DD` exactly, the form the store writes: read without chrono's format machinery,
/// which showed up in the evaluation profile (four dates an item).
pub fn canonical(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0_u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)
}

/// Days from `d` to `as_of` (positive = `d` is in the past); `None` for unknown or placeholder dates.
pub fn days_since(d: Option<NaiveDate>, as_of: NaiveDate) -> Option<i64> {
    d.filter(|d| !is_placeholder(*d))
        .map(|d| (as_of - d).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse(s).unwrap()
    }

    #[test]
    fn canonical_dates_read_as_chrono_reads_them() {
        for s in ["2015-07-01", "2024-02-29", "0001-01-01", "9999-12-31"] {
            assert_eq!(
                canonical(s),
                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                "{s}"
            );
            assert!(canonical(s).is_some(), "{s}");
        }
        for s in [
            "2023-02-29",
            "2015-13-01",
            "2015-00-10",
            "2015/07/01",
            "2015-7-01x",
            "+015-07-01",
        ] {
            assert_eq!(canonical(s), None, "{s}");
        }
        // Other forms chrono accepts still parse, through chrono.
        assert_eq!(parse("2015-7-1"), Some(d("2015-07-01")));
    }

    #[test]
    fn counts_days_from_the_as_of_date() {
        // The original quoted "3753 days past EOL" for 2015-07-01 as of 2025-10-09.
        assert_eq!(
            days_since(Some(d("2015-07-01")), d("2025-10-09")),
            Some(3753)
        );
        assert_eq!(
            days_since(Some(d("2042-04-05")), d("2025-10-29")),
            Some(-6002)
        );
        assert_eq!(days_since(None, d("2025-10-29")), None);
    }

    #[test]
    fn placeholder_dates_have_no_day_count() {
        assert_eq!(days_since(Some(d("2099-12-31")), d("2025-10-29")), None);
        assert!(is_placeholder(d("2118-10-30")));
        assert!(!is_placeholder(d("2045-06-30")));
    }
}
