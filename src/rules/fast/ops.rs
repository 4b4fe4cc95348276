//! Rhai's operators and the built-in functions the rules use, on [`Val`]s. Each arm mirrors what
//! Rhai 1.27 runs for that type combination (`func/builtin.rs` for operators, the standard
//! packages for string/array/map methods, `rules::api` for the helpers, which are called, not
//! copied). Every combination not listed bails, even where Rhai has an answer: a missing arm
//! costs speed, a wrong one would cost correctness.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use rhai::{Dynamic, FLOAT, FloatWrapper, INT, Token};

use super::{Limits, Res, Stop, Val, array_sizes, bail, stop};
use crate::rules::api;

/// A binary operator (also the base of an op-assignment such as `+=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    BitAnd,
    BitOr,
    BitXor,
}

impl BinOp {
    /// The operator a parsed token stands for; `None` for those compiled code does not run
    /// (`**`, shifts, ranges), so functions using them stay interpreted.
    pub(crate) fn of(t: &Token) -> Option<BinOp> {
        Some(match t {
            Token::Plus => BinOp::Add,
            Token::Minus => BinOp::Sub,
            Token::Multiply => BinOp::Mul,
            Token::Divide => BinOp::Div,
            Token::Modulo => BinOp::Rem,
            Token::EqualsTo => BinOp::Eq,
            Token::NotEqualsTo => BinOp::Ne,
            Token::LessThan => BinOp::Lt,
            Token::LessThanEqualsTo => BinOp::Le,
            Token::GreaterThan => BinOp::Gt,
            Token::GreaterThanEqualsTo => BinOp::Ge,
            Token::Ampersand => BinOp::BitAnd,
            Token::Pipe => BinOp::BitOr,
            Token::XOr => BinOp::BitXor,
            _ => return None,
        })
    }
}

/// True when every operator the engine overloads is a comparison of a number with a text
/// (`rules::api` makes those errors): compiled code bails on exactly those (see [`mixed`]), so
/// it may still run with the engine's fast operators off. Any other overload could change what
/// an operator compiled code computes itself means.
pub(crate) fn overloads_only_bail(engine: &rhai::Engine) -> bool {
    use std::any::TypeId;
    let number = |t: &TypeId| *t == TypeId::of::<INT>() || *t == TypeId::of::<FLOAT>();
    let text = |t: &TypeId| *t == TypeId::of::<rhai::ImmutableString>();
    let operators = [
        "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&", "|", "^", "!",
    ];
    let overloads = engine.collect_fn_metadata(
        None,
        |info| {
            let m = info.metadata;
            operators
                .contains(&m.name.as_str())
                .then(|| (m.name.to_string(), m.param_types.to_vec()))
        },
        false,
    );
    overloads.iter().all(|(name, types)| {
        ["==", "!=", "<", "<=", ">", ">="].contains(&name.as_str())
            && matches!(&types[..], [a, b] if number(a) && text(b) || text(a) && number(b))
    })
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Not,
    Neg,
}

/// The native functions compiled code calls, by name and argument count (a method's receiver
/// is its first argument, as in Rhai).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Native {
    Contains,
    ToLower,
    ToUpper,
    IsEmpty,
    Len,
    HasWord,
    HasCode,
    ContainsCi,
    FmtInt,
    Generation,
    DaysBetween,
    NoLead,
    Replace,
    Push,
}

/// Names a script must not define for its rule to be compiled: Rhai would call the script's
/// function instead of the native one (`to_string`/`to_debug` also format `${}` values).
pub(crate) const SHADOWABLE: &[&str] = &[
    "contains",
    "to_lower",
    "to_upper",
    "is_empty",
    "len",
    "has_word",
    "has_code",
    "contains_ci",
    "fmt_int",
    "generation",
    "days_between",
    "no_lead",
    "replace",
    "push",
    "to_string",
    "to_debug",
];

impl Native {
    pub(crate) fn lookup(name: &str, arity: usize) -> Option<Native> {
        Some(match (name, arity) {
            ("contains", 2) => Native::Contains,
            ("to_lower", 1) => Native::ToLower,
            ("to_upper", 1) => Native::ToUpper,
            ("is_empty", 1) => Native::IsEmpty,
            ("len", 1) => Native::Len,
            ("has_word", 2) => Native::HasWord,
            ("has_code", 2) => Native::HasCode,
            ("contains_ci", 2) => Native::ContainsCi,
            ("fmt_int", 1) => Native::FmtInt,
            ("generation", 1) => Native::Generation,
            ("days_between", 2) => Native::DaysBetween,
            ("no_lead", 1) => Native::NoLead,
            ("replace", 3) => Native::Replace,
            ("push", 2) => Native::Push,
            _ => return None,
        })
    }

    /// Changes its first argument in place (only compiled with a local variable there).
    pub(crate) fn mutates(self) -> bool {
        matches!(self, Native::Replace | Native::Push)
    }
}

/// What natives may read besides their arguments.
pub(crate) struct Env<'e> {
    pub args: &'e [Dynamic],
    pub lim: &'e Limits,
}

impl Env<'_> {
    /// The entry argument behind [`Val::Arg`]: a map, read under its lock for the call's length.
    fn with_arg<T>(
        &self,
        n: usize,
        f: impl FnOnce(&rhai::Map) -> Result<T, Stop>,
    ) -> Result<T, Stop> {
        let d = self
            .args
            .get(n)
            .ok_or_else(|| stop("argument out of range"))?;
        let m = d.as_map_ref().map_err(|_| stop("argument is not a map"))?;
        f(&m)
    }
}

fn read(d: &Dynamic) -> Res {
    Val::from_dynamic(d).ok_or_else(|| stop("value of an unsupported type"))
}

/// `map.name` (and `map["name"]`). A missing key bails: with `fail_on_invalid_map_property` Rhai
/// reports it (with a "did you mean"), and without it returns `()`; either way Rhai decides.
pub(crate) fn prop(env: &Env, cur: &Val, name: &str) -> Res {
    match cur {
        Val::Map(m) => m.get(name).map_or(bail("missing property"), read),
        Val::Arg(n) => env.with_arg(*n, |m| m.get(name).map_or(bail("missing property"), read)),
        _ => bail("property of a non-map"),
    }
}

/// `x[i]` on maps (string keys) and arrays (in-range, non-negative indices).
pub(crate) fn index(env: &Env, cur: &Val, idx: &Val) -> Res {
    match (cur, idx) {
        (Val::Map(_) | Val::Arg(_), Val::Str(k)) => prop(env, cur, k),
        (Val::Array(a), Val::Int(i)) => usize::try_from(*i)
            .ok()
            .and_then(|i| a.get(i))
            .map_or(bail("array index out of range"), read),
        _ => bail("index of an unsupported type"),
    }
}

/// Appends `v` as Rhai's `to_string` prints it (`${v}` in templates, `"s" + v`): ints and
/// bools plainly, floats through Rhai's own `FloatWrapper` (`1.0`, `1e20`), `()` as nothing.
pub(crate) fn display(buf: &mut String, v: &Val) -> Result<(), Stop> {
    match v {
        Val::Str(s) => buf.push_str(s),
        Val::Char(c) => buf.push(*c),
        Val::Unit => {}
        Val::Int(n) => {
            let _ = write!(buf, "{n}");
        }
        Val::Float(x) => {
            let _ = write!(buf, "{}", FloatWrapper::new(*x));
        }
        Val::Bool(b) => {
            let _ = write!(buf, "{b}");
        }
        Val::Array(_) | Val::Map(_) | Val::Arg(_) => return bail("formatting an array or map"),
    }
    Ok(())
}

fn text(s: String, lim: &Limits) -> Res {
    lim.check_str(s.len())?;
    Ok(Val::Str(s.into()))
}

fn int_op(op: BinOp, x: INT, y: INT) -> Res {
    let v = match op {
        BinOp::Add => x.checked_add(y).map(Val::Int),
        BinOp::Sub => x.checked_sub(y).map(Val::Int),
        BinOp::Mul => x.checked_mul(y).map(Val::Int),
        BinOp::Div if y == 0 => None,
        BinOp::Div => x.checked_div(y).map(Val::Int),
        BinOp::Rem => x.checked_rem(y).map(Val::Int),
        BinOp::Eq => Some(Val::Bool(x == y)),
        BinOp::Ne => Some(Val::Bool(x != y)),
        BinOp::Lt => Some(Val::Bool(x < y)),
        BinOp::Le => Some(Val::Bool(x <= y)),
        BinOp::Gt => Some(Val::Bool(x > y)),
        BinOp::Ge => Some(Val::Bool(x >= y)),
        BinOp::BitAnd => Some(Val::Int(x & y)),
        BinOp::BitOr => Some(Val::Int(x | y)),
        BinOp::BitXor => Some(Val::Int(x ^ y)),
    };
    v.ok_or_else(|| stop("integer overflow or division by zero"))
}

/// Float arithmetic, and comparisons with Rhai's relative-epsilon rule (checked builds compare
/// `|x - y| / max(|x|, |y|)` with `EPSILON`, so `0.1 + 0.2 == 0.3` is true).
fn float_op(op: BinOp, x: FLOAT, y: FLOAT) -> Res {
    let max = if x * y == 0.0 {
        1.0
    } else {
        x.abs().max(y.abs())
    };
    let b = |zero: bool, v: bool| Ok(Val::Bool(if max == 0.0 { zero } else { v }));
    match op {
        BinOp::Add => Ok(Val::Float(x + y)),
        BinOp::Sub => Ok(Val::Float(x - y)),
        BinOp::Mul => Ok(Val::Float(x * y)),
        BinOp::Div => Ok(Val::Float(x / y)),
        BinOp::Rem => Ok(Val::Float(x % y)),
        BinOp::Eq => b(true, (x - y).abs() / max <= FLOAT::EPSILON),
        BinOp::Ne => b(false, (x - y).abs() / max > FLOAT::EPSILON),
        BinOp::Gt => b(false, (x - y) / max > FLOAT::EPSILON),
        BinOp::Ge => b(true, (x - y) / max > -FLOAT::EPSILON),
        BinOp::Lt => b(false, (y - x) / max > FLOAT::EPSILON),
        BinOp::Le => b(true, (y - x) / max > -FLOAT::EPSILON),
        BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => bail("bit operator on floats"),
    }
}

fn ordered<T: PartialOrd + ?Sized>(op: BinOp, x: &T, y: &T) -> Res {
    Ok(Val::Bool(match op {
        BinOp::Eq => x == y,
        BinOp::Ne => x != y,
        BinOp::Lt => x < y,
        BinOp::Le => x <= y,
        BinOp::Gt => x > y,
        BinOp::Ge => x >= y,
        _ => return bail("operator not defined for these types"),
    }))
}

/// `a op b`.
pub(crate) fn binary(op: BinOp, a: &Val, b: &Val, lim: &Limits) -> Res {
    use Val::{Bool, Char, Float, Int, Str, Unit};
    match (a, b) {
        (Int(x), Int(y)) => int_op(op, *x, *y),
        (Float(x), Float(y)) => float_op(op, *x, *y),
        (Float(x), Int(y)) => float_op(op, *x, *y as FLOAT),
        (Int(x), Float(y)) => float_op(op, *x as FLOAT, *y),
        (Bool(x), Bool(y)) => match op {
            BinOp::BitAnd => Ok(Bool(x & y)),
            BinOp::BitOr => Ok(Bool(x | y)),
            BinOp::BitXor => Ok(Bool(x ^ y)),
            _ => ordered(op, x, y),
        },
        (Str(x), Str(y)) => match op {
            BinOp::Add => {
                lim.check_str(x.len() + y.len())?;
                Ok(Str(x + y))
            }
            _ => ordered(op, x.as_str(), y.as_str()),
        },
        (Char(x), Char(y)) => match op {
            BinOp::Add => text([*x, *y].iter().collect(), lim),
            _ => ordered(op, x, y),
        },
        (Unit, Unit) => match op {
            BinOp::Eq => Ok(Bool(true)),
            BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Ok(Bool(false)),
            _ => bail("operator not defined for ()"),
        },
        (Str(s), Char(c)) if op == BinOp::Add => text(format!("{s}{c}"), lim),
        (Char(c), Str(s)) if op == BinOp::Add => text(format!("{c}{s}"), lim),
        // `string op ()` and `() op string` have their own built-in arms: `+` keeps the string.
        (Unit, Str(s)) | (Str(s), Unit) => match op {
            BinOp::Add => Ok(Str(s.clone())),
            BinOp::Ne => Ok(Bool(true)),
            BinOp::Eq | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Ok(Bool(false)),
            _ => bail("operator not defined for string and ()"),
        },
        // No built-in: Rhai's string package appends (or prepends) `to_string` of the value.
        (Str(s), v @ (Int(_) | Float(_) | Bool(_))) if op == BinOp::Add => {
            let mut buf = s.to_string();
            display(&mut buf, v)?;
            text(buf, lim)
        }
        (v @ (Int(_) | Float(_) | Bool(_)), Str(s)) if op == BinOp::Add => {
            let mut buf = String::new();
            display(&mut buf, v)?;
            buf.push_str(s);
            text(buf, lim)
        }
        _ => mixed(op, a, b),
    }
}

/// Values of different types that are not both numbers: Rhai's built-in fallback makes `==`
/// false and `!=` true. Orderings (also false there) bail, as does anything involving chars
/// (compared with strings by their first characters), input maps, or two arrays/maps (compared
/// by registered functions), and a number with a text, which the engine makes an error
/// (`api::register_comparisons`).
fn mixed(op: BinOp, a: &Val, b: &Val) -> Res {
    let plain = |v: &Val| !matches!(v, Val::Char(_) | Val::Arg(_));
    if !plain(a) || !plain(b) || std::mem::discriminant(a) == std::mem::discriminant(b) {
        return bail("operator on an unsupported type combination");
    }
    let number = |v: &Val| matches!(v, Val::Int(_) | Val::Float(_));
    let text = |v: &Val| matches!(v, Val::Str(_));
    if matches!(op, BinOp::Eq | BinOp::Ne) && (number(a) && text(b) || text(a) && number(b)) {
        return bail("a number compared with a text");
    }
    match op {
        BinOp::Eq => Ok(Val::Bool(false)),
        BinOp::Ne => Ok(Val::Bool(true)),
        _ => bail("operator on values of different types"),
    }
}

/// `!v` and `-v`.
pub(crate) fn unary(op: UnOp, v: &Val) -> Res {
    match (op, v) {
        (UnOp::Not, Val::Bool(b)) => Ok(Val::Bool(!b)),
        (UnOp::Neg, Val::Int(n)) => n
            .checked_neg()
            .map(Val::Int)
            .ok_or_else(|| stop("integer overflow")),
        (UnOp::Neg, Val::Float(x)) => Ok(Val::Float(-x)),
        _ => bail("unary operator on an unsupported type"),
    }
}

/// `target op= rhs`, as Rhai's built-in op-assignments (and, for strings, its `+=` functions).
pub(crate) fn op_assign(op: BinOp, target: &mut Val, rhs: Val, lim: &Limits) -> Result<(), Stop> {
    use Val::{Array, Bool, Char, Float, Int, Str, Unit};
    let arith = matches!(
        op,
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem
    );
    let bits = matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor);
    let new = match (&mut *target, rhs) {
        (Int(x), Int(y)) if arith || bits => int_op(op, *x, y)?,
        (Float(x), Float(y)) if arith => float_op(op, *x, y)?,
        (Float(x), Int(y)) if arith => float_op(op, *x, y as FLOAT)?,
        (Bool(x), Bool(y)) if bits => Bool(match op {
            BinOp::BitAnd => *x && y,
            BinOp::BitOr => *x || y,
            _ => *x ^ y,
        }),
        (Str(s), v) if op == BinOp::Add => {
            match &v {
                Str(t) if t.is_empty() => {}
                Unit => {}
                Str(_) | Char(_) | Int(_) | Float(_) | Bool(_) => {
                    let mut buf = s.to_string();
                    display(&mut buf, &v)?;
                    lim.check_str(buf.len())?;
                    *s = buf.into();
                }
                _ => return bail("`+=` on a string with an unsupported type"),
            }
            return Ok(());
        }
        (Char(c), Char(d)) if op == BinOp::Add => text([*c, d].iter().collect(), lim)?,
        (Array(a), v) if op == BinOp::Add => {
            let a = Arc::make_mut(a);
            match v {
                Array(b) => a.extend(b.iter().cloned()),
                v => a.push(
                    v.into_dynamic()
                        .ok_or_else(|| stop("stores an input map"))?,
                ),
            }
            return lim.check_sizes(array_sizes(a));
        }
        _ => return bail("op-assignment on an unsupported type combination"),
    };
    *target = new;
    Ok(())
}

/// `elem == v` as `contains` on an array runs it (Rhai's `==` through its function table), for
/// the types where that is certain: equal strings/ints/bools, or two different plain types.
fn elem_eq(e: &Dynamic, v: &Val) -> Result<bool, Stop> {
    let kind = |v: &Val| match v {
        Val::Unit => Some(0),
        Val::Bool(_) => Some(1),
        Val::Int(_) => Some(2),
        Val::Str(_) => Some(3),
        _ => None,
    };
    if e.is_array() || e.is_map() {
        return bail("`in` on an array of arrays or maps");
    }
    let e = read(e)?;
    match (&e, v) {
        (Val::Str(a), Val::Str(b)) => Ok(a == b),
        (Val::Int(a), Val::Int(b)) => Ok(a == b),
        (Val::Bool(a), Val::Bool(b)) => Ok(a == b),
        // A number against a text is an error in Rhai here (`api::register_comparisons`).
        (Val::Int(_), Val::Str(_)) | (Val::Str(_), Val::Int(_)) => {
            bail("`in` compares a number with a text")
        }
        _ => match (kind(&e), kind(v)) {
            (Some(x), Some(y)) if x != y => Ok(false),
            _ => bail("`in` on an array with unsupported element types"),
        },
    }
}

/// `contains(container, v)`, which is also what `v in container` parses to.
fn contains(env: &Env, ops: &mut u64, recv: &Val, v: &Val) -> Res {
    let found = match (recv, v) {
        (Val::Str(s), Val::Str(t)) => s.contains(t.as_str()),
        (Val::Str(s), Val::Char(c)) => s.contains(*c),
        (Val::Map(m), Val::Str(k)) => m.contains_key(k.as_str()),
        (Val::Arg(n), Val::Str(k)) => env.with_arg(*n, |m| Ok(m.contains_key(k.as_str())))?,
        (Val::Array(a), v) => {
            *ops += a.len() as u64;
            let mut found = false;
            for e in a.iter() {
                if elem_eq(e, v)? {
                    found = true;
                    break;
                }
            }
            found
        }
        _ => return bail("`contains` on unsupported types"),
    };
    Ok(Val::Bool(found))
}

fn strs<'v>(a: &'v Val, b: &'v Val) -> Result<(&'v str, &'v str), Stop> {
    match (a, b) {
        (Val::Str(a), Val::Str(b)) => Ok((a, b)),
        _ => bail("helper called with non-strings"),
    }
}

fn case_char(c: char, mut it: impl Iterator<Item = char>) -> char {
    // Rhai keeps the character when its case mapping is more than one character.
    match (it.next(), it.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn len_of(n: usize) -> Val {
    Val::Int(INT::try_from(n).unwrap_or(INT::MAX))
}

/// A native function that does not change its arguments; the first is the method receiver, if
/// called as one. `ops` gets work proportional to data (array scans).
pub(crate) fn call(env: &Env, ops: &mut u64, n: Native, args: &[&Val]) -> Res {
    let lim = env.lim;
    let Some((&recv, rest)) = args.split_first() else {
        return bail("native without arguments");
    };
    match (n, rest) {
        (Native::Contains, [v]) => contains(env, ops, recv, v),
        (Native::ToLower, []) => match recv {
            Val::Str(s) if s.is_empty() || s.chars().all(char::is_lowercase) => Ok(recv.clone()),
            Val::Str(s) => text(s.to_lowercase(), lim),
            Val::Char(c) => Ok(Val::Char(case_char(*c, c.to_lowercase()))),
            _ => bail("`to_lower` on a non-string"),
        },
        (Native::ToUpper, []) => match recv {
            Val::Str(s) if s.chars().all(char::is_uppercase) => Ok(recv.clone()),
            Val::Str(s) => text(s.to_uppercase(), lim),
            Val::Char(c) => Ok(Val::Char(case_char(*c, c.to_uppercase()))),
            _ => bail("`to_upper` on a non-string"),
        },
        (Native::IsEmpty, []) => match recv {
            Val::Str(s) => Ok(Val::Bool(s.is_empty())),
            Val::Array(a) => Ok(Val::Bool(a.is_empty())),
            Val::Map(m) => Ok(Val::Bool(m.is_empty())),
            Val::Arg(n) => env.with_arg(*n, |m| Ok(Val::Bool(m.is_empty()))),
            _ => bail("`is_empty` on an unsupported type"),
        },
        (Native::Len, []) => match recv {
            Val::Str(s) => Ok(len_of(s.chars().count())),
            Val::Array(a) => Ok(len_of(a.len())),
            Val::Map(m) => Ok(len_of(m.len())),
            Val::Arg(n) => env.with_arg(*n, |m| Ok(len_of(m.len()))),
            _ => bail("`len` on an unsupported type"),
        },
        (Native::HasWord, [w]) => strs(recv, w).map(|(t, w)| Val::Bool(api::has_word(t, w))),
        (Native::HasCode, [w]) => strs(recv, w).map(|(t, w)| Val::Bool(api::has_code(t, w))),
        (Native::ContainsCi, [w]) => strs(recv, w).map(|(t, w)| Val::Bool(api::contains_ci(t, w))),
        (Native::FmtInt, []) => match recv {
            Val::Int(n) => text(api::fmt_int(*n), lim),
            Val::Float(x) => text(api::fmt_float(*x), lim),
            _ => bail("`fmt_int` on a non-number"),
        },
        (Native::Generation, []) => match recv {
            Val::Str(s) => read(&api::generation_value(s)),
            _ => bail("`generation` on a non-string"),
        },
        (Native::NoLead, []) => match recv {
            Val::Str(s) => Ok(Val::Str(api::no_lead(s.clone()))),
            _ => bail("`no_lead` on a non-string"),
        },
        (Native::DaysBetween, [to]) => {
            let (Some(a), Some(b)) = (recv.clone().into_dynamic(), (*to).clone().into_dynamic())
            else {
                return bail("`days_between` on an input map");
            };
            // A helper failure is an error with Rhai's position and wording: let Rhai report it.
            api::days_between(a, b).map_or(bail("helper failed"), |d| read(&d))
        }
        _ => bail("native called with the wrong arguments"),
    }
}

fn str_arg(v: &Val) -> Result<Cow<'_, str>, Stop> {
    match v {
        Val::Str(s) => Ok(Cow::Borrowed(s.as_str())),
        Val::Char(c) => Ok(Cow::Owned(c.to_string())),
        _ => bail("`replace` with a non-string"),
    }
}

/// A native that changes its first argument, a local variable: `s.replace(a, b)`, `a.push(v)`.
pub(crate) fn mutate(n: Native, target: &mut Val, rest: &[Val], lim: &Limits) -> Res {
    match (n, target, rest) {
        (Native::Replace, Val::Str(s), [find, with]) => {
            let (find, with) = (str_arg(find)?, str_arg(with)?);
            if !s.is_empty() {
                let out = s.replace(find.as_ref(), with.as_ref());
                lim.check_str(out.len())?;
                *s = out.into();
            }
            Ok(Val::Unit)
        }
        (Native::Push, Val::Array(a), [v]) => {
            let d = v
                .clone()
                .into_dynamic()
                .ok_or_else(|| stop("stores an input map"))?;
            let a = Arc::make_mut(a);
            a.push(d);
            lim.check_sizes(array_sizes(a))?;
            Ok(Val::Unit)
        }
        _ => bail("mutating native on an unsupported type"),
    }
}
