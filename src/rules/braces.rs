//! Brace balance of a rule's text, for compile errors that are really a missing or extra `}`.
//! Rhai reports those where the damage shows: an extra `}` closes the function early, and the
//! rest of its body is then top-level code where `item` is "an unknown variable". This scan
//! finds the brace itself and the block it most likely belongs to, from indentation: a `}` that
//! closes a block opened on an earlier line is expected at the start of its line, indented like
//! the line that opened it.

/// An unbalanced brace, with 1-based positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// What is wrong, for the `error:` line.
    pub message: String,
    /// Where to point.
    pub line: usize,
    /// Column of the brace.
    pub col: usize,
    /// Where the block involved opened, and why that one.
    pub help: Option<String>,
}

/// A `{` waiting for its `}`: a block, or the `${` of a template string.
#[derive(Debug, Clone, Copy)]
enum Open {
    Block {
        line: usize,
        col: usize,
        indent: usize,
    },
    Interp,
}

/// A block closed where its indentation says it should not be: (opened at, closed at).
type Suspect = ((usize, usize), (usize, usize));

/// Scanner state: code, or inside a template string (`` `…${…}…` ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Code,
    Template,
}

/// The first imbalance in `source`, or `None` when every `{` has its `}`.
pub(crate) fn check(source: &str) -> Option<Mismatch> {
    let lines: Vec<&str> = source.lines().collect();
    let indent_of = |line: usize| {
        lines
            .get(line - 1)
            .map_or(0, |l| l.len() - l.trim_start().len())
    };
    let mut open: Vec<Open> = Vec::new();
    let mut modes = vec![Mode::Code];
    let mut suspect: Option<Suspect> = None;
    let chars: Vec<char> = source.chars().collect();
    let (mut line, mut col) = (1, 0);
    let mut line_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        col += 1;
        let first_on_line = line_start && !c.is_whitespace();
        if !c.is_whitespace() {
            line_start = false;
        }
        let mode = modes.last().copied().unwrap_or(Mode::Code);
        match (mode, c) {
            (_, '\n') => {
                line += 1;
                col = 0;
                line_start = true;
            }
            (Mode::Template, '`') => {
                modes.pop();
            }
            (Mode::Template, '$') if next == Some('{') => {
                open.push(Open::Interp);
                modes.push(Mode::Code);
                i += 1;
                col += 1;
            }
            (Mode::Code, '/') if next == Some('/') => {
                while i + 1 < chars.len() && chars[i + 1] != '\n' {
                    i += 1;
                }
            }
            (Mode::Code, '/') if next == Some('*') => {
                skip_block_comment(&chars, &mut i, &mut line, &mut col);
            }
            (Mode::Code, '"' | '\'') => skip_quoted(&chars, &mut i, &mut line, &mut col),
            (Mode::Code, '`') => modes.push(Mode::Template),
            (Mode::Code, '{') => open.push(Open::Block {
                line,
                col,
                indent: indent_of(line),
            }),
            (Mode::Code, '}') => match open.pop() {
                Some(Open::Interp) => {
                    modes.pop();
                }
                Some(Open::Block {
                    line: at,
                    col: at_col,
                    indent,
                }) => {
                    let placed = at == line || (first_on_line && indent_of(line) == indent);
                    if !placed && suspect.is_none() {
                        suspect = Some(((at, at_col), (line, col)));
                    }
                }
                None => return Some(extra(line, col, suspect, &lines)),
            },
            _ => {}
        }
        i += 1;
    }
    let innermost = open.iter().rev().find_map(|o| match o {
        Open::Block { line, col, .. } => Some((*line, *col)),
        Open::Interp => None,
    })?;
    Some(unclosed(innermost, suspect, &lines))
}

/// An extra `}` at `line:col`.
fn extra(line: usize, col: usize, suspect: Option<Suspect>, lines: &[&str]) -> Mismatch {
    let help = suspect.map(|((ol, _), (cl, cc))| {
        format!(
            "the block opened at line {ol} (`{}`) is closed by the `}}` at {cl}:{cc}, which is not where its \
             indentation puts it: is that one extra?",
            lines.get(ol - 1).map_or("", |l| l.trim())
        )
    });
    Mismatch {
        message: "unexpected `}`: no block is open here".into(),
        line,
        col,
        help,
    }
}

/// A `{` never closed: the block a misplaced `}` was taken from, else the innermost one open.
fn unclosed(innermost: (usize, usize), suspect: Option<Suspect>, lines: &[&str]) -> Mismatch {
    let ((line, col), help) = match suspect {
        Some((opened, (cl, cc))) => (
            opened,
            Some(format!(
                "the `}}` at {cl}:{cc} is indented like an outer block: this one probably \
                 needs its own `}}` before it"
            )),
        ),
        None => (innermost, None),
    };
    let text = lines.get(line - 1).map_or("", |l| l.trim());
    Mismatch {
        message: format!("unclosed `{{`: the block opened here (`{text}`) is never closed"),
        line,
        col,
        help,
    }
}

/// Moves `i` to the closing quote of the string or character starting at `i`.
fn skip_quoted(chars: &[char], i: &mut usize, line: &mut usize, col: &mut usize) {
    let quote = chars[*i];
    while *i + 1 < chars.len() {
        *i += 1;
        *col += 1;
        match chars[*i] {
            '\\' => {
                *i += 1;
                *col += 1;
            }
            '\n' => {
                *line += 1;
                *col = 0;
            }
            c if c == quote => return,
            _ => {}
        }
    }
}

/// Moves `i` to the end of the (possibly nested) block comment starting at `i`.
fn skip_block_comment(chars: &[char], i: &mut usize, line: &mut usize, col: &mut usize) {
    let mut depth = 0;
    while *i < chars.len() {
        match (chars[*i], chars.get(*i + 1)) {
            ('/', Some('*')) => {
                depth += 1;
                *i += 1;
                *col += 1;
            }
            ('*', Some('/')) => {
                depth -= 1;
                *i += 1;
                *col += 1;
                if depth == 0 {
                    return;
                }
            }
            ('\n', _) => {
                *line += 1;
                *col = 0;
            }
            _ => {}
        }
        *i += 1;
        *col += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_text_with_braces_in_strings_templates_and_comments_passes() {
        let src = "fn f(x) {\n    let s = \"}\"; let c = '{';\n    // }\n    /* { /* } */ */\n    \
                   let t = `a ${ #{ k: `${x}` }.k } }`;\n    if x { 1 } else {\n        2\n    }\n}\n";
        assert_eq!(check(src), None);
    }

    // See: issue 21 ("one extra `}`: unknown variable `item` … did you mean `item`?").
    #[test]
    fn an_extra_brace_is_found_with_the_block_it_closed_early() {
        let src = "fn lead_type() { \"T\" }\n\nfn trigger(item, account, cfg) {\n    \
                   if item.x == \"\" {\n        return;\n    }}\n    let y = item.y;\n}\n";
        let m = check(src).unwrap();
        assert_eq!((m.line, m.col), (8, 1));
        assert_eq!(m.message, "unexpected `}`: no block is open here");
        assert_eq!(
            m.help.as_deref(),
            Some(
                "the block opened at line 3 (`fn trigger(item, account, cfg) {`) is closed by the `}` at 6:6, \
                 which is not where its indentation puts it: is that one extra?"
            )
        );
    }

    #[test]
    fn a_missing_brace_points_at_the_block_that_lost_it() {
        let src = "fn trigger(item, account, cfg) {\n    if item.x {\n        return;\n\n    \
                   let y = 1;\n}\n";
        let m = check(src).unwrap();
        assert_eq!((m.line, m.col), (2, 15));
        assert_eq!(
            m.message,
            "unclosed `{`: the block opened here (`if item.x {`) is never closed"
        );
        assert!(
            m.help
                .unwrap()
                .starts_with("the `}` at 6:1 is indented like")
        );
        // Without a misplaced `}` to go by, the innermost open block is named.
        let m = check("fn f() {\n  if x {\n    1\n  }\n").unwrap();
        assert_eq!((m.line, m.col, m.help), (1, 8, None));
    }
}
