//! The PostgreSQL backend's own behaviour, on a database of the test server: the schema and
//! its version, the change token, users' own writes through `leads`, and writers side by
//! side. Each test skips (outside CI) without PostgreSQL.

use super::testpg::server;
use super::*;
use crate::store::api::{Runs, StatusRecord, Workflow, WriteTx};
use crate::store::{Location, Store};

/// A fresh database's URL, as onelead parses it.
fn fresh() -> Option<PgUrl> {
    let url = server()?.database();
    match Location::parse(url.as_ref()).unwrap() {
        Location::Postgres(u) => Some(u),
        Location::Sqlite(_) => panic!("{url} is not a URL"),
    }
}

fn client(url: &PgUrl) -> Client {
    Client::connect(url.secret(), NoTls).unwrap()
}

fn one<T: for<'a> postgres_types::FromSql<'a>>(c: &mut Client, sql: &str) -> T {
    c.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn the_schema_is_made_on_first_use_and_a_view_never_makes_it() {
    let Some(url) = fresh() else { return };
    for e in [
        Db::open_existing(&url).err().unwrap(),
        Reader::open(&url).err().unwrap(),
    ] {
        let text = e.to_string();
        assert!(text.contains("run `onelead run` first"), "{text}");
        assert!(text.contains(&url.to_string()), "{text}");
    }
    let mut c = client(&url);
    assert!(!one::<bool>(
        &mut c,
        "SELECT to_regclass('lead_rows') IS NOT NULL"
    ));
    Db::open(&url).unwrap();
    assert_eq!(
        one::<i32>(&mut c, "SELECT version FROM onelead_schema"),
        schema::SCHEMA_VERSION
    );
    Db::open_existing(&url).unwrap();
    Reader::open(&url).unwrap();
    // A newer onelead's database is left alone.
    c.batch_execute("UPDATE onelead_schema SET version = version + 1")
        .unwrap();
    let text = Db::open(&url).err().unwrap().to_string();
    assert!(
        text.contains("is newer than this onelead understands"),
        "{text}"
    );
}

#[test]
fn processes_opening_a_new_database_at_once_make_the_schema_once() {
    let Some(url) = fresh() else { return };
    let opened: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| Db::open(&url).is_ok())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(opened, [true; 4]);
    assert_eq!(
        one::<i64>(&mut client(&url), "SELECT count(*) FROM onelead_schema"),
        1
    );
}

/// Records a status change as `onelead status` does.
fn set_status(db: &mut Db, id: &str, to: &str) {
    let mut tx = db.begin(TxKind::Change).unwrap();
    let (lead_id, from) = tx.lead_status(id).unwrap().unwrap();
    tx.record_status(&StatusRecord {
        lead_id: &lead_id,
        from: &from,
        to,
        note: None,
        by: Some("test"),
        opportunity: None,
        at: "2025-01-01T00:00:00Z",
    })
    .unwrap();
    tx.commit().unwrap();
}

#[test]
fn the_change_token_moves_with_every_write_but_the_holders_own() {
    let Some(url) = testdb::build() else { return };
    let Location::Postgres(url) = Location::parse(url.as_ref()).unwrap() else {
        panic!()
    };
    let mut db = Db::open(&url).unwrap();
    let after = db.begin(TxKind::Run).unwrap().commit().unwrap();
    let begin = |db: &mut Db| db.begin(TxKind::Run).unwrap().token();
    // Nothing written since: the same token.
    assert_eq!(begin(&mut db), after);
    // A run rolled back (a what-if) changes nothing.
    drop(db.begin(TxKind::Run).unwrap());
    assert_eq!(begin(&mut db), after);
    // A user's own SQL.
    client(&url)
        .batch_execute("UPDATE install_base SET risk_level = 'LOW' WHERE id = 1")
        .unwrap();
    let now = begin(&mut db);
    assert_ne!(now, after);
    // Another onelead's status change.
    set_status(&mut Db::open(&url).unwrap(), "AAAA0001", "contacted");
    assert_ne!(begin(&mut db), now);
    // A write committed while a run is under way: that run's token matches nothing later.
    let mut tx = db.begin(TxKind::Run).unwrap();
    client(&url)
        .batch_execute("DELETE FROM meta WHERE key = 'nothing'")
        .unwrap();
    tx.set_meta("k", "v").unwrap();
    let token = tx.commit().unwrap();
    assert_ne!(begin(&mut db), token);
}

#[test]
fn status_changes_of_several_processes_at_once_are_all_kept() {
    let Some(url) = testdb::build() else { return };
    let Location::Postgres(url) = Location::parse(url.as_ref()).unwrap() else {
        panic!()
    };
    // A run holds its transaction open over the leads meanwhile.
    let mut running = Db::open(&url).unwrap();
    let mut run = running.begin(TxKind::Run).unwrap();
    run.set_meta("under way", "yes").unwrap();
    std::thread::scope(|s| {
        for (id, to) in [
            ("AAAA0001", "contacted"),
            ("BBBB0003", "qualified"),
            ("AAAA0001", "qualified"),
            ("BBBB0003", "rejected"),
        ] {
            let url = &url;
            s.spawn(move || set_status(&mut Db::open(url).unwrap(), id, to));
        }
    });
    drop(run);
    let mut c = client(&url);
    // Two changes per lead, each recorded from the status the other left.
    for id in ["AAAA0001", "BBBB0003"] {
        let chain: Vec<(String, String)> = c
            .query(
                "SELECT from_status, to_status FROM lead_events
                 WHERE lead_id = $1 AND kind = 'status' ORDER BY id",
                &[&id],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(chain.len(), 2, "{id}: {chain:?}");
        assert_eq!(chain[0].1, chain[1].0, "{id}: {chain:?}");
        let status: String = c
            .query_one("SELECT status FROM lead_rows WHERE lead_id = $1", &[&id])
            .unwrap()
            .get(0);
        assert_eq!(status, chain[1].1, "{id}");
    }
}

#[test]
fn a_users_own_writes_to_the_leads_view_reach_the_lead_tables() {
    let Some(url) = testdb::build() else { return };
    let mut c = Client::connect(&url, NoTls).unwrap();
    let texts: i64 = one(&mut c, "SELECT count(*) FROM lead_texts");
    c.batch_execute(
        "UPDATE leads SET title = 'Renew now', status = 'won', score = 70
         WHERE lead_id = 'AAAA0002'",
    )
    .unwrap();
    let store = Store::open(Location::parse(url.as_ref()).unwrap()).unwrap();
    let lead = store
        .reader()
        .unwrap()
        .lead_by_id("AAAA0002")
        .unwrap()
        .unwrap();
    assert_eq!(
        (lead.title.as_str(), lead.score, lead.status.as_str()),
        ("Renew now", 70.0, "won")
    );
    assert_eq!(lead.factors.len(), 2);
    assert_eq!(lead.recommended_services.len(), 2);
    // One new text, the title; the others are found again.
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM lead_texts"),
        texts + 1
    );
    c.batch_execute("DELETE FROM leads WHERE lead_id = 'AAAA0002'")
        .unwrap();
    assert!(
        store
            .reader()
            .unwrap()
            .lead_by_id("AAAA0002")
            .unwrap()
            .is_none()
    );
}

#[test]
fn errors_name_the_server_and_never_the_password() {
    let Some(server) = server() else { return };
    let mut admin = server.connect("postgres");
    admin
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE ann LOGIN PASSWORD 'right-one';
             EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        )
        .unwrap();
    let port = server.port();
    let cases = [
        (
            format!("postgres://ann:s3cret-pw@127.0.0.1:{port}/postgres"),
            "password authentication failed",
        ),
        (
            format!("postgres://ann:s3cret-pw@127.0.0.1:{port}/no_such_db"),
            "password authentication failed",
        ),
        (
            format!("postgres://postgres:s3cret-pw@127.0.0.1:{port}/no_such_db"),
            "does not exist",
        ),
        (
            // Nothing listens on port 1.
            "postgres://ann:s3cret-pw@127.0.0.1:1/x".to_string(),
            "cannot connect to `127.0.0.1:1`",
        ),
    ];
    for (url, expected) in cases {
        let Location::Postgres(u) = Location::parse(url.as_ref()).unwrap() else {
            panic!()
        };
        let text = Db::open(&u).err().unwrap().to_string();
        assert!(text.contains(expected), "{url}: {text}");
        assert!(text.contains("127.0.0.1:"), "{url}: {text}");
        assert!(!text.contains("s3cret"), "{url}: {text}");
    }
}

#[test]
fn a_version_1_database_gains_the_worker_tables() {
    let Some(url) = fresh() else { return };
    let mut c = client(&url);
    c.batch_execute(&schema::create().replace(
        &schema::WORK_TABLES.replace("{T}", "text COLLATE \"C\""),
        "",
    ))
    .unwrap();
    c.batch_execute("INSERT INTO onelead_schema VALUES (1)")
        .unwrap();
    assert!(!one::<bool>(
        &mut c,
        "SELECT to_regclass('work_parts') IS NOT NULL"
    ));
    // A view refuses an older schema; a writer (or a view's open) brings it up to date.
    let text = Reader::open(&url).err().unwrap().to_string();
    assert!(text.contains("schema version 1 is older"), "{text}");
    Db::open_existing(&url).unwrap();
    assert!(one::<bool>(
        &mut c,
        "SELECT to_regclass('work_parts') IS NOT NULL"
    ));
    assert_eq!(
        one::<i32>(&mut c, "SELECT version FROM onelead_schema"),
        schema::SCHEMA_VERSION
    );
    Reader::open(&url).unwrap();
}

/// A version 4 database (the queue ordered by `leads_score`, which has no `lead_id` and so
/// sorts every tie of a page's last score) gets the queue's indexes as on SQLite.
#[test]
fn a_version_4_database_trades_leads_score_for_the_queue_indexes() {
    let Some(url) = fresh() else { return };
    Db::open(&url).unwrap();
    let mut c = client(&url);
    c.batch_execute(
        "DROP INDEX leads_score_id; DROP INDEX leads_priority_score;
         CREATE INDEX leads_score ON lead_rows(active, score DESC);
         UPDATE onelead_schema SET version = 4",
    )
    .unwrap();
    let exists = |c: &mut Client, name: &str| {
        one::<bool>(c, &format!("SELECT to_regclass('{name}') IS NOT NULL"))
    };
    assert!(exists(&mut c, "leads_score"));
    Db::open_existing(&url).unwrap();
    assert!(!exists(&mut c, "leads_score"));
    assert!(exists(&mut c, "leads_score_id"));
    assert!(exists(&mut c, "leads_priority_score"));
    assert_eq!(
        one::<i32>(&mut c, "SELECT version FROM onelead_schema"),
        schema::SCHEMA_VERSION
    );
}

/// The declared lead columns are `lead_rows`' and the `leads` view's, in order: a column
/// declared (`store/columns/`) without a place in the PostgreSQL schema would fail every write.
#[test]
fn lead_rows_and_the_leads_view_hold_every_declared_column_in_order() {
    let Some(url) = fresh() else { return };
    Db::open(&url).unwrap();
    let mut c = client(&url);
    let names = |c: &mut Client, table: &str| -> Vec<String> {
        c.query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    let stored: Vec<&str> = crate::store::columns::LEAD_COLUMNS
        .iter()
        .map(crate::store::columns::LeadColumn::stored_name)
        .collect();
    let view: Vec<&str> = crate::store::columns::LEAD_COLUMNS
        .iter()
        .map(|col| col.name)
        .collect();
    assert_eq!(names(&mut c, "lead_rows"), stored);
    assert_eq!(names(&mut c, "leads"), view);
}
