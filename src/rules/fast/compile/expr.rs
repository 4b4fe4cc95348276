//! Expressions: literals, variables, templates, arrays and maps, operators and calls (to the
//! script's own functions and to natives), and property/index/method chains.

use std::borrow::Cow;
use std::sync::Arc;

use rhai::{ASTFlags, Array, Expr, FnCallExpr, Identifier, ImmutableString, StaticVec};

use super::super::ops::{self, BinOp, Env, Native, UnOp};
use super::super::{Code, Machine, Stop, Val, array_sizes, bail, code, map_sizes, stop};
use super::{CResult, Cx, W, enter, eval_all};

/// An operand of an operator or a native call. Constants and local variables are read in
/// place rather than copied: copying a string is a reference-count update, an atomic operation,
/// and those made up much of a call's cost.
enum Operand {
    Const(Val),
    Local(usize),
    Code(Code),
}

/// The operands of one operator or call, evaluated left to right.
struct Operands {
    list: Vec<Operand>,
    weight: u64,
}

impl Operands {
    /// Runs every computed operand (in order), then hands `f` all operands by reference, with
    /// what natives may read and a counter for the data they scan.
    fn with<R>(
        &self,
        m: &mut Machine<'_>,
        f: impl FnOnce(&Env, &mut u64, &[&Val]) -> Result<R, Stop>,
    ) -> Result<R, Stop> {
        m.tick(self.weight)?;
        let mut owned: StaticVec<Val> = StaticVec::new();
        for o in &self.list {
            if let Operand::Code(c) = o {
                owned.push(c(m)?);
            }
        }
        let mut scanned = 0;
        let r = {
            let mut computed = owned.iter();
            let mut refs: StaticVec<&Val> = StaticVec::new();
            for o in &self.list {
                refs.push(match o {
                    Operand::Const(v) => v,
                    Operand::Local(s) => m.get(*s)?,
                    Operand::Code(_) => computed.next().ok_or_else(|| stop("operand"))?,
                });
            }
            let env = Env {
                args: m.args,
                lim: m.lim,
            };
            f(&env, &mut scanned, &refs)
        };
        m.tick(scanned)?;
        r
    }
}

/// The constant an expression always evaluates to, if it is a literal.
fn literal(e: &Expr) -> Option<Val> {
    match e {
        Expr::DynamicConstant(d, _) => Val::from_dynamic(d),
        Expr::BoolConstant(b, _) => Some(Val::Bool(*b)),
        Expr::IntegerConstant(n, _) => Some(Val::Int(*n)),
        Expr::FloatConstant(x, _) => Some(Val::Float(**x)),
        Expr::CharConstant(c, _) => Some(Val::Char(*c)),
        Expr::StringConstant(s, _) => Some(Val::Str(s.clone())),
        Expr::Unit(_) => Some(Val::Unit),
        _ => None,
    }
}

/// One chain step after the root: `.prop`, `[index]` or `.method(args)`.
enum Step {
    Prop(ImmutableString),
    Index,
    Method(Native, usize),
}

enum Root {
    Slot(usize),
    Expr(Code),
}

impl Cx<'_> {
    pub(super) fn exprs(&mut self, es: &[Expr]) -> CResult<Vec<Code>> {
        es.iter().map(|e| self.expr(e)).collect()
    }

    fn operand(&mut self, e: &Expr) -> CResult<Operand> {
        Ok(if let Some(slot) = self.local(e) {
            Operand::Local(slot)
        } else if let Some(v) = literal(e) {
            Operand::Const(v)
        } else {
            Operand::Code(self.expr(e)?)
        })
    }

    fn operands<'e>(&mut self, es: impl IntoIterator<Item = &'e Expr>) -> CResult<Operands> {
        let mut list = es
            .into_iter()
            .map(|e| self.operand(e))
            .collect::<CResult<Vec<_>>>()?;
        // Computed operands run before any is read in place, so a local read in place must not
        // come before code that could assign to it (`x + { x = 1; 0 }`): read those in order.
        if let Some(last) = list.iter().rposition(|o| matches!(o, Operand::Code(_))) {
            for o in &mut list[..last] {
                if let Operand::Local(slot) = *o {
                    *o = Operand::Code(read_local(slot));
                }
            }
        }
        Ok(Operands {
            weight: W * (1 + list.len() as u64),
            list,
        })
    }

    pub(super) fn expr(&mut self, e: &Expr) -> CResult<Code> {
        let konst = |v: Val| -> CResult<Code> {
            Ok(code(move |m| {
                m.tick(W)?;
                Ok(v.clone())
            }))
        };
        match e {
            Expr::DynamicConstant(d, _) => {
                konst(Val::from_dynamic(d).ok_or("constant of an unsupported type")?)
            }
            Expr::BoolConstant(b, _) => konst(Val::Bool(*b)),
            Expr::IntegerConstant(n, _) => konst(Val::Int(*n)),
            Expr::FloatConstant(x, _) => konst(Val::Float(**x)),
            Expr::CharConstant(c, _) => konst(Val::Char(*c)),
            Expr::StringConstant(s, _) => konst(Val::Str(s.clone())),
            Expr::Unit(_) => konst(Val::Unit),
            Expr::Variable(v, ..) => {
                if !v.2.is_empty() {
                    return Err(format!("namespaced variable `{}`", v.1));
                }
                let slot = self
                    .lookup(&v.1)
                    .ok_or_else(|| format!("`{}` is not a local variable", v.1))?;
                Ok(read_local(slot))
            }
            Expr::InterpolatedString(parts, _) => self.template(parts),
            Expr::Array(items, _) => self.array(items),
            Expr::Map(x, _) => self.map(&x.0, &x.1),
            Expr::Stmt(b) => self.counted_block(b.statements()),
            Expr::FnCall(x, _) => self.call(x),
            Expr::And(list, _) => self.logic(list, false),
            Expr::Or(list, _) => self.logic(list, true),
            Expr::Coalesce(list, _) => self.coalesce(list),
            Expr::Dot(..) | Expr::Index(..) => self.chain(e),
            _ => Err(format!("expression not supported: {}", expr_kind(e))),
        }
    }

    /// `` `a ${b} c` ``: parts read one at a time, in order, so locals can be read in place.
    fn template(&mut self, parts: &[Expr]) -> CResult<Code> {
        let parts = parts
            .iter()
            .map(|p| self.operand(p))
            .collect::<CResult<Vec<_>>>()?;
        let weight = W * (1 + parts.len() as u64);
        Ok(code(move |m| {
            m.tick(weight)?;
            let mut buf = String::with_capacity(64);
            for p in &parts {
                match p {
                    Operand::Const(v) => ops::display(&mut buf, v)?,
                    Operand::Local(s) => ops::display(&mut buf, m.get(*s)?)?,
                    Operand::Code(c) => ops::display(&mut buf, &c(m)?)?,
                }
            }
            m.lim.check_str(buf.len())?;
            Ok(Val::Str(buf.into()))
        }))
    }

    /// `[a, b]`.
    fn array(&mut self, items: &[Expr]) -> CResult<Code> {
        let items = self.exprs(items)?;
        Ok(code(move |m| {
            m.tick(W)?;
            let mut a = Array::with_capacity(items.len());
            for c in &items {
                let d = c(m)?.into_dynamic();
                a.push(d.ok_or_else(|| stop("stores an input map"))?);
            }
            m.lim.check_sizes(array_sizes(&a))?;
            Ok(Val::Array(Arc::new(a)))
        }))
    }

    /// `#{ k: v }`, filled into the template map Rhai built for it.
    fn map(&mut self, entries: &[(rhai::Ident, Expr)], template: &rhai::Map) -> CResult<Code> {
        let values = entries
            .iter()
            .map(|(k, v)| Ok((Identifier::from(k.name.as_str()), self.expr(v)?)))
            .collect::<CResult<Vec<_>>>()?;
        let template = template.clone();
        Ok(code(move |m| {
            m.tick(W)?;
            let mut map = template.clone();
            for (k, c) in &values {
                let d = c(m)?.into_dynamic();
                map.insert(k.clone(), d.ok_or_else(|| stop("stores an input map"))?);
            }
            m.lim.check_sizes(map_sizes(&map))?;
            Ok(Val::Map(Arc::new(map)))
        }))
    }

    /// `&&` stops at the first false, `||` (`stop_at` true) at the first true; each operand
    /// must be a bool (Rhai reports a type mismatch otherwise).
    fn logic(&mut self, list: &[Expr], stop_at: bool) -> CResult<Code> {
        let list = self.exprs(list)?;
        Ok(code(move |m| {
            m.tick(W)?;
            for c in &list {
                match c(m)? {
                    Val::Bool(b) if b == stop_at => return Ok(Val::Bool(stop_at)),
                    Val::Bool(_) => {}
                    _ => return bail("`&&`/`||` on a non-bool"),
                }
            }
            Ok(Val::Bool(!stop_at))
        }))
    }

    /// `a ?? b`: the first value that is not `()`.
    fn coalesce(&mut self, list: &[Expr]) -> CResult<Code> {
        let list = self.exprs(list)?;
        Ok(code(move |m| {
            m.tick(W)?;
            let mut v = Val::Unit;
            for c in &list {
                v = c(m)?;
                if !matches!(v, Val::Unit) {
                    break;
                }
            }
            Ok(v)
        }))
    }

    pub(super) fn call(&mut self, x: &FnCallExpr) -> CResult<Code> {
        if x.is_qualified() || x.capture_parent_scope {
            return Err(format!("call to `{}` with a namespace or `!`", x.name));
        }
        if let Some(tok) = &x.op_token {
            return match &x.args[..] {
                [_] => {
                    let op = match tok {
                        rhai::Token::Bang => UnOp::Not,
                        rhai::Token::Minus | rhai::Token::UnaryMinus => UnOp::Neg,
                        _ => return Err(format!("unary operator `{tok}`")),
                    };
                    let args = self.operands(&x.args)?;
                    Ok(code(move |m| {
                        args.with(m, |_, _, v| match v {
                            [a] => ops::unary(op, a),
                            _ => bail("operand count"),
                        })
                    }))
                }
                [_, _] => {
                    let op = BinOp::of(tok).ok_or_else(|| format!("operator `{tok}`"))?;
                    let args = self.operands(&x.args)?;
                    Ok(code(move |m| {
                        args.with(m, |env, _, v| match v {
                            [a, b] => ops::binary(op, a, b, env.lim),
                            _ => bail("operand count"),
                        })
                    }))
                }
                _ => Err(format!("operator `{tok}` with {} operands", x.args.len())),
            };
        }
        let (name, arity) = (x.name.as_str(), x.args.len());
        if let Some(idx) = self.script(name, arity) {
            self.callees.push(idx);
            let args = self.exprs(&x.args)?;
            return Ok(code(move |m| {
                m.tick(W)?;
                let base = m.stack.len();
                for a in &args {
                    let v = a(m)?;
                    m.stack.push(v);
                }
                enter(m, idx, base)
            }));
        }
        let n = Native::lookup(name, arity)
            .ok_or_else(|| format!("function `{name}` with {arity} argument(s)"))?;
        let Some((first, rest)) = x.args.split_first() else {
            return Err(format!("function `{name}` without arguments"));
        };
        if n.mutates() {
            let slot = self
                .local(first)
                .ok_or_else(|| format!("`{name}` on something other than a local variable"))?;
            return Ok(mutating(n, slot, self.exprs(rest)?));
        }
        let args = self.operands(&x.args)?;
        Ok(code(move |m| {
            args.with(m, |env, scanned, v| ops::call(env, scanned, n, v))
        }))
    }

    /// `root.a[b].c(d)…`: Rhai nests chains to the right (`Dot { lhs: root, rhs: Dot { lhs:
    /// .a, rhs: … } }`); a node flagged `BREAK` ends the chain, so its right side is one step
    /// (an index expression), not more chain.
    pub(super) fn chain(&mut self, expr: &Expr) -> CResult<Code> {
        let (node, flags, dot) = match expr {
            Expr::Dot(node, f, _) => (node, *f, true),
            Expr::Index(node, f, _) => (node, *f, false),
            _ => return Err("not a chain".into()),
        };
        let (steps, args) = self.steps(chain_specs(&node.rhs, flags, dot)?)?;
        if let [Step::Method(n, _)] = steps[..]
            && n.mutates()
        {
            let slot = self
                .local(&node.lhs)
                .ok_or("`replace`/`push` on something other than a local variable")?;
            return Ok(mutating(n, slot, args));
        }
        if steps
            .iter()
            .any(|s| matches!(s, Step::Method(n, _) if n.mutates()))
        {
            return Err("`replace`/`push` inside a chain".into());
        }
        let root = match self.local(&node.lhs) {
            Some(slot) => Root::Slot(slot),
            None => Root::Expr(self.expr(&node.lhs)?),
        };
        let weight = W * (1 + steps.len() as u64);
        Ok(code(move |m| {
            m.tick(weight)?;
            // Rhai evaluates indices and method arguments before the root.
            let vals = eval_all(m, &args)?;
            let owned;
            let root: &Val = match &root {
                Root::Slot(s) => m.get(*s)?,
                Root::Expr(c) => {
                    owned = c(m)?;
                    &owned
                }
            };
            let env = Env {
                args: m.args,
                lim: m.lim,
            };
            let (out, scanned) = run_steps(&env, root, &steps, &vals)?;
            m.tick(scanned)?;
            Ok(out)
        }))
    }

    /// The steps of a chain and the code of their indices and method arguments, in order.
    fn steps(&mut self, specs: Vec<(bool, &Expr)>) -> CResult<(Vec<Step>, Vec<Code>)> {
        let mut steps = Vec::with_capacity(specs.len());
        let mut args: Vec<Code> = Vec::new();
        for (dot, s) in specs {
            match (dot, s) {
                (true, Expr::Property(p, _)) => steps.push(Step::Prop(p.2.clone())),
                (true, Expr::MethodCall(fc, _)) => {
                    if fc.is_qualified() || fc.capture_parent_scope {
                        return Err(format!("method `{}` with a namespace or `!`", fc.name));
                    }
                    let n = Native::lookup(&fc.name, fc.args.len() + 1)
                        .ok_or_else(|| format!("method `{}`", fc.name))?;
                    args.extend(self.exprs(&fc.args)?);
                    steps.push(Step::Method(n, fc.args.len()));
                }
                (true, _) => return Err("`.` followed by an expression".into()),
                (false, idx) => {
                    args.push(self.expr(idx)?);
                    steps.push(Step::Index);
                }
            }
        }
        Ok((steps, args))
    }
}

/// A chain's steps after its root, each with whether it is a `.` step: Rhai nests chains to the
/// right (`Dot { lhs: root, rhs: Dot { lhs: .a, rhs: … } }`); a node flagged `BREAK` ends the
/// chain, so its right side is one step (an index expression), not more chain.
fn chain_specs(mut rest: &Expr, mut flags: ASTFlags, mut dot: bool) -> CResult<Vec<(bool, &Expr)>> {
    let mut specs: Vec<(bool, &Expr)> = Vec::new();
    loop {
        if flags.contains(ASTFlags::NEGATED) {
            return Err("`?.` or `?[`".into());
        }
        match rest {
            Expr::Dot(y, f, _) | Expr::Index(y, f, _) if !flags.contains(ASTFlags::BREAK) => {
                specs.push((dot, &y.lhs));
                dot = matches!(rest, Expr::Dot(..));
                flags = *f;
                rest = &y.rhs;
            }
            _ => {
                specs.push((dot, rest));
                return Ok(specs);
            }
        }
    }
}

/// Walks `steps` from `root`, taking indices and method arguments from `vals` in order; with
/// how much data the natives scanned.
fn run_steps(env: &Env, root: &Val, steps: &[Step], vals: &[Val]) -> Result<(Val, u64), Stop> {
    let mut scanned = 0;
    let mut cur = Cow::Borrowed(root);
    let mut pos = 0;
    for step in steps {
        let next = match step {
            Step::Prop(p) => ops::prop(env, &cur, p)?,
            Step::Index => {
                let i = vals.get(pos).ok_or_else(|| stop("missing index"))?;
                pos += 1;
                ops::index(env, &cur, i)?
            }
            Step::Method(native, count) => {
                let rest = vals
                    .get(pos..pos + count)
                    .ok_or_else(|| stop("missing argument"))?;
                pos += count;
                let mut all: StaticVec<&Val> = StaticVec::new();
                all.push(&cur);
                all.extend(rest.iter());
                ops::call(env, &mut scanned, *native, &all)?
            }
        };
        cur = Cow::Owned(next);
    }
    Ok((cur.into_owned(), scanned))
}

/// A copy of a local variable's value.
fn read_local(slot: usize) -> Code {
    code(move |m| {
        m.tick(W)?;
        m.get(slot).cloned()
    })
}

/// `slot.replace(a, b)` / `slot.push(v)` (or `replace(slot, a, b)`), changing the variable.
fn mutating(n: Native, slot: usize, args: Vec<Code>) -> Code {
    code(move |m| {
        m.tick(W * 2)?;
        let vals = eval_all(m, &args)?;
        let lim = m.lim;
        ops::mutate(n, m.get_mut(slot)?, &vals, lim)
    })
}
fn expr_kind(e: &Expr) -> &'static str {
    match e {
        Expr::ThisPtr(..) => "this",
        Expr::Property(..) => "property",
        Expr::MethodCall(..) => "method call",
        Expr::Custom(..) => "custom syntax",
        _ => "other",
    }
}
