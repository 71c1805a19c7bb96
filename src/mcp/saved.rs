//! The tools for saved profiles and comparisons: `save_profile`, `list_saved`, `delete_saved`,
//! `cleanup_saved`, `compare` (a second tool router, merged with tools.rs's in server.rs).
//!
//! Which saved profiles an agent may see is store.rs (the workspace rule).

use std::sync::Arc;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};

use super::error::ToolError;
use super::params::*;
use super::params::saved::*;
use super::server::ScaleneMcp;
use super::store::{load_saved, other_project, saved_listing, store_error, visible};
use super::views;
use crate::engine::profile::compare::{self, NoiseRule};
use crate::engine::keep::storage;
use crate::engine::workspace::Roots;
use crate::engine::{Profile, ProfileId};

type ToolResult<T> = Result<Json<T>, ToolError>;

/// One side of a comparison: a profile id in memory, else a saved name of this workspace.
struct LabelledProfile {
    profile: Arc<Profile>,
    label: String,
}

impl ScaleneMcp {
    fn side(&self, given: &str, roots: &Roots) -> Result<LabelledProfile, ToolError> {
        let given = given.trim();
        if let Some(id) = given.strip_prefix('p').and_then(|_| ProfileId::parse(given))
            && let Some(entry) = self.engine().cache().get(id)
        {
            return Ok(LabelledProfile { profile: Arc::new(entry.profile.clone()), label: entry.id.to_string() });
        }
        if storage::check_name(given).is_err() {
            return Err(ToolError::invalid(format!(
                "{given:?} is neither a profile id in memory (\"p3\", see list_profiles) nor a saved name (see list_saved)"
            )));
        }
        match load_saved(self.engine(), given, roots) {
            Ok(saved) => Ok(LabelledProfile { profile: Arc::new(saved.profile), label: given.to_string() }),
            Err(ToolError::Refused(message)) if ProfileId::parse(given).is_some() && given.starts_with('p') => Err(ToolError::refused(format!(
                "profile {given} is not in memory (cleared, replaced or expired) and no saved profile has that name. Fix: call list_profiles or list_saved for what exists. ({message})"
            ))),
            Err(err) => Err(err),
        }
    }

    /// The newest profile in memory of `program` other than `not` (the default after side).
    fn newest_of(&self, program: &str, not: &str) -> Option<LabelledProfile> {
        let entry = self
            .engine()
            .cache()
            .list()
            .into_iter()
            .rev()
            .find(|entry| entry.profile.program == program && entry.id.to_string() != not)?;
        Some(LabelledProfile { profile: Arc::new(entry.profile.clone()), label: entry.id.to_string() })
    }
}

fn rule(params: &CompareParams) -> Result<NoiseRule, ToolError> {
    let defaults = NoiseRule::default();
    let rule = NoiseRule {
        min_change_percent: params.min_change_percent.unwrap_or(defaults.min_change_percent),
        min_cpu_percent: params.min_cpu_percent.unwrap_or(defaults.min_cpu_percent),
        min_mb: params.min_mb.unwrap_or(defaults.min_mb),
        error_rate_percent: params.error_rate_percent.unwrap_or(defaults.error_rate_percent),
    };
    rule.check().map_err(ToolError::invalid)?;
    Ok(rule)
}

#[tool_router(router = saved_router, vis = "pub(crate)")]
impl ScaleneMcp {
    /// Save a profile in memory under a name (a baseline for later comparisons).
    #[tool(
        description = "Save a profile from memory (profile_id from profile or list_profiles) under a name, default \"baseline\", so that a later run can be compared with it (compare). Saved profiles survive restarts (on disk, private to the user); a saved profile of the same name is replaced. Names: 1-64 letters, digits, '.', '_' or '-', not starting with a dot.",
        annotations(title = "Save a profile", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<SaveProfileResult>()
    )]
    pub async fn save_profile(&self, Parameters(params): Parameters<SaveProfileParams>) -> ToolResult<SaveProfileResult> {
        let name = params.name.unwrap_or_else(|| storage::DEFAULT_NAME.to_string());
        storage::check_name(&name).map_err(store_error)?;
        let id = ProfileId::parse(params.profile_id.trim()).ok_or_else(|| {
            ToolError::invalid(format!("`profile_id` must look like \"p3\" (from profile or list_profiles), got {:?}", params.profile_id))
        })?;
        let entry = self.engine().cache().get(id).ok_or_else(|| {
            ToolError::refused(format!("profile {id} is not in memory (cleared, replaced or expired). Fix: call list_profiles for the current ids, or profile again."))
        })?;
        let store = self.engine().store();
        let saved_name = name.clone();
        let saved = tokio::task::spawn_blocking(move || store.save(&saved_name, &entry.profile))
            .await
            .map_err(|err| ToolError::refused(format!("saving failed: {err}")))?
            .map_err(store_error)?;
        let roots = self.roots();
        Ok(Json(SaveProfileResult {
            saved: views::saved_row(&saved.meta, &roots),
            profile_id: id.to_string(),
            evicted: saved.evicted,
            more: format!("Later: compare {{\"before\": \"{name}\", \"after\": \"<profile_id>\"}} (or without after: the newest profile of the same program)."),
        }))
    }

    /// The saved profiles of this workspace.
    #[tool(
        description = "The saved profiles (baselines) of programs in this workspace, newest first: name, when saved, program, mode, status, elapsed_s, peak_mb, runs, git commit and dirty flag. Compare one with a profile in memory with compare.",
        annotations(title = "List saved profiles", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<ListSavedResult>()
    )]
    pub async fn list_saved(&self, Parameters(params): Parameters<ListSavedParams>) -> ToolResult<ListSavedResult> {
        Ok(Json(saved_listing(self.engine(), &self.roots(), clamp_limit(params.limit, 20, MAX_LIMIT))?))
    }

    /// Delete one saved profile.
    #[tool(
        description = "Delete a saved profile of this workspace by name. Returns whether it existed.",
        annotations(title = "Delete a saved profile", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<DeleteSavedResult>()
    )]
    pub async fn delete_saved(&self, Parameters(params): Parameters<DeleteSavedParams>) -> ToolResult<DeleteSavedResult> {
        let name = params.name.trim().to_string();
        storage::check_name(&name).map_err(store_error)?;
        let store = self.engine().store();
        let listing = store.list().map_err(store_error)?;
        let Some(entry) = listing.entries.iter().find(|entry| entry.meta.name == name) else {
            return Ok(Json(DeleteSavedResult { deleted: false, name }));
        };
        if !visible(&entry.meta, &self.roots()) {
            return Err(other_project(&name));
        }
        let deleted = store.delete(&name).map_err(store_error)?;
        Ok(Json(DeleteSavedResult { deleted, name }))
    }

    /// Delete old saved profiles.
    #[tool(
        description = "Delete this workspace's saved profiles that were saved more than max_age_days days ago. Returns the names removed.",
        annotations(title = "Clean up saved profiles", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<CleanupSavedResult>()
    )]
    pub async fn cleanup_saved(&self, Parameters(params): Parameters<CleanupSavedParams>) -> ToolResult<CleanupSavedResult> {
        let days = params.max_age_days;
        let max_age = crate::engine::limits::days("`max_age_days`", days).map_err(ToolError::invalid)?;
        let store = self.engine().store();
        let roots = self.roots();
        let now = std::time::SystemTime::now();
        let mut removed = Vec::new();
        for entry in store.list().map_err(store_error)?.entries {
            let old = now.duration_since(entry.modified).unwrap_or_default() > max_age;
            if old && visible(&entry.meta, &roots) && store.delete(&entry.meta.name).map_err(store_error)? {
                removed.push(entry.meta.name);
            }
        }
        Ok(Json(CleanupSavedResult { removed }))
    }

    /// Compare two profiles.
    #[tool(
        description = "Compare two profiles: before and after are profile ids in memory (\"p3\") or saved names (\"baseline\"); after defaults to the newest profile in memory of before's program. Lines are matched by content (so edits above them do not matter), functions by name; CPU is judged per loop region and function from Scalene's sample counts, with the machine's overall slowdown taken out and a 1% error budget for the whole comparison (an unchanged program gets nothing named 99 times in 100); memory by MB allocated per line and function, and the peak. Each changed function and line gets a verdict (regressed, improved, new, removed) and a cpu_test (ratio, interval, p-value, detectable_percent: the smallest change that could be seen there; profile with repeat 3 to see smaller ones). Elapsed time is judged only when both sides are repeated runs. Profiles of different programs are refused unless force is true. Returns the changed functions and lines (biggest first, paths relative), overall elapsed and peak, counts and a short summary. Typical use: profile, save_profile {\"name\": \"baseline\"}, change the code, profile, compare {\"before\": \"baseline\"}.",
        annotations(title = "Compare profiles", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<CompareResult>()
    )]
    pub async fn compare(&self, Parameters(params): Parameters<CompareParams>) -> ToolResult<CompareResult> {
        let rule = rule(&params)?;
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let roots = self.roots();
        let before = self.side(&params.before, &roots)?;
        let after = match params.after.as_deref() {
            Some(after) => self.side(after, &roots)?,
            None => self.newest_of(&before.profile.program, &before.label).ok_or_else(|| {
                ToolError::refused(format!(
                    "no other profile of {} is in memory to compare {} with. Fix: call profile {{\"path\": \"{}\"}} first, or pass `after`.",
                    views::program_display(&before.profile, &roots),
                    before.label,
                    views::program_display(&before.profile, &roots)
                ))
            })?,
        };
        compare::check((&before.label, &before.profile), (&after.label, &after.profile), params.force.unwrap_or(false))
            .map_err(|err| ToolError::refused(err.to_string()))?;
        let comparison = compare::compare(&before.profile, &before.label, &after.profile, &after.label, &rule);
        Ok(Json(views::compare_view(&comparison, &roots, limit)))
    }
}

