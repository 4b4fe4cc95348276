//! The digests as e-mail: each kind (the daily digest, the aging alerts, the weekly territory
//! summary) becomes a [`Doc`] — headings and lists of leads — which prints as plain text (the
//! text part, and what `--format markdown` shows for the weekly and aging kinds) and as HTML
//! (the HTML part, every piece of data escaped).

use std::fmt::Write as _;

use super::html::esc;
use super::{money, score};
use crate::lifecycle::digest::{Digest, DigestLead};
use crate::lifecycle::weekly::Weekly;

/// A lead in a list, with what the list says about it.
#[derive(Debug, Clone)]
pub struct Item {
    /// The lead.
    pub lead: DigestLead,
    /// `HIGH → CRITICAL`, `contacted since …`; may be empty.
    pub detail: String,
}

/// A list of leads under a heading.
#[derive(Debug, Clone)]
pub struct Group {
    /// The heading.
    pub heading: String,
    /// The leads.
    pub items: Vec<Item>,
}

/// One territory's part (or another part) of a message.
#[derive(Debug, Clone)]
pub struct Section {
    /// The heading.
    pub heading: String,
    /// Lines of figures before the lists.
    pub notes: Vec<String>,
    /// The lists.
    pub groups: Vec<Group>,
}

/// A message's content, before it is text or HTML.
#[derive(Debug, Clone)]
pub struct Doc {
    /// The title (and the subject's start).
    pub title: String,
    /// One line of totals (the subject's end).
    pub summary: String,
    /// The sections.
    pub sections: Vec<Section>,
}

impl Doc {
    /// Every lead id the message lists, once each, in order.
    pub fn lead_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for item in self
            .sections
            .iter()
            .flat_map(|s| &s.groups)
            .flat_map(|g| &g.items)
        {
            if !ids.contains(&item.lead.lead_id) {
                ids.push(item.lead.lead_id.clone());
            }
        }
        ids
    }

    /// True when there is nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The daily digest: new CRITICAL/HIGH leads, priority changes and aging leads per territory.
pub fn daily(d: &Digest) -> Doc {
    let (new, changed, aging) = d.totals();
    let territories = d
        .territories
        .iter()
        .map(|t| Section {
            heading: format!("Territory {}", t.territory_id),
            notes: Vec::new(),
            groups: [
                group(
                    "New CRITICAL/HIGH leads",
                    t.new_leads.iter().map(|l| (l, String::new())),
                ),
                group(
                    "Priority changes",
                    t.priority_changes
                        .iter()
                        .map(|c| (&c.lead, format!("{} → {}", c.from, c.to))),
                ),
                group("Aging without action", t.aging.iter().map(aging_item)),
            ]
            .into_iter()
            .flatten()
            .collect(),
        })
        .collect::<Vec<_>>();
    let sections = install_base(d).into_iter().chain(territories).collect();
    Doc {
        title: format!("OneLead digest since {}", d.since),
        summary: format!(
            "{} new CRITICAL/HIGH, {}, {} aging",
            new,
            plural(changed, "priority change", "priority changes"),
            aging
        ),
        sections,
    }
}

/// What changed in the install base between the digest's snapshots, when any were compared
/// and something changed: the whole install base's figures, so a territory's part leaves them
/// out (`mail::digest` clears them there).
fn install_base(d: &Digest) -> Option<Section> {
    (d.snapshots_compared > 0 && !d.install_base.is_empty()).then(|| Section {
        heading: "Install base".into(),
        notes: vec![format!(
            "Since the previous snapshot: {}",
            super::snapshots::change_summary(&d.install_base)
        )],
        groups: Vec::new(),
    })
}

/// The aging alerts: open leads with no status change for more than `aging_days`.
pub fn aging(d: &Digest) -> Doc {
    let (_, _, aging) = d.totals();
    let sections = d
        .territories
        .iter()
        .filter(|t| !t.aging.is_empty())
        .map(|t| Section {
            heading: format!("Territory {}", t.territory_id),
            notes: Vec::new(),
            groups: group(
                "Aging without action, oldest first",
                t.aging.iter().map(aging_item),
            )
            .into_iter()
            .collect(),
        })
        .collect();
    Doc {
        title: format!(
            "OneLead aging alert: no status change for more than {} days",
            d.aging_days
        ),
        summary: plural(aging, "aging lead", "aging leads"),
        sections,
    }
}

/// The weekly territory summary.
pub fn weekly(w: &Weekly) -> Doc {
    let sections = w
        .territories
        .iter()
        .map(|t| {
            let p = &t.by_priority;
            let name = t
                .territory_name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let mut notes = vec![
                format!(
                    "{} active: {} CRITICAL, {} HIGH, {} MEDIUM, {} LOW; average score {}; pipeline {}",
                    plural(t.leads as usize, "lead", "leads"),
                    p.critical,
                    p.high,
                    p.medium,
                    p.low,
                    t.avg_score.map_or_else(|| "–".into(), score),
                    t.pipeline.map_or_else(|| "–".into(), money),
                ),
                format!(
                    "This week: {} new CRITICAL/HIGH, {}; {} aging",
                    t.new_leads.len(),
                    plural(t.priority_changes, "priority change", "priority changes"),
                    t.aging
                ),
                format!("Status changes this week: {}", t.status_summary()),
            ];
            if t.accounts > 0 {
                notes.push(plural(t.accounts as usize, "account", "accounts"));
            }
            Section {
                heading: format!("Territory {}{name}", t.territory_id),
                notes,
                groups: [
                    group("New this week", t.new_leads.iter().map(|l| (l, String::new()))),
                    group("Best open leads", t.top.iter().map(|l| (l, l.status.clone()))),
                ]
                .into_iter()
                .flatten()
                .collect(),
            }
        })
        .collect();
    let leads: i64 = w.territories.iter().map(|t| t.leads).sum();
    let new: usize = w.territories.iter().map(|t| t.new_leads.len()).sum();
    Doc {
        title: format!("OneLead weekly summary, {} (since {})", w.week, w.since),
        summary: format!(
            "{} in {}, {new} new CRITICAL/HIGH this week",
            plural(leads as usize, "active lead", "active leads"),
            plural(w.territories.len(), "territory", "territories"),
        ),
        sections,
    }
}

fn aging_item(l: &DigestLead) -> (&DigestLead, String) {
    (l, format!("{} since {}", l.status, l.updated_at))
}

fn group<'a>(
    heading: &str,
    items: impl Iterator<Item = (&'a DigestLead, String)>,
) -> Option<Group> {
    let items: Vec<Item> = items
        .map(|(lead, detail)| Item {
            lead: lead.clone(),
            detail,
        })
        .collect();
    (!items.is_empty()).then(|| Group {
        heading: heading.to_string(),
        items,
    })
}

/// The plain-text part.
pub fn text(doc: &Doc) -> String {
    let mut out = format!("{}\n\n{}.\n", doc.title, doc.summary);
    if doc.is_empty() {
        out.push_str("\nNothing to report.\n");
    }
    for s in &doc.sections {
        let _ = write!(out, "\n== {} ==\n", s.heading);
        for n in &s.notes {
            let _ = writeln!(out, "{n}");
        }
        for g in &s.groups {
            let _ = write!(out, "\n{}:\n", g.heading);
            for i in &g.items {
                let _ = writeln!(out, "- {}", text_item(i));
            }
        }
    }
    out
}

fn text_item(i: &Item) -> String {
    let l = &i.lead;
    let mut s = format!(
        "{} {} {} {}",
        l.lead_id,
        l.priority,
        score(l.score),
        l.title
    );
    if let Some(a) = &l.account_name {
        let _ = write!(s, " — {a}");
    }
    if let Some(sn) = &l.serial_number {
        let _ = write!(s, " (S/N {sn})");
    }
    if !i.detail.is_empty() {
        let _ = write!(s, " [{}]", i.detail);
    }
    s
}

/// The HTML part: a small self-contained page, every value escaped.
pub fn html(doc: &Doc) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:sans-serif\">\n",
    );
    let _ = writeln!(
        out,
        "<h1>{}</h1>\n<p>{}.</p>",
        esc(&doc.title),
        esc(&doc.summary)
    );
    if doc.is_empty() {
        out.push_str("<p>Nothing to report.</p>\n");
    }
    for s in &doc.sections {
        let _ = writeln!(out, "<h2>{}</h2>", esc(&s.heading));
        for n in &s.notes {
            let _ = writeln!(out, "<p>{}</p>", esc(n));
        }
        for g in &s.groups {
            let _ = writeln!(out, "<h3>{}</h3>\n<ul>", esc(&g.heading));
            for i in &g.items {
                let _ = writeln!(out, "<li>{}</li>", html_item(i));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</body></html>\n");
    out
}

fn html_item(i: &Item) -> String {
    let l = &i.lead;
    let mut s = format!(
        "<code>{}</code> <b>{}</b> {} {}",
        esc(&l.lead_id),
        esc(&l.priority),
        score(l.score),
        esc(&l.title)
    );
    if let Some(a) = &l.account_name {
        let _ = write!(s, " — {}", esc(a));
    }
    if let Some(sn) = &l.serial_number {
        let _ = write!(s, " (S/N {})", esc(sn));
    }
    if !i.detail.is_empty() {
        let _ = write!(s, " <i>{}</i>", esc(&i.detail));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::digest::TerritoryDigest;

    fn lead(id: &str, title: &str) -> DigestLead {
        DigestLead {
            lead_id: id.into(),
            priority: "CRITICAL".into(),
            score: 80.0,
            lead_type: "Renewal".into(),
            title: title.into(),
            account_name: Some("A & B <Corp>".into()),
            serial_number: None,
            status: "new".into(),
            created_at: "2026-12-01T00:00:00Z".into(),
            updated_at: "2026-12-01T00:00:00Z".into(),
        }
    }

    fn digest() -> Digest {
        Digest {
            since: "2026-12-01".into(),
            since_run: None,
            aging_days: 30,
            territories: vec![TerritoryDigest {
                territory_id: "56088".into(),
                new_leads: vec![lead("AAAA0001", "<script>alert(1)</script>")],
                priority_changes: Vec::new(),
                aging: vec![lead("AAAA0002", "old")],
            }],
            install_base: crate::model::snapshot::ChangeCounts::default(),
            snapshots_compared: 0,
        }
    }

    #[test]
    fn html_escapes_every_value_and_text_keeps_them_plain() {
        let doc = daily(&digest());
        let h = html(&doc);
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
        assert!(!h.contains("<script>"), "{h}");
        assert!(h.contains("A &amp; B &lt;Corp&gt;"), "{h}");
        let t = text(&doc);
        assert!(
            t.contains("AAAA0001 CRITICAL 80.00 <script>alert(1)</script> — A & B <Corp>"),
            "{t}"
        );
        assert_eq!(doc.lead_ids(), ["AAAA0001", "AAAA0002"]);
        assert_eq!(
            doc.summary,
            "1 new CRITICAL/HIGH, 0 priority changes, 1 aging"
        );
    }

    #[test]
    fn the_aging_alert_lists_only_aging_leads() {
        let doc = aging(&digest());
        assert_eq!(doc.lead_ids(), ["AAAA0002"]);
        let mut d = digest();
        d.territories[0].aging.clear();
        assert!(aging(&d).is_empty());
    }
}
