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


def raw_request(server: HttpServer, target: str, headers: list[tuple[str, str]]):
    """A request with exactly these headers and request target (no Host added by the client library)."""
    import http.client

    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    connection.putrequest("POST", target, skip_host=True, skip_accept_encoding=True)
    body = json.dumps(INITIALIZE).encode()
    for name, value in [
        *headers,
        ("Authorization", f"Bearer {server.token}"),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Content-Length", str(len(body))),
    ]:
        connection.putheader(name, value)
    connection.endheaders(body)
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_exactly_one_host_naming_this_endpoint_and_no_foreign_absolute_target(http_server):
    own = urlsplit(http_server.url).netloc
    port = urlsplit(http_server.url).port
    assert raw_request(http_server, "/mcp", [("Host", own)])[0] == 200
    assert raw_request(http_server, "/mcp", [("Host", f"localhost:{port}")])[0] == 200
    status, text = raw_request(http_server, "/mcp", [("Host", own), ("Host", own)])
    assert status == 403 and "exactly one" in text, text
    status, text = raw_request(http_server, "/mcp", [])
    assert status == 403 and "no Host header" in text, text
    for host in ["localhost", f"127.0.0.1:{port + 1}", f"[::1]:{port}"]:
        status, text = raw_request(http_server, "/mcp", [("Host", host)])
        assert status == 403 and "is not this endpoint" in text, (host, text)
    status, text = raw_request(http_server, "http://evil.example/mcp", [("Host", own)])
    assert status == 403 and "another host" in text, text
    assert raw_request(http_server, f"http://{own}/mcp", [("Host", own)])[0] == 200


def test_the_token_never_appears_in_the_logs(workspace, runtime_dir, tmp_path):
    from conftest import binary, server_env

    log = tmp_path / "trace.log"
    env = {**server_env(runtime_dir), "RUST_LOG": "trace"}
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [str(binary()), "mcp", "--http", "--standalone"],
            cwd=workspace, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sink,
        )
        info = json.loads(process.stdout.readline().decode())
        server = HttpServer.__new__(HttpServer)
        server.process, server.url, server.token = process, info["url"], info["token"]
        assert post(server, {"Authorization": f"Bearer {server.token}"}).status_code == 200
        assert post(server, {"Authorization": "Bearer wrong"}).status_code == 401
        assert server.stop() == 0
    text = log.read_text(errors="replace")
    assert len(text) > 1000, "trace logging was on"
    assert server.token not in text
    assert "[redacted]" in text or "Bearer" not in text
