//! `rules/` → compiled [`Rule`]s. Discovers `<kind>/*.rhai` (every [`RuleKind`]) sorted by
//! path, compiles each once (source set to its displayed path), runs its top level once, checks the
//! entry points and the `scoring_weights` ↔ file pairing, and collects *every* problem before
//! failing. `lib/*.rhai` modules are not rules; they are read only for the hash and diagnostics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rhai::{Dynamic, Engine, Scope};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::rules::diag::{self, Loc, RuntimeInfo};
use crate::rules::{Rule, RuleKind};

/// Every rule file plus every module, by displayed path.
pub(crate) struct Loaded {
    pub rules: Vec<Rule>,
    pub sources: BTreeMap<String, String>,
    pub hash: String,
}

/// What loading is checked against besides the rules themselves.
pub(crate) struct Against<'a> {
    /// The config the rules run with.
    pub cfg: &'a Config,
    /// The keys of `cfg` as scripts see it, for "did you mean" hints.
    pub cfg_keys: &'a [String],
    /// Whether the config could be read at all: pairing weights with factor files against the
    /// defaults would only repeat that problem.
    pub pair_weights: bool,
}

/// `(displayed path, path relative to the rules folder)` of every `.rhai` file in `sub`, sorted.
fn rhai_files(dir: &Path, sub: &str) -> Result<Vec<(PathBuf, String)>> {
    let folder = dir.join(sub);
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))? {
        let path = entry.map_err(|e| Error::io(&folder, e))?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "rhai") {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            files.push((path, format!("{sub}/{}", name.unwrap_or_default())));
        }
    }
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// The identifiers a typo in a rule is compared against.
pub(crate) fn known_names(cfg_keys: &[String]) -> Vec<String> {
    let mut names: Vec<String> = crate::rules::ITEM_FIELDS
        .iter()
        .chain(crate::rules::ACCOUNT_FIELDS)
        .chain(crate::rules::LEAD_FIELDS)
        .chain(crate::rules::SERVICE_FIELDS)
        .chain(crate::rules::ASSIGN_FIELDS)
        .chain(&["item", "account", "cfg", "lead", "service"])
        .copied()
        .chain(crate::rules::api::helper_names())
        .map(str::to_string)
        .chain(cfg_keys.iter().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Compiles and validates everything under `dir`: `Err` holds every problem, sorted by file
/// and position (an unreadable file or folder is an `Error` of its own).
pub(crate) fn load(
    engine: &Engine,
    dir: &Path,
    against: &Against<'_>,
) -> Result<std::result::Result<Loaded, Vec<Diagnostic>>> {
    if !dir.is_dir() {
        let shown = dir.display().to_string();
        let msg = format!("rules folder `{shown}` does not exist");
        return Ok(Err(vec![Diagnostic::new(
            &msg,
            &Loc::file(&shown),
            None,
            None,
        )]));
    }
    let names = known_names(against.cfg_keys);
    let mut hasher = Sha256::new();
    let mut sources = read_modules(dir, &mut hasher)?;
    let (mut rules, mut diags) = compile_rules(engine, dir, &names, &mut hasher, &mut sources)?;
    let classify_ok = classify_compiled(&diags);
    let functions = crate::rules::function_names(&rules);
    let usages = crate::rules::function_usages(&rules);
    let mut lead_types: BTreeMap<String, String> = BTreeMap::new();
    for rule in &mut rules {
        let shown = rule.path.display().to_string();
        let source_of = |p: &str| sources.get(p).map(String::as_str);
        let info = RuntimeInfo {
            rule_id: &rule.id(),
            path: &shown,
            source_of: &source_of,
            fields: &names,
            entry: rule.kind.entry_points().first().map_or("", |e| e.0),
            functions: &functions,
            usages: &usages,
            limits: &against.cfg.limits,
            context: Some("while loading the rule (its top-level code)".into()),
        };
        // Top-level code runs once here so a bad import or a crash is reported at load time.
        if let Err(e) = engine.run_ast_with_scope(&mut Scope::new(), &rule.ast) {
            diags.push(diag::eval_error(&e, &info));
            continue;
        }
        diags.extend(check_entry_points(rule));
        if rule.kind == RuleKind::Trigger {
            let info = RuntimeInfo {
                context: None,
                entry: "lead_type",
                ..info
            };
            diags.extend(read_lead_type(engine, rule, &info, &mut lead_types));
        }
    }
    if against.pair_weights {
        diags.extend(check_weights(dir, against.cfg, &rules));
    }
    if !diags.is_empty() {
        // Misspelt fields are otherwise found later, with the rule set; when loading stops
        // here, the rules that compiled are checked anyway: one broken file hides nothing.
        if classify_ok {
            diags.extend(crate::rules::lint::unknown_fields(&rules));
        }
        diags.sort();
        return Ok(Err(diags));
    }
    hash_config(&mut hasher, against.cfg);
    Ok(Ok(Loaded {
        rules,
        sources,
        hash: hex(&hasher.finalize()),
    }))
}

/// The `lib/` modules' texts by displayed path, hashed.
fn read_modules(dir: &Path, hasher: &mut Sha256) -> Result<BTreeMap<String, String>> {
    let mut sources = BTreeMap::new();
    for (path, rel) in rhai_files(dir, "lib")? {
        let text = read(&path)?;
        hash_file(hasher, &rel, &text);
        sources.insert(path.display().to_string(), text);
    }
    Ok(sources)
}

/// Every rule file compiled, in kind then path order; a file that does not compile becomes a
/// diagnostic instead.
fn compile_rules(
    engine: &Engine,
    dir: &Path,
    names: &[String],
    hasher: &mut Sha256,
    sources: &mut BTreeMap<String, String>,
) -> Result<(Vec<Rule>, Vec<Diagnostic>)> {
    let (mut rules, mut diags) = (Vec::new(), Vec::new());
    for kind in RuleKind::ALL {
        for (path, rel) in rhai_files(dir, kind.dir())? {
            let text = read(&path)?;
            hash_file(hasher, &rel, &text);
            let shown = path.display().to_string();
            sources.insert(shown.clone(), text.clone());
            match engine.compile(&text) {
                Err(e) => diags.push(diag::parse_error(&e, &shown, &text, names)),
                Ok(mut ast) => {
                    ast.set_source(shown.as_str());
                    let name = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    rules.push(Rule {
                        kind,
                        name,
                        path,
                        lead_type: None,
                        eval_top: has_imports(&text),
                        source: text,
                        ast,
                        fast: None,
                    });
                }
            }
        }
    }
    Ok((rules, diags))
}

/// Whether no classify rule is among the files that failed to compile: only then are the
/// fields classify rules add all known, which the field check needs.
fn classify_compiled(diags: &[Diagnostic]) -> bool {
    let dir = format!("{}{}", RuleKind::Classify.dir(), std::path::MAIN_SEPARATOR);
    !diags.iter().any(|d| d.path.contains(&dir))
}

/// Each entry point of the rule's kind must be defined with its parameter count.
fn check_entry_points(rule: &Rule) -> Vec<Diagnostic> {
    let shown = rule.path.display().to_string();
    let mut out = Vec::new();
    for (fname, params) in rule.kind.entry_points() {
        let defined: Vec<usize> = rule
            .ast
            .iter_functions()
            .filter(|f| f.name == *fname)
            .map(|f| f.params.len())
            .collect();
        if defined.contains(&params.len()) {
            continue;
        }
        let want = format!("fn {fname}({})", params.join(", "));
        let (msg, loc) = match defined.first() {
            None => (
                format!("rule `{}` does not define `{want}`", rule.id()),
                Loc::file(&shown),
            ),
            Some(n) => (
                format!(
                    "rule `{}` defines `fn {fname}` with {n} parameter(s); expected `{want}`",
                    rule.id()
                ),
                Loc::of_fn(&shown, &rule.source, fname),
            ),
        };
        out.push(Diagnostic::new(&msg, &loc, None, None));
    }
    out
}

/// Calls a trigger's `lead_type()` once, keeping its answer on the rule; it must be a
/// non-empty text no other trigger returns.
fn read_lead_type(
    engine: &Engine,
    rule: &mut Rule,
    info: &RuntimeInfo<'_>,
    seen: &mut BTreeMap<String, String>,
) -> Option<Diagnostic> {
    if !rule
        .ast
        .iter_functions()
        .any(|f| f.name == "lead_type" && f.params.is_empty())
    {
        return None;
    }
    let shown = rule.path.display().to_string();
    let opts = rhai::CallFnOptions::new()
        .eval_ast(rule.eval_top)
        .rewind_scope(true);
    let at = Loc::of_fn(&shown, &rule.source, "lead_type");
    let v = match engine.call_fn_with_options::<Dynamic>(
        opts,
        &mut Scope::new(),
        &rule.ast,
        "lead_type",
        (),
    ) {
        Err(e) => return Some(diag::eval_error(&e, info)),
        Ok(v) => v,
    };
    let t = match v.into_string() {
        Ok(t) if !t.trim().is_empty() => t,
        other => {
            let got = other.map_or_else(|t| format!("`{t}`"), |_| "an empty string".into());
            let msg = format!("`lead_type()` must return a non-empty string, but returned {got}");
            return Some(Diagnostic::new(&msg, &at, None, None));
        }
    };
    if let Some(first) = seen.get(&t) {
        let msg =
            format!("lead type `{t}` is already produced by `{first}`; lead types must be unique");
        return Some(Diagnostic::new(&msg, &at, None, None));
    }
    seen.insert(t.clone(), shown);
    rule.lead_type = Some(t);
    None
}

fn hash_file(hasher: &mut Sha256, rel: &str, text: &str) {
    hasher.update(rel.as_bytes());
    hasher.update(b"\0");
    hasher.update(text.as_bytes());
    hasher.update(b"\0");
}

/// The config sections a run's results depend on, beside the rules and modules. Destructured
/// whole, so a new setting cannot be added without deciding whether it belongs here.
fn hash_config(hasher: &mut Sha256, cfg: &Config) {
    let Config {
        // Read by rules as `cfg`, or by the scoring and recommendation after them.
        thresholds,
        scoring_weights,
        priority_thresholds,
        priority_mode,
        priority_ranks,
        family_services,
        top_services,
        // Decides which account each item has, and so what `account` holds.
        accounts,
        // Where things are, what the views show, and the sandbox: not what a run concludes.
        database: _,
        data: _,
        rules_dir: _,
        ingest: _,
        limits: _,
        aging_days: _,
        // Owners are workflow state: each run places the leads nobody owns, whatever it
        // concludes about them.
        assignment: _,
        // What leaves OneLead (CRM files, e-mail) and what comes back as workflow state.
        crm: _,
        mail: _,
        path: _,
        root: _,
    } = cfg;
    let sections = serde_json::json!({
        "thresholds": thresholds,
        "scoring_weights": scoring_weights,
        "priority_thresholds": priority_thresholds,
        "priority_mode": priority_mode,
        "priority_ranks": priority_ranks,
        "family_services": family_services,
        "top_services": top_services,
        "accounts": format!("{accounts:?}"),
    });
    hasher.update(b"\0config\0");
    hasher.update(sections.to_string().as_bytes());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Rules with top-level `import`s must run their top level on each call to bind the aliases
/// (modules come from the resolver's cache, so that is a lookup, not a recompile).
fn has_imports(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with("import "))
}

/// Each scoring file needs a weight and each weight a scoring file.
fn check_weights(dir: &Path, cfg: &Config, rules: &[Rule]) -> Vec<Diagnostic> {
    let cfg_path = if cfg.path.as_os_str().is_empty() {
        crate::config::DEFAULT_CONFIG.to_string()
    } else {
        cfg.path.display().to_string()
    };
    let factors: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.kind == RuleKind::Scoring)
        .collect();
    let mut out = Vec::new();
    for r in factors
        .iter()
        .filter(|r| !cfg.scoring_weights.contains_key(&r.name))
    {
        let shown = r.path.display().to_string();
        let msg = format!(
            "factor `{}` has no weight: add `scoring_weights.{}` to `{cfg_path}`",
            r.name, r.name
        );
        out.push(Diagnostic::new(&msg, &Loc::file(&shown), None, None));
    }
    for key in cfg.scoring_weights.keys() {
        let file = dir.join("scoring").join(format!("{key}.rhai"));
        // A file that exists but does not compile has its own diagnostic already.
        if !factors.iter().any(|r| &r.name == key) && !file.is_file() {
            let msg = format!(
                "`scoring_weights.{key}` has no rule: create `{}` or remove the weight",
                file.display()
            );
            out.push(Diagnostic::new(&msg, &Loc::file(&cfg_path), None, None));
        }
    }
    out
}
