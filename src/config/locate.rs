//! Where each key of a YAML file is, by dotted path (`thresholds.critical_days_past_eol`), so a
//! problem found after parsing (a quoted number, weights that do not sum to 1) can point at its
//! line and column. serde_yaml locates only the errors it raises itself, and stops at the first.
//!
//! This reads the block style the shipped config and scenario files use (`key: value`, nested by
//! indentation, `- ` sequence items as `key.0`, `key.1`, comments, quoted keys) and one level of
//! flow mappings (`limits: {max_operations: 5}`); anything it cannot place falls back to its
//! nearest located parent, then to the whole file.

use std::collections::HashMap;

use crate::diagnostic::Loc;

/// A key's position and its value's, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Line of the key.
    pub line: usize,
    /// Column of the key.
    pub col: usize,
    /// Column of the value on the key's line (the key's own when the value starts below it).
    pub value_col: usize,
}

/// Dotted key path → where it is.
#[derive(Debug, Default)]
pub struct Locations {
    keys: HashMap<String, Span>,
}

impl Locations {
    /// Indexes `text`.
    pub fn new(text: &str) -> Locations {
        let mut keys = HashMap::new();
        let mut open: Vec<Open> = Vec::new();
        // How many items each sequence (by its path) has had so far.
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = strip_comment(raw);
            let mut content = line.trim_start();
            if content.is_empty() || content.starts_with("---") || content.starts_with("...") {
                continue;
            }
            let mut indent = line.len() - content.len();
            if let Some(rest) = content
                .strip_prefix('-')
                .filter(|r| r.is_empty() || r.starts_with(' '))
            {
                // `key:` then `- item` may share an indentation: the item still belongs to it.
                open.retain(|o| o.indent < indent || (o.indent == indent && !o.item));
                let parent = path_of(&open, "");
                let n = counts.entry(parent.clone()).or_insert(0);
                let index = n.to_string();
                *n += 1;
                open.push(Open {
                    indent,
                    key: index,
                    item: true,
                });
                let inner = rest.trim_start();
                indent += content.len() - inner.len();
                content = inner;
                if content.is_empty() {
                    continue;
                }
            } else {
                open.retain(|o| o.indent < indent);
            }
            let Some((key, rest)) = split_key(content) else {
                continue;
            };
            let path = path_of(&open, &key);
            let value_at = indent + content.len() - rest.trim_start().len();
            let value = rest.trim();
            let span = Span {
                line: i + 1,
                col: indent + 1,
                value_col: if value.is_empty() {
                    indent + 1
                } else {
                    value_at + 1
                },
            };
            if value.starts_with('{') {
                index_flow(&mut keys, &path, i + 1, value_at, value);
            }
            keys.insert(path, span);
            if value.is_empty() {
                open.push(Open {
                    indent,
                    key,
                    item: false,
                });
            }
        }
        Locations { keys }
    }

    /// Where `path` is, or its nearest located parent; `None` when nothing on the way is.
    pub fn find(&self, path: &str) -> Option<Span> {
        let mut p = path;
        loop {
            if let Some(s) = self.keys.get(p) {
                return Some(*s);
            }
            p = &p[..p.rfind('.')?];
        }
    }

    /// True when `path` itself (not a parent) was located.
    pub fn has(&self, path: &str) -> bool {
        self.keys.contains_key(path)
    }

    /// Where a diagnostic about `key` in the file `path` (whose text is `text`) points: at the
    /// key's value with `value` (when the key itself was located), else at the key, else at
    /// its nearest located parent, else at the whole file.
    pub fn loc<'a>(&self, path: &'a str, text: &'a str, key: &str, value: bool) -> Loc<'a> {
        self.find(key).map_or(Loc::file(path), |span| Loc {
            path,
            source: Some(text),
            line: span.line,
            col: if value && self.has(key) {
                span.value_col
            } else {
                span.col
            },
        })
    }
}

/// A block mapping key, or a sequence item, whose children are indented deeper.
struct Open {
    indent: usize,
    /// The key, or the item's index.
    key: String,
    /// A sequence item (`- …`).
    item: bool,
}

/// The dotted path of `key` under `open` (of the innermost open entry when `key` is empty).
fn path_of(open: &[Open], key: &str) -> String {
    let mut parts: Vec<&str> = open.iter().map(|o| o.key.as_str()).collect();
    if !key.is_empty() {
        parts.push(key);
    }
    parts.join(".")
}

/// `key: rest` → the key (unquoted) and the rest after the colon.
fn split_key(content: &str) -> Option<(String, &str)> {
    if let Some(q @ ('"' | '\'')) = content.chars().next() {
        let end = content[1..].find(q)? + 1;
        let rest = content[end + 1..].trim_start().strip_prefix(':')?;
        return Some((content[1..end].to_string(), rest));
    }
    let colon = content
        .char_indices()
        .find(|&(i, c)| {
            c == ':'
                && content[i + 1..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, _)| i)?;
    let key = content[..colon].trim();
    (!key.is_empty() && !key.contains(['{', '[', '"']))
        .then(|| (key.to_string(), &content[colon + 1..]))
}

/// `{a: 1, b: {c: 2}}` at 0-based column `at` of `line`: indexes `path.a`, `path.b` (one level).
fn index_flow(keys: &mut HashMap<String, Span>, path: &str, line: usize, at: usize, value: &str) {
    let mut depth = 0;
    let mut quote = None;
    let mut start = 1;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']' | ',') if depth == 1 => {
                let item = &value[start..i];
                let lead = item.len() - item.trim_start().len();
                if let Some((key, rest)) = split_key(item.trim_start()) {
                    let col = at + start + lead + 1;
                    // `rest` runs to the comma or brace at `i`.
                    let value_col = at + i - rest.trim_start().len() + 1;
                    keys.insert(
                        format!("{path}.{key}"),
                        Span {
                            line,
                            col,
                            value_col: value_col.max(col),
                        },
                    );
                }
                start = i + 1;
                if c == '}' || c == ']' {
                    depth -= 1;
                }
            }
            (None, '}' | ']') => depth -= 1,
            _ => {}
        }
    }
}

/// The line without a trailing `# comment` (a `#` inside quotes is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if prev_space => return line[..i].trim_end(),
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line.trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# header\n\
        database: data/x.db   # comment\n\
        scoring_weights:\n  urgency: 0.35\n  value: 0.3\n\
        thresholds:\n  critical_days_past_eol: \"1825\"   # quoted\n  '56088': Apple\n\
        limits: {max_operations: 0, max_call_levels: 32}\n\
        data:\n  - data/sample\n\
        top_services: 3\n";

    #[test]
    fn finds_block_keys_their_values_and_flow_keys() {
        let l = Locations::new(TEXT);
        let at = |p: &str| l.find(p).map(|s| (s.line, s.col, s.value_col));
        assert_eq!(at("database"), Some((2, 1, 11)));
        assert_eq!(at("scoring_weights"), Some((3, 1, 1)));
        assert_eq!(at("scoring_weights.value"), Some((5, 3, 10)));
        assert_eq!(at("thresholds.critical_days_past_eol"), Some((7, 3, 27)));
        assert_eq!(at("thresholds.56088"), Some((8, 3, 12)));
        assert_eq!(at("limits.max_operations"), Some((9, 10, 26)));
        assert_eq!(at("limits.max_call_levels"), Some((9, 29, 46)));
        assert_eq!(at("top_services"), Some((12, 1, 15)));
        // An unknown child falls back to its parent; nothing at all gives `None`.
        assert_eq!(at("scoring_weights.engagement"), Some((3, 1, 1)));
        assert!(!l.has("scoring_weights.engagement"));
        assert_eq!(at("nowhere.at.all"), None);
    }

    #[test]
    fn sequence_items_are_numbered_whatever_their_indentation() {
        let text = "scenarios:\n  - name: a\n    item:\n      x: 1\n  - name: b\n    expect:\n      leads:\n      - type: T\n        score: 5\n      - type: U\nother:\n- 1\n- k: v\n";
        let l = Locations::new(text);
        let at = |p: &str| l.find(p).filter(|_| l.has(p)).map(|s| (s.line, s.col));
        assert_eq!(at("scenarios.0.name"), Some((2, 5)));
        assert_eq!(at("scenarios.0.item.x"), Some((4, 7)));
        assert_eq!(at("scenarios.1.name"), Some((5, 5)));
        assert_eq!(at("scenarios.1.expect.leads.0.type"), Some((8, 9)));
        assert_eq!(at("scenarios.1.expect.leads.0.score"), Some((9, 9)));
        assert_eq!(at("scenarios.1.expect.leads.1.type"), Some((10, 9)));
        assert_eq!(at("other.1.k"), Some((13, 3)));
    }

    #[test]
    fn a_hash_inside_quotes_is_not_a_comment() {
        assert_eq!(strip_comment("a: \"x # y\" # z"), "a: \"x # y\"");
        assert_eq!(strip_comment("a: b#c"), "a: b#c");
    }
}
