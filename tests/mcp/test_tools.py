"""The MCP surface through the official Python SDK, over stdio and over streamable HTTP (each test runs
on both): handshake, tools/resources/prompts listings, numbers equal to the engine's, real Scalene
runs with progress and cancellation, workspace confinement, invalid arguments."""

from __future__ import annotations

import os

import anyio
import pytest
from mcp import MCPError

from conftest import FIXTURES, processes_mentioning, show_json, text_of, wait_until

pytestmark = pytest.mark.anyio

TOOLS = {
    # name: (readOnlyHint, destructiveHint, openWorldHint)
    "profile": (False, True, True),
    "profile_code": (False, True, True),
    "hotspots": (True, False, False),
    "line_profile": (True, False, False),
    "function_profile": (True, False, False),
    "call_paths": (True, False, False),
    "list_profiles": (True, False, False),
    "load_profile": (False, False, False),
    "clear": (False, True, False),
    "cancel": (False, False, False),
    "save_profile": (False, True, False),
    "list_saved": (True, False, False),
    "delete_saved": (False, True, False),
    "cleanup_saved": (False, True, False),
    "compare": (True, False, False),
    "pause": (False, False, False),
    "resume": (False, False, False),
    "list_python_processes": (True, False, False),
    "attach": (False, False, True),
    "profile_tests": (False, True, True),
    "slowest_tests": (True, False, False),
}


async def test_handshake_and_listings(connect):
    async with connect() as client:
        assert client.protocol_version == "2026-07-28"
        assert client.server_info is None or client.server_info.name == "scalene-lsp"
        instructions = client.session.instructions
        assert "list_profiles" in instructions and "profile" in instructions
        assert "EXECUTES" in instructions, "the instructions say that profiling runs the program"
        caps = client.server_capabilities
        assert caps.tools is not None and caps.prompts is not None
        assert caps.resources.list_changed and caps.resources.subscribe

        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == set(TOOLS)
        for name, (read_only, destructive, open_world) in TOOLS.items():
            tool = tools[name]
            assert tool.description and len(tool.description) > 60, name
            assert tool.input_schema["type"] == "object", name
            assert tool.output_schema and tool.output_schema.get("type") == "object", name
            hints = tool.annotations
            assert (hints.read_only_hint, hints.destructive_hint, hints.open_world_hint) == (read_only, destructive, open_world), name
        profile = tools["profile"].input_schema
        assert profile["required"] == ["path"]
        assert profile["properties"]["mode"]["anyOf"][0]["$ref"].endswith("/Mode") or "enum" in str(profile["properties"]["mode"])
        assert "cpu" in str(profile) and "memory" in str(profile) and "gpu" in str(profile)
        hotspots = tools["hotspots"].input_schema
        assert all(metric in str(hotspots) for metric in ["cpu", "memory", "gpu", "leaks"])
        assert {"profile_id", "status", "hotspots", "functions", "leaks", "elapsed_s", "peak_mb"} <= set(tools["profile"].output_schema["properties"])

        resources = (await client.list_resources()).resources
        assert [str(resource.uri) for resource in resources] == ["scalene://profiles", "scalene://saved"]
        templates = (await client.list_resource_templates()).resource_templates
        assert {template.uri_template for template in templates} == {
            "scalene://profile/{id}",
            "scalene://profile/{id}/file/{path}",
            "scalene://saved/{name}",
        }
        prompts = (await client.list_prompts()).prompts
        assert [prompt.name for prompt in prompts] == ["optimize-hotspots"]
        assert [argument.name for argument in prompts[0].arguments] == ["path"]


async def test_loaded_profile_numbers_equal_the_engine(connect, workspace):
    engine = show_json(FIXTURES / "scalene/2.4.0/cpu_bound.json")
    (engine_file,) = engine["files"]
    async with connect() as client:
        loaded = await client.call_tool("load_profile", {"path": "cpu_bound.json"})
        assert not loaded.is_error, text_of(loaded)
        summary = loaded.structured_content
        profile_id = summary["profile_id"]
        assert summary["status"] == "ok"
        assert summary["files"] == ["cpu_bound.py"], "paths are relative to the workspace root"
        assert summary["hotspots"][0]["path"] == "cpu_bound.py"
        assert summary["hotspots"][0]["source"], "hotspots carry the source text"

        # line_profile: every normalized number, unrounded, under the schema's names.
        lines = await client.call_tool("line_profile", {"path": "cpu_bound.py", "limit": 500})
        assert not lines.is_error, text_of(lines)
        result = lines.structured_content
        assert result["profile_id"] == profile_id and result["path"] == "cpu_bound.py" and result["stale"] is False
        ours = [{key: value for key, value in line.items() if key != "source"} for line in result["lines"]]
        assert ours == engine_file["lines"]
        assert result["total"] == len(engine_file["lines"])

        # A bounded range says how to continue.
        first = engine_file["lines"][0]["line"]
        part = (await client.call_tool("line_profile", {"path": "cpu_bound.py", "limit": 1})).structured_content
        assert [line["line"] for line in part["lines"]] == [first]
        assert "start_line" in part["more"]

        # hotspots: the engine's numbers (rounded for display), ranked by CPU.
        hot = (await client.call_tool("hotspots", {"profile_id": profile_id, "metric": "cpu", "limit": 100})).structured_content
        expected = sorted(
            (line for line in engine_file["lines"] if line["cpu_python"] + line["cpu_native"] + line["cpu_system"] > 0),
            key=lambda line: -(line["cpu_python"] + line["cpu_native"] + line["cpu_system"]),
        )
        assert hot["total"] == len(expected)
        assert [line["line"] for line in hot["lines"]] == [line["line"] for line in expected]
        for got, want in zip(hot["lines"], expected):
            assert abs(got["cpu_percent"] - (want["cpu_python"] + want["cpu_native"] + want["cpu_system"])) <= 0.005 + 1e-9
            assert abs(got["peak_mb"] - want["peak_mb"]) <= 0.005 + 1e-9
            assert abs(got["alloc_mb"] - want["alloc_mb"]) <= 0.005 + 1e-9
        memory = (await client.call_tool("hotspots", {"metric": "memory", "limit": 2})).structured_content
        assert memory["lines"][0]["peak_mb"] == max(round(line["peak_mb"], 2) for line in engine_file["lines"])

        functions = (await client.call_tool("function_profile", {"path": "cpu_bound.py"})).structured_content
        engine_functions = {function["name"]: function for function in engine_file["functions"]}
        for function in functions["functions"]:
            want = engine_functions[function["name"]]
            assert abs(function["cpu_percent"] - (want["cpu_python"] + want["cpu_native"] + want["cpu_system"])) <= 0.005 + 1e-9
        one = (await client.call_tool("function_profile", {"path": "cpu_bound.py", "name": functions["functions"][0]["name"]})).structured_content
        assert one["total"] == 1 and one["lines"], "a named function comes with its hottest lines"

        listed = (await client.call_tool("list_profiles", {})).structured_content
        assert [entry["profile_id"] for entry in listed["profiles"]] == [profile_id]
        assert listed["profiles"][0]["origin"] == "loaded"

        # Resources show the same profile.
        uris = [str(resource.uri) for resource in (await client.list_resources()).resources]
        assert f"scalene://profile/{profile_id}" in uris
        summary_text = (await client.read_resource(f"scalene://profile/{profile_id}")).contents[0].text
        assert '"cpu_bound.py"' in summary_text
        table = (await client.read_resource(f"scalene://profile/{profile_id}/file/cpu_bound.py")).contents[0].text
        assert "| line |" in table and "data.sort()" in table
        with pytest.raises(MCPError):
            await client.read_resource("scalene://profile/p999")

        prompt = await client.get_prompt("optimize-hotspots", {"path": "cpu_bound.py"})
        text = prompt.messages[0].content.text
        assert "cpu_bound.py:15" in text and "data.sort()" in text
        assert "profile" in text and "Compare" in text

        cleared = (await client.call_tool("clear", {"profile_id": profile_id})).structured_content
        assert cleared == {"cleared": 1}
        gone = await client.call_tool("hotspots", {"profile_id": profile_id})
        assert gone.is_error and "list_profiles" in text_of(gone)


async def test_profile_runs_scalene_with_progress(connect, workspace):
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value, total, message):
        progress.append((value, total, message))

    async with connect() as client:
        result = await client.call_tool("profile", {"path": "cpu_bound.py", "mode": "cpu", "timeout_s": 120}, progress_callback=on_progress)
        assert not result.is_error, text_of(result)
        summary = result.structured_content
        assert summary["status"] == "ok", summary
        assert summary["program"] == "cpu_bound.py"
        assert summary["elapsed_s"] > 0
        top = summary["hotspots"][0]
        assert top["path"] == "cpu_bound.py" and top["source"] and top["cpu_percent"] > 0
        assert summary["functions"] and summary["functions"][0]["path"] == "cpu_bound.py"
        assert progress, "progress notifications arrive for a request with a progressToken"
        assert "cpu_bound.py" in (progress[0][2] or "")
        assert progress[0][1] == 120

        again = (await client.call_tool("hotspots", {"path": "cpu_bound.py", "limit": 1})).structured_content
        assert again["profile_id"] == summary["profile_id"]
        assert again["lines"][0]["line"] == top["line"]

        failed = await client.call_tool("profile", {"path": "exits_nonzero.py", "mode": "cpu"})
        assert not failed.is_error, text_of(failed)
        assert failed.structured_content["status"] in ("program_failed", "too_short")
        assert failed.structured_content["failure"]["reason"]


async def test_cancelling_a_profile_stops_the_program_and_keeps_the_partial_profile(connect, workspace):
    program = str(workspace / "spin.py")
    started = anyio.Event()

    async def on_progress(value, total, message):
        if value >= 2:
            started.set()

    async with connect() as client:
        async with anyio.create_task_group() as group:

            async def run():
                with anyio.CancelScope() as scope:
                    run.scope = scope
                    await client.call_tool("profile", {"path": "spin.py", "mode": "cpu"}, progress_callback=on_progress)

            group.start_soon(run)
            with anyio.fail_after(60):
                await started.wait()
            assert processes_mentioning(program), "the program runs"
            run.scope.cancel()
        assert await anyio.to_thread.run_sync(lambda: wait_until(lambda: not processes_mentioning(program), 20)), processes_mentioning(program)

        async def cancelled_profile():
            listed = (await client.call_tool("list_profiles", {})).structured_content
            return [entry for entry in listed["profiles"] if entry["program"] == "spin.py"]

        with anyio.fail_after(20):
            while not (entries := await cancelled_profile()):
                await anyio.sleep(0.2)
        assert entries[0]["status"] == "cancelled"


async def test_cancel_tool_stops_a_run(connect, workspace):
    program = str(workspace / "spin.py")
    async with connect() as client:
        other = client  # a second request on the same connection, while profile is running
        async with anyio.create_task_group() as group:
            outcome = {}

            async def run():
                outcome["result"] = await client.call_tool("profile", {"path": "spin.py", "mode": "cpu"})

            group.start_soon(run)
            with anyio.fail_after(60):
                while not (running := (await other.call_tool("list_profiles", {})).structured_content["running"]):
                    await anyio.sleep(0.2)
                while not processes_mentioning(program):
                    await anyio.sleep(0.2)
            await anyio.sleep(1.5)
            cancelled = (await other.call_tool("cancel", {"run_id": running[0]})).structured_content
            assert cancelled == {"cancelled": True, "run_id": running[0]}
        summary = outcome["result"].structured_content
        assert summary["status"] == "cancelled"
        assert summary["failure"]["reason"].startswith("the run was cancelled")
    assert not processes_mentioning(program)


async def test_paths_outside_the_workspace_are_refused(connect, workspace, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.py").write_text("print('should never run')\n")
    os.symlink(outside / "evil.py", workspace / "link.py")
    os.symlink(outside, workspace / "linkdir")
    async with connect() as client:
        for tool, arguments in [
            ("profile", {"path": "../outside/evil.py"}),
            ("profile", {"path": str(outside / "evil.py")}),
            ("line_profile", {"path": "../outside/evil.py"}),
            ("load_profile", {"path": "/etc/passwd"}),
        ]:
            result = await client.call_tool(tool, arguments)
            assert result.is_error, (tool, arguments)
            assert "outside the workspace" in text_of(result) and "Fix:" in text_of(result)
        for path in ["link.py", "linkdir/evil.py"]:
            result = await client.call_tool("profile", {"path": path})
            assert result.is_error
            assert "symbolic link" in text_of(result) and "outside the workspace" in text_of(result)
        missing = await client.call_tool("profile", {"path": "nope.py"})
        assert missing.is_error and "does not exist" in text_of(missing)


async def test_profile_code_is_refused_while_off(connect):
    async with connect() as client:
        assert "profile_code" in client.session.instructions
        result = await client.call_tool("profile_code", {"code": "print('hi')"})
        assert result.is_error
        assert "turned off" in text_of(result) and "allowCode" in text_of(result)


async def test_profile_code_runs_when_allowed(connect, workspace):
    code = "import cpu_bound\ncpu_bound.python_loop(3_000_000)\n"
    async with connect("--allow-code") as client:
        result = await client.call_tool("profile_code", {"code": code, "mode": "cpu"})
        assert not result.is_error, text_of(result)
        assert result.structured_content["status"] in ("ok", "too_short")


async def test_malformed_arguments_are_invalid_params(connect):
    async with connect() as client:
        for tool, arguments, needle in [
            ("hotspots", {"metric": "speed"}, "unknown variant"),
            ("profile", {}, "missing field `path`"),
            ("profile", {"path": "cpu_bound.py", "timeout_s": -1}, "timeout_s"),
            ("hotspots", {"profile_id": "seven"}, "profile_id"),
            ("line_profile", {"path": "cpu_bound.py", "start_line": 9, "end_line": 3}, "end_line"),
            ("cancel", {"run_id": "x"}, "run_id"),
            ("list_profiles", {"bogus": 1}, "unknown field"),
        ]:
            with pytest.raises(MCPError) as raised:
                await client.call_tool(tool, arguments)
            assert raised.value.error.code == -32602, (tool, arguments)
            assert needle in raised.value.error.message, raised.value.error.message


async def test_no_profile_yet_says_what_to_do(connect):
    async with connect() as client:
        result = await client.call_tool("hotspots", {})
        assert result.is_error and "profile" in text_of(result) and "Fix:" in text_of(result)
        result = await client.call_tool("line_profile", {"path": "cpu_bound.py"})
        assert result.is_error and "no profile covers cpu_bound.py" in text_of(result)
        prompt = await client.get_prompt("optimize-hotspots", {"path": "cpu_bound.py"})
        assert "no profile" in prompt.messages[0].content.text


async def test_resource_list_changes_are_notified(connect):
    async with connect() as client:
        async with client.listen(resources_list_changed=True, resource_subscriptions=["scalene://profiles"]) as subscription:
            loaded = await client.call_tool("load_profile", {"path": "cpu_bound.json"})
            assert not loaded.is_error
            events = []
            with anyio.fail_after(10):
                async for event in subscription:
                    events.append(type(event).__name__)
                    if {"ResourcesListChanged", "ResourceUpdated"} <= set(events):
                        break
        assert "ResourcesListChanged" in events and "ResourceUpdated" in events


async def test_legacy_clients_get_list_changed_notifications(connect):
    seen = []

    async def on_message(message):
        seen.append(type(message).__name__)

    async with connect(mode="legacy", message_handler=on_message) as client:
        assert client.protocol_version == "2025-11-25"
        await client.session.subscribe_resource("scalene://profiles")
        # The HTTP client opens its notification stream in the background: a change made before it is
        # connected is not delivered, so make changes until one is (each load replaces the profile).
        with anyio.fail_after(20):
            while "ResourceUpdatedNotification" not in seen or "ResourceListChangedNotification" not in seen:
                await client.call_tool("load_profile", {"path": "cpu_bound.json"})
                await anyio.sleep(0.5)
        listed = (await client.call_tool("list_profiles", {})).structured_content
        assert listed["total"] == 1, "a legacy session sees the same engine"


async def test_load_profile_refuses_pipes_directories_and_oversize_files_at_once(connect, workspace, runtime_dir):
    os.mkfifo(workspace / "pipe.json")
    (workspace / "folder.json").mkdir()
    async with connect() as client:
        with anyio.fail_after(20):
            for path, reason in [("pipe.json", "named pipe (FIFO)"), ("folder.json", "a directory")]:
                result = await client.call_tool("load_profile", {"path": path})
                assert result.is_error and reason in text_of(result) and "Fix:" in text_of(result), text_of(result)
        # The server still answers, and a real profile still loads.
        loaded = await client.call_tool("load_profile", {"path": "cpu_bound.json"})
        assert not loaded.is_error, text_of(loaded)
    from mcp import Client

    from conftest import stdio_params

    async with Client(stdio_params(workspace, runtime_dir, "--standalone", "--max-profile-mb", "0.01")) as small:
        result = await small.call_tool("load_profile", {"path": "cpu_bound.json"})
        assert result.is_error and "more than the" in text_of(result), text_of(result)
