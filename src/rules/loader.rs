//! `rules/` → compiled [`Rule`]s. Discovers `{classify,triggers,scoring,services}/*.rhai` sorted by
//! path, compiles each once (source set to its displayed path), runs its top level once, checks the
//! entry points and the `scoring_weights` ↔ file pairing, and collects *every* problem before
//! failing. `lib/*.rhai` modules are not rules; they are read only for the hash and diagnostics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rhai::{Engine, Scope};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::rules::diag::{self, Loc, RuntimeInfo};
use crate::rules::{Rule, RuleKind};

/// Every rule file plus every module, by displayed path.
pub(crate) struct Loaded {
    pub rules: Vec<Rule>,
    pub sources: BTreeMap<String, String>,
    pub hash: String,
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

/// Compiles and validates everything under `dir`.
pub(crate) fn load(
    engine: &Engine,
    dir: &Path,
    cfg: &Config,
    cfg_keys: &[String],
) -> Result<Loaded> {
    if !dir.is_dir() {
        return Err(Error::Rules(vec![format!(
            "error: rules folder `{}` does not exist",
            dir.display()
        )]));
    }
    let names = known_names(cfg_keys);
    let mut sources = BTreeMap::new();
    let mut hasher = Sha256::new();
    let mut diags: Vec<(String, String)> = Vec::new();
    let mut rules = Vec::new();

    for (path, rel) in rhai_files(dir, "lib")? {
        let text = read(&path)?;
        hash_file(&mut hasher, &rel, &text);
        sources.insert(path.display().to_string(), text);
    }
    for kind in RuleKind::ALL {
        for (path, rel) in rhai_files(dir, kind.dir())? {
            let text = read(&path)?;
            hash_file(&mut hasher, &rel, &text);
            let shown = path.display().to_string();
            sources.insert(shown.clone(), text.clone());
            match engine.compile(&text) {
                Err(e) => diags.push((shown.clone(), diag::parse_error(&e, &shown, &text, &names))),
                Ok(mut ast) => {
                    ast.set_source(shown.as_str());
                    let name = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let eval_top = has_imports(&text);
                    rules.push(Rule {
                        kind,
                        name,
                        path,
                        lead_type: None,
                        source: text,
                        ast,
                        eval_top,
                        fast: None,
                    });
                }
            }
        }
    }

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
            limits: &cfg.limits,
            context: Some("while loading the rule (its top-level code)".into()),
        };
        // Top-level code runs once here so a bad import or a crash is reported at load time.
        if let Err(e) = engine.run_ast_with_scope(&mut Scope::new(), &rule.ast) {
            diags.push((shown.clone(), diag::eval_error(&e, &info)));
            continue;
        }
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
            let (msg, loc) = if defined.is_empty() {
                (
                    format!("rule `{}` does not define `{want}`", rule.id()),
                    Loc {
                        path: &shown,
                        source: None,
                        line: 0,
                        col: 0,
                    },
                )
            } else {
                (
                    format!(
                        "rule `{}` defines `fn {fname}` with {} parameter(s); expected `{want}`",
                        rule.id(),
                        defined[0]
                    ),
                    Loc::of_fn(&shown, &rule.source, fname),
                )
            };
            diags.push((shown.clone(), diag::render(&msg, &loc, None, None)));
        }
        if rule.kind == RuleKind::Trigger
            && rule
                .ast
                .iter_functions()
                .any(|f| f.name == "lead_type" && f.params.is_empty())
        {
            let opts = rhai::CallFnOptions::new()
                .eval_ast(rule.eval_top)
                .rewind_scope(true);
            let info = RuntimeInfo {
                context: None,
                entry: "lead_type",
                ..info
            };
            match engine.call_fn_with_options::<rhai::Dynamic>(
                opts,
                &mut Scope::new(),
                &rule.ast,
                "lead_type",
                (),
            ) {
                Err(e) => diags.push((shown.clone(), diag::eval_error(&e, &info))),
                Ok(v) => match v.into_string() {
                    Ok(t) if !t.trim().is_empty() => {
                        if let Some(first) = lead_types.get(&t) {
                            let msg = format!(
                                "lead type `{t}` is already produced by `{first}`; lead types must be unique"
                            );
                            let loc = Loc::of_fn(&shown, &rule.source, "lead_type");
                            diags.push((shown.clone(), diag::render(&msg, &loc, None, None)));
                        } else {
                            lead_types.insert(t.clone(), shown.clone());
                        }
                        rule.lead_type = Some(t);
                    }
                    other => {
                        let got =
                            other.map_or_else(|t| format!("`{t}`"), |_| "an empty string".into());
                        let msg = format!(
                            "`lead_type()` must return a non-empty string, but returned {got}"
                        );
                        let loc = Loc::of_fn(&shown, &rule.source, "lead_type");
                        diags.push((shown.clone(), diag::render(&msg, &loc, None, None)));
                    }
                },
            }
        }
    }

    check_weights(dir, cfg, &rules, &mut diags);
    if !diags.is_empty() {
        diags.sort_by(|a, b| a.0.cmp(&b.0));
        return Err(Error::Rules(diags.into_iter().map(|(_, d)| d).collect()));
    }
    hasher.update(b"\0config\0");
    hasher.update(
        serde_yaml::to_string(&cfg.thresholds)
            .unwrap_or_default()
            .as_bytes(),
    );
    for (k, v) in &cfg.scoring_weights {
        hasher.update(format!("{k}={v};").as_bytes());
    }
    let hash = hasher.finalize().iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    });
    Ok(Loaded {
        rules,
        sources,
        hash,
    })
}

fn hash_file(hasher: &mut Sha256, rel: &str, text: &str) {
    hasher.update(rel.as_bytes());
    hasher.update(b"\0");
    hasher.update(text.as_bytes());
    hasher.update(b"\0");
}

/// Rules with top-level `import`s must run their top level on each call to bind the aliases
/// (modules come from the resolver's cache, so that is a lookup, not a recompile).
fn has_imports(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with("import "))
}

/// Each scoring file needs a weight and each weight a scoring file.
fn check_weights(dir: &Path, cfg: &Config, rules: &[Rule], diags: &mut Vec<(String, String)>) {
    let cfg_path = if cfg.path.as_os_str().is_empty() {
        crate::config::DEFAULT_CONFIG.to_string()
    } else {
        cfg.path.display().to_string()
    };
    let factors: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.kind == RuleKind::Scoring)
        .collect();
    for r in &factors {
        if !cfg.scoring_weights.contains_key(&r.name) {
            let shown = r.path.display().to_string();
            let msg = format!(
                "factor `{}` has no weight: add `scoring_weights.{}` to `{cfg_path}`",
                r.name, r.name
            );
            let loc = Loc {
                path: &shown,
                source: None,
                line: 0,
                col: 0,
            };
            diags.push((shown.clone(), diag::render(&msg, &loc, None, None)));
        }
    }
    for key in cfg.scoring_weights.keys() {
        if !factors.iter().any(|r| &r.name == key) {
            let file = dir.join("scoring").join(format!("{key}.rhai"));
            let msg = format!(
                "`scoring_weights.{key}` has no rule: create `{}` or remove the weight",
                file.display()
            );
            let loc = Loc {
                path: &cfg_path,
                source: None,
                line: 0,
                col: 0,
            };
            diags.push((cfg_path.clone(), diag::render(&msg, &loc, None, None)));
        }
    }
}
