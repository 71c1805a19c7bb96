"""Live runs through MCP with the official Python SDK, over stdio and streamable HTTP: `profile` with
`wait: false` answers a run id at once; the read tools answer from the run's newest snapshot and say
it is partial and how old; `list_profiles` shows the run; `pause` / `resume` switch its recording;
`cancel` keeps the final profile; nothing is left behind."""

from __future__ import annotations

import anyio
import pytest

from conftest import processes_mentioning

pytestmark = pytest.mark.anyio


async def test_a_live_run_is_read_while_it_goes_on_paused_resumed_and_cancelled(connect, workspace):
    program = str(workspace / "spin.py")
    async with connect() as client:
        started = (await client.call_tool("profile", {"path": "spin.py", "mode": "cpu", "live": True, "wait": False})).structured_content
        assert started["status"] == "running" and "profile_id" not in started, started
        run_id = started["run_id"]
        assert run_id.startswith("run-") and f'"run_id": "{run_id}"' in started["more"]

        with anyio.fail_after(120):
            while True:
                result = await client.call_tool("hotspots", {"run_id": run_id})
                if not result.is_error:
                    break
                assert "no snapshot yet" in result.content[0].text, result.content[0].text
                await anyio.sleep(0.3)
        hot = result.structured_content
        snapshot = hot["snapshot"]
        assert snapshot["run_id"] == run_id and snapshot["recording"] is True
        assert snapshot["age_s"] >= 0 and snapshot["elapsed_s"] > 0
        assert snapshot["note"].startswith("partial: a live snapshot")
        assert any(line["source"] == "total += i % 7" for line in hot["lines"]), hot["lines"]

        lines = (await client.call_tool("line_profile", {"path": "spin.py", "run_id": run_id})).structured_content
        assert lines["status"] == "running" and lines["snapshot"]["run_id"] == run_id
        functions = (await client.call_tool("function_profile", {"path": "spin.py", "run_id": run_id})).structured_content
        assert functions["snapshot"]["run_id"] == run_id and functions["functions"]

        listing = (await client.call_tool("list_profiles", {})).structured_content
        assert listing["running"] == [run_id]
        (run,) = listing["runs"]
        assert run["run_id"] == run_id and run["program"] == "spin.py" and run["live"] and run["recording"]
        assert run["snapshot_profile_id"] and run["snapshot_age_s"] >= 0 and run["hottest"].startswith("spin.py:")
        assert any(profile["status"] == "running" for profile in listing["profiles"])

        paused = (await client.call_tool("pause", {"run_id": run_id})).structured_content
        assert paused == {"run_id": run_id, "recording": False, "changed": True}
        listing = (await client.call_tool("list_profiles", {})).structured_content
        assert listing["runs"][0]["recording"] is False
        resumed = (await client.call_tool("resume", {})).structured_content
        assert resumed == {"run_id": run_id, "recording": True, "changed": True}

        assert (await client.call_tool("cancel", {"run_id": run_id})).structured_content == {"cancelled": True, "run_id": run_id}
        with anyio.fail_after(60):
            while (await client.call_tool("list_profiles", {})).structured_content["running"]:
                await anyio.sleep(0.2)
        final = (await client.call_tool("hotspots", {"run_id": run_id})).structured_content
        assert "snapshot" not in final, "the final profile replaced the snapshots"
        listing = (await client.call_tool("list_profiles", {})).structured_content
        assert [profile["status"] for profile in listing["profiles"]] == ["cancelled"], "one entry per run"
        assert listing["runs"] == []

        ended = await client.call_tool("pause", {"run_id": run_id})
        assert ended.is_error and "has ended" in ended.content[0].text and "Fix:" in ended.content[0].text
    assert not processes_mentioning(program)


async def test_recording_tools_name_the_problem(connect):
    async with connect() as client:
        none = await client.call_tool("resume", {})
        assert none.is_error and "no run is in progress" in none.content[0].text
        unknown = await client.call_tool("pause", {"run_id": "run-99"})
        assert unknown.is_error and "run-99" in unknown.content[0].text
        no_run = await client.call_tool("hotspots", {"run_id": "run-99"})
        assert no_run.is_error and "run-99" in no_run.content[0].text
