//! Writing an export someone asked for (CLI `--export`/`--flamegraph`, the editor's
//! `scalene.exportProfile`): the target checked before anything is made, then written whole.

use std::io::Write;
use std::path::Path;

/// Why `path` cannot be written, with the fix (None: it can be tried).
pub fn unwritable(path: &Path) -> Option<String> {
    if path.as_os_str().is_empty() {
        return Some("the file name is empty. Fix: name a file, e.g. out.svg.".into());
    }
    if path.is_dir() {
        return Some("it is a folder. Fix: name a file in it, e.g. out.svg.".into());
    }
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Some(format!(
            "its folder {folder:?} does not exist. Fix: create it first (mkdir -p {}) or name a file in an existing folder.",
            crate::engine::error::shell_quote(&folder.to_string_lossy())
        ));
    }
    None
}

/// The folder a file is written in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` through a temp file in the same folder renamed over it, so a reader never
/// sees half a file and a failed write leaves the old file as it was.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut file = tempfile::Builder::new().prefix(".scalene-lsp-export-").tempfile_in(folder_of(path))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    // A file to share and open in a viewer, not a secret (tempfile creates 0600).
    file.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    file.persist(path).map_err(|err| err.error)?;
    Ok(())
}
