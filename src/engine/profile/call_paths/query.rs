//! The questions asked of call paths. Each stack counts once per answer, whatever its recursion: a
//! function that calls itself ten deep is one caller of itself in that stack, not ten.

use std::path::Path;

use super::{CallFrame, CallPaths, Weight};

/// A caller or callee of a function with the weight that went through the call: for a caller, the
/// caller `function` and the line of the call in it; for a callee, the callee and the line of the call
/// in the function asked about.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallEdge {
    pub function: u32,
    pub call_line: Option<u32>,
    pub weight: f64,
}

/// A chain of functions, outermost first, and the weight of the stacks that took it: stacks that
/// differ only below the target, or in the line the target was on, are one path.
#[derive(Clone, Debug, PartialEq)]
pub struct CallPath {
    pub functions: Vec<u32>,
    /// The line of each function but the last from which it called the next (one fewer than
    /// `functions`).
    pub call_lines: Vec<Option<u32>>,
    pub weight: f64,
}

/// A node of the merged call tree (a flame graph): a function under its caller chain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlameNode {
    /// None for the root (the whole run).
    pub function: Option<u32>,
    /// Everything under this node, itself included.
    pub total: f64,
    /// The part spent in this function itself (stacks ending here).
    pub self_weight: f64,
    /// The lines the function was on in this position (its call sites, or where it ran), costliest
    /// first.
    pub lines: Vec<(u32, f64)>,
    /// Costliest first.
    pub children: Vec<FlameNode>,
}

impl CallPaths {
    /// The Python functions of `file` named `name`: Scalene's name exactly, or, for a qualified name
    /// (`Worker.run`, `main.<locals>.helper`), its last part.
    pub fn find(&self, file: &Path, name: &str) -> Vec<u32> {
        let matching = |exact: bool| -> Vec<u32> {
            (0..self.functions.len() as u32)
                .filter(|id| {
                    let function = self.function(*id);
                    function.file() == Some(file)
                        && if exact { function.name == name } else { function.name.rsplit('.').next() == Some(name) }
                })
                .collect()
        };
        let exact = matching(true);
        if exact.is_empty() { matching(false) } else { exact }
    }

    /// The weight of the stacks that pass through any of `functions` (each stack once).
    pub fn inclusive(&self, weight: Weight, functions: &[u32]) -> f64 {
        self.stacks(weight)
            .iter()
            .filter(|stack| stack.frames.iter().any(|frame| functions.contains(&self.frame(*frame).function)))
            .map(|stack| stack.weight)
            .sum()
    }

    /// The weight of the stacks whose innermost frame is one of `functions`.
    pub fn self_weight(&self, weight: Weight, functions: &[u32]) -> f64 {
        self.stacks(weight)
            .iter()
            .filter(|stack| stack.frames.last().is_some_and(|frame| functions.contains(&self.frame(*frame).function)))
            .map(|stack| stack.weight)
            .sum()
    }

    /// True when `frame` is a Python frame on `line` of `file`.
    fn on_line(&self, frame: &CallFrame, file: &Path, line: u32) -> bool {
        frame.line == Some(line) && self.function(frame.function).file() == Some(file)
    }

    /// The weight of the stacks that pass through `line` of `file` (each stack once).
    pub fn inclusive_line(&self, weight: Weight, file: &Path, line: u32) -> f64 {
        self.stacks(weight)
            .iter()
            .filter(|stack| stack.frames.iter().any(|frame| self.on_line(&self.frame(*frame), file, line)))
            .map(|stack| stack.weight)
            .sum()
    }

    /// The weight of the stacks whose innermost frame is on `line` of `file` (the line's own work, not
    /// what it calls).
    pub fn self_weight_line(&self, weight: Weight, file: &Path, line: u32) -> f64 {
        self.stacks(weight)
            .iter()
            .filter(|stack| stack.frames.last().is_some_and(|frame| self.on_line(&self.frame(*frame), file, line)))
            .map(|stack| stack.weight)
            .sum()
    }

    /// The functions seen on `line` of `file` (usually one).
    pub fn functions_on_line(&self, file: &Path, line: u32) -> Vec<u32> {
        let mut functions: Vec<u32> =
            self.frames.iter().filter(|frame| self.on_line(frame, file, line)).map(|frame| frame.function).collect();
        functions.sort_unstable();
        functions.dedup();
        functions
    }

    /// The lines of `file` that Python frames were on, sorted.
    pub fn lines_of(&self, file: &Path) -> Vec<u32> {
        let mut lines: Vec<u32> = self
            .frames
            .iter()
            .filter(|frame| self.function(frame.function).file() == Some(file))
            .filter_map(|frame| frame.line)
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }

    /// Who called the function while it was on `line` of `file`, and from which line, costliest first.
    pub fn incoming_line(&self, weight: Weight, file: &Path, line: u32) -> Vec<CallEdge> {
        self.edges(weight, |frames| {
            frames
                .windows(2)
                .filter(|pair| self.on_line(&pair[1], file, line))
                .map(|pair| (pair[0].function, pair[0].line))
                .collect()
        })
    }

    /// What `line` of `file` calls (the call line is that line), costliest first.
    pub fn outgoing_line(&self, weight: Weight, file: &Path, line: u32) -> Vec<CallEdge> {
        self.edges(weight, |frames| {
            frames
                .windows(2)
                .filter(|pair| self.on_line(&pair[0], file, line))
                .map(|pair| (pair[1].function, pair[0].line))
                .collect()
        })
    }

    /// Who calls any of `functions`, and from which line, costliest first.
    pub fn incoming(&self, weight: Weight, functions: &[u32]) -> Vec<CallEdge> {
        self.edges(weight, |frames| {
            frames
                .windows(2)
                .filter(|pair| functions.contains(&pair[1].function))
                .map(|pair| (pair[0].function, pair[0].line))
                .collect()
        })
    }

    /// What any of `functions` calls, and from which of its lines, costliest first.
    pub fn outgoing(&self, weight: Weight, functions: &[u32]) -> Vec<CallEdge> {
        self.edges(weight, |frames| {
            frames
                .windows(2)
                .filter(|pair| functions.contains(&pair[0].function))
                .map(|pair| (pair[1].function, pair[0].line))
                .collect()
        })
    }

    fn edges(&self, weight: Weight, pick: impl Fn(&[CallFrame]) -> Vec<(u32, Option<u32>)>) -> Vec<CallEdge> {
        let mut edges: Vec<CallEdge> = Vec::new();
        let mut frames = Vec::new();
        for stack in self.stacks(weight) {
            frames.clear();
            frames.extend(stack.frames.iter().map(|frame| self.frame(*frame)));
            let mut found = pick(&frames);
            found.sort_unstable();
            found.dedup();
            for (function, call_line) in found {
                match edges.iter_mut().find(|edge| edge.function == function && edge.call_line == call_line) {
                    Some(edge) => edge.weight += stack.weight,
                    None => edges.push(CallEdge { function, call_line, weight: stack.weight }),
                }
            }
        }
        edges.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.function.cmp(&b.function)));
        edges
    }

    /// The costliest chains of callers into any of `functions` (up to and including its outermost
    /// appearance in each stack) with their call lines, at most `limit`.
    pub fn paths_into_functions(&self, weight: Weight, functions: &[u32], limit: usize) -> Vec<CallPath> {
        self.paths_into(weight, |frame| functions.contains(&frame.function), limit)
    }

    /// The costliest chains of functions into `line` of `file` (up to and including the function that
    /// was on it, at its outermost appearance in each stack) with their call lines, at most `limit`.
    pub fn paths_into_line(&self, weight: Weight, file: &Path, line: u32, limit: usize) -> Vec<CallPath> {
        self.paths_into(weight, |frame| self.on_line(frame, file, line), limit)
    }

    fn paths_into(&self, weight: Weight, target: impl Fn(&CallFrame) -> bool, limit: usize) -> Vec<CallPath> {
        let mut paths: Vec<CallPath> = Vec::new();
        for stack in self.stacks(weight) {
            let Some(end) = stack.frames.iter().position(|frame| target(&self.frame(*frame))) else { continue };
            let functions: Vec<u32> = stack.frames[..=end].iter().map(|frame| self.frame(*frame).function).collect();
            let call_lines: Vec<Option<u32>> = stack.frames[..end].iter().map(|frame| self.frame(*frame).line).collect();
            match paths.iter_mut().find(|path| path.functions == functions && path.call_lines == call_lines) {
                Some(path) => path.weight += stack.weight,
                None => paths.push(CallPath { functions, call_lines, weight: stack.weight }),
            }
        }
        paths.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        paths.truncate(limit);
        paths
    }

    /// The stacks merged by function along each chain (recursion stays nested, as in any flame graph).
    pub fn flame_tree(&self, weight: Weight) -> FlameNode {
        let mut root = FlameNode::default();
        for stack in self.stacks(weight) {
            root.total += stack.weight;
            let mut node = &mut root;
            for frame in stack.frames.iter().map(|frame| self.frame(*frame)) {
                let index = match node.children.iter().position(|child| child.function == Some(frame.function)) {
                    Some(index) => index,
                    None => {
                        node.children.push(FlameNode { function: Some(frame.function), ..FlameNode::default() });
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[index];
                node.total += stack.weight;
                if let Some(line) = frame.line {
                    match node.lines.iter_mut().find(|(number, _)| *number == line) {
                        Some((_, total)) => *total += stack.weight,
                        None => node.lines.push((line, stack.weight)),
                    }
                }
            }
            node.self_weight += stack.weight;
        }
        sort_tree(&mut root);
        root
    }
}

fn sort_tree(node: &mut FlameNode) {
    node.lines.sort_by(|a, b| b.1.total_cmp(&a.1));
    node.children.sort_by(|a, b| b.total.total_cmp(&a.total));
    node.children.iter_mut().for_each(sort_tree);
}
