//! Owners of leads on PostgreSQL, as on SQLite (`store/sqlite/owners.rs`): the config's
//! assignment rules applied to the leads nobody owns in one statement of the run's
//! transaction, the leads nobody owns read for the scripted rules and the owners they chose
//! written, and a manager's change of owner as the journal applies it.

use postgres::Transaction;
use postgres_types::ToSql;

use super::PgTx;
use crate::assign::AssignRule;
use crate::error::Result;
use crate::store::api::{OwnerRecord, UnownedLead};

/// A bound value of the assignment `CASE`.
#[derive(Debug)]
enum Arg {
    Text(String),
    Texts(Vec<String>),
    Real(f64),
}

impl Arg {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Text(s) => s,
            Arg::Texts(v) => v,
            Arg::Real(x) => x,
        }
    }
}

/// The `CASE` that names the first matching rule's owner for a `lead_rows` row, and its values.
fn case(rules: &[AssignRule]) -> (String, Vec<Arg>) {
    let mut args: Vec<Arg> = Vec::new();
    let mut arg = |v: Arg| {
        args.push(v);
        format!("${}", args.len())
    };
    let mut whens = Vec::new();
    for r in rules {
        let mut conds: Vec<String> = Vec::new();
        let mut list = |col: &str, values: Vec<String>, arg: &mut dyn FnMut(Arg) -> String| {
            conds.push(format!("{col} = ANY({}::text[])", arg(Arg::Texts(values))));
        };
        if !r.territory.is_empty() {
            list("territory_id", r.territory.clone(), &mut arg);
        }
        if !r.account.is_empty() {
            list("account_id", r.account.clone(), &mut arg);
        }
        if !r.family.is_empty() {
            let upper = r.family.iter().map(|f| f.to_uppercase()).collect();
            list("upper(product_family)", upper, &mut arg);
        }
        if !r.priority.is_empty() {
            let upper = r.priority.iter().map(|p| p.to_uppercase()).collect();
            list("priority", upper, &mut arg);
        }
        if let Some(t) = &r.lead_type {
            conds.push(format!(
                "strpos(lower(lead_type), lower({}::text)) > 0",
                arg(Arg::Text(t.clone()))
            ));
        }
        if let Some(s) = r.min_score {
            conds.push(format!("score >= {}::float8", arg(Arg::Real(s))));
        }
        let when = if conds.is_empty() {
            "true".to_string()
        } else {
            conds.join(" AND ")
        };
        let owner = arg(Arg::Text(r.owner.trim().to_string()));
        whens.push(format!("WHEN {when} THEN {owner}::text"));
    }
    (format!("CASE {} END", whens.join(" ")), args)
}

/// See [`crate::store::api::Workflow::assign_owners`].
fn assign_unowned(tx: &mut Transaction<'_>, rules: &[AssignRule]) -> Result<usize> {
    if rules.is_empty() {
        return Ok(0);
    }
    let (case, args) = case(rules);
    let sql = format!(
        "UPDATE lead_rows SET owner = {case}
         WHERE owner IS NULL AND active = 1 AND {case} IS NOT NULL"
    );
    let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(Arg::sql).collect();
    Ok(usize::try_from(tx.execute(&sql, &refs)?).unwrap_or(usize::MAX))
}

/// See [`crate::store::api::Workflow::unowned_leads`]: the primary key from `after` on.
fn unowned(
    tx: &mut Transaction<'_>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<UnownedLead>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.query(
        "SELECT l.lead_id, l.lead_type, l.rule, t.body, l.priority, l.score, l.territory_id,
                l.account_id, a.name, l.install_base_id, l.product_family, l.product_name,
                l.serial_number, l.days_since_eol, l.estimated_value
         FROM lead_rows l
         LEFT JOIN lead_texts t ON t.text_id = l.title_id
         LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.lead_id > $1 AND l.owner IS NULL AND l.active = 1
         ORDER BY l.lead_id LIMIT $2",
        &[&after.unwrap_or(""), &limit],
    )?;
    rows.iter()
        .map(|r| {
            Ok(UnownedLead {
                lead_id: r.try_get(0)?,
                lead_type: r.try_get(1)?,
                rule: r.try_get(2)?,
                title: r.try_get::<_, Option<String>>(3)?.unwrap_or_default(),
                priority: r.try_get(4)?,
                score: r.try_get(5)?,
                territory_id: r.try_get(6)?,
                account_id: r.try_get(7)?,
                account_name: r.try_get(8)?,
                install_base_id: r.try_get::<_, Option<i64>>(9)?.unwrap_or_default(),
                product_family: r.try_get(10)?,
                product_name: r.try_get(11)?,
                serial_number: r.try_get(12)?,
                days_since_eol: r.try_get(13)?,
                estimated_value: r.try_get(14)?,
            })
        })
        .collect()
}

impl PgTx<'_> {
    pub(super) fn record_owner(&mut self, c: &OwnerRecord<'_>) -> Result<()> {
        // Owner events reuse the from/to columns, as priority events do.
        self.tx.execute(
            "INSERT INTO lead_events (lead_id, at, kind, from_status, to_status, note, by)
             VALUES ($1, $2, 'owner', $3, $4, $5, $6)",
            &[&c.lead_id, &c.at, &c.from, &c.to, &c.note, &c.by],
        )?;
        self.tx.execute(
            "UPDATE lead_rows SET owner = $1 WHERE lead_id = $2",
            &[&c.to, &c.lead_id],
        )?;
        Ok(())
    }

    pub(super) fn assign_owners(&mut self, rules: &[AssignRule]) -> Result<usize> {
        assign_unowned(&mut self.tx, rules)
    }

    pub(super) fn unowned_leads(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<UnownedLead>> {
        unowned(&mut self.tx, after, limit)
    }

    pub(super) fn set_owners(&mut self, owners: &[(String, String)]) -> Result<()> {
        let (ids, names): (Vec<&str>, Vec<&str>) = owners
            .iter()
            .map(|(id, owner)| (id.as_str(), owner.as_str()))
            .unzip();
        self.tx.execute(
            "UPDATE lead_rows l SET owner = o.owner
             FROM unnest($1::text[], $2::text[]) AS o(lead_id, owner)
             WHERE l.lead_id = o.lead_id",
            &[&ids, &names],
        )?;
        Ok(())
    }
}
