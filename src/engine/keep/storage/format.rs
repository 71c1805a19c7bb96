//! The saved-profile file format: two JSON lines, a small header (`{"format", "version", "meta"}`) and
//! the normalized profile (`schema::ProfileJson`). Bytes in, values out: the store (storage.rs) does
//! the file system.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::profile::model::{GitState, Mode, Profile, RunContext};
use crate::engine::profile::schema::ProfileJson;

/// The first line's `format`: what makes a file in the store a saved profile.
pub const FORMAT: &str = "scalene-lsp/saved-profile";
/// The layout of a saved profile file. A reader refuses a newer one with a message.
pub const FORMAT_VERSION: u32 = 1;
/// A header line longer than this is not ours.
pub(super) const MAX_HEADER_BYTES: u64 = 256 * 1024;

/// What a saved profile records besides the numbers (the header line). Listing returns these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavedMeta {
    pub name: String,
    /// When it was saved, RFC 3339 UTC (`2026-12-02T15:49:39Z`).
    pub created: String,
    /// The same, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// The profiled program (absolute path) or `-m module`.
    pub program: String,
    pub args: Vec<String>,
    /// cpu | memory | gpu
    pub mode: Mode,
    /// ok | program_failed | cancelled | timed_out (a partial profile is saved as such).
    pub status: String,
    /// The interpreter that ran it; null for a profile loaded from a Scalene JSON.
    pub interpreter: Option<String>,
    pub python_version: Option<String>,
    pub scalene_version: Option<String>,
    pub project_root: Option<String>,
    /// `git rev-parse HEAD` of the project when the run started (null outside a git repository).
    pub git_commit: Option<String>,
    /// True when tracked files had uncommitted changes then.
    pub git_dirty: Option<bool>,
    pub elapsed_s: f64,
    pub peak_mb: f64,
    /// How many runs the numbers are the mean of (1 unless saved from `--repeat N`).
    pub runs: u32,
    /// How many files have measurements.
    pub files: usize,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Header {
    format: String,
    version: u32,
    pub(super) meta: SavedMeta,
}

/// The second line. Like the normalized profile in it, a v1 reader accepts keys it does not know.
#[derive(Serialize, Deserialize)]
pub(super) struct Body {
    profile: ProfileJson,
}

/// A saved profile read back.
#[derive(Clone, Debug)]
pub struct SavedProfile {
    pub meta: SavedMeta,
    pub profile: Profile,
}

/// The file's bytes: the header line and the profile line.
pub(super) fn encode(meta: &SavedMeta, profile: &Profile) -> Result<Vec<u8>, String> {
    let header = Header { format: FORMAT.into(), version: FORMAT_VERSION, meta: meta.clone() };
    let body = Body { profile: ProfileJson::from(profile) };
    let mut bytes = serde_json::to_vec(&header).map_err(|err| err.to_string())?;
    bytes.push(b'\n');
    serde_json::to_writer(&mut bytes, &body).map_err(|err| err.to_string())?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub(super) fn parse_header(line: &[u8]) -> Result<Header, String> {
    #[derive(Deserialize)]
    struct Probe {
        format: Option<String>,
        version: Option<u32>,
    }
    let probe: Probe = serde_json::from_slice(line).map_err(|err| format!("its first line is not a saved-profile header: {err}"))?;
    if probe.format.as_deref() != Some(FORMAT) {
        return Err(format!("its first line does not say `\"format\": \"{FORMAT}\"`"));
    }
    match probe.version {
        Some(version) if version > FORMAT_VERSION => {
            return Err(format!("it was written by a newer scalene-lsp (format version {version}; this one reads {FORMAT_VERSION}); upgrade scalene-lsp"));
        }
        None => return Err("its header has no version".into()),
        _ => {}
    }
    serde_json::from_slice(line).map_err(|err| format!("its header is damaged: {err}"))
}

/// True when `bytes` look like a saved profile file (its first line is a saved-profile header).
pub fn is_saved_profile(bytes: &[u8]) -> bool {
    let first = bytes.split(|byte| *byte == b'\n').next().unwrap_or(&[]);
    first.starts_with(b"{") && parse_header(first).is_ok()
}

/// Parses a whole saved profile file (header line + profile line).
pub fn parse_saved(bytes: &[u8]) -> Result<SavedProfile, String> {
    let split = bytes.iter().position(|byte| *byte == b'\n').ok_or("it has no header line")?;
    let header = parse_header(&bytes[..split])?;
    let body: Body = crate::engine::profile::schema::read_json(&bytes[split + 1..]).map_err(|err| match err.as_str() {
        "it ends early (truncated)" => err,
        _ => format!("its profile is damaged: {err}"),
    })?;
    let meta = header.meta;
    let mut profile = body.profile.into_profile();
    profile.created = UNIX_EPOCH + Duration::from_secs(meta.created_unix);
    profile.context = meta.interpreter.as_ref().map(|interpreter| RunContext {
        interpreter: PathBuf::from(interpreter),
        python_version: meta.python_version.clone().unwrap_or_default(),
        mode: meta.mode,
        project_root: meta.project_root.as_ref().map(PathBuf::from),
        git: meta.git_commit.as_ref().map(|commit| GitState { commit: commit.clone(), dirty: meta.git_dirty.unwrap_or(false) }),
    });
    Ok(SavedProfile { meta, profile })
}

impl SavedMeta {
    pub fn of(name: &str, profile: &Profile, now: SystemTime) -> SavedMeta {
        let created_unix = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let context = profile.context.as_ref();
        SavedMeta {
            name: name.to_string(),
            created: rfc3339(created_unix),
            created_unix,
            program: profile.program.clone(),
            args: profile.args.clone(),
            mode: profile.mode(),
            status: profile.status.as_str().to_string(),
            interpreter: context.map(|c| c.interpreter.display().to_string()),
            python_version: context.map(|c| c.python_version.clone()).filter(|v| !v.is_empty()),
            scalene_version: profile.scalene_version.clone(),
            project_root: context.and_then(|c| c.project_root.as_ref()).map(|root| root.display().to_string()),
            git_commit: context.and_then(|c| c.git.as_ref()).map(|git| git.commit.clone()),
            git_dirty: context.and_then(|c| c.git.as_ref()).map(|git| git.dirty),
            elapsed_s: profile.elapsed_s,
            peak_mb: profile.peak_mb,
            runs: profile.spread.as_ref().map_or(1, |spread| spread.runs),
            files: profile.files.len(),
        }
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let seconds = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds / 60 % 60, seconds % 60)
}
