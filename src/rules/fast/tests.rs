//! Differential tests: the fast path against Rhai on the same AST and arguments. Whenever the
//! fast path answers, its `Dynamic` must be identical (type, value, nesting, access mode) to
//! Rhai's, Rhai must not have failed, and the fast path must have counted at least as many
//! operations as Rhai did (so `max_operations` can never be passed unnoticed). Bails are
//! tallied; tests assert the shipped rules never bail on realistic data.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use rhai::{AST, CallFnOptions, Dynamic, Engine, Map, Scope};

use super::Compiled;
use crate::config::{Config, Limits};
use crate::rules::{RuleKind, RuleSet, build_engine, share};

/// Type, access mode and value of a `Dynamic`, all the way down: `1` vs `1.0`, `""` vs `()`.
fn sig(d: &Dynamic) -> String {
    fn deep(d: &Dynamic, out: &mut String) {
        let ro = if d.is_read_only() { "(ro)" } else { "" };
        let _ = write!(out, "{}{ro}:", d.type_name());
        if let Ok(a) = d.as_array_ref() {
            out.push('[');
            for x in a.iter() {
                deep(x, out);
                out.push(',');
            }
            out.push(']');
        } else if let Ok(m) = d.as_map_ref() {
            out.push('{');
            for (k, v) in m.iter() {
                let _ = write!(out, "{k}=");
                deep(v, out);
                out.push(',');
            }
            out.push('}');
        } else {
            let _ = write!(out, "{d:?}");
        }
    }
    let mut s = String::new();
    deep(d, &mut s);
    s
}

/// Counts Rhai's operations for the call in progress (the highest count reported).
fn count_ops(engine: &mut Engine) -> Arc<AtomicU64> {
    let ops = Arc::new(AtomicU64::new(0));
    let seen = ops.clone();
    engine.on_progress(move |n| {
        seen.fetch_max(n, Ordering::Relaxed);
        None
    });
    ops
}

#[derive(Default, Debug)]
struct Tally {
    calls: usize,
    fast: usize,
    bails: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn bailed(&self) -> usize {
        self.calls - self.fast
    }
}

/// Runs `name(args)` both ways and checks the contract; returns Rhai's result.
fn diff(
    engine: &Engine,
    ops: &AtomicU64,
    ast: &AST,
    fast: &Compiled,
    name: &str,
    args: &[Dynamic],
    tally: &mut Tally,
) -> Result<Dynamic, String> {
    ops.store(0, Ordering::Relaxed);
    let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
    let rhai = engine
        .call_fn_with_options::<Dynamic>(options, &mut Scope::new(), ast, name, args.to_vec())
        .map_err(|e| e.to_string());
    let rhai_ops = ops.load(Ordering::Relaxed);
    tally.calls += 1;
    match fast.run(name, args) {
        Ok((v, fast_ops)) => {
            tally.fast += 1;
            let r = rhai.as_ref().unwrap_or_else(|e| {
                panic!("fast path returned {v:?} where Rhai failed with {e}\n  {name}{args:?}")
            });
            assert_eq!(sig(&v), sig(r), "{name}{args:?}");
            assert!(
                fast_ops >= rhai_ops,
                "fast path counted {fast_ops} operations, Rhai {rhai_ops}: {name}{args:?}"
            );
        }
        Err(why) => *tally.bails.entry(why).or_default() += 1,
    }
    rhai
}

// ---------------------------------------------------------------------------------------------
// The shipped rules on the bundled sample generator's data
// ---------------------------------------------------------------------------------------------

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped rules with Rhai's operation counter attached.
fn shipped() -> (RuleSet, Arc<AtomicU64>) {
    let cfg = Config::load(&root().join("config/onelead.yaml"), true).unwrap();
    let mut set = RuleSet::load(&root().join("rules"), &cfg).unwrap();
    set.set_as_of(SAMPLE_AS_OF);
    let ops = count_ops(&mut set.engine);
    (set, ops)
}

fn call(
    set: &RuleSet,
    ops: &AtomicU64,
    kind: RuleKind,
    name: &str,
    args: &[Dynamic],
    tally: &mut Tally,
) -> Vec<Result<Dynamic, String>> {
    set.rules
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| {
            let fast = r.fast.as_ref().expect("shipped rules are compiled");
            diff(&set.engine, ops, &r.ast, fast, name, args, tally)
        })
        .collect()
}

#[test]
fn every_shipped_rule_function_compiles() {
    let (set, _) = shipped();
    for r in &set.rules {
        let fast = r.fast.as_ref().expect("compiled at load");
        for (f, why) in fast.report() {
            assert!(why.is_none(), "{}: {f} is interpreted: {why:?}", r.id());
        }
    }
}

/// The lead maps scoring and services rules see, one per lead type plus one no rule produces.
fn leads(set: &RuleSet) -> Vec<Dynamic> {
    let mut types: Vec<String> = set
        .rules
        .iter()
        .filter_map(|r| r.lead_type.clone())
        .collect();
    types.push("Something Else".into());
    types
        .into_iter()
        .map(|t| {
            let mut m = Map::new();
            m.insert("lead_type".into(), t.clone().into());
            m.insert("title".into(), format!("{t}: x").into());
            m.insert("rule".into(), "r".into());
            share(m)
        })
        .collect()
}

/// The day the sample evaluations count from.
const SAMPLE_AS_OF: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2025, 9, 1) {
    Some(d) => d,
    None => chrono::NaiveDate::MIN,
};

/// A generated CSV sample of `rows` install-base rows (seed `seed`) loaded and classified with
/// `set` into a fresh database; returns the folder (kept alive), the store and the config.
fn loaded_sample(
    rows: usize,
    seed: u64,
    set: &RuleSet,
) -> (tempfile::TempDir, crate::store::Store, Config) {
    use crate::pipeline::{Mode, Settings, execute};

    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    crate::sample::write_sample(&input, rows, seed, crate::sample::SampleFormat::Csv).unwrap();
    let cfg = Config::load(&root().join("config/onelead.yaml"), true).unwrap();
    let settings = Settings {
        cfg: cfg.clone(),
        db: tmp.path().join("t.db").into(),
        inputs: vec![input],
        rules_dir: root().join("rules"),
        as_of: SAMPLE_AS_OF,
    };
    let mut store = crate::store::Store::open(&settings.db).unwrap();
    let mode = Mode {
        command: "load",
        ingest: true,
        make_leads: false,
        commit: true,
        changes: crate::score::diff::Changes::Off,
        indexes_later: false,
    };
    execute(&mut store, &settings, set, mode, &|_, _| {}, None).unwrap();
    (tmp, store, cfg)
}

#[test]
fn shipped_rules_match_rhai_on_sample_items() {
    use crate::score::context::{item_map, read_accounts};

    let (set, ops) = shipped();
    let (_tmp, mut store, cfg) = loaded_sample(1500, 11, &set);
    let mut tx = store.begin().unwrap();
    let accounts = read_accounts(&mut *tx).unwrap();
    let catalog = crate::recommend::Catalog::read(&mut *tx, &cfg).unwrap();
    let rows = tx
        .read_items(0, usize::MAX, &mut crate::model::item::Interner::default())
        .unwrap();
    assert_eq!(rows.len(), 1500);

    let cfg_d = set.cfg();
    let leads = leads(&set);
    let mut tally = Tally::default();
    let mut families = BTreeSet::new();
    for row in &rows {
        let mut item = item_map(row, SAMPLE_AS_OF);
        for out in call(
            &set,
            &ops,
            RuleKind::Classify,
            "classify",
            &[Dynamic::from_map(item.clone()), cfg_d.clone()],
            &mut tally,
        ) {
            if let Some(m) = out.unwrap().try_cast::<Map>() {
                item.extend(m);
            }
        }
        families.insert(
            item.get("product_family")
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
        let item = share(item);
        let account = accounts.shared(row.account_id.as_deref()).clone();
        for out in call(
            &set,
            &ops,
            RuleKind::Trigger,
            "trigger",
            &[item.clone(), account.clone(), cfg_d.clone()],
            &mut tally,
        ) {
            let _ = out.unwrap();
        }
        for lead in &leads {
            let args = [item.clone(), account.clone(), lead.clone(), cfg_d.clone()];
            for out in call(&set, &ops, RuleKind::Scoring, "score", &args, &mut tally) {
                let _ = out.unwrap();
            }
        }
    }
    let mut services = 0;
    for family in &families {
        for svc in catalog.candidates(family) {
            services += 1;
            let svc = share(svc.map.clone());
            for lead in &leads {
                let args = [lead.clone(), svc.clone(), cfg_d.clone()];
                for out in call(&set, &ops, RuleKind::Services, "boost", &args, &mut tally) {
                    let _ = out.unwrap();
                }
            }
        }
    }
    for r in set.rules.iter().filter(|r| r.kind == RuleKind::Trigger) {
        let fast = r.fast.as_ref().unwrap();
        let _ = diff(
            &set.engine,
            &ops,
            &r.ast,
            fast,
            "lead_type",
            &[],
            &mut tally,
        )
        .unwrap();
    }
    eprintln!(
        "sample: {} items, {services} services: {tally:?}",
        rows.len()
    );
    assert!(services > 0);
    assert_eq!(tally.bailed(), 0, "{tally:?}");
}

// ---------------------------------------------------------------------------------------------
// The shipped rules on generated maps with edge values, wrong types and missing fields
// ---------------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = Dynamic> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "", " ", "Expired", "expired", "EXPIRED - uncovered", "Uncovered", "Active", "Warranty",
            "HP DL360p Gen8 8-SFF CTO Server", "HPE 3PAR StoreServ 8200", "HPE BLc Encl Fan Option",
            "HP 500GB 2.5in MDL HDD", "Aruba AP-325", "ProLiant gen 10 Plus", "Synergy 480 Gen10",
            "PC3-10600R memory", "MSA 2040", "c7000", "$1M - $5M", "$50k-$500k", "<$50k", ">$5M",
            "$500k-$1M", "Compute", "compute platform", "Hardware Refresh - EOL Equipment",
            "Renewal - Expired Support", "Service Attach - Coverage Gap", "Migration Service",
            "Install and Startup", "Health Check", "Upgrade Service", "Performance Tuning",
            "Rebalance", "2025-01-01", "2015-07-01", "2025-13-01", "İSTANBUL", "straße", "ǅ",
            "ＦＵＬＬ", "gen", "Gen99999999999999999999",
        ]).prop_map(|s| Dynamic::from(s.to_string())),
        2 => "[ -~]{0,24}".prop_map(Dynamic::from),
        1 => any::<String>().prop_map(Dynamic::from),
    ]
}

fn number() -> impl Strategy<Value = Dynamic> {
    prop_oneof![
        4 => (-4000_i64..4000).prop_map(Dynamic::from_int),
        2 => prop::sample::select(vec![
            0, 1, -1, 5, 6, 10, 11, 20, 21, 50, 51, 90, 91, 100, 101, 180, 181, 365, 366, 1095,
            1096, 1825, 1826, i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1,
        ]).prop_map(Dynamic::from_int),
        1 => any::<i64>().prop_map(Dynamic::from_int),
    ]
}

/// Anything a field could hold, type-correct or not.
fn anything() -> impl Strategy<Value = Dynamic> {
    prop_oneof![
        3 => text(),
        3 => number(),
        2 => Just(Dynamic::UNIT),
        1 => any::<bool>().prop_map(Dynamic::from_bool),
        1 => prop::sample::select(vec![0.0, -0.0, 0.5, 1.0, 1825.5, 1e20, -3.25, f64::NAN, f64::INFINITY])
            .prop_map(Dynamic::from_float),
        1 => prop::collection::vec(text(), 0..3).prop_map(Dynamic::from_array),
        1 => Just(Dynamic::from_map(Map::new())),
    ]
}

/// A map with every field in `fields` (from `base`), some overridden and maybe one removed.
fn record(
    fields: &'static [&'static str],
    base: impl Strategy<Value = Dynamic>,
) -> impl Strategy<Value = Map> {
    (
        prop::collection::vec(base, fields.len()),
        prop::collection::vec((0..fields.len(), anything()), 0..4),
        prop::option::weighted(0.1, 0..fields.len()),
    )
        .prop_map(move |(vals, over, drop)| {
            let mut m: Map = fields
                .iter()
                .map(|f| ((*f).into(), Dynamic::UNIT))
                .collect();
            for (f, v) in fields.iter().zip(vals) {
                m.insert((*f).into(), v);
            }
            for (i, v) in over {
                m.insert(fields[i].into(), v);
            }
            if let Some(i) = drop {
                m.remove(fields[i]);
            }
            m
        })
}

/// The item's text fields as evaluation fills them: the columns, the dates, and what classify
/// and the as-of date add.
static ITEM_TEXT: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    use crate::model::item::{DATE_FIELDS, TEXT_FIELDS};
    let derived: &[&'static str] = &["as_of", "product_family", "risk_level"];
    TEXT_FIELDS
        .iter()
        .chain(derived)
        .chain(DATE_FIELDS)
        .copied()
        .collect()
});
const ITEM_NUM: &[&str] = &["id", "days_since_eol", "days_since_expiry"];
const ACCOUNT_NUM: &[&str] = &[
    "install_base_count",
    "opportunity_count",
    "project_count",
    "closed_project_count",
    "active_credits",
];
const ACCOUNT_TEXT: &[&str] = &[
    "account_id",
    "name",
    "territory_id",
    "project_size_category",
    "last_project_end",
];

fn item() -> impl Strategy<Value = Map> {
    (
        record(ITEM_TEXT.as_slice(), text()),
        record(
            ITEM_NUM,
            prop_oneof![3 => number(), 1 => Just(Dynamic::UNIT)],
        ),
        any::<bool>(),
    )
        .prop_map(|(mut a, b, p)| {
            a.extend(b);
            a.insert("eol_placeholder".into(), p.into());
            a
        })
}

fn account() -> impl Strategy<Value = Map> {
    (
        record(
            ACCOUNT_TEXT,
            prop_oneof![3 => text(), 1 => Just(Dynamic::UNIT)],
        ),
        record(ACCOUNT_NUM, number()),
    )
        .prop_map(|(mut a, b)| {
            a.extend(b);
            a
        })
}

fn cfg_map() -> impl Strategy<Value = Map> {
    (
        prop::option::weighted(0.9, anything()),
        prop::option::weighted(0.6, anything()),
    )
        .prop_map(|(crit, latest)| {
            let mut m = Map::new();
            if let Some(c) = crit {
                m.insert("critical_days_past_eol".into(), c);
            }
            if let Some(l) = latest {
                m.insert("latest_server_generation".into(), l);
            }
            m.insert("as_of".into(), Dynamic::from("2025-09-01".to_string()));
            m
        })
}

fn service() -> impl Strategy<Value = Map> {
    (text(), text(), text(), prop::collection::vec(text(), 0..3)).prop_map(|(s, c, f, skus)| {
        let mut m = Map::new();
        m.insert("service".into(), s);
        m.insert("category".into(), c);
        m.insert("product_family".into(), f);
        m.insert("skus".into(), Dynamic::from_array(skus));
        m
    })
}

fn lead() -> impl Strategy<Value = Map> {
    (text(), text()).prop_map(|(t, title)| {
        let mut m = Map::new();
        m.insert("lead_type".into(), t);
        m.insert("title".into(), title);
        m.insert("rule".into(), "r".into());
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn shipped_rules_match_rhai_on_generated_maps(
        item in item(), account in account(), cfg in cfg_map(), lead in lead(), svc in service(),
        shared in any::<bool>(),
    ) {
        let (set, ops) = shipped();
        let pass = |m: &Map| if shared { share(m.clone()) } else { Dynamic::from_map(m.clone()) };
        let (i, a, c, l, s) = (pass(&item), pass(&account), pass(&cfg), pass(&lead), pass(&svc));
        let mut tally = Tally::default();
        let _ = call(&set, &ops, RuleKind::Classify, "classify", &[i.clone(), c.clone()], &mut tally);
        let _ = call(&set, &ops, RuleKind::Trigger, "trigger", &[i.clone(), a.clone(), c.clone()], &mut tally);
        let _ = call(&set, &ops, RuleKind::Scoring, "score", &[i, a, l.clone(), c.clone()], &mut tally);
        let _ = call(&set, &ops, RuleKind::Services, "boost", &[l, s, c], &mut tally);
    }
}

// ---------------------------------------------------------------------------------------------
// Scripts written to hit edge cases, on a pool of awkward arguments
// ---------------------------------------------------------------------------------------------

const EDGES: &str = r#"
fn units(x) { if x == () { "unit" } else if x != () { `not unit ${x}` } else { "?" } }
fn arith(a, b) { [a + b, a - b, a * b, a / b, a % b, -a, a == b, a != b, a < b, a <= b, a > b, a >= b] }
fn add(a, b) { a + b }
fn eq(a, b) { [a == b, a != b] }
fn less(a, b) { a < b }
fn templ(x) { `v=${x} ${x}|${()}|${1.0}|${-0.0}|${1e20}|${0.1 + 0.2}|${true}|${'c'}|${1e-20}|${123456789.125}` }
fn nested(a) { if a > 0 { if a > 10 { if a > 100 { "big" } else { "mid" } } else { "small" } } else { "neg" } }
fn early(a) { if a == 1 { return "one"; } if a == 2 { return; } let x = if a == 3 { return 3 } else { 4 }; x }
fn loop_ret(list, target) { for x in list { if x == target { return `found ${x}`; } } "none" }
fn loop_counter(list) { let out = []; for (x, i) in list { out.push(`${i}:${x}`); } out }
fn loop_shadow(list) { let x = "outer"; for x in list { let y = x; } x }
fn in_ops(x, c) { x in c }
fn in_lits(x) { [x in ["a", 1, true, ()], x in #{ a: 1, "b c": 2 }, x in "abc", "b" in x] }
fn repl(s) { let k = s; k.replace(" ", ""); [s, k] }
fn repl2(s, a, b) { let k = s; k.replace(a, b); replace(k, 'x', "yy"); k }
fn plus_eq(a, b) { let s = a; s += b; s }
fn plus_eq_arr(a, b) { let arr = []; arr += a; arr += [b, b]; arr += []; arr }
fn op_eq(a, b) { let x = a; x -= b; let y = a; y *= b; let z = a; z /= b; let w = a; w %= b; [x, y, z, w] }
fn strings(a) { [a.to_lower(), a.to_upper(), a.contains("x"), a.contains('x'), a.is_empty(), a.len(), to_lower(a), is_empty(a)] }
fn concat(a) { [a + 1, 1 + a, a + (), () + a, a + 1.5, a + true, a + 'c', 'c' + a, a + -7] }
fn maps(m, k) { let x = #{ a: 1, b: "two", c: [1, 2] }; [x[k], m[k]] }
fn props(m) { [m.a, m.len(), m.is_empty(), "a" in m] }
fn deep(m) { m.a.b.c }
fn lits() { let x = #{ a: 1, b: "two", c: [1, 2.5, (), #{ d: 'e' }] }; [x.c[1], x.c[3].d, x, x.c, x.len()] }
fn helpers(t, w) { [has_word(t, w), has_code(t, w), contains_ci(t, w), t.has_word(w)] }
fn fmt(n) { fmt_int(n) }
fn gen(t) { generation(t) }
fn days(a, b) { days_between(a, b) }
fn bools(a, b) { [a && b, a || b, !a, a & b, a | b, a ^ b] }
fn coalesce(a, b) { a ?? b ?? "none" }
fn floats(a, b) { [a + b, a - b, a * b, a / b, a % b, a == b, a != b, a < b, a <= b, a > b, a >= b, -a] }
fn twice(n) { helper(n) + helper(n + 1) }
fn helper(n) { n * 2 }
fn rec(n) { if n <= 0 { 0 } else { 1 + rec(n - 1) } }
fn grow(s, list) { let out = s; for x in list { out += out; } out.len() }
fn pushes(list) { let out = []; for x in list { out.push(list); } out.len() }
fn overflow(a) { a * a * a }
fn neg(a) { -a }
fn missing(m) { m.nope }
fn chain(m) { m.name.to_lower().contains("x") }
fn throws(a) { if a > 0 { throw "boom" } a }
fn arrays(a) { let x = [1, "2", 3.0, (), true]; [x[0], x[1], x[4], a in x, x.len(), x.is_empty(), x] }
fn index(a, i) { a[i] }
fn assign_arg(m) { m = 5; m }
fn returns_arg(m) { m }
fn stores_arg(m) { [m] }
fn block_value(a) { let v = { let t = a; t }; v }
fn unit_fn() { }
fn let_only(a) { let b = a; }
fn if_no_else(a) { if a { 1 } }
fn chars(c) { [c.to_upper(), c.to_lower(), c + c, c == 'a'] }
fn empties(a) { {} { {} { {} } } ;;; a }
"#;

/// Functions in [`EDGES`] and how many arguments each takes.
fn edge_fns(ast: &AST) -> Vec<(String, usize)> {
    ast.iter_functions()
        .map(|f| (f.name.to_string(), f.params.len()))
        .collect()
}

/// A pool of awkward arguments: scalars at the edges, strings, arrays, and maps plain and shared.
fn pool() -> Vec<Dynamic> {
    let s = |x: &str| Dynamic::from(x.to_string());
    let mut inner = Map::new();
    inner.insert("c".into(), Dynamic::from_int(3));
    let mut mid = Map::new();
    mid.insert("b".into(), Dynamic::from_map(inner));
    let mut m = Map::new();
    m.insert("a".into(), Dynamic::from_map(mid));
    m.insert("name".into(), s("Max Xylo"));
    m.insert("b c".into(), Dynamic::from_int(2));
    let mut flat = Map::new();
    flat.insert("a".into(), Dynamic::from_int(1));
    vec![
        Dynamic::UNIT,
        Dynamic::TRUE,
        Dynamic::FALSE,
        Dynamic::from_int(0),
        Dynamic::from_int(1),
        Dynamic::from_int(2),
        Dynamic::from_int(3),
        Dynamic::from_int(-7),
        Dynamic::from_int(101),
        Dynamic::from_int(3_000_000_000),
        Dynamic::from_int(i64::MAX),
        Dynamic::from_int(i64::MIN),
        Dynamic::from_float(0.0),
        Dynamic::from_float(-0.0),
        Dynamic::from_float(2.5),
        Dynamic::from_float(1e20),
        Dynamic::from_float(0.1),
        Dynamic::from_float(f64::NAN),
        Dynamic::from_float(f64::NEG_INFINITY),
        Dynamic::from_char('a'),
        Dynamic::from_char('ß'),
        s(""),
        s("a"),
        s("b"),
        s("a b c"),
        s("HP DL360p Gen8"),
        s("gen 10"),
        s("2025-01-01"),
        s("2025-02-30"),
        s("İx"),
        s("xx"),
        Dynamic::from_array(vec![]),
        Dynamic::from_array(vec![s("a"), Dynamic::from_int(1)]),
        Dynamic::from_array(vec![Dynamic::from_int(1); 25]),
        Dynamic::from_array(vec![Dynamic::from_float(1.0), Dynamic::UNIT]),
        Dynamic::from_map(flat.clone()),
        share(flat),
        Dynamic::from_map(m.clone()),
        share(m),
    ]
}

#[test]
fn edge_scripts_match_rhai() {
    let mut engine = build_engine(&Limits::default(), Path::new("rules"));
    let ops = count_ops(&mut engine);
    let ast = engine.compile(EDGES).unwrap();
    let fast = Compiled::new(&ast, &engine);
    for (f, why) in fast.report() {
        assert!(why.is_none(), "{f} is interpreted: {why:?}");
    }
    let pool = pool();
    let mut tally = Tally::default();
    let mut per_fn: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (name, arity) in edge_fns(&ast) {
        let before = (tally.calls, tally.fast);
        let mut args = vec![0_usize; arity];
        // Every combination of pool values (the pool is small; a third argument takes every
        // third value).
        loop {
            let a: Vec<Dynamic> = args.iter().map(|i| pool[*i].clone()).collect();
            let _ = diff(&engine, &ops, &ast, &fast, &name, &a, &mut tally);
            let mut k = 0;
            loop {
                if k == arity {
                    break;
                }
                args[k] += if k == 2 { 3 } else { 1 };
                if args[k] < pool.len() {
                    break;
                }
                args[k] = 0;
                k += 1;
            }
            if k == arity {
                break;
            }
        }
        per_fn.insert(name, (tally.calls - before.0, tally.fast - before.1));
    }
    eprintln!("edges: {tally:?}\n{per_fn:#?}");
    // Each function must take the fast path for some arguments, or the test proves nothing;
    // the ones that always end in an error (Rhai's to report) are the exceptions.
    for (name, (calls, fast)) in &per_fn {
        let always_fails = [
            "missing",
            "throws",
            "assign_arg",
            "returns_arg",
            "stores_arg",
        ];
        if !always_fails.contains(&name.as_str()) {
            assert!(*fast > 0, "{name}: {calls} calls, none on the fast path");
        }
    }
}

#[test]
fn limits_bail_where_rhai_stops() {
    // Tight limits: every call near them must either match Rhai or bail.
    let limits = Limits {
        max_operations: 120,
        max_call_levels: 6,
        max_expr_depth: 64,
        max_string_size: 40,
        max_array_size: 14,
        max_map_size: 3,
    };
    let mut engine = build_engine(&limits, Path::new("rules"));
    let ops = count_ops(&mut engine);
    let ast = engine.compile(EDGES).unwrap();
    let fast = Compiled::new(&ast, &engine);
    let mut tally = Tally::default();
    let s = |x: &str| Dynamic::from(x.to_string());
    let list = |n: usize| Dynamic::from_array(vec![Dynamic::from_int(1); n]);
    let mut check = |name: &str, args: &[Dynamic]| {
        let _ = diff(&engine, &ops, &ast, &fast, name, args, &mut tally);
    };
    for n in 0..12_usize {
        check("rec", &[Dynamic::from_int(n as i64)]);
        check("grow", &[s("ab"), list(n)]);
        check("pushes", &[list(n)]);
        check("loop_counter", &[list(n * 4)]);
        check("loop_ret", &[list(n * 10), Dynamic::from_int(2)]);
        check("plus_eq", &[s(&"x".repeat(n * 4)), s("0123456789")]);
    }
    check("lits", &[]);
    check("empties", &[s("x")]);
    eprintln!("limits: {tally:?}");
    assert!(tally.fast > 0 && tally.bailed() > 0, "{tally:?}");
}

#[test]
fn unsupported_constructs_stay_interpreted() {
    let engine = build_engine(&Limits::default(), Path::new("rules"));
    let ast = engine
        .compile(
            r#"
fn spins(n) { let i = 0; while i < n { i += 1; } i }
fn constant() { const X = 1; X }
fn switches(x) { switch x { 1 => "one", _ => "other" } }
fn caller(n) { spins(n) + 1 }
fn fine(n) { n + 1 }
fn prints(x) { print(x); x }
fn method_on_prop(m) { m.list.push(1); m }
fn unknown_fn(x) { x.trim() }
"#,
        )
        .unwrap();
    let fast = Compiled::new(&ast, &engine);
    let report: BTreeMap<String, Option<String>> = fast
        .report()
        .into_iter()
        .map(|(f, why)| (f, why.map(str::to_string)))
        .collect();
    let why = |f: &str| report[f].clone().unwrap_or_default();
    assert!(why("spins/1").contains("while"), "{report:?}");
    assert!(why("constant/0").contains("const"), "{report:?}");
    assert!(why("switches/1").contains("switch"), "{report:?}");
    assert!(why("caller/1").contains("calls `spins`"), "{report:?}");
    assert!(why("prints/1").contains("print"), "{report:?}");
    assert!(
        why("method_on_prop/1").contains("inside a chain"),
        "{report:?}"
    );
    assert!(why("unknown_fn/1").contains("trim"), "{report:?}");
    assert_eq!(report["fine/1"], None);
    assert!(fast.call("caller", &[Dynamic::from_int(3)]).is_none());
    assert_eq!(
        fast.call("fine", &[Dynamic::from_int(3)]).unwrap().as_int(),
        Ok(4)
    );

    // A script function that replaces a built-in would change what every call means: nothing
    // in that script is compiled.
    let ast = engine
        .compile("fn contains(a, b) { true }\nfn f(s) { \"x\" in s }")
        .unwrap();
    let fast = Compiled::new(&ast, &engine);
    assert!(
        fast.report()
            .iter()
            .all(|(_, why)| why.is_some_and(|w| w.contains("contains")))
    );
}

// ---------------------------------------------------------------------------------------------
// Through `RuleSet`: a bailed call reports Rhai's own error, position and hint
// ---------------------------------------------------------------------------------------------

fn scratch(trigger_body: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let w = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w(
        "scoring/f.rhai",
        "fn score(item, account, lead, cfg) { 50 }",
    );
    w(
        "triggers/t.rhai",
        &format!(
            "fn lead_type() {{ \"T\" }}\nfn trigger(item, account, cfg) {{\n{trigger_body}\n}}\n"
        ),
    );
    let cfg = Config::parse(
        "scoring_weights: {f: 1.0}\nthresholds: {critical_days_past_eol: 1825}\n",
        Path::new("config/onelead.yaml"),
    )
    .unwrap();
    (dir, cfg)
}

#[test]
fn bailed_calls_report_rhais_error() {
    let ctx = crate::rules::EvalContext {
        table: "install_base",
        row: 3,
        key: "SN1",
    };
    let mut item = Map::new();
    item.insert("id".into(), Dynamic::from_int(i64::MAX));
    item.insert(
        "support_status".into(),
        Dynamic::from("Expired".to_string()),
    );
    item.insert("eol_date".into(), Dynamic::from("2025-13-01".to_string()));
    let account = Map::new();
    for body in [
        "    let n = item.id + 1;\n    ()",
        "    if item.id / 0 > 1 { return; }",
        "    if item.support_stauts == \"\" { return; }",
        "    if item.support_status { return; }",
        "    let d = days_between(item.eol_date, \"2025-01-01\");\n    ()",
        "    if item.id > 0 { throw \"no luck\"; }",
        "    let s = item.support_status;\n    s += s; s += s; s += s;\n    if s.len() > 10 { return #{ title: s } }",
    ] {
        let (dir, cfg) = scratch(body);
        let fast = RuleSet::load(dir.path(), &cfg).unwrap();
        let trigger = fast
            .rules
            .iter()
            .find(|r| r.kind == RuleKind::Trigger)
            .unwrap();
        let report = trigger.fast.as_ref().unwrap().report();
        assert!(
            report.iter().all(|(_, why)| why.is_none()),
            "{body}: {report:?}"
        );
        let mut slow = RuleSet::load(dir.path(), &cfg).unwrap();
        for r in &mut slow.rules {
            r.fast = None;
        }
        let got = fast.triggers(&item, &account, &ctx).map(|h| h.len());
        let want = slow.triggers(&item, &account, &ctx).map(|h| h.len());
        let (Err(got), Err(want)) = (got, want) else {
            panic!("{body}: expected errors both ways");
        };
        assert_eq!(got.to_string(), want.to_string(), "{body}");
        assert!(got.to_string().contains("t.rhai:"), "{got}");
    }
}

#[test]
fn cfg_keys_reach_compiled_code() {
    // `"key" in cfg` and `cfg.key` on the shared map the rule set passes.
    let (set, ops) = shipped();
    let mut tally = Tally::default();
    let mut item = Map::new();
    for f in crate::rules::ITEM_FIELDS {
        item.insert((*f).into(), Dynamic::from(String::new()));
    }
    item.insert("days_since_eol".into(), Dynamic::from_int(4000));
    item.insert(
        "product_family".into(),
        Dynamic::from("COMPUTE".to_string()),
    );
    item.insert(
        "product_name".into(),
        Dynamic::from("HP DL380 Gen9".to_string()),
    );
    let account = share(Map::new());
    let out = call(
        &set,
        &ops,
        RuleKind::Trigger,
        "trigger",
        &[share(item), account, set.cfg()],
        &mut tally,
    );
    assert_eq!(tally.bailed(), 0, "{tally:?}");
    let hits: Vec<String> = out.into_iter().map(|o| sig(&o.unwrap())).collect();
    assert!(hits.iter().any(|h| h.contains("Gen12")), "{hits:?}");
}

// ---------------------------------------------------------------------------------------------
// Micro benchmark (`cargo test --release --lib fast::tests::bench -- --ignored --nocapture`)
// ---------------------------------------------------------------------------------------------

/// One rule call: the rule's index, the function and its arguments.
type Call = (usize, &'static str, Vec<Dynamic>);

/// Every rule call of a sample evaluation, with its arguments, by rule.
fn sample_calls(rows: usize) -> (RuleSet, Vec<Call>) {
    use crate::score::context::{item_map, read_accounts};

    let cfg = Config::load(&root().join("config/onelead.yaml"), true).unwrap();
    let mut set = RuleSet::load(&root().join("rules"), &cfg).unwrap();
    set.set_as_of(SAMPLE_AS_OF);
    let (_tmp, mut store, cfg) = loaded_sample(rows, 5, &set);
    let mut tx = store.begin().unwrap();
    let accounts = read_accounts(&mut *tx).unwrap();
    let catalog = crate::recommend::Catalog::read(&mut *tx, &cfg).unwrap();
    let cfg_d = set.cfg();
    let lead_maps = leads(&set);
    let mut calls = Vec::new();
    for row in &tx
        .read_items(0, usize::MAX, &mut crate::model::item::Interner::default())
        .unwrap()
    {
        let mut item = item_map(row, SAMPLE_AS_OF);
        for (i, r) in set.rules.iter().enumerate() {
            if r.kind == RuleKind::Classify {
                let args = vec![Dynamic::from_map(item.clone()), cfg_d.clone()];
                calls.push((i, "classify", args.clone()));
                if let Some(m) = r.fast.as_ref().unwrap().call("classify", &args) {
                    item.extend(m.try_cast::<Map>().unwrap_or_default());
                }
            }
        }
        let family = item
            .get("product_family")
            .map(ToString::to_string)
            .unwrap_or_default();
        let item = share(item);
        let account = accounts.shared(row.account_id.as_deref()).clone();
        for (i, r) in set.rules.iter().enumerate() {
            match r.kind {
                RuleKind::Trigger => {
                    calls.push((
                        i,
                        "trigger",
                        vec![item.clone(), account.clone(), cfg_d.clone()],
                    ));
                }
                RuleKind::Scoring => {
                    let lead = lead_maps[calls.len() % lead_maps.len()].clone();
                    let args = vec![item.clone(), account.clone(), lead, cfg_d.clone()];
                    calls.push((i, "score", args));
                }
                RuleKind::Services => {
                    if let Some(svc) = catalog.candidates(&family).first() {
                        let lead = lead_maps[calls.len() % lead_maps.len()].clone();
                        let args = vec![lead, share(svc.map.clone()), cfg_d.clone()];
                        calls.push((i, "boost", args));
                    }
                }
                RuleKind::Classify | RuleKind::Assign => {}
            }
        }
    }
    (set, calls)
}

/// The fastest of `reps` runs of `f`, in ns: on a shared, loaded machine the minimum is the
/// run that was not preempted, with the inputs in cache (as they are in the pipeline, which
/// builds an item's maps right before its calls).
fn best_ns(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e9
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
#[ignore = "a benchmark: run in release with --ignored --nocapture"]
fn bench_rule_calls() {
    const ROWS: usize = 5000;
    let (set, calls) = sample_calls(ROWS);
    let mut per_rule: BTreeMap<usize, (usize, f64, f64)> = BTreeMap::new();
    for (i, name, args) in &calls {
        let r = &set.rules[*i];
        let fast = r.fast.as_ref().unwrap();
        let fast_ns = best_ns(7, || assert!(fast.call(name, args).is_some()));
        let rhai_ns = best_ns(7, || {
            let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
            let out = set.engine.call_fn_with_options::<Dynamic>(
                options,
                &mut Scope::new(),
                &r.ast,
                name,
                args.clone(),
            );
            assert!(out.is_ok());
        });
        let e = per_rule.entry(*i).or_default();
        *e = (e.0 + 1, e.1 + fast_ns, e.2 + rhai_ns);
    }
    let (mut total_fast, mut total_rhai) = (0.0, 0.0);
    for (i, (n, f, r)) in &per_rule {
        let n = *n as f64;
        let id = set.rules[*i].id();
        eprintln!(
            "{id:28} {:6.0} ns fast {:6.0} ns rhai  x{:.1}",
            f / n,
            r / n,
            r / f
        );
        total_fast += f;
        total_rhai += r;
    }
    let items = ROWS as f64;
    eprintln!(
        "per item: {:.2} us fast, {:.2} us rhai (x{:.1}); {} calls",
        total_fast / items / 1e3,
        total_rhai / items / 1e3,
        total_rhai / total_fast,
        calls.len()
    );
}
