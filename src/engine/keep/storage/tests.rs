//! The store on a real file system: modes checked with stat, names that try to leave the store, crashes
//! mid-write, corrupt files, age and quota clean-ups.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::*;
use crate::engine::profile::model::{GitState, Mode, RunContext, RunStatus};
use crate::engine::profile::schema::ProfileJson;

fn fixture(name: &str) -> Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/scalene/2.4.0/{name}.json"));
    crate::engine::profile::parse::parse_profile(&fs::read(path).unwrap()).unwrap()
}

fn store_at(dir: &Path) -> Store {
    Store::new(StoreSettings { dir: Some(dir.to_path_buf()), max_profiles: DEFAULT_MAX_PROFILES, max_bytes: DEFAULT_MAX_BYTES })
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o777
}

/// Every path under `root` with its size, for "nothing was written anywhere".
fn tree(root: &Path) -> BTreeMap<PathBuf, u64> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            found.insert(entry.path(), meta.len());
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    found
}

fn set_age(path: &Path, age: Duration) {
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn every_created_dir_is_0700_and_every_file_0600_from_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data/scalene-lsp/profiles");
    let store = store_at(&dir);
    assert!(store.list().unwrap().entries.is_empty());
    assert!(!tmp.path().join("data").exists(), "reading creates nothing: storage is off until something is saved");
    let saved = store.save("baseline", &fixture("cpu_bound")).unwrap();
    for created in [tmp.path().join("data"), tmp.path().join("data/scalene-lsp"), dir.clone()] {
        assert_eq!(mode(&created), 0o700, "{}", created.display());
    }
    assert_eq!(saved.path, dir.canonicalize().unwrap().join("baseline.json"));
    assert_eq!(mode(&saved.path), 0o600);
    // Replacing keeps the mode and leaves no temp file behind.
    store.save("baseline", &fixture("memory_heavy")).unwrap();
    assert_eq!(mode(&saved.path), 0o600);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    // An existing folder others can read (not write) is tightened before anything is written into it.
    let open = tmp.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
    store_at(&open).save("x", &fixture("cpu_bound")).unwrap();
    assert_eq!(mode(&open), 0o700);
    assert_eq!(mode(&open.join("x.json")), 0o600);
}

#[test]
fn a_store_others_can_write_to_is_refused_for_every_use_and_left_as_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = store_at(&dir);
    store.save("baseline", &fixture("cpu_bound")).unwrap();
    for open in [0o777, 0o1777, 0o770, 0o720, 0o702] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(open)).unwrap();
        let refused = |result: Result<(), EngineError>| {
            let message = result.expect_err("refused").to_string();
            assert!(message.contains("can write to it") && message.contains(&format!("`chmod 700 {}`", dir.display())), "{open:o}: {message}");
        };
        refused(store.load("baseline").map(drop));
        refused(store.list().map(drop));
        refused(store.save("other", &fixture("cpu_bound")).map(drop));
        refused(store.delete("baseline").map(drop));
        refused(store.cleanup_old(Duration::ZERO).map(drop));
        assert!(!store.exists("baseline"));
        assert_eq!(fs::symlink_metadata(&dir).unwrap().mode() & 0o7777, open, "not tightened behind the user's back");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "nothing written or removed");
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(store.load("baseline").unwrap().meta.name, "baseline");
}

#[test]
fn names_that_leave_the_store_or_are_malformed_are_refused_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("parent");
    fs::create_dir(&parent).unwrap();
    let dir = parent.join("store");
    let store = store_at(&dir);
    let profile = fixture("cpu_bound");
    let long = "a".repeat(MAX_NAME_LEN + 1);
    let bad = ["../x", "../../x", "/etc/passwd", "/tmp/x", "a/b", "a\\b", "a\0b", "", &long, ".hidden", ".", "..", "a b", "é", "x:y"];
    for round in ["before the store exists", "with the store there"] {
        let before = tree(tmp.path());
        for name in bad {
            let err = store.save(name, &profile).unwrap_err();
            assert_eq!(err.kind(), "bad_name", "{name:?} ({round}): {err}");
            assert!(err.to_string().contains("Nothing was written") && err.to_string().contains("Fix:"), "{err}");
            assert!(matches!(store.load(name), Err(EngineError::BadName { .. })), "{name:?}");
            assert!(matches!(store.delete(name), Err(EngineError::BadName { .. })), "{name:?}");
        }
        assert_eq!(tree(tmp.path()), before, "{round}: nothing was written anywhere (store, its parent, the temp root)");
        assert!(!tmp.path().join("x.json").exists() && !parent.join("x.json").exists() && !Path::new("/tmp/x.json").exists());
        store.save("ok", &profile).unwrap();
    }
    assert!(check_name(&"a".repeat(MAX_NAME_LEN)).is_ok());
    for good in ["baseline", "before-fix", "v1.2", "run_3", "A.b-C_9"] {
        assert!(check_name(good).is_ok(), "{good}");
    }
}

#[test]
fn a_saved_profile_reads_back_with_its_numbers_sources_and_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_at(tmp.path());
    let mut profile = fixture("multi_module");
    profile.context = Some(RunContext {
        interpreter: "/venv/bin/python".into(),
        python_version: "3.11.2".into(),
        mode: Mode::Memory,
        project_root: Some("/proj".into()),
        git: Some(GitState { commit: "a".repeat(40), dirty: true }),
    });
    profile.scalene_version = Some("2.4.0".into());
    store.save("baseline", &profile).unwrap();
    let saved = store.load("baseline").unwrap();
    let expected = serde_json::to_value(ProfileJson::from(&profile)).unwrap();
    assert_eq!(serde_json::to_value(ProfileJson::from(&saved.profile)).unwrap(), expected, "every number, source and note");
    for (ours, theirs) in saved.profile.files.iter().zip(&profile.files) {
        assert_eq!(ours.source, theirs.source);
        assert!(!ours.source.is_empty());
        assert_eq!(ours.lines.iter().map(|l| &l.text).collect::<Vec<_>>(), theirs.lines.iter().map(|l| &l.text).collect::<Vec<_>>());
    }
    let meta = &saved.meta;
    assert_eq!(meta.name, "baseline");
    assert_eq!((meta.interpreter.as_deref(), meta.python_version.as_deref()), (Some("/venv/bin/python"), Some("3.11.2")));
    assert_eq!((meta.scalene_version.as_deref(), meta.project_root.as_deref()), (Some("2.4.0"), Some("/proj")));
    assert_eq!((meta.git_commit.as_deref(), meta.git_dirty), (Some("a".repeat(40).as_str()), Some(true)));
    assert_eq!((meta.mode, meta.runs, meta.files), (Mode::Memory, 1, profile.files.len()));
    assert_eq!((meta.elapsed_s, meta.peak_mb, meta.program.as_str()), (profile.elapsed_s, profile.peak_mb, profile.program.as_str()));
    assert!(meta.created.ends_with('Z') && meta.created.len() == 20, "{}", meta.created);
    assert_eq!(saved.profile.context, profile.context);
    let listed = store.list().unwrap();
    assert_eq!(listed.entries.len(), 1);
    assert_eq!(&listed.entries[0].meta, meta);
}

#[test]
fn listing_reads_only_the_header_and_skips_corrupt_and_foreign_files_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_at(tmp.path());
    store.save("good", &fixture("cpu_bound")).unwrap();
    let good = fs::read(tmp.path().join("good.json")).unwrap();
    let header_end = good.iter().position(|b| *b == b'\n').unwrap() + 1;
    // A valid header with a broken body: listed (only headers are read), but not loadable.
    let mut torn = good[..header_end].to_vec();
    torn.extend_from_slice(b"{\"profile\": {\"schema\": 1, \"status\": \"ok\"");
    fs::write(tmp.path().join("torn.json"), &torn).unwrap();
    fs::write(tmp.path().join("junk.json"), b"not json at all").unwrap();
    fs::write(tmp.path().join("empty.json"), b"").unwrap();
    fs::write(tmp.path().join("scalene.json"), fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scalene/2.4.0/cpu_bound.json")).unwrap()).unwrap();
    fs::write(tmp.path().join("notes.txt"), b"hello").unwrap();
    let mut newer = serde_json::to_vec(&serde_json::json!({"format": FORMAT, "version": FORMAT_VERSION + 1, "meta": {}})).unwrap();
    newer.extend_from_slice(b"\n{}\n");
    fs::write(tmp.path().join("future.json"), newer).unwrap();
    let listing = store.list().unwrap();
    let names: Vec<&str> = listing.entries.iter().map(|e| e.meta.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"good") && names.contains(&"torn"), "{names:?}");
    assert_eq!(listing.problems.len(), 5, "{:#?}", listing.problems);
    for (file, why) in [("junk.json", "not a readable saved profile"), ("empty.json", "no complete header"), ("scalene.json", "not a saved-profile header"), ("notes.txt", "not a saved profile"), ("future.json", "newer scalene-lsp")] {
        assert!(listing.problems.iter().any(|p| p.contains(file) && p.contains(why)), "{file}: {:#?}", listing.problems);
    }
    let err = store.load("torn").unwrap_err();
    assert_eq!(err.kind(), "saved_unreadable");
    assert!(err.to_string().contains("truncated") && err.to_string().contains("Fix:"), "{err}");
    assert!(store.load("junk").unwrap_err().to_string().contains("no header line"));
    assert!(store.load("future").unwrap_err().to_string().contains("upgrade scalene-lsp"));
    let missing = store.load("absent").unwrap_err();
    assert_eq!(missing.kind(), "saved_not_found");
    assert!(missing.to_string().contains("good") && missing.to_string().contains("--save absent"), "{missing}");
    // A symbolic link in the store is neither followed nor listed as a profile.
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.json"), &good).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.json"), tmp.path().join("link.json")).unwrap();
    assert!(store.load("link").unwrap_err().to_string().contains("not a regular file"));
    assert!(store.list().unwrap().problems.iter().any(|p| p.contains("link.json")));
}

#[test]
fn a_save_that_dies_mid_write_leaves_the_old_file_and_nothing_partial_visible() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_at(tmp.path());
    store.save("baseline", &fixture("cpu_bound")).unwrap();
    let old = fs::read(tmp.path().join("baseline.json")).unwrap();
    // What `write_private` leaves when killed between create and rename: a hidden temp file, half written.
    let temp = tmp.path().join(".baseline.json.AbC123.tmp");
    fs::write(&temp, fixture_bytes_prefix(&old)).unwrap();
    let listing = store.list().unwrap();
    assert_eq!(listing.entries.len(), 1);
    assert!(listing.problems.is_empty(), "a temp file is not a problem: {:?}", listing.problems);
    assert_eq!(fs::read(tmp.path().join("baseline.json")).unwrap(), old, "the old file is intact");
    assert!(store.load("baseline").is_ok());
    // A fresh temp file may belong to a save in progress: it stays; an old one is swept.
    store.cleanup_old(Duration::from_secs(365 * 86_400)).unwrap();
    assert!(temp.exists());
    set_age(&temp, STALE_TEMP_AGE + Duration::from_secs(60));
    store.cleanup_old(Duration::from_secs(365 * 86_400)).unwrap();
    assert!(!temp.exists(), "a stale temp file is removed");
}

fn fixture_bytes_prefix(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len() / 2].to_vec()
}

#[test]
fn cleanup_old_removes_by_age_and_clear_all_removes_every_profile_only() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_at(tmp.path());
    let profile = fixture("cpu_bound");
    for name in ["old", "older", "new"] {
        store.save(name, &profile).unwrap();
    }
    set_age(&tmp.path().join("old.json"), Duration::from_secs(6 * 86_400));
    set_age(&tmp.path().join("older.json"), Duration::from_secs(30 * 86_400));
    let names: Vec<String> = store.list().unwrap().entries.into_iter().map(|e| e.meta.name).collect();
    assert_eq!(names, ["new", "old", "older"], "newest first");
    let mut removed = store.cleanup_old(Duration::from_secs(5 * 86_400)).unwrap();
    removed.sort();
    assert_eq!(removed, ["old", "older"]);
    assert_eq!(store.list().unwrap().entries.len(), 1);
    fs::write(tmp.path().join("README.txt"), b"mine").unwrap();
    store.save("another", &profile).unwrap();
    let mut cleared = store.clear_all().unwrap();
    cleared.sort();
    assert_eq!(cleared, ["another", "new"]);
    assert!(store.list().unwrap().entries.is_empty());
    assert!(tmp.path().join("README.txt").exists(), "a file that is not a saved profile is left alone");
}

#[test]
fn the_quota_removes_the_oldest_first_and_never_the_profile_just_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = fixture("cpu_bound");
    let store = Store::new(StoreSettings { dir: Some(tmp.path().to_path_buf()), max_profiles: 3, max_bytes: u64::MAX });
    for (index, name) in ["p1", "p2", "p3"].iter().enumerate() {
        store.save(name, &profile).unwrap();
        set_age(&tmp.path().join(format!("{name}.json")), Duration::from_secs(100 - index as u64 * 10));
    }
    let saved = store.save("p4", &profile).unwrap();
    assert_eq!(saved.evicted, ["p1"]);
    set_age(&tmp.path().join("p4.json"), Duration::from_secs(50));
    let saved = store.save("p5", &profile).unwrap();
    assert_eq!(saved.evicted, ["p2"]);
    let names: Vec<String> = store.list().unwrap().entries.into_iter().map(|e| e.meta.name).collect();
    assert_eq!(names, ["p5", "p4", "p3"]);
    // Bytes: room for about two profiles.
    let size = fs::metadata(tmp.path().join("p5.json")).unwrap().len();
    let small = Store::new(StoreSettings { dir: Some(tmp.path().to_path_buf()), max_profiles: 100, max_bytes: size * 2 + size / 2 });
    let saved = small.save("p6", &profile).unwrap();
    assert_eq!(saved.evicted, ["p3", "p4"], "oldest first until the bytes fit");
    let names: Vec<String> = small.list().unwrap().entries.into_iter().map(|e| e.meta.name).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"p6".to_string()) && names.contains(&"p5".to_string()));
    // Even a quota of zero keeps the profile just saved.
    let none = Store::new(StoreSettings { dir: Some(tmp.path().to_path_buf()), max_profiles: 0, max_bytes: 0 });
    let saved = none.save("keep", &profile).unwrap();
    assert_eq!(saved.evicted.len(), 2);
    assert_eq!(none.list().unwrap().entries.len(), 1);
}

#[test]
fn a_store_that_is_a_link_or_another_users_or_a_profile_without_data_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = store_at(&link).save("x", &fixture("cpu_bound")).unwrap_err();
    assert_eq!(err.kind(), "store_unusable", "{err}");
    assert_eq!(fs::read_dir(&real).unwrap().count(), 0);
    let empty = Profile::empty(RunStatus::TooShort, "/p/a.py".into());
    let err = store_at(tmp.path()).save("empty", &empty).unwrap_err();
    assert!(err.to_string().contains("no measurements"), "{err}");
    let nowhere = Store::new(StoreSettings { dir: None, max_profiles: 1, max_bytes: 1 });
    assert!(nowhere.save("x", &fixture("cpu_bound")).unwrap_err().to_string().contains("--store DIR"));
}

#[test]
fn rfc3339_dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_796_220_579), "2026-12-02T14:09:39Z");
}
