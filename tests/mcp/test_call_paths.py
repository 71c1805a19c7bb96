"""`call_paths` (who calls a function or line, at what cost) and the callers in `function_profile`,
through the official Python SDK over stdio and HTTP: on the captured call_paths fixture (score() called
by heavy_batch with three times the work of light_batch), on a real Scalene run of the same program,
and on a profile without stacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, text_of

pytestmark = pytest.mark.anyio

CAPTURED_AT = json.loads((FIXTURES / "scalene/2.4.0/MANIFEST.json").read_text())["programs_dir"]


def add_call_paths_program(workspace: Path) -> None:
    """The call_paths program in the workspace, and its captured profiles as if made on a CI machine
    (their paths are rebased onto the workspace when loaded): one with stacks, one without."""
    shutil.copytree(FIXTURES / "programs/call_paths", workspace / "call_paths")
    for name, target in [("call_paths", "call_paths.json"), ("cpu_bound_cpu_only", "no_stacks.json")]:
        raw = (FIXTURES / f"scalene/2.4.0/{name}.json").read_text()
        assert CAPTURED_AT in raw
        (workspace / target).write_text(raw.replace(CAPTURED_AT, "/ci/build/proj"))


def assert_callers_make_the_total(result: dict) -> None:
    callers = {row["function"]: row for row in result["callers"]}
    assert {"heavy_batch", "light_batch"} <= set(callers), result["callers"]
    for row in callers.values():
        assert row["path"] == "call_paths/main.py" and row["native"] is False and row["call_line"] > 0, row
        assert 0 < row["percent_of_target"] <= 100 and 0 < row["percent_of_run"] <= result["inclusive_percent"] + 0.01
    total = sum(row["percent_of_target"] for row in result["callers"])
    assert abs(total - 100) <= 0.1, f"score is only ever called by the two batches: {total}"
    assert result["total_callers"] == len(result["callers"])


async def test_call_paths_of_score_in_the_captured_profile(connect, workspace):
    add_call_paths_program(workspace)
    async with connect() as client:
        loaded = await client.call_tool("load_profile", {"path": "call_paths.json"})
        assert not loaded.is_error, text_of(loaded)
        profile_id = loaded.structured_content["profile_id"]

        result = await client.call_tool("call_paths", {"path": "call_paths/helpers.py", "function": "score"})
        assert not result.is_error, text_of(result)
        paths = result.structured_content
        assert paths["profile_id"] == profile_id and paths["weight"] == "cpu" and paths["unit"] == "CPU samples"
        assert paths["target"] == {"kind": "function", "function": "score", "path": "call_paths/helpers.py", "line": 4, "end_line": 8}
        assert [row["function"] for row in paths["callers"]] == ["heavy_batch", "light_batch"], "heavy_batch does three times the work"
        assert paths["callers"][0]["percent_of_target"] > 70
        assert_callers_make_the_total(paths)
        assert 50 < paths["inclusive_percent"] <= 100 and 0 < paths["self_percent"] <= paths["inclusive_percent"]
        assert paths["callees"] and all(row["native"] and row["module"] and "path" not in row for row in paths["callees"])
        assert paths["paths"][0]["chain"].endswith("heavy_batch (call_paths/main.py:11) → score (call_paths/helpers.py:4)"), paths["paths"]
        assert abs(sum(path["percent_of_target"] for path in paths["paths"]) - 100) <= 0.1

        # Bounded: one of each, and `more` says how to get the rest.
        one = (await client.call_tool("call_paths", {"path": "call_paths/helpers.py", "function": "score", "limit": 1})).structured_content
        assert len(one["callers"]) == 1 and one["total_callers"] == 2 and "limit" in one["more"]

        # A line: the loop of score, reached from both batches.
        line = (await client.call_tool("call_paths", {"path": "call_paths/helpers.py", "line": 7})).structured_content
        assert line["target"]["kind"] == "line" and line["target"]["function"] == "score"
        assert [row["function"] for row in line["callers"]] == ["heavy_batch", "light_batch"]

        # function_profile shows each function's top callers.
        functions = (await client.call_tool("function_profile", {"path": "call_paths/helpers.py", "name": "score"})).structured_content
        assert [row["function"] for row in functions["functions"][0]["callers"]] == ["heavy_batch", "light_batch"]
        assert "call_paths" in functions["more"]

        # What does not exist is refused with what does.
        unknown = await client.call_tool("call_paths", {"path": "call_paths/helpers.py", "function": "scroe"})
        assert unknown.is_error and "score" in text_of(unknown) and "Fix:" in text_of(unknown), text_of(unknown)
        nowhere = await client.call_tool("call_paths", {"path": "call_paths/helpers.py", "line": 1})
        assert nowhere.is_error and "7" in text_of(nowhere), text_of(nowhere)
        memory = await client.call_tool("call_paths", {"path": "call_paths/helpers.py", "function": "score", "weight": "memory"})
        assert memory.is_error and "memory" in text_of(memory)
        outside = await client.call_tool("call_paths", {"path": "../elsewhere.py", "function": "score"})
        assert outside.is_error and "outside the workspace" in text_of(outside)


async def test_a_profile_without_stacks_says_to_profile_again(connect, workspace):
    add_call_paths_program(workspace)
    shutil.copy(FIXTURES / "programs/cpu_bound.py", workspace / "cpu_bound.py")
    async with connect() as client:
        loaded = await client.call_tool("load_profile", {"path": "no_stacks.json"})
        assert not loaded.is_error, text_of(loaded)
        profile_id = loaded.structured_content["profile_id"]
        function = loaded.structured_content["functions"][0]["name"]
        result = await client.call_tool("call_paths", {"path": "cpu_bound.py", "function": function, "profile_id": profile_id})
        assert result.is_error
        assert "Scalene recorded no stacks for this profile" in text_of(result) and "Scalene >= 2.3" in text_of(result), text_of(result)
        # function_profile still answers, without callers.
        functions = (await client.call_tool("function_profile", {"path": "cpu_bound.py", "profile_id": profile_id})).structured_content
        assert functions["functions"] and all("callers" not in row for row in functions["functions"])


async def test_call_paths_of_a_real_run(connect, workspace):
    add_call_paths_program(workspace)
    async with connect() as client:
        run = await client.call_tool("profile", {"path": "call_paths/main.py", "mode": "cpu", "timeout_s": 180})
        assert not run.is_error, text_of(run)
        assert run.structured_content["status"] == "ok", run.structured_content
        profile_id = run.structured_content["profile_id"]
        result = await client.call_tool("call_paths", {"path": "call_paths/helpers.py", "function": "score"})
        assert not result.is_error, text_of(result)
        paths = result.structured_content
        assert paths["profile_id"] == profile_id
        # Sampled numbers: both callers and their sum, not the exact split (it moves under load).
        assert_callers_make_the_total(paths)
        assert paths["paths"] and all(path["chain"].endswith("score (call_paths/helpers.py:4)") for path in paths["paths"])
