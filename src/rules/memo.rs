//! Memoised rule calls. Most rule calls are pure functions of a few input fields: a scoring rule
//! reads two day counts, a family rule three product fields. A million items repeat the same few
//! thousand combinations, so each rule remembers its results keyed by exactly the fields it reads.
//!
//! Which fields a rule reads is found once, from its compiled AST: every use of a parameter must be
//! a plain property read (`item.days_since_eol`, `item["x"]`); anything else (passing `item` to a
//! function, `item.keys()`, `${item}`, `"x" in item`) makes the rule uncached, as does any
//! `import` (a module's functions are not analysed) and any call not known to be pure: purity is
//! an allow-list ([`is_pure_call`]), so a helper added later is uncached until it is declared
//! pure in `api::HELPERS`. `cfg` is a parameter like the others: the
//! thresholds a rule reads are part of its key, so a cache stays valid when only the weights
//! change, and `watch` hands a rule's cache on to the next rule set when the rule's text is the
//! same.
//!
//! A rule whose key is near-unique (a trigger that quotes the serial number) gains nothing in a
//! single run; after a sample of calls with a low hit rate its cache turns itself off, so memory
//! stays flat. In `watch` ([`Memo::retain`]) it stays on: the next save re-evaluates every item,
//! and the unchanged rules then answer from memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rhai::{AST, Dynamic, ImmutableString};
use rhai::{ASTNode, Expr, Stmt};

use crate::fxhash::Fx;

/// Functions of Rhai's standard library that are not pure functions of their arguments, or
/// that reach code the analysis does not see. Every other standard function is pure; `rhai` is
/// pinned exactly, and a test fails when its standard library changes, so this list is reviewed
/// with every upgrade.
const STD_IMPURE: &[&str] = &[
    "print",
    "debug",
    "timestamp",
    "elapsed",
    "get$elapsed",
    "sleep",
    "exit",
    "get_fn_metadata_list",
    "call",
    "Fn",
    "curry",
    "eval",
    "is_def_var",
    "is_def_fn",
];

/// The names of Rhai's standard-library functions.
fn std_names() -> &'static std::collections::HashSet<String> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        rhai::Engine::new()
            .collect_fn_metadata(None, |info| Some(info.metadata.name.to_string()), true)
            .into_iter()
            .collect()
    })
}

/// Whether a call by this name may be cached: the rule's own functions (the walk analyses
/// them too), helpers declared pure, and the standard library but [`STD_IMPURE`]. Anything
/// else (a helper not declared pure, a name from a module) is not.
fn is_pure_call(name: &str, own: &[&str]) -> bool {
    if own.contains(&name) {
        return true;
    }
    // A helper's declaration wins over a standard function of the same name (`log`).
    match crate::rules::api::HELPERS.iter().find(|h| h.name == name) {
        Some(h) => h.pure,
        None => std_names().contains(name) && !STD_IMPURE.contains(&name),
    }
}

/// Shards of the result table: workers rarely contend on one lock.
const SHARDS: usize = 16;
/// After this many calls, a cache that has hit less than [`EARLY_MIN_PERCENT`] of them turns
/// off: a key with a serial number in it shows itself at once.
const EARLY_SAMPLE: u64 = 1_000;
const EARLY_MIN_PERCENT: u64 = 5;
/// After this many calls, a cache below [`MIN_HIT_PERCENT`] turns off.
const SAMPLE: u64 = 20_000;
const MIN_HIT_PERCENT: u64 = 30;
/// Most results kept per rule; past this, misses are computed and not stored. Enough for every
/// trigger result of a 200k-item install base in `watch`.
const MAX_ENTRIES: usize = 200_000;

/// One key component: a field value as Rhai distinguishes it (`1` ≠ `1.0`, `""` ≠ `()`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyVal {
    /// The map has no such field: a rule may ask (`"x" in cfg`); reading it is Rhai's error.
    Absent,
    Unit,
    Bool(bool),
    Int(i64),
    Float(u64),
    Char(char),
    Str(ImmutableString),
}

impl KeyVal {
    fn of(d: &Dynamic) -> Option<KeyVal> {
        if d.is_unit() {
            Some(KeyVal::Unit)
        } else if let Ok(b) = d.as_bool() {
            Some(KeyVal::Bool(b))
        } else if let Ok(i) = d.as_int() {
            Some(KeyVal::Int(i))
        } else if let Ok(f) = d.as_float() {
            Some(KeyVal::Float(f.to_bits()))
        } else if let Ok(c) = d.as_char() {
            Some(KeyVal::Char(c))
        } else if let Ok(s) = d.as_immutable_string_ref() {
            Some(KeyVal::Str(s.clone()))
        } else {
            None
        }
    }
}

type Key = Vec<KeyVal>;

/// An argument as the caller holds it: a plain map or a shared one (see [`crate::rules::share`]).
pub enum Arg<'a> {
    /// A map the caller owns.
    Map(&'a rhai::Map),
    /// A shared, read-only map.
    Shared(&'a Dynamic),
    /// The `cfg` map with a digest of all of it, for rules that use it whole
    /// (`"x" in cfg`): it is the same for every call of a rule set.
    Cfg(&'a Dynamic, u64),
}

impl Arg<'_> {
    fn field(&self, name: &str) -> Option<KeyVal> {
        match self {
            Arg::Map(m) => m.get(name).map_or(Some(KeyVal::Absent), KeyVal::of),
            Arg::Shared(d) | Arg::Cfg(d, _) => {
                let guard = d.read_lock::<rhai::Map>()?;
                guard.get(name).map_or(Some(KeyVal::Absent), KeyVal::of)
            }
        }
    }

    fn whole(&self) -> Option<KeyVal> {
        match self {
            Arg::Cfg(_, digest) => Some(KeyVal::Int(i64::from_ne_bytes(digest.to_ne_bytes()))),
            Arg::Map(_) | Arg::Shared(_) => None,
        }
    }
}

/// The fields one rule's entry function reads, per parameter, and which parameters it uses
/// whole (allowed only for one that is the same in every call: `cfg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    props: Vec<Vec<ImmutableString>>,
    whole: Vec<bool>,
}

impl Reads {
    /// Analyses `entry` (with `arity` parameters) in `ast`; `None` when the rule cannot be cached
    /// safely.
    pub fn analyse(ast: &AST, entry: &str, arity: usize) -> Option<Reads> {
        let params: Vec<String> = ast
            .iter_functions()
            .find(|f| f.name == entry && f.params.len() == arity)?
            .params
            .iter()
            .map(|p| (*p).to_string())
            .collect();
        // `"x" in cfg` counts as reading `x` only while `contains` is the built-in one.
        if ast.iter_functions().any(|f| f.name == "contains") {
            return None;
        }
        let own: Vec<&str> = ast.iter_functions().map(|f| f.name).collect();
        let pure = |f: &rhai::FnCallExpr| f.op_token.is_some() || is_pure_call(&f.name, &own);
        let mut reads: Vec<Vec<ImmutableString>> = vec![Vec::new(); arity];
        let mut whole = vec![false; arity];
        let mut ok = true;
        ast.walk(&mut |path: &[ASTNode]| {
            let Some(node) = path.last() else { return true };
            match node {
                ASTNode::Stmt(Stmt::Import(..)) => ok = false,
                ASTNode::Expr(Expr::FnCall(f, _) | Expr::MethodCall(f, _)) if !pure(f) => {
                    ok = false;
                }
                ASTNode::Stmt(Stmt::FnCall(f, _)) if !pure(f) => {
                    ok = false;
                }
                ASTNode::Expr(Expr::Variable(v, ..)) => {
                    let name = v.1.as_str();
                    if let Some(i) = params.iter().position(|p| p == name) {
                        match read_of(path) {
                            Some(prop) => {
                                if !reads[i].contains(&prop) {
                                    reads[i].push(prop);
                                }
                            }
                            None => whole[i] = true,
                        }
                    }
                }
                _ => {}
            }
            ok
        });
        if !ok {
            return None;
        }
        for r in &mut reads {
            r.sort();
        }
        Some(Reads {
            props: reads,
            whole,
        })
    }

    /// Whether the rule may read field `prop` of parameter `param`: it reads that field, or uses
    /// the parameter whole.
    pub fn may_read(&self, param: usize, prop: &str) -> bool {
        self.whole.get(param).is_none_or(|w| *w)
            || self
                .props
                .get(param)
                .is_none_or(|p| p.iter().any(|r| r.as_str() == prop))
    }

    /// The key for one call, or `None` when a read field is missing or not a plain value (the
    /// call then runs uncached and Rhai reports whatever is wrong).
    fn key(&self, args: &[Arg]) -> Option<Key> {
        let mut key = Vec::with_capacity(self.props.iter().map(Vec::len).sum::<usize>() + 1);
        for ((props, whole), arg) in self.props.iter().zip(&self.whole).zip(args) {
            if *whole {
                key.push(arg.whole()?);
            }
            for p in props {
                key.push(arg.field(p)?);
            }
        }
        Some(key)
    }
}

/// The property a variable (the last node of `path`) is read for, if that is all it is used for:
/// `v.prop…`, `v["prop"]…` or `"prop" in v` (which depends only on whether `prop` is there).
fn read_of(path: &[ASTNode]) -> Option<ImmutableString> {
    let [
        ..,
        ASTNode::Expr(parent),
        ASTNode::Expr(var @ Expr::Variable(..)),
    ] = path
    else {
        return None;
    };
    if let Expr::FnCall(f, _) = parent {
        return match f.args.as_slice() {
            [first, Expr::StringConstant(key, _)]
                if f.name == "contains" && std::ptr::eq(first, *var) =>
            {
                Some(key.clone())
            }
            _ => None,
        };
    }
    let (Expr::Dot(x, ..) | Expr::Index(x, ..)) = parent else {
        return None;
    };
    if !std::ptr::eq(std::ptr::from_ref(&x.lhs), *var) {
        return None;
    }
    match (parent, &x.rhs) {
        (Expr::Dot(..), Expr::Property(p, _)) => Some(p.2.clone()),
        (Expr::Dot(..), Expr::Dot(y, ..) | Expr::Index(y, ..)) => match &y.lhs {
            Expr::Property(p, _) => Some(p.2.clone()),
            _ => None,
        },
        (Expr::Index(..), Expr::StringConstant(s, _)) => Some(s.clone()),
        // Chains nest to the right: `v["p"].m()` is `Index(v, Dot("p", m()))`.
        (Expr::Index(..), Expr::Dot(y, ..) | Expr::Index(y, ..)) => match &y.lhs {
            Expr::StringConstant(s, _) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// One rule's result cache.
pub struct Memo {
    reads: Option<Reads>,
    shards: Vec<RwLock<HashMap<Key, Dynamic, Fx>>>,
    lookups: AtomicU64,
    hits: AtomicU64,
    off: AtomicBool,
    retain: AtomicBool,
}

impl Memo {
    /// A cache for a rule with these reads (`None`: never caches).
    pub fn new(reads: Option<Reads>) -> Memo {
        // An escape hatch for comparing cached and uncached runs.
        let reads = reads.filter(|_| std::env::var_os("ONELEAD_NO_MEMO").is_none());
        Memo {
            off: AtomicBool::new(reads.is_none()),
            reads,
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            lookups: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            retain: AtomicBool::new(false),
        }
    }

    /// Keeps results however rarely they are reused (see the module docs).
    pub fn retain(&self) {
        self.retain.store(true, Ordering::Relaxed);
    }

    /// Whether [`Memo::retain`] was called.
    #[cfg(test)]
    pub fn retained(&self) -> bool {
        self.retain.load(Ordering::Relaxed)
    }

    /// Whether this rule's results can be cached at all.
    pub fn cacheable(&self) -> bool {
        self.reads.is_some()
    }

    /// `compute()`'s result for these arguments, from the cache when an equal call was made.
    /// Errors are never cached.
    pub fn get_or<E>(
        &self,
        args: &[Arg],
        compute: impl FnOnce() -> Result<Dynamic, E>,
    ) -> Result<Dynamic, E> {
        if self.off.load(Ordering::Relaxed) {
            return compute();
        }
        let Some(key) = self.reads.as_ref().and_then(|r| r.key(args)) else {
            return compute();
        };
        let shard = &self.shards[Self::shard_of(&key)];
        let lookups = self.lookups.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(v) = shard.read().ok().and_then(|m| m.get(&key).cloned()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        let hits = self.hits.load(Ordering::Relaxed) * 100;
        let retained = self.retain.load(Ordering::Relaxed);
        if !retained
            && (lookups == EARLY_SAMPLE && hits < EARLY_SAMPLE * EARLY_MIN_PERCENT
                || lookups == SAMPLE && hits < SAMPLE * MIN_HIT_PERCENT)
        {
            self.off.store(true, Ordering::Relaxed);
            for s in &self.shards {
                if let Ok(mut m) = s.write() {
                    *m = HashMap::default();
                }
            }
            return compute();
        }
        let v = compute()?;
        if let Ok(mut m) = shard.write() {
            if m.len() < MAX_ENTRIES / SHARDS {
                m.insert(key, v.clone());
            }
        }
        Ok(v)
    }

    fn shard_of(key: &Key) -> usize {
        // The high bits: the table itself uses the low ones.
        (Fx::default().hash_one(key) >> 58) as usize % SHARDS
    }

    /// (lookups, hits) so far, for timings output.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.lookups.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(src: &str, entry: &str, arity: usize) -> Option<Reads> {
        let engine = rhai::Engine::new();
        let ast = engine.compile(src).unwrap();
        Reads::analyse(&ast, entry, arity)
    }

    fn props(r: &Reads) -> Vec<Vec<&str>> {
        r.props
            .iter()
            .map(|p| p.iter().map(ImmutableString::as_str).collect())
            .collect()
    }

    #[test]
    fn finds_every_field_a_rule_reads() {
        let r = reads(
            "fn score(item, account, lead, cfg) {
                let d = item.days_since_eol;
                if d != () && d > cfg.critical { return item[\"risk_level\"].to_upper(); }
                if \"latest\" in cfg { return account.name.len(); }
                helper(item.product_name)
            }
            fn helper(x) { x.len() }",
            "score",
            4,
        )
        .unwrap();
        assert_eq!(
            props(&r),
            [
                vec!["days_since_eol", "product_name", "risk_level"],
                vec!["name"],
                vec![],
                vec!["critical", "latest"],
            ]
        );
        assert_eq!(r.whole, [false; 4]);
    }

    #[test]
    fn a_parameter_used_whole_is_allowed_only_for_cfg() {
        // cfg passed to a function: the whole of cfg is part of the key.
        let r = reads("fn f(item, cfg) { g(cfg) + item.x } fn g(c) { 1 }", "f", 2).unwrap();
        assert_eq!(r.whole, [false, true]);
        let cfg = share_map(&[("a", Dynamic::from(1_i64))]);
        let item = rhai::Map::new();
        assert_eq!(
            r.key(&[Arg::Map(&item), Arg::Cfg(&cfg, 7)]),
            Some(vec![KeyVal::Absent, KeyVal::Int(7)])
        );
        // Any other parameter used whole makes the rule uncacheable: its key would be everything.
        for body in [
            "g(item)",
            "item.keys()",
            "`${item}`",
            "item in [1, 2]",
            "let m = item; m.x",
            "item[cfg.key]",
        ] {
            let src = format!("fn f(item, cfg) {{ {body} }} fn g(x) {{ 1 }}");
            let r = reads(&src, "f", 2).unwrap();
            assert!(r.whole[0], "{body}");
            let args = [Arg::Map(&item), Arg::Cfg(&cfg, 7)];
            assert_eq!(r.key(&args), None, "{body}");
        }
    }

    #[test]
    fn impure_calls_imports_and_a_custom_contains_are_never_cached() {
        for src in [
            "fn f(item, cfg) { print(item.x); 1 }",
            "fn f(item, cfg) { debug(item.x); 1 }",
            "fn f(item, cfg) { log(item.x); 1 }",
            "fn f(item, cfg) { let t = timestamp(); 1 }",
            "fn f(item, cfg) { g(item.x) } fn g(x) { print(x); x }",
            "fn f(item, cfg) { \"x\" in item } fn contains(a, b) { a.y == b }",
            "fn f(item, cfg) { call(Fn(\"g\"), item.x) } fn g(x) { x }",
        ] {
            assert!(reads(src, "f", 2).is_none(), "{src}");
        }
        assert!(reads("fn f(item, cfg) { item.x }", "missing", 2).is_none());
        // Purity is an allow-list: a helper nobody declared pure is not cached.
        assert!(reads("fn f(item, cfg) { brand_new_helper(item.x) }", "f", 2).is_none());
        assert!(reads("fn f(item, cfg) { item.x.brand_new_method() }", "f", 2).is_none());
        for pure in [
            "fmt_int(item.x)",
            "has_word(item.x, \"a\")",
            "item.x.to_lower().contains(\"a\")",
            "parse_int(item.x) + 1",
        ] {
            let src = format!("fn f(item, cfg) {{ {pure} }}");
            assert!(reads(&src, "f", 2).is_some(), "{pure}");
        }
        assert!(reads("fn f(item, cfg) { item.x }", "f", 3).is_none());
    }

    /// The standard library as this analysis was reviewed against: a new `rhai` adding a
    /// function (which might not be pure) fails here until [`STD_IMPURE`] is looked at again.
    #[test]
    fn the_standard_library_is_the_one_reviewed() {
        let mut names: Vec<&String> = std_names().iter().collect();
        names.sort();
        let all = names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let digest = all.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!(
            (names.len(), digest),
            (183, 15_689_674_162_671_202_771),
            "rhai's standard library changed: review `STD_IMPURE`, then update this test"
        );
    }

    fn share_map(fields: &[(&str, Dynamic)]) -> Dynamic {
        let m: rhai::Map = fields
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect();
        crate::rules::share(m)
    }

    #[test]
    fn keys_tell_apart_what_rhai_tells_apart() {
        let r = reads("fn f(item, cfg) { item.x }", "f", 2).unwrap();
        let cfg = share_map(&[]);
        let key = |v: Dynamic| {
            let item = share_map(&[("x", v)]);
            r.key(&[Arg::Shared(&item), Arg::Cfg(&cfg, 0)])
        };
        let values = [
            Dynamic::from(1_i64),
            Dynamic::from(1.0_f64),
            Dynamic::from("1"),
            Dynamic::from(""),
            Dynamic::UNIT,
            Dynamic::from(true),
            Dynamic::from('1'),
        ];
        let keys: Vec<_> = values.iter().map(|v| key(v.clone()).unwrap()).collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Arrays and maps are not key material: such calls run uncached.
        assert_eq!(key(Dynamic::from_array(vec![])), None);
    }

    #[test]
    fn results_are_reused_and_errors_are_not() {
        let m = Memo::new(reads("fn f(item, cfg) { item.x }", "f", 2));
        let cfg = share_map(&[]);
        let item = share_map(&[("x", Dynamic::from(2_i64))]);
        let args = [Arg::Shared(&item), Arg::Cfg(&cfg, 0)];
        let mut runs = 0;
        for _ in 0..3 {
            let r: Result<Dynamic, ()> = m.get_or(&args, || {
                runs += 1;
                Ok(Dynamic::from(4_i64))
            });
            assert_eq!(r.unwrap().as_int(), Ok(4));
        }
        assert_eq!(runs, 1);
        let other = share_map(&[("x", Dynamic::from(3_i64))]);
        let failing = [Arg::Shared(&other), Arg::Cfg(&cfg, 0)];
        for _ in 0..2 {
            let r: Result<Dynamic, &str> = m.get_or(&failing, || {
                runs += 1;
                Err("boom")
            });
            assert_eq!(r.unwrap_err(), "boom");
        }
        assert_eq!(runs, 3);
        assert_eq!(m.stats(), (5, 2));
    }

    #[test]
    fn a_cache_that_never_hits_turns_off_unless_retained() {
        let cfg = share_map(&[]);
        let run = |m: &Memo| {
            for i in 0..(EARLY_SAMPLE as i64 + 10) {
                let item = share_map(&[("x", Dynamic::from(i))]);
                let args = [Arg::Shared(&item), Arg::Cfg(&cfg, 0)];
                let _: Result<Dynamic, ()> = m.get_or(&args, || Ok(Dynamic::UNIT));
            }
        };
        let m = Memo::new(reads("fn f(item, cfg) { item.x }", "f", 2));
        run(&m);
        assert!(m.off.load(Ordering::Relaxed));
        assert_eq!(m.stats().0, EARLY_SAMPLE);
        let kept = Memo::new(reads("fn f(item, cfg) { item.x }", "f", 2));
        kept.retain();
        run(&kept);
        assert!(!kept.off.load(Ordering::Relaxed));
        let stored: usize = kept.shards.iter().map(|s| s.read().unwrap().len()).sum();
        assert_eq!(stored, EARLY_SAMPLE as usize + 10);
    }
}
