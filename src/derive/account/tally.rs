//! Counting the account names while a load reads its records, instead of grouping the tables
//! afterwards.

use crate::fxhash::{FastMap, FastSet};
use crate::model::Record;
use crate::model::account::{NameRows, ProjectName, TerritoryRows};

/// Rows per name under one territory.
#[derive(Debug, Default)]
struct TerritoryNames {
    /// Rows without a name.
    unnamed: i64,
    named: FastMap<String, i64>,
}

/// Territory → names.
type PairCounts = FastMap<String, TerritoryNames>;

fn count(map: &mut FastMap<String, i64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// The names the account rebuild reads from the data tables, counted while a load reads the
/// records instead of by grouping the tables afterwards (each GROUP BY sorted every row of its
/// table). Only valid when the tables hold exactly the counted records: see [`NameRows`].
#[derive(Debug, Default)]
pub struct NameTally {
    install_base: PairCounts,
    opportunities: PairCounts,
    projects: PairCounts,
    /// Projects without a territory: (customer, Account ST Name) → (max customer id, rows).
    project_names: FastMap<(String, Option<String>), (Option<String>, i64)>,
    /// Opportunities without a territory: account name → rows.
    opportunity_names: FastMap<String, i64>,
    credit_customers: FastSet<String>,
}

impl NameTally {
    /// Counts one record as it is written.
    pub fn add(&mut self, rec: &Record) {
        let pair = |counts: &mut PairCounts, t: &Option<String>, name: &Option<String>| {
            let Some(t) = t else { return };
            let names = match counts.get_mut(t.as_str()) {
                Some(names) => names,
                None => counts.entry(t.clone()).or_default(),
            };
            match name {
                Some(name) => count(&mut names.named, name),
                None => names.unnamed += 1,
            }
        };
        match rec {
            Record::InstallBase(r) => {
                pair(&mut self.install_base, &r.territory_id, &r.account_name);
            }
            Record::Opportunity(r) => {
                pair(&mut self.opportunities, &r.territory_id, &r.account_name);
                if let (None, Some(name)) = (&r.territory_id, &r.account_name) {
                    count(&mut self.opportunity_names, name);
                }
            }
            Record::Project(r) => {
                pair(&mut self.projects, &r.territory_id, &r.customer);
                if let (None, Some(customer)) = (&r.territory_id, &r.customer) {
                    let group = self
                        .project_names
                        .entry((customer.clone(), r.st_name.clone()))
                        .or_default();
                    // `max(customer_id)`: NULLs are skipped, text compares by bytes.
                    if r.customer_id > group.0 {
                        group.0.clone_from(&r.customer_id);
                    }
                    group.1 += 1;
                }
            }
            Record::ServiceCredit(r) => {
                if let Some(c) = &r.customer {
                    if !self.credit_customers.contains(c) {
                        self.credit_customers.insert(c.clone());
                    }
                }
            }
            Record::Service(_) | Record::Catalog(_) => {}
        }
    }
}

/// `(territory, name, rows)` in the order `GROUP BY territory, name` returns them: by territory,
/// then name, a missing name first (SQLite's BINARY order is Rust's byte order).
fn sorted_pairs(counts: PairCounts) -> TerritoryRows {
    let mut territories: Vec<(String, TerritoryNames)> = counts.into_iter().collect();
    territories.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut rows = Vec::new();
    for (t, names) in territories {
        if names.unnamed > 0 {
            rows.push((t.clone(), None, names.unnamed));
        }
        let mut named: Vec<(String, i64)> = names.named.into_iter().collect();
        named.sort_unstable();
        rows.extend(named.into_iter().map(|(n, c)| (t.clone(), Some(n), c)));
    }
    rows
}

impl NameTally {
    /// The names counted, in the order the store's [`Accounts::account_names`] would return
    /// them from tables that hold exactly the counted records. SQLite's sorter keeps rows that
    /// tie on the ORDER BY in the order the GROUP BY produced them, so project names that tie on
    /// rows and customer come by Account ST Name (a test checks this against the store).
    ///
    /// [`Accounts::account_names`]: crate::store::api::Accounts::account_names
    pub fn into_names(self) -> NameRows {
        let tally = self;
        let mut project_names: Vec<ProjectName> = tally
            .project_names
            .into_iter()
            .map(|((customer, st), (id, n))| (customer, id, st, n))
            .collect();
        project_names
            .sort_unstable_by(|a, b| b.3.cmp(&a.3).then_with(|| (&a.0, &a.2).cmp(&(&b.0, &b.2))));
        let mut opportunity_names: Vec<(String, i64)> =
            tally.opportunity_names.into_iter().collect();
        opportunity_names.sort_unstable();
        let mut credit_customers: Vec<String> = tally.credit_customers.into_iter().collect();
        credit_customers.sort_unstable();
        NameRows {
            territories: [
                ("install_base", sorted_pairs(tally.install_base)),
                ("opportunities", sorted_pairs(tally.opportunities)),
                ("projects", sorted_pairs(tally.projects)),
            ],
            project_names,
            opportunity_names,
            credit_customers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_gives_the_names_the_tables_give() {
        use crate::model::{
            InstallBaseRecord, OpportunityRecord, ProjectRecord, ServiceCreditRecord,
        };
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(dir.path().join("t.db")).unwrap();
        let mut tx = store.begin().unwrap();
        let mut writer = tx.start_load().unwrap();
        let mut tally = NameTally::default();
        let s = |x: &str| Some(x.to_string());
        let texts = [None, s("b"), s("a"), s("B"), s("é"), s(""), s("a b")];
        let mut records = Vec::new();
        for i in 0..400_usize {
            let pick = |k: usize| texts[(i * k + i / 7) % texts.len()].clone();
            let territory = if i % 3 == 0 { None } else { pick(5) };
            records.push(Record::InstallBase(InstallBaseRecord {
                territory_id: territory.clone(),
                account_name: pick(3),
                ..Default::default()
            }));
            records.push(Record::Opportunity(OpportunityRecord {
                territory_id: territory.clone(),
                account_name: pick(2),
                ..Default::default()
            }));
            records.push(Record::Project(ProjectRecord {
                territory_id: territory,
                customer: pick(11),
                // Ties on rows and customer with different ST names, and ids to take the max of.
                st_name: pick(13),
                customer_id: pick(17),
                ..Default::default()
            }));
            records.push(Record::ServiceCredit(ServiceCreditRecord {
                customer: pick(19),
                ..Default::default()
            }));
        }
        for rec in &records {
            tally.add(rec);
            writer.write(rec).unwrap();
        }
        drop(writer);
        let counted = tally.into_names();
        assert!(
            counted
                .project_names
                .windows(2)
                .any(|w| w[0].3 == w[1].3 && w[0].0 == w[1].0)
        );
        assert_eq!(counted, tx.account_names().unwrap());
    }
}
