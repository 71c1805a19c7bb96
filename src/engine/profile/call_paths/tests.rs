use std::path::{Path, PathBuf};

use super::*;

/// `main → light → helper` (1 sample) and `main → heavy → helper` (3), `helper` at line 4, plus
/// `main → fib → fib → fib` (2): a recursive function.
fn sample() -> CallPaths {
    let mut builder = CallPathsBuilder::default();
    let file = || Place::Python(PathBuf::from("/p/app.py"));
    let main = builder.function("main", file());
    let light = builder.function("light", file());
    let heavy = builder.function("heavy", file());
    let helper = builder.function("helper", file());
    let fib = builder.function("fib", file());
    let stack = |builder: &mut CallPathsBuilder, frames: &[(u32, u32)]| -> Vec<u32> {
        frames.iter().map(|(function, line)| builder.frame(*function, Some(*line))).collect()
    };
    let light_path = stack(&mut builder, &[(main, 20), (light, 8), (helper, 4)]);
    builder.push(Weight::Cpu, light_path, 1.0);
    let heavy_path = stack(&mut builder, &[(main, 21), (heavy, 12), (helper, 4)]);
    builder.push(Weight::Cpu, heavy_path.clone(), 2.0);
    builder.push(Weight::Cpu, heavy_path, 1.0);
    let fib_path = stack(&mut builder, &[(main, 22), (fib, 30), (fib, 30), (fib, 31)]);
    builder.push(Weight::Cpu, fib_path, 2.0);
    builder.finish(0).unwrap()
}

fn names(paths: &CallPaths, edges: &[CallEdge]) -> Vec<(String, Option<u32>, f64)> {
    edges.iter().map(|edge| (paths.function(edge.function).name.clone(), edge.call_line, edge.weight)).collect()
}

#[test]
fn identical_stacks_merge_and_the_costliest_comes_first() {
    let paths = sample();
    assert_eq!(paths.cpu.len(), 3);
    assert_eq!(paths.cpu.iter().map(|stack| stack.weight).collect::<Vec<_>>(), [3.0, 2.0, 1.0]);
    assert_eq!(paths.total(Weight::Cpu), 6.0);
    assert_eq!(paths.total(Weight::Memory), 0.0);
}

#[test]
fn callers_of_a_helper_come_with_their_call_lines_costliest_first() {
    let paths = sample();
    let helper = paths.find(Path::new("/p/app.py"), "helper");
    assert_eq!(
        names(&paths, &paths.incoming(Weight::Cpu, &helper)),
        [("heavy".into(), Some(12), 3.0), ("light".into(), Some(8), 1.0)]
    );
    assert_eq!(paths.inclusive(Weight::Cpu, &helper), 4.0);
    let main = paths.find(Path::new("/p/app.py"), "main");
    assert_eq!(
        names(&paths, &paths.outgoing(Weight::Cpu, &main)),
        [("heavy".into(), Some(21), 3.0), ("fib".into(), Some(22), 2.0), ("light".into(), Some(20), 1.0)]
    );
}

#[test]
fn recursion_counts_each_stack_once() {
    let paths = sample();
    let fib = paths.find(Path::new("/p/app.py"), "fib");
    assert_eq!(paths.inclusive(Weight::Cpu, &fib), 2.0);
    // fib is called by main (line 22) and by itself (line 30), each once per stack.
    assert_eq!(names(&paths, &paths.incoming(Weight::Cpu, &fib)), [("main".into(), Some(22), 2.0), ("fib".into(), Some(30), 2.0)]);
    let tree = paths.flame_tree(Weight::Cpu);
    let main = &tree.children[0];
    let fib_node = main.children.iter().find(|node| node.function == Some(fib[0])).unwrap();
    assert_eq!((fib_node.total, fib_node.children[0].total, fib_node.children[0].children[0].self_weight), (2.0, 2.0, 2.0));
}

#[test]
fn paths_into_a_line_are_the_chains_of_callers() {
    let paths = sample();
    let into = paths.paths_into_line(Weight::Cpu, Path::new("/p/app.py"), 4, 10);
    let chains: Vec<(Vec<&str>, f64)> = into
        .iter()
        .map(|path| (path.functions.iter().map(|f| paths.function(*f).name.as_str()).collect(), path.weight))
        .collect();
    assert_eq!(chains, [(vec!["main", "heavy", "helper"], 3.0), (vec!["main", "light", "helper"], 1.0)]);
    assert_eq!(paths.paths_into_line(Weight::Cpu, Path::new("/p/app.py"), 4, 1).len(), 1);
    assert!(paths.paths_into_line(Weight::Cpu, Path::new("/p/other.py"), 4, 10).is_empty());
}

#[test]
fn paths_carry_the_line_each_function_called_from() {
    let paths = sample();
    let helper = paths.find(Path::new("/p/app.py"), "helper");
    let into = paths.paths_into_functions(Weight::Cpu, &helper, 10);
    let chains: Vec<(Vec<Option<u32>>, f64)> = into.iter().map(|path| (path.call_lines.clone(), path.weight)).collect();
    assert_eq!(chains, [(vec![Some(21), Some(12)], 3.0), (vec![Some(20), Some(8)], 1.0)]);
    let fib = paths.find(Path::new("/p/app.py"), "fib");
    let into = paths.paths_into_functions(Weight::Cpu, &fib, 10);
    assert_eq!((into[0].functions.len(), into[0].call_lines.clone()), (2, vec![Some(22)]), "up to fib's outermost appearance");
}

#[test]
fn a_line_has_callers_callees_and_weights_like_a_function() {
    let paths = sample();
    let file = Path::new("/p/app.py");
    // Line 4 of helper: reached from heavy (line 12) and light (line 8); it is the innermost frame.
    assert_eq!(paths.inclusive_line(Weight::Cpu, file, 4), 4.0);
    assert_eq!(paths.self_weight_line(Weight::Cpu, file, 4), 4.0);
    assert_eq!(names(&paths, &paths.incoming_line(Weight::Cpu, file, 4)), [("heavy".into(), Some(12), 3.0), ("light".into(), Some(8), 1.0)]);
    assert!(paths.outgoing_line(Weight::Cpu, file, 4).is_empty());
    // Line 30 of fib calls fib (twice in one stack: counted once) and is reached from main and from fib.
    assert_eq!(paths.inclusive_line(Weight::Cpu, file, 30), 2.0);
    assert_eq!(paths.self_weight_line(Weight::Cpu, file, 30), 0.0);
    assert_eq!(names(&paths, &paths.outgoing_line(Weight::Cpu, file, 30)), [("fib".into(), Some(30), 2.0)]);
    assert_eq!(names(&paths, &paths.incoming_line(Weight::Cpu, file, 30)), [("main".into(), Some(22), 2.0), ("fib".into(), Some(30), 2.0)]);
    assert_eq!(paths.functions_on_line(file, 30), paths.find(file, "fib"));
    assert_eq!(paths.lines_of(file), [4, 8, 12, 20, 21, 22, 30, 31]);
    assert!(paths.lines_of(Path::new("/p/other.py")).is_empty());
}

#[test]
fn the_flame_tree_sums_to_the_total_and_keeps_call_lines() {
    let paths = sample();
    let tree = paths.flame_tree(Weight::Cpu);
    assert_eq!(tree.total, 6.0);
    let main = &tree.children[0];
    assert_eq!(main.total, 6.0);
    assert_eq!(main.lines, [(21, 3.0), (22, 2.0), (20, 1.0)]);
    assert_eq!(main.children.iter().map(|child| child.total).sum::<f64>(), 6.0);
}

#[test]
fn bounds_keep_the_innermost_frames_and_say_so() {
    let mut builder = CallPathsBuilder::default();
    let function = builder.function("deep", Place::Python(PathBuf::from("/p/deep.py")));
    let frames: Vec<u32> = (1..=MAX_DEPTH as u32 + 10).map(|line| builder.frame(function, Some(line))).collect();
    let innermost = *frames.last().unwrap();
    builder.push(Weight::Cpu, frames, 1.0);
    builder.push(Weight::Cpu, Vec::new(), 5.0);
    builder.push(Weight::Cpu, vec![innermost], f64::NAN);
    builder.timeline(0.5, 0, 1, None);
    builder.timeline(0.6, 1, 1, None); // the empty stack: skipped
    builder.timeline(0.7, 99, 1, None); // out of range: skipped
    let paths = builder.finish(3).unwrap();
    assert_eq!(paths.cpu[0].frames.len(), MAX_DEPTH);
    assert_eq!(*paths.cpu[0].frames.last().unwrap(), innermost);
    assert_eq!(paths.cpu[1].weight, 0.0, "NaN weighs nothing");
    assert_eq!(paths.timeline.len(), 1);
    assert!(paths.notes.iter().any(|note| note.contains("innermost 256")), "{:?}", paths.notes);
}

#[test]
fn nothing_recorded_is_no_call_paths() {
    assert!(CallPathsBuilder::default().finish(0).is_none());
}

#[test]
fn plumbing_is_the_interpreter_calling_on_not_its_work() {
    assert!(is_plumbing("_PyEval_EvalFrameDefault", "/usr/lib/libpython3.11.so.1.0"));
    assert!(is_plumbing("", ""));
    assert!(is_plumbing("memcpy", "/x/site-packages/scalene/libscalene.so"));
    assert!(!is_plumbing("PyNumber_Remainder", "/usr/lib/libpython3.11.so.1.0"));
    assert!(!is_plumbing("DOUBLE_add", "/x/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"));
}

/// `main → a` then `main → b` on one thread, then `worker` on another; each sample 10 ms apart.
fn timeline_sample(runs_of_a: usize) -> CallPaths {
    let mut builder = CallPathsBuilder::default();
    let file = || Place::Python(PathBuf::from("/p/app.py"));
    let (main, a, b, worker) = (builder.function("main", file()), builder.function("a", file()), builder.function("b", file()), builder.function("worker", file()));
    let stacks = [vec![(main, 10), (a, 3)], vec![(main, 11), (b, 6)], vec![(worker, 20)]];
    for stack in stacks {
        let frames = stack.iter().map(|(function, line)| builder.frame(*function, Some(*line))).collect();
        builder.push(Weight::Cpu, frames, 1.0);
    }
    // Scalene's stack indices: 0 = main → a, 1 = main → b, 2 = worker.
    let mut t = 0.0;
    for _ in 0..runs_of_a {
        builder.timeline(t, 0, 1, Some(1));
        t += 0.01;
    }
    builder.timeline(t, 1, 5, Some(1));
    builder.timeline(0.005, 2, 2, Some(2));
    builder.finish(0).unwrap()
}

fn span_names(paths: &CallPaths, lane: &TimelineLane) -> Vec<(String, u32)> {
    lane.spans.iter().map(|span| (paths.function(span.function).name.clone(), span.depth)).collect()
}

#[test]
fn the_timeline_merges_adjacent_runs_of_a_chain_per_thread_in_time_order() {
    let paths = timeline_sample(3);
    let chart = paths.timeline_chart(1000).unwrap();
    assert_eq!(chart.runs, 5);
    assert_eq!(chart.lanes.len(), 2, "one lane per thread");
    let main = &chart.lanes[0];
    assert_eq!(main.thread, Some(1));
    assert_eq!(main.samples, 8);
    // main spans everything; a, then b, below it; three runs of a are one frame.
    assert_eq!(span_names(&paths, main), [("main".into(), 0), ("a".into(), 1), ("b".into(), 1)]);
    let (whole, a, b) = (&main.spans[0], &main.spans[1], &main.spans[2]);
    assert!(a.start_s < 0.001 && (a.end_s - 0.03).abs() < 0.001, "{a:?}");
    assert!(b.start_s >= a.end_s - 0.001 && b.end_s > b.start_s, "{b:?}");
    assert!((whole.end_s - b.end_s).abs() < 1e-9 && whole.start_s == a.start_s);
    assert!((a.samples - 3.0).abs() < 0.01 && (b.samples - 5.0).abs() < 0.01 && (whole.samples - 8.0).abs() < 0.01, "{main:?}");
    assert_eq!((a.line, b.line), (Some(3), Some(6)));
    assert_eq!(main.depth, 2);
    assert_eq!(span_names(&paths, &chart.lanes[1]), [("worker".into(), 0)]);
}

#[test]
fn a_long_timeline_is_bounded_by_the_columns_of_the_view() {
    let paths = timeline_sample(19_990);
    let chart = paths.timeline_chart(500).unwrap();
    let main = &chart.lanes[0];
    assert_eq!(chart.columns, 500);
    // 19,990 runs of a: one frame, not 19,990; b's 50 ms is under a column (0.4 s) and a ran longer there.
    assert_eq!(span_names(&paths, main), [("main".into(), 0), ("a".into(), 1)]);
    assert!(chart.lanes.iter().map(|lane| lane.spans.len()).sum::<usize>() <= 500 * 2);
    assert!((chart.duration_s - 199.95).abs() < 0.1, "{}", chart.duration_s);
    assert_eq!(paths.timeline_chart(0).unwrap().columns, 1);
    assert!(CallPaths::default().timeline_chart(100).is_none());
}

#[test]
fn a_silence_in_the_timeline_is_a_gap_not_the_last_stack() {
    let mut builder = CallPathsBuilder::default();
    let a = builder.function("a", Place::Python(PathBuf::from("/p/app.py")));
    let frame = builder.frame(a, Some(1));
    builder.push(Weight::Cpu, vec![frame], 1.0);
    for t in [0.0, 0.01, 0.02, 5.0, 5.01] {
        builder.timeline(t, 0, 1, None);
    }
    let paths = builder.finish(0).unwrap();
    let chart = paths.timeline_chart(1000).unwrap();
    let spans = &chart.lanes[0].spans;
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert!(spans[0].end_s < 0.5 && spans[1].start_s > 4.9, "{spans:?}");
}
