//! The layering ARCHITECTURE.md promises, checked on the source: `engine` at the bottom, `lsp` and `mcp`
//! side by side over it (neither imports the other), `host` and `cli` on top; no circle of imports
//! among sibling modules at any depth; no import up through a facade's re-exports; and a pure
//! profile wing.

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
/// (lsp, hints); `src/engine/run/runner/argv.rs` → (engine, run); `src/lsp.rs` → (lsp, "").
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

/// `code` without its `#[cfg(test)] mod NAME { ... }` blocks (tests may import anything); the code
/// after such a block is kept.
fn without_test_modules(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(start) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(open) = after.find('{').filter(|open| after[..*open].contains("mod ") && !after[..*open].contains(';')) else {
            out.push_str("#[cfg(test)]");
            rest = &after["#[cfg(test)]".len()..];
            continue;
        };
        let mut depth = 0;
        let mut end = after.len();
        for (index, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + index + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A module path (`["engine", "run", "runner"]` for src/engine/run/runner.rs) and its code, without
/// comments, string contents and test modules.
struct Module {
    path: Vec<String>,
    file: String,
    code: String,
}

fn modules(src: &Path) -> Vec<Module> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .filter(|file| file.file_name().is_some_and(|name| name != "tests.rs" && name != "lib.rs" && name != "main.rs"))
        .map(|file| {
            let relative = file.strip_prefix(src).unwrap();
            let path = relative.iter().map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
            let code = without_test_modules(&code_only(&std::fs::read_to_string(&file).unwrap()));
            Module { path, file: relative.display().to_string(), code }
        })
        .collect()
}

/// Every path a piece of code names from `crate::`, `super::` or `self::`, resolved to whole paths
/// (`use super::{a, b::{c, d}}` in module `m::n` → `m::a`, `m::b::c`, `m::b::d`).
fn referenced_paths(module: &[String], code: &str) -> Vec<Vec<String>> {
    fn read_path(chars: &[char], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
        let mut path = prefix;
        loop {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            if i < chars.len() && chars[i] == '{' {
                i += 1;
                loop {
                    i = read_path(chars, i, path.clone(), out);
                    while i < chars.len() && chars[i].is_whitespace() {
                        i += 1;
                    }
                    match chars.get(i) {
                        Some(',') => i += 1,
                        Some('}') => return i + 1,
                        _ => return i,
                    }
                    while i < chars.len() && chars[i].is_whitespace() {
                        i += 1;
                    }
                    if chars.get(i) == Some(&'}') {
                        return i + 1;
                    }
                }
            }
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            if i > start {
                path.push(chars[start..i].iter().collect());
            }
            if i + 1 < chars.len() && chars[i] == ':' && chars[i + 1] == ':' {
                i += 2;
            } else {
                out.push(path);
                return i;
            }
        }
    }
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':');
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        if boundary && (rest.starts_with("crate::") || rest.starts_with("super::") || rest.starts_with("self::")) {
            let mut base: Vec<String> = module.to_vec();
            let mut j = i;
            if rest.starts_with("crate::") {
                base.clear();
                j += 7;
            } else if rest.starts_with("self::") {
                j += 6;
            } else {
                while chars[j..].starts_with(&['s', 'u', 'p', 'e', 'r', ':', ':']) {
                    base.pop();
                    j += 7;
                }
            }
            let mut found = Vec::new();
            i = read_path(&chars, j, base, &mut found);
            out.extend(found);
        } else {
            i += 1;
        }
    }
    out
}

/// The longest known module a path names, and the segment after it (the item, if any).
fn target<'a>(path: &'a [String], known: &BTreeSet<Vec<String>>) -> Option<(Vec<String>, Option<&'a String>)> {
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|prefix| known.contains(prefix)).map(|module| {
        let item = path.get(module.len());
        (module, item)
    })
}

/// Sibling → sibling edges at every depth: module A imports from its sibling B when any file under A
/// names anything under B. Keyed by the siblings' parent.
fn sibling_edges(modules: &[Module]) -> BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> {
    let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for module in modules {
        for path in referenced_paths(&module.path, &module.code) {
            let Some((to, _)) = target(&path, &known) else { continue };
            let common = module.path.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common == module.path.len() || common == to.len() {
                continue; // an ancestor or a descendant, not a sibling
            }
            let parent = module.path[..common].to_vec();
            edges.entry(parent).or_default().entry(module.path[common].clone()).or_default().insert(to[common].clone());
        }
    }
    edges
}

fn circles(edges: &BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>>) -> Vec<String> {
    let mut circles = Vec::new();
    for (parent, edges) in edges {
        for start in edges.keys() {
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in edges.get(&node).into_iter().flatten() {
                    if next == start {
                        circles.push(format!("in {}: {} → {start}", parent.join("::"), path.join(" → ")));
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
    circles
}

#[test]
fn no_modules_import_each_other_in_a_circle_at_any_depth() {
    let found = circles(&sibling_edges(&modules(&support::repo().join("src"))));
    assert!(found.is_empty(), "sibling modules that import each other in a circle:\n{}", found.join("\n"));
}

/// The names a module hands on with `pub use` (`pub use a::{B, c as D}` → B, D; `pub use a::*` → the
/// public names defined in `a`).
fn re_exports(module: &Module, all: &[Module]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for statement in module.code.split("pub use ").skip(1) {
        let statement = &statement[..statement.find(';').unwrap_or(statement.len())];
        if let Some(source) = statement.strip_suffix("::*") {
            let mut source_path = module.path.clone();
            source_path.extend(source.trim().split("::").map(str::to_string));
            for other in all.iter().filter(|m| m.path == source_path) {
                for keyword in ["pub struct ", "pub enum ", "pub fn ", "pub const ", "pub type ", "pub trait "] {
                    for rest in other.code.split(keyword).skip(1) {
                        names.insert(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
                    }
                }
            }
            continue;
        }
        let inner = statement.rsplit_once('{').map_or(statement, |(_, group)| group).trim_end_matches('}');
        let inner = if statement.contains('{') { inner.to_string() } else { statement.rsplit("::").next().unwrap_or("").to_string() };
        for item in inner.split(',') {
            let name = item.split(" as ").last().unwrap_or("").trim();
            let name = name.rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                names.insert(name.to_string());
            }
        }
    }
    names
}

#[test]
fn no_import_runs_up_through_a_facades_re_exports() {
    let all = modules(&support::repo().join("src"));
    let known: BTreeSet<Vec<String>> = all.iter().map(|m| m.path.clone()).collect();
    let mut problems = Vec::new();
    for module in &all {
        for path in referenced_paths(&module.path, &module.code) {
            let Some((to, Some(item))) = target(&path, &known) else { continue };
            let ancestor = to.len() < module.path.len() && module.path.starts_with(&to);
            if ancestor && let Some(facade) = all.iter().find(|m| m.path == to)
                && re_exports(facade, &all).contains(item)
            {
                problems.push(format!("{} takes `{item}` through {}'s re-export: use its own path", module.file, facade.file));
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "imports that run up through a facade:\n{}", problems.join("\n"));
}

#[test]
fn the_profile_wing_does_no_io() {
    let all = modules(&support::repo().join("src"));
    let wing: Vec<&Module> = all.iter().filter(|m| m.path.starts_with(&["engine".to_string(), "profile".to_string()])).collect();
    assert!(wing.len() >= 6, "engine/profile holds the model, parse, schema, remap, repeat and compare: {}", wing.len());
    let mut problems = Vec::new();
    for module in wing {
        for forbidden in ["std::fs", "std::process", "std::env", "std::net", "tokio", "nix::", "crate::engine::run", "crate::engine::keep"] {
            if module.code.contains(forbidden) {
                problems.push(format!("{} uses {forbidden}", module.file));
            }
        }
    }
    assert!(problems.is_empty(), "engine/profile is pure data and math (no IO, no processes, nothing of the run or keep wings):\n{}", problems.join("\n"));
}

#[test]
fn the_checks_find_a_circle_deep_down_and_an_import_through_a_facade() {
    let module = |path: &str, code: &str| Module {
        path: path.split("::").map(str::to_string).collect(),
        file: path.to_string(),
        code: code_only(code),
    };
    let tree = vec![
        module("engine", "pub mod run;"),
        module("engine::run", "pub mod runner;"),
        module("engine::run::runner", "mod a; mod b; pub use a::Thing;"),
        module("engine::run::runner::a", "use super::b::{Other, helper};\npub struct Thing;"),
        module("engine::run::runner::b", "pub struct Other;\nfn f() { crate::engine::run::runner::a::Thing; }"),
        module("engine::run::runner::c", "use super::Thing;"),
    ];
    assert_eq!(circles(&sibling_edges(&tree)), vec!["in engine::run::runner: a → b → a".to_string(), "in engine::run::runner: b → a → b".to_string()]);
    let known: BTreeSet<Vec<String>> = tree.iter().map(|m| m.path.clone()).collect();
    let paths = referenced_paths(&tree[5].path, &tree[5].code);
    let (to, item) = target(&paths[0], &known).unwrap();
    assert_eq!((to.join("::"), item.cloned()), ("engine::run::runner".to_string(), Some("Thing".to_string())));
    assert!(re_exports(&tree[2], &tree).contains("Thing"));
    let code = without_test_modules("use a::b;\n#[cfg(test)]\nmod tests {\n    fn f() { if x { crate::c::d(); } }\n}\nuse e::f;\n#[cfg(test)]\nmod other;\n");
    assert!(code.contains("use a::b;") && code.contains("use e::f;") && !code.contains("crate::c"), "{code}");
}

#[test]
fn the_checks_see_imports_in_every_form() {
    let code = code_only("use super::{a, b::c};\nuse crate::mcp::x; // crate::lsp in a comment\nlet s = \"crate::host\";\n");
    assert_eq!(names_after(&code, "super::"), BTreeSet::from(["a".to_string(), "b".to_string()]));
    assert_eq!(names_after(&code, "crate::"), BTreeSet::from(["mcp".to_string()]));
}
