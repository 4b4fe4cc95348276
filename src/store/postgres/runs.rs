//! Runs, small facts about the database (`meta`), and the reps' status changes. A status
//! change locks its lead's row (`FOR UPDATE`) before reading its status: two reps changing the
//! same lead at once are applied one after the other, each recorded from the status the other
//! left, and a run rewriting the lead meanwhile leaves the status alone.

use super::PgTx;
use super::leads::set_meta;
use crate::error::Result;
use crate::store::api::{Mail, MailSent, RunStart, Runs, StatusRecord, Workflow};

impl Runs for PgTx<'_> {
    fn start_run(&mut self, run: &RunStart<'_>) -> Result<i64> {
        Ok(self
            .tx
            .query_one(
                "INSERT INTO runs (started_at, finished_at, command, as_of, inputs, rules_hash,
                 config_hash, counts) VALUES ($1, $1, $2, $3, $4, $5, $5, '{}') RETURNING run_id",
                &[
                    &run.started_at,
                    &run.command,
                    &run.as_of,
                    &run.inputs,
                    &run.rules_hash,
                ],
            )?
            .try_get(0)?)
    }

    fn finish_run(&mut self, run_id: i64, counts: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE runs SET finished_at = $1, counts = $2 WHERE run_id = $3",
            &[&chrono::Utc::now().to_rfc3339(), &counts, &run_id],
        )?;
        Ok(())
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        set_meta(&mut self.tx, key, value)
    }
}

impl Workflow for PgTx<'_> {
    fn lead_owner(&mut self, id: &str) -> Result<Option<Option<String>>> {
        Ok(self
            .tx
            .query_opt("SELECT owner FROM lead_rows WHERE lead_id = $1", &[&id])?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn record_owner(&mut self, change: &crate::store::api::OwnerRecord<'_>) -> Result<()> {
        PgTx::record_owner(self, change)
    }

    fn assign_owners(&mut self, rules: &[crate::assign::AssignRule]) -> Result<usize> {
        PgTx::assign_owners(self, rules)
    }

    fn unowned_leads(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::store::api::UnownedLead>> {
        PgTx::unowned_leads(self, after, limit)
    }

    fn set_owners(&mut self, owners: &[(String, String)]) -> Result<()> {
        PgTx::set_owners(self, owners)
    }

    /// The id as typed or in upper case (ids are upper-case) through the index; only an id
    /// stored in another case is looked for by scanning.
    fn lead_status(&mut self, id: &str) -> Result<Option<(String, String)>> {
        let mut row = self.tx.query_opt(
            "SELECT lead_id, status FROM lead_rows WHERE lead_id IN ($1, upper($1))
             ORDER BY lead_id = $1 DESC LIMIT 1 FOR UPDATE",
            &[&id],
        )?;
        if row.is_none() {
            row = self.tx.query_opt(
                "SELECT lead_id, status FROM lead_rows WHERE upper(lead_id) = upper($1)
                 ORDER BY lead_id LIMIT 1 FOR UPDATE",
                &[&id],
            )?;
        }
        Ok(match row {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        })
    }

    fn record_status(&mut self, c: &StatusRecord<'_>) -> Result<()> {
        self.tx.execute(
            "INSERT INTO lead_events (lead_id, at, kind, from_status, to_status, note, by,
               opportunity_id) VALUES ($1, $2, 'status', $3, $4, $5, $6, $7)",
            &[
                &c.lead_id,
                &c.at,
                &c.from,
                &c.to,
                &c.note,
                &c.by,
                &c.opportunity,
            ],
        )?;
        self.tx.execute(
            "UPDATE lead_rows SET status = $1, updated_at = $2 WHERE lead_id = $3",
            &[&c.to, &c.at, &c.lead_id],
        )?;
        Ok(())
    }
}

impl Mail for PgTx<'_> {
    fn mail_sent(&mut self, key: &str, recipient: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_opt(
                "SELECT sent_at FROM mail_sent WHERE key = $1 AND recipient = $2",
                &[&key, &recipient],
            )?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn record_mail(&mut self, m: &MailSent<'_>) -> Result<()> {
        self.tx.execute(
            "INSERT INTO mail_sent (key, recipient, subject, message_id, lead_ids, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (key, recipient) DO UPDATE SET subject = excluded.subject,
               message_id = excluded.message_id, lead_ids = excluded.lead_ids,
               sent_at = excluded.sent_at",
            &[
                &m.key,
                &m.recipient,
                &m.subject,
                &m.message_id,
                &m.lead_ids,
                &m.at,
            ],
        )?;
        Ok(())
    }
}
