//! Line remapping after an edit (`LineMap::new`, what every hint, hover and lens of an edited document
//! goes through once per version): a typical edit (3 lines inserted at the top of a 20,000-line file)
//! and the worst case, every other line rewritten (20,000 and 200,000 lines), which the diff budget
//! (`remap::DIFF_BUDGET`) cuts short. See benches/README.md.
//!
//!     cargo bench --bench remap          # measure
//!     cargo test --benches               # run each benchmark once, as a test

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use scalene_lsp::engine::profile::remap::LineMap;

fn numbered(n: usize, line: impl Fn(usize) -> String) -> String {
    (0..n).map(|i| line(i) + "\n").collect()
}

fn remap(c: &mut Criterion) {
    let mut group = c.benchmark_group("remap");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let code = |i: usize| format!("    total += compute_{i}(values[{i}])  # step {i}");
    let base = numbered(20_000, code);
    let inserted = format!("import os\nimport sys\n\n{base}");
    group.bench_function("insert_3_lines_20k", |b| {
        b.iter(|| black_box(LineMap::new(&base, &inserted)))
    });
    for n in [20_000, 200_000] {
        let old = numbered(n, code);
        let new = numbered(n, |i| {
            if i % 2 == 0 {
                code(i)
            } else {
                format!("    total -= other_{i}()")
            }
        });
        group.bench_function(format!("rewrite_every_other_line_{}k", n / 1000), |b| {
            b.iter(|| black_box(LineMap::new(&old, &new)))
        });
    }
    group.finish();
}

criterion_group!(benches, remap);
criterion_main!(benches);
