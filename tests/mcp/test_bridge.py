"""`scalene-lsp mcp` without --standalone: it finds a live session through the discovery file and
bridges stdio to that session's HTTP endpoint, so both clients share one engine. The session here is
`scalene-lsp mcp --http --standalone` (the LSP process hosts the same endpoint)."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client, MCPError

from conftest import processes_mentioning, stdio_params, text_of, wait_until

pytestmark = pytest.mark.anyio


async def test_bridge_shares_the_sessions_engine(http_server, workspace, runtime_dir):
    async with Client(stdio_params(workspace, runtime_dir)) as bridged, http_server.client() as direct:
        assert bridged.protocol_version == "2026-07-28"
        assert "No editor session" not in bridged.session.instructions
        loaded = await bridged.call_tool("load_profile", {"path": "cpu_bound.json"})
        assert not loaded.is_error, text_of(loaded)
        profile_id = loaded.structured_content["profile_id"]
        listed = (await direct.call_tool("list_profiles", {})).structured_content
        assert [entry["profile_id"] for entry in listed["profiles"]] == [profile_id], "the session sees the bridged client's profile"
        cleared = (await direct.call_tool("clear", {})).structured_content
        assert cleared == {"cleared": 1}
        listed = (await bridged.call_tool("list_profiles", {})).structured_content
        assert listed["total"] == 0, "and the bridged client sees the session's changes"
        with pytest.raises(MCPError) as raised:
            await bridged.call_tool("hotspots", {"metric": "speed"})
        assert raised.value.error.code == -32602


async def test_bridge_from_a_subfolder_and_progress(http_server, workspace, runtime_dir):
    sub = workspace / "pkg"
    sub.mkdir()
    progress = []

    async def on_progress(value, total, message):
        progress.append(message)

    async with Client(stdio_params(sub, runtime_dir)) as bridged:
        assert "No editor session" not in bridged.session.instructions
        result = await bridged.call_tool("profile", {"path": "cpu_bound.py", "mode": "cpu"}, progress_callback=on_progress)
        assert not result.is_error, text_of(result)
        assert result.structured_content["status"] == "ok"
        assert progress and "cpu_bound.py" in progress[0]


async def test_bridge_passes_cancellation_and_notifications(http_server, workspace, runtime_dir):
    program = str(workspace / "spin.py")
    started = anyio.Event()

    async def on_progress(value, total, message):
        if value >= 2:
            started.set()

    async with Client(stdio_params(workspace, runtime_dir)) as bridged:
        async with bridged.listen(resources_list_changed=True) as subscription:
            async with anyio.create_task_group() as group:

                async def run():
                    with anyio.CancelScope() as scope:
                        run.scope = scope
                        await bridged.call_tool("profile", {"path": "spin.py", "mode": "cpu"}, progress_callback=on_progress)

                group.start_soon(run)
                with anyio.fail_after(60):
                    await started.wait()
                assert processes_mentioning(program)
                run.scope.cancel()
            assert await anyio.to_thread.run_sync(lambda: wait_until(lambda: not processes_mentioning(program), 20))
            with anyio.fail_after(20):
                async for event in subscription:
                    if type(event).__name__ == "ResourcesListChanged":
                        break
        listed = (await bridged.call_tool("list_profiles", {})).structured_content
        assert listed["profiles"][0]["status"] == "cancelled"


async def test_legacy_clients_through_the_bridge(http_server, workspace, runtime_dir):
    seen = []

    async def on_message(message):
        seen.append(type(message).__name__)

    async with Client(stdio_params(workspace, runtime_dir), mode="legacy", message_handler=on_message) as bridged:
        assert bridged.protocol_version == "2025-11-25"
        assert "No editor session" not in bridged.session.instructions
        # A round trip after `initialized`: the session is ready for notifications from here on.
        assert (await bridged.call_tool("list_profiles", {})).structured_content["total"] == 0
        async with http_server.client() as direct:
            await direct.call_tool("load_profile", {"path": "cpu_bound.json"})
        with anyio.fail_after(20):
            while "ResourceListChangedNotification" not in seen:
                await anyio.sleep(0.1)
        assert (await bridged.call_tool("list_profiles", {})).structured_content["total"] == 1


async def test_no_session_runs_an_own_engine_and_says_so(workspace, runtime_dir, tmp_path):
    async with Client(stdio_params(workspace, runtime_dir)) as client:
        assert "No editor session" in client.session.instructions
        assert (await client.call_tool("list_profiles", {})).structured_content["total"] == 0


async def test_a_session_for_other_roots_is_not_used(http_server, runtime_dir, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    async with Client(stdio_params(elsewhere, runtime_dir)) as client:
        assert "No editor session" in client.session.instructions


async def test_a_vanished_session_gives_an_error_with_the_fix(http_server, workspace, runtime_dir):
    async with Client(stdio_params(workspace, runtime_dir)) as bridged:
        assert "No editor session" not in bridged.session.instructions
        http_server.stop()
        with pytest.raises(MCPError) as raised:
            await bridged.call_tool("list_profiles", {})
        assert "not reachable" in raised.value.error.message and "--standalone" in raised.value.error.message


async def test_a_session_that_does_not_answer_is_not_used(workspace, runtime_dir):
    """A discovery file of a live process whose endpoint is gone (e.g. a reused pid)."""
    import json
    import os

    directory = runtime_dir / "scalene-lsp"
    directory.mkdir(mode=0o700)
    parent = os.getpid()
    (directory / f"{parent}.json").write_text(
        json.dumps({"url": "http://127.0.0.1:9/mcp", "token": "x", "roots": [str(workspace)], "pid": parent})
    )
    async with Client(stdio_params(workspace, runtime_dir)) as client:
        assert "did not answer" in client.session.instructions
        assert (await client.call_tool("list_profiles", {})).structured_content["total"] == 0


def test_a_control_character_in_the_protocol_version_is_an_error_not_a_crash(http_server, workspace, runtime_dir):
    """The bridge turns `_meta`'s protocol version into an HTTP header: one that cannot be a header gets
    a JSON-RPC error, and the bridge goes on."""
    import json
    import subprocess

    from conftest import binary, server_env

    bridge = subprocess.Popen(
        [str(binary()), "mcp"], cwd=workspace, env=server_env(runtime_dir),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        def ask(message: dict) -> dict:
            bridge.stdin.write((json.dumps(message) + "\n").encode())
            bridge.stdin.flush()
            return json.loads(bridge.stdout.readline().decode())

        bad = ask({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                   "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28\u0001"}}})
        assert bad["id"] == 1 and bad["error"]["code"] == -32600, bad
        assert "protocol version" in bad["error"]["message"], bad
        good = ask({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        assert good["id"] == 2 and "result" in good, good
        assert bridge.poll() is None, "the bridge is still running"
    finally:
        bridge.stdin.close()
        bridge.wait(timeout=15)
        stderr = bridge.stderr.read().decode(errors="replace")
        assert "panicked" not in stderr, stderr
