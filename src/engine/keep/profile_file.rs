//! Reading a profile file someone handed us (CLI `show`, the editor's `scalene.loadProfile`, MCP's
//! `load_profile`): only a regular file, never more than a limit, and never a blocking open. A FIFO, a
//! device, a socket or a directory is refused at once; the size is checked before reading and enforced
//! while reading (a file may grow). Callers in async code run it on the blocking pool. Then what is in
//! it: a Scalene JSON, this tool's normalized JSON or a saved profile, with the paths of a profile
//! recorded on another machine rebased onto the workspace.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::engine::error::{EngineError, file_kind};
use crate::engine::keep::cache::{ProfileKey, ProfileOrigin};
use crate::engine::profile::model::{Profile, RunStatus};
use crate::engine::workspace::rebase;

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

/// Reads (see `read_bounded`) and parses a Scalene JSON file (no cache).
pub fn load_json_file(path: &Path, max_bytes: u64) -> Result<(ProfileKey, Profile), EngineError> {
    let bytes = read_bounded(path, max_bytes)?;
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
    let bytes = read_bounded(path, max_bytes)?;
    if crate::engine::keep::storage::is_saved_profile(&bytes) {
        return crate::engine::keep::storage::parse_saved(&bytes)
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
    if let Some((from, to)) = example {
        profile.notes.push(format!(
            "{n_rebased} file(s) of this profile do not exist at their recorded paths and were matched to the workspace (e.g. {} → {})",
            from.display(),
            to.display()
        ));
    }
}
