//! The fast path: a rule's script functions compiled once into Rust closures over a small value
//! type ([`Val`]), run instead of Rhai's tree-walking interpreter for the common calls.
//!
//! Why: every install-base item makes about ten rule calls, and interpreting them (scope
//! lookups, dynamic dispatch, `Dynamic` boxing, a fresh runtime state per call) dominated
//! evaluation. The rules are small and use a small part of the language, so compiling that part
//! ahead of time pays off.
//!
//! The contract is one-sided on purpose: [`Compiled::call`] returns `Some(value)` only when that
//! is exactly the `Dynamic` Rhai would return. Anything it is not sure about returns `None` and the
//! caller runs the call through Rhai, which then gives the canonical result or the canonical
//! error (so every error message, position and hint stays Rhai's):
//!
//! - at compile time, a function using any construct outside the supported subset (or calling
//!   a function that does) is not compiled at all;
//! - at run time, a type combination the fast path does not handle, integer overflow, a missing
//!   map property, a size limit, too many operations or too deep a call chain "bails".
//!
//! Bailing has no side effects: compiled code only reads its inputs and writes its own frame.
//! `ONELEAD_NO_FAST=1` turns the fast path off (see [`enabled`]).

mod compile;
mod ops;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, FLOAT, INT, ImmutableString, Map};

/// False when `ONELEAD_NO_FAST` is set to anything but `0` or empty: every call then goes
/// through Rhai (for differential checks and for ruling the fast path out when debugging).
pub fn enabled() -> bool {
    std::env::var_os("ONELEAD_NO_FAST").is_none_or(|v| v.is_empty() || v == "0")
}

/// A value as compiled code sees it. Arrays and maps sit behind an `Arc` so that reading a
/// variable or a constant is a pointer copy; writes go through `Arc::make_mut`, which keeps
/// Rhai's value semantics (an assignment copies).
#[derive(Debug, Clone, Default)]
pub(crate) enum Val {
    #[default]
    Unit,
    Bool(bool),
    Int(INT),
    Float(FLOAT),
    Char(char),
    Str(ImmutableString),
    Array(Arc<Array>),
    Map(Arc<Map>),
    /// Entry argument `n`, a map (usually shared and read-only) or any shared value, read in
    /// place. Rhai would hold a copy; for reads that is the same, and anything else done with it
    /// (returning it, storing it, comparing it, changing it, reading a shared non-map) bails
    /// rather than reason about sharing and access modes.
    Arg(usize),
}

impl Val {
    /// The value of a (non-shared) `Dynamic` read from a map, an array or a constant; `None` for
    /// types compiled code does not handle.
    pub(crate) fn from_dynamic(d: &Dynamic) -> Option<Val> {
        use std::any::TypeId;
        if d.is_shared() {
            return None;
        }
        let t = d.type_id();
        if t == TypeId::of::<ImmutableString>() {
            d.as_immutable_string_ref()
                .ok()
                .map(|s| Val::Str(s.clone()))
        } else if t == TypeId::of::<INT>() {
            d.as_int().ok().map(Val::Int)
        } else if t == TypeId::of::<()>() {
            Some(Val::Unit)
        } else if t == TypeId::of::<bool>() {
            d.as_bool().ok().map(Val::Bool)
        } else if t == TypeId::of::<FLOAT>() {
            d.as_float().ok().map(Val::Float)
        } else if t == TypeId::of::<char>() {
            d.as_char().ok().map(Val::Char)
        } else if t == TypeId::of::<Array>() {
            d.as_array_ref()
                .ok()
                .map(|a| Val::Array(Arc::new(a.clone())))
        } else if t == TypeId::of::<Map>() {
            d.as_map_ref().ok().map(|m| Val::Map(Arc::new(m.clone())))
        } else {
            None
        }
    }

    /// The `Dynamic` Rhai would hold for this value; `None` for an input map (see [`Val::Arg`]).
    pub(crate) fn into_dynamic(self) -> Option<Dynamic> {
        Some(match self {
            Val::Unit => Dynamic::UNIT,
            Val::Bool(b) => Dynamic::from_bool(b),
            Val::Int(n) => Dynamic::from_int(n),
            Val::Float(x) => Dynamic::from_float(x),
            Val::Char(c) => Dynamic::from_char(c),
            Val::Str(s) => Dynamic::from(s),
            Val::Array(a) => Dynamic::from_array(Arc::unwrap_or_clone(a)),
            Val::Map(m) => Dynamic::from_map(Arc::unwrap_or_clone(m)),
            Val::Arg(_) => return None,
        })
    }
}

/// Why a call left the compiled code early. One byte, so that `Result<Val, Stop>` fits in two
/// registers: every compiled node returns one, and returning through memory was a visible cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Not sure: let Rhai run the call ([`stop`] records why, for tests and tallies).
    Bail,
    /// A `return` unwinding to the function boundary; the value waits in [`Machine::ret`].
    Return,
}

pub(crate) type Res = Result<Val, Stop>;

/// One compiled node: statements and expressions alike produce a value (Rhai blocks do too).
pub(crate) type Code = Box<dyn Fn(&mut Machine<'_>) -> Res + Send + Sync>;

/// Boxes a closure as [`Code`]; taking it through this bound is what lets the compiler infer
/// the higher-ranked lifetime of the closure's argument.
pub(crate) fn code(f: impl Fn(&mut Machine<'_>) -> Res + Send + Sync + 'static) -> Code {
    Box::new(f)
}

thread_local! {
    /// Why the last call on this thread bailed.
    static WHY: std::cell::Cell<&'static str> = const { std::cell::Cell::new("") };
}

/// A bail, recording why.
pub(crate) fn stop(why: &'static str) -> Stop {
    let _ = WHY.try_with(|w| w.set(why));
    Stop::Bail
}

pub(crate) fn bail<T>(why: &'static str) -> Result<T, Stop> {
    Err(stop(why))
}

/// The engine limits compiled code must stay within; 0 means unlimited, as in Rhai.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub operations: u64,
    pub call_levels: usize,
    pub string: usize,
    pub array: usize,
    pub map: usize,
}

impl Limits {
    fn of(engine: &Engine) -> Limits {
        Limits {
            operations: engine.max_operations(),
            call_levels: engine.max_call_levels(),
            string: engine.max_string_size(),
            array: engine.max_array_size(),
            map: engine.max_map_size(),
        }
    }

    /// Bails when a string of `len` bytes would break `max_string_size`.
    pub(crate) fn check_str(&self, len: usize) -> Result<(), Stop> {
        if self.string != 0 && len > self.string {
            return bail("string size limit");
        }
        Ok(())
    }

    /// Bails when data of these sizes (arrays, maps, string bytes, counted recursively the way
    /// Rhai's `calc_data_sizes` counts them) would break a size limit. `None` (an element type
    /// the count does not know) bails too.
    pub(crate) fn check_sizes(&self, sizes: Option<(usize, usize, usize)>) -> Result<(), Stop> {
        let Some((a, m, s)) = sizes else {
            return bail("data of an unknown type");
        };
        if (self.array != 0 && a > self.array)
            || (self.map != 0 && m > self.map)
            || (self.string != 0 && s > self.string)
        {
            return bail("data size limit");
        }
        Ok(())
    }
}

/// Recursive sizes of an array's contents: (array elements, map entries, string bytes).
pub(crate) fn array_sizes(a: &Array) -> Option<(usize, usize, usize)> {
    let mut acc = (0, 0, 0);
    for d in a {
        acc.0 += 1;
        add_sizes(d, &mut acc)?;
    }
    Some(acc)
}

/// Recursive sizes of a map's contents, as [`array_sizes`].
pub(crate) fn map_sizes(m: &Map) -> Option<(usize, usize, usize)> {
    let mut acc = (0, 0, 0);
    for d in m.values() {
        acc.1 += 1;
        add_sizes(d, &mut acc)?;
    }
    Some(acc)
}

fn add_sizes(d: &Dynamic, acc: &mut (usize, usize, usize)) -> Option<()> {
    if d.is_shared() {
        return None;
    }
    if let Ok(s) = d.as_immutable_string_ref() {
        acc.2 += s.len();
    } else if let Ok(a) = d.as_array_ref() {
        let (x, y, z) = array_sizes(&a)?;
        *acc = (acc.0 + x, acc.1 + y, acc.2 + z);
    } else if let Ok(m) = d.as_map_ref() {
        let (x, y, z) = map_sizes(&m)?;
        *acc = (acc.0 + x, acc.1 + y, acc.2 + z);
    } else if !(d.is_unit() || d.is_bool() || d.is_int() || d.is_float() || d.is_char()) {
        // Blobs and custom types count differently (or not at all): do not guess.
        return None;
    }
    Some(())
}

/// The state of one call: its entry arguments, the compiled functions it may call, a stack of
/// variable slots (each frame is a window starting at `base`) and the operation count.
pub(crate) struct Machine<'a> {
    pub args: &'a [Dynamic],
    pub fns: &'a [Func],
    pub lim: &'a Limits,
    pub stack: Vec<Val>,
    pub base: usize,
    pub ops: u64,
    pub depth: usize,
    /// The value of the `return` being unwound (see [`Stop::Return`]).
    pub ret: Val,
}

impl Machine<'_> {
    /// Counts `n` operations; bails past `max_operations`. Compiled code counts at least as much
    /// as Rhai for the same work (tests check this), so a call Rhai would stop never completes here.
    #[inline]
    pub(crate) fn tick(&mut self, n: u64) -> Result<(), Stop> {
        self.ops += n;
        if self.lim.operations != 0 && self.ops > self.lim.operations {
            return bail("operations limit");
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn get(&self, slot: usize) -> Result<&Val, Stop> {
        self.stack
            .get(self.base + slot)
            .ok_or_else(|| stop("slot out of range"))
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, slot: usize) -> Result<&mut Val, Stop> {
        self.stack
            .get_mut(self.base + slot)
            .ok_or_else(|| stop("slot out of range"))
    }

    #[inline]
    pub(crate) fn set(&mut self, slot: usize, v: Val) -> Result<(), Stop> {
        *self.get_mut(slot)? = v;
        Ok(())
    }
}

/// One script function: its signature and, when every construct it uses is supported, its code.
pub(crate) struct Func {
    name: ImmutableString,
    arity: usize,
    /// Variable slots in a frame: parameters first, then every `let` and loop variable.
    slots: usize,
    body: Result<Code, String>,
}

/// A rule's script functions, compiled where possible. Built once per rule at load time.
pub struct Compiled {
    fns: Vec<Func>,
    lim: Limits,
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for (sig, why) in self.report() {
            match why {
                None => l.entry(&format_args!("{sig}: compiled")),
                Some(w) => l.entry(&format_args!("{sig}: interpreted ({w})")),
            };
        }
        l.finish()
    }
}

impl Compiled {
    /// Compiles what it can of `ast`'s functions, for calls run under `engine`'s limits.
    pub fn new(ast: &rhai::AST, engine: &Engine) -> Compiled {
        Compiled {
            fns: compile::compile_ast(ast, engine),
            lim: Limits::of(engine),
        }
    }

    /// True when every function of the rule runs on the fast path.
    pub fn compiled_whole(&self) -> bool {
        self.fns.iter().all(|f| f.body.is_ok())
    }

    /// Every function as `name/arity`, with `None` when compiled or the reason it is not.
    pub fn report(&self) -> Vec<(String, Option<&str>)> {
        self.fns
            .iter()
            .map(|f| {
                let sig = format!("{}/{}", f.name, f.arity);
                (sig, f.body.as_ref().err().map(String::as_str))
            })
            .collect()
    }

    /// Runs `name(args)`: `Some` is exactly what Rhai would return; `None` means "ask Rhai".
    pub fn call(&self, name: &str, args: &[Dynamic]) -> Option<Dynamic> {
        self.run(name, args).ok().map(|(v, _)| v)
    }

    /// [`Compiled::call`] with the operations counted, or why it bailed.
    pub(crate) fn run(&self, name: &str, args: &[Dynamic]) -> Result<(Dynamic, u64), &'static str> {
        let f = self
            .fns
            .iter()
            .find(|f| f.arity == args.len() && f.name == name)
            .ok_or("no such function")?;
        let body = f.body.as_ref().map_err(|_| "not compiled")?;
        let mut m = Machine {
            args,
            fns: &self.fns,
            lim: &self.lim,
            stack: take_stack(),
            base: 0,
            ops: 0,
            depth: 1,
            ret: Val::Unit,
        };
        for (n, a) in args.iter().enumerate() {
            // A shared argument is taken for a map without locking it to look (locks are atomic
            // operations, a visible cost at this scale); if it is not one, reading it bails.
            let v = if a.is_shared() || a.is_map() {
                Val::Arg(n)
            } else {
                Val::from_dynamic(a).ok_or("argument of an unsupported type")?
            };
            m.stack.push(v);
        }
        m.stack.resize(f.slots, Val::Unit);
        let out = m.tick(compile::W).and_then(|()| body(&mut m));
        let ops = m.ops;
        give_back_stack(m.stack);
        let out = match out {
            Ok(v) => v,
            Err(Stop::Return) => m.ret,
            Err(Stop::Bail) => return Err(WHY.try_with(std::cell::Cell::get).unwrap_or("")),
        };
        let out = out.into_dynamic().ok_or("returns an input map")?;
        Ok((out, ops))
    }
}

thread_local! {
    /// One slot stack per thread, reused across calls: a call is ~1µs and allocating the stack
    /// was a visible part of it.
    static STACK: std::cell::RefCell<Vec<Val>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn take_stack() -> Vec<Val> {
    STACK
        .try_with(|s| s.try_borrow_mut().map(|mut v| std::mem::take(&mut *v)).ok())
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn give_back_stack(mut stack: Vec<Val>) {
    stack.clear();
    let _ = STACK.try_with(|s| {
        if let Ok(mut v) = s.try_borrow_mut() {
            *v = stack;
        }
    });
}
