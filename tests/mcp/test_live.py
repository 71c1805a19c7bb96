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
        assert {key: paused[key] for key in ("run_id", "requested", "changed")} == {"run_id": run_id, "requested": False, "changed": True}, paused
        # Confirmed within the tool's wait, or later (then list_profiles shows it once it is).
        assert paused["recording"] is paused["pending"], paused
        await wait_for_recording(client, False)
        again = (await client.call_tool("pause", {"run_id": run_id})).structured_content
        assert again == {"run_id": run_id, "requested": False, "recording": False, "changed": False, "pending": False}
        resumed = (await client.call_tool("resume", {})).structured_content
        assert {key: resumed[key] for key in ("run_id", "requested", "changed")} == {"run_id": run_id, "requested": True, "changed": True}, resumed
        await wait_for_recording(client, True)

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


async def wait_for_recording(client, recording: bool) -> None:
    """Waits until list_profiles shows the only run's confirmed recording state `recording`."""
    with anyio.fail_after(60):
        while (await client.call_tool("list_profiles", {})).structured_content["runs"][0]["recording"] is not recording:
            await anyio.sleep(0.1)


async def newer_snapshot(client, run_id: str, than: float) -> dict:
    """The run's first snapshot covering more than `than` seconds of recorded run (a paused run's
    snapshots do not: its recorded time stands still)."""
    with anyio.fail_after(120):
        while True:
            result = await client.call_tool("hotspots", {"run_id": run_id})
            if not result.is_error:
                # Without "snapshot" the numbers are the final profile's: the run is over.
                assert "snapshot" in result.structured_content, f"{run_id} ended before a snapshot past {than} s: {result.structured_content['profile_id']}"
                if result.structured_content["snapshot"]["elapsed_s"] > than:
                    return result.structured_content
            await anyio.sleep(0.2)


async def test_a_resume_sent_while_a_pause_is_confirmed_wins(connect, workspace):
    """Pause, then resume 50 ms later (both in flight at once), three times: the run ends up
    recording, and stays so (its snapshots go on covering more of the run)."""
    async with connect() as client:
        started = (await client.call_tool("profile", {"path": "spin.py", "mode": "cpu", "live": True, "wait": False})).structured_content
        run_id = started["run_id"]
        snapshot = await newer_snapshot(client, run_id, 0.0)
        for _ in range(3):
            answers: dict[str, dict] = {}

            async def call(tool: str) -> None:
                result = await client.call_tool(tool, {"run_id": run_id})
                assert not result.is_error, result.content[0].text
                answers[tool] = result.structured_content

            async with anyio.create_task_group() as group:
                group.start_soon(call, "pause")
                await anyio.sleep(0.05)
                group.start_soon(call, "resume")
            assert answers["pause"]["requested"] is False and answers["resume"]["requested"] is True, answers
            await wait_for_recording(client, True)
            # Recording goes on: a later snapshot covers more of the run than the one before the switches.
            later = await newer_snapshot(client, run_id, snapshot["snapshot"]["elapsed_s"])
            assert later["snapshot"]["recording"] is True, later["snapshot"]
            snapshot = later
        listing = (await client.call_tool("list_profiles", {})).structured_content
        assert listing["runs"][0]["recording"] is True, listing["runs"]
        assert (await client.call_tool("cancel", {"run_id": run_id})).structured_content["cancelled"] is True
        with anyio.fail_after(60):
            while (await client.call_tool("list_profiles", {})).structured_content["running"]:
                await anyio.sleep(0.2)
    assert not processes_mentioning(str(workspace / "spin.py"))


async def test_recording_tools_name_the_problem(connect):
    async with connect() as client:
        none = await client.call_tool("resume", {})
        assert none.is_error and "no run is in progress" in none.content[0].text
        unknown = await client.call_tool("pause", {"run_id": "run-99"})
        assert unknown.is_error and "run-99" in unknown.content[0].text
        no_run = await client.call_tool("hotspots", {"run_id": "run-99"})
        assert no_run.is_error and "run-99" in no_run.content[0].text
