//! A lead's encoded columns and its fingerprint: what a worker computes for each evaluated lead
//! before the writer sees it.

use std::collections::BTreeMap;

use xxhash_rust::xxh3::Xxh3;

use super::{LEAD_COLUMNS, Value, placement};
use crate::model::lead::{Factor, Lead, Services};

/// A lead's stored columns that are not its own fields as they are, encoded once by the worker
/// that evaluated it (off the writer thread).
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The trigger's reasons, as a JSON array.
    pub reasons: String,
    /// The recommended SKUs, comma-separated.
    pub skus: String,
    /// The trigger's other fields, as a JSON object.
    pub extra: String,
    /// `extra.estimated_value`, when a number.
    pub estimated_value: Option<f64>,
    /// [`fingerprint`] of the lead.
    pub fingerprint: i64,
    /// [`placement_key`] of the lead.
    pub keys: u64,
}

/// `v` as JSON, in a buffer of `capacity` bytes to start with: sized per column, because a
/// lead's buffers wait in memory until its chunk is written.
pub fn json_text<T: serde::Serialize>(v: &T, capacity: usize) -> String {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, v) {
        Ok(()) => String::from_utf8(buf).unwrap_or_else(|_| "null".into()),
        Err(_) => "null".into(),
    }
}

impl Encoded {
    /// Encodes the columns of a lead whose [`fingerprint`] is `fingerprint`.
    pub fn of(lead: &Lead, fingerprint: i64) -> Encoded {
        let mut enc = Encoded {
            reasons: json_text(&lead.reasons, 128),
            skus: lead.recommended_skus.join(","),
            extra: json_text(&lead.extra, 16),
            // A column of its own, so pipeline sums read an index instead of parsing JSON.
            estimated_value: lead
                .extra
                .get("estimated_value")
                .and_then(serde_json::Value::as_f64),
            fingerprint,
            keys: 0,
        };
        enc.keys = placement_key(
            placement(LEAD_COLUMNS).filter_map(|c| c.value.map(|value| value(lead, &enc))),
        );
        enc
    }
}

/// A hash of a lead's placement values (see [`placement`]). When none of them changed, an
/// update can leave the indexes alone (SQLite touches only an index whose columns the `SET`
/// names; PostgreSQL's updates that change no indexed column are HOT): rewriting five index
/// entries per lead made a re-evaluation that changed only text 3–4× slower. Kept in memory
/// only, never stored; a backend computes the stored row's from the same values.
pub fn placement_key<'a>(values: impl Iterator<Item = Value<'a>>) -> u64 {
    let mut h = Hasher::default();
    for v in values {
        h.value(v);
    }
    h.finish()
}

/// The scheme [`fingerprint`] hashes with, stored beside the fingerprints (see
/// [`super::api::Leads::adopt_fingerprints`]); a database whose fingerprints were made another
/// way has them forgotten (read as unknown, not as changed).
pub const FINGERPRINT_SCHEME: &str = "xxh3-1";

/// A stable hash of values: each is written with a tag and its length, so that no two
/// sequences of values give the same bytes, and the bytes are hashed with xxh3 (the same on every
/// machine and every build, unlike `std`'s `DefaultHasher`), as they come, on the stack.
pub struct Hasher(Xxh3);

impl Default for Hasher {
    fn default() -> Hasher {
        Hasher(Xxh3::new())
    }
}

impl Hasher {
    fn tag(&mut self, tag: u8, len: usize) {
        let mut bytes = [0; 9];
        bytes[0] = tag;
        bytes[1..].copy_from_slice(&(len as u64).to_le_bytes());
        self.0.update(&bytes);
    }

    /// A text.
    pub fn text(&mut self, s: &str) {
        self.tag(b's', s.len());
        self.0.update(s.as_bytes());
    }

    /// A text or nothing (nothing differs from any text, the empty one too).
    pub fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.tag(b'-', 0),
        }
    }

    /// An integer.
    pub fn int(&mut self, i: i64) {
        self.tag(b'i', 8);
        self.0.update(&i.to_le_bytes());
    }

    /// An integer or nothing.
    pub fn opt_int(&mut self, i: Option<i64>) {
        match i {
            Some(i) => self.int(i),
            None => self.tag(b'-', 0),
        }
    }

    /// A number, bit for bit.
    pub fn real(&mut self, x: f64) {
        self.tag(b'f', 8);
        self.0.update(&x.to_bits().to_le_bytes());
    }

    /// A hash made elsewhere.
    fn digest(&mut self, h: u64) {
        self.tag(b'h', 8);
        self.0.update(&h.to_le_bytes());
    }

    /// A list of texts.
    pub fn list(&mut self, items: &[String]) {
        self.tag(b'l', items.len());
        for s in items {
            self.text(s);
        }
    }

    /// The recommended services.
    pub fn services(&mut self, services: &Services) {
        self.tag(b'r', services.len());
        for r in services.iter() {
            self.text(&r.service);
            self.list(&r.skus);
            self.int(r.priority);
            self.text(&r.product);
        }
    }

    /// The trigger's other fields: usually empty; JSON is the one stable form of arbitrary
    /// values.
    pub fn extra(&mut self, extra: &serde_json::Map<String, serde_json::Value>) {
        if extra.is_empty() {
            self.tag(b'e', 0);
        } else {
            self.text(&json_text(extra, 64));
        }
    }

    /// A value as evaluation writes it (texts stored once hash as their text).
    pub fn value(&mut self, v: Value<'_>) {
        match v {
            Value::Text(s) | Value::Body(s) => self.text(s),
            Value::OptText(s) => self.opt_text(s),
            Value::Int(i) => self.int(i),
            Value::OptInt(i) => self.opt_int(i),
            Value::Real(x) => self.real(x),
            Value::OptReal(x) => match x {
                Some(x) => self.real(x),
                None => self.tag(b'-', 0),
            },
            Value::Services(s) => self.services(s),
            Value::Factors(f) => {
                self.tag(b'F', f.len());
                for (name, f) in f {
                    self.digest(factor_part(name, f, reasons_digest(&f.reasons)));
                }
            }
        }
    }

    /// The hash of what was written.
    pub fn finish(&self) -> u64 {
        self.0.digest()
    }
}

/// A hash of every column a re-evaluation can change, taken from the lead's fields rather than
/// its JSON: a worker finds an unchanged lead without encoding it (most leads, after an edit).
/// The XOR of independent parts: the lead's own columns ([`base_hash`]), its score and priority
/// ([`score_hash`]) and each factor ([`factor_part`]). A re-evaluation that changes only the
/// factors and the score (see `score::rescore`) then computes the new fingerprint from the
/// stored one ([`scored_part`]), without the rest of the lead.
pub fn fingerprint(lead: &Lead) -> i64 {
    i64::from_ne_bytes(base_hash(lead).to_ne_bytes())
        ^ scored_part(lead.score, &lead.priority, &lead.factors)
}

/// The part of [`fingerprint`] that a lead's score, priority and factors make, as an `i64`: a
/// fingerprint XOR the part of its old score, priority and factors XOR the part of its new
/// ones is the fingerprint of the lead with the new ones.
pub fn scored_part(score: f64, priority: &str, factors: &BTreeMap<String, Factor>) -> i64 {
    let mut h = score_hash(score, priority);
    for (name, f) in factors {
        h ^= factor_part(name, f, reasons_digest(&f.reasons));
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Every column [`fingerprint`] covers but the score, the priority and the factors: those
/// [`LEAD_COLUMNS`] gives a fingerprint part, in their order.
fn base_hash(lead: &Lead) -> u64 {
    let mut h = Hasher::default();
    for part in LEAD_COLUMNS.iter().filter_map(|c| c.fingerprint) {
        part(lead, &mut h);
    }
    h.finish()
}

/// The score and priority's part of [`fingerprint`].
pub fn score_hash(score: f64, priority: &str) -> u64 {
    let mut h = Hasher::default();
    h.real(score);
    h.text(priority);
    h.finish()
}

/// One factor's part, with the digest of its reasons given: re-scoring finds most of them
/// already made (one per stored outcome), where hashing the strings was most of its hashing.
/// Its name is in it, so two factors never cancel out.
pub fn factor_part(name: &str, f: &Factor, reasons: u64) -> u64 {
    let mut h = Hasher::default();
    h.text(name);
    h.real(f.value);
    h.real(f.weight);
    h.real(f.contribution);
    h.digest(reasons);
    h.finish()
}

/// The digest of a factor's reasons that [`factor_part`] takes.
pub fn reasons_digest(reasons: &[String]) -> u64 {
    let mut h = Hasher::default();
    h.list(reasons);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lead::Recommendation;

    fn lead() -> Lead {
        let mut factors = BTreeMap::new();
        factors.insert(
            "urgency".to_string(),
            Factor {
                value: 80.0,
                weight: 0.35,
                contribution: 28.0,
                reasons: vec!["EOL 900 days ago (+30)".to_string()].into(),
            },
        );
        Lead {
            lead_id: "3E58S2NQ".into(),
            lead_type: "Renewal - Expired Support".into(),
            rule: "renewal".into(),
            priority: "HIGH".into(),
            score: 64.5,
            factors,
            reasons: vec!["support ended".into()],
            title: "Renew support".into(),
            description: "d".into(),
            recommended_action: "Call them".into(),
            account_id: Some("ST-56088".into()),
            territory_id: Some("56088".into()),
            install_base_id: 42,
            serial_number: Some("CZ30ACB8NL".into()),
            product_name: Some("DL380".into()),
            product_family: Some("COMPUTE".into()),
            days_since_eol: Some(900),
            recommended_services: vec![Recommendation {
                service: "Care".into(),
                skus: vec!["H1".into()],
                priority: 8,
                product: "Servers".into(),
            }]
            .into(),
            recommended_skus: vec!["H1".to_string()].into(),
            ..Lead::default()
        }
    }

    /// Stored fingerprints are compared with ones a later build computes: the hash must not
    /// move with the toolchain or the platform. This number is what scheme `xxh3-1` gives for
    /// this lead; if a change to the hashed columns or their byte form moves it, bump
    /// `FINGERPRINT_SCHEME` so that databases forget their old fingerprints instead of reading
    /// every lead as reworded.
    #[test]
    fn the_fingerprint_of_a_known_lead_is_what_this_scheme_has_always_given() {
        assert_eq!(FINGERPRINT_SCHEME, "xxh3-1");
        assert_eq!(fingerprint(&lead()), GOLDEN);
    }

    const GOLDEN: i64 = -1_269_540_831_397_100_636;

    /// Re-scoring computes a lead's new fingerprint from its stored one and the parts its old
    /// and new score, priority and factors make.
    #[test]
    fn the_scored_part_swaps_in_and_out_of_a_fingerprint() {
        let old = lead();
        let mut new = old.clone();
        new.score = 61.0;
        new.priority = "MEDIUM".into();
        if let Some(f) = new.factors.get_mut("urgency") {
            f.weight = 0.3;
            f.contribution = 24.0;
        }
        let swapped = fingerprint(&old)
            ^ scored_part(old.score, &old.priority, &old.factors)
            ^ scored_part(new.score, &new.priority, &new.factors);
        assert_eq!(swapped, fingerprint(&new));
        assert_ne!(fingerprint(&old), fingerprint(&new));
        // Any column's change shows; an empty text differs from none.
        let mut moved = old.clone();
        moved.serial_number = Some(String::new());
        assert_ne!(fingerprint(&moved), fingerprint(&old));
        moved.serial_number = None;
        assert_ne!(fingerprint(&moved), fingerprint(&old));
    }
}
