//! Project roots: where a program's project starts (its working directory, where its venv lives, which
//! files count as user code).

use std::path::{Path, PathBuf};

/// Files or folders that mark a Python project's root.
pub const ROOT_MARKERS: [&str; 10] = [
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "requirements.txt",
    "tox.ini",
    ".git",
    ".hg",
    ".venv",
    "venv",
];

/// The nearest folder at or above `start` that holds a root marker.
pub fn find_project_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| ROOT_MARKERS.iter().any(|marker| dir.join(marker).exists()))
        .map(Path::to_path_buf)
}

/// Maps a path that does not exist here onto one of `roots`: the longest tail of its components that
/// names an existing file under a root (`/ci/build/proj/src/app.py` → `<root>/src/app.py`).
pub fn rebase(path: &Path, roots: &[PathBuf]) -> Option<PathBuf> {
    if path.exists() {
        return None;
    }
    let components: Vec<_> = path.components().collect();
    (1..components.len()).find_map(|start| {
        let tail: PathBuf = components[start..].iter().collect();
        roots.iter().map(|root| root.join(&tail)).find(|candidate| candidate.is_file())
    })
}

/// Rebases every file of a loaded profile that does not exist here, and says so in a note. The line
/// remapping (remap.rs) still checks each file's text, so a wrong guess shows no wrong number.
pub fn rebase_profile(profile: &mut super::Profile, roots: &[PathBuf]) {
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
    fn missing_paths_are_rebased_on_the_longest_existing_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("proj");
        std::fs::create_dir_all(root.join("src/pkg")).unwrap();
        std::fs::write(root.join("src/pkg/app.py"), "").unwrap();
        std::fs::write(root.join("app.py"), "").unwrap();
        let roots = vec![root.clone()];
        assert_eq!(rebase(Path::new("/ci/build/proj/src/pkg/app.py"), &roots), Some(root.join("src/pkg/app.py")));
        assert_eq!(rebase(Path::new("/ci/elsewhere/app.py"), &roots), Some(root.join("app.py")));
        assert_eq!(rebase(Path::new("/ci/nothing/here.py"), &roots), None);
        assert_eq!(rebase(&root.join("app.py"), &roots), None, "existing paths stay");
    }

    #[test]
    fn nearest_marker_wins_and_none_without_markers() {
        let tmp = tempfile::tempdir().unwrap();
        let outer = tmp.path().join("outer");
        let inner = outer.join("inner").join("src");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::write(outer.join("pyproject.toml"), "").unwrap();
        assert_eq!(find_project_root(&inner), Some(outer.clone()));
        std::fs::create_dir(outer.join("inner").join(".git")).unwrap();
        assert_eq!(find_project_root(&inner), Some(outer.join("inner")));
    }
}
