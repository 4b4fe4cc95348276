//! The journal's tests: changes recorded, laid over reads, applied once, and kept across a run.

use super::*;
use crate::lifecycle::Status;
use crate::store::testdb;
use crate::views::{self, LeadFilter, LeadLookup};

fn change(status: Status, note: Option<&'static str>) -> StatusChange<'static> {
    StatusChange {
        status,
        note,
        by: Some("kim"),
        opportunity: None,
        force: false,
    }
}

/// A status event: `(from, to, note, by)`.
type Moved = (String, String, Option<String>, String);

/// The lead's status and its status events.
fn state(store: &Store, id: &str) -> (String, Vec<Moved>) {
    let LeadLookup::Found(lead, events) = views::lead(&mut store.reader().unwrap(), id).unwrap()
    else {
        panic!("no lead {id}")
    };
    let events = events
        .into_iter()
        .filter(|e| e.kind == "status")
        .map(|e| {
            (
                e.from_status.unwrap_or_default(),
                e.to_status.unwrap_or_default(),
                e.note,
                e.by.unwrap_or_default(),
            )
        })
        .collect();
    (lead.status, events)
}

/// `(id, status, owner)` of the leads `f` lists with the journal of `desk` laid over them.
fn listed(store: &Store, desk: &Desk, f: LeadFilter) -> Vec<(String, String, Option<String>)> {
    let mut r = store.reader().unwrap();
    let f = LeadFilter {
        overlay: overlay(desk, &mut r).unwrap(),
        ..f
    };
    views::leads(&mut r, &f)
        .unwrap()
        .into_iter()
        .map(|l| (l.lead_id, l.status, l.owner))
        .collect()
}

/// The status a read shows for `id`, pending changes included.
fn shown_status(store: &Store, desk: &Desk, id: &str) -> String {
    let all = LeadFilter {
        include_inactive: true,
        ..LeadFilter::default()
    };
    let found = listed(store, desk, all).into_iter().find(|l| l.0 == id);
    found.map(|l| l.1).unwrap_or_default()
}

fn to_owner(owner: Option<&str>) -> Change {
    Change::Owner {
        owner: owner.map(str::to_string),
        note: None,
    }
}

#[test]
fn a_change_is_validated_recorded_then_applied_once() {
    for (_dir, mut store) in testdb::build_stores() {
        let desk = Desk::open(store.location()).unwrap();
        let mut r = store.reader().unwrap();
        let ids = vec!["aaaa0001".to_string()];
        let got = record_status(
            &desk,
            &mut r,
            &ids,
            &change(Status::Contacted, Some("rang")),
            "2025-01-02T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            (got[0].lead_id.as_str(), got[0].from.as_str()),
            ("AAAA0001", "new")
        );
        // Pending: not in the lead database yet, but it judges the next change.
        assert_eq!(state(&store, "AAAA0001").0, "new");
        assert_eq!(pending(&desk, &mut r, "AAAA0001").unwrap().len(), 1);
        let e = record_status(&desk, &mut r, &ids, &change(Status::New, None), "t").unwrap_err();
        assert!(
            e.to_string().contains("`AAAA0001` (contacted → new)"),
            "{e}"
        );
        record_status(
            &desk,
            &mut r,
            &ids,
            &change(Status::Qualified, None),
            "2025-01-03T00:00:00Z",
        )
        .unwrap();
        assert_eq!(shown_status(&store, &desk, "AAAA0001"), "qualified");
        assert_eq!(
            try_apply(&mut store, &desk, Duration::ZERO).unwrap(),
            Some(2)
        );
        let (status, events) = state(&store, "AAAA0001");
        assert_eq!(status, "qualified");
        assert_eq!(
            events,
            [
                (
                    "new".into(),
                    "contacted".into(),
                    Some("rang".into()),
                    "kim".into()
                ),
                ("contacted".into(), "qualified".into(), None, "kim".into())
            ]
        );
        let mut r = store.reader().unwrap();
        assert!(pending(&desk, &mut r, "AAAA0001").unwrap().is_empty());
        // Nothing is applied twice, by this desk or by another opened on the same file.
        assert_eq!(
            try_apply(&mut store, &desk, Duration::ZERO).unwrap(),
            Some(0)
        );
        let again = Desk::open(store.location()).unwrap();
        assert_eq!(
            try_apply(&mut store, &again, Duration::ZERO).unwrap(),
            Some(0)
        );
        assert_eq!(state(&store, "AAAA0001").1.len(), 2);
        assert_eq!(backlog(&desk, &mut store.reader().unwrap()).unwrap(), 0);
    }
}

#[test]
fn unknown_ids_and_forbidden_moves_record_nothing() {
    for (_dir, store) in testdb::build_stores() {
        let desk = Desk::open(store.location()).unwrap();
        let mut r = store.reader().unwrap();
        let e = record_status(
            &desk,
            &mut r,
            &["AAAA0001".into(), "nope".into()],
            &change(Status::Contacted, None),
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown lead id `NOPE`"), "{e}");
        let e = record_status(
            &desk,
            &mut r,
            &["AAAA0001".into()],
            &change(Status::Converted, None),
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not an allowed move"), "{e}");
        assert_eq!(backlog(&desk, &mut r).unwrap(), 0);
    }
}

/// A run holds the lead database's write lock for its whole transaction. A change made
/// meanwhile is recorded at once, applied when the lock is free, and not undone by the run.
#[test]
fn a_change_made_while_a_run_writes_waits_in_the_journal_and_survives_it() {
    for (_dir, mut store) in testdb::build_stores() {
        let mut run = Store::open_existing(store.location().clone()).unwrap();
        let tx = run.begin().unwrap();
        let desk = Desk::open(store.location()).unwrap();
        let started = std::time::Instant::now();
        let mut r = store.reader().unwrap();
        let got = record_status(
            &desk,
            &mut r,
            &["BBBB0003".into()],
            &change(Status::Contacted, Some("during the run")),
            "2025-01-02T00:00:00Z",
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            try_apply(&mut store, &desk, Duration::from_millis(50)).unwrap(),
            None
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(shown_status(&store, &desk, "BBBB0003"), "contacted");
        tx.commit().unwrap();
        assert_eq!(
            try_apply(&mut store, &desk, Duration::ZERO).unwrap(),
            Some(1)
        );
        assert_eq!(state(&store, "BBBB0003").0, "contacted");
    }
}

/// A run that starts with changes pending takes them in its own transaction; rolled back,
/// it leaves them pending.
#[test]
fn a_run_applies_what_is_pending_and_a_failed_run_keeps_it_pending() {
    for (_dir, mut store) in testdb::build_stores() {
        let desk = Desk::open(store.location()).unwrap();
        let path = store.location().clone();
        record_status(
            &desk,
            &mut store.reader().unwrap(),
            &["CCCC0004".into()],
            &change(Status::Rejected, None),
            "t",
        )
        .unwrap();
        {
            let mut tx = store.begin().unwrap();
            assert_eq!(apply_in_run(&mut *tx, &path).unwrap(), 1);
        }
        assert_eq!(state(&store, "CCCC0004").0, "new");
        assert_eq!(backlog(&desk, &mut store.reader().unwrap()).unwrap(), 1);
        let mut tx = store.begin().unwrap();
        assert_eq!(apply_in_run(&mut *tx, &path).unwrap(), 1);
        tx.commit().unwrap();
        assert_eq!(state(&store, "CCCC0004").0, "rejected");
        assert_eq!(backlog(&desk, &mut store.reader().unwrap()).unwrap(), 0);
    }
}

/// While a run holds the lead database, an accepted change of owner or status is what every
/// read shows, and what the `owner` and `status` filters (lists, counts, the ids a bulk
/// reassignment takes) match; once applied, the database answers the same.
#[test]
fn pending_changes_are_read_as_if_applied_and_match_the_filters() {
    for (_dir, mut store) in testdb::build_stores() {
        let desk = Desk::open(store.location()).unwrap();
        let both = ["AAAA0001".to_string(), "BBBB0003".to_string()];
        let mut r = store.reader().unwrap();
        record_owner(&desk, &mut r, &both, &to_owner(Some("kim")), "ann", "t1").unwrap();
        assert_eq!(
            try_apply(&mut store, &desk, Duration::ZERO).unwrap(),
            Some(1)
        );
        let mut run = Store::open_existing(store.location().clone()).unwrap();
        let tx = run.begin().unwrap();
        let mut r = store.reader().unwrap();
        record_owner(
            &desk,
            &mut r,
            &both[1..],
            &to_owner(Some("lee")),
            "ann",
            "t2",
        )
        .unwrap();
        record_status(
            &desk,
            &mut r,
            &both[..1],
            &change(Status::Contacted, None),
            "t3",
        )
        .unwrap();
        assert_eq!(
            try_apply(&mut store, &desk, Duration::from_millis(50)).unwrap(),
            None
        );
        let owned_by = |o: &str| LeadFilter {
            owner: Some(o.into()),
            ..LeadFilter::default()
        };
        let with_status = |s: &str| LeadFilter {
            statuses: crate::store::read::Statuses::Only(vec![s.into()]),
            ..LeadFilter::default()
        };
        let check = |store: &Store| {
            let kim = (
                "AAAA0001".to_string(),
                "contacted".to_string(),
                Some("kim".to_string()),
            );
            let lee = (
                "BBBB0003".to_string(),
                "new".to_string(),
                Some("lee".to_string()),
            );
            assert_eq!(
                listed(store, &desk, owned_by("kim")),
                std::slice::from_ref(&kim)
            );
            assert_eq!(
                listed(store, &desk, owned_by("lee")),
                std::slice::from_ref(&lee)
            );
            // AAAA0002 was contacted already.
            let other = ("AAAA0002".to_string(), "contacted".to_string(), None);
            assert_eq!(listed(store, &desk, with_status("CONTACTED")), [kim, other]);
            let new = listed(store, &desk, with_status("new"));
            assert!(
                new.contains(&lee) && !new.iter().any(|l| l.0 == "AAAA0001"),
                "{new:?}"
            );
            let mut r = store.reader().unwrap();
            let f = LeadFilter {
                overlay: overlay(&desk, &mut r).unwrap(),
                ..owned_by("lee")
            };
            assert_eq!(r.count_capped(&f, 10).unwrap(), 1);
            assert_eq!(r.lead_ids(&f).unwrap(), ["BBBB0003"]);
        };
        check(&store);
        // Without the overlay the database still has the last commit's owners.
        let stored: Vec<String> = views::leads(&mut store.reader().unwrap(), &owned_by("kim"))
            .unwrap()
            .into_iter()
            .map(|l| l.lead_id)
            .collect();
        assert_eq!(stored, both);
        tx.commit().unwrap();
        assert_eq!(
            try_apply(&mut store, &desk, Duration::ZERO).unwrap(),
            Some(2)
        );
        assert!(
            overlay(&desk, &mut store.reader().unwrap())
                .unwrap()
                .is_empty()
        );
        check(&store);
    }
}

/// A CRM import's batch: decided from the statuses pending changes will give, recorded all at
/// once while a run holds the lead database, and applied, each with its own status and note,
/// when the run lets go.
#[test]
fn a_batch_of_statuses_sees_pending_changes_and_waits_out_a_run() {
    for (_dir, mut store) in testdb::build_stores() {
        let desk = Desk::open(store.location()).unwrap();
        record_status(
            &desk,
            &mut store.reader().unwrap(),
            &["AAAA0001".into()],
            &change(Status::Contacted, None),
            "2025-01-02T00:00:00Z",
        )
        .unwrap();
        let mut run = Store::open_existing(store.location().clone()).unwrap();
        let tx = run.begin().unwrap();
        let ids = ["aaaa0001".to_string(), "BBBB0003".into(), "ZZZZ9999".into()];
        let mut seen = Vec::new();
        let (entries, done) = record_statuses(
            &mut store,
            &ids,
            Some("crm"),
            "2025-01-03T00:00:00Z",
            Duration::from_millis(50),
            &mut |lookup| {
                for id in &ids {
                    seen.push(lookup(id)?);
                }
                Ok(vec![
                    StatusEntry {
                        lead_id: "AAAA0001".into(),
                        from: "contacted".into(),
                        status: "converted".into(),
                        note: Some("row 2".into()),
                    },
                    StatusEntry {
                        lead_id: "BBBB0003".into(),
                        from: "new".into(),
                        status: "rejected".into(),
                        note: Some("row 3".into()),
                    },
                ])
            },
        )
        .unwrap();
        assert_eq!(
            seen,
            [
                Some(("AAAA0001".to_string(), "contacted".to_string())),
                Some(("BBBB0003".to_string(), "new".to_string())),
                None
            ]
        );
        assert_eq!((entries.len(), done), (2, false));
        tx.commit().unwrap();
        // The change made before the batch, then the batch's two.
        assert_eq!(
            try_apply(&mut store, &desk, Duration::ZERO).unwrap(),
            Some(3)
        );
        let (status, events) = state(&store, "AAAA0001");
        assert_eq!(status, "converted");
        assert_eq!(events[1].0, "contacted", "{events:?}");
        let (status, events) = state(&store, "BBBB0003");
        assert_eq!(status, "rejected");
        assert_eq!(
            events,
            [(
                "new".into(),
                "rejected".into(),
                Some("row 3".into()),
                "crm".into()
            )]
        );
        // A batch that decides nothing records nothing.
        let (entries, done) =
            record_statuses(&mut store, &ids, None, "t", Duration::ZERO, &mut |_| {
                Ok(Vec::new())
            })
            .unwrap();
        assert!(entries.is_empty() && done);
        assert_eq!(backlog(&desk, &mut store.reader().unwrap()).unwrap(), 0);
    }
}

/// The overlay is kept between reads (see [`overlay`]) yet follows every change: an entry
/// recorded, the entries applied, an entry recorded after that.
#[test]
fn the_kept_overlay_follows_each_entry_recorded_and_applied() {
    for (_dir, mut store) in testdb::build_stores() {
        let desk = Desk::open(store.location()).unwrap();
        let shown = |store: &Store, id: &str| -> Option<String> {
            let o = overlay(&desk, &mut store.reader().unwrap()).unwrap();
            o.get(id).and_then(|p| p.status.clone())
        };
        let record = |store: &Store, id: &str, to: Status| {
            record_status(
                &desk,
                &mut store.reader().unwrap(),
                &[id.to_string()],
                &change(to, None),
                "t",
            )
            .unwrap();
        };
        assert_eq!(shown(&store, "AAAA0001"), None);
        record(&store, "AAAA0001", Status::Contacted);
        for _ in 0..2 {
            assert_eq!(shown(&store, "AAAA0001").as_deref(), Some("contacted"));
        }
        record(&store, "BBBB0003", Status::Rejected);
        assert_eq!(shown(&store, "AAAA0001").as_deref(), Some("contacted"));
        assert_eq!(shown(&store, "BBBB0003").as_deref(), Some("rejected"));
        assert_eq!(
            try_apply(&mut store, &desk, Duration::ZERO).unwrap(),
            Some(2)
        );
        assert_eq!(shown(&store, "AAAA0001"), None);
        assert_eq!(shown(&store, "BBBB0003"), None);
        record(&store, "AAAA0001", Status::Qualified);
        assert_eq!(shown(&store, "AAAA0001").as_deref(), Some("qualified"));
        assert_eq!(shown(&store, "BBBB0003"), None);
        assert_eq!(state(&store, "BBBB0003").0, "rejected");
    }
}
