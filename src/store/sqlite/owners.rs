//! Owners of leads on SQLite: the config's assignment rules applied to the leads nobody owns,
//! in one statement of the run's transaction (`crate::assign` has the rules); the leads nobody
//! owns read for the scripted rules, and the owners they chose written; and a manager's change
//! of owner as the journal applies it.

use rusqlite::Connection;
use rusqlite::types::Value;

use rusqlite::params;

use crate::assign::AssignRule;
use crate::error::Result;
use crate::store::api::{OwnerRecord, UnownedLead};

/// The `CASE` that names the first matching rule's owner for a `lead_rows` row, and its values.
fn case(rules: &[AssignRule]) -> (String, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    let list = |col: &str, values: &[String], arg: &mut dyn FnMut(Value) -> String| {
        let ps: Vec<String> = values.iter().map(|v| arg(Value::Text(v.clone()))).collect();
        format!("{col} IN ({})", ps.join(", "))
    };
    let mut whens = Vec::new();
    for r in rules {
        let mut conds: Vec<String> = Vec::new();
        if !r.territory.is_empty() {
            conds.push(list("territory_id", &r.territory, &mut arg));
        }
        if !r.account.is_empty() {
            conds.push(list("account_id", &r.account, &mut arg));
        }
        if let Some(t) = &r.lead_type {
            conds.push(format!(
                "instr(lower(lead_type), lower({})) > 0",
                arg(Value::Text(t.clone()))
            ));
        }
        if !r.family.is_empty() {
            let upper: Vec<String> = r.family.iter().map(|f| f.to_uppercase()).collect();
            conds.push(list("upper(product_family)", &upper, &mut arg));
        }
        if !r.priority.is_empty() {
            let upper: Vec<String> = r.priority.iter().map(|p| p.to_uppercase()).collect();
            conds.push(list("priority", &upper, &mut arg));
        }
        if let Some(s) = r.min_score {
            conds.push(format!("score >= {}", arg(Value::Real(s))));
        }
        let when = if conds.is_empty() {
            "1".to_string()
        } else {
            conds.join(" AND ")
        };
        let owner = arg(Value::Text(r.owner.trim().to_string()));
        whens.push(format!("WHEN {when} THEN {owner}"));
    }
    (format!("CASE {} END", whens.join(" ")), args)
}

/// Gives every active lead without an owner the owner of the first rule it matches; returns
/// how many were placed. Inside the run's transaction, after the leads are written.
pub fn assign_unowned(conn: &Connection, rules: &[AssignRule]) -> Result<usize> {
    if rules.is_empty() {
        return Ok(0);
    }
    let (case, args) = case(rules);
    let sql = format!(
        "UPDATE lead_rows SET owner = {case}
         WHERE owner IS NULL AND active = 1 AND {case} IS NOT NULL"
    );
    Ok(conn.execute(&sql, rusqlite::params_from_iter(args))?)
}

/// See [`crate::store::api::Workflow::unowned_leads`]: the primary key from `after` on, so
/// the pages together read the table once.
pub fn unowned(conn: &Connection, after: Option<&str>, limit: usize) -> Result<Vec<UnownedLead>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.lead_id, l.lead_type, l.rule, t.body, l.priority, l.score, l.territory_id,
                l.account_id, a.name, l.install_base_id, l.product_family, l.product_name,
                l.serial_number, l.days_since_eol, l.estimated_value
         FROM lead_rows l
         LEFT JOIN lead_texts t ON t.text_id = l.title_id
         LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.lead_id > ?1 AND l.owner IS NULL AND l.active = 1
         ORDER BY l.lead_id LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![after.unwrap_or(""), limit], |r| {
        Ok(UnownedLead {
            lead_id: r.get(0)?,
            lead_type: r.get(1)?,
            rule: r.get(2)?,
            title: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            priority: r.get(4)?,
            score: r.get(5)?,
            territory_id: r.get(6)?,
            account_id: r.get(7)?,
            account_name: r.get(8)?,
            install_base_id: r.get::<_, Option<i64>>(9)?.unwrap_or_default(),
            product_family: r.get(10)?,
            product_name: r.get(11)?,
            serial_number: r.get(12)?,
            days_since_eol: r.get(13)?,
            estimated_value: r.get(14)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// See [`crate::store::api::Workflow::set_owners`].
pub fn set_owners(conn: &Connection, owners: &[(String, String)]) -> Result<()> {
    let mut stmt = conn.prepare_cached("UPDATE lead_rows SET owner = ?2 WHERE lead_id = ?1")?;
    for (id, owner) in owners {
        stmt.execute(params![id, owner])?;
    }
    Ok(())
}

/// Records a change of owner and its event.
pub fn record_owner(conn: &Connection, c: &OwnerRecord<'_>) -> Result<()> {
    // Owner events reuse the from/to columns, as priority events do.
    conn.prepare_cached(
        "INSERT INTO lead_events (lead_id, at, kind, from_status, to_status, note, by)
         VALUES (?1, ?2, 'owner', ?3, ?4, ?5, ?6)",
    )?
    .execute(params![c.lead_id, c.at, c.from, c.to, c.note, c.by])?;
    conn.prepare_cached("UPDATE lead_rows SET owner = ?1 WHERE lead_id = ?2")?
        .execute(params![c.to, c.lead_id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::testdb;

    fn owners(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT lead_id || '=' || coalesce(owner, '-') FROM lead_rows ORDER BY lead_id",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn the_first_matching_rule_places_each_unowned_active_lead() {
        let (_d, s) = testdb::build();
        let rules: Vec<AssignRule> = serde_yaml::from_str(
            "- {owner: kim, territory: [T2], family: [networking]}\n\
             - {owner: lee, lead_type: RENEWAL, priority: [medium]}\n\
             - {owner: max, min_score: 90}",
        )
        .unwrap();
        s.conn
            .execute_batch("UPDATE lead_rows SET owner = 'ann' WHERE lead_id = 'AAAA0002'")
            .unwrap();
        assert_eq!(assign_unowned(&s.conn, &rules).unwrap(), 3);
        // AAAA0001 (92.5) max; AAAA0002 kept; BBBB0003 (renewal, medium) lee; CCCC0004
        // (T2, networking) kim; CCCC0005 inactive.
        assert_eq!(
            owners(&s.conn),
            [
                "AAAA0001=max",
                "AAAA0002=ann",
                "BBBB0003=lee",
                "CCCC0004=kim",
                "CCCC0005=-"
            ]
        );
        // Placed once: a second pass changes nothing.
        assert_eq!(assign_unowned(&s.conn, &rules).unwrap(), 0);
        assert_eq!(assign_unowned(&s.conn, &[]).unwrap(), 0);
    }

    #[test]
    fn a_rule_without_conditions_catches_the_rest() {
        let (_d, s) = testdb::build();
        let rules: Vec<AssignRule> = serde_yaml::from_str("- {owner: ops}").unwrap();
        assert_eq!(assign_unowned(&s.conn, &rules).unwrap(), 4);
    }

    #[test]
    fn unowned_leads_page_by_id_and_take_the_owners_chosen() {
        let (_d, s) = testdb::build();
        set_owners(&s.conn, &[("AAAA0002".into(), "ann".into())]).unwrap();
        let ids = |after: Option<&str>, limit| -> Vec<String> {
            unowned(&s.conn, after, limit)
                .unwrap()
                .into_iter()
                .map(|l| l.lead_id)
                .collect()
        };
        // AAAA0002 is owned and CCCC0005 inactive.
        assert_eq!(ids(None, 2), ["AAAA0001", "BBBB0003"]);
        assert_eq!(ids(Some("BBBB0003"), 2), ["CCCC0004"]);
        let first = unowned(&s.conn, None, 1).unwrap().remove(0);
        assert_eq!(
            (first.priority.as_str(), first.territory_id.as_deref()),
            ("CRITICAL", Some("T1"))
        );
        assert!(!first.title.is_empty());
        set_owners(&s.conn, &[("AAAA0001".into(), "kim".into())]).unwrap();
        assert_eq!(ids(None, 10), ["BBBB0003", "CCCC0004"]);
        assert_eq!(
            owners(&s.conn),
            [
                "AAAA0001=kim",
                "AAAA0002=ann",
                "BBBB0003=-",
                "CCCC0004=-",
                "CCCC0005=-"
            ]
        );
    }
}
