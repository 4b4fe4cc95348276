//! The `ingest:` section of the config: sheets and columns named by hand, the text encoding of
//! CSV files, the day/month order of ambiguous dates, and per-file exceptions to both.

use std::collections::BTreeMap;
use std::fmt;

use encoding_rs::Encoding;
use serde::{Deserialize, Deserializer};

/// Explicit sheet/column mapping (keyed by table: `install_base`, `opportunities`, ...), text
/// encoding and date order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Table → sheet name, for sheets whose headers detection cannot recognise.
    #[serde(default)]
    pub sheets: BTreeMap<String, String>,
    /// Table → (field → header as written in the export).
    #[serde(default)]
    pub columns: BTreeMap<String, BTreeMap<String, String>>,
    /// How CSV bytes become text: `auto` (a byte-order mark, else UTF-8, else Windows-1252).
    #[serde(default)]
    pub encoding: EncodingChoice,
    /// The order of a date column whose text dates are all ambiguous (`05/06/2015`).
    #[serde(default)]
    pub date_order: DateOrder,
    /// Exceptions by file name, first match wins.
    #[serde(default)]
    pub files: Vec<FileRule>,
    /// Read xlsx sheets whole (calamine's `worksheet_range`) instead of streaming them: the
    /// reference the stream is tested against, all the way into the database.
    #[cfg(test)]
    #[serde(skip)]
    pub whole_sheets: bool,
}

/// An exception for the files whose name matches `match` (`*` and `?` wildcards, any case).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRule {
    /// The file-name pattern, e.g. `emea_*.csv`.
    #[serde(rename = "match")]
    pub pattern: String,
    /// The encoding of these files.
    #[serde(default)]
    pub encoding: Option<EncodingChoice>,
    /// The date order of these files.
    #[serde(default)]
    pub date_order: Option<DateOrder>,
}

/// What one file is read with, once the config's exceptions are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOptions {
    /// The text encoding (CSV only).
    pub encoding: EncodingChoice,
    /// Where it came from, for messages: `ingest.encoding` or `ingest.files[i]`.
    pub encoding_key: SettingKey,
    /// The order of ambiguous dates.
    pub date_order: DateOrder,
    /// Where it came from.
    pub date_order_key: SettingKey,
}

/// Which config key a file's setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKey {
    /// The section-wide key (`ingest.<name>`), set or defaulted.
    Global,
    /// The n-th entry of `ingest.files`.
    File(usize),
}

impl SettingKey {
    /// `ingest.date_order`, `ingest.files[2].date_order`, ...
    pub fn path(self, name: &str) -> String {
        match self {
            SettingKey::Global => format!("ingest.{name}"),
            SettingKey::File(i) => format!("ingest.files[{i}].{name}"),
        }
    }
}

impl IngestConfig {
    /// The options for the file named `file` (a base name).
    pub fn for_file(&self, file: &str) -> FileOptions {
        let mut out = FileOptions {
            encoding: self.encoding,
            encoding_key: SettingKey::Global,
            date_order: self.date_order,
            date_order_key: SettingKey::Global,
        };
        let Some((i, rule)) = self
            .files
            .iter()
            .enumerate()
            .find(|(_, r)| glob_match(&r.pattern, file))
        else {
            return out;
        };
        if let Some(e) = rule.encoding {
            out.encoding = e;
            out.encoding_key = SettingKey::File(i);
        }
        if let Some(d) = rule.date_order {
            out.date_order = d;
            out.date_order_key = SettingKey::File(i);
        }
        out
    }
}

/// `*` (any run) and `?` (one character) against a whole file name, ignoring case.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let n: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    // The classic two-pointer match: on a mismatch, let the last `*` swallow one more character.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// The day/month order of `a/b/yyyy` dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Month first (`05/06/2015` is 6 May), as US exports write dates.
    #[default]
    Mdy,
    /// Day first (`05/06/2015` is 5 June), as most of the world writes them.
    Dmy,
}

impl DateOrder {
    /// `mdy` or `dmy`, as the config spells it.
    pub fn key(self) -> &'static str {
        match self {
            DateOrder::Mdy => "mdy",
            DateOrder::Dmy => "dmy",
        }
    }

    /// `month/day` or `day/month`, for messages.
    pub fn words(self) -> &'static str {
        match self {
            DateOrder::Mdy => "month/day",
            DateOrder::Dmy => "day/month",
        }
    }
}

/// A CSV encoding as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodingChoice {
    /// A byte-order mark if there is one, else UTF-8, else Windows-1252.
    #[default]
    Auto,
    /// This encoding, whatever the bytes look like.
    Fixed(&'static Encoding),
}

impl EncodingChoice {
    /// Reads a WHATWG label (`utf-8`, `utf-16le`, `windows-1252`, `latin1`, `shift_jis`, …).
    /// Encodings a CSV parser cannot split on `,` and newlines before decoding (ISO-2022-JP,
    /// the replacement encoding) are refused.
    pub fn parse(label: &str) -> Result<EncodingChoice, String> {
        let label = label.trim();
        if label.eq_ignore_ascii_case("auto") {
            return Ok(EncodingChoice::Auto);
        }
        let supported = |e: &&'static Encoding| {
            e.is_ascii_compatible() || *e == encoding_rs::UTF_16LE || *e == encoding_rs::UTF_16BE
        };
        Encoding::for_label(label.as_bytes())
            .filter(supported)
            .map(EncodingChoice::Fixed)
            .ok_or_else(|| {
                format!(
                    "unknown encoding `{label}`; expected `auto`, `utf-8`, `utf-16le`, \
                     `utf-16be`, `windows-1252` or another WHATWG label"
                )
            })
    }
}

impl fmt::Display for EncodingChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodingChoice::Auto => f.write_str("auto"),
            EncodingChoice::Fixed(e) => f.write_str(&e.name().to_ascii_lowercase()),
        }
    }
}

impl<'de> Deserialize<'de> for EncodingChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let label = String::deserialize(d)?;
        EncodingChoice::parse(&label).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names_in_any_case() {
        for (p, n, want) in [
            ("*.csv", "a.CSV", true),
            ("*.csv", "a.csv.bak", false),
            ("emea_*.csv", "EMEA_june.csv", true),
            ("emea_*.csv", "apac_june.csv", false),
            ("ib-??.csv", "ib-07.csv", true),
            ("ib-??.csv", "ib-7.csv", false),
            ("*", "anything", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("exact.csv", "exact.csv", true),
        ] {
            assert_eq!(glob_match(p, n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn the_first_matching_file_rule_wins_per_setting() {
        let cfg: IngestConfig = serde_yaml::from_str(
            "date_order: dmy\nfiles:\n  - {match: '*.csv', encoding: latin1}\n  - {match: 'us_*', date_order: mdy}\n",
        )
        .unwrap();
        let csv = cfg.for_file("us_june.csv");
        assert_eq!(
            csv.encoding,
            EncodingChoice::Fixed(encoding_rs::WINDOWS_1252)
        );
        assert_eq!(
            csv.encoding_key.path("encoding"),
            "ingest.files[0].encoding"
        );
        // The first rule matched, and it says nothing of dates: the global order holds.
        assert_eq!(
            (csv.date_order, csv.date_order_key.path("date_order")),
            (DateOrder::Dmy, "ingest.date_order".to_string())
        );
        let us = cfg.for_file("us_june.xlsx");
        assert_eq!(
            (us.encoding, us.date_order),
            (EncodingChoice::Auto, DateOrder::Mdy)
        );
    }

    #[test]
    fn encodings_are_checked_by_label() {
        assert_eq!(EncodingChoice::parse("AUTO"), Ok(EncodingChoice::Auto));
        assert_eq!(
            EncodingChoice::parse("utf-16"),
            Ok(EncodingChoice::Fixed(encoding_rs::UTF_16LE))
        );
        assert_eq!(
            EncodingChoice::parse("cp1252").map(|e| e.to_string()),
            Ok("windows-1252".to_string())
        );
        let err = EncodingChoice::parse("klingon").unwrap_err();
        assert!(err.starts_with("unknown encoding `klingon`"), "{err}");
        assert!(EncodingChoice::parse("iso-2022-jp").is_err());
        let bad = serde_yaml::from_str::<IngestConfig>("date_order: ymd\n").unwrap_err();
        assert!(bad.to_string().contains("expected `mdy` or `dmy`"), "{bad}");
    }
}
