//! The distinct texts a lead row names by id (`lead_texts`: titles, actions, the trigger's
//! reasons, service lists, factor outcomes), as every backend's lead writer keeps them: every
//! stored text by body, so a lead's texts become ids with one lookup each, and caches by
//! address for the factor outcomes and service lists that the rules share among leads, which
//! are then found without being encoded. How a new text gets its id is the backend's
//! ([`TextStore`]): SQLite inserts it there and then; PostgreSQL hands out a provisional id
//! and inserts a batch's new texts at once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::columns::json_text as json;
use crate::error::Result;
use crate::fxhash::FastMap;
use crate::model::lead::{Factor, Services};

/// Where a text the table does not hold yet is stored.
pub trait TextStore {
    /// Stores `body` and returns its id.
    fn add(&mut self, body: &str) -> Result<i64>;
}

/// Every text the leads name, by body, and the address caches (see the module docs).
pub struct Texts {
    ids: FastMap<Box<str>, i64>,
    /// Factor outcomes by their reasons' address and their numbers. The rules' caches share
    /// one reasons list among all leads with the same inputs, so most leads' factors are found
    /// here without encoding them; each entry holds its list, so the address stays its own.
    factors: FastMap<FactorKey, (Arc<[String]>, i64)>,
    /// Service lists by address, likewise (one per lead type, title and family).
    services: FastMap<usize, (Services, i64)>,
}

/// A factor outcome's reasons' address, and its value, weight and contribution.
type FactorKey = (usize, [u64; 3]);

/// Entries kept in each of [`Texts`]' address caches: rules without a cache give every lead
/// its own reasons list, and holding each would keep every lead's reasons alive.
const ADDRESS_CACHE: usize = 1 << 16;

impl Texts {
    /// The writer's view of a table that holds these texts.
    pub fn new(ids: FastMap<Box<str>, i64>) -> Texts {
        Texts {
            ids,
            factors: FastMap::default(),
            services: FastMap::default(),
        }
    }

    /// The id of `body`, stored first if it is new.
    pub fn id(&mut self, store: &mut dyn TextStore, body: &str) -> Result<i64> {
        if let Some(&id) = self.ids.get(body) {
            return Ok(id);
        }
        let id = store.add(body)?;
        self.ids.insert(body.into(), id);
        Ok(id)
    }

    /// The ids of a lead's factor outcomes, in the factors' order.
    pub fn factor_ids(
        &mut self,
        store: &mut dyn TextStore,
        factors: &BTreeMap<String, Factor>,
    ) -> Result<Vec<i64>> {
        factors.values().map(|f| self.factor(store, f)).collect()
    }

    fn factor(&mut self, store: &mut dyn TextStore, f: &Factor) -> Result<i64> {
        // The address of the list's first element: `as_ptr` of a slice, without its length.
        let key = (
            f.reasons.as_ptr() as usize,
            [f.value, f.weight, f.contribution].map(f64::to_bits),
        );
        if let Some((_, id)) = self.factors.get(&key) {
            return Ok(*id);
        }
        let id = self.id(store, &json(f, 160))?;
        // An empty list has no address of its own: every empty list would share one key.
        if !f.reasons.is_empty() {
            if self.factors.len() >= ADDRESS_CACHE {
                self.factors.clear();
            }
            self.factors.insert(key, (Arc::clone(&f.reasons), id));
        }
        Ok(id)
    }

    /// The id of a list of recommended services.
    pub fn services(&mut self, store: &mut dyn TextStore, services: &Services) -> Result<i64> {
        let key = services.as_ptr() as usize;
        if let Some((_, id)) = self.services.get(&key) {
            return Ok(*id);
        }
        let id = self.id(store, &json(services, 256))?;
        if !services.is_empty() {
            if self.services.len() >= ADDRESS_CACHE {
                self.services.clear();
            }
            self.services.insert(key, (Arc::clone(services), id));
        }
        Ok(id)
    }
}

/// The lead types re-scoring has read so far, each stored once: a re-score reads every
/// active lead, and a string per lead's type was a share of reading a chunk.
#[derive(Default)]
pub struct Types(FastMap<Box<str>, Arc<str>>);

impl Types {
    /// The shared `name`.
    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(t) = self.0.get(name) {
            return Arc::clone(t);
        }
        let t: Arc<str> = name.into();
        self.0.insert(name.into(), Arc::clone(&t));
        t
    }
}

/// A lead's `factor_ids` column: `{"name": text_id, …}`, for the factors' names and the ids
/// [`Texts::factor_ids`] gave them.
pub fn factor_json<'a>(names: impl Iterator<Item = &'a String>, ids: &[i64]) -> String {
    let mut out = String::with_capacity(24 * ids.len() + 2);
    out.push('{');
    for (i, (name, id)) in names.zip(ids).enumerate() {
        if i > 0 {
            out.push(',');
        }
        // A factor name is a file stem: mostly nothing to escape, and no JSON encoder to run.
        if name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            out.push('"');
            out.push_str(name);
            out.push('"');
        } else {
            out.push_str(&json(name, name.len() + 2));
        }
        // Writing to a String cannot fail.
        let _ = write!(out, ":{id}");
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_json_names_each_factor_by_its_text_id() {
        let names = ["urgency".to_string(), "odd \"name\"".to_string()];
        assert_eq!(
            factor_json(names.iter(), &[3, 12]),
            r#"{"urgency":3,"odd \"name\"":12}"#
        );
        assert_eq!(factor_json(names[..0].iter(), &[]), "{}");
    }
}
