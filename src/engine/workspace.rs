//! Workspaces and projects: the workspace roots every front end confines file access to (`Roots`), the
//! project root of a program (its working directory, where its venv lives, which files count as user
//! code), and rebasing of a profile recorded elsewhere onto the workspace.
//!
//! Architecture Invariant: a path from a client is used only after `Roots::resolve` has canonicalised
//! it and found it inside a root (a symlink pointing outside is refused).

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, RwLock};

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


/// The workspace roots, shared with the LSP session (which updates them on workspace folder changes).
pub type SharedRoots = Arc<RwLock<Vec<PathBuf>>>;

/// A snapshot of the roots, each canonicalised once.
#[derive(Clone, Debug)]
pub struct Roots {
    roots: Vec<PathBuf>,
}

impl Roots {
    pub fn snapshot(shared: &SharedRoots) -> Roots {
        let roots = shared.read().unwrap_or_else(|poison| poison.into_inner()).clone();
        Roots::new(roots)
    }

    pub fn new(roots: Vec<PathBuf>) -> Roots {
        let roots = roots.into_iter().map(|root| root.canonicalize().unwrap_or(root)).collect();
        Roots { roots }
    }

    pub fn as_slice(&self) -> &[PathBuf] {
        &self.roots
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    fn listed(&self) -> String {
        if self.roots.is_empty() {
            "no workspace folder is open".into()
        } else {
            self.roots.iter().map(|root| root.display().to_string()).collect::<Vec<_>>().join(", ")
        }
    }

    /// Resolves a path given by a client: relative paths are taken from the first root where the file
    /// exists (else the first root); the result is canonical and inside a root, or an error that says
    /// why and what to do.
    pub fn resolve(&self, given: &str) -> Result<PathBuf, String> {
        if given.trim().is_empty() {
            return Err("`path` is empty. Fix: pass a file path relative to the workspace root, e.g. \"src/app.py\".".into());
        }
        if self.roots.is_empty() {
            return Err("no workspace root is known, so no file can be profiled or read. Fix: open a workspace folder in the editor (or start `scalene-lsp mcp` in the project directory).".into());
        }
        let given_path = Path::new(given);
        let candidates: Vec<PathBuf> = if given_path.is_absolute() {
            vec![given_path.to_path_buf()]
        } else {
            self.roots.iter().map(|root| root.join(given_path)).collect()
        };
        let Some(existing) = candidates.iter().find(|candidate| candidate.exists()) else {
            let tried = candidates.first().map(|path| lexical_normalize(path)).unwrap_or_default();
            if !self.contains(&tried) {
                return Err(outside_message(given, &tried, &self.listed()));
            }
            return Err(format!(
                "{given:?} does not exist (looked for {}). Fix: pass a path relative to the workspace root ({}).",
                tried.display(),
                self.listed()
            ));
        };
        let canonical = existing
            .canonicalize()
            .map_err(|err| format!("cannot resolve {}: {err}. Fix: check the path and its permissions.", existing.display()))?;
        if self.contains(&canonical) {
            return Ok(canonical);
        }
        let lexical = lexical_normalize(existing);
        if self.contains(&lexical) {
            Err(format!(
                "{given:?} is a symbolic link (or goes through one) to {}, which is outside the workspace ({}); \
                 scalene-lsp only profiles and reads files inside the workspace. Fix: pass the real file inside the \
                 workspace, or open its folder as a workspace folder.",
                canonical.display(),
                self.listed()
            ))
        } else {
            Err(outside_message(given, &canonical, &self.listed()))
        }
    }

    /// True when `path` (already canonical or lexically normal) is inside a root.
    pub fn contains(&self, path: &Path) -> bool {
        self.roots.iter().any(|root| path.starts_with(root))
    }

    /// The path as shown to clients: relative to the (deepest) root that contains it, else absolute.
    pub fn display(&self, path: &Path) -> String {
        self.roots
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.as_os_str().len())
            .and_then(|root| path.strip_prefix(root).ok())
            .map(|relative| relative.display().to_string())
            .unwrap_or_else(|| path.display().to_string())
    }

    /// The first root (the working directory of runs started from MCP).
    pub fn first(&self) -> Option<&Path> {
        self.roots.first().map(PathBuf::as_path)
    }

    /// The root containing `path`.
    pub fn root_of(&self, path: &Path) -> Option<&Path> {
        self.roots
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.as_os_str().len())
            .map(PathBuf::as_path)
    }
}

fn outside_message(given: &str, resolved: &Path, roots: &str) -> String {
    format!(
        "{given:?} resolves to {}, which is outside the workspace ({roots}); scalene-lsp only profiles and reads \
         files inside the workspace. Fix: pass a path inside the workspace, or open that folder as a workspace folder.",
        resolved.display()
    )
}

/// `a/./b/../c` → `a/c` without touching the file system.
fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
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

    #[test]
    fn the_neovim_config_has_the_same_root_markers() {
        // Neovim's workspace root (editors/nvim/lsp/scalene.lua) is the project root the server finds:
        // the same markers, as one group (a flat Lua list would rank them: `.git` far up could win over
        // a nearer `.venv`).
        let lua = include_str!("../../editors/nvim/lsp/scalene.lua");
        let wanted = format!(
            "root_markers = {{ {{ {} }} }},",
            ROOT_MARKERS.map(|marker| format!("'{marker}'")).join(", ")
        );
        let found: Vec<&str> = lua.lines().map(str::trim).filter(|line| line.starts_with("root_markers")).collect();
        assert_eq!(
            found,
            [wanted.as_str()],
            "editors/nvim/lsp/scalene.lua must hold ROOT_MARKERS of src/engine/workspace.rs. Fix: make its \
             root_markers line\n  {wanted}"
        );
    }

    #[test]
    fn inside_outside_and_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("ws");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("src/app.py"), "").unwrap();
        std::fs::write(outside.join("secret.py"), "").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.py"), root.join("link.py")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("linkdir")).unwrap();
        let roots = Roots::new(vec![root.clone()]);
        let canonical_root = root.canonicalize().unwrap();
        assert_eq!(roots.resolve("src/app.py").unwrap(), canonical_root.join("src/app.py"));
        assert_eq!(roots.resolve(&root.join("src/app.py").display().to_string()).unwrap(), canonical_root.join("src/app.py"));
        assert_eq!(roots.display(&canonical_root.join("src/app.py")), "src/app.py");
        let err = roots.resolve("../outside/secret.py").unwrap_err();
        assert!(err.contains("outside the workspace"), "{err}");
        let err = roots.resolve("link.py").unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        let err = roots.resolve("linkdir/secret.py").unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        let err = roots.resolve("missing.py").unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        let err = roots.resolve("../nothing.py").unwrap_err();
        assert!(err.contains("outside the workspace"), "{err}");
        assert!(Roots::new(vec![]).resolve("a.py").unwrap_err().contains("no workspace root"));
    }
}
