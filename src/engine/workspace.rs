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

#[cfg(test)]
mod tests {
    use super::*;

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
