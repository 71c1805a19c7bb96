//! Saved profiles as agents may see them. Workspace rule: a saved profile is visible to an agent only
//! when its program (or project root) lies inside the workspace roots, as every file an agent reads
//! must; the store is per user, shared by all projects, and a saved profile holds the source text of
//! the files it measured.

use std::path::Path;

use super::error::ToolError;
use super::params::*;
use super::params::saved::*;
use super::views;
use crate::engine::keep::storage::{SavedMeta, SavedProfile};
use crate::engine::workspace::Roots;
use crate::engine::{Engine, EngineError};

/// True when a saved profile belongs to this workspace (its program or project root is inside a root).
pub fn visible(meta: &SavedMeta, roots: &Roots) -> bool {
    let inside = |text: &str| {
        let path = Path::new(text);
        path.is_absolute() && (roots.contains(path) || path.canonicalize().is_ok_and(|canonical| roots.contains(&canonical)))
    };
    inside(&meta.program) || meta.project_root.as_deref().is_some_and(inside)
}

pub fn store_error(err: EngineError) -> ToolError {
    match err {
        EngineError::BadName { .. } => ToolError::invalid(err.to_string()),
        other => ToolError::refused(other.to_string()),
    }
}

pub fn other_project(name: &str) -> ToolError {
    ToolError::refused(format!(
        "the saved profile {name:?} is of a program outside this workspace, so it is not shown here. Fix: use list_saved for this workspace's saved profiles, or save one with save_profile."
    ))
}

/// A saved profile of this workspace (the `scalene://saved/{name}` resource and `compare`).
pub fn load_saved(engine: &Engine, name: &str, roots: &Roots) -> Result<SavedProfile, ToolError> {
    let saved = engine.store().load(name).map_err(store_error)?;
    if !visible(&saved.meta, roots) {
        return Err(other_project(name));
    }
    Ok(saved)
}

/// `list_saved` and the `scalene://saved` resource.
pub fn saved_listing(engine: &Engine, roots: &Roots, limit: usize) -> Result<ListSavedResult, ToolError> {
    let listing = engine.store().list().map_err(store_error)?;
    let (mine, others): (Vec<_>, Vec<_>) = listing.entries.iter().partition(|entry| visible(&entry.meta, roots));
    let total = mine.len();
    let saved: Vec<SavedRow> = mine.iter().take(limit).map(|entry| views::saved_row(&entry.meta, roots)).collect();
    let more = if total > saved.len() {
        format!("{} older saved profiles: pass a larger limit (up to {MAX_LIMIT}).", total - saved.len())
    } else if total == 0 {
        "No saved profiles for this workspace: profile, then save_profile {\"profile_id\": \"p1\", \"name\": \"baseline\"}.".into()
    } else {
        "compare {\"before\": \"<name>\"} compares one with the newest profile of its program.".into()
    };
    Ok(ListSavedResult { saved, total, other_projects: others.len(), problems: listing.problems, more })
}
