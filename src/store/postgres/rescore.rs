//! Re-scoring's reads and writes on PostgreSQL: the active leads through a cursor, which sees
//! the table as it was when opened (the rewrites that follow never show up in it), and a
//! chunk's new scores, factors and fingerprints written in one `UPDATE … FROM unnest(…)`.

use fallible_iterator::FallibleIterator;
use postgres::Transaction;

use super::leads::Writer;
use crate::error::Result;
use crate::model::lead::Factor;
use crate::store::api::{Outcomes, ScoredWrite, StoredScore};
use crate::store::texts::Types;
use crate::store::texts::factor_json;

/// The cursor [`Types::read`] reads through.
const CURSOR: &str = "onelead_scored";

/// How many leads are active.
pub fn count_active(tx: &mut Transaction<'_>) -> Result<usize> {
    let n: i64 = tx
        .query_one("SELECT count(*) FROM lead_rows WHERE active = 1", &[])?
        .try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Every stored factor outcome, parsed, by text id; with `titles`, every other text too.
pub fn outcomes(tx: &mut Transaction<'_>, titles: bool) -> Result<Outcomes> {
    let mut rows = tx.query_raw(
        "SELECT text_id, body FROM lead_texts",
        std::iter::empty::<i64>(),
    )?;
    let mut out = Outcomes::default();
    while let Some(r) = rows.next()? {
        let id: i64 = r.try_get(0)?;
        let body: &str = r.try_get(1)?;
        // Titles, actions and lists are not objects; a factor outcome is.
        let factor = body
            .starts_with('{')
            .then(|| serde_json::from_str::<Factor>(body).ok())
            .flatten();
        match factor {
            Some(f) => {
                out.factors.insert(id, f);
            }
            None if titles => {
                out.titles.insert(id, body.to_string());
            }
            None => {}
        }
    }
    Ok(out)
}

/// Re-scoring's reads, with the lead types shared ([`Types`]).
#[derive(Default)]
pub struct Scored(Types);

impl Scored {
    /// The next `limit` active leads. `after` 0 opens the cursor (again); otherwise it is the
    /// position of the last lead read, which [`StoredScore::at`] counts.
    pub fn read(
        &mut self,
        tx: &mut Transaction<'_>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredScore>> {
        if after == 0 {
            tx.batch_execute(&format!(
                "CLOSE ALL; DECLARE {CURSOR} NO SCROLL CURSOR FOR
                 SELECT install_base_id, rule, title_id, lead_id, factor_ids, score, priority,
                   fingerprint, lead_type FROM lead_rows WHERE active = 1"
            ))?;
        }
        let rows = tx.query(&format!("FETCH FORWARD {limit} FROM {CURSOR}"), &[])?;
        let mut out = Vec::with_capacity(rows.len());
        for (n, r) in rows.iter().enumerate() {
            out.push(StoredScore {
                at: after + 1 + i64::try_from(n).unwrap_or(0),
                install_base_id: r.try_get(0)?,
                rule: r.try_get::<_, &str>(1)?.into(),
                title_id: r.try_get(2)?,
                lead_id: r.try_get::<_, &str>(3)?.into(),
                factor_ids: r.try_get(4)?,
                score: r.try_get(5)?,
                priority: r.try_get::<_, &str>(6)?.into(),
                fingerprint: r.try_get(7)?,
                lead_type: self.0.get(r.try_get(8)?),
            });
        }
        Ok(out)
    }
}

/// Writes a batch of re-scored leads: their new factor outcomes first (one statement), then
/// every lead's score, priority, factors and fingerprint in one statement, and the priority
/// events.
pub fn write(tx: &mut Transaction<'_>, w: &mut Writer, batch: &[ScoredWrite<'_>]) -> Result<()> {
    let mut refs = Vec::with_capacity(batch.len());
    for s in batch {
        refs.push(w.texts.factor_ids(&mut w.new_texts, s.factors)?);
    }
    w.new_texts.insert(tx)?;
    let mut factor_ids = Vec::with_capacity(batch.len());
    for (s, ids) in batch.iter().zip(refs) {
        let ids = ids
            .into_iter()
            .map(|id| w.new_texts.resolve(id))
            .collect::<Result<Vec<_>>>()?;
        factor_ids.push(factor_json(s.factors.keys(), &ids));
        if s.priority_from != s.priority {
            w.event(s.lead_id, "priority", Some((s.priority_from, s.priority)))?;
        }
    }
    let ids: Vec<&str> = batch.iter().map(|s| s.lead_id).collect();
    let scores: Vec<f64> = batch.iter().map(|s| s.score).collect();
    let priorities: Vec<&str> = batch.iter().map(|s| s.priority).collect();
    let fingerprints: Vec<i64> = batch.iter().map(|s| s.fingerprint).collect();
    tx.execute(
        "UPDATE lead_rows l SET score = u.score, priority = u.priority,
           factor_ids = u.factor_ids, fingerprint = u.fingerprint, run_id = $6
         FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::bigint[])
           AS u(lead_id, score, priority, factor_ids, fingerprint)
         WHERE l.lead_id = u.lead_id",
        &[
            &ids,
            &scores,
            &priorities,
            &factor_ids,
            &fingerprints,
            &w.run_id,
        ],
    )?;
    w.events.flush(tx)?;
    Ok(())
}
