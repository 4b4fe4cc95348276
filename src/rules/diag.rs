//! Rhai errors → rendered diagnostics in the house format (`error:` line, ` --> file:line:col`,
//! source line with a caret, optional `= while evaluating …` context and `help: did you mean`).

use rhai::{EvalAltResult, ParseError, ParseErrorType, Position};

use crate::config::did_you_mean;
pub(crate) use crate::diagnostic::{Diagnostic, Loc};
use crate::rules::api::HostFailure;

impl<'a> Loc<'a> {
    /// A location from a Rhai position.
    pub fn at(path: &'a str, source: Option<&'a str>, pos: Position) -> Self {
        Loc {
            path,
            source,
            line: pos.line().unwrap_or(0),
            col: pos.position().unwrap_or(0),
        }
    }

    /// The first line of `source` that defines `fn name`, or the whole file.
    pub fn of_fn(path: &'a str, source: &'a str, name: &str) -> Self {
        let needle = format!("fn {name}");
        source
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                l.find(&needle).and_then(|c| {
                    let after = l[c + needle.len()..].chars().next();
                    (!after.is_some_and(|ch| ch.is_alphanumeric() || ch == '_')).then_some(Loc {
                        path,
                        source: Some(source),
                        line: i + 1,
                        col: c + 1,
                    })
                })
            })
            .unwrap_or(Loc {
                path,
                source: Some(source),
                line: 0,
                col: 0,
            })
    }
}

pub(crate) use crate::diagnostic::render;

/// Drops Rhai's own ` (line 3, position 9)` suffix, lowercases the first letter and quotes names
/// in backticks (`'}'` → `` `}` ``).
pub(crate) fn clean(msg: &str) -> String {
    let msg = msg.find(" (line ").map_or(msg, |i| &msg[..i]);
    let msg = msg.trim().trim_end_matches('.');
    let mut chars = msg.chars();
    let msg = chars.next().map_or_else(String::new, |c| {
        c.to_lowercase().chain(chars).collect::<String>()
    });
    if msg.matches('\'').count() % 2 == 0 {
        msg.replace('\'', "`")
    } else {
        msg
    }
}

fn suggest(word: &str, candidates: &[String]) -> Option<String> {
    let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
    did_you_mean(word, &refs).map(|b| format!("did you mean `{b}`?"))
}

/// A compile error in `path`. `names` are the identifiers a typo is compared against. An
/// unbalanced brace is reported as itself, wherever Rhai noticed the damage.
pub(crate) fn parse_error(
    err: &ParseError,
    path: &str,
    source: &str,
    names: &[String],
) -> Diagnostic {
    if let Some(m) = crate::rules::braces::check(source) {
        let loc = Loc {
            path,
            source: Some(source),
            line: m.line,
            col: m.col,
        };
        return Diagnostic::new(&m.message, &loc, None, m.help.as_deref());
    }
    let loc = Loc::at(path, Some(source), err.position());
    let (msg, help) = match err.err_type() {
        ParseErrorType::VariableUndefined(v) => {
            (format!("unknown variable `{v}`"), suggest(v, names))
        }
        ParseErrorType::MissingToken(tok, what) => (format!("expected `{tok}` {what}"), None),
        other => (clean(&other.to_string()), None),
    };
    let msg = if msg.contains("`eval`") {
        "`eval` is disabled in rules: write the logic in the rule itself".to_string()
    } else {
        msg
    };
    Diagnostic::new(&msg, &loc, None, help.as_deref())
}

/// What a runtime diagnostic needs besides the error.
pub(crate) struct RuntimeInfo<'a> {
    /// `triggers/renewal`.
    pub rule_id: &'a str,
    /// The rule file as displayed.
    pub path: &'a str,
    /// Looks up the text of a rule or module file by its displayed path.
    pub source_of: &'a dyn Fn(&str) -> Option<&'a str>,
    /// Field names (item, account, cfg) for property typos.
    pub fields: &'a [String],
    /// The entry function called (`trigger`), pointed at when Rhai gives no position.
    pub entry: &'a str,
    /// Function names for call typos.
    pub functions: &'a [String],
    /// How each function is called (`fmt_int(number)`, `fn f(a, b)`), for calls with the
    /// wrong arguments.
    pub usages: &'a [String],
    /// The sandbox limits, quoted in limit errors.
    pub limits: &'a crate::config::Limits,
    /// `while evaluating …`, when a data row is known.
    pub context: Option<String>,
}

/// A call no function matches: `sig` is Rhai's `name (types)`. A name that exists was called
/// with the wrong arguments, which deserves its usage rather than a suggestion of itself.
fn wrong_call(sig: &str, info: &RuntimeInfo<'_>) -> (String, Option<String>) {
    let name = sig.split(['(', ' ']).next().unwrap_or(sig);
    // Rhai names a text argument by every Rust type it could have been.
    let args = sig[name.len()..]
        .trim()
        .replace("&str | ImmutableString | String", "string");
    if !info.functions.iter().any(|f| f == name) {
        return (
            format!("unknown function `{sig}`"),
            suggest(name, info.functions),
        );
    }
    let usages: Vec<String> = info
        .usages
        .iter()
        .filter(|u| u.starts_with(&format!("{name}(")) || u.starts_with(&format!("fn {name}(")))
        .map(|u| format!("`{u}`"))
        .collect();
    let msg = format!("`{name}` cannot be called with `{args}`");
    let help = (!usages.is_empty()).then(|| format!("it is called as {}", usages.join(" or ")));
    (msg, help)
}

/// A runtime error raised while a rule ran.
pub(crate) fn eval_error(err: &EvalAltResult, info: &RuntimeInfo<'_>) -> Diagnostic {
    // Follow nested calls to the innermost error, remembering which file it happened in.
    let mut file = info.path.to_string();
    let mut e = err;
    loop {
        match e {
            EvalAltResult::ErrorInFunctionCall(_, src, inner, _) => {
                if !src.is_empty() {
                    file.clone_from(src);
                }
                e = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, _) => {
                file.clone_from(name);
                e = inner;
            }
            _ => break,
        }
    }
    let pos = if e.position().is_none() {
        err.position()
    } else {
        e.position()
    };
    let (msg, help) = describe(e, info);
    let source = (info.source_of)(&file);
    let loc = match source {
        // Limits stop the call from outside; Rhai then only knows the (top-level) call site.
        Some(text) if pos.is_none() && file == info.path => Loc::of_fn(&file, text, info.entry),
        _ => Loc::at(&file, source, pos),
    };
    Diagnostic::new(&msg, &loc, info.context.as_deref(), help.as_deref())
}

/// The message and help for the innermost error of a runtime failure.
fn describe(e: &EvalAltResult, info: &RuntimeInfo<'_>) -> (String, Option<String>) {
    let id = info.rule_id;
    let l = info.limits;
    match e {
        EvalAltResult::ErrorTooManyOperations(_) => (
            format!(
                "rule `{id}` exceeded {} operations (`limits.max_operations`)",
                l.max_operations
            ),
            None,
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            format!(
                "rule `{id}` exceeded {} nested calls (`limits.max_call_levels`)",
                l.max_call_levels
            ),
            None,
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            let key = if what.contains("string") {
                ("max_string_size", l.max_string_size)
            } else if what.contains("array") {
                ("max_array_size", l.max_array_size)
            } else {
                ("max_map_size", l.max_map_size)
            };
            (
                format!(
                    "rule `{id}` built a value over the size limit: {} exceeds {} (`limits.{}`)",
                    clean(what),
                    key.1,
                    key.0
                ),
                None,
            )
        }
        EvalAltResult::ErrorRuntime(v, _) => match v.read_lock::<HostFailure>() {
            Some(h) => (h.message.clone(), h.help.clone()),
            None => (format!("rule threw: {v}"), None),
        },
        EvalAltResult::ErrorPropertyNotFound(p, _) => {
            (format!("unknown field `{p}`"), suggest(p, info.fields))
        }
        EvalAltResult::ErrorVariableNotFound(v, _) => (
            format!("unknown variable `{v}`"),
            suggest(v, info.functions),
        ),
        EvalAltResult::ErrorFunctionNotFound(sig, _) => wrong_call(sig, info),
        EvalAltResult::ErrorMismatchDataType(want, got, _) => (
            format!("type mismatch: expected `{want}`, found `{got}`"),
            None,
        ),
        EvalAltResult::ErrorParsing(p, _) => (clean(&p.to_string()), None),
        other => (clean(&other.to_string()), None),
    }
}
