#!/usr/bin/env bash
# Fuzzes parse_profile (fuzz_targets/parse.rs) with cargo-fuzz / libFuzzer.
#
#   fuzz/run.sh                 # 10 minutes, one job
#   FUZZ_TIME=60 fuzz/run.sh    # 1 minute
#   fuzz/run.sh -runs=0         # extra args go to libFuzzer (here: just replay the corpus)
#
# Seeds fuzz/corpus/parse/ from the captured fixtures (fixtures/scalene/*/*.json) on every run; the
# corpus is git-ignored. Fixtures up to MAX_LEN bytes are copied as they are; larger ones (most of
# the 2.4.0 set, and many_modules.json at 6 MB) would make every execution slow, so a small valid
# slice of every fixture (generated with python3's json, see below) is seeded as well.
# The fuzzing dictionary fuzz/parse.dict lists the Scalene keys. Crashes land in fuzz/artifacts/parse/.
# Only a stable toolchain is needed: RUSTC_BOOTSTRAP=1 unlocks the -Z flags cargo-fuzz passes.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

FUZZ_TIME="${FUZZ_TIME:-600}"
MAX_LEN="${MAX_LEN:-32768}"
corpus="fuzz/corpus/parse"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

mkdir -p "$corpus"
for fixture in fixtures/scalene/*/*.json; do
    size=$(wc -c <"$fixture")
    if [ "$size" -le "$MAX_LEN" ]; then
        version="$(basename "$(dirname "$fixture")")"
        cp "$fixture" "$corpus/seed-$version-$(basename "$fixture")"
    fi
done
# Small slices of every fixture (a few files, a few lines each, with their functions, leaks and
# samples), so libFuzzer also starts from complete, valid profiles well under MAX_LEN.
if command -v python3 >/dev/null; then
    python3 - "$corpus" fixtures/scalene/*/*.json <<'PY'
import json, os, sys
out_dir, fixtures = sys.argv[1], sys.argv[2:]
for path in fixtures:
    if os.path.basename(path) == "MANIFEST.json":
        continue
    with open(path) as f:
        profile = json.load(f)
    if not isinstance(profile, dict) or not isinstance(profile.get("files"), dict):
        continue
    def active(line):
        return any(v for k, v in line.items() if k.startswith("n_") and isinstance(v, (int, float)))
    files = {}
    for name in sorted(profile["files"])[:3]:
        entry = dict(profile["files"][name])
        lines = entry.get("lines", [])
        keep = [l for l in lines if active(l)][:6]
        defs = {l["lineno"] for l in keep} | {l.get("start_function_line") for l in keep}
        keep += [l for l in lines if l["lineno"] in defs and l not in keep][:3]
        for line in keep:
            if isinstance(line.get("memory_samples"), list):
                line["memory_samples"] = line["memory_samples"][:4]
        entry["lines"] = sorted(keep, key=lambda l: l["lineno"])
        entry["functions"] = entry.get("functions", [])[:3]
        files[name] = entry
    profile["files"] = files
    if isinstance(profile.get("samples"), list):
        profile["samples"] = profile["samples"][:6]
    version = os.path.basename(os.path.dirname(path))
    name = os.path.splitext(os.path.basename(path))[0]
    with open(os.path.join(out_dir, f"seed-{version}-{name}-slice.json"), "w") as f:
        json.dump(profile, f, separators=(",", ":"))
PY
fi

RUSTC_BOOTSTRAP=1 exec cargo fuzz run parse "$corpus" -- \
    -dict=fuzz/parse.dict \
    -max_len="$MAX_LEN" \
    -max_total_time="$FUZZ_TIME" \
    -print_final_stats=1 \
    "$@"
