"""Shared fixtures for the MCP tests: the binary under test, a temp workspace with copies of the
fixture programs, MCP clients (the official Python SDK) over stdio and streamable HTTP, and process
checks. Run with `scripts/test-mcp target/debug/scalene-lsp`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"


def binary() -> Path:
    path = os.environ.get("SCALENE_LSP_BIN")
    if not path:
        pytest.exit("SCALENE_LSP_BIN is not set: run scripts/test-mcp target/debug/scalene-lsp", returncode=2)
    return Path(path).resolve()


def python() -> str:
    path = Path(os.environ.get("SCALENE_LSP_TEST_PYTHON", REPO / ".venv/bin/python"))
    if not path.exists():
        pytest.exit(f"no test interpreter at {path}: run scripts/setup-python or set SCALENE_LSP_TEST_PYTHON", returncode=2)
    return str(path)


LONG_PROGRAM = """\
import time

def spin():
    total = 0
    for i in range(200_000):
        total += i % 7
    return total

def main():
    end = time.time() + {seconds}
    keep = []
    while time.time() < end:
        spin()
        keep.append(bytearray(10_000))

if __name__ == "__main__":
    main()
"""


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A project folder with copies of fixture programs and a Scalene JSON that names files that do not
    exist here (as a profile from CI would), so that loading it maps them onto the workspace."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "pyproject.toml").write_text('[project]\nname = "t"\n')
    for name in ["cpu_bound.py", "leak.py", "exits_nonzero.py"]:
        shutil.copy(FIXTURES / "programs" / name, ws / name)
    raw = (FIXTURES / "scalene/2.4.0/cpu_bound.json").read_text()
    # The JSON names the programs where they were captured (the manifest says where), not where this
    # checkout is.
    captured_at = json.loads((FIXTURES / "scalene/2.4.0/MANIFEST.json").read_text())["programs_dir"]
    assert captured_at in raw, f"{captured_at} does not appear in the captured JSON"
    (ws / "cpu_bound.json").write_text(raw.replace(captured_at, "/ci/build/proj"))
    (ws / "spin.py").write_text(LONG_PROGRAM.format(seconds=60))
    return ws.resolve()


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    """A private XDG_RUNTIME_DIR, so discovery files of other processes never interfere."""
    path = tmp_path / "runtime"
    path.mkdir(mode=0o700)
    return path


def server_env(runtime_dir: Path) -> dict[str, str]:
    env = {
        "XDG_RUNTIME_DIR": str(runtime_dir),
        "SCALENE_LSP_PYTHON": python(),
        "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        # Saved profiles go to the test's own folder, never to the user's data directory.
        "SCALENE_LSP_STORE": str(store_dir_for(runtime_dir)),
    }
    return env


def store_dir_for(runtime_dir: Path) -> Path:
    """The saved-profile store of the servers a test starts (next to its runtime dir)."""
    return runtime_dir.parent / "store"


def stdio_params(workspace: Path, runtime_dir: Path, *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=str(binary()), args=["mcp", *args], cwd=str(workspace), env=server_env(runtime_dir))


class HttpServer:
    """`scalene-lsp mcp --http --standalone`: prints {url, token}, serves until stdin closes."""

    def __init__(self, workspace: Path, runtime_dir: Path, *args: str):
        self.process = subprocess.Popen(
            [str(binary()), "mcp", "--http", "--standalone", *args],
            cwd=workspace,
            env=server_env(runtime_dir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
        )
        line = self.process.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"the HTTP server printed nothing (exit code {self.process.wait(5)})")
        info = json.loads(line)
        self.url: str = info["url"]
        self.token: str = info["token"]

    def client(self, **kwargs) -> Client:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {self.token}"})
        return Client(streamable_http_client(self.url, http_client=http), **kwargs)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait()
        return self.process.returncode


@pytest.fixture
def http_server(workspace: Path, runtime_dir: Path):
    server = HttpServer(workspace, runtime_dir)
    yield server
    server.stop()


@pytest.fixture(params=["stdio", "http"])
def connect(request, workspace: Path, runtime_dir: Path):
    """A factory of connected clients over the parametrized transport (same workspace)."""
    servers: list[HttpServer] = []

    def make(*args: str, **kwargs) -> Client:
        if request.param == "stdio":
            return Client(stdio_params(workspace, runtime_dir, "--standalone", *args), **kwargs)
        if not servers:
            servers.append(HttpServer(workspace, runtime_dir, *args))
        return servers[0].client(**kwargs)

    make.transport = request.param
    yield make
    for server in servers:
        server.stop()


def processes_mentioning(needle: str) -> list[int]:
    """Live (non-zombie) processes whose command line mentions `needle`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].strip().startswith("Z"):
            continue
        if needle in cmdline:
            pids.append(int(entry.name))
    return pids


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def show_json(fixture: Path) -> dict:
    """The engine's normalized numbers for a Scalene JSON (`scalene-lsp show --json`)."""
    out = subprocess.run([str(binary()), "show", "--json", str(fixture)], capture_output=True, check=False)
    assert out.returncode in (0, 1), out.stderr.decode()
    return json.loads(out.stdout)


def text_of(result) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


@contextlib.contextmanager
def raw_http():
    with httpx2.Client(timeout=10) as client:
        yield client
