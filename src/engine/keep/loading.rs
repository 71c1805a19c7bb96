//! Loading a profile from a file someone handed us (CLI `show` and `compare`, the editor's
//! `scalene.loadProfile`, MCP's `load_profile`): read bounded (profile_file.rs), then what is in it (a
//! Scalene JSON, this tool's normalized JSON or a saved profile), with the paths of a profile recorded
//! on another machine rebased onto the workspace.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::engine::error::EngineError;
use crate::engine::keep::cache::{ProfileKey, ProfileOrigin};
use crate::engine::keep::storage;
use crate::engine::profile::call_paths::{CallPaths, Place};
use crate::engine::profile::model::{Profile, RunStatus};
use crate::engine::workspace::rebase;

/// Reads (see `read_bounded`) and parses a Scalene JSON file (no cache).
pub fn load_json_file(path: &Path, max_bytes: u64) -> Result<(ProfileKey, Profile), EngineError> {
    let bytes = crate::engine::keep::profile_file::read_bounded(path, max_bytes)?;
    let mut profile =
        crate::engine::profile::parse::parse_profile(&bytes).map_err(|source| EngineError::Parse { path: path.to_path_buf(), source })?;
    if profile.status == RunStatus::TooShort {
        profile.notes.push(crate::engine::profile::model::TOO_SHORT_ADVICE.into());
    }
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let key = ProfileKey {
        origin: ProfileOrigin::Loaded,
        path: canonical,
        content_hash: blake3::hash(&bytes).to_hex().to_string(),
        options: String::new(),
    };
    Ok((key, profile))
}

/// A profile from a file given to `compare` or `show` (read like `load_json_file`: a regular file of at
/// most `max_bytes`): a saved profile file, this tool's `--json` output (docs/schema.md), or a Scalene JSON.
pub fn load_profile_file(path: &Path, max_bytes: u64) -> Result<Profile, EngineError> {
    let bytes = crate::engine::keep::profile_file::read_bounded(path, max_bytes)?;
    if storage::is_saved_profile(&bytes) {
        return storage::parse_saved(&bytes)
            .map(|saved| saved.profile)
            .map_err(|reason| EngineError::SavedUnreadable { path: path.to_path_buf(), reason });
    }
    #[derive(serde::Deserialize)]
    struct Probe {
        schema: Option<serde::de::IgnoredAny>,
    }
    let normalized = serde_json::from_slice::<Probe>(&bytes).is_ok_and(|probe| probe.schema.is_some());
    if normalized {
        let json: crate::engine::profile::schema::ProfileJson = crate::engine::profile::schema::read_json(&bytes).map_err(|err| EngineError::CannotCompare {
            reason: format!("{} has a `schema` key but is not scalene-lsp's normalized JSON (docs/schema.md): {err}", path.display()),
            fix: "pass a Scalene JSON (`scalene run -o FILE.json`), the output of `scalene-lsp profile --json`, or a saved profile name".into(),
        })?;
        return Ok(json.into_profile());
    }
    let mut profile = crate::engine::profile::parse::parse_profile(&bytes).map_err(|source| EngineError::Parse { path: path.to_path_buf(), source })?;
    if profile.status == RunStatus::TooShort {
        profile.notes.push(crate::engine::profile::model::TOO_SHORT_ADVICE.into());
    }
    Ok(profile)
}

/// The Python functions of the call paths live in the same files as the lines: they move with them,
/// so that a question about a workspace file finds its functions in the stacks.
fn rebase_call_paths(paths: &mut CallPaths, roots: &[PathBuf]) {
    let mut moved: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    for function in &mut paths.functions {
        if let Place::Python(path) = &mut function.place {
            let local = moved.entry(path.clone()).or_insert_with(|| rebase(path, roots));
            if let Some(local) = local {
                *path = local.clone();
            }
        }
    }
}

/// Rebases every file of a loaded profile that does not exist here, and says so in a note. The line
/// remapping (remap.rs) still checks each file's text, so a wrong guess shows no wrong number.
pub fn rebase_profile(profile: &mut Profile, roots: &[PathBuf]) {
    let mut n_rebased = 0;
    let mut example = None;
    for file in &mut profile.files {
        if let Some(local) = rebase(&file.path, roots) {
            example.get_or_insert_with(|| (file.path.clone(), local.clone()));
            file.path = local;
            n_rebased += 1;
        }
    }
    if let Some(local) = rebase(Path::new(&profile.program), roots) {
        profile.program = local.display().to_string();
    }
    if let Some(at) = profile.peak_at.as_mut()
        && let Some(local) = rebase(&at.file, roots)
    {
        at.file = local;
    }
    profile.files.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(paths) = profile.call_paths.as_mut() {
        rebase_call_paths(std::sync::Arc::make_mut(paths), roots);
    }
    // A suite run's tests and their hot lines move with their files too (the editor's lenses find a
    // test by its file).
    if let Some(suite) = profile.tests.as_mut() {
        let mut moved: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
        let mut local_of = |path: &mut PathBuf| {
            if let Some(local) = moved.entry(path.clone()).or_insert_with(|| rebase(path, roots)) {
                *path = local.clone();
            }
        };
        for test in &mut std::sync::Arc::make_mut(suite).tests {
            local_of(&mut test.file);
            for line in &mut test.hottest {
                local_of(&mut line.file);
            }
        }
    }
    if let Some((from, to)) = example {
        profile.notes.push(format!(
            "{n_rebased} file(s) of this profile do not exist at their recorded paths and were matched to the workspace (e.g. {} → {})",
            from.display(),
            to.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_paths_move_with_the_files_of_a_profile_from_elsewhere() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(repo.join("fixtures/scalene/2.4.0/MANIFEST.json")).unwrap()).unwrap();
        let captured_at = manifest["programs_dir"].as_str().unwrap();
        let raw = std::fs::read_to_string(repo.join("fixtures/scalene/2.4.0/call_paths.json")).unwrap();
        let mut profile = crate::engine::profile::parse::parse_profile(raw.replace(captured_at, "/ci/build/proj").as_bytes()).unwrap();
        let root = repo.join("fixtures/programs");
        rebase_profile(&mut profile, std::slice::from_ref(&root));
        let helpers = root.join("call_paths/helpers.py");
        assert!(profile.files.iter().any(|file| file.path == helpers));
        let paths = profile.call_paths.as_deref().unwrap();
        assert_eq!(paths.find(&helpers, "score").len(), 1, "the stacks name the rebased file");
        assert!(paths.functions.iter().filter_map(|function| function.file()).all(|file| !file.starts_with("/ci/build/proj")));
    }

    #[test]
    fn a_suite_runs_tests_move_with_their_files() {
        use crate::engine::profile::suite::{Outcome, PhaseCost, TestCost, TestLine, TestSuite};
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = repo.join("fixtures/programs");
        let mut profile = Profile::empty(RunStatus::Ok, "suite".into());
        let test = TestCost {
            node_id: "tests/test_heavy.py::test_heaviest".into(),
            file: "/ci/build/proj/pytest_suite/tests/test_heavy.py".into(),
            line: 7,
            outcome: Outcome::Passed,
            message: None,
            setup: PhaseCost::default(),
            call: PhaseCost { samples: 10.0, cpu_s: 0.02, wall_s: 0.03 },
            teardown: PhaseCost::default(),
            peak_mb: None,
            hottest: vec![TestLine { file: "/ci/build/proj/pytest_suite/work.py".into(), line: 10, samples: 10.0, cpu_s: 0.02 }],
        };
        profile.tests = Some(std::sync::Arc::new(TestSuite { tests: vec![test], samples: 10.0, cpu_s: 0.02, ..TestSuite::default() }));
        rebase_profile(&mut profile, std::slice::from_ref(&root));
        let test = &profile.tests.as_deref().unwrap().tests[0];
        assert_eq!(test.file, root.join("pytest_suite/tests/test_heavy.py"));
        assert_eq!(test.hottest[0].file, root.join("pytest_suite/work.py"));
    }
}
