//! watch against a real store: the index rebuild stops for a save and finishes after it, a
//! refused save does not hold it up, and saves are sorted into rules, config and data.

use super::*;

use crate::store::testdb;

/// Two lead indexes, dropped, as an evaluation leaves them to `tidy`.
fn dropped_indexes(store: &Store) -> Vec<Pending> {
    let names = ["leads_rollup", "leads_mix"];
    names
        .iter()
        .map(|name| {
            let sql = testdb::rows(
                store,
                &format!("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = '{name}'"),
            )
            .remove(0)
            .remove(0)
            .unwrap();
            testdb::execute(store, &format!("DROP INDEX {name}"));
            testdb::pending(&sql)
        })
        .collect()
}

fn has_index(store: &Store, name: &str) -> bool {
    testdb::count(
        store,
        &format!("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{name}'"),
    ) == 1
}

#[test]
fn tidy_stops_between_indexes_for_a_save_and_finishes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("w.db")).unwrap();
    let mut pending = dropped_indexes(&store);
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    tx.send(Ok(Vec::new())).unwrap();
    // A save is waiting: one index is built, then the save is handed back.
    let first = tidy(&mut store, &mut pending, &rx);
    assert!(matches!(&first, Some(Ok(events)) if events.is_empty()));
    assert!(has_index(&store, "leads_rollup"));
    assert!(!has_index(&store, "leads_mix"));
    assert_eq!(pending.len(), 1);
    assert!(
        rx.try_recv().is_err(),
        "the save was taken out of the channel once"
    );
    // Nothing waits: the rest is built.
    assert!(tidy(&mut store, &mut pending, &rx).is_none());
    assert!(has_index(&store, "leads_mix"));
    assert!(pending.is_empty());
}

/// Copies the project's rules and config into `dir`; parses `watch` flags for them.
fn project_in(dir: &Path, extra: &[&str]) -> WatchArgs {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["triggers", "classify", "scoring", "services", "lib"] {
        let from = root.join("rules").join(sub);
        let Ok(entries) = std::fs::read_dir(&from) else {
            continue;
        };
        std::fs::create_dir_all(dir.join("rules").join(sub)).unwrap();
        for e in entries.flatten() {
            std::fs::copy(e.path(), dir.join("rules").join(sub).join(e.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::copy(
        root.join("config/onelead.yaml"),
        dir.join("config/onelead.yaml"),
    )
    .unwrap();
    let (sample, db) = (root.join("data/sample"), dir.join("w.db"));
    let (rules, config) = (dir.join("rules"), dir.join("config/onelead.yaml"));
    let mut argv: Vec<&str> = vec!["onelead", "watch", "--as-of", "2025-09-01"];
    for (flag, path) in [
        ("--data", &sample),
        ("--db", &db),
        ("--rules", &rules),
        ("--config", &config),
    ] {
        argv.extend([flag, path.to_str().unwrap()]);
    }
    argv.extend(extra);
    match crate::cli::Cli::try_parse_from_args(argv.iter().map(Into::into)) {
        Ok(crate::cli::Cli {
            command: crate::cli::Command::Watch(a),
        }) => a,
        other => panic!("{other:?}"),
    }
}

// See: issue 20 ("watch: a save that fails to compile while the lead indexes are still
// being rebuilt must not stall the rebuild or leave the `--report` HTML stale").
#[test]
fn issue_20_a_broken_rule_saved_during_the_index_rebuild_lets_it_finish_and_the_report_be_written()
{
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let args = project_in(dir.path(), &["--report", html.to_str().unwrap()]);
    let settings = settings(&args.load).unwrap();
    let mut stamps = Stamps::default();
    stamps.record_tree(&settings.rules_dir);
    let mut s = Session {
        args: &args,
        rules: pipeline::load_rules(&settings).unwrap(),
        store: Store::open(&settings.db).unwrap(),
        settings,
        carry: Carry::default(),
        pending: Vec::new(),
        html_due: true,
    };
    let mut out = Vec::new();
    rerun(
        &mut s.store,
        &s.settings,
        &s.rules,
        true,
        &mut out,
        &mut s.carry,
        &mut s.pending,
    )
    .unwrap();
    // The first run into an empty database leaves the lead indexes to build after its
    // report; the save below comes in before that starts, the report not written yet.
    assert!(!s.pending.is_empty());
    assert!(!has_index(&s.store, "leads_rollup"));
    // The save: a rule that does not compile. Nothing else comes.
    let broken = s.settings.rules_dir.join("triggers/broken.rhai");
    std::fs::write(&broken, "fn trigger(item, account, cfg) { let x = ; }").unwrap();
    let (_tx, rx) = mpsc::channel::<DebounceEventResult>();
    let save = notify_debouncer_mini::DebouncedEvent::new(
        broken,
        notify_debouncer_mini::DebouncedEventKind::Any,
    );
    let next = s
        .handle(Ok(vec![save]), &mut stamps, &mut out, &rx)
        .unwrap();
    assert!(matches!(next, Next::Wait));
    assert!(s.pending.is_empty(), "the rebuild stalled");
    assert!(has_index(&s.store, "leads_rollup") && has_index(&s.store, "leads_mix"));
    assert!(!s.html_due && html.is_file(), "the report was not written");
    let printed = String::from_utf8(out).unwrap();
    assert!(
        printed.contains(&format!("report: {}", html.display())),
        "{printed}"
    );
}

#[test]
fn sorts_events_into_rules_config_and_data_and_ignores_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["rules/triggers", "config", "data/in"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let settings = Settings {
        cfg: crate::config::Config::default(),
        db: root.join("data/onelead.db").into(),
        inputs: vec![root.join("data/in")],
        rules_dir: root.join("rules"),
        as_of: chrono::NaiveDate::from_ymd_opt(2025, 10, 29).unwrap(),
    };
    let config = root.join("config/onelead.yaml");
    let t = |p: &str| {
        let path = root.join(p);
        classify(std::iter::once(path.as_path()), &settings, &config)
    };
    assert!(t("rules/triggers/x.rhai").rules);
    assert!(t("config/onelead.yaml").config);
    assert!(t("data/in/export.xlsx").data);
    for ignored in [
        "data/onelead.db",
        "data/onelead.db-wal",
        "data/in/~$export.xlsx",
        "rules/x.rhai.swp",
        "config/other.yaml",
    ] {
        assert_eq!(t(ignored), Touched::default(), "{ignored}");
    }
}
