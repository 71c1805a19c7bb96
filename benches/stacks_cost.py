#!/usr/bin/env python3
"""What do Scalene's stacks cost a run? (issue 17: "run wall time with stacks against without", goal
<= 1.05x.)

For each program (default `fixtures/programs/cpu_bound.py` and `fixtures/programs/multi_module/main.py`)
and mode, runs bare Scalene in pairs, once with `--no-stacks` (what scalene-lsp ran before call paths)
and once without (Scalene's default, recording `combined_stacks`), the order alternating inside each
pair, one warm-up pair not counted. Prints per program the ratio median(with) / median(without), the
median of the per-pair ratios, and the JSON sizes.

    .venv/bin/python -m scalene --version          # prerequisite: scripts/setup-python
    benches/stacks_cost.py                         # 8 pairs per program and mode
    benches/stacks_cost.py --pairs 12 --modes cpu
    benches/stacks_cost.py --modes cpu --work 1 --work 4 --work 16   # the same programs run 1, 4, 16 times

`--work K` runs the program K times in one Scalene run (a driver beside a copy of the program's
folder, so the same files are profiled): it separates what stacks cost once per run from what they
cost per sample.

Standard library only.
"""
import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


DRIVER = """import runpy, sys
for _ in range({work}):
    runpy.run_path({program!r}, run_name="__main__")
"""


def target(program, work, tmp):
    """The script Scalene runs: the program itself, or a driver running a copy of it `work` times."""
    source = ROOT / program
    if work == 1:
        return source
    folder = pathlib.Path(tmp) / "program"
    shutil.copytree(source.parent, folder, ignore=shutil.ignore_patterns("__pycache__"))
    driver = folder / "_stacks_cost_driver.py"
    driver.write_text(DRIVER.format(work=work, program=str(folder / source.name)))
    return driver


def run(python, program, mode, stacks, work=1, rate=None):
    with tempfile.TemporaryDirectory(prefix="stacks-cost-") as tmp:
        out = pathlib.Path(tmp) / "profile.json"
        flags = ["--cpu-only"] if mode == "cpu" else ["--memory"]
        if rate:
            flags += ["--cpu-sampling-rate", str(rate)]
        script = target(program, work, tmp)
        argv = [python, "-m", "scalene", "run", *([] if stacks else ["--no-stacks"]), "-o", str(out), *flags,
                str(script), "---"]
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=script.parent, env=dict(os.environ, TMPDIR=tmp),
                              stdin=subprocess.DEVNULL, capture_output=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0 or not out.exists():
            sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")
        return seconds, out.stat().st_size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--python", default=str(ROOT / ".venv/bin/python"))
    parser.add_argument("--modes", default="cpu,memory")
    parser.add_argument("--program", action="append")
    parser.add_argument("--cpu-sampling-rate", type=float, help="Scalene's sampling interval (scalene-lsp runs with 0.002)")
    parser.add_argument("--work", type=int, action="append", help="run the program K times per Scalene run (repeatable)")
    args = parser.parse_args()
    programs = args.program or ["fixtures/programs/cpu_bound.py", "fixtures/programs/multi_module/main.py"]
    works = args.work or [1]
    print("| program | work | mode | pairs | without stacks (median) | with stacks (median) | ratio | median pair ratio | JSON bytes without → with |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|")
    for program, work in [(p, w) for p in programs for w in works]:
        for mode in args.modes.split(","):
            run(args.python, program, mode, True, work, args.cpu_sampling_rate)
            run(args.python, program, mode, False, work, args.cpu_sampling_rate)
            without, with_, ratios, sizes = [], [], [], (0, 0)
            for pair in range(args.pairs):
                order = [False, True] if pair % 2 == 0 else [True, False]
                times = {}
                for stacks in order:
                    times[stacks] = run(args.python, program, mode, stacks, work, args.cpu_sampling_rate)
                without.append(times[False][0])
                with_.append(times[True][0])
                ratios.append(times[True][0] / times[False][0])
                sizes = (times[False][1], times[True][1])
            a, b = statistics.median(without), statistics.median(with_)
            print(f"| `{program}` | {work}x | {mode} | {args.pairs} | {a:.3f} s | {b:.3f} s | **{b / a:.3f}x** | "
                  f"{statistics.median(ratios):.3f}x | {sizes[0]:,} → {sizes[1]:,} |", flush=True)


if __name__ == "__main__":
    main()
