//! `parse_profile` against a plain `serde_json::Value` parse of the same bytes, on real Scalene 2.4.0
//! output: `many_modules.json` (6 MB, the largest fixture) and the largest of the other 2.4.0 fixtures.
//! The goal is `parse_profile` no slower than 2x the `Value` parse. With Scalene's stacks (call paths):
//! `many_modules_stacks.json` (the same program with stacks) and `recursion.json` (stacks 421 frames
//! deep, most of its bytes), goal no slower than the `Value` parse. See benches/README.md.
//!
//!     cargo bench --bench parse            # measure (about a minute)
//!     cargo test --benches                 # run each benchmark once, as a test

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use scalene_lsp::engine::profile::parse::parse_profile;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/scalene/2.4.0");
const BIG: &str = "many_modules.json";
/// Fixtures captured with Scalene's stacks.
const STACKED: [&str; 2] = ["many_modules_stacks.json", "recursion.json"];

/// The largest profile fixture in the 2.4.0 set other than `many_modules.json`.
fn largest_other_fixture() -> PathBuf {
    std::fs::read_dir(FIXTURES)
        .unwrap_or_else(|err| panic!("cannot list {FIXTURES}: {err}"))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
            name.ends_with(".json") && name != BIG && name != "MANIFEST.json" && !STACKED.contains(&name)
        })
        .max_by_key(|path| std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0))
        .expect("fixtures/scalene/2.4.0 has profile fixtures")
}

fn bench_fixture(c: &mut Criterion, path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let name = path.file_stem().and_then(|stem| stem.to_str()).expect("UTF-8 fixture name");
    // Both sides must do the whole job: a fixture either one rejects would time an early error.
    parse_profile(&bytes).unwrap_or_else(|err| panic!("parse_profile rejects {}: {err}", path.display()));
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .unwrap_or_else(|err| panic!("serde_json rejects {}: {err}", path.display()));

    let mut group = c.benchmark_group(format!("parse/{name}"));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    if bytes.len() > 1 << 20 {
        // Tens of milliseconds per iteration: flat sampling keeps the run near measurement_time.
        group.sampling_mode(SamplingMode::Flat).sample_size(30);
    }
    group.bench_function("parse_profile", |b| b.iter(|| parse_profile(black_box(&bytes))));
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&bytes)))
    });
    group.finish();
}

fn parse_benches(c: &mut Criterion) {
    bench_fixture(c, &Path::new(FIXTURES).join(BIG));
    bench_fixture(c, &largest_other_fixture());
    for name in STACKED {
        bench_fixture(c, &Path::new(FIXTURES).join(name));
    }
}

criterion_group!(benches, parse_benches);
criterion_main!(benches);
