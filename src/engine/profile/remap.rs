//! Line remapping: where a profiled line is in the current text of its file, by a line diff.
//!
//! Architecture Invariant: a number is never shown on the wrong line. A line maps only when it is
//! unchanged and the diff pairs it with a line of the current text; an edited, deleted or unknown line
//! maps to nothing.
//!
//! A line diff is quadratic in the worst case (every other line of a large file rewritten), so each one
//! has a budget (`DIFF_BUDGET`): past it the diff gives up on the lines it has not paired yet, which
//! then map to nothing (their numbers are dropped, never moved to a wrong line), and the server answers.

use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};

/// How long one line diff (or alignment) may take. A typical edit of a 20,000-line file diffs in well
/// under a millisecond (benches/README.md, `cargo bench --bench remap`).
pub const DIFF_BUDGET: Duration = Duration::from_millis(100);

/// True when two texts have the same lines (`\r\n` and `\n` alike): no diff needed.
pub fn same_lines(a: &str, b: &str) -> bool {
    a.lines().map(trim_cr).eq(b.lines().map(trim_cr))
}

/// Maps 1-based line numbers of the profiled text to 1-based line numbers of the current text.
#[derive(Clone, Debug, PartialEq)]
pub struct LineMap {
    /// For each profiled line (index = line - 1): the current line, if it survived unchanged.
    old_to_new: Vec<Option<u32>>,
    /// True when the two texts are identical (the profile is not stale).
    pub identical: bool,
}

impl LineMap {
    pub fn new(profiled: &str, current: &str) -> LineMap {
        LineMap::within(profiled, current, DIFF_BUDGET)
    }

    /// `new` with another budget: lines the diff has not paired when it runs out map to nothing.
    pub fn within(profiled: &str, current: &str, budget: Duration) -> LineMap {
        let deadline = Instant::now() + budget;
        let old: Vec<&str> = profiled.lines().map(trim_cr).collect();
        let new: Vec<&str> = current.lines().map(trim_cr).collect();
        if old == new {
            return LineMap { old_to_new: (1..=old.len() as u32).map(Some).collect(), identical: true };
        }
        let mut old_to_new = vec![None; old.len()];
        for op in capture_diff_slices_deadline(Algorithm::Myers, &old, &new, Some(deadline)) {
            if let DiffOp::Equal { old_index, new_index, len } = op {
                for offset in 0..len {
                    old_to_new[old_index + offset] = Some((new_index + offset + 1) as u32);
                }
            }
        }
        LineMap { old_to_new, identical: false }
    }

    /// A map for a file whose profiled text is unknown: identity when `known_same`, otherwise nothing maps.
    pub fn unknown(n_lines: usize, known_same: bool) -> LineMap {
        let old_to_new = if known_same { (1..=n_lines as u32).map(Some).collect() } else { Vec::new() };
        LineMap { old_to_new, identical: known_same }
    }

    /// The current line of profiled line `line`, or None when it changed or is gone.
    pub fn map(&self, line: u32) -> Option<u32> {
        self.old_to_new.get((line as usize).checked_sub(1)?).copied().flatten()
    }
}

/// How a line of one version is found in another (for comparisons): unchanged, or edited in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aligned {
    /// 1-based line in the other text.
    pub line: u32,
    /// True when the text differs: the line was edited in place (a same-size block of replaced lines,
    /// each pair similar enough to be the same statement).
    pub edited: bool,
}

/// Both directions of a line alignment between two versions of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct LineAlignment {
    /// For each line of the old text (index = line - 1).
    pub old_to_new: Vec<Option<Aligned>>,
    /// For each line of the new text.
    pub new_to_old: Vec<Option<Aligned>>,
}

/// Two lines at least this similar (similar's character ratio) count as one line edited in place.
const EDITED_SIMILARITY: f32 = 0.6;

/// Aligns two versions of a text by a line diff: unchanged lines pair exactly (as `LineMap` does); in
/// a block of replaced lines with as many old as new lines, each pair that is similar pairs as `edited`
/// (`range(1_000)` → `range(3_000)`). Every other line pairs with nothing, as do the lines not yet
/// paired when `DIFF_BUDGET` runs out.
pub fn align_lines(old_text: &str, new_text: &str) -> LineAlignment {
    align_lines_within(old_text, new_text, DIFF_BUDGET)
}

fn align_lines_within(old_text: &str, new_text: &str, budget: Duration) -> LineAlignment {
    let deadline = Instant::now() + budget;
    let old: Vec<&str> = old_text.lines().map(trim_cr).collect();
    let new: Vec<&str> = new_text.lines().map(trim_cr).collect();
    let mut old_to_new = vec![None; old.len()];
    let mut new_to_old = vec![None; new.len()];
    let mut pair = |old_index: usize, new_index: usize, edited: bool| {
        old_to_new[old_index] = Some(Aligned { line: (new_index + 1) as u32, edited });
        new_to_old[new_index] = Some(Aligned { line: (old_index + 1) as u32, edited });
    };
    if old == new {
        (0..old.len()).for_each(|index| pair(index, index, false));
        return LineAlignment { old_to_new, new_to_old };
    }
    for op in capture_diff_slices_deadline(Algorithm::Myers, &old, &new, Some(deadline)) {
        match op {
            DiffOp::Equal { old_index, new_index, len } => (0..len).for_each(|offset| pair(old_index + offset, new_index + offset, false)),
            DiffOp::Replace { old_index, old_len, new_index, new_len } if old_len == new_len => {
                for offset in 0..old_len {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let (a, b) = (old[old_index + offset].trim(), new[new_index + offset].trim());
                    if similar::TextDiff::configure().deadline(deadline).diff_chars(a, b).ratio() >= EDITED_SIMILARITY {
                        pair(old_index + offset, new_index + offset, true);
                    }
                }
            }
            _ => {}
        }
    }
    LineAlignment { old_to_new, new_to_old }
}

fn trim_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(profiled: &str, current: &str, expect: &[(u32, Option<u32>)]) {
        let map = LineMap::new(profiled, current);
        for (old, new) in expect {
            assert_eq!(map.map(*old), *new, "line {old}");
        }
    }

    #[test]
    fn identical_texts_map_to_themselves() {
        let map = LineMap::new("a\nb\nc\n", "a\nb\nc\n");
        assert!(map.identical);
        assert_eq!((map.map(1), map.map(3), map.map(4), map.map(0)), (Some(1), Some(3), None, None));
    }

    #[test]
    fn lines_inserted_above_move_the_line_down() {
        check("a\nhot\nc\n", "new1\nnew2\na\nhot\nc\n", &[(1, Some(3)), (2, Some(4)), (3, Some(5))]);
    }

    #[test]
    fn an_edited_line_maps_to_nothing_and_its_neighbours_stay() {
        check("a\nhot\nc\n", "a\nhot  # edited\nc\n", &[(1, Some(1)), (2, None), (3, Some(3))]);
    }

    #[test]
    fn deleted_lines_vanish_and_later_lines_move_up() {
        check("a\nb\nhot\n", "hot\n", &[(1, None), (2, None), (3, Some(1))]);
    }

    #[test]
    fn alignment_pairs_unchanged_and_similar_edited_lines_only() {
        let old = "a = 1\nfor i in range(1_000):\n    work(i)\nprint('done')\n";
        let new = "# new\na = 1\nfor i in range(3_000):\n    work(i)\nlog.info('finished', extra)\n";
        let alignment = align_lines(old, new);
        let at = |line: usize| alignment.old_to_new[line - 1];
        assert_eq!(at(1), Some(Aligned { line: 2, edited: false }));
        assert_eq!(at(2), Some(Aligned { line: 3, edited: true }), "a changed constant is the same line, edited");
        assert_eq!(at(3), Some(Aligned { line: 4, edited: false }));
        assert_eq!(at(4), None, "an unrelated replacement pairs with nothing");
        assert_eq!(alignment.new_to_old[0], None, "an inserted line is new");
        assert_eq!(alignment.new_to_old[2], Some(Aligned { line: 2, edited: true }));
        let same = align_lines(old, old);
        assert!(same.old_to_new.iter().enumerate().all(|(i, a)| *a == Some(Aligned { line: i as u32 + 1, edited: false })));
    }

    #[test]
    fn crlf_and_lf_are_the_same_line() {
        assert!(LineMap::new("a\r\nb\r\n", "a\nb\n").identical);
        assert!(same_lines("a\r\nb\r\n", "a\nb\n") && !same_lines("a\nb\n", "a\nc\n") && !same_lines("a\n", "a\nb\n"));
    }

    /// Every other line of a large file rewritten: whatever the budget, a line maps only to an identical
    /// line, in order; with no budget at all nothing past the common start and end is paired.
    #[test]
    fn a_diff_out_of_budget_drops_lines_and_never_moves_one_to_a_wrong_line() {
        let old: String = (0..4_000).map(|i| format!("line {i}\n")).collect();
        let new: String = (0..4_000).map(|i| if i % 2 == 0 { format!("line {i}\n") } else { format!("edited {i}\n") }).collect();
        let (old_lines, new_lines): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
        for budget in [Duration::ZERO, Duration::from_millis(1), DIFF_BUDGET] {
            let map = LineMap::within(&old, &new, budget);
            let mut last = 0;
            for line in 1..=old_lines.len() as u32 {
                if let Some(to) = map.map(line) {
                    assert_eq!(old_lines[line as usize - 1], new_lines[to as usize - 1], "{budget:?}: line {line}");
                    assert!(to > last, "{budget:?}: in order");
                    last = to;
                }
            }
            let alignment = align_lines_within(&old, &new, budget);
            for (index, aligned) in alignment.old_to_new.iter().enumerate() {
                if let Some(Aligned { line, edited: false }) = aligned {
                    assert_eq!(old_lines[index], new_lines[*line as usize - 1], "{budget:?}");
                }
            }
        }
        let none = LineMap::within(&old, &new, Duration::ZERO);
        assert_eq!((none.map(1), none.map(2)), (Some(1), None), "the common first line pairs without a diff");
        let full = LineMap::within(&old, &new, Duration::from_secs(3600));
        assert_eq!((full.map(3), full.map(4)), (Some(3), None), "given the time, every unchanged line maps");
    }
}
