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

use rhai::{AST, ASTFlags, ASTNode, Engine, Expr, INT, ImmutableString, StaticVec, Stmt};

use super::ops::{self, BinOp};
use super::{Code, Func, Machine, Res, Stop, Val, bail, code, stop};

mod expr;

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
