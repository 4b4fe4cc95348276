//! Runs, small facts about the database (`meta`), the reps' status changes and the digest
//! e-mails sent.

use rusqlite::{OptionalExtension, params};

use super::SqliteTx;
use crate::error::Result;
use crate::store::api::{
    Mail, MailSent, OwnerRecord, RunStart, Runs, StatusRecord, UnownedLead, Workflow,
};

impl Runs for SqliteTx<'_> {
    fn start_run(&mut self, run: &RunStart<'_>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO runs (started_at, finished_at, command, as_of, inputs, rules_hash,
             config_hash, counts) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?5, '{}')",
            params![
                run.started_at,
                run.command,
                run.as_of,
                run.inputs,
                run.rules_hash
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn finish_run(&mut self, run_id: i64, counts: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET finished_at = ?1, counts = ?2 WHERE run_id = ?3",
            params![chrono::Utc::now().to_rfc3339(), counts, run_id],
        )?;
        Ok(())
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            [key, value],
        )?;
        Ok(())
    }
}

impl Workflow for SqliteTx<'_> {
    fn lead_owner(&mut self, id: &str) -> Result<Option<Option<String>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT owner FROM lead_rows WHERE lead_id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    fn record_owner(&mut self, change: &OwnerRecord<'_>) -> Result<()> {
        super::owners::record_owner(self.conn, change)
    }

    fn assign_owners(&mut self, rules: &[crate::assign::AssignRule]) -> Result<usize> {
        super::owners::assign_unowned(self.conn, rules)
    }

    fn unowned_leads(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<UnownedLead>> {
        super::owners::unowned(self.conn, after, limit)
    }

    fn set_owners(&mut self, owners: &[(String, String)]) -> Result<()> {
        super::owners::set_owners(self.conn, owners)
    }

    fn lead_status(&mut self, id: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn
            .prepare_cached(
                // The exact id first (the primary key); hand-written ids in another case after.
                "SELECT lead_id, status FROM lead_rows WHERE lead_id = ?1
                 UNION ALL
                 SELECT lead_id, status FROM lead_rows WHERE upper(lead_id) = upper(?1)
                   AND NOT EXISTS (SELECT 1 FROM lead_rows WHERE lead_id = ?1)
                 LIMIT 1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn record_status(&mut self, c: &StatusRecord<'_>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO lead_events (lead_id, at, kind, from_status, to_status, note, by,
                   opportunity_id) VALUES (?1, ?2, 'status', ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                c.lead_id,
                c.at,
                c.from,
                c.to,
                c.note,
                c.by,
                c.opportunity
            ])?;
        self.conn
            .prepare_cached("UPDATE lead_rows SET status = ?1, updated_at = ?2 WHERE lead_id = ?3")?
            .execute(params![c.to, c.at, c.lead_id])?;
        Ok(())
    }
}

impl Mail for SqliteTx<'_> {
    fn mail_sent(&mut self, key: &str, recipient: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT sent_at FROM mail_sent WHERE key = ?1 AND recipient = ?2")?
            .query_row([key, recipient], |r| r.get(0))
            .optional()?)
    }

    fn record_mail(&mut self, m: &MailSent<'_>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO mail_sent (key, recipient, subject, message_id, lead_ids,
                   sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                m.key,
                m.recipient,
                m.subject,
                m.message_id,
                m.lead_ids,
                m.at
            ])?;
        Ok(())
    }
}
