//! Running the rules on one item: classify, triggers, factors and service boosts, each result
//! checked against its kind's contract (once per distinct input: checks run inside the caches).

use rhai::{CallFnOptions, Dynamic, FuncArgs, Scope};

use crate::error::{Error, Result};
use crate::rules::{Decision, EvalContext, FactorScore, Rule, RuleKind, RuleSet, TriggerHit};
use crate::rules::{diag, lint, memo, share, types};

/// Rule parameters whose value every worker reads at the same time (see `RuleSet::call`).
const SHARED_BY_WORKERS: &[&str] = &["account", "service", "cfg"];

impl RuleSet {
    pub(crate) fn cfg(&self) -> Dynamic {
        self.cfg_shared.clone()
    }

    pub(super) fn call(
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
                Error::RuleRuntime(diag::eval_error(&e, &info).text)
            })
    }

    /// A rule returned something its contract does not allow: point at its entry function.
    pub(super) fn contract(rule: &Rule, func: &str, msg: &str, ctx: &EvalContext) -> Error {
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
            let Some(fields) = self.classify_rule(rule, memo, item, ctx)? else {
                continue;
            };
            only_plain &= fields
                .iter()
                .all(|(k, v)| v.is_string() && plain.contains(&k.as_str()));
            item.extend(fields);
        }
        Ok(only_plain)
    }

    /// Runs the classify rules one by one, each on `item` as the rules before it left it, and
    /// gives each one's outcome: a rule that fails changes nothing and the next one runs.
    /// For `rules check`, which reports every failing rule, not the first.
    pub fn classify_each(&self, item: &mut rhai::Map, ctx: &EvalContext) -> Vec<Result<()>> {
        self.memoised(RuleKind::Classify)
            .map(|(rule, memo)| {
                let fields = self.classify_rule(rule, memo, item, ctx)?;
                item.extend(fields.unwrap_or_default());
                Ok(())
            })
            .collect()
    }

    /// One classify rule's fields, checked; `None` when it returned `()`.
    fn classify_rule(
        &self,
        rule: &Rule,
        memo: &memo::Memo,
        item: &rhai::Map,
        ctx: &EvalContext,
    ) -> Result<Option<rhai::Map>> {
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
        Ok(out.try_cast::<rhai::Map>())
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
                let Some(pos) = lint::literal_entry(rule, k, v) else {
                    return Err(Self::contract(rule, "classify", &msg, ctx));
                };
                let shown = rule.path.display().to_string();
                let loc = diag::Loc::at(&shown, Some(&rule.source), pos);
                let text = diag::render(&msg, &loc, Some(&ctx.describe()), None);
                return Err(Error::RuleRuntime(text));
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
            if let Decision::Fired(hit) = self.decide(rule, memo, item, account, ctx)? {
                hits.push(hit);
            }
        }
        Ok(hits)
    }

    /// What every trigger decided for one item, fired or not, with the reason a trigger gave
    /// for not firing (`no_lead(reason)`): what `explain SERIAL` shows. A trigger that fails
    /// gives its error in its place.
    pub fn decisions(
        &self,
        item: &rhai::Map,
        account: &rhai::Map,
        ctx: &EvalContext,
    ) -> Vec<(&Rule, Result<Decision>)> {
        self.decisions_shared(&share(item.clone()), &share(account.clone()), ctx)
    }

    /// [`RuleSet::decisions`] on values made once with [`share`].
    pub fn decisions_shared(
        &self,
        item: &Dynamic,
        account: &Dynamic,
        ctx: &EvalContext,
    ) -> Vec<(&Rule, Result<Decision>)> {
        self.memoised(RuleKind::Trigger)
            .map(|(rule, memo)| (rule, self.decide(rule, memo, item, account, ctx)))
            .collect()
    }

    /// One trigger's decision, its result checked against the contract.
    fn decide(
        &self,
        rule: &Rule,
        memo: &memo::Memo,
        item: &Dynamic,
        account: &Dynamic,
        ctx: &EvalContext,
    ) -> Result<Decision> {
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
            return Ok(Decision::NotFired(None));
        }
        if out.is_string() {
            return Ok(Decision::NotFired(out.into_immutable_string().ok()));
        }
        let kind = out.type_name();
        let bad = |why: &str| {
            let msg = format!(
                "rule `{}` {why}; `trigger` must return `()`, `no_lead(reason)` or `#{{ title, description, action, reasons }}`",
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
        let (title, description, action) = (text("title")?, text("description")?, text("action")?);
        let reasons = take_reasons(&mut map).map_err(|t| {
            bad(&format!(
                "returned `reasons` as `{t}`, not an array of strings"
            ))
        })?;
        Ok(Decision::Fired(TriggerHit {
            lead_type: rule.lead_type.clone().unwrap_or_default(),
            rule: rule.name.clone(),
            title,
            description,
            action,
            reasons,
            extra: map,
        }))
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
            total = total.saturating_add(self.boost_rule(rule, memo, lead, service, ctx)?);
        }
        Ok(total)
    }

    /// Each services rule's boost for one (lead, service) pair, or its error: for
    /// `rules check`, which reports every failing rule, not the first.
    pub fn boost_each(
        &self,
        lead: &Dynamic,
        service: &Dynamic,
        ctx: &EvalContext,
    ) -> Vec<Result<i64>> {
        self.memoised(RuleKind::Services)
            .map(|(rule, memo)| self.boost_rule(rule, memo, lead, service, ctx))
            .collect()
    }

    fn boost_rule(
        &self,
        rule: &Rule,
        memo: &memo::Memo,
        lead: &Dynamic,
        service: &Dynamic,
        ctx: &EvalContext,
    ) -> Result<i64> {
        let keys = [
            memo::Arg::Shared(lead),
            memo::Arg::Shared(service),
            memo::Arg::Cfg(&self.cfg_shared, self.cfg_digest),
        ];
        let v = memo.get_or(&keys, || {
            let args = (lead.clone(), service.clone(), self.cfg());
            self.call(rule, "boost", args, ctx)
        })?;
        v.as_int().map_err(|t| {
            let msg = format!(
                "rule `{}` returned `{t}`; `boost` must return an integer (0 = no boost)",
                rule.id(),
            );
            Self::contract(rule, "boost", &msg, ctx)
        })
    }
}

/// A factor rule's checked result, as its cache keeps it (see [`RuleSet::score_shared`]).
#[derive(Clone)]
struct CheckedFactor(std::sync::Arc<(f64, std::sync::Arc<[String]>)>);

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
