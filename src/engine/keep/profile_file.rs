//! Reading a profile file someone handed us (CLI `show`, the editor's `scalene.loadProfile`, MCP's
//! `load_profile`): only a regular file, never more than a limit, and never a blocking open. A FIFO, a
//! device, a socket or a directory is refused at once; the size is checked before reading and enforced
//! while reading (a file may grow). Callers in async code run it on the blocking pool.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::engine::error::{EngineError, file_kind};

/// The default limit of a profile file.
pub const DEFAULT_MAX_PROFILE_BYTES: u64 = 512 * 1024 * 1024;

/// The bytes of `path`, a regular file of at most `max_bytes`.
pub fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, EngineError> {
    let not_regular = |kind| EngineError::ProfileNotAFile { path: path.to_path_buf(), kind };
    let too_large = |size: u64| EngineError::ProfileTooLarge {
        path: path.to_path_buf(),
        size_mb: crate::engine::units::mb(size),
        limit_mb: crate::engine::units::mb(max_bytes),
    };
    let meta = std::fs::metadata(path).map_err(|err| EngineError::io(format!("cannot read {}", path.display()), err))?;
    if !meta.is_file() {
        return Err(not_regular(file_kind(meta.file_type())));
    }
    if meta.len() > max_bytes {
        return Err(too_large(meta.len()));
    }
    // O_NONBLOCK: if the path was swapped for a FIFO since the check, the open does not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| EngineError::io(format!("cannot read {}", path.display()), err))?;
    let opened = file.metadata().map_err(|err| EngineError::io(format!("cannot read {}", path.display()), err))?;
    if !opened.is_file() {
        return Err(not_regular(file_kind(opened.file_type())));
    }
    let mut bytes = Vec::with_capacity(opened.len().min(max_bytes) as usize);
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| EngineError::io(format!("cannot read {}", path.display()), err))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("p.json");
        std::fs::write(&file, b"{}").unwrap();
        assert_eq!(read_bounded(&file, 10).unwrap(), b"{}");
        let err = read_bounded(&file, 1).unwrap_err();
        assert!(matches!(err, EngineError::ProfileTooLarge { .. }), "{err}");
        assert!(err.to_string().contains("maxProfileMb"), "the message names the setting: {err}");
        let err = read_bounded(tmp.path(), 10).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = read_bounded(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("named pipe"), "{err}");
        let err = read_bounded(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
    }
}
