//! The Rhai rules engine. Sales ops edit `rules/{classify,triggers,scoring,services}/*.rhai`;
//! [`RuleSet::load`] compiles them once against the config, and the evaluation methods run them per
//! install-base item (from many threads: [`RuleSet`] is `Send + Sync`). In: `item`/`account`/`lead`/
//! `service` maps built by the caller; out: classify fields, [`TriggerHit`]s, [`FactorScore`]s and
//! service boosts, or a rendered diagnostic naming the rule, line and data row.

mod api;
mod braces;
mod diag;
mod engine;
pub(crate) mod fast;
mod loader;
mod memo;
/// Rule parameters whose value every worker reads at the same time (see `RuleSet::call`).
const SHARED_BY_WORKERS: &[&str] = &["account", "service", "cfg"];

/// A map as rules receive it: shared (each call copies a pointer, not the map) and read-only (a
/// rule that assigns to its input gets an error instead of changing what later rules see).
pub fn share(map: rhai::Map) -> Dynamic {
    Dynamic::from_map(map).into_read_only().into_shared()
}

#[cfg(test)]
mod tests;
mod types;

use std::collections::BTreeMap;
use std::path::Path;

use rhai::{CallFnOptions, Dynamic, FuncArgs, Scope};

use crate::config::Config;
use crate::error::{Error, Result};

pub use api::HostFailure;
pub use engine::{RulesResolver, build_engine};
pub use types::{
    ACCOUNT_FIELDS, EvalContext, FactorScore, ITEM_FIELDS, LEAD_FIELDS, Rule, RuleKind,
    SERVICE_FIELDS, TriggerHit,
};

/// Every compiled rule plus the engine and the `cfg` map they run with.
pub struct RuleSet {
    engine: rhai::Engine,
    rules: Vec<Rule>,
    sources: BTreeMap<String, String>,
    hash: String,
    cfg: rhai::Map,
    /// `cfg` as a shared read-only value: every call gets a pointer copy, not a deep clone.
    cfg_shared: Dynamic,
    /// A digest of all of `cfg`, the cache key of a rule that uses `cfg` whole.
    cfg_digest: u64,
    names: Vec<String>,
    functions: Vec<String>,
    usages: Vec<String>,
    limits: crate::config::Limits,
    /// One result cache per rule, parallel to `rules`; shared with the rule set `watch` builds
    /// after an edit when the rule's text is unchanged (see [`RuleSet::adopt_caches`]).
    memos: Vec<std::sync::Arc<memo::Memo>>,
    /// No rule can read `cfg.scoring_weights`: a change of weights changes no rule's result,
    /// only the arithmetic after it (see [`Basis::only_scoring_changed`]).
    weights_blind: bool,
}

/// Helper and script function names, for "did you mean" on unknown calls.
pub(crate) fn function_names(rules: &[Rule]) -> Vec<String> {
    let mut names: Vec<String> = api::helper_names().map(str::to_string).collect();
    for r in rules {
        names.extend(r.ast.iter_functions().map(|f| f.name.to_string()));
    }
    names.sort();
    names.dedup();
    names
}

/// How each helper and script function is called (`fmt_int(number)`, `fn f(a, b)`), for the
/// hint on a call with the wrong arguments.
pub(crate) fn function_usages(rules: &[Rule]) -> Vec<String> {
    let mut usages: Vec<String> = api::HELPERS.iter().map(|h| h.usage.to_string()).collect();
    for r in rules {
        usages.extend(
            r.ast
                .iter_functions()
                .map(|f| format!("fn {}({})", f.name, f.params.join(", "))),
        );
    }
    usages.sort();
    usages.dedup();
    usages
}

impl RuleSet {
    /// Compiles all rules under `dir` and validates them against `cfg`, reporting every problem at
    /// once as `Error::Rules` (sorted by path).
    pub fn load(dir: &Path, cfg: &Config) -> Result<RuleSet> {
        let engine = build_engine(&cfg.limits, dir);
        let mut map = rhai::Map::new();
        for (k, v) in &cfg.thresholds {
            map.insert(k.as_str().into(), engine::yaml_to_dynamic(v));
        }
        let weights: rhai::Map = cfg
            .scoring_weights
            .iter()
            .map(|(k, v)| (k.as_str().into(), Dynamic::from_float(*v)))
            .collect();
        map.insert("scoring_weights".into(), weights.into());
        map.insert("as_of".into(), Dynamic::UNIT);
        let cfg_keys: Vec<String> = map.keys().map(ToString::to_string).collect();
        let loaded = loader::load(&engine, dir, cfg, &cfg_keys)?;
        let mut names = loader::known_names(&cfg_keys);
        names.retain(|n| !api::helper_names().any(|h| h == n));
        let functions = function_names(&loaded.rules);
        let usages = function_usages(&loaded.rules);
        let mut rules = loaded.rules;
        if fast::enabled() {
            // Rules with imports run their top level on each call (to bind the aliases), which
            // compiled code does not do: they stay interpreted.
            for r in rules.iter_mut().filter(|r| !r.eval_top) {
                r.fast = Some(std::sync::Arc::new(fast::Compiled::new(&r.ast, &engine)));
            }
        }
        let memos = rules
            .iter()
            .map(|r| {
                // The per-item entry point is the last one (`lead_type` is called once).
                let reads =
                    r.kind.entry_points().last().and_then(|(entry, params)| {
                        memo::Reads::analyse(&r.ast, entry, params.len())
                    });
                std::sync::Arc::new(memo::Memo::new(reads))
            })
            .collect();
        // Known from the same analysis as the caches, but whatever `ONELEAD_NO_MEMO` says: every
        // per-item entry point's `cfg` (its last parameter) is only read field by field, never
        // `scoring_weights`.
        let weights_blind = rules.iter().all(|r| {
            r.kind.entry_points().iter().all(|(entry, params)| {
                params.last() != Some(&"cfg")
                    || memo::Reads::analyse(&r.ast, entry, params.len())
                        .is_some_and(|reads| !reads.may_read(params.len() - 1, "scoring_weights"))
            })
        });
        Ok(RuleSet {
            weights_blind,
            memos,
            engine,
            rules,
            sources: loaded.sources,
            hash: loaded.hash,
            cfg_shared: share(map.clone()),
            cfg_digest: digest(&map),
            cfg: map,
            names,
            functions,
            usages,
            limits: cfg.limits.clone(),
        })
    }

    /// Sets `cfg.as_of` (the date day counts are measured from) as scripts see it.
    pub fn set_as_of(&mut self, as_of: chrono::NaiveDate) {
        self.cfg
            .insert("as_of".into(), as_of.format("%Y-%m-%d").to_string().into());
        self.cfg_shared = share(self.cfg.clone());
        self.cfg_digest = digest(&self.cfg);
    }

    /// Every rule, sorted by path.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Every rule function as `(rule id, name/arity, None)` when the fast path runs it, or with
    /// `Some(reason)` when it is interpreted. Empty when `ONELEAD_NO_FAST` turned it off.
    pub fn fast_report(&self) -> Vec<(String, String, Option<String>)> {
        if !fast::enabled() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for r in &self.rules {
            match &r.fast {
                Some(f) => out.extend(
                    f.report()
                        .into_iter()
                        .map(|(sig, why)| (r.id(), sig, why.map(str::to_string))),
                ),
                None => out.extend(r.ast.iter_functions().map(|f| {
                    let sig = format!("{}/{}", f.name, f.params.len());
                    (r.id(), sig, Some("the rule imports modules".to_string()))
                })),
            }
        }
        out
    }

    /// SHA-256 (hex) over every rule and module file (relative path and text) and the config parts
    /// rules see (`thresholds`, `scoring_weights`): equal hashes mean equal results.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// What the results of an evaluation with these rules and `cfg` depend on, split so that
    /// `watch` can tell an edit to triggers alone from any other (see [`Basis::changed_triggers`]).
    pub fn basis(&self, cfg: &Config) -> Basis {
        let triggers: Vec<(String, u64)> = self
            .of(RuleKind::Trigger)
            .map(|r| (r.name.clone(), hash_of(&(&r.path, &r.source))))
            .collect();
        let factors: Vec<(String, u64)> = self
            .of(RuleKind::Scoring)
            .map(|r| (r.name.clone(), hash_of(&(&r.path, &r.source))))
            .collect();
        let own_paths: Vec<String> = self
            .of(RuleKind::Trigger)
            .chain(self.of(RuleKind::Scoring))
            .map(|r| r.path.display().to_string())
            .collect();
        // Everything else: the config (thresholds, weights, as-of, services, limits...), the
        // other rules (not triggers or scoring rules) and every module a rule may import.
        let rest: Vec<(&String, &String)> = self
            .sources
            .iter()
            .filter(|(path, _)| !own_paths.contains(path))
            .collect();
        // The weights and priority thresholds apart, when no rule reads the weights: a change to
        // those alone moves scores and priorities and nothing else.
        let scoring = hash_of(&format!(
            "{:?} {:?}",
            cfg.scoring_weights, cfg.priority_thresholds
        ));
        let (cfg_text, cfg_digest) = if self.weights_blind {
            let rest_cfg = crate::config::Config {
                scoring_weights: BTreeMap::new(),
                priority_thresholds: crate::config::PriorityThresholds {
                    critical: 0.0,
                    high: 0.0,
                    medium: 0.0,
                },
                ..cfg.clone()
            };
            let mut seen = self.cfg.clone();
            seen.remove("scoring_weights");
            (format!("{rest_cfg:?}"), digest(&seen))
        } else {
            (format!("{cfg:?}"), self.cfg_digest)
        };
        Basis {
            common: hash_of(&(cfg_text, cfg_digest, rest)),
            scoring,
            triggers,
            factors,
        }
    }

    /// The scoring factors (file stems), sorted.
    pub fn factor_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.of(RuleKind::Scoring).map(|r| r.name.clone()).collect();
        v.sort();
        v
    }

    /// `cfg` as scripts see it: `thresholds`, `scoring_weights` and `as_of`.
    pub fn cfg_map(&self) -> &rhai::Map {
        &self.cfg
    }

    fn of(&self, kind: RuleKind) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.kind == kind)
    }

    /// The rules of one kind with their result caches.
    fn memoised(&self, kind: RuleKind) -> impl Iterator<Item = (&Rule, &memo::Memo)> {
        self.rules
            .iter()
            .zip(self.memos.iter().map(AsRef::as_ref))
            .filter(move |(r, _)| r.kind == kind)
    }

    /// Keeps cached results across saves, for `watch` (the next save re-evaluates every item),
    /// for the rules that run interpreted: there a hit saves a script run. A rule the fast path
    /// compiled whole computes its result about as fast as its cache finds it, so its cache keeps
    /// the hit-rate governor of a single run: kept on, the triggers' caches (keyed by serial
    /// number, no hits within a run) cost half a second a save at 100k items.
    pub fn retain_caches(&self) {
        for (rule, m) in self.rules.iter().zip(&self.memos) {
            if !rule.fast.as_ref().is_some_and(|f| f.compiled_whole()) {
                m.retain();
            }
        }
    }

    /// Takes over `old`'s result caches for the rules whose text (and sandbox limits) did not
    /// change. Keys hold every value a rule reads, `cfg` included, so an edited threshold or
    /// weight needs no invalidation; cacheable rules import nothing, so their text is all of
    /// their code.
    pub fn adopt_caches(&mut self, old: &RuleSet) {
        if format!("{:?}", self.limits) != format!("{:?}", old.limits) {
            return;
        }
        for (rule, memo) in self.rules.iter().zip(self.memos.iter_mut()) {
            let same = old.rules.iter().zip(&old.memos).find(|(o, _)| {
                o.path == rule.path && o.kind == rule.kind && o.source == rule.source
            });
            if let Some((_, m)) = same {
                *memo = std::sync::Arc::clone(m);
            }
        }
    }

    /// Per rule: (id, whether its results can be cached, lookups, hits), for timings output.
    pub fn memo_stats(&self) -> Vec<(String, bool, u64, u64)> {
        self.rules
            .iter()
            .zip(&self.memos)
            .map(|(r, m)| {
                let (lookups, hits) = m.stats();
                (r.id(), m.cacheable(), lookups, hits)
            })
            .collect()
    }

    fn cfg(&self) -> Dynamic {
        self.cfg_shared.clone()
    }

    fn call(
        &self,
        rule: &Rule,
        name: &str,
        args: impl FuncArgs,
        ctx: &EvalContext,
    ) -> Result<Dynamic> {
        let args = {
            let mut v = rhai::FnArgsVec::<Dynamic>::new();
            args.parse(&mut v);
            v
        };
        // Fast path first: it answers only with the value Rhai would return. `None` means "not
        // sure", and Rhai runs the call as before, so every error is still Rhai's.
        if let Some(out) = rule.fast.as_ref().and_then(|f| f.call(name, &args)) {
            return Ok(out);
        }
        // Rhai reads a property of a shared value under its write lock, and a thread that finds
        // the lock taken sleeps 10 ms (`locked_write`). The values every worker reads at once
        // (`cfg`, an account, a service) made interpreted rules run one thread at a time, so
        // such a call gets its own copy of them (still read-only). An item or a lead is read by
        // one worker only, and stays shared; the fast path only reads, and shares everything.
        let params = rule
            .kind
            .entry_points()
            .iter()
            .find(|(entry, _)| *entry == name)
            .map_or(&[][..], |(_, params)| *params);
        let args: rhai::FnArgsVec<Dynamic> = args
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                let across = params.get(i).is_some_and(|p| SHARED_BY_WORKERS.contains(p));
                if across && a.is_shared() {
                    a.flatten_clone().into_read_only().into_shared()
                } else {
                    a
                }
            })
            .collect();
        let opts = CallFnOptions::new()
            .eval_ast(rule.eval_top)
            .rewind_scope(true);
        self.engine
            .call_fn_with_options::<Dynamic>(opts, &mut Scope::new(), &rule.ast, name, args)
            .map_err(|e| {
                let shown = rule.path.display().to_string();
                let source_of = |p: &str| self.sources.get(p).map(String::as_str);
                let info = diag::RuntimeInfo {
                    rule_id: &rule.id(),
                    path: &shown,
                    source_of: &source_of,
                    fields: &self.names,
                    entry: name,
                    functions: &self.functions,
                    usages: &self.usages,
                    limits: &self.limits,
                    context: Some(ctx.describe()),
                };
                Error::RuleRuntime(diag::eval_error(&e, &info))
            })
    }

    /// A rule returned something its contract does not allow: point at its entry function.
    fn contract(rule: &Rule, func: &str, msg: &str, ctx: &EvalContext) -> Error {
        let shown = rule.path.display().to_string();
        let loc = diag::Loc::of_fn(&shown, &rule.source, func);
        Error::RuleRuntime(diag::render(msg, &loc, Some(&ctx.describe()), None))
    }

    /// Runs every classify rule in order, merging the fields each returns into `item` (later rules
    /// see earlier results); `()` changes nothing.
    pub fn classify(&self, item: &mut rhai::Map, ctx: &EvalContext) -> Result<()> {
        self.classify_into(item, ctx, &[]).map(|_| ())
    }

    /// [`RuleSet::classify`], telling whether every field the rules returned is one of `plain`
    /// and a string: the caller can then rebuild the result from those fields alone.
    pub fn classify_into(
        &self,
        item: &mut rhai::Map,
        ctx: &EvalContext,
        plain: &[&str],
    ) -> Result<bool> {
        let mut only_plain = true;
        for (rule, memo) in self.memoised(RuleKind::Classify) {
            let keys = [
                memo::Arg::Map(item),
                memo::Arg::Cfg(&self.cfg_shared, self.cfg_digest),
            ];
            // Checked once per distinct input: only results that keep the contract are cached.
            let out = memo.get_or(&keys, || {
                let args = (Dynamic::from_map(item.clone()), self.cfg());
                let out = self.call(rule, "classify", args, ctx)?;
                Self::check_classify(rule, &out, ctx)?;
                Ok::<_, Error>(out)
            })?;
            if out.is_unit() {
                continue;
            }
            let Some(fields) = out.try_cast::<rhai::Map>() else {
                continue;
            };
            only_plain &= fields
                .iter()
                .all(|(k, v)| v.is_string() && plain.contains(&k.as_str()));
            item.extend(fields);
        }
        Ok(only_plain)
    }

    /// A classify rule's result must be `()` or a map whose fields keep their shapes (see
    /// [`types::classify_field_problem`]).
    fn check_classify(rule: &Rule, out: &Dynamic, ctx: &EvalContext) -> Result<()> {
        if out.is_unit() {
            return Ok(());
        }
        let Some(fields) = out.read_lock::<rhai::Map>() else {
            let msg = format!(
                "rule `{}` returned `{}`; `classify` must return a map of fields or `()`",
                rule.id(),
                out.type_name()
            );
            return Err(Self::contract(rule, "classify", &msg, ctx));
        };
        for (k, v) in fields.iter() {
            if let Some(why) = types::classify_field_problem(k, v) {
                let msg = format!("rule `{}` {why}", rule.id());
                return Err(Self::contract(rule, "classify", &msg, ctx));
            }
        }
        Ok(())
    }

    /// Runs every trigger, in path order, and returns those that fired.
    pub fn triggers(
        &self,
        item: &rhai::Map,
        account: &rhai::Map,
        ctx: &EvalContext,
    ) -> Result<Vec<TriggerHit>> {
        self.triggers_shared(&share(item.clone()), &share(account.clone()), ctx, None)
    }

    /// [`RuleSet::triggers`] on values made once with [`share`], for the per-item hot path;
    /// only the triggers `only` names (file stems) when given.
    pub fn triggers_shared(
        &self,
        item: &Dynamic,
        account: &Dynamic,
        ctx: &EvalContext,
        only: Option<&[String]>,
    ) -> Result<Vec<TriggerHit>> {
        let mut hits = Vec::new();
        for (rule, memo) in self.memoised(RuleKind::Trigger) {
            if only.is_some_and(|o| !o.contains(&rule.name)) {
                continue;
            }
            let keys = [
                memo::Arg::Shared(item),
                memo::Arg::Shared(account),
                memo::Arg::Cfg(&self.cfg_shared, self.cfg_digest),
            ];
            let out = memo.get_or(&keys, || {
                let args = (item.clone(), account.clone(), self.cfg());
                self.call(rule, "trigger", args, ctx)
            })?;
            if out.is_unit() {
                continue;
            }
            let kind = out.type_name();
            let bad = |why: &str| {
                let msg = format!(
                    "rule `{}` {why}; `trigger` must return `()` or `#{{ title, description, action, reasons }}`",
                    rule.id()
                );
                Self::contract(rule, "trigger", &msg, ctx)
            };
            let Some(mut map) = out.try_cast::<rhai::Map>() else {
                return Err(bad(&format!("returned `{kind}`")));
            };
            let mut text = |key: &str| match map.remove(key).map(Dynamic::into_string) {
                Some(Ok(s)) => Ok(s),
                Some(Err(t)) => Err(bad(&format!("returned `{key}` as `{t}`, not a string"))),
                None => Err(bad(&format!("returned no `{key}`"))),
            };
            let (title, description, action) =
                (text("title")?, text("description")?, text("action")?);
            let reasons = take_reasons(&mut map).map_err(|t| {
                bad(&format!(
                    "returned `reasons` as `{t}`, not an array of strings"
                ))
            })?;
            hits.push(TriggerHit {
                lead_type: rule.lead_type.clone().unwrap_or_default(),
                rule: rule.name.clone(),
                title,
                description,
                action,
                reasons,
                extra: map,
            });
        }
        Ok(hits)
    }

    /// Every factor for one lead. Values must be finite and within 0..=100; anything else is an
    /// error naming the rule (never clamped).
    pub fn score(
        &self,
        item: &rhai::Map,
        account: &rhai::Map,
        lead: &rhai::Map,
        ctx: &EvalContext,
    ) -> Result<Vec<FactorScore>> {
        self.score_shared(
            &share(item.clone()),
            &share(account.clone()),
            &share(lead.clone()),
            ctx,
            None,
        )
    }

    /// [`RuleSet::score`] on values made once with [`share`], for the per-item hot path.
    /// With `only`, just those factors' rules run.
    pub fn score_shared(
        &self,
        item: &Dynamic,
        account: &Dynamic,
        lead: &Dynamic,
        ctx: &EvalContext,
        only: Option<&[String]>,
    ) -> Result<Vec<FactorScore>> {
        let mut out = Vec::new();
        for (rule, memo) in self.memoised(RuleKind::Scoring) {
            if only.is_some_and(|o| !o.contains(&rule.name)) {
                continue;
            }
            let keys = [
                memo::Arg::Shared(item),
                memo::Arg::Shared(account),
                memo::Arg::Shared(lead),
                memo::Arg::Cfg(&self.cfg_shared, self.cfg_digest),
            ];
            // Checked once per distinct input and cached as such: a cache hit copies a number
            // and a few strings instead of a map to take apart again.
            let v = memo.get_or(&keys, || {
                let args = (item.clone(), account.clone(), lead.clone(), self.cfg());
                let raw = self.call(rule, "score", args, ctx)?;
                let checked = Self::check_factor(rule, raw, ctx)?;
                Ok::<_, Error>(Dynamic::from(CheckedFactor(std::sync::Arc::new(checked))))
            })?;
            let CheckedFactor(checked) = v.try_cast::<CheckedFactor>().ok_or_else(|| {
                let msg = format!("rule `{}`: a cached result lost its type", rule.id());
                Self::contract(rule, "score", &msg, ctx)
            })?;
            let (value, reasons) = (checked.0, checked.1.clone());
            out.push(FactorScore {
                name: rule.name.clone(),
                value,
                reasons,
            });
        }
        Ok(out)
    }

    /// A factor rule's result as (value, reasons), or the contract it broke.
    fn check_factor(
        rule: &Rule,
        v: Dynamic,
        ctx: &EvalContext,
    ) -> Result<(f64, std::sync::Arc<[String]>)> {
        let kind = v.type_name();
        let bad = |why: String| Self::contract(rule, "score", &why, ctx);
        let shape = || {
            format!(
                "rule `{}` returned `{kind}`; `score` must return a number or `#{{ value, reasons }}`",
                rule.id()
            )
        };
        let (value, reasons) = match v.try_cast_result::<rhai::Map>() {
            Ok(mut map) => {
                let value = map
                    .remove("value")
                    .and_then(|d| number(&d))
                    .ok_or_else(|| {
                        bad(format!(
                            "rule `{}` returned a map without a numeric `value`",
                            rule.id()
                        ))
                    })?;
                let reasons = take_reasons(&mut map).map_err(|t| {
                    bad(format!(
                        "rule `{}` returned `reasons` as `{t}`, not an array of strings",
                        rule.id()
                    ))
                })?;
                (value, reasons)
            }
            Err(v) => (number(&v).ok_or_else(|| bad(shape()))?, Vec::new()),
        };
        if !value.is_finite() || !(0.0..=100.0).contains(&value) {
            return Err(bad(format!(
                "factor `{}` returned {value}; factors must be between 0 and 100",
                rule.name
            )));
        }
        Ok((value, reasons.into()))
    }

    /// The sum of every services rule's boost for one (lead, service) pair.
    pub fn boost(&self, lead: &rhai::Map, service: &rhai::Map, ctx: &EvalContext) -> Result<i64> {
        self.boost_shared(&share(lead.clone()), &share(service.clone()), ctx)
    }

    /// [`RuleSet::boost`] on values made once with [`share`].
    pub fn boost_shared(
        &self,
        lead: &Dynamic,
        service: &Dynamic,
        ctx: &EvalContext,
    ) -> Result<i64> {
        let mut total: i64 = 0;
        for (rule, memo) in self.memoised(RuleKind::Services) {
            let keys = [
                memo::Arg::Shared(lead),
                memo::Arg::Shared(service),
                memo::Arg::Cfg(&self.cfg_shared, self.cfg_digest),
            ];
            let v = memo.get_or(&keys, || {
                let args = (lead.clone(), service.clone(), self.cfg());
                self.call(rule, "boost", args, ctx)
            })?;
            let Ok(n) = v.as_int() else {
                let msg = format!(
                    "rule `{}` returned `{}`; `boost` must return an integer (0 = no boost)",
                    rule.id(),
                    v.type_name()
                );
                return Err(Self::contract(rule, "boost", &msg, ctx));
            };
            total = total.saturating_add(n);
        }
        Ok(total)
    }
}

/// A digest of a map's contents; `Map` is ordered, so equal maps print alike.
fn digest(map: &rhai::Map) -> u64 {
    hash_of(&format!("{map:?}"))
}

fn hash_of<T: std::hash::Hash>(x: &T) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// A factor rule's checked result, as its cache keeps it (see [`RuleSet::score_shared`]).
#[derive(Clone)]
struct CheckedFactor(std::sync::Arc<(f64, std::sync::Arc<[String]>)>);

/// What an evaluation's results depend on (see [`RuleSet::basis`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    /// The config, the as-of date and every rule and module file but the triggers; not the
    /// weights and priority thresholds unless a rule reads the weights.
    common: u64,
    /// The weights and the priority thresholds.
    scoring: u64,
    /// Each trigger's file stem with a hash of its path and text, in path order.
    triggers: Vec<(String, u64)>,
    /// Each scoring rule's, likewise.
    factors: Vec<(String, u64)>,
}

impl Basis {
    /// The triggers (file stems) added, edited or removed since `old`, when nothing else
    /// changed: re-running only those gives every lead a full evaluation would. `None` when
    /// anything else changed.
    pub fn changed_triggers(&self, old: &Basis) -> Option<Vec<String>> {
        if self.common != old.common || self.scoring != old.scoring || self.factors != old.factors {
            return None;
        }
        let mut changed: Vec<String> = self
            .triggers
            .iter()
            .filter(|t| !old.triggers.contains(t))
            .chain(old.triggers.iter().filter(|t| !self.triggers.contains(t)))
            .map(|(name, _)| name.clone())
            .collect();
        changed.sort();
        changed.dedup();
        Some(changed)
    }
}

impl Basis {
    /// True when only the weights or the priority thresholds changed since `old`, and no rule
    /// reads the weights: every rule would return what it returned then.
    pub fn only_scoring_changed(&self, old: &Basis) -> bool {
        self.common == old.common
            && self.triggers == old.triggers
            && self.factors == old.factors
            && self.scoring != old.scoring
    }

    /// The scoring rules (factor names) edited since `old`, when nothing else changed: every
    /// other rule would return what it returned then. `None` when anything else changed,
    /// including a factor added or removed (which changes the weights too).
    pub fn changed_factors(&self, old: &Basis) -> Option<Vec<String>> {
        let names = |b: &Basis| b.factors.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        if self.common != old.common
            || self.triggers != old.triggers
            || self.scoring != old.scoring
            || names(self) != names(old)
        {
            return None;
        }
        let changed: Vec<String> = self
            .factors
            .iter()
            .filter(|f| !old.factors.contains(f))
            .map(|(name, _)| name.clone())
            .collect();
        (!changed.is_empty()).then_some(changed)
    }
}

fn number(d: &Dynamic) -> Option<f64> {
    d.as_int()
        .map(|i| i as f64)
        .ok()
        .or_else(|| d.as_float().ok())
}

/// Removes `reasons` from a returned map: absent → empty; `Err(type)` when not strings.
fn take_reasons(map: &mut rhai::Map) -> std::result::Result<Vec<String>, String> {
    let Some(v) = map.remove("reasons") else {
        return Ok(Vec::new());
    };
    let arr = v
        .try_cast_result::<rhai::Array>()
        .map_err(|v| v.type_name().to_string())?;
    arr.into_iter()
        .map(|r| {
            r.into_string()
                .map_err(|t| format!("array containing `{t}`"))
        })
        .collect()
}
