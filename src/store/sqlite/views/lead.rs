//! One lead by id for `explain`: the lead, its `lead_events` history, and "did you mean" ids
//! when the id is unknown.

use rusqlite::{Connection, OptionalExtension};

use super::query::{lead_columns, lead_from_row};
use crate::error::Result;
use crate::model::lead::Lead;
use crate::store::read::Event;
use crate::store::read::leads::{canonical_id, similar_ids as similar};

/// The lead with this id (any case), active or not.
pub fn lead_by_id(conn: &Connection, id: &str) -> Result<Option<Lead>> {
    let sql = format!(
        "SELECT {} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.lead_id = ?1",
        lead_columns()
    );
    let canonical = canonical_id(id);
    let found = conn
        .query_row(&sql, [&canonical], lead_from_row)
        .optional()?;
    // Ids written by hand into the database may not be upper-case; the exact form still works.
    match found {
        Some(l) => Ok(Some(l)),
        None => Ok(conn.query_row(&sql, [id], lead_from_row).optional()?),
    }
}

/// Up to five ids the user may have meant (see [`similar`]).
pub fn similar_ids(conn: &Connection, id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT lead_id FROM leads ORDER BY lead_id")?;
    let ids: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(similar(ids, id))
}

/// The lead's events, oldest first (uses the `events_lead` index).
pub fn events(conn: &Connection, lead_id: &str) -> Result<Vec<Event>> {
    let mut stmt = conn.prepare(
        "SELECT at, kind, from_status, to_status, note, by, opportunity_id, run_id
         FROM lead_events WHERE lead_id = ?1 ORDER BY at, id",
    )?;
    let rows = stmt.query_map([lead_id], |r| {
        Ok(Event {
            at: r.get(0)?,
            kind: r.get(1)?,
            from_status: r.get(2)?,
            to_status: r.get(3)?,
            note: r.get(4)?,
            by: r.get(5)?,
            opportunity_id: r.get(6)?,
            run_id: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::super::super::testdb;
    use super::*;

    #[test]
    fn finds_ids_in_any_case_and_suggests_near_misses() {
        let (_d, s) = testdb::build();
        let l = lead_by_id(&s.conn, "aaaa0002").unwrap().unwrap();
        assert_eq!(l.lead_id, "AAAA0002");
        assert!(lead_by_id(&s.conn, "ZZZZ9999").unwrap().is_none());
        assert_eq!(
            similar_ids(&s.conn, "cccc").unwrap(),
            ["CCCC0004", "CCCC0005"]
        );
        assert_eq!(similar_ids(&s.conn, "BBBB0008").unwrap(), ["BBBB0003"]);
        assert!(similar_ids(&s.conn, "QQQQQQQQ").unwrap().is_empty());
    }

    #[test]
    fn events_oldest_first() {
        let (_d, s) = testdb::build();
        let e = events(&s.conn, "AAAA0002").unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].to_status.as_deref(), Some("contacted"));
    }
}
