//! Both backends answer every view's question alike: the synthetic database built on each
//! (`sqlite/testdb.rs`, `postgres/testdb.rs`) and every [`Reads`](super::read::Reads) method
//! asked of both, compared whole. Skips (outside CI) without PostgreSQL.

use super::read::{DigestWindow, FunnelBy, LeadFilter, LeadSort, Lookup, TerritorySort};
use super::{Location, Reader};

fn readers() -> Option<(tempfile::TempDir, Reader, Reader)> {
    let url = super::postgres::testdb::build()?;
    let (dir, sqlite) = super::testdb::build();
    let pg = Reader::open(Location::parse(url.as_ref()).unwrap()).unwrap();
    Some((dir, sqlite, pg))
}

/// Asks both readers `ask` and compares the answers' debug forms.
fn same<T: std::fmt::Debug>(
    a: &mut Reader,
    b: &mut Reader,
    what: &str,
    ask: impl Fn(&mut Reader) -> crate::error::Result<T>,
) {
    let (x, y) = (ask(a).unwrap(), ask(b).unwrap());
    assert_eq!(format!("{x:#?}"), format!("{y:#?}"), "{what}");
}

#[test]
fn both_backends_answer_every_question_alike() {
    let Some((_dir, mut a, mut b)) = readers() else {
        return;
    };
    let (a, b) = (&mut a, &mut b);
    same(a, b, "has_leads", |r| r.has_leads());
    same(a, b, "lead_totals", |r| r.lead_totals());
    same(a, b, "lead_mix", |r| r.lead_mix());
    same(a, b, "counts", |r| r.counts_by_type_priority());
    let sorts = [
        LeadSort::Score,
        LeadSort::Priority,
        LeadSort::Account,
        LeadSort::Type,
        LeadSort::DaysPastEol,
    ];
    for sort in sorts {
        for include_inactive in [false, true] {
            let f = LeadFilter {
                include_inactive,
                sort,
                ..LeadFilter::default()
            };
            same(a, b, &format!("{f:?}"), |r| {
                let mut out = Vec::new();
                r.each_lead(&f, &mut |l| {
                    out.push(l);
                    Ok(())
                })?;
                Ok(out)
            });
        }
    }
    let filters = [
        LeadFilter {
            lead_type: Some("renew".into()),
            priorities: vec!["high".into(), "CRITICAL".into()],
            ..LeadFilter::default()
        },
        LeadFilter {
            min_score: Some(55.25),
            territory: Some("T1".into()),
            limit: Some(2),
            ..LeadFilter::default()
        },
        LeadFilter {
            account: Some("initrode".into()),
            family: Some("servers".into()),
            statuses: crate::store::read::Statuses::Only(vec!["NEW".into()]),
            ..LeadFilter::default()
        },
        LeadFilter {
            statuses: crate::store::read::Statuses::Any,
            ..LeadFilter::default()
        },
        LeadFilter {
            new_since: chrono::NaiveDate::from_ymd_opt(2024, 1, 1),
            older_than_days: Some(30),
            include_inactive: true,
            ..LeadFilter::default()
        },
    ];
    for f in &filters {
        same(a, b, &format!("{f:?}"), |r| {
            let mut out = Vec::new();
            r.each_lead(f, &mut |l| {
                out.push(l.lead_id);
                Ok(())
            })?;
            Ok(out)
        });
    }
    for id in ["aaaa0002", "CCCC0005", "ZZZZ9999"] {
        same(a, b, id, |r| r.lead_by_id(id));
        same(a, b, id, |r| r.events(id));
    }
    for typed in ["cccc", "BBBB0008", "QQQQQQQQ"] {
        same(a, b, typed, |r| r.similar_ids(typed));
    }
    for sort in [
        TerritorySort::Territory,
        TerritorySort::Leads,
        TerritorySort::Score,
        TerritorySort::Pipeline,
    ] {
        same(a, b, "territories", |r| r.territories(sort));
    }
    for n in [0, 1, 10] {
        same(a, b, "leaderboard", |r| r.leaderboard(n));
    }
    same(a, b, "family_mix", |r| {
        let mix = r.lead_mix()?;
        r.family_mix(&mix)
    });
    same(a, b, "coverage", |r| r.coverage());
    for q in [
        "ACC2",
        "globex inc",
        "acme corp.",
        "initrode",
        "c",
        "Globox",
    ] {
        let norm = crate::derive::account::normalize(q, &[]);
        same(a, b, q, |r| r.find_account(q, &norm));
        same(a, b, q, |r| {
            Ok(match r.find_account(q, &norm)? {
                Lookup::Found(id) => Some((
                    r.account_360(id.clone(), None)?,
                    r.account_360(id, Some(1))?,
                )),
                _ => None,
            })
        });
    }
    same(a, b, "last_as_of", |r| r.last_as_of());
    same(a, b, "last_evaluation", |r| r.last_evaluation());
    for w in [
        DigestWindow::Since("2023-12-31".into()),
        DigestWindow::FromRun(0),
    ] {
        same(a, b, "digest", |r| r.digest_rows(&w));
    }
    for by in [
        FunnelBy::All,
        FunnelBy::LeadType,
        FunnelBy::Territory,
        FunnelBy::Priority,
    ] {
        same(a, b, "funnel", |r| r.funnel_counts(by));
    }
}

#[test]
fn an_sqlite_file_cannot_be_shared_with_worker_processes() {
    let (_dir, mut store) = super::testdb::build_store();
    let err = store.work_queue().err().unwrap();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("--db postgres://"), "{err}");
    assert!(store.claim(None).is_err());
}
