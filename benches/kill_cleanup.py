#!/usr/bin/env python3
"""How long a run outlives a scalene-lsp that is killed.

For each round: `scalene-lsp profile` runs a never-ending program under real Scalene (private TMPDIR);
once the program runs, scalene-lsp gets SIGKILL (nothing of ours can react: the run's watchdog must) or
SIGTERM (scalene-lsp stops the run itself); the script measures the time from the signal until no
process of the run is left and its run dir is gone.

    cargo build --release && benches/kill_cleanup.py [--rounds 10] [--binary target/release/scalene-lsp]

Prints one line per signal: median and max seconds over the rounds.
"""
import argparse
import os
import pathlib
import signal
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROGRAM = """import pathlib, sys
pathlib.Path(sys.argv[1]).write_text("running")
def spin():
    total = 0
    for i in range(200_000):
        total += i % 7
    return total
while True:
    spin()
"""


def processes_mentioning(needle: str) -> list[int]:
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[-1].strip().startswith("Z"):
                continue
            if needle in (entry / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def one_round(binary: pathlib.Path, python: pathlib.Path, stop: signal.Signals) -> float:
    with tempfile.TemporaryDirectory(prefix="scalene-lsp-bench-") as work:
        work = pathlib.Path(work)
        tmp = work / "tmp"
        tmp.mkdir()
        program = work / "forever.py"
        program.write_text(PROGRAM)
        marker = work / f"running-{os.getpid()}-{time.monotonic_ns()}.txt"
        process = subprocess.Popen(
            [str(binary), "profile", "--mode", "cpu", "--python", str(python), str(program), "--", str(marker)],
            env={**os.environ, "TMPDIR": str(tmp)},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not marker.exists():
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit("the program never started under Scalene")
            time.sleep(0.05)
        time.sleep(1.0)
        sent = time.monotonic()
        process.send_signal(stop)
        while processes_mentioning(str(marker)) or any(p.name.startswith("scalene-lsp-run-") for p in tmp.iterdir()):
            if time.monotonic() - sent > 60:
                raise SystemExit(f"{stop.name}: the run was still there after 60 s")
            time.sleep(0.02)
        elapsed = time.monotonic() - sent
        process.wait()
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--binary", type=pathlib.Path, default=ROOT / "target/release/scalene-lsp")
    parser.add_argument("--python", type=pathlib.Path, default=ROOT / ".venv/bin/python")
    args = parser.parse_args()
    for stop in [signal.SIGKILL, signal.SIGTERM]:
        times = [one_round(args.binary, args.python, stop) for _ in range(args.rounds)]
        print(f"{stop.name} to scalene-lsp: run gone after median {statistics.median(times):.2f} s, max {max(times):.2f} s "
              f"({args.rounds} rounds)")


if __name__ == "__main__":
    main()
