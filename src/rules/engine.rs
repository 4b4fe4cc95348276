//! The one Rhai engine builder, used by production and tests alike so both run the same sandbox:
//! [`Limits`] from the config, strict variables, failing map lookups, no `eval`, `print`/`debug`
//! as `tracing` events, and imports confined to the rules folder ([`RulesResolver`]).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::RwLock;

use rhai::module_resolvers::ModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, Module, Position, Scope, Shared};

type SharedModule = Shared<Module>;

use crate::config::Limits;
use crate::rules::api::{self, HostFailure};

/// Builds the sandboxed engine every rule runs in.
pub fn build_engine(limits: &Limits, rules_dir: &Path) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_modules(64)
        // The interner is one lock for the whole engine, taken by script operations such as
        // property access, and a worker that finds it taken sleeps 10 ms: interpreted rules ran
        // one worker at a time. Interning saves little here (rules build mostly unique texts).
        .set_max_strings_interned(0)
        // Built-in operators first would answer `3 > "90"` with `false` before the comparisons
        // `api` registers to make it an error are looked at. Compiled rules (`rules::fast`) do
        // their own arithmetic and hand exactly those cases to the interpreter.
        .set_fast_operators(false);
    // `eval` would compile unchecked text at run time, outside the loader's diagnostics.
    engine.disable_symbol("eval");
    // stdout belongs to reports; script chatter is a `tracing` event of target `rules`, which
    // the command line prints on stderr (`log`) and an embedding program routes its own way.
    engine.on_print(|text| tracing::info!(target: "rules", "{text}"));
    engine.on_debug(|text, source, pos| {
        let at = source.unwrap_or("rules");
        if let (Some(l), Some(c)) = (pos.line(), pos.position()) {
            tracing::debug!(target: "rules", "{at}:{l}:{c}: {text}");
        } else {
            tracing::debug!(target: "rules", "{at}: {text}");
        }
    });
    engine.set_module_resolver(RulesResolver::new(rules_dir));
    api::register(&mut engine);
    engine
}

/// Resolves `import "lib/x" as x;` to `<rules>/lib/x.rhai`, refusing anything that could leave the
/// rules folder (absolute paths, `..`, symlinks pointing outside). Each module compiles once.
pub struct RulesResolver {
    root: PathBuf,
    cache: RwLock<HashMap<PathBuf, SharedModule>>,
}

impl RulesResolver {
    /// A resolver rooted at the rules folder.
    pub fn new(root: &Path) -> Self {
        RulesResolver {
            root: root.to_path_buf(),
            cache: RwLock::new(HashMap::new()),
        }
    }

    #[allow(clippy::unnecessary_box_returns)] // Rhai's error type travels boxed everywhere
    fn deny(path: &str, why: &str, pos: Position) -> Box<EvalAltResult> {
        HostFailure::new(format!("cannot import `{path}`: {why}")).into_error(pos)
    }

    /// The file an import path names, if it stays inside the rules folder.
    fn locate(&self, path: &str, pos: Position) -> Result<PathBuf, Box<EvalAltResult>> {
        let rel = Path::new(path);
        let confined = !path.is_empty()
            && !path.contains('\\')
            && rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !confined {
            return Err(Self::deny(
                path,
                "imports must be relative paths inside the rules folder (no `..`, no absolute paths)",
                pos,
            ));
        }
        let mut file = self.root.join(rel);
        file.set_extension("rhai");
        let (Ok(real_root), Ok(real_file)) = (self.root.canonicalize(), file.canonicalize()) else {
            return Err(Self::deny(
                path,
                &format!("`{}` not found", file.display()),
                pos,
            ));
        };
        if !real_file.starts_with(&real_root) {
            return Err(Self::deny(
                path,
                "it resolves outside the rules folder",
                pos,
            ));
        }
        Ok(file)
    }
}

impl ModuleResolver for RulesResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let file = self.locate(path, pos)?;
        if let Ok(cache) = self.cache.read()
            && let Some(m) = cache.get(&file)
        {
            return Ok(m.clone());
        }
        let text = std::fs::read_to_string(&file).map_err(|e| {
            Self::deny(path, &format!("cannot read `{}`: {e}", file.display()), pos)
        })?;
        let mut ast = engine.compile(&text).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                file.display().to_string(),
                e.into(),
                pos,
            ))
        })?;
        ast.set_source(file.display().to_string());
        let module: SharedModule = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| {
                Box::new(EvalAltResult::ErrorInModule(
                    file.display().to_string(),
                    e,
                    pos,
                ))
            })?
            .into();
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(file, module.clone());
        }
        Ok(module)
    }
}

/// A YAML value as scripts see it.
pub(crate) fn yaml_to_dynamic(v: &serde_yaml::Value) -> Dynamic {
    use serde_yaml::Value;
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => n.as_i64().map_or_else(
            || Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
            Dynamic::from_int,
        ),
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Sequence(items) => Dynamic::from_array(items.iter().map(yaml_to_dynamic).collect()),
        Value::Mapping(m) => {
            let map: rhai::Map = m
                .iter()
                .map(|(k, v)| {
                    let key = k.as_str().map_or_else(
                        || serde_yaml::to_string(k).unwrap_or_default(),
                        str::to_string,
                    );
                    (key.trim().into(), yaml_to_dynamic(v))
                })
                .collect();
            Dynamic::from_map(map)
        }
        Value::Tagged(t) => yaml_to_dynamic(&t.value),
    }
}
