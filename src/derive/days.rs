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
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
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
