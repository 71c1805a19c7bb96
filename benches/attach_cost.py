#!/usr/bin/env python3
"""What does attaching cost the target, how accurate is it, how soon are there numbers? (issue 18:
overhead >= 0.97x iterations/s at 100 Hz, 70/30 within 5 points, attach -> first numbers < 2 s.)

1. Overhead: a CPU-bound loop (below) counts its iterations for --seconds; each pair runs it once alone
   and once with `scalene-lsp attach PID --rate 100` for the whole time, the order alternating inside
   each pair, one warm-up pair not counted. Prints the median of the per-pair ratios (attached / alone)
   and the ratio of the medians.
2. Accuracy: `attach --duration 5 --json` on fixtures/programs/split_70_30.py (heavy 70 %, light 30 % of
   its time), --accuracy-runs times: heavy's and light's shares, the largest error.
3. Attach -> first numbers: from starting `scalene-lsp attach` to its "attached" log line
   (RUST_LOG=info, `attach_ms`), and the whole command's wall time for `--duration 0.1`.

    cargo build                                   # the binary: target/debug/scalene-lsp (or --binary)
    benches/attach_cost.py                        # 8 pairs of 3 s, 5 accuracy runs
    benches/attach_cost.py --pairs 12 --seconds 5 --binary target/release/scalene-lsp

Standard library only.
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

LOOP = """import sys, time
seconds = float(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
n = 0
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    for i in range(1000):
        n += i % 7
print(n * 1000 // 1000 / seconds, flush=True)
"""


def start(python, args):
    child = subprocess.Popen([python, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


def loop_rate(python, binary, loop, seconds, rate, attached):
    """Iterations per second of the loop, alone or with scalene-lsp attached for the whole time."""
    child = start(python, [loop, str(seconds)])
    attach = None
    if attached:
        attach = subprocess.Popen([binary, "attach", str(child.pid), "--rate", str(rate), "--duration", str(seconds + 30), "--json"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "RUST_LOG": "scalene_lsp=info"})
        # Start the loop once py-spy is attached.
        for line in attach.stderr:
            if "attached" in line:
                break
    child.stdin.write("go\n")
    child.stdin.flush()
    per_s = float(child.stdout.readline())
    child.wait()
    if attach:
        attach.wait(timeout=30)
    return per_s


def overhead(args, python, loop):
    ratios, alone, attached = [], [], []
    for pair in range(args.pairs + 1):
        order = [False, True] if pair % 2 == 0 else [True, False]
        got = {kind: loop_rate(python, args.binary, loop, args.seconds, args.rate, kind) for kind in order}
        if pair == 0:
            continue
        alone.append(got[False])
        attached.append(got[True])
        ratios.append(got[True] / got[False])
        print(f"  pair {pair}: alone {got[False]:,.0f}/s, attached {got[True]:,.0f}/s, ratio {ratios[-1]:.3f}", flush=True)
    print(f"overhead at {args.rate} Hz: median of pair ratios {statistics.median(ratios):.3f}x "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); ratio of medians {statistics.median(attached) / statistics.median(alone):.3f}x")


def shares(profile):
    out = {}
    for file in profile["files"]:
        for function in file["functions"]:
            out[function["name"]] = out.get(function["name"], 0.0) + function["cpu_python"] + function["cpu_native"]
    return out


def accuracy(args, python):
    child = start(python, [str(ROOT / "fixtures/programs/split_70_30.py")])
    errors = []
    try:
        for run in range(args.accuracy_runs):
            out = subprocess.run([args.binary, "attach", str(child.pid), "--duration", "5", "--rate", str(args.rate), "--json"],
                                 capture_output=True, text=True, check=True).stdout
            profile = json.loads(out)
            got = shares(profile)
            heavy, light = got.get("heavy", 0.0), got.get("light", 0.0)
            errors.append(max(abs(heavy - 70), abs(light - 30)))
            print(f"  run {run + 1}: heavy {heavy:.1f} %, light {light:.1f} % ({profile['attached']['samples']} samples)", flush=True)
    finally:
        child.kill()
        child.wait()
    print(f"accuracy: largest error {max(errors):.1f} points, median {statistics.median(errors):.1f} over {len(errors)} runs of 5 s")


def first_numbers(args, python):
    child = start(python, [str(ROOT / "fixtures/programs/split_70_30.py")])
    attach_ms, walls = [], []
    try:
        for _ in range(args.accuracy_runs):
            began = time.perf_counter()
            done = subprocess.run([args.binary, "attach", str(child.pid), "--duration", "0.1", "--json"], capture_output=True, text=True,
                                  env={**os.environ, "RUST_LOG": "scalene_lsp=info"}, check=True)
            walls.append(time.perf_counter() - began)
            found = re.search(r"attach_ms=(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", done.stderr))
            attach_ms.append(int(found.group(1)))
    finally:
        child.kill()
        child.wait()
    print(f"attach -> attached: median {statistics.median(attach_ms)} ms (max {max(attach_ms)}); "
          f"whole `attach --duration 0.1` command: median {statistics.median(walls) * 1000:.0f} ms (max {max(walls) * 1000:.0f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(ROOT / "target/debug/scalene-lsp"))
    parser.add_argument("--python", default=str(ROOT / ".venv/bin/python"))
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--accuracy-runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        loop = pathlib.Path(tmp) / "loop.py"
        loop.write_text(LOOP)
        print(f"binary {args.binary}, python {args.python}, {os.cpu_count()} cores", flush=True)
        overhead(args, args.python, str(loop))
        accuracy(args, args.python)
        first_numbers(args, args.python)


if __name__ == "__main__":
    sys.exit(main())
