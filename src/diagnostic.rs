//! The house format of an error about a user's file (a rule, the config), shared by the config
//! and the rules so that both read alike and sort together: `error: …`, ` --> file:line:col`, the
//! source line with a caret, then an optional `= …` context and `help: …`.

use std::fmt::Write as _;

/// Where a diagnostic points.
#[derive(Debug, Clone, Copy)]
pub struct Loc<'a> {
    /// The file as displayed.
    pub path: &'a str,
    /// Its text, when known, for the snippet.
    pub source: Option<&'a str>,
    /// 1-based line; 0 = the whole file.
    pub line: usize,
    /// 1-based column; 0 = the whole line.
    pub col: usize,
}

impl<'a> Loc<'a> {
    /// The whole of a file.
    pub fn file(path: &'a str) -> Self {
        Loc {
            path,
            source: None,
            line: 0,
            col: 0,
        }
    }
}

/// One rendered problem with where it is, so that every problem of one check can be sorted by
/// file, line and column before it is shown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file as displayed.
    pub path: String,
    /// 1-based line, 0 for the whole file.
    pub line: usize,
    /// 1-based column, 0 for the whole line.
    pub col: usize,
    /// The rendered text (see [`render`]).
    pub text: String,
}

impl Diagnostic {
    /// A diagnostic at `loc`, rendered with [`render`].
    pub fn new(msg: &str, loc: &Loc<'_>, context: Option<&str>, help: Option<&str>) -> Self {
        Diagnostic {
            path: loc.path.to_string(),
            line: loc.line,
            col: loc.col,
            text: render(msg, loc, context, help),
        }
    }
}

impl Diagnostic {
    /// A diagnostic rendered elsewhere (a runtime error travels as its text), placed by the
    /// ` --> file:line:col` line it shows.
    pub fn from_rendered(text: String) -> Self {
        let at = text
            .lines()
            .find_map(|l| l.strip_prefix(" --> "))
            .unwrap_or_default()
            .to_string();
        let mut parts = at.rsplitn(3, ':');
        let last = parts.next().and_then(|p| p.parse::<usize>().ok());
        let before = parts.next().and_then(|p| p.parse::<usize>().ok());
        let (path, line, col) = match (last, before, parts.next()) {
            (Some(col), Some(line), Some(path)) => (path.to_string(), line, col),
            (Some(line), _, _) => {
                let path = at.rsplit_once(':').map_or(at.as_str(), |(p, _)| p);
                (path.to_string(), line, 0)
            }
            _ => (at.clone(), 0, 0),
        };
        Diagnostic {
            path,
            line,
            col,
            text,
        }
    }
}

/// Renders one diagnostic.
pub fn render(msg: &str, loc: &Loc<'_>, context: Option<&str>, help: Option<&str>) -> String {
    let mut out = format!("error: {msg}\n --> {}", loc.path);
    if loc.line > 0 {
        let _ = write!(out, ":{}", loc.line);
        if loc.col > 0 {
            let _ = write!(out, ":{}", loc.col);
        }
    }
    let text = loc
        .source
        .filter(|_| loc.line > 0)
        .and_then(|s| s.lines().nth(loc.line - 1));
    if let Some(text) = text {
        let num = loc.line.to_string();
        let pad = " ".repeat(num.len());
        let _ = write!(out, "\n{pad} |\n{num} | {text}");
        if loc.col > 0 {
            // Keep tabs so the caret lines up under the same glyphs.
            let lead: String = text
                .chars()
                .take(loc.col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = caret_width(text, loc.col);
            let _ = write!(out, "\n{pad} | {lead}{}", "^".repeat(width));
        }
    }
    if let Some(c) = context {
        let _ = write!(out, "\n  = {c}");
    }
    if let Some(h) = help {
        let _ = write!(out, "\nhelp: {h}");
    }
    out
}

/// The width of the token starting at 1-based `col`: a quoted string, an identifier or number,
/// else one glyph.
fn caret_width(text: &str, col: usize) -> usize {
    let mut rest = text.chars().skip(col - 1).peekable();
    if let Some(q @ ('"' | '\'')) = rest.peek().copied() {
        // A string literal: underline it up to and including its closing quote.
        let inner = rest.skip(1).take_while(|c| *c != q).count();
        return inner + 2;
    }
    let word = |c: &char| c.is_alphanumeric() || *c == '_';
    rest.take_while(word).count().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_location_the_line_and_a_caret_under_the_token() {
        let src = "a: 1\nthresholds:\n  x: \"90\"\n";
        let loc = Loc {
            path: "config/onelead.yaml",
            source: Some(src),
            line: 3,
            col: 6,
        };
        let text = render("bad", &loc, Some("ctx"), Some("fix it"));
        assert_eq!(
            text,
            "error: bad\n --> config/onelead.yaml:3:6\n  |\n3 |   x: \"90\"\n  |      ^^^^\n  = ctx\nhelp: fix it"
        );
    }

    #[test]
    fn a_rendered_diagnostic_is_placed_by_its_arrow_line() {
        let place = |t: &str| {
            let d = Diagnostic::from_rendered(t.to_string());
            (d.path, d.line, d.col)
        };
        assert_eq!(
            place("error: x\n --> rules/a.rhai:12:5\n  |"),
            ("rules/a.rhai".into(), 12, 5)
        );
        assert_eq!(
            place("error: x\n --> rules/a.rhai:3"),
            ("rules/a.rhai".into(), 3, 0)
        );
        assert_eq!(
            place("error: x\n --> rules/a.rhai"),
            ("rules/a.rhai".into(), 0, 0)
        );
        assert_eq!(place("error: x"), (String::new(), 0, 0));
    }

    #[test]
    fn diagnostics_sort_by_file_then_position() {
        let d = |p: &str, line, col| Diagnostic {
            path: p.into(),
            line,
            col,
            text: String::new(),
        };
        let mut v = [d("rules/b", 1, 1), d("rules/a", 9, 1), d("config/x", 20, 3)];
        v.sort();
        let order: Vec<_> = v.iter().map(|d| (d.path.as_str(), d.line)).collect();
        assert_eq!(order, [("config/x", 20), ("rules/a", 9), ("rules/b", 1)]);
    }
}
