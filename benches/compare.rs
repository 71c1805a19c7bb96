//! The comparator against parsing the same profiles, on real Scalene 2.4.0 output: `big_file.json`
//! (5,000 active lines) against a copy with lines inserted at the top (every line number shifts, so
//! every line is matched through the diff), and `many_modules.json` (6 MB, 34 files) against itself.
//! The goal: comparing costs no more than parsing both profiles. See benches/README.md.
//!
//!     cargo bench --bench compare          # measure
//!     cargo test --benches                 # run each benchmark once, as a test

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use scalene_lsp::engine::profile::compare::{NoiseRule, Verdict, compare};
use scalene_lsp::engine::profile::model::Profile;
use scalene_lsp::engine::profile::parse::parse_profile;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/scalene/2.4.0");

fn read(name: &str) -> Vec<u8> {
    let path = Path::new(FIXTURES).join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// `profile` with `n` lines inserted at the top of every file (every line number moves down by `n`).
fn shifted(profile: &Profile, n: u32) -> Profile {
    let mut copy = profile.clone();
    for file in &mut copy.files {
        let inserted: String = (0..n).map(|i| format!("# inserted line {i}\n")).collect();
        file.source = format!("{inserted}{}", file.source).into();
        file.lines.iter_mut().for_each(|line| line.line += n);
        for function in &mut file.functions {
            function.line += n;
            function.end_line += n;
        }
    }
    copy
}

fn bench_pair(c: &mut Criterion, name: &str, before_bytes: &[u8], after_bytes: &[u8], after: impl Fn(Profile) -> Profile) {
    let before = parse_profile(before_bytes).expect("a real profile parses");
    let after = after(parse_profile(after_bytes).expect("a real profile parses"));
    let rule = NoiseRule::default();
    // The whole job: every active line compared and matched (nothing changed, nothing left out).
    let check = compare(&before, "before", &after, "after", &rule);
    let active: usize = before.files.iter().map(|file| file.lines.len()).sum();
    assert_eq!(check.lines.len(), active, "{name}: every active line is compared");
    assert!(check.lines.iter().all(|line| line.verdict == Verdict::Unchanged && line.before_line.is_some()), "{name}: all matched");

    let mut group = c.benchmark_group(format!("compare/{name}"));
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.sampling_mode(SamplingMode::Flat).sample_size(30);
    group.bench_function("parse_both", |b| {
        b.iter(|| (parse_profile(black_box(before_bytes)).unwrap(), parse_profile(black_box(after_bytes)).unwrap()))
    });
    group.bench_function("compare", |b| b.iter(|| compare(black_box(&before), "before", black_box(&after), "after", &rule)));
    group.finish();
}

fn compare_benches(c: &mut Criterion) {
    let big = read("big_file.json");
    bench_pair(c, "big_file_vs_shifted", &big, &big, |profile| shifted(&profile, 12));
    let many = read("many_modules.json");
    bench_pair(c, "many_modules_vs_itself", &many, &many, |profile| profile);
}

criterion_group!(benches, compare_benches);
criterion_main!(benches);
