"""The HTTP endpoint's defences, with plain HTTP requests (httpx2): the bearer token (401), the Host and
Origin checks against DNS rebinding (403), loopback binding, and the discovery file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from urllib.parse import urlsplit

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import HttpServer, raw_http, wait_until

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
}


def post(server: HttpServer, headers: dict[str, str]):
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    with raw_http() as http:
        return http.post(server.url, headers={**base, **headers}, content=json.dumps(INITIALIZE))


def test_binds_loopback_with_a_long_random_token(http_server):
    parts = urlsplit(http_server.url)
    assert parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.path == "/mcp"
    assert len(http_server.token) >= 32 and int(http_server.token, 16) >= 0, "at least 128 bits, hex"


def test_the_right_token_gets_in(http_server):
    response = post(http_server, {"Authorization": f"Bearer {http_server.token}"})
    assert response.status_code == 200, response.text
    assert "scalene-lsp" in response.text
    loopback_origin = post(http_server, {"Authorization": f"Bearer {http_server.token}", "Origin": "http://localhost:5173"})
    assert loopback_origin.status_code == 200, loopback_origin.text


@pytest.mark.parametrize(
    "authorization, reason",
    [(None, "missing bearer token"), ("Bearer wrong", "wrong bearer token"), ("Basic abc", "wrong bearer token")],
)
def test_no_or_wrong_token_is_401(http_server, authorization, reason):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = post(http_server, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert reason in response.text and "Fix:" in response.text


def test_a_token_one_character_off_is_401(http_server):
    token = http_server.token
    almost = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert post(http_server, {"Authorization": f"Bearer {almost}"}).status_code == 401
    assert post(http_server, {"Authorization": f"Bearer {token}x"}).status_code == 401


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost.evil.example", "http://192.168.1.10:8000"])
def test_foreign_origin_is_403(http_server, origin):
    response = post(http_server, {"Authorization": f"Bearer {http_server.token}", "Origin": origin})
    assert response.status_code == 403
    assert "Origin" in response.text and "Fix:" in response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "10.0.0.1", "127.0.0.1.nip.io"])
def test_non_loopback_host_is_403(http_server, host):
    response = post(http_server, {"Authorization": f"Bearer {http_server.token}", "Host": host})
    assert response.status_code == 403
    assert "Host" in response.text and "DNS rebinding" in response.text


def test_host_is_checked_before_the_token(http_server):
    assert post(http_server, {"Host": "evil.example"}).status_code == 403


@pytest.mark.anyio
async def test_the_sdk_without_the_token_cannot_connect(http_server):
    with pytest.raises(Exception):
        with anyio.fail_after(20):
            async with Client(streamable_http_client(http_server.url, http_client=create_mcp_http_client())) as client:
                await client.list_tools()


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_discovery_file(workspace, runtime_dir):
    directory = runtime_dir / "scalene-lsp"
    directory.mkdir(mode=0o755)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = directory / f"{dead.pid}.json"
    stale.write_text(json.dumps({"url": "http://127.0.0.1:1/mcp", "token": "x", "roots": [str(workspace)], "pid": dead.pid}))
    server = HttpServer(workspace, runtime_dir)
    try:
        path = directory / f"{server.process.pid}.json"
        assert path.exists()
        info = json.loads(path.read_text())
        assert info == {"url": server.url, "token": server.token, "roots": [str(workspace)], "pid": server.process.pid}
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert not stale.exists(), "files of dead processes are swept"
        assert not [name for name in os.listdir(directory) if name.endswith(".tmp")], "written atomically"
    finally:
        assert server.stop() == 0
    assert wait_until(lambda: not path.exists(), 5), "removed at exit"
