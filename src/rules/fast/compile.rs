//! `rhai::AST` → [`Code`]: walks each script function's statements (the AST Rhai itself runs,
//! after its optimizer) and builds one closure per node, resolving variables to frame slots and
//! calls to script functions or natives at compile time. Any construct outside the subset below
//! makes the whole function (and every function calling it) interpreted, with the reason kept
//! for `rules check`.
//!
//! Supported: `let` (not `const`), `=` and `op=` on local variables, `if`/`else` (statement and
//! expression), `for x in array` (with an optional counter), `return`, `throw` (always handed to
//! Rhai), blocks, literals (scalars, strings, templates, arrays, maps), `&&`/`||`/`??`, the
//! operators in [`BinOp`]/[`UnOp`], property and index reads, calls to the script's own
//! functions and to the natives in [`Native`] (as functions or methods; the two that change
//! their receiver, `replace` and `push`, only on a local variable).

use std::borrow::Cow;
use std::sync::Arc;

use rhai::{
    AST, ASTFlags, ASTNode, Array, Engine, Expr, FnCallExpr, INT, Identifier, ImmutableString,
    StaticVec, Stmt,
};

use super::ops::{self, BinOp, Env, Native, UnOp};
use super::{Code, Func, Machine, Res, Stop, Val, array_sizes, bail, code, map_sizes, stop};

/// Operations counted per compiled node. Rhai counts one per statement, one per expression and
/// one or two more for a call, a variable or a chain step; counting three per node (and per
/// loop iteration and scanned array element) keeps the fast path's count an upper bound of
/// Rhai's, so anything Rhai would stop at `max_operations` bails here first.
pub(crate) const W: u64 = 3;

type CResult<T> = Result<T, String>;

/// Compiles every script function of `ast` it can; the rest carry the reason they are not.
pub(crate) fn compile_ast(ast: &AST, engine: &Engine) -> Vec<Func> {
    let defs: Vec<(ImmutableString, Vec<ImmutableString>, bool)> = ast
        .iter_fn_def()
        .map(|f| (f.name.clone(), f.params.to_vec(), f.this_type.is_some()))
        .collect();
    let sigs: Vec<(ImmutableString, usize)> =
        defs.iter().map(|(n, p, _)| (n.clone(), p.len())).collect();
    let refuse = if engine.fast_operators() || ops::overloads_only_bail(engine) {
        sigs.iter()
            .find(|(n, _)| ops::SHADOWABLE.contains(&n.as_str()))
            .map(|(n, _)| format!("the script defines `{n}`, which replaces a built-in"))
    } else {
        Some("the engine overloads operators compiled code does not know".to_string())
    };
    let mut bodies: Vec<CResult<(Code, usize, Vec<usize>)>> = defs
        .iter()
        .map(|(name, params, method)| {
            if let Some(why) = &refuse {
                return Err(why.clone());
            }
            if *method {
                return Err("method function (`this`)".into());
            }
            let stmts = body_of(ast, name, params.len())?;
            compile_fn(&sigs, params, &stmts)
        })
        .collect();
    // A compiled function calling an interpreted one cannot run: propagate until stable.
    loop {
        let mut changed = false;
        for i in 0..bodies.len() {
            let bad = match &bodies[i] {
                Ok((_, _, calls)) => calls
                    .iter()
                    .copied()
                    .find(|c| bodies.get(*c).is_none_or(Result::is_err)),
                Err(_) => None,
            };
            if let Some(c) = bad {
                let callee = sigs.get(c).map_or("?", |s| s.0.as_str());
                bodies[i] = Err(format!("calls `{callee}`, which is interpreted"));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    sigs.into_iter()
        .zip(bodies)
        .map(|((name, arity), body)| {
            let (body, slots) = match body {
                Ok((c, slots, _)) => (Ok(c), slots),
                Err(e) => (Err(e), 0),
            };
            Func {
                name,
                arity,
                slots,
                body,
            }
        })
        .collect()
}

/// The statements of one function. `ScriptFuncDef::body`'s type is not nameable outside Rhai,
/// so take an AST holding only that function and collect the top-level statements of a walk.
/// (`retain_functions`, not `clone_functions_only_filtered`: in Rhai 1.27 the latter ignores
/// its filter when starting from an empty module.)
fn body_of(ast: &AST, name: &str, arity: usize) -> CResult<Vec<Stmt>> {
    let mut one = ast.clone_functions_only();
    one.retain_functions(|_, _, n, a| n == name && a == arity);
    if one.iter_fn_def().count() != 1 {
        return Err("cannot isolate the function body".into());
    }
    let mut stmts = Vec::new();
    one.walk(&mut |path: &[ASTNode]| {
        if let [ASTNode::Stmt(s)] = path {
            stmts.push((*s).clone());
        }
        true
    });
    Ok(stmts)
}

fn compile_fn(
    sigs: &[(ImmutableString, usize)],
    params: &[ImmutableString],
    stmts: &[Stmt],
) -> CResult<(Code, usize, Vec<usize>)> {
    let mut cx = Cx {
        sigs,
        scope: Vec::new(),
        slots: 0,
        callees: Vec::new(),
    };
    for p in params {
        cx.declare(p);
    }
    let body = cx.block(stmts)?;
    Ok((body, cx.slots, cx.callees))
}

/// Calls `fns[idx]` with its arguments already pushed at `base`.
fn enter(m: &mut Machine<'_>, idx: usize, base: usize) -> Res {
    let fns = m.fns;
    let f = fns.get(idx).ok_or_else(|| stop("unknown function"))?;
    let Ok(body) = &f.body else {
        return bail("calls an interpreted function");
    };
    // Rhai adds a level per nested call (natives called inside add more for a moment); half the
    // limit leaves room for that.
    if m.depth + 1 > m.lim.call_levels / 2 {
        return bail("call depth");
    }
    m.stack.resize(base + f.slots, Val::Unit);
    let (saved, depth) = (m.base, m.depth);
    m.base = base;
    m.depth += 1;
    let r = body(m);
    m.base = saved;
    m.depth = depth;
    m.stack.truncate(base);
    match r {
        Err(Stop::Return) => Ok(std::mem::take(&mut m.ret)),
        r => r,
    }
}

fn eval_all(m: &mut Machine<'_>, codes: &[Code]) -> Result<StaticVec<Val>, Stop> {
    let mut vals = StaticVec::new();
    for c in codes {
        vals.push(c(m)?);
    }
    Ok(vals)
}

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

/// Compile-time state for one function.
struct Cx<'s> {
    sigs: &'s [(ImmutableString, usize)],
    /// Visible variables, innermost last (names may repeat: shadowing).
    scope: Vec<(ImmutableString, usize)>,
    slots: usize,
    callees: Vec<usize>,
}

impl Cx<'_> {
    fn declare(&mut self, name: &ImmutableString) -> usize {
        let slot = self.slots;
        self.slots += 1;
        self.scope.push((name.clone(), slot));
        slot
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.scope
            .iter()
            .rev()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, s)| *s)
    }

    /// The slot of a plain local variable expression.
    fn local(&self, e: &Expr) -> Option<usize> {
        match e {
            Expr::Variable(v, ..) if v.2.is_empty() => self.lookup(&v.1),
            _ => None,
        }
    }

    fn script(&self, name: &str, arity: usize) -> Option<usize> {
        self.sigs
            .iter()
            .position(|(n, a)| n.as_str() == name && *a == arity)
    }

    fn exprs(&mut self, es: &[Expr]) -> CResult<Vec<Code>> {
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

    /// A block: its own scope, its value the last statement's (`()` when empty).
    fn block(&mut self, stmts: &[Stmt]) -> CResult<Code> {
        let mark = self.scope.len();
        let mut codes = stmts
            .iter()
            .map(|s| self.stmt(s))
            .collect::<CResult<Vec<_>>>()?;
        self.scope.truncate(mark);
        Ok(match codes.len() {
            0 => code(|_| Ok(Val::Unit)),
            1 => codes.pop().unwrap_or_else(|| code(|_| Ok(Val::Unit))),
            _ => code(move |m| {
                let mut last = Val::Unit;
                for c in &codes {
                    last = c(m)?;
                }
                Ok(last)
            }),
        })
    }

    /// A `{ … }` written as a statement or an expression: Rhai counts an operation for it even
    /// when it is empty (unlike the body of an `if` or a loop).
    fn counted_block(&mut self, stmts: &[Stmt]) -> CResult<Code> {
        let block = self.block(stmts)?;
        Ok(code(move |m| {
            m.tick(W)?;
            block(m)
        }))
    }

    fn stmt(&mut self, s: &Stmt) -> CResult<Code> {
        match s {
            Stmt::Noop(_) => Ok(code(|m| m.tick(W).map(|()| Val::Unit))),
            Stmt::Expr(e) => self.expr(e),
            Stmt::FnCall(x, _) => self.call(x),
            Stmt::Block(b) => self.counted_block(b.statements()),
            Stmt::Var(x, flags, _) => {
                if flags.intersects(ASTFlags::CONSTANT | ASTFlags::EXPORTED) {
                    return Err("`const` or `export`".into());
                }
                let init = self.expr(&x.1)?;
                let slot = self.declare(&x.0.name);
                Ok(code(move |m| {
                    m.tick(W)?;
                    let v = init(m)?;
                    m.set(slot, v)?;
                    Ok(Val::Unit)
                }))
            }
            Stmt::Assignment(x) => self.assign(&x.0, &x.1.lhs, &x.1.rhs),
            Stmt::If(x, _) => {
                let cond = self.expr(&x.expr)?;
                let body = self.block(x.body.statements())?;
                let other = self.block(x.branch.statements())?;
                Ok(code(move |m| {
                    m.tick(W)?;
                    match cond(m)? {
                        Val::Bool(true) => body(m),
                        Val::Bool(false) => other(m),
                        _ => bail("`if` on a non-bool"),
                    }
                }))
            }
            Stmt::For(x, _) => {
                let (var, counter, flow) = &**x;
                let iter = self.expr(&flow.expr)?;
                let mark = self.scope.len();
                let counter = counter.as_ref().map(|c| self.declare(&c.name));
                let var = self.declare(&var.name);
                let body = self.block(flow.body.statements())?;
                self.scope.truncate(mark);
                Ok(code(move |m| {
                    m.tick(W)?;
                    let Val::Array(items) = iter(m)? else {
                        return bail("`for` over something other than an array");
                    };
                    for (i, d) in items.iter().enumerate() {
                        m.tick(W)?;
                        let v = Val::from_dynamic(d).ok_or_else(|| stop("array element type"))?;
                        if let Some(c) = counter {
                            m.set(c, Val::Int(i as INT))?;
                        }
                        m.set(var, v)?;
                        body(m)?;
                    }
                    Ok(Val::Unit)
                }))
            }
            Stmt::Return(e, flags, _) => {
                let value = match e {
                    Some(e) => self.expr(e)?,
                    None => code(|_| Ok(Val::Unit)),
                };
                if flags.contains(ASTFlags::BREAK) {
                    // `throw` always ends in an error, whose wording and position are Rhai's.
                    return Ok(code(|_| bail("throw")));
                }
                Ok(code(move |m| {
                    m.tick(W)?;
                    m.ret = value(m)?;
                    Err(Stop::Return)
                }))
            }
            _ => Err(format!("statement not supported: {}", stmt_kind(s))),
        }
    }

    fn assign(&mut self, op: &rhai::OpAssignment, lhs: &Expr, rhs: &Expr) -> CResult<Code> {
        let slot = self
            .local(lhs)
            .ok_or("assignment to something other than a local variable")?;
        let rhs = self.expr(rhs)?;
        let Some((.., base, _)) = op.get_op_assignment_info() else {
            return Ok(code(move |m| {
                m.tick(W)?;
                let v = rhs(m)?;
                let t = m.get_mut(slot)?;
                // Rhai refuses to assign to a read-only input; let it say so.
                if matches!(t, Val::Arg(_)) {
                    return bail("assignment to an input map");
                }
                *t = v;
                Ok(Val::Unit)
            }));
        };
        let op = BinOp::of(base).ok_or_else(|| format!("operator `{base}=`"))?;
        Ok(code(move |m| {
            m.tick(W)?;
            let v = rhs(m)?;
            let lim = m.lim;
            ops::op_assign(op, m.get_mut(slot)?, v, lim)?;
            Ok(Val::Unit)
        }))
    }

    fn expr(&mut self, e: &Expr) -> CResult<Code> {
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
            Expr::InterpolatedString(parts, _) => {
                // Parts are read one at a time, in order, so locals can be read in place.
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
            Expr::Array(items, _) => {
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
            Expr::Map(x, _) => {
                let (entries, template) = &**x;
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
            Expr::Stmt(b) => self.counted_block(b.statements()),
            Expr::FnCall(x, _) => self.call(x),
            Expr::And(list, _) | Expr::Or(list, _) => {
                // `&&` stops at the first false, `||` at the first true; each operand must be a
                // bool (Rhai reports a type mismatch otherwise).
                let stop_at = matches!(e, Expr::Or(..));
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
            Expr::Coalesce(list, _) => {
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
            Expr::Dot(..) | Expr::Index(..) => self.chain(e),
            _ => Err(format!("expression not supported: {}", expr_kind(e))),
        }
    }

    fn call(&mut self, x: &FnCallExpr) -> CResult<Code> {
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
    fn chain(&mut self, expr: &Expr) -> CResult<Code> {
        let (node, mut flags, mut dot) = match expr {
            Expr::Dot(node, f, _) => (node, *f, true),
            Expr::Index(node, f, _) => (node, *f, false),
            _ => return Err("not a chain".into()),
        };
        let mut specs: Vec<(bool, &Expr)> = Vec::new();
        let mut rest = &node.rhs;
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
                    break;
                }
            }
        }
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
            let mut scanned = 0;
            let mut cur = Cow::Borrowed(root);
            let mut pos = 0;
            for step in &steps {
                let next = match step {
                    Step::Prop(p) => ops::prop(&env, &cur, p)?,
                    Step::Index => {
                        let i = vals.get(pos).ok_or_else(|| stop("missing index"))?;
                        pos += 1;
                        ops::index(&env, &cur, i)?
                    }
                    Step::Method(native, count) => {
                        let rest = vals
                            .get(pos..pos + count)
                            .ok_or_else(|| stop("missing argument"))?;
                        pos += count;
                        let mut all: StaticVec<&Val> = StaticVec::new();
                        all.push(&cur);
                        all.extend(rest.iter());
                        ops::call(&env, &mut scanned, *native, &all)?
                    }
                };
                cur = Cow::Owned(next);
            }
            let out = cur.into_owned();
            m.tick(scanned)?;
            Ok(out)
        }))
    }
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

fn stmt_kind(s: &Stmt) -> &'static str {
    match s {
        Stmt::Switch(..) => "switch",
        Stmt::While(..) => "while/loop",
        Stmt::Do(..) => "do",
        Stmt::TryCatch(..) => "try/catch",
        Stmt::BreakLoop(..) => "break/continue",
        Stmt::Import(..) => "import",
        Stmt::Export(..) => "export",
        Stmt::Share(..) => "closure",
        _ => "other",
    }
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
