//! The layering ARCHITECTURE.md promises, checked on the source: `engine` at the bottom, `lsp` and `mcp`
//! side by side over it (neither imports the other), `host` and `cli` on top; and no circle of imports
//! between the modules of a layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support;

/// Which top-level modules each layer may import (besides itself).
const ALLOWED: &[(&str, &[&str])] = &[
    ("engine", &[]),
    ("lsp", &["engine"]),
    ("mcp", &["engine"]),
    ("host", &["engine", "lsp", "mcp"]),
    ("cli", &["engine", "host"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments and string literals' contents (so docs that name a module do not count).
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .map(|line| {
            let mut kept = String::new();
            let mut in_string = false;
            let mut previous = ' ';
            for c in line.chars() {
                if c == '"' && previous != '\\' {
                    in_string = !in_string;
                } else if !in_string {
                    kept.push(c);
                }
                previous = c;
            }
            kept
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::b::{c, d::e}` → the first segment after each `prefix` (`c`, `d` for prefix `a::b::`).
fn names_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(index) = rest.find(prefix) {
        let before_ok = index == 0 || !rest[..index].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
        rest = &rest[index + prefix.len()..];
        if !before_ok {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let first = item.trim().split("::").next().unwrap_or("").trim();
                if !first.is_empty() {
                    names.insert(first.to_string());
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// The layer and the unit (module directly under the layer) of a source file: `src/lsp/hints.rs` →
/// (lsp, hints); `src/engine/runner/argv.rs` → (engine, runner); `src/lsp.rs` → (lsp, "").
fn layer_and_unit(src: &Path, file: &Path) -> (String, String, usize) {
    let relative = file.strip_prefix(src).unwrap();
    let parts: Vec<String> =
        relative.iter().map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    let layer = parts[0].clone();
    let unit = parts.get(1).cloned().unwrap_or_default();
    (layer, unit, parts.len())
}

#[test]
fn layers_import_only_downwards_and_lsp_and_mcp_never_each_other() {
    let src = support::repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let layers: BTreeSet<&str> = ALLOWED.iter().map(|(layer, _)| *layer).collect();
    let mut problems = Vec::new();
    for file in &files {
        let (layer, _, _) = layer_and_unit(&src, file);
        let Some((_, allowed)) = ALLOWED.iter().find(|(name, _)| *name == layer) else { continue };
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for used in names_after(&code, "crate::") {
            if used != layer && layers.contains(used.as_str()) && !allowed.contains(&used.as_str()) {
                problems.push(format!("{} ({layer}) imports crate::{used}", file.strip_prefix(support::repo()).unwrap().display()));
            }
        }
    }
    assert!(problems.is_empty(), "imports that point up or sideways:\n{}", problems.join("\n"));
}

#[test]
fn no_module_imports_form_a_circle() {
    let src = support::repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // layer → unit → the units of the same layer it imports.
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut units: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let (layer, unit, _) = layer_and_unit(&src, file);
        if !unit.is_empty() {
            units.entry(layer).or_default().insert(unit);
        }
    }
    for file in &files {
        let (layer, unit, depth) = layer_and_unit(&src, file);
        if unit.is_empty() {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let mut used = names_after(&code, &format!("crate::{layer}::"));
        // In src/<layer>/<unit>.rs, `super::` is the layer; one level deeper it takes `super::super::`.
        let super_prefix = "super::".repeat(depth - 1);
        used.extend(names_after(&code, &super_prefix).into_iter().filter(|name| name != "super"));
        let siblings = &units[&layer];
        let edges = graph.entry(layer).or_default().entry(unit.clone()).or_default();
        edges.extend(used.into_iter().filter(|name| *name != unit && siblings.contains(name)));
    }
    let mut circles = Vec::new();
    for (layer, edges) in &graph {
        for start in edges.keys() {
            // Depth-first search for a path back to `start`.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in edges.get(&node).into_iter().flatten() {
                    if next == start {
                        circles.push(format!("{layer}: {} → {start}", path.join(" → ")));
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }
    circles.sort();
    circles.dedup();
    assert!(circles.is_empty(), "modules that import each other in a circle:\n{}", circles.join("\n"));
}

#[test]
fn the_checks_see_imports_in_every_form() {
    let code = code_only("use super::{a, b::c};\nuse crate::mcp::x; // crate::lsp in a comment\nlet s = \"crate::host\";\n");
    assert_eq!(names_after(&code, "super::"), BTreeSet::from(["a".to_string(), "b".to_string()]));
    assert_eq!(names_after(&code, "crate::"), BTreeSet::from(["mcp".to_string()]));
}
