#!/usr/bin/env python3
"""What does scalene-lsp add to, or save over, running Scalene directly?

For each program (default: a trivial one, `fixtures/programs/too_short.py`, which measures the fixed
start-up cost, and `fixtures/programs/cpu_bound.py`), runs in pairs (i) `scalene-lsp profile --json` and
(ii) bare Scalene: the Scalene command scalene-lsp runs for it without the start-up shortcut (as
`scalene-lsp doctor --no-shortcut PROGRAM` prints it: same interpreter, flags, working directory, and a
fresh TMPDIR holding the output), and compares wall-clock times. The order inside a pair alternates so
that neither side always runs on a warmer machine; one warm-up pair per program is not counted (it
also lets scalene-lsp verify the start-up shortcut once, as any first run on a machine does).

    cargo build --release && .venv/bin/python -m scalene --version   # prerequisites
    benches/engine_overhead.py                  # 10 pairs per program
    benches/engine_overhead.py --pairs 20 --program fixtures/programs/cpu_bound.py

It prints, per program, the ratio median(scalene-lsp) / median(bare) (goals: trivial program <= 0.6,
cpu_bound.py <= 0.9) and the difference: the median of the per-pair differences (scalene-lsp - bare)
over the median bare time. `--no-shortcut` times scalene-lsp with the shortcut off (its pure overhead).
Standard library only.
"""
import argparse
import json
import os
import pathlib
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=10, help="measured pairs (default 10)")
    parser.add_argument("--binary", default="target/release/scalene-lsp", help="scalene-lsp binary")
    parser.add_argument("--python", default=".venv/bin/python", help="interpreter with Scalene")
    parser.add_argument(
        "--program",
        action="append",
        help="program to profile (repeatable; default: fixtures/programs/too_short.py and fixtures/programs/cpu_bound.py)",
    )
    parser.add_argument("--no-shortcut", action="store_true", help="time scalene-lsp with the start-up shortcut off")
    args = parser.parse_args()
    args.programs = args.program or ["fixtures/programs/too_short.py", "fixtures/programs/cpu_bound.py"]
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    return args


def timed(argv, env=None, ok_codes=(0,)):
    """Runs argv in the repo root, output captured; returns (seconds, completed process)."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode not in ok_codes:
        sys.exit(
            f"failed (exit {done.returncode}): {shlex.join(argv)}\n"
            f"{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return seconds, done


def lsp_argv(args, program):
    argv = [args.binary, "profile", "--json", "--python", args.python]
    if args.no_shortcut:
        argv.append("--no-shortcut")
    return argv + [program]


def run_lsp(args, program):
    # A trivial program ends before Scalene samples it: status too_short (exit code 1) is its outcome.
    seconds, done = timed(lsp_argv(args, program), ok_codes=(0, 1))
    profile = json.loads(done.stdout)
    if profile.get("status") not in ("ok", "too_short"):
        sys.exit(f"scalene-lsp gave no usable profile (status {profile.get('status')!r})")
    return seconds


def direct_argv(args, out_dir, program):
    # Mirrors runner.rs `scalene_argv` for a script in Memory mode, as `doctor --no-shortcut` prints
    # it: absolute interpreter and program paths, the project root as --program-path, output in the
    # run's own dir.
    program = (ROOT / program).resolve()
    return [
        str(ROOT / args.python), "-m", "scalene", "run",
        "-o", str(out_dir / "profile.json"),
        "--memory",
        "--program-path", str(ROOT),
        str(program), "---",
    ]


def run_direct(args, program):
    out_dir = pathlib.Path(tempfile.mkdtemp(prefix="scalene-direct-run-"))
    try:
        env = dict(os.environ, TMPDIR=str(out_dir))
        seconds, _ = timed(direct_argv(args, out_dir, program), env=env)
        if not (out_dir / "profile.json").exists():
            sys.exit("the direct Scalene run wrote no profile")
        return seconds
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def run_pair(args, program, index):
    """One pair; even pairs run scalene-lsp first, odd pairs run Scalene directly first."""
    if index % 2 == 0:
        lsp = run_lsp(args, program)
        direct = run_direct(args, program)
    else:
        direct = run_direct(args, program)
        lsp = run_lsp(args, program)
    return lsp, direct


def measure(args, program):
    print(f"== {program}")
    print(f"scalene-lsp: {shlex.join(lsp_argv(args, program))}")
    print(f"bare:        TMPDIR=<fresh dir> {shlex.join(direct_argv(args, pathlib.Path('<fresh dir>'), program))}")
    lsp, direct = run_pair(args, program, 0)
    print(f"warm-up      scalene-lsp {lsp:7.3f} s   bare {direct:7.3f} s   (not counted)")

    lsp_times, direct_times = [], []
    for index in range(args.pairs):
        lsp, direct = run_pair(args, program, index)
        lsp_times.append(lsp)
        direct_times.append(direct)
        first = "lsp first" if index % 2 == 0 else "bare first"
        print(
            f"pair {index + 1:3d}     scalene-lsp {lsp:7.3f} s   bare {direct:7.3f} s   "
            f"diff {lsp - direct:+7.3f} s   ({first})",
            flush=True,
        )

    diffs = [lsp - direct for lsp, direct in zip(lsp_times, direct_times)]
    median_lsp, median_direct = statistics.median(lsp_times), statistics.median(direct_times)
    print(f"scalene-lsp  median {median_lsp:.3f} s   mean {statistics.mean(lsp_times):.3f} s")
    print(f"bare         median {median_direct:.3f} s   mean {statistics.mean(direct_times):.3f} s")
    print(f"difference   median {statistics.median(diffs):+.3f} s   mean {statistics.mean(diffs):+.3f} s")
    print(f"ratio        {median_lsp / median_direct:.2f}x   (median scalene-lsp / median bare, {args.pairs} pairs)")
    print(f"overhead     {100 * statistics.median(diffs) / median_direct:+.1f} % (median per-pair difference / median bare)")
    print()
    return median_lsp / median_direct


def main():
    args = parse_args()
    os.chdir(ROOT)
    for path in (args.binary, args.python, *args.programs):
        if not (ROOT / path).exists():
            sys.exit(f"missing {path} (build with `cargo build --release`, set up with scripts/setup-python)")
    print(f"cwd:         {ROOT}")
    print()
    ratios = {program: measure(args, program) for program in args.programs}
    for program, ratio in ratios.items():
        print(f"summary      {program}: {ratio:.2f}x bare Scalene")
    reproduce = ["benches/engine_overhead.py", "--pairs", str(args.pairs)]
    for flag, value, default in (
        ("--binary", args.binary, "target/release/scalene-lsp"),
        ("--python", args.python, ".venv/bin/python"),
    ):
        if value != default:
            reproduce += [flag, value]
    for program in args.program or []:
        reproduce += ["--program", program]
    if args.no_shortcut:
        reproduce.append("--no-shortcut")
    print(f"reproduce:   cargo build --release && {shlex.join(reproduce)}")


if __name__ == "__main__":
    main()
