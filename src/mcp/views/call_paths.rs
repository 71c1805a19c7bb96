//! Call paths for agents: who calls a function or a line and at what cost, what it calls, the costliest
//! chains into it (`call_paths`), and a function's top callers (`function_profile`). The engine answers
//! (`CallPaths`' queries); this turns its answers into shares of the run and of the target, rounded and
//! bounded, with paths relative to the workspace root. A refusal is the text of a tool error.

use std::path::{Path, PathBuf};

use crate::engine::profile::call_paths::{CallEdge, CallFunction, CallPath, CallPaths, Place, Weight};
use crate::engine::profile::model::FileProfile;
use crate::engine::workspace::Roots;
use crate::mcp::params::call_paths::*;
use crate::mcp::params::{SnapshotInfo, round2};

/// At most this many names in a refusal's list of what exists.
const NAMES_IN_REFUSAL: usize = 15;

/// What `call_paths` is asked about.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    Function(&'a str),
    Line(u32),
}

/// Everything `call_paths` needs from the tool: the profile's call paths, the file as the stacks name
/// it, the file's measured functions (for def lines) and how to show paths.
pub struct CallPathsQuery<'a> {
    pub profile_id: String,
    pub snapshot: Option<SnapshotInfo>,
    pub paths: &'a CallPaths,
    /// The file as the stacks name it (`stack_file`).
    pub file: &'a Path,
    /// The profile's numbers for the file, when it has any.
    pub profiled: Option<&'a FileProfile>,
    pub target: Target<'a>,
    pub weight: CallWeight,
    pub limit: usize,
    pub roots: &'a Roots,
}

pub fn engine_weight(weight: CallWeight) -> Weight {
    match weight {
        CallWeight::Cpu => Weight::Cpu,
        CallWeight::Memory => Weight::Memory,
    }
}

/// The Python files of the stacks, each once, in first-seen order.
fn stack_files(paths: &CallPaths) -> Vec<&Path> {
    let mut files: Vec<&Path> = Vec::new();
    for file in paths.functions.iter().filter_map(CallFunction::file) {
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files
}

/// `asked` (a resolved workspace path) as the stacks name it: the same path, the profile's path for
/// that file, or a path that canonicalises to it. None when no stack passes through the file.
pub fn stack_file(paths: &CallPaths, asked: &Path, profiled: Option<&Path>) -> Option<PathBuf> {
    let files = stack_files(paths);
    if let Some(file) = files.iter().find(|file| **file == asked || Some(**file) == profiled) {
        return Some(file.to_path_buf());
    }
    files.into_iter().find(|file| file.canonicalize().is_ok_and(|canonical| canonical == asked)).map(Path::to_path_buf)
}

/// The files of the stacks as the agent reads them (for a refusal).
pub fn files_in_stacks(paths: &CallPaths, roots: &Roots) -> String {
    let files: Vec<String> = stack_files(paths).into_iter().take(NAMES_IN_REFUSAL).map(|file| roots.display(file)).collect();
    if files.is_empty() { "none".into() } else { files.join(", ") }
}

/// A file as shown in a chain: relative inside the workspace, its file name outside (a library).
fn short(path: &Path, roots: &Roots) -> String {
    let shown = roots.display(path);
    if Path::new(&shown).is_absolute() {
        path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or(shown)
    } else {
        shown
    }
}

/// `name (file:line)`, `name (file)` or `name (native, module)`.
fn frame_text(function: &CallFunction, line: Option<u32>, roots: &Roots) -> String {
    match (&function.place, line) {
        (Place::Python(path), Some(line)) => format!("{} ({}:{line})", function.name, short(path, roots)),
        (Place::Python(path), None) => format!("{} ({})", function.name, short(path, roots)),
        (Place::Native(_), _) => function.label(),
    }
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { round2(part / whole * 100.0) } else { 0.0 }
}

fn edge_row(paths: &CallPaths, edge: &CallEdge, run_total: f64, target_total: f64, roots: &Roots) -> CallEdgeRow {
    let function = paths.function(edge.function);
    let (path, module) = match &function.place {
        Place::Python(path) => (Some(roots.display(path)), None),
        Place::Native(module) => (None, Some(module.clone()).filter(|module| !module.is_empty())),
    };
    CallEdgeRow {
        function: function.name.clone(),
        path,
        native: function.is_native(),
        module,
        call_line: edge.call_line,
        percent_of_run: percent(edge.weight, run_total),
        percent_of_target: percent(edge.weight, target_total),
    }
}

/// The function ids of `name` in `file`: Scalene's name exactly or its last part (`CallPaths::find`),
/// else, for a qualified name, its last part (Pythons before 3.11 record bare names).
fn function_ids(paths: &CallPaths, file: &Path, name: &str) -> Vec<u32> {
    let ids = paths.find(file, name);
    match name.rsplit_once('.') {
        Some((_, last)) if ids.is_empty() => paths.find(file, last),
        _ => ids,
    }
}

/// The functions of `file` in the stacks, costliest first by `weight` (for a refusal).
fn functions_of(paths: &CallPaths, file: &Path, weight: Weight) -> String {
    let mut functions: Vec<(u32, f64)> = (0..paths.functions.len() as u32)
        .filter(|id| paths.function(*id).file() == Some(file))
        .map(|id| (id, paths.inclusive(weight, &[id])))
        .collect();
    functions.sort_by(|a, b| b.1.total_cmp(&a.1));
    let names: Vec<&str> = functions.iter().take(NAMES_IN_REFUSAL).map(|(id, _)| paths.function(*id).name.as_str()).collect();
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

/// The measured function `name` of the file (its def and last line).
fn measured<'a>(profiled: Option<&'a FileProfile>, name: &str) -> Option<&'a crate::engine::profile::model::FunctionStats> {
    let functions = &profiled?.functions;
    functions
        .iter()
        .find(|function| function.name == name)
        .or_else(|| functions.iter().find(|function| function.name.rsplit('.').next() == name.rsplit('.').next()))
}

/// The answer of `call_paths`, or the text of a refusal that names what exists instead.
pub fn call_paths_view(query: &CallPathsQuery<'_>) -> Result<CallPathsResult, String> {
    let (paths, file, roots) = (query.paths, query.file, query.roots);
    let weight = engine_weight(query.weight);
    let display = roots.display(file);
    let unit = match query.weight {
        CallWeight::Cpu => "CPU samples",
        CallWeight::Memory => "MB allocated",
    };
    let run_total = paths.total(weight);
    if paths.stacks(weight).is_empty() {
        return Err(match query.weight {
            CallWeight::Memory => format!(
                "profile {} has no memory stacks: Scalene records who allocated only when it profiles memory. Fix: use weight \"cpu\", or profile again with mode \"memory\".",
                query.profile_id
            ),
            CallWeight::Cpu => format!(
                "profile {} has no CPU stacks (Scalene took no CPU sample with a stack). Fix: use weight \"memory\", or profile a longer run.",
                query.profile_id
            ),
        });
    }
    let mut notes = paths.notes.clone();
    let (target, inclusive, self_weight, incoming, outgoing, into) = match query.target {
        Target::Function(name) => {
            let ids = function_ids(paths, file, name);
            if ids.is_empty() {
                return Err(format!(
                    "no function named {name:?} of {display} is in the stacks of profile {} (it was never sampled, or the name differs). Functions of {display} in the stacks, costliest first: {}. Fix: use one of these names, or ask about a line (line: N).",
                    query.profile_id,
                    functions_of(paths, file, weight)
                ));
            }
            let mut names: Vec<&str> = ids.iter().map(|id| paths.function(*id).name.as_str()).collect();
            names.dedup();
            if names.len() > 1 {
                return Err(format!(
                    "{name:?} names several functions of {display}: {}. Fix: pass the qualified name.",
                    names.join(", ")
                ));
            }
            let inclusive = paths.inclusive(weight, &ids);
            if inclusive <= 0.0 {
                return Err(format!(
                    "{} of {display} is in the stacks of profile {}, but none of its {} stacks passes through it. Fix: try weight \"{}\".",
                    names[0],
                    query.profile_id,
                    weight.as_str(),
                    if query.weight == CallWeight::Cpu { "memory" } else { "cpu" }
                ));
            }
            let stats = measured(query.profiled, names[0]);
            let target = CallTarget {
                kind: "function".into(),
                function: names[0].to_string(),
                path: display.clone(),
                line: stats.map(|stats| stats.line),
                end_line: stats.map(|stats| stats.end_line),
            };
            let into = paths.paths_into_functions(weight, &ids, usize::MAX);
            (target, inclusive, paths.self_weight(weight, &ids), paths.incoming(weight, &ids), paths.outgoing(weight, &ids), into)
        }
        Target::Line(line) => {
            let on_line = paths.functions_on_line(file, line);
            let inclusive = paths.inclusive_line(weight, file, line);
            if on_line.is_empty() || inclusive <= 0.0 {
                let lines = paths.lines_of(file);
                let mut near: Vec<u32> = lines.clone();
                near.sort_by_key(|other| other.abs_diff(line));
                near.truncate(NAMES_IN_REFUSAL);
                near.sort_unstable();
                let within = query.profiled.and_then(|profiled| profiled.functions.iter().find(|function| function.contains(line)));
                let function = within.map(|function| format!(" Line {line} is in {}, which you can ask about (function: {:?}).", function.name, function.name)).unwrap_or_default();
                return Err(format!(
                    "no {} stack of profile {} was on line {line} of {display}.{function} Lines of {display} in the stacks nearest to it: {}. Fix: ask about one of these lines, or a function.",
                    weight.as_str(),
                    query.profile_id,
                    if near.is_empty() { "none".into() } else { near.iter().map(u32::to_string).collect::<Vec<_>>().join(", ") }
                ));
            }
            let names: Vec<&str> = on_line.iter().map(|id| paths.function(*id).name.as_str()).collect();
            let target = CallTarget { kind: "line".into(), function: names.join(", "), path: display.clone(), line: Some(line), end_line: None };
            let into = paths.paths_into_line(weight, file, line, usize::MAX);
            (
                target,
                inclusive,
                paths.self_weight_line(weight, file, line),
                paths.incoming_line(weight, file, line),
                paths.outgoing_line(weight, file, line),
                into,
            )
        }
    };
    if incoming.iter().any(|edge| {
        let caller = paths.function(edge.function);
        caller.file() == Some(file) && target.function.split(", ").any(|name| name == caller.name)
    }) {
        notes.push(format!(
            "{} calls itself: each stack counts once per caller, so the callers' percent_of_target can add up to more than 100",
            target.function
        ));
    }
    notes.push(format!(
        "Shares are of Scalene's sampled stacks ({} {unit} in all); they can differ a little from the per-line percentages of line_profile.",
        round2(run_total)
    ));
    let limit = query.limit;
    let rows = |edges: &[CallEdge]| -> Vec<CallEdgeRow> {
        edges.iter().take(limit).map(|edge| edge_row(paths, edge, run_total, inclusive, roots)).collect()
    };
    let (callers, callees) = (rows(&incoming), rows(&outgoing));
    let target_line = target.line;
    let chain = |path: &CallPath| -> String {
        let last = path.functions.len() - 1;
        path.functions
            .iter()
            .enumerate()
            .map(|(index, id)| {
                let line = if index < last { path.call_lines[index] } else { target_line };
                frame_text(paths.function(*id), line, roots)
            })
            .collect::<Vec<_>>()
            .join(" → ")
    };
    let path_rows: Vec<CallPathRow> = into
        .iter()
        .take(limit)
        .map(|path| CallPathRow { chain: chain(path), percent_of_run: percent(path.weight, run_total), percent_of_target: percent(path.weight, inclusive) })
        .collect();
    let hidden = [(incoming.len(), callers.len(), "callers"), (outgoing.len(), callees.len(), "callees"), (into.len(), path_rows.len(), "paths")];
    let more_parts: Vec<String> =
        hidden.iter().filter(|(all, shown, _)| all > shown).map(|(all, shown, what)| format!("{} more {what}", all - shown)).collect();
    let more = if more_parts.is_empty() {
        format!(
            "Every caller, callee and path is listed. Walk further up with call_paths on a caller ({{\"path\": ..., \"function\": ...}}); the target's own lines: line_profile {{\"path\": \"{display}\"}}."
        )
    } else {
        format!("{}: pass a larger limit (up to {MAX_CALL_LIMIT}).", more_parts.join(", "))
    };
    Ok(CallPathsResult {
        profile_id: query.profile_id.clone(),
        snapshot: query.snapshot.clone(),
        weight: query.weight,
        unit: unit.into(),
        target,
        run_total: round2(run_total),
        inclusive: round2(inclusive),
        inclusive_percent: percent(inclusive, run_total),
        self_percent: percent(self_weight, run_total),
        callers,
        total_callers: incoming.len(),
        callees,
        total_callees: outgoing.len(),
        paths: path_rows,
        total_paths: into.len(),
        notes,
        more,
    })
}

/// A measured function's costliest callers by CPU (at most `limit`), for `function_profile`; empty
/// when the stacks do not show it.
pub fn top_callers(paths: &CallPaths, file: &Path, name: &str, roots: &Roots, limit: usize) -> Vec<CallEdgeRow> {
    let ids = function_ids(paths, file, name);
    if ids.is_empty() {
        return Vec::new();
    }
    let (run_total, inclusive) = (paths.total(Weight::Cpu), paths.inclusive(Weight::Cpu, &ids));
    paths.incoming(Weight::Cpu, &ids).iter().take(limit).map(|edge| edge_row(paths, edge, run_total, inclusive, roots)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::profile::model::Profile;

    /// A captured fixture and the workspace it was captured in (its paths show relative to it).
    fn fixture(name: &str) -> (Profile, Roots) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(repo.join(format!("fixtures/scalene/2.4.0/{name}.json"))).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(repo.join("fixtures/scalene/2.4.0/MANIFEST.json")).unwrap()).unwrap();
        let profile = crate::engine::profile::parse::parse_profile(&bytes).unwrap();
        (profile, Roots::new(vec![manifest["programs_dir"].as_str().unwrap().into()]))
    }

    fn ask(profile: &Profile, roots: &Roots, file: &str, target: Target<'_>, weight: CallWeight) -> Result<CallPathsResult, String> {
        let paths = profile.call_paths.as_deref().expect("the fixture has stacks");
        let file = profile.files.iter().find(|profiled| profiled.path.ends_with(file)).expect("a profiled file");
        let stack_file = stack_file(paths, &file.path, None).expect("the file is in the stacks");
        call_paths_view(&CallPathsQuery {
            profile_id: "p1".into(),
            snapshot: None,
            paths,
            file: &stack_file,
            profiled: Some(file),
            target,
            weight,
            limit: DEFAULT_CALL_LIMIT,
            roots,
        })
    }

    fn valid_output<T: schemars::JsonSchema + serde::Serialize + std::any::Any>(value: &T) {
        let schema = serde_json::Value::Object((*crate::mcp::params::output_schema::<T>()).clone());
        let validator = jsonschema::validator_for(&schema).unwrap();
        let value = serde_json::to_value(value).unwrap();
        assert!(validator.is_valid(&value), "{:?}", validator.iter_errors(&value).map(|e| e.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn score_is_called_mostly_by_heavy_batch_and_the_callers_shares_make_its_total() {
        let (profile, roots) = fixture("call_paths");
        let result = ask(&profile, &roots, "helpers.py", Target::Function("score"), CallWeight::Cpu).unwrap();
        let callers: Vec<(&str, Option<u32>)> = result.callers.iter().map(|row| (row.function.as_str(), row.call_line)).collect();
        assert_eq!(callers, [("heavy_batch", Some(11)), ("light_batch", Some(7))]);
        assert!(result.callers[0].percent_of_target > 70.0, "heavy_batch does three times the work: {:?}", result.callers);
        let sum: f64 = result.callers.iter().map(|row| row.percent_of_target).sum();
        assert!((sum - 100.0).abs() < 0.05, "{sum}");
        let sum_of_run: f64 = result.callers.iter().map(|row| row.percent_of_run).sum();
        assert!((sum_of_run - result.inclusive_percent).abs() < 0.05, "{sum_of_run} vs {}", result.inclusive_percent);
        assert_eq!((result.target.line, result.target.path.as_str()), (Some(4), "call_paths/helpers.py"));
        assert!(result.paths[0].chain.starts_with("<module> (call_paths/main.py:28) → main (call_paths/main.py:22) → heavy_batch (call_paths/main.py:11) → score (call_paths/helpers.py:4)"), "{:?}", result.paths);
        assert!(result.callees.iter().all(|row| row.native && row.module.is_some() && row.path.is_none()), "score calls only native code: {:?}", result.callees);
        assert!(result.callees.iter().any(|row| row.function == "PyNumber_Remainder"));
        valid_output(&result);
        insta::assert_json_snapshot!("call_paths_score", result);
    }

    #[test]
    fn a_line_shows_who_reached_it_and_what_it_calls() {
        let (profile, roots) = fixture("call_paths");
        let result = ask(&profile, &roots, "helpers.py", Target::Line(7), CallWeight::Cpu).unwrap();
        assert_eq!((result.target.kind.as_str(), result.target.function.as_str(), result.target.line), ("line", "score", Some(7)));
        assert_eq!(result.callers.iter().map(|row| row.function.as_str()).collect::<Vec<_>>(), ["heavy_batch", "light_batch"]);
        assert!(result.paths[0].chain.ends_with("score (call_paths/helpers.py:7)"), "{:?}", result.paths);
        let main = ask(&profile, &roots, "main.py", Target::Line(22), CallWeight::Cpu).unwrap();
        assert_eq!(main.callees.iter().map(|row| (row.function.as_str(), row.call_line)).collect::<Vec<_>>(), [("heavy_batch", Some(22))]);
        assert_eq!(main.self_percent, 0.0, "line 22 only calls");
        valid_output(&main);
    }

    #[test]
    fn refusals_name_what_exists() {
        let (profile, roots) = fixture("call_paths");
        let unknown = ask(&profile, &roots, "helpers.py", Target::Function("scroe"), CallWeight::Cpu).unwrap_err();
        assert!(unknown.contains("score") && unknown.contains("ranked") && unknown.contains("Fix:"), "{unknown}");
        let line = ask(&profile, &roots, "helpers.py", Target::Line(5), CallWeight::Cpu).unwrap_err();
        assert!(line.contains("Line 5 is in score") && line.contains("7, 12"), "{line}");
        let memory = ask(&profile, &roots, "helpers.py", Target::Function("score"), CallWeight::Memory).unwrap_err();
        assert!(memory.contains("no memory stacks") && memory.contains("mode \"memory\""), "{memory}");
    }

    #[test]
    fn recursion_is_said_to_add_up_to_more_than_the_target() {
        let (profile, roots) = fixture("recursion");
        let result = ask(&profile, &roots, "recursion.py", Target::Function("descend"), CallWeight::Cpu).unwrap();
        assert!(result.callers.iter().any(|row| row.function == "descend"), "{:?}", result.callers);
        assert!(result.notes.iter().any(|note| note.contains("descend calls itself")), "{:?}", result.notes);
        assert!(result.paths.iter().all(|path| path.chain.matches("descend (").count() == 1), "paths stop at the outermost descend: {:?}", result.paths);
        assert!(result.inclusive_percent <= 100.0);
    }

    #[test]
    fn function_rows_carry_their_top_callers() {
        let (profile, roots) = fixture("call_paths");
        let paths = profile.call_paths.as_deref().unwrap();
        let file = profile.files.iter().find(|file| file.path.ends_with("helpers.py")).unwrap();
        let callers = top_callers(paths, &file.path, "score", &roots, FUNCTION_CALLERS);
        assert_eq!(callers.iter().map(|row| row.function.as_str()).collect::<Vec<_>>(), ["heavy_batch", "light_batch"]);
        assert!(top_callers(paths, &file.path, "nothing", &roots, FUNCTION_CALLERS).is_empty());
        let function = file.functions.iter().find(|function| function.name == "score").unwrap();
        let row = crate::mcp::params::FunctionRow { callers, ..crate::mcp::views::function_row(file, function, &roots) };
        valid_output(&crate::mcp::params::FunctionProfileResult {
            profile_id: "p1".into(),
            snapshot: None,
            path: "call_paths/helpers.py".into(),
            total: 1,
            functions: vec![row, crate::mcp::views::function_row(file, function, &roots)],
            lines: Vec::new(),
            more: String::new(),
        });
    }
}
