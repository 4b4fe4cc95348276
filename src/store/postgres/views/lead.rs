//! One lead by id for `explain`: the lead, its `lead_events` history, and "did you mean" ids
//! when the id is unknown.

use postgres::Client;

use super::query::lead_from_row;
use crate::error::Result;
use crate::model::lead::Lead;
use crate::store::columns::select_list;
use crate::store::read::Event;
use crate::store::read::leads::{canonical_id, similar_ids as similar};

/// The lead with this id (any case), active or not.
pub fn lead_by_id(client: &mut Client, id: &str) -> Result<Option<Lead>> {
    let sql = format!(
        "SELECT {} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.lead_id = $1",
        select_list()
    );
    // Ids written by hand into the database may not be upper-case; the exact form still works.
    for form in [canonical_id(id), id.to_string()] {
        if let Some(r) = client.query_opt(&sql, &[&form])? {
            return Ok(Some(lead_from_row(&r)?));
        }
    }
    Ok(None)
}

/// Up to five ids the user may have meant (see [`similar`]).
pub fn similar_ids(client: &mut Client, id: &str) -> Result<Vec<String>> {
    let ids = client
        .query("SELECT lead_id FROM lead_rows ORDER BY lead_id", &[])?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect::<Result<_>>()?;
    Ok(similar(ids, id))
}

/// The lead's events, oldest first (uses the `events_lead` index).
pub fn events(client: &mut Client, lead_id: &str) -> Result<Vec<Event>> {
    client
        .query(
            "SELECT at, kind, from_status, to_status, note, by, opportunity_id, run_id
             FROM lead_events WHERE lead_id = $1 ORDER BY at, id",
            &[&lead_id],
        )?
        .iter()
        .map(|r| {
            Ok(Event {
                at: r.try_get(0)?,
                kind: r.try_get(1)?,
                from_status: r.try_get(2)?,
                to_status: r.try_get(3)?,
                note: r.try_get(4)?,
                by: r.try_get(5)?,
                opportunity_id: r.try_get(6)?,
                run_id: r.try_get(7)?,
            })
        })
        .collect()
}
