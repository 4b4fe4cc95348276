//! What rules see: install-base rows and accounts turned into Rhai maps (fields documented in
//! `rules/README.md`). Missing text is `""`; missing or placeholder dates and their day counts are
//! `()`, so a rule can never quote a sentinel date or "0 days" for an unknown one.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use rhai::{Dynamic, ImmutableString, Map};

use crate::derive::days;
use crate::error::Result;
use crate::model::account::{AccountFacts, Fact};
use crate::model::item::{DATE_FIELDS, ItemRow, TEXT_FIELDS};
use crate::store::api::WriteTx;

/// The `item` map for one row, with day counts against `as_of`.
pub fn item_map(row: &ItemRow, as_of: NaiveDate) -> Map {
    item_map_at(row, &AsOf::new(as_of), false)
}

/// The as-of date with its text, made once per evaluation rather than once per item.
pub struct AsOf {
    date: NaiveDate,
    text: ImmutableString,
}

impl AsOf {
    /// `date` and its `YYYY-MM-DD` text.
    pub fn new(date: NaiveDate) -> AsOf {
        let text = if (0..=9999).contains(&date.year()) {
            format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
        } else {
            date.format("%Y-%m-%d").to_string()
        };
        AsOf {
            date,
            text: text.into(),
        }
    }
}

/// The fields classify rules return, stored with each row (see [`StoredDerived`]).
pub const CLASSIFIED: &[&str] = &["product_family", "risk_level"];

/// How many fields [`item_map`] makes.
const ITEM_LEN: usize = 1 + TEXT_FIELDS.len() + DATE_FIELDS.len() + 6;

/// The item fields in the order [`item_values`] makes them: the order rules' documentation lists
/// them in (a test checks the two agree).
fn item_names() -> [&'static str; ITEM_LEN] {
    let mut names = [""; ITEM_LEN];
    for (slot, name) in names.iter_mut().zip(crate::rules::ITEM_FIELDS) {
        *slot = name;
    }
    names
}

/// For each field in key order (a map's order), where [`item_values`] puts its value.
fn key_order() -> &'static [usize; ITEM_LEN] {
    static ORDER: std::sync::OnceLock<[usize; ITEM_LEN]> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| {
        let names = item_names();
        let mut order: [usize; ITEM_LEN] = std::array::from_fn(|i| i);
        order.sort_by_key(|&i| names[i]);
        order
    })
}

thread_local! {
    /// A finished item's map, whose nodes and keys the next item on this thread reuses: building
    /// two dozen entries afresh was the largest part of a partial re-evaluation.
    static SPARE: std::cell::RefCell<Option<Map>> = const { std::cell::RefCell::new(None) };
}

/// Hands an item's map back for reuse (see [`item_map_at`]); a map someone else still holds
/// is left to them.
pub fn recycle(item: Dynamic) {
    if let Some(m) = item
        .try_cast_result::<Map>()
        .ok()
        .filter(|m| m.len() == ITEM_LEN)
    {
        let _ = SPARE.try_with(|s| s.replace(Some(m)));
    }
}

/// [`item_map`] with the as-of text made already. With `classified`, the fields of
/// [`CLASSIFIED`] hold the row's stored values instead of `""`: what the classify rules gave
/// when they return only those fields, as strings.
pub fn item_map_at(row: &ItemRow, as_of: &AsOf, classified: bool) -> Map {
    let mut values = item_values(row, as_of, classified);
    // A recycled map has exactly these keys (nothing adds or removes one while rules run, and
    // only maps of this length come back): new values go in place, in key order.
    let spare = SPARE.try_with(std::cell::RefCell::take).ok().flatten();
    if let Some(mut m) = spare.filter(|m| m.len() == ITEM_LEN) {
        for ((_, v), &i) in m.iter_mut().zip(key_order()) {
            *v = std::mem::take(&mut values[i]);
        }
        return m;
    }
    item_names()
        .into_iter()
        .map(rhai::Identifier::from)
        .zip(values)
        .collect()
}

/// The values of an item's fields, in [`item_names`] order.
fn item_values(row: &ItemRow, as_of: &AsOf, classified: bool) -> [Dynamic; ITEM_LEN] {
    let mut values: [Dynamic; ITEM_LEN] = std::array::from_fn(|_| Dynamic::UNIT);
    let mut slots = values.iter_mut();
    let mut put = |v: Dynamic| {
        if let Some(slot) = slots.next() {
            *slot = v;
        }
    };
    put(Dynamic::from(row.id));
    for v in &row.text {
        put(v.clone().map_or_else(|| "".into(), Dynamic::from));
    }
    let mut placeholder = false;
    let mut parsed = [None; DATE_FIELDS.len()];
    for ((f, v), p) in DATE_FIELDS.iter().zip(&row.dates).zip(&mut parsed) {
        let d = v.as_deref().and_then(days::parse);
        let real = d.filter(|d| !days::is_placeholder(*d));
        if *f == "eol_date" && d.is_some() && real.is_none() {
            placeholder = true;
        }
        // A stored date is already `YYYY-MM-DD`; only another form is written out again.
        let text = |d: NaiveDate| match v {
            Some(s) if days::canonical(s).is_some() => Dynamic::from(s.clone()),
            _ => d.format("%Y-%m-%d").to_string().into(),
        };
        put(real.map_or(Dynamic::UNIT, text));
        *p = d;
    }
    put(placeholder.into());
    let dyn_days =
        |d: Option<NaiveDate>| days::days_since(d, as_of.date).map_or(Dynamic::UNIT, Dynamic::from);
    put(dyn_days(parsed[0]));
    put(dyn_days(parsed[3]));
    put(as_of.text.clone().into());
    let stored = |v: &Option<String>| match v {
        Some(s) if classified => s.as_str().into(),
        _ => Dynamic::from(""),
    };
    put(stored(&row.stored.product_family));
    put(stored(&row.stored.risk_level));
    values
}

/// Day count of a map field, if it is an integer.
pub fn int_field(m: &Map, key: &str) -> Option<i64> {
    m.get(key).and_then(|v| v.as_int().ok())
}

/// Text of a map field, if it is a non-empty string.
pub fn str_field(m: &Map, key: &str) -> Option<String> {
    m.get(key)
        .and_then(|v| v.clone().into_string().ok())
        .filter(|s| !s.is_empty())
}

/// Every account's `account` map, keyed by account id, plus the map used for items without one.
pub struct Accounts {
    /// Account id → map.
    pub maps: HashMap<String, Map>,
    /// For items with no account.
    pub none: Map,
    /// The same maps made shareable once (see [`crate::rules::share`]).
    shared: HashMap<String, Dynamic>,
    none_shared: Dynamic,
}

impl Accounts {
    /// The map for an item's account.
    pub fn get(&self, id: Option<&str>) -> &Map {
        id.and_then(|i| self.maps.get(i)).unwrap_or(&self.none)
    }

    /// The shared, read-only map rules receive for an item's account.
    pub fn shared(&self, id: Option<&str>) -> &Dynamic {
        id.and_then(|i| self.shared.get(i))
            .unwrap_or(&self.none_shared)
    }

    /// The account's display name.
    pub fn name(&self, id: Option<&str>) -> Option<String> {
        id.and_then(|i| self.maps.get(i))
            .and_then(|m| str_field(m, "name"))
    }
}

/// The `account` map of an item with no account: every field, empty or zero.
pub fn empty_account() -> Map {
    let mut m = Map::new();
    m.insert("account_id".into(), "".into());
    m.insert("name".into(), "".into());
    m.insert("territory_id".into(), "".into());
    for k in [
        "install_base_count",
        "opportunity_count",
        "project_count",
        "closed_project_count",
        "active_credits",
    ] {
        m.insert(k.into(), Dynamic::from(0_i64));
    }
    m.insert("project_size_category".into(), Dynamic::UNIT);
    m.insert("last_project_end".into(), Dynamic::UNIT);
    m
}

/// Reads every account with its aggregates, as rules see them.
pub fn read_accounts(tx: &mut dyn WriteTx) -> Result<Accounts> {
    Ok(accounts_from(tx.account_facts()?))
}

/// The accounts' maps of these facts.
pub fn accounts_from(facts: Vec<AccountFacts>) -> Accounts {
    let maps: HashMap<String, Map> = facts
        .into_iter()
        .map(|a| (a.account_id.clone(), account_map(a)))
        .collect();
    let shared = maps
        .iter()
        .map(|(k, m)| (k.clone(), crate::rules::share(m.clone())))
        .collect();
    Accounts {
        maps,
        none: empty_account(),
        shared,
        none_shared: crate::rules::share(empty_account()),
    }
}

/// The `account` map of one account.
fn account_map(a: AccountFacts) -> Map {
    let fact = |f: Fact| match f {
        Fact::Int(i) => Dynamic::from(i),
        Fact::Text(s) => s.into(),
        Fact::Null => Dynamic::UNIT,
    };
    let mut m = empty_account();
    m.insert("account_id".into(), a.account_id.into());
    m.insert("name".into(), a.name.into());
    m.insert(
        "territory_id".into(),
        a.territory_id.unwrap_or_default().into(),
    );
    for (key, value) in [
        ("install_base_count", a.install_base_count),
        ("opportunity_count", a.opportunity_count),
        ("project_count", a.project_count),
        ("closed_project_count", a.closed_project_count),
        ("last_project_end", a.last_project_end),
        ("active_credits", a.active_credits),
        ("project_size_category", a.project_size_category),
    ] {
        m.insert(key.into(), fact(value));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::item::StoredDerived;
    use crate::rules::{ACCOUNT_FIELDS, ITEM_FIELDS};

    fn keys(m: &Map) -> Vec<String> {
        let mut k: Vec<String> = m.keys().map(ToString::to_string).collect();
        k.sort();
        k
    }

    fn sorted(f: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = f.iter().map(|s| (*s).to_string()).collect();
        k.sort();
        k
    }

    #[test]
    fn account_aggregates_count_what_each_account_holds() {
        let (_d, mut store) = crate::store::testdb::build_store();
        let accounts = read_accounts(&mut *store.begin().unwrap()).unwrap();
        let get = |id: &str, key: &str| accounts.get(Some(id)).get(key).unwrap().to_string();
        // ACC1: items 1–2, OPP1, projects P1–P3 (two closed, latest end 2023-09-30, sizes
        // Small ×2), credits 40 + 10 + 5 active.
        for (key, want) in [
            ("install_base_count", "2"),
            ("opportunity_count", "1"),
            ("project_count", "3"),
            ("closed_project_count", "2"),
            ("last_project_end", "2023-09-30"),
            ("active_credits", "55"),
            ("project_size_category", "Small"),
        ] {
            assert_eq!(get("ACC1", key), want, "ACC1 {key}");
        }
        // ACC3: five items and an opportunity, no projects or credits: the defaults stand.
        for (key, want) in [
            ("install_base_count", "5"),
            ("opportunity_count", "1"),
            ("project_count", "0"),
            ("closed_project_count", "0"),
            ("last_project_end", ""),
            ("active_credits", "0"),
        ] {
            assert_eq!(get("ACC3", key), want, "ACC3 {key}");
        }
        assert!(
            accounts
                .get(Some("ACC3"))
                .get("last_project_end")
                .unwrap()
                .is_unit()
        );
    }

    /// The rules' "did you mean" lists and rules/README.md describe these maps: they must agree.
    #[test]
    fn maps_carry_exactly_the_documented_fields() {
        let row = ItemRow {
            id: 1,
            asset_key: None,
            text: vec![None; TEXT_FIELDS.len()],
            dates: vec![
                Some("2099-12-31".into()),
                None,
                None,
                Some("2020-01-01".into()),
            ],
            account_id: None,
            source_row: 2,
            stored: StoredDerived::default(),
        };
        let as_of = NaiveDate::from_ymd_opt(2025, 10, 29).unwrap();
        let item = item_map(&row, as_of);
        assert_eq!(keys(&item), sorted(ITEM_FIELDS));
        assert_eq!(keys(&empty_account()), sorted(ACCOUNT_FIELDS));
        // The sentinel EOL is no date: no day count, flagged as a placeholder.
        assert!(item["eol_date"].is_unit());
        assert!(item["days_since_eol"].is_unit());
        assert!(item["eol_placeholder"].as_bool().unwrap());
        assert_eq!(item["days_since_expiry"].as_int().unwrap(), 2128);
    }

    fn row_with(n: usize) -> ItemRow {
        ItemRow {
            id: n as i64,
            asset_key: None,
            text: TEXT_FIELDS
                .iter()
                .map(|f| Some(format!("{f}-{n}").into()))
                .collect(),
            dates: vec![Some(format!("201{n}-02-03").into()); DATE_FIELDS.len()],
            account_id: None,
            source_row: 1,
            stored: StoredDerived {
                product_family: Some(format!("FAM{n}")),
                risk_level: Some(format!("RISK{n}")),
                ..StoredDerived::default()
            },
        }
    }

    /// Every value lands under its own name, whether the map is built afresh or refilled after
    /// another item (the refill writes by position, so a wrong order would swap values).
    #[test]
    fn item_values_land_under_their_names_fresh_or_recycled() {
        let as_of = AsOf::new(NaiveDate::from_ymd_opt(2025, 10, 29).unwrap());
        for classified in [false, true] {
            let first = item_map_at(&row_with(1), &as_of, classified);
            recycle(crate::rules::share(first));
            let reused = item_map_at(&row_with(2), &as_of, classified);
            assert!(
                SPARE.with(|s| s.borrow().is_none()),
                "the spare map was taken"
            );
            let row = row_with(2);
            for (f, v) in TEXT_FIELDS.iter().zip(&row.text) {
                assert_eq!(
                    reused[*f].to_string(),
                    v.as_deref().unwrap_or_default(),
                    "{f}"
                );
            }
            for f in DATE_FIELDS {
                assert_eq!(reused[*f].to_string(), "2012-02-03", "{f}");
            }
            assert_eq!(reused["id"].as_int().unwrap(), 2);
            assert_eq!(reused["as_of"].to_string(), "2025-10-29");
            let (family, risk) = if classified {
                ("FAM2", "RISK2")
            } else {
                ("", "")
            };
            assert_eq!(reused["product_family"].to_string(), family);
            assert_eq!(reused["risk_level"].to_string(), risk);
            let fresh: Vec<_> = item_map_at(&row, &as_of, classified).into_iter().collect();
            let reused: Vec<_> = reused.into_iter().collect();
            assert_eq!(format!("{fresh:?}"), format!("{reused:?}"));
        }
    }

    #[test]
    fn a_map_someone_still_holds_or_that_grew_is_not_reused() {
        let as_of = AsOf::new(NaiveDate::from_ymd_opt(2025, 10, 29).unwrap());
        let mut grown = item_map_at(&row_with(1), &as_of, false);
        grown.insert("segment".into(), "x".into());
        recycle(crate::rules::share(grown));
        assert!(SPARE.with(|s| s.borrow().is_none()));
        let held = crate::rules::share(item_map_at(&row_with(1), &as_of, false));
        let other = held.clone();
        recycle(held);
        // The holder's copy is untouched by the next item.
        let _ = item_map_at(&row_with(2), &as_of, false);
        let other = other.try_cast::<Map>().unwrap();
        assert_eq!(other["serial_number"].to_string(), "serial_number-1");
    }
}
