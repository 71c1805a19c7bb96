#!/usr/bin/env python3
"""MCP latency benchmark (not a timed test): `hotspots` on a cached profile over streamable HTTP on
loopback and over stdio, and the start-up time of `scalene-lsp mcp` to its initialize response.

    cargo build --release
    benches/mcp_latency.py                       # target/release/scalene-lsp, about 30 s
    benches/mcp_latency.py --bin target/debug/scalene-lsp --requests 2000 --seconds 3

Python 3 standard library only: raw JSON-RPC 2026-07-28 requests (per-request `_meta`, the
`MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers), so the figures are the server's plus a thin
client, not the cost of an SDK. The profile is a captured Scalene JSON loaded with `load_profile`
(`fixtures/scalene/2.4.0/cpu_bound.json` and the 4,535-line `many_modules.json`), so no program runs.
Goals on the 2-core machine: >= 2,000 requests/s, p99 < 5 ms, start-up < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VERSION = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "mcp_latency", "version": "1"},
}


def call(request_id: int, tool: str, arguments: dict) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": META},
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def make_workspace(root: Path) -> Path:
    ws = root / "ws"
    ws.mkdir()
    (ws / "pyproject.toml").write_text('[project]\nname = "bench"\n')
    shutil.copy(REPO / "fixtures/programs/cpu_bound.py", ws / "cpu_bound.py")
    shutil.copytree(REPO / "fixtures/programs/many_modules", ws / "many_modules")
    for name in ["cpu_bound", "many_modules"]:
        raw = (REPO / f"fixtures/scalene/2.4.0/{name}.json").read_text()
        (ws / f"{name}.json").write_text(raw.replace(str(REPO / "fixtures/programs"), "/ci/build/proj"))
    return ws


# ---------------------------------------------------------------- HTTP


class HttpClient:
    def __init__(self, url: str, token: str):
        rest = url.removeprefix("http://")
        self.authority, path = rest.split("/", 1)
        self.path = "/" + path
        host, port = self.authority.rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.token = token

    def call(self, request_id: int, tool: str, arguments: dict) -> bytes:
        body = json.dumps(call(request_id, tool, arguments))
        self.connection.request(
            "POST",
            self.path,
            body=body,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": VERSION,
                "Mcp-Method": "tools/call",
                "Mcp-Name": tool,
            },
        )
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200 or b'"result"' not in data:
            raise RuntimeError(f"HTTP {response.status}: {data[:300]!r}")
        return data


def bench_http(binary: Path, ws: Path, env: dict, profiles: dict[str, str], requests: int, seconds: float, threads: int) -> dict:
    server = subprocess.Popen([str(binary), "mcp", "--http", "--standalone"], cwd=ws, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        info = json.loads(server.stdout.readline())
        results = {}
        client = HttpClient(info["url"], info["token"])
        ids = {}
        for name, path in profiles.items():
            loaded = json.loads(client.call(0, "load_profile", {"path": path}))
            ids[name] = json.loads(loaded["result"]["content"][0]["text"])["profile_id"]
        for name, profile_id in ids.items():
            arguments = {"profile_id": profile_id, "limit": 10}
            for i in range(200):
                client.call(i, "hotspots", arguments)
            latencies = []
            for i in range(requests):
                start = time.perf_counter()
                client.call(i, "hotspots", arguments)
                latencies.append(time.perf_counter() - start)
            done = [0] * threads
            stop = time.perf_counter() + seconds

            def worker(index: int):
                own = HttpClient(info["url"], info["token"])
                n = 0
                while time.perf_counter() < stop:
                    own.call(n, "hotspots", arguments)
                    n += 1
                done[index] = n

            workers = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
            began = time.perf_counter()
            for thread in workers:
                thread.start()
            for thread in workers:
                thread.join()
            elapsed = time.perf_counter() - began
            results[name] = {
                "p50_ms": percentile(latencies, 0.50) * 1e3,
                "p99_ms": percentile(latencies, 0.99) * 1e3,
                "sequential_rps": len(latencies) / sum(latencies),
                "concurrent_rps": sum(done) / elapsed,
            }
        return results
    finally:
        server.stdin.close()
        server.wait(timeout=15)


# ---------------------------------------------------------------- stdio


class StdioClient:
    def __init__(self, binary: Path, ws: Path, env: dict):
        self.process = subprocess.Popen(
            [str(binary), "mcp", "--standalone"], cwd=ws, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.reader = self.process.stdout

    def send(self, message: dict, flush: bool = True):
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        if flush:
            self.process.stdin.flush()

    def receive(self) -> dict:
        while True:
            message = json.loads(self.reader.readline())
            if "id" in message:
                return message

    def call(self, request_id: int, tool: str, arguments: dict) -> dict:
        self.send(call(request_id, tool, arguments))
        message = self.receive()
        if "result" not in message:
            raise RuntimeError(str(message)[:300])
        return message

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=15)


def bench_stdio(binary: Path, ws: Path, env: dict, profiles: dict[str, str], requests: int, window: int) -> dict:
    client = StdioClient(binary, ws, env)
    try:
        results = {}
        ids = {}
        for name, path in profiles.items():
            loaded = client.call(0, "load_profile", {"path": path})
            ids[name] = json.loads(loaded["result"]["content"][0]["text"])["profile_id"]
        for name, profile_id in ids.items():
            arguments = {"profile_id": profile_id, "limit": 10}
            for i in range(200):
                client.call(i, "hotspots", arguments)
            latencies = []
            for i in range(requests):
                start = time.perf_counter()
                client.call(i, "hotspots", arguments)
                latencies.append(time.perf_counter() - start)
            # Throughput: keep `window` requests in flight.
            total = requests * 2
            began = time.perf_counter()
            sent = received = 0
            while received < total:
                while sent < total and sent - received < window:
                    client.send(call(10_000_000 + sent, "hotspots", arguments), flush=False)
                    sent += 1
                client.process.stdin.flush()
                client.receive()
                received += 1
            elapsed = time.perf_counter() - began
            results[name] = {
                "p50_ms": percentile(latencies, 0.50) * 1e3,
                "p99_ms": percentile(latencies, 0.99) * 1e3,
                "sequential_rps": len(latencies) / sum(latencies),
                "concurrent_rps": total / elapsed,
            }
        return results
    finally:
        client.close()


# ---------------------------------------------------------------- start-up


def bench_startup(binary: Path, ws: Path, env: dict, runs: int) -> list[float]:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "mcp_latency", "version": "1"}},
    }
    line = (json.dumps(initialize) + "\n").encode()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen([str(binary), "mcp"], cwd=ws, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        process.stdin.write(line)
        process.stdin.flush()
        answer = process.stdout.readline()
        times.append(time.perf_counter() - start)
        assert b'"serverInfo"' in answer, answer[:300]
        process.stdin.close()
        process.wait(timeout=15)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=REPO / "target/release/scalene-lsp")
    parser.add_argument("--requests", type=int, default=3000, help="sequential requests per case (latency)")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each HTTP throughput run")
    parser.add_argument("--threads", type=int, default=4, help="HTTP client threads (one connection each)")
    parser.add_argument("--window", type=int, default=16, help="stdio requests kept in flight")
    parser.add_argument("--startups", type=int, default=30)
    args = parser.parse_args()
    args.bin = args.bin.resolve()
    if not args.bin.exists():
        print(f"error: {args.bin} does not exist. Fix: cargo build --release (or pass --bin).", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mcp-latency-") as tmp:
        root = Path(tmp)
        ws = make_workspace(root)
        runtime = root / "runtime"
        runtime.mkdir(mode=0o700)
        env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "RUST_LOG": "error"}
        profiles = {"cpu_bound (5 lines)": "cpu_bound.json", "many_modules (4,535 lines)": "many_modules.json"}
        print(f"binary: {args.bin}")
        print(f"machine: {os.cpu_count()} CPUs; Python {sys.version.split()[0]} client\n")
        print(f"{'transport':9} {'profile':28} {'p50 ms':>7} {'p99 ms':>7} {'seq req/s':>10} {'conc req/s':>11}")
        for transport, results in [
            ("http", bench_http(args.bin, ws, env, profiles, args.requests, args.seconds, args.threads)),
            ("stdio", bench_stdio(args.bin, ws, env, profiles, args.requests, args.window)),
        ]:
            for name, figures in results.items():
                print(
                    f"{transport:9} {name:28} {figures['p50_ms']:7.3f} {figures['p99_ms']:7.3f} "
                    f"{figures['sequential_rps']:10.0f} {figures['concurrent_rps']:11.0f}"
                )
        times = bench_startup(args.bin, ws, env, args.startups)
        print(
            f"\nstart-up of `scalene-lsp mcp` to the initialize response ({args.startups} runs, no editor session): "
            f"median {statistics.median(times) * 1e3:.1f} ms, p90 {percentile(times, 0.9) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms"
        )
        print(
            f"(concurrent: HTTP with {args.threads} client threads, one keep-alive connection each, {args.seconds:.0f} s; "
            f"stdio with {args.window} requests in flight)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
