//! How dates are stored: `YYYY-MM-DD` text, which sorts as the dates do, on every backend. A
//! date is formatted into a small buffer rather than a `String` per value: a million-row load
//! writes four per row.

use chrono::{Datelike, NaiveDate};

/// A date as `YYYY-MM-DD`, without a `String` per value.
pub enum DateText {
    /// Years 0 to 9999.
    Ymd([u8; 10]),
    /// Years outside 0..=9999, which `%Y` writes with a sign or more digits.
    Other(String),
}

impl DateText {
    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            DateText::Ymd(b) => b,
            DateText::Other(s) => s.as_bytes(),
        }
    }
}

/// `d` as stored.
pub fn date(d: Option<NaiveDate>) -> Option<DateText> {
    d.map(|d| match u16::try_from(d.year()) {
        Ok(y) if y <= 9999 => {
            let mut b = *b"0000-00-00";
            for (i, v) in [(0, y / 100), (2, y % 100)] {
                b[i] = b'0' + (v / 10) as u8;
                b[i + 1] = b'0' + (v % 10) as u8;
            }
            for (i, v) in [(5, d.month()), (8, d.day())] {
                b[i] = b'0' + (v / 10) as u8;
                b[i + 1] = b'0' + (v % 10) as u8;
            }
            DateText::Ymd(b)
        }
        _ => DateText::Other(d.format("%Y-%m-%d").to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for (y, m, d) in [
            (2024, 5, 1),
            (1999, 12, 31),
            (2099, 12, 31),
            (1, 1, 1),
            (0, 2, 29),
            (9999, 12, 31),
            (10000, 1, 1),
            (-44, 3, 15),
        ] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let got = date(Some(day)).unwrap();
            let text = std::str::from_utf8(got.as_bytes()).unwrap().to_string();
            assert_eq!(text, day.format("%Y-%m-%d").to_string());
        }
        assert!(date(None).is_none());
    }
}
