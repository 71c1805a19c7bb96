//! Per-user directories (XDG base directories) and private files: every directory made here is 0700
//! and checked to be the user's own, every file is 0600 from creation and written atomically (a temp
//! file in the same directory, fsync, rename), so a reader never sees half a file and no other user
//! ever sees the content.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const APP: &str = "scalene-lsp";

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|dir| !dir.is_empty()).map(PathBuf::from)
}

fn home_dir(relative: &str) -> Option<PathBuf> {
    env_dir("HOME").map(|home| home.join(relative))
}

/// `$XDG_CACHE_HOME/scalene-lsp` (else `~/.cache/scalene-lsp`): things worth keeping but safe to lose.
pub fn cache_dir() -> Option<PathBuf> {
    Some(env_dir("XDG_CACHE_HOME").or_else(|| home_dir(".cache"))?.join(APP))
}

/// `$XDG_RUNTIME_DIR/scalene-lsp` (else `cache_dir()/sessions`): files that live as long as a process.
pub fn runtime_dir() -> Option<PathBuf> {
    match env_dir("XDG_RUNTIME_DIR") {
        Some(runtime) => Some(runtime.join(APP)),
        None => Some(cache_dir()?.join("sessions")),
    }
}

/// `$XDG_DATA_HOME/scalene-lsp` (else `~/.local/share/scalene-lsp`): data the user chose to keep.
pub fn data_dir() -> Option<PathBuf> {
    Some(env_dir("XDG_DATA_HOME").or_else(|| home_dir(".local/share"))?.join(APP))
}

/// Creates `dir` (and missing parents) with mode 0700, or checks an existing one: it must be a real
/// directory (not a symlink) owned by this user; group/other permission bits are removed.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(std::io::Error::other(format!("{} is not a directory", dir.display())));
    }
    if meta.uid() != nix::unistd::getuid().as_raw() {
        return Err(std::io::Error::other(format!(
            "{} belongs to another user. Fix: remove it, or point the XDG variable at a private directory",
            dir.display()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically with mode 0600: a temp file in the same (private) directory,
/// created 0600, fsynced, then renamed over `path`. On error nothing is left but the old file.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other(format!("{} has no parent directory", path.display())))?;
    create_private_dir(dir)?;
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|err| err.error)?;
    // The rename is durable once the directory is synced.
    if let Ok(handle) = OpenOptions::new().read(true).custom_flags(nix::libc::O_DIRECTORY).open(dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dirs_and_files_have_private_modes_from_the_start() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        write_private(&dir.join("x.json"), b"{}").unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert_eq!(fs::metadata(dir.join("x.json")).unwrap().mode() & 0o777, 0o600);
        write_private(&dir.join("x.json"), b"[1]").unwrap();
        assert_eq!(fs::read(dir.join("x.json")).unwrap(), b"[1]");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temp file is left");
    }

    #[test]
    fn an_existing_dir_is_tightened_and_a_symlink_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let open = tmp.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&open).unwrap();
        assert_eq!(fs::metadata(&open).unwrap().mode() & 0o777, 0o700);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        assert!(create_private_dir(&link).is_err());
    }
}
