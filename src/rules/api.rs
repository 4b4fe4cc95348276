//! Helper functions registered for rule scripts: number formatting, case-insensitive and
//! whole-word text matching, date arithmetic, server generations, logging. A helper that cannot do
//! its job raises a [`HostFailure`], so diagnostics can tell it apart from a script's own `throw`.

use chrono::NaiveDate;
use rhai::{
    Dynamic, Engine, EvalAltResult, FLOAT, INT, ImmutableString, NativeCallContext, Position,
};

/// A helper function scripts can call.
#[derive(Debug, Clone, Copy)]
pub struct Helper {
    /// The name scripts call it by.
    pub name: &'static str,
    /// How it is called, for hints (`fmt_int(number)`).
    pub usage: &'static str,
    /// Its result depends on its arguments alone and it does nothing else, so a rule calling it
    /// may be cached ([`crate::rules::memo`]). A helper not declared pure makes every rule that
    /// calls it run on every call.
    pub pure: bool,
}

/// Every registered helper; a test checks that nothing else is registered.
pub const HELPERS: &[Helper] = &[
    Helper {
        name: "fmt_int",
        usage: "fmt_int(number)",
        pure: true,
    },
    Helper {
        name: "contains_ci",
        usage: "contains_ci(text, word)",
        pure: true,
    },
    Helper {
        name: "has_word",
        usage: "has_word(text, word)",
        pure: true,
    },
    Helper {
        name: "has_code",
        usage: "has_code(text, prefix)",
        pure: true,
    },
    Helper {
        name: "days_between",
        usage: "days_between(date, date)",
        pure: true,
    },
    Helper {
        name: "generation",
        usage: "generation(text)",
        pure: true,
    },
    Helper {
        name: "no_lead",
        usage: "no_lead(reason)",
        pure: true,
    },
    Helper {
        name: "log",
        usage: "log(message)",
        pure: false,
    },
];

/// The helpers' names.
pub fn helper_names() -> impl Iterator<Item = &'static str> {
    HELPERS.iter().map(|h| h.name)
}

/// A failure inside host code (a helper or the import resolver), carried through Rhai as the
/// value of a runtime error; scripts cannot construct one.
#[derive(Debug, Clone)]
pub struct HostFailure {
    /// The rendered, lowercase message.
    pub message: String,
    /// What to do about it, shown as `help:`.
    pub help: Option<String>,
}

impl HostFailure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        HostFailure {
            message: message.into(),
            help: None,
        }
    }

    /// The same failure with a `help:` line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Wraps the failure as a Rhai runtime error at `pos`.
    pub fn into_error(self, pos: Position) -> Box<EvalAltResult> {
        Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(self), pos))
    }
}

#[allow(clippy::unnecessary_box_returns)] // Rhai's error type travels boxed everywhere
fn helper_failed(name: &str, why: &str) -> Box<EvalAltResult> {
    HostFailure::new(format!("helper `{name}` failed: {why}")).into_error(Position::NONE)
}

/// Registers every helper on `engine`.
pub fn register(engine: &mut Engine) {
    engine.register_type_with_name::<HostFailure>("HostFailure");
    // Named functions, not closures: the fast path (`rules::fast`) calls these same ones.
    engine.register_fn("fmt_int", fmt_int);
    engine.register_fn("fmt_int", fmt_float);
    engine.register_fn("contains_ci", contains_ci);
    engine.register_fn("has_word", has_word);
    engine.register_fn("has_code", has_code);
    engine.register_fn("days_between", days_between);
    engine.register_fn("generation", generation_value);
    engine.register_fn("no_lead", no_lead);
    engine.register_fn("log", |ctx: NativeCallContext, msg: Dynamic| {
        tracing::warn!(target: "rules", "{}: {msg}", ctx.call_source().unwrap_or("rules"));
    });
    register_comparisons(engine);
}

/// The comparison operators.
const COMPARISONS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

/// Makes comparing a number with a text an error. Rhai's built-in answer is `false` (`true` for
/// `!=`): `if -days > "90"` silently never fires, and a quoted number is the usual way to get
/// there. The engine must run with fast operators off for these to be consulted (see
/// `engine::build_engine`).
fn register_comparisons(engine: &mut Engine) {
    for op in COMPARISONS {
        engine.register_fn(op, move |a: INT, b: ImmutableString| mixed(op, &a, &b));
        engine.register_fn(op, move |a: ImmutableString, b: INT| mixed(op, &a, &b));
        engine.register_fn(op, move |a: FLOAT, b: ImmutableString| mixed(op, &a, &b));
        engine.register_fn(op, move |a: ImmutableString, b: FLOAT| mixed(op, &a, &b));
    }
}

/// The error of `a op b` where one side is a number and the other a text.
#[allow(clippy::unnecessary_wraps)] // registered operators must return Rhai's result type
fn mixed(
    op: &str,
    a: &dyn std::fmt::Debug,
    b: &dyn std::fmt::Debug,
) -> Result<bool, Box<EvalAltResult>> {
    Err(HostFailure::new(format!(
        "cannot compare {a:?} with {b:?} (`{op}`): one is a number, the other a text"
    ))
    .with_help(
        "a number in quotes is a text: write it without quotes, or convert the text with `parse_int` / `parse_float`",
    )
    .into_error(Position::NONE))
}

/// What a trigger returns when it does not fire, saying why (`explain` and `rules test` show
/// it). The reason itself is the value: a text costs no more to return than `()`.
pub fn no_lead(reason: ImmutableString) -> ImmutableString {
    reason
}

/// `3771` → `"3,771"`, `-1234567` → `"-1,234,567"`.
pub fn fmt_int(n: INT) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `fmt_int` on a float: rounded to the nearest integer first (`2.5` → `"3"`).
pub fn fmt_float(n: f64) -> String {
    fmt_int(n.round() as INT)
}

/// Case-insensitive substring: `contains_ci("HPE Compute", "compute")`.
pub fn contains_ci(text: &str, word: &str) -> bool {
    if text.is_ascii() && word.is_ascii() {
        return word.is_empty() || find_ascii_ci(text.as_bytes(), word.as_bytes(), 0).is_some();
    }
    text.to_lowercase().contains(&word.to_lowercase())
}

/// The first `i >= from` where `needle` (non-empty) matches `hay` ignoring ASCII case.
///
/// Why: the helpers run tens of times per item, and lowering copies of the text dominated them.
/// For ASCII, lowering maps byte to byte (same length, same positions), so searching the
/// original bytes case-insensitively finds exactly the matches the lowered copies would.
fn find_ascii_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// True when `word` occurs in `text` case-insensitively with no letter or digit directly
/// before or after it.
fn word_hits(text: &str, word: &str) -> bool {
    if text.is_ascii() && word.is_ascii() {
        // The same leftmost, non-overlapping matches `match_indices` yields on lowered copies.
        let (text, word) = (text.as_bytes(), word.as_bytes());
        let mut from = 0;
        while let Some(i) = find_ascii_ci(text, word, from) {
            let before = i.checked_sub(1).and_then(|j| text.get(j));
            let after = text.get(i + word.len());
            if !before.is_some_and(u8::is_ascii_alphanumeric)
                && !after.is_some_and(u8::is_ascii_alphanumeric)
            {
                return true;
            }
            from = i + word.len();
        }
        return false;
    }
    let (text, word) = (text.to_lowercase(), word.to_lowercase());
    if word.is_empty() {
        return false;
    }
    text.match_indices(&word).any(|(i, m)| {
        let before = text[..i].chars().next_back();
        let after = text[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Whole-word, case-insensitive: `has_word("HP BLc Encl", "blc")` but not `("MDL HDD", "dl")`.
pub fn has_word(text: &str, word: &str) -> bool {
    word_hits(text, word)
}

/// True when a token of `text` starts with `prefix` (case-insensitive) directly followed by a
/// digit: `has_code("HP DL360p Gen8", "DL")`, but not `("2.5in MDL HDD", "DL")`.
pub fn has_code(text: &str, prefix: &str) -> bool {
    if text.is_ascii() && prefix.is_ascii() {
        // Tokens split on non-alphanumeric bytes, compared without lowered copies.
        let p = prefix.as_bytes();
        return !p.is_empty()
            && text
                .as_bytes()
                .split(|b| !b.is_ascii_alphanumeric())
                .any(|t| {
                    t.len() > p.len()
                        && t[..p.len()].eq_ignore_ascii_case(p)
                        && t[p.len()].is_ascii_digit()
                });
    }
    let prefix = prefix.to_lowercase();
    if prefix.is_empty() {
        return false;
    }
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .any(|t| {
            t.strip_prefix(&prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
}

/// The server generation in a product name (`Gen\s?(\d+)`, any case), e.g. `Gen8` → 8.
pub fn generation(name: &str) -> Option<INT> {
    let lower = name.to_lowercase();
    lower.match_indices("gen").find_map(|(i, _)| {
        let rest = &lower[i + 3..];
        let rest = rest
            .strip_prefix(|c: char| c.is_whitespace())
            .unwrap_or(rest);
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse::<INT>().ok()
    })
}

/// [`generation`] as scripts see it: the number, or `()` when there is none.
pub fn generation_value(name: &str) -> Dynamic {
    generation(name).map_or(Dynamic::UNIT, Dynamic::from_int)
}

fn parse_date(name: &str, v: &Dynamic) -> Result<Option<NaiveDate>, Box<EvalAltResult>> {
    if v.is_unit() {
        return Ok(None);
    }
    let Some(text) = v.read_lock::<ImmutableString>() else {
        return Err(helper_failed(
            name,
            &format!(
                "expected a `YYYY-MM-DD` string or `()`, found `{}`",
                v.type_name()
            ),
        ));
    };
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            helper_failed(
                name,
                &format!("`{}` is not a `YYYY-MM-DD` date", text.as_str()),
            )
        })
}

#[allow(clippy::needless_pass_by_value)] // Rhai hands native functions owned arguments
/// Days from `from` to `to` (positive when `to` is later); `()` when either date is `()`.
pub fn days_between(from: Dynamic, to: Dynamic) -> Result<Dynamic, Box<EvalAltResult>> {
    let a = parse_date("days_between", &from)?;
    let b = parse_date("days_between", &to)?;
    Ok(match (a, b) {
        (Some(a), Some(b)) => Dynamic::from_int((b - a).num_days()),
        _ => Dynamic::UNIT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A helper registered without an entry in [`HELPERS`] would have no declared purity (and
    /// no usage for hints): every registered function must be declared, and every declared one
    /// registered.
    #[test]
    fn every_registered_function_is_a_declared_helper() {
        let engine = crate::rules::build_engine(
            &crate::config::Limits::default(),
            std::path::Path::new("rules"),
        );
        let mut registered: Vec<String> = engine
            .collect_fn_metadata(None, |i| Some(i.metadata.name.to_string()), false)
            .into_iter()
            .filter(|n| !COMPARISONS.contains(&n.as_str()))
            .collect();
        registered.sort();
        registered.dedup();
        let mut declared: Vec<String> = helper_names().map(str::to_string).collect();
        declared.sort();
        assert_eq!(registered, declared);
    }

    #[test]
    fn fmt_int_groups_thousands() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(3771), "3,771");
        assert_eq!(fmt_int(-1_234_567), "-1,234,567");
    }

    #[test]
    fn words_and_codes_are_whole_tokens() {
        assert!(has_word("HPE BLc Encl Single Fan Option", "blc"));
        assert!(!has_word("HP 500GB 2.5in MDL HDD", "dl"));
        assert!(has_word("Aruba AP-325 Dual", "ap-325"));
        assert!(has_code("HP DL360p Gen8 8-SFF CTO Server", "DL"));
        assert!(has_code("HP BL460c G7 E5649 Kit", "bl"));
        assert!(!has_code("HP 500GB 3G SATA 7.2K 2.5in MDL HDD", "DL"));
        assert!(!has_code("HPE BLc Encl Single Fan Option", "BL"));
    }

    /// The helpers as first written (lowered copies, no ASCII shortcut): the reference the
    /// faster versions must agree with on every input.
    fn reference_contains_ci(text: &str, word: &str) -> bool {
        text.to_lowercase().contains(&word.to_lowercase())
    }

    fn reference_has_word(text: &str, word: &str) -> bool {
        let (text, word) = (text.to_lowercase(), word.to_lowercase());
        if word.is_empty() {
            return false;
        }
        text.match_indices(&word).any(|(i, m)| {
            let before = text[..i].chars().next_back();
            let after = text[i + m.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    }

    fn reference_has_code(text: &str, prefix: &str) -> bool {
        let prefix = prefix.to_lowercase();
        if prefix.is_empty() {
            return false;
        }
        text.split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .any(|t| {
                t.strip_prefix(&prefix)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn helpers_agree_with_the_reference(
            text in "[aAbBdDlL0-9 .,/_-]{0,16}|[aAdDlLİßK 0-9-]{0,8}|.{0,12}",
            word in "[aAbBdDlL0-9 -]{0,4}|[aAdDlLİßK]{0,2}|.{0,3}",
        ) {
            proptest::prop_assert_eq!(has_word(&text, &word), reference_has_word(&text, &word));
            proptest::prop_assert_eq!(has_code(&text, &word), reference_has_code(&text, &word));
            proptest::prop_assert_eq!(contains_ci(&text, &word), reference_contains_ci(&text, &word));
        }
    }

    #[test]
    fn helpers_agree_on_overlapping_and_edge_matches() {
        for (text, word) in [
            ("aaa", "aa"),
            ("aa a", "aa"),
            ("xaa aa", "aa"),
            ("ababa", "aba"),
            ("-a-a-", "-a-"),
            ("a--a--a", "a--a"),
            ("", ""),
            ("x", ""),
            ("DL", "dl"),
            ("dl380 DL", "DL"),
            ("BL460c", "bl"),
            ("AP", "ap"),
            ("AP-325", "ap"),
            ("3PAR", "3par"),
        ] {
            assert_eq!(
                has_word(text, word),
                reference_has_word(text, word),
                "{text:?} {word:?}"
            );
            assert_eq!(
                has_code(text, word),
                reference_has_code(text, word),
                "{text:?} {word:?}"
            );
            assert_eq!(
                contains_ci(text, word),
                reference_contains_ci(text, word),
                "{text:?} {word:?}"
            );
        }
    }

    #[test]
    fn generation_parses_gen_with_optional_space() {
        assert_eq!(generation("HP DL360p Gen8 8-SFF"), Some(8));
        assert_eq!(generation("ProLiant gen 10 Plus"), Some(10));
        assert_eq!(generation("General purpose"), None);
        assert_eq!(generation("Aruba AP-325"), None);
    }

    #[test]
    fn days_between_handles_unknown_and_bad_dates() {
        let d = |s: &str| Dynamic::from(s.to_string());
        let n = days_between(d("2015-07-01"), d("2025-10-29")).unwrap();
        assert_eq!(n.as_int().unwrap(), 3773);
        assert!(
            days_between(Dynamic::UNIT, d("2025-10-29"))
                .unwrap()
                .is_unit()
        );
        let err = days_between(d("2025-13-01"), d("2025-10-29")).unwrap_err();
        let EvalAltResult::ErrorRuntime(v, _) = *err else {
            panic!()
        };
        assert!(v.is::<HostFailure>());
    }
}
