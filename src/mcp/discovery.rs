//! Discovery files: `$XDG_RUNTIME_DIR/scalene-lsp/<pid>.json` (fallback: the per-user cache dir,
//! `~/.cache/scalene-lsp/sessions`) holding `{url, token, roots, pid}`, so that `scalene-lsp mcp` and
//! other local tools can find a live editor session. The directory is 0700 and the file 0600
//! (written to a temp file and renamed, so a reader never sees half a file); the file is removed when
//! the guard drops; files of dead processes are swept.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SessionInfo {
    pub url: String,
    pub token: String,
    pub roots: Vec<PathBuf>,
    pub pid: u32,
}

/// The directory of discovery files: the per-user runtime directory.
pub fn discovery_dir() -> Option<PathBuf> {
    crate::engine::dirs::runtime_dir()
}

/// True while a process with this pid exists.
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// Removes discovery files whose process is gone. Returns how many.
pub fn sweep_stale(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(pid) = path.file_stem().and_then(|stem| stem.to_str()).and_then(|stem| stem.parse::<u32>().ok()) else {
            continue;
        };
        if path.extension().is_some_and(|ext| ext == "json") && !pid_alive(pid) && fs::remove_file(&path).is_ok() {
            tracing::debug!(path = %path.display(), "removed a stale discovery file");
            removed += 1;
        }
    }
    removed
}

/// Removes its discovery file when dropped.
#[derive(Debug)]
pub struct DiscoveryGuard {
    path: PathBuf,
    armed: bool,
}

impl DiscoveryGuard {
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives up ownership of the file without removing it (it was rewritten by a newer guard).
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for DiscoveryGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes this process's discovery file into `dir` (atomically, 0600, in a 0700 dir) after sweeping
/// stale ones.
pub fn write_in(dir: &Path, info: &SessionInfo) -> std::io::Result<DiscoveryGuard> {
    crate::engine::dirs::create_private_dir(dir)?;
    sweep_stale(dir);
    let path = dir.join(format!("{}.json", info.pid));
    let text = serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?;
    crate::engine::dirs::write_private(&path, &text)?;
    Ok(DiscoveryGuard { path, armed: true })
}

/// Writes the discovery file into the default directory.
pub fn write(info: &SessionInfo) -> std::io::Result<DiscoveryGuard> {
    let dir = discovery_dir().ok_or_else(|| {
        std::io::Error::other("neither XDG_RUNTIME_DIR nor HOME is set, so there is no place for the discovery file")
    })?;
    write_in(&dir, info)
}

/// Every live session in `dir` (stale files are skipped).
pub fn sessions_in(dir: &Path) -> Vec<SessionInfo> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut sessions: Vec<(std::time::SystemTime, SessionInfo)> = entries
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
        .filter_map(|entry| {
            let modified = entry.metadata().and_then(|meta| meta.modified()).unwrap_or(std::time::UNIX_EPOCH);
            let info: SessionInfo = serde_json::from_slice(&fs::read(entry.path()).ok()?).ok()?;
            (pid_alive(info.pid) && info.pid != std::process::id()).then_some((modified, info))
        })
        .collect();
    sessions.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    sessions.into_iter().map(|(_, info)| info).collect()
}

/// The live session whose roots contain `cwd` (the deepest root wins, then the newest file).
pub fn find_session_in(dir: &Path, cwd: &Path) -> Option<SessionInfo> {
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    sessions_in(dir)
        .into_iter()
        .filter_map(|info| {
            let depth = info
                .roots
                .iter()
                .filter_map(|root| {
                    let root = root.canonicalize().unwrap_or_else(|_| root.clone());
                    cwd.starts_with(&root).then(|| root.as_os_str().len())
                })
                .max()?;
            Some((depth, info))
        })
        .enumerate()
        .max_by(|(ia, (a, _)), (ib, (b, _))| a.cmp(b).then(ib.cmp(ia)))
        .map(|(_, (_, info))| info)
}

/// The live session for `cwd` in the default directory.
pub fn find_session(cwd: &Path) -> Option<SessionInfo> {
    find_session_in(&discovery_dir()?, cwd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn write_find_sweep_and_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("scalene-lsp");
        let ws = tmp.path().join("ws");
        fs::create_dir_all(ws.join("sub")).unwrap();
        // A live "other process": our parent (never us: a process does not bridge to itself).
        let parent = std::os::unix::process::parent_id();
        let info = SessionInfo { url: "http://127.0.0.1:1/mcp".into(), token: "t".into(), roots: vec![ws.clone()], pid: parent };
        let guard = write_in(&dir, &info).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert_eq!(fs::metadata(guard.path()).unwrap().mode() & 0o777, 0o600);
        assert_eq!(find_session_in(&dir, &ws.join("sub")), Some(info.clone()));
        assert_eq!(find_session_in(&dir, tmp.path()), None, "outside every root");
        // A stale file (a pid that cannot exist) is swept on the next write.
        fs::write(dir.join("4000000000.json"), serde_json::to_vec(&SessionInfo { pid: 4_000_000_000, ..info.clone() }).unwrap()).unwrap();
        let other = SessionInfo { pid: std::process::id(), ..info.clone() };
        let own = write_in(&dir, &other).unwrap();
        assert!(!dir.join("4000000000.json").exists());
        drop(own);
        drop(guard);
        assert!(fs::read_dir(&dir).unwrap().next().is_none(), "guards remove their files");
    }
}
