//! Which digest goes to whom: the whole digest to the `--to` addresses (or `mail.to`), each
//! territory's part to the addresses `mail.territories` gives it. In: a digest of any kind and
//! the recipients; out: one [`Outgoing`] message per recipient and part, each with the key the
//! store records its send under (kind, window, scope), so a retry can tell what went.

use chrono::{DateTime, Utc};

use super::{MailConfig, Outgoing, parse_mailbox};
use crate::error::{Error, Result};
use crate::lifecycle::digest::Digest;
use crate::lifecycle::weekly::Weekly;
use crate::report::mail::{self as render, Doc};

/// A digest of one of the three kinds.
#[derive(Debug, Clone)]
pub enum Content {
    /// The daily digest.
    Daily(Digest),
    /// The weekly territory summary.
    Weekly(Weekly),
    /// The aging alerts (the digest's aging lists).
    Aging(Digest),
}

impl Content {
    /// What the subject starts with.
    fn label(&self) -> String {
        match self {
            Content::Daily(_) => "OneLead daily digest".into(),
            Content::Weekly(w) => format!("OneLead weekly summary {}", w.week),
            Content::Aging(_) => "OneLead aging alert".into(),
        }
    }

    /// The window the content covers, as the store keys its sends: the same digest of the
    /// same window is the same message.
    fn window(&self, now: DateTime<Utc>) -> String {
        match self {
            Content::Daily(d) => match d.since_run {
                Some(run) => format!("daily:run-{run}"),
                None => format!("daily:since-{}", d.since),
            },
            Content::Weekly(w) => format!("weekly:{}", w.week),
            Content::Aging(_) => format!("aging:{}", now.date_naive()),
        }
    }

    /// The content, whole or cut to one territory, as a message.
    pub fn doc(&self, territory: Option<&str>) -> Doc {
        let keep = |id: &str| territory.is_none_or(|t| t == id);
        match self {
            Content::Daily(d) | Content::Aging(d) => {
                let mut d = d.clone();
                d.territories.retain(|t| keep(&t.territory_id));
                if territory.is_some() {
                    d.snapshots_compared = 0;
                }
                if matches!(self, Content::Daily(_)) {
                    render::daily(&d)
                } else {
                    render::aging(&d)
                }
            }
            Content::Weekly(w) => {
                let mut w = w.clone();
                w.territories.retain(|t| keep(&t.territory_id));
                render::weekly(&w)
            }
        }
    }
}

/// A message that is not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The address.
    pub recipient: String,
    /// Why (`nothing to report for territory 56088`).
    pub why: String,
}

/// The messages of `content`: to each of `to` the whole of it; without `to`, to each of
/// `mail.to` the whole and to each of `mail.territories` its territory's part. A part with
/// nothing to report is not sent (it is listed as skipped).
pub fn messages(
    content: &Content,
    to: &[String],
    cfg: &MailConfig,
    now: DateTime<Utc>,
) -> Result<(Vec<Outgoing>, Vec<Skipped>)> {
    let mut parts: Vec<(Option<&str>, &String)> = Vec::new();
    if to.is_empty() {
        parts.extend(cfg.to.iter().map(|a| (None, a)));
        for (territory, list) in &cfg.territories {
            parts.extend(list.iter().map(|a| (Some(territory.as_str()), a)));
        }
        if parts.is_empty() {
            return Err(Error::Config(
                "no recipients: give `--to ADDRESS` or set `mail.to` or `mail.territories` in \
                 the config"
                    .into(),
            ));
        }
    } else {
        parts.extend(to.iter().map(|a| (None, a)));
    }
    let window = content.window(now);
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for (territory, addr) in parts {
        let recipient = parse_mailbox(addr).map_err(Error::Usage)?;
        let doc = content.doc(territory);
        if doc.is_empty() {
            skipped.push(Skipped {
                recipient: addr.clone(),
                why: match territory {
                    Some(t) => format!("nothing to report for territory {t}"),
                    None => "nothing to report".into(),
                },
            });
            continue;
        }
        let scope = territory.map_or_else(|| "all".to_string(), |t| format!("territory-{t}"));
        let subject = match territory {
            Some(t) => format!("{}, territory {t}: {}", content.label(), doc.summary),
            None => format!("{}: {}", content.label(), doc.summary),
        };
        out.push(Outgoing {
            key: format!("{window}:{scope}"),
            recipient,
            subject,
            text: render::text(&doc),
            html: render::html(&doc),
            lead_ids: doc.lead_ids(),
        });
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::lifecycle::digest::{DigestLead, TerritoryDigest};

    fn lead(id: &str) -> DigestLead {
        DigestLead {
            lead_id: id.into(),
            priority: "HIGH".into(),
            score: 70.0,
            lead_type: "Renewal".into(),
            title: "Renew".into(),
            account_name: None,
            serial_number: None,
            status: "new".into(),
            created_at: "2026-12-01T00:00:00Z".into(),
            updated_at: "2026-12-01T00:00:00Z".into(),
        }
    }

    fn content() -> Content {
        let t = |id: &str, lead_id: &str| TerritoryDigest {
            territory_id: id.into(),
            new_leads: vec![lead(lead_id)],
            ..TerritoryDigest::default()
        };
        Content::Daily(Digest {
            since: "run 3".into(),
            since_run: Some(3),
            aging_days: 30,
            territories: vec![t("1", "AAAA0001"), t("2", "AAAA0002")],
            install_base: crate::model::snapshot::ChangeCounts::default(),
            snapshots_compared: 0,
        })
    }

    #[test]
    fn territories_get_their_part_and_the_rest_the_whole() {
        let cfg = MailConfig {
            to: vec!["boss@example.com".into()],
            territories: BTreeMap::from([
                ("1".into(), vec!["kim@example.com".into()]),
                ("3".into(), vec!["lee@example.com".into()]),
            ]),
            ..MailConfig::default()
        };
        let (out, skipped) = messages(&content(), &[], &cfg, Utc::now()).unwrap();
        let got: Vec<(String, String, Vec<String>)> = out
            .iter()
            .map(|o| {
                (
                    o.recipient.email.to_string(),
                    o.key.clone(),
                    o.lead_ids.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "boss@example.com".to_string(),
                    "daily:run-3:all".to_string(),
                    vec!["AAAA0001".to_string(), "AAAA0002".to_string()]
                ),
                (
                    "kim@example.com".to_string(),
                    "daily:run-3:territory-1".to_string(),
                    vec!["AAAA0001".to_string()]
                ),
            ]
        );
        assert!(out[1].subject.contains("territory 1"), "{}", out[1].subject);
        assert_eq!(skipped[0].recipient, "lee@example.com");
    }

    #[test]
    fn to_overrides_the_config_and_nobody_is_an_error() {
        let cfg = MailConfig {
            to: vec!["boss@example.com".into()],
            ..MailConfig::default()
        };
        let (out, _) = messages(&content(), &["x@example.com".into()], &cfg, Utc::now()).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].recipient.email.to_string(), "x@example.com");
        let err = messages(&content(), &[], &MailConfig::default(), Utc::now())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no recipients"), "{err}");
    }

    #[test]
    fn the_whole_digest_tells_the_install_base_changes_and_a_territory_part_does_not() {
        let Content::Daily(mut d) = content() else {
            unreachable!("content() is a daily digest")
        };
        d.install_base = crate::model::snapshot::ChangeCounts {
            arrived: 3,
            left: 5,
            support_status: 2,
            coverage: 0,
        };
        d.snapshots_compared = 2;
        let whole = Content::Daily(d.clone());
        let text = crate::report::mail::text(&whole.doc(None));
        assert!(
            text.contains("3 arrived, 5 left, 2 changed support status, 0 changed coverage"),
            "{text}"
        );
        let html = crate::report::mail::html(&whole.doc(None));
        assert!(html.contains("5 left"), "{html}");
        let part = crate::report::mail::text(&whole.doc(Some("1")));
        assert!(!part.contains("arrived"), "{part}");
        // Only the install base changed: the whole digest still has something to tell.
        d.territories.clear();
        assert!(!Content::Daily(d.clone()).doc(None).is_empty());
        d.snapshots_compared = 0;
        assert!(Content::Daily(d).doc(None).is_empty());
    }
}
