#!/usr/bin/env python3
"""What does scalene-lsp add on top of running Scalene directly?

Runs, in pairs, (i) `scalene-lsp profile --json` on a program and (ii) the exact Scalene command
scalene-lsp runs for it (as `scalene-lsp doctor PROGRAM` prints it: same interpreter, flags, working
directory, and a fresh TMPDIR holding the output), and compares wall-clock times. The order inside a
pair alternates so that neither side always runs on a warmer machine; one warm-up pair is not counted.

    cargo build --release && .venv/bin/python -m scalene --version   # prerequisites
    benches/engine_overhead.py                  # 10 pairs
    benches/engine_overhead.py --pairs 20

The overhead is the median of the per-pair differences (scalene-lsp - direct) over the median direct
time. Standard library only.
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
    parser.add_argument("--program", default="fixtures/programs/cpu_bound.py", help="program to profile")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    return args


def timed(argv, env=None):
    """Runs argv in the repo root, output captured; returns (seconds, completed process)."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(
            f"failed (exit {done.returncode}): {shlex.join(argv)}\n"
            f"{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return seconds, done


def run_lsp(args):
    argv = [args.binary, "profile", "--json", "--python", args.python, args.program]
    seconds, done = timed(argv)
    profile = json.loads(done.stdout)
    if profile.get("status") != "ok" or not profile.get("files"):
        sys.exit(f"scalene-lsp gave no usable profile (status {profile.get('status')!r})")
    return seconds


def direct_argv(args, out_dir):
    # Mirrors runner.rs `scalene_argv` for a script in Memory mode, as `doctor` prints it: absolute
    # interpreter and program paths, the project root as --program-path, output in the run's own dir.
    program = (ROOT / args.program).resolve()
    return [
        str(ROOT / args.python), "-m", "scalene", "run", "--no-stacks",
        "-o", str(out_dir / "profile.json"),
        "--memory",
        "--program-path", str(ROOT),
        str(program), "---",
    ]


def run_direct(args):
    out_dir = pathlib.Path(tempfile.mkdtemp(prefix="scalene-direct-run-"))
    try:
        env = dict(os.environ, TMPDIR=str(out_dir))
        seconds, _ = timed(direct_argv(args, out_dir), env=env)
        profile = json.loads((out_dir / "profile.json").read_bytes())
        if not profile.get("files"):
            sys.exit("direct Scalene run wrote no samples")
        return seconds
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def run_pair(args, index):
    """One pair; even pairs run scalene-lsp first, odd pairs run Scalene directly first."""
    if index % 2 == 0:
        lsp = run_lsp(args)
        direct = run_direct(args)
    else:
        direct = run_direct(args)
        lsp = run_lsp(args)
    return lsp, direct


def main():
    args = parse_args()
    os.chdir(ROOT)
    for path in (args.binary, args.python, args.program):
        if not (ROOT / path).exists():
            sys.exit(f"missing {path} (build with `cargo build --release`, set up with scripts/setup-python)")

    print(f"scalene-lsp: {shlex.join([args.binary, 'profile', '--json', '--python', args.python, args.program])}")
    print(f"direct:      TMPDIR=<fresh dir> {shlex.join(direct_argv(args, pathlib.Path('<fresh dir>')))}")
    print(f"cwd:         {ROOT}")
    print()
    lsp, direct = run_pair(args, 0)
    print(f"warm-up      scalene-lsp {lsp:7.3f} s   direct {direct:7.3f} s   (not counted)")

    lsp_times, direct_times = [], []
    for index in range(args.pairs):
        lsp, direct = run_pair(args, index)
        lsp_times.append(lsp)
        direct_times.append(direct)
        first = "lsp first" if index % 2 == 0 else "direct first"
        print(
            f"pair {index + 1:3d}     scalene-lsp {lsp:7.3f} s   direct {direct:7.3f} s   "
            f"diff {lsp - direct:+7.3f} s   ({first})",
            flush=True,
        )

    diffs = [lsp - direct for lsp, direct in zip(lsp_times, direct_times)]
    median_direct = statistics.median(direct_times)
    print()
    print(f"scalene-lsp  median {statistics.median(lsp_times):.3f} s   mean {statistics.mean(lsp_times):.3f} s")
    print(f"direct       median {median_direct:.3f} s   mean {statistics.mean(direct_times):.3f} s")
    print(f"difference   median {statistics.median(diffs):+.3f} s   mean {statistics.mean(diffs):+.3f} s")
    print(f"overhead     {100 * statistics.median(diffs) / median_direct:+.1f} % "
          f"(median per-pair difference / median direct, {args.pairs} pairs)")
    print()
    reproduce = ["benches/engine_overhead.py", "--pairs", str(args.pairs)]
    for flag, value, default in (
        ("--binary", args.binary, "target/release/scalene-lsp"),
        ("--python", args.python, ".venv/bin/python"),
        ("--program", args.program, "fixtures/programs/cpu_bound.py"),
    ):
        if value != default:
            reproduce += [flag, value]
    print(f"reproduce:   cargo build --release && {shlex.join(reproduce)}")


if __name__ == "__main__":
    main()
