//! `onelead digest`: the morning summary for a manager, per territory, as Markdown (default),
//! JSON or a table; the weekly territory summary and the aging alerts likewise (`--kind`); and,
//! with `--send`, any of them as e-mail (`mail`), each message recorded once the server took it.

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::cli::{DigestArgs, DigestFormat, DigestKind};
use crate::error::{Error, Result};
use crate::lifecycle::digest::{self, Digest};
use crate::lifecycle::weekly::{self, Weekly};
use crate::mail::digest::{Content, messages};
use crate::mail::{self, Outgoing, Server};
use crate::pipeline::Settings;
use crate::report::{self, Style, Table};
use crate::store::Store;
use crate::store::api::MailSent;

/// Runs `onelead digest`.
pub fn run(args: &DigestArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    let mut reader = super::open_reader(&settings.db)?;
    let (now, aging_days) = (Utc::now(), settings.cfg.aging_days);
    let content = match args.kind {
        DigestKind::Daily => {
            Content::Daily(digest::digest(&mut reader, args.since, now, aging_days)?)
        }
        DigestKind::Aging => {
            let mut d = digest::digest(&mut reader, args.since, now, aging_days)?;
            for t in &mut d.territories {
                t.new_leads.clear();
                t.priority_changes.clear();
            }
            d.territories.retain(|t| !t.aging.is_empty());
            Content::Aging(d)
        }
        DigestKind::Weekly => Content::Weekly(weekly::weekly(&mut reader, now, aging_days)?),
    };
    if args.send {
        return send(args, &settings, &content, now);
    }
    let out = &mut std::io::stdout().lock();
    match (args.format(), &content) {
        (DigestFormat::Markdown, Content::Daily(d)) => report::markdown::digest(out, d)?,
        (DigestFormat::Markdown, c) => {
            out.write_all(report::mail::text(&c.doc(None)).as_bytes())?;
        }
        (DigestFormat::Json, Content::Daily(d) | Content::Aging(d)) => report::json::write(out, d)?,
        (DigestFormat::Json, Content::Weekly(w)) => report::json::write(out, w)?,
        (DigestFormat::Csv, Content::Daily(d) | Content::Aging(d)) => {
            report::csv::write(out, &table(d))?;
        }
        (DigestFormat::Csv, Content::Weekly(w)) => report::csv::write(out, &weekly_table(w))?,
        (DigestFormat::Table, Content::Daily(d) | Content::Aging(d)) => {
            if d.snapshots_compared > 0 {
                let c = report::snapshots::change_summary(&d.install_base);
                report::line(out, &format!("install base: {c}"))?;
            }
            let t = table(d);
            if t.rows.is_empty() {
                report::line(out, &format!("nothing to report since {}", d.since))?;
            }
            report::table::write(out, &t, Style::detect())?;
        }
        (DigestFormat::Table, Content::Weekly(w)) => {
            report::table::write(out, &weekly_table(w), Style::detect())?;
        }
    }
    Ok(())
}

/// E-mails the digest, or writes it as `.eml` files with `--dry-run`. What the store says went
/// before is skipped unless `--resend`; each message is recorded as soon as the server took it.
fn send(
    args: &DigestArgs,
    settings: &Settings,
    content: &Content,
    now: DateTime<Utc>,
) -> Result<()> {
    let cfg = &settings.cfg.mail;
    let from = cfg.from.as_deref().ok_or_else(|| {
        Error::Config(
            "no sender: set `mail.from` in the config (e.g. `OneLead <onelead@example.com>`)"
                .into(),
        )
    })?;
    let from = mail::parse_mailbox(from).map_err(Error::Config)?;
    let (outgoing, skipped) = messages(content, &args.to, cfg, now)?;
    let out = &mut std::io::stdout().lock();
    for s in &skipped {
        writeln!(out, "not sent to {}: {}", s.recipient, s.why)?;
    }
    if args.dry_run {
        for o in &outgoing {
            let path = mail::write_eml(&args.out, o, &mail::compose(&from, o)?)?;
            writeln!(out, "wrote {} (to {})", path.display(), o.recipient.email)?;
        }
        return Ok(());
    }
    let server = Server::connect(&cfg.smtp, args.smtp.as_deref())?;
    let mut store = Store::open_existing(&settings.db)?;
    let mut sent = 0;
    for o in &outgoing {
        let to = o.recipient.email.to_string();
        if !args.resend {
            let mut tx = store.begin()?;
            if let Some(at) = tx.mail_sent(&o.key, &to)? {
                writeln!(
                    out,
                    "already sent to {to} at {at} ({}); `--resend` sends it again",
                    o.key
                )?;
                continue;
            }
        }
        let m = mail::compose(&from, o)?;
        server.send(&m, &o.recipient).map_err(|e| match e {
            Error::Mail(msg) if sent > 0 => Error::Mail(format!(
                "{msg}\n{sent} sent before it are recorded; running again sends only the rest"
            )),
            other => other,
        })?;
        record(&mut store, o, &to, &mail::message_id(&m))?;
        sent += 1;
        writeln!(out, "sent to {to}: {}", o.subject)?;
    }
    Ok(())
}

/// Records that `o` went to `to`, in its own transaction: a later failure must not undo it.
fn record(store: &mut Store, o: &Outgoing, to: &str, message_id: &str) -> Result<()> {
    let mut tx = store.begin()?;
    tx.record_mail(&MailSent {
        key: &o.key,
        recipient: to,
        subject: &o.subject,
        message_id,
        lead_ids: &o.lead_ids.join(" "),
        at: &crate::lifecycle::now_utc(),
    })?;
    tx.commit()?;
    Ok(())
}

/// One row per territory of the weekly summary.
fn weekly_table(w: &Weekly) -> Table {
    let mut t = Table::new(&[
        "territory",
        "leads",
        "critical",
        "high",
        "medium",
        "low",
        "avg_score",
        "pipeline",
        "new",
        "priority_changes",
        "status_changes",
        "aging",
    ]);
    for r in &w.territories {
        let p = &r.by_priority;
        t.push(vec![
            r.territory_id.clone(),
            r.leads.to_string(),
            p.critical.to_string(),
            p.high.to_string(),
            p.medium.to_string(),
            p.low.to_string(),
            r.avg_score.map(report::score).unwrap_or_default(),
            r.pipeline.map(report::money).unwrap_or_default(),
            r.new_leads.len().to_string(),
            r.priority_changes.to_string(),
            r.status_summary(),
            r.aging.to_string(),
        ]);
    }
    t
}

/// One row per listed lead, with the section it is listed in.
fn table(d: &Digest) -> Table {
    let mut t = Table::new(&[
        "territory",
        "section",
        "lead_id",
        "priority",
        "score",
        "type",
        "account",
        "detail",
    ]);
    for terr in &d.territories {
        let sections = terr
            .new_leads
            .iter()
            .map(|l| ("new", l, String::new()))
            .chain(
                terr.priority_changes
                    .iter()
                    .map(|c| ("priority", &c.lead, format!("{} → {}", c.from, c.to))),
            )
            .chain(
                terr.aging
                    .iter()
                    .map(|l| ("aging", l, format!("{} since {}", l.status, l.updated_at))),
            );
        for (section, l, detail) in sections {
            t.push(vec![
                terr.territory_id.clone(),
                section.to_string(),
                l.lead_id.clone(),
                l.priority.clone(),
                report::score(l.score),
                l.lead_type.clone(),
                l.account_name.clone().unwrap_or_default(),
                detail,
            ]);
        }
    }
    t
}
