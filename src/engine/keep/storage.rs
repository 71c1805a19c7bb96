//! Saved profiles: opt-in storage on disk, off until the user saves something (nothing is created
//! before the first save). One file per profile, `<store>/<name>.json`, written atomically and
//! privately (`dirs::write_private`: 0700 directory, 0600 file from creation, temp file + fsync +
//! rename), so a reader never sees half a file and two processes saving at once leave valid files.
//!
//! The file is two JSON lines: a small header (`{"format", "version", "meta"}`: name, creation time,
//! program, arguments, mode, interpreter and versions, project root, git state, elapsed, peak) and the
//! normalized profile (`schema::ProfileJson`, with each file's profiled source and, for repeated runs,
//! the spread). Listing reads only the header line of each file.
//!
//! Architecture Invariant: a name is checked (`check_name`) before any path is built from it, and the
//! final path is checked to lie directly inside the store's canonical directory, so no name writes or
//! reads anywhere else. A file in the store that is not a saved profile is reported and skipped.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::error::EngineError;

mod format;

pub use format::{FORMAT, FORMAT_VERSION, SavedMeta, SavedProfile, is_saved_profile, parse_saved, rfc3339};
use crate::engine::profile::model::Profile;

/// The name the editor and `--save` use when none is given.
pub const DEFAULT_NAME: &str = "baseline";
pub const MAX_NAME_LEN: usize = 64;
pub const DEFAULT_MAX_PROFILES: usize = 100;
pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024 * 1024;
const EXTENSION: &str = ".json";
/// Temp files of a save that died (killed mid-write) are removed after this long.
const STALE_TEMP_AGE: Duration = Duration::from_secs(600);

/// Where saved profiles live and how many may stay.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreSettings {
    /// None: no per-user data directory could be found ($XDG_DATA_HOME and $HOME unset).
    pub dir: Option<PathBuf>,
    /// The oldest profiles are removed beyond this many...
    pub max_profiles: usize,
    /// ...or beyond this many bytes in all.
    pub max_bytes: u64,
}

impl Default for StoreSettings {
    fn default() -> StoreSettings {
        StoreSettings { dir: default_dir(), max_profiles: DEFAULT_MAX_PROFILES, max_bytes: DEFAULT_MAX_BYTES }
    }
}

/// The environment variable that names the store for every front end (CLI, editor default, MCP).
pub const STORE_ENV: &str = "SCALENE_LSP_STORE";

/// `$SCALENE_LSP_STORE`, else `$XDG_DATA_HOME/scalene-lsp/profiles` (else
/// `~/.local/share/scalene-lsp/profiles`).
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os(STORE_ENV).filter(|dir| !dir.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => crate::engine::dirs::data_dir().map(|dir| dir.join("profiles")),
    }
}

/// A saved profile in a listing.
#[derive(Clone, Debug)]
pub struct SavedEntry {
    pub meta: SavedMeta,
    pub path: PathBuf,
    pub bytes: u64,
    pub modified: SystemTime,
}

/// The store's profiles, newest first, and what was skipped (corrupt or foreign files), each a sentence.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub entries: Vec<SavedEntry>,
    pub problems: Vec<String>,
}

/// The outcome of a save.
#[derive(Clone, Debug)]
pub struct Saved {
    pub meta: SavedMeta,
    pub path: PathBuf,
    /// Older profiles removed to stay within the quota, oldest first.
    pub evicted: Vec<String>,
}

/// A store directory and its quota. Cheap to create; touches the disk only when used.
#[derive(Clone, Debug)]
pub struct Store {
    settings: StoreSettings,
}

/// Checks a saved profile's name: `[A-Za-z0-9._-]{1,64}`, not starting with a dot.
pub fn check_name(name: &str) -> Result<(), EngineError> {
    let bad = |reason: String| Err(EngineError::BadName { name: name.to_string(), reason });
    if name.is_empty() {
        return bad("it is empty".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return bad(format!("it is {} characters long (at most {MAX_NAME_LEN})", name.chars().count()));
    }
    if name.starts_with('.') {
        return bad("it starts with a dot (such names are hidden, and `.`/`..` name folders)".into());
    }
    if name.contains('\0') {
        return bad("it contains a NUL character".into());
    }
    if name.contains('/') || name.contains('\\') {
        return bad("it contains a path separator: a name is not a path, and saved profiles never leave the store".into());
    }
    if let Some(other) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return bad(format!("it contains {other:?}"));
    }
    Ok(())
}

impl Store {
    pub fn new(settings: StoreSettings) -> Store {
        Store { settings }
    }

    pub fn settings(&self) -> &StoreSettings {
        &self.settings
    }

    /// The configured directory (it may not exist yet).
    pub fn dir(&self) -> Result<&Path, EngineError> {
        self.settings.dir.as_deref().ok_or_else(|| EngineError::StoreUnusable {
            dir: PathBuf::new(),
            reason: "no per-user data directory is known ($XDG_DATA_HOME and $HOME are unset)".into(),
            fix: "set XDG_DATA_HOME or HOME, or name a folder with --store DIR (editor setting store.dir)".into(),
        })
    }

    fn unusable(&self, dir: &Path, reason: impl std::fmt::Display) -> EngineError {
        EngineError::StoreUnusable {
            dir: dir.to_path_buf(),
            reason: reason.to_string(),
            fix: "check the folder's owner and permissions, or use another one with --store DIR (editor setting store.dir)".into(),
        }
    }

    /// The canonical store directory when it exists (checked by `check_trusted`, and so is the default
    /// store's parent folder); None when nothing was ever saved.
    fn existing_dir(&self) -> Result<Option<PathBuf>, EngineError> {
        let dir = self.dir()?;
        if let Some(parent) = default_parent(dir) {
            match fs::symlink_metadata(&parent) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(err) => return Err(self.unusable(&parent, err)),
                Ok(meta) => self.check_trusted(&parent, &meta)?,
            }
        }
        match fs::symlink_metadata(dir) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(self.unusable(dir, err)),
            Ok(meta) => {
                self.check_trusted(dir, &meta)?;
                dir.canonicalize().map(Some).map_err(|err| self.unusable(dir, err))
            }
        }
    }

    /// A folder of the store is trusted when it is a real directory (not a link) of this user that no
    /// one else can write to: otherwise a profile in it may have been put there by another user, to be
    /// compared against as a baseline. Refused for reading and saving alike, with the fix.
    fn check_trusted(&self, dir: &Path, meta: &fs::Metadata) -> Result<(), EngineError> {
        let another_folder = "use a folder of your own with --store DIR (editor setting store.dir)";
        let refuse = |reason: String, fix: String| Err(EngineError::StoreUnusable { dir: dir.to_path_buf(), reason, fix });
        if meta.is_symlink() {
            return refuse("it is a symbolic link".into(), format!("name the real folder, or {another_folder}"));
        }
        if !meta.is_dir() {
            return Err(self.unusable(dir, "it is not a directory"));
        }
        let untrusted = "so a profile in it may have been put there by someone else";
        if meta.uid() != nix::unistd::getuid().as_raw() {
            return refuse(format!("it belongs to another user (uid {}), {untrusted}", meta.uid()), another_folder.into());
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            let who = if mode & 0o002 != 0 { "every user" } else { "its group" };
            return refuse(
                format!("{who} can write to it (mode {mode:04o}), {untrusted}"),
                format!("`chmod 700 {}` once its profiles are checked to be yours, or {another_folder}", crate::engine::error::shell_quote(&dir.to_string_lossy())),
            );
        }
        Ok(())
    }

    /// `<canonical dir>/<name>.json`, after checking the name, and that the result lies directly in `dir`.
    fn file_in(dir: &Path, name: &str) -> Result<PathBuf, EngineError> {
        check_name(name)?;
        let path = dir.join(format!("{name}{EXTENSION}"));
        if path.parent() != Some(dir) || path.file_name().and_then(|n| n.to_str()) != Some(&format!("{name}{EXTENSION}")) {
            return Err(EngineError::BadName { name: name.into(), reason: "it does not name a file inside the store".into() });
        }
        Ok(path)
    }

    /// Saves `profile` as `name` (replacing a profile of that name), then applies the quota (never
    /// removing the one just saved).
    pub fn save(&self, name: &str, profile: &Profile) -> Result<Saved, EngineError> {
        check_name(name)?;
        if profile.files.is_empty() {
            return Err(EngineError::CannotCompare {
                reason: format!("the profile has no measurements (status {}), so there is nothing to save", profile.status.as_str()),
                fix: "profile a run that lasts long enough to be sampled (at least about 100 ms), then save it".into(),
            });
        }
        let dir = self.dir()?.to_path_buf();
        // An existing store that others can write to is refused (`check_trusted`), not tightened: its
        // profiles may not be the user's. One that others can only read is tightened to 0700.
        self.existing_dir()?;
        crate::engine::dirs::create_private_dir(&dir).map_err(|err| self.unusable(&dir, err))?;
        let canonical = self.existing_dir()?.ok_or_else(|| self.unusable(&dir, "it vanished while saving"))?;
        let path = Store::file_in(&canonical, name)?;
        let meta = SavedMeta::of(name, profile, SystemTime::now());
        let bytes = format::encode(&meta, profile).map_err(|message| EngineError::Internal { message })?;
        crate::engine::dirs::write_private(&path, &bytes).map_err(|err| self.unusable(&canonical, format!("writing {name}: {err}")))?;
        sweep_stale_temps(&canonical);
        let evicted = self.enforce_quota(self.settings.max_profiles, self.settings.max_bytes, Some(name))?;
        Ok(Saved { meta, path, evicted })
    }

    /// Reads a saved profile back.
    pub fn load(&self, name: &str) -> Result<SavedProfile, EngineError> {
        check_name(name)?;
        let Some(dir) = self.existing_dir()? else { return Err(self.not_found(name, &[])) };
        let path = Store::file_in(&dir, name)?;
        match fs::symlink_metadata(&path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let known: Vec<String> = self.list().map(|listing| listing.entries.into_iter().map(|e| e.meta.name).collect()).unwrap_or_default();
                return Err(self.not_found(name, &known));
            }
            Err(err) => return Err(EngineError::SavedUnreadable { path, reason: err.to_string() }),
            Ok(meta) if !meta.file_type().is_file() => {
                return Err(EngineError::SavedUnreadable { path, reason: "it is not a regular file (a link or a folder)".into() });
            }
            Ok(meta) => foreign(&meta).map_err(|reason| EngineError::SavedUnreadable { path: path.clone(), reason })?,
        }
        let bytes = crate::engine::keep::profile_file::read_bounded(&path, crate::engine::keep::profile_file::DEFAULT_MAX_PROFILE_BYTES)
            .map_err(|err| EngineError::SavedUnreadable { path: path.clone(), reason: err.to_string() })?;
        let mut saved = parse_saved(&bytes).map_err(|reason| EngineError::SavedUnreadable { path, reason })?;
        saved.meta.name = name.to_string();
        Ok(saved)
    }

    fn not_found(&self, name: &str, known: &[String]) -> EngineError {
        let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
        EngineError::SavedNotFound {
            name: name.into(),
            dir: self.settings.dir.clone().unwrap_or_default(),
            known,
            fix: format!(
                "save one first (`scalene-lsp profile app.py --save {name}`, the editor's \"Save profile as baseline\", or MCP save_profile), or use a listed name (`scalene-lsp saved list`)"
            ),
        }
    }

    /// True when a profile of this name is saved (a cheap check: no parsing).
    pub fn exists(&self, name: &str) -> bool {
        check_name(name).is_ok()
            && matches!(self.existing_dir(), Ok(Some(dir)) if Store::file_in(&dir, name).is_ok_and(|path| path.is_file()))
    }

    /// Every saved profile (newest first, by modification time) from the header lines only; corrupt and
    /// foreign files are reported in `problems` and skipped.
    pub fn list(&self) -> Result<Listing, EngineError> {
        let Some(dir) = self.existing_dir()? else { return Ok(Listing::default()) };
        let mut listing = Listing::default();
        let entries = fs::read_dir(&dir).map_err(|err| self.unusable(&dir, err))?;
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with('.') {
                continue; // A save in progress (or one that died: swept later), or a hidden file.
            }
            let path = entry.path();
            let Some(name) = file_name.strip_suffix(EXTENSION).filter(|name| check_name(name).is_ok()) else {
                listing.problems.push(format!("{} is not a saved profile (its name is not NAME.json); it is skipped", path.display()));
                continue;
            };
            match read_entry(&path) {
                Ok((mut meta, bytes, modified)) => {
                    meta.name = name.to_string();
                    listing.entries.push(SavedEntry { meta, path, bytes, modified });
                }
                Err(reason) => listing.problems.push(format!(
                    "{} is not a readable saved profile ({reason}); it is skipped. Fix: delete it",
                    path.display()
                )),
            }
        }
        listing.entries.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| a.meta.name.cmp(&b.meta.name)));
        for problem in &listing.problems {
            // Front ends report them (the CLI as warnings, MCP in list_saved).
            tracing::debug!("{problem}");
        }
        Ok(listing)
    }

    /// Deletes a saved profile. Ok(false) when there was none of that name.
    pub fn delete(&self, name: &str) -> Result<bool, EngineError> {
        check_name(name)?;
        let Some(dir) = self.existing_dir()? else { return Ok(false) };
        let path = Store::file_in(&dir, name)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(self.unusable(&dir, format!("deleting {name}: {err}"))),
        }
    }

    /// Deletes the saved profiles last written more than `max_age` ago; returns their names.
    pub fn cleanup_old(&self, max_age: Duration) -> Result<Vec<String>, EngineError> {
        let listing = self.list()?;
        let now = SystemTime::now();
        let mut removed = Vec::new();
        for entry in listing.entries {
            let age = now.duration_since(entry.modified).unwrap_or_default();
            if age > max_age && self.delete(&entry.meta.name)? {
                removed.push(entry.meta.name);
            }
        }
        if let Some(dir) = self.existing_dir()? {
            sweep_stale_temps(&dir);
        }
        Ok(removed)
    }

    /// Deletes every saved profile (files that are not saved profiles stay); returns their names.
    pub fn clear_all(&self) -> Result<Vec<String>, EngineError> {
        let listing = self.list()?;
        let mut removed = Vec::new();
        for entry in listing.entries {
            if self.delete(&entry.meta.name)? {
                removed.push(entry.meta.name);
            }
        }
        if let Some(dir) = self.existing_dir()? {
            sweep_stale_temps(&dir);
        }
        Ok(removed)
    }

    /// Removes the oldest profiles until at most `max_profiles` and `max_bytes` remain, never `keep`.
    /// Returns the removed names, oldest first.
    pub fn enforce_quota(&self, max_profiles: usize, max_bytes: u64, keep: Option<&str>) -> Result<Vec<String>, EngineError> {
        let mut entries = self.list()?.entries;
        entries.reverse(); // Oldest first.
        let mut count = entries.len();
        let mut bytes: u64 = entries.iter().map(|entry| entry.bytes).sum();
        let mut removed = Vec::new();
        for entry in entries {
            if count <= max_profiles && bytes <= max_bytes {
                break;
            }
            if Some(entry.meta.name.as_str()) == keep {
                continue;
            }
            // Another process may have removed it already: then it no longer counts either.
            if self.delete(&entry.meta.name)? {
                removed.push(entry.meta.name.clone());
            }
            count -= 1;
            bytes = bytes.saturating_sub(entry.bytes);
        }
        for name in &removed {
            tracing::info!(name, "removed an old saved profile to stay within the store's quota");
        }
        Ok(removed)
    }
}

/// The default store's parent (`$XDG_DATA_HOME/scalene-lsp`), which this code creates and so checks
/// like the store; None for a store named elsewhere (`--store`, `$SCALENE_LSP_STORE`), whose parents
/// are the user's business.
fn default_parent(dir: &Path) -> Option<PathBuf> {
    let data = crate::engine::dirs::data_dir()?;
    (dir == data.join("profiles")).then_some(data)
}

/// Err when a file in the store belongs to another user: put there by someone else (while the folder
/// was open to them), it is not read.
fn foreign(meta: &fs::Metadata) -> Result<(), String> {
    match meta.uid() {
        uid if uid == nix::unistd::getuid().as_raw() => Ok(()),
        uid => Err(format!("it belongs to another user (uid {uid}), so it may have been put there by someone else")),
    }
}

/// The header line of a saved profile file, its size and modification time.
fn read_entry(path: &Path) -> Result<(SavedMeta, u64, SystemTime), String> {
    let meta = fs::symlink_metadata(path).map_err(|err| err.to_string())?;
    if !meta.file_type().is_file() {
        return Err("not a regular file".into());
    }
    foreign(&meta)?;
    let file = fs::File::open(path).map_err(|err| err.to_string())?;
    let mut line = Vec::new();
    BufReader::new(file.take(format::MAX_HEADER_BYTES)).read_until(b'\n', &mut line).map_err(|err| err.to_string())?;
    if line.last() != Some(&b'\n') {
        return Err("it has no complete header line".into());
    }
    let header = format::parse_header(&line)?;
    Ok((header.meta, meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)))
}

/// Removes temp files of saves that died mid-write (`.NAME.json.XXXX.tmp`, see `dirs::write_private`).
fn sweep_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > STALE_TEMP_AGE);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests;
