//! Every rule pack under `examples/`, copied into a project as its README says: `rules check`
//! passes and the pack's own scenarios pass. (`examples/embed.rs` has its own test, which
//! `cargo test` runs.)
// See: issue 21 ("`examples/` … Tests run every example").

use std::path::{Path, PathBuf};

use crate::util::Workdir;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The rule packs: the folders of `examples/`.
fn packs() -> Vec<PathBuf> {
    let mut packs: Vec<PathBuf> = std::fs::read_dir(examples())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    packs.sort();
    packs
}

fn copy_into(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_into(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn every_rule_pack_passes_check_and_its_own_scenarios() {
    let packs = packs();
    assert!(packs.len() >= 2, "{packs:?}");
    for pack in packs {
        let name = pack.file_name().unwrap().to_string_lossy().to_string();
        let w = Workdir::new();
        let mut own_tests = Vec::new();
        for sub in std::fs::read_dir(&pack).unwrap() {
            let sub = sub.unwrap().path();
            if sub.is_dir() {
                let dest = w.join("rules").join(sub.file_name().unwrap());
                std::fs::create_dir_all(&dest).unwrap();
                copy_into(&sub, &dest);
                if sub.ends_with("tests") {
                    for t in std::fs::read_dir(&sub).unwrap() {
                        let t = t.unwrap().file_name().to_string_lossy().to_string();
                        own_tests.push(format!("rules/tests/{t}"));
                    }
                }
            }
        }
        assert!(!own_tests.is_empty(), "{name} has no scenario tests");
        let own_config = pack.join("onelead.yaml").is_file();
        if own_config {
            std::fs::copy(pack.join("onelead.yaml"), w.join("config/onelead.yaml")).unwrap();
        }
        let out = w.ok(&["rules", "check"]);
        assert!(out.starts_with("ok: "), "{name}: {out}");
        let mut args = vec!["rules", "test"];
        args.extend(own_tests.iter().map(String::as_str));
        let out = w.ok(&args);
        assert!(out.contains(" passed, 0 failed"), "{name}: {out}");
        if !own_config {
            // A pack that leaves the config alone changes no shipped scenario's outcome, and
            // its scenarios cover the rules it adds.
            let out = w.ok(&["rules", "test"]);
            assert!(!out.contains("note:"), "{name}: {out}");
        }
    }
}

/// A pack's config is the shipped one plus what its README says to add: nothing else may drift.
#[test]
fn a_packs_config_differs_from_the_shipped_one_only_where_its_readme_says() {
    let shipped: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/onelead.yaml"))
            .unwrap(),
    )
    .unwrap();
    for pack in packs() {
        let path = pack.join("onelead.yaml");
        if !path.is_file() {
            continue;
        }
        let mut own: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let readme = std::fs::read_to_string(pack.join("README.md")).unwrap();
        for section in ["scoring_weights", "thresholds"] {
            let (Some(mine), Some(theirs)) = (own.get(section), shipped.get(section)) else {
                continue;
            };
            if mine != theirs {
                assert!(
                    readme.contains(&format!("{section}:")),
                    "{}: {section}",
                    pack.display()
                );
            }
            own[section] = theirs.clone();
        }
        assert_eq!(own, shipped, "{}", path.display());
    }
}
