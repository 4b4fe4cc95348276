//! A lead's stored columns as every backend writes them: the JSON and joined forms of its list
//! columns, encoded by the worker that evaluated the lead (off the writer thread), and its
//! fingerprint, which tells an unchanged lead from a changed one without encoding it.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use super::api::Placement;
use crate::model::lead::{Factor, Lead};

/// A lead's stored columns that are not its own fields as they are, encoded once.
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
pub fn json<T: serde::Serialize>(v: &T, capacity: usize) -> String {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, v) {
        Ok(()) => String::from_utf8(buf).unwrap_or_else(|_| "null".into()),
        Err(_) => "null".into(),
    }
}

impl Encoded {
    /// Encodes the columns of a lead whose [`fingerprint`] is `fingerprint`.
    pub fn of(lead: &Lead, fingerprint: i64) -> Encoded {
        let estimated_value = estimated_value(lead);
        Encoded {
            reasons: json(&lead.reasons, 128),
            skus: lead.recommended_skus.join(","),
            extra: json(&lead.extra, 16),
            estimated_value,
            fingerprint,
            keys: placement_key(&Placement {
                lead_type: &lead.lead_type,
                account_id: lead.account_id.as_deref(),
                territory_id: lead.territory_id.as_deref(),
                product_family: lead.product_family.as_deref(),
                estimated_value,
            }),
        }
    }
}

/// `extra.estimated_value`: a column of its own, so pipeline sums read an index instead of
/// parsing JSON.
pub fn estimated_value(lead: &Lead) -> Option<f64> {
    lead.extra
        .get("estimated_value")
        .and_then(serde_json::Value::as_f64)
}

/// A hash of the columns a lead's indexes place it by besides `active`, `priority` and `score`
/// (which the ledger compares directly). When none of them changed, an update can leave the
/// indexes alone (SQLite touches only an index whose columns the `SET` names; PostgreSQL's
/// updates that change no indexed column are HOT): rewriting five index entries per lead made
/// a re-evaluation that changed only text 3–4× slower. Kept in memory only, never stored.
pub fn placement_key(p: &Placement<'_>) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (
        p.lead_type,
        p.account_id,
        p.territory_id,
        p.product_family,
        p.estimated_value.map(f64::to_bits),
    )
        .hash(&mut h);
    h.finish()
}

/// A hash of every column a re-evaluation can change, taken from the lead's fields rather than
/// its JSON: a worker finds an unchanged lead without encoding it (most leads, after an edit).
/// The XOR of independent parts: the lead's own columns ([`base_hash`]), its score and priority
/// ([`score_hash`]) and each factor ([`factor_hash`]). A re-evaluation that changes only the
/// factors and the score (see `score::rescore`) then computes the new fingerprint from the
/// stored one ([`scored_part`]), without the rest of the lead.
/// SipHash with fixed keys: stable across runs of one build. A different build may hash
/// differently, which only costs one full rewrite.
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
        h ^= factor_hash(name, f);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Everything [`fingerprint`] covers but the score, the priority and the factors.
fn base_hash(lead: &Lead) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (
        &lead.lead_type,
        &lead.rule,
        lead.install_base_id,
        &lead.serial_number,
        &lead.product_name,
        &lead.product_family,
        &lead.account_id,
        &lead.territory_id,
    )
        .hash(&mut h);
    (
        &lead.title,
        &lead.description,
        &lead.recommended_action,
        &lead.reasons,
        &lead.recommended_skus,
        lead.days_since_eol,
    )
        .hash(&mut h);
    lead.recommended_services.len().hash(&mut h);
    for r in lead.recommended_services.iter() {
        (&r.service, &r.skus, r.priority, &r.product).hash(&mut h);
    }
    // Usually empty; JSON is the one stable form of arbitrary values.
    if lead.extra.is_empty() {
        0_u8.hash(&mut h);
    } else {
        json(&lead.extra, 64).hash(&mut h);
    }
    h.finish()
}

/// The score and priority's part of [`fingerprint`].
pub fn score_hash(score: f64, priority: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (score.to_bits(), priority).hash(&mut h);
    h.finish()
}

/// One factor's part: its name is in it, so two factors never cancel out.
fn factor_hash(name: &str, f: &Factor) -> u64 {
    factor_part(name, f, reasons_digest(&f.reasons))
}

/// [`factor_hash`] with the digest of the factor's reasons given: re-scoring finds most of them
/// already made (one per stored outcome), where hashing the strings was most of its hashing.
pub fn factor_part(name: &str, f: &Factor, reasons: u64) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    let bits = [f.value, f.weight, f.contribution].map(f64::to_bits);
    (name, bits, reasons).hash(&mut h);
    h.finish()
}

/// The digest of a factor's reasons that [`factor_part`] takes.
pub fn reasons_digest(reasons: &[String]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    reasons.hash(&mut h);
    h.finish()
}

/// The scheme [`fingerprint`] hashes with, stored beside the fingerprints (see
/// [`super::api::Leads::adopt_fingerprints`]).
pub const FINGERPRINT_SCHEME: &str = "siphash13-1";
