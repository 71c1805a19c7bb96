//! Line remapping: where a profiled line is in the current text of its file, by a line diff.
//!
//! Architecture Invariant: a number is never shown on the wrong line. A line maps only when it is
//! unchanged and the diff pairs it with a line of the current text; an edited, deleted or unknown line
//! maps to nothing.

use similar::{Algorithm, DiffOp, capture_diff_slices};

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
        let old: Vec<&str> = profiled.lines().map(trim_cr).collect();
        let new: Vec<&str> = current.lines().map(trim_cr).collect();
        if old == new {
            return LineMap { old_to_new: (1..=old.len() as u32).map(Some).collect(), identical: true };
        }
        let mut old_to_new = vec![None; old.len()];
        for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
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
    fn crlf_and_lf_are_the_same_line() {
        assert!(LineMap::new("a\r\nb\r\n", "a\nb\n").identical);
    }
}
