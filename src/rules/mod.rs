//! The Rhai rules engine. Sales ops edit `rules/{classify,triggers,scoring,services,assign}/`;
//! [`RuleSet::load`] compiles them once against the config, and the evaluation methods run them per
//! install-base item (from many threads: [`RuleSet`] is `Send + Sync`). In: `item`/`account`/`lead`/
//! `service` maps built by the caller; out: classify fields, [`TriggerHit`]s, [`FactorScore`]s and
//! service boosts, or a rendered diagnostic naming the rule, line and data row.

mod api;
mod assign;
mod basis;
mod braces;
mod diag;
mod engine;
mod eval;
pub(crate) mod fast;
mod lint;
mod loader;
mod memo;
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

use rhai::Dynamic;

use crate::config::Config;
use crate::error::{Error, Result};

pub use api::HostFailure;
pub use basis::Basis;
pub use engine::{RulesResolver, build_engine};
pub(crate) use lint::returned_fields;
pub use types::{
    ACCOUNT_FIELDS, ASSIGN_FIELDS, Decision, EvalContext, FactorScore, ITEM_FIELDS, LEAD_FIELDS,
    Rule, RuleKind, SERVICE_FIELDS, TriggerHit, show_value,
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

/// `cfg` as scripts see it: the thresholds, `scoring_weights` and `as_of` (set per run).
fn cfg_map(cfg: &Config) -> rhai::Map {
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
    map
}

/// One result cache per rule, keyed by what its per-item entry point reads.
fn memos(rules: &[Rule]) -> Vec<std::sync::Arc<memo::Memo>> {
    rules
        .iter()
        .map(|r| {
            // The per-item entry point is the last one (`lead_type` is called once).
            let reads = r
                .kind
                .entry_points()
                .last()
                .and_then(|(entry, params)| memo::Reads::analyse(&r.ast, entry, params.len()));
            std::sync::Arc::new(memo::Memo::new(reads))
        })
        .collect()
}

/// True when no rule can read `cfg.scoring_weights`. Known from the same analysis as the
/// caches, but whatever `ONELEAD_NO_MEMO` says: every per-item entry point's `cfg` (its last
/// parameter) is only read field by field, never `scoring_weights`.
fn weights_blind(rules: &[Rule]) -> bool {
    rules.iter().all(|r| {
        r.kind.entry_points().iter().all(|(entry, params)| {
            params.last() != Some(&"cfg")
                || memo::Reads::analyse(&r.ast, entry, params.len())
                    .is_some_and(|reads| !reads.may_read(params.len() - 1, "scoring_weights"))
        })
    })
}

impl RuleSet {
    /// Compiles all rules under `dir` and validates them against `cfg`, reporting every problem at
    /// once as `Error::Rules` (sorted by file and position).
    pub fn load(dir: &Path, cfg: &Config) -> Result<RuleSet> {
        Self::build(dir, cfg, true)?
            .map_err(|diags| Error::Rules(diags.into_iter().map(|d| d.text).collect()))
    }

    /// [`RuleSet::load`] for `rules check`: the rule set, or every problem with where it is so
    /// they can be sorted with the config's own. With `pair_weights` false (the config could not
    /// be read), factor files are not paired with weights.
    pub fn check(
        dir: &Path,
        cfg: &Config,
        pair_weights: bool,
    ) -> Result<std::result::Result<RuleSet, Vec<crate::diagnostic::Diagnostic>>> {
        Self::build(dir, cfg, pair_weights)
    }

    fn build(
        dir: &Path,
        cfg: &Config,
        pair_weights: bool,
    ) -> Result<std::result::Result<RuleSet, Vec<crate::diagnostic::Diagnostic>>> {
        let engine = build_engine(&cfg.limits, dir);
        let map = cfg_map(cfg);
        let cfg_keys: Vec<String> = map.keys().map(ToString::to_string).collect();
        let against = loader::Against {
            cfg,
            cfg_keys: &cfg_keys,
            pair_weights,
        };
        let loaded = match loader::load(&engine, dir, &against)? {
            Ok(l) => l,
            Err(diags) => return Ok(Err(diags)),
        };
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
        Ok(Ok(RuleSet {
            weights_blind: weights_blind(&rules),
            memos: memos(&rules),
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
        }))
    }

    /// A rule set without rules, for loading data without classifying it (the dry run's
    /// sample, before the rules under check may run).
    pub fn none(cfg: &Config) -> RuleSet {
        let map = cfg_map(cfg);
        RuleSet {
            weights_blind: true,
            memos: Vec::new(),
            engine: build_engine(&cfg.limits, Path::new(".")),
            rules: Vec::new(),
            sources: BTreeMap::new(),
            hash: String::new(),
            cfg_shared: share(map.clone()),
            cfg_digest: digest(&map),
            cfg: map,
            names: Vec::new(),
            functions: Vec::new(),
            usages: Vec::new(),
            limits: cfg.limits.clone(),
        }
    }

    /// Every read of a field its map does not have, found without running anything (see
    /// `lint`): `rules check` reports these, a run does not.
    pub fn unknown_fields(&self) -> Vec<crate::diagnostic::Diagnostic> {
        lint::unknown_fields(&self.rules)
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

    /// SHA-256 (hex) over every rule and module file (relative path and text) and every config
    /// section the results depend on (thresholds, weights, priorities, services, accounts; see
    /// `loader::hash_config`): on the same data, equal hashes mean equal results.
    pub fn hash(&self) -> &str {
        &self.hash
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
}

/// A digest of a map's contents; `Map` is ordered, so equal maps print alike.
pub(crate) fn digest(map: &rhai::Map) -> u64 {
    hash_of(&format!("{map:?}"))
}

pub(crate) fn hash_of<T: std::hash::Hash>(x: &T) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}
