#!/usr/bin/env python3
"""What does a suite run cost, and how well are its samples given to the tests?

On the fixture suite (fixtures/programs/pytest_suite: 30 tests burning known units of work, listed in
its expected.json), runs in rounds, the order inside a round rotating:
  (i)   plain pytest:  python -m pytest -q -p no:cacheprovider
  (ii)  bare Scalene:  python -m scalene run --cpu-only --use-virtual-time --cpu-sampling-rate 0.002 --program-path ROOT
                       -o OUT.json -m pytest --- -q -p no:cacheprovider   (the flags a suite run uses)
  (iii) scalene-lsp profile --mode cpu --json --tests -q
and reports the medians and the ratio (iii)/(ii) (goal <= 1.1) and (ii)/(i).

Attribution accuracy, from each (iii) run, against each test's known share (its units / all units):
  - its samples (Scalene's, placed in the tests by scalene-lsp): within 10 % or 2 samples (the goal), the
    largest error, the heavy tests (8+ units) within 10 %, and the ranking by samples;
  - its CPU seconds (the suite plugin's per-phase CPU clock: what the CLI, editors and MCP show): within
    10 %, within 10 % or 2 samples' worth, and the ranking by CPU seconds (tests with equal units excepted);
  - the cross-check with pytest's own clock: its samples against its share of the tests' wall time.
Suite runs sample on CPU time (`--use-virtual-time`), so samples follow CPU work even on a busy machine.
Run it once more with a core kept busy (`--hog`) to see that; `--mode memory` measures memory-mode suite runs.

    cargo build --release
    benches/suite_cost.py                    # 5 rounds
    benches/suite_cost.py --rounds 10 --binary target/debug/scalene-lsp

Standard library only.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUITE = ROOT / "fixtures/programs/pytest_suite"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5), after one warm-up round")
    parser.add_argument("--binary", default="target/release/scalene-lsp", help="scalene-lsp binary")
    parser.add_argument("--python", default=".venv/bin/python", help="interpreter with Scalene and pytest")
    parser.add_argument("--hog", action="store_true", help="keep one core busy (a Python loop) while measuring")
    parser.add_argument("--mode", choices=["cpu", "memory"], default="cpu", help="the suite run's mode (default cpu)")
    return parser.parse_args()


def timed(argv, ok_codes=(0, 1)):
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp)
        env.pop("VIRTUAL_ENV", None)
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=SUITE, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        seconds = time.perf_counter() - start
    if done.returncode not in ok_codes:
        sys.exit(f"{argv} exited with {done.returncode}:\n{done.stderr.decode()[-2000:]}")
    return seconds, done


def known_units():
    expected = json.loads((SUITE / "expected.json").read_text())
    units = {node: sum(phases.values()) for node, phases in expected["tests"].items()}
    light = expected["light"]
    for (node, count) in [(key, value) for key, value in light.items() if key != "call"]:
        for index in range(count):
            units[f"{node}[{index}]"] = light["call"]
    return units


def accuracy(tests, units):
    ran = [test for test in tests if test["node_id"] in units]
    in_tests = sum(test["total"]["samples"] for test in ran)
    total_units = sum(units[test["node_id"]] for test in ran)
    wall = sum(test["total"]["wall_s"] for test in ran)
    within = by_wall_within = heavy = heavy_within = cpu_within = cpu_within_slack = cpu_within_intervals = heavy_cpu_within = 0
    worst = worst_wall = worst_heavy = worst_cpu = 0.0
    in_tests_cpu = sum(test["total"]["cpu_s"] for test in ran)
    misses = []
    for test in ran:
        # CPU seconds (measured per phase by the suite plugin) against the known share, within 10 %.
        expected_cpu = units[test["node_id"]] / total_units * in_tests_cpu
        cpu_error = abs(test["total"]["cpu_s"] - expected_cpu) / max(expected_cpu, 1e-9)
        cpu_within += cpu_error <= 0.1
        # ... or within 2 samples' worth of CPU time, as the samples' rule allows.
        slack = 2 * in_tests_cpu / max(in_tests, 1)
        cpu_ok = abs(test["total"]["cpu_s"] - expected_cpu) <= max(0.1 * expected_cpu, slack)
        cpu_within_slack += cpu_ok
        if not cpu_ok:
            # Did Scalene's samples see the same (the work itself took more or less CPU) or not?
            expected_samples = units[test["node_id"]] / total_units * in_tests
            misses.append(f"{test['node_id'].split('::')[-1]} CPU {test['total']['cpu_s'] / expected_cpu - 1:+.0%}, "
                          f"samples {test['total']['samples'] / max(expected_samples, 1e-9) - 1:+.0%}")
        # ... or within 2 sampling intervals (4 ms: what 2 samples were worth on the wall-clock timer).
        cpu_within_intervals += abs(test["total"]["cpu_s"] - expected_cpu) <= max(0.1 * expected_cpu, 2 * 0.002)
        if units[test["node_id"]] >= 8:
            heavy_cpu_within += cpu_error <= 0.1
        worst_cpu = max(worst_cpu, cpu_error)
        samples = test["total"]["samples"]
        expected = units[test["node_id"]] / total_units * in_tests
        error = abs(samples - expected)
        ok = error <= max(0.1 * expected, 2)
        within += ok
        worst = max(worst, error / max(expected, 1e-9))
        if units[test["node_id"]] >= 8:
            heavy += 1
            heavy_within += ok
            worst_heavy = max(worst_heavy, error / max(expected, 1e-9))
        by_wall = test["total"]["wall_s"] / wall * in_tests
        by_wall_within += abs(samples - by_wall) <= max(0.1 * by_wall, 2)
        worst_wall = max(worst_wall, abs(samples - by_wall) / max(by_wall, 1e-9))
    # Ranking: every pair with different units is ordered by CPU seconds (the order users see) and by
    # samples as by units.
    pairs = wrong = wrong_by_samples = 0
    for a in ran:
        for b in ran:
            if units[a["node_id"]] > units[b["node_id"]]:
                pairs += 1
                wrong += a["total"]["cpu_s"] <= b["total"]["cpu_s"]
                wrong_by_samples += a["total"]["samples"] <= b["total"]["samples"]
    return {
        "tests": len(ran),
        "samples": in_tests,
        "within_goal": within,
        "heavy": heavy,
        "heavy_within_goal": heavy_within,
        "worst_heavy": worst_heavy,
        "worst_error": worst,
        "cpu_within_10": cpu_within,
        "cpu_within_goal": cpu_within_slack,
        "cpu_misses": misses,
        "cpu_within_4ms": cpu_within_intervals,
        "heavy_cpu_within_10": heavy_cpu_within,
        "misordered_by_samples": wrong_by_samples,
        "worst_cpu_error": worst_cpu,
        "within_goal_by_wall": by_wall_within,
        "worst_error_by_wall": worst_wall,
        "pairs": pairs,
        "misordered_pairs": wrong,
    }


def main():
    args = parse_args()
    python = str((ROOT / args.python).absolute()) if not os.path.isabs(args.python) else args.python
    binary = str((ROOT / args.binary).absolute()) if not os.path.isabs(args.binary) else args.binary
    commands = {
        "pytest": [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        "scalene": [python, "-m", "scalene", "run", "--cpu-only" if args.mode == "cpu" else "--memory", "--use-virtual-time", "--cpu-sampling-rate", "0.002", "--program-path", str(SUITE),
                    "-o", "OUT", "-m", "pytest", "---", "-q", "-p", "no:cacheprovider"],
        "scalene-lsp": [binary, "profile", "--mode", args.mode, "--json", "--python", python, "--tests", "-q"],
    }
    units = known_units()
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.hog else None
    try:
        measure(args, commands, units)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


def measure(args, commands, units):
    times = {name: [] for name in commands}
    checks = []
    names = list(commands)
    for round_index in range(args.rounds + 1):
        order = names[round_index % 3:] + names[: round_index % 3]
        for name in order:
            argv = commands[name]
            with tempfile.TemporaryDirectory() as out_dir:
                argv = [str(pathlib.Path(out_dir) / "out.json") if word == "OUT" else word for word in argv]
                seconds, done = timed(argv)
            if round_index == 0:
                continue
            times[name].append(seconds)
            if name == "scalene-lsp":
                checks.append(accuracy(json.loads(done.stdout)["tests"]["tests"], units))
        if round_index:
            print(f"round {round_index}: " + ", ".join(f"{name} {times[name][-1]:.2f} s" for name in names), file=sys.stderr)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"suite: {SUITE.relative_to(ROOT)} ({len(units)} tests with known work), {args.rounds} rounds, load {os.getloadavg()[0]:.1f}"
          + (", one core kept busy" if args.hog else "") + f", --mode {args.mode}")
    for name in names:
        print(f"  {name:12} median {medians[name]:.2f} s  (min {min(times[name]):.2f}, max {max(times[name]):.2f})")
    print(f"  scalene-lsp / bare scalene: {medians['scalene-lsp'] / medians['scalene']:.3f}  (goal <= 1.1)")
    print(f"  bare scalene / plain pytest: {medians['scalene'] / medians['pytest']:.2f}")
    print("attribution, per run: samples (Scalene's, placed in tests) | CPU seconds (the plugin's clock, what users see) | pytest's clock:")
    for check in checks:
        print(
            f"  samples: {check['within_goal']}/{check['tests']} within 10 % or 2 samples of the known share (worst {check['worst_error']:.0%}), "
            f"heavy {check['heavy_within_goal']}/{check['heavy']} within 10 % (worst {check['worst_heavy']:.0%}), "
            f"{check['misordered_by_samples']}/{check['pairs']} pairs misordered, {check['samples']:.0f} in tests | "
            f"CPU s: {check['cpu_within_10']}/{check['tests']} within 10 % (worst {check['worst_cpu_error']:.0%}), "
            f"{check['cpu_within_goal']}/{check['tests']} within 10 % or 2 samples' worth, {check['cpu_within_4ms']}/{check['tests']} within 10 % or 4 ms, heavy {check['heavy_cpu_within_10']}/{check['heavy']}, "
            f"{check['misordered_pairs']}/{check['pairs']} pairs misordered | "
            f"wall: {check['within_goal_by_wall']}/{check['tests']} (worst {check['worst_error_by_wall']:.0%})"
            + (f" | outside the goal: {'; '.join(check['cpu_misses'])}" if check["cpu_misses"] else "")
        )


if __name__ == "__main__":
    main()
