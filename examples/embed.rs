//! Embedding OneLead's rules engine in another program: load the rules and the config a project
//! uses, describe one asset by its export columns, and ask what the rules make of it — each
//! trigger's decision and why, and each lead's score, priority and services — with no database.
//!
//! Run it with `cargo run --example embed`; `cargo test` runs its test.

use chrono::NaiveDate;
use onelead::config::Config;
use onelead::model::account::CatalogEntry;
use onelead::recommend::Catalog;
use onelead::rules::{Decision, EvalContext, RuleSet};
use onelead::verify::simulate::{Simulated, item, simulate};

/// The project whose `rules/` and `config/onelead.yaml` this example uses.
const PROJECT: &str = env!("CARGO_MANIFEST_DIR");

/// An old server with expired support, by its export columns (the README's worked example).
const ASSET: [(&str, &str); 5] = [
    ("serial_number", "USE3267F8N"),
    ("product_name", "HP DL360p Gen8 8-SFF CTO Server"),
    ("platform", "Compute"),
    ("support_status", "Expired Flex Support"),
    ("eol_date", "2015-07-01"),
];

/// Its account: 52 open opportunities, 15 installed items.
const ACCOUNT: [(&str, i64); 2] = [("opportunity_count", 52), ("install_base_count", 15)];

fn main() -> Result<(), onelead::Error> {
    let as_of = NaiveDate::from_ymd_opt(2025, 10, 29).unwrap_or_default();
    let engine = Engine::load(as_of)?;
    let got = engine.ask(&ASSET, &ACCOUNT)?;
    for (rule, decision) in &got.decisions {
        match decision {
            Decision::Fired(hit) => {
                println!("{}: {} ({})", rule.id(), hit.title, hit.reasons.join("; "));
            }
            Decision::NotFired(why) => println!(
                "{}: no lead ({})",
                rule.id(),
                why.as_deref().unwrap_or("no reason given")
            ),
        }
    }
    for lead in &got.leads {
        let services: Vec<&str> = lead.services.iter().map(|s| s.service.as_str()).collect();
        println!(
            "{}: score {:.2}, {}, services {}",
            lead.hit.lead_type,
            lead.score,
            lead.priority,
            services.join(", ")
        );
    }
    Ok(())
}

/// The rules compiled once, with their config and a catalog of services; asked many times.
struct Engine {
    cfg: Config,
    rules: RuleSet,
    catalog: Catalog,
    as_of: NaiveDate,
}

impl Engine {
    fn load(as_of: NaiveDate) -> Result<Engine, onelead::Error> {
        let root = std::path::Path::new(PROJECT);
        let cfg = Config::load(&root.join("config/onelead.yaml"), true)?;
        let mut rules = RuleSet::load(&cfg.resolve(&cfg.rules_dir), &cfg)?;
        rules.set_as_of(as_of);
        // The services a program offers; a run reads these from the SKU sheet.
        let catalog = Catalog::new(
            vec![
                offering("Servers", "Health Check", "H7R41AC"),
                offering("Servers", "Firmware upgrade", "HL442A1"),
                offering("Servers", "Install & Startup", ""),
            ],
            &cfg,
        );
        Ok(Engine {
            cfg,
            rules,
            catalog,
            as_of,
        })
    }

    /// What the rules make of an asset with these export columns at an account with these
    /// counts (every other account field empty).
    fn ask(
        &self,
        asset: &[(&str, &str)],
        account: &[(&str, i64)],
    ) -> Result<Simulated<'_>, onelead::Error> {
        let item = item(asset, self.as_of)?;
        let mut acct = onelead::score::context::empty_account();
        for (k, v) in account {
            acct.insert((*k).into(), rhai::Dynamic::from_int(*v));
        }
        let ctx = EvalContext {
            table: "embedded asset",
            row: 1,
            key: "example",
        };
        simulate(&self.rules, &self.cfg, &self.catalog, item, &acct, &ctx)
    }
}

fn offering(product: &str, service: &str, skus: &str) -> CatalogEntry {
    CatalogEntry {
        product: product.into(),
        category: String::new(),
        service: service.into(),
        skus: skus.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same asset as the README's worked example: both leads, with the scores the project's
    /// tests work out by hand on the real export (73.5 and 72.75 there, with 15 installed items
    /// and 52 opportunities at the account).
    #[test]
    fn the_embedded_engine_gives_what_a_run_gives() {
        let as_of = NaiveDate::from_ymd_opt(2025, 10, 29).unwrap();
        let engine = Engine::load(as_of).unwrap();
        let got = engine.ask(&ASSET, &ACCOUNT).unwrap();
        let leads: Vec<(&str, f64, &str)> = got
            .leads
            .iter()
            .map(|l| (l.hit.lead_type.as_str(), l.score, l.priority))
            .collect();
        assert_eq!(
            leads,
            [
                ("Hardware Refresh - EOL Equipment", 73.5, "HIGH"),
                ("Renewal - Expired Support", 72.75, "HIGH")
            ]
        );
        // The trigger that did not fire says why.
        let (_, last) = got.decisions.last().unwrap();
        assert!(
            matches!(last, Decision::NotFired(Some(why)) if why.contains("does not say uncovered"))
        );
        // A bad date is an error naming the field, not a panic.
        let err = engine.ask(&[("eol_date", "soon")], &[]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "field `eol_date`: `soon` is not a `YYYY-MM-DD` date"
        );
    }
}
