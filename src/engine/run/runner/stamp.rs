//! Which version of a file is there: size, modification time and inode. The snapshot watcher
//! (snapshots.rs) and the pause confirmation (control.rs) both tell Scalene's rewrites apart by it; a
//! leaf, so that neither imports the other for it.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Identifies one version of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub len: u64,
    modified: i64,
    modified_ns: i64,
    inode: u64,
}

pub fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp { len: meta.len(), modified: meta.mtime(), modified_ns: meta.mtime_nsec(), inode: meta.ino() })
}
