//! Field reads checked without data: `item.days_since_expirey` is a typo whether or not a row
//! ever reaches that line. Each rule's per-item entry point is walked, and every `param.field`
//! read of `item`, `account`, `lead` or `service` is checked against the fields that map has
//! (for `item`, also every field a classify rule can add). `cfg` is not checked: its keys come
//! from the config, and rules test for optional ones with `"key" in cfg`.
//!
//! `rules check` reports these with everything else; a run does not, so a rule that reads a
//! field only on a path no data takes still runs (and fails there if the path is ever taken).

use rhai::{AST, ASTNode, Dynamic, Expr, Position, Stmt};

use crate::diagnostic::Diagnostic;
use crate::rules::diag::Loc;
use crate::rules::{
    ACCOUNT_FIELDS, ASSIGN_FIELDS, ITEM_FIELDS, LEAD_FIELDS, Rule, RuleKind, SERVICE_FIELDS,
};

/// Every unknown field read in `rules`, as diagnostics with a "did you mean".
pub(crate) fn unknown_fields(rules: &[Rule]) -> Vec<Diagnostic> {
    let Some(item_fields) = classify_fields(rules) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rule in rules {
        let Some((entry, params)) = rule.kind.entry_points().last() else {
            continue;
        };
        for (name, field, pos) in reads(&rule.ast, entry, params) {
            let known: Vec<&str> = match name.as_str() {
                "item" => item_fields.iter().map(String::as_str).collect(),
                "account" => ACCOUNT_FIELDS.to_vec(),
                "lead" if rule.kind == RuleKind::Assign => ASSIGN_FIELDS.to_vec(),
                "lead" => LEAD_FIELDS.to_vec(),
                "service" => SERVICE_FIELDS.to_vec(),
                _ => continue,
            };
            if known.contains(&field.as_str()) {
                continue;
            }
            let shown = rule.path.display().to_string();
            let loc = Loc::at(&shown, Some(&rule.source), pos);
            let msg = format!("unknown field `{field}` of `{name}`");
            let help =
                crate::config::did_you_mean(&field, &known).map(|b| format!("did you mean `{b}`?"));
            out.push(Diagnostic::new(&msg, &loc, None, help.as_deref()));
        }
    }
    out
}

/// `(role, field, position)` of every `param.field` read in the entry point, where the role is
/// the name the contract gives the parameter at that place (`item` whatever the rule calls it).
fn reads(ast: &AST, entry: &str, roles: &[&str]) -> Vec<(String, String, Position)> {
    let Some(def) = ast
        .iter_functions()
        .find(|f| f.name == entry && f.params.len() == roles.len())
    else {
        return Vec::new();
    };
    let params: Vec<String> = def.params.iter().map(|p| (*p).to_string()).collect();
    let mut one = ast.clone_functions_only();
    one.retain_functions(|_, _, name, arity| name == entry && arity == roles.len());
    let mut out = Vec::new();
    one.walk(&mut |path: &[ASTNode]| {
        if let [
            ..,
            ASTNode::Expr(Expr::Dot(x, ..)),
            ASTNode::Expr(var @ Expr::Variable(v, ..)),
        ] = path
            && std::ptr::eq(std::ptr::from_ref(&x.lhs), *var)
            && let Some(i) = params.iter().position(|p| p == v.1.as_str())
            && let Some((field, pos)) = property(&x.rhs)
        {
            out.push((roles[i].to_string(), field, pos));
        }
        true
    });
    out
}

/// The property a `.` chain reads first: `x.a`, `x.a.b`, `x.a[0]`, `x.a.m()`.
fn property(rhs: &Expr) -> Option<(String, Position)> {
    match rhs {
        Expr::Property(p, pos) => Some((p.2.to_string(), *pos)),
        Expr::Dot(y, ..) | Expr::Index(y, ..) => match &y.lhs {
            Expr::Property(p, pos) => Some((p.2.to_string(), *pos)),
            _ => None,
        },
        _ => None,
    }
}

/// The item's fields plus every field a classify rule may add. `None` (no check) when a
/// classify rule sets a field whose name is not written out.
fn classify_fields(rules: &[Rule]) -> Option<Vec<String>> {
    let mut fields: Vec<String> = ITEM_FIELDS.iter().map(|s| (*s).to_string()).collect();
    for rule in rules.iter().filter(|r| r.kind == RuleKind::Classify) {
        fields.extend(written_fields(rule)?);
    }
    fields.sort();
    fields.dedup();
    Some(fields)
}

/// The fields a classify rule may return, as far as its text names them, sorted.
pub(crate) fn returned_fields(rule: &Rule) -> Vec<String> {
    let mut fields = written_fields(rule).unwrap_or_default();
    fields.sort();
    fields.dedup();
    fields
}

/// The keys of the maps a rule's text builds and the fields it assigns; `None` when it
/// assigns one whose name is not written out (`m[key] = …`).
fn written_fields(rule: &Rule) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut knowable = true;
    {
        rule.ast.walk(&mut |path: &[ASTNode]| {
            match path.last() {
                Some(ASTNode::Expr(Expr::Map(m, _))) => {
                    fields.extend(m.0.iter().map(|(k, _)| k.name.to_string()));
                }
                // A map literal of constants, as the optimizer folds it.
                Some(ASTNode::Expr(Expr::DynamicConstant(d, _))) => {
                    if let Some(m) = d.read_lock::<rhai::Map>() {
                        fields.extend(m.keys().map(ToString::to_string));
                    }
                }
                Some(ASTNode::Stmt(Stmt::Assignment(a))) => match &a.1.lhs {
                    Expr::Dot(x, ..) => {
                        if let Some((f, _)) = property(&x.rhs) {
                            fields.push(f);
                        }
                    }
                    Expr::Index(x, ..) => match &x.rhs {
                        Expr::StringConstant(s, _) => fields.push(s.to_string()),
                        _ => knowable = false,
                    },
                    _ => {}
                },
                _ => {}
            }
            true
        });
    }
    knowable.then_some(fields)
}

/// Where the rule's text writes `key: value` with that very constant in a map literal (the
/// first such place): a classify rule that returns `#{ risk_level: 5 }` is then shown at the
/// `5`, or at the map when Rhai folded it into one constant, rather than at its function.
pub(crate) fn literal_entry(rule: &Rule, key: &str, value: &Dynamic) -> Option<Position> {
    let shown = crate::rules::show_value(value);
    let same =
        |d: &Dynamic| d.type_name() == value.type_name() && crate::rules::show_value(d) == shown;
    let mut found = None;
    rule.ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::Map(m, _))) => {
                found = m.0.iter().find_map(|(k, e)| {
                    (k.name == key && e.get_literal_value(None).is_some_and(|d| same(&d)))
                        .then(|| e.position())
                });
            }
            Some(ASTNode::Expr(Expr::DynamicConstant(d, pos))) => {
                if let Some(m) = d.read_lock::<rhai::Map>() {
                    found = m.get(key).is_some_and(same).then_some(*pos);
                }
            }
            _ => {}
        }
        found.is_none()
    });
    found
}
