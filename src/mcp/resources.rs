//! Resources: `scalene://profiles` (the listing), `scalene://profile/{id}` (a summary) and
//! `scalene://profile/{id}/file/{path}` (a per-line table of one file). Change notifications are in
//! server.rs.

use rmcp::ErrorData;
use rmcp::model::{ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource, ResourceContents, ResourceTemplate};

use super::views;
use crate::engine::workspace::Roots;
use crate::engine::{Engine, ProfileId};

pub const SCHEME: &str = "scalene://";
pub const PROFILES_URI: &str = "scalene://profiles";
pub const PROFILE_PREFIX: &str = "scalene://profile/";
pub const SAVED_URI: &str = "scalene://saved";
pub const SAVED_PREFIX: &str = "scalene://saved/";
/// At most this many lines in a file table.
const FILE_TABLE_LINES: usize = 500;

pub fn list(engine: &Engine, roots: &Roots) -> ListResourcesResult {
    let mut resources = vec![
        Resource::new(PROFILES_URI, "profiles")
            .with_title("Scalene profiles in memory")
            .with_description("Every profile in memory (newest first) and the runs in progress, as JSON.")
            .with_mime_type("application/json"),
        Resource::new(SAVED_URI, "saved")
            .with_title("Saved profiles (baselines) of this workspace")
            .with_description("The saved profiles of programs in this workspace, newest first, as JSON (as list_saved).")
            .with_mime_type("application/json"),
    ];
    let mut all = engine.cache().list();
    all.reverse();
    for entry in all {
        let program = views::program_display(&entry.profile, roots);
        resources.push(
            Resource::new(format!("{PROFILE_PREFIX}{}", entry.id), format!("profile {}", entry.id))
                .with_title(format!("{}: {program} ({})", entry.id, entry.profile.status.as_str()))
                .with_description("Summary: status, elapsed time, peak memory, hottest lines and functions, leaks (JSON).")
                .with_mime_type("application/json"),
        );
    }
    ListResourcesResult::with_all_items(resources)
}

pub fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new(format!("{PROFILE_PREFIX}{{id}}"), "profile")
            .with_title("A profile's summary")
            .with_description("id: a profile id such as p3 (see scalene://profiles).")
            .with_mime_type("application/json"),
        ResourceTemplate::new(format!("{PROFILE_PREFIX}{{id}}/file/{{path}}"), "profile-file")
            .with_title("A profiled file's per-line table")
            .with_description("Lines with activity: line, CPU % (python/native/system), peak MB, allocated MB, source. path is relative to the workspace root.")
            .with_mime_type("text/markdown"),
        ResourceTemplate::new(format!("{SAVED_PREFIX}{{name}}"), "saved-profile")
            .with_title("A saved profile")
            .with_description("name: a saved profile of this workspace (see scalene://saved): its metadata (when, git commit, versions), hottest lines and functions (JSON).")
            .with_mime_type("application/json"),
    ])
}

enum ResourceUri {
    Profiles,
    Profile(ProfileId),
    File(ProfileId, String),
    Saved,
    SavedProfile(String),
}

fn parse(uri: &str) -> Result<ResourceUri, ErrorData> {
    if uri == PROFILES_URI {
        return Ok(ResourceUri::Profiles);
    }
    if uri == SAVED_URI {
        return Ok(ResourceUri::Saved);
    }
    if let Some(name) = uri.strip_prefix(SAVED_PREFIX) {
        let name = percent_decode(name);
        crate::engine::keep::storage::check_name(&name).map_err(|err| ErrorData::invalid_params(err.to_string(), None))?;
        return Ok(ResourceUri::SavedProfile(name));
    }
    let not_found = || {
        ErrorData::resource_not_found(
            format!("unknown resource {uri:?}. Known: {PROFILES_URI}, {PROFILE_PREFIX}{{id}}, {PROFILE_PREFIX}{{id}}/file/{{path}}, {SAVED_URI}, {SAVED_PREFIX}{{name}}"),
            None,
        )
    };
    let rest = uri.strip_prefix(PROFILE_PREFIX).ok_or_else(not_found)?;
    let (id_text, file) = match rest.split_once('/') {
        Some((id, tail)) => (id, Some(tail.strip_prefix("file/").ok_or_else(not_found)?)),
        None => (rest, None),
    };
    let id = ProfileId::parse(id_text).ok_or_else(not_found)?;
    Ok(match file {
        Some(path) if !path.is_empty() => ResourceUri::File(id, percent_decode(path)),
        Some(_) => return Err(not_found()),
        None => ResourceUri::Profile(id),
    })
}

/// Checks that a URI names a resource this server serves (for subscriptions).
pub fn check_uri(uri: &str) -> Result<(), ErrorData> {
    parse(uri).map(|_| ())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |byte: u8| (byte as char).to_digit(16);
        if bytes[index] == b'%'
            && index + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[index + 1]), hex(bytes[index + 2]))
        {
            let value = (high * 16 + low) as u8;
            out.push(value);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_contents(uri: &str, value: impl serde::Serialize) -> Result<ReadResourceResult, ErrorData> {
    let text = serde_json::to_string(&value).map_err(|err| ErrorData::internal_error(err.to_string(), None))?;
    Ok(ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
        uri: uri.to_string(),
        mime_type: Some("application/json".into()),
        text,
        meta: None,
    }]))
}

pub fn read(engine: &Engine, roots: &Roots, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let cache = engine.cache();
    let gone = |id: ProfileId| {
        ErrorData::resource_not_found(
            format!("profile {id} is not in memory (cleared, replaced or expired); read {PROFILES_URI} for the current ids"),
            None,
        )
    };
    let tool_error = |err: super::error::ToolError| match err {
        super::error::ToolError::Refused(text) => ErrorData::resource_not_found(text, None),
        super::error::ToolError::InvalidParams(text) => ErrorData::invalid_params(text, None),
    };
    match parse(uri)? {
        ResourceUri::Profiles => json_contents(uri, views::profile_listing(engine, roots, super::params::MAX_LIMIT)),
        ResourceUri::Saved => json_contents(uri, super::store::saved_listing(engine, roots, super::params::MAX_LIMIT).map_err(tool_error)?),
        ResourceUri::SavedProfile(name) => {
            let saved = super::store::load_saved(engine, &name, roots).map_err(tool_error)?;
            json_contents(uri, views::saved_summary(&saved, roots, super::params::DEFAULT_LIMIT))
        }
        ResourceUri::Profile(id) => {
            let entry = cache.get(id).ok_or_else(|| gone(id))?;
            json_contents(uri, views::summary(&entry, roots, super::params::DEFAULT_LIMIT))
        }
        ResourceUri::File(id, path) => {
            let entry = cache.get(id).ok_or_else(|| gone(id))?;
            let resolved = roots.resolve(&path).map_err(|message| ErrorData::invalid_params(message, None))?;
            let covered = crate::engine::CoveredFile::of(entry.clone(), &resolved).ok_or_else(|| {
                ErrorData::resource_not_found(format!("profile {id} has no measurements for {path}"), None)
            })?;
            let file = covered.file();
            let mut text = format!(
                "# {} in profile {id} ({}{})\n\n| line | CPU % | python | native | system | peak MB | alloc MB | source |\n|---:|---:|---:|---:|---:|---:|---:|---|\n",
                roots.display(&file.path),
                entry.profile.status.as_str(),
                if views::is_stale(file) { ", file changed since" } else { "" }
            );
            for line in file.lines.iter().take(FILE_TABLE_LINES) {
                text.push_str(&format!(
                    "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | `{}` |\n",
                    line.line,
                    line.cpu_total(),
                    line.metrics.cpu_python,
                    line.metrics.cpu_native,
                    line.metrics.cpu_system,
                    line.metrics.peak_mb,
                    line.metrics.alloc_mb,
                    views::source_text(&line.text).replace('|', "\\|").replace('`', "'")
                ));
            }
            if file.lines.len() > FILE_TABLE_LINES {
                text.push_str(&format!(
                    "\n{} more lines: use the line_profile tool with start_line.\n",
                    file.lines.len() - FILE_TABLE_LINES
                ));
            }
            Ok(ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
                uri: uri.to_string(),
                mime_type: Some("text/markdown".into()),
                text,
                meta: None,
            }]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse() {
        assert!(matches!(parse("scalene://profiles"), Ok(ResourceUri::Profiles)));
        assert!(matches!(parse("scalene://profile/p3"), Ok(ResourceUri::Profile(ProfileId(3)))));
        match parse("scalene://profile/p3/file/src/a%20b.py") {
            Ok(ResourceUri::File(ProfileId(3), path)) => assert_eq!(path, "src/a b.py"),
            _ => panic!(),
        }
        assert!(parse("scalene://profile/p3/other").is_err());
        assert!(parse("scalene://nope").is_err());
        assert!(parse("scalene://profile/x").is_err());
        assert!(matches!(parse("scalene://saved"), Ok(ResourceUri::Saved)));
        assert!(matches!(parse("scalene://saved/baseline"), Ok(ResourceUri::SavedProfile(name)) if name == "baseline"));
        for bad in ["scalene://saved/..%2Fx", "scalene://saved/a%2Fb", "scalene://saved/", "scalene://saved/.hidden"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
