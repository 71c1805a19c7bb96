#!/usr/bin/env python3
"""What a large profile costs in memory.

Profiles a generated program of N lines (a hot function, then N lines of text in a string literal:
Scalene lists every line of a file in its JSON, about 1.3 KB each) with real Scalene (`python -m scalene
run --cpu-only`, the raw JSON that `show` and `scalene.loadProfile` read), then measures the peak
resident memory (VmHWM) of:

- `scalene-lsp show FILE` and `scalene-lsp show --json FILE` (parse, then print);
- `scalene-lsp serve` after `scalene.loadProfile` of FILE has answered (parse and cache), and its
  resident memory then (VmRSS: what the cached profile keeps).

    cargo build --release && benches/profile_memory.py [--lines 200000] [--binary target/release/scalene-lsp]

Each figure is printed in MB with the file's size, so the cost per byte of JSON can be read off.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def program(n_lines: int) -> str:
    head = "def hot():\n    total = 0\n    for i in range(2_000_000):\n        total += i * i\n    return total\n\n\nhot()\n"
    return head + 'FILLER = """\n' + "".join(f"filler line {i}\n" for i in range(n_lines)) + '"""\n'


def peak_of_child(argv: list[str]) -> float:
    """Peak RSS in MB of a command (wait4's ru_maxrss)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed: {proc.stderr.read().decode()[-500:]}")
    return usage.ru_maxrss / 1024


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def read_message(stream) -> dict:
    length = None
    while True:
        line = stream.readline()
        if not line:
            raise SystemExit("the server closed its stdout")
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def status_mb(pid: int, key: str) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {key} in /proc/{pid}/status")


def serve_after_load(binary: str, python: str, root: pathlib.Path, profile: pathlib.Path) -> tuple[float, float]:
    server = subprocess.Popen([binary, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    send = lambda message: (server.stdin.write(frame(message)), server.stdin.flush())
    def answer(id_: int) -> dict:
        while True:
            message = read_message(server.stdout)
            if message.get("id") == id_ and "method" not in message:
                return message
            if "method" in message and "id" in message:  # a request from the server: answer it empty
                send({"jsonrpc": "2.0", "id": message["id"], "result": None})
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}, "initializationOptions": {"python": python, "maxProfileMb": 4096}}})
    answer(1)
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    send({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": {"command": "scalene.loadProfile", "arguments": [{"path": str(profile)}]}})
    result = answer(2)
    if "error" in result:
        raise SystemExit(f"loadProfile failed: {result['error']}")
    time.sleep(0.5)
    peak, now = status_mb(server.pid, "VmHWM"), status_mb(server.pid, "VmRSS")
    send({"jsonrpc": "2.0", "id": 3, "method": "shutdown", "params": None})
    answer(3)
    send({"jsonrpc": "2.0", "method": "exit", "params": None})
    server.wait(timeout=30)
    return peak, now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--binary", default=str(ROOT / "target/release/scalene-lsp"))
    parser.add_argument("--python", default=str(ROOT / ".venv/bin/python"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scalene-lsp-memory-") as tmp:
        root = pathlib.Path(tmp)
        source = root / "big.py"
        source.write_text(program(args.lines))
        profile = root / "big.json"
        started = time.monotonic()
        subprocess.run([args.python, "-m", "scalene", "run", "--cpu-only", "--no-stacks", "-o", str(profile), str(source)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
        size_mb = profile.stat().st_size / 1e6
        print(f"{args.lines} lines: Scalene JSON {size_mb:.1f} MB ({profile.stat().st_size / (args.lines + 10):.0f} bytes per line), profiled in {time.monotonic() - started:.0f} s")
        for label, argv in [("show", [args.binary, "show", "--max-size-mb", "4096", str(profile)]), ("show --json", [args.binary, "show", "--json", "--max-size-mb", "4096", str(profile)])]:
            print(f"{label}: peak RSS {peak_of_child(argv):.0f} MB")
        peak, now = serve_after_load(args.binary, args.python, root, profile)
        print(f"serve + scalene.loadProfile: peak RSS {peak:.0f} MB, then {now:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
