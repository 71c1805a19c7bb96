"""One engine, two protocols: the LSP server (`scalene-lsp serve`) hosts the MCP endpoint. A profile
made through MCP reaches the editor (diagnostics, a hint refresh); a profile made through LSP is visible
to MCP; `scalene-lsp mcp` finds the live session through the discovery file and bridges to it."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import binary, python, server_env, stdio_params, text_of

pytestmark = pytest.mark.anyio

TIMEOUT = 60.0


class LspClient:
    """`scalene-lsp serve` over stdio: Content-Length framing, answers the server's requests with null
    and records them, queues notifications."""

    def __init__(self, workspace: Path, runtime_dir: Path):
        self.process = subprocess.Popen(
            [str(binary()), "serve"],
            cwd=workspace,
            env=server_env(runtime_dir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
        )
        self.messages: queue.Queue = queue.Queue()
        self.next_id = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        root = workspace.as_uri()
        capabilities = {
            "window": {"workDoneProgress": True},
            "workspace": {"inlayHint": {"refreshSupport": True}},
        }
        self.initialize = self.request(
            "initialize",
            {"rootUri": root, "workspaceFolders": [{"uri": root, "name": "ws"}], "capabilities": capabilities,
             "initializationOptions": {"python": python()}},
        )
        self.notify("initialized", {})

    def _read(self):
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            self.messages.put(message)

    def _send(self, message: dict):
        body = json.dumps(message).encode()
        with self.lock:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()

    def notify(self, method: str, params):
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params):
        self.next_id += 1
        request_id = self.next_id
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        message = self.expect(lambda m: m.get("id") == request_id and "method" not in m, f"the answer to {method}")
        assert "error" not in message, message
        return message["result"]

    def expect(self, predicate, what: str, timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        skipped = []
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {what}; saw {[m.get('method', m.get('id')) for m in skipped]}")
                try:
                    message = self.messages.get(timeout=remaining)
                except queue.Empty:
                    continue
                if predicate(message):
                    return message
                skipped.append(message)
        finally:
            for message in skipped:
                self.messages.put(message)

    def open(self, path: Path) -> str:
        uri = path.as_uri()
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": path.read_text()}})
        return uri

    def close(self):
        if self.process.poll() is not None:
            return
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def lsp(workspace, runtime_dir):
    client = LspClient(workspace, runtime_dir)
    yield client
    client.close()


def mcp_client(lsp: LspClient) -> Client:
    endpoint = lsp.expect(lambda m: m.get("method") == "scalene/mcpEndpoint", "scalene/mcpEndpoint")["params"]
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {endpoint['token']}"})
    return Client(streamable_http_client(endpoint["url"], http_client=http))


async def test_the_endpoint_is_announced_in_initialize_and_by_notification(lsp, runtime_dir):
    url = lsp.initialize["capabilities"]["experimental"]["scaleneMcp"]["url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp"), url
    endpoint = lsp.expect(lambda m: m.get("method") == "scalene/mcpEndpoint", "scalene/mcpEndpoint")["params"]
    assert endpoint["url"] == url and len(endpoint["token"]) >= 22
    discovery = list((runtime_dir / "scalene-lsp").glob("*.json"))
    assert [json.loads(path.read_text())["url"] for path in discovery] == [url]
    lsp.close()
    assert not list((runtime_dir / "scalene-lsp").glob("*.json")), "the discovery file is removed at exit"


async def test_a_profile_run_through_mcp_lights_up_the_editor(lsp, workspace):
    uri = lsp.open(workspace / "cpu_bound.py")
    async with mcp_client(lsp) as agent:
        result = await agent.call_tool("profile", {"path": "cpu_bound.py"})
        assert not result.is_error, text_of(result)
        assert result.structured_content["status"] == "ok"
    diagnostics = lsp.expect(
        lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri and m["params"]["diagnostics"],
        "the editor's diagnostics for the agent's profile",
    )
    assert all(d["source"] == "scalene" for d in diagnostics["params"]["diagnostics"])
    lsp.expect(lambda m: m.get("method") == "workspace/inlayHint/refresh", "an inlay hint refresh")
    hints = lsp.request("textDocument/inlayHint",
                        {"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 30, "character": 0}}})
    assert any("% CPU" in hint["label"] for hint in hints), hints


async def test_a_profile_made_in_the_editor_is_visible_to_the_agent(lsp, workspace):
    uri = lsp.open(workspace / "cpu_bound.py")
    run = lsp.request("workspace/executeCommand", {"command": "scalene.profile", "arguments": [{"uri": uri}]})
    assert run["run_id"].startswith("run-")
    lsp.expect(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "end", "the run's end")
    async with mcp_client(lsp) as agent:
        listed = (await agent.call_tool("list_profiles", {})).structured_content
        assert len(listed["profiles"]) == 1, listed
        profile_id = listed["profiles"][0]["profile_id"]
        hot = (await agent.call_tool("hotspots", {"profile_id": profile_id, "metric": "cpu"})).structured_content
        assert hot["lines"] and hot["lines"][0]["path"] == "cpu_bound.py", hot


async def test_scalene_lsp_mcp_bridges_to_the_editor_session(lsp, workspace, runtime_dir):
    uri = lsp.open(workspace / "cpu_bound.py")
    async with Client(stdio_params(workspace, runtime_dir)) as bridged:
        assert "No editor session" not in bridged.session.instructions
        loaded = await bridged.call_tool("load_profile", {"path": "cpu_bound.json"})
        assert not loaded.is_error, text_of(loaded)
    lsp.expect(
        lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri and m["params"]["diagnostics"],
        "diagnostics in the editor for the profile loaded through the bridge",
    )
