//! Re-scoring's reads and writes: the active leads in table order with their stored factor
//! outcomes, and updates by row id (no index search), each touching only the columns that moved.

use rusqlite::{Connection, params};

use super::leads::Writer;
use crate::error::Result;
use crate::model::lead::Factor;
use crate::store::api::{Outcomes, ScoredWrite, StoredScore};
use crate::store::texts::Types;

/// How many leads are active.
pub fn count_active(conn: &Connection) -> Result<usize> {
    let n: i64 = conn.query_row("SELECT count(*) FROM lead_rows WHERE active = 1", [], |r| {
        r.get(0)
    })?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Every stored factor outcome, parsed, by text id (tens of thousands at a million leads, each
/// shared by many); with `titles`, every other text too, among which the leads' titles are.
pub fn outcomes(conn: &Connection, titles: bool) -> Result<Outcomes> {
    let mut stmt = conn.prepare("SELECT text_id, body FROM lead_texts")?;
    let mut rows = stmt.query([])?;
    let mut out = Outcomes::default();
    while let Some(r) = rows.next()? {
        let body = r.get_ref(1)?.as_str().unwrap_or("");
        // Titles, actions and lists are not objects; a factor outcome is.
        let factor = body
            .starts_with('{')
            .then(|| serde_json::from_str::<Factor>(body).ok())
            .flatten();
        match factor {
            Some(f) => {
                out.factors.insert(r.get(0)?, f);
            }
            None if titles => {
                out.titles.insert(r.get(0)?, body.to_string());
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
    /// The next active leads after `rowid`, in table order, so that the updates (by rowid: no
    /// index search) walk the table's pages once. Each chunk is read whole before anything is
    /// written: an update under an open scan of the same table could move a row ahead of it,
    /// and indexes cannot be dropped under it; a row's rowid never changes, so the next read
    /// starts where the last one stopped. `NOT INDEXED`: with `active = 1` the planner would
    /// take the score index and sort every chunk.
    pub fn read(
        &mut self,
        conn: &Connection,
        rowid: i64,
        limit: usize,
    ) -> Result<Vec<StoredScore>> {
        let mut stmt = conn.prepare_cached(
            "SELECT rowid, install_base_id, rule, title_id, lead_id, factor_ids, score, priority,
             fingerprint, lead_type
             FROM lead_rows NOT INDEXED WHERE rowid > ?1 AND active = 1 ORDER BY rowid LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![rowid, limit as i64])?;
        let mut out = Vec::with_capacity(limit);
        while let Some(r) = rows.next()? {
            out.push(self.stored(r)?);
        }
        Ok(out)
    }

    fn stored(&mut self, r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredScore> {
        Ok(StoredScore {
            at: r.get(0)?,
            install_base_id: r.get(1)?,
            rule: r.get_ref(2)?.as_str()?.into(),
            title_id: r.get(3)?,
            lead_id: r.get_ref(4)?.as_str()?.into(),
            factor_ids: r.get(5)?,
            score: r.get(6)?,
            priority: r.get_ref(7)?.as_str()?.into(),
            fingerprint: r.get(8)?,
            lead_type: self.0.get(r.get_ref(9)?.as_str()?),
        })
    }
}

/// Writes a re-scored lead in its row: what a full write would write for it, without the rest
/// of the lead.
pub fn write(conn: &Connection, writer: &mut Writer, w: &ScoredWrite<'_>) -> Result<()> {
    let factor_ids = writer.factor_ids(conn, w.factors)?;
    let run_id = writer.run_id();
    if w.moved {
        writer.moving(conn)?;
        // SQLite updates an index over every column the statement sets, changed or not:
        // the priority is set only where it moves, so the indexes over it (and not over
        // the score) are touched only there.
        let sql = if w.priority_from == w.priority {
            "UPDATE lead_rows SET score = ?2, factor_ids = ?4, fingerprint = ?5, run_id = ?6
             WHERE rowid = ?1"
        } else {
            "UPDATE lead_rows SET score = ?2, priority = ?3, factor_ids = ?4,
             fingerprint = ?5, run_id = ?6 WHERE rowid = ?1"
        };
        conn.prepare_cached(sql)?.execute(params![
            w.at,
            w.score,
            w.priority,
            factor_ids,
            w.fingerprint,
            run_id
        ])?;
    } else {
        conn.prepare_cached(
            "UPDATE lead_rows SET factor_ids = ?2, fingerprint = ?3, run_id = ?4
             WHERE rowid = ?1",
        )?
        .execute(params![w.at, factor_ids, w.fingerprint, run_id])?;
    }
    writer.priority_event(conn, w.lead_id, w.priority_from, w.priority)
}
