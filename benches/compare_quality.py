#!/usr/bin/env python3
"""How trustworthy is `scalene-lsp compare`? False alarms on unchanged code, detection of real changes.

Generates a small two-module program (a hot loop, string building, an allocation loop, a helper module,
a near-noise function) and changed variants of it, profiles them with the real binary and real Scalene
(`scalene-lsp profile --json`), interleaved round-robin so that drift on the machine hits every variant
alike, compares pairs with `scalene-lsp compare --json --fail-on regressed BEFORE AFTER` and prints the
rates next to the goals of issue 14 ("Benchmark").

    cargo build --release                                   # once; this script builds nothing
    benches/compare_quality.py --rejudge cq.json            # the same pairs, compared again (needs --keep)
    benches/compare_quality.py --rounds 2 --repeat-rounds 0 --load quiet --modes cpu    # smoke, ~2 min
    benches/compare_quality.py --load both --modes cpu,memory --rounds 8 --repeat-rounds 3 --out cq.json

Variants (every one is written to the SAME path, work/main.py + work/helper.py, before each run, because
comparisons pair files by path and by program name):
  base     hot_loop(6M), build_strings(2M), allocate(30 x 1 MB), helper.crunch(6M), tiny(100k)
  slow15 / slow2 / slow5   hot_loop does 1.5x / 2x / 5x the work
  fast2    build_strings does half the work
  alloc5   allocate allocates 5x the MB (150 MB)
  moved    build_strings moved above hot_loop, nothing else changed
Every changed variant (not `moved`) has 3 lines inserted at the top, so all line numbers shift by 3.

Scenarios: per load (`quiet`, `hog` = one `python3 -c "while True: pass"` process for the scenario,
always killed at its end) and mode (`cpu`, `memory`): `--rounds N` single runs of each variant (two
base runs per round), then `--repeat-rounds M` rounds of `--repeat 3` profiles (two base ones, and in
cpu mode one slow15).

Measures (a thing is "named" when its verdict is not `unchanged`; files and the whole-run elapsed time
and peak do not count as named, the CI gate counts everything that makes `--fail-on regressed` exit 5):
  unchanged single      every pair of distinct single base runs (earlier run as BEFORE): nothing named
  unchanged repeat      every pair of distinct `--repeat 3` base profiles
  repeat vs single      every `--repeat 3` base profile (BEFORE) against every single base run (AFTER)
  CI gate               share of those unchanged pairs where `--fail-on regressed` exited 5
  moved                 each moved run against the two base runs of its round: nothing named
  slow2 / slow5 / slow15  each run against the two base runs of its round: hot_loop regressed AND a line
                        of hot_loop (its after_line inside hot_loop in the variant's text) regressed
  slow15 repeat         each `--repeat 3` slow15 against the `--repeat 3` base profiles of its round
  fast2                 build_strings improved
  alloc5 (memory mode)  allocate regressed on memory AND its allocating line (the bytearray line, new
                        line number) regressed on memory
Other things named in a detection pair are listed as "also named" (not a failure of that measure).

Standard library only. The pairs of one set share runs (all pairs of N base runs), so they are not
independent: read k/n as a rate over correlated trials, not as N independent coin flips.
"""
import argparse
import ast
import itertools
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

HEADER = '"""Benchmark program for comparison quality: a hot loop, string building, an allocation loop, a helper module."""\n'
BASE = HEADER + '''import helper


def hot_loop(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def build_strings(n):
    parts = []
    for i in range(n):
        parts.append(str(i) * 3)
    return len("".join(parts))


def allocate(mb):
    kept = []
    for _ in range(mb):
        kept.append(bytearray(1 << 20))
    total = sum(len(block) for block in kept)
    return total


def tiny(n):
    total = 0
    for i in range(n):
        total += i
    return total


def main():
    print(hot_loop(6_000_000))
    print(build_strings(2_000_000))
    print(allocate(30))
    print(helper.crunch(6_000_000))
    print(tiny(100_000))


if __name__ == "__main__":
    main()
'''
HELPER = '''"""The helper module."""


def crunch(n):
    acc = 0.0
    for i in range(n):
        acc += (i % 13) * 0.5
    return acc
'''

HOT = "for i in range(n):\n        total += i * i % 7"
STRINGS = "for i in range(n):\n        parts.append"
ALLOC_LINE = "kept.append(bytearray(1 << 20))"


def variant(name):
    s = BASE
    edits = {
        "slow15": (HOT, HOT.replace("range(n)", "range(n * 3 // 2)")),
        "slow2": (HOT, HOT.replace("range(n)", "range(n * 2)")),
        "slow5": (HOT, HOT.replace("range(n)", "range(n * 5)")),
        "fast2": (STRINGS, STRINGS.replace("range(n)", "range(n // 2)")),
        "alloc5": ("for _ in range(mb):", "for _ in range(mb * 5):"),
    }
    if name in edits:
        old, new = edits[name]
        assert s.count(old) == 1, name
        s = s.replace(old, new)
        s = s.replace(HEADER, HEADER + f"# changed: {name}\n# (three lines inserted above every function)\nimport os  # noqa\n")
    elif name == "moved":
        block = s[s.index("def build_strings(n):"):s.index("def allocate(mb):")]
        s = s.replace(block, "")
        s = s.replace("def hot_loop(n):", block + "def hot_loop(n):")
    else:
        assert name == "base", name
    assert s != BASE or name == "base"
    return s


def function_ranges(text):
    """name -> (def line, last line) of each top-level function."""
    return {node.name: (node.lineno, node.end_lineno) for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)}


def line_of(text, needle):
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, needle
    return hits[0]


SINGLE = {"cpu": ["base", "slow2", "fast2", "slow15", "base", "slow5", "moved"],
          "memory": ["base", "alloc5", "base", "moved"]}
REPEAT = {"cpu": ["base", "slow15", "base"], "memory": ["base", "base"]}

# (measure, variant, what must be named, goal percent or None)
DETECT = {"cpu": [("slow2", 95), ("slow5", None), ("slow15", None), ("fast2", 90)], "memory": [("alloc5", 95)]}
UNCHANGED_GOAL = 98
results_notes = []
GATE_GOAL_MAX = 2


def run_group(cmd, cwd=None, timeout=None):
    """subprocess.run in its own process group; on timeout, Ctrl-C or SIGTERM the whole group (the
    profiler's Python child too) is killed."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


class Runner:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.prog = work / "prog"
        self.prog.mkdir(parents=True, exist_ok=True)
        (self.prog / "helper.py").write_text(HELPER)
        self.texts = {v: variant(v) for v in ["base", "slow15", "slow2", "slow5", "fast2", "alloc5", "moved"]}
        self.profiles = []  # dicts
        self.n_profiles = 0

    def profile(self, load, mode, variant_name, repeat, index):
        (self.prog / "main.py").write_text(self.texts[variant_name])
        out = self.work / "profiles" / f"{load}-{mode}-{variant_name}-{'r3' if repeat else 'r1'}-{index:03d}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [self.args.bin, "profile", "--json", "--mode", mode, "--python", self.args.python]
        if repeat:
            cmd += ["--repeat", "3"]
        cmd.append(str(self.prog / "main.py"))
        t0 = time.perf_counter()
        try:
            proc = run_group(cmd, cwd=self.prog, timeout=900)
        except subprocess.TimeoutExpired:
            proc = subprocess.CompletedProcess(cmd, -9, b"", b"timed out after 900 s")
        took = time.perf_counter() - t0
        rec = {"load": load, "mode": mode, "variant": variant_name, "repeat": 3 if repeat else 1, "index": index,
               "file": str(out), "rc": proc.returncode, "wall_s": round(took, 3), "ok": False}
        try:
            data = json.loads(proc.stdout)
            out.write_bytes(proc.stdout)
            rec["elapsed_s"] = data.get("elapsed_s")
            rec["status"] = data.get("status")
            rec["ok"] = proc.returncode == 0 and data.get("status") == "ok"
        except ValueError:
            rec["stderr"] = proc.stderr.decode(errors="replace")[-500:]
        if not rec["ok"]:
            print(f"  profile FAILED: {variant_name} rc={proc.returncode} {proc.stderr.decode(errors='replace')[-300:]}", flush=True)
        self.n_profiles += 1
        self.profiles.append(rec)
        return rec

    def compare(self, before, after):
        cmd = [self.args.bin, "compare", "--json", "--fail-on", "regressed", before["file"], after["file"]]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        try:
            return proc.returncode, json.loads(proc.stdout), proc.stdout
        except ValueError:
            return proc.returncode, None, proc.stderr


def base_name(path):
    return os.path.basename(path or "")


def named(cmp):
    """Functions and lines whose verdict is not unchanged."""
    funcs = [f for f in cmp.get("functions", []) if f.get("verdict") != "unchanged"]
    lines = [l for l in cmp.get("lines", []) if l.get("verdict") != "unchanged"]
    return funcs, lines


def describe(cmp, funcs, lines):
    """Short evidence: names and the CPU test's numbers."""
    items = []
    mf = (cmp.get("rule") or {}).get("machine_factor")
    for f in funcs:
        t = f.get("cpu_test") or {}
        items.append({"kind": "function", "name": f.get("name"), "file": base_name(f.get("path")), "after_line": f.get("after_line"),
                      "verdict": f.get("verdict"), "cpu": f.get("cpu"), "memory": f.get("memory"),
                      "cpu_s": [(f.get("before") or {}).get("cpu_s"), (f.get("after") or {}).get("cpu_s")],
                      "alloc_mb": [(f.get("before") or {}).get("alloc_mb"), (f.get("after") or {}).get("alloc_mb")],
                      "ratio": t.get("ratio"), "p_value": t.get("p_value"), "detectable_percent": t.get("detectable_percent"),
                      "samples": t.get("samples"), "machine_factor": mf})
    for l in lines:
        t = l.get("cpu_test") or {}
        items.append({"kind": "line", "name": l.get("function"), "file": base_name(l.get("path")), "after_line": l.get("after_line"),
                      "verdict": l.get("verdict"), "cpu": l.get("cpu"), "memory": l.get("memory"),
                      "ratio": t.get("ratio"), "p_value": t.get("p_value"), "detectable_percent": t.get("detectable_percent"),
                      "samples": t.get("samples"), "machine_factor": mf})
    return items


def label(items):
    """e.g. ['crunch (fn regressed)', 'helper.py:6 regressed']"""
    out = []
    for it in items:
        if it["kind"] == "function":
            out.append(f"{it['name']}() {it['verdict']}")
        else:
            out.append(f"{it['file']}:{it['after_line']} {it['verdict']}")
    return out


def judge_detect(measure, cmp, text):
    """(passed, named-but-unexpected items) for a detection pair."""
    funcs, lines = named(cmp)
    ranges = function_ranges(text)
    if measure in ("slow2", "slow5", "slow15"):
        fn, want = "hot_loop", "regressed"
        lo, hi = ranges[fn]
        f_ok = any(f.get("name") == fn and f.get("cpu") == want for f in funcs)
        l_ok = any(base_name(l.get("path")) == "main.py" and lo <= (l.get("after_line") or 0) <= hi and l.get("cpu") == want for l in lines)
    elif measure == "fast2":
        fn, want = "build_strings", "improved"
        lo, hi = ranges[fn]
        f_ok = any(f.get("name") == fn and f.get("cpu") == want for f in funcs)
        l_ok = True
    elif measure == "alloc5":
        fn, want = "allocate", "regressed"
        lo, hi = ranges[fn]
        at = line_of(text, ALLOC_LINE)
        f_ok = any(f.get("name") == fn and f.get("memory") == want for f in funcs)
        l_ok = any(base_name(l.get("path")) == "main.py" and l.get("after_line") == at and l.get("memory") == want for l in lines)
    else:
        raise ValueError(measure)
    extra_f = [f for f in funcs if f.get("name") != fn]
    extra_l = [l for l in lines if not (base_name(l.get("path")) == "main.py" and lo <= (l.get("after_line") or 0) <= hi)]
    return f_ok and l_ok, {"function": f_ok, "line": l_ok}, extra_f, extra_l


def unchanged_rows(runner, pairs, save):
    """Compares each (before, after) pair of unchanged profiles; a row per pair."""
    rows = []
    for before, after in pairs:
        rc, cmp, raw = runner.compare(before, after)
        if cmp is None:
            rows.append({"before": before["file"], "after": after["file"], "rc": rc, "error": raw.decode(errors="replace")[-300:], "pass": False, "gate_fail": False})
            continue
        funcs, lines = named(cmp)
        ok = not funcs and not lines
        row = {"before": before["file"], "after": after["file"], "rc": rc, "pass": ok, "gate_fail": rc == 5,
               "summary": cmp.get("summary", {}).get("verdict"), "machine_factor": cmp.get("rule", {}).get("machine_factor")}
        if not ok or rc == 5:
            row["named"] = describe(cmp, funcs, lines)
            row["overall"] = {k: (v or {}).get("verdict") for k, v in (cmp.get("overall") or {}).items()}
            row["files_named"] = [base_name(f.get("path")) + " " + f.get("verdict", "") for f in cmp.get("files", []) if f.get("verdict") != "unchanged"]
            row["saved"] = save(before, after, raw)
        rows.append(row)
    return rows


def detect_rows(runner, measure, pairs, text, save):
    """Compares each (base, changed) pair; a row per pair, passing when the change is named where it is."""
    rows = []
    for before, after in pairs:
        rc, cmp, raw = runner.compare(before, after)
        if cmp is None:
            rows.append({"before": before["file"], "after": after["file"], "rc": rc, "error": raw.decode(errors="replace")[-300:], "pass": False})
            continue
        ok, parts, extra_f, extra_l = judge_detect(measure.split()[0], cmp, text)
        row = {"before": before["file"], "after": after["file"], "rc": rc, "pass": ok, "parts": parts,
               "machine_factor": cmp.get("rule", {}).get("machine_factor")}
        fn = {"slow2": "hot_loop", "slow5": "hot_loop", "slow15": "hot_loop", "fast2": "build_strings", "alloc5": "allocate"}[measure.split()[0]]
        target = [f for f in cmp.get("functions", []) if f.get("name") == fn]
        row["target"] = describe(cmp, target, [])
        if extra_f or extra_l:
            row["also_named"] = describe(cmp, extra_f, extra_l)
        if not ok:
            tl = [l for l in cmp.get("lines", []) if l.get("function") == fn]
            row["target_lines"] = describe(cmp, [], tl)
            row["saved"] = save(before, after, raw)
        rows.append(row)
    return rows


def rejudge(args, raw_path):
    """Compares the pairs of an earlier --out file again with this binary, on its kept profiles."""
    old = json.loads(pathlib.Path(raw_path).read_text())
    runner = Runner.__new__(Runner)
    runner.args = args
    results = []
    for res in old["results"]:
        pairs = [({"file": p["before"]}, {"file": p["after"]}) for p in res["pairs"]]
        missing = [f for pair in pairs for f in (pair[0]["file"], pair[1]["file"]) if not os.path.exists(f)]
        if missing:
            sys.exit(f"{missing[0]} is gone: --rejudge needs the profiles kept by the earlier run's --keep")
        if res["kind"] == "unchanged":
            rows = unchanged_rows(runner, pairs, lambda b, a, raw: None)
        else:
            rows = detect_rows(runner, res["measure"], pairs, variant(res["measure"].split()[0]), lambda b, a, raw: None)
        results.append({**res, "pairs": rows})
    return old, results


def run_scenario(runner, load, mode, results, args, fail_dir, budget_s=None):
    """Profiles, then compares. With a time budget, single runs stop at 65 % of it (all of it when no
    repeat rounds), repeat rounds at 100 %; the pairs are formed from whatever was profiled."""
    t_start = time.perf_counter()
    single_cut = None if budget_s is None else t_start + budget_s * (0.65 if args.repeat_rounds else 1.0)
    repeat_cut = None if budget_s is None else t_start + budget_s
    print(f"== {load} / {mode}: {args.rounds} rounds of {len(SINGLE[mode])} single runs, "
          f"{args.repeat_rounds} rounds of {len(REPEAT[mode])} --repeat 3 profiles", flush=True)
    singles = {}   # variant -> list of (round, rec)
    repeats = {}
    idx = 0
    for r in range(args.rounds):
        if single_cut is not None and r > 0 and time.perf_counter() > single_cut:
            print(f"  time budget: single runs stop after {r} rounds", flush=True)
            results_notes.append(f"{load}/{mode}: single runs stopped after {r} of {args.rounds} rounds (time budget)")
            break
        order = SINGLE[mode]
        # rotate the changed variants each round so none always follows the same one
        changed = [v for v in order if v != "base"]
        k = r % len(changed)
        changed = changed[k:] + changed[:k]
        it = iter(changed)
        order = [v if v == "base" else next(it) for v in order]
        for v in order:
            rec = runner.profile(load, mode, v, False, idx)
            idx += 1
            if rec["ok"]:
                singles.setdefault(v, []).append((r, rec))
        print(f"  round {r + 1}/{args.rounds} done {time.strftime('%H:%M:%S')} "
              f"(last base {singles.get('base', [(0, {})])[-1][1].get('elapsed_s', 0) or 0:.2f} s)", flush=True)
    for r in range(args.repeat_rounds):
        if repeat_cut is not None and r > 0 and time.perf_counter() > repeat_cut:
            print(f"  time budget: repeat profiles stop after {r} rounds", flush=True)
            results_notes.append(f"{load}/{mode}: repeat rounds stopped after {r} of {args.repeat_rounds} (time budget)")
            break
        for v in REPEAT[mode]:
            rec = runner.profile(load, mode, v, True, idx)
            idx += 1
            if rec["ok"]:
                repeats.setdefault(v, []).append((r, rec))
        print(f"  repeat round {r + 1}/{args.repeat_rounds} done {time.strftime('%H:%M:%S')}", flush=True)

    saved = {}

    def save_failure(measure, before, after, raw):
        if not fail_dir or saved.get(measure, 0) >= args.save_failures:
            return None
        saved[measure] = saved.get(measure, 0) + 1
        fail_dir.mkdir(parents=True, exist_ok=True)
        name = f"{load}-{mode}-{measure.replace(' ', '_')}-{saved[measure]}.json"
        (fail_dir / name).write_bytes(raw)
        return str(fail_dir / name)

    def unchanged(measure, pairs):
        rows = unchanged_rows(runner, pairs, lambda b, a, raw: save_failure(measure, b, a, raw))
        results.append({"load": load, "mode": mode, "measure": measure, "kind": "unchanged", "goal": UNCHANGED_GOAL, "pairs": rows})

    def detect(measure, pairs, goal, text):
        rows = detect_rows(runner, measure, pairs, text, lambda b, a, raw: save_failure(measure, b, a, raw))
        results.append({"load": load, "mode": mode, "measure": measure, "kind": "detect", "goal": goal, "pairs": rows})

    base = [rec for _, rec in singles.get("base", [])]
    unchanged("unchanged single", list(itertools.combinations(base, 2)))
    rbase = [rec for _, rec in repeats.get("base", [])]
    if rbase:
        unchanged("unchanged repeat 3", list(itertools.combinations(rbase, 2)))
        unchanged("repeat 3 vs single", [(a, b) for a in rbase for b in base])
    same_round = lambda pool, r: [rec for rr, rec in pool if rr == r]
    moved_pairs = [(b, rec) for r, rec in singles.get("moved", []) for b in same_round(singles.get("base", []), r)]
    unchanged("moved", moved_pairs)
    for v, goal in DETECT[mode]:
        pairs = [(b, rec) for r, rec in singles.get(v, []) for b in same_round(singles.get("base", []), r)]
        if pairs:
            detect(v, pairs, goal, runner.texts[v])
    if mode == "cpu" and repeats.get("slow15"):
        pairs = [(b, rec) for r, rec in repeats["slow15"] for b in same_round(repeats.get("base", []), r)]
        detect("slow15 repeat 3", pairs, 90, runner.texts["slow15"])


def pct(k, n):
    return f"{100.0 * k / n:.1f} %" if n else "n/a"


def summarize(results):
    rows = []
    for res in results:
        pairs = res["pairs"]
        n = len(pairs)
        k = sum(1 for p in pairs if p["pass"])
        goal = res["goal"]
        status = "" if goal is None or not n else ("PASS" if 100.0 * k / n >= goal else "MISS")
        goal_s = f">= {goal} %" if goal is not None else "(info)"
        rows.append((res["load"], res["mode"], res["measure"] + (" (nothing named)" if res["kind"] == "unchanged" else ""), k, n, goal_s, status))
        if res["kind"] == "unchanged" and res["measure"] != "moved":
            g = sum(1 for p in pairs if p.get("gate_fail"))
            status = "" if not n else ("PASS" if 100.0 * g / n <= GATE_GOAL_MAX else "MISS")
            rows.append((res["load"], res["mode"], "CI gate exits 5: " + res["measure"], g, n, f"<= {GATE_GOAL_MAX} %", status))
    return rows


def markdown(rows):
    out = ["| load | mode | measure | k/n | rate | goal | |", "|---|---|---|---:|---:|---|---|"]
    for load, mode, measure, k, n, goal, status in rows:
        out.append(f"| {load} | {mode} | {measure} | {k}/{n} | {pct(k, n)} | {goal} | {status} |")
    return "\n".join(out)


def failure_lines(results, limit):
    """Brief: which wrong things were named (or which expected thing was missing)."""
    out = []
    for res in results:
        counts = {}
        for p in res["pairs"]:
            if res["kind"] == "unchanged" and (not p["pass"] or p.get("gate_fail")):
                names = label(p.get("named", [])) or (["(only " + ", ".join(p.get("files_named", [])) + " / overall " + json.dumps(p.get("overall")) + ")"])
                for nm in names:
                    counts[nm] = counts.get(nm, 0) + 1
            elif res["kind"] == "detect":
                if not p["pass"]:
                    miss = [k for k, v in p.get("parts", {}).items() if not v] or ["error"]
                    counts["missed " + "+".join(miss)] = counts.get("missed " + "+".join(miss), 0) + 1
                for nm in label(p.get("also_named", [])):
                    counts["also named " + nm] = counts.get("also named " + nm, 0) + 1
        if counts:
            top = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
            out.append(f"- {res['load']}/{res['mode']} {res['measure']}: " + "; ".join(f"{k} x{v}" for k, v in top))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--bin", default=str(ROOT / "target/release/scalene-lsp"), help="scalene-lsp binary (default target/release/scalene-lsp)")
    parser.add_argument("--python", default=str(ROOT / ".venv/bin/python"), help="interpreter with Scalene (default .venv/bin/python)")
    parser.add_argument("--load", choices=["quiet", "hog", "both"], default="both")
    parser.add_argument("--modes", default="cpu,memory", help="comma-separated: cpu, memory")
    parser.add_argument("--rounds", type=int, default=8, help="single runs per variant per scenario (base: 2 per round)")
    parser.add_argument("--repeat-rounds", type=int, default=3, help="rounds of --repeat 3 profiles per scenario (0 skips)")
    parser.add_argument("--out", help="write the raw results (every profile and pair) as JSON here")
    parser.add_argument("--save-failures", type=int, default=3, metavar="N", help="keep up to N failing comparison JSONs per measure (with --fail-dir)")
    parser.add_argument("--fail-dir", help="folder for failing comparison JSONs (e.g. /tmp/cq_fail)")
    parser.add_argument("--budget-minutes", type=float, help="stop starting profiles when a scenario has used its share of this many minutes (rates come from what was profiled)")
    parser.add_argument("--keep", help="keep the generated program and profiles in this folder (default: a temp dir, removed)")
    parser.add_argument("--rejudge", metavar="RAW.json", help="profile nothing: compare the pairs of an earlier --out file again with --bin, on the profiles its --keep kept (for tuning the statistics)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in SINGLE:
            parser.error(f"unknown mode {m!r}")
    loads = ["quiet", "hog"] if args.load == "both" else [args.load]
    if not os.access(args.bin, os.X_OK):
        parser.error(f"{args.bin} is not an executable: cargo build --release (or pass --bin)")
    args.bin = str(pathlib.Path(args.bin).resolve())
    if args.rejudge:
        started = time.perf_counter()
        old, results = rejudge(args, args.rejudge)
        print(f"## compare_quality --rejudge {args.rejudge} (profiled {old['date']} at commit {old['commit']}), binary {args.bin}")
        print()
        print(markdown(summarize(results)))
        fl = failure_lines(results, 6)
        if fl:
            print()
            print("Named in failures (count of pairs):")
            print("\n".join(fl))
        print(f"\n{sum(len(r['pairs']) for r in results)} comparisons, elapsed {time.perf_counter() - started:.0f} s")
        if args.out:
            pathlib.Path(args.out).write_text(json.dumps({**old, "rejudged": {"bin": args.bin, "date": time.strftime("%Y-%m-%dT%H:%M:%S")}, "results": results}, indent=1))
        return

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    started = time.perf_counter()
    work = pathlib.Path(args.keep).resolve() if args.keep else pathlib.Path(tempfile.mkdtemp(prefix="compare_quality-"))
    work.mkdir(parents=True, exist_ok=True)
    fail_dir = pathlib.Path(args.fail_dir) if args.fail_dir else None
    runner = Runner(args, work)
    results = []
    load_notes = {}
    hog = None
    scenario_no = 0
    try:
        for load in loads:
            try:
                if load == "hog":
                    hog = subprocess.Popen([sys.executable if not shutil.which("python3") else "python3", "-c", "while True: pass"])
                    print(f"hog started: pid {hog.pid}", flush=True)
                load_notes[load] = {"loadavg_start": os.getloadavg()}
                for mode in modes:
                    budget = None
                    if args.budget_minutes:
                        left = args.budget_minutes * 60 - (time.perf_counter() - started)
                        scenarios_left = len(loads) * len(modes) - scenario_no
                        budget = max(0.0, left) / scenarios_left
                    scenario_no += 1
                    run_scenario(runner, load, mode, results, args, fail_dir, budget)
                load_notes[load]["loadavg_end"] = os.getloadavg()
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
                    print(f"hog stopped: pid {hog.pid}", flush=True)
                    hog = None
    except KeyboardInterrupt:
        print("interrupted: reporting what was measured", file=sys.stderr)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    elapsed = time.perf_counter() - started
    rows = summarize(results)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    print()
    print(f"## compare_quality: {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, commit {commit}, binary {args.bin}")
    print("command: " + " ".join(["benches/compare_quality.py"] + sys.argv[1:]))
    for load, note in load_notes.items():
        print(f"load average ({load}): start {', '.join(f'{x:.1f}' for x in note['loadavg_start'])}"
              + (f"; end {', '.join(f'{x:.1f}' for x in note['loadavg_end'])}" if "loadavg_end" in note else ""))
    walls = [p["elapsed_s"] for p in runner.profiles if p.get("ok") and p["variant"] == "base" and p["repeat"] == 1 and p["mode"] == "cpu"]
    if walls:
        walls.sort()
        print(f"base program elapsed (cpu mode, single runs): {walls[0]:.2f}-{walls[-1]:.2f} s, median {walls[len(walls) // 2]:.2f} s")
    print()
    print(markdown(rows))
    for note in results_notes:
        print("note: " + note)
    fl = failure_lines(results, 6)
    if fl:
        print()
        print("Named in failures (count of pairs):")
        print("\n".join(fl))
    print()
    print(f"{runner.n_profiles} profiles, {sum(len(r['pairs']) for r in results)} comparisons, elapsed {elapsed / 60:.1f} min ({elapsed:.0f} s)")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps({
            "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "argv": sys.argv[1:], "bin": args.bin, "commit": commit,
            "elapsed_s": elapsed, "load": load_notes, "notes": results_notes, "profiles": runner.profiles,
            "table": [dict(zip(["load", "mode", "measure", "k", "n", "goal", "status"], r)) for r in rows],
            "results": results}, indent=1))
        print(f"raw results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
